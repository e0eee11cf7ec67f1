/* qmgr_deliver.c - delivery requests to local
 * Used by: qmgr_message.c. One connection to $queue_directory/
 * private/local per recipient (local_proto.h), at most qmgr.local_limit
 * at once; the rest wait in arrival order. Each RESULT and FORWARD line is
 * handed to the message as it arrives; a connection that fails, times
 * out or ends without DONE defers what is left of the recipient; one
 * still waiting when the administrator stops its message is dropped
 * unsent. Runs in qmgr's loop as mail_owner; parses local's answers. */
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "local_proto.h"
#include "log.h"
#include "mem.h"
#include "qmgr.h"

struct qmgr_req {
        struct qmgr_msg *msg;
        size_t rcpt;
        int no_virtual;
        struct conn *conn;
        double sent_at;
        int done;                       /* DONE seen */
        int results;                    /* RESULT lines seen */
        struct qmgr_req *next;
};

static struct qmgr_req *wait_head, *wait_tail;

static void start_next(void);

static void finish(struct qmgr_req *req, const char *why)
{
        struct qmgr_msg *msg = req->msg;

        conn_free(&req->conn);
        if (!req->done) {
                struct status st;

                status_set(&st, STATUS_LOCAL_IO, "delivery temporarily "
                           "suspended: %s", why);
                qmgr_message_result(msg, req->rcpt, "deferred", st.code,
                                    queue_file_rcpt(msg->qf,
                                                    req->rcpt)->addr,
                                    st.text, "local", req->sent_at);
        }
        qmgr.local_busy--;
        qmgr_message_local_done(msg, req->rcpt);
        free(req);
        start_next();
}

static void on_line(struct qmgr_req *req, const char *data, size_t len)
{
        char *line = xstrndup(data, len), *f[LOCAL_FIELDS_MAX];
        int n = local_proto_split(line, len, f, LOCAL_FIELDS_MAX);

        if (n == 5 && strcmp(f[0], "RESULT") == 0 &&
            (strcmp(f[1], "sent") == 0 || strcmp(f[1], "deferred") == 0 ||
             strcmp(f[1], "bounced") == 0) &&
            (f[2][0] == '2' || f[2][0] == '4' || f[2][0] == '5')) {
                qmgr_message_result(req->msg, req->rcpt, f[1], f[2], f[3],
                                    f[4], "local", req->sent_at);
                req->results++;
        } else if (n == 2 && strcmp(f[0], "FORWARD") == 0 && *f[1] != '\0') {
                qmgr_message_forward(req->msg, req->rcpt, f[1]);
                req->results++;
        } else if (n == 1 && strcmp(f[0], "DONE") == 0) {
                req->done = 1;
        } else {
                log_warn("%s: malformed answer from local", req->msg->id);
        }
        free(line);
}

static void on_event(struct conn *c, enum conn_event ev,
                     const struct conn_ev_data *d, void *ctx)
{
        struct qmgr_req *req = ctx;

        switch (ev) {
        case CONN_LINE:
                on_line(req, d->data, d->len);
                if (req->done)
                        finish(req, "");
                break;
        case CONN_LINE_TOO_LONG:
                log_warn("%s: over-long answer from local", req->msg->id);
                break;
        case CONN_TIMEOUT:
        case CONN_DEADLINE:
                finish(req, "local delivery timed out");
                break;
        case CONN_EOF:
        case CONN_ERROR:
        case CONN_CLOSED:
                finish(req, "lost connection with local");
                break;
        default:
                break;
        }
}

/* connect_local - a connected socket to local, or -1 with st */
static int connect_local(struct status *st)
{
        struct sockaddr_un sun;
        int fd, n;

        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s",
                     qmgr.queue_dir, LOCAL_SOCKET);
        if (n < 0 || (size_t)n >= sizeof(sun.sun_path))
                return status_set(st, STATUS_CONFIG_TEMP, "local socket "
                                  "path too long");
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return status_set(st, STATUS_LOCAL_IO, "socket: %m");
        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
                status_set(st, STATUS_LOCAL_IO, "connect to local: %m");
                close(fd);
                return -1;
        }
        return fd;
}

static void start(struct qmgr_req *req)
{
        static const struct conn_opts opts = {
                .line_max = LOCAL_LINE_MAX,
                .idle_ms = LOCAL_TIMEOUT_MS,
        };
        const struct queue_rcpt *r = queue_file_rcpt(req->msg->qf,
                                                     req->rcpt);
        char idx[32];
        const char *f[] = { "DELIVER", req->msg->id, idx, r->addr,
                            req->no_virtual ? "1" : "0" };
        struct status st;
        struct buf out;
        int fd;

        qmgr.local_busy++;
        req->sent_at = qmgr_now();
        if (req->msg->stopped) {
                /* held, deleted or requeued while it waited: not sent,
                 * nothing to report */
                req->done = 1;
                finish(req, "");
                return;
        }
        snprintf(idx, sizeof(idx), "%zu", req->rcpt);
        fd = connect_local(&st);
        if (fd < 0) {
                finish(req, st.text);
                return;
        }
        req->conn = conn_new(fd, &opts, on_event, req);
        buf_init(&out, 0);
        local_proto_put(&out, f, 5);
        conn_write(req->conn, out.data, out.len);
        buf_release(&out);
}

static void start_next(void)
{
        static int starting;

        /* a request that fails at once finishes inside start(): loop
         * here rather than recurse once per waiting request */
        if (starting)
                return;
        starting = 1;
        while (wait_head != NULL && qmgr.local_busy < qmgr.local_limit &&
               !qmgr.draining) {
                struct qmgr_req *req = wait_head;

                wait_head = req->next;
                if (wait_head == NULL)
                        wait_tail = NULL;
                req->next = NULL;
                start(req);
        }
        starting = 0;
}

void qmgr_deliver_local(struct qmgr_msg *msg, size_t i, int no_virtual)
{
        struct qmgr_req *req = xcalloc(1, sizeof(*req));

        req->msg = msg;
        req->rcpt = i;
        req->no_virtual = no_virtual;
        msg->outstanding++;
        msg->rs[i].waiting = 1;
        if (wait_tail != NULL)
                wait_tail->next = req;
        else
                wait_head = req;
        wait_tail = req;
        start_next();
}
