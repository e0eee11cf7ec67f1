/* imap_fetch_body.c - section content: CRLF conversion, decoding, headers
 * Used by: FETCH (imap_fetch.c) and SEARCH BODY/TEXT (imap_search.c).
 * Maildir keeps LF line ends; IMAP counts and sends CRLF, so content goes
 * out through a converter that can start at any virtual offset (partial
 * fetches) and stop at any length (streaming). Content-Transfer-Encoding
 * decoding serves BINARY (RFC 3516) and SEARCH. Reads message data. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap_fetch.h"
#include "maildir.h"
#include "mime.h"

/* ---- message files ---- */

int imap_msg_load(struct maildir_box *box, uint32_t uid, struct buf *readbuf,
                  struct imap_msg *m, struct status *st)
{
        struct stat sb;
        int fd, r;

        memset(m, 0, sizeof(*m));
        m->data = "";
        if ((r = maildir_msg_open(box, uid, &fd, st)) <= 0)
                return r;
        if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
                status_set(st, STATUS_LOCAL_IO, "message UID %u: %s", uid,
                           S_ISREG(sb.st_mode) ? strerror(errno) :
                           "not a regular file");
                close(fd);
                return -1;
        }
        if ((uint64_t)sb.st_size > IMAP_MSG_READ_MAX) {
                void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ,
                               MAP_PRIVATE, fd, 0);
                close(fd);
                if (p == MAP_FAILED)
                        return status_set(st, STATUS_LOCAL_IO, "message UID "
                                          "%u: mmap: %m", uid);
                m->map = p;
                m->map_len = (size_t)sb.st_size;
                m->data = p;
                m->len = m->map_len;
                return 1;
        }
        buf_reset(readbuf);
        for (;;) {
                char chunk[16384];
                ssize_t n = read(fd, chunk, sizeof(chunk));
                if (n == 0)
                        break;
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        status_set(st, STATUS_LOCAL_IO, "message UID %u: "
                                   "read: %m", uid);
                        close(fd);
                        return -1;
                }
                buf_append(readbuf, chunk, (size_t)n);
                if (readbuf->len > 4 * (size_t)IMAP_MSG_READ_MAX)
                        break;          /* it grew while we read: enough */
        }
        close(fd);
        m->data = buf_cstr(readbuf);
        m->len = readbuf->len;
        return 1;
}

void imap_msg_unload(struct imap_msg *m)
{
        if (m->map != NULL)
                munmap(m->map, m->map_len);
        memset(m, 0, sizeof(*m));
        m->data = "";
}

void imap_crlf_init(struct imap_crlf *s, const char *data, size_t len,
                    uint64_t skip, uint64_t left)
{
        s->p = data;
        s->end = data + len;
        s->skip = skip;
        s->left = left;
        s->pending_lf = 0;
        s->prev_cr = 0;
}

/* emit - one virtual byte, after the skip */
static inline int emit(struct imap_crlf *s, struct buf *out, char c)
{
        if (s->skip > 0) {
                s->skip--;
                return 1;
        }
        if (s->left == 0)
                return 0;
        buf_putc(out, c);
        s->left--;
        return 1;
}

int imap_crlf_fill(struct imap_crlf *s, struct buf *out, size_t max)
{
        size_t start = out->len;

        if (s->pending_lf) {
                if (!emit(s, out, '\n'))
                        return 1;
                s->pending_lf = 0;
        }
        while (s->p < s->end && s->left > 0 && out->len - start < max) {
                /* copy a run without LF at once */
                const char *lf = memchr(s->p, '\n', (size_t)(s->end - s->p));
                const char *stop = lf != NULL ? lf : s->end;
                size_t run = (size_t)(stop - s->p);

                if (run > 0) {
                        s->prev_cr = stop[-1] == '\r';
                        if (s->skip >= run) {
                                s->skip -= run;
                                s->p = stop;
                                continue;
                        }
                        s->p += s->skip;
                        run -= (size_t)s->skip;
                        s->skip = 0;
                        if (run > s->left)
                                run = (size_t)s->left;
                        if (run > max - (out->len - start))
                                run = max - (out->len - start);
                        buf_append(out, s->p, run);
                        s->p += run;
                        s->left -= run;
                        if (s->p != stop)
                                s->prev_cr = s->p[-1] == '\r';
                        continue;
                }
                /* at an LF: a CR goes first unless one came before */
                s->p++;
                if (!s->prev_cr && !emit(s, out, '\r'))
                        return 1;
                s->prev_cr = 0;
                if (!emit(s, out, '\n')) {
                        s->pending_lf = 1;
                        return 1;
                }
        }
        return (s->p >= s->end && !s->pending_lf) || s->left == 0;
}

