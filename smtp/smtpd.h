/* smtpd.h - the SMTP server's shared structures: the server and a session
 * Used by: the smtpd modules only (smtpd.c main, smtpd_session.c the
 * connection and its input pump, smtpd_cmd.c the command table and the
 * simple commands, smtpd_mail.c MAIL and RCPT syntax, smtpd_rcpt.c whether
 * a recipient is taken, smtpd_data.c DATA, BDAT and the queue file,
 * smtpd_auth.c AUTH, smtpd_check*.c restrictions, smtpd_hbc.c header and
 * body checks, smtpd_anvil.c per-client limits, smtpd_log.c log lines). smtpd runs as mail_owner and parses
 * network input; it writes queue files under queue_directory and talks to
 * authd. */
#ifndef YUBIN_SMTPD_H
#define YUBIN_SMTPD_H

#include <stddef.h>

#include "buf.h"
#include "smtpd_parse.h"
#include "status.h"

struct authc;
struct authc_req;
struct cfg;
struct conn;
struct daemon;
struct domain_list;
struct inet_list;
struct loop_timer;
struct maps;
struct queue_writer;
struct resolve;
struct smtpd_anvil;
struct smtpd_check_run;
struct smtpd_check_sess;
struct smtpd_checks;
struct smtpd_hbc;
struct tls_ctx;
struct workq;

#define SMTPD_REPLY_MAX         1024    /* one reply line */
#define SMTPD_HELO_MAX          255     /* longest HELO name kept */
#define SMTPD_COMMIT_THREADS    8       /* queue file commits in parallel */
#define SMTPD_MECHS_TTL_MS      (60 * 1000)     /* SASL mechanism cache */
#define SMTPD_MSGID_MAX         256     /* Message-ID kept for the log */
#define SMTPD_RESOLVE_RETRY_MS  (10 * 1000)     /* reopen a failed resolver */

enum smtpd_tls_level {
        SMTPD_TLS_NONE,
        SMTPD_TLS_MAY,          /* offer STARTTLS */
        SMTPD_TLS_ENCRYPT,      /* require it before mail (or AUTH) */
};

/* What one smtpd process serves: main.cf with its service's -o. */
struct smtpd_server {
        struct daemon *d;
        struct cfg *cfg;
        const char *service;
        const char *myhostname;
        const char *banner;
        const char *mail_name;
        const char *queue_dir;
        const char *sasl_service;
        const char *recipient_delimiter;
        long long message_size_limit;   /* 0: none */
        long long queue_minfree;
        long long header_size_limit;
        long long line_max;
        long long sasl_response_limit;
        long long recipient_limit;
        long long hard_error_limit, soft_error_limit, junk_limit;
        long long hopcount_limit;
        long long bare_lf_code;         /* smtpd_forbid_bare_newline_reject_code */
        long long timeout_ms, starttls_timeout_ms, error_sleep_ms;
        long long conn_count_limit, conn_rate_limit, auth_rate_limit;
        long long message_rate_limit, rcpt_rate_limit, tls_rate_limit;
        long long rate_unit_ms;
        int helo_required, disable_vrfy, smtputf8, delay_reject;
        int reject_unlisted_rcpt, strict_rfc821;
        int sasl_enable, tls_auth_only, sasl_auth_header;
        int tls_received_header, tls_loglevel;
        int sasl_noplain, sasl_tls_noplain;     /* noplaintext, per TLS */
        int sasl_noanon, sasl_tls_noanon;       /* noanonymous */
        enum smtpd_tls_level tls_level;
        int wrappermode;
        struct tls_ctx *tls;            /* NULL: no TLS to offer */
        enum smtpd_newline newline;
        struct inet_list *mynetworks;
        struct inet_list *newline_exclusions;
        struct inet_list *event_exceptions;
        struct inet_list *sasl_exceptions;
        struct domain_list *mydestination;
        struct domain_list *relay_domains;
        struct domain_list *virtual_alias_domains;
        struct domain_list *virtual_mailbox_domains;
        struct resolve *resolve;        /* NULL: could not be opened */
        long long resolve_tried;        /* loop_now_ms() of the last try */
        struct authc *authc;
        struct workq *workq;
        struct smtpd_checks *checks;
        struct smtpd_anvil *anvil;
        char **discard;                 /* smtpd_discard_ehlo_keywords */
        size_t discard_count;
        char **forbidden;               /* smtpd_forbidden_commands */
        size_t forbidden_count;
        struct maps *forbidden_maps;    /* ... its tables */
        char *mechs[2];                 /* SASL mechanisms, [secured] */
        long long mechs_at[2];          /* loop_now_ms() of the answer */
        struct smtpd_session *sessions; /* every open session */
        size_t session_count;
        int draining;
};

/* One accepted recipient. */
struct smtpd_rcpt {
        char *addr;
        char *orcpt;                    /* "rfc822;a@b" or NULL */
        unsigned notify;                /* QUEUE_NOTIFY_* bits, 0: none */
};

