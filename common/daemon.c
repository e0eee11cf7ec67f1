/* daemon.c - what every Yubin daemon does before and around its loop
 * Used by: every daemon's main(). Parses the supervisor's command line,
 * loads main.cf with the service's -o overrides, opens the log and picks
 * up the listening sockets the supervisor bound. Runs as root only until
 * daemon_drop_privileges(). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include "cfg.h"
#include "daemon.h"
#include "fileio.h"
#include "log.h"
#include "loop.h"
#include "mem.h"

static void usage(const char *program)
{
        fprintf(stderr, "usage: %s -c config_dir [-n service] [-t type] "
                "[-o name=value]... [-v] [-s]\n", program);
        exit(EX_USAGE);
}

/* daemon_open_log - log as syslog_name/program per main.cf */
static void daemon_open_log(struct daemon *d)
{
        const char *file = cfg_get(d->cfg, "maillog_file");
        int dests = 0;

        if (*file != '\0')
                dests |= LOG_TO_FILE;
        else if (!d->foreground)
                dests |= LOG_TO_SYSLOG;
        if (d->foreground)
                dests |= LOG_TO_STDERR;
        log_open(cfg_get(d->cfg, "syslog_name"), d->program, dests, file);
}

/* read_main - main.cf from the supervisor's memfd, or from the file when
 * started by hand */
static int read_main(struct cfg *cfg, const char *path)
{
        const char *env = getenv(DAEMON_MAIN_CF_FD_ENV);
        struct status st;
        struct buf text;
        char *end;
        int ret;

        if (env == NULL || *env == '\0')
                return cfg_read_main(cfg, path);
        long fd = strtol(env, &end, 10);
        if (*end != '\0' || fd < 0 || fd > 1024)
                log_fatal("bad %s=%s", DAEMON_MAIN_CF_FD_ENV, env);
        buf_init(&text, 0);
        if (fileio_read_fd((int)fd, path, DAEMON_CONFIG_MAX, &text, &st) < 0)
                log_fatal("%s", st.text);
        close((int)fd);
        unsetenv(DAEMON_MAIN_CF_FD_ENV);
        ret = cfg_parse_main(cfg, path, buf_cstr(&text), text.len);
        buf_release(&text);
        return ret;
}

static void daemon_listeners(struct daemon *d)
{
        const char *env = getenv(DAEMON_LISTEN_FDS_ENV);
        char *end;
        long n;

        d->listen_count = 0;
        if (env == NULL || *env == '\0')
                return;
        errno = 0;
        n = strtol(env, &end, 10);
        if (*end != '\0' || n < 0 || n > DAEMON_LISTEN_MAX)
                log_fatal("bad %s=%s", DAEMON_LISTEN_FDS_ENV, env);
        for (long i = 0; i < n; i++) {
                int fd = DAEMON_LISTEN_FD_START + (int)i;

                if (fcntl(fd, F_GETFD) < 0)
                        log_fatal("listening socket %d is not open", fd);
                fcntl(fd, F_SETFD, FD_CLOEXEC);
                int fl = fcntl(fd, F_GETFL);
                fcntl(fd, F_SETFL, fl | O_NONBLOCK);
                d->listen_fds[d->listen_count++] = fd;
        }
        unsetenv(DAEMON_LISTEN_FDS_ENV);
}

