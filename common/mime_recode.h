/* mime_recode.h - a message with some MIME parts in another transfer
 * encoding
 * Used by: the IMAP session (binary APPEND: parts with NUL stored as
 * base64, imap_binary.c) and the smtp client (8-bit parts sent as
 * quoted-printable to a server without 8BITMIME, smtp_downgrade.c).
 * Only leaf parts whose Content-Transfer-Encoding is an identity one
 * (none, 7bit, 8bit, binary) are re-encoded; their field is made to
 * name the new encoding where it stood (others dropped) or added; every
 * other byte of the message is copied as it is. Parses message content
 * (client data). */
#ifndef YUBIN_MIME_RECODE_H
#define YUBIN_MIME_RECODE_H

#include <stddef.h>

#include "buf.h"
#include "mime.h"

/* base64 and quoted-printable lines are at most this long (RFC 2045) */
#define MIME_RECODE_LINE        76

/* mime_recode_encoder - append body[0..len) encoded to out, lines ended
 * by nl, the last one without */
typedef void mime_recode_encoder(struct buf *out, const char *body,
                                 size_t len, const char *nl);

struct mime_recode {
        const char *cte;                /* the encoding the parts get */
        int non_mime;                   /* also a part without MIME
                                         * fields (it gets MIME-Version) */
        /* want - 1 when a leaf body with an identity encoding must be
         * re-encoded */
        int (*want)(const char *body, size_t len);
        mime_recode_encoder *encode;
};

/* mime_recode - the message m with the leaves spec selects re-encoded,
 * appended to out; how many parts were (0: out untouched) */
size_t mime_recode(const struct mime_message *m,
                   const struct mime_recode *spec, struct buf *out);
/* mime_recode_cte - "base64" or "quoted-printable" when part declares
 * that encoding, else NULL */
const char *mime_recode_cte(const struct mime_message *m,
                            const struct mime_part *part);
/* mime_recode_header - part's header with its Content-Transfer-Encoding
 * field saying cte (MIME-Version added first when add_mime), lines as
 * they are, appended to out */
void mime_recode_header(const struct mime_message *m,
                        const struct mime_part *part, const char *cte,
                        int add_mime, struct buf *out);

mime_recode_encoder mime_recode_base64;
mime_recode_encoder mime_recode_qp;

#endif
