/* master_spawn.c - fork and exec per-user IMAP/POP3 sessions; count them
 * Used by: master_session.c, once authd has vouched for a login, and
 * yubin (reaping, stopping). Keeps the running sessions (pid, protocol,
 * user, client address) for mail_max_userip_connections. In the
 * child, in this order: default signals, cwd /, the client at descriptor
 * 3, the SESSION message (login_proto.h) in a sealed memfd at 4, main.cf's
 * memfd at 5, nothing else open; maillog_file opened as stderr while still
 * root (the mail's owner cannot open mail_owner's log); then setgroups,
 * setresgid and setresuid to the user record's gid and uid (priv_drop(),
 * which refuses root), and exec of the session program with the front
 * end's master.cf arguments, so that a service's -o settings reach its
 * sessions. Runs as root when installed; parses nothing. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "login_proto.h"
#include "master.h"
#include "mem.h"
#include "priv.h"

struct session {
        pid_t pid;
        char *proto, *user, *rip;
};

static struct {
        struct session *v;
        size_t n, alloc;
} sessions;

/* info_memfd - the SESSION message in a sealed memfd, or -1 (logged) */
static int info_memfd(const struct master_spawn *sp)
{
        const struct authc_user *u = sp->user;
        struct status st;
        struct buf b;
        size_t done = 0;
        int fd;

        buf_init(&b, 0);
        if (login_session_build(&b, &sp->info, u, sp->input, sp->input_len,
                                &st) < 0) {
                log_error("session for %s: %s", u->name, st.text);
                buf_release(&b);
                return -1;
        }
        fd = memfd_create("session", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0) {
                log_error("memfd_create: %m");
                buf_release(&b);
                return -1;
        }
        while (done < b.len) {
                ssize_t n = write(fd, b.data + done, b.len - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        log_error("session info: write: %m");
                        close(fd);
                        buf_release(&b);
                        return -1;
                }
                done += (size_t)n;
        }
        buf_release(&b);
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
                               F_SEAL_SEAL);
        return fd;
}

/* child_exec - in the forked child: descriptors, privileges, exec */
static void child_exec(const struct master_spawn *sp, int info_fd)
{
        const struct master_service *s = sp->service;
        const struct authc_user *u = sp->user;
        static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1,
                                    SIGUSR2, SIGCHLD, SIGPIPE };
        struct cfg *cfg = sp->conf->cfg;
        int fds[3] = { sp->client_fd, info_fd, sp->conf->main_fd };
        int tmp[3], log_fd = -1;
        struct status st;
        sigset_t none;

        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
                signal(sigs[i], SIG_DFL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (chdir("/") < 0)
                _exit(EX_OSERR);
        /* a session runs as the mail's owner, who cannot open
         * maillog_file (mail_owner's); it gets it as stderr instead */
        if (sp->privileged && !sp->foreground &&
            *cfg_get(cfg, "maillog_file") != '\0')
                log_fd = open(cfg_get(cfg, "maillog_file"),
                              O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
                              O_CLOEXEC, 0640);
        for (int i = 0; i < 3; i++)
                tmp[i] = fcntl(fds[i], F_DUPFD, 256);
        for (int i = 0; i < 3; i++) {
                if (tmp[i] < 0 ||
                    dup2(tmp[i], LOGIN_SESSION_CLIENT_FD + i) < 0)
                        _exit(EX_OSERR);
                close(tmp[i]);
        }
        if (log_fd >= 0 && dup2(log_fd, STDERR_FILENO) < 0)
                _exit(EX_OSERR);
        close_range(LOGIN_SESSION_MAIN_CF_FD + 1, ~0U, 0);
        char num[16];
        snprintf(num, sizeof(num), "%d", LOGIN_SESSION_MAIN_CF_FD);
        setenv(DAEMON_MAIN_CF_FD_ENV, num, 1);
        unsetenv(DAEMON_LISTEN_FDS_ENV);

        struct priv p = { .uid = u->uid, .gid = u->gid };
        snprintf(p.name, sizeof(p.name), "%s", u->name);
        if (priv_drop(&p, &st) < 0) {
                log_error("session for %s: %s", u->name, st.text);
                _exit(EX_OSERR);
        }

        size_t argc = 0;
        while (s->argv[argc] != NULL)
                argc++;
        char **argv = xcalloc(argc + (size_t)sp->verbose + 5, sizeof(*argv));
        char *path = xasprintf("%s/%s", cfg_get(cfg, "daemon_directory"),
                               sp->program);
        size_t n = 0;
        argv[n++] = path;
        for (size_t i = 1; i < argc; i++)
                argv[n++] = s->argv[i];
        if (sp->privileged) {
                argv[n++] = "-o";
                argv[n++] = "maillog_file=";
        }
        for (int i = 0; i < sp->verbose; i++)
                argv[n++] = "-v";
        if (sp->foreground || log_fd >= 0)
                argv[n++] = "-s";
        argv[n] = NULL;
        execv(path, argv);
        log_error("cannot execute %s: %m", path);
        _exit(EX_OSERR);
}

pid_t master_spawn_session(const struct master_spawn *sp)
{
        int info = info_memfd(sp);
        pid_t pid;

        if (info < 0)
                return -1;
        pid = fork();
        if (pid < 0) {
                log_error("fork for a %s session: %m", sp->info.proto);
                close(info);
                return -1;
        }
        if (pid == 0)
                child_exec(sp, info);
        close(info);
        if (sessions.n == sessions.alloc) {
                sessions.alloc = sessions.alloc ? sessions.alloc * 2 : 16;
                sessions.v = xrealloc(sessions.v,
                                      sessions.alloc * sizeof(*sessions.v));
        }
        sessions.v[sessions.n++] = (struct session){
                pid, xstrdup(sp->info.proto), xstrdup(sp->user->name),
                xstrdup(sp->info.rip) };
        return pid;
}

size_t master_spawn_count_of(const char *proto, const char *user,
                             const char *rip)
{
        size_t count = 0;

        for (size_t i = 0; i < sessions.n; i++)
                if (strcmp(sessions.v[i].proto, proto) == 0 &&
                    strcmp(sessions.v[i].user, user) == 0 &&
                    strcmp(sessions.v[i].rip, rip) == 0)
                        count++;
        return count;
}

static void forget(size_t i)
{
        free(sessions.v[i].proto);
        free(sessions.v[i].user);
        free(sessions.v[i].rip);
        sessions.v[i] = sessions.v[--sessions.n];
}

int master_spawn_reaped(pid_t pid, int wstatus)
{
        for (size_t i = 0; i < sessions.n; i++) {
                struct session *s = &sessions.v[i];

                if (s->pid != pid)
                        continue;
                if (WIFSIGNALED(wstatus))
                        log_warn("%s session of %s (pid %ld) killed by "
                                 "signal %d", s->proto, s->user, (long)pid,
                                 WTERMSIG(wstatus));
                else if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0)
                        log_warn("%s session of %s (pid %ld) exit status %d",
                                 s->proto, s->user, (long)pid,
                                 WEXITSTATUS(wstatus));
                forget(i);
                return 1;
        }
        return 0;
}

void master_spawn_signal_all(int signo)
{
        for (size_t i = 0; i < sessions.n; i++)
                kill(sessions.v[i].pid, signo);
}

size_t master_spawn_count(void)
{
        return sessions.n;
}

void master_spawn_forget_all(void)
{
        while (sessions.n > 0)
                forget(sessions.n - 1);
        free(sessions.v);
        sessions.v = NULL;
        sessions.alloc = 0;
}
