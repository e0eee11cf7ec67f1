/* master_session.c - the supervisor starts per-user IMAP/POP3 sessions
 * Used by: yubin (master.h: master_session_*). Listens on
 * $data_directory/login.socket (SOCK_SEQPACKET, mail_owner, 0600) for the
 * login front ends it started -- a connection from any other process is
 * closed at once (SO_PEERCRED: mail_owner's uid and our own child). Each
 * LOGIN request (login_proto.h) brings the client's descriptor and authd's
 * single-use login token; the supervisor redeems the token with authd
 * itself (asynchronously: the supervisor's loop never waits on authd, and
 * gives up after MASTER_SESSION_REDEEM_MS), so a front end cannot start a
 * session for a user who did not log in. Then it starts the session
 * program of the front end (pop3d -> pop3, imapd -> imap) with the user's
 * uid and gid, never root (master_spawn.c), and answers OK with the
 * session's pid, or FAIL. Sessions are counted per protocol, user and
 * client address (mail_max_userip_connections), reaped, and stopped with
 * everything else. Runs as root when installed; parses the front ends'
 * requests (mail_owner processes). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "authc.h"
#include "log.h"
#include "login_proto.h"
#include "loop.h"
#include "master.h"
#include "mem.h"
#include "priv.h"

#define MASTER_SESSION_REDEEM_MS (10 * 1000)
/* requests read per wake-up from one front end */
#define READ_BATCH 32

/* Which session program serves which front end. */
static const struct {
        const char *front, *session, *proto;
} programs[] = {
        { "pop3d", "pop3", "pop3" },
        { "imapd", "imap", "imap" },
};

struct reply {
        struct reply *next;
        struct buf msg;
};

struct peer {
        struct peer *prev, *next;
        int fd;
        pid_t pid;
        struct loop_fd *watch;
        int watch_events;
        struct reply *out_head, *out_tail;
};

/* A LOGIN waiting for authd's word on its token. */
struct login {
        struct login *prev, *next;
        struct peer *peer;
        unsigned long id;
        int fd;                         /* the client */
        char *proto, *service, *rip, *lip, *method, *data;
        int rport, lport, tls, secured;
        struct buf input;               /* the front end's unused input */
        struct authc_req *areq;
        struct loop_timer *timer;
};

static struct {
        struct master_conf *conf;
        int foreground, verbose;
        int privileged;
        uid_t owner_uid;
        int listen_fd;
        struct loop_fd *listen_watch;
        char *path;
        struct authc *authc;
        struct peer *peers;
        struct login *logins;
        char *in;                       /* LOGIN_MSG_MAX + 1 */
} ms = { .listen_fd = -1 };

static void peer_io(int fd, int events, void *ctx);

/* Replies. */

static void peer_watch(struct peer *p)
{
        int want = LOOP_READ | (p->out_head != NULL ? LOOP_WRITE : 0);

        if (p->watch != NULL && want == p->watch_events)
                return;
        loop_fd_free(&p->watch);
        p->watch = loop_fd_new(p->fd, want, peer_io, p);
        p->watch_events = want;
}

/* peer_flush - send queued replies; -1 when the peer is broken */
static int peer_flush(struct peer *p)
{
        while (p->out_head != NULL) {
                struct reply *r = p->out_head;
                ssize_t n = send(p->fd, r->msg.data, r->msg.len,
                                 MSG_DONTWAIT | MSG_NOSIGNAL);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        break;
                if (n < 0)
                        return -1;
                p->out_head = r->next;
                if (p->out_head == NULL)
                        p->out_tail = NULL;
                buf_release(&r->msg);
                free(r);
        }
        peer_watch(p);
        return 0;
}

static void queue_reply(struct peer *p, struct buf *msg)
{
        struct reply *r = xcalloc(1, sizeof(*r));

        r->msg = *msg;
        buf_init(msg, 0);
        if (p->out_tail != NULL)
                p->out_tail->next = r;
        else
                p->out_head = r;
        p->out_tail = r;
        if (peer_flush(p) < 0) {
                /* freed when its reading side sees the end, never under
                 * a caller that still holds one of its logins */
                log_warn("login front end pid %ld: send: %m", (long)p->pid);
                shutdown(p->fd, SHUT_RDWR);
        }
}

static void reply_fail(struct peer *p, unsigned long id, enum login_fail why,
                       const char *text)
{
        struct buf b;

        buf_init(&b, 0);
        login_reply_build_fail(&b, id, why, text);
        queue_reply(p, &b);
}

/* Pending logins. */

