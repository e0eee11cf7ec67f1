/* login_master.c - a login front end's channel to the supervisor
 * Used by: login_handoff.c in imapd and pop3d. A SOCK_SEQPACKET socket
 * keeps message boundaries, so each LOGIN travels with its descriptor in
 * one sendmsg() and each answer arrives whole in one recv(). Answers are
 * parsed by login_proto.c; they come from the supervisor only. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "login_master.h"
#include "loop.h"
#include "mem.h"

struct login_master_req {
        struct login_master *lm;
        struct login_master_req *prev, *next;
        unsigned long id;
        int fd;                 /* to send; -1 once sent */
        struct buf msg;         /* the datagram, until sent */
        int sent;
        int doomed;             /* answer FAIL temp from the loop */
        const char *doom_reason;
        long long deadline;     /* loop_now_ms() */
        login_master_cb *cb;
        void *ctx;
};

struct login_master {
        char *path;
        int fd;
        struct loop_fd *watch;
        int watch_events;
        struct login_master_req *head, *tail;
        unsigned long next_id;
        struct loop_timer *kick;        /* doomed answers, timeouts */
        char *in;                       /* LOGIN_MSG_MAX + 1 */
};

static void on_io(int fd, int events, void *ctx);

static void req_unlink(struct login_master *lm, struct login_master_req *r)
{
        if (r->prev != NULL)
                r->prev->next = r->next;
        else
                lm->head = r->next;
        if (r->next != NULL)
                r->next->prev = r->prev;
        else
                lm->tail = r->prev;
        r->prev = r->next = NULL;
}

static void req_free(struct login_master_req *r)
{
        if (r->fd >= 0)
                close(r->fd);
        buf_release(&r->msg);
        free(r);
}

struct login_master *login_master_new(const char *socket_path)
{
        struct login_master *lm = xcalloc(1, sizeof(*lm));

        lm->path = xstrdup(socket_path);
        lm->fd = -1;
        lm->next_id = 1;
        lm->in = xmalloc(LOGIN_MSG_MAX + 1);
        return lm;
}

static void close_socket(struct login_master *lm)
{
        loop_fd_free(&lm->watch);
        lm->watch_events = 0;
        if (lm->fd >= 0)
                close(lm->fd);
        lm->fd = -1;
}

void login_master_free(struct login_master **lmp)
{
        struct login_master *lm;

        if (lmp == NULL || *lmp == NULL)
                return;
        lm = *lmp;
        *lmp = NULL;
        while (lm->head != NULL) {
                struct login_master_req *r = lm->head;

                req_unlink(lm, r);
                req_free(r);
        }
        close_socket(lm);
        loop_timer_free(&lm->kick);
        free(lm->in);
        free(lm->path);
        free(lm);
}

/* set_watch - read always; write while something waits to be sent */
static void set_watch(struct login_master *lm)
{
        int want = LOOP_READ;

        for (struct login_master_req *r = lm->head; r != NULL; r = r->next)
                if (!r->sent && !r->doomed)
                        want |= LOOP_WRITE;
        if (lm->fd < 0 || (lm->watch != NULL && want == lm->watch_events))
                return;
        loop_fd_free(&lm->watch);
        lm->watch = loop_fd_new(lm->fd, want, on_io, lm);
        lm->watch_events = want;
}

static void kick_soon(struct login_master *lm, long long ms)
{
        if (!loop_timer_pending(lm->kick))
                loop_timer_start(lm->kick, ms);
}

/* drop - the connection is lost: every request on it fails */
static void drop(struct login_master *lm, const char *why)
{
        close_socket(lm);
        for (struct login_master_req *r = lm->head; r != NULL; r = r->next) {
                r->doomed = 1;
                r->doom_reason = why;
        }
        loop_timer_start(lm->kick, 0);
}

/* connect_now - 0, or -1 (logged) */
static int connect_now(struct login_master *lm)
{
        struct sockaddr_un sun;
        int fd;

        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        if (strlen(lm->path) >= sizeof(sun.sun_path)) {
                log_warn("supervisor socket path too long: %s", lm->path);
                return -1;
        }
        memcpy(sun.sun_path, lm->path, strlen(lm->path));
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
        if (fd < 0) {
                log_warn("login: socket: %m");
                return -1;
        }
        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
                log_warn("cannot connect to the supervisor at %s: %m",
                         lm->path);
                close(fd);
                return -1;
        }
        lm->fd = fd;
        set_watch(lm);
        return 0;
}

/* send_one - 1 sent, 0 try later, -1 the connection is broken */
static int send_one(struct login_master *lm, struct login_master_req *r)
{
        union {
                struct cmsghdr h;
                char space[CMSG_SPACE(sizeof(int))];
        } cm;
        struct iovec iov = { r->msg.data, r->msg.len };
        struct msghdr mh;
        ssize_t n;

        memset(&mh, 0, sizeof(mh));
        memset(&cm, 0, sizeof(cm));
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = cm.space;
        mh.msg_controllen = sizeof(cm.space);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &r->fd, sizeof(int));
        do
                n = sendmsg(lm->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return 0;
        if (n < 0) {
                log_warn("login: send to the supervisor: %m");
                return -1;
        }
        close(r->fd);
        r->fd = -1;
        buf_release(&r->msg);
        r->sent = 1;
        return 1;
}

