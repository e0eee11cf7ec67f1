/* login_server.h - the IMAP/POP3 login front end, less the protocol
 * Used by: imapd and pop3d, which supply a struct login_hooks (greeting,
 * pre-auth command lines, replies) and call the login_client_* functions
 * from their command handlers. Everything else is here: accepting on the
 * listeners the supervisor bound, implicit TLS (tls_wrappermode) and
 * STARTTLS, disable_plaintext_auth's "secured" rule (login_trust.h), the
 * authd exchanges (password checks and the SASL relay, with a single-use
 * login token asked for on success), the PbS grant after a successful
 * login, and the hand-off of the client to a session process through the
 * supervisor (login_master.h): the socket itself when the front end holds
 * no TLS on it, else a socketpair whose far end the session gets while the
 * front end relays plaintext to and from the TLS connection
 * (login_relay.h). The session, not the front end, answers a successful
 * login ("+OK Logged in.", "tag OK ..."), so that it can still refuse
 * (mailbox locked, broken) after the front end let go.
 * Log lines are Dovecot's: "PROTO-login: Login: user=<...>, method=...,
 * rip=..., lip=..., mpid=...[, TLS]" and "PROTO-login: Disconnected: ...".
 * Runs as mail_owner, event-driven; parses client lines only in the hooks
 * and SASL responses (base64, relayed to authd unread). */
#ifndef YUBIN_LOGIN_SERVER_H
#define YUBIN_LOGIN_SERVER_H

#include <stddef.h>

#include "login_proto.h"

struct conn;
struct daemon;
struct login_client;
struct login_server;

/* how long a client may stay idle before logging in */
#define LOGIN_IDLE_MS           (180 * 1000)
/* failed logins on one connection before it is closed */
#define LOGIN_AUTH_ATTEMPTS_MAX 3
/* longest proto data passed to the session with a login (an IMAP tag) */
#define LOGIN_DATA_MAX          LOGIN_DATA_VALUE_MAX

/* What the protocol supplies. Every hook gets the client; output goes
 * through login_client_write()/login_client_printf(). */
struct login_hooks {
        const char *proto;      /* "pop3", "imap": authd's service name, the
                                 * log prefix "PROTO-login", LOGIN's proto */
        size_t line_max;        /* longest pre-auth line (SASL responses
                                 * included) */
        /* a client is connected (after the handshake, on an implicit-TLS
         * port): send the greeting */
        void (*greet)(struct login_client *lc);
        /* one line (len bytes, NUL-terminated, CR LF removed) */
        void (*line)(struct login_client *lc, const char *line, size_t len);
        /* a line longer than line_max was dropped */
        void (*line_too_long)(struct login_client *lc);
        /* after login_client_read_bytes(): the next chunk of raw input
         * (an IMAP literal), remaining bytes still to come (may be NULL
         * for protocols without literals) */
        void (*data)(struct login_client *lc, const char *data, size_t len,
                     size_t remaining);
        /* LOGIN_IDLE_MS passed: say goodbye (the connection is closed
         * after the hook) */
        void (*idle)(struct login_client *lc);
        /* authentication succeeded but no session could be started: say
         * so (the connection is closed after the hook) */
        void (*session_failed)(struct login_client *lc,
                               enum login_fail fail);
        /* the protocol's own state: made for each client, freed with it
         * (both may be NULL) */
        void *(*client_new)(struct login_client *lc);
        void (*client_free)(void *pctx);
};

/* --- the server, for the program's main() --- */

/* login_server_new - read what the front end needs from d's main.cf
 * (tls_cert_file & co, tls_wrappermode, login_trusted_networks,
 * disable_plaintext_auth): call before dropping privileges, since the TLS
 * key may be readable by root only. A bad setting is fatal (EX_CONFIG).
 * hooks and d are borrowed for the life of the server. */
struct login_server *login_server_new(struct daemon *d,
                                      const struct login_hooks *hooks);
/* login_server_run - after loop_init() and daemon_drop_privileges():
 * serve the listeners until a drain (SIGUSR1: stop accepting, finish
 * every client and relay) or SIGTERM (stop now) has run its course */
void login_server_run(struct login_server *srv);
/* login_server_free - free *sp and clear it; accepts NULL */
void login_server_free(struct login_server **sp);

