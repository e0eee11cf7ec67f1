/* local.c - local delivery: aliases, .forward, Maildirs of system and
 * virtual users
 *   local -c CONFIG_DIR -n local -t unix [-v] [-s]   (started by yubin)
 * Serves qmgr's delivery requests on $queue_directory/private/local (a
 * UNIX socket it creates, owned by mail_owner, mode 0600; a peer that is
 * neither mail_owner nor root is refused). Each request is handled by a
 * worker process forked for it, so a slow command or a stuck NFS home
 * holds up only its own recipient; the worker answers qmgr and exits.
 * Runs as: root when Yubin runs as root -- it must become each mailbox's
 * owner -- but never writes anything there itself: see local.h. Started
 * by an ordinary user, everything runs as that user. Parses qmgr's
 * requests (local_proto.h) only. Files: the queue file (read), alias and
 * :include: files and .forward (read as their users), Maildirs. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "daemon.h"
#include "local.h"
#include "local_proto.h"
#include "log.h"
#include "loop.h"
#include "map.h"
#include "mem.h"
#include "priv.h"
#include "queue_file.h"
#include "resolve.h"

static struct daemon d;
static struct local_server srv;
static int listen_fd = -1;
static struct loop_fd *listen_watch;
static struct loop_signal *chld_watch;
static size_t workers, workers_max;
static uid_t peer_ok_uid;
static long long config_retry_ms;

static void on_accept(int fd, int events, void *ctx);

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

static void on_accept(int fd, int events, void *ctx)
{
        int client = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        pid_t pid;

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
        pid = fork();
        if (pid < 0) {
                log_warn("fork: %m");
                close(client);
                return;
        }
        if (pid == 0) {
                signal(SIGCHLD, SIG_DFL);
                signal(SIGTERM, SIG_DFL);
                signal(SIGUSR1, SIG_DFL);
                signal(SIGPIPE, SIG_IGN);
                close(listen_fd);
                _exit(local_request_serve(&srv, client));
        }
        close(client);
        if (++workers >= workers_max)
                loop_fd_free(&listen_watch);
}

/* open_socket - $queue_directory/private/local for owner, mode 0600 */
static int open_socket(const char *path, const struct priv *owner)
{
        struct sockaddr_un sun;
        mode_t old;
        int fd;

        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        if (strlen(path) >= sizeof(sun.sun_path))
                log_fatal_config("local socket path too long: %s (make "
                                 "queue_directory shorter)", path);
        memcpy(sun.sun_path, path, strlen(path));
        if (unlink(path) < 0 && errno != ENOENT)
                log_fatal("cannot remove stale %s: %m", path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                log_fatal("socket: %m");
        old = umask(0177);
        if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
                log_fatal("bind %s: %m", path);
        umask(old);
        if (priv_is_root() && chown(path, owner->uid, owner->gid) < 0)
                log_fatal("chown %s: %m", path);
        if (chmod(path, 0600) < 0)
                log_fatal("chmod %s: %m", path);
        if (listen(fd, SOMAXCONN) < 0)
                log_fatal("listen %s: %m", path);
        return fd;
}

static void drain(struct daemon *dm, int now)
{
        loop_fd_free(&listen_watch);
        if (listen_fd >= 0)
                close(listen_fd);
        listen_fd = -1;
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
        char *path;

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
        path = xasprintf("%s/%s", srv.queue_dir, LOCAL_SOCKET);
        listen_fd = open_socket(path, &owner);
        d.drain = drain;
        daemon_watch_signals(&d);
        chld_watch = loop_signal_new(SIGCHLD, on_child, NULL);
        watch_listener();
        log_info("ready: %s", path);
        free(path);
        loop_run();

        loop_signal_free(&chld_watch);
        resolve_free(&srv.resolve);
        maps_free(&srv.aliases);
        cfg_list_free(&srv.forward_path);
        cfg_free(&d.cfg);
        return 0;
}
