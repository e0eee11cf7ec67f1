/* rfc2047.h - RFC 2047 encoded words and charsets, to UTF-8
 * Used by: mime (decoded header values, RFC 2231 parameters), imap SEARCH.
 * Charsets go through iconv (glibc knows ISO-2022-JP, Shift_JIS, EUC-JP,
 * ISO-8859-*, Windows-125x, ...). Bytes that do not convert become U+FFFD;
 * malformed or unconvertible encoded words are left as they are. */
#ifndef YUBIN_RFC2047_H
#define YUBIN_RFC2047_H

#include <stddef.h>

#include "buf.h"

/* rfc2047_decode - append in[0..len) to out as UTF-8: encoded words
 * (=?charset?B|Q?text?=) decoded, white space between adjacent encoded words
 * dropped, folding ([CR]LF) removed, other text made valid UTF-8. Returns 0,
 * or -1 when out's cap was reached. */
int rfc2047_decode(struct buf *out, const char *in, size_t len);
/* rfc2047_to_utf8 - append data[0..len) in charset converted to UTF-8;
 * returns 0, -1 when out's cap was reached, -2 when the charset is unknown
 * (nothing appended) */
int rfc2047_to_utf8(struct buf *out, const char *charset, const char *data,
                    size_t len);
/* rfc2047_utf8_clean - append data[0..len), each byte that is not part of
 * valid UTF-8 (and each NUL) replaced by U+FFFD; 0, or -1 at the cap */
int rfc2047_utf8_clean(struct buf *out, const char *data, size_t len);

#endif
