/* pop3_retr.c - a message as RETR and TOP send it
 * Used by: pop3_session.c (pop3_retr.h). Copies runs of plain bytes at
 * once and stops only at line ends, so a message costs about one pass. */
#include <string.h>

#include "maildir.h"
#include "pop3_retr.h"

size_t pop3_retr_top_len(const char *data, size_t len, unsigned long lines)
{
        size_t off = maildir_msg_header_end(data, len);

        while (off < len && lines > 0) {
                const char *lf = memchr(data + off, '\n', len - off);

                if (lf == NULL)
                        return len;
                off = (size_t)(lf - data) + 1;
                lines--;
        }
        return off;
}

void pop3_retr_init(struct pop3_retr *r, const char *data, size_t len,
                    long top_lines)
{
        memset(r, 0, sizeof(*r));
        r->data = data;
        r->len = top_lines >= 0 ?
                pop3_retr_top_len(data, len, (unsigned long)top_lines) : len;
        r->bol = 1;
}

int pop3_retr_fill(struct pop3_retr *r, struct buf *out, size_t max)
{
        size_t start = out->len;

        if (r->done)
                return 1;
        while (r->off < r->len && out->len - start < max) {
                const char *p = r->data + r->off;
                size_t left = r->len - r->off;
                const char *lf;
                size_t run;

                if (r->bol && *p == '.')
                        buf_putc(out, '.');
                r->bol = 0;
                lf = memchr(p, '\n', left);
                run = lf != NULL ? (size_t)(lf - p) : left;
                if (run > 0) {
                        buf_append(out, p, run);
                        r->octets += run;
                        r->prev_cr = p[run - 1] == '\r';
                }
                r->off += run;
                if (lf == NULL)
                        break;
                if (!r->prev_cr) {
                        buf_putc(out, '\r');
                        r->octets++;
                }
                buf_putc(out, '\n');
                r->octets++;
                r->off++;
                r->prev_cr = 0;
                r->bol = 1;
        }
        if (r->off < r->len)
                return 0;
        /* a last line without its end gets one (not counted: LIST does
         * not count it either) */
        if (!r->bol)
                buf_puts(out, "\r\n");
        buf_puts(out, ".\r\n");
        r->done = 1;
        return 1;
}
