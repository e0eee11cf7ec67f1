/* queue_file.c - the queue file format; reading and recording progress
 * Used by: qmgr (reads each message, records per-recipient results),
 * local (reads the content), yubinctl queue / mailq. Runs as mail_owner
 * (local: as root before it forks, or the instance's user). Parses files
 * that only the mail system writes, but trusts none of it: every length
 * and field is checked and a bad file is reported as corrupt (class 5).
 *
 * A queue file is a magic line, then records, each
 *
 *      <type byte><length, decimal>:<length bytes of data>\n
 *
 * so any byte may appear in data and a truncated file is always seen.
 *
 *   YUBINQ 1\n                 magic and version
 *   T<n>:<sec>.<usec>\n         arrival time                    (first)
 *   S<n>:<sender>\n             envelope sender, "" for <>      (once)
 *   A<n>:<name>=<value>\n       message attribute               (any)
 *   O<n>:<orcpt>\n              RFC 3461 ORCPT of the next R    (optional)
 *   R<n>:<notify> <rcpt>\n      recipient: NOTIFY bits, address (1 or more)
 *   C<20 digits>:<content>\n    the message, LF line ends; the length is
 *                               fixed-width so the writer can fill it in
 *                               after streaming the content
 *   E<n>:<crc32>\n              end: 8 hex digits, the CRC-32 of every
 *                               byte before the C record's newline. A file
 *                               without a good E record is corrupt.
 *
 * Everything above is written once by queue_file_write.c, fsynced, and
 * renamed into incoming/. qmgr then appends progress records after E,
 * each batch with one write(2) and one fsync (local and smtp append a
 * recipient's D record themselves the moment it is delivered, without an
 * fsync; appends are single O_APPEND writes, so they never interleave; a
 * D or W record for an index the file does not have is skipped):
 *
 *   D<n>:<index> <state>\n      recipient index is final: sent, bounced,
 *                               dropped or expanded (the done markers: a
 *                               restarted qmgr never delivers it again)
 *   W<n>:<index> <code> <text>\n  why recipient index was deferred (last
 *                               one wins; used for bounces and mailq)
 *   Y<n>:<sec>\n                a delivery attempt was made
 *   A<n>:<name>=<value>\n       an attribute set later (replaces the
 *                               envelope's value; e.g. delay_warning)
 *   Q<n>:<sec>\n                requeued by the administrator: the W and
 *                               Y records before it are forgotten
 *   O<n>:<orcpt>\n              ORCPT of the next appended R
 *   R<n>:<notify> <parent> <rcpt>\n  a recipient added by expanding
 *                               recipient parent (virtual alias, or an
 *                               address local delivery handed back);
 *                               indices continue after the envelope's
 *
 * A crash can only tear the last, unsynced batch: a reader ignores the
 * tail from the first record that does not parse, and a writable open cuts
 * it off so later appends start on a record boundary. */
#include <sys/mman.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "log.h"
#include "mem.h"
#include "queue_file.h"
#include "queue_file_int.h"

/* record_next - parse the record at *pos: 1 with its type, data and
 * length (pos moved past it), 0 if the bytes end inside it, -1 if
 * malformed. Only content may be longer than QUEUE_RECORD_MAX. */
static int record_next(const char *p, size_t len, size_t *pos, char *type_r,
                       const char **data_r, size_t *dlen_r)
{
        size_t i = *pos;
        unsigned long long n = 0, max;
        size_t digits = 0;

        if (i >= len)
                return 0;
        *type_r = p[i++];
        if (*type_r < 'A' || *type_r > 'Z')
                return -1;
        max = *type_r == 'C' ? (unsigned long long)LLONG_MAX :
              QUEUE_RECORD_MAX;
        while (i < len && p[i] >= '0' && p[i] <= '9') {
                if (++digits > QUEUE_SIZE_DIGITS)
                        return -1;
                n = n * 10 + (unsigned)(p[i++] - '0');
        }
        if (i >= len)
                return 0;
        if (digits == 0 || p[i] != ':' || n > max)
                return -1;
        i++;
        if (n >= len - i)
                return 0;       /* the data and its newline do not fit */
        if (p[i + n] != '\n')
                return -1;
        *data_r = p + i;
        *dlen_r = (size_t)n;
        *pos = i + (size_t)n + 1;
        return 1;
}

static int corrupt(struct status *st, const struct queue_file *qf,
                   const char *why)
{
        return status_set(st, STATUS_PERM, "corrupt queue file %s: %s",
                          qf->id, why);
}

