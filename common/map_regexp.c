/* map_regexp.c - pattern tables: regexp: (POSIX), and the rule format that
 * pcre: shares
 * Used by: map.c (header_checks, body_checks, check_*_access,
 * smtpd_forbidden_commands ...). Postfix's regexp_table(5) and
 * pcre_table(5) format, one rule a logical line, tried in file order,
 * the first match wins:
 *   /pattern/flags result      result may use $1..$9 (${1}), $$
 *   !/pattern/flags result     matches when the pattern does not
 *   if /pattern/flags ... endif, if !/pattern/ ... endif   nested groups
 * The delimiter is the first character (usually '/'); a backslash before
 * it inside the pattern stands for it. Flags for regexp: i (case, default
 * insensitive), x (extended syntax, default on), m (newline-sensitive);
 * pcre: adds s, A, E, U, X (map_pcre.c). The table is a file
 * (regexp:/etc/yubin/header_checks, reloaded when it changes) or inline:
 * regexp:{ {/pattern/ result}, {/other/ result} }. Keys are matched as
 * given (no folding). Reads administrator files; patterns are matched
 * against client input, so every subject is length-bounded. */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_lines.h"
#include "map_driver.h"
#include "mem.h"

#define PATTERN_DEPTH_MAX       32      /* nested if/endif */
#define PATTERN_GROUPS          10      /* $0..$9 */

struct rule {
        void *re;               /* compiled by the engine */
        int negate;
        int kind;               /* 0 match, 1 if, 2 endif */
        char *result;
        size_t skip_to;         /* if: the rule after its endif */
        int line;
};

struct pattern_table {
        const struct map_pattern_engine *e;
        struct rule *rules;
        size_t count;
};

static void table_free(void *content)
{
        struct pattern_table *t = content;

        if (t == NULL)
                return;
        for (size_t i = 0; i < t->count; i++) {
                if (t->rules[i].re != NULL)
                        t->e->free_re(t->rules[i].re);
                free(t->rules[i].result);
        }
        free(t->rules);
        free(t);
}

/* max_ref - the highest $n the result uses, or -1 for a bad $ form */
static int max_ref(const char *r)
{
        int max = 0;

        for (; *r != '\0'; r++) {
                if (*r != '$')
                        continue;
                if (r[1] == '$') {
                        r++;
                } else if (isdigit((unsigned char)r[1])) {
                        max = r[1] - '0' > max ? r[1] - '0' : max;
                        r++;
                } else if (r[1] == '{' && isdigit((unsigned char)r[2]) &&
                           r[3] == '}') {
                        max = r[2] - '0' > max ? r[2] - '0' : max;
                        r += 3;
                } else {
                        return -1;
                }
        }
        return max;
}

/* rule_parse - one logical line into *r; NULL, or why not */
static const char *rule_parse(const struct map_pattern_engine *e,
                              const char *line, struct rule *r, char *err,
                              size_t errsize)
{
        const char *p = line, *end;
        char delim, flags[16];
        struct buf pat;
        size_t n;
        int subs;

        memset(r, 0, sizeof(*r));
        if (strncmp(p, "endif", 5) == 0 && (p[5] == '\0' ||
                                            isspace((unsigned char)p[5]))) {
                r->kind = 2;
                return p[5 + strspn(p + 5, " \t")] == '\0' ? NULL :
                       "text after \"endif\"";
        }
        if (strncmp(p, "if", 2) == 0 && !isalnum((unsigned char)p[2])) {
                r->kind = 1;
                p += 2;
                p += strspn(p, " \t");
        }
        if (*p == '!') {
                r->negate = 1;
                p++;
                p += strspn(p, " \t");
        }
        delim = *p;
        if (delim == '\0' || isalnum((unsigned char)delim) ||
            isspace((unsigned char)delim) || delim == '\\')
                return "expected /pattern/";
        buf_init(&pat, 0);
        for (end = p + 1; *end != '\0' && *end != delim; end++) {
                if (end[0] == '\\' && end[1] == delim)
                        end++;
                else if (end[0] == '\\' && end[1] != '\0')
                        buf_putc(&pat, *end++);
                buf_putc(&pat, *end);
        }
        if (*end != delim) {
                buf_release(&pat);
                return "missing the pattern's closing delimiter";
        }
        n = strcspn(end + 1, " \t");
        if (n >= sizeof(flags) || strspn(end + 1, e->flag_letters) < n) {
                buf_release(&pat);
                return "unknown pattern flag";
        }
        snprintf(flags, sizeof(flags), "%.*s", (int)n, end + 1);
        p = end + 1 + n;
        p += strspn(p, " \t");
        r->re = e->compile(buf_cstr(&pat), flags, &subs, err, errsize);
        buf_release(&pat);
        if (r->re == NULL)
                return err;
        if (r->kind == 1)
                return *p == '\0' ? NULL : "text after the \"if\" pattern";
        if (*p == '\0')
                return "expected a result after the pattern";
        if (max_ref(p) < 0)
                return "bad $ in the result (use $1..$9 or $$)";
        if (max_ref(p) > 0 && (r->negate || max_ref(p) > subs))
                return "$number in the result names no group of the "
                       "pattern";
        r->result = xstrdup(p);
        return NULL;
}

