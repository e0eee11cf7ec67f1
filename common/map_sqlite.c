/* map_sqlite.c - sqlite: tables, Postfix's sqlite_table(5)
 * Used by: map.c (access tables, smtpd_sender_login_maps, virtual maps
 * ...). The name is a configuration file of "name = value" lines:
 *   dbpath = /var/lib/yubin/users.sqlite
 *   query = SELECT access FROM clients WHERE address = '%s'
 *   result_format = %s          (optional; "%s" by default)
 *   expansion_limit = 0         (optional; the most rows, 0 any)
 * or the older select_field / table / where_field /
 * additional_conditions set, which makes the same query. In the query,
 * %s is the key, %u its local part, %d its domain (no domain: no
 * look-up), %1..%9 the domain's labels from the right, %% a percent; each
 * is quoted for SQL (single quotes doubled). In result_format, %s is the
 * row's first column (%u, %d its parts). Several rows are joined with
 * commas. The database is opened read-only; a database error is "could
 * not tell". Keys are folded to lowercase. Reads an administrator's file
 * and database; keys come from client input (quoted). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_lines.h"
#include "fileio.h"
#include "map_driver.h"
#include "mem.h"

struct sqlite_table {
        sqlite3 *db;
        char *query;
        char *result_format;
        long expansion_limit;
};

static void sqlite_table_free(struct sqlite_table *t)
{
        if (t == NULL)
                return;
        if (t->db != NULL)
                sqlite3_close(t->db);
        free(t->query);
        free(t->result_format);
        free(t);
}

/* setting - the value of name in the .cf text, or NULL (new string) */
static char *setting(const char *text, size_t len, const char *name)
{
        struct cfg_lines r;
        const char *line, *error;
        size_t line_len, n = strlen(name);
        int lineno, ret;
        char *value = NULL;

        cfg_lines_init(&r, text, len, "a setting");
        while ((ret = cfg_lines_next(&r, &line, &line_len, &lineno,
                                     &error)) != 0) {
                const char *p = line;

                if (ret < 0 || strncmp(p, name, n) != 0)
                        continue;
                p += n;
                p += strspn(p, " \t");
                if (*p != '=')
                        continue;
                p++;
                free(value);
                value = xstrdup(p + strspn(p, " \t"));
        }
        cfg_lines_release(&r);
        return value;
}

static int sqlite_open(struct map *m, map_diag_fn *diag, void *ctx,
                       struct status *st)
{
        struct sqlite_table *t;
        struct buf text;
        char *dbpath, *limit;
        int r;

        if (m->name[0] != '/')
                return status_set(st, STATUS_CONFIG_TEMP, "%s: %s: the table "
                                  "name must be an absolute path", m->param,
                                  m->spec);
        buf_init(&text, 0);
        r = fileio_read(m->name, MAP_FILE_MAX, &text, st);
        if (r <= 0) {
                if (r == 0)
                        status_set(st, STATUS_CONFIG_TEMP, "%s: %s: no such "
                                   "file", m->param, m->spec);
                buf_release(&text);
                return -1;
        }
        t = xcalloc(1, sizeof(*t));
        dbpath = setting(text.data, text.len, "dbpath");
        t->query = setting(text.data, text.len, "query");
        t->result_format = setting(text.data, text.len, "result_format");
        limit = setting(text.data, text.len, "expansion_limit");
        t->expansion_limit = limit != NULL ? strtol(limit, NULL, 10) : 0;
        free(limit);
        if (t->query == NULL) {
                char *sel = setting(text.data, text.len, "select_field");
                char *tab = setting(text.data, text.len, "table");
                char *where = setting(text.data, text.len, "where_field");
                char *more = setting(text.data, text.len,
                                     "additional_conditions");

                if (sel != NULL && tab != NULL && where != NULL)
                        t->query = xasprintf("SELECT %s FROM %s WHERE %s = "
                                             "'%%s' %s", sel, tab, where,
                                             more != NULL ? more : "");
                free(sel);
                free(tab);
                free(where);
                free(more);
        }
        buf_release(&text);
        if (t->result_format == NULL)
                t->result_format = xstrdup("%s");
        if (dbpath == NULL || t->query == NULL) {
                free(dbpath);
                sqlite_table_free(t);
                return status_set(st, STATUS_CONFIG_TEMP, "%s: %s: needs "
                                  "dbpath and query", m->param, m->name);
        }
        r = sqlite3_open_v2(dbpath, &t->db, SQLITE_OPEN_READONLY, NULL);
        if (r != SQLITE_OK) {
                status_set(st, STATUS_CONFIG_TEMP, "%s: %s: cannot open %s: "
                           "%s", m->param, m->name, dbpath,
                           t->db != NULL ? sqlite3_errmsg(t->db) :
                           sqlite3_errstr(r));
                free(dbpath);
                sqlite_table_free(t);
                return -1;
        }
        sqlite3_busy_timeout(t->db, 1000);
        free(dbpath);
        m->data = t;
        return 0;
}