/* parse_uint - a decimal number ending at a space or the end; 0 or -1 */
static int parse_uint(const char **pp, const char *end,
                      unsigned long long *v_r)
{
        const char *p = *pp;
        unsigned long long v = 0;

        if (p >= end || *p < '0' || *p > '9')
                return -1;
        while (p < end && *p >= '0' && *p <= '9') {
                if (v > (ULLONG_MAX - 9) / 10)
                        return -1;
                v = v * 10 + (unsigned)(*p++ - '0');
        }
        if (p < end && *p != ' ' && *p != '.')
                return -1;
        *pp = p;
        *v_r = v;
        return 0;
}

/* parse_progress - one record after E; 0, or -1 if it does not parse */
static int parse_progress(struct queue_file *qf, char type, const char *d,
                          size_t n, char **orcpt)
{
        const char *end = d + n, *p = d;
        unsigned long long idx = 0, v = 0;

        switch (type) {
        case 'D':
                if (parse_uint(&p, end, &idx) < 0 || p == end)
                        return -1;
                p++;
                for (int s = QUEUE_RCPT_SENT; s <= QUEUE_RCPT_EXPANDED; s++)
                        if ((size_t)(end - p) == strlen(queue_state_names[s]) &&
                            memcmp(p, queue_state_names[s], (size_t)(end - p)) == 0) {
                                /* a mark for a recipient this file does
                                 * not have is skipped, not a torn tail */
                                if (idx < qf->nrcpt)
                                        queue_file_set_state(qf, (size_t)idx,
                                                  (enum queue_rcpt_state)s);
                                return 0;
                        }
                return -1;
        case 'W': {
                const char *sp;
                struct queue_rcpt *r;

                if (parse_uint(&p, end, &idx) < 0 || p == end)
                        return -1;
                p++;
                sp = memchr(p, ' ', (size_t)(end - p));
                if (sp == NULL || memchr(d, '\0', n) != NULL)
                        return -1;
                if (idx >= qf->nrcpt)
                        return 0;       /* as for D */
                r = &qf->rcpts[idx];
                free(r->defer_code);
                free(r->defer_text);
                r->defer_code = xstrndup(p, (size_t)(sp - p));
                r->defer_text = xstrndup(sp + 1, (size_t)(end - sp - 1));
                return 0;
        }
        case 'Y':
                if (parse_uint(&p, end, &v) < 0 || p != end)
                        return -1;
                qf->attempts++;
                qf->last_attempt = (time_t)v;
                return 0;
        case 'A': {
                const char *eq = memchr(d, '=', n);

                if (*orcpt != NULL || eq == NULL || eq == d ||
                    memchr(d, '\0', n) != NULL)
                        return -1;
                queue_file_attr_put(qf, d, (size_t)(eq - d), eq + 1,
                                    (size_t)(end - eq - 1));
                return 0;
        }
        case 'Q':
                if (*orcpt != NULL || parse_uint(&p, end, &v) < 0 || p != end)
                        return -1;
                queue_file_forget(qf);
                return 0;
        case 'O':
                if (*orcpt != NULL || memchr(d, '\0', n) != NULL)
                        return -1;
                *orcpt = xstrndup(d, n);
                return 0;
        case 'R':
                if (parse_uint(&p, end, &v) < 0 || p == end)
                        return -1;
                p++;
                if (parse_uint(&p, end, &idx) < 0 || idx >= qf->nrcpt ||
                    p == end)
                        return -1;
                p++;
                return queue_file_rcpt_append(qf, p, (size_t)(end - p), orcpt, v,
                                (size_t)idx);
        default:
                return -1;
        }
}

/* parse - the whole map; 0, or -1 with st (class 5). *good_r gets the end
 * of the last good record. */
