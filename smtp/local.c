/* local.c - local delivery: aliases, .forward, Maildirs of system and
 * virtual users
 *   local -c CONFIG_DIR -n local -t unix [-v] [-s]   (started by yubin)
 * Serves qmgr's delivery requests on $queue_directory/private/local (a
 * UNIX socket it creates, owned by mail_owner, mode 0600; a peer that is
 * neither mail_owner nor root is refused). The main process reads each
 * request line and, when the recipient is a virtual user, looks it up
 * over its one persistent authd connection; then a worker process forked
 * for the request delivers, so a slow command or a stuck NFS home holds
 * up only its own recipient; the worker answers qmgr and exits. A virtual
 * user found that way goes instead to a worker kept for its uid:gid
 * (local_pool.c), which serves request after request as that owner from
 * descriptors the main process opens and passes; when all of that
 * owner's workers are busy the request waits a moment for one (a fork
 * costs more) before it gets a process of its own.
 * Runs as: root when Yubin runs as root -- it must become each mailbox's
 * owner -- but never writes anything there itself: see local.h. Started
 * by an ordinary user, everything runs as that user. Parses qmgr's
 * requests (local_proto.h) only. Files: the queue file (read), alias and
 * :include: files and .forward (read as their users), Maildirs, authd's
 * socket. */
#include <sys/socket.h>
#include <sys/stat.h>
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
#include "cfg.h"
#include "daemon.h"
#include "local.h"
#include "local_pool.h"
#include "local_proto.h"
#include "log.h"
#include "loop.h"
#include "map.h"
#include "mem.h"
#include "priv.h"
#include "queue_file.h"
#include "resolve.h"

#define REQUEST_TIMEOUT_MS      (30 * 1000)
/* a virtual user's request waits this long for one of its owner's pooled
 * workers to be free, then gets a worker forked for it: a fork costs more
 * than a short wait, but a stuck mailbox must not hold up the others */
#define POOL_WAIT_MS            500

/* A request whose line is being read, or whose recipient authd is
 * looking up, before its worker is forked; or one waiting for a pooled
 * worker, with its queue file open. */
struct pending {
        int fd;                         /* qmgr's connection */
        struct loop_fd *watch;
        struct loop_timer *timer;
        struct authc_req *req;          /* the look-up under way */
        struct buf line;
        struct local_prefetch pre;
        int waiting;                    /* for a pooled worker */
        int qfd, mark_fd;               /* while waiting */
        struct pending *prev, *next;
};

static struct daemon d;
static struct local_server srv;
static int listen_fd = -1;
static struct loop_fd *listen_watch;
static struct loop_signal *chld_watch;
static size_t workers, workers_max;
static uid_t peer_ok_uid;
static long long config_retry_ms;
static struct authc *authd;             /* look-ups for the workers */
static struct pending *pendings;
static struct local_pool *pool;         /* workers kept for virtual users */

static void on_accept(int fd, int events, void *ctx);
static void retry_waiting(void);

/* open_tables - resolve and alias_maps; on trouble mail is deferred
 * with the reason until a later try succeeds (at most every 2 s) */
static void open_tables(void)
{
        struct status st;

        if (srv.resolve != NULL || loop_now_ms() < config_retry_ms)
                return;
        config_retry_ms = loop_now_ms() + 2 * 1000;
        if (resolve_open(srv.cfg, &srv.resolve, &st) < 0 ||
            maps_open(cfg_get(srv.cfg, "alias_maps"), "alias_maps",
                      MAPS_ALIASES, &srv.aliases, &st) < 0) {
                resolve_free(&srv.resolve);
                if (strcmp(st.text, srv.config_st.text) != 0)
                        log_error("%s; local mail is deferred until this "
                                  "is fixed", st.text);
                srv.config_st = st;
                return;
        }
        status_clear(&srv.config_st);
}

static void watch_listener(void)
{
        if (listen_watch == NULL && listen_fd >= 0 && workers < workers_max)
                listen_watch = loop_fd_new(listen_fd, LOOP_READ, on_accept,
                                           NULL);
}

static void on_child(int signo, void *ctx)
{
        int status;
        pid_t pid;

        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
                int busy = 1;

                if (pool != NULL && local_pool_reaped(pool, pid, status,
                                                      &busy)) {
                        if (busy && workers > 0)
                                workers--;
                        retry_waiting();
                        continue;
                }
                if (workers > 0)
                        workers--;
                if (WIFSIGNALED(status))
                        log_warn("delivery worker %ld killed by signal %d",
                                 (long)pid, WTERMSIG(status));
        }
        watch_listener();
}