void imap_crlf_append(struct buf *out, const char *data, size_t len)
{
        struct imap_crlf s;

        imap_crlf_init(&s, data, len, 0, UINT64_MAX);
        while (!imap_crlf_fill(&s, out, SIZE_MAX))
                ;
}

/* ---- Content-Transfer-Encoding ---- */

static int b64val(unsigned char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

/* decode_base64 - RFC 2045 6.8: characters outside the alphabet are
 * ignored; '=' ends the data */
static void decode_base64(const char *data, size_t len, struct buf *out)
{
        unsigned int acc = 0;
        int bits = 0;

        for (size_t i = 0; i < len; i++) {
                int v;
                if (data[i] == '=')
                        break;
                if ((v = b64val((unsigned char)data[i])) < 0)
                        continue;
                acc = (acc << 6) | (unsigned int)v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        buf_putc(out, (int)((acc >> bits) & 0xff));
                }
        }
}

static int hexval(unsigned char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

/* decode_qp - RFC 2045 6.7 on CRLF text: =XX, soft breaks, trailing
 * white space of a line dropped; a broken '=' is kept as it is */
static void decode_qp(const char *data, size_t len, struct buf *out)
{
        size_t i = 0;

        while (i < len) {
                char c = data[i];
                if (c == '=') {
                        size_t k = i + 1;
                        while (k < len && (data[k] == ' ' || data[k] == '\t'))
                                k++;
                        if (k + 1 < len && data[k] == '\r' &&
                            data[k + 1] == '\n') {
                                i = k + 2;
                                continue;
                        }
                        if (k < len && data[k] == '\n') {
                                i = k + 1;
                                continue;
                        }
                        int h = i + 2 < len ? hexval((unsigned char)data[i + 1])
                                            : -1;
                        int l = i + 2 < len ? hexval((unsigned char)data[i + 2])
                                            : -1;
                        if (h >= 0 && l >= 0) {
                                buf_putc(out, h * 16 + l);
                                i += 3;
                                continue;
                        }
                        buf_putc(out, '=');
                        i++;
                        continue;
                }
                if (c == ' ' || c == '\t') {
                        size_t k = i;
                        while (k < len && (data[k] == ' ' || data[k] == '\t'))
                                k++;
                        if (k == len || data[k] == '\r' || data[k] == '\n') {
                                i = k;
                                continue;
                        }
                        buf_append(out, data + i, k - i);
                        i = k;
                        continue;
                }
                buf_putc(out, c);
                i++;
        }
}

int imap_decode_cte(const char *cte, const char *data, size_t len,
                    struct buf *out)
{
        if (cte == NULL || *cte == '\0' || strcasecmp(cte, "7bit") == 0 ||
            strcasecmp(cte, "8bit") == 0) {
                imap_crlf_append(out, data, len);
                return 0;
        }
        if (strcasecmp(cte, "binary") == 0) {
                buf_append(out, data, len);
                return 0;
        }
        if (strcasecmp(cte, "base64") == 0) {
                decode_base64(data, len, out);
                return 0;
        }
        if (strcasecmp(cte, "quoted-printable") == 0) {
                struct buf crlf;
                buf_init(&crlf, 0);
                imap_crlf_append(&crlf, data, len);
                decode_qp(buf_cstr(&crlf), crlf.len, out);
                buf_release(&crlf);
                return 0;
        }
        return -1;
}

/* ---- HEADER.FIELDS ---- */

void imap_fetch_header_lines(const char *hdr, size_t len, char *const *names,
                             size_t n, int not, struct buf *out)
{
        struct mime_header_iter it;
        struct mime_header h;
        size_t start = out->len;

        mime_header_iter_init(&it, hdr, len);
        while (mime_header_next(&it, &h) > 0) {
                int found = 0;
                if (h.name_len == 0)
                        continue;
                for (size_t i = 0; i < n && !found; i++)
                        found = strlen(names[i]) == h.name_len &&
                                strncasecmp(names[i], h.name,
                                            h.name_len) == 0;
                if (found == not)
                        continue;
                imap_crlf_append(out, h.line, h.line_len);
                if (h.line_len == 0 || h.line[h.line_len - 1] != '\n')
                        buf_puts(out, "\r\n");
        }
        /* the blank line that ends a header: always for HEADER.FIELDS;
         * for .NOT when the message has one or some field went out (what
         * Dovecot answers) */
        int blank = (len >= 1 && hdr[0] == '\n') ||
                    (len >= 2 && hdr[len - 1] == '\n' &&
                     (hdr[len - 2] == '\n' ||
                      (len >= 3 && hdr[len - 2] == '\r' &&
                       hdr[len - 3] == '\n')));
        if (!not || blank || out->len > start)
                buf_puts(out, "\r\n");
}
