/* maildir_cache.c - the folder cache, yubin-cache
 * Used by: maildir_msg.c (sizes, dates and header offsets without a file
 * read), maildir_sync.c and maildir_box.c (dropping and writing it), the
 * imap session through maildir_msg_cached_header (ENVELOPE, HEADER.FIELDS).
 * One entry per message, keyed by UID and base file name, made the first
 * time the message is asked about. The file is a checksummed binary image
 * of the entries; anything wrong with it (short, foreign, damaged, another
 * UIDVALIDITY) drops it, and the entries are made again from the messages.
 * Written with temp file + rename and no fsync: losing it costs only time.
 * Runs as the mailbox owner. Errors: -1 + status 4.3.x. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"
#include "dotlock.h"
#include "log.h"
#include "maildir.h"
#include "maildir_private.h"
#include "mem.h"

/* The file, all numbers little-endian:
 *   header (32 bytes): "YBNCACHE", u32 version, u32 UIDVALIDITY, u32 entry
 *     count, u32 body length, u32 CRC-32 of the body, u32 CRC-32 of the
 *     28 bytes before it
 *   body: entries in increasing UID order, each
 *     u32 uid, u32 overflow (bit i: field i was too long to keep),
 *     u64 size, u64 vsize, u64 header size, u64 header vsize, i64 mtime,
 *     u16 name length, u16 field lines, u32 field bytes, the base name,
 *     then per field: u8 field index, u32 length, the field's lines.
 * The field index is a position in cache_fields[]: changing that table
 * means a new version. */
#define CACHE_MAGIC             "YBNCACHE"
#define CACHE_VERSION           1
#define CACHE_HDR_SIZE          32
#define CACHE_ENTRY_FIXED       56
#define CACHE_FIELD_HDR         5
/* larger files are taken for corrupt */
#define CACHE_FILE_MAX          (512UL * 1024 * 1024)
#define CACHE_NAME_MAX          1024

static const char *const cache_fields[] = {
        "Date", "Subject", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
        "Message-ID", "In-Reply-To", "References", "Content-Type",
        "Content-Transfer-Encoding", "MIME-Version", "List-Id", "Priority",
        "X-Priority", "Importance", "Newsgroups",
};
#define NFIELDS (sizeof(cache_fields) / sizeof(cache_fields[0]))

struct cache_entry {
        uint32_t uid;
        uint32_t overflow;      /* bit i: cache_fields[i] not kept */
        uint64_t size, vsize, hdr_size, hdr_vsize;
        int64_t mtime;
        char *name;             /* base file name, name_len bytes */
        unsigned char *fields;  /* [u8 index][u32 length][lines]... */
        uint32_t fields_len;
        uint16_t nfields;
        uint16_t name_len;
        int borrowed;           /* name and fields are in a read file's
                                 * image (the cache's backing), not owned */
};

struct maildir_cache {
        uint32_t uidvalidity;
        struct cache_entry *ents;       /* increasing uid */
        size_t count, alloc;
        size_t fresh;           /* entries made since the file was written */
        struct stat sb;         /* the file as last read or written */
        int sb_known;
        char **backing;         /* file images entries were parsed in */
        size_t nbacking;
};

static int field_index(const char *name, size_t len)
{
        if (len == 0)
                return -1;
        for (size_t i = 0; i < NFIELDS; i++) {
                /* every name starts with a letter: a cheap first look */
                if ((cache_fields[i][0] | 0x20) != (name[0] | 0x20))
                        continue;
                if (strlen(cache_fields[i]) == len &&
                    strncasecmp(cache_fields[i], name, len) == 0)
                        return (int)i;
        }
        return -1;
}

int maildir_cache_field(const char *name)
{
        return field_index(name, strlen(name)) >= 0;
}

/* field_next - the next field of hdr[0..len) from *off: its lines
 * [*start_r, *end_r) and the length of its name; 0 at the blank line or
 * the end. Lines without a colon are skipped. */
