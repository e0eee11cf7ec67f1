/* smtp_reply.c - a server's replies and its EHLO keywords
 * Used by: smtp_session.c. Replies are "DDD-text" lines ending with one
 * "DDD text" (RFC 5321 4.2); every line of one reply must carry the same
 * code. An enhanced status code (RFC 3463) at the start of the text is
 * kept; otherwise one is made up from the reply's class, as Postfix does.
 * Parses network input: a reply is bounded by SMTP_REPLY_MAX. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"
#include "smtp.h"

void smtp_reply_init(struct smtp_reply *r)
{
        memset(r, 0, sizeof(*r));
        buf_init(&r->text, SMTP_REPLY_MAX);
        buf_init(&r->flat, 0);
}

void smtp_reply_release(struct smtp_reply *r)
{
        buf_release(&r->text);
        buf_release(&r->flat);
}

void smtp_reply_reset(struct smtp_reply *r)
{
        r->code = 0;
        r->complete = 0;
        r->dsn[0] = '\0';
        buf_reset(&r->text);
}

/* enhanced - length of an RFC 3463 code "c.d.d" at p whose class is cls,
 * or 0 */
static size_t enhanced(const char *p, size_t len, int cls)
{
        size_t i = 0;

        if (len < 5 || p[0] != '0' + cls || p[1] != '.')
                return 0;
        i = 2;
        for (int part = 0; part < 2; part++) {
                size_t start = i;

                while (i < len && isdigit((unsigned char)p[i]) && i - start < 3)
                        i++;
                if (i == start)
                        return 0;
                if (part == 0) {
                        if (i >= len || p[i] != '.')
                                return 0;
                        i++;
                }
        }
        if (i < len && p[i] != ' ')
                return 0;
        return i;
}

int smtp_reply_line(struct smtp_reply *r, const char *line, size_t len)
{
        int code, last;
        size_t off = 4, n;

        if (r->complete)
                smtp_reply_reset(r);
        if (len < 3 || !isdigit((unsigned char)line[0]) ||
            !isdigit((unsigned char)line[1]) ||
            !isdigit((unsigned char)line[2]) || line[0] < '2' ||
            line[0] > '5' || (len > 3 && line[3] != ' ' && line[3] != '-'))
                return -1;
        code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + line[2] - '0';
        if (r->code != 0 && code != r->code)
                return -1;
        r->code = code;
        last = len == 3 || line[3] == ' ';
        if (len <= 3)
                off = len;
        n = enhanced(line + off, len - off, code / 100);
        if (n > 0 && r->dsn[0] == '\0' && n < sizeof(r->dsn)) {
                memcpy(r->dsn, line + off, n);
                r->dsn[n] = '\0';
        }
        if (r->text.len > 0 && buf_putc(&r->text, '\n') < 0)
                return -1;
        if (buf_append(&r->text, line + off, len - off) < 0)
                return -1;
        if (!last)
                return 0;
        if (r->dsn[0] == '\0') {
                r->dsn[0] = (char)('0' + code / 100);
                memcpy(r->dsn + 1, ".0.0", 5);
        }
        r->complete = 1;
        return 1;
}

const char *smtp_reply_text(struct smtp_reply *r)
{
        buf_reset(&r->flat);
        buf_printf(&r->flat, "%d", r->code);
        for (size_t i = 0; i < r->text.len; i++) {
                char ch = r->text.data[i];

                if (i == 0)
                        buf_putc(&r->flat, ' ');
                /* control characters from the network never reach logs */
                buf_putc(&r->flat, ch == '\n' ? ' ' :
                         (unsigned char)ch < 0x20 || ch == 0x7f ? '?' : ch);
        }
        return buf_cstr(&r->flat);
}

void smtp_ext_release(struct smtp_ext *ext)
{
        free(ext->auth);
        memset(ext, 0, sizeof(*ext));
        ext->size_max = -1;
}

/* keyword - 1 when line starts with word followed by the end or a space
 * (or '=' for old AUTH=) */
static int keyword(const char *line, const char *word, const char **arg_r)
{
        size_t n = strlen(word);

        if (strncasecmp(line, word, n) != 0 ||
            (line[n] != '\0' && line[n] != ' ' && line[n] != '='))
                return 0;
        *arg_r = line[n] == '\0' ? line + n : line + n + 1;
        return 1;
}

void smtp_ext_parse(struct smtp_ext *ext, const struct smtp_reply *r)
{
        const char *p = buf_cstr(&r->text), *arg;
        int first = 1;

        smtp_ext_release(ext);
        ext->esmtp = 1;
        while (*p != '\0') {
                size_t len = strcspn(p, "\n");
                char *line = xstrndup(p, len);

                p += len;
                if (*p == '\n')
                        p++;
                if (first) {            /* the greeting line: no keyword */
                        first = 0;
                        free(line);
                        continue;
                }
                if (keyword(line, "PIPELINING", &arg))
                        ext->pipelining = 1;
                else if (keyword(line, "8BITMIME", &arg))
                        ext->eightbit = 1;
                else if (keyword(line, "SMTPUTF8", &arg))
                        ext->smtputf8 = 1;
                else if (keyword(line, "STARTTLS", &arg))
                        ext->starttls = 1;
                else if (keyword(line, "DSN", &arg))
                        ext->dsn = 1;
                else if (keyword(line, "SIZE", &arg))
                        ext->size_max = strtoll(arg, NULL, 10) > 0 ?
                                        strtoll(arg, NULL, 10) : 0;
                else if (keyword(line, "AUTH", &arg) && ext->auth == NULL)
                        ext->auth = xstrdup(arg);
                free(line);
        }
}
