/* qmgr.h - the queue manager's shared structures
 * Used by: the qmgr modules only (qmgr.c main: sockets, timers, scans;
 * qmgr_message.c one message from activation to removal or deferral;
 * qmgr_deliver.c requests to local; qmgr_smtp.c requests to smtp;
 * qmgr_dest.c their destinations; qmgr_bounce.c bounces, delay warnings
 * and success notices; qmgr_backoff.c retry times; qmgr_log.c the log
 * lines; qmgr_ctl.c the administrator's requests from yubinctl queue).
 * qmgr runs as mail_owner (after making the queue directories as root) and
 * is event-driven: it never waits for a delivery. It parses queue files
 * (queue_file.c checks them) and local's answers; no network input. */
#ifndef YUBIN_QMGR_H
#define YUBIN_QMGR_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "queue_file.h"
#include "status.h"

struct cfg;
struct conn;
struct resolve;

#define QMGR_ACTIVE_MAX         2000    /* messages in memory at once */
#define QMGR_INCOMING_SCAN_MS   (5 * 1000)      /* backstop for notify */
#define QMGR_CONFIG_RETRY_MS    (2 * 1000)
#define QMGR_FORWARDS_MAX       1000    /* FORWARD lines per recipient */

/* What the whole process shares. */
struct qmgr {
        struct cfg *cfg;
        const char *queue_dir;
        const char *myhostname;
        const char *mail_name;
        const char *myorigin;
        const char *double_bounce_rcpt; /* 2bounce_notice_recipient */
        struct resolve *resolve;        /* NULL: configuration trouble */
        struct status config_st;        /* ... and why */
        long long config_retry_ms;
        long long min_backoff, max_backoff;     /* seconds */
        long long queue_lifetime, bounce_lifetime;
        long long delay_warning;        /* delay_warning_time; 0 = off */
        long long bounce_size_limit;
        long long expansion_limit, recursion_limit;
        size_t local_limit;             /* local requests at once */
        size_t local_busy;
        size_t smtp_limit;              /* smtp requests at once, over
                                         * all destinations */
        size_t smtp_busy;
        size_t smtp_rcpt_limit;         /* recipients per smtp request */
        size_t active;                  /* messages in memory */
        int draining;                   /* stopping: start nothing new */
};

extern struct qmgr qmgr;

/* One recipient's outcome in the current pass. */
struct qmgr_rcpt {
        int waiting;                    /* a local request is out */
        int finished;                   /* its outcome is recorded */
        int sent, deferred, bounced;    /* targets so far */
        char *defer_code, *defer_text;  /* the first deferral's */
        char **forwards;                /* addresses local handed back */
        size_t nforwards;
};

/* A target that failed for good, for the bounce. */
struct qmgr_fail {
        size_t rcpt;
        char *target;                   /* final recipient */
        char *code;
        char *text;
};

/* A message in memory, from activation to its end in this pass. */
struct qmgr_msg {
        char id[QUEUE_ID_MAX];
        struct queue_file *qf;
        double arrival;                 /* wall clock, seconds */
        double activated;
        struct qmgr_rcpt *rs;           /* per recipient; grows with qf */
        size_t nrs;
        struct qmgr_fail *fails;
        size_t nfails;
        size_t *sent_notify;            /* sent recipients with
                                         * NOTIFY=SUCCESS */
        size_t nsent_notify;
        size_t outstanding;             /* local and smtp requests not
                                         * answered */
        size_t *smtp_batch;             /* remote recipients not yet
                                         * handed to smtp */
        size_t nsmtp_batch;
        size_t added;                   /* recipients added by expansion */
        size_t added_synced;            /* ... of which on disk */
        int routing;                    /* inside qmgr_message_route */
        int sync_failed;
        /* stopped by the administrator (held, deleted or requeued): no
         * new delivery starts; when those under way have answered, the
         * results are recorded and the message leaves memory without
         * being moved, bounced or warned about */
        int stopped;
        int deleted;                    /* ... and its file is gone */
        int requeued;                   /* ... record the requeue */
        struct qmgr_msg *prev, *next;   /* every message in memory */
};

