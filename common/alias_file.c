/* alias_file.c - aliases(5) files: entries, target lists, checking
 * Used by: map_table.c (alias tables), local and qmgr (targets of an
 * alias), newaliases (checking alias_database files). Reads files an
 * administrator wrote; any bytes are handled, every problem is named by
 * file and line. Logical lines (continuations, comments) come from
 * cfg_lines.c, as for main.cf. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "alias_file.h"
#include "buf.h"
#include "cfg.h"
#include "cfg_lines.h"
#include "fileio.h"
#include "map.h"
#include "map_driver.h"
#include "mem.h"

#define ALIAS_FILE_MAX  (256 * 1024 * 1024)

/* unquote - a target without its quotes: "x y" -> x y; "a b"@d -> a b@d;
 * \c -> c inside quotes. Returns a new string, or NULL if a quote is left
 * open. */
static char *unquote(const char *s, size_t len)
{
        struct buf out;
        int quoted = 0;

        buf_init(&out, 0);
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '"') {
                        quoted = !quoted;
                        continue;
                }
                if (s[i] == '\\' && quoted && i + 1 < len)
                        i++;
                buf_putc(&out, s[i]);
        }
        if (quoted) {
                buf_release(&out);
                return NULL;
        }
        return out.data != NULL ? buf_steal(&out) : xstrdup("");
}

/* target_check - one unquoted target; NULL or a problem text */
static const char *target_check(const char *t, size_t raw_len,
                                const char *raw)
{
        const char *arg;

        if (*t == '\0')
                return "empty target";
        for (const unsigned char *p = (const unsigned char *)t; *p; p++)
                if (*p < 32 && *p != '\t')
                        return "control character in target";
        switch (alias_target_kind(t, &arg)) {
        case ALIAS_TARGET_COMMAND:
                if (*arg == '\0')
                        return "empty |command";
                break;
        case ALIAS_TARGET_INCLUDE:
                if (*arg != '/')
                        return ":include: needs an absolute path";
                break;
        case ALIAS_TARGET_FILE:
                break;
        case ALIAS_TARGET_ADDRESS:
                /* white space outside quotes: two targets without a comma */
                if (memchr(raw, '"', raw_len) == NULL &&
                    strpbrk(t, " \t") != NULL)
                        return "white space in an address (separate targets "
                               "with commas)";
                if (*t == '@' || t[strlen(t) - 1] == '@')
                        return "bad address";
                break;
        }
        return NULL;
}

int alias_targets_split(const char *value, char ***targets_r, size_t *count_r,
                        struct status *st)
{
        const char *p = value;
        char **list = NULL;
        size_t count = 0;

        *targets_r = NULL;
        *count_r = 0;
        while (*p != '\0') {
                const char *start, *end, *problem;
                int quoted = 0;
                char *t;

                while (*p == ',' || isspace((unsigned char)*p))
                        p++;
                if (*p == '\0')
                        break;
                start = p;
                for (; *p != '\0' && (quoted || *p != ','); p++) {
                        if (*p == '"')
                                quoted = !quoted;
                        else if (*p == '\\' && quoted && p[1] != '\0')
                                p++;
                }
                if (quoted) {
                        status_set(st, STATUS_SYNTAX, "unbalanced quote");
                        goto fail;
                }
                end = p;
                while (end > start && isspace((unsigned char)end[-1]))
                        end--;
                t = unquote(start, (size_t)(end - start));
                if (t == NULL) {
                        status_set(st, STATUS_SYNTAX, "unbalanced quote");
                        goto fail;
                }
                problem = target_check(t, (size_t)(end - start), start);
                if (problem != NULL) {
                        status_set(st, STATUS_SYNTAX, "%s: \"%.*s\"", problem,
                                   (int)(end - start > 100 ? 100 :
                                         end - start), start);
                        free(t);
                        goto fail;
                }
                if (count == ALIAS_TARGETS_MAX) {
                        free(t);
                        status_set(st, STATUS_SYNTAX, "more than %d targets",
                                   ALIAS_TARGETS_MAX);
                        goto fail;
                }
                list = xrealloc(list, (count + 2) * sizeof(*list));
                list[count++] = t;
                list[count] = NULL;
        }
        if (count == 0) {
                status_set(st, STATUS_SYNTAX, "no targets");
                goto fail;
        }
        *targets_r = list;
        *count_r = count;
        return 0;
fail:
        *count_r = 0;
        alias_targets_free(&list);
        return -1;
}