/* Per command name, for the "disconnect from" line. */
struct smtpd_count {
        unsigned total, ok;
};

/* The message being received (smtpd_data.c). */
struct smtpd_content {
        long long size;                 /* content bytes so far */
        long long hops;                 /* Received: headers */
        long long header_len;           /* the current header's bytes */
        int in_header;                  /* still in the header section */
        int at_bol;                     /* the next piece starts a line */
        int header_dropped;             /* the current header is cut off */
        int skip_line;                  /* dropping the rest of a line */
        int too_big;
        int have_msgid, have_date;
        int failed;                     /* a write failed: st says why */
        struct status st;
        char msgid[SMTPD_MSGID_MAX];
        int msgid_line;                 /* reading the Message-ID header */
};

/* Why input waits. */
#define SMTPD_WAIT_CHECK        0x01    /* restrictions or a look-up */
#define SMTPD_WAIT_AUTH         0x02    /* authd answers AUTH */
#define SMTPD_WAIT_COMMIT       0x04    /* queue_writer_commit() runs */
#define SMTPD_WAIT_DELAY        0x08    /* smtpd_error_sleep_time */
#define SMTPD_WAIT_TLS          0x10    /* STARTTLS handshake */
#define SMTPD_WAIT_MECHS        0x20    /* EHLO waits for the mechanisms */
#define SMTPD_WAIT_PEER         0x40    /* the client's name is looked up */

struct smtpd_session {
        struct smtpd_server *srv;
        struct conn *conn;
        struct smtpd_session *prev, *next;
        struct smtpd_parser parser;
        struct buf in;                  /* read, not yet parsed */
        struct buf out;                 /* replies not yet written */
        unsigned waiting;               /* SMTPD_WAIT_* */
        int closing;                    /* 421/221 sent; nothing more read */
        int pumping;                    /* the input pump is running */
        int drain_now;                  /* SIGTERM: end at the next chance */
        size_t in_off;                  /* s->in bytes already parsed */
        int gone;                       /* the connection is gone; free the
                                         * session when nothing waits */
        int anvil_counted;
        char addr[64];                  /* client IP */
        char laddr[64];
        int port;
        char client[320];               /* "name[192.0.2.7]" */
        char *name;                     /* verified client name, "unknown" */
        char *reverse_name;             /* PTR name, "unknown" */
        int name_status, reverse_status;        /* SMTPD_PEER_* */
        struct smtpd_check_sess *chk;   /* what the restrictions keep */
        struct smtpd_hbc *hbc;          /* header/body checks of a message */
        int ill_pipelining;             /* commands sent ahead of time */
        char *helo;
        int esmtp;
        int tls;                        /* TLS active */
        int in_mynetworks;              /* 1 yes, 0 no, -1 could not tell */
        char *sasl_user, *sasl_method;
        char *access_denied;            /* connect-time client reject */
        /* the transaction */
        int mail_given;
        char *sender;
        long long size_param;
        const char *body;               /* "7BIT", "8BITMIME" or NULL */
        int smtputf8;
        char *dsn_ret, *dsn_envid;
        struct smtpd_rcpt *rcpts;
        size_t rcpt_count, rcpt_size;
        struct smtpd_rcpt pending;      /* RCPT being checked */
        struct queue_writer *qw;
        char queue_id[64];
        struct smtpd_content content;
        int in_data;                    /* DATA or BDAT content coming */
        int bdat;                       /* a BDAT transfer is under way */
        int bdat_failed;                /* ... and will be refused */
        char bdat_error[SMTPD_REPLY_MAX];       /* ... with this reply */
        int rcpt_tried;                 /* a RCPT came in this transaction */
        int commit_ret;                 /* queue_writer_commit() said */
        struct status commit_st;
        int bdat_last;
        unsigned long long bdat_size;
        /* counters */
        long long errors, junk;
        int cur_cmd;                    /* counted command, or -1 */
        const char *last_cmd;           /* for "lost connection after X" */
        struct smtpd_count counts[20];
        /* asynchronous steps */
        struct smtpd_check_run *check;
        struct authc_req *req;          /* a look-up or AUTH */
        struct loop_timer *timer;       /* the error delay */
        char *auth_mech;                /* AUTH under way */
        void (*mechs_cb)(struct smtpd_session *s);      /* EHLO waits */
        int mechs_failed;               /* authd could not list them */
        int auth_rate_done;
        long long auth_attempts;
};

/* --- smtpd_session.c --- */

/* smtpd_session_new - take over an accepted socket fd (ownership passes) */
void smtpd_session_new(struct smtpd_server *srv, int fd);
/* smtpd_greet - the 220 greeting (after connect-time restrictions) */
void smtpd_greet(struct smtpd_session *s);
/* smtpd_reply - queue a reply line "CODE TEXT" (printf format, without
 * CR LF); counts 4xx/5xx replies as client errors and decides the
 * outcome of the command being counted */
