/* login_auth.c - a login front end's authd exchanges
 * Used by: login_server.c for imapd and pop3d. Password checks (VERIFY),
 * the SASL relay (AUTH/CONT: challenges and answers pass through as
 * base64, unread), and the mechanism list. Every attempt asks authd for a
 * single-use login token, which the supervisor redeems to start the
 * session. Failures are counted per connection; the last one allowed
 * closes it. Input from the client stays paused while authd thinks, so
 * commands pipelined behind a login run only after its outcome. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "login_int.h"
#include "loop.h"
#include "mem.h"

static void fill_login(struct login_client *lc, struct authc_login *l)
{
        memset(l, 0, sizeof(*l));
        l->service = lc->srv->hooks->proto;
        l->rip = lc->rip;
        l->lip = lc->lip;
        l->secured = lc->secured;
        l->want_token = 1;
}

void login_auth_cancel(struct login_client *lc)
{
        authc_cancel(&lc->areq);
        lc->auth_cb = NULL;
        lc->mechs_cb = NULL;
}

static enum login_auth_reason reason_of(enum authc_fail fail)
{
        switch (fail) {
        case AUTHC_FAIL_BANNED:
                return LOGIN_AUTH_BANNED;
        case AUTHC_FAIL_MECH:
                return LOGIN_AUTH_MECH;
        case AUTHC_FAIL_SYNTAX:
                return LOGIN_AUTH_SYNTAX;
        case AUTHC_FAIL_AUTH:
                break;
        }
        return LOGIN_AUTH_BAD;
}

/* finish - tell the protocol how the attempt ended, then carry on or
 * close */
static void finish(struct login_client *lc, enum login_auth_status status,
                   enum login_auth_reason reason)
{
        struct login_auth_result r;
        login_auth_cb *cb = lc->auth_cb;

        memset(&r, 0, sizeof(r));
        r.status = status;
        r.reason = reason;
        lc->auth_cb = NULL;
        if (status == LOGIN_AUTH_FAILED && reason != LOGIN_AUTH_ABORTED) {
                lc->attempts++;
                r.closing = lc->attempts >= LOGIN_AUTH_ATTEMPTS_MAX ||
                            reason == LOGIN_AUTH_BANNED;
        }
        lc->state = LC_PREAUTH;
        if (cb != NULL)
                cb(lc, &r);
        if (r.closing) {
                login_client_close(lc, "Aborted login");
                return;
        }
        login_client_resume(lc);
}

static void on_reply(const struct authc_reply *reply, void *ctx)
{
        struct login_client *lc = ctx;

        switch (reply->result) {
        case AUTHC_CONTINUE: {
                struct login_auth_result r;

                /* the request stays ours for authc_sasl_continue() */
                memset(&r, 0, sizeof(r));
                r.status = LOGIN_AUTH_CONTINUE;
                r.challenge = reply->challenge != NULL ? reply->challenge
                                                       : "";
                lc->state = LC_SASL_CLIENT;
                if (lc->auth_cb != NULL)
                        lc->auth_cb(lc, &r);
                if (lc->state == LC_SASL_CLIENT)
                        conn_resume(lc->conn);
                return;
        }
        case AUTHC_OK:
                lc->areq = NULL;
                if (reply->user == NULL || reply->user->token == NULL) {
                        log_error("%s: authd gave no login token for %s",
                                  lc->srv->log_prefix,
                                  reply->user != NULL ? reply->user->name
                                                      : "?");
                        finish(lc, LOGIN_AUTH_TEMPFAIL, LOGIN_AUTH_BAD);
                        return;
                }
                lc->account = authc_user_dup(reply->user);
                lc->auth_cb = NULL;
                login_handoff_start(lc);
                return;
        case AUTHC_FAIL:
                lc->areq = NULL;
                finish(lc, LOGIN_AUTH_FAILED, reason_of(reply->fail));
                return;
        case AUTHC_NOTFOUND:
                lc->areq = NULL;
                finish(lc, LOGIN_AUTH_FAILED, LOGIN_AUTH_BAD);
                return;
        case AUTHC_TEMPFAIL:
                lc->areq = NULL;
                log_warn("%s: authd: %s", lc->srv->log_prefix,
                         reply->reason != NULL ? reply->reason : "");
                finish(lc, LOGIN_AUTH_TEMPFAIL, LOGIN_AUTH_BAD);
                return;
        }
}