/* --- a client, for the hooks --- */

/* login_client_ctx - what hooks->client_new returned */
void *login_client_ctx(const struct login_client *lc);
/* login_client_write, login_client_printf - queue output */
void login_client_write(struct login_client *lc, const void *data,
                        size_t len);
void login_client_printf(struct login_client *lc, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* login_client_close - send what is queued, then close; no hook is
 * called afterwards. reason (may be NULL: no line) goes into the log's
 * "PROTO-login: Disconnected: REASON (...)" line, e.g. "Logged out". */
void login_client_close(struct login_client *lc, const char *reason);

/* login_client_rip, login_client_lip - addresses as text; borrowed */
const char *login_client_rip(const struct login_client *lc);
const char *login_client_lip(const struct login_client *lc);
/* login_client_tls - 1 once TLS is active on the connection */
int login_client_tls(const struct login_client *lc);
/* login_client_tls_available - 1 if STARTTLS/STLS can be offered: a
 * certificate is configured and TLS is not active yet */
int login_client_tls_available(const struct login_client *lc);
/* login_client_secured - 1 if TLS, same address or trusted network */
int login_client_secured(const struct login_client *lc);
/* login_client_plaintext_ok - 1 if plaintext logins are allowed now:
 * secured, or disable_plaintext_auth = no */
int login_client_plaintext_ok(const struct login_client *lc);

/* login_client_read_bytes - deliver the next n input bytes to
 * hooks->data instead of hooks->line (an IMAP literal), then lines again */
void login_client_read_bytes(struct login_client *lc, size_t n);

/* login_client_starttls - switch to TLS after the reply already queued
 * (RFC 2595: input pipelined behind the command is dropped). 0, or -1
 * (TLS not available: the caller said so already). */
int login_client_starttls(struct login_client *lc);

/* login_client_mechs - the SASL mechanisms to offer now, from authd
 * (cached for a minute): cb(lc, mechs) follows -- from the loop, or at
 * once when the list is cached -- with mechs space-separated ("PLAIN
 * LOGIN", may be ""), or NULL when authd could not tell. Input is paused
 * until then. */
void login_client_mechs(struct login_client *lc,
                        void (*cb)(struct login_client *lc,
                                   const char *mechs));

/* How a login attempt went. */
enum login_auth_status {
        LOGIN_AUTH_CONTINUE,    /* relay challenge; the next line is the
                                 * client's answer (login_server takes it) */
        LOGIN_AUTH_FAILED,      /* see reason */
        LOGIN_AUTH_TEMPFAIL,    /* authd could not tell */
};

enum login_auth_reason {
        LOGIN_AUTH_BAD,         /* bad credentials (the three are not told
                                 * apart: unknown, wrong, disabled) */
        LOGIN_AUTH_BANNED,      /* the client address is refused for now */
        LOGIN_AUTH_MECH,        /* mechanism not offered */
        LOGIN_AUTH_SYNTAX,      /* malformed SASL data */
        LOGIN_AUTH_ABORTED,     /* the client sent "*" */
};

struct login_auth_result {
        enum login_auth_status status;
        enum login_auth_reason reason;  /* FAILED */
        const char *challenge;  /* CONTINUE: base64, may be "" */
        int closing;            /* FAILED: that was the last attempt
                                 * allowed; the connection is closed after
                                 * the callback */
};

/* Called for CONTINUE, FAILED and TEMPFAIL; a success is answered by the
 * session, and a session that cannot start by hooks->session_failed. */
typedef void login_auth_cb(struct login_client *lc,
                           const struct login_auth_result *r);

/* login_client_set_data - protocol data the session gets with a login
 * (an IMAP command tag); copied, at most LOGIN_DATA_MAX bytes */
void login_client_set_data(struct login_client *lc, const char *data);
/* login_client_verify - check user and password (borrowed) with authd,
 * method "PLAIN" in the log; input pauses until the outcome */
void login_client_verify(struct login_client *lc, const char *user,
                         const char *password, login_auth_cb *cb);
/* login_client_sasl - start SASL mech with initial (base64, "" for an
 * empty one, NULL for none); input pauses but for the answers to
 * challenges, which the server takes ("*" aborts) */
void login_client_sasl(struct login_client *lc, const char *mech,
                       const char *initial, login_auth_cb *cb);

#endif
