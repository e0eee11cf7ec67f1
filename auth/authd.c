/* authd.c - the one auth service of SMTP, IMAP and POP3
 *   authd -c CONFIG_DIR -n authd -t unix [-v] [-s]   (started by yubin)
 * Checks passwords (user_database, PAM), looks users up, issues and
 * redeems login tokens, keeps POP/IMAP-before-SMTP grants, throttles
 * failed logins per client address, and runs the Cyrus SASL exchanges the
 * front ends relay. Clients speak auth/PROTOCOL.md over the UNIX socket
 * $data_directory/authd.socket, which authd creates at start (removing a
 * stale one), owned by mail_owner, mode 0660.
 * Runs as: root at start when Yubin runs as root, to open the user
 * database (creating it for mail_owner) and fork its workers -- the PAM
 * workers stay root, the others drop to mail_owner -- then the front end
 * drops to mail_owner before it reads anything from a socket. Started by
 * an ordinary user, everything runs as that user. Parses client requests
 * (front end) and, in the SASL workers, client SASL data. Files:
 * user_database (read), $data_directory/pbs.db (PbS grants, read and
 * written), the socket. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth_conn.h"
#include "auth_db.h"
#include "auth_pbs.h"
#include "auth_sasl.h"
#include "auth_throttle.h"
#include "auth_token.h"
#include "auth_user.h"
#include "auth_worker.h"
#include "authc.h"
#include "cfg.h"
#include "daemon.h"
#include "log.h"
#include "loop.h"
#include "mem.h"
#include "priv.h"

/* after a reload: how often, and how many times, to look whether the
 * next authd has taken the socket over */
#define AUTHD_HANDOVER_MS 20
#define AUTHD_HANDOVER_TICKS 250
/* how often lapsed grants, bans and tokens are forgotten */
#define AUTHD_PURGE_MS (30 * 1000)
/* connections accepted per wake-up, so that one burst cannot starve
 * the rest of the loop */
#define AUTHD_ACCEPT_BATCH 64

static struct daemon d;
static struct auth_service svc;
static int listen_fd = -1;
static struct loop_fd *listen_watch;
static struct loop_timer *purge_timer;
static struct loop_timer *handover_timer;
static int handover_ticks;
static char *socket_path;
static ino_t socket_ino;

