/* map_inline.c - tables that need no file: inline:, static:, unix:
 * Used by: map.c.
 *   inline:{ key=value, key2=value2, { key3 = value, with comma } }
 *         the table in main.cf; an item in braces may hold white space
 *         and commas; keys fold to lowercase
 *   static:VALUE (or static:{VALUE with spaces})   every key finds VALUE
 *   unix:passwd.byname   the system passwd database (getpwnam); the
 *         value is the passwd line "name:x:uid:gid:gecos:home:shell", as
 *         Postfix's unix: table gives it; used by local_recipient_maps
 * Runs in any process; getpwnam() may block on NSS (the caller decides
 * whether that is allowed in its loop). */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "map_driver.h"
#include "mem.h"

/* trim - the bytes of s..s+len without outer white space */
static char *trim(const char *s, size_t len)
{
        while (len > 0 && isspace((unsigned char)*s)) {
                s++;
                len--;
        }
        while (len > 0 && isspace((unsigned char)s[len - 1]))
                len--;
        return xstrndup(s, len);
}

/* braced - 1 if the len bytes at s are "{...}" */
static int braced(const char *s, size_t len)
{
        return len >= 2 && s[0] == '{' && s[len - 1] == '}';
}

static int inline_open(struct map *m, map_diag_fn *diag, void *ctx,
                       struct status *st)
{
        struct map_table *t;
        const char *p, *item;
        char *inner;
        size_t len;
        int r, problems = 0;

        len = strlen(m->name);
        if (!braced(m->name, len))
                return status_set(st, STATUS_CONFIG_TEMP,
                                  "%s: %s: expected inline:{key=value, ...}",
                                  m->param, m->spec);
        t = map_table_new();
        inner = xstrndup(m->name + 1, len - 2);
        p = inner;
        while ((r = map_list_next(&p, &item, &len)) != 0) {
                const char *eq;
                char *key, *value, *folded;

                if (r > 0 && braced(item, len)) {
                        item++;
                        len -= 2;
                }
                eq = r > 0 ? memchr(item, '=', len) : NULL;
                if (eq == NULL || eq == item) {
                        problems++;
                        if (map_diag(diag, ctx, st, "%s: %s: expected "
                                     "key=value, not \"%.*s\"", m->param,
                                     m->spec, (int)len, item) < 0) {
                                free(inner);
                                map_table_free(&t);
                                return -1;
                        }
                        if (r < 0)
                                break;
                        continue;
                }
                key = trim(item, (size_t)(eq - item));
                value = trim(eq + 1, len - (size_t)(eq - item) - 1);
                folded = addr_fold(key);
                (void)map_table_add(t, folded, value);
                free(folded);
                free(key);
                free(value);
        }
        free(inner);
        m->data = t;
        return problems;
}

static int inline_lookup(struct map *m, const char *key, const char **value_r,
                         struct status *st)
{
        *value_r = map_table_get(m->data, key);
        return *value_r != NULL;
}

static void inline_close(struct map *m)
{
        struct map_table *t = m->data;

        map_table_free(&t);
        m->data = NULL;
}

static int static_open(struct map *m, map_diag_fn *diag, void *ctx,
                       struct status *st)
{
        size_t len = strlen(m->name);

        m->data = braced(m->name, len) ? trim(m->name + 1, len - 2) :
                  xstrdup(m->name);
        return 0;
}

static int static_lookup(struct map *m, const char *key, const char **value_r,
                         struct status *st)
{
        *value_r = m->data;
        return 1;
}

static void static_close(struct map *m)
{
        free(m->data);
        m->data = NULL;
}

static int unix_open(struct map *m, map_diag_fn *diag, void *ctx,
                     struct status *st)
{
        if (strcmp(m->name, "passwd.byname") != 0)
                return status_set(st, STATUS_CONFIG_TEMP,
                                  "%s: %s: unsupported unix table (only "
                                  "unix:passwd.byname)", m->param, m->spec);
        return 0;
}

static int unix_lookup(struct map *m, const char *key, const char **value_r,
                       struct status *st)
{
        struct passwd *pw;

        errno = 0;
        pw = getpwnam(key);
        if (pw == NULL) {
                if (errno == EIO || errno == ENOMEM || errno == EMFILE ||
                    errno == ENFILE || errno == EAGAIN)
                        return status_set(st, STATUS_LOOKUP_TEMP,
                                          "%s: getpwnam %s: %m", m->spec,
                                          key);
                return 0;
        }
        buf_reset(&m->value);
        buf_printf(&m->value, "%s:%s:%lu:%lu:%s:%s:%s", pw->pw_name,
                   pw->pw_passwd, (unsigned long)pw->pw_uid,
                   (unsigned long)pw->pw_gid,
                   pw->pw_gecos != NULL ? pw->pw_gecos : "", pw->pw_dir,
                   pw->pw_shell);
        *value_r = buf_cstr(&m->value);
        return 1;
}

const struct map_type map_type_inline = {
        "inline", inline_open, inline_lookup, NULL, inline_close, 1,
};
const struct map_type map_type_static = {
        "static", static_open, static_lookup, NULL, static_close, 0,
};
const struct map_type map_type_unix = {
        "unix", unix_open, unix_lookup, NULL, NULL, 0,
};