/* qmgr_message.c */
/* qmgr_message_activate - take queue_dir/active/id in hand: open,
 * check, log, route every pending recipient */
void qmgr_message_activate(const char *id);
/* qmgr_message_local_done - local answered (or failed to) for recipient
 * i of msg: results were recorded with qmgr_message_result */
void qmgr_message_local_done(struct qmgr_msg *msg, size_t i);
/* qmgr_message_result - one target's outcome for recipient i: status
 * "sent", "deferred" or "bounced", relay "local" or "none" */
void qmgr_message_result(struct qmgr_msg *msg, size_t i, const char *status,
                         const char *code, const char *target,
                         const char *text, const char *relay,
                         double sent_at);
/* qmgr_message_forward - recipient i named addr (alias, .forward) for
 * qmgr to deliver */
void qmgr_message_forward(struct qmgr_msg *msg, size_t i, const char *addr);
/* qmgr_message_find - the message with queue ID id while it is in
 * memory, or NULL */
struct qmgr_msg *qmgr_message_find(const char *id);
/* qmgr_message_stop - the administrator held, deleted (op QUEUE_ADMIN_
 * DELETE) or requeued (QUEUE_ADMIN_REQUEUE) msg, whose file has been
 * dealt with already: start no more deliveries for it (see stopped) */
void qmgr_message_stop(struct qmgr_msg *msg, enum queue_admin_op op);

/* qmgr.c */
/* qmgr_wakeup - look at incoming/ (and deferred/ with deferred set) at
 * the next turn of the loop, for mail that the administrator released,
 * requeued or flushed, or that a stopped message left behind */
void qmgr_wakeup(int deferred);

/* qmgr_ctl.c */
/* qmgr_ctl_request - a control datagram (queue_ctl.h) of len bytes from
 * the client at from (fromlen bytes) on the socket fd: carry it out and
 * answer */
void qmgr_ctl_request(int fd, const char *data, size_t len,
                      const struct sockaddr *from, socklen_t fromlen);

/* qmgr_deliver.c */
/* qmgr_deliver_local - ask local to deliver recipient i of msg (queued
 * when qmgr.local_limit requests are out) */
void qmgr_deliver_local(struct qmgr_msg *msg, size_t i, int no_virtual);

/* qmgr_smtp.c */
/* qmgr_deliver_smtp - recipient i goes to the smtp client; requests go
 * out, one per destination, at qmgr_deliver_smtp_flush */
void qmgr_deliver_smtp(struct qmgr_msg *msg, size_t i);
void qmgr_deliver_smtp_flush(struct qmgr_msg *msg);

/* One request to the smtp client: one message, some of its recipients,
 * one destination (qmgr_smtp.c). */
struct qmgr_sreq {
        struct qmgr_msg *msg;
        struct qmgr_dest *dest;
        char *domain;                   /* of the recipients */
        size_t *rcpts;                  /* indexes in the queue file */
        unsigned char *answered;
        size_t n;
        struct conn *conn;              /* to smtp, while out */
        double sent_at;
        int done;                       /* DONE seen */
        int reached;                    /* a RESULT named a server */
        int cache;                      /* ask smtp to keep the
                                         * connection for what follows */
        struct qmgr_sreq *next;         /* waiting at its destination */
};

/* One next hop of the smtp transport while it has requests
 * (qmgr_dest.c). */
struct qmgr_dest {
        char *name;                     /* "[relay]:port", or the domain */
        size_t busy;                    /* requests out */
        size_t waiting;
        double window;                  /* requests allowed out at once */
        double credit;                  /* feedback toward the next
                                         * window change */
        double last_done;               /* when one last ended */
        int cache;                      /* on-demand connection caching */
        struct qmgr_sreq *head, *tail;  /* waiting, in arrival order */
        struct qmgr_dest *hash_next;
        struct qmgr_dest *ring_next, *ring_prev;
        int in_ring;                    /* has waiting work and room */
};

/* qmgr_dest.c */
/* qmgr_dest_init - read relayhost, transport_maps,
 * smtp_destination_concurrency_limit and
 * smtp_initial_destination_concurrency from qmgr.cfg */
