/* mutf7.c - IMAP modified UTF-7 (RFC 3501 section 5.1.3) <-> UTF-8
 * Used by: maildir.c and maildir_subs.c (folder directory names and the
 * subscriptions file) and the IMAP session (names from clients that did
 * not ENABLE UTF8=ACCEPT).
 * Printable US-ASCII stands for itself except '&', written "&-"; anything
 * else is UTF-16BE in base64 (RFC 2045 alphabet with ',' for '/'), without
 * padding, between '&' and '-'. */
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "mutf7.h"

static const char b64_chars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* b64_value - the 6-bit value of a modified base64 character, or -1 */
static int b64_value(unsigned char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == ',')
                return 63;
        return -1;
}

/* utf8_next - decode one code point at s (len bytes left); returns its
 * length, or 0 if the sequence is not valid shortest-form UTF-8 */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp_r)
{
        uint32_t cp, min;
        size_t n, i;

        if (len == 0)
                return 0;
        if (s[0] < 0x80) {
                *cp_r = s[0];
                return 1;
        } else if ((s[0] & 0xe0) == 0xc0) {
                n = 2;
                cp = s[0] & 0x1f;
                min = 0x80;
        } else if ((s[0] & 0xf0) == 0xe0) {
                n = 3;
                cp = s[0] & 0x0f;
                min = 0x800;
        } else if ((s[0] & 0xf8) == 0xf0) {
                n = 4;
                cp = s[0] & 0x07;
                min = 0x10000;
        } else {
                return 0;
        }
        if (len < n)
                return 0;
        for (i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        *cp_r = cp;
        return n;
}

int mutf7_utf8_valid(const char *s, size_t len)
{
        const unsigned char *p = (const unsigned char *)s;
        uint32_t cp;
        size_t n;

        while (len > 0) {
                n = utf8_next(p, len, &cp);
                if (n == 0 || cp == 0)
                        return 0;
                p += n;
                len -= n;
        }
        return 1;
}

static void put_utf8(struct buf *out, uint32_t cp)
{
        char b[4];
        size_t n;

        if (cp < 0x80) {
                b[0] = (char)cp;
                n = 1;
        } else if (cp < 0x800) {
                b[0] = (char)(0xc0 | (cp >> 6));
                b[1] = (char)(0x80 | (cp & 0x3f));
                n = 2;
        } else if (cp < 0x10000) {
                b[0] = (char)(0xe0 | (cp >> 12));
                b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                b[2] = (char)(0x80 | (cp & 0x3f));
                n = 3;
        } else {
                b[0] = (char)(0xf0 | (cp >> 18));
                b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
                b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
                b[3] = (char)(0x80 | (cp & 0x3f));
                n = 4;
        }
        buf_append(out, b, n);
}

/* is_direct - printable US-ASCII other than '&' stands for itself */
static int is_direct(uint32_t c)
{
        return c >= 0x20 && c <= 0x7e && c != '&';
}

int mutf7_encode(const char *utf8, struct buf *out)
{
        const unsigned char *p = (const unsigned char *)utf8;
        size_t left = strlen(utf8), start = out->len, n;
        uint32_t cp, bits = 0;
        unsigned int nbits = 0;
        int shifted = 0;

        while (left > 0) {
                n = utf8_next(p, left, &cp);
                if (n == 0 || cp == 0)
                        goto fail;
                p += n;
                left -= n;
                if (is_direct(cp) || cp == '&') {
                        if (shifted) {
                                if (nbits > 0)
                                        buf_putc(out, b64_chars[(bits << (6 - nbits)) &
                                                                0x3f]);
                                buf_putc(out, '-');
                                shifted = 0;
                                nbits = 0;
                                bits = 0;
                        }
                        if (cp == '&')
                                buf_puts(out, "&-");
                        else
                                buf_putc(out, (int)cp);
                        continue;
                }
                if (!shifted) {
                        buf_putc(out, '&');
                        shifted = 1;
                }
                uint16_t units[2];
                int nunits = 1;
                if (cp >= 0x10000) {
                        cp -= 0x10000;
                        units[0] = (uint16_t)(0xd800 | (cp >> 10));
                        units[1] = (uint16_t)(0xdc00 | (cp & 0x3ff));
                        nunits = 2;
                } else {
                        units[0] = (uint16_t)cp;
                }
                for (int i = 0; i < nunits; i++) {
                        bits = (bits << 16) | units[i];
                        nbits += 16;
                        while (nbits >= 6) {
                                nbits -= 6;
                                buf_putc(out, b64_chars[(bits >> nbits) & 0x3f]);
                        }
                        bits &= (1u << nbits) - 1;
                }
        }
        if (shifted) {
                if (nbits > 0)
                        buf_putc(out, b64_chars[(bits << (6 - nbits)) & 0x3f]);
                buf_putc(out, '-');
        }
        return 0;
fail:
        buf_truncate(out, start);
        return -1;
}

/* decode_shift - decode the base64 run at *pp (just past '&', not "&-")
 * up to and including its '-'; 0 or -1 */
static int decode_shift(const char **pp, struct buf *out)
{
        const char *p = *pp;
        uint32_t bits = 0, high = 0;
        unsigned int nbits = 0;
        int v, nchars = 0;

        for (; *p != '-'; p++) {
                if (*p == '\0' || (v = b64_value((unsigned char)*p)) < 0)
                        return -1;
                nchars++;
                bits = (bits << 6) | (uint32_t)v;
                nbits += 6;
                if (nbits < 16)
                        continue;
                nbits -= 16;
                uint32_t unit = (bits >> nbits) & 0xffff;
                bits &= (1u << nbits) - 1;
                if (high != 0) {
                        if (unit < 0xdc00 || unit > 0xdfff)
                                return -1;
                        put_utf8(out, 0x10000 + ((high - 0xd800) << 10) +
                                      (unit - 0xdc00));
                        high = 0;
                } else if (unit >= 0xd800 && unit <= 0xdbff) {
                        high = unit;
                } else if (unit >= 0xdc00 && unit <= 0xdfff) {
                        return -1;
                } else if (unit == 0 || (unit >= 0x20 && unit <= 0x7e)) {
                        /* printable ASCII must be written directly ('&'
                         * as "&-"), and NUL has no place in a name */
                        return -1;
                } else {
                        put_utf8(out, unit);
                }
        }
        /* leftover bits: fewer than 6 of them, all zero; nothing pending */
        if (nchars == 0 || high != 0 || nbits >= 6 || bits != 0)
                return -1;
        p++;
        /* an adjacent shifted run should have been merged into this one */
        if (p[0] == '&' && p[1] != '-')
                return -1;
        *pp = p;
        return 0;
}

int mutf7_decode(const char *mutf7, struct buf *out)
{
        const char *p = mutf7;
        size_t start = out->len;

        while (*p != '\0') {
                unsigned char c = (unsigned char)*p;

                if (c < 0x20 || c > 0x7e)
                        goto fail;
                if (c != '&') {
                        buf_putc(out, c);
                        p++;
                        continue;
                }
                p++;
                if (*p == '-') {
                        buf_putc(out, '&');
                        p++;
                        continue;
                }
                if (decode_shift(&p, out) < 0)
                        goto fail;
        }
        return 0;
fail:
        buf_truncate(out, start);
        return -1;
}

int mutf7_valid(const char *s)
{
        struct buf b;
        int ok;

        buf_init(&b, 0);
        ok = mutf7_decode(s, &b) == 0;
        buf_release(&b);
        return ok;
}
