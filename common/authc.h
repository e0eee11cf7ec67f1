/* authc.h - the authd client: passwords, users, tokens, PbS, SASL relay
 * Used by: smtpd, imapd and pop3d (event-driven, the async calls), local
 * and qmgr (look-ups), the supervisor and yubinctl (the blocking
 * authc_sync_* calls), the tests' authc_tool. authd is reached only
 * through this module; auth/PROTOCOL.md describes what goes over its UNIX
 * socket ($data_directory/authd.socket). "Could not tell" is never "no":
 * when authd is down or a backend fails the answer is AUTHC_TEMPFAIL (a
 * 4xx, never a 5xx and never a relay grant). Also holds the wire helpers
 * (field escaping and splitting) that authd's own parser shares. */
#ifndef YUBIN_AUTHC_H
#define YUBIN_AUTHC_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "status.h"

#define AUTHC_PROTO_MAJOR       1
#define AUTHC_PROTO_MINOR       0
/* the socket's name under data_directory */
#define AUTHC_SOCKET_NAME       "authd.socket"
/* the longest line either side sends, without its LF */
#define AUTHC_LINE_MAX          16384
/* the most tab-separated fields a line may have */
#define AUTHC_FIELDS_MAX        24
/* Field limits, in bytes as sent before escaping. authc refuses longer
 * values itself (a too long password is a failed login, not an outage);
 * authd answers ERROR to a line that breaks them. */
#define AUTHC_USER_MAX          512     /* user names as typed */
#define AUTHC_PASSWORD_MAX      1024
#define AUTHC_SERVICE_MAX       32      /* "smtp", "imap", "pop3" */
#define AUTHC_IP_MAX            64      /* an IPv4 or IPv6 address */
#define AUTHC_MECH_MAX          32      /* a SASL mechanism name */
#define AUTHC_TOKEN_MAX         64      /* a login token */
#define AUTHC_SASL_MAX          16000   /* one SASL message in base64 */
/* how long a request may wait for its answer before it is TEMPFAIL */
#define AUTHC_REPLY_TIMEOUT_MS  (120 * 1000)

enum authc_result {
        AUTHC_OK,               /* verified, found, granted, yes */
        AUTHC_FAIL,             /* refused: see enum authc_fail */
        AUTHC_NOTFOUND,         /* look-up: no such user; redeem: no such
                                 * live token; PbS check: no live grant */
        AUTHC_TEMPFAIL,         /* could not tell (authd or a backend is
                                 * down): answer 4xx, grant nothing */
        AUTHC_CONTINUE,         /* SASL: relay the challenge, then call
                                 * authc_sasl_continue() */
};

/* Why a login failed; front ends map these to replies once. */
enum authc_fail {
        AUTHC_FAIL_AUTH,        /* bad credentials, unknown or disabled
                                 * user: 535 5.7.8 / NO [AUTHENTICATIONFAILED] */
        AUTHC_FAIL_BANNED,      /* the client address is refused for now
                                 * (too many failures) */
        AUTHC_FAIL_MECH,        /* SASL mechanism not offered: 504 5.5.4 */
        AUTHC_FAIL_SYNTAX,      /* SASL response malformed (bad base64):
                                 * 501 5.5.2 */
};

/* A user record as authd sends it. */
struct authc_user {
        char *name;             /* canonical name */
        uid_t uid;              /* owner of the mail */
        gid_t gid;
        char *home;             /* "" when none */
        char *mail;             /* expanded mail location */
        long long quota_bytes;  /* 0: no limit */
        long long quota_messages;       /* 0: no limit */
        char *token;            /* login token, or NULL when none asked */
};

/* What a callback gets. Everything is borrowed: valid until the callback
 * returns (copy with authc_user_dup() to keep the user). */