static int field_next(const char *hdr, size_t len, size_t *off,
                      size_t *start_r, size_t *end_r, size_t *name_len_r)
{
        size_t p = *off;

        while (p < len) {
                if (hdr[p] == '\n' ||
                    (hdr[p] == '\r' && p + 1 < len && hdr[p + 1] == '\n'))
                        break;
                size_t start = p;
                const char *nl = memchr(hdr + p, '\n', len - p);
                size_t first_end = nl != NULL ? (size_t)(nl - hdr) + 1 : len;
                p = first_end;
                /* continuation lines start with a blank */
                while (p < len && (hdr[p] == ' ' || hdr[p] == '\t')) {
                        nl = memchr(hdr + p, '\n', len - p);
                        p = nl != NULL ? (size_t)(nl - hdr) + 1 : len;
                }
                const char *colon = memchr(hdr + start, ':',
                                           first_end - start);
                if (colon == NULL)
                        continue;
                size_t n = (size_t)(colon - (hdr + start));
                while (n > 0 && (hdr[start + n - 1] == ' ' ||
                                 hdr[start + n - 1] == '\t'))
                        n--;
                *start_r = start;
                *end_r = p;
                *name_len_r = n;
                *off = p;
                return 1;
        }
        *off = len;
        return 0;
}

static void entry_release(struct cache_entry *e)
{
        if (!e->borrowed) {
                free(e->name);
                free(e->fields);
        }
        memset(e, 0, sizeof(*e));
}

/* backing_add - c keeps data (a file image its entries point into) */
static void backing_add(struct maildir_cache *c, char *data)
{
        c->backing = xrealloc(c->backing,
                              (c->nbacking + 1) * sizeof(*c->backing));
        c->backing[c->nbacking++] = data;
}

static struct maildir_cache *cache_new(uint32_t uidvalidity)
{
        struct maildir_cache *c = xcalloc(1, sizeof(*c));

        c->uidvalidity = uidvalidity;
        return c;
}

void maildir_cache_free(struct maildir_cache **cachep)
{
        struct maildir_cache *c;

        if (cachep == NULL || *cachep == NULL)
                return;
        c = *cachep;
        for (size_t i = 0; i < c->count; i++)
                entry_release(&c->ents[i]);
        free(c->ents);
        for (size_t i = 0; i < c->nbacking; i++)
                free(c->backing[i]);
        free(c->backing);
        free(c);
        *cachep = NULL;
}

size_t maildir_cache_count(const struct maildir_cache *cache)
{
        return cache->count;
}

