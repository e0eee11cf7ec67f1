/* dsn_write.c - a delivery status notification into a new queue file
 * Used by: qmgr and the smtp client, through dsn_write() (dsn.h). Kept
 * apart from dsn.c so that composing a notice (and its tests) needs no
 * queue. Runs as mail_owner. */
#include <stdlib.h>

#include "buf.h"
#include "dsn.h"
#include "queue_file.h"

int dsn_write(const struct dsn_msg *m, const struct dsn_rcpt *rcpts,
              size_t n, struct queue_writer *w, struct status *st)
{
        struct buf out;
        int eight_bit = 0, r;

        buf_init(&out, 0);
        if (dsn_compose(m, rcpts, n, &out, st) < 0) {
                buf_release(&out);
                return -1;
        }
        for (size_t i = 0; i < out.len; i++)
                if ((unsigned char)out.data[i] >= 0x80) {
                        eight_bit = 1;
                        break;
                }
        /* RFC 5321 4.5.5: a notice is sent with the null reverse-path, so
         * a notice about it can never be made */
        queue_writer_sender(w, "");
        queue_writer_recipient(w, m->sender, NULL, QUEUE_NOTIFY_NEVER);
        queue_writer_attr(w, "log_ident", m->queue_id);
        if (eight_bit)
                queue_writer_attr(w, "body", "8BITMIME");
        r = queue_writer_data(w, out.data, out.len, st);
        buf_release(&out);
        return r;
}
