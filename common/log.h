/* log.h - Postfix-shaped logging
 * One line per event, tagged "NAME/daemon[pid]" (NAME from syslog_name),
 * severity word first: "warning: ", "error: ", "fatal: ", "panic: ", none for
 * info. Goes to syslog (facility mail), to stderr (start-fg), and/or to
 * maillog_file, where lines carry a syslog-style time and host so that
 * pflogsumm and fail2ban read them as they read /var/log/mail.log. */
#ifndef YUBIN_LOG_H
#define YUBIN_LOG_H

#include <stdarg.h>
#include <stdnoreturn.h>

#define LOG_TO_SYSLOG   (1 << 0)
#define LOG_TO_STDERR   (1 << 1)
#define LOG_TO_FILE     (1 << 2)

/* log_open - start logging as syslog_name/daemon to the given destinations;
 * file is maillog_file (used with LOG_TO_FILE; borrowed, copied). May be
 * called again to change any of it (after a config reload). */
void log_open(const char *syslog_name, const char *daemon, int dests,
              const char *file);
/* log_set_file_owner - as root, give a maillog_file that this process
 * creates or reopens to uid/gid (mail_owner), so that daemons which have
 * dropped privileges can reopen it after rotation too */
void log_set_file_owner(unsigned uid, unsigned gid);
/* log_reopen - reopen maillog_file (after logrotate moved it) */
void log_reopen(void);
/* log_set_verbose - how many -v were given; log_debug prints when > 0 */
void log_set_verbose(int level);
int log_verbose(void);
/* log_tag - the current tag, e.g. "yubin/smtpd" (valid until log_open) */
const char *log_tag(void);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_fatal - log and exit EX_TEMPFAIL: the process cannot go on, and the
 * supervisor will start it again */
noreturn void log_fatal(const char *fmt, ...)
        __attribute__((format(printf, 1, 2)));
/* log_fatal_config - log and exit EX_CONFIG: fixing needs an administrator */
noreturn void log_fatal_config(const char *fmt, ...)
        __attribute__((format(printf, 1, 2)));
/* log_panic - a broken invariant: log and abort for a core */
noreturn void log_panic(const char *fmt, ...)
        __attribute__((format(printf, 1, 2)));

/* log_vline - log one line with an explicit severity prefix ("" for info);
 * for modules that forward messages from elsewhere */
void log_vline(int priority, const char *prefix, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));

#endif
