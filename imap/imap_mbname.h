/* imap_mbname.h - mailbox names on the wire: modified UTF-7 or UTF-8
 * Used by: the imap session (imap_cmd.c reads and writes names in the
 * client's mode, and other strings with imap_write_string; imap_list.c
 * reads LIST patterns) and the fuzz target
 * fuzz_imap_parser. Inside Yubin a folder name is UTF-8. An IMAP4rev1
 * client sends and sees it in modified UTF-7 (RFC 9051 appendix A.1);
 * after ENABLE IMAP4rev2 it is UTF-8 both ways (RFC 9051 section 5.1),
 * in Net-Unicode (RFC 5198): no control characters, and in NFC, into
 * which a name sent otherwise is converted (imap_nfc.h). Parses client
 * input. */
#ifndef YUBIN_IMAP_MBNAME_H
#define YUBIN_IMAP_MBNAME_H

#include "buf.h"

/* imap_mbname_decode - append the UTF-8 name for the mailbox argument
 * wire (NUL-terminated, as sent) to out: utf8 0 takes canonical modified
 * UTF-7, utf8 1 takes Net-Unicode UTF-8 and writes its NFC form. 0, or
 * -1 with *error_r (a fixed text; out left as it was). */
int imap_mbname_decode(const char *wire, int utf8, struct buf *out,
                       const char **error_r);
/* imap_mbname_pattern - append the UTF-8 form of a LIST pattern (or
 * reference + pattern) to out, as imap_mbname_decode would, except that
 * a pattern it refuses is kept as sent (it then matches no folder) */
void imap_mbname_pattern(const char *wire, int utf8, struct buf *out);
/* imap_mbname_write - append the UTF-8 folder name as an astring the
 * client reads: an atom when it can be one, else a quoted string, in
 * modified UTF-7 (utf8 0) or UTF-8 (utf8 1; a literal for bytes a
 * quoted string cannot carry) */
void imap_mbname_write(struct buf *out, const char *name, int utf8);
/* imap_write_string - append s (len bytes) as a quoted string, or as a
 * literal when it holds bytes a quoted string cannot: CR, LF, NUL, and
 * 8-bit bytes unless utf8 allows valid UTF-8 (RFC 9051's QUOTED-CHAR).
 * For any string a reply carries, not only folder names. */
void imap_write_string(struct buf *out, const char *s, size_t len, int utf8);

#endif
