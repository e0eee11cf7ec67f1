/* qmgr_bounce.c - returning mail: non-delivery, delay and success notices
 * Used by: qmgr_message.c at the end of a pass. The notice is composed by
 * dsn.c (RFC 3464) and queued as a new message from <> with the attribute
 * "notice" naming what it is. Mail from the null sender never makes a
 * notice (RFC 5321 4.5.5), with one exception: when a notice Yubin wrote
 * itself cannot be delivered, one "double bounce" goes to
 * 2bounce_notice_recipient (postmaster); a double bounce that fails is
 * dropped. Recipients with NOTIFY=NEVER (or a NOTIFY without FAILURE) are
 * dropped without a notice. The delay warning (delay_warning_time,
 * Postfix's) is an RFC 3464 notice with Action: delayed and the 4.x.x
 * status of each deferred recipient, sent once per message: the caller
 * records the "delay_warning" attribute in the queue file before it goes
 * out. Runs in qmgr as mail_owner. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "cfg.h"
#include "dsn.h"
#include "log.h"
#include "mem.h"
#include "qmgr.h"

#define NOTICE_ATTR             "notice"
#define NOTICE_BOUNCE           "bounce"
#define NOTICE_DOUBLE           "double"
#define NOTICE_SUCCESS          "success"
#define NOTICE_DELAY            "delay"

struct content_reader {
        const char *data;
        size_t len;
        int done;
};

static int read_content(void *ctx, int first, const char **data_r,
                        size_t *len_r, struct status *st)
{
        struct content_reader *r = ctx;

        if (first)
                r->done = 0;
        if (r->done || r->len == 0)
                return 0;
        r->done = 1;
        *data_r = r->data;
        *len_r = r->len;
        return 1;
}

/* send_notice - queue a notice about rcpts to to (kind for the "notice"
 * attribute); 0, or -1 with st */
static int send_notice(struct qmgr_msg *msg, const char *to, const char *kind,
                       const struct dsn_rcpt *rcpts, size_t n,
                       struct status *st)
{
        struct queue_writer *w = NULL;
        struct content_reader reader;
        struct dsn_msg m;
        const char *ret = queue_file_attr(msg->qf, "dsn_ret");
        char id[QUEUE_ID_MAX];
        int r;

        memset(&m, 0, sizeof(m));
        reader.data = queue_file_content(msg->qf, &reader.len);
        reader.done = 0;
        m.queue_id = msg->id;
        m.sender = to;
        m.envid = queue_file_attr(msg->qf, "dsn_envid");
        m.ret_hdrs = ret != NULL && strcasecmp(ret, "HDRS") == 0;
        m.arrival = (time_t)msg->arrival;
        m.myhostname = qmgr.myhostname;
        m.mail_name = qmgr.mail_name;
        m.size_limit = qmgr.bounce_size_limit;
        m.postmaster = "postmaster";
        m.read = read_content;
        m.read_ctx = &reader;
        if (queue_writer_open(qmgr.queue_dir, &w, st) < 0)
                return -1;
        queue_writer_attr(w, NOTICE_ATTR, kind);
        r = dsn_write(&m, rcpts, n, w, st);
        if (r == 0)
                r = queue_writer_commit(w, st);
        snprintf(id, sizeof(id), "%s", queue_writer_id(w));
        queue_writer_free(&w);
        if (r < 0)
                return -1;
        log_info("%s: sender %s notification: %s", msg->id,
                 strcmp(kind, NOTICE_SUCCESS) == 0 ? "delivery status" :
                 strcmp(kind, NOTICE_DELAY) == 0 ? "delay" : "non-delivery",
                 id);
        queue_notify(qmgr.queue_dir);
        return 0;
}

