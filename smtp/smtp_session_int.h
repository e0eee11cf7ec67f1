/* smtp_session_int.h - what smtp_session.c and smtp_auth.c share
 * Used by: smtp_session.c (connection, greeting, EHLO, the transaction)
 * and smtp_auth.c (STARTTLS and SASL AUTH between EHLO and MAIL). Not for
 * the rest of smtp: it uses smtp.h. */
#ifndef YUBIN_SMTP_SESSION_INT_H
#define YUBIN_SMTP_SESSION_INT_H

#include <stddef.h>

#include "buf.h"
#include "smtp.h"
#include "status.h"

struct conn;
struct loop_timer;
struct smtp_sasl;

enum smtp_session_state {
        S_CONNECT, S_GREETING, S_EHLO, S_HELO, S_STARTTLS, S_TLS, S_AUTH,
        S_RSET,                 /* probing a kept connection */
        S_TRANS, S_BODY, S_QUIT,
};

enum smtp_session_expect { E_MAIL, E_RCPT, E_DATA, E_DOT };

struct smtp_session {
        struct smtp_job *job;
        struct conn *conn;
        enum smtp_session_state state;
        struct smtp_reply reply;
        struct smtp_ext ext;
        struct smtp_sasl *sasl;
        struct smtp_content content;
        const struct smtp_addr *addr;   /* in job->addrs, or own_addr */
        struct smtp_addr own_addr;      /* a kept connection's */
        unsigned long uses;             /* transactions on the connection,
                                         * this one included */
        long long opened_ms;
        int reused;                     /* the connection was kept */
        int data_started;               /* DATA got 354: from here on the
                                         * server may get the message */
        char relay[SMTP_HOST_MAX + 80];
        enum smtp_session_expect *expect; /* replies still to come */
        size_t *expect_rcpt;
        size_t nexpect, head, sent;     /* commands: total, answered, sent */
        struct buf cmds;                /* non-pipelined: one at a time */
        size_t *cmd_off;
        size_t accepted;
        int mail_failed, aborting, in_trans, tls_tried, helo_tried;
        int plain_retry;                /* at level may, the TLS handshake
                                         * failed: the same address again,
                                         * without STARTTLS */
        int no_starttls;                /* this connection is that retry */
        size_t sessions;                /* servers that greeted us */
        struct status last;             /* why the last address failed */
        struct loop_timer *kick;        /* ends the job from the loop */
};

/* smtp_session_said - "host H[I] said: REPLY (in reply to CMD command)"
 * into st, with the reply's enhanced code */
void smtp_session_said(struct smtp_session *s, struct status *st,
                       const char *cmd);
/* smtp_session_fail_addr - this address did not work out before MAIL:
 * log why, keep it for the recipients and try the next address */
void smtp_session_fail_addr(struct smtp_session *s, const struct status *why);
/* smtp_session_send - one command line (CRLF added) with its timeout */
void smtp_session_send(struct smtp_session *s, long long timeout_ms,
                       const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* smtp_session_transaction - MAIL, RCPT..., DATA for every recipient */
void smtp_session_transaction(struct smtp_session *s);

/* smtp_auth.c */
/* smtp_auth_after_ehlo - the server's extensions are known: STARTTLS,
 * then AUTH when credentials exist, then the transaction */
void smtp_auth_after_ehlo(struct smtp_session *s);
/* smtp_auth_reply - a complete reply to STARTTLS or AUTH */
void smtp_auth_reply(struct smtp_session *s);
/* smtp_auth_tls_ready - the TLS handshake finished: check the
 * certificate by smtp_tls_security_level, then EHLO again (RFC 3207 4.2) */
void smtp_auth_tls_ready(struct smtp_session *s);

#endif