/* peer_allowed - only qmgr's user (mail_owner) and root may ask */
static int peer_allowed(int fd)
{
        struct ucred cred;
        socklen_t len = sizeof(cred);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return 0;
        return cred.uid == peer_ok_uid || cred.uid == 0;
}

/* pending_free - free *pp and clear it; its connection is closed */
static void pending_free(struct pending **pp)
{
        struct pending *p = *pp;

        if (p == NULL)
                return;
        if (p->prev != NULL)
                p->prev->next = p->next;
        else
                pendings = p->next;
        if (p->next != NULL)
                p->next->prev = p->prev;
        loop_fd_free(&p->watch);
        loop_timer_free(&p->timer);
        authc_cancel(&p->req);
        if (p->qfd >= 0)
                close(p->qfd);
        if (p->mark_fd >= 0)
                close(p->mark_fd);
        buf_release(&p->line);
        free(p->pre.lookup);
        authc_user_free(&p->pre.user);
        if (p->fd >= 0)
                close(p->fd);
        free(p);
        *pp = NULL;
}

/* drop - give up on a request before its worker: qmgr defers */
static void drop(struct pending *p)
{
        pending_free(&p);
        if (workers > 0)
                workers--;
        watch_listener();
}

/* child_init_keep - in a new worker: default signals, and none of the main
 * process's descriptors but keep's request (may be NULL) */
static void child_init_keep(const struct pending *keep)
{
        signal(SIGCHLD, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGUSR1, SIG_DFL);
        signal(SIGPIPE, SIG_IGN);
        close(listen_fd);
        /* the other requests are not this worker's business: a worker
         * holding one would hide its end from qmgr */
        for (struct pending *o = pendings; o != NULL; o = o->next) {
                if (o != keep)
                        close(o->fd);
                if (o->qfd >= 0)
                        close(o->qfd);
                if (o->mark_fd >= 0)
                        close(o->mark_fd);
        }
        local_pool_close_fds(pool);
}

static void child_init(void)
{
        child_init_keep(NULL);
}

/* hand_over - give waiting request p to a pooled worker; 1 done (p is
 * freed), 0 none free */
static int hand_over(struct pending *p)
{
        if (local_pool_send(pool, p->fd, &p->line, &p->pre, p->qfd,
                            p->mark_fd) != 1)
                return 0;
        p->fd = p->qfd = p->mark_fd = -1;       /* the worker's now */
        pending_free(&p);
        return 1;
}

/* retry_waiting - a pooled worker is free, or gone: the longest waiting
 * request it can serve goes to it */
static void retry_waiting(void)
{
        struct pending *p = pendings;

        while (p != NULL && p->next != NULL)
                p = p->next;
        for (; p != NULL; p = p->prev)
                if (p->waiting && hand_over(p))
                        return;
}

/* pool_idle - a pooled worker finished a request */
static void pool_idle(void *ctx)
{
        if (workers > 0)
                workers--;
        watch_listener();
        retry_waiting();
}

/* spawn - fork the worker for p and forget p */
static void spawn(struct pending *p)
{
        pid_t pid;

        loop_fd_free(&p->watch);
        loop_timer_stop(p->timer);
        pid = fork();
        if (pid < 0) {
                log_warn("fork: %m");
                drop(p);
                return;
        }
        if (pid == 0) {
                child_init_keep(p);
                if (fcntl(p->fd, F_SETFL, 0) < 0)
                        _exit(EX_OSERR);
                _exit(local_request_serve(&srv, p->fd, &p->line, &p->pre));
        }
        pending_free(&p);
}

/* dispatch - a virtual user's request goes to a pooled worker when one is
 * free (or can be started), anything else to a worker forked for it */
static void dispatch(struct pending *p)
{
        struct status st;
        int qfd, mark_fd;

        if (srv.resolve == NULL || !p->pre.found || p->pre.user == NULL ||
            local_request_open(&srv, &p->line, &qfd, &mark_fd, &st) < 0) {
                /* the forked worker reports whatever went wrong */
                spawn(p);
                return;
        }
        loop_fd_free(&p->watch);
        loop_timer_stop(p->timer);
        p->qfd = qfd;
        p->mark_fd = mark_fd;
        if (hand_over(p))
                return;
        /* every worker of the owner is busy: wait a little for one */
        p->waiting = 1;
        loop_timer_start(p->timer, POOL_WAIT_MS);
}

