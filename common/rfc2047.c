/* rfc2047.c - RFC 2047 encoded words and charsets, to UTF-8
 * Used by: mime (header values for SEARCH, RFC 2231 parameters). Adjacent
 * encoded words of one charset are decoded into one byte run before the
 * charset conversion, since senders split multibyte characters (and
 * ISO-2022-JP escape sequences) across words. A word that is malformed or
 * names a charset iconv does not know stays as written (RFC 2047 6.3). */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "mem.h"
#include "rfc2047.h"

#define RFC2047_CHARSET_MAX     64
#define UTF8_REPLACEMENT        "\xef\xbf\xbd"
/* iconv descriptors kept open */
#define RFC2047_ICONV_CACHE     8

/* names mail uses that iconv knows by another one */
static const struct {
        const char *name, *iconv_name;
} rfc2047_aliases[] = {
        { "ks_c_5601-1987", "CP949" },
        { "ks_c_5601", "CP949" },
        { "x-sjis", "SHIFT_JIS" },
        { "shift-jis", "SHIFT_JIS" },
        { "gb2312", "GB18030" },
        { "gbk", "GB18030" },
        { "iso-8859-8-i", "ISO-8859-8" },
        { "unicode-1-1-utf-7", "UTF-7" },
        { "x-unknown", NULL },
        { "unknown-8bit", NULL },
};

static int is_utf8_name(const char *cs)
{
        return strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "utf8") == 0 ||
                strcasecmp(cs, "us-ascii") == 0 ||
                strcasecmp(cs, "ascii") == 0;
}

/* charset_open - an iconv descriptor to UTF-8 in its initial state, or
 * (iconv_t)-1. Descriptors (and unknown names) are kept in a small cache:
 * opening one loads conversion tables, far dearer than converting a
 * header. Each process is single-threaded, so one cache per process. */
static iconv_t charset_open(const char *cs)
{
        static struct {
                char name[RFC2047_CHARSET_MAX + 1];
                iconv_t cd;
        } cache[RFC2047_ICONV_CACHE];
        static unsigned int next;
        const char *name = cs;
        size_t i;
        iconv_t cd;

        if (strlen(cs) > RFC2047_CHARSET_MAX)
                return (iconv_t)-1;
        for (i = 0; i < RFC2047_ICONV_CACHE; i++) {
                if (cache[i].name[0] != '\0' &&
                    strcasecmp(cache[i].name, cs) == 0) {
                        if (cache[i].cd != (iconv_t)-1)
                                iconv(cache[i].cd, NULL, NULL, NULL, NULL);
                        return cache[i].cd;
                }
        }
        for (i = 0; i < sizeof(rfc2047_aliases) / sizeof(rfc2047_aliases[0]);
             i++) {
                if (strcasecmp(cs, rfc2047_aliases[i].name) == 0) {
                        name = rfc2047_aliases[i].iconv_name;
                        break;
                }
        }
        cd = name != NULL ? iconv_open("UTF-8", name) : (iconv_t)-1;
        i = next++ % RFC2047_ICONV_CACHE;
        if (cache[i].name[0] != '\0' && cache[i].cd != (iconv_t)-1)
                iconv_close(cache[i].cd);
        strcpy(cache[i].name, cs);
        cache[i].cd = cd;
        return cd;
}

