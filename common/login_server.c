/* login_server.c - the IMAP/POP3 login front end: listeners, clients, TLS
 * Used by: imapd and pop3d (login_server.h). Accepts clients on the
 * supervisor's listeners, runs implicit TLS and STARTTLS, feeds pre-auth
 * lines to the protocol's hooks and decides when to let go of a client.
 * Authentication is in login_auth.c, the hand-off to the session in
 * login_handoff.c. Runs as mail_owner; reads client lines (for the hooks). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"
#include "log_auth.h"
#include "login_int.h"
#include "login_master.h"
#include "login_relay.h"
#include "login_trust.h"
#include "loop.h"
#include "mem.h"
#include "tls.h"

/* connections accepted per wake-up, so that a burst cannot starve the
 * clients already connected */
#define ACCEPT_BATCH 64

static struct login_server *the_server;        /* for the drain hook */

struct login_server *login_server_new(struct daemon *d,
                                      const struct login_hooks *hooks)
{
        struct login_server *srv = xcalloc(1, sizeof(*srv));
        struct status st;

        srv->d = d;
        srv->hooks = hooks;
        snprintf(srv->log_prefix, sizeof(srv->log_prefix), "%s-login",
                 hooks->proto);
        if (*cfg_get(d->cfg, "tls_cert_file") != '\0') {
                srv->tls = tls_server_new(d->cfg, NULL, &st);
                if (srv->tls == NULL)
                        log_fatal_config("%s", st.text);
        }
        srv->wrapper = cfg_get_bool(d->cfg, "tls_wrappermode");
        if (srv->wrapper && srv->tls == NULL)
                log_fatal_config("service %s: tls_wrappermode = yes needs "
                                 "tls_cert_file", d->service);
        srv->disable_plaintext = cfg_get_bool(d->cfg, "disable_plaintext_auth");
        if (login_trust_from_cfg(d->cfg, &srv->trust, &st) < 0)
                log_fatal_config("%s", st.text);
        return srv;
}

void login_server_free(struct login_server **sp)
{
        struct login_server *srv;

        if (sp == NULL || *sp == NULL)
                return;
        srv = *sp;
        *sp = NULL;
        while (srv->clients != NULL)
                login_client_free(srv->clients);
        login_relay_stop_all();
        for (size_t i = 0; i < DAEMON_LISTEN_MAX; i++)
                loop_fd_free(&srv->listen_watch[i]);
        login_master_free(&srv->master);
        authc_free(&srv->authc);
        login_trust_free(&srv->trust);
        tls_ctx_free(&srv->tls);
        free(srv->mechs[0]);
        free(srv->mechs[1]);
        if (the_server == srv)
                the_server = NULL;
        free(srv);
}

/* maybe_done - a draining front end exits when its last client and relay
 * are gone */
static void maybe_done(struct login_server *srv)
{
        if (srv->draining && srv->client_count == 0 &&
            login_relay_count() == 0)
                loop_exit();
}

static void relay_done(void *ctx)
{
        maybe_done(ctx);
}

/* Clients. */

void login_client_conn_opts(const struct login_client *lc,
                            struct conn_opts *opts)
{
        memset(opts, 0, sizeof(*opts));
        opts->line_max = lc->srv->hooks->line_max;
        opts->idle_ms = LOGIN_IDLE_MS;
}

void login_client_free(struct login_client *lc)
{
        struct login_server *srv = lc->srv;

        login_auth_cancel(lc);
        login_handoff_cancel(lc);
        conn_free(&lc->conn);
        if (srv->hooks->client_free != NULL && lc->pctx != NULL)
                srv->hooks->client_free(lc->pctx);
        if (lc->prev != NULL)
                lc->prev->next = lc->next;
        else
                srv->clients = lc->next;
        if (lc->next != NULL)
                lc->next->prev = lc->prev;
        srv->client_count--;
        free(lc->user);
        free(lc->data);
        free(lc);
        maybe_done(srv);
}

