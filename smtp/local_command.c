/* local_command.c - |command and /file targets of aliases, :include:
 * files and .forward
 * Used by: local_alias.c, after it checked allow_mail_to_commands /
 * allow_mail_to_files. A command runs as "shell -c command" in a child
 * that became the target's owner (never root), in its own session, with a
 * small environment (HOME, USER, LOGNAME, SHELL, PATH, SENDER, RECIPIENT,
 * LOCAL, DOMAIN, EXTENSION), the message on standard input preceded by a
 * "From sender date" line, Return-Path and Delivered-To, for at most
 * command_time_limit; its exit status is read as sysexits (EX_TEMPFAIL,
 * EX_OSERR, EX_IOERR, a signal or the time limit defer; other failures
 * bounce with the first line of its output). A file gets the same lines
 * in mbox form (">From " quoting, a blank line after), appended under an
 * exclusive lock and fsynced, by a child running as the owner. */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "local.h"
#include "loop.h"
#include "mem.h"
#include "resolve.h"

/* envelope_lines - "From sender date", Return-Path, Delivered-To */
static void envelope_lines(const struct local_msg *m, const char *rcpt,
                           struct buf *out)
{
        char date[64];
        time_t now = time(NULL);
        struct tm tm;

        localtime_r(&now, &tm);
        strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
        buf_printf(out, "From %s  %s\n", *m->sender != '\0' ? m->sender :
                   "MAILER-DAEMON", date);
        buf_printf(out, "Return-Path: <%s>\nDelivered-To: %s\n", m->sender,
                   rcpt);
}

static void set_env(const struct local_msg *m, const char *rcpt,
                    const struct local_privs *privs)
{
        char *local = NULL, *domain = NULL, *ext;

        clearenv();
        setenv("PATH", "/usr/bin:/bin", 1);
        setenv("SHELL", m->srv->shell, 1);
        setenv("HOME", *privs->home != '\0' ? privs->home : "/", 1);
        setenv("USER", privs->user, 1);
        setenv("LOGNAME", privs->user, 1);
        setenv("SENDER", m->sender, 1);
        setenv("RECIPIENT", rcpt, 1);
        if (addr_split(rcpt, &local, &domain) == 0) {
                setenv("LOCAL", local, 1);
                setenv("DOMAIN", domain, 1);
        }
        ext = addr_extension(rcpt, resolve_delimiter(m->srv->resolve));
        if (ext != NULL)
                setenv("EXTENSION", ext, 1);
        free(ext);
        free(local);
        free(domain);
}

/* exit_status - the command's end as a status; 0 for success */
static int exit_status(int status, int timed_out, const struct buf *output,
                       struct status *st)
{
        const char *text = buf_cstr(output);
        int len = (int)strcspn(text, "\n");

        if (timed_out)
                return status_set(st, STATUS_TEMP, "command time limit "
                                  "exceeded");
        if (WIFSIGNALED(status))
                return status_set(st, STATUS_TEMP, "command killed by "
                                  "signal %d", WTERMSIG(status));
        if (!WIFEXITED(status) || WEXITSTATUS(status) == 0)
                return 0;
        switch (WEXITSTATUS(status)) {
        case EX_TEMPFAIL:
        case EX_OSERR:
        case EX_IOERR:
                return status_set(st, STATUS_TEMP, "command failed with "
                                  "status %d%s%.*s", WEXITSTATUS(status),
                                  len > 0 ? ": " : "", len, text);
        default:
                return status_set(st, STATUS_PERM, "command died with status "
                                  "%d%s%.*s", WEXITSTATUS(status),
                                  len > 0 ? ": " : "", len, text);
        }
}

int local_command(struct local_msg *m, const char *cmd,
                  const struct local_privs *privs, const char *delivered_to,
                  struct status *st)
{
        struct buf input, output;
        int in[2], outp[2], status = 0, timed_out = 0, ret;
        size_t sent = 0, body_sent = 0;
        long long deadline;
        pid_t pid;

