/* imap_nfc.h - Unicode Normalization Form C for mailbox names
 * Used by: imap_mbname.c. IMAP4rev2 mailbox names are Net-Unicode (RFC
 * 9051 section 5.1, RFC 5198), which is NFC: a name a client sends in
 * another form (decomposed accents or kana voicing marks, as some input
 * methods write them) is composed before it is looked up or created, so
 * that each name has one spelling. The Unicode data and algorithm are
 * GNU libunistring's. Parses client input. */
#ifndef YUBIN_IMAP_NFC_H
#define YUBIN_IMAP_NFC_H

#include <stddef.h>

#include "buf.h"

/* longest text imap_nfc() takes, in bytes: a mailbox name is at most
 * MAILDIR_NAME_MAX; the bound keeps a client's long run of combining
 * marks cheap to reorder */
#define IMAP_NFC_MAX    4096

/* imap_nfc - append the NFC form of the UTF-8 text s[0..len) to out (UAX
 * #15: canonical decomposition, canonical ordering, canonical
 * composition). Returns 0, or -1 (out left as it was) when s is not
 * valid UTF-8 or longer than IMAP_NFC_MAX. */
int imap_nfc(const char *s, size_t len, struct buf *out);

#endif
