/* addr_param.c - ESMTP parameters after a path, and RFC 3461 xtext
 * Used by: smtpd (MAIL FROM SIZE=, BODY=, RET=, ENVID=, SMTPUTF8, AUTH=;
 * RCPT TO NOTIFY=, ORCPT=), dsn (ENVID and ORCPT written back). Parses
 * network input: items are checked against RFC 5321 4.1.2 esmtp-keyword /
 * esmtp-value, and their count against ADDR_PARAMS_MAX. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "addr_int.h"
#include "buf.h"
#include "mem.h"

int addr_esmtp_params(const char *text, struct addr_param **params_r,
                      size_t *count_r, struct status *st)
{
        const unsigned char *p = (const unsigned char *)text;
        struct addr_param *params = NULL;
        size_t count = 0;

        *params_r = NULL;
        *count_r = 0;
        for (;;) {
                const unsigned char *key, *value = NULL;
                size_t key_len, value_len = 0;

                while (*p == ' ' || *p == '\t')
                        p++;
                if (*p == '\0' || *p == '\r' || *p == '\n')
                        break;
                if (count == ADDR_PARAMS_MAX) {
                        status_set(st, STATUS_SYNTAX, "too many parameters");
                        goto fail;
                }
                /* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
                key = p;
                if (!isalnum(*p) || *p >= 0x80) {
                        status_set(st, STATUS_SYNTAX, "bad parameter name");
                        goto fail;
                }
                while ((isalnum(*p) && *p < 0x80) || *p == '-')
                        p++;
                key_len = (size_t)(p - key);
                if (*p == '=') {
                        /* esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8
                         * (RFC 6531 3.3) */
                        value = ++p;
                        while (*p > 32 && *p != 127 && *p != '=')
                                p++;
                        value_len = (size_t)(p - value);
                        if (value_len == 0) {
                                status_set(st, STATUS_SYNTAX,
                                           "empty parameter value");
                                goto fail;
                        }
                }
                if (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' &&
                    *p != '\n') {
                        status_set(st, STATUS_SYNTAX, "bad parameter syntax");
                        goto fail;
                }
                params = xrealloc(params, (count + 1) * sizeof(*params));
                params[count].key = xstrndup((const char *)key, key_len);
                params[count].value = value != NULL ?
                        xstrndup((const char *)value, value_len) : NULL;
                count++;
        }
        *params_r = params;
        *count_r = count;
        return 0;
fail:
        addr_esmtp_params_free(&params, count);
        return -1;
}

void addr_esmtp_params_free(struct addr_param **params, size_t count)
{
        if (*params == NULL)
                return;
        for (size_t i = 0; i < count; i++) {
                free((*params)[i].key);
                free((*params)[i].value);
        }
        free(*params);
        *params = NULL;
}

static int hexval(unsigned char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        if (c >= 'a' && c <= 'f')       /* RFC 3461 says upper case */
                return c - 'a' + 10;
        return -1;
}

int addr_xtext_decode(const char *text, char **out_r)
{
        const unsigned char *p = (const unsigned char *)text;
        struct buf out;

        *out_r = NULL;
        buf_init(&out, 0);
        for (; *p != '\0'; p++) {
                unsigned char c = *p;

                if (c == '+') {
                        int hi = hexval(p[1]), lo;

                        if (hi < 0 || (lo = hexval(p[2])) < 0)
                                goto fail;
                        c = (unsigned char)(hi << 4 | lo);
                        p += 2;
                        if (c < 32 || c == 127)
                                goto fail;
                } else if (c < 33 || c == '=' || c == 127) {
                        goto fail;
                }
                buf_putc(&out, c);
        }
        *out_r = out.data != NULL ? buf_steal(&out) : xstrdup("");
        return 0;
fail:
        buf_release(&out);
        return -1;
}

char *addr_xtext_encode(const char *text)
{
        const unsigned char *p = (const unsigned char *)text;
        struct buf out;

        buf_init(&out, 0);
        for (; *p != '\0'; p++) {
                if (*p < 33 || *p > 126 || *p == '+' || *p == '=')
                        buf_printf(&out, "+%02X", *p);
                else
                        buf_putc(&out, *p);
        }
        return out.data != NULL ? buf_steal(&out) : xstrdup("");
}