/* cache_pos - index of uid, or where it would go (*found_r says which) */
static size_t cache_pos(const struct maildir_cache *c, uint32_t uid,
                        int *found_r)
{
        size_t lo = 0, hi = c->count;

        *found_r = 0;
        if (c->count > 0 && c->ents[c->count - 1].uid < uid)
                return c->count;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (c->ents[mid].uid == uid) {
                        *found_r = 1;
                        return mid;
                }
                if (c->ents[mid].uid < uid)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

/* cache_insert - take e into c (replacing an entry of the same UID);
 * returns its place, valid until the next insert */
static struct cache_entry *cache_insert(struct maildir_cache *c,
                                        struct cache_entry *e)
{
        int found;
        size_t i = cache_pos(c, e->uid, &found);

        if (found) {
                entry_release(&c->ents[i]);
        } else {
                if (c->count == c->alloc) {
                        c->alloc = c->alloc ? c->alloc * 2 : 64;
                        c->ents = xrealloc(c->ents,
                                           c->alloc * sizeof(*c->ents));
                }
                memmove(&c->ents[i + 1], &c->ents[i],
                        (c->count - i) * sizeof(*c->ents));
                c->count++;
        }
        c->ents[i] = *e;
        memset(e, 0, sizeof(*e));
        return &c->ents[i];
}

/* ---- the file image ---- */

static int fail(char **error_r, const char *what, size_t off)
{
        *error_r = xasprintf("%s at byte %zu", what, off);
        return -1;
}

/* check_fields - the field lines of one entry are well formed */
static int check_fields(const unsigned char *p, uint32_t len, uint16_t n)
{
        size_t off = 0;

        for (uint16_t i = 0; i < n; i++) {
                if (len - off < CACHE_FIELD_HDR)
                        return -1;
                uint32_t flen = maildir_get_le32(p + off + 1);
                if (p[off] >= NFIELDS || flen == 0 ||
                    flen > MAILDIR_CACHE_FIELD_MAX ||
                    flen > len - off - CACHE_FIELD_HDR)
                        return -1;
                off += CACHE_FIELD_HDR + flen;
        }
        return off == len ? 0 : -1;
}

static int parse_entries(char *data, size_t len,
                         struct maildir_cache **cache_r, char **error_r)
{
        const unsigned char *d = (const unsigned char *)data;
        struct maildir_cache *c;
        size_t off = CACHE_HDR_SIZE;

        *cache_r = NULL;
        *error_r = NULL;
        if (len < CACHE_HDR_SIZE)
                return fail(error_r, "file too short", len);
        if (memcmp(d, CACHE_MAGIC, 8) != 0)
                return fail(error_r, "not a cache file", 0);
        if (maildir_get_le32(d + 28) != (uint32_t)crc32(0, d, 28))
                return fail(error_r, "header checksum mismatch", 28);
        if (maildir_get_le32(d + 8) != CACHE_VERSION)
                return fail(error_r, "unknown version", 8);
        uint32_t count = maildir_get_le32(d + 16);
        uint32_t body_len = maildir_get_le32(d + 20);
        if (body_len != len - CACHE_HDR_SIZE)
                return fail(error_r, "length mismatch (truncated?)", len);
        if (maildir_get_le32(d + 24) !=
            (uint32_t)crc32(0, d + CACHE_HDR_SIZE, body_len))
                return fail(error_r, "checksum mismatch", CACHE_HDR_SIZE);
        if (count > body_len / CACHE_ENTRY_FIXED)
                return fail(error_r, "entry count too large", 16);

        c = cache_new(maildir_get_le32(d + 12));
        c->alloc = count > 0 ? count : 1;
        c->ents = xcalloc(c->alloc, sizeof(*c->ents));
        for (uint32_t i = 0; i < count; i++) {
                const unsigned char *p = d + off;
                if (len - off < CACHE_ENTRY_FIXED)
                        goto bad_entry;
                struct cache_entry e;
                e.uid = maildir_get_le32(p);
                e.overflow = maildir_get_le32(p + 4);
                e.size = maildir_get_le64(p + 8);
                e.vsize = maildir_get_le64(p + 16);
                e.hdr_size = maildir_get_le64(p + 24);
                e.hdr_vsize = maildir_get_le64(p + 32);
                e.mtime = (int64_t)maildir_get_le64(p + 40);
                uint16_t name_len = (uint16_t)(p[48] | (p[49] << 8));
                e.nfields = (uint16_t)(p[50] | (p[51] << 8));
                e.fields_len = maildir_get_le32(p + 52);
                off += CACHE_ENTRY_FIXED;
                if (e.uid == 0 ||
                    (c->count > 0 && e.uid <= c->ents[c->count - 1].uid) ||
                    name_len == 0 || name_len > CACHE_NAME_MAX ||
                    name_len > len - off ||
                    e.fields_len > len - off - name_len ||
                    e.fields_len > MAILDIR_CACHE_MSG_MAX +
                                   (size_t)e.nfields * CACHE_FIELD_HDR ||
                    (e.overflow >> NFIELDS) != 0 ||
                    e.hdr_size > e.size || e.vsize < e.size ||
                    e.hdr_vsize < e.hdr_size || e.hdr_vsize > e.vsize ||
                    e.vsize - e.size > e.size ||
                    e.hdr_vsize - e.hdr_size > e.vsize - e.size)
                        goto bad_entry;
                char *name = data + off;
                if (memchr(name, '\0', name_len) != NULL ||
                    memchr(name, '/', name_len) != NULL ||
                    memchr(name, ':', name_len) != NULL)
                        goto bad_entry;
                if (check_fields(d + off + name_len, e.fields_len,
                                 e.nfields) < 0)
                        goto bad_entry;
                e.name = name;
                e.name_len = name_len;
                off += name_len;
                e.fields = (unsigned char *)data + off;
                e.borrowed = 1;
                off += e.fields_len;
                c->ents[c->count++] = e;
        }
        if (off != len) {
                maildir_cache_free(&c);
                return fail(error_r, "data after the last entry", off);
        }
        *cache_r = c;
        return 0;
bad_entry:
        {
                size_t at = off;
                size_t n = c->count;
                maildir_cache_free(&c);
                *error_r = xasprintf("bad entry %zu at byte %zu", n, at);
                return -1;
        }
}

/* parse_image - maildir_cache_parse of data, which the cache takes (its
 * entries point into it) or which is freed on failure */
static int parse_image(char *data, size_t len, struct maildir_cache **cache_r,
                       char **error_r)
{
        int r = parse_entries(data, len, cache_r, error_r);

        if (r < 0)
                free(data);
        else
                backing_add(*cache_r, data);
        return r;
}

int maildir_cache_parse(const char *data, size_t len,
                        struct maildir_cache **cache_r, char **error_r)
{
        char *copy = xmalloc(len + 1);

        memcpy(copy, data, len);
        return parse_image(copy, len, cache_r, error_r);
}

char *maildir_cache_format(const struct maildir_cache *c, size_t *len_r)
{
        struct buf b;
        unsigned char fixed[CACHE_ENTRY_FIXED];

        buf_init(&b, 0);
        memset(fixed, 0, CACHE_HDR_SIZE);
        buf_append(&b, fixed, CACHE_HDR_SIZE);
        for (size_t i = 0; i < c->count; i++) {
                const struct cache_entry *e = &c->ents[i];
                size_t name_len = e->name_len;
                maildir_put_le32(fixed, e->uid);
                maildir_put_le32(fixed + 4, e->overflow);
                maildir_put_le64(fixed + 8, e->size);
                maildir_put_le64(fixed + 16, e->vsize);
                maildir_put_le64(fixed + 24, e->hdr_size);
                maildir_put_le64(fixed + 32, e->hdr_vsize);
                maildir_put_le64(fixed + 40, (uint64_t)e->mtime);
                fixed[48] = (unsigned char)name_len;
                fixed[49] = (unsigned char)(name_len >> 8);
                fixed[50] = (unsigned char)e->nfields;
                fixed[51] = (unsigned char)(e->nfields >> 8);
                maildir_put_le32(fixed + 52, e->fields_len);
                buf_append(&b, fixed, CACHE_ENTRY_FIXED);
                buf_append(&b, e->name, name_len);
                buf_append(&b, e->fields, e->fields_len);
        }
        unsigned char *h = (unsigned char *)b.data;
        size_t body_len = b.len - CACHE_HDR_SIZE;
        memcpy(h, CACHE_MAGIC, 8);
        maildir_put_le32(h + 8, CACHE_VERSION);
        maildir_put_le32(h + 12, c->uidvalidity);
        maildir_put_le32(h + 16, (uint32_t)c->count);
        maildir_put_le32(h + 20, (uint32_t)body_len);
        maildir_put_le32(h + 24, (uint32_t)crc32(0, h + CACHE_HDR_SIZE,
                                                 (uInt)body_len));
        maildir_put_le32(h + 28, (uint32_t)crc32(0, h, 28));
        *len_r = b.len;
        return buf_steal(&b);
}

/* ---- the handle's cache ---- */

/* cache_read - the file's cache, if usable for uidvalidity; NULL when it
 * is missing, unreadable or unusable (then logged and counted) */
static struct maildir_cache *cache_read(struct maildir_box *box,
                                        uint32_t uidvalidity,
                                        struct stat *sb_r)
{
        struct maildir_cache *c = NULL;
        struct status st;
        char *data, *error = NULL;
        size_t len;
        int r;

        r = maildir_read_file(box->cache_path, CACHE_FILE_MAX, &data, &len,
                              sb_r, &st);
        if (r < 0) {
                log_warn("%s", st.text);
                return NULL;
        }
        if (r == 0)
                return NULL;
        if (data == NULL)
                error = xasprintf("file of %zu bytes is too large", len);
        else if (parse_image(data, len, &c, &error) == 0 &&
                 c->uidvalidity != uidvalidity) {
                /* the uidlist was made anew: every UID in it is void */
                maildir_cache_free(&c);
                box->stats.cache_discards++;
        }
        if (error != NULL) {
                log_warn("maildir: %s is corrupt (%s); rebuilding it",
                         box->cache_path, error);
                free(error);
                box->stats.cache_discards++;
        }
        return c;
}

/* cache_get - the handle's cache, read from the file at first use; NULL
 * when the handle keeps none or has no UIDs yet */
static struct maildir_cache *cache_get(struct maildir_box *box)
{
        struct stat sb;

        if (!(box->flags & MAILDIR_BOX_CACHE) || box->ul == NULL)
                return NULL;
        if (box->cache != NULL)
                return box->cache;
        box->cache = cache_read(box, box->ul->uidvalidity, &sb);
        if (box->cache != NULL) {
                box->cache->sb = sb;
                box->cache->sb_known = 1;
        } else {
                box->cache = cache_new(box->ul->uidvalidity);
        }
        return box->cache;
}

/* same_base - rec's file is the one the entry was made from */
static int same_base(const struct cache_entry *e, const struct maildir_rec *rec)
{
        size_t n = e->name_len;

        /* an entry's name has no colon: equal bytes followed by the end
         * or the info's colon are the whole base name */
        return strncmp(e->name, rec->name, n) == 0 &&
               (rec->name[n] == '\0' || rec->name[n] == ':');
}

static struct cache_entry *cache_lookup(struct maildir_cache *c,
                                        const struct maildir_rec *rec)
{
        int found;
        size_t i = cache_pos(c, rec->uid, &found);

        if (!found || !same_base(&c->ents[i], rec))
                return NULL;
        return &c->ents[i];
}

static void count_lf(const char *p, size_t len, char *prev, uint64_t *lines)
{
        const char *end = p + len;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                if (nl == NULL)
                        break;
                if ((nl > p ? nl[-1] : *prev) != '\r')
                        (*lines)++;
                p = nl + 1;
        }
        if (len > 0)
                *prev = end[-1];
}