void daemon_init(struct daemon *d, const char *program, int argc,
                 char **argv)
{
        const char *config_dir = NULL;
        char *overrides[256];
        size_t n_overrides = 0;
        int verbose = 0;
        int c;

        memset(d, 0, sizeof(*d));
        d->program = program;
        d->service = program;
        d->type = "unix";
        /* log to stderr until main.cf says where */
        log_open("yubin", program, LOG_TO_STDERR, NULL);
        signal(SIGPIPE, SIG_IGN);

        opterr = 0;
        while ((c = getopt(argc, argv, "c:n:t:o:vs")) != -1) {
                switch (c) {
                case 'c':
                        config_dir = optarg;
                        break;
                case 'n':
                        d->service = optarg;
                        break;
                case 't':
                        d->type = optarg;
                        break;
                case 'o':
                        if (n_overrides == sizeof(overrides) / sizeof(overrides[0]))
                                log_fatal_config("too many -o options");
                        overrides[n_overrides++] = optarg;
                        break;
                case 'v':
                        verbose++;
                        break;
                case 's':
                        d->foreground = 1;
                        break;
                default:
                        usage(program);
                }
        }
        if (config_dir == NULL || optind != argc)
                usage(program);
        log_set_verbose(verbose);

        char *main_cf = xasprintf("%s/main.cf", config_dir);
        d->cfg = cfg_new(config_dir);
        int bad = read_main(d->cfg, main_cf);
        for (size_t i = 0; i < n_overrides; i++) {
                char *where = xasprintf("-o of service %s", d->service);
                if (cfg_override(d->cfg, overrides[i], where) < 0)
                        bad = -1;
                free(where);
        }
        if (cfg_check(d->cfg) < 0)
                bad = -1;
        free(main_cf);
        /* the supervisor already reported warnings; show only errors */
        size_t errors = 0;
        for (size_t i = 0; i < cfg_diag_count(d->cfg); i++) {
                int is_error;
                const char *msg = cfg_diag(d->cfg, i, &is_error);
                if (is_error) {
                        log_error("%s", msg);
                        errors++;
                }
        }
        if (bad < 0 || errors > 0)
                log_fatal_config("bad configuration in %s: %zu error%s",
                                 config_dir, errors, errors == 1 ? "" : "s");
        daemon_open_log(d);
        daemon_listeners(d);
}

void daemon_drop_privileges(struct daemon *d)
{
        struct status st;

        if (!priv_is_root()) {
                priv_self(&d->owner);
                return;
        }
        if (priv_lookup("mail_owner", cfg_get(d->cfg, "mail_owner"),
                        &d->owner, &st) < 0)
                log_fatal_config("%s", st.text);
        if (priv_drop(&d->owner, &st) < 0)
                log_fatal("cannot drop privileges to %s: %s", d->owner.name,
                          st.text);
        log_debug("running as %s (uid %lu)", d->owner.name,
                  (unsigned long)d->owner.uid);
}

static int stopping;

static void on_signal(int signo, void *ctx)
{
        struct daemon *d = ctx;

        switch (signo) {
        case SIGUSR2:
                log_reopen();
                return;
        case SIGTERM:
        case SIGINT:
                stopping = 1;
                if (d->drain != NULL)
                        d->drain(d, 1);
                else
                        exit(0);
                return;
        case SIGUSR1:
                stopping = 1;
                if (d->drain != NULL)
                        d->drain(d, 0);
                else
                        exit(0);
                return;
        }
}

#define DAEMON_SIGNALS 4

/* the handlers live as long as the process; kept here, not leaked */
static struct loop_signal *watched[DAEMON_SIGNALS];

void daemon_watch_signals(struct daemon *d)
{
        static const int signals[DAEMON_SIGNALS] = {
                SIGTERM, SIGINT, SIGUSR1, SIGUSR2
        };

        for (size_t i = 0; i < DAEMON_SIGNALS; i++)
                watched[i] = loop_signal_new(signals[i], on_signal, d);
}

int daemon_unix_socket(const char *path, int type, unsigned mode,
                       const struct priv *owner)
{
        struct sockaddr_un sun;
        mode_t old;
        int fd;

        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        if (strlen(path) >= sizeof(sun.sun_path))
                log_fatal_config("socket path too long: %s (make its "
                                 "directory's path shorter)", path);
        memcpy(sun.sun_path, path, strlen(path));
        if (unlink(path) < 0 && errno != ENOENT)
                log_fatal("cannot remove stale %s: %m", path);
        fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                log_fatal("socket: %m");
        /* never reachable by more than mode allows, not even briefly */
        old = umask(~(mode_t)mode & 0777);
        if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
                log_fatal("bind %s: %m", path);
        umask(old);
        if (owner != NULL && priv_is_root() &&
            chown(path, owner->uid, owner->gid) < 0)
                log_fatal("chown %s: %m", path);
        if (chmod(path, (mode_t)mode) < 0)
                log_fatal("chmod %s: %m", path);
        if (type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0)
                log_fatal("listen %s: %m", path);
        return fd;
}

int daemon_stopping(const struct daemon *d)
{
        return stopping;
}
