/* local_pool.c - persistent delivery workers for virtual users
 * Used by: local.c (see local_pool.h). Runs as: the main process (root
 * when Yubin is) forks the workers; each one becomes its uid:gid at once
 * (local_run_as: setgroups, setresgid, setresuid) and never holds more
 * than that owner's rights; started by an ordinary user, nothing changes
 * hands. Parses: in a worker, the main process's messages on a private
 * socketpair (SOCK_SEQPACKET), one per request:
 *
 *      <request line as qmgr sent it>\n
 *      <lookup>\t<user=...>\t<uid=...>\t...\n    (authc_user fields)
 *
 * with qmgr's connection, the queue file (read-only) and, when it could
 * be opened, the queue file for appending the D mark as SCM_RIGHTS; the
 * worker answers qmgr itself and then writes one byte "I" (idle) back.
 * The main process closes its copies once they are sent: a worker that
 * dies leaves qmgr an unanswered connection, which it defers. */
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "authc.h"
#include "local_pool.h"
#include "local_proto.h"
#include "log.h"
#include "loop.h"
#include "mem.h"

#define MSG_MAX         (LOCAL_LINE_MAX * 4)    /* request and user */
#define USER_FIELDS_MAX 12

struct worker {
        struct local_pool *pool;
        pid_t pid;                      /* 0 once reaped */
        int fd;                         /* -1: retired or gone */
        uid_t uid;
        gid_t gid;
        int busy;                       /* a request handed over */
        unsigned served;
        struct loop_fd *watch;
        struct loop_timer *timer;
        struct worker *next;
};

struct local_pool {
        struct local_server *srv;
        size_t max, count;              /* count: not yet reaped */
        void (*child_init)(void);
        void (*idle)(void *ctx);
        void *ctx;
        struct worker *list;
};

struct local_pool *local_pool_new(struct local_server *srv, size_t max,
                                  void (*child_init)(void),
                                  void (*idle)(void *ctx), void *ctx)
{
        struct local_pool *pool = xcalloc(1, sizeof(*pool));

        pool->srv = srv;
        pool->max = max;
        pool->child_init = child_init;
        pool->idle = idle;
        pool->ctx = ctx;
        return pool;
}

/* retire - close w's socket: an idle worker exits, a busy one after its
 * request; w stays listed until it is reaped */
static void retire(struct worker *w)
{
        loop_fd_free(&w->watch);
        loop_timer_free(&w->timer);
        if (w->fd >= 0)
                close(w->fd);
        w->fd = -1;
}

void local_pool_free(struct local_pool **pp)
{
        struct local_pool *pool = *pp;

        if (pool == NULL)
                return;
        while (pool->list != NULL) {
                struct worker *w = pool->list;

                pool->list = w->next;
                retire(w);
                free(w);
        }
        free(pool);
        *pp = NULL;
}

void local_pool_close_fds(struct local_pool *pool)
{
        if (pool == NULL)
                return;
        for (struct worker *w = pool->list; w != NULL; w = w->next)
                if (w->fd >= 0)
                        close(w->fd);
}

int local_pool_reaped(struct local_pool *pool, pid_t pid, int status,
                      int *busy_r)
{
        for (struct worker **wp = &pool->list; *wp != NULL;
             wp = &(*wp)->next) {
                struct worker *w = *wp;

                if (w->pid != pid)
                        continue;
                *busy_r = w->busy;
                if (w->busy || WIFSIGNALED(status) ||
                    (WIFEXITED(status) && WEXITSTATUS(status) != 0))
                        log_warn("delivery worker %ld for uid %lu ended "
                                 "(status %d)%s", (long)pid,
                                 (unsigned long)w->uid, status, w->busy ?
                                 " with a request: qmgr defers it" : "");
                retire(w);
                *wp = w->next;
                free(w);
                pool->count--;
                return 1;
        }
        return 0;
}

static void on_idle_timeout(void *ctx)
{
        struct worker *w = ctx;

        if (!w->busy)
                retire(w);
}

