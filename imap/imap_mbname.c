/* imap_mbname.c - mailbox names on the wire: modified UTF-7 or UTF-8
 * Used by: the imap session (imap_mbname.h). IMAP4rev1 names go through
 * mutf7.h; IMAP4rev2 names are checked against Net-Unicode's rules (RFC
 * 5198 section 2: UTF-8 without C0 or C1 control characters, DEL, or
 * the line and paragraph separators U+2028 and U+2029) and composed into
 * NFC (imap_nfc.h). Output: an atom when the name is one, else a quoted
 * string; RFC 9051 appendix A says UTF-8 in a quoted string only after
 * ENABLE IMAP4rev2. Parses client input. */
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "imap_mbname.h"
#include "imap_nfc.h"
#include "mutf7.h"

/* has_controls - 1 if the valid UTF-8 text holds a character Net-Unicode
 * leaves out of names; valid UTF-8 puts these bytes only at the start of
 * a character */
static int has_controls(const unsigned char *p, size_t len)
{
        for (size_t i = 0; i < len; i++) {
                if (p[i] < 0x20 || p[i] == 0x7f)
                        return 1;
                /* U+0080..U+009F */
                if (p[i] == 0xc2 && i + 1 < len && p[i + 1] < 0xa0)
                        return 1;
                /* U+2028, U+2029 */
                if (p[i] == 0xe2 && i + 2 < len && p[i + 1] == 0x80 &&
                    (p[i + 2] == 0xa8 || p[i + 2] == 0xa9))
                        return 1;
        }
        return 0;
}

int imap_mbname_decode(const char *wire, int utf8, struct buf *out,
                       const char **error_r)
{
        size_t len = strlen(wire);

        if (!utf8) {
                if (mutf7_decode(wire, out) < 0) {
                        *error_r = "Mailbox name is not valid mUTF-7";
                        return -1;
                }
                return 0;
        }
        if (!mutf7_utf8_valid(wire, len)) {
                *error_r = "[CANNOT] Mailbox name is not valid UTF-8";
                return -1;
        }
        if (has_controls((const unsigned char *)wire, len)) {
                *error_r = "[CANNOT] Mailbox name contains control "
                           "characters";
                return -1;
        }
        if (imap_nfc(wire, len, out) < 0) {
                *error_r = "[CANNOT] Mailbox name is too long";
                return -1;
        }
        return 0;
}

void imap_mbname_pattern(const char *wire, int utf8, struct buf *out)
{
        const char *error;

        if (imap_mbname_decode(wire, utf8, out, &error) < 0)
                buf_puts(out, wire);
}

/* is_atom - 1 if s can go out as an atom (ASTRING-CHAR, RFC 9051
 * section 9; NIL would read as NIL) */
static int is_atom(const char *s, size_t len)
{
        if (len == 0 || strcasecmp(s, "NIL") == 0)
                return 0;
        for (size_t i = 0; i < len; i++) {
                unsigned char ch = (unsigned char)s[i];
                if (ch <= 0x20 || ch >= 0x7f || strchr("(){%*\"\\", ch))
                        return 0;
        }
        return 1;
}

void imap_write_string(struct buf *out, const char *s, size_t len, int utf8)
{
        int quotable = !utf8 || mutf7_utf8_valid(s, len);

        for (size_t i = 0; quotable && i < len; i++) {
                unsigned char ch = (unsigned char)s[i];
                if (ch == '\r' || ch == '\n' || ch == '\0' ||
                    (ch >= 0x80 && !utf8))
                        quotable = 0;
        }
        if (!quotable) {
                buf_printf(out, "{%zu}\r\n", len);
                buf_append(out, s, len);
                return;
        }
        buf_putc(out, '"');
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '"' || s[i] == '\\')
                        buf_putc(out, '\\');
                buf_putc(out, s[i]);
        }
        buf_putc(out, '"');
}

void imap_mbname_write(struct buf *out, const char *name, int utf8)
{
        struct buf m;

        if (utf8) {
                if (is_atom(name, strlen(name)))
                        buf_puts(out, name);
                else
                        imap_write_string(out, name, strlen(name), 1);
                return;
        }
        buf_init(&m, 0);
        if (mutf7_encode(name, &m) < 0)
                buf_puts(&m, name);
        if (is_atom(buf_cstr(&m), m.len))
                buf_append(out, m.data, m.len);
        else
                imap_write_string(out, buf_cstr(&m), m.len, 0);
        buf_release(&m);
}