static void login_free(struct login *l)
{
        authc_cancel(&l->areq);
        loop_timer_free(&l->timer);
        if (l->fd >= 0)
                close(l->fd);
        if (l->prev != NULL)
                l->prev->next = l->next;
        else
                ms.logins = l->next;
        if (l->next != NULL)
                l->next->prev = l->prev;
        free(l->proto);
        free(l->service);
        free(l->rip);
        free(l->lip);
        free(l->method);
        free(l->data);
        buf_release(&l->input);
        free(l);
}

static void peer_free(struct peer *p)
{
        struct login *l, *next;

        for (l = ms.logins; l != NULL; l = next) {
                next = l->next;
                if (l->peer == p)
                        login_free(l);
        }
        while (p->out_head != NULL) {
                struct reply *r = p->out_head;

                p->out_head = r->next;
                buf_release(&r->msg);
                free(r);
        }
        loop_fd_free(&p->watch);
        close(p->fd);
        if (p->prev != NULL)
                p->prev->next = p->next;
        else
                ms.peers = p->next;
        if (p->next != NULL)
                p->next->prev = p->prev;
        free(p);
}

/* find_service - the current service of that name whose program has a
 * session program for proto; the session program's name in *prog_r */
static const struct master_service *find_service(const char *name,
                                                 const char *proto,
                                                 const char **prog_r)
{
        if (ms.conf == NULL)
                return NULL;
        for (size_t i = 0; i < ms.conf->count; i++) {
                const struct master_service *s = &ms.conf->services[i];

                if (strcmp(s->name, name) != 0)
                        continue;
                for (size_t k = 0; k < sizeof(programs) / sizeof(programs[0]);
                     k++) {
                        if (strcmp(s->program, programs[k].front) == 0 &&
                            strcmp(proto, programs[k].proto) == 0) {
                                *prog_r = programs[k].session;
                                return s;
                        }
                }
        }
        return NULL;
}

/* start - fork the session for l as u; answers the front end */
static void start(struct login *l, const struct authc_user *u)
{
        const struct master_service *s;
        const char *program = NULL;
        struct master_spawn sp;
        long long limit;
        pid_t pid;

        if (ms.privileged && u->uid == 0) {
                log_warn("session for %s refused: the mail's owner is root",
                         u->name);
                reply_fail(l->peer, l->id, LOGIN_FAIL_REFUSED, "uid 0");
                return;
        }
        s = find_service(l->service, l->proto, &program);
        if (s == NULL) {
                log_warn("login from service %s (%s): no such service",
                         l->service, l->proto);
                reply_fail(l->peer, l->id, LOGIN_FAIL_TEMP, "no service");
                return;
        }
        limit = cfg_get_int(ms.conf->cfg, "mail_max_userip_connections");
        if (limit > 0 && master_spawn_count_of(l->proto, u->name, l->rip) >=
            (size_t)limit) {
                reply_fail(l->peer, l->id, LOGIN_FAIL_LIMIT,
                           "mail_max_userip_connections");
                return;
        }
        memset(&sp, 0, sizeof(sp));
        sp.conf = ms.conf;
        sp.service = s;
        sp.program = program;
        sp.info = (struct login_client_info){
                .proto = l->proto, .service = l->service, .rip = l->rip,
                .lip = l->lip, .rport = l->rport, .lport = l->lport,
                .tls = l->tls, .secured = l->secured, .method = l->method,
                .data = l->data,
        };
        sp.user = u;
        sp.client_fd = l->fd;
        sp.input = l->input.data;
        sp.input_len = l->input.len;
        sp.privileged = ms.privileged;
        sp.foreground = ms.foreground;
        sp.verbose = ms.verbose;
        if ((pid = master_spawn_session(&sp)) < 0) {
                reply_fail(l->peer, l->id, LOGIN_FAIL_TEMP, "spawn");
                return;
        }
        log_debug("%s session for %s: pid %ld", l->proto, u->name,
                  (long)pid);

        struct buf b;
        buf_init(&b, 0);
        login_reply_build_ok(&b, l->id, (long)pid);
        queue_reply(l->peer, &b);
}

static void on_redeem(const struct authc_reply *reply, void *ctx)
{
        struct login *l = ctx;

        l->areq = NULL;
        switch (reply->result) {
        case AUTHC_OK:
                start(l, reply->user);
                break;
        case AUTHC_NOTFOUND:
                log_warn("%s login from %s: token unknown or expired",
                         l->proto, l->rip);
                reply_fail(l->peer, l->id, LOGIN_FAIL_REFUSED,
                           "token unknown or expired");
                break;
        default:
                log_warn("%s login from %s: authd: %s", l->proto, l->rip,
                         reply->reason != NULL ? reply->reason : "no answer");
                reply_fail(l->peer, l->id, LOGIN_FAIL_TEMP, "authd");
                break;
        }
        login_free(l);
}

