/* dsn.c - compose RFC 3464 delivery status notifications
 * Used by: qmgr (bounces, delay warnings), the smtp client (remote
 * failures); see dsn.h. The whole notice is built in memory: the human
 * part is short, the report is one block per recipient, and the returned
 * original is bounded by bounce_size_limit (beyond it only the header is
 * returned, so a notice about a 50 MB message stays small). The original
 * is read through the caller's callback, so this module never touches the
 * queue file format. Runs as mail_owner; the original's content is
 * untrusted (it is copied, never interpreted beyond finding the end of its
 * header). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "dsn.h"
#include "mem.h"

#define DSN_HEADER_MAX  (1024 * 1024)   /* of the original's header */
#define DSN_DIAG_MAX    900             /* bytes of one diagnostic */

const char *dsn_action_name(enum dsn_action action)
{
        switch (action) {
        case DSN_ACTION_FAILED:
                return "failed";
        case DSN_ACTION_DELAYED:
                return "delayed";
        case DSN_ACTION_DELIVERED:
                return "delivered";
        case DSN_ACTION_RELAYED:
                return "relayed";
        case DSN_ACTION_EXPANDED:
                return "expanded";
        }
        return "failed";
}

void dsn_date(struct buf *out, time_t t)
{
        static const char *const days[] = { "Sun", "Mon", "Tue", "Wed",
                                            "Thu", "Fri", "Sat" };
        static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
                                              "May", "Jun", "Jul", "Aug",
                                              "Sep", "Oct", "Nov", "Dec" };
        struct tm tm;
        long off;

        localtime_r(&t, &tm);
        off = tm.tm_gmtoff / 60;
        buf_printf(out, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
                   days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
                   tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
                   off < 0 ? '-' : '+', (off < 0 ? -off : off) / 60,
                   (off < 0 ? -off : off) % 60);
}

/* one_line - text with CR/LF/controls turned into spaces and cut to max,
 * so a diagnostic cannot inject header lines */
static void put_one_line(struct buf *out, const char *text, size_t max)
{
        size_t n = 0;

        for (const unsigned char *p = (const unsigned char *)text;
             *p != '\0' && n < max; p++, n++)
                buf_putc(out, *p < 32 || *p == 127 ? ' ' : *p);
}

/* original - the original content, cut to its header when it is too big
 * or only the header is wanted; sets *hdrs_only_r and *eight_bit_r */
static int read_original(const struct dsn_msg *m, int want_hdrs,
                         struct buf *orig, int *hdrs_only_r,
                         int *eight_bit_r, struct status *st)
{
        const char *data;
        size_t len, header_end = 0;
        int first = 1, r, have_end = 0;

        *hdrs_only_r = want_hdrs;
        *eight_bit_r = 0;
        if (m->read == NULL)
                return 0;
        while ((r = m->read(m->read_ctx, first, &data, &len, st)) > 0) {
                first = 0;
                buf_append(orig, data, len);
                if (!have_end) {
                        const char *e;

                        if (orig->len >= 1 && orig->data[0] == '\n') {
                                have_end = 1;
                                header_end = 0;
                        } else if ((e = memmem(orig->data, orig->len, "\n\n",
                                               2)) != NULL) {
                                have_end = 1;
                                header_end = (size_t)(e - orig->data) + 1;
                        }
                }
                if (have_end && (*hdrs_only_r ||
                                 (m->size_limit > 0 &&
                                  (long long)orig->len > m->size_limit))) {
                        *hdrs_only_r = 1;
                        break;
                }
                if (!have_end && orig->len > DSN_HEADER_MAX)
                        break;
        }
        if (r < 0)
                return -1;
        if (!have_end) {
                /* no body: all of it is header (cut to whole lines) */
                if (orig->len > DSN_HEADER_MAX) {
                        char *nl = memrchr(orig->data, '\n', DSN_HEADER_MAX);

                        buf_truncate(orig, nl != NULL ?
                                     (size_t)(nl - orig->data) + 1 : 0);
                        *hdrs_only_r = 1;
                }
                header_end = orig->len;
        }
        if (*hdrs_only_r)
                buf_truncate(orig, header_end);
        for (size_t i = 0; i < orig->len; i++)
                if ((unsigned char)orig->data[i] >= 0x80) {
                        *eight_bit_r = 1;
                        break;
                }
        return 0;
}

