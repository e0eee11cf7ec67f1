/* qmgr_log.c - the queue manager's log lines, each built in one place
 * Used by: qmgr_message.c, qmgr_bounce.c. Postfix's shapes, so that
 * pflogsumm counts deliveries, deferrals and bounces:
 *   ID: from=<sender>, size=N, nrcpt=N (queue active)
 *   ID: to=<rcpt>, orig_to=<alias>, relay=local, delay=0.12,
 *       delays=0.05/0.01/0/0.06, dsn=2.0.0, status=sent (delivered to maildir)
 *   ID: to=<rcpt>, relay=host[addr]:port, conn_use=2, delay=... (the
 *       smtp client's second message over one connection)
 *   ID: from=<sender>, status=expired, returned to sender
 *   ID: removed
 * delays= are: before qmgr (arrival to activation), in qmgr (activation
 * to the request), connection set-up (0: a local socket), delivery. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "addr.h"
#include "log.h"
#include "mem.h"
#include "qmgr.h"

double qmgr_now(void)
{
        struct timeval tv;

        gettimeofday(&tv, NULL);
        return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

void qmgr_log_delay(char *out, size_t size, double secs)
{
        int prec = secs < 1 ? 2 : secs < 9.95 ? 1 : 0;
        char *p;

        if (secs < 0.005) {
                snprintf(out, size, "0");
                return;
        }
        snprintf(out, size, "%.*f", prec, secs);
        if (strchr(out, '.') == NULL)
                return;
        p = out + strlen(out);
        while (p > out && p[-1] == '0')
                *--p = '\0';
        if (p > out && p[-1] == '.')
                p[-1] = '\0';
}

void qmgr_log_active(const struct qmgr_msg *msg)
{
        char *from = addr_external(queue_file_sender(msg->qf));

        log_info("%s: from=<%s>, size=%lld, nrcpt=%zu (queue active)",
                 msg->id, from, queue_file_size(msg->qf),
                 queue_file_rcpt_count(msg->qf));
        free(from);
}

void qmgr_log_rcpt(const struct qmgr_msg *msg, const char *to,
                   const char *orig_to, const char *relay, double sent_at,
                   double done_at, const char *code, const char *status,
                   const char *text)
{
        char total[32], a[32], b[32], d[32];
        char *to_ext = addr_external(to), *orig = NULL;

        if (orig_to != NULL && strcasecmp(orig_to, to) != 0) {
                char *o = addr_external(orig_to);

                orig = xasprintf("orig_to=<%s>, ", o);
                free(o);
        }
        if (sent_at < msg->activated)
                sent_at = msg->activated;
        if (done_at < sent_at)
                done_at = sent_at;
        qmgr_log_delay(total, sizeof(total), done_at - msg->arrival);
        qmgr_log_delay(a, sizeof(a), msg->activated - msg->arrival);
        qmgr_log_delay(b, sizeof(b), sent_at - msg->activated);
        qmgr_log_delay(d, sizeof(d), done_at - sent_at);
        log_info("%s: to=<%s>, %srelay=%s, delay=%s, delays=%s/%s/0/%s, "
                 "dsn=%s, status=%s (%s)", msg->id, to_ext,
                 orig != NULL ? orig : "", relay, total, a, b, d, code,
                 status, text);
        free(orig);
        free(to_ext);
}

const char *qmgr_log_relay(char *out, size_t size, const char *relay,
                           unsigned long conn_use)
{
        if (conn_use > 1)
                snprintf(out, size, "%s, conn_use=%lu", relay, conn_use);
        else
                snprintf(out, size, "%s", relay);
        return out;
}

void qmgr_log_removed(const struct qmgr_msg *msg)
{
        log_info("%s: removed", msg->id);
}

void qmgr_log_expired(const struct qmgr_msg *msg)
{
        char *from = addr_external(queue_file_sender(msg->qf));

        log_info("%s: from=<%s>, status=expired, returned to sender",
                 msg->id, from);
        free(from);
}
