/* auth_map.h - a string-keyed hash table for authd's in-memory state
 * Used by: auth_pbs.c (grants by client address), auth_throttle.c
 * (failure counts by client address), auth_token.c (tokens), auth_conn.c
 * (open request ids). Keys are copied; values are the caller's pointers.
 * Grows by doubling; a map never shrinks below its first size. */
#ifndef YUBIN_AUTH_MAP_H
#define YUBIN_AUTH_MAP_H

#include <stddef.h>

struct auth_map;

/* auth_map_new - an empty map; free with auth_map_free() */
struct auth_map *auth_map_new(void);
/* auth_map_free - free *mp and its keys (not the values: empty it first
 * with auth_map_each() when they need freeing); clears *mp; accepts NULL */
void auth_map_free(struct auth_map **mp);

/* auth_map_get - the value for key, or NULL */
void *auth_map_get(const struct auth_map *m, const char *key);
/* auth_map_put - set key (copied) to value (borrowed, not NULL); returns
 * the value it replaces, or NULL */
void *auth_map_put(struct auth_map *m, const char *key, void *value);
/* auth_map_del - remove key; returns its value, or NULL if absent */
void *auth_map_del(struct auth_map *m, const char *key);
/* auth_map_count - how many keys */
size_t auth_map_count(const struct auth_map *m);

/* auth_map_each - call fn(key, value, ctx) for every entry, in no
 * particular order; when fn returns 1 the entry is removed (fn frees the
 * value if it must). key is valid during the call only. */
void auth_map_each(struct auth_map *m,
                   int (*fn)(const char *key, void *value, void *ctx),
                   void *ctx);

#endif