static void redeem_timeout(void *ctx)
{
        struct login *l = ctx;

        log_warn("%s login from %s: authd did not answer in %d s", l->proto,
                 l->rip, MASTER_SESSION_REDEEM_MS / 1000);
        reply_fail(l->peer, l->id, LOGIN_FAIL_TEMP, "authd timeout");
        login_free(l);
}

/* take_request - one datagram with its descriptors; 0, or -1 when the
 * peer must go */
static int take_request(struct peer *p, char *data, size_t len, int *fds,
                        size_t nfds)
{
        struct login_request r;
        struct status st;
        struct login *l;

        if (login_request_parse(data, len, &r, &st) < 0) {
                log_warn("login front end pid %ld: bad request: %s",
                         (long)p->pid, st.text);
                return -1;
        }
        if (nfds != 1) {
                log_warn("login front end pid %ld: request %lu with %zu "
                         "descriptors", (long)p->pid, r.id, nfds);
                reply_fail(p, r.id, LOGIN_FAIL_REFUSED, "descriptors");
                return 0;
        }
        l = xcalloc(1, sizeof(*l));
        l->peer = p;
        l->id = r.id;
        l->fd = fds[0];
        fds[0] = -1;
        l->proto = xstrdup(r.info.proto);
        l->service = xstrdup(r.info.service);
        l->rip = xstrdup(r.info.rip);
        l->lip = xstrdup(r.info.lip);
        l->method = xstrdup(r.info.method);
        l->data = xstrdup(r.info.data);
        l->rport = r.info.rport;
        l->lport = r.info.lport;
        l->tls = r.info.tls;
        l->secured = r.info.secured;
        buf_init(&l->input, 0);
        buf_append(&l->input, r.pending, r.pending_len);
        l->next = ms.logins;
        if (ms.logins != NULL)
                ms.logins->prev = l;
        ms.logins = l;
        l->timer = loop_timer_new(redeem_timeout, l);
        loop_timer_start(l->timer, MASTER_SESSION_REDEEM_MS);
        l->areq = authc_redeem(ms.authc, r.token, on_redeem, l);
        return 0;
}

/* peer_read - take what the front end sent; -1 when it is gone */
static int peer_read(struct peer *p)
{
        for (int k = 0; k < READ_BATCH; k++) {
                union {
                        struct cmsghdr h;
                        char space[CMSG_SPACE(4 * sizeof(int))];
                } cm;
                struct iovec iov = { ms.in, LOGIN_MSG_MAX };
                struct msghdr mh;
                int fds[4];
                size_t nfds = 0;
                ssize_t n;

                memset(&mh, 0, sizeof(mh));
                mh.msg_iov = &iov;
                mh.msg_iovlen = 1;
                mh.msg_control = cm.space;
                mh.msg_controllen = sizeof(cm.space);
                n = recvmsg(p->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return 0;
                if (n <= 0)
                        return -1;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL;
                     c = CMSG_NXTHDR(&mh, c)) {
                        if (c->cmsg_level != SOL_SOCKET ||
                            c->cmsg_type != SCM_RIGHTS)
                                continue;
                        size_t count = (c->cmsg_len - CMSG_LEN(0)) /
                                       sizeof(int);
                        for (size_t i = 0; i < count && nfds < 4; i++)
                                memcpy(&fds[nfds++],
                                       CMSG_DATA(c) + i * sizeof(int),
                                       sizeof(int));
                }
                int ret = -1;
                if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
                        log_warn("login front end pid %ld: oversized "
                                 "request", (long)p->pid);
                else
                        ret = take_request(p, ms.in, (size_t)n, fds, nfds);
                for (size_t i = 0; i < nfds; i++)
                        if (fds[i] >= 0)
                                close(fds[i]);
                if (ret < 0)
                        return -1;
        }
        return 0;
}

static void peer_io(int fd, int events, void *ctx)
{
        struct peer *p = ctx;

        if ((events & LOOP_WRITE) && peer_flush(p) < 0) {
                peer_free(p);
                return;
        }
        if ((events & LOOP_READ) && peer_read(p) < 0)
                peer_free(p);
}

