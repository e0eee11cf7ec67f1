/* log.c - Postfix-shaped logging to syslog, stderr and maillog_file
 * Used by: every program. Each line is written with one write(2) on an
 * O_APPEND descriptor, so lines from many processes never interleave. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 4096

static struct {
        char tag[128];
        char file[1024];
        char host[256];
        int dests;
        int file_fd;
        int verbose;
        int syslog_open;
        long owner_uid, owner_gid;      /* -1: leave as created */
} lg = { "yubin", "", "localhost", LOG_TO_STDERR, -1, 0, 0, -1, -1 };

void log_set_file_owner(unsigned uid, unsigned gid)
{
        lg.owner_uid = uid;
        lg.owner_gid = gid;
}

void log_open(const char *syslog_name, const char *daemon, int dests,
              const char *file)
{
        snprintf(lg.tag, sizeof(lg.tag), "%s/%s",
                 syslog_name && *syslog_name ? syslog_name : "yubin", daemon);
        if (gethostname(lg.host, sizeof(lg.host)) < 0)
                snprintf(lg.host, sizeof(lg.host), "localhost");
        lg.host[sizeof(lg.host) - 1] = '\0';
        char *dot = strchr(lg.host, '.');
        if (dot != NULL)
                *dot = '\0';    /* syslog shows the short name */
        if (lg.syslog_open) {
                closelog();
                lg.syslog_open = 0;
        }
        lg.dests = dests;
        if (dests & LOG_TO_SYSLOG) {
                openlog(lg.tag, LOG_PID | LOG_NDELAY, LOG_MAIL);
                lg.syslog_open = 1;
        }
        snprintf(lg.file, sizeof(lg.file), "%s",
                 (dests & LOG_TO_FILE) && file ? file : "");
        log_reopen();
}

void log_reopen(void)
{
        if (lg.file_fd >= 0) {
                close(lg.file_fd);
                lg.file_fd = -1;
        }
        if (lg.file[0] == '\0')
                return;
        lg.file_fd = open(lg.file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
                          O_NOFOLLOW, 0640);
        if (lg.file_fd >= 0 && lg.owner_uid >= 0 && geteuid() == 0) {
                struct stat sb;

                if (fstat(lg.file_fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
                    sb.st_uid != (uid_t)lg.owner_uid &&
                    fchown(lg.file_fd, (uid_t)lg.owner_uid,
                           (gid_t)lg.owner_gid) < 0) {
                        /* logged below by whoever cannot reopen it */
                }
        }
        if (lg.file_fd < 0) {
                int saved = errno;
                char msg[1200];
                int n = snprintf(msg, sizeof(msg),
                                 "%s[%ld]: warning: open maillog_file %s: %s\n",
                                 lg.tag, (long)getpid(), lg.file,
                                 strerror(saved));
                if (write(STDERR_FILENO, msg, (size_t)n) < 0)
                        return;
        }
}

void log_set_verbose(int level)
{
        lg.verbose = level;
}

int log_verbose(void)
{
        return lg.verbose;
}

const char *log_tag(void)
{
        return lg.tag;
}

/* write_all - one write for the whole line; a short write is not retried
 * so that a full disk cannot stall the process */
static void write_line(int fd, const char *line, size_t len)
{
        ssize_t n = write(fd, line, len);

        (void)n;
}

void log_vline(int priority, const char *prefix, const char *fmt, va_list ap)
{
        int saved_errno = errno;
        char text[LOG_LINE_MAX];
        char line[LOG_LINE_MAX + 512];
        size_t plen = strlen(prefix);

        memcpy(text, prefix, plen);
        errno = saved_errno;
        vsnprintf(text + plen, sizeof(text) - plen, fmt, ap);
        /* a line is a line: no raw control characters from clients */
        for (char *p = text; *p; p++)
                if ((unsigned char)*p < 0x20 && *p != '\t')
                        *p = '?';

        if (lg.dests & LOG_TO_SYSLOG)
                syslog(priority, "%s", text);
        if (lg.dests & (LOG_TO_STDERR | LOG_TO_FILE)) {
                char stamp[32];
                time_t now = time(NULL);
                struct tm tm;

                localtime_r(&now, &tm);
                strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
                int n = snprintf(line, sizeof(line), "%s %s %s[%ld]: %s\n",
                                 stamp, lg.host, lg.tag, (long)getpid(), text);
                if (n < 0)
                        return;
                if ((size_t)n >= sizeof(line)) {
                        n = (int)sizeof(line) - 1;
                        line[n - 1] = '\n';
                }
                if (lg.dests & LOG_TO_STDERR)
                        write_line(STDERR_FILENO, line, (size_t)n);
                if ((lg.dests & LOG_TO_FILE) && lg.file_fd >= 0)
                        write_line(lg.file_fd, line, (size_t)n);
        }
        errno = saved_errno;
}

#define LOG_FN(name, prio, prefix)                                      \
        void name(const char *fmt, ...)                                 \
        {                                                               \
                va_list ap;                                             \
                va_start(ap, fmt);                                      \
                log_vline(prio, prefix, fmt, ap);                       \
                va_end(ap);                                             \
        }

LOG_FN(log_info, LOG_INFO, "")
LOG_FN(log_warn, LOG_WARNING, "warning: ")
LOG_FN(log_error, LOG_ERR, "error: ")

void log_debug(const char *fmt, ...)
{
        va_list ap;

        if (lg.verbose <= 0)
                return;
        va_start(ap, fmt);
        log_vline(LOG_DEBUG, "", fmt, ap);
        va_end(ap);
}

noreturn void log_fatal(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_vline(LOG_CRIT, "fatal: ", fmt, ap);
        va_end(ap);
        exit(EX_TEMPFAIL);
}

noreturn void log_fatal_config(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_vline(LOG_CRIT, "fatal: ", fmt, ap);
        va_end(ap);
        exit(EX_CONFIG);
}

noreturn void log_panic(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_vline(LOG_CRIT, "panic: ", fmt, ap);
        va_end(ap);
        abort();
}