/* put_field - add one field's lines to e, or mark it too long */
static void put_field(struct cache_entry *e, struct buf *b, int idx,
                      const char *line, size_t len)
{
        unsigned char h[CACHE_FIELD_HDR];

        if (e->overflow & (1u << idx))
                return;
        if (len > MAILDIR_CACHE_FIELD_MAX ||
            b->len + len > MAILDIR_CACHE_MSG_MAX +
                           (size_t)(e->nfields + 1) * CACHE_FIELD_HDR ||
            e->nfields == UINT16_MAX) {
                /* drop what was kept of it too: all or nothing */
                size_t off = 0, out = 0;
                while (off < b->len) {
                        unsigned char *f = (unsigned char *)b->data + off;
                        size_t flen = CACHE_FIELD_HDR + maildir_get_le32(f + 1);
                        if (f[0] != idx) {
                                memmove(b->data + out, f, flen);
                                out += flen;
                        } else {
                                e->nfields--;
                        }
                        off += flen;
                }
                buf_truncate(b, out);
                e->overflow |= 1u << idx;
                return;
        }
        h[0] = (unsigned char)idx;
        maildir_put_le32(h + 1, (uint32_t)len);
        buf_append(b, h, sizeof(h));
        buf_append(b, line, len);
        e->nfields++;
}

