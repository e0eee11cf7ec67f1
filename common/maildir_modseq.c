/* maildir_modseq.c - modification sequences (RFC 7162), yubin-modseq
 * Used by: maildir_sync.c (each sync records what it found changed),
 * maildir_msg.c (this handle's own changes), the imap session (MODSEQ,
 * HIGHESTMODSEQ, CHANGEDSINCE, VANISHED (EARLIER)).
 * The file is a snapshot followed by appended blocks, one per change: a
 * block is written in one write() and fdatasync()ed before the change is
 * reported, always under the uidlist lock, so writers are serialised and a
 * MODSEQ is never given twice. Readers take no lock: they read the blocks
 * added since their last read, and stop at a block still being written.
 * A torn last block (a crash in the middle of a write) is cut off by the
 * next writer; anything else wrong means the store is lost, and since it
 * cannot be rebuilt from the Maildir the folder then gets a new
 * UIDVALIDITY and new UIDs. The uidlist header carries a mark (Y1) saying
 * that a store exists, so that a deleted store is told from one never
 * made. The file is compacted (rewritten atomically) when its blocks
 * outgrow the snapshot. The store also carries the folder's first recent
 * UID (maildir_recent.c decides it; it is written here, in the same block
 * as the changes a sync found). Runs as the mailbox owner. Errors: -1 +
 * status 4.3.x. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"
#include "log.h"
#include "maildir.h"
#include "maildir_private.h"
#include "mem.h"

/* The file, all numbers little-endian:
 *   header (32 bytes): "YBNMODSQ", u32 version, u32 UIDVALIDITY, 12 bytes
 *     zero, u32 CRC-32 of the 28 bytes before it
 *   blocks: u32 BLOCK_MAGIC, u32 payload length, u32 CRC-32 of the
 *     payload, the payload: records of
 *       'M' u32 uid, u32 flags, u32 keyword letters, u64 modseq
 *       'X' u32 first UID, u32 last UID, u64 modseq (expunged)
 *       'H' u64 modseq (HIGHESTMODSEQ is at least this)
 *       'R' u32 first recent UID (UIDs below it were claimed as \Recent)
 * Records apply in order; HIGHESTMODSEQ is the largest modseq named, the
 * first recent UID the largest named. */
#define MS_MAGIC                "YBNMODSQ"
#define MS_VERSION              1
#define MS_HDR_SIZE             32
#define MS_BLOCK_MAGIC          0x4b4c4259u     /* "YBLK" */
#define MS_BLOCK_HDR            12
#define MS_REC_MSG              21
#define MS_REC_EXP              17
#define MS_REC_HIGH             9
#define MS_REC_RECENT           5
/* the uidlist header field that says a store was made */
#define MS_UIDLIST_KEY          'Y'
#define MS_UIDLIST_VALUE        "1"
/* larger files and blocks are taken for corrupt */
#define MS_FILE_MAX             (256UL * 1024 * 1024)
#define MS_BLOCK_MAX            (64UL * 1024 * 1024)
/* compact when the blocks are this much larger than a snapshot */
#define MS_COMPACT_MIN          65536
#define MS_COMPACT_FACTOR       4
/* a sync gives up on the store after this many rounds of retrying */
#define MS_SYNC_ROUNDS          3

struct ms_msg {
        uint32_t uid, flags, kw;
        uint64_t modseq;
};

struct ms_range {
        uint32_t first, last;
        uint64_t modseq;
};

struct maildir_modseq {
        uint32_t uidvalidity;
        uint64_t highest;
        uint32_t first_recent;          /* 0: none recorded yet */
        struct ms_msg *msgs;            /* increasing uid */
        size_t count, alloc;
        size_t hint;                    /* ms_set's last index: blocks
                                         * name messages in UID order */
        struct ms_range *exp;           /* in the order recorded */
        size_t nexp, aexp;
        size_t used;                    /* bytes of complete blocks read */
        dev_t dev;                      /* the file they were read from */
        ino_t ino;
        struct timespec ctime;          /* its change time then */
        int torn;                       /* stopped at an incomplete block */
};

enum ms_state {
        MS_OK,
        MS_MISSING,
        MS_CORRUPT
};

static struct maildir_modseq *ms_new(uint32_t uidvalidity, uint64_t highest)
{
        struct maildir_modseq *ms = xcalloc(1, sizeof(*ms));

        ms->uidvalidity = uidvalidity;
        ms->highest = highest;
        return ms;
}

void maildir_modseq_free(struct maildir_modseq **msp)
{
        if (msp == NULL || *msp == NULL)
                return;
        free((*msp)->msgs);
        free((*msp)->exp);
        free(*msp);
        *msp = NULL;
}

uint64_t maildir_modseq_highest(const struct maildir_modseq *ms)
{
        return ms->highest;
}

uint32_t maildir_modseq_first_recent(const struct maildir_modseq *ms)
{
        return ms->first_recent;
}

