/* uidlist.c - Dovecot's dovecot-uidlist file: IMAP UIDs of Maildir files
 * Used by: maildir_box.c, maildir_sync.c, maildir_msg.c and maildir_save.c.
 * Parses tolerantly (a bad record line is dropped and reported, never
 * fatal; only an unusable header makes the list lost) and writes version 3
 * atomically (temp file, fsync, rename, directory fsync). Runs as the
 * mailbox owner. Errors: -1 + status 4.3.0 (4.3.1 when the disk is full). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "mem.h"
#include "uidlist.h"

/* name_hash - eight bytes a step: file names are long and alike */
static uint64_t name_hash(const char *s, size_t len)
{
        const uint64_t k = 0xff51afd7ed558ccdULL;
        uint64_t h = 0x9e3779b97f4a7c15ULL ^ len, w;

        for (; len >= 8; s += 8, len -= 8) {
                memcpy(&w, s, 8);
                h = (h ^ w) * k;
                h ^= h >> 32;
        }
        w = 0;
        memcpy(&w, s, len);
        h = (h ^ w) * k;
        return h ^ (h >> 29);
}

/* rehash_for - the name index again, with room for at least want records
 * (it never shrinks) */
static void rehash_for(struct uidlist *ul, size_t want)
{
        size_t n = ul->nslots > 16 ? ul->nslots : 16;

        if (want < ul->count)
                want = ul->count;
        while (n < want * 2 + 1)
                n *= 2;
        free(ul->slots);
        ul->slots = xcalloc(n, sizeof(*ul->slots));
        ul->nslots = n;
        for (size_t i = 0; i < ul->count; i++) {
                const char *name = ul->recs[i].name;
                size_t h = (size_t)name_hash(name, strlen(name)) & (n - 1);
                while (ul->slots[h] != 0)
                        h = (h + 1) & (n - 1);
                ul->slots[h] = i + 1;
        }
}

static void rehash(struct uidlist *ul)
{
        rehash_for(ul, ul->count);
}

/* find_slot - index of the record named name, or SIZE_MAX */
static size_t find_index(const struct uidlist *ul, const char *name,
                         size_t len)
{
        if (ul->nslots == 0)
                return SIZE_MAX;
        size_t mask = ul->nslots - 1;
        size_t h = (size_t)name_hash(name, len) & mask;

        while (ul->slots[h] != 0) {
                const char *n = ul->recs[ul->slots[h] - 1].name;
                if (strncmp(n, name, len) == 0 && n[len] == '\0')
                        return ul->slots[h] - 1;
                h = (h + 1) & mask;
        }
        return SIZE_MAX;
}

static void random_guid(char out[33])
{
        unsigned char raw[16];
        size_t got = 0;

        while (got < sizeof(raw)) {
                ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
                if (n <= 0) {
                        /* no entropy source: time and pid still make it
                         * unique enough for a mailbox GUID */
                        struct timespec ts;
                        clock_gettime(CLOCK_REALTIME, &ts);
                        uint64_t x = (uint64_t)ts.tv_nsec ^
                                     ((uint64_t)ts.tv_sec << 20) ^
                                     ((uint64_t)getpid() << 44);
                        for (; got < sizeof(raw); got++) {
                                x = x * 6364136223846793005ULL + 1;
                                raw[got] = (unsigned char)(x >> 56);
                        }
                        break;
                }
                got += (size_t)n;
        }
        for (size_t i = 0; i < sizeof(raw); i++)
                snprintf(out + i * 2, 3, "%02x", raw[i]);
}

struct uidlist *uidlist_new(uint32_t uidvalidity)
{
        struct uidlist *ul = xcalloc(1, sizeof(*ul));

        ul->version = 3;
        ul->uidvalidity = uidvalidity;
        ul->next_uid = 1;
        random_guid(ul->guid);
        rehash(ul);
        return ul;
}

void uidlist_free(struct uidlist **ulp)
{
        struct uidlist *ul;

        if (ulp == NULL || *ulp == NULL)
                return;
        ul = *ulp;
        for (size_t i = 0; i < ul->count; i++) {
                free(ul->recs[i].ext);
                free(ul->recs[i].name);
        }
        free(ul->recs);
        free(ul->slots);
        free(ul->hdr_ext);
        free(ul);
        *ulp = NULL;
}

/* parse_u32 - strict decimal of len bytes into *v; 0 or -1 (empty, junk,
 * above max) */
