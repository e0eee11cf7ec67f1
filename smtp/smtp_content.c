/* smtp_content.c - a queued message as DATA carries it
 * Used by: smtp_session.c. Queue files keep content with LF line ends and
 * without dot-stuffing (queue_file.h); SMTP wants CR LF and a leading dot
 * doubled (RFC 5321 4.5.2), ended by CR LF . CR LF. Works in pieces so a
 * large message streams out as the connection drains. For a server
 * without 8BITMIME, 8-bit MIME parts are made quoted-printable first
 * (mime_recode.c). Parses queued message content. */
#include <string.h>

#include "mime.h"
#include "mime_recode.h"
#include "smtp.h"

void smtp_content_init(struct smtp_content *c, const char *data, size_t len)
{
        memset(c, 0, sizeof(*c));
        c->data = data;
        c->len = len;
        c->bol = 1;
}

void smtp_content_release(struct smtp_content *c)
{
        buf_release(&c->own);
}

static int has_8bit(const char *body, size_t len)
{
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)body[i] >= 0x80)
                        return 1;
        return 0;
}

int smtp_content_downgrade(struct smtp_content *c)
{
        static const struct mime_recode spec = {
                .cte = "quoted-printable",
                .want = has_8bit,
                .encode = mime_recode_qp,
        };
        struct mime_message *m;
        size_t n;

        if (!has_8bit(c->data, c->len))
                return 0;
        m = mime_parse(c->data, c->len);
        buf_init(&c->own, 0);
        n = mime_recode(m, &spec, &c->own);
        mime_free(&m);
        if (n == 0) {
                buf_release(&c->own);
                return 0;
        }
        c->data = c->own.data;
        c->len = c->own.len;
        return 1;
}

int smtp_content_next(struct smtp_content *c, struct buf *out, size_t max)
{
        size_t start = out->len;

        if (c->ended)
                return 0;
        while (c->off < c->len && out->len - start < max) {
                const char *p = c->data + c->off;
                const char *nl = memchr(p, '\n', c->len - c->off);
                size_t n = nl != NULL ? (size_t)(nl - p) : c->len - c->off;

                if (c->bol && n > 0 && *p == '.')
                        buf_putc(out, '.');
                /* a CR the content ends a line with is not doubled */
                buf_append(out, p, n > 0 && p[n - 1] == '\r' ? n - 1 : n);
                if (nl != NULL) {
                        buf_append(out, "\r\n", 2);
                        c->off += n + 1;
                        c->bol = 1;
                } else {
                        c->off += n;
                        c->bol = 0;
                }
        }
        if (c->off < c->len)
                return 1;
        if (!c->bol)
                buf_append(out, "\r\n", 2);
        buf_append(out, ".\r\n", 3);
        c->ended = 1;
        return 0;
}