        if (privs->uid == 0 && m->srv->privileged)
                return status_set(st, STATUS_CONFIG_TEMP, "refusing to run "
                                  "a command as root (default_privs)");
        if (pipe2(in, O_CLOEXEC) < 0)
                return status_set(st, STATUS_LOCAL_IO, "pipe: %m");
        if (pipe2(outp, O_CLOEXEC) < 0) {
                close(in[0]);
                close(in[1]);
                return status_set(st, STATUS_LOCAL_IO, "pipe: %m");
        }
        pid = fork();
        if (pid < 0) {
                close(in[0]);
                close(in[1]);
                close(outp[0]);
                close(outp[1]);
                return status_set(st, STATUS_LOCAL_IO, "fork: %m");
        }
        if (pid == 0) {
                struct status cst;

                if (local_run_as(m->srv, privs->uid, privs->gid, &cst) < 0)
                        _exit(EX_TEMPFAIL);
                setsid();
                dup2(in[0], 0);
                dup2(outp[1], 1);
                dup2(outp[1], 2);
                signal(SIGPIPE, SIG_DFL);
                set_env(m, delivered_to, privs);
                if (chdir(*privs->home != '\0' ? privs->home : "/") < 0 &&
                    chdir("/") < 0)
                        _exit(EX_OSERR);
                execl(m->srv->shell, m->srv->shell, "-c", cmd, (char *)NULL);
                _exit(EX_OSERR);
        }
        close(in[0]);
        close(outp[1]);
        fcntl(in[1], F_SETFL, O_NONBLOCK);
        buf_init(&input, 0);
        buf_init(&output, 0);
        envelope_lines(m, delivered_to, &input);
        deadline = loop_now_ms() + m->srv->command_time_limit * 1000;
        /* feed stdin and read its output together, so neither can fill
         * up and stop the other */
        for (;;) {
                struct pollfd pfd[2] = {
                        { .fd = outp[0], .events = POLLIN },
                        { .fd = in[1], .events = POLLOUT },
                };
                long long left = deadline - loop_now_ms();
                char chunk[4096];
                ssize_t n;

                if (left <= 0) {
                        timed_out = 1;
                        kill(-pid, SIGKILL);
                        kill(pid, SIGKILL);
                        break;
                }
                if (poll(pfd, in[1] >= 0 ? 2 : 1,
                         left > 1000 ? 1000 : (int)left) < 0 &&
                    errno != EINTR)
                        break;
                if (pfd[0].revents != 0) {
                        n = read(outp[0], chunk, sizeof(chunk));
                        if (n == 0 || (n < 0 && errno != EINTR &&
                                       errno != EAGAIN))
                                break;  /* the command closed its output */
                        if (n > 0 && output.len < LOCAL_OUTPUT_MAX)
                                buf_append(&output, chunk, (size_t)n);
                }
                if (in[1] >= 0 && pfd[1].revents != 0) {
                        const char *p;
                        size_t left_bytes;

                        if (sent < input.len) {
                                p = input.data + sent;
                                left_bytes = input.len - sent;
                        } else {
                                p = m->content + body_sent;
                                left_bytes = m->len - body_sent;
                        }
                        n = left_bytes > 0 ? write(in[1], p, left_bytes) : 0;
                        if (n > 0 && sent < input.len)
                                sent += (size_t)n;
                        else if (n > 0)
                                body_sent += (size_t)n;
                        if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
                            (sent == input.len && body_sent == m->len)) {
                                close(in[1]);   /* done, or it stopped
                                                 * reading: fine */
                                in[1] = -1;
                        }
                }
        }
        if (in[1] >= 0)
                close(in[1]);
        close(outp[0]);
        while (!timed_out) {
                /* the output closed; wait for the exit within the limit */
                pid_t r = waitpid(pid, &status, WNOHANG);

                if (r == pid || (r < 0 && errno != EINTR))
                        break;
                if (loop_now_ms() >= deadline) {
                        timed_out = 1;
                        kill(-pid, SIGKILL);
                        kill(pid, SIGKILL);
                        break;
                }
                poll(NULL, 0, 10);
        }
        if (timed_out)
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                        ;
        ret = exit_status(status, timed_out, &output, st);
        buf_release(&input);
        buf_release(&output);
        return ret;
}