/* ms_pos - index of uid in ms->msgs, or where it would go */
static size_t ms_pos(const struct maildir_modseq *ms, uint32_t uid,
                     int *found_r)
{
        size_t lo = 0, hi = ms->count;

        *found_r = 0;
        if (ms->count > 0 && ms->msgs[ms->count - 1].uid < uid)
                return ms->count;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (ms->msgs[mid].uid == uid) {
                        *found_r = 1;
                        return mid;
                }
                if (ms->msgs[mid].uid < uid)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static const struct ms_msg *ms_find(const struct maildir_modseq *ms,
                                    uint32_t uid)
{
        int found;
        size_t i = ms_pos(ms, uid, &found);

        return found ? &ms->msgs[i] : NULL;
}

static void ms_set(struct maildir_modseq *ms, uint32_t uid, uint32_t flags,
                   uint32_t kw, uint64_t modseq)
{
        int found = 0;
        size_t i = ms->hint;

        /* the message after the last one set, or that one again */
        if (i + 1 < ms->count && ms->msgs[i + 1].uid == uid)
                i++;
        if (i < ms->count && ms->msgs[i].uid == uid)
                found = 1;
        else
                i = ms_pos(ms, uid, &found);
        ms->hint = i;
        if (!found) {
                if (ms->count == ms->alloc) {
                        ms->alloc = ms->alloc ? ms->alloc * 2 : 64;
                        ms->msgs = xrealloc(ms->msgs,
                                            ms->alloc * sizeof(*ms->msgs));
                }
                memmove(&ms->msgs[i + 1], &ms->msgs[i],
                        (ms->count - i) * sizeof(*ms->msgs));
                ms->count++;
        }
        ms->msgs[i].uid = uid;
        ms->msgs[i].flags = flags;
        ms->msgs[i].kw = kw;
        ms->msgs[i].modseq = modseq;
        if (modseq > ms->highest)
                ms->highest = modseq;
}

static void ms_expunge(struct maildir_modseq *ms, uint32_t first,
                       uint32_t last, uint64_t modseq)
{
        int found;
        size_t lo = ms_pos(ms, first, &found), hi = lo;

        while (hi < ms->count && ms->msgs[hi].uid <= last)
                hi++;
        if (hi > lo) {
                memmove(&ms->msgs[lo], &ms->msgs[hi],
                        (ms->count - hi) * sizeof(*ms->msgs));
                ms->count -= hi - lo;
        }
        if (ms->nexp == ms->aexp) {
                ms->aexp = ms->aexp ? ms->aexp * 2 : 16;
                ms->exp = xrealloc(ms->exp, ms->aexp * sizeof(*ms->exp));
        }
        ms->exp[ms->nexp].first = first;
        ms->exp[ms->nexp].last = last;
        ms->exp[ms->nexp].modseq = modseq;
        ms->nexp++;
        if (modseq > ms->highest)
                ms->highest = modseq;
}

/* apply_payload - check (apply 0) or apply one block's records; 0, or -1
 * when they are malformed */
static int apply_payload(struct maildir_modseq *ms, const unsigned char *p,
                         size_t len, int apply)
{
        size_t off = 0;

        while (off < len) {
                size_t left = len - off;
                const unsigned char *r = p + off;
                switch (r[0]) {
                case 'M': {
                        if (left < MS_REC_MSG)
                                return -1;
                        uint32_t uid = maildir_get_le32(r + 1);
                        uint64_t modseq = maildir_get_le64(r + 13);
                        if (uid == 0 || modseq == 0)
                                return -1;
                        if (apply)
                                ms_set(ms, uid, maildir_get_le32(r + 5),
                                       maildir_get_le32(r + 9), modseq);
                        off += MS_REC_MSG;
                        break;
                }
                case 'X': {
                        if (left < MS_REC_EXP)
                                return -1;
                        uint32_t first = maildir_get_le32(r + 1);
                        uint32_t last = maildir_get_le32(r + 5);
                        uint64_t modseq = maildir_get_le64(r + 9);
                        if (first == 0 || last < first || modseq == 0)
                                return -1;
                        if (apply)
                                ms_expunge(ms, first, last, modseq);
                        off += MS_REC_EXP;
                        break;
                }
                case 'H':
                        if (left < MS_REC_HIGH)
                                return -1;
                        if (apply && maildir_get_le64(r + 1) > ms->highest)
                                ms->highest = maildir_get_le64(r + 1);
                        off += MS_REC_HIGH;
                        break;
                case 'R': {
                        if (left < MS_REC_RECENT)
                                return -1;
                        uint32_t first = maildir_get_le32(r + 1);
                        if (first == 0)
                                return -1;
                        if (apply && first > ms->first_recent)
                                ms->first_recent = first;
                        off += MS_REC_RECENT;
                        break;
                }
                default:
                        return -1;
                }
        }
        return 0;
}

static int all_zero(const unsigned char *p, size_t len)
{
        for (size_t i = 0; i < len; i++) {
                if (p[i] != 0)
                        return 0;
        }
        return 1;
}

/* apply_blocks - apply the complete blocks of d[off..len); *used_r gets
 * the end of the last one. 0 (ms->torn set if an incomplete block ends
 * the data), or -1 with *error_r when the data is corrupt. */
static int apply_blocks(struct maildir_modseq *ms, const unsigned char *d,
                        size_t len, size_t off, size_t *used_r,
                        char **error_r)
{
        ms->torn = 0;
        while (off < len) {
                size_t left = len - off;
                if (left < MS_BLOCK_HDR ||
                    maildir_get_le32(d + off) != MS_BLOCK_MAGIC) {
                        /* a crash may leave the tail short or zeroed */
                        if (left < MS_BLOCK_HDR || all_zero(d + off, left)) {
                                ms->torn = 1;
                                break;
                        }
                        *error_r = xasprintf("bad block at byte %zu", off);
                        return -1;
                }
                uint32_t plen = maildir_get_le32(d + off + 4);
                if (plen > MS_BLOCK_MAX) {
                        *error_r = xasprintf("block too large at byte %zu",
                                             off);
                        return -1;
                }
                if (plen > left - MS_BLOCK_HDR) {
                        ms->torn = 1;
                        break;
                }
                const unsigned char *payload = d + off + MS_BLOCK_HDR;
                if (maildir_get_le32(d + off + 8) !=
                    (uint32_t)crc32(0, payload, plen)) {
                        if (off + MS_BLOCK_HDR + plen == len) {
                                ms->torn = 1;
                                break;
                        }
                        *error_r = xasprintf("checksum mismatch at byte %zu",
                                             off);
                        return -1;
                }
                if (apply_payload(ms, payload, plen, 0) < 0) {
                        *error_r = xasprintf("bad record in block at byte %zu",
                                             off);
                        return -1;
                }
                apply_payload(ms, payload, plen, 1);
                off += MS_BLOCK_HDR + plen;
        }
        *used_r = off;
        return 0;
}

int maildir_modseq_parse(const char *data, size_t len,
                         struct maildir_modseq **ms_r, size_t *used_r,
                         char **error_r)
{
        const unsigned char *d = (const unsigned char *)data;
        struct maildir_modseq *ms;

        *ms_r = NULL;
        *used_r = 0;
        *error_r = NULL;
        if (len < MS_HDR_SIZE) {
                *error_r = xasprintf("file too short (%zu bytes)", len);
                return -1;
        }
        if (memcmp(d, MS_MAGIC, 8) != 0 ||
            maildir_get_le32(d + 28) != (uint32_t)crc32(0, d, 28)) {
                *error_r = xstrdup("bad header");
                return -1;
        }
        if (maildir_get_le32(d + 8) != MS_VERSION) {
                *error_r = xasprintf("unknown version %u",
                                     maildir_get_le32(d + 8));
                return -1;
        }
        ms = ms_new(maildir_get_le32(d + 12), 0);
        if (apply_blocks(ms, d, len, MS_HDR_SIZE, used_r, error_r) < 0) {
                maildir_modseq_free(&ms);
                *used_r = 0;
                return -1;
        }
        ms->used = *used_r;
        *ms_r = ms;
        return 0;
}

/* ---- reading the file ---- */

/* store_read - bring box->modseq up to date with the file (with locked,
 * cutting off a torn last block: *cut_r set). MS_OK, MS_MISSING,
 * MS_CORRUPT (*why_r: a new string), or -1 with st. */
static int store_read(struct maildir_box *box, int locked, int *cut_r,
                      char **why_r, struct status *st)
{
        struct maildir_modseq *ms = box->modseq;
        struct stat sb;
        int fd;

        *cut_r = 0;
        *why_r = NULL;
        fd = open(box->modseq_path, (locked ? O_RDWR : O_RDONLY) |
                  O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                if (errno == ENOENT)
                        return MS_MISSING;
                return status_set(st, STATUS_LOCAL_IO, "maildir: open %s: %m",
                                  box->modseq_path);
        }
        if (fstat(fd, &sb) < 0) {
                status_set(st, STATUS_LOCAL_IO, "maildir: fstat %s: %m",
                           box->modseq_path);
                close(fd);
                return -1;
        }
        if ((uint64_t)sb.st_size > MS_FILE_MAX) {
                close(fd);
                *why_r = xasprintf("file of %lld bytes is too large",
                                   (long long)sb.st_size);
                return MS_CORRUPT;
        }
        size_t size = (size_t)sb.st_size;
        int same = ms != NULL && ms->dev == sb.st_dev && ms->ino == sb.st_ino;
        if (same && size == ms->used) {
                if (ms->ctime.tv_sec == sb.st_ctim.tv_sec &&
                    ms->ctime.tv_nsec == sb.st_ctim.tv_nsec) {
                        close(fd);
                        return MS_OK;
                }
                /* rewritten in place: read it all again */
                same = 0;
        }
        if (same && size < ms->used) {
                close(fd);
                *why_r = xstrdup("file shrank");
                return MS_CORRUPT;
        }
        size_t from = same ? ms->used : 0, got = 0;
        char *data = xmalloc(size - from + 1);
        while (got < size - from) {
                ssize_t n = pread(fd, data + got, size - from - got,
                                  (off_t)(from + got));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        status_set(st, STATUS_LOCAL_IO, "maildir: read %s: %m",
                                   box->modseq_path);
                        free(data);
                        close(fd);
                        return -1;
                }
                if (n == 0)
                        break;
                got += (size_t)n;
        }
        box->stats.modseq_reads++;
        int ret = MS_OK;
        if (same) {
                size_t used;
                if (apply_blocks(ms, (const unsigned char *)data, got, 0,
                                 &used, why_r) < 0) {
                        ret = MS_CORRUPT;
                } else {
                        ms->used += used;
                        ms->ctime = sb.st_ctim;
                }
        } else {
                struct maildir_modseq *nms;
                size_t used;
                if (maildir_modseq_parse(data, got, &nms, &used, why_r) < 0) {
                        ret = MS_CORRUPT;
                } else if (ms != NULL && ms->uidvalidity == nms->uidvalidity &&
                           nms->highest < ms->highest) {
                        *why_r = xasprintf("HIGHESTMODSEQ went down from "
                                           "%llu to %llu",
                                           (unsigned long long)ms->highest,
                                           (unsigned long long)nms->highest);
                        maildir_modseq_free(&nms);
                        ret = MS_CORRUPT;
                } else {
                        nms->dev = sb.st_dev;
                        nms->ino = sb.st_ino;
                        nms->ctime = sb.st_ctim;
                        maildir_modseq_free(&box->modseq);
                        box->modseq = ms = nms;
                }
        }
        free(data);
        if (ret == MS_OK && ms->torn && locked) {
                /* a writer died in the middle of a block: nobody was told
                 * of its modseq, but skip it all the same */
                log_warn("maildir: %s: cutting off a torn last block",
                         box->modseq_path);
                if (ftruncate(fd, (off_t)ms->used) < 0) {
                        status_set(st, STATUS_LOCAL_IO,
                                   "maildir: truncate %s: %m",
                                   box->modseq_path);
                        close(fd);
                        return -1;
                }
                ms->torn = 0;
                ms->highest++;
                *cut_r = 1;
                if (fstat(fd, &sb) == 0)
                        ms->ctime = sb.st_ctim;
        }
        close(fd);
        return ret;
}

