/* master_proc.c - start, watch and restart the daemons
 * Used by: yubin. Each child gets its listeners at descriptors 3, 4, ...
 * (daemon.h) and nothing else of the supervisor's. A child that dies is
 * started again after a delay that doubles while it keeps dying young, up
 * to service_throttle_time, so a broken program cannot spin the host. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "loop.h"
#include "master.h"
#include "mem.h"

#define RESTART_FIRST_MS 250    /* first restart after a death */
#define RESTART_YOUNG_MS 10000  /* dying sooner than this doubles the delay */

struct child {
        pid_t pid;
        struct master_service *svc;     /* NULL once retiring */
        char *path;                     /* for log lines */
};

static struct {
        struct child *v;
        size_t n;
        struct master_conf *conf;
        int gen;
        int foreground;
        int verbose;
} procs;

void master_proc_set_current(struct master_conf *conf, int gen,
                             int foreground, int verbose)
{
        procs.conf = conf;
        procs.gen = gen;
        procs.foreground = foreground;
        procs.verbose = verbose;
}

/* child_exec - in the forked child: arrange descriptors and exec */
static void child_exec(const struct master_service *s, int main_fd)
{
        static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1,
                                    SIGUSR2, SIGCHLD, SIGPIPE };
        sigset_t none;
        int tmp[DAEMON_LISTEN_MAX + 1];
        size_t n = s->listener_count;
        char count[16];

        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
                signal(sigs[i], SIG_DFL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);

        if (n > DAEMON_LISTEN_MAX)
                n = DAEMON_LISTEN_MAX;
        /* move listeners (and main.cf's memfd after them) out of the way
         * first, then into 3, 4, ... */
        size_t total = n;
        for (size_t i = 0; i < n; i++)
                tmp[i] = fcntl(s->listeners[i].fd, F_DUPFD, 256);
        if (main_fd >= 0)
                tmp[total++] = fcntl(main_fd, F_DUPFD, 256);
        for (size_t i = 0; i < total; i++) {
                if (tmp[i] < 0 ||
                    dup2(tmp[i], DAEMON_LISTEN_FD_START + (int)i) < 0)
                        _exit(EX_OSERR);
                close(tmp[i]);
        }
        close_range(DAEMON_LISTEN_FD_START + (unsigned)total, ~0U, 0);
        if (main_fd >= 0) {
                snprintf(count, sizeof(count), "%zu",
                         DAEMON_LISTEN_FD_START + n);
                setenv(DAEMON_MAIN_CF_FD_ENV, count, 1);
        } else {
                unsetenv(DAEMON_MAIN_CF_FD_ENV);
        }
        if (n > 0) {
                snprintf(count, sizeof(count), "%zu", n);
                setenv(DAEMON_LISTEN_FDS_ENV, count, 1);
        } else {
                unsetenv(DAEMON_LISTEN_FDS_ENV);
        }

        size_t argc = 0;
        while (s->argv[argc] != NULL)
                argc++;
        char **argv = xcalloc(argc + (size_t)procs.verbose + 2, sizeof(*argv));
        memcpy(argv, s->argv, argc * sizeof(*argv));
        for (int i = 0; i < procs.verbose; i++)
                argv[argc++] = "-v";
        if (procs.foreground)
                argv[argc++] = "-s";
        argv[argc] = NULL;
        execv(s->path, argv);
        log_error("cannot execute %s: %m", s->path);
        _exit(EX_OSERR);
}

static void spawn(struct master_service *s)
{
        pid_t pid = fork();

        if (pid < 0) {
                log_warn("fork for service %s: %m; trying again", s->name);
                s->backoff_ms = RESTART_FIRST_MS * 4;
                loop_timer_start(s->restart, s->backoff_ms);
                return;
        }
        if (pid == 0)
                child_exec(s, procs.conf != NULL ? procs.conf->main_fd : -1);
        s->pid = pid;
        s->started_ms = loop_now_ms();
        procs.v = xrealloc(procs.v, (procs.n + 1) * sizeof(*procs.v));
        procs.v[procs.n++] = (struct child){ pid, s, xstrdup(s->path) };
        log_debug("service %s: started %s pid %ld", s->name, s->path,
                  (long)pid);
}

static void restart_due(void *ctx)
{
        struct master_service *s = ctx;

        if (s->pid == 0)
                spawn(s);
}

void master_proc_start_all(struct master_conf *conf, int gen)
{
        for (size_t i = 0; i < conf->count; i++) {
                struct master_service *s = &conf->services[i];

                s->generation = gen;
                if (s->restart == NULL)
                        s->restart = loop_timer_new(restart_due, s);
                spawn(s);
        }
}

/* describe - "exit status 1" or "killed by signal 9" */
static void describe(int wstatus, char *out, size_t size)
{
        if (WIFEXITED(wstatus))
                snprintf(out, size, "exit status %d", WEXITSTATUS(wstatus));
        else if (WIFSIGNALED(wstatus))
                snprintf(out, size, "killed by signal %d", WTERMSIG(wstatus));
        else
                snprintf(out, size, "status 0x%x", (unsigned)wstatus);
}

void master_proc_reaped(pid_t pid, int wstatus)
{
        struct child c;
        size_t i;
        char how[64];

        for (i = 0; i < procs.n; i++)
                if (procs.v[i].pid == pid)
                        break;
        if (i == procs.n)
                return;         /* not ours (a grandchild re-parented) */
        c = procs.v[i];
        procs.v[i] = procs.v[--procs.n];
        describe(wstatus, how, sizeof(how));

        struct master_service *s = c.svc;
        if (s == NULL || procs.conf == NULL || s->generation != procs.gen) {
                log_debug("process %s pid %ld finished: %s", c.path,
                          (long)pid, how);
                free(c.path);
                return;
        }
        s->pid = 0;
        long long ran = loop_now_ms() - s->started_ms;
        long long throttle =
                cfg_get_time(procs.conf->cfg, "service_throttle_time") * 1000;
        if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == EX_CONFIG) {
                s->backoff_ms = throttle;
        } else if (ran < RESTART_YOUNG_MS) {
                s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2
                                              : RESTART_FIRST_MS;
                if (s->backoff_ms > throttle)
                        s->backoff_ms = throttle;
        } else {
                s->backoff_ms = RESTART_FIRST_MS;
        }
        log_warn("process %s pid %ld %s; restarting service %s in %lld ms",
                 c.path, (long)pid, how, s->name, s->backoff_ms);
        loop_timer_start(s->restart, s->backoff_ms);
        free(c.path);
}

void master_proc_retire(struct master_conf *old)
{
        for (size_t i = 0; i < procs.n; i++) {
                struct master_service *s = procs.v[i].svc;

                if (s == NULL || s < old->services ||
                    s >= old->services + old->count)
                        continue;
                procs.v[i].svc = NULL;
                kill(procs.v[i].pid, SIGUSR1);
        }
        for (size_t i = 0; i < old->count; i++)
                if (old->services[i].restart != NULL)
                        loop_timer_stop(old->services[i].restart);
}

void master_proc_signal_all(int signo)
{
        for (size_t i = 0; i < procs.n; i++)
                kill(procs.v[i].pid, signo);
}

size_t master_proc_count(void)
{
        return procs.n;
}