struct authc_reply {
        enum authc_result result;
        enum authc_fail fail;           /* with AUTHC_FAIL */
        const char *reason;             /* FAIL, TEMPFAIL: text for the log
                                         * (never for the client); else "" */
        const struct authc_user *user;  /* OK of verify, lookup, redeem and
                                         * SASL; else NULL */
        const char *challenge;          /* CONTINUE: base64, may be "" */
        const char *mechs;              /* OK of authc_mechs(): "PLAIN LOGIN"
                                         * (may be "") */
        const char *pbs_user;           /* OK of a PbS check: who logged in */
        long long pbs_expires;          /* ... and when it lapses (Unix s) */
};

/* The connection facts authd needs with a login. Borrowed by each call. */
struct authc_login {
        const char *service;    /* "smtp", "imap", "pop3" */
        const char *rip;        /* client address ("" if none) */
        const char *lip;        /* local address ("" if none) */
        int secured;            /* 1: TLS, or a link the front end trusts
                                 * as much (decides the mechanism list) */
        int want_token;         /* 1: ask for a login token on success */
};

typedef void authc_cb(const struct authc_reply *r, void *ctx);

struct authc;
struct authc_req;

/* --- asynchronous: for event-driven daemons (needs loop_init()) --- */

/* authc_new - a client for the authd socket at path (borrowed, copied).
 * It connects on the first request and again after any trouble; requests
 * may be pipelined. Free with authc_free(). */
struct authc *authc_new(const char *socket_path);
/* authc_free - close and free *ap; pending requests are dropped without a
 * callback; clears *ap; accepts NULL */
void authc_free(struct authc **ap);

/* Each request below returns a handle and later calls cb(reply, ctx)
 * exactly once (AUTHC_CONTINUE aside), always from the loop and never
 * from inside the call; the handle is invalid after that final callback.
 * authc_cancel() stops it early. Strings are borrowed (copied). */

/* authc_verify - check user's password: OK with the user record, FAIL
 * (authd has already applied auth_failure_delay), or TEMPFAIL */
struct authc_req *authc_verify(struct authc *a, const struct authc_login *l,
                               const char *user, const char *password,
                               authc_cb *cb, void *ctx);
/* authc_lookup - a user without a password: OK, NOTFOUND or TEMPFAIL */
struct authc_req *authc_lookup(struct authc *a, const char *user,
                               authc_cb *cb, void *ctx);
/* authc_redeem - use up a login token: OK with the user it was issued
 * for, NOTFOUND (unknown, used or expired), or TEMPFAIL */
struct authc_req *authc_redeem(struct authc *a, const char *token,
                               authc_cb *cb, void *ctx);
/* authc_pbs_grant - let ip relay as user for pop_before_smtp_timeout:
 * OK or TEMPFAIL */
struct authc_req *authc_pbs_grant(struct authc *a, const char *ip,
                                  const char *user, authc_cb *cb, void *ctx);
/* authc_pbs_check - does ip hold a live grant? OK (pbs_user set),
 * NOTFOUND, or TEMPFAIL (which must not relay) */
struct authc_req *authc_pbs_check(struct authc *a, const char *ip,
                                  authc_cb *cb, void *ctx);
/* authc_mechs - the SASL mechanisms to offer for service on a connection
 * that is (secured 1) or is not TLS: OK with mechs, or TEMPFAIL */
struct authc_req *authc_mechs(struct authc *a, const char *service,
                              int secured, authc_cb *cb, void *ctx);
/* authc_sasl_start - begin a SASL exchange with mech. initial is the
 * client's initial response in base64 ("" for an empty one, as SMTP's
 * "="), or NULL when the client sent none. cb gets CONTINUE (relay the
 * challenge and answer with authc_sasl_continue()), then finally OK (user
 * set), FAIL or TEMPFAIL. */
struct authc_req *authc_sasl_start(struct authc *a, const struct authc_login *l,
                                   const char *mech, const char *initial,
                                   authc_cb *cb, void *ctx);
/* authc_sasl_continue - the client's answer (base64, borrowed) to the
 * last CONTINUE of req */
void authc_sasl_continue(struct authc_req *req, const char *response);
/* authc_cancel - no callback will follow for *reqp (a SASL exchange is
 * aborted at authd); clears *reqp; accepts NULL */
void authc_cancel(struct authc_req **reqp);
/* authc_pending - requests waiting for their final callback */
size_t authc_pending(const struct authc *a);