/* ---- writing ---- */

static void put_msg(struct buf *b, uint32_t uid, uint32_t flags, uint32_t kw,
                    uint64_t modseq)
{
        unsigned char r[MS_REC_MSG];

        r[0] = 'M';
        maildir_put_le32(r + 1, uid);
        maildir_put_le32(r + 5, flags);
        maildir_put_le32(r + 9, kw);
        maildir_put_le64(r + 13, modseq);
        buf_append(b, r, sizeof(r));
}

static void put_exp(struct buf *b, uint32_t first, uint32_t last,
                    uint64_t modseq)
{
        unsigned char r[MS_REC_EXP];

        r[0] = 'X';
        maildir_put_le32(r + 1, first);
        maildir_put_le32(r + 5, last);
        maildir_put_le64(r + 9, modseq);
        buf_append(b, r, sizeof(r));
}

static void put_high(struct buf *b, uint64_t modseq)
{
        unsigned char r[MS_REC_HIGH];

        r[0] = 'H';
        maildir_put_le64(r + 1, modseq);
        buf_append(b, r, sizeof(r));
}

static void put_recent(struct buf *b, uint32_t first)
{
        unsigned char r[MS_REC_RECENT];

        r[0] = 'R';
        maildir_put_le32(r + 1, first);
        buf_append(b, r, sizeof(r));
}

