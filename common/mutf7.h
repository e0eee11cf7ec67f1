/* mutf7.h - IMAP modified UTF-7 (RFC 3501 section 5.1.3) <-> UTF-8
 * Mailbox names travel as UTF-8 inside Yubin; on disk (Maildir++ folder
 * directories, the subscriptions file) they are kept in modified UTF-7,
 * as Dovecot keeps them. Both directions are strict: input that another
 * implementation could not read back the same way is refused. */
#ifndef YUBIN_MUTF7_H
#define YUBIN_MUTF7_H

#include <stddef.h>

#include "buf.h"

/* mutf7_encode - append the modified UTF-7 form of the NUL-terminated UTF-8
 * string utf8 to out. Returns 0, or -1 if utf8 is not valid UTF-8 or
 * contains U+0000 (out is then left as it was). */
int mutf7_encode(const char *utf8, struct buf *out);

/* mutf7_decode - append the UTF-8 form of the NUL-terminated modified UTF-7
 * string mutf7 to out. Returns 0, or -1 if the input is not canonical
 * modified UTF-7: bytes outside 0x20-0x7e, an unterminated or empty shift,
 * a bad base64 character, non-zero padding bits, a shifted printable ASCII
 * character, a broken surrogate pair, an encoded NUL, or two adjacent
 * shifted runs (out is then left as it was). */
int mutf7_decode(const char *mutf7, struct buf *out);

/* mutf7_valid - 1 if s is canonical modified UTF-7, else 0 */
int mutf7_valid(const char *s);

/* mutf7_utf8_valid - 1 if the len bytes at s are valid UTF-8 (shortest
 * forms, no surrogates, nothing above U+10FFFF, no NUL), else 0 */
int mutf7_utf8_valid(const char *s, size_t len);

#endif
