/* mastercf.h - master.cf: the service table, in Postfix syntax
 * Used by: the supervisor (what to bind and start) and yubinctl conf -M.
 * One entry per service line: service type private unpriv chroot wakeup
 * maxproc command [args...]; "-" means the column's default. Lines that
 * start with white space continue the previous one; # starts a comment. */
#ifndef YUBIN_MASTERCF_H
#define YUBIN_MASTERCF_H

#include <stddef.h>

struct mastercf_service {
        char *service;          /* as written: "smtp", "127.0.0.1:2525", ... */
        char *host;             /* inet only: NULL for "all", else host or
                                 * IPv6 address without brackets */
        char *port;             /* inet only: port or service name */
        char *type;             /* inet, unix, unix-dgram, fifo, pass */
        int private_;           /* 1 = y (default), 0 = n */
        int unpriv;             /* 1 = y (default) */
        int chroot;             /* 1 = y (default) */
        char *wakeup;           /* as written, "-" for none */
        int maxproc;            /* -1 = "-" (default_process_limit) */
        char *command;          /* program name, e.g. "smtpd" */
        char **args;            /* NULL-terminated: arguments after command
                                 * other than -o pairs */
        char **overrides;       /* NULL-terminated "name=value" from -o */
        char *file;             /* "master.cf" path */
        int line;               /* line where the entry starts */
};

struct mastercf {
        struct mastercf_service *services;
        size_t count;
        char **errors;          /* NULL-terminated "file:line: message" */
};

/* mastercf_read - parse the file at path; returns a new table (free with
 * mastercf_free()); errors are in ->errors (an entry with an error is left
 * out). A file that cannot be read is one error. */
struct mastercf *mastercf_read(const char *path);
/* mastercf_parse - as mastercf_read, from text (path names it) */
struct mastercf *mastercf_parse(const char *path, const char *text, size_t len);
void mastercf_free(struct mastercf **mp);

#endif
