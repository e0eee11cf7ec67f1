/* queue_ctl.h - the administrator's requests to qmgr: flush, delete, hold,
 * release, requeue
 * Used by: yubinctl queue (the client, queue_ctl_call) and qmgr (the
 * server: smtp/qmgr_ctl.c parses requests and formats answers with this
 * module). Asking qmgr, rather than renaming files under it, lets qmgr
 * stop working on a message it has in hand without racing anybody; when
 * qmgr is not running, yubinctl works on the files itself
 * (queue_file.h, queue_admin).
 *
 * The wire. qmgr's socket $queue_directory/private/qmgr is a datagram
 * socket, mode 0600 in a 0700 directory owned by mail_owner: only
 * mail_owner and root can write to it, and that is the access control. A
 * datagram that does not start with "QUEUE " is a wake-up call
 * (queue_notify: new mail in incoming/), as it always was. A control
 * request is one datagram of printable ASCII, fields separated by one
 * space, no line end:
 *
 *      QUEUE 1 <seq> <command> <argument>
 *
 * 1 is the protocol version; seq (1 to 10 digits) is chosen by the client
 * and echoed in the answer. The commands and their argument:
 *
 *      flush ALL           every deferred message is due now (postqueue -f)
 *      flush-site DOMAIN   each deferred message with a pending recipient
 *                          at DOMAIN is due now (postqueue -s)
 *      flush-id ID         one message is due now (postqueue -i)
 *      delete ID           remove it (postsuper -d)
 *      hold ID             move it to hold/, no delivery (postsuper -h)
 *      release ID          hold/ to deferred/, due now (postsuper -H)
 *      requeue ID          to incoming/, its deferral reasons forgotten,
 *                          its pending recipients routed again; done ones
 *                          stay done (postsuper -r)
 *
 * For a message qmgr is delivering, delete, hold and requeue act on the
 * file at once; the deliveries under way finish and have their results
 * recorded, no new one starts, and the message leaves qmgr's memory
 * without being moved, bounced or warned about. The client expands ALL
 * and "-" (IDs from standard input) of the per-message commands into one
 * request per ID. It sends from a socket bound to an address of its own
 * (Linux autobind), and qmgr answers with one datagram there:
 *
 *      QUEUE 1 <seq> ok <count>            done; count messages affected
 *      QUEUE 1 <seq> skip <text>           nothing to do ("already on
 *                                          hold", "being delivered", ...)
 *      QUEUE 1 <seq> error <code> <text>   failed: a 5.x.x code when it can
 *                                          never succeed (no such message,
 *                                          a bad request), 4.x.x for
 *                                          trouble worth another try
 *
 * Runs as: yubinctl as mail_owner (it drops to it as root) or the user of
 * an unprivileged instance; qmgr as mail_owner. Parses datagrams that
 * only those can send, but checks every field. */
#ifndef YUBIN_QUEUE_CTL_H
#define YUBIN_QUEUE_CTL_H

#include <stddef.h>

#include "status.h"

#define QUEUE_CTL_VERSION       1
#define QUEUE_CTL_DATAGRAM_MAX  1024    /* a request or an answer */
#define QUEUE_CTL_ARG_MAX       256     /* a domain (253) or an ID, + NUL */
#define QUEUE_CTL_TIMEOUT_MS    (30 * 1000)     /* qmgr's answer */

enum queue_ctl_cmd {
        QUEUE_CTL_FLUSH,        /* argument ALL */
        QUEUE_CTL_FLUSH_SITE,   /* a domain */
        QUEUE_CTL_FLUSH_ID,     /* the others: a queue ID */
        QUEUE_CTL_DELETE,
        QUEUE_CTL_HOLD,
        QUEUE_CTL_RELEASE,
        QUEUE_CTL_REQUEUE,
};

struct queue_ctl_req {
        unsigned long seq;
        enum queue_ctl_cmd cmd;
        char arg[QUEUE_CTL_ARG_MAX];
};

enum queue_ctl_result {
        QUEUE_CTL_OK,
        QUEUE_CTL_SKIP,
        QUEUE_CTL_ERROR,
};

struct queue_ctl_reply {
        unsigned long seq;
        enum queue_ctl_result result;
        unsigned long count;    /* OK: messages affected */
        struct status st;       /* SKIP: the text; ERROR: code and text */
};

/* queue_ctl_is_request - 1 when the datagram is a control request (its
 * first bytes are "QUEUE "), 0 for a wake-up call */
int queue_ctl_is_request(const char *data, size_t len);

/* queue_ctl_cmd_name - the command's name on the wire ("flush-site") */
const char *queue_ctl_cmd_name(enum queue_ctl_cmd cmd);

/* queue_ctl_arg_ok - 1 when arg has the shape cmd takes (ALL, a domain
 * name, a queue ID), else 0 */
int queue_ctl_arg_ok(enum queue_ctl_cmd cmd, const char *arg);

/* queue_ctl_req_parse - a request datagram of len bytes into *req_r.
 * 0, or -1 with *error_r (static text) for anything malformed: another
 * version, a bad seq, an unknown command, an argument of the wrong shape
 * for the command. */
int queue_ctl_req_parse(const char *data, size_t len,
                        struct queue_ctl_req *req_r, const char **error_r);
/* queue_ctl_req_format - req as a datagram into out (size bytes, NUL
 * added); returns its length, or 0 when req's argument has the wrong
 * shape or it does not fit */
size_t queue_ctl_req_format(const struct queue_ctl_req *req, char *out,
                            size_t size);

/* queue_ctl_reply_parse - an answer datagram into *rep_r; 0, or -1 when
 * malformed */
int queue_ctl_reply_parse(const char *data, size_t len,
                          struct queue_ctl_reply *rep_r);
/* queue_ctl_reply_format - rep as a datagram into out (size bytes, NUL
 * added; a long text is cut, control characters become '?'); returns its
 * length */
size_t queue_ctl_reply_format(const struct queue_ctl_reply *rep, char *out,
                              size_t size);

/* queue_ctl_call - send req to the qmgr of queue_dir and wait up to
 * timeout_ms for its answer, into *rep_r. BLOCKING. Returns 1 answered,
 * 0 qmgr is not running (no socket, or nobody bound to it), -1 with st
 * (no permission, no answer in time, a malformed answer, a request that
 * cannot be formatted). */
int queue_ctl_call(const char *queue_dir, const struct queue_ctl_req *req,
                   int timeout_ms, struct queue_ctl_reply *rep_r,
                   struct status *st);

#endif