/* add_line - parse one rule into t, tracking if/endif in stack; 0, or
 * -1 with *why */
static int add_line(struct pattern_table *t, const char *line, int lineno,
                    size_t *stack, int *depth, const char **why, char *err,
                    size_t errsize)
{
        struct rule r;

        *why = rule_parse(t->e, line, &r, err, errsize);
        if (*why == NULL && r.kind == 2 && *depth == 0)
                *why = "\"endif\" without \"if\"";
        if (*why == NULL && r.kind == 1 && *depth == PATTERN_DEPTH_MAX)
                *why = "\"if\" nested too deeply";
        if (*why != NULL) {
                if (r.re != NULL)
                        t->e->free_re(r.re);
                free(r.result);
                return -1;
        }
        r.line = lineno;
        if (r.kind == 2)
                t->rules[stack[--*depth]].skip_to = t->count + 1;
        t->rules = xrealloc(t->rules, (t->count + 1) * sizeof(*t->rules));
        if (r.kind == 1)
                stack[(*depth)++] = t->count;
        t->rules[t->count++] = r;
        return 0;
}

int map_pattern_parse(struct map *m, const struct map_pattern_engine *e,
                      const char *text, size_t len, map_diag_fn *diag,
                      void *ctx, void **content_r, struct status *st)
{
        struct pattern_table *t = xcalloc(1, sizeof(*t));
        size_t stack[PATTERN_DEPTH_MAX];
        int depth = 0, problems = 0, inline_ = m->name[0] == '{';
        const char *where = inline_ ? m->spec : m->name;

        t->e = e;
        *content_r = NULL;
        if (inline_) {
                /* { {rule}, {rule} }: text is the inside of the outer
                 * braces */
                char *inner = xstrndup(text, len);
                const char *p = inner, *item;
                size_t n;
                int r, i = 0;

                while ((r = map_list_next(&p, &item, &n)) != 0) {
                        char err[256], *rule;
                        const char *why = "unbalanced '{'";

                        i++;
                        if (r > 0 && n >= 2 && item[0] == '{' &&
                            item[n - 1] == '}') {
                                rule = xstrndup(item + 1, n - 2);
                                char *s = rule + strspn(rule, " \t");

                                for (char *q = s + strlen(s); q > s &&
                                     isspace((unsigned char)q[-1]); )
                                        *--q = '\0';
                                r = add_line(t, s, i, stack, &depth, &why,
                                             err, sizeof(err));
                                free(rule);
                                if (r == 0)
                                        continue;
                        } else if (r > 0) {
                                why = "expected {/pattern/ result}";
                        }
                        problems++;
                        if (map_diag(diag, ctx, st, "%s: %s: rule %d: %s",
                                     m->param, where, i, why) < 0) {
                                free(inner);
                                goto fail;
                        }
                        if (r < 0)
                                break;
                }
                free(inner);
        } else {
                struct cfg_lines rd;
                const char *line, *error;
                size_t line_len;
                int lineno, ret;

                cfg_lines_init(&rd, text, len, "a rule");
                while ((ret = cfg_lines_next(&rd, &line, &line_len, &lineno,
                                             &error)) != 0) {
                        char err[256];
                        const char *why = error;

                        if (ret > 0 && add_line(t, line, lineno, stack,
                                                &depth, &why, err,
                                                sizeof(err)) == 0)
                                continue;
                        problems++;
                        if (map_diag(diag, ctx, st, "%s:%d: %s", where,
                                     lineno, why) < 0) {
                                cfg_lines_release(&rd);
                                goto fail;
                        }
                }
                cfg_lines_release(&rd);
        }
        if (depth > 0) {
                problems++;
                if (map_diag(diag, ctx, st, "%s: \"if\" without \"endif\"",
                             where) < 0)
                        goto fail;
        }
        *content_r = t;
        return problems;
fail:
        table_free(t);
        return -1;
}

void map_pattern_content_free(void *content)
{
        table_free(content);
}

/* expand - the result with $n replaced by the groups of key */
static void expand(struct buf *out, const char *result, const char *key,
                   const long *ov)
{
        buf_reset(out);
        for (const char *r = result; *r != '\0'; r++) {
                int g = -1;

                if (*r != '$') {
                        buf_putc(out, *r);
                        continue;
                }
                if (r[1] == '$') {
                        buf_putc(out, '$');
                        r++;
                        continue;
                }
                if (isdigit((unsigned char)r[1])) {
                        g = r[1] - '0';
                        r++;
                } else if (r[1] == '{') {
                        g = r[2] - '0';
                        r += 3;
                }
                if (g >= 0 && g < PATTERN_GROUPS && ov[2 * g] >= 0)
                        buf_append(out, key + ov[2 * g],
                                   (size_t)(ov[2 * g + 1] - ov[2 * g]));
        }
}