/* utf8_seq_len - length of the valid UTF-8 sequence at s, or 0 */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
        unsigned char c = s[0];
        size_t len, i;
        uint32_t cp;

        if (c < 0x80)
                return c != 0 ? 1 : 0;
        if (c >= 0xc2 && c <= 0xdf) {
                len = 2;
                cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
                len = 3;
                cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
                len = 4;
                cp = c & 0x07;
        } else {
                return 0;
        }
        if (n < len)
                return 0;
        for (i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

int rfc2047_utf8_clean(struct buf *out, const char *data, size_t len)
{
        const unsigned char *s = (const unsigned char *)data;
        size_t i = 0, start = 0, n;
        int ret = 0;

        while (i < len) {
                if (s[i] >= 0x20 && s[i] < 0x80) {
                        i++;
                        continue;
                }
                n = utf8_seq_len(s + i, len - i);
                if (n > 0) {
                        i += n;
                        continue;
                }
                ret |= buf_append(out, s + start, i - start);
                ret |= buf_puts(out, UTF8_REPLACEMENT);
                start = ++i;
        }
        ret |= buf_append(out, s + start, len - start);
        return ret < 0 ? -1 : 0;
}

int rfc2047_to_utf8(struct buf *out, const char *charset, const char *data,
                    size_t len)
{
        char tmp[1024];
        char *in = (char *)data;
        size_t inleft = len;
        iconv_t cd;
        int ret = 0;

        if (is_utf8_name(charset))
                return rfc2047_utf8_clean(out, data, len);
        cd = charset_open(charset);
        if (cd == (iconv_t)-1)
                return -2;
        for (;;) {
                char *o = tmp;
                size_t oleft = sizeof(tmp);
                size_t r;

                if (inleft > 0)
                        r = iconv(cd, &in, &inleft, &o, &oleft);
                else
                        r = iconv(cd, NULL, NULL, &o, &oleft);
                ret |= buf_append(out, tmp, sizeof(tmp) - oleft);
                if (r != (size_t)-1) {
                        /* done once the shift state is flushed too */
                        if (inleft == 0 && o == tmp)
                                break;
                        continue;
                }
                if (errno == E2BIG)
                        continue;
                /* EILSEQ, EINVAL: one byte that does not convert */
                ret |= buf_puts(out, UTF8_REPLACEMENT);
                if (inleft == 0)
                        break;
                in++;
                inleft--;
        }
        return ret < 0 ? -1 : 0;
}

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

static int hexval(unsigned char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* decode_b - base64 text (RFC 2047 4.1); -1 when malformed */
static int decode_b(struct buf *out, const unsigned char *s, size_t n)
{
        uint32_t acc = 0;
        int bits = 0;
        size_t i;

        for (i = 0; i < n; i++) {
                int v;

                if (s[i] == '=') {
                        for (; i < n; i++)
                                if (s[i] != '=')
                                        return -1;
                        break;
                }
                if ((v = b64val(s[i])) < 0)
                        return -1;
                acc = (acc << 6) | (uint32_t)v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        buf_putc(out, (int)((acc >> bits) & 0xff));
                }
        }
        return 0;
}

/* decode_q - Q text (RFC 2047 4.2): '_' is a space, =XX a byte */
static int decode_q(struct buf *out, const unsigned char *s, size_t n)
{
        size_t i;
        int hi, lo;

        for (i = 0; i < n; i++) {
                if (s[i] == '_') {
                        buf_putc(out, ' ');
                } else if (s[i] == '=' && i + 2 < n &&
                           (hi = hexval(s[i + 1])) >= 0 &&
                           (lo = hexval(s[i + 2])) >= 0) {
                        buf_putc(out, hi * 16 + lo);
                        i += 2;
                } else {
                        buf_putc(out, s[i]);
                }
        }
        return 0;
}

struct rfc2047_word {
        char charset[RFC2047_CHARSET_MAX + 1];
        size_t end;             /* position after "?=" */
};

/* word_parse - an encoded word at s[0..n) ("=?" seen): its charset and its
 * decoded bytes in raw; 0 on success, -1 when it is not one */
static int word_parse(const unsigned char *s, size_t n,
                      struct rfc2047_word *w, struct buf *raw)
{
        size_t i = 2, cs_start = 2, cs_len, text;
        unsigned char enc;
        const unsigned char *star;

        while (i < n && s[i] != '?') {
                if (s[i] <= ' ' || s[i] >= 0x7f)
                        return -1;
                i++;
        }
        cs_len = i - cs_start;
        if (i + 3 >= n || cs_len == 0)
                return -1;
        star = memchr(s + cs_start, '*', cs_len);
        if (star != NULL)
                cs_len = (size_t)(star - (s + cs_start));
        if (cs_len == 0 || cs_len > RFC2047_CHARSET_MAX)
                return -1;
        memcpy(w->charset, s + cs_start, cs_len);
        w->charset[cs_len] = '\0';
        enc = s[i + 1];
        if (s[i + 2] != '?')
                return -1;
        text = i + 3;
        for (i = text; i + 1 < n; i++) {
                if (s[i] == '?' && s[i + 1] == '=')
                        break;
                if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '?')
                        return -1;
        }
        if (i + 1 >= n)
                return -1;
        w->end = i + 2;
        if (enc == 'B' || enc == 'b')
                return decode_b(raw, s + text, i - text);
        if (enc == 'Q' || enc == 'q')
                return decode_q(raw, s + text, i - text);
        return -1;
}