static int parse(struct queue_file *qf, size_t *good_r, struct status *st)
{
        const char *p = qf->map, *d;
        size_t len = qf->map_len, pos = strlen(QUEUE_MAGIC), n;
        char type, *orcpt = NULL;
        int state = 0, r;       /* 0 T, 1 S, 2 A/O/R, 3 C, 4 E, 5 after */
        uLong crc = crc32(0L, Z_NULL, 0);
        size_t crc_end = 0;

        if (len < pos || memcmp(p, QUEUE_MAGIC, pos) != 0)
                return corrupt(st, qf, "bad magic");
        while (state < 5) {
                r = record_next(p, len, &pos, &type, &d, &n);
                if (r <= 0) {
                        free(orcpt);
                        return corrupt(st, qf, r == 0 ? "truncated" :
                                       "malformed record");
                }
                if (memchr(d, '\0', type == 'C' ? 0 : n) != NULL)
                        goto bad;
                switch (type) {
                case 'T': {
                        const char *q = d, *end = d + n;
                        unsigned long long sec = 0, usec = 0;

                        if (state != 0 || parse_uint(&q, end, &sec) < 0)
                                goto bad;
                        if (q < end) {
                                if (*q++ != '.' ||
                                    parse_uint(&q, end, &usec) < 0 ||
                                    q != end || usec > 999999)
                                        goto bad;
                        }
                        qf->arrival = (time_t)sec;
                        qf->arrival_usec = (long)usec;
                        state = 1;
                        break;
                }
                case 'S':
                        if (state != 1)
                                goto bad;
                        qf->sender = xstrndup(d, n);
                        state = 2;
                        break;
                case 'A': {
                        const char *eq = memchr(d, '=', n);

                        if (state != 2 || eq == NULL || eq == d)
                                goto bad;
                        qf->attrs = xrealloc(qf->attrs, (qf->nattr + 1) *
                                             sizeof(*qf->attrs));
                        qf->attrs[qf->nattr].name = xstrndup(d, (size_t)(eq -
                                                                        d));
                        qf->attrs[qf->nattr].value =
                                xstrndup(eq + 1, n - (size_t)(eq - d) - 1);
                        qf->nattr++;
                        break;
                }
                case 'O':
                        if (state != 2 || orcpt != NULL)
                                goto bad;
                        orcpt = xstrndup(d, n);
                        break;
                case 'R': {
                        const char *q = d, *end = d + n;
                        unsigned long long notify = 0;

                        if (state != 2 || parse_uint(&q, end, &notify) < 0 ||
                            q == end || q + 1 == end)
                                goto bad;
                        q++;
                        if (queue_file_rcpt_append(qf, q, (size_t)(end - q), &orcpt, notify,
                                     QUEUE_NO_PARENT) < 0)
                                goto bad;
                        break;
                }
                case 'C':
                        if (state != 2 || qf->nrcpt == 0 || orcpt != NULL)
                                goto bad;
                        qf->content_off = d - p;
                        qf->content_len = (long long)n;
                        crc_end = pos - 1;
                        state = 4;
                        break;
                case 'E': {
                        char want[16];

                        if (state != 4 || n != 8)
                                goto bad;
                        for (size_t off = 0; off < crc_end;) {
                                size_t chunk = crc_end - off > (1u << 30) ?
                                               (1u << 30) : crc_end - off;

                                crc = crc32(crc, (const Bytef *)p + off,
                                            (uInt)chunk);
                                off += chunk;
                        }
                        snprintf(want, sizeof(want), "%08lx",
                                 (unsigned long)crc);
                        if (memcmp(want, d, 8) != 0) {
                                free(orcpt);
                                return corrupt(st, qf, "checksum mismatch");
                        }
                        state = 5;
                        break;
                }
                default:
                        goto bad;
                }
        }
        /* progress records; a bad one ends the good part (a torn tail) */
        *good_r = pos;
        for (;;) {
                size_t at = pos;

                r = record_next(p, len, &pos, &type, &d, &n);
                if (r <= 0 || parse_progress(qf, type, d, n, &orcpt) < 0) {
                        pos = at;
                        break;
                }
                if (orcpt == NULL)
                        *good_r = pos;
        }
        free(orcpt);
        return 0;
bad:
        free(orcpt);
        return corrupt(st, qf, "malformed record");
}

/* map_and_parse - qf->fd is open: map the file and check it; 0, or -1
 * with st (qf is then the caller's to free) */
static int map_and_parse(struct queue_file *qf, struct status *st)
{
        struct stat sb;
        size_t good = 0;

        if (fstat(qf->fd, &sb) < 0)
                return status_set(st, STATUS_LOCAL_IO, "fstat %s: %m",
                                  qf->path);
        if (!S_ISREG(sb.st_mode) || sb.st_size == 0)
                return corrupt(st, qf, S_ISREG(sb.st_mode) ? "empty" :
                               "not a regular file");
        qf->map_len = (size_t)sb.st_size;
        qf->map = mmap(NULL, qf->map_len, PROT_READ, MAP_PRIVATE, qf->fd, 0);
        if (qf->map == MAP_FAILED) {
                qf->map = NULL;
                return status_set(st, STATUS_LOCAL_IO, "mmap %s: %m",
                                  qf->path);
        }
        if (parse(qf, &good, st) < 0)
                return -1;
        if (qf->writable && good < qf->map_len &&
            ftruncate(qf->fd, (off_t)good) < 0)
                return status_set(st, STATUS_LOCAL_IO, "truncate %s: %m",
                                  qf->path);
        qf->end = (off_t)good;
        return 0;
}

