/* qmgr_smtp.c - delivery requests to the smtp client
 * Used by: qmgr_message.c. Remote recipients found while a message is
 * routed are collected, then sent as one request per destination domain
 * (at most smtp_destination_recipient_limit recipients each) over
 * $queue_directory/private/smtp (smtp_proto.h). Requests wait at their
 * destination (qmgr_dest.c: the next hop, with its own concurrency
 * window and on-demand connection caching); at most qmgr.smtp_limit are
 * out at once over all destinations, which take turns. Each RESULT is
 * handed to the message as it arrives (a reused connection's use count
 * goes into the log's relay field); a request that fails, times out or
 * ends without DONE defers the recipients it has no answer for, and
 * tells the destination whether a server was reached. Runs in qmgr's
 * loop as mail_owner; parses smtp's answers. */
#include <sys/socket.h>
#include <sys/un.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conn.h"
#include "local_proto.h"
#include "log.h"
#include "mem.h"
#include "qmgr.h"
#include "smtp_proto.h"

static void start_next(void);

static const char *domain_of(const char *addr)
{
        const char *at = strrchr(addr, '@');

        return at != NULL ? at + 1 : addr;
}

static void finish(struct qmgr_sreq *req, const char *why)
{
        struct qmgr_msg *msg = req->msg;
        struct status st;
        /* a server answered: good; smtp answered but reached none: bad;
         * no answer from smtp says nothing about the destination */
        int feedback = req->reached ? 1 : req->done ? -1 : 0;

        conn_free(&req->conn);
        status_set(&st, STATUS_LOCAL_IO, "delivery temporarily suspended: "
                   "%s", why);
        for (size_t k = 0; k < req->n; k++)
                if (!req->answered[k])
                        qmgr_message_result(msg, req->rcpts[k], "deferred",
                                            st.code, queue_file_rcpt(msg->qf,
                                            req->rcpts[k])->addr, st.text,
                                            "none", req->sent_at);
        qmgr.smtp_busy--;
        qmgr_dest_done(req->dest, feedback, qmgr_now());
        /* the last of these may end the message: msg is not used after */
        for (size_t k = 0; k < req->n; k++)
                qmgr_message_local_done(msg, req->rcpts[k]);
        free(req->rcpts);
        free(req->answered);
        free(req->domain);
        free(req);
        start_next();
}

static void on_line(struct qmgr_sreq *req, const char *data, size_t len)
{
        char *line = xstrndup(data, len), *f[SMTP_PROTO_FIELDS_MAX], *end;
        int n = local_proto_split(line, len, f, SMTP_PROTO_FIELDS_MAX);

        if ((n == 6 || n == 7) && strcmp(f[0], "RESULT") == 0 &&
            (strcmp(f[2], "sent") == 0 || strcmp(f[2], "deferred") == 0 ||
             strcmp(f[2], "bounced") == 0) &&
            (f[3][0] == '2' || f[3][0] == '4' || f[3][0] == '5')) {
                unsigned long idx = strtoul(f[1], &end, 10);
                size_t k;

                for (k = 0; k < req->n; k++)
                        if (req->rcpts[k] == idx && !req->answered[k])
                                break;
                if (*end != '\0' || k == req->n) {
                        log_warn("%s: unexpected answer from smtp",
                                 req->msg->id);
                } else {
                        char relay[SMTP_PROTO_LINE_MAX];
                        unsigned long use = n == 7 ? strtoul(f[6], NULL,
                                                             10) : 0;

                        req->answered[k] = 1;
                        if (strcmp(f[4], "none") != 0)
                                req->reached = 1;
                        qmgr_message_result(req->msg, idx, f[2], f[3],
                                            queue_file_rcpt(req->msg->qf,
                                                            idx)->addr,
                                            f[5], qmgr_log_relay(relay,
                                            sizeof(relay), f[4], use),
                                            req->sent_at);
                }
        } else if (n == 1 && strcmp(f[0], "DONE") == 0) {
                req->done = 1;
        } else {
                log_warn("%s: malformed answer from smtp", req->msg->id);
        }
        free(line);
}

static void on_event(struct conn *c, enum conn_event ev,
                     const struct conn_ev_data *d, void *ctx)
{
        struct qmgr_sreq *req = ctx;

        switch (ev) {
        case CONN_LINE:
                on_line(req, d->data, d->len);
                if (req->done)
                        finish(req, "lost connection with smtp");
                break;
        case CONN_TIMEOUT:
        case CONN_DEADLINE:
                finish(req, "smtp delivery timed out");
                break;
        case CONN_EOF:
        case CONN_ERROR:
        case CONN_CLOSED:
                finish(req, "lost connection with smtp");
                break;
        default:
                break;
        }
}