/* entry_from_map - a new entry for rec from its mapped file */
static void entry_from_map(struct cache_entry *e, const struct maildir_rec *rec,
                           const struct maildir_map *map)
{
        const char *data = map->data;
        size_t len = map->len, off = 0, start, end, nlen;
        uint64_t lines = 0;
        char prev = '\0';
        struct buf b;

        memset(e, 0, sizeof(*e));
        e->uid = rec->uid;
        size_t base_len = maildir_filename_base_len(rec->name);
        e->name = xstrndup(rec->name, base_len);
        e->name_len = (uint16_t)base_len;
        e->size = len;
        e->mtime = rec->mtime;
        e->hdr_size = maildir_msg_header_end(data, len);
        count_lf(data, (size_t)e->hdr_size, &prev, &lines);
        e->hdr_vsize = e->hdr_size + lines;
        if (rec->vsize != MAILDIR_SIZE_UNKNOWN && rec->size == len &&
            rec->vsize >= e->hdr_vsize && rec->vsize - len <= len) {
                e->vsize = rec->vsize;
        } else {
                count_lf(data + e->hdr_size, len - (size_t)e->hdr_size, &prev,
                         &lines);
                e->vsize = len + lines;
        }
        buf_init(&b, 0);
        while (field_next(data, (size_t)e->hdr_size, &off, &start, &end,
                          &nlen)) {
                int idx = field_index(data + start, nlen);
                if (idx >= 0)
                        put_field(e, &b, idx, data + start, end - start);
        }
        e->fields_len = (uint32_t)b.len;
        e->fields = (unsigned char *)buf_steal(&b);
        buf_release(&b);
}