/* write_mbox - the message in mbox form to fd */
static int write_mbox(int fd, const struct local_msg *m, const char *rcpt)
{
        struct buf out;
        const char *p = m->content, *end = m->content + m->len;
        int ret;

        buf_init(&out, 0);
        envelope_lines(m, rcpt, &out);
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t len = nl != NULL ? (size_t)(nl - p) + 1 :
                             (size_t)(end - p);

                if (len >= 5 && memcmp(p, "From ", 5) == 0)
                        buf_putc(&out, '>');
                buf_append(&out, p, len);
                p += len;
        }
        if (out.len > 0 && out.data[out.len - 1] != '\n')
                buf_putc(&out, '\n');
        buf_putc(&out, '\n');
        ret = 0;
        for (size_t off = 0; off < out.len;) {
                ssize_t n = write(fd, out.data + off, out.len - off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        ret = -1;
                        break;
                }
                off += (size_t)n;
        }
        buf_release(&out);
        return ret;
}

int local_file(struct local_msg *m, const char *path,
               const struct local_privs *privs, const char *delivered_to,
               struct status *st)
{
        int pfd[2], status;
        char answer[STATUS_TEXT_MAX + 16];
        ssize_t n;
        pid_t pid;

        if (privs->uid == 0 && m->srv->privileged)
                return status_set(st, STATUS_CONFIG_TEMP, "refusing to "
                                  "write %s as root", path);
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return status_set(st, STATUS_LOCAL_IO, "pipe: %m");
        pid = fork();
        if (pid < 0) {
                close(pfd[0]);
                close(pfd[1]);
                return status_set(st, STATUS_LOCAL_IO, "fork: %m");
        }
        if (pid == 0) {
                struct status cst;
                struct stat sb;
                int fd;

                close(pfd[0]);
                if (local_run_as(m->srv, privs->uid, privs->gid, &cst) < 0) {
                        dprintf(pfd[1], "%s %s", cst.code, cst.text);
                        _exit(0);
                }
                fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
                          O_CLOEXEC | O_NOCTTY, 0600);
                if (fd < 0 || fstat(fd, &sb) < 0) {
                        dprintf(pfd[1], "%s cannot open file %s: %s",
                                errno == ENOSPC ? STATUS_NO_SPACE : STATUS_PERM,
                                path, strerror(errno));
                        _exit(0);
                }
                if (S_ISREG(sb.st_mode) && flock(fd, LOCK_EX) < 0) {
                        dprintf(pfd[1], "%s lock %s: %s", STATUS_LOCAL_IO,
                                path, strerror(errno));
                        _exit(0);
                }
                if (write_mbox(fd, m, delivered_to) < 0 ||
                    (S_ISREG(sb.st_mode) && fsync(fd) < 0)) {
                        dprintf(pfd[1], "%s write %s: %s", STATUS_LOCAL_IO,
                                path, strerror(errno));
                        _exit(0);
                }
                dprintf(pfd[1], "OK");
                _exit(0);
        }
        close(pfd[1]);
        n = read(pfd[0], answer, sizeof(answer) - 1);
        close(pfd[0]);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (n <= 0)
                return status_set(st, STATUS_LOCAL_IO, "file delivery "
                                  "process ended without an answer");
        answer[n] = '\0';
        if (strcmp(answer, "OK") == 0)
                return 0;
        {
                char *sp = strchr(answer, ' ');

                if (sp == NULL || sp - answer > 7)
                        return status_set(st, STATUS_LOCAL_IO, "file "
                                          "delivery: bad answer");
                status_set(st, STATUS_TEMP, "%s", sp + 1);
                snprintf(st->code, sizeof(st->code), "%.*s",
                         (int)(sp - answer), answer);
        }
        return -1;
}