void login_client_log_disconnect(struct login_client *lc, const char *reason)
{
        long long secs = (loop_now_ms() - lc->created_ms) / 1000;
        char r[64], l[64], why[128], user[LOG_AUTH_FIELD_MAX];

        if (lc->attempts > 0) {
                log_auth_login_failed(lc->srv->hooks->proto, lc->user,
                                      lc->method, lc->rip, lc->lip,
                                      lc->attempts, secs,
                                      login_client_tls(lc));
                return;
        }
        snprintf(why, sizeof(why), "%s", reason);
        log_info("%s: Disconnected: %s (no auth attempts in %lld secs): "
                 "user=<%s>, rip=%s, lip=%s%s", lc->srv->log_prefix, why,
                 secs, log_auth_safe(lc->user, user, sizeof(user)),
                 log_auth_safe(lc->rip, r, sizeof(r)),
                 log_auth_safe(lc->lip, l, sizeof(l)),
                 login_client_tls(lc) ? ", TLS" : "");
}

void login_client_resume(struct login_client *lc)
{
        if (lc->state == LC_CLOSING || lc->conn == NULL)
                return;
        lc->state = LC_PREAUTH;
        conn_resume(lc->conn);
}

void login_client_conn_event(struct conn *c, enum conn_event ev,
                             const struct conn_ev_data *d, void *ctx)
{
        struct login_client *lc = ctx;
        const struct login_hooks *h = lc->srv->hooks;

        switch (ev) {
        case CONN_TLS_READY:
                lc->secured = 1;
                if (lc->srv->wrapper && h->greet != NULL)
                        h->greet(lc);
                return;
        case CONN_LINE:
                if (lc->state == LC_SASL_CLIENT)
                        login_auth_line(lc, d->data, d->len);
                else if (lc->state == LC_PREAUTH)
                        h->line(lc, d->data, d->len);
                return;
        case CONN_DATA:
                if (lc->state == LC_PREAUTH && h->data != NULL)
                        h->data(lc, d->data, d->len, d->remaining);
                return;
        case CONN_LINE_TOO_LONG:
                if (lc->state == LC_SASL_CLIENT)
                        login_auth_line(lc, NULL, 0);
                else if (lc->state == LC_PREAUTH)
                        h->line_too_long(lc);
                return;
        case CONN_TIMEOUT:
        case CONN_DEADLINE:
                if (lc->state == LC_CLOSING)
                        return;
                login_client_log_disconnect(lc, "Inactivity");
                if (h->idle != NULL)
                        h->idle(lc);
                login_auth_cancel(lc);
                lc->state = LC_CLOSING;
                conn_close(c);
                return;
        case CONN_EOF:
                if (lc->state != LC_CLOSING)
                        login_client_log_disconnect(lc, "Connection closed");
                login_client_free(lc);
                return;
        case CONN_ERROR:
                if (lc->state != LC_CLOSING) {
                        char why[128];

                        snprintf(why, sizeof(why), "Connection closed: %s",
                                 d->reason);
                        login_client_log_disconnect(lc, why);
                }
                login_client_free(lc);
                return;
        case CONN_CLOSED:
                login_client_free(lc);
                return;
        default:
                return;
        }
}

static void accept_one(struct login_server *srv, int fd)
{
        struct login_client *lc = xcalloc(1, sizeof(*lc));
        struct conn_opts opts;

        lc->srv = srv;
        lc->client_fd = -1;
        lc->relay_fd = -1;
        lc->created_ms = loop_now_ms();
        buf_init(&lc->pending, LOGIN_PENDING_MAX);
        lc->next = srv->clients;
        if (srv->clients != NULL)
                srv->clients->prev = lc;
        srv->clients = lc;
        srv->client_count++;
        login_client_conn_opts(lc, &opts);
        if (srv->wrapper)
                opts.tls = srv->tls;
        lc->conn = conn_new(fd, &opts, login_client_conn_event, lc);
        snprintf(lc->rip, sizeof(lc->rip), "%s", conn_peer_addr(lc->conn));
        snprintf(lc->lip, sizeof(lc->lip), "%s", conn_local_addr(lc->conn));
        lc->rport = conn_peer_port(lc->conn);
        lc->lport = conn_local_port(lc->conn);
        lc->secured = login_trust_secured(srv->trust, 0, lc->rip, lc->lip);
        if (srv->hooks->client_new != NULL)
                lc->pctx = srv->hooks->client_new(lc);
        if (!srv->wrapper && srv->hooks->greet != NULL)
                srv->hooks->greet(lc);
}