/* frame - a block around payload[0..len) */
static void frame(struct buf *out, const struct buf *payload)
{
        unsigned char h[MS_BLOCK_HDR];

        maildir_put_le32(h, MS_BLOCK_MAGIC);
        maildir_put_le32(h + 4, (uint32_t)payload->len);
        maildir_put_le32(h + 8, (uint32_t)crc32(0,
                         (const unsigned char *)buf_cstr(payload),
                         (uInt)payload->len));
        buf_append(out, h, sizeof(h));
        buf_append(out, buf_cstr(payload), payload->len);
}

static int range_first_cmp(const void *a, const void *b)
{
        const struct ms_range *ra = a, *rb = b;

        return ra->first < rb->first ? -1 : ra->first > rb->first;
}

static size_t live_lower(const struct maildir_modseq *ms, uint32_t uid)
{
        int found;

        return ms_pos(ms, uid, &found);
}

/* clip_ranges - the ranges with modseq above since, less the live UIDs,
 * sorted and merged where they touch; with per_gap, also merged across
 * gaps that hold no live UID (how a snapshot keeps them bounded: at most
 * one range between two live messages). A new array; *n_r its length. */
static struct ms_range *clip_ranges(const struct maildir_modseq *ms,
                                    uint64_t since, int per_gap, size_t *n_r)
{
        struct ms_range *pieces = NULL;
        size_t n = 0, alloc = 0;

        for (size_t i = 0; i < ms->nexp; i++) {
                const struct ms_range *r = &ms->exp[i];
                if (r->modseq <= since)
                        continue;
                /* split around live UIDs inside the range */
                uint64_t first = r->first;
                size_t k = live_lower(ms, r->first);
                while (first <= r->last) {
                        uint64_t last = r->last;
                        if (k < ms->count && ms->msgs[k].uid <= r->last)
                                last = (uint64_t)ms->msgs[k].uid - 1;
                        if (first <= last) {
                                if (n == alloc) {
                                        alloc = alloc ? alloc * 2 : 16;
                                        pieces = xrealloc(pieces, alloc *
                                                          sizeof(*pieces));
                                }
                                pieces[n].first = (uint32_t)first;
                                pieces[n].last = (uint32_t)last;
                                pieces[n].modseq = r->modseq;
                                n++;
                        }
                        if (k >= ms->count || ms->msgs[k].uid > r->last)
                                break;
                        first = (uint64_t)ms->msgs[k].uid + 1;
                        k++;
                }
        }
        if (n > 1)
                qsort(pieces, n, sizeof(*pieces), range_first_cmp);
        size_t j = 0;
        for (size_t i = 0; i < n; i++) {
                if (j > 0) {
                        struct ms_range *prev = &pieces[j - 1];
                        int join = (uint64_t)pieces[i].first <=
                                   (uint64_t)prev->last + 1;
                        if (!join && per_gap)
                                join = live_lower(ms, prev->last) ==
                                       live_lower(ms, pieces[i].first);
                        if (join) {
                                if (pieces[i].last > prev->last)
                                        prev->last = pieces[i].last;
                                if (pieces[i].modseq > prev->modseq)
                                        prev->modseq = pieces[i].modseq;
                                continue;
                        }
                }
                pieces[j++] = pieces[i];
        }
        *n_r = j;
        return pieces;
}

