/* imap_binary.c - binary content in and out (RFC 3516 4.4, 4.2)
 * Used by: APPEND (imap_cmd_append.c) and FETCH BINARY[] (imap_fetch.c);
 * see imap_binary.h. The message is parsed with mime.c. On the way in,
 * each leaf part whose body holds a NUL and whose CTE is an identity one
 * (7bit, 8bit, binary or none) is made base64 by mime_recode.c; on the
 * way out the base64 and quoted-printable leaves are decoded and say
 * "binary", so that a part sent as binary comes back as it was sent.
 * Every other byte is copied as it is. Parses client data. */
#include <string.h>
#include <strings.h>

#include "imap_binary.h"
#include "imap_fetch.h"
#include "mime.h"
#include "mime_recode.h"

static int has_nul(const char *body, size_t len)
{
        return memchr(body, '\0', len) != NULL;
}

int imap_binary_encode(const char *data, size_t len, struct buf *out)
{
        static const struct mime_recode spec = {
                .cte = "base64",
                .non_mime = 1,
                .want = has_nul,
                .encode = mime_recode_base64,
        };
        struct mime_message *m;
        size_t start = out->len;

        if (memchr(data, '\0', len) == NULL)
                return 0;
        m = mime_parse(data, len);
        if (mime_recode(m, &spec, out) == 0)
                buf_append(out, data, len);
        mime_free(&m);
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
            (cte = mime_recode_cte(m, part)) == NULL)
                return 0;
        const char *hdr = mime_part_header(m, part, &hlen);
        const char *body = mime_part_body(m, part, &blen);
        struct buf h;

        imap_crlf_append(out, m->data + *pos, (size_t)(hdr - m->data) - *pos);
        buf_init(&h, 0);
        mime_recode_header(m, part, "binary", 0, &h);
        imap_crlf_append(out, h.data, h.len);
        buf_release(&h);
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