/* human_part - the text/plain part, in the mail system's own words */
static void human_part(struct buf *out, const struct dsn_msg *m,
                       const struct dsn_rcpt *rcpts, size_t n,
                       enum dsn_action kind, int hdrs_only)
{
        buf_printf(out, "This is the mail system at host %s.\n\n",
                   m->myhostname);
        switch (kind) {
        case DSN_ACTION_FAILED:
                buf_puts(out, "Your message could not be delivered to one or "
                         "more of its recipients.\n");
                buf_puts(out, hdrs_only ?
                         "The header of your message is attached below.\n" :
                         "Your message is attached below.\n");
                break;
        case DSN_ACTION_DELAYED:
                buf_puts(out, "Your message has not been delivered yet to "
                         "one or more of its recipients.\n"
                         "Delivery will be tried again; you need not send "
                         "it again.\n");
                break;
        default:
                buf_puts(out, "Your message was delivered to the recipients "
                         "listed below, as you asked to be told.\n");
                break;
        }
        buf_printf(out, "\nIf you need help, write to %s and include this "
                   "report.\n\n                   The mail system\n\n",
                   m->postmaster != NULL ? m->postmaster : "postmaster");
        for (size_t i = 0; i < n; i++) {
                const struct dsn_rcpt *r = &rcpts[i];
                char *ext = addr_external(r->addr);

                buf_printf(out, "<%s>: ", ext);
                free(ext);
                if (r->remote_mta != NULL) {
                        buf_puts(out, "host ");
                        put_one_line(out, r->remote_mta, 255);
                        buf_puts(out, " said: ");
                }
                if (r->diag != NULL)
                        put_one_line(out, r->diag, DSN_DIAG_MAX);
                else
                        buf_puts(out, dsn_action_name(r->action));
                buf_puts(out, "\n\n");
        }
}

/* report_part - the message/delivery-status fields (RFC 3464 2.2, 2.3) */
static void report_part(struct buf *out, const struct dsn_msg *m,
                        const struct dsn_rcpt *rcpts, size_t n, time_t now)
{
        char *ext;

        buf_printf(out, "Reporting-MTA: dns; %s\n", m->myhostname);
        buf_printf(out, "X-Yubin-Queue-ID: %s\n", m->queue_id);
        ext = addr_external(m->sender);
        buf_puts(out, "X-Yubin-Sender: rfc822; ");
        put_one_line(out, ext, ADDR_MAX);
        buf_putc(out, '\n');
        free(ext);
        if (m->envid != NULL) {
                buf_puts(out, "Original-Envelope-Id: ");
                put_one_line(out, m->envid, 100);
                buf_putc(out, '\n');
        }
        if (m->arrival > 0) {
                buf_puts(out, "Arrival-Date: ");
                dsn_date(out, m->arrival);
                buf_putc(out, '\n');
        }
        for (size_t i = 0; i < n; i++) {
                const struct dsn_rcpt *r = &rcpts[i];

                buf_putc(out, '\n');
                ext = addr_external(r->addr);
                buf_puts(out, "Final-Recipient: rfc822; ");
                put_one_line(out, ext, ADDR_MAX);
                buf_putc(out, '\n');
                free(ext);
                if (r->orcpt != NULL) {
                        /* RFC 3464 2.3.1: the type, then the address
                         * without its xtext encoding */
                        const char *semi = strchr(r->orcpt, ';');
                        char *dec = NULL;

                        if (semi != NULL &&
                            addr_xtext_decode(semi + 1, &dec) == 0) {
                                buf_printf(out, "Original-Recipient: %.*s;",
                                           (int)(semi - r->orcpt),
                                           r->orcpt);
                                put_one_line(out, dec, ADDR_MAX);
                        } else {
                                buf_puts(out, "Original-Recipient: ");
                                put_one_line(out, r->orcpt, ADDR_MAX);
                        }
                        buf_putc(out, '\n');
                        free(dec);
                }
                buf_printf(out, "Action: %s\n", dsn_action_name(r->action));
                buf_puts(out, "Status: ");
                put_one_line(out, r->status != NULL ? r->status :
                             r->action == DSN_ACTION_FAILED ? "5.0.0" :
                             r->action == DSN_ACTION_DELAYED ? "4.0.0" :
                             "2.0.0", 16);
                buf_putc(out, '\n');
                if (r->remote_mta != NULL) {
                        buf_puts(out, "Remote-MTA: dns; ");
                        put_one_line(out, r->remote_mta, 255);
                        buf_putc(out, '\n');
                }
                if (r->diag != NULL) {
                        buf_printf(out, "Diagnostic-Code: %s; ",
                                   r->diag_type != NULL ? r->diag_type :
                                   "X-Yubin");
                        put_one_line(out, r->diag, DSN_DIAG_MAX);
                        buf_putc(out, '\n');
                }
                buf_puts(out, "Last-Attempt-Date: ");
                dsn_date(out, r->last_attempt > 0 ? r->last_attempt :
                             now);
                buf_putc(out, '\n');
                if (r->action == DSN_ACTION_DELAYED && r->retry_until > 0) {
                        buf_puts(out, "Will-Retry-Until: ");
                        dsn_date(out, r->retry_until);
                        buf_putc(out, '\n');
                }
        }
}