/* write_snapshot - replace the file with one holding ms whole (temp file,
 * fdatasync, rename, directory fsync); 0 or -1 with st */
static int write_snapshot(struct maildir_box *box, struct maildir_modseq *ms,
                          struct status *st)
{
        unsigned char h[MS_HDR_SIZE];
        struct buf out, payload;
        struct stat sb;
        size_t nr, off = 0;
        int fd, ret = -1;
        char *tmp = xasprintf("%s.tmp", box->modseq_path);

        /* expunged ranges are kept merged between live messages */
        struct ms_range *r = clip_ranges(ms, 0, 1, &nr);
        free(ms->exp);
        ms->exp = r;
        ms->nexp = ms->aexp = nr;

        memset(h, 0, sizeof(h));
        memcpy(h, MS_MAGIC, 8);
        maildir_put_le32(h + 8, MS_VERSION);
        maildir_put_le32(h + 12, ms->uidvalidity);
        maildir_put_le32(h + 28, (uint32_t)crc32(0, h, 28));
        buf_init(&out, 0);
        buf_init(&payload, 0);
        buf_append(&out, h, sizeof(h));
        put_high(&payload, ms->highest);
        if (ms->first_recent != 0)
                put_recent(&payload, ms->first_recent);
        for (size_t i = 0; i < ms->count; i++)
                put_msg(&payload, ms->msgs[i].uid, ms->msgs[i].flags,
                        ms->msgs[i].kw, ms->msgs[i].modseq);
        for (size_t i = 0; i < ms->nexp; i++)
                put_exp(&payload, ms->exp[i].first, ms->exp[i].last,
                        ms->exp[i].modseq);
        frame(&out, &payload);
        buf_release(&payload);

        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                  0600);
        if (fd < 0) {
                status_set(st, maildir_status_errno(errno),
                           "maildir: create %s: %m", tmp);
                goto out;
        }
        while (off < out.len) {
                ssize_t n = write(fd, out.data + off, out.len - off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        status_set(st, maildir_status_errno(errno),
                                   "maildir: write %s: %m", tmp);
                        goto out_unlink;
                }
                off += (size_t)n;
        }
        if (fdatasync(fd) < 0 || fstat(fd, &sb) < 0) {
                status_set(st, maildir_status_errno(errno),
                           "maildir: fsync %s: %m", tmp);
                goto out_unlink;
        }
        if (rename(tmp, box->modseq_path) < 0) {
                status_set(st, STATUS_LOCAL_IO, "maildir: rename %s: %m", tmp);
                goto out_unlink;
        }
        box->stats.modseq_writes++;
        box->stats.modseq_fsyncs += 2;
        if (maildir_fsync_dir(box->path, st) < 0)
                goto out;
        ms->dev = sb.st_dev;
        ms->ino = sb.st_ino;
        ms->ctime = sb.st_ctim;
        ms->used = out.len;
        ms->torn = 0;
        ret = 0;
        goto out;
out_unlink:
        unlink(tmp);
out:
        if (fd >= 0)
                close(fd);
        buf_release(&out);
        free(tmp);
        return ret;
}

/* append_block - append payload as one block and fdatasync it; the caller
 * holds the lock and has read the file to its end. 0 or -1 with st. */
static int append_block(struct maildir_box *box, const struct buf *payload,
                        struct status *st)
{
        struct maildir_modseq *ms = box->modseq;
        struct buf out;
        struct stat sb;
        int fd, ret = -1;

