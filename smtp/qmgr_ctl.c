/* qmgr_ctl.c - the administrator's requests: flush, delete, hold, release,
 * requeue (yubinctl queue)
 * Used by: qmgr.c, for each datagram on private/qmgr that is a control
 * request; the wire is in common/queue_ctl.h. qmgr owns the queue while
 * it runs, so the files are changed here, by the one process that also
 * moves them: a message on disk is changed with queue_admin(); a message
 * in memory (being delivered) is held, deleted or requeued on disk at
 * once and stopped in memory (qmgr_message_stop), so that nothing more
 * is delivered from it and the deliveries under way still have their
 * results recorded. A flush makes deferred messages due now (a deferred
 * file's mtime is its next attempt) and scans deferred/ at the next turn
 * of the loop. Only mail_owner and root can write to the socket (0600, in
 * a 0700 directory). Runs in qmgr's loop as mail_owner. */
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qmgr.h"
#include "queue_ctl.h"
#include "queue_file.h"

/* flush_deferred - make each deferred message due now (those with a
 * pending recipient at site, when site is not NULL); the number made due
 * in *count_r. 0, or -1 with st. */
static int flush_deferred(const char *site, unsigned long *count_r,
                          struct status *st)
{
        char **ids = NULL;
        size_t n = 0;
        struct status fst;

        if (queue_admin_ids(qmgr.queue_dir, QUEUE_ADMIN_FLUSH, &ids, &n,
                            st) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                if (site != NULL && !queue_admin_site(qmgr.queue_dir,
                                        QUEUE_DEFERRED, ids[i], site))
                        continue;
                if (queue_admin_due(qmgr.queue_dir, ids[i], &fst) < 0) {
                        /* delivered or moved meanwhile is no failure */
                        if (errno != ENOENT)
                                log_warn("%s: %s", ids[i], fst.text);
                        continue;
                }
                (*count_r)++;
        }
        queue_ids_free(&ids);
        qmgr_wakeup(1);
        return 0;
}

/* one_message - op on message id; as queue_admin() */
static int one_message(enum queue_admin_op op, const char *id,
                       const char **why_r, struct status *st)
{
        struct qmgr_msg *msg = qmgr_message_find(id);
        int r;

        if (msg == NULL) {
                r = queue_admin(qmgr.queue_dir, op, id, 0, why_r, st);
                if (r > 0 && op != QUEUE_ADMIN_DELETE &&
                    op != QUEUE_ADMIN_HOLD)
                        qmgr_wakeup(op != QUEUE_ADMIN_REQUEUE);
                return r;
        }
        if (op == QUEUE_ADMIN_FLUSH && !msg->stopped) {
                *why_r = "being delivered";
                return 0;
        }
        /* in memory: the file is changed now, the pass is stopped; a
         * release or flush of a stopped message takes effect when its
         * pass ends (finish_stopped wakes the scans) */
        r = queue_admin(qmgr.queue_dir, op, id, QUEUE_ADMIN_OPEN, why_r, st);
        if (r > 0 && (op == QUEUE_ADMIN_DELETE || op == QUEUE_ADMIN_HOLD ||
                      op == QUEUE_ADMIN_REQUEUE))
                qmgr_message_stop(msg, op);
        return r;
}

/* The requests: the command and the queue operation it is. */
static const struct {
        enum queue_ctl_cmd cmd;
        enum queue_admin_op op;
} ctl_ops[] = {
        { QUEUE_CTL_FLUSH_ID, QUEUE_ADMIN_FLUSH },
        { QUEUE_CTL_DELETE, QUEUE_ADMIN_DELETE },
        { QUEUE_CTL_HOLD, QUEUE_ADMIN_HOLD },
        { QUEUE_CTL_RELEASE, QUEUE_ADMIN_RELEASE },
        { QUEUE_CTL_REQUEUE, QUEUE_ADMIN_REQUEUE },
};

/* serve - carry out req; the outcome in *rep */
static void serve(const struct queue_ctl_req *req,
                  struct queue_ctl_reply *rep)
{
        const char *why = NULL;
        int r = -1;

        if (req->cmd == QUEUE_CTL_FLUSH || req->cmd == QUEUE_CTL_FLUSH_SITE) {
                r = flush_deferred(req->cmd == QUEUE_CTL_FLUSH_SITE ?
                                   req->arg : NULL, &rep->count, &rep->st);
                if (r == 0)
                        r = 1;
        } else {
                status_set(&rep->st, STATUS_BAD_ARGS, "unknown command");
                for (size_t i = 0; i < sizeof(ctl_ops) / sizeof(*ctl_ops);
                     i++)
                        if (ctl_ops[i].cmd == req->cmd) {
                                r = one_message(ctl_ops[i].op, req->arg,
                                                &why, &rep->st);
                                break;
                        }
                if (r > 0)
                        rep->count = 1;
        }
        if (r > 0) {
                rep->result = QUEUE_CTL_OK;
        } else if (r == 0) {
                rep->result = QUEUE_CTL_SKIP;
                snprintf(rep->st.text, sizeof(rep->st.text), "%s",
                         why != NULL ? why : "nothing to do");
        } else {
                rep->result = QUEUE_CTL_ERROR;
                if (status_class(&rep->st) == 4)
                        log_warn("%s %s: %s", queue_ctl_cmd_name(req->cmd),
                                 req->arg, rep->st.text);
        }
}

void qmgr_ctl_request(int fd, const char *data, size_t len,
                      const struct sockaddr *from, socklen_t fromlen)
{
        struct queue_ctl_req req;
        struct queue_ctl_reply rep;
        char out[QUEUE_CTL_DATAGRAM_MAX];
        const char *error;
        size_t n;

        memset(&req, 0, sizeof(req));
        memset(&rep, 0, sizeof(rep));
        status_clear(&rep.st);
        if (queue_ctl_req_parse(data, len, &req, &error) < 0) {
                log_warn("malformed control request: %s", error);
                rep.result = QUEUE_CTL_ERROR;
                status_set(&rep.st, STATUS_BAD_ARGS, "%s", error);
        } else {
                serve(&req, &rep);
        }
        rep.seq = req.seq;
        n = queue_ctl_reply_format(&rep, out, sizeof(out));
        if (fromlen <= sizeof(sa_family_t))
                return;         /* an unnamed sender cannot be answered */
        if (sendto(fd, out, n, MSG_DONTWAIT, from, fromlen) < 0)
                log_warn("control request: cannot answer: %m");
}
