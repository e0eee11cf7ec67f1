/* ctl.h - what yubinctl's command modules share
 * Used by: yubinctl.c (global options and the command table) and each
 * master/ctl_*.c module, one per command (conf, log, and later user,
 * domain, queue, pbs, alias, map). A handler gets the command's own
 * arguments and returns the process exit status. Messages go to stderr as
 * "yubinctl: warning: ..." (the shape postconf and postqueue use): the
 * reader is a person or a script, not the mail log. yubinctl runs as
 * whoever invokes it; it reads main.cf and master.cf, and rewrites main.cf
 * only for conf -e and conf -X. */
#ifndef YUBIN_CTL_H
#define YUBIN_CTL_H

#include <stddef.h>

#include "buf.h"
#include "status.h"

#define CTL_PROGNAME "yubinctl"
/* the largest main.cf or pid file yubinctl will read */
#define CTL_FILE_MAX (16 * 1024 * 1024)

struct cfg;

struct ctl {
        const char *config_dir;         /* -c DIR (borrowed from argv) */
        int verbose;                    /* number of -v */
};

/* One row of the command table in yubinctl.c. */
struct ctl_command {
        const char *name;               /* "conf" */
        /* argv[0] is the command name; returns an exit status: 0, 1 for
         * a failure, EX_USAGE for bad arguments */
        int (*run)(struct ctl *ctl, int argc, char **argv);
        const char *help;               /* one line for the usage text */
};

/* Command handlers. */
int ctl_conf_run(struct ctl *ctl, int argc, char **argv);
int ctl_log_run(struct ctl *ctl, int argc, char **argv);
int ctl_user_run(struct ctl *ctl, int argc, char **argv);
int ctl_domain_run(struct ctl *ctl, int argc, char **argv);
int ctl_pbs_run(struct ctl *ctl, int argc, char **argv);
int ctl_map_run(struct ctl *ctl, int argc, char **argv);
int ctl_queue_run(struct ctl *ctl, int argc, char **argv);
int ctl_alias_newaliases_run(struct ctl *ctl, int argc, char **argv);

/* ctl_warn, ctl_error - "yubinctl: warning: ..." / "yubinctl: error: ..."
 * on stderr; %m allowed */
void ctl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* ctl_debug - as ctl_warn without a severity word, only with -v */
void ctl_debug(const struct ctl *ctl, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* ctl_path - DIR/file for the config directory; returns a new string,
 * free with free() */
char *ctl_path(const struct ctl *ctl, const char *file);

/* ctl_read_file - append the whole file at path to out (at most
 * CTL_FILE_MAX bytes). Returns 1 read, 0 the file does not exist, -1 with
 * st for any other failure. */
int ctl_read_file(const char *path, struct buf *out, struct status *st);

/* ctl_cfg_load - a new cfg for the config directory with main.cf read and
 * checked; every diagnostic is printed (errors as "error:", the rest as
 * "warning:"). *errors_r gets the number of errors (a missing main.cf is
 * one). Free with cfg_free(). */
struct cfg *ctl_cfg_load(const struct ctl *ctl, size_t *errors_r);

/* ctl_print_diags - print c's diagnostics from index first on; returns the
 * number of errors among them */
size_t ctl_print_diags(const struct cfg *c, size_t first);

/* --- ctl_conf_edit: the main.cf editor behind conf -e and conf -X --- */

/* ctl_conf_edit_run - "conf -e name=value..." (remove = 0) or "conf -X
 * name..." (remove = 1) on DIR/main.cf; returns an exit status */
int ctl_conf_edit_run(struct ctl *ctl, int remove, int argc, char **argv);

/* One requested change. */
struct ctl_conf_edit {
        const char *name;               /* borrowed */
        const char *value;              /* borrowed; NULL removes (-X) */
        size_t found;                   /* set by ctl_conf_edit_text():
                                         * assignments of name seen */
};

/* ctl_conf_edit_text - apply edits to main.cf text (len bytes) the way
 * postconf -e / -X do, appending the result to out: every assignment of an
 * edited name, with its continuation lines, becomes one "name = value"
 * line (or goes, for a removal); comment and blank lines stay, even inside
 * a continued assignment; every other line is copied unchanged. Names not
 * found are appended at the end in the order given. Each edits[i].found
 * gets the number of assignments seen. Borrows everything; out must have
 * no cap. */
void ctl_conf_edit_text(const char *text, size_t len,
                        struct ctl_conf_edit *edits, size_t count,
                        struct buf *out);

/* ctl_conf_edit_split - split a -e argument "name=value" or "name =
 * value" in place (arg is modified): *name_r and *value_r point into arg,
 * both trimmed. Returns 0, or -1 with *error_r (static text) for a
 * missing "=", an empty or malformed name, or a value with a newline. */
int ctl_conf_edit_split(char *arg, char **name_r, char **value_r,
                        const char **error_r);

/* ctl_conf_edit_name_ok - 1 if name can be a main.cf parameter name
 * (letters, digits, underscore), else 0 */
int ctl_conf_edit_name_ok(const char *name);

/* ctl_conf_edit_name_at - the name assigned by the logical line that
 * starts at line (1-based) of text, copied into name_r (size bytes);
 * returns 0, or -1 if that line does not start an assignment */
int ctl_conf_edit_name_at(const char *text, size_t len, size_t line,
                          char *name_r, size_t size);

#endif