/* quoted - text for inside '...' (single quotes doubled) */
static void quoted(struct buf *b, const char *s, size_t n)
{
        for (size_t i = 0; i < n && s[i] != '\0'; i++) {
                if (s[i] == '\'')
                        buf_putc(b, '\'');
                buf_putc(b, s[i]);
        }
}

/* label - the n-th domain label from the right (1: the last) */
static int label(const char *domain, int n, const char **s_r, size_t *len_r)
{
        const char *end = domain + strlen(domain);

        while (end > domain) {
                const char *start = end;

                while (start > domain && start[-1] != '.')
                        start--;
                if (--n == 0) {
                        *s_r = start;
                        *len_r = (size_t)(end - start);
                        return 0;
                }
                end = start > domain ? start - 1 : domain;
        }
        return -1;
}

/* expand - fmt with %s, %u, %d, %1..%9 taken from key; -1 when it needs
 * a domain the key lacks */
static int expand(struct buf *out, const char *fmt, const char *key, int sql)
{
        const char *at = strrchr(key, '@');

        for (const char *p = fmt; *p != '\0'; p++) {
                const char *s = NULL;
                size_t n = 0;

                if (*p != '%' || p[1] == '\0') {
                        buf_putc(out, *p);
                        continue;
                }
                switch (*++p) {
                case '%':
                        buf_putc(out, '%');
                        continue;
                case 's':
                case 'S':
                        s = key;
                        n = strlen(key);
                        break;
                case 'u':
                case 'U':
                        s = key;
                        n = at != NULL ? (size_t)(at - key) : strlen(key);
                        break;
                case 'd':
                case 'D':
                        if (at == NULL)
                                return -1;
                        s = at + 1;
                        n = strlen(s);
                        break;
                default:
                        if (*p < '1' || *p > '9' || at == NULL ||
                            label(at + 1, *p - '0', &s, &n) < 0)
                                return -1;
                        break;
                }
                if (sql)
                        quoted(out, s, n);
                else
                        buf_append(out, s, n);
        }
        return 0;
}

static int sqlite_lookup(struct map *m, const char *key, const char **value_r,
                         struct status *st)
{
        struct sqlite_table *t = m->data;
        struct buf q;
        sqlite3_stmt *stmt = NULL;
        long rows = 0;
        int r;

        buf_init(&q, 0);
        if (expand(&q, t->query, key, 1) < 0) {
                buf_release(&q);
                return 0;
        }
        r = sqlite3_prepare_v2(t->db, buf_cstr(&q), -1, &stmt, NULL);
        buf_release(&q);
        if (r != SQLITE_OK)
                return status_set(st, STATUS_LOOKUP_TEMP, "%s: %s", m->spec,
                                  sqlite3_errmsg(t->db));
        buf_reset(&m->value);
        while ((r = sqlite3_step(stmt)) == SQLITE_ROW) {
                const unsigned char *v = sqlite3_column_text(stmt, 0);

                if (v == NULL || *v == '\0')
                        continue;
                if (t->expansion_limit > 0 && rows == t->expansion_limit) {
                        sqlite3_finalize(stmt);
                        return status_set(st, STATUS_LOOKUP_TEMP, "%s: more "
                                          "than expansion_limit rows",
                                          m->spec);
                }
                if (rows++ > 0)
                        buf_putc(&m->value, ',');
                (void)expand(&m->value, t->result_format, (const char *)v,
                             0);
        }
        sqlite3_finalize(stmt);
        if (r != SQLITE_DONE)
                return status_set(st, STATUS_LOOKUP_TEMP, "%s: %s", m->spec,
                                  sqlite3_errmsg(t->db));
        if (rows == 0)
                return 0;
        *value_r = buf_cstr(&m->value);
        return 1;
}

static const char *sqlite_source(const struct map *m)
{
        return m->name;
}

static void sqlite_close(struct map *m)
{
        sqlite_table_free(m->data);
        m->data = NULL;
}

const struct map_type map_type_sqlite = {
        "sqlite", sqlite_open, sqlite_lookup, sqlite_source, sqlite_close, 1,
};