static int parse_u32(const char *s, size_t len, uint32_t max, uint32_t *v)
{
        uint64_t x = 0;

        if (len == 0 || len > 10)
                return -1;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                x = x * 10 + (uint64_t)(s[i] - '0');
        }
        if (x > max)
                return -1;
        *v = (uint32_t)x;
        return 0;
}

static int is_hex32(const char *s, size_t len)
{
        if (len != 32)
                return 0;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                      (c >= 'A' && c <= 'F')))
                        return 0;
        }
        return 1;
}

/* header_field - one v3 header field (len bytes: key letter + value) into
 * *v, *n, ul->guid, or the kept unknown fields; 0 or -1 */
static int header_field(struct uidlist *ul, const char *f, size_t len,
                        uint32_t *v, uint32_t *n, struct buf *ext)
{
        const char *val = f + 1;
        size_t vlen = len - 1;

        switch (f[0]) {
        case 'V':
                return parse_u32(val, vlen, UINT32_MAX, v);
        case 'N':
                return parse_u32(val, vlen, UINT32_MAX, n);
        case 'G':
                if (!is_hex32(val, vlen))
                        return -1;
                for (size_t k = 0; k < 32; k++) {
                        char c = val[k];
                        ul->guid[k] = c >= 'A' && c <= 'F' ?
                                      (char)(c - 'A' + 'a') : c;
                }
                ul->guid[32] = '\0';
                return 0;
        default:
                if (f[0] < 'A' || f[0] > 'Z')
                        return -1;
                if (ext->len > 0)
                        buf_putc(ext, ' ');
                buf_append(ext, f, len);
                return 0;
        }
}

static int parse_header(struct uidlist *ul, const char *line, size_t len,
                        struct buf *err)
{
        uint32_t v = 0, n = 0;

        if (len < 2 || line[1] != ' ') {
                buf_printf(err, "bad header");
                return -1;
        }
        if (line[0] == '1') {
                const char *p = line + 2, *end = line + len;
                const char *sp = memchr(p, ' ', (size_t)(end - p));
                if (sp == NULL ||
                    parse_u32(p, (size_t)(sp - p), UINT32_MAX, &v) < 0 ||
                    parse_u32(sp + 1, (size_t)(end - sp - 1), UINT32_MAX,
                              &n) < 0) {
                        buf_printf(err, "bad version 1 header");
                        return -1;
                }
                ul->version = 1;
        } else if (line[0] == '3') {
                struct buf ext;

                buf_init(&ext, 0);
                ul->version = 3;
                for (size_t i = 2, j; i < len; i = j + 1) {
                        for (j = i; j < len && line[j] != ' '; j++)
                                ;
                        if (j > i &&
                            header_field(ul, line + i, j - i, &v, &n, &ext) < 0) {
                                buf_printf(err, "bad header field %.*s",
                                           (int)(j - i > 40 ? 40 : j - i),
                                           line + i);
                                buf_release(&ext);
                                return -1;
                        }
                }
                if (ext.len > 0)
                        ul->hdr_ext = buf_steal(&ext);
                buf_release(&ext);
        } else {
                buf_printf(err, "unsupported version %c", line[0]);
                return -1;
        }
        if (v == 0 || n == 0) {
                buf_printf(err, "header lacks UIDVALIDITY or next UID");
                return -1;
        }
        ul->uidvalidity = v;
        ul->next_uid = n;
        return 0;
}

static void push_rec(struct uidlist *ul, uint32_t uid, const char *ext,
                     size_t extlen, const char *name, size_t namelen)
{
        if (ul->count == ul->alloc) {
                ul->alloc = ul->alloc ? ul->alloc * 2 : 64;
                ul->recs = xrealloc(ul->recs, ul->alloc * sizeof(*ul->recs));
        }
        struct uidlist_rec *r = &ul->recs[ul->count++];
        r->uid = uid;
        r->ext = extlen > 0 ? xstrndup(ext, extlen) : NULL;
        r->name = xstrndup(name, namelen);
}