static void on_worker_read(int fd, int events, void *ctx)
{
        struct worker *w = ctx;
        char chunk[16];
        ssize_t n = read(w->fd, chunk, sizeof(chunk));

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                /* gone: it is reaped soon (busy or not, as it was) */
                retire(w);
                return;
        }
        for (ssize_t i = 0; i < n; i++) {
                if (chunk[i] != 'I' || !w->busy)
                        continue;
                w->busy = 0;
                w->served++;
                w->pool->idle(w->pool->ctx);
        }
        if (w->fd < 0 || w->busy)
                return;
        if (w->served >= LOCAL_POOL_REQUESTS)
                retire(w);
        else
                loop_timer_start(w->timer, LOCAL_POOL_IDLE_MS);
}

/* serve - a worker's life: one request after another until the socket
 * closes */
static void serve(struct local_server *srv, int sock)
{
        static char data[MSG_MAX];

        for (;;) {
                union {
                        struct cmsghdr h;
                        char space[CMSG_SPACE(3 * sizeof(int))];
                } cbuf;
                struct iovec iov = { data, sizeof(data) };
                struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = cbuf.space,
                        .msg_controllen = sizeof(cbuf.space) };
                struct cmsghdr *c;
                struct local_prefetch pre = { 0 };
                char *fields[USER_FIELDS_MAX], *nl;
                int fds[3] = { -1, -1, -1 }, nfds = 0, nf;
                struct status st;
                struct buf line;
                ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return;
                for (c = CMSG_FIRSTHDR(&msg); c != NULL;
                     c = CMSG_NXTHDR(&msg, c)) {
                        if (c->cmsg_level != SOL_SOCKET ||
                            c->cmsg_type != SCM_RIGHTS)
                                continue;
                        nfds = (int)((c->cmsg_len - CMSG_LEN(0)) /
                                     sizeof(int));
                        if (nfds > 3)
                                nfds = 3;
                        memcpy(fds, CMSG_DATA(c), (size_t)nfds *
                               sizeof(int));
                }
                nl = memchr(data, '\n', (size_t)n);
                if (nfds < 2 || nl == NULL || data[n - 1] != '\n' ||
                    (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
                        /* never sent so: qmgr sees the connection close
                         * and defers */
                        log_warn("delivery worker: bad request message");
                        for (int i = 0; i < nfds; i++)
                                close(fds[i]);
                        return;
                }
                nf = local_proto_split(nl + 1, (size_t)(data + n - 1 -
                                       (nl + 1)), fields, USER_FIELDS_MAX);
                if (nf >= 2) {
                        pre.user = authc_user_parse(fields + 1,
                                                    (size_t)nf - 1);
                        if (pre.user != NULL) {
                                pre.lookup = xstrdup(fields[0]);
                                pre.found = 1;
                        }
                }
                buf_init(&line, LOCAL_LINE_MAX);
                buf_append(&line, data, (size_t)(nl - data));
                status_clear(&st);
                /* pre.lookup NULL: the worker asks authd itself */
                local_request_deliver(srv, fds[0], &line, &pre, fds[1],
                                      fds[2], &st);
                buf_release(&line);
                free(pre.lookup);
                authc_user_free(&pre.user);
                if (write(sock, "I", 1) != 1)
                        return;
        }
}

/* start - fork a worker for uid:gid; NULL when that failed (logged).
 * The worker closes the nfds descriptors in fds (the request's, which it
 * gets again over its socket; -1 skipped). */
static struct worker *start(struct local_pool *pool, uid_t uid, gid_t gid,
                            const int *fds, int nfds)
{
        struct worker *w;
        struct status st;
        int sv[2];
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
                log_warn("socketpair: %m");
                return NULL;
        }
        pid = fork();
        if (pid < 0) {
                log_warn("fork: %m");
                close(sv[0]);
                close(sv[1]);
                return NULL;
        }
        if (pid == 0) {
                close(sv[0]);
                for (int i = 0; i < nfds; i++)
                        if (fds[i] >= 0)
                                close(fds[i]);
                pool->child_init();
                local_pool_close_fds(pool);
                if (local_run_as(pool->srv, uid, gid, &st) < 0) {
                        log_warn("delivery worker for uid %lu: %s",
                                 (unsigned long)uid, st.text);
                        _exit(EX_TEMPFAIL);
                }
                pool->srv->dropped = 1;
                pool->srv->pooled = 1;
                pool->srv->pool_uid = uid;
                pool->srv->pool_gid = gid;
                serve(pool->srv, sv[1]);
                _exit(0);
        }
        close(sv[1]);
        if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0)
                log_warn("fcntl: %m");
        w = xcalloc(1, sizeof(*w));
        w->pool = pool;
        w->pid = pid;
        w->fd = sv[0];
        w->uid = uid;
        w->gid = gid;
        w->watch = loop_fd_new(w->fd, LOOP_READ, on_worker_read, w);
        w->timer = loop_timer_new(on_idle_timeout, w);
        w->next = pool->list;
        pool->list = w;
        pool->count++;
        log_info("delivery worker %ld started for uid %lu", (long)pid,
                 (unsigned long)uid);
        return w;
}

