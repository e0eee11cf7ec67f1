/* login_int.h - what login_server.c, login_auth.c and login_handoff.c
 * share: the server and client structures. Not for other modules: they
 * use login_server.h. */
#ifndef YUBIN_LOGIN_INT_H
#define YUBIN_LOGIN_INT_H

#include "authc.h"
#include "buf.h"
#include "conn.h"
#include "daemon.h"
#include "login_server.h"

struct loop_fd;
struct loop_timer;
struct login_master;
struct login_master_req;
struct login_trust;
struct tls_ctx;

#define LOGIN_MECHS_CACHE_MS    (60 * 1000)

struct login_server {
        struct daemon *d;
        const struct login_hooks *hooks;
        struct tls_ctx *tls;            /* NULL: no certificate */
        int wrapper;                    /* tls_wrappermode: implicit TLS */
        int disable_plaintext;
        struct login_trust *trust;
        struct authc *authc;
        struct login_master *master;
        struct loop_fd *listen_watch[DAEMON_LISTEN_MAX];
        struct login_client *clients;   /* all, for a stop */
        size_t client_count;
        int draining;
        char *mechs[2];                 /* by secured; NULL: not known */
        long long mechs_at[2];
        char log_prefix[48];            /* "pop3-login" */
};

enum login_client_state {
        LC_PREAUTH,                     /* commands flow to the hooks */
        LC_MECHS,                       /* waiting for the mechanism list */
        LC_AUTH,                        /* waiting for authd's verdict */
        LC_SASL_CLIENT,                 /* waiting for the client's answer */
        LC_HANDOFF,                     /* PbS grant, then the supervisor */
        LC_CLOSING,                     /* flushing, then gone */
};

struct login_client {
        struct login_server *srv;
        struct login_client *prev, *next;
        struct conn *conn;              /* NULL once detached */
        void *pctx;
        enum login_client_state state;
        char rip[CONN_ADDR_MAX], lip[CONN_ADDR_MAX];
        int rport, lport;
        int secured;
        long long created_ms;
        /* login attempts */
        struct authc_req *areq;
        login_auth_cb *auth_cb;
        void (*mechs_cb)(struct login_client *lc, const char *mechs);
        unsigned attempts;
        char *user;                     /* as the client gave it, for logs */
        char method[AUTHC_MECH_MAX + 1];
        char *data;                     /* login_client_set_data() */
        /* hand-off */
        struct authc_user *account;     /* authd's record, with the token */
        struct login_master_req *mreq;
        struct loop_timer *retry;       /* waiting for output to drain */
        int retries;
        int client_fd;                  /* detached plain socket */
        int relay_fd;                   /* our end of the socketpair */
        struct buf pending;
};

/* login_client_free - unlink and free lc with all it holds (conn, fds,
 * requests) */
void login_client_free(struct login_client *lc);
/* login_client_conn_event - the conn callback of a login client */
void login_client_conn_event(struct conn *c, enum conn_event ev,
                             const struct conn_ev_data *d, void *ctx);
/* login_client_conn_opts - options for a client connection */
void login_client_conn_opts(const struct login_client *lc,
                            struct conn_opts *opts);
/* login_client_resume - back to pre-auth commands after an attempt */
void login_client_resume(struct login_client *lc);
/* login_client_log_disconnect - Dovecot's "Disconnected: REASON ..." */
void login_client_log_disconnect(struct login_client *lc,
                                 const char *reason);

/* login_auth_line - a line while a SASL exchange waits for the client */
void login_auth_line(struct login_client *lc, const char *line, size_t len);
/* login_auth_cancel - drop an attempt in flight (the client went) */
void login_auth_cancel(struct login_client *lc);

/* login_handoff_start - authd said yes: grant PbS, start the session */
void login_handoff_start(struct login_client *lc);
/* login_handoff_cancel - drop what a hand-off holds (the client went) */
void login_handoff_cancel(struct login_client *lc);

#endif