/* cache_make - read uid's file and make its entry; 1 (*e_r), 0 gone, -1 */
static int cache_make(struct maildir_box *box, struct maildir_cache *c,
                      uint32_t uid, struct cache_entry **e_r,
                      struct status *st)
{
        struct maildir_map map;
        struct cache_entry e;
        int r = maildir_msg_map(box, uid, &map, st);

        if (r <= 0)
                return r;
        struct maildir_rec *rec = maildir_box_find(box, uid);
        if (rec == NULL) {
                maildir_msg_unmap(&map);
                return 0;
        }
        entry_from_map(&e, rec, &map);
        maildir_msg_unmap(&map);
        rec->size = e.size;
        if (rec->vsize == MAILDIR_SIZE_UNKNOWN)
                rec->vsize = e.vsize;
        box->stats.cache_misses++;
        c->fresh++;
        *e_r = cache_insert(c, &e);
        return 1;
}

/* cache_entry - the entry of uid, made when missing; 1, 0 gone, -1 */
static int cache_entry(struct maildir_box *box, struct maildir_cache *c,
                       uint32_t uid, struct cache_entry **e_r,
                       struct status *st)
{
        struct maildir_rec *rec = maildir_box_find(box, uid);

        if (rec == NULL)
                return 0;
        *e_r = cache_lookup(c, rec);
        if (*e_r != NULL) {
                box->stats.cache_hits++;
                return 1;
        }
        return cache_make(box, c, uid, e_r, st);
}

int maildir_cache_info(struct maildir_box *box, uint32_t uid, int make,
                       struct maildir_cache_info *info_r, struct status *st)
{
        struct maildir_cache *c = cache_get(box);
        struct cache_entry *e;
        int r;

        if (c == NULL)
                return 0;
        if (make) {
                if ((r = cache_entry(box, c, uid, &e, st)) <= 0)
                        return r;
        } else {
                struct maildir_rec *rec = maildir_box_find(box, uid);
                if (rec == NULL || (e = cache_lookup(c, rec)) == NULL)
                        return 0;
                box->stats.cache_hits++;
        }
        info_r->size = e->size;
        info_r->vsize = e->vsize;
        info_r->hdr_size = e->hdr_size;
        info_r->hdr_vsize = e->hdr_vsize;
        info_r->mtime = (time_t)e->mtime;
        return 1;
}

int maildir_msg_header_size(struct maildir_box *box, uint32_t uid,
                            uint64_t *size_r, uint64_t *vsize_r,
                            struct status *st)
{
        struct maildir_cache_info info;
        struct maildir_map map;
        int r = maildir_cache_info(box, uid, 1, &info, st);

