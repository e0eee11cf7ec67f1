/* map_file.c - file-backed tables: reading, reloading; hash:, btree:,
 * texthash:
 * Used by: map.c, map_cidr.c (and later file types). Postfix keeps hash:
 * and btree: tables in a .db file that postmap compiles from the text;
 * Yubin reads the text itself (the name is the text file, e.g.
 * hash:/etc/aliases) into a hash table, so there is no compile step to
 * forget and nothing to go stale. texthash: is Postfix's name for exactly
 * this. With MAPS_ALIASES the file is in aliases(5) form.
 * Before a look-up, at most once a second, the file is stat()ed; when its
 * device, inode, size or mtime changed it is read again. A new version that
 * has problems is not used: the old contents stay and an error is logged
 * (once per change), so a half-edited file never loses mail. */
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "fileio.h"
#include "log.h"
#include "map_driver.h"
#include "mem.h"

struct map_file {
        const struct map_file_format *fmt;
        void *content;
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime;
        time_t checked;         /* last stat(), seconds */
};

static void remember(struct map_file *f, const struct stat *sb)
{
        f->dev = sb->st_dev;
        f->ino = sb->st_ino;
        f->size = sb->st_size;
        f->mtime = sb->st_mtim;
}

static int changed(const struct map_file *f, const struct stat *sb)
{
        return f->dev != sb->st_dev || f->ino != sb->st_ino ||
               f->size != sb->st_size ||
               f->mtime.tv_sec != sb->st_mtim.tv_sec ||
               f->mtime.tv_nsec != sb->st_mtim.tv_nsec;
}

/* load - read and parse m->name; the stat of what was read goes to *sb_r.
 * Returns the problem count (the content in *content_r), or -1 with st. */
static int load(struct map *m, const struct map_file_format *fmt,
                map_diag_fn *diag, void *ctx, void **content_r,
                struct stat *sb_r, struct status *st)
{
        struct buf text;
        int fd, ret;

        *content_r = NULL;
        fd = open(m->name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return status_set(st, STATUS_CONFIG_TEMP,
                                  "%s: %s: open %s: %m", m->param, m->spec,
                                  m->name);
        if (fstat(fd, sb_r) < 0) {
                status_set(st, STATUS_CONFIG_TEMP, "%s: %s: stat: %m",
                           m->param, m->spec);
                close(fd);
                return -1;
        }
        if (!S_ISREG(sb_r->st_mode)) {
                close(fd);
                return status_set(st, STATUS_CONFIG_TEMP,
                                  "%s: %s: not a regular file", m->param,
                                  m->spec);
        }
        buf_init(&text, 0);
        if (fileio_read_fd(fd, m->name, MAP_FILE_MAX, &text, st) < 0) {
                close(fd);
                buf_release(&text);
                return -1;
        }
        close(fd);
        ret = fmt->parse(m, buf_cstr(&text), text.len, diag, ctx, content_r,
                         st);
        buf_release(&text);
        if (ret < 0 && diag == NULL &&
            strncmp(st->text, m->name, strlen(m->name)) == 0) {
                /* a bad line: say which parameter named the file */
                char line[STATUS_TEXT_MAX], code[sizeof(st->code)];

                snprintf(line, sizeof(line), "%s", st->text);
                snprintf(code, sizeof(code), "%s", st->code);
                status_set(st, code, "%s: %s", m->param, line);
        }
        return ret;
}

int map_file_open(struct map *m, const struct map_file_format *fmt,
                  map_diag_fn *diag, void *ctx, struct status *st)
{
        struct map_file *f;
        struct stat sb;
        void *content;
        int ret;

        if (m->name[0] != '/')
                return status_set(st, STATUS_CONFIG_TEMP,
                                  "%s: %s: the table name must be an "
                                  "absolute path", m->param, m->spec);
        ret = load(m, fmt, diag, ctx, &content, &sb, st);
        if (ret < 0)
                return -1;
        f = xcalloc(1, sizeof(*f));
        f->fmt = fmt;
        f->content = content;
        remember(f, &sb);
        f->checked = time(NULL);
        m->data = f;
        return ret;
}

void *map_file_content(struct map *m)
{
        struct map_file *f = m->data;
        time_t now = time(NULL);
        struct status st;
        struct stat sb;
        void *content;

        if (now == f->checked)
                return f->content;
        f->checked = now;
        if (stat(m->name, &sb) < 0 || !changed(f, &sb))
                return f->content;
        if (load(m, f->fmt, NULL, NULL, &content, &sb, &st) < 0) {
                log_error("%s; keeping the table as it was", st.text);
                remember(f, &sb);       /* once per change */
                return f->content;
        }
        log_info("%s: %s changed, reloaded", m->param, m->name);
        f->fmt->free(f->content);
        f->content = content;
        remember(f, &sb);
        return f->content;
}

const char *map_file_source(const struct map *m)
{
        return m->name;
}

void map_file_close(struct map *m)
{
        struct map_file *f = m->data;

        if (f == NULL)
                return;
        f->fmt->free(f->content);
        free(f);
        m->data = NULL;
}

/* --- hash:, btree:, texthash: --- */

static int text_parse(struct map *m, const char *text, size_t len,
                      map_diag_fn *diag, void *ctx, void **content_r,
                      struct status *st)
{
        struct map_table *t = map_table_new();
        int ret = map_text_load(t, m->name, text, len, m->flags, 1, diag, ctx,
                                st);

        if (ret < 0)
                map_table_free(&t);
        *content_r = t;
        return ret;
}

static void text_free(void *content)
{
        struct map_table *t = content;

        map_table_free(&t);
}

static const struct map_file_format text_format = { text_parse, text_free };

static int text_open(struct map *m, map_diag_fn *diag, void *ctx,
                     struct status *st)
{
        return map_file_open(m, &text_format, diag, ctx, st);
}

static int text_lookup(struct map *m, const char *key, const char **value_r,
                       struct status *st)
{
        *value_r = map_table_get(map_file_content(m), key);
        return *value_r != NULL;
}

const struct map_type map_type_hash = {
        "hash", text_open, text_lookup, map_file_source, map_file_close, 1,
};
const struct map_type map_type_btree = {
        "btree", text_open, text_lookup, map_file_source, map_file_close, 1,
};
const struct map_type map_type_texthash = {
        "texthash", text_open, text_lookup, map_file_source, map_file_close,
        1,
};