void qmgr_dest_init(void);
/* qmgr_dest_limits - the initial and the largest window (for tests) */
void qmgr_dest_limits(double initial, double max);
/* qmgr_dest_name - the destination mail for domain belongs to (its next
 * hop: transport_maps, relayhost, or domain), lowercase, into out */
void qmgr_dest_name(const char *domain, char *out, size_t size);
/* qmgr_dest_get - the destination called name, made when missing; it
 * lives while it has requests waiting or out */
struct qmgr_dest *qmgr_dest_get(const char *name);
/* qmgr_dest_enqueue - req (borrowed until it is started) waits at d */
void qmgr_dest_enqueue(struct qmgr_dest *d, struct qmgr_sreq *req);
/* qmgr_dest_next - the request to start now: the first waiting one of
 * the next destination with room in its window, taking turns; it counts
 * as out (req->cache set) until qmgr_dest_done(). NULL when none may
 * start. now is qmgr_now(). */
struct qmgr_sreq *qmgr_dest_next(double now);
/* qmgr_dest_done - a request of d ended; feedback 1 when it reached a
 * server, -1 when it reached none, 0 when it says nothing of the
 * destination. d may be gone afterwards. */
void qmgr_dest_done(struct qmgr_dest *d, int feedback, double now);
/* qmgr_dest_count - destinations in memory */
size_t qmgr_dest_count(void);

/* qmgr_bounce.c */
/* qmgr_bounce - write the non-delivery notice for msg's failures (or
 * drop or double-bounce them, for the null sender); 0, or -1 with st
 * when the notice could not be queued (the recipients stay deferred) */
int qmgr_bounce(struct qmgr_msg *msg, struct status *st);
/* qmgr_success_notice - the RFC 3461 NOTIFY=SUCCESS notice, if any
 * recipient asked for one (best effort) */
void qmgr_success_notice(struct qmgr_msg *msg);
/* qmgr_delay_due - 1 when msg, age seconds old and ending its pass with
 * deferred recipients, is owed the delay warning: delay_warning_time is
 * set and passed, the sender is not <>, a deferred recipient did not
 * refuse delay notices (RFC 3461 NOTIFY), and no warning was recorded
 * before (attribute QMGR_DELAY_ATTR) */
int qmgr_delay_due(const struct qmgr_msg *msg, long long age);
/* qmgr_delay_notice - send the RFC 3464 "delayed" notice about msg's
 * deferred recipients to the sender (best effort; the caller has
 * recorded QMGR_DELAY_ATTR first, so it goes out at most once) */
void qmgr_delay_notice(struct qmgr_msg *msg);
#define QMGR_DELAY_ATTR         "delay_warning"

/* qmgr_backoff.c */
/* qmgr_backoff - seconds until the next attempt for a message that
 * arrived age seconds ago: the age itself, within [min, max] (so the
 * wait about doubles each time, as in Postfix) */
long long qmgr_backoff(long long age, long long min, long long max);
/* qmgr_expired - 1 when a message age seconds old must be returned
 * (lifetime 0: after one attempt, as Postfix's maximal_queue_lifetime =
 * 0 means) */
int qmgr_expired(long long age, long long lifetime);

/* qmgr_log.c - each line shape has one builder */
/* qmgr_log_delay - Postfix's delay number: "0.12", "1.4", "12", "0" */
void qmgr_log_delay(char *out, size_t size, double secs);
void qmgr_log_active(const struct qmgr_msg *msg);
void qmgr_log_rcpt(const struct qmgr_msg *msg, const char *to,
                   const char *orig_to, const char *relay, double sent_at,
                   double done_at, const char *code, const char *status,
                   const char *text);
/* qmgr_log_relay - the relay= field: relay, with Postfix's ", conn_use=N"
 * for a connection that carried more than one message; into out */
const char *qmgr_log_relay(char *out, size_t size, const char *relay,
                           unsigned long conn_use);
void qmgr_log_removed(const struct qmgr_msg *msg);
void qmgr_log_expired(const struct qmgr_msg *msg);
/* qmgr_now - the wall clock in seconds, with microseconds */
double qmgr_now(void);

#endif