        if (r < 0)
                return -1;
        if (r == 0) {
                if ((r = maildir_msg_map(box, uid, &map, st)) <= 0)
                        return r;
                uint64_t lines = 0;
                char prev = '\0';
                info.hdr_size = maildir_msg_header_end(map.data, map.len);
                count_lf(map.data, (size_t)info.hdr_size, &prev, &lines);
                info.hdr_vsize = info.hdr_size + lines;
                maildir_msg_unmap(&map);
        }
        if (size_r != NULL)
                *size_r = info.hdr_size;
        if (vsize_r != NULL)
                *vsize_r = info.hdr_vsize;
        return 1;
}

/* name_mask - the cached fields among names; -1 if one is not cached */
static int64_t name_mask(const char *const *names, size_t n)
{
        int64_t mask = 0;

        for (size_t i = 0; i < n; i++) {
                int idx = field_index(names[i], strlen(names[i]));
                if (idx < 0)
                        return -1;
                mask |= (int64_t)1 << idx;
        }
        return mask;
}

static int name_wanted(const char *name, size_t len, const char *const *names,
                       size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (strlen(names[i]) == len &&
                    strncasecmp(names[i], name, len) == 0)
                        return 1;
        }
        return 0;
}

int maildir_msg_cached_header(struct maildir_box *box, uint32_t uid,
                              const char *const *names, size_t n,
                              struct buf *out, struct status *st)
{
        struct maildir_cache *c = cache_get(box);
        int64_t mask = name_mask(names, n);
        struct maildir_map map;
        struct maildir_rec *rec;
        int r;

        if (maildir_box_find(box, uid) == NULL)
                return 0;
        if (c != NULL && mask >= 0) {
                struct cache_entry *e = cache_lookup(c,
                                                     maildir_box_find(box, uid));
                if (e != NULL && (e->overflow & (uint32_t)mask) == 0) {
                        box->stats.cache_hits++;
                        size_t off = 0;
                        while (off < e->fields_len) {
                                const unsigned char *f = e->fields + off;
                                uint32_t flen = maildir_get_le32(f + 1);
                                if (mask & ((int64_t)1 << f[0]))
                                        buf_append(out, f + CACHE_FIELD_HDR,
                                                   flen);
                                off += CACHE_FIELD_HDR + flen;
                        }
                        return 1;
                }
        }
        /* from the file; its entry is made on the way if missing */
        if ((r = maildir_msg_map(box, uid, &map, st)) <= 0)
                return r;
        rec = maildir_box_find(box, uid);
        if (c != NULL && rec != NULL && cache_lookup(c, rec) == NULL) {
                struct cache_entry e;
                entry_from_map(&e, rec, &map);
                box->stats.cache_misses++;
                c->fresh++;
                cache_insert(c, &e);
        }
        size_t hdr_len = maildir_msg_header_end(map.data, map.len);
        size_t off = 0, start, end, nlen;
        while (field_next(map.data, hdr_len, &off, &start, &end, &nlen)) {
                if (name_wanted(map.data + start, nlen, names, n))
                        buf_append(out, map.data + start, end - start);
        }
        maildir_msg_unmap(&map);
        return 1;
}

int maildir_cache_fill(struct maildir_box *box, struct status *st)
{
        struct maildir_cache *c = cache_get(box);
        size_t n = box->count;
        int ret = 0;

        if (c == NULL || n == 0)
                return 0;
        /* by UID: a rescan on the way may rebuild the list */
        uint32_t *uids = xmalloc(n * sizeof(*uids));
        for (size_t i = 0; i < n; i++)
                uids[i] = box->msgs[i].uid;
        for (size_t i = 0; i < n && ret == 0; i++) {
                struct maildir_rec *rec = maildir_box_find(box, uids[i]);
                struct cache_entry *e;
                if (rec != NULL && cache_lookup(c, rec) == NULL &&
                    cache_make(box, c, uids[i], &e, st) < 0)
                        ret = -1;
        }
        free(uids);
        return ret;
}

