/* daemon.h - what every Yubin daemon does before and around its loop
 * Used by: authd, smtpd, qmgr, local, smtp, imapd, pop3d (and test
 * daemons). The supervisor starts each as
 *   PROGRAM -c CONFIG_DIR -n SERVICE -t TYPE [-o name=value]... [-v] [-s]
 * with its listening sockets at descriptors 3, 4, ... and their number in
 * the environment variable YUBIN_LISTEN_FDS, and main.cf's text as the
 * supervisor read it in a sealed memfd named by YUBIN_MAIN_CF_FD (so that
 * an edited main.cf takes effect at reload, never half-way). Signals from the supervisor:
 * SIGTERM stop now; SIGUSR1 stop accepting, finish sessions, then exit
 * (reload); SIGUSR2 reopen maillog_file. */
#ifndef YUBIN_DAEMON_H
#define YUBIN_DAEMON_H

#include <stddef.h>

#include "cfg.h"
#include "priv.h"

#define DAEMON_LISTEN_FDS_ENV "YUBIN_LISTEN_FDS"
#define DAEMON_LISTEN_FD_START 3
#define DAEMON_LISTEN_MAX 64
#define DAEMON_MAIN_CF_FD_ENV "YUBIN_MAIN_CF_FD"
#define DAEMON_CONFIG_MAX (64 * 1024 * 1024)    /* main.cf size limit */

struct daemon {
        const char *program;    /* e.g. "smtpd" */
        const char *service;    /* master.cf service, e.g. "submission" */
        const char *type;       /* master.cf type, e.g. "inet" */
        struct cfg *cfg;        /* main.cf with this service's -o */
        int listen_fds[DAEMON_LISTEN_MAX];
        size_t listen_count;
        int foreground;         /* -s: log to stderr too */
        struct priv owner;      /* mail_owner, or the invoking user */
        /* called on SIGUSR1 and SIGTERM: stop accepting (close listeners);
         * the daemon exits when its loop has nothing left to do */
        void (*drain)(struct daemon *d, int now);
        void *ctx;
};

/* daemon_init - parse the supervisor's arguments, read main.cf and the
 * service's -o overrides, open the log, pick up the listening sockets.
 * A bad configuration is fatal (EX_CONFIG) with every file:line error
 * logged. argv is borrowed for the life of the process. */
void daemon_init(struct daemon *d, const char *program, int argc,
                 char **argv);
/* daemon_drop_privileges - as root: become mail_owner (fatal if that
 * fails); otherwise nothing */
void daemon_drop_privileges(struct daemon *d);
/* daemon_watch_signals - install the SIGTERM/SIGUSR1/SIGUSR2 handling on
 * the process's loop; call after loop_init() */
void daemon_watch_signals(struct daemon *d);
/* daemon_unix_socket - a UNIX socket of type SOCK_STREAM (listening) or
 * SOCK_DGRAM, non-blocking and close-on-exec, bound at path (a stale
 * socket there is removed) with mode mode; as root it is given to owner
 * when owner is not NULL. Fatal (with the path) on any failure: a daemon
 * without its socket cannot serve. */
int daemon_unix_socket(const char *path, int type, unsigned mode,
                       const struct priv *owner);
/* daemon_stopping - 1 once SIGTERM or SIGUSR1 arrived */
int daemon_stopping(const struct daemon *d);

#endif
