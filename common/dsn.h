/* dsn.h - the one RFC 3464 delivery status notification generator
 * Used by: qmgr (bounces and delay warnings for local delivery), the
 * outbound smtp client (remote failures), sendmail -bv later. Composes a
 * whole message: RFC 5322 header from MAILER-DAEMON@$myhostname to the
 * original envelope sender, then multipart/report; report-type=
 * delivery-status (RFC 6522) with (1) a human-readable text/plain part in
 * Postfix's words ("This is the mail system at host ..."), (2) a
 * message/delivery-status part (RFC 3464 2.2 per-message and 2.3
 * per-recipient fields), (3) the original message as message/rfc822, or
 * only its header as text/rfc822-headers when dsn_ret is HDRS, when the
 * message is larger than bounce_size_limit, or for a delay/success
 * notice. Content is written with LF line ends (the queue's form). The
 * notice itself is sent from the null sender <> (RFC 5321 4.5.5), so it
 * can never bounce back. Runs in qmgr/smtp as mail_owner; reads only what
 * the caller hands it. */
#ifndef YUBIN_DSN_H
#define YUBIN_DSN_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "status.h"

struct queue_writer;

enum dsn_action {               /* RFC 3464 2.3.3 */
        DSN_ACTION_FAILED,
        DSN_ACTION_DELAYED,
        DSN_ACTION_DELIVERED,
        DSN_ACTION_RELAYED,
        DSN_ACTION_EXPANDED,
};

/* One recipient's result. Strings are borrowed for the call. */
struct dsn_rcpt {
        const char *addr;       /* final recipient, internal form */
        const char *orcpt;      /* RFC 3461 ORCPT as received ("rfc822;
                                 * a+2Bb@x", xtext) or NULL */
        enum dsn_action action;
        const char *status;     /* enhanced code, e.g. "5.1.1" */
        const char *diag;       /* what went wrong, e.g. "unknown user:
                                 * \"bob\"" or a remote reply "550 5.1.1
                                 * ..."; NULL for none */
        const char *diag_type;  /* "smtp" when diag is a remote reply, NULL
                                 * = "X-Yubin" (a local reason) */
        const char *remote_mta; /* host name of the remote MTA or NULL */
        time_t last_attempt;    /* 0 = now */
        time_t retry_until;     /* for DELAYED: when mail will bounce; 0 =
                                 * not given */
};

/* The message the notice is about. Strings are borrowed for the call. */
struct dsn_msg {
        const char *queue_id;   /* the original's queue ID */
        const char *sender;     /* its envelope sender: the notice goes
                                 * there (must not be "") */
        const char *envid;      /* RFC 3461 ENVID (xtext) or NULL */
        int ret_hdrs;           /* 1 for RET=HDRS: return only the header */
        time_t arrival;         /* when the original was queued */
        const char *myhostname; /* reporting MTA and the From: domain */
        const char *mail_name;  /* "Yubin", for the From: display name */
        long long size_limit;   /* bounce_size_limit: a larger original is
                                 * returned as its header only (0: none) */
        const char *postmaster; /* "postmaster", named in the text */
        /* read - the original content (LF line ends, as queued), in
         * chunks: return 1 with *data_r and *len_r (borrowed until the next
         * call), 0 at the end, -1 with st on failure. Called from the
         * start again for each compose; rewind on the first call. May be
         * NULL when there is no original to return. */
        int (*read)(void *ctx, int first, const char **data_r, size_t *len_r,
                    struct status *st);
        void *read_ctx;
};

/* dsn_compose - the whole notice about the n recipients in rcpts (all of
 * one kind is usual; mixed actions are allowed: the subject follows the
 * first FAILED, else DELAYED, else the first) appended to out. Returns 0,
 * or -1 with st when m->read failed or the input is unusable. */
int dsn_compose(const struct dsn_msg *m, const struct dsn_rcpt *rcpts,
                size_t n, struct buf *out, struct status *st);

/* dsn_write - compose the notice and write it into w, a queue file opened
 * by the caller: sender "", one recipient m->sender (NOTIFY=NEVER, so a
 * failure to deliver it never makes another notice), attribute
 * "log_ident" = the original's queue ID, then the content. The caller
 * commits (queue_writer_commit) or frees w. Returns 0, or -1 with st. */
int dsn_write(const struct dsn_msg *m, const struct dsn_rcpt *rcpts,
              size_t n, struct queue_writer *w, struct status *st);

/* dsn_date - t as an RFC 5322 date-time in local time ("Thu, 28 Nov 2024
 * 08:49:51 +0100"), appended to out; for the notices' Date: fields and for
 * anyone else who writes a Date: or Received: header */
void dsn_date(struct buf *out, time_t t);

/* dsn_action_name - "failed", "delayed", "delivered", "relayed",
 * "expanded" */
const char *dsn_action_name(enum dsn_action action);

#endif