/* --- blocking: for yubinctl, the supervisor and tests --- */

struct authc_sync;

/* authc_sync_open - connect to the socket at path and do the handshake,
 * waiting at most timeout_ms for each answer (0: AUTHC_REPLY_TIMEOUT_MS).
 * Returns a new handle (free with authc_sync_close()), or NULL with st
 * (4.3.0) when authd cannot be reached. */
struct authc_sync *authc_sync_open(const char *socket_path,
                                   long long timeout_ms, struct status *st);
/* authc_sync_close - close and free *sp; clears it; accepts NULL */
void authc_sync_close(struct authc_sync **sp);

/* authc_sync_verify - 1 verified with *user_r (free with
 * authc_user_free()), 0 refused (*fail_r says why when not NULL; st has
 * authd's reason), -1 with st could not tell */
int authc_sync_verify(struct authc_sync *s, const struct authc_login *l,
                      const char *user, const char *password,
                      struct authc_user **user_r, enum authc_fail *fail_r,
                      struct status *st);
/* authc_sync_lookup, authc_sync_redeem - 1 with *user_r (free with
 * authc_user_free()), 0 not found, -1 with st could not tell */
int authc_sync_lookup(struct authc_sync *s, const char *user,
                      struct authc_user **user_r, struct status *st);
int authc_sync_redeem(struct authc_sync *s, const char *token,
                      struct authc_user **user_r, struct status *st);
/* authc_sync_pbs_grant - 0, or -1 with st */
int authc_sync_pbs_grant(struct authc_sync *s, const char *ip,
                         const char *user, struct status *st);
/* authc_sync_pbs_check - 1 with *user_r (may be NULL; free with free())
 * and *expires_r (may be NULL; Unix seconds), 0 no grant, -1 with st */
int authc_sync_pbs_check(struct authc_sync *s, const char *ip,
                         char **user_r, long long *expires_r,
                         struct status *st);
/* authc_sync_pbs_list - call fn for each live grant (strings valid during
 * the call); returns how many, or -1 with st */
long authc_sync_pbs_list(struct authc_sync *s,
                         void (*fn)(const char *ip, const char *user,
                                    long long expires, void *ctx),
                         void *ctx, struct status *st);
/* authc_sync_mechs - 0 with *mechs_r (free with free()), or -1 with st */
int authc_sync_mechs(struct authc_sync *s, const char *service, int secured,
                     char **mechs_r, struct status *st);

/* authc_user_dup - a copy of u; free with authc_user_free() */
struct authc_user *authc_user_dup(const struct authc_user *u);
/* authc_user_free - free *up and clear it; accepts NULL */
void authc_user_free(struct authc_user **up);

/* --- the wire format, shared with authd (auth/auth_proto.c) --- */

/* authc_escape - append s (len bytes) to out with '\\', TAB, LF and CR
 * written as "\\\\", "\\t", "\\n", "\\r"; returns buf_append's 0 or -1 */
int authc_escape(struct buf *out, const char *s, size_t len);
/* authc_unescape - undo authc_escape in place on the NUL-terminated s;
 * returns the new length, or -1 for a bad escape or a raw NUL within
 * len bytes */
long authc_unescape(char *s, size_t len);
/* authc_split - cut line (len bytes, modified in place: each TAB becomes
 * a NUL) into at most max fields; returns their number, or max + 1 when
 * there are more (fields_r then holds the first max) */
size_t authc_split(char *line, size_t len, char **fields_r, size_t max);
/* authc_field_value - for a "key=value" field, the value when the key is
 * key, else NULL (borrowed from field) */
const char *authc_field_value(const char *field, const char *key);
/* authc_user_parse - a user record from "key=value" fields (user=, uid=,
 * gid=, home=, mail=, quota_bytes=, quota_messages=, token=; unknown keys
 * are ignored so that authd can add some in a minor version). Returns a
 * new record (free with authc_user_free()), or NULL when user= is missing
 * or a number is malformed. */
struct authc_user *authc_user_parse(char **fields, size_t count);

#endif
