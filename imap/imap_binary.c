/* imap_binary.c - binary content in and out (RFC 3516 4.4, 4.2)
 * Used by: APPEND (imap_cmd_append.c) and FETCH BINARY[] (imap_fetch.c);
 * see imap_binary.h. The message is parsed with mime.c. On the way in,
 * each leaf part whose body holds a NUL and whose CTE is an identity one
 * (7bit, 8bit, binary or none) gets its Content-Transfer-Encoding field
 * made base64 where it stood and its body base64-encoded; on the way out
 * the base64 and quoted-printable leaves are decoded and say "binary", so
 * that a part sent as binary comes back as it was sent. Every other byte
 * is copied as it is. Parses client data. */
#include <string.h>
#include <strings.h>

#include "imap_binary.h"
#include "imap_fetch.h"
#include "mime.h"

/* raw bytes per base64 line */
#define RAW_PER_LINE    (IMAP_BINARY_LINE / 4 * 3)

static int name_is(const struct mime_header *h, const char *name)
{
        return strlen(name) == h->name_len &&
               strncasecmp(h->name, name, h->name_len) == 0;
}

/* encoded_cte - "base64" or "quoted-printable" when the part declares
 * one (its NULs are then not content a re-encoding could keep), else
 * NULL */
static const char *encoded_cte(const struct mime_message *m,
                               const struct mime_part *part)
{
        static const char *const names[] = { "base64", "quoted-printable" };
        const char *found = NULL;
        struct buf v;

        if ((part->flags & MIME_PART_IS_MIME) == 0)
                return NULL;
        buf_init(&v, 0);
        if (mime_header_get(m, part, "Content-Transfer-Encoding", &v) > 0) {
                const char *s = buf_cstr(&v);
                size_t n = v.len;
                while (n > 0 && (*s == ' ' || *s == '\t')) {
                        s++;
                        n--;
                }
                while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                        n--;
                for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                        if (strlen(names[i]) == n &&
                            strncasecmp(s, names[i], n) == 0)
                                found = names[i];
        }
        buf_release(&v);
        return found;
}

/* header_nl - the newline of the blank line that ends a part's header,
 * which lines put into it use too */
static const char *header_nl(const char *hdr, size_t len)
{
        return len >= 2 && hdr[len - 2] == '\r' ? "\r\n" : "\n";
}

/* encode_block - n raw bytes as base64 (RFC 4648, padded) into line;
 * the length written. Written here rather than taken from libcrypto: the
 * session process would map all of it for this alone, some 400 KiB of
 * private pages per connection. */
static size_t encode_block(unsigned char *line, const unsigned char *d,
                           size_t n)
{
        static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "abcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t w = 0;

        for (size_t i = 0; i < n; i += 3) {
                unsigned long v = (unsigned long)d[i] << 16;

                if (i + 1 < n)
                        v |= (unsigned long)d[i + 1] << 8;
                if (i + 2 < n)
                        v |= d[i + 2];
                line[w++] = (unsigned char)abc[(v >> 18) & 63];
                line[w++] = (unsigned char)abc[(v >> 12) & 63];
                line[w++] = i + 1 < n ? (unsigned char)abc[(v >> 6) & 63] : '=';
                line[w++] = i + 2 < n ? (unsigned char)abc[v & 63] : '=';
        }
        return w;
}

/* put_base64 - data as base64 lines ended by nl, the last one without */
static void put_base64(struct buf *out, const unsigned char *data,
                       size_t len, const char *nl)
{
        unsigned char line[IMAP_BINARY_LINE + 1];

        for (size_t off = 0; off < len; off += RAW_PER_LINE) {
                size_t n = len - off < RAW_PER_LINE ? len - off : RAW_PER_LINE;

                if (off > 0)
                        buf_puts(out, nl);
                buf_append(out, line, encode_block(line, data + off, n));
        }
}

/* put_text - append bytes as they are, or CRLF-converted */
static void put_text(struct buf *out, const char *data, size_t len, int crlf)
{
        if (crlf)
                imap_crlf_append(out, data, len);
        else
                buf_append(out, data, len);
}

/* put_header - the part's header with its Content-Transfer-Encoding
 * field saying cte, where the first one stood (others dropped) or at the
 * end, MIME-Version added when mime; lines as they are, or CRLF */