static int pattern_match(struct map *m, void *content, const char *key,
                         const char **value_r, struct status *st)
{
        const struct pattern_table *t = content;
        size_t len = strlen(key);

        for (size_t i = 0; i < t->count; ) {
                const struct rule *r = &t->rules[i];
                long ov[2 * PATTERN_GROUPS];
                int hit;

                if (r->kind == 2) {
                        i++;
                        continue;
                }
                for (int g = 0; g < 2 * PATTERN_GROUPS; g++)
                        ov[g] = -1;
                hit = t->e->match(r->re, key, len, ov, PATTERN_GROUPS);
                if (hit < 0)
                        return status_set(st, STATUS_LOOKUP_TEMP, "%s: "
                                          "matching failed (line %d)",
                                          m->spec, r->line);
                if (r->negate)
                        hit = !hit;
                if (r->kind == 1) {
                        i = hit ? i + 1 : r->skip_to;
                        continue;
                }
                if (hit) {
                        expand(&m->value, r->result, key, ov);
                        *value_r = buf_cstr(&m->value);
                        return 1;
                }
                i++;
        }
        return 0;
}

int map_pattern_open(struct map *m, const struct map_file_format *fmt,
                     const struct map_pattern_engine *e, map_diag_fn *diag,
                     void *ctx, struct status *st)
{
        size_t n = strlen(m->name);
        void *content;
        int ret;

        if (m->name[0] != '{')
                return map_file_open(m, fmt, diag, ctx, st);
        if (n < 2 || m->name[n - 1] != '}')
                return status_set(st, STATUS_CONFIG_TEMP, "%s: %s: expected "
                                  "%s:{ {rule}, ... }", m->param, m->spec,
                                  e->name);
        ret = map_pattern_parse(m, e, m->name + 1, n - 2, diag, ctx,
                                &content, st);
        if (ret >= 0)
                m->data = content;
        return ret;
}

int map_pattern_lookup(struct map *m, const char *key, const char **value_r,
                       struct status *st)
{
        void *content = m->name[0] == '{' ? m->data : map_file_content(m);

        return pattern_match(m, content, key, value_r, st);
}

const char *map_pattern_source(const struct map *m)
{
        return m->name[0] == '{' ? NULL : map_file_source(m);
}

void map_pattern_close(struct map *m)
{
        if (m->name[0] == '{') {
                table_free(m->data);
                m->data = NULL;
        } else {
                map_file_close(m);
        }
}

/* --- the POSIX engine --- */

static void *posix_compile(const char *pattern, const char *flags,
                           int *groups_r, char *err, size_t errsize)
{
        int cflags = REG_EXTENDED | REG_ICASE, r;
        regex_t *re = xmalloc(sizeof(*re));

        for (const char *f = flags; *f != '\0'; f++) {
                if (*f == 'i')
                        cflags ^= REG_ICASE;
                else if (*f == 'x')
                        cflags ^= REG_EXTENDED;
                else if (*f == 'm')
                        cflags ^= REG_NEWLINE;
        }
        r = regcomp(re, pattern, cflags);
        if (r != 0) {
                char why[200];

                regerror(r, re, why, sizeof(why));
                snprintf(err, errsize, "bad pattern: %s", why);
                free(re);
                return NULL;
        }
        *groups_r = (int)re->re_nsub;
        return re;
}

static int posix_match(void *re, const char *subject, size_t len, long *ov,
                       int nov)
{
        regmatch_t pm[PATTERN_GROUPS];
        int r = regexec(re, subject, (size_t)nov, pm, 0);

        if (r == REG_NOMATCH)
                return 0;
        if (r != 0)
                return -1;
        for (int g = 0; g < nov; g++) {
                ov[2 * g] = pm[g].rm_so;
                ov[2 * g + 1] = pm[g].rm_eo;
        }
        return 1;
}

static void posix_free(void *re)
{
        regfree(re);
        free(re);
}

static const struct map_pattern_engine posix_engine = {
        "regexp", "ixm", posix_compile, posix_match, posix_free,
};

static int regexp_parse(struct map *m, const char *text, size_t len,
                        map_diag_fn *diag, void *ctx, void **content_r,
                        struct status *st)
{
        return map_pattern_parse(m, &posix_engine, text, len, diag, ctx,
                                 content_r, st);
}

static const struct map_file_format regexp_format = {
        regexp_parse, map_pattern_content_free,
};

static int regexp_open(struct map *m, map_diag_fn *diag, void *ctx,
                       struct status *st)
{
        return map_pattern_open(m, &regexp_format, &posix_engine, diag, ctx,
                                st);
}

const struct map_type map_type_regexp = {
        "regexp", regexp_open, map_pattern_lookup, map_pattern_source,
        map_pattern_close, 0,
};