static int connect_smtp(struct status *st)
{
        struct sockaddr_un sun;
        int fd, n;

        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s",
                     qmgr.queue_dir, SMTP_SOCKET);
        if (n < 0 || (size_t)n >= sizeof(sun.sun_path))
                return status_set(st, STATUS_CONFIG_TEMP, "smtp socket "
                                  "path too long");
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return status_set(st, STATUS_LOCAL_IO, "socket: %m");
        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
                status_set(st, STATUS_LOCAL_IO, "connect to smtp: %m");
                close(fd);
                return -1;
        }
        return fd;
}

static void start(struct qmgr_sreq *req)
{
        static const struct conn_opts opts = {
                .line_max = SMTP_PROTO_LINE_MAX,
                .idle_ms = SMTP_PROTO_TIMEOUT_MS,
        };
        const char *f[4];
        struct status st;
        struct buf out;
        int fd;

        qmgr.smtp_busy++;
        req->sent_at = qmgr_now();
        if (req->msg->stopped) {        /* held, deleted or requeued */
                memset(req->answered, 1, req->n);
                finish(req, "");
                return;
        }
        fd = connect_smtp(&st);
        if (fd < 0) {
                finish(req, st.text);
                return;
        }
        req->conn = conn_new(fd, &opts, on_event, req);
        buf_init(&out, 0);
        f[0] = "DELIVER";
        f[1] = req->msg->id;
        f[2] = req->domain;
        f[3] = "cache";
        local_proto_put(&out, f, req->cache ? 4 : 3);
        for (size_t k = 0; k < req->n; k++) {
                char idx[32];

                snprintf(idx, sizeof(idx), "%zu", req->rcpts[k]);
                f[0] = "RCPT";
                f[1] = idx;
                f[2] = queue_file_rcpt(req->msg->qf, req->rcpts[k])->addr;
                local_proto_put(&out, f, 3);
        }
        buf_puts(&out, "END\n");
        conn_write(req->conn, out.data, out.len);
        buf_release(&out);
}

static void start_next(void)
{
        static int starting;
        struct qmgr_sreq *req;

        if (starting)
                return;
        starting = 1;
        while (qmgr.smtp_busy < qmgr.smtp_limit && !qmgr.draining &&
               (req = qmgr_dest_next(qmgr_now())) != NULL)
                start(req);
        starting = 0;
}

void qmgr_deliver_smtp(struct qmgr_msg *msg, size_t i)
{
        msg->smtp_batch = xrealloc(msg->smtp_batch, (msg->nsmtp_batch + 1) *
                                   sizeof(size_t));
        msg->smtp_batch[msg->nsmtp_batch++] = i;
        msg->outstanding++;
        msg->rs[i].waiting = 1;
}

void qmgr_deliver_smtp_flush(struct qmgr_msg *msg)
{
        size_t limit = qmgr.smtp_rcpt_limit > 0 ? qmgr.smtp_rcpt_limit : 1;

        if (limit > SMTP_PROTO_RCPT_MAX)
                limit = SMTP_PROTO_RCPT_MAX;
        while (msg->nsmtp_batch > 0) {
                struct qmgr_sreq *req = xcalloc(1, sizeof(*req));
                const char *dom = domain_of(queue_file_rcpt(msg->qf,
                                                msg->smtp_batch[0])->addr);
                char dest[SMTP_PROTO_LINE_MAX];
                size_t k = 0;

                req->msg = msg;
                req->domain = xstrdup(dom);
                req->rcpts = xcalloc(msg->nsmtp_batch, sizeof(size_t));
                req->answered = xcalloc(msg->nsmtp_batch, 1);
                /* this domain's recipients leave the batch, in order */
                for (size_t j = 0; j < msg->nsmtp_batch; j++) {
                        size_t i = msg->smtp_batch[j];

                        if (req->n < limit && strcasecmp(domain_of(
                                queue_file_rcpt(msg->qf, i)->addr),
                                req->domain) == 0)
                                req->rcpts[req->n++] = i;
                        else
                                msg->smtp_batch[k++] = i;
                }
                msg->nsmtp_batch = k;
                qmgr_dest_name(req->domain, dest, sizeof(dest));
                qmgr_dest_enqueue(qmgr_dest_get(dest), req);
        }
        free(msg->smtp_batch);
        msg->smtp_batch = NULL;
        start_next();
}