static void put_header(const struct mime_message *m,
                       const struct mime_part *part, const char *cte,
                       int mime, int crlf, struct buf *out)
{
        struct mime_header_iter it;
        struct mime_header h;
        size_t hlen;
        const char *hdr = mime_part_header(m, part, &hlen);
        const char *end = hdr;
        const char *nl = crlf ? "\r\n" : header_nl(hdr, hlen);
        int done = 0;

        mime_header_iter_init(&it, hdr, hlen);
        while (mime_header_next(&it, &h) > 0) {
                end = h.line + h.line_len;
                /* without a MIME field a CTE field did not count; with
                 * the one put in it would */
                if (!name_is(&h, "Content-Transfer-Encoding")) {
                        put_text(out, h.line, h.line_len, crlf);
                        continue;
                }
                if (!done)
                        buf_printf(out, "Content-Transfer-Encoding: %s%s",
                                   cte, nl);
                done = 1;
        }
        if (end > hdr && end[-1] != '\n')
                buf_puts(out, nl);
        if (mime)
                buf_printf(out, "MIME-Version: 1.0%s", nl);
        if (!done)
                buf_printf(out, "Content-Transfer-Encoding: %s%s", cte, nl);
        /* what follows the fields is the blank line */
        if (end < hdr + hlen)
                put_text(out, end, hlen - (size_t)(end - hdr), crlf);
        else
                buf_puts(out, nl);
}

/* encode_tree - re-encode the leaves below part that need it, copying
 * the bytes from data + *pos up to each; *pos moves past its body */
static void encode_tree(const struct mime_message *m,
                        const struct mime_part *part, struct buf *out,
                        size_t *pos)
{
        size_t hlen, blen;

        if (part->children != NULL) {
                for (const struct mime_part *c = part->children; c != NULL;
                     c = c->next)
                        encode_tree(m, c, out, pos);
                return;
        }
        /* a multipart without parts keeps its body as it is */
        if (part->flags & (MIME_PART_MULTIPART | MIME_PART_MESSAGE))
                return;
        const char *hdr = mime_part_header(m, part, &hlen);
        const char *body = mime_part_body(m, part, &blen);
        if (blen == 0 || memchr(body, '\0', blen) == NULL ||
            encoded_cte(m, part) != NULL)
                return;
        buf_append(out, m->data + *pos, (size_t)(hdr - m->data) - *pos);
        put_header(m, part, "base64", (part->flags & MIME_PART_IS_MIME) == 0,
                   0, out);
        put_base64(out, (const unsigned char *)body, blen,
                   header_nl(hdr, hlen));
        *pos = (size_t)(body - m->data) + blen;
        /* the newline before a boundary belongs to the boundary and is
         * still there; a part that ends the message gets its own */
        if (*pos >= m->len)
                buf_puts(out, header_nl(hdr, hlen));
}

int imap_binary_encode(const char *data, size_t len, struct buf *out)
{
        struct mime_message *m;
        size_t start = out->len, pos = 0;

        if (memchr(data, '\0', len) == NULL)
                return 0;
        m = mime_parse(data, len);
        encode_tree(m, m->root, out, &pos);
        mime_free(&m);
        if (pos < len)
                buf_append(out, data + pos, len - pos);
        /* whatever NUL is left could not be carried */
        if (memchr(buf_cstr(out) + start, '\0', out->len - start) != NULL) {
                buf_truncate(out, start);
                return -1;
        }
        return 1;
}

/* decode_tree - decode the encoded leaves below part, the bytes from
 * data + *pos up to each CRLF-converted; returns how many */
static size_t decode_tree(const struct mime_message *m,
                          const struct mime_part *part, struct buf *out,
                          size_t *pos)
{
        size_t n = 0, hlen, blen;
        const char *cte;

        if (part->children != NULL) {
                for (const struct mime_part *c = part->children; c != NULL;
                     c = c->next)
                        n += decode_tree(m, c, out, pos);
                return n;
        }
        if ((part->flags & (MIME_PART_MULTIPART | MIME_PART_MESSAGE)) ||
            (cte = encoded_cte(m, part)) == NULL)
                return 0;
        const char *hdr = mime_part_header(m, part, &hlen);
        const char *body = mime_part_body(m, part, &blen);
        imap_crlf_append(out, m->data + *pos, (size_t)(hdr - m->data) - *pos);
        put_header(m, part, "binary", 0, 1, out);
        imap_decode_cte(cte, body, blen, out);
        *pos = (size_t)(body - m->data) + blen;
        return 1;
}

int imap_binary_decode(const struct mime_message *m, struct buf *out)
{
        size_t start = out->len, pos = 0;

        if (decode_tree(m, m->root, out, &pos) == 0) {
                buf_truncate(out, start);
                return 0;
        }
        if (pos < m->len)
                imap_crlf_append(out, m->data + pos, m->len - pos);
        return 1;
}
