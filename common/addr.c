/* addr.c - RFC 5321 paths and the internal address form
 * Used by: smtpd (MAIL FROM / RCPT TO), qmgr, local, resolve, sendmail,
 * dsn. Parses network input: one forward pass over the bytes with explicit
 * bounds, no recursion, every length checked against a named limit before
 * anything is copied. The grammar is RFC 5321 4.1.2 (Path, Mailbox,
 * Dot-string, Quoted-string, address-literal 4.1.3) with RFC 6531's UTF-8
 * extension and Postfix's leniencies that real mail needs: a local part
 * may have empty dot-separated atoms ("a..b", docomo-style), and a mailbox
 * may lack a domain ("<postmaster>", RFC 5321 4.5.1). */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "addr_int.h"
#include "buf.h"
#include "mem.h"

#define ADDR_DOMAIN_MAX 255     /* RFC 5321 4.5.3.1.2 */
#define ADDR_LABEL_MAX  63

int addr_is_atext(unsigned char c)
{
        if (isalnum(c) && c < 0x80)
                return 1;
        return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

size_t addr_utf8_len(const unsigned char *s, size_t n)
{
        unsigned int cp;
        size_t len, i;

        if (n == 0 || s[0] < 0xc2 || s[0] > 0xf4)
                return 0;
        if (s[0] < 0xe0) {
                len = 2;
                cp = s[0] & 0x1f;
        } else if (s[0] < 0xf0) {
                len = 3;
                cp = s[0] & 0x0f;
        } else {
                len = 4;
                cp = s[0] & 0x07;
        }
        if (n < len)
                return 0;
        for (i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                return 0;
        return len;
}

/* literal_check - "[...]" of len bytes: IPv4 dotted quad or IPv6: */
static int literal_check(const char *s, size_t len)
{
        char tmp[64];
        unsigned char bin[16];

        if (len < 3 || s[0] != '[' || s[len - 1] != ']' ||
            len - 2 >= sizeof(tmp))
                return 0;
        memcpy(tmp, s + 1, len - 2);
        tmp[len - 2] = '\0';
        if (strncasecmp(tmp, "IPv6:", 5) == 0)
                return inet_pton(AF_INET6, tmp + 5, bin) == 1;
        return inet_pton(AF_INET, tmp, bin) == 1;
}

int addr_domain_check(const char *s, size_t len, int flags)
{
        const unsigned char *u = (const unsigned char *)s;
        size_t i = 0, label = 0;

        if (len == 0 || len > ADDR_DOMAIN_MAX)
                return 0;
        if (s[0] == '[')
                return literal_check(s, len);
        while (i < len) {
                if (u[i] == '.') {
                        /* no empty label, none ending in '-' */
                        if (label == 0 || u[i - 1] == '-' || i + 1 == len)
                                return 0;
                        label = 0;
                        i++;
                        continue;
                }
                if (u[i] >= 0x80) {
                        size_t n = addr_utf8_len(u + i, len - i);

                        if ((flags & ADDR_UTF8) == 0 || n == 0)
                                return 0;
                        i += n;
                        label += n;
                } else if (isalnum(u[i]) || u[i] == '_' ||
                           (u[i] == '-' && label > 0)) {
                        i++;
                        label++;
                } else {
                        return 0;
                }
                if (label > ADDR_LABEL_MAX)
                        return 0;
        }
        return u[len - 1] != '-';
}

int addr_domain_valid(const char *text, int flags)
{
        return addr_domain_check(text, strlen(text), flags);
}

/* domain_end - where the domain or literal at s ends (first byte that
 * cannot be part of one: '>', ',', ':', white space, NUL) */
static size_t domain_end(const char *s)
{
        size_t i = 0;

        if (s[0] == '[') {
                while (s[i] != '\0' && s[i] != ']' && s[i] != '>')
                        i++;
                return s[i] == ']' ? i + 1 : i;
        }
        while (s[i] != '\0' && strchr(">,: \t\r\n<@", s[i]) == NULL)
                i++;
        return i;
}

/* put_utf8 - the UTF-8 character at *pp into out; 0, or -1 with st when
 * UTF-8 is not allowed or the sequence is malformed */
static int put_utf8(const unsigned char **pp, int flags, struct buf *out,
                    struct status *st)
{
        size_t n = addr_utf8_len(*pp, strnlen((const char *)*pp, 4));

        if ((flags & ADDR_UTF8) == 0 || n == 0)
                return status_set(st, STATUS_SYNTAX,
                                  "8-bit character in address");
        buf_append(out, *pp, n);
        *pp += n;
        return 0;
}

/* parse_quoted - RFC 5321 Quoted-string at *pp, unquoted into out */
static int parse_quoted(const unsigned char **pp, int flags, struct buf *out,
                        struct status *st)
{
        const unsigned char *p = *pp + 1;

        while (*p != '"') {
                if (*p == '\0')
                        return status_set(st, STATUS_SYNTAX,
                                          "unbalanced quote in address");
                if (*p == '\\') {
                        /* quoted-pairSMTP: %d92 %d32-126 */
                        if (*++p < 32 || *p > 126)
                                return status_set(st, STATUS_SYNTAX, "bad "
                                                  "quoted character in "
                                                  "address");
                        buf_putc(out, *p++);
                } else if (*p >= 0x80) {
                        if (put_utf8(&p, flags, out, st) < 0)
                                return -1;
                } else if (*p < 32 || *p == 127) {
                        return status_set(st, STATUS_SYNTAX,
                                          "control character in address");
                } else {
                        buf_putc(out, *p++);
                }
                if (out->len > ADDR_LOCAL_MAX)
                        return status_set(st, STATUS_SYNTAX,
                                          "local part too long");
        }
        *pp = p + 1;
        return 0;
}

/* parse_local - the local part at *pp into out (unquoted); moves *pp past
 * it. Returns 0 or -1 with st. */
static int parse_local(const char **pp, int flags, struct buf *out,
                       struct status *st)
{
        const unsigned char *p = (const unsigned char *)*pp;

        if (*p == '"') {
                if (parse_quoted(&p, flags, out, st) < 0)
                        return -1;
                goto done;
        }
        while (*p != '\0' && *p != '@' && *p != '>') {
                if (*p >= 0x80) {
                        if (put_utf8(&p, flags, out, st) < 0)
                                return -1;
                } else if (addr_is_atext(*p) || *p == '.') {
                        buf_putc(out, *p++);
                } else if (*p == ' ' || *p == '\t') {
                        break;
                } else if (*p < 32 || *p == 127) {
                        return status_set(st, STATUS_SYNTAX,
                                          "control character in address");
                } else {
                        return status_set(st, STATUS_SYNTAX,
                                          "bad character '%c' in address",
                                          *p);
                }
                if (out->len > ADDR_LOCAL_MAX)
                        return status_set(st, STATUS_SYNTAX,
                                          "local part too long");
        }
done:
        if (out->len == 0)
                return status_set(st, STATUS_SYNTAX,
                                  "empty local part in address");
        *pp = (const char *)p;
        return 0;
}

/* parse_route - skip an RFC 5321 A-d-l ("@a,@b:") at *pp, checking each
 * domain; 0 or -1 */
static int parse_route(const char **pp, int flags, struct status *st)
{
        const char *p = *pp;

        for (;;) {
                size_t n;

                if (*p != '@')
                        return status_set(st, STATUS_SYNTAX,
                                          "malformed source route in address");
                p++;
                n = domain_end(p);
                if (!addr_domain_check(p, n, flags))
                        return status_set(st, STATUS_SYNTAX,
                                          "bad domain in source route");
                p += n;
                if (*p == ':')
                        break;
                if (*p != ',')
                        return status_set(st, STATUS_SYNTAX,
                                          "malformed source route in address");
                p++;
        }
        *pp = p + 1;
        return 0;
}

int addr_parse_path(const char *text, int flags, char **addr_r,
                    size_t *consumed_r, struct status *st)
{
        const char *p = text;
        int bracket;
        struct buf out;

        *addr_r = NULL;
        while (*p == ' ' || *p == '\t')
                p++;
        bracket = *p == '<';
        if (!bracket && (flags & ADDR_NO_BRACKETS) == 0)
                return status_set(st, STATUS_SYNTAX,
                                  "address must be in <>");
        if (bracket)
                p++;
        buf_init(&out, 0);
        if (bracket && *p == '>') {
                if ((flags & ADDR_NULL_OK) == 0)
                        return status_set(st, STATUS_SYNTAX,
                                          "null address not allowed here");
                p++;
                if (*p != '\0' && *p != ' ' && *p != '\t')
                        return status_set(st, STATUS_SYNTAX,
                                          "garbage after address");
                goto done;
        }
        if (bracket && *p == '@' && parse_route(&p, flags, st) < 0)
                goto fail;
        if (parse_local(&p, flags, &out, st) < 0)
                goto fail;
        if (*p == '@') {
                size_t n;

                p++;
                n = domain_end(p);
                if (!addr_domain_check(p, n, flags)) {
                        status_set(st, STATUS_SYNTAX, n == 0 ?
                                   "empty domain in address" :
                                   "bad domain in address");
                        goto fail;
                }
                buf_putc(&out, '@');
                buf_append(&out, p, n);
                p += n;
        } else if (memchr(out.data, '@', out.len) != NULL) {
                /* "a@b" without a domain could not be told from a@b */
                status_set(st, STATUS_SYNTAX, "quoted '@' in an address "
                           "without a domain");
                goto fail;
        }
        if (bracket) {
                if (*p != '>') {
                        status_set(st, STATUS_SYNTAX, *p == '\0' ?
                                   "unbalanced '<' in address" :
                                   "garbage in address");
                        goto fail;
                }
                p++;
        }
        if (*p != '\0' && *p != ' ' && *p != '\t') {
                status_set(st, STATUS_SYNTAX, "garbage after address");
                goto fail;
        }
        if (out.len > ADDR_MAX) {
                status_set(st, STATUS_SYNTAX, "address too long");
                goto fail;
        }
done:
        while (*p == ' ' || *p == '\t')
                p++;
        *consumed_r = (size_t)(p - text);
        *addr_r = out.data != NULL ? buf_steal(&out) : xstrdup("");
        return 0;
fail:
        buf_release(&out);
        return -1;
}

/* local_is_dot_atom - 1 if the n bytes at s need no quotes */
static int local_is_dot_atom(const char *s, size_t n)
{
        const unsigned char *u = (const unsigned char *)s;
        size_t i;

        if (n == 0 || u[0] == '.' || u[n - 1] == '.')
                return 0;
        for (i = 0; i < n; i++) {
                if (u[i] == '.') {
                        if (u[i + 1] == '.')
                                return 0;
                } else if (!addr_is_atext(u[i]) && u[i] < 0x80) {
                        return 0;
                }
        }
        return 1;
}

char *addr_external(const char *addr)
{
        const char *at = strrchr(addr, '@');
        size_t n = at != NULL ? (size_t)(at - addr) : strlen(addr);
        struct buf out;

        if (*addr == '\0' || local_is_dot_atom(addr, n))
                return xstrdup(addr);
        buf_init(&out, 0);
        buf_putc(&out, '"');
        for (size_t i = 0; i < n; i++) {
                if (addr[i] == '"' || addr[i] == '\\')
                        buf_putc(&out, '\\');
                buf_putc(&out, addr[i]);
        }
        buf_putc(&out, '"');
        if (at != NULL)
                buf_puts(&out, at);
        return buf_steal(&out);
}

int addr_split(const char *addr, char **local_r, char **domain_r)
{
        const char *at = strrchr(addr, '@');

        *local_r = *domain_r = NULL;
        if (*addr == '\0')
                return -1;
        if (at == NULL) {
                *local_r = xstrdup(addr);
                *domain_r = xstrdup("");
                return 0;
        }
        *local_r = xstrndup(addr, (size_t)(at - addr));
        *domain_r = addr_fold(at + 1);
        return 0;
}

/* extension_at - where the extension delimiter in addr is, or NULL */
static const char *extension_at(const char *addr, const char *delimiters)
{
        const char *at = strrchr(addr, '@');
        size_t n = at != NULL ? (size_t)(at - addr) : strlen(addr);
        size_t i;

        if (delimiters == NULL || *delimiters == '\0' || n == 0)
                return NULL;
        /* a delimiter first in the local part is not one (Postfix) */
        for (i = 1; i < n; i++)
                if (strchr(delimiters, addr[i]) != NULL)
                        return addr + i;
        return NULL;
}

char *addr_strip_extension(const char *addr, const char *delimiters)
{
        const char *d = extension_at(addr, delimiters);
        const char *at;

        if (d == NULL)
                return xstrdup(addr);
        at = strrchr(addr, '@');
        return xasprintf("%.*s%s", (int)(d - addr), addr,
                         at != NULL ? at : "");
}

char *addr_extension(const char *addr, const char *delimiters)
{
        const char *d = extension_at(addr, delimiters);
        const char *at;

        if (d == NULL)
                return NULL;
        at = strrchr(addr, '@');
        return xstrndup(d + 1, at != NULL ? (size_t)(at - d - 1) :
                        strlen(d + 1));
}

char *addr_fold(const char *addr)
{
        char *out = xstrdup(addr);

        for (char *p = out; *p != '\0'; p++)
                if ((unsigned char)*p < 0x80)
                        *p = (char)tolower((unsigned char)*p);
        return out;
}

char *addr_qualify(const char *addr, const char *origin)
{
        if (*addr == '\0' || strchr(addr, '@') != NULL || origin == NULL ||
            *origin == '\0')
                return xstrdup(addr);
        return xasprintf("%s@%s", addr, origin);
}
