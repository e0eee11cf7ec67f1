/* ctl_log.c - yubinctl log: ask the running supervisor to reopen its log
 *   log reopen   after logrotate moved maillog_file away
 * Used by: yubinctl (the "log" command), e.g. from logrotate's postrotate.
 * Finds the supervisor through $data_directory/master.pid, which it
 * holds locked while it runs (a stale pid file must not get another
 * program signalled: SIGUSR2 would kill most of them), and sends SIGUSR2;
 * the supervisor reopens maillog_file and passes the signal to its
 * children. Runs as the invoking user: the one who started yubin, or root. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sysexits.h>
#include <unistd.h>

#include "cfg.h"
#include "ctl.h"
#include "master.h"
#include "mem.h"

#define LOG_PID_FILE "master.pid"     /* in data_directory; master_pid.c */

static int log_usage(void)
{
        fputs("usage: " CTL_PROGNAME " [-c DIR] log reopen\n"
              "  reopen  make the running supervisor reopen maillog_file\n",
              stderr);
        return EX_USAGE;
}

/* log_supervisor_pid - the live supervisor's pid, or -1 (reported).
 * "Live" is what the supervisor itself goes by (master_pid.c): a process
 * holds the lock on master.pid. A stale file from a crash, whose pid may
 * by now belong to another program, is never signalled. */
static pid_t log_supervisor_pid(struct ctl *ctl)
{
        size_t errors;
        struct cfg *c = ctl_cfg_load(ctl, &errors);
        const char *error = NULL;
        char *dir = cfg_expand(c, cfg_get_raw(c, "data_directory", NULL),
                               &error);
        char *path = NULL;
        pid_t pid = -1;
        int fd;

        if (dir == NULL) {
                ctl_error("data_directory: %s",
                          error != NULL ? error : "cannot expand");
                goto out;
        }
        path = xasprintf("%s/%s", dir, LOG_PID_FILE);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        ctl_error("the mail system is not running: no %s",
                                  path);
                else
                        ctl_error("open %s: %m", path);
                goto out;
        }
        close(fd);
        pid = master_pid_running(c);
        if (pid <= 0) {
                ctl_error("the mail system is not running: no live "
                          "supervisor holds %s", path);
                pid = -1;
                goto out;
        }
        ctl_debug(ctl, "%s: supervisor pid %ld", path, (long)pid);
        if (kill(pid, 0) < 0) {
                ctl_error("cannot signal the supervisor (pid %ld): %m; run "
                          "as the user that started yubin", (long)pid);
                pid = -1;
        }
out:
        free(path);
        free(dir);
        cfg_free(&c);
        return pid;
}

static int log_reopen_cmd(struct ctl *ctl)
{
        pid_t pid = log_supervisor_pid(ctl);

        if (pid < 0)
                return 1;
        if (kill(pid, SIGUSR2) < 0) {
                ctl_error("signal pid %ld: %m", (long)pid);
                return 1;
        }
        ctl_debug(ctl, "asked the supervisor (pid %ld) to reopen "
                  "maillog_file", (long)pid);
        return 0;
}

int ctl_log_run(struct ctl *ctl, int argc, char **argv)
{
        optind = 0;
        opterr = 0;
        if (getopt(argc, argv, "+") != -1) {
                if (optopt != '?')
                        ctl_error("log: unknown option -%c", optopt);
                return log_usage();     /* "log" takes no options */
        }
        argc -= optind;
        argv += optind;
        if (argc == 1 && strcmp(argv[0], "reopen") == 0)
                return log_reopen_cmd(ctl);
        return log_usage();
}