        fd = open(box->modseq_path, O_WRONLY | O_APPEND | O_CLOEXEC |
                  O_NOFOLLOW);
        if (fd < 0)
                return status_set(st, STATUS_LOCAL_IO, "maildir: open %s: %m",
                                  box->modseq_path);
        if (fstat(fd, &sb) < 0 || sb.st_ino != ms->ino ||
            sb.st_dev != ms->dev || (size_t)sb.st_size != ms->used) {
                close(fd);
                return status_set(st, STATUS_LOCAL_IO,
                                  "maildir: %s changed under the lock",
                                  box->modseq_path);
        }
        buf_init(&out, 0);
        frame(&out, payload);
        ssize_t n;
        do {
                n = write(fd, out.data, out.len);
        } while (n < 0 && errno == EINTR);
        if (n != (ssize_t)out.len) {
                if (n < 0)
                        status_set(st, maildir_status_errno(errno),
                                   "maildir: write %s: %m", box->modseq_path);
                else
                        status_set(st, STATUS_NO_SPACE,
                                   "maildir: write %s: short write",
                                   box->modseq_path);
                /* take back what got out, so no reader trips on it */
                if (ftruncate(fd, (off_t)ms->used) < 0)
                        log_warn("maildir: truncate %s: %m", box->modseq_path);
                goto out;
        }
        if (fdatasync(fd) < 0) {
                status_set(st, maildir_status_errno(errno),
                           "maildir: fsync %s: %m", box->modseq_path);
                if (ftruncate(fd, (off_t)ms->used) < 0)
                        log_warn("maildir: truncate %s: %m", box->modseq_path);
                goto out;
        }
        box->stats.modseq_writes++;
        box->stats.modseq_fsyncs++;
        apply_payload(ms, (const unsigned char *)payload->data, payload->len,
                      1);
        ms->used += out.len;
        if (fstat(fd, &sb) == 0)
                ms->ctime = sb.st_ctim;
        ret = 0;
out:
        close(fd);
        buf_release(&out);
        return ret;
}

/* ---- what changed ---- */

enum diff_mode {
        DIFF_ALL,               /* after a refresh: the whole view */
        DIFF_PENDING            /* only what this handle changed */
};

/* diff - the records that bring the store up to the handle's view, at
 * modseq (0: only say whether there are any); returns how many */
static size_t diff(struct maildir_box *box, enum diff_mode mode,
                   uint64_t modseq, struct buf *payload)
{
        const struct maildir_modseq *ms = box->modseq;
        size_t n = 0;

        if (mode == DIFF_PENDING) {
                for (size_t i = 0; i < box->mod_pending_count; i++) {
                        uint32_t uid = box->mod_pending[i];
                        const struct maildir_rec *rec =
                                maildir_box_find(box, uid);
                        const struct ms_msg *m = ms_find(ms, uid);
                        if (rec != NULL && (m == NULL || m->flags != rec->flags ||
                                            m->kw != rec->kw)) {
                                n++;
                                if (modseq != 0)
                                        put_msg(payload, uid, rec->flags,
                                                rec->kw, modseq);
                        } else if (rec == NULL && m != NULL) {
                                n++;
                                if (modseq != 0)
                                        put_exp(payload, uid, uid, modseq);
                        }
                }
                return n;
        }
        size_t i = 0, j = 0;
        uint32_t gone_first = 0, gone_last = 0;
        while (i < box->count || j < ms->count) {
                const struct maildir_rec *rec = i < box->count ?
                                                &box->msgs[i] : NULL;
                const struct ms_msg *m = j < ms->count ? &ms->msgs[j] : NULL;
                if (m == NULL || (rec != NULL && rec->uid < m->uid)) {
                        n++;
                        if (modseq != 0)
                                put_msg(payload, rec->uid, rec->flags, rec->kw,
                                        modseq);
                        i++;
                        continue;
                }
                if (rec == NULL || m->uid < rec->uid) {
                        /* a UID the refresh could not have known of yet is
                         * not taken for expunged */
                        if (m->uid < box->refresh_next_uid) {
                                n++;
                                if (gone_last != 0 && gone_last + 1 == m->uid) {
                                        gone_last = m->uid;
                                } else {
                                        if (gone_last != 0 && modseq != 0)
                                                put_exp(payload, gone_first,
                                                        gone_last, modseq);
                                        gone_first = gone_last = m->uid;
                                }
                        }
                        j++;
                        continue;
                }
                if (rec->flags != m->flags || rec->kw != m->kw) {
                        n++;
                        if (modseq != 0)
                                put_msg(payload, rec->uid, rec->flags, rec->kw,
                                        modseq);
                }
                i++;
                j++;
        }
        if (gone_last != 0 && modseq != 0)
                put_exp(payload, gone_first, gone_last, modseq);
        return n;
}

static void pending_clear(struct maildir_box *box)
{
        box->mod_pending_count = 0;
}

void maildir_modseq_note(struct maildir_box *box, uint32_t uid)
{
        if (!(box->flags & MAILDIR_BOX_MODSEQ))
                return;
        if (box->mod_pending_count == box->mod_pending_alloc) {
                box->mod_pending_alloc = box->mod_pending_alloc ?
                                         box->mod_pending_alloc * 2 : 16;
                box->mod_pending = xrealloc(box->mod_pending,
                                            box->mod_pending_alloc *
                                            sizeof(*box->mod_pending));
        }
        box->mod_pending[box->mod_pending_count++] = uid;
}

/* lose_store - the store is gone or broken: a new UIDVALIDITY, an empty
 * uidlist (the next refresh numbers every file anew) and an empty store;
 * under the lock. 0 or -1 with st. */
static int lose_store(struct maildir_box *box, const char *why,
                      struct status *st)
{
        uint32_t old = box->ul->uidvalidity;
        uint32_t v = (uint32_t)time(NULL);
        uint64_t floor = box->modseq != NULL ? box->modseq->highest : 0;