int dsn_compose(const struct dsn_msg *m, const struct dsn_rcpt *rcpts,
                size_t n, struct buf *out, struct status *st)
{
        static unsigned long counter;
        enum dsn_action kind;
        struct buf orig;
        time_t now = time(NULL);
        char boundary[256];
        char *to;
        int hdrs_only, eight_bit;

        if (m->sender == NULL || *m->sender == '\0' || n == 0)
                return status_set(st, STATUS_PERM,
                                  "dsn: no sender or no recipients to report");
        kind = rcpts[0].action;
        for (size_t i = 0; i < n; i++)
                if (rcpts[i].action == DSN_ACTION_FAILED ||
                    (rcpts[i].action == DSN_ACTION_DELAYED &&
                     kind != DSN_ACTION_FAILED))
                        kind = rcpts[i].action;
        buf_init(&orig, 0);
        if (read_original(m, m->ret_hdrs || kind != DSN_ACTION_FAILED, &orig,
                          &hdrs_only, &eight_bit, st) < 0) {
                buf_release(&orig);
                return -1;
        }
        counter++;
        snprintf(boundary, sizeof(boundary), "%s.%lld.%lu/%s", m->queue_id,
                 (long long)now, counter, m->myhostname);

        to = addr_external(m->sender);
        buf_puts(out, "From: MAILER-DAEMON@");
        buf_printf(out, "%s (%s Mail Delivery System)\n", m->myhostname,
                   m->mail_name != NULL ? m->mail_name : "Yubin");
        buf_puts(out, "To: ");
        put_one_line(out, to, ADDR_MAX);
        buf_putc(out, '\n');
        free(to);
        buf_printf(out, "Subject: %s\n",
                   kind == DSN_ACTION_FAILED ?
                   "Undelivered Mail Returned to Sender" :
                   kind == DSN_ACTION_DELAYED ?
                   "Delayed Mail (still being retried)" :
                   "Successful Mail Delivery Report");
        buf_puts(out, "Date: ");
        dsn_date(out, now);
        buf_printf(out, "\nMessage-ID: <%lld.%s.%lu.%ld@%s>\n",
                   (long long)now, m->queue_id, counter, (long)getpid(),
                   m->myhostname);
        buf_puts(out, "Auto-Submitted: auto-replied\n");
        buf_puts(out, "MIME-Version: 1.0\n");
        buf_printf(out, "Content-Type: multipart/report; "
                   "report-type=delivery-status;\n\tboundary=\"%s\"\n",
                   boundary);
        if (eight_bit)
                buf_puts(out, "Content-Transfer-Encoding: 8bit\n");
        buf_puts(out, "\nThis is a MIME-encapsulated message.\n\n");

        buf_printf(out, "--%s\nContent-Description: Notification\n"
                   "Content-Type: text/plain; charset=us-ascii\n\n",
                   boundary);
        human_part(out, m, rcpts, n, kind, hdrs_only);

        buf_printf(out, "--%s\nContent-Description: Delivery report\n"
                   "Content-Type: message/delivery-status\n\n", boundary);
        report_part(out, m, rcpts, n, now);

        if (m->read != NULL) {
                buf_printf(out, "\n--%s\n", boundary);
                if (hdrs_only)
                        buf_puts(out, "Content-Description: Undelivered "
                                 "Message Headers\n"
                                 "Content-Type: text/rfc822-headers\n");
                else
                        buf_puts(out, "Content-Description: Undelivered "
                                 "Message\nContent-Type: message/rfc822\n");
                if (eight_bit)
                        buf_puts(out, "Content-Transfer-Encoding: 8bit\n");
                buf_putc(out, '\n');
                buf_append(out, orig.data != NULL ? orig.data : "", orig.len);
                if (orig.len > 0 && orig.data[orig.len - 1] != '\n')
                        buf_putc(out, '\n');
        }
        buf_printf(out, "\n--%s--\n", boundary);
        buf_release(&orig);
        return 0;
}