static long long wall_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_accept(int fd, int events, void *ctx)
{
        for (int i = 0; i < AUTHD_ACCEPT_BATCH; i++) {
                int client = accept4(fd, NULL, NULL,
                                     SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (client < 0) {
                        if (errno != EAGAIN && errno != EWOULDBLOCK &&
                            errno != EINTR && errno != ECONNABORTED)
                                log_warn("authd: accept: %m");
                        return;
                }
                auth_conn_accept(&svc, client);
        }
}

/* stop - close the listener and leave the loop. Clients reconnect to
 * the next authd, and whatever they were waiting for becomes a TEMPFAIL
 * there. The socket file stays: a new authd may already have replaced
 * it. */
static void stop(void)
{
        loop_fd_free(&listen_watch);
        if (handover_timer != NULL)
                loop_timer_stop(handover_timer);
        if (listen_fd >= 0)
                close(listen_fd);
        listen_fd = -1;
        loop_exit();
}

/* handover - after a reload, serve on until the next authd has bound the
 * socket path (or a few seconds passed), so that logins never find
 * nobody listening */
static void handover(void *ctx)
{
        struct stat sb;

        if (++handover_ticks > AUTHD_HANDOVER_TICKS ||
            stat(socket_path, &sb) < 0 || sb.st_ino != socket_ino) {
                stop();
                return;
        }
        loop_timer_start(handover_timer, AUTHD_HANDOVER_MS);
}

/* drain - SIGTERM: stop now; SIGUSR1 (reload): hand over first */
static void drain(struct daemon *dm, int now)
{
        if (now || socket_path == NULL) {
                stop();
                return;
        }
        if (handover_timer == NULL) {
                handover_timer = loop_timer_new(handover, NULL);
                handover(NULL);
        }
}

/* fork_hook - in a replacement worker: let go of the front end's
 * sockets */
static void fork_hook(void *ctx)
{
        if (listen_fd >= 0)
                close(listen_fd);
        auth_conn_close_fds();
}

static void purge(void *ctx)
{
        auth_pbs_purge(svc.pbs, wall_ms());
        auth_throttle_purge(svc.throttle, loop_now_ms());
        auth_tokens_purge(svc.tokens, loop_now_ms());
        loop_timer_start(purge_timer, AUTHD_PURGE_MS);
}

int main(int argc, char **argv)
{
        struct auth_user_conf users;
        struct auth_workers_conf wconf;
        struct priv owner;
        struct status st;
        int privileged;
        char *path;

        daemon_init(&d, "authd", argc, argv);
        privileged = priv_is_root();
        if (privileged) {
                if (priv_lookup("mail_owner", cfg_get(d.cfg, "mail_owner"),
                                &owner, &st) < 0)
                        log_fatal_config("%s", st.text);
        } else {
                priv_self(&owner);
        }
        if (auth_user_conf_load(d.cfg, privileged, &owner, &users, &st) < 0)
                log_fatal_config("%s", st.text);
        if (users.db_path != NULL) {
                struct auth_db *db = NULL;

                /* create it (for mail_owner) now, while we may */
                if (auth_db_open(users.db_path, AUTH_DB_CREATE, &owner, &db,
                                 &st) < 0)
                        log_warn("auth: %s", st.text);
                auth_db_close(&db);
        }
        if (auth_throttle_load(d.cfg, &svc.throttle, &st) < 0)
                log_fatal_config("%s", st.text);
        if (auth_sasl_policy_load(d.cfg, &svc.policy, &st) < 0)
                log_fatal_config("%s", st.text);
        if (auth_sasl_init(&st) < 0)
                log_warn("auth: %s", st.text);
        svc.pbs_ttl_ms = cfg_get_time(d.cfg, "pop_before_smtp_timeout") * 1000;
        svc.token_ttl_ms = cfg_get_time(d.cfg, "auth_token_lifetime") * 1000;

        loop_init();
        memset(&wconf, 0, sizeof(wconf));
        wconf.users = &users;
        wconf.owner = &owner;
        wconf.privileged = privileged;
        wconf.hostname = cfg_get(d.cfg, "myhostname");
        if (auth_workers_start(&wconf, &svc.workers, &st) < 0)
                log_fatal("auth: cannot start workers: %s", st.text);
        auth_workers_fork_hook(svc.workers, fork_hook, NULL);

        daemon_drop_privileges(&d);

        path = xasprintf("%s/%s", cfg_get(d.cfg, "data_directory"),
                         AUTH_PBS_FILE);
        if (auth_pbs_open(path, wall_ms(), &svc.pbs, &st) < 0)
                log_fatal("PbS: %s", st.text);
        free(path);
        svc.tokens = auth_tokens_new();
        path = xasprintf("%s/%s", cfg_get(d.cfg, "data_directory"),
                         AUTHC_SOCKET_NAME);
        listen_fd = daemon_unix_socket(path, SOCK_STREAM, 0660, NULL);
        {
                struct stat sb;

                if (stat(path, &sb) == 0) {
                        socket_ino = sb.st_ino;
                        socket_path = xstrdup(path);
                }
        }

        d.drain = drain;
        daemon_watch_signals(&d);
        listen_watch = loop_fd_new(listen_fd, LOOP_READ, on_accept, NULL);
        purge_timer = loop_timer_new(purge, NULL);
        loop_timer_start(purge_timer, AUTHD_PURGE_MS);
        log_info("ready: %s", path);
        free(path);
        loop_run();

        auth_conn_free_all();
        loop_timer_free(&purge_timer);
        loop_timer_free(&handover_timer);
        free(socket_path);
        auth_workers_free(&svc.workers);
        auth_pbs_close(&svc.pbs);
        auth_tokens_free(&svc.tokens);
        auth_throttle_free(&svc.throttle);
        auth_sasl_policy_release(&svc.policy);
        auth_user_conf_release(&users);
        cfg_free(&d.cfg);
        return 0;
}
