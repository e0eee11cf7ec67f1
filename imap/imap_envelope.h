/* imap_envelope.h - ENVELOPE, BODY and BODYSTRUCTURE from the MIME tree
 * Used by: the IMAP session (FETCH). Renders RFC 3501 7.4.2 items as Dovecot
 * does, byte for byte (same defaults, same quoting, same extension data), so
 * clients that cached Dovecot's answers see no change. */
#ifndef YUBIN_IMAP_ENVELOPE_H
#define YUBIN_IMAP_ENVELOPE_H

#include "buf.h"
#include "mime.h"

/* imap_envelope_write - append the parenthesized ENVELOPE of the message whose
 * header is part's header (m->root, or the child of a message/rfc822 part):
 * date, subject, from, sender, reply-to, to, cc, bcc, in-reply-to,
 * message-id; sender and reply-to default to from; NIL for what is absent.
 * Returns 0, or -1 when out's cap was reached. */
int imap_envelope_write(struct buf *out, const struct mime_message *m,
                        const struct mime_part *part);
/* imap_envelope_write_body - append part's parenthesized BODYSTRUCTURE
 * (extended != 0:
 * with body MD5, disposition, language and location) or BODY (extended ==
 * 0) list; part is usually m->root. Returns 0, or -1 at out's cap. */
int imap_envelope_write_body(struct buf *out, const struct mime_message *m,
                             const struct mime_part *part, int extended);

/* imap_envelope_append_nstring - s as an IMAP nstring: NIL for NULL, a
 * quoted string when it can be one, else a literal; 0, or -1 at the cap */
int imap_envelope_append_nstring(struct buf *out, const char *s);
/* imap_envelope_append_nstring_nolf - the same with line breaks removed
 * (a break before white space dropped, any other made a space) */
int imap_envelope_append_nstring_nolf(struct buf *out, const char *s);
/* imap_envelope_append_human - s[0..len) for people (subject, names): runs
 * of white space made one space and trimmed, NUL as 0x80; quoted when
 * nothing had to change, else a literal */
int imap_envelope_append_human(struct buf *out, const char *s, size_t len);

/* imap_envelope_first_mailbox - the local part (addr-mailbox) of the
 * first address in an address field's value (RFC 5256 SORT FROM, TO,
 * CC), appended to out; 1 found, 0 none */
int imap_envelope_first_mailbox(const char *value, size_t len,
                                struct buf *out);

/* imap_envelope_addresses_text - the addresses of an address field's
 * value as parsed for ENVELOPE, written "name <mailbox@domain>" or
 * "mailbox@domain" and joined by ", " (comments and odd spacing gone),
 * appended to out: what SEARCH FROM/TO/CC/BCC also match against;
 * 1 some address, 0 none */
int imap_envelope_addresses_text(const char *value, size_t len,
                                 struct buf *out);

#endif