int queue_file_open(const char *path, int writable, struct queue_file **qf_r,
                    struct status *st)
{
        struct queue_file *qf = xcalloc(1, sizeof(*qf));
        const char *slash = strrchr(path, '/');

        qf->path = xstrdup(path);
        qf->id = xstrdup(slash != NULL ? slash + 1 : path);
        qf->writable = writable;
        buf_init(&qf->out, 0);
        qf->fd = open(path, (writable ? O_RDWR | O_APPEND : O_RDONLY) |
                      O_CLOEXEC | O_NOFOLLOW);
        if (qf->fd < 0) {
                status_set(st, STATUS_LOCAL_IO, "open %s: %m", path);
                goto fail;
        }
        if (map_and_parse(qf, st) < 0)
                goto fail;
        *qf_r = qf;
        return 0;
fail:
        queue_file_free(&qf);
        return -1;
}

int queue_file_open_fd(int fd, const char *id, struct queue_file **qf_r,
                       struct status *st)
{
        struct queue_file *qf = xcalloc(1, sizeof(*qf));

        qf->path = xstrdup(id);
        qf->id = xstrdup(id);
        buf_init(&qf->out, 0);
        qf->fd = fd;
        if (map_and_parse(qf, st) < 0) {
                queue_file_free(&qf);
                return -1;
        }
        *qf_r = qf;
        return 0;
}

void queue_file_free(struct queue_file **qfp)
{
        struct queue_file *qf = *qfp;

        if (qf == NULL)
                return;
        if (qf->map != NULL)
                munmap(qf->map, qf->map_len);
        if (qf->fd >= 0)
                close(qf->fd);
        for (size_t i = 0; i < qf->nattr; i++) {
                free(qf->attrs[i].name);
                free(qf->attrs[i].value);
        }
        free(qf->attrs);
        for (size_t i = 0; i < qf->nrcpt; i++) {
                free(qf->rcpts[i].addr);
                free(qf->rcpts[i].orcpt);
                free(qf->rcpts[i].defer_code);
                free(qf->rcpts[i].defer_text);
        }
        free(qf->rcpts);
        free(qf->sender);
        free(qf->path);
        free(qf->id);
        buf_release(&qf->out);
        free(qf);
        *qfp = NULL;
}

const char *queue_file_id(const struct queue_file *qf)
{
        return qf->id;
}

const char *queue_file_path(const struct queue_file *qf)
{
        return qf->path;
}

const char *queue_file_sender(const struct queue_file *qf)
{
        return qf->sender;
}

const char *queue_file_attr(const struct queue_file *qf, const char *name)
{
        for (size_t i = qf->nattr; i-- > 0;)
                if (strcmp(qf->attrs[i].name, name) == 0)
                        return qf->attrs[i].value;
        return NULL;
}

int queue_file_attr_at(const struct queue_file *qf, size_t i,
                       const char **name_r, const char **value_r)
{
        if (i >= qf->nattr)
                return -1;
        *name_r = qf->attrs[i].name;
        *value_r = qf->attrs[i].value;
        return 0;
}

time_t queue_file_arrival(const struct queue_file *qf, long *usec_r)
{
        if (usec_r != NULL)
                *usec_r = qf->arrival_usec;
        return qf->arrival;
}

size_t queue_file_rcpt_count(const struct queue_file *qf)
{
        return qf->nrcpt;
}

const struct queue_rcpt *queue_file_rcpt(const struct queue_file *qf,
                                         size_t i)
{
        return i < qf->nrcpt ? &qf->rcpts[i] : NULL;
}

size_t queue_file_pending(const struct queue_file *qf)
{
        return qf->pending;
}

unsigned queue_file_attempts(const struct queue_file *qf, time_t *last_r)
{
        if (last_r != NULL)
                *last_r = qf->last_attempt;
        return qf->attempts;
}

long long queue_file_size(const struct queue_file *qf)
{
        return qf->content_len;
}

const char *queue_file_content(const struct queue_file *qf, size_t *len_r)
{
        *len_r = (size_t)qf->content_len;
        return qf->map + qf->content_off;
}

ssize_t queue_file_read(struct queue_file *qf, long long off, void *data,
                        size_t len, struct status *st)
{
        if (off < 0)
                return status_set(st, STATUS_LOCAL_IO, "queue file %s: "
                                  "bad offset", qf->id);
        if (off >= qf->content_len)
                return 0;
        if ((long long)len > qf->content_len - off)
                len = (size_t)(qf->content_len - off);
        memcpy(data, qf->map + qf->content_off + off, len);
        return (ssize_t)len;
}

int queue_file_content_fd(const struct queue_file *qf, long long *offset_r)
{
        *offset_r = qf->content_off;
        return qf->fd;
}
