/* map_table.c - the in-memory string table behind file and inline tables,
 * and the loader of postmap's text format
 * Used by: map_file.c (hash:, btree:, texthash:), map_inline.c (inline:).
 * Open addressing with linear probing over a power-of-two array, FNV-1a
 * hashes; each entry is one allocation "key\0value\0". Loading keeps the
 * first of duplicate keys, as postmap does, and warns. Reads files an
 * administrator wrote; a bad line is a problem reported as "path:line". */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "alias_file.h"
#include "cfg_lines.h"
#include "log.h"
#include "map_driver.h"
#include "mem.h"

struct map_table {
        char **slots;           /* "key\0value\0" or NULL */
        size_t size;            /* a power of two */
        size_t count;
};

static uint64_t hash_str(const char *s)
{
        uint64_t h = 1469598103934665603ULL;

        for (; *s != '\0'; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211ULL;
        return h;
}

struct map_table *map_table_new(void)
{
        struct map_table *t = xcalloc(1, sizeof(*t));

        t->size = 16;
        t->slots = xcalloc(t->size, sizeof(*t->slots));
        return t;
}

void map_table_free(struct map_table **tp)
{
        struct map_table *t = *tp;

        if (t == NULL)
                return;
        for (size_t i = 0; i < t->size; i++)
                free(t->slots[i]);
        free(t->slots);
        free(t);
        *tp = NULL;
}

/* slot_find - the slot that holds key, or the empty one where it goes */
static size_t slot_find(const struct map_table *t, const char *key)
{
        size_t mask = t->size - 1, i = (size_t)hash_str(key) & mask;

        while (t->slots[i] != NULL && strcmp(t->slots[i], key) != 0)
                i = (i + 1) & mask;
        return i;
}

static void grow(struct map_table *t)
{
        char **old = t->slots;
        size_t old_size = t->size;

        t->size *= 2;
        t->slots = xcalloc(t->size, sizeof(*t->slots));
        for (size_t i = 0; i < old_size; i++)
                if (old[i] != NULL)
                        t->slots[slot_find(t, old[i])] = old[i];
        free(old);
}

int map_table_add(struct map_table *t, const char *key, const char *value)
{
        size_t klen = strlen(key), vlen = strlen(value), i;
        char *e;

        if ((t->count + 1) * 4 > t->size * 3)
                grow(t);
        i = slot_find(t, key);
        if (t->slots[i] != NULL)
                return 0;
        e = xmalloc(klen + vlen + 2);
        memcpy(e, key, klen + 1);
        memcpy(e + klen + 1, value, vlen + 1);
        t->slots[i] = e;
        t->count++;
        return 1;
}

const char *map_table_get(const struct map_table *t, const char *key)
{
        const char *e = t->slots[slot_find(t, key)];

        return e != NULL ? e + strlen(e) + 1 : NULL;
}

size_t map_table_count(const struct map_table *t)
{
        return t->count;
}

struct load_ctx {
        struct map_table *t;
        const char *path;
        int fold;
        map_diag_fn *diag;      /* the caller's, and its context */
        void *ctx;
};

/* add_entry - one key and value; a duplicate keeps the first (warning) */
static int add_entry(struct load_ctx *k, const char *key, const char *value,
                     int line)
{
        char *folded = k->fold ? addr_fold(key) : NULL;

        if (!map_table_add(k->t, folded != NULL ? folded : key, value))
                log_warn("%s:%d: duplicate entry \"%s\" ignored", k->path,
                         line, key);
        free(folded);
        return 0;
}

static int alias_entry(void *ctx, const char *name, const char *value,
                       int line)
{
        return add_entry(ctx, name, value, line);
}

static void alias_diag(void *ctx, const char *text)
{
        struct load_ctx *k = ctx;

        k->diag(k->ctx, text);
}

int map_text_load(struct map_table *t, const char *path, const char *text,
                  size_t len, int flags, int fold, map_diag_fn *diag,
                  void *ctx, struct status *st)
{
        struct load_ctx k = { t, path, fold, diag, ctx };
        struct cfg_lines r;
        const char *line, *error;
        size_t line_len;
        int lineno, ret, problems = 0;

        if ((flags & MAPS_ALIASES) != 0)
                return alias_file_parse(path, text, len, alias_entry,
                                        diag != NULL ? alias_diag : NULL, &k,
                                        st);
        cfg_lines_init(&r, text, len, "an entry");
        while ((ret = cfg_lines_next(&r, &line, &line_len, &lineno,
                                     &error)) != 0) {
                size_t klen;

                if (ret < 0) {
                        problems++;
                        if (map_diag(diag, ctx, st, "%s:%d: %s", path,
                                     lineno, error) < 0)
                                goto fail;
                        continue;
                }
                /* postmap: key, white space, value */
                klen = strcspn(line, " \t");
                if (line[klen] == '\0') {
                        problems++;
                        if (map_diag(diag, ctx, st, "%s:%d: expected \"key "
                                     "whitespace value\"", path, lineno) < 0)
                                goto fail;
                        continue;
                }
                if (klen > MAP_KEY_MAX) {
                        problems++;
                        if (map_diag(diag, ctx, st, "%s:%d: key longer than "
                                     "%d bytes", path, lineno,
                                     MAP_KEY_MAX) < 0)
                                goto fail;
                        continue;
                }
                char *key = xstrndup(line, klen);
                const char *value = line + klen;

                while (*value == ' ' || *value == '\t')
                        value++;
                add_entry(&k, key, value, lineno);
                free(key);
        }
        cfg_lines_release(&r);
        return problems;
fail:
        cfg_lines_release(&r);
        return -1;
}
