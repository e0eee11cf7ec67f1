/* cfg_int.h - what cfg.c and cfg_value.c share; no other module uses it
 * cfg.c reads, stores and expands; cfg_value.c knows what a value of each
 * type may look like. Errors found by the latter are recorded by the
 * former through cfg_value_error(). */
#ifndef YUBIN_CFG_INT_H
#define YUBIN_CFG_INT_H

#include <stddef.h>

#include "cfg.h"

#define CFG_ITEM_ERRORS_MAX     10      /* errors shown per value */
#define CFG_QUOTE_MAX           100     /* bytes of a value in a message */
#define CFG_MAP_DEPTH           8       /* proxy:, unionmap:{...} nesting */
/* list item separators, as Postfix's CHARS_COMMA_SP */
#define CFG_LIST_SEP            ", \t\r\n"

/* A value being checked: where it was set, errors so far, and the names
 * that smtpd_restriction_classes defines. */
struct cfg_value_ctx {
        struct cfg *c;
        const char *where;      /* "path:line", "(default)", "(set)" */
        const char *name;
        int errors;
        char **classes;
        size_t class_count;
};

/* cfg_value_error - record "WHERE: NAME: message" as an error (cfg.c) */
void cfg_value_error(struct cfg_value_ctx *k, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* cfg_quote - s (len bytes) cut to fit a message; returns tmp or s */
const char *cfg_quote(char tmp[CFG_QUOTE_MAX + 4], const char *s, size_t len);
/* cfg_list_next - the next item of a list value at *cpp: 1 with the item
 * (a pointer into the value and its length), 0 at the end, -1 with a
 * static *error_r on unbalanced braces */
int cfg_list_next(const char **cpp, const char **item_r, size_t *len_r,
                  const char **error_r);
/* cfg_digits - a run of decimal digits at *sp no larger than limit; 0 and
 * *sp moved past it, or -1 */
int cfg_digits(const char **sp, unsigned long long limit,
               unsigned long long *value_r);

/* cfg_value_check - value (expanded) against p's type, limits and, for
 * some names, the set of words it may hold (cfg_value.c) */
void cfg_value_check(struct cfg_value_ctx *k, const struct cfg_param *p,
                     const char *value);
/* cfg_value_check_restrictions - a restriction list: every item a known
 * restriction or class, each with the argument it needs */
void cfg_value_check_restrictions(struct cfg_value_ctx *k, const char *value);
/* cfg_value_is_class - 1 if the len bytes at s name a restriction class */
int cfg_value_is_class(const struct cfg_value_ctx *k, const char *s,
                       size_t len);

#endif