void smtpd_reply(struct smtpd_session *s, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* smtpd_reply_raw - queue one line as is (a continuation "250-..." or a
 * 334 challenge); no counting */
void smtpd_reply_raw(struct smtpd_session *s, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* smtpd_wait, smtpd_resume - an asynchronous step starts / ended: input
 * waits meanwhile; resume flushes replies and goes on with input */
void smtpd_wait(struct smtpd_session *s, unsigned why);
void smtpd_resume(struct smtpd_session *s, unsigned why);
/* smtpd_close - say text (a "421 ..." or "221 ..." reply, or NULL), then
 * close the session */
void smtpd_close(struct smtpd_session *s, const char *text);
/* smtpd_starttls - switch to TLS after the 220 was queued */
void smtpd_starttls(struct smtpd_session *s);
/* smtpd_rate_exceeded - count an event of kind (enum smtpd_anvil_kind)
 * for s's client; 1 (and the warning logged) when it goes past limit
 * (0: none) within anvil_rate_time_unit, else 0. Clients in
 * smtpd_client_event_limit_exceptions are never limited. */
int smtpd_rate_exceeded(struct smtpd_session *s, int kind, long long limit,
                        const char *what);
/* smtpd_drain - stop: idle sessions get 421, others end after their step */
void smtpd_drain(struct smtpd_server *srv, int now);

/* --- smtpd_cmd.c --- */

/* smtpd_cmd_line - run one command line (len bytes, NUL-terminated) */
void smtpd_cmd_line(struct smtpd_session *s, char *line, size_t len);
/* smtpd_cmd_counts - " ehlo=1 mail=1 ... commands=5" into out */
void smtpd_cmd_counts(const struct smtpd_session *s, struct buf *out);
/* smtpd_tls_required - 1 when mail needs STARTTLS first */
int smtpd_tls_required(const struct smtpd_session *s);

/* --- smtpd_mail.c --- */

void smtpd_cmd_mail(struct smtpd_session *s, char *args);
void smtpd_cmd_rcpt(struct smtpd_session *s, char *args);
/* --- smtpd_rcpt.c --- */

/* smtpd_rcpt_check - decide on s->pending (restrictions, unlisted
 * recipients); replies and resumes the session when done */
void smtpd_rcpt_check(struct smtpd_session *s);

/* smtpd_reset - forget the transaction (RSET, after a message, HELO) */
void smtpd_reset(struct smtpd_session *s);
/* smtpd_protocol - "ESMTPSA" and the like, for Received: and the log */
const char *smtpd_protocol(const struct smtpd_session *s);

/* --- smtpd_data.c --- */

void smtpd_cmd_data(struct smtpd_session *s, char *args);
void smtpd_cmd_bdat(struct smtpd_session *s, char *args);
/* smtpd_data_text - a content piece from the parser */
void smtpd_data_text(struct smtpd_session *s, const char *data, size_t len,
                     int eol);
/* smtpd_data_end - the end of DATA or of a BDAT chunk */
void smtpd_data_end(struct smtpd_session *s);
/* smtpd_space_ok - 0 if the queue file system has room for size more
 * bytes, else -1 (queue_minfree) */
int smtpd_space_ok(struct smtpd_session *s, long long size);
/* smtpd_data_write - len content bytes into the queue file as they are
 * (a write failure is kept for the end of the message) */
void smtpd_data_write(struct smtpd_session *s, const char *data, size_t len);

/* --- smtpd_hbc.c --- */

/* smtpd_hbc_new - header/body checks for the message s starts to
 * receive, or NULL when no header_checks, mime_header_checks or
 * body_checks table is set; free with smtpd_hbc_free() */
struct smtpd_hbc *smtpd_hbc_new(struct smtpd_session *s);
void smtpd_hbc_free(struct smtpd_hbc **hp);
/* smtpd_hbc_put - content on its way to the queue file (through
 * smtpd_data_write(), checked line by line) */
void smtpd_hbc_put(struct smtpd_session *s, const char *data, size_t len);
/* smtpd_hbc_end - the content is complete: the REJECT reply ("550 5.7.1
 * ...", borrowed until smtpd_hbc_free) or NULL */
const char *smtpd_hbc_end(struct smtpd_session *s);

/* --- smtpd_auth.c --- */

void smtpd_cmd_auth(struct smtpd_session *s, char *args);
/* smtpd_auth_line - the client's answer to a 334 */
void smtpd_auth_line(struct smtpd_session *s, const char *line, int too_long);
/* smtpd_auth_mechs - the mechanisms to offer now: a string (borrowed),
 * "" for none, or NULL when they must be fetched first: then cb(s) runs
 * when they are known (smtpd_wait(SMTPD_WAIT_MECHS) meanwhile) */
const char *smtpd_auth_mechs(struct smtpd_session *s,
                             void (*cb)(struct smtpd_session *s));
/* smtpd_auth_offered - 1 when AUTH may be offered on this session now */
int smtpd_auth_offered(const struct smtpd_session *s);
/* smtpd_auth_cancel - drop an exchange under way (session ending) */
void smtpd_auth_cancel(struct smtpd_session *s);

#endif
