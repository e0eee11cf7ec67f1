/* auth_map.c - a string-keyed hash table for authd's in-memory state
 * Used by: authd's front end only (one thread). Chained buckets, FNV-1a
 * hashing with a per-map random seed so that a client choosing addresses
 * or ids cannot pile them into one bucket. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "auth_map.h"
#include "mem.h"

#define MAP_FIRST_SIZE 64

struct map_entry {
        struct map_entry *next;
        uint64_t hash;
        void *value;
        char key[];
};

struct auth_map {
        struct map_entry **buckets;
        size_t size;            /* a power of two */
        size_t count;
        uint64_t seed;
};

static uint64_t map_hash(const struct auth_map *m, const char *key)
{
        uint64_t h = 0xcbf29ce484222325ULL ^ m->seed;

        for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
                h ^= *p;
                h *= 0x100000001b3ULL;
        }
        /* spread the high bits down: the index uses the low ones */
        h ^= h >> 29;
        return h;
}

struct auth_map *auth_map_new(void)
{
        struct auth_map *m = xcalloc(1, sizeof(*m));

        m->size = MAP_FIRST_SIZE;
        m->buckets = xcalloc(m->size, sizeof(*m->buckets));
        if (getrandom(&m->seed, sizeof(m->seed), GRND_NONBLOCK) !=
            (ssize_t)sizeof(m->seed))
                m->seed = (uint64_t)(uintptr_t)m;
        return m;
}

void auth_map_free(struct auth_map **mp)
{
        struct auth_map *m;

        if (mp == NULL || *mp == NULL)
                return;
        m = *mp;
        for (size_t i = 0; i < m->size; i++) {
                struct map_entry *e = m->buckets[i];

                while (e != NULL) {
                        struct map_entry *next = e->next;

                        free(e);
                        e = next;
                }
        }
        free(m->buckets);
        free(m);
        *mp = NULL;
}

static struct map_entry **map_find(const struct auth_map *m, const char *key,
                                   uint64_t h)
{
        struct map_entry **ep = &m->buckets[h & (m->size - 1)];

        for (; *ep != NULL; ep = &(*ep)->next)
                if ((*ep)->hash == h && strcmp((*ep)->key, key) == 0)
                        return ep;
        return ep;
}

void *auth_map_get(const struct auth_map *m, const char *key)
{
        struct map_entry **ep = map_find(m, key, map_hash(m, key));

        return *ep != NULL ? (*ep)->value : NULL;
}

static void map_grow(struct auth_map *m)
{
        size_t size = m->size * 2;
        struct map_entry **b = xcalloc(size, sizeof(*b));

        for (size_t i = 0; i < m->size; i++) {
                struct map_entry *e = m->buckets[i];

                while (e != NULL) {
                        struct map_entry *next = e->next;
                        size_t j = e->hash & (size - 1);

                        e->next = b[j];
                        b[j] = e;
                        e = next;
                }
        }
        free(m->buckets);
        m->buckets = b;
        m->size = size;
}

void *auth_map_put(struct auth_map *m, const char *key, void *value)
{
        uint64_t h = map_hash(m, key);
        struct map_entry **ep = map_find(m, key, h);
        struct map_entry *e;
        size_t len;

        if (*ep != NULL) {
                void *old = (*ep)->value;

                (*ep)->value = value;
                return old;
        }
        len = strlen(key);
        e = xmalloc(sizeof(*e) + len + 1);
        memcpy(e->key, key, len + 1);
        e->hash = h;
        e->value = value;
        e->next = NULL;
        *ep = e;
        if (++m->count > m->size)
                map_grow(m);
        return NULL;
}

void *auth_map_del(struct auth_map *m, const char *key)
{
        struct map_entry **ep = map_find(m, key, map_hash(m, key));
        struct map_entry *e = *ep;
        void *value;

        if (e == NULL)
                return NULL;
        *ep = e->next;
        value = e->value;
        free(e);
        m->count--;
        return value;
}

size_t auth_map_count(const struct auth_map *m)
{
        return m->count;
}

void auth_map_each(struct auth_map *m,
                   int (*fn)(const char *key, void *value, void *ctx),
                   void *ctx)
{
        for (size_t i = 0; i < m->size; i++) {
                struct map_entry **ep = &m->buckets[i];

                while (*ep != NULL) {
                        struct map_entry *e = *ep;

                        if (fn(e->key, e->value, ctx)) {
                                *ep = e->next;
                                free(e);
                                m->count--;
                        } else {
                                ep = &e->next;
                        }
                }
        }
}