/* parent_of - the parent pid of pid, from /proc, or -1 */
static pid_t parent_of(pid_t pid)
{
        char path[64], text[512];
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
                return -1;
        n = read(fd, text, sizeof(text) - 1);
        close(fd);
        if (n <= 0)
                return -1;
        text[n] = '\0';
        /* "pid (comm) state ppid ...": comm may hold anything but the
         * last ')' ends it */
        char *end = strrchr(text, ')');
        long ppid;
        if (end == NULL || sscanf(end + 1, " %*c %ld", &ppid) != 1)
                return -1;
        return (pid_t)ppid;
}

static void on_accept(int fd, int events, void *ctx)
{
        for (int i = 0; i < 16; i++) {
                struct ucred cred;
                socklen_t len = sizeof(cred);
                int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (c < 0) {
                        if (errno != EAGAIN && errno != EWOULDBLOCK &&
                            errno != EINTR && errno != ECONNABORTED)
                                log_warn("%s: accept: %m", ms.path);
                        return;
                }
                if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
                    cred.uid != ms.owner_uid ||
                    parent_of(cred.pid) != getpid()) {
                        log_warn("%s: connection from pid %ld uid %ld "
                                 "refused: not a login front end", ms.path,
                                 (long)cred.pid, (long)cred.uid);
                        close(c);
                        continue;
                }
                struct peer *p = xcalloc(1, sizeof(*p));
                p->fd = c;
                p->pid = cred.pid;
                p->next = ms.peers;
                if (ms.peers != NULL)
                        ms.peers->prev = p;
                ms.peers = p;
                peer_watch(p);
        }
}

int master_session_open(struct master_conf *conf)
{
        const char *dir = cfg_get(conf->cfg, "data_directory");
        struct sockaddr_un sun;
        struct status st;
        struct priv owner;
        mode_t old;
        char *authd;

        ms.conf = conf;
        ms.privileged = priv_is_root();
        if (ms.privileged) {
                if (priv_lookup("mail_owner", cfg_get(conf->cfg,
                                                      "mail_owner"),
                                &owner, &st) < 0) {
                        log_error("%s", st.text);
                        return -1;
                }
        } else {
                priv_self(&owner);
        }
        ms.owner_uid = owner.uid;
        ms.path = xasprintf("%s/%s", dir, LOGIN_SOCKET_NAME);
        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        if (strlen(ms.path) >= sizeof(sun.sun_path)) {
                log_error("login socket path too long: %s (make "
                          "data_directory shorter)", ms.path);
                return -1;
        }
        memcpy(sun.sun_path, ms.path, strlen(ms.path));
        if (unlink(ms.path) < 0 && errno != ENOENT) {
                log_error("cannot remove stale %s: %m", ms.path);
                return -1;
        }
        ms.listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK |
                              SOCK_CLOEXEC, 0);
        if (ms.listen_fd < 0) {
                log_error("socket: %m");
                return -1;
        }
        old = umask(0177);
        int r = bind(ms.listen_fd, (struct sockaddr *)&sun, sizeof(sun));
        umask(old);
        if (r < 0 || listen(ms.listen_fd, SOMAXCONN) < 0 ||
            chmod(ms.path, 0600) < 0 ||
            (ms.privileged && chown(ms.path, owner.uid, owner.gid) < 0)) {
                log_error("%s: %m", ms.path);
                close(ms.listen_fd);
                ms.listen_fd = -1;
                return -1;
        }
        ms.listen_watch = loop_fd_new(ms.listen_fd, LOOP_READ, on_accept,
                                      NULL);
        authd = xasprintf("%s/%s", dir, AUTHC_SOCKET_NAME);
        ms.authc = authc_new(authd);
        free(authd);
        ms.in = xmalloc(LOGIN_MSG_MAX + 1);
        return 0;
}

void master_session_set_current(struct master_conf *conf, int foreground,
                                int verbose)
{
        ms.conf = conf;
        ms.foreground = foreground;
        ms.verbose = verbose;
}

void master_session_close(void)
{
        while (ms.peers != NULL)
                peer_free(ms.peers);
        while (ms.logins != NULL)
                login_free(ms.logins);
        loop_fd_free(&ms.listen_watch);
        if (ms.listen_fd >= 0) {
                close(ms.listen_fd);
                unlink(ms.path);
        }
        ms.listen_fd = -1;
        authc_free(&ms.authc);
        master_spawn_forget_all();
        free(ms.path);
        ms.path = NULL;
        free(ms.in);
        ms.in = NULL;
        ms.conf = NULL;
}
