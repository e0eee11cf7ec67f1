/* imap_binary.h - binary content in and out (RFC 3516 4.4, 4.2)
 * Used by: APPEND (imap_cmd_append.c), FETCH BINARY[] and BINARY.SIZE[]
 * of a whole message (imap_fetch.c). A <literal8> may carry NULs, which
 * neither a Maildir file read by other tools nor a FETCH BODY[] literal
 * (RFC 3501 4.3) can hold. RFC 3516 lets the server change the
 * content-transfer-encoding of appended data when nothing is lost, and
 * asks that BODY[] show a CTE the base protocol allows (section 6): so
 * each leaf MIME part whose body holds a NUL is stored as base64, its
 * bytes unchanged (BINARY[] gives them back exactly; BODYSTRUCTURE and
 * BODY[] show base64). A NUL that no re-encoding can carry (in a header,
 * between the parts of a multipart, in a part already base64 or
 * quoted-printable) makes the APPEND fail with NO [UNKNOWN-CTE], as
 * RFC 3516 4.4 asks when the content cannot be stored. BINARY[] of a
 * whole message decodes each base64 or quoted-printable leaf and makes
 * its field say "binary" (as Dovecot answers), so a MIME part appended
 * as binary comes back byte for byte. Parses client data. */
#ifndef YUBIN_IMAP_BINARY_H
#define YUBIN_IMAP_BINARY_H

#include <stddef.h>

#include "buf.h"
#include "mime_recode.h"

/* base64 lines are this long, as RFC 2045 6.8 allows at most */
#define IMAP_BINARY_LINE        MIME_RECODE_LINE

/* imap_binary_encode - make data[0..len) (borrowed) storable: 0 when it
 * holds no NUL (store it as it is; out untouched), 1 with the message to
 * store appended to out (each leaf part with a NUL in its body now
 * "Content-Transfer-Encoding: base64", plus "MIME-Version: 1.0" where the
 * part's header had no MIME field), -1 when a NUL lies where no
 * re-encoding can carry it (out then holds nothing of use) */
int imap_binary_encode(const char *data, size_t len, struct buf *out);

struct mime_message;

/* imap_binary_decode - BINARY[] of the whole message m: 1 with it
 * appended to out (CRLF line ends; each base64 or quoted-printable leaf
 * part decoded, its Content-Transfer-Encoding field made "binary"), or 0
 * when no part is encoded: the message is its own BINARY[] (out
 * untouched) */
int imap_binary_decode(const struct mime_message *m, struct buf *out);

#endif