/* append_text - plain text between words: folds dropped, made UTF-8 */
static int append_text(struct buf *out, const unsigned char *s, size_t n)
{
        size_t i, start = 0;
        int ret = 0;

        for (i = 0; i < n; i++) {
                if (s[i] == '\r' || s[i] == '\n') {
                        ret |= rfc2047_utf8_clean(out, (const char *)s + start,
                                                  i - start);
                        start = i + 1;
                }
        }
        ret |= rfc2047_utf8_clean(out, (const char *)s + start, n - start);
        return ret < 0 ? -1 : 0;
}

static int is_blank_run(const unsigned char *s, size_t n)
{
        size_t i;

        for (i = 0; i < n; i++)
                if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
                    s[i] != '\n')
                        return 0;
        return 1;
}

int rfc2047_decode(struct buf *out, const char *in, size_t len)
{
        const unsigned char *s = (const unsigned char *)in;
        struct buf pending, raw;
        char pending_cs[RFC2047_CHARSET_MAX + 1] = "";
        size_t i = 0, text_start = 0;
        int after_word = 0, ret = 0;

        buf_init(&pending, 0);
        buf_init(&raw, 0);
        while (i + 1 < len) {
                struct rfc2047_word w;
                const unsigned char *q;
                int known;

                q = memchr(s + i, '=', len - i - 1);
                if (q == NULL)
                        break;
                i = (size_t)(q - s);
                if (s[i + 1] != '?') {
                        i++;
                        continue;
                }
                buf_reset(&raw);
                if (word_parse(s + i, len - i, &w, &raw) < 0) {
                        i += 2;
                        continue;
                }
                known = 1;
                if (!is_utf8_name(w.charset) &&
                    charset_open(w.charset) == (iconv_t)-1)
                        known = 0;
                if (!known) {
                        i += w.end;
                        continue;
                }
                /* the text before this word, unless it only separates two
                 * encoded words (RFC 2047 6.2) */
                if (!(after_word && is_blank_run(s + text_start,
                                                 i - text_start)) &&
                    i > text_start) {
                        if (pending.len > 0) {
                                ret |= rfc2047_to_utf8(out, pending_cs,
                                                       buf_cstr(&pending),
                                                       pending.len);
                                buf_reset(&pending);
                        }
                        ret |= append_text(out, s + text_start,
                                           i - text_start);
                }
                if (pending.len > 0 && strcasecmp(pending_cs, w.charset) != 0) {
                        ret |= rfc2047_to_utf8(out, pending_cs,
                                               buf_cstr(&pending),
                                               pending.len);
                        buf_reset(&pending);
                }
                memcpy(pending_cs, w.charset, sizeof(pending_cs));
                buf_append(&pending, raw.data != NULL ? raw.data : "",
                           raw.len);
                i += w.end;
                text_start = i;
                after_word = 1;
        }
        if (pending.len > 0)
                ret |= rfc2047_to_utf8(out, pending_cs, buf_cstr(&pending),
                                       pending.len);
        ret |= append_text(out, s + text_start, len - text_start);
        buf_release(&pending);
        buf_release(&raw);
        return ret < 0 ? -1 : 0;
}