void alias_targets_free(char ***targets)
{
        if (targets == NULL || *targets == NULL)
                return;
        for (char **p = *targets; *p != NULL; p++)
                free(*p);
        free(*targets);
        *targets = NULL;
}

enum alias_target_kind alias_target_kind(const char *target,
                                         const char **arg_r)
{
        *arg_r = target;
        if (*target == '|') {
                *arg_r = target + 1;
                return ALIAS_TARGET_COMMAND;
        }
        if (strncasecmp(target, ":include:", 9) == 0) {
                *arg_r = target + 9;
                while (**arg_r == ' ' || **arg_r == '\t')
                        (*arg_r)++;
                return ALIAS_TARGET_INCLUDE;
        }
        if (*target == '/')
                return ALIAS_TARGET_FILE;
        return ALIAS_TARGET_ADDRESS;
}

/* parse_name - the alias name at the start of line, folded and unquoted,
 * into *name_r; *value_r after the colon. NULL or a problem text. */
static const char *parse_name(const char *line, char **name_r,
                              const char **value_r)
{
        const char *p = line, *end;
        char *name;

        *name_r = NULL;
        if (*p == '"') {
                for (p++; *p != '"'; p++) {
                        if (*p == '\\' && p[1] != '\0')
                                p++;
                        if (*p == '\0')
                                return "unbalanced quote in alias name";
                }
                end = ++p;
                while (*p == ' ' || *p == '\t')
                        p++;
                if (*p != ':')
                        return "missing ':' after the alias name";
        } else {
                p = strchr(line, ':');
                if (p == NULL)
                        return "missing ':' after the alias name";
                end = p;
                while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
                        end--;
                if (memchr(line, ' ', (size_t)(end - line)) != NULL ||
                    memchr(line, '\t', (size_t)(end - line)) != NULL)
                        return "white space in alias name (quote it)";
        }
        name = unquote(line, (size_t)(end - line));
        if (name == NULL)
                return "unbalanced quote in alias name";
        if (*name == '\0') {
                free(name);
                return "empty alias name";
        }
        if (strlen(name) > ALIAS_NAME_MAX) {
                free(name);
                return "alias name too long";
        }
        for (unsigned char *u = (unsigned char *)name; *u != '\0'; u++) {
                if (*u < 32 || *u == 127) {
                        free(name);
                        return "control character in alias name";
                }
                if (*u < 0x80)
                        *u = (unsigned char)tolower(*u);
        }
        *name_r = name;
        *value_r = p + 1;
        while (**value_r == ' ' || **value_r == '\t')
                (*value_r)++;
        return NULL;
}