/* parse_record - one record line; 0 kept, -1 dropped (err says why) */
static int parse_record(struct uidlist *ul, const char *line, size_t len,
                        uint32_t last_uid, struct buf *err)
{
        const char *sp = memchr(line, ' ', len);
        uint32_t uid;

        if (sp == NULL ||
            parse_u32(line, (size_t)(sp - line), UINT32_MAX - 1, &uid) < 0 ||
            uid == 0) {
                buf_printf(err, "bad UID in \"%.*s\"; ",
                           (int)(len > 60 ? 60 : len), line);
                return -1;
        }
        if (uid <= last_uid) {
                buf_printf(err, "UID %" PRIu32 " not above %" PRIu32 "; ",
                           uid, last_uid);
                return -1;
        }
        const char *p = sp + 1, *end = line + len;
        const char *name;
        struct buf ext;

        buf_init(&ext, 0);
        if (ul->version == 3) {
                for (;;) {
                        while (p < end && *p == ' ')
                                p++;
                        if (p >= end) {
                                buf_printf(err, "UID %" PRIu32
                                           " has no file name; ", uid);
                                buf_release(&ext);
                                return -1;
                        }
                        if (*p == ':') {
                                p++;
                                break;
                        }
                        const char *q = p;
                        while (q < end && *q != ' ')
                                q++;
                        if (*p >= 'A' && *p <= 'Z') {
                                if (ext.len > 0)
                                        buf_putc(&ext, ' ');
                                buf_append(&ext, p, (size_t)(q - p));
                        } else {
                                buf_printf(err, "UID %" PRIu32
                                           ": bad field dropped; ", uid);
                                ul->damaged = 1;
                        }
                        p = q;
                }
        }
        name = p;
        const char *colon = memchr(name, ':', (size_t)(end - name));
        size_t namelen = (size_t)((colon ? colon : end) - name);
        if (namelen == 0 || memchr(name, '/', namelen) != NULL ||
            memchr(name, ' ', namelen) != NULL ||
            memchr(name, '\r', namelen) != NULL) {
                buf_printf(err, "UID %" PRIu32 ": bad file name; ", uid);
                buf_release(&ext);
                return -1;
        }
        size_t old = find_index(ul, name, namelen);
        if (old != SIZE_MAX) {
                /* the same file twice: the later UID wins, as in Dovecot */
                buf_printf(err, "file %.*s listed twice; ", (int)namelen, name);
                ul->damaged = 1;
                free(ul->recs[old].ext);
                free(ul->recs[old].name);
                memmove(&ul->recs[old], &ul->recs[old + 1],
                        (ul->count - old - 1) * sizeof(*ul->recs));
                ul->count--;
                rehash(ul);
        }
        push_rec(ul, uid, ext.data, ext.len, name, namelen);
        buf_release(&ext);
        if (ul->count * 2 + 1 > ul->nslots)
                rehash(ul);
        else {
                size_t mask = ul->nslots - 1;
                size_t h = (size_t)name_hash(name, namelen) & mask;
                while (ul->slots[h] != 0)
                        h = (h + 1) & mask;
                ul->slots[h] = ul->count;
        }
        return 0;
}

int uidlist_parse(const char *data, size_t len, struct uidlist **ul_r,
                  char **error_r)
{
        struct uidlist *ul = xcalloc(1, sizeof(*ul));
        struct buf err;
        const char *p = data, *end = data + len;
        uint32_t last_uid = 0;
        int first = 1;

        *ul_r = NULL;
        *error_r = NULL;
        buf_init(&err, 4096);
        /* a record a line: the index is made once at its final size */
        size_t lines = 0;
        for (const char *q = data; q < end &&
             (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
                lines++;
        rehash_for(ul, lines);
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t llen = (size_t)((nl ? nl : end) - p);
                const char *line = p;
                int complete = nl != NULL;

                p = nl ? nl + 1 : end;
                if (llen > 0 && line[llen - 1] == '\r')
                        llen--;
                if (memchr(line, '\0', llen) != NULL) {
                        if (first) {
                                buf_printf(&err, "NUL in header");
                                goto unusable;
                        }
                        buf_printf(&err, "NUL byte in a line; ");
                        ul->damaged = 1;
                        continue;
                }
                if (first) {
                        first = 0;
                        if (parse_header(ul, line, llen, &err) < 0)
                                goto unusable;
                        continue;
                }
                if (llen == 0)
                        continue;
                if (!complete) {
                        buf_printf(&err, "last line truncated; ");
                        ul->damaged = 1;
                        continue;
                }
                if (parse_record(ul, line, llen, last_uid, &err) < 0) {
                        ul->damaged = 1;
                        continue;
                }
                last_uid = ul->recs[ul->count - 1].uid;
        }
        if (first) {
                buf_printf(&err, "empty file");
                goto unusable;
        }
        if (ul->guid[0] == '\0') {
                /* version 1, or a header without G: give it one, and
                 * write it back at the next chance */
                random_guid(ul->guid);
        }
        if (ul->count > 0 && ul->next_uid <= last_uid)
                ul->next_uid = last_uid + 1;
        *ul_r = ul;
        if (ul->damaged) {
                while (err.len > 0 && (err.data[err.len - 1] == ' ' ||
                                       err.data[err.len - 1] == ';'))
                        buf_truncate(&err, err.len - 1);
                *error_r = buf_steal(&err);
                buf_release(&err);
                return 1;
        }
        buf_release(&err);
        return 0;
unusable:
        *error_r = buf_steal(&err);
        buf_release(&err);
        uidlist_free(&ul);
        return -1;
}

int uidlist_read(const char *path, struct uidlist **ul_r, struct stat *sb_r,
                 char **error_r, struct status *st)
{
        struct stat sb;
        int fd;

        *ul_r = NULL;
        *error_r = NULL;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return status_set(st, STATUS_LOCAL_IO, "uidlist: open %s: %m",
                                  path);
        }
        if (fstat(fd, &sb) < 0) {
                status_set(st, STATUS_LOCAL_IO, "uidlist: fstat %s: %m", path);
                close(fd);
                return -1;
        }
        if (sb_r != NULL)
                *sb_r = sb;
        if ((uint64_t)sb.st_size > UIDLIST_FILE_MAX) {
                close(fd);
                *error_r = xasprintf("file of %lld bytes is too large",
                                     (long long)sb.st_size);
                return 0;
        }
        size_t size = (size_t)sb.st_size, got = 0;
        char *data = xmalloc(size + 1);
        while (got < size) {
                ssize_t n = read(fd, data + got, size - got);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        status_set(st, STATUS_LOCAL_IO, "uidlist: read %s: %m",
                                   path);
                        free(data);
                        close(fd);
                        return -1;
                }
                if (n == 0)
                        break;  /* shrank meanwhile: parse what we have */
                got += (size_t)n;
        }
        close(fd);
        int ret = uidlist_parse(data, got, ul_r, error_r);
        free(data);
        return ret < 0 ? 0 : 1;
}

