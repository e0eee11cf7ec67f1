/* mime_recode.c - re-encoding MIME parts; see mime_recode.h */
#include <string.h>
#include <strings.h>

#include "mime_recode.h"

/* raw bytes per base64 line */
#define RAW_PER_LINE    (MIME_RECODE_LINE / 4 * 3)

static int name_is(const struct mime_header *h, const char *name)
{
        return strlen(name) == h->name_len &&
               strncasecmp(h->name, name, h->name_len) == 0;
}

const char *mime_recode_cte(const struct mime_message *m,
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

void mime_recode_header(const struct mime_message *m,
                        const struct mime_part *part, const char *cte,
                        int add_mime, struct buf *out)
{
        struct mime_header_iter it;
        struct mime_header h;
        size_t hlen;
        const char *hdr = mime_part_header(m, part, &hlen);
        const char *end = hdr;
        const char *nl = header_nl(hdr, hlen);
        int done = 0;

        mime_header_iter_init(&it, hdr, hlen);
        while (mime_header_next(&it, &h) > 0) {
                end = h.line + h.line_len;
                if (!name_is(&h, "Content-Transfer-Encoding")) {
                        buf_append(out, h.line, h.line_len);
                        continue;
                }
                if (!done)
                        buf_printf(out, "Content-Transfer-Encoding: %s%s",
                                   cte, nl);
                done = 1;
        }
        if (end > hdr && end[-1] != '\n')
                buf_puts(out, nl);
        if (add_mime)
                buf_printf(out, "MIME-Version: 1.0%s", nl);
        if (!done)
                buf_printf(out, "Content-Transfer-Encoding: %s%s", cte, nl);
        /* what follows the fields is the blank line */
        if (end < hdr + hlen)
                buf_append(out, end, hlen - (size_t)(end - hdr));
        else
                buf_puts(out, nl);
}

/* recode_tree - re-encode the leaves below part that spec wants,
 * copying the bytes from data + *pos up to each; *pos moves past its
 * body. Returns how many. */
static size_t recode_tree(const struct mime_message *m,
                          const struct mime_part *part,
                          const struct mime_recode *spec, struct buf *out,
                          size_t *pos)
{
        size_t n = 0, hlen, blen;

        if (part->children != NULL) {
                for (const struct mime_part *c = part->children; c != NULL;
                     c = c->next)
                        n += recode_tree(m, c, spec, out, pos);
                return n;
        }
        /* a multipart without parts keeps its body as it is */
        if (part->flags & (MIME_PART_MULTIPART | MIME_PART_MESSAGE))
                return 0;
        if (!spec->non_mime && (part->flags & MIME_PART_IS_MIME) == 0)
                return 0;
        const char *hdr = mime_part_header(m, part, &hlen);
        const char *body = mime_part_body(m, part, &blen);
        if (blen == 0 || !spec->want(body, blen) ||
            mime_recode_cte(m, part) != NULL)
                return 0;
        buf_append(out, m->data + *pos, (size_t)(hdr - m->data) - *pos);
        mime_recode_header(m, part, spec->cte,
                           (part->flags & MIME_PART_IS_MIME) == 0, out);
        spec->encode(out, body, blen, header_nl(hdr, hlen));
        *pos = (size_t)(body - m->data) + blen;
        /* the newline before a boundary belongs to the boundary and is
         * still there; a part that ends the message gets its own, unless
         * the encoding kept the body's last one as a line end */
        if (*pos >= m->len && out->data[out->len - 1] != '\n')
                buf_puts(out, header_nl(hdr, hlen));
        return 1;
}

size_t mime_recode(const struct mime_message *m,
                   const struct mime_recode *spec, struct buf *out)
{
        size_t start = out->len, pos = 0;
        size_t n = recode_tree(m, m->root, spec, out, &pos);

        if (n == 0) {
                buf_truncate(out, start);
                return 0;
        }
        if (pos < m->len)
                buf_append(out, m->data + pos, m->len - pos);
        return n;
}

/* encode_block - n raw bytes as base64 (RFC 4648, padded) into line;
 * the length written. Written here rather than taken from libcrypto: an
 * IMAP session would map all of it for this alone, some 90 KiB of
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

void mime_recode_base64(struct buf *out, const char *body, size_t len,
                        const char *nl)
{
        const unsigned char *data = (const unsigned char *)body;
        unsigned char line[MIME_RECODE_LINE + 1];

        for (size_t off = 0; off < len; off += RAW_PER_LINE) {
                size_t n = len - off < RAW_PER_LINE ? len - off : RAW_PER_LINE;

                if (off > 0)
                        buf_puts(out, nl);
                buf_append(out, line, encode_block(line, data + off, n));
        }
}

/* RFC 2045 6.7: printable ASCII but '=' stands for itself; so do space
 * and tab, except at the end of a line */
static int qp_literal(unsigned char c, int at_end)
{
        if (c == ' ' || c == '\t')
                return !at_end;
        return c >= 33 && c <= 126 && c != '=';
}

void mime_recode_qp(struct buf *out, const char *body, size_t len,
                    const char *nl)
{
        static const char hex[] = "0123456789ABCDEF";
        size_t i = 0;

        while (i <= len) {
                const char *eol = memchr(body + i, '\n', len - i);
                size_t end = eol != NULL ? (size_t)(eol - body) : len;
                size_t col = 0;

                /* a CR of the stored CR LF is the line end's */
                if (eol != NULL && end > i && body[end - 1] == '\r')
                        end--;
                for (size_t k = i; k < end; k++) {
                        unsigned char c = (unsigned char)body[k];
                        int lit = qp_literal(c, k + 1 == end);
                        size_t w = lit ? 1 : 3;

                        /* a soft line break keeps lines to 76 */
                        if (col + w > MIME_RECODE_LINE - 1 &&
                            !(k + 1 == end && col + w <= MIME_RECODE_LINE)) {
                                buf_putc(out, '=');
                                buf_puts(out, nl);
                                col = 0;
                        }
                        if (lit) {
                                buf_putc(out, (char)c);
                        } else {
                                buf_putc(out, '=');
                                buf_putc(out, hex[c >> 4]);
                                buf_putc(out, hex[c & 15]);
                        }
                        col += w;
                }
                if (eol == NULL)
                        break;
                buf_puts(out, nl);
                i = (size_t)(eol - body) + 1;
                if (i == len)
                        break;
        }
}
