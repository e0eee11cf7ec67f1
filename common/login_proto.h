/* login_proto.h - what login front ends, the supervisor and sessions say
 * Used by: the login front ends (imapd, pop3d: login_master.c sends LOGIN
 * and reads the answer), the supervisor (master/master_session.c: reads
 * LOGIN, answers OK/FAIL, writes SESSION) and the per-user sessions (imap,
 * pop3: login_session.c reads SESSION). Builds and parses; no I/O.
 *
 * The channel. The supervisor listens on $data_directory/login.socket, a
 * UNIX SOCK_SEQPACKET socket owned by mail_owner, mode 0600; it accepts
 * only its own children running as mail_owner (SO_PEERCRED). A front end
 * keeps one connection open and pipelines requests on it; each message is
 * one datagram of at most LOGIN_MSG_MAX bytes:
 *
 *      WORD TAB MAJOR TAB ID { TAB key=value } LF [body]
 *
 * MAJOR is LOGIN_PROTO_MAJOR; a receiver refuses another major version and
 * ignores keys it does not know (a minor version may add some). Values
 * are escaped as on authd's socket (authc_escape: backslash, TAB, LF, CR).
 * ID is a decimal number from 1 to 4294967295 chosen by the front end.
 *
 *   LOGIN (front end -> supervisor): the client is authenticated; start
 *      its session. Carries exactly one descriptor (SCM_RIGHTS): the
 *      client's socket when the front end holds no TLS on it, else one end
 *      of a socketpair whose other end the front end relays to and from
 *      the TLS connection. Keys: proto (pop3, imap), service (master.cf
 *      service of the front end), token (the single-use login token authd
 *      issued with the successful login; the supervisor redeems it itself,
 *      so a front end cannot name the user), rip, lip, rport, lport, tls
 *      and secured (0/1), method (PLAIN, LOGIN), data (the protocol's own:
 *      IMAP's command tag, which the session answers). The body is the client
 *      input the front end read but did not use (pipelined commands).
 *   OK (supervisor -> front end): the session runs; key pid.
 *   FAIL (supervisor -> front end): no session; keys code (temp: try
 *      later; limit: mail_max_userip_connections reached; refused: the
 *      token or the user record was not acceptable) and text (for the
 *      log only).
 *   SESSION (supervisor -> session): in a sealed memfd at descriptor
 *      LOGIN_SESSION_INFO_FD of the session process, which has the client
 *      at LOGIN_SESSION_CLIENT_FD and main.cf at LOGIN_SESSION_MAIN_CF_FD.
 *      Keys: those of LOGIN but token, plus the user record as authd gave
 *      it (user, uid, gid, home, mail, quota_bytes, quota_messages). The
 *      body is LOGIN's body: the session reads it before the socket.
 *
 * Parsers take input from mail_owner processes (front ends) and the
 * supervisor; every field and the whole message have limits. */
#ifndef YUBIN_LOGIN_PROTO_H
#define YUBIN_LOGIN_PROTO_H

#include <stddef.h>
#include <sys/types.h>

#include "authc.h"
#include "buf.h"
#include "status.h"

#define LOGIN_PROTO_MAJOR       1
#define LOGIN_PROTO_MINOR       0
/* the socket's name under data_directory */
#define LOGIN_SOCKET_NAME       "login.socket"
/* client input a front end may pass on with a login */
#define LOGIN_PENDING_MAX       (64 * 1024)
/* the header line, without the body */
#define LOGIN_HEADER_MAX        8192
#define LOGIN_MSG_MAX           (LOGIN_HEADER_MAX + LOGIN_PENDING_MAX)
/* longest data value */
#define LOGIN_DATA_VALUE_MAX    1024
/* the most key=value fields a message may have */
#define LOGIN_FIELDS_MAX        32
/* where a session process finds what the supervisor gives it */
#define LOGIN_SESSION_CLIENT_FD 3
#define LOGIN_SESSION_INFO_FD   4
#define LOGIN_SESSION_MAIN_CF_FD 5

/* Why the supervisor started no session. */
enum login_fail {
        LOGIN_FAIL_TEMP,        /* try later: -ERR [SYS/TEMP], NO [UNAVAILABLE] */
        LOGIN_FAIL_LIMIT,       /* too many sessions of this user and IP:
                                 * -ERR [IN-USE], NO [LIMIT] */
        LOGIN_FAIL_REFUSED,     /* token unknown or expired, a user the
                                 * supervisor will not run (uid 0) */
};

/* The connection facts that travel with a login. Strings are borrowed. */
struct login_client_info {
        const char *proto;      /* "pop3", "imap" */
        const char *service;    /* master.cf service name */
        const char *rip, *lip;
        int rport, lport;
        int tls;                /* the front end holds TLS on the client */
        int secured;            /* TLS, same address, trusted network */
        const char *method;     /* "PLAIN", "LOGIN" */
        const char *data;       /* the protocol's own, for the session
                                 * (IMAP: the tag to answer); "" if none */
};

/* LOGIN, as parsed: strings point into the message (modified in place). */
struct login_request {
        unsigned long id;
        struct login_client_info info;
        const char *token;
        const char *pending;    /* body */
        size_t pending_len;
};

/* OK or FAIL, as parsed. */
struct login_reply {
        unsigned long id;
        int ok;                 /* 1: OK, 0: FAIL */
        long pid;               /* OK: the session's pid */
        enum login_fail fail;   /* FAIL */
        const char *text;       /* FAIL: for the log; "" if none */
};

/* SESSION, as parsed. Strings point into the message except user. */
struct login_session_info {
        struct login_client_info info;
        struct authc_user *user;        /* owned: free with authc_user_free() */
        const char *pending;
        size_t pending_len;
};

/* login_request_build - the LOGIN datagram for r into out (emptied
 * first); 0, or -1 with st when a field or the body is too long */
int login_request_build(struct buf *out, const struct login_request *r,
                        struct status *st);
/* login_request_parse - a LOGIN datagram of len bytes in data (modified in
 * place; *r_r borrows from it). 0, or -1 with st saying what is wrong (a
 * missing key, another word or major version, a malformed value). */
int login_request_parse(char *data, size_t len, struct login_request *r_r,
                        struct status *st);

/* login_reply_build_ok, login_reply_build_fail - an answer into out
 * (emptied first) */
void login_reply_build_ok(struct buf *out, unsigned long id, long pid);
void login_reply_build_fail(struct buf *out, unsigned long id,
                            enum login_fail fail, const char *text);
/* login_reply_parse - an OK or FAIL datagram; as login_request_parse */
int login_reply_parse(char *data, size_t len, struct login_reply *r_r,
                      struct status *st);

/* login_session_build - the SESSION message for a client (info and
 * pending borrowed) and the redeemed user into out (emptied first); 0, or
 * -1 with st when too long */
int login_session_build(struct buf *out, const struct login_client_info *info,
                        const struct authc_user *user, const char *pending,
                        size_t pending_len, struct status *st);
/* login_session_parse - a SESSION message (modified in place); *s_r
 * borrows from data, but for the user record, which the caller frees. 0,
 * or -1 with st. */
int login_session_parse(char *data, size_t len,
                        struct login_session_info *s_r, struct status *st);

/* login_fail_name - "temp", "limit", "refused" */
const char *login_fail_name(enum login_fail fail);

#endif