        if (v <= old)
                v = old + 1;
        if (v <= box->last_uidvalidity)
                v = box->last_uidvalidity + 1;
        log_warn("maildir: %s: %s (%s); new UIDVALIDITY %u, clients resync",
                 box->path, MAILDIR_MODSEQ_NAME, why, v);
        box->stats.modseq_resets++;
        char *hdr_ext = box->ul->hdr_ext != NULL ?
                        xstrdup(box->ul->hdr_ext) : NULL;
        uidlist_free(&box->ul);
        box->ul = uidlist_new(v);
        box->ul->hdr_ext = hdr_ext;
        uidlist_hdr_set(box->ul, MS_UIDLIST_KEY, MS_UIDLIST_VALUE);
        box->last_uidvalidity = v;
        maildir_modseq_free(&box->modseq);
        box->modseq = ms_new(v, floor);
        /* the uidlist first: should the store not follow, the mark finds
         * it missing next time and the folder starts over once more,
         * rather than modseqs being given again under the old UIDVALIDITY */
        box->stats.uidlist_writes++;
        if (uidlist_write(box->ul, box->uidlist_path, st) < 0) {
                box->ul_known = 0;
                return -1;
        }
        box->ul_known = stat(box->uidlist_path, &box->ul_sb) == 0;
        return write_snapshot(box, box->modseq, st);
}

/* locked_update - under the uidlist lock: read the store, make or replace
 * it when needed, and record the changes. 0 done, 1 the handle must
 * refresh first (new UIDVALIDITY), -1 with st. */
static int locked_update(struct maildir_box *box, enum diff_mode mode,
                         struct status *st)
{
        struct dotlock *lock;
        char *why = NULL;
        int cut, write_ul = 0, ret = 0;
        uint32_t base = 0;

        if (maildir_box_lock(box, &lock, st) < 0)
                return -1;
        int r = store_read(box, 1, &cut, &why, st);
        if (r < 0) {
                ret = -1;
                goto unlock;
        }
        int marked = uidlist_hdr_has(box->ul, MS_UIDLIST_KEY);
        if (r == MS_CORRUPT || (r == MS_MISSING && marked)) {
                char *msg = r == MS_CORRUPT ?
                            xasprintf("is corrupt: %s", why) :
                            xstrdup("is lost");
                ret = lose_store(box, msg, st) < 0 ? -1 : 1;
                free(msg);
                goto unlock;
        }
        if (box->ul->uidvalidity != box->refresh_uidvalidity) {
                /* someone made the uidlist anew since our refresh */
                ret = 1;
                goto unlock;
        }
        if (r == MS_MISSING || box->modseq->uidvalidity !=
                               box->ul->uidvalidity) {
                /* first use, or the uidlist was made anew: a new store,
                 * never below what was handed out before */
                uint64_t floor = box->modseq != NULL ? box->modseq->highest :
                                                      0;
                maildir_modseq_free(&box->modseq);
                box->modseq = ms_new(box->ul->uidvalidity, floor);
                /* the first recent UID goes into the snapshot */
                if (mode == DIFF_ALL)
                        box->modseq->first_recent =
                                maildir_recent_next(box, 0, &base);
                if (write_snapshot(box, box->modseq, st) < 0) {
                        ret = -1;
                        goto unlock;
                }
                if (mode == DIFF_ALL)
                        maildir_recent_claimed(box, base,
                                               box->modseq->first_recent);
        }
        if (!marked) {
                uidlist_hdr_set(box->ul, MS_UIDLIST_KEY, MS_UIDLIST_VALUE);
                write_ul = 1;
        }
        /* what this sync claims as \Recent rides in the same block */
        uint32_t first = box->modseq->first_recent, next = first;
        if (mode == DIFF_ALL)
                next = maildir_recent_next(box, first, &base);
        size_t changes = diff(box, mode, 0, NULL);
        if (changes > 0 || cut || next != first) {
                struct buf payload;
                buf_init(&payload, 0);
                if (changes > 0 || cut) {
                        uint64_t modseq = box->modseq->highest + 1;
                        put_high(&payload, modseq);
                        diff(box, mode, modseq, &payload);
                }
                if (next != first)
                        put_recent(&payload, next);
                ret = append_block(box, &payload, st);
                buf_release(&payload);
                if (ret == 0 && next != first)
                        maildir_recent_claimed(box, base, next);
        }
        if (ret == 0) {
                struct maildir_modseq *ms = box->modseq;
                size_t snap = MS_HDR_SIZE + MS_BLOCK_HDR + MS_REC_HIGH +
                              MS_REC_RECENT + ms->count * MS_REC_MSG +
                              (ms->count + 1) * MS_REC_EXP;
                if (ms->used > MS_COMPACT_MIN &&
                    ms->used > snap * MS_COMPACT_FACTOR &&
                    write_snapshot(box, ms, st) < 0)
                        ret = -1;
        }
        if (ret == 0)
                pending_clear(box);
unlock:
        free(why);
        if (maildir_box_unlock(box, &lock, write_ul, ret < 0 ? NULL : st) < 0)
                ret = -1;
        return ret;
}

