/* cfg.h - main.cf: Postfix syntax, one table of typed parameters
 * Used by: every program. A struct cfg holds main.cf as read (raw values with
 * file:line), the per-service -o overrides, and answers typed, $-expanded
 * values. Every name a program reads must be a row in cfg_defaults.c; asking
 * for another is a broken invariant (log_panic). Values are validated by
 * cfg_check(), so the typed getters cannot fail afterwards. */
#ifndef YUBIN_CFG_H
#define YUBIN_CFG_H

#include <stddef.h>

enum cfg_type {
        CFG_STR,        /* free text */
        CFG_BOOL,       /* yes / no */
        CFG_INT,        /* decimal integer, within min..max */
        CFG_TIME,       /* integer with s/m/h/d/w unit (default unit: see row) */
        CFG_SIZE,       /* bytes; a bare integer */
        CFG_LIST,       /* items separated by commas and/or white space */
        CFG_MAPS,       /* list of lookup tables type:name */
        CFG_RESTRICT,   /* restriction list: names, with table/domain args */
};

struct cfg_param {
        const char *name;
        enum cfg_type type;
        const char *def;        /* default value; may hold $name */
        long long min, max;     /* for INT, TIME (seconds) and SIZE */
        const char *doc;        /* one line */
};

/* The table, sorted by name (cfg_defaults.c). */
extern const struct cfg_param cfg_params[];
extern const size_t cfg_params_count;

/* cfg_param_find - the row for name, or NULL if the name is unknown */
const struct cfg_param *cfg_param_find(const char *name);

struct cfg;

/* cfg_new - an empty configuration (every parameter at its default) for
 * config_directory dir (borrowed, copied); free with cfg_free() */
struct cfg *cfg_new(const char *config_dir);
void cfg_free(struct cfg **cp);

/* cfg_read_main - read main.cf at path into c. Syntax errors are recorded
 * as "path:line: message" diagnostics. Returns 0, or -1 if any error was
 * recorded (or the file cannot be read). A missing file is an error. */
int cfg_read_main(struct cfg *c, const char *path);
/* cfg_parse_main - as cfg_read_main, from text in memory (path names it) */
int cfg_parse_main(struct cfg *c, const char *path, const char *text,
                   size_t len);
/* cfg_override - a -o name=value from master.cf or the command line,
 * applied over main.cf; where names the origin, e.g. "master.cf:12".
 * Returns 0 or -1 (malformed; recorded). */
int cfg_override(struct cfg *c, const char *name_eq_value, const char *where);
/* cfg_set - set name = value as if main.cf said it (used by tests and
 * yubinctl); where may be NULL */
void cfg_set(struct cfg *c, const char *name, const char *value,
             const char *where);
/* cfg_check - expand and type-check every value that is set, and warn
 * about unknown names ("unused parameter"). Returns 0, or -1 if any error
 * was recorded. */
int cfg_check(struct cfg *c);

/* Diagnostics recorded so far, oldest first. error is 1 for an error that
 * must stop a start, 0 for a warning. Strings are borrowed from c. */
size_t cfg_diag_count(const struct cfg *c);
const char *cfg_diag(const struct cfg *c, size_t i, int *error_r);
/* cfg_log_diags - log every diagnostic (warning: / error:); returns the
 * number of errors */
size_t cfg_log_diags(const struct cfg *c);

/* cfg_get - the expanded value of a known parameter (or of a name that
 * main.cf or an override sets, such as a restriction class); borrowed from
 * c, valid until c changes or is freed. If the value cannot be expanded
 * (cfg_check() reported why) the text as written is returned. */
const char *cfg_get(struct cfg *c, const char *name);
/* cfg_get_raw - the value as written (no expansion), or the default's text;
 * where_r (may be NULL) gets "main.cf:LINE" or NULL for a default */
const char *cfg_get_raw(const struct cfg *c, const char *name,
                        const char **where_r);
/* cfg_is_set - 1 if main.cf or an override set name, else 0 */
int cfg_is_set(const struct cfg *c, const char *name);
int cfg_get_bool(struct cfg *c, const char *name);
long long cfg_get_int(struct cfg *c, const char *name);
/* cfg_get_time - seconds */
long long cfg_get_time(struct cfg *c, const char *name);
long long cfg_get_size(struct cfg *c, const char *name);
/* cfg_get_list - the items of a LIST, MAPS or RESTRICT value; returns a new
 * NULL-terminated array, free with cfg_list_free(). Restriction arguments
 * stay separate items, in order ("check_client_access", "hash:/x", ...). */
char **cfg_get_list(struct cfg *c, const char *name, size_t *count_r);
/* (An item may hold a { ... } group, e.g. "inline:{a=b, c=d}" or a braced
 * check_policy_service argument; it is returned as written, braces kept.
 * Names not in the table may be read too when main.cf or an override sets
 * them, as restriction classes and $-referenced helpers are.) */
void cfg_list_free(char ***listp);

/* cfg_expand - expand $name, ${name}, ${name?text}, ${name:text} in text
 * against c; returns a new string (free with free()), or NULL with *error_r
 * set to a message on a loop or a bad reference (borrowed from c, valid
 * until the next expansion error or cfg_free; the caller never frees it).
 * $$ is a literal $; an unknown $name expands to nothing. */
char *cfg_expand(struct cfg *c, const char *text, const char **error_r);

/* cfg_parse_time, cfg_parse_bool, cfg_parse_size - the typed value parsers
 * (0, or -1 if text is not of that form). def_unit is the row's unit for a
 * bare number: 's', 'm', 'h', 'd' or 'w'. */
int cfg_parse_time(const char *text, char def_unit, long long *secs_r);
int cfg_parse_bool(const char *text, int *value_r);
int cfg_parse_int(const char *text, long long *value_r);
/* cfg_parse_size - bytes: a plain decimal integer, no sign and no unit
 * (as Postfix: "10k" is malformed) */
int cfg_parse_size(const char *text, long long *value_r);

/* cfg_param_time_unit - the unit of a bare number for a TIME row: the
 * suffix on its default ('s' if none); a default that is only $name takes
 * that row's unit */
char cfg_param_time_unit(const struct cfg_param *p);
/* cfg_param_is_raw - 1 if p's value is not $-expanded by cfg (its $names,
 * e.g. $user in mailbox_command, are filled per use by the program), else
 * 0; cfg_get() returns such a value as written */
int cfg_param_is_raw(const struct cfg_param *p);
/* cfg_get_default - the default text of a known parameter as c computes
 * it (myhostname, mydomain and config_directory are found at run time);
 * borrowed from c; NULL for an unknown name */
const char *cfg_get_default(const struct cfg *c, const char *name);

/* cfg_config_dir - config_directory of c (borrowed) */
const char *cfg_config_dir(const struct cfg *c);

/* Iteration over what main.cf set, in file order of first assignment, for
 * "yubinctl conf -n": returns the name of the i-th set parameter or NULL. */
const char *cfg_set_name(const struct cfg *c, size_t i);

#endif