static void on_lookup(const struct authc_reply *r, void *ctx)
{
        struct pending *p = ctx;

        p->req = NULL;
        if (r->result == AUTHC_OK && r->user != NULL) {
                p->pre.found = 1;
                p->pre.user = authc_user_dup(r->user);
        } else if (r->result == AUTHC_NOTFOUND) {
                p->pre.found = 0;
        } else {
                /* could not tell: the worker tries again itself */
                free(p->pre.lookup);
                p->pre.lookup = NULL;
        }
        dispatch(p);
}

/* prefetch - look the recipient of p's request up when it is a virtual
 * user, else fork its worker now; a malformed line is the worker's to
 * refuse */
static void prefetch(struct pending *p)
{
        char *copy = xstrndup(buf_cstr(&p->line), p->line.len);
        char *fields[LOCAL_FIELDS_MAX], *lookup = NULL;
        enum resolve_class cls;
        struct status st;
        int n = local_proto_split(copy, p->line.len, fields,
                                  LOCAL_FIELDS_MAX);

        if (authd != NULL && srv.resolve != NULL && n == 5 &&
            strcmp(fields[0], "DELIVER") == 0 && *fields[3] != '\0' &&
            (strcmp(fields[4], "0") == 0 || strcmp(fields[4], "1") == 0) &&
            resolve_rcpt_flags(srv.resolve, fields[3], fields[4][0] == '1' ?
                               RESOLVE_NO_VIRTUAL : 0, &cls, &lookup,
                               &st) == 0 && cls == RESOLVE_USERDB &&
            lookup != NULL) {
                p->pre.lookup = lookup;
                lookup = NULL;
                p->req = authc_lookup(authd, p->pre.lookup, on_lookup, p);
        }
        free(lookup);
        free(copy);
        if (p->req == NULL) {
                free(p->pre.lookup);
                p->pre.lookup = NULL;
                spawn(p);
        }
}

static void on_request_read(int fd, int events, void *ctx)
{
        struct pending *p = ctx;
        char chunk[1024];
        const char *nl;
        ssize_t n = read(p->fd, chunk, sizeof(chunk));

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0 || buf_append(&p->line, chunk, (size_t)n) < 0) {
                log_warn("delivery request: read error or too long");
                drop(p);
                return;
        }
        nl = memchr(p->line.data, '\n', p->line.len);
        if (nl == NULL)
                return;
        buf_truncate(&p->line, (size_t)(nl - p->line.data));
        loop_fd_free(&p->watch);
        prefetch(p);
}

static void on_request_timeout(void *ctx)
{
        struct pending *p = ctx;

        if (p->waiting) {
                /* no pooled worker came free: one of its own */
                close(p->qfd);
                if (p->mark_fd >= 0)
                        close(p->mark_fd);
                p->qfd = p->mark_fd = -1;
                p->waiting = 0;
                spawn(p);
                return;
        }
        if (p->req != NULL) {
                /* authd is slow: the worker asks it itself */
                authc_cancel(&p->req);
                free(p->pre.lookup);
                p->pre.lookup = NULL;
                spawn(p);
                return;
        }
        log_warn("delivery request: timeout");
        drop(p);
}

static void on_accept(int fd, int events, void *ctx)
{
        int client = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct pending *p;

        if (client < 0) {
                if (errno != EAGAIN && errno != EINTR &&
                    errno != ECONNABORTED)
                        log_warn("accept: %m");
                return;
        }
        if (!peer_allowed(client)) {
                log_warn("refusing a delivery request from a process that "
                         "is not mail_owner's");
                close(client);
                return;
        }
        open_tables();
        p = xcalloc(1, sizeof(*p));
        p->fd = client;
        p->qfd = p->mark_fd = -1;
        buf_init(&p->line, LOCAL_LINE_MAX);
        p->next = pendings;
        if (pendings != NULL)
                pendings->prev = p;
        pendings = p;
        p->watch = loop_fd_new(client, LOOP_READ, on_request_read, p);
        p->timer = loop_timer_new(on_request_timeout, p);
        loop_timer_start(p->timer, REQUEST_TIMEOUT_MS);
        if (++workers >= workers_max)
                loop_fd_free(&listen_watch);
}