/* begin - what every attempt does first */
static void begin(struct login_client *lc, const char *user,
                  const char *method, login_auth_cb *cb)
{
        login_auth_cancel(lc);
        if (user != NULL) {
                free(lc->user);
                lc->user = xstrndup(user, AUTHC_USER_MAX);
        }
        snprintf(lc->method, sizeof(lc->method), "%s", method);
        lc->auth_cb = cb;
        lc->state = LC_AUTH;
        conn_pause(lc->conn);
}

void login_client_verify(struct login_client *lc, const char *user,
                         const char *password, login_auth_cb *cb)
{
        struct authc_login l;

        begin(lc, user, "PLAIN", cb);
        fill_login(lc, &l);
        lc->areq = authc_verify(lc->srv->authc, &l, user, password, on_reply,
                                lc);
}

void login_client_sasl(struct login_client *lc, const char *mech,
                       const char *initial, login_auth_cb *cb)
{
        struct authc_login l;
        char upper[AUTHC_MECH_MAX + 1];
        size_t i;

        for (i = 0; mech[i] != '\0' && i < AUTHC_MECH_MAX; i++)
                upper[i] = (char)(mech[i] >= 'a' && mech[i] <= 'z' ?
                                  mech[i] - 'a' + 'A' : mech[i]);
        upper[i] = '\0';
        begin(lc, NULL, upper, cb);
        fill_login(lc, &l);
        lc->areq = authc_sasl_start(lc->srv->authc, &l, upper, initial,
                                    on_reply, lc);
}

void login_auth_line(struct login_client *lc, const char *line, size_t len)
{
        if (line == NULL) {
                /* too long for any answer authd would take */
                authc_cancel(&lc->areq);
                finish(lc, LOGIN_AUTH_FAILED, LOGIN_AUTH_SYNTAX);
                return;
        }
        if (len == 1 && line[0] == '*') {
                /* RFC 5034 section 4, RFC 9051 section 6.2.2: cancel */
                authc_cancel(&lc->areq);
                finish(lc, LOGIN_AUTH_FAILED, LOGIN_AUTH_ABORTED);
                return;
        }
        lc->state = LC_AUTH;
        conn_pause(lc->conn);
        authc_sasl_continue(lc->areq, line);
}

/* The mechanism list. */

static void mechs_done(struct login_client *lc, const char *mechs)
{
        void (*cb)(struct login_client *, const char *) = lc->mechs_cb;

        lc->mechs_cb = NULL;
        lc->state = LC_PREAUTH;
        if (cb != NULL)
                cb(lc, mechs);
        login_client_resume(lc);
}

static void on_mechs(const struct authc_reply *reply, void *ctx)
{
        struct login_client *lc = ctx;
        struct login_server *srv = lc->srv;
        int k = lc->secured ? 1 : 0;

        lc->areq = NULL;
        if (reply->result != AUTHC_OK) {
                log_warn("%s: authd: no mechanism list: %s",
                         srv->log_prefix,
                         reply->reason != NULL ? reply->reason : "");
                mechs_done(lc, NULL);
                return;
        }
        free(srv->mechs[k]);
        srv->mechs[k] = xstrdup(reply->mechs != NULL ? reply->mechs : "");
        srv->mechs_at[k] = loop_now_ms();
        mechs_done(lc, srv->mechs[k]);
}

void login_client_mechs(struct login_client *lc,
                        void (*cb)(struct login_client *lc,
                                   const char *mechs))
{
        struct login_server *srv = lc->srv;
        int k = lc->secured ? 1 : 0;

        login_auth_cancel(lc);
        lc->mechs_cb = cb;
        lc->state = LC_MECHS;
        conn_pause(lc->conn);
        if (srv->mechs[k] != NULL &&
            loop_now_ms() - srv->mechs_at[k] < LOGIN_MECHS_CACHE_MS) {
                mechs_done(lc, srv->mechs[k]);
                return;
        }
        lc->areq = authc_mechs(srv->authc, srv->hooks->proto, lc->secured,
                               on_mechs, lc);
}