char *uidlist_format(const struct uidlist *ul, size_t *len_r)
{
        struct buf b;

        buf_init(&b, 0);
        buf_printf(&b, "3 V%" PRIu32 " N%" PRIu32 " G%s", ul->uidvalidity,
                   ul->next_uid, ul->guid);
        if (ul->hdr_ext != NULL)
                buf_printf(&b, " %s", ul->hdr_ext);
        buf_putc(&b, '\n');
        for (size_t i = 0; i < ul->count; i++) {
                const struct uidlist_rec *r = &ul->recs[i];
                buf_printf(&b, "%" PRIu32, r->uid);
                if (r->ext != NULL)
                        buf_printf(&b, " %s", r->ext);
                buf_printf(&b, " :%s\n", r->name);
        }
        *len_r = b.len;
        return buf_steal(&b);
}

/* fsync_dir - make a rename in dir durable */
static int fsync_dir(const char *path, struct status *st)
{
        char *dir = xstrdup(path);
        char *slash = strrchr(dir, '/');
        int fd, ret = 0;

        if (slash == NULL) {
                free(dir);
                dir = xstrdup(".");
        } else if (slash == dir) {
                slash[1] = '\0';
        } else {
                *slash = '\0';
        }
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                ret = status_set(st, STATUS_LOCAL_IO, "uidlist: fsync %s: %m",
                                 dir);
        if (fd >= 0)
                close(fd);
        free(dir);
        return ret;
}

int uidlist_write(const struct uidlist *ul, const char *path,
                  struct status *st)
{
        char *tmp = xasprintf("%s.tmp", path);
        size_t len, off = 0;
        char *data = uidlist_format(ul, &len);
        int fd, ret = -1;

        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                  0600);
        if (fd < 0) {
                status_set(st, errno == ENOSPC ? STATUS_NO_SPACE :
                           STATUS_LOCAL_IO, "uidlist: create %s: %m", tmp);
                goto out;
        }
        while (off < len) {
                ssize_t n = write(fd, data + off, len - off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        status_set(st, errno == ENOSPC || errno == EDQUOT ?
                                   STATUS_NO_SPACE : STATUS_LOCAL_IO,
                                   "uidlist: write %s: %m", tmp);
                        goto out_unlink;
                }
                off += (size_t)n;
        }
        if (fdatasync(fd) < 0) {
                status_set(st, errno == ENOSPC ? STATUS_NO_SPACE :
                           STATUS_LOCAL_IO, "uidlist: fsync %s: %m", tmp);
                goto out_unlink;
        }
        if (rename(tmp, path) < 0) {
                status_set(st, STATUS_LOCAL_IO, "uidlist: rename %s: %m", tmp);
                goto out_unlink;
        }
        ret = fsync_dir(path, st);
        goto out;
