/* pop3_retr.h - a message as RETR and TOP send it
 * Used by: the pop3 session (pop3_session.c) and its unit test. Turns a
 * stored message (LF or CRLF line ends) into RFC 1939's multi-line form:
 * every LF not already preceded by CR goes out as CR LF, a line starting
 * with "." gets another one in front (byte stuffing), a last line without
 * a line end gets CR LF, and the terminating ".CRLF" follows. The body
 * bytes sent (the message with CRLF line ends) are exactly the size LIST
 * reports. Works in slices, so that a large message is streamed as the
 * client reads: resumable, state in struct pop3_retr. Runs as the mailbox
 * owner; reads message files only. */
#ifndef YUBIN_POP3_RETR_H
#define YUBIN_POP3_RETR_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct pop3_retr {
        const char *data;       /* the message, borrowed */
        size_t len;             /* what will be sent of it (TOP: less) */
        size_t off;             /* next input byte */
        int bol;                /* at the beginning of a line */
        int prev_cr;            /* the last byte sent was CR */
        int done;               /* the terminator is out */
        uint64_t octets;        /* message bytes sent, before stuffing */
};

/* pop3_retr_init - send all of data (RETR), or with top_lines >= 0 the
 * header, its blank line and that many body lines (TOP) */
void pop3_retr_init(struct pop3_retr *r, const char *data, size_t len,
                    long top_lines);
/* pop3_retr_fill - append the next output to out, at least (about) max
 * bytes unless the end comes first; returns 1 when the terminator has
 * been appended, else 0 */
int pop3_retr_fill(struct pop3_retr *r, struct buf *out, size_t max);

/* pop3_retr_top_len - how many bytes of data (len) TOP with lines body
 * lines sends: the header with its blank line, then up to lines lines */
size_t pop3_retr_top_len(const char *data, size_t len, unsigned long lines);

#endif
