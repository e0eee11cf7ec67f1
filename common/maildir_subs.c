/* maildir_subs.c - the subscriptions file, in Dovecot's two formats
 * Used by: the imap session (SUBSCRIBE, UNSUBSCRIBE, LSUB, LIST
 * (SUBSCRIBED)) and maildir_folder.c. Version 2, which Dovecot 2.3 writes
 * and so do we, is "V\t2\n\n" and then one name a line with the levels
 * separated by tabs (tab, CR, LF and \001 escaped as \001 + t, r, n, 1);
 * version 1 is one name a line with '.' between levels. Levels are modified
 * UTF-7 either way. Subscriptions are names: deleting or renaming a folder
 * leaves them alone (RFC 3501 6.3.6). The file is replaced under
 * subscriptions.lock. Runs as the mailbox owner. Errors: -1 + status. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "dotlock.h"
#include "maildir.h"
#include "maildir_private.h"
#include "mem.h"
#include "mutf7.h"

#define SUBS_FILE               "subscriptions"
#define SUBS_V2_HEADER          "V\t2\n\n"
#define SUBS_LOCK_TIMEOUT       120
#define SUBS_LOCK_STALE         30
#define SUBS_FILE_MAX           (4 * 1024 * 1024)

/* tab_unescape - Dovecot's tab escaping: \001 followed by 0, 1, t, r, n */
static int tab_unescape(const char *s, size_t len, struct buf *out)
{
        for (size_t i = 0; i < len; i++) {
                if (s[i] != '\001') {
                        buf_putc(out, s[i]);
                        continue;
                }
                if (++i == len)
                        return -1;
                switch (s[i]) {
                case '1': buf_putc(out, '\001'); break;
                case 't': buf_putc(out, '\t'); break;
                case 'r': buf_putc(out, '\r'); break;
                case 'n': buf_putc(out, '\n'); break;
                default: return -1;
                }
        }
        return 0;
}

static void tab_escape(const char *s, struct buf *out)
{
        for (; *s != '\0'; s++) {
                switch (*s) {
                case '\001': buf_puts(out, "\001" "1"); break;
                case '\t': buf_puts(out, "\001t"); break;
                case '\r': buf_puts(out, "\001r"); break;
                case '\n': buf_puts(out, "\001n"); break;
                default: buf_putc(out, *s); break;
                }
        }
}

/* subs_line_name - the UTF-8 name of one file line (v2: levels separated by
 * tabs, tab-escaped; v1: '.'), each level modified UTF-7; new string or
 * NULL if it does not decode */
static char *subs_line_name(const char *line, size_t len, int v2)
{
        struct buf raw, out;
        struct status st;
        char *name = NULL;

        buf_init(&raw, 0);
        buf_init(&out, 0);
        if (v2) {
                const char *p = line, *end = line + len;
                while (p <= end) {
                        const char *tab = memchr(p, '\t', (size_t)(end - p));
                        const char *e = tab ? tab : end;
                        if (p != line)
                                buf_putc(&raw, MAILDIR_SEP);
                        if (tab_unescape(p, (size_t)(e - p), &raw) < 0)
                                goto out;
                        p = e + 1;
                        if (tab == NULL)
                                break;
                }
        } else {
                buf_append(&raw, line, len);
        }
        /* a trailing separator was written by older software */
        if (raw.len > 0 && raw.data[raw.len - 1] == MAILDIR_SEP)
                buf_truncate(&raw, raw.len - 1);
        if (raw.len == 0 || memchr(raw.data, '\0', raw.len) != NULL ||
            mutf7_decode(raw.data, &out) < 0)
                goto out;
        name = maildir_name_normalize(buf_cstr(&out), &st);
out:
        buf_release(&raw);
        buf_release(&out);
        return name;
}

/* subs_name_line - the v2 line for a UTF-8 name; new string or NULL */
static char *subs_name_line(const char *name, struct status *st)
{
        char *norm = maildir_name_normalize(name, st);
        struct buf enc, line;

        if (norm == NULL)
                return NULL;
        buf_init(&enc, 0);
        buf_init(&line, 0);
        if (mutf7_encode(norm, &enc) < 0) {
                free(norm);
                buf_release(&enc);
                status_set(st, STATUS_BAD_ARGS, "folder name is not valid UTF-8");
                return NULL;
        }
        free(norm);
        char *s = enc.data;
        for (;;) {
                char *dot = strchr(s, MAILDIR_SEP);
                if (dot != NULL)
                        *dot = '\0';
                tab_escape(s, &line);
                if (dot == NULL)
                        break;
                buf_putc(&line, '\t');
                s = dot + 1;
        }
        buf_release(&enc);
        return buf_steal(&line);
}

/* read_subs - the file's contents (new string, *len_r) or NULL if missing;
 * -1 with st on trouble */
static int read_subs(const char *path, char **data_r, size_t *len_r,
                     struct status *st)
{
        struct stat sb;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