int maildir_modseq_sync(struct maildir_box *box, struct status *st)
{
        if (!(box->flags & MAILDIR_BOX_MODSEQ) || box->ul == NULL)
                return 0;
        for (int round = 0; round < MS_SYNC_ROUNDS; round++) {
                char *why = NULL;
                int cut;
                int r = store_read(box, 0, &cut, &why, st);
                free(why);
                if (r < 0)
                        return -1;
                /* the common case, without the lock: nothing to record */
                uint32_t base;
                if (r == MS_OK && box->modseq->uidvalidity ==
                                  box->ul->uidvalidity &&
                    box->refresh_uidvalidity == box->ul->uidvalidity &&
                    uidlist_hdr_has(box->ul, MS_UIDLIST_KEY) &&
                    diff(box, DIFF_ALL, 0, NULL) == 0 &&
                    maildir_recent_next(box, box->modseq->first_recent,
                                        &base) ==
                    box->modseq->first_recent) {
                        pending_clear(box);
                        return 0;
                }
                r = locked_update(box, DIFF_ALL, st);
                if (r <= 0)
                        return r;
                if (maildir_box_refresh(box, 1, st) < 0)
                        return -1;
        }
        return status_set(st, STATUS_LOCAL_IO,
                          "maildir: %s: %s keeps changing", box->path,
                          MAILDIR_MODSEQ_NAME);
}

int maildir_modseq_commit(struct maildir_box *box, struct status *st)
{
        if (!(box->flags & MAILDIR_BOX_MODSEQ) || box->mod_pending_count == 0)
                return 0;
        if (box->modseq == NULL || box->ul == NULL)
                return maildir_modseq_sync(box, st);
        int r = locked_update(box, DIFF_PENDING, st);
        /* a new UIDVALIDITY makes the changes moot; the next sync says so */
        if (r > 0)
                pending_clear(box);
        return r < 0 ? -1 : 0;
}

int maildir_modseq_claim_locked(struct maildir_box *box, uint32_t uid,
                                struct status *st)
{
        char *why = NULL;
        int cut;

        if (!(box->flags & MAILDIR_BOX_RECENT) ||
            !(box->flags & MAILDIR_BOX_MODSEQ) || box->modseq == NULL ||
            box->ul == NULL || uid == 0 || uid == UINT32_MAX)
                return 0;
        int r = store_read(box, 1, &cut, &why, st);
        free(why);
        if (r < 0)
                return -1;
        struct maildir_modseq *ms = box->modseq;
        uint32_t first = ms->first_recent;
        if (r != MS_OK || ms->uidvalidity != box->ul->uidvalidity ||
            first == 0)
                return 0;
        struct buf payload;
        buf_init(&payload, 0);
        /* a torn block was cut: its modseq is never given again */
        if (cut)
                put_high(&payload, ms->highest);
        if (uid >= first)
                put_recent(&payload, uid + 1);
        int ret = 0;
        if (payload.len > 0)
                ret = append_block(box, &payload, st);
        buf_release(&payload);
        if (ret == 0 && uid >= first)
                maildir_recent_claimed(box, first, uid + 1);
        return ret;
}

/* ---- questions ---- */

uint64_t maildir_box_highestmodseq(const struct maildir_box *box)
{
        return box->modseq != NULL ? box->modseq->highest : 0;
}

int maildir_msg_modseq(struct maildir_box *box, uint32_t uid,
                       uint64_t *modseq_r)
{
        const struct ms_msg *m;

        *modseq_r = 0;
        if (box->modseq == NULL || maildir_box_find(box, uid) == NULL ||
            (m = ms_find(box->modseq, uid)) == NULL)
                return 0;
        *modseq_r = m->modseq;
        return 1;
}

static int need_store(const struct maildir_box *box, struct status *st)
{
        if (box->modseq != NULL)
                return 0;
        return status_set(st, STATUS_TEMP,
                          "maildir: %s: no modification sequences kept",
                          box->name);
}

int maildir_changed_since(struct maildir_box *box, uint64_t modseq,
                          uint32_t **uids_r, size_t *count_r,
                          struct status *st)
{
        uint32_t *uids = NULL;
        size_t n = 0;

        *uids_r = NULL;
        *count_r = 0;
        if (need_store(box, st) < 0)
                return -1;
        for (size_t i = 0; i < box->seen_count; i++) {
                const struct ms_msg *m = ms_find(box->modseq,
                                                 box->seen[i].uid);
                if (m != NULL && m->modseq <= modseq)
                        continue;
                if (uids == NULL)
                        uids = xmalloc((box->seen_count - i) * sizeof(*uids));
                uids[n++] = box->seen[i].uid;
        }
        *uids_r = uids;
        *count_r = n;
        return 0;
}

int maildir_expunged_since(struct maildir_box *box, uint64_t modseq,
                           struct maildir_uid_range **ranges_r,
                           size_t *count_r, struct status *st)
{
        size_t n;

        *ranges_r = NULL;
        *count_r = 0;
        if (need_store(box, st) < 0)
                return -1;
        struct ms_range *r = clip_ranges(box->modseq, modseq, 0, &n);
        if (n == 0) {
                free(r);
                return 0;
        }
        struct maildir_uid_range *out = xmalloc(n * sizeof(*out));
        for (size_t i = 0; i < n; i++) {
                out[i].first = r[i].first;
                out[i].last = r[i].last;
        }
        free(r);
        *ranges_r = out;
        *count_r = n;
        return 0;
}