out_unlink:
        unlink(tmp);
out:
        if (fd >= 0)
                close(fd);
        free(data);
        free(tmp);
        return ret;
}

const struct uidlist_rec *uidlist_lookup(const struct uidlist *ul,
                                         const char *name, size_t len)
{
        size_t i = find_index(ul, name, len);

        return i == SIZE_MAX ? NULL : &ul->recs[i];
}

const struct uidlist_rec *uidlist_lookup_uid(const struct uidlist *ul,
                                             uint32_t uid)
{
        size_t lo = 0, hi = ul->count;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (ul->recs[mid].uid == uid)
                        return &ul->recs[mid];
                if (ul->recs[mid].uid < uid)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

uint32_t uidlist_add(struct uidlist *ul, const char *name, size_t len,
                     const char *ext)
{
        size_t i = find_index(ul, name, len);

        if (i != SIZE_MAX)
                return ul->recs[i].uid;
        if (ul->next_uid == 0 || ul->next_uid >= UINT32_MAX)
                return 0;
        uint32_t uid = ul->next_uid++;
        push_rec(ul, uid, ext, ext ? strlen(ext) : 0, name, len);
        if (ul->count * 2 + 1 > ul->nslots) {
                rehash(ul);
        } else {
                size_t mask = ul->nslots - 1;
                size_t h = (size_t)name_hash(name, len) & mask;
                while (ul->slots[h] != 0)
                        h = (h + 1) & mask;
                ul->slots[h] = ul->count;
        }
        return uid;
}

void uidlist_retain(struct uidlist *ul, const unsigned char *keep)
{
        size_t j = 0;

        for (size_t i = 0; i < ul->count; i++) {
                if (keep[i]) {
                        ul->recs[j++] = ul->recs[i];
                } else {
                        free(ul->recs[i].ext);
                        free(ul->recs[i].name);
                }
        }
        ul->count = j;
        rehash(ul);
}

int uidlist_rec_ext(const struct uidlist_rec *rec, char key,
                    uint64_t *value_r)
{
        const char *p = rec->ext;

        while (p != NULL && *p != '\0') {
                if (*p == key) {
                        uint64_t v = 0;
                        const char *q = p + 1;
                        if (*q < '0' || *q > '9')
                                return 0;
                        for (; *q >= '0' && *q <= '9'; q++) {
                                uint64_t d = (uint64_t)(*q - '0');
                                if (v > (UINT64_MAX - d) / 10)
                                        return 0;
                                v = v * 10 + d;
                        }
                        if (*q != ' ' && *q != '\0')
                                return 0;
                        *value_r = v;
                        return 1;
                }
                p = strchr(p, ' ');
                if (p != NULL)
                        p++;
        }
        return 0;
}

void uidlist_set_ext(struct uidlist *ul, size_t idx, char key, uint64_t value)
{
        struct uidlist_rec *r = &ul->recs[idx];
        struct buf b;
        const char *p = r->ext;

        buf_init(&b, 0);
        while (p != NULL && *p != '\0') {
                const char *q = strchr(p, ' ');
                size_t n = q ? (size_t)(q - p) : strlen(p);
                if (*p != key) {
                        if (b.len > 0)
                                buf_putc(&b, ' ');
                        buf_append(&b, p, n);
                }
                p = q ? q + 1 : NULL;
        }
        if (b.len > 0)
                buf_putc(&b, ' ');
        buf_printf(&b, "%c%" PRIu64, key, value);
        free(r->ext);
        r->ext = buf_steal(&b);
}

int uidlist_hdr_has(const struct uidlist *ul, char key)
{
        const char *p = ul->hdr_ext;

        while (p != NULL && *p != '\0') {
                if (*p == key)
                        return 1;
                p = strchr(p, ' ');
                if (p != NULL)
                        p++;
        }
        return 0;
}

void uidlist_hdr_set(struct uidlist *ul, char key, const char *value)
{
        struct buf b;
        const char *p = ul->hdr_ext;

        buf_init(&b, 0);
        while (p != NULL && *p != '\0') {
                const char *q = strchr(p, ' ');
                size_t n = q ? (size_t)(q - p) : strlen(p);
                if (*p != key && n > 0) {
                        if (b.len > 0)
                                buf_putc(&b, ' ');
                        buf_append(&b, p, n);
                }
                p = q ? q + 1 : NULL;
        }
        if (b.len > 0)
                buf_putc(&b, ' ');
        buf_printf(&b, "%c%s", key, value);
        free(ul->hdr_ext);
        ul->hdr_ext = buf_steal(&b);
}
