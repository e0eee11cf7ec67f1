/* map_driver.h - what a lookup table type implements
 * Used by: map.c (the type table and the generic code) and the drivers
 * map_file.c (hash:, btree:, texthash:), map_inline.c (inline:, static:,
 * unix:), map_cidr.c (cidr:), map_regexp.c (regexp: and the pattern
 * rules pcre: shares), map_pcre.c (pcre:), map_sqlite.c (sqlite:). A new
 * type is one more driver file plus one row in map.c's map_types[]. Not
 * for callers of tables: they use map.h. */
#ifndef YUBIN_MAP_DRIVER_H
#define YUBIN_MAP_DRIVER_H

#include <stddef.h>

#include "buf.h"
#include "map.h"
#include "status.h"

struct map_type;

/* One open table. */
struct map {
        const struct map_type *type;
        char *spec;             /* "type:name" as written */
        char *name;             /* what follows "type:" */
        const char *param;      /* main.cf parameter, for messages */
        int flags;              /* MAPS_* */
        void *data;             /* the driver's */
        struct buf value;       /* scratch for drivers that build values */
};

/* diag callback: one problem, "path:line: text" */
typedef void map_diag_fn(void *ctx, const char *text);

struct map_type {
        const char *name;       /* "hash" */
        /* open - read the table named m->name into m->data. Each problem
         * goes to diag (reading goes on) and the count is returned; with
         * diag NULL the first problem is an error. Returns the problem
         * count, or -1 with st (4.3.5) when the table cannot be used. */
        int (*open)(struct map *m, map_diag_fn *diag, void *ctx,
                    struct status *st);
        /* lookup - key is folded already when fold is set; 1 with
         * *value_r (valid until the next call on m), 0, or -1 with st */
        int (*lookup)(struct map *m, const char *key, const char **value_r,
                      struct status *st);
        /* source - the file a value came from, or NULL */
        const char *(*source)(const struct map *m);
        void (*close)(struct map *m);
        int fold;               /* keys are compared in lowercase */
};

extern const struct map_type map_type_hash, map_type_btree,
        map_type_texthash, map_type_inline, map_type_static, map_type_unix,
        map_type_cidr, map_type_regexp, map_type_pcre, map_type_sqlite;

/* map_diag - report one problem: to diag when there is one (returns 0), or
 * into st as the error (returns -1) */
int map_diag(map_diag_fn *diag, void *ctx, struct status *st,
             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* File-backed types (hash:, cidr:, later regexp: ...) share map_file.c's
 * reading and reloading: they give it a parser for the file's text and a
 * destructor for what the parser built. */
struct map_file_format {
        /* parse - build *content_r from len bytes of text (path m->name);
         * problems as for open() */
        int (*parse)(struct map *m, const char *text, size_t len,
                     map_diag_fn *diag, void *ctx, void **content_r,
                     struct status *st);
        void (*free)(void *content);
};
/* map_file_open - read m->name (an absolute path) with fmt; as open() */
int map_file_open(struct map *m, const struct map_file_format *fmt,
                  map_diag_fn *diag, void *ctx, struct status *st);
/* map_file_content - what fmt->parse built from the current file (read
 * again first if it changed, at most once a second) */
void *map_file_content(struct map *m);
/* map_file_source, map_file_close - for the type's source and close */
const char *map_file_source(const struct map *m);
void map_file_close(struct map *m);

/* Pattern tables (map_regexp.c): the rule format of regexp: and pcre:,
 * with the expression engine each driver brings. */
struct map_pattern_engine {
        const char *name;               /* "regexp" */
        const char *flag_letters;       /* the flags a rule may carry */
        /* compile - pattern with flags; the object (free with free_re),
         * its group count in *groups_r; NULL with a message in err */
        void *(*compile)(const char *pattern, const char *flags,
                         int *groups_r, char *err, size_t errsize);
        /* match - 1 with ov[2g], ov[2g+1] the offsets of group g (-1:
         * unset) for g < nov, 0 no match, -1 the engine failed */
        int (*match)(void *re, const char *subject, size_t len, long *ov,
                     int nov);
        void (*free_re)(void *re);
};
/* map_pattern_open - a file (through fmt, whose parse calls
 * map_pattern_parse) or inline "{ {rule}, ... }" table; as open() */
int map_pattern_open(struct map *m, const struct map_file_format *fmt,
                     const struct map_pattern_engine *e, map_diag_fn *diag,
                     void *ctx, struct status *st);
/* map_pattern_parse - rules from text (a file, or the inside of the
 * braces); problems as for open() */
int map_pattern_parse(struct map *m, const struct map_pattern_engine *e,
                      const char *text, size_t len, map_diag_fn *diag,
                      void *ctx, void **content_r, struct status *st);
void map_pattern_content_free(void *content);
/* map_pattern_lookup, map_pattern_source, map_pattern_close - the
 * type's lookup, source and close */
int map_pattern_lookup(struct map *m, const char *key, const char **value_r,
                       struct status *st);
const char *map_pattern_source(const struct map *m);
void map_pattern_close(struct map *m);

/* In-memory string table: keys and values are copied in; used by the file
 * types and inline:. */
struct map_table;
struct map_table *map_table_new(void);
void map_table_free(struct map_table **t);
/* map_table_add - 1 added, 0 the key was there (the first value stays) */
int map_table_add(struct map_table *t, const char *key, const char *value);
/* map_table_get - the value (borrowed from t) or NULL */
const char *map_table_get(const struct map_table *t, const char *key);
size_t map_table_count(const struct map_table *t);

/* map_text_load - parse postmap's text format (or, with MAPS_ALIASES in
 * flags, aliases(5)) of len bytes at text into t, keys folded when fold;
 * path names the file in messages. Problems as for open(). */
int map_text_load(struct map_table *t, const char *path, const char *text,
                  size_t len, int flags, int fold, map_diag_fn *diag,
                  void *ctx, struct status *st);

#endif