/* find - an idle worker for uid:gid, or a new one when allowed (fds as
 * for start) */
static struct worker *find(struct local_pool *pool, uid_t uid, gid_t gid,
                           const int *fds, int nfds)
{
        size_t mine = 0;

        for (struct worker *w = pool->list; w != NULL; w = w->next) {
                if (w->fd < 0 || w->uid != uid || w->gid != gid)
                        continue;
                if (!w->busy)
                        return w;
                mine++;
        }
        if (mine >= LOCAL_POOL_PER_OWNER || pool->count >= pool->max)
                return NULL;
        return start(pool, uid, gid, fds, nfds);
}

int local_pool_send(struct local_pool *pool, int fd, const struct buf *line,
                    const struct local_prefetch *pre, int qfd, int mark_fd)
{
        const struct authc_user *u = pre->user;
        union {
                struct cmsghdr h;
                char space[CMSG_SPACE(3 * sizeof(int))];
        } cbuf;
        struct msghdr msg = { 0 };
        struct iovec iov;
        struct worker *w;
        struct buf out;
        char uid[32], gid[32], qb[32], qm[32];
        int fds[3] = { fd, qfd, mark_fd }, nfds = mark_fd >= 0 ? 3 : 2;
        ssize_t n;

        if (!pre->found || u == NULL || pre->lookup == NULL ||
            line->data == NULL ||
            (pool->srv->privileged && u->uid == 0) ||
            (w = find(pool, u->uid, u->gid, fds, 3)) == NULL)
                return 0;
        snprintf(uid, sizeof(uid), "uid=%lu", (unsigned long)u->uid);
        snprintf(gid, sizeof(gid), "gid=%lu", (unsigned long)u->gid);
        snprintf(qb, sizeof(qb), "quota_bytes=%lld", u->quota_bytes);
        snprintf(qm, sizeof(qm), "quota_messages=%lld", u->quota_messages);
        {
                char *user = xasprintf("user=%s", u->name);
                char *home = xasprintf("home=%s", u->home != NULL ?
                                       u->home : "");
                char *mail = xasprintf("mail=%s", u->mail != NULL ?
                                       u->mail : "");
                const char *f[] = { pre->lookup, user, uid, gid, home, mail,
                                    qb, qm };

                buf_init(&out, 0);
                buf_append(&out, line->data, line->len);
                buf_putc(&out, '\n');
                local_proto_put(&out, f, sizeof(f) / sizeof(f[0]));
                free(user);
                free(home);
                free(mail);
        }
        if (out.len > MSG_MAX || fcntl(fd, F_SETFL, 0) < 0) {
                buf_release(&out);
                return 0;
        }
        iov.iov_base = out.data;
        iov.iov_len = out.len;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        memset(&cbuf, 0, sizeof(cbuf));
        msg.msg_control = cbuf.space;
        msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
        CMSG_FIRSTHDR(&msg)->cmsg_level = SOL_SOCKET;
        CMSG_FIRSTHDR(&msg)->cmsg_type = SCM_RIGHTS;
        CMSG_FIRSTHDR(&msg)->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
        memcpy(CMSG_DATA(CMSG_FIRSTHDR(&msg)), fds, (size_t)nfds *
               sizeof(int));
        do
                n = sendmsg(w->fd, &msg, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        buf_release(&out);
        if (n != (ssize_t)iov.iov_len) {
                /* nothing went over: the caller delivers another way */
                log_warn("delivery worker %ld: sendmsg: %m", (long)w->pid);
                retire(w);
                return 0;
        }
        w->busy = 1;
        loop_timer_stop(w->timer);
        close(fd);
        close(qfd);
        if (mark_fd >= 0)
                close(mark_fd);
        return 1;
}
