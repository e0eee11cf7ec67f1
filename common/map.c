/* map.c - lists of lookup tables: open, look up in order, check
 * Used by: everything that reads a *_maps parameter (see map.h). Holds the
 * table of types: a type is found by the name before the first ':' of
 * "type:name"; proxy: (Postfix's proxymap) is accepted and means the table
 * behind it, read in this process. Each table's driver lives in its own
 * map_*.c file (map_driver.h). Runs in whatever process opens the tables;
 * reads files an administrator wrote. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "map.h"
#include "map_driver.h"
#include "mem.h"

#define MAPS_LIST_MAX   64      /* tables in one parameter */

/* The types this build knows; a later type is one more row. */
static const struct map_type *const map_types[] = {
        &map_type_btree,
        &map_type_cidr,
        &map_type_hash,
        &map_type_inline,
        &map_type_pcre,
        &map_type_regexp,
        &map_type_sqlite,
        &map_type_static,
        &map_type_texthash,
        &map_type_unix,
};

struct maps {
        struct map **maps;
        size_t count;
        char *folded;           /* the last key, folded */
};

int map_diag(map_diag_fn *diag, void *ctx, struct status *st,
             const char *fmt, ...)
{
        char text[STATUS_TEXT_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        if (diag != NULL) {
                diag(ctx, text);
                return 0;
        }
        return status_set(st, STATUS_CONFIG_TEMP, "%s", text);
}

static const struct map_type *type_find(const char *name, size_t len)
{
        for (size_t i = 0; i < sizeof(map_types) / sizeof(map_types[0]); i++)
                if (strlen(map_types[i]->name) == len &&
                    strncmp(map_types[i]->name, name, len) == 0)
                        return map_types[i];
        return NULL;
}

int map_type_known(const char *type)
{
        return strcmp(type, "proxy") == 0 ||
               type_find(type, strlen(type)) != NULL;
}

int map_list_next(const char **cpp, const char **item_r, size_t *len_r)
{
        const char *p = *cpp;
        int depth = 0;

        while (*p == ',' || isspace((unsigned char)*p))
                p++;
        if (*p == '\0') {
                *cpp = p;
                return 0;
        }
        *item_r = p;
        while (*p != '\0') {
                if (*p == '{')
                        depth++;
                else if (*p == '}' && depth > 0)
                        depth--;
                else if (depth == 0 &&
                         (*p == ',' || isspace((unsigned char)*p)))
                        break;
                p++;
        }
        *len_r = (size_t)(p - *item_r);
        *cpp = p;
        return depth == 0 ? 1 : -1;
}

static void map_close(struct map **mp)
{
        struct map *m = *mp;

        if (m == NULL)
                return;
        if (m->type != NULL && m->type->close != NULL)
                m->type->close(m);
        buf_release(&m->value);
        free(m->spec);
        free(m->name);
        free(m);
        *mp = NULL;
}

/* map_open - one "type:name"; problems as for the driver's open() */
static int map_open(const char *spec, const char *param, int flags,
                    map_diag_fn *diag, void *ctx, struct map **m_r,
                    struct status *st)
{
        const char *s = spec, *colon;
        struct map *m;
        int ret;

        *m_r = NULL;
        while (strncmp(s, "proxy:", 6) == 0)
                s += 6;
        colon = strchr(s, ':');
        if (colon == NULL || colon == s)
                return status_set(st, STATUS_CONFIG_TEMP,
                                  "%s: expected type:name, not \"%s\"",
                                  param, spec);
        m = xcalloc(1, sizeof(*m));
        m->type = type_find(s, (size_t)(colon - s));
        if (m->type == NULL) {
                status_set(st, STATUS_CONFIG_TEMP,
                           "%s: unsupported lookup table type \"%.*s:\" in "
                           "\"%s\"", param, (int)(colon - s), s, spec);
                free(m);
                return -1;
        }
        m->spec = xstrdup(spec);
        m->name = xstrdup(colon + 1);
        m->param = param;
        m->flags = flags;
        buf_init(&m->value, 0);
        if (*m->name == '\0') {
                status_set(st, STATUS_CONFIG_TEMP,
                           "%s: missing table name in \"%s\"", param, spec);
                map_close(&m);
                return -1;
        }
        ret = m->type->open(m, diag, ctx, st);
        if (ret < 0) {
                map_close(&m);
                return -1;
        }
        *m_r = m;
        return ret;
}

int maps_open(const char *list, const char *param, int flags,
              struct maps **maps_r, struct status *st)
{
        struct maps *ms = xcalloc(1, sizeof(*ms));
        const char *p = list != NULL ? list : "", *item;
        size_t len;
        int r;

        *maps_r = NULL;
        while ((r = map_list_next(&p, &item, &len)) != 0) {
                char *spec;
                struct map *m;

                if (r < 0) {
                        status_set(st, STATUS_CONFIG_TEMP,
                                   "%s: unbalanced '{' in \"%s\"", param,
                                   list);
                        goto fail;
                }
                if (ms->count == MAPS_LIST_MAX) {
                        status_set(st, STATUS_CONFIG_TEMP,
                                   "%s: more than %d tables", param,
                                   MAPS_LIST_MAX);
                        goto fail;
                }
                spec = xstrndup(item, len);
                r = map_open(spec, param, flags, NULL, NULL, &m, st);
                free(spec);
                if (r < 0)
                        goto fail;
                ms->maps = xrealloc(ms->maps,
                                    (ms->count + 1) * sizeof(*ms->maps));
                ms->maps[ms->count++] = m;
        }
        *maps_r = ms;
        return 0;
fail:
        maps_free(&ms);
        return -1;
}

int maps_lookup_source(struct maps *m, const char *key, const char **value_r,
                       const char **source_r, struct status *st)
{
        *value_r = NULL;
        if (source_r != NULL)
                *source_r = NULL;
        if (strlen(key) > MAP_KEY_MAX)
                return 0;
        free(m->folded);
        m->folded = addr_fold(key);
        for (size_t i = 0; i < m->count; i++) {
                struct map *t = m->maps[i];
                int r = t->type->lookup(t, t->type->fold ? m->folded : key,
                                        value_r, st);

                if (r != 0) {
                        if (r > 0 && source_r != NULL &&
                            t->type->source != NULL)
                                *source_r = t->type->source(t);
                        return r;
                }
        }
        return 0;
}

int maps_lookup(struct maps *m, const char *key, const char **value_r,
                struct status *st)
{
        return maps_lookup_source(m, key, value_r, NULL, st);
}

size_t maps_count(const struct maps *m)
{
        return m->count;
}

const char *maps_spec(const struct maps *m, size_t i)
{
        return i < m->count ? m->maps[i]->spec : NULL;
}

void maps_free(struct maps **mp)
{
        struct maps *m = *mp;

        if (m == NULL)
                return;
        for (size_t i = 0; i < m->count; i++)
                map_close(&m->maps[i]);
        free(m->maps);
        free(m->folded);
        free(m);
        *mp = NULL;
}

int map_check(const char *spec, int flags, map_diag_fn *diag, void *ctx,
              struct status *st)
{
        struct map *m;
        int ret = map_open(spec, "map", flags, diag, ctx, &m, st);

        map_close(&m);
        return ret;
}