static void drain(struct daemon *dm, int now)
{
        /* requests not yet handed to a worker: qmgr defers them */
        while (pendings != NULL) {
                struct pending *p = pendings;

                pending_free(&p);
        }
        loop_fd_free(&listen_watch);
        if (listen_fd >= 0)
                close(listen_fd);
        listen_fd = -1;
        /* idle pooled workers exit; busy ones after their answer */
        local_pool_free(&pool);
        loop_exit();
}

/* origin_bits - allow_mail_to_commands / _files as LOCAL_ORIGIN_* */
static int origin_bits(const char *param)
{
        size_t n;
        char **items = cfg_get_list(srv.cfg, param, &n);
        int bits = 0;

        for (size_t i = 0; i < n; i++) {
                if (strcmp(items[i], "alias") == 0)
                        bits |= LOCAL_ORIGIN_ALIAS;
                else if (strcmp(items[i], "forward") == 0)
                        bits |= LOCAL_ORIGIN_FORWARD;
                else if (strcmp(items[i], "include") == 0)
                        bits |= LOCAL_ORIGIN_INCLUDE;
                else
                        log_warn("%s: unknown class \"%s\" ignored", param,
                                 items[i]);
        }
        cfg_list_free(&items);
        return bits;
}

int main(int argc, char **argv)
{
        struct priv owner;
        struct status st;
        const char *shell;
        char *path, *sock;

        daemon_init(&d, "local", argc, argv);
        srv.cfg = d.cfg;
        srv.privileged = priv_is_root();
        srv.queue_dir = cfg_get(d.cfg, "queue_directory");
        srv.data_dir = cfg_get(d.cfg, "data_directory");
        srv.myhostname = cfg_get(d.cfg, "myhostname");
        srv.home_mailbox = cfg_get(d.cfg, "home_mailbox");
        shell = cfg_get(d.cfg, "local_command_shell");
        srv.shell = *shell != '\0' ? shell : "/bin/sh";
        srv.allow_commands = origin_bits("allow_mail_to_commands");
        srv.allow_files = origin_bits("allow_mail_to_files");
        srv.command_time_limit = cfg_get_time(d.cfg, "command_time_limit");
        srv.quota_tempfail = cfg_get_bool(d.cfg, "quota_full_tempfail");
        srv.forward_path = cfg_get_list(d.cfg, "forward_path",
                                        &srv.forward_count);
        workers_max = (size_t)cfg_get_int(d.cfg, "default_process_limit");
        if (srv.privileged) {
                if (priv_lookup("mail_owner", cfg_get(d.cfg, "mail_owner"),
                                &owner, &st) < 0)
                        log_fatal_config("%s", st.text);
                if (priv_lookup("default_privs",
                                cfg_get(d.cfg, "default_privs"),
                                &srv.default_privs, &st) < 0) {
                        log_warn("%s; commands and files in root's alias "
                                 "files are refused", st.text);
                        srv.default_privs.uid = 0;
                }
        } else {
                priv_self(&owner);
                srv.default_privs = owner;
        }
        peer_ok_uid = owner.uid;
        if (queue_dirs_make(srv.queue_dir, owner.uid, owner.gid, &st) < 0)
                log_fatal("queue_directory: %s", st.text);

        loop_init();
        status_clear(&srv.config_st);
        open_tables();
        sock = xasprintf("%s/%s", srv.data_dir, AUTHC_SOCKET_NAME);
        authd = authc_new(sock);
        free(sock);
        path = xasprintf("%s/%s", srv.queue_dir, LOCAL_SOCKET);
        listen_fd = daemon_unix_socket(path, SOCK_STREAM, 0600, &owner);
        d.drain = drain;
        daemon_watch_signals(&d);
        chld_watch = loop_signal_new(SIGCHLD, on_child, NULL);
        pool = local_pool_new(&srv, workers_max, child_init, pool_idle,
                              NULL);
        watch_listener();
        log_info("ready: %s", path);
        free(path);
        loop_run();

        local_pool_free(&pool);
        loop_signal_free(&chld_watch);
        authc_free(&authd);
        resolve_free(&srv.resolve);
        maps_free(&srv.aliases);
        cfg_list_free(&srv.forward_path);
        cfg_free(&d.cfg);
        return 0;
}