static void on_accept(int fd, int events, void *ctx)
{
        struct login_server *srv = ctx;

        for (int i = 0; i < ACCEPT_BATCH && !srv->draining; i++) {
                int client = accept4(fd, NULL, NULL,
                                     SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (client < 0) {
                        if (errno != EAGAIN && errno != EWOULDBLOCK &&
                            errno != EINTR && errno != ECONNABORTED)
                                log_warn("%s: accept: %m", srv->log_prefix);
                        return;
                }
                accept_one(srv, client);
        }
}

/* drain - SIGUSR1: stop accepting, let clients and relays finish;
 * SIGTERM: stop now */
static void drain(struct daemon *d, int now)
{
        struct login_server *srv = the_server;

        if (srv == NULL) {
                exit(0);
                return;
        }
        srv->draining = 1;
        for (size_t i = 0; i < DAEMON_LISTEN_MAX; i++)
                loop_fd_free(&srv->listen_watch[i]);
        for (size_t i = 0; i < d->listen_count; i++) {
                if (d->listen_fds[i] >= 0)
                        close(d->listen_fds[i]);
                d->listen_fds[i] = -1;
        }
        if (now) {
                while (srv->clients != NULL)
                        login_client_free(srv->clients);
                login_relay_stop_all();
                loop_exit();
                return;
        }
        maybe_done(srv);
}

void login_server_run(struct login_server *srv)
{
        const char *dir = cfg_get(srv->d->cfg, "data_directory");
        char *path;

        the_server = srv;
        path = xasprintf("%s/%s", dir, AUTHC_SOCKET_NAME);
        srv->authc = authc_new(path);
        free(path);
        path = xasprintf("%s/%s", dir, LOGIN_SOCKET_NAME);
        srv->master = login_master_new(path);
        free(path);
        login_relay_set_done(relay_done, srv);
        for (size_t i = 0; i < srv->d->listen_count && i < DAEMON_LISTEN_MAX;
             i++)
                srv->listen_watch[i] = loop_fd_new(srv->d->listen_fds[i],
                                                   LOOP_READ, on_accept, srv);
        srv->d->drain = drain;
        daemon_watch_signals(srv->d);
        loop_run();
}

/* The client API for the hooks. */

void *login_client_ctx(const struct login_client *lc)
{
        return lc->pctx;
}

void login_client_write(struct login_client *lc, const void *data,
                        size_t len)
{
        if (lc->conn != NULL)
                conn_write(lc->conn, data, len);
}

void login_client_printf(struct login_client *lc, const char *fmt, ...)
{
        struct buf b;
        va_list ap;

        buf_init(&b, 0);
        va_start(ap, fmt);
        buf_vprintf(&b, fmt, ap);
        va_end(ap);
        login_client_write(lc, b.data, b.len);
        buf_release(&b);
}

void login_client_close(struct login_client *lc, const char *reason)
{
        if (lc->state == LC_CLOSING)
                return;
        if (reason != NULL)
                login_client_log_disconnect(lc, reason);
        login_auth_cancel(lc);
        lc->state = LC_CLOSING;
        if (lc->conn != NULL)
                conn_close(lc->conn);
}

const char *login_client_rip(const struct login_client *lc)
{
        return lc->rip;
}

const char *login_client_lip(const struct login_client *lc)
{
        return lc->lip;
}

int login_client_tls(const struct login_client *lc)
{
        return lc->conn != NULL && conn_tls_active(lc->conn);
}

int login_client_tls_available(const struct login_client *lc)
{
        return lc->srv->tls != NULL && !login_client_tls(lc);
}

int login_client_secured(const struct login_client *lc)
{
        return lc->secured;
}

int login_client_plaintext_ok(const struct login_client *lc)
{
        return lc->secured || !lc->srv->disable_plaintext;
}

void login_client_read_bytes(struct login_client *lc, size_t n)
{
        if (lc->conn != NULL)
                conn_read_bytes(lc->conn, n);
}

int login_client_starttls(struct login_client *lc)
{
        struct status st;

        if (lc->srv->tls == NULL || lc->conn == NULL)
                return -1;
        if (conn_starttls(lc->conn, lc->srv->tls, NULL, NULL, &st) < 0) {
                log_warn("%s: STARTTLS: %s", lc->srv->log_prefix, st.text);
                return -1;
        }
        return 0;
}

void login_client_set_data(struct login_client *lc, const char *data)
{
        free(lc->data);
        lc->data = xstrndup(data != NULL ? data : "", LOGIN_DATA_MAX);
}