        *data_r = NULL;
        *len_r = 0;
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return status_set(st, STATUS_LOCAL_IO, "maildir: open %s: %m",
                                  path);
        }
        if (fstat(fd, &sb) < 0 || sb.st_size > SUBS_FILE_MAX) {
                close(fd);
                return status_set(st, STATUS_LOCAL_IO,
                                  "maildir: %s: unreadable or too large", path);
        }
        char *data = xmalloc((size_t)sb.st_size + 1);
        size_t got = 0;
        while (got < (size_t)sb.st_size) {
                ssize_t n = read(fd, data + got, (size_t)sb.st_size - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        close(fd);
        data[got] = '\0';
        *data_r = data;
        *len_r = got;
        return 0;
}

/* each_line - call fn for each line of a subscriptions file's contents */
static void each_line(const char *data, size_t len,
                      void (*fn)(const char *line, size_t len, int v2,
                                 void *ctx),
                      void *ctx)
{
        size_t hlen = strlen(SUBS_V2_HEADER);
        int v2 = len >= hlen && memcmp(data, SUBS_V2_HEADER, hlen) == 0;
        const char *p = data + (v2 ? hlen : 0), *end = data + len;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *e = nl ? nl : end;
                if (e > p)
                        fn(p, (size_t)(e - p), v2, ctx);
                p = e + 1;
        }
}

struct subs_list {
        char **names;
        size_t n, alloc;
};

static void collect_name(const char *line, size_t len, int v2, void *ctx)
{
        struct subs_list *sl = ctx;
        char *name = subs_line_name(line, len, v2);

        if (name == NULL)
                return;
        for (size_t i = 0; i < sl->n; i++) {
                if (strcmp(sl->names[i], name) == 0) {
                        free(name);
                        return;
                }
        }
        if (sl->n == sl->alloc) {
                sl->alloc = sl->alloc ? sl->alloc * 2 : 16;
                sl->names = xrealloc(sl->names, sl->alloc * sizeof(char *));
        }
        sl->names[sl->n++] = name;
}

int maildir_subscriptions(struct maildir *md, char ***names_r,
                          size_t *count_r, struct status *st)
{
        char *path = xasprintf("%s/%s", md->root, SUBS_FILE);
        struct subs_list sl = { NULL, 0, 0 };
        char *data;
        size_t len;

        *names_r = NULL;
        *count_r = 0;
        if (read_subs(path, &data, &len, st) < 0) {
                free(path);
                return -1;
        }
        free(path);
        if (data != NULL)
                each_line(data, len, collect_name, &sl);
        free(data);
        *names_r = sl.names;
        *count_r = sl.n;
        return 0;
}

void maildir_subscriptions_free(char ***namesp, size_t count)
{
        if (namesp == NULL || *namesp == NULL)
                return;
        for (size_t i = 0; i < count; i++)
                free((*namesp)[i]);
        free(*namesp);
        *namesp = NULL;
}

struct subs_rewrite {
        struct buf *out;
        const char *line;       /* the v2 line of the name changed */
        const char *name;       /* its UTF-8 name */
        int found;
        int on;
};

static void rewrite_line(const char *line, size_t len, int v2, void *ctx)
{
        struct subs_rewrite *rw = ctx;
        char *name = subs_line_name(line, len, v2);

        if (name != NULL && strcmp(name, rw->name) == 0) {
                if (rw->found || !rw->on) {
                        free(name);
                        return;         /* dropped, or a duplicate */
                }
                rw->found = 1;
        }
        if (v2 || name == NULL) {
                /* lines we cannot read are kept as they were */
                buf_append(rw->out, line, len);
        } else {
                struct status st;
                char *l = subs_name_line(name, &st);
                buf_puts(rw->out, l != NULL ? l : "");
                free(l);
        }
        buf_putc(rw->out, '\n');
        free(name);
}

int maildir_subscribe(struct maildir *md, const char *name, int on,
                      struct status *st)
{
        char *path = xasprintf("%s/%s", md->root, SUBS_FILE);
        char *norm = maildir_name_normalize(name, st), *line = NULL, *data = NULL;
        struct dotlock *lock = NULL;
        struct buf out;
        size_t len;
        int ret = -1;

        buf_init(&out, 0);
        if (norm == NULL || (line = subs_name_line(norm, st)) == NULL)
                goto out;
        if (dotlock_create(path, SUBS_LOCK_TIMEOUT, SUBS_LOCK_STALE,
                           DOTLOCK_REPLACE, &lock, st) < 0)
                goto out;
        if (read_subs(path, &data, &len, st) < 0)
                goto out;
        struct subs_rewrite rw = { &out, line, norm, 0, on };
        buf_puts(&out, SUBS_V2_HEADER);
        if (data != NULL)
                each_line(data, len, rewrite_line, &rw);
        if (on && !rw.found) {
                buf_puts(&out, line);
                buf_putc(&out, '\n');
        }
        int fd = dotlock_fd(lock);
        if (write(fd, out.data, out.len) != (ssize_t)out.len) {
                status_set(st, maildir_status_errno(errno),
                           "maildir: write %s: %m", dotlock_path(lock));
                goto out;
        }
        ret = dotlock_replace(&lock, st);
out:
        if (lock != NULL)
                dotlock_release(&lock, NULL);
        buf_release(&out);
        free(data);
        free(line);
        free(norm);
        free(path);
        return ret;
}