/* merge_file - take entries another process wrote that we lack */
static void merge_file(struct maildir_box *box, struct maildir_cache *c)
{
        struct stat sb;

        if (stat(box->cache_path, &sb) < 0 ||
            (c->sb_known && maildir_stat_same(&sb, &c->sb)))
                return;
        struct maildir_cache *other = cache_read(box, c->uidvalidity, &sb);
        if (other == NULL)
                return;
        for (size_t i = 0; i < other->count; i++) {
                int found;
                cache_pos(c, other->ents[i].uid, &found);
                if (!found)
                        cache_insert(c, &other->ents[i]);
        }
        /* the entries taken may point into other's file image */
        for (size_t i = 0; i < other->nbacking; i++)
                backing_add(c, other->backing[i]);
        other->nbacking = 0;
        maildir_cache_free(&other);
}

/* keep_live - drop entries of messages that are no longer there */
static void keep_live(struct maildir_box *box, struct maildir_cache *c)
{
        size_t j = 0;

        for (size_t i = 0; i < c->count; i++) {
                struct maildir_rec *rec = maildir_box_find(box,
                                                           c->ents[i].uid);
                if (rec != NULL && same_base(&c->ents[i], rec))
                        c->ents[j++] = c->ents[i];
                else
                        entry_release(&c->ents[i]);
        }
        c->count = j;
}

int maildir_cache_flush(struct maildir_box *box, struct status *st)
{
        struct maildir_cache *c = box->cache;
        size_t len, off = 0;
        char *data, *tmp;
        int fd, ret = -1;

        if (c == NULL || c->fresh == 0 || !box->scanned || box->ul == NULL ||
            box->ul->uidvalidity != c->uidvalidity)
                return 0;
        merge_file(box, c);
        keep_live(box, c);
        data = maildir_cache_format(c, &len);
        tmp = xasprintf("%s.%s.%ld.tmp", box->cache_path, dotlock_hostname(),
                        (long)getpid());
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                  0600);
        if (fd < 0) {
                status_set(st, maildir_status_errno(errno),
                           "maildir: create %s: %m", tmp);
                goto out;
        }
        while (off < len) {
                ssize_t n = write(fd, data + off, len - off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        status_set(st, maildir_status_errno(errno),
                                   "maildir: write %s: %m", tmp);
                        goto out_unlink;
                }
                off += (size_t)n;
        }
        if (close(fd) < 0) {
                fd = -1;
                status_set(st, maildir_status_errno(errno),
                           "maildir: close %s: %m", tmp);
                goto out_unlink;
        }
        fd = -1;
        if (rename(tmp, box->cache_path) < 0) {
                status_set(st, STATUS_LOCAL_IO, "maildir: rename %s: %m", tmp);
                goto out_unlink;
        }
        box->stats.cache_writes++;
        c->fresh = 0;
        c->sb_known = stat(box->cache_path, &c->sb) == 0;
        ret = 0;
        goto out;
out_unlink:
        if (fd >= 0)
                close(fd);
        unlink(tmp);
out:
        free(tmp);
        free(data);
        return ret;
}

void maildir_cache_synced(struct maildir_box *box)
{
        struct maildir_cache *c = box->cache;
        struct status st;

        if (c == NULL || box->ul == NULL)
                return;
        if (c->uidvalidity != box->ul->uidvalidity) {
                maildir_cache_free(&box->cache);
                box->cache = cache_new(box->ul->uidvalidity);
                box->stats.cache_discards++;
                return;
        }
        if (c->fresh >= MAILDIR_CACHE_FLUSH_MIN &&
            maildir_cache_flush(box, &st) < 0)
                log_warn("%s", st.text);
}

void maildir_cache_close(struct maildir_box *box)
{
        struct status st;

        if (box->cache != NULL && maildir_cache_flush(box, &st) < 0)
                log_warn("%s", st.text);
        maildir_cache_free(&box->cache);
}