/* flush - send what waits, in order; 0, or -1 after drop() */
static int flush(struct login_master *lm)
{
        for (struct login_master_req *r = lm->head; r != NULL; r = r->next) {
                if (r->sent || r->doomed)
                        continue;
                int ret = send_one(lm, r);
                if (ret < 0) {
                        drop(lm, "lost the connection to the supervisor");
                        return -1;
                }
                if (ret == 0)
                        break;
        }
        set_watch(lm);
        return 0;
}

static struct login_master_req *find_sent(struct login_master *lm,
                                          unsigned long id)
{
        for (struct login_master_req *r = lm->head; r != NULL; r = r->next)
                if (r->sent && r->id == id && !r->doomed)
                        return r;
        return NULL;
}

/* deliver - final answer for r, which is unlinked and freed first */
static void deliver(struct login_master *lm, struct login_master_req *r,
                    const struct login_reply *reply)
{
        login_master_cb *cb = r->cb;
        void *ctx = r->ctx;

        req_unlink(lm, r);
        req_free(r);
        cb(reply, ctx);
}

static void read_answers(struct login_master *lm)
{
        for (int i = 0; i < 64; i++) {
                struct login_reply reply;
                struct status st;
                ssize_t n;

                n = recv(lm->fd, lm->in, LOGIN_MSG_MAX, MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return;
                if (n <= 0) {
                        if (n < 0)
                                log_warn("login: read from the supervisor: "
                                         "%m");
                        drop(lm, "lost the connection to the supervisor");
                        return;
                }
                if (login_reply_parse(lm->in, (size_t)n, &reply, &st) < 0) {
                        log_warn("login: bad answer from the supervisor: %s",
                                 st.text);
                        drop(lm, "bad answer from the supervisor");
                        return;
                }
                struct login_master_req *r = find_sent(lm, reply.id);
                if (r == NULL)
                        continue;       /* a canceled request's answer */
                deliver(lm, r, &reply);
                if (lm->fd < 0)
                        return;
        }
}

static void on_io(int fd, int events, void *ctx)
{
        struct login_master *lm = ctx;

        if ((events & LOOP_WRITE) && flush(lm) < 0)
                return;
        if (events & LOOP_READ)
                read_answers(lm);
}

/* on_kick - answer doomed requests and those past their deadline, one
 * at a time (a callback may cancel others) */
static void on_kick(void *ctx)
{
        struct login_master *lm = ctx;
        long long now = loop_now_ms(), next = -1;

        for (;;) {
                struct login_master_req *r;

                for (r = lm->head; r != NULL; r = r->next) {
                        if (!r->doomed && r->deadline <= now) {
                                r->doomed = 1;
                                r->doom_reason = "the supervisor does not "
                                                 "answer";
                        }
                        if (r->doomed)
                                break;
                }
                if (r == NULL)
                        break;
                struct login_reply reply;

                memset(&reply, 0, sizeof(reply));
                reply.id = r->id;
                reply.fail = LOGIN_FAIL_TEMP;
                reply.text = r->doom_reason;
                deliver(lm, r, &reply);
        }
        for (struct login_master_req *r = lm->head; r != NULL; r = r->next)
                if (next < 0 || r->deadline < next)
                        next = r->deadline;
        if (next >= 0)
                loop_timer_start(lm->kick, next > now ? next - now : 0);
}

struct login_master_req *login_master_request(struct login_master *lm,
                                              const struct login_request *r,
                                              int fd, login_master_cb *cb,
                                              void *ctx)
{
        struct login_master_req *q = xcalloc(1, sizeof(*q));
        struct login_request copy = *r;
        struct status st;

        if (lm->kick == NULL)
                lm->kick = loop_timer_new(on_kick, lm);
        q->lm = lm;
        q->fd = fd;
        q->cb = cb;
        q->ctx = ctx;
        q->id = lm->next_id++;
        if (lm->next_id > 4294967295UL)
                lm->next_id = 1;
        q->deadline = loop_now_ms() + LOGIN_MASTER_TIMEOUT_MS;
        buf_init(&q->msg, 0);
        q->prev = lm->tail;
        if (lm->tail != NULL)
                lm->tail->next = q;
        else
                lm->head = q;
        lm->tail = q;
        copy.id = q->id;
        if (login_request_build(&q->msg, &copy, &st) < 0) {
                log_warn("login: %s", st.text);
                q->doomed = 1;
                q->doom_reason = "request too long";
                loop_timer_start(lm->kick, 0);
                return q;
        }
        if (lm->fd < 0 && connect_now(lm) < 0) {
                q->doomed = 1;
                q->doom_reason = "cannot connect to the supervisor";
                loop_timer_start(lm->kick, 0);
                return q;
        }
        flush(lm);
        kick_soon(lm, LOGIN_MASTER_TIMEOUT_MS);
        return q;
}

void login_master_cancel(struct login_master_req **rp)
{
        struct login_master_req *r;
        struct login_master *lm;

        if (rp == NULL || *rp == NULL)
                return;
        r = *rp;
        *rp = NULL;
        lm = r->lm;
        req_unlink(lm, r);
        req_free(r);
        set_watch(lm);
}