int alias_file_parse(const char *path, const char *text, size_t len,
                     int (*entry)(void *ctx, const char *name,
                                  const char *value, int line),
                     void (*diag)(void *ctx, const char *text),
                     void *ctx, struct status *st)
{
        struct cfg_lines r;
        const char *line, *error, *value;
        size_t line_len;
        int lineno, ret, problems = 0;

        cfg_lines_init(&r, text, len, "an alias");
        while ((ret = cfg_lines_next(&r, &line, &line_len, &lineno,
                                     &error)) != 0) {
                struct status vst;
                char **targets;
                size_t n;
                char *name = NULL;

                if (ret < 0)
                        goto problem;
                error = parse_name(line, &name, &value);
                if (error != NULL)
                        goto problem;
                if (alias_targets_split(value, &targets, &n, &vst) < 0) {
                        error = vst.text;
                        goto problem;
                }
                alias_targets_free(&targets);
                if (entry != NULL && entry(ctx, name, value, lineno) < 0) {
                        free(name);
                        cfg_lines_release(&r);
                        return -1;
                }
                free(name);
                continue;
problem:
                free(name);
                problems++;
                if (map_diag(diag, ctx, st, "%s:%d: %s", path, lineno,
                             error) < 0) {
                        cfg_lines_release(&r);
                        return -1;
                }
        }
        cfg_lines_release(&r);
        return problems;
}

struct check_ctx {
        struct map_table *names;
        void (*diag)(void *ctx, const char *text);
        void *ctx;
        const char *path;
        size_t entries;
};

static int check_entry(void *ctx, const char *name, const char *value,
                       int line)
{
        struct check_ctx *k = ctx;
        char *text;

        k->entries++;
        if (map_table_add(k->names, name, "") == 0) {
                text = xasprintf("warning: %s:%d: duplicate alias \"%s\" "
                                 "(the first one is used)", k->path, line,
                                 name);
                k->diag(k->ctx, text);
                free(text);
        }
        return 0;
}

static void check_diag(void *ctx, const char *text)
{
        struct check_ctx *k = ctx;

        k->diag(k->ctx, text);
}

int alias_file_check(const char *path,
                     void (*diag)(void *ctx, const char *text), void *ctx,
                     size_t *entries_r, struct status *st)
{
        struct check_ctx k = { NULL, diag, ctx, path, 0 };
        struct buf text;
        int ret;

        buf_init(&text, 0);
        ret = fileio_read(path, ALIAS_FILE_MAX, &text, st);
        if (ret <= 0) {
                if (ret == 0)
                        status_set(st, STATUS_CONFIG_TEMP,
                                   "%s: no such file", path);
                buf_release(&text);
                return -1;
        }
        k.names = map_table_new();
        ret = alias_file_parse(path, buf_cstr(&text), text.len, check_entry,
                               check_diag, &k, st);
        map_table_free(&k.names);
        buf_release(&text);
        if (entries_r != NULL)
                *entries_r = k.entries;
        return ret;
}

int alias_file_rebuild(struct cfg *cfg,
                       void (*diag)(void *ctx, const char *text), void *ctx,
                       struct status *st)
{
        const char *p = cfg_get(cfg, "alias_database"), *item;
        int problems = 0, failed = 0, r;
        size_t len;

        while ((r = map_list_next(&p, &item, &len)) != 0) {
                const char *colon, *path;
                char *spec, *text;
                struct status fst;

                if (r < 0)
                        return status_set(st, STATUS_CONFIG,
                                          "alias_database: unbalanced '{'");
                spec = xstrndup(item, len);
                path = spec;
                while (strncmp(path, "proxy:", 6) == 0)
                        path += 6;
                colon = strchr(path, ':');
                if (colon == NULL ||
                    !((colon - path == 4 && strncmp(path, "hash", 4) == 0) ||
                      (colon - path == 5 && strncmp(path, "btree", 5) == 0) ||
                      (colon - path == 8 &&
                       strncmp(path, "texthash", 8) == 0))) {
                        text = xasprintf("warning: alias_database: %s: not "
                                         "a hash:, btree: or texthash: file; "
                                         "skipped", spec);
                        diag(ctx, text);
                        free(text);
                        free(spec);
                        continue;
                }
                path = colon + 1;
                r = alias_file_check(path, diag, ctx, NULL, &fst);
                if (r < 0) {
                        if (!failed++)
                                status_set(st, fst.code, "%s", fst.text);
                } else {
                        problems += r;
                }
                free(spec);
        }
        return failed ? -1 : problems;
}