int qmgr_bounce(struct qmgr_msg *msg, struct status *st)
{
        const char *sender = queue_file_sender(msg->qf);
        const char *notice = queue_file_attr(msg->qf, NOTICE_ATTR);
        struct dsn_rcpt *rcpts = xcalloc(msg->nfails, sizeof(*rcpts));
        char *to = NULL;
        const char *kind = NOTICE_BOUNCE;
        size_t n = 0;
        int ret = 0, double_bounce = *sender == '\0' && notice != NULL &&
                                     strcmp(notice, NOTICE_BOUNCE) == 0;

        for (size_t j = 0; j < msg->nfails; j++) {
                const struct qmgr_fail *f = &msg->fails[j];
                const struct queue_rcpt *r = queue_file_rcpt(msg->qf,
                                                             f->rcpt);

                /* a notice goes out with NOTIFY=NEVER; its double bounce
                 * is the one exception */
                if (!double_bounce && r->notify != 0 &&
                    !(r->notify & QUEUE_NOTIFY_FAILURE))
                        continue;
                rcpts[n].addr = f->target;
                rcpts[n].orcpt = r->orcpt;
                rcpts[n].action = DSN_ACTION_FAILED;
                rcpts[n].status = f->code;
                rcpts[n].diag = f->text;
                n++;
        }
        if (*sender == '\0') {
                if (double_bounce) {
                        to = addr_qualify(qmgr.double_bounce_rcpt,
                                          qmgr.myorigin);
                        kind = NOTICE_DOUBLE;
                } else {
                        n = 0;  /* never a notice about a notice */
                }
        } else {
                to = xstrdup(sender);
        }
        if (n > 0)
                ret = send_notice(msg, to, kind, rcpts, n, st);
        if (ret == 0)
                for (size_t j = 0; j < msg->nfails; j++) {
                        size_t i = msg->fails[j].rcpt;

                        if (queue_file_rcpt(msg->qf, i)->state ==
                            QUEUE_RCPT_PENDING && msg->rs[i].sent == 0)
                                queue_file_mark(msg->qf, i, n > 0 ?
                                                QUEUE_RCPT_BOUNCED :
                                                QUEUE_RCPT_DROPPED);
                }
        free(to);
        free(rcpts);
        return ret;
}

void qmgr_success_notice(struct qmgr_msg *msg)
{
        const char *sender = queue_file_sender(msg->qf);
        struct dsn_rcpt *rcpts;
        struct status st;

        if (msg->nsent_notify == 0 || *sender == '\0')
                return;
        rcpts = xcalloc(msg->nsent_notify, sizeof(*rcpts));
        for (size_t j = 0; j < msg->nsent_notify; j++) {
                const struct queue_rcpt *r = queue_file_rcpt(msg->qf,
                                                msg->sent_notify[j]);

                rcpts[j].addr = r->addr;
                rcpts[j].orcpt = r->orcpt;
                rcpts[j].action = DSN_ACTION_DELIVERED;
                rcpts[j].status = STATUS_OK;
                rcpts[j].diag = "delivered to mailbox";
        }
        if (send_notice(msg, sender, NOTICE_SUCCESS, rcpts,
                        msg->nsent_notify, &st) < 0)
                log_warn("%s: cannot send the delivery status notice: %s",
                         msg->id, st.text);
        free(rcpts);
}

/* delay_rcpts - the recipients a delay warning names: still pending after
 * this pass, neither delivered nor failed, and not refusing delay notices
 * (NOTIFY absent counts as FAILURE,DELAY, as in Postfix); filled into
 * rcpts when it is not NULL. Returns how many. */
static size_t delay_rcpts(const struct qmgr_msg *msg, struct dsn_rcpt *rcpts)
{
        time_t until = (time_t)msg->arrival + (time_t)qmgr.queue_lifetime;
        size_t n = 0;

        for (size_t i = 0; i < msg->nrs; i++) {
                const struct queue_rcpt *r = queue_file_rcpt(msg->qf, i);
                const struct qmgr_rcpt *rs = &msg->rs[i];
                const char *code, *text;

                if (r->state != QUEUE_RCPT_PENDING || rs->sent > 0 ||
                    rs->bounced > 0 || (r->notify != 0 &&
                    !(r->notify & QUEUE_NOTIFY_DELAY)))
                        continue;
                if (rcpts != NULL) {
                        code = rs->defer_code != NULL ? rs->defer_code :
                               r->defer_code;
                        text = rs->defer_text != NULL ? rs->defer_text :
                               r->defer_text;
                        rcpts[n].addr = r->addr;
                        rcpts[n].orcpt = r->orcpt;
                        rcpts[n].action = DSN_ACTION_DELAYED;
                        rcpts[n].status = code != NULL && *code == '4' ?
                                          code : STATUS_TEMP;
                        rcpts[n].diag = text;
                        rcpts[n].retry_until = until;
                }
                n++;
        }
        return n;
}

int qmgr_delay_due(const struct qmgr_msg *msg, long long age)
{
        if (qmgr.delay_warning <= 0 || age < qmgr.delay_warning ||
            *queue_file_sender(msg->qf) == '\0' ||
            queue_file_attr(msg->qf, QMGR_DELAY_ATTR) != NULL)
                return 0;
        return delay_rcpts(msg, NULL) > 0;
}

void qmgr_delay_notice(struct qmgr_msg *msg)
{
        struct dsn_rcpt *rcpts = xcalloc(msg->nrs + 1, sizeof(*rcpts));
        size_t n = delay_rcpts(msg, rcpts);
        struct status st;

        if (n > 0 && send_notice(msg, queue_file_sender(msg->qf),
                                 NOTICE_DELAY, rcpts, n, &st) < 0)
                log_warn("%s: cannot send the delay notice: %s", msg->id,
                         st.text);
        free(rcpts);
}
