/* smtpd_auth.c - SMTP AUTH (RFC 4954), relayed to authd
 * Used by: smtpd's command table and EHLO. The SASL exchange runs in
 * authd (Cyrus SASL behind authc_sasl_start/continue); smtpd relays the
 * base64 lines, so passwords are checked in one place for SMTP, IMAP and
 * POP3, and authd applies the failure delay and per-address bans. The
 * mechanism list comes from authd (which applies main.cf's
 * smtpd_sasl_security_options and smtpd_tls_auth_only) and is filtered
 * again by this service's own -o settings; it is cached per TLS state.
 * Failures are logged in Postfix's words for fail2ban (log_auth.h).
 * Parses client input (base64 relayed as is); runs as mail_owner. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authc.h"
#include "inet_list.h"
#include "log.h"
#include "log_auth.h"
#include "loop.h"
#include "mem.h"
#include "smtpd.h"
#include "smtpd_anvil.h"

int smtpd_auth_offered(const struct smtpd_session *s)
{
        const struct smtpd_server *srv = s->srv;

        if (!srv->sasl_enable || s->sasl_user != NULL)
                return 0;
        if (!s->tls && (srv->tls_auth_only ||
                        srv->tls_level == SMTPD_TLS_ENCRYPT))
                return 0;
        if (srv->sasl_exceptions != NULL &&
            inet_list_match(srv->sasl_exceptions, s->addr) == 1)
                return 0;
        return 1;
}

/* allowed - may this service offer mech on a session that is (tls) or is
 * not TLS, by its own smtpd_sasl_(tls_)security_options? */
static int allowed(const struct smtpd_server *srv, const char *mech, int tls)
{
        int noplain = tls ? srv->sasl_tls_noplain : srv->sasl_noplain;
        int noanon = tls ? srv->sasl_tls_noanon : srv->sasl_noanon;

        if (noplain && (strcasecmp(mech, "PLAIN") == 0 ||
                        strcasecmp(mech, "LOGIN") == 0))
                return 0;
        if (noanon && strcasecmp(mech, "ANONYMOUS") == 0)
                return 0;
        return 1;
}

/* has_word - 1 if list (space-separated) holds word */
static int has_word(const char *list, const char *word)
{
        size_t n = strlen(word);

        for (const char *p = list; *p != '\0'; ) {
                size_t len = strcspn(p, " ");

                if (len == n && strncasecmp(p, word, n) == 0)
                        return 1;
                p += len;
                p += strspn(p, " ");
        }
        return 0;
}

/* filter - the mechanisms of list this service allows; new string */
static char *filter(const struct smtpd_server *srv, const char *list,
                    int tls)
{
        char *copy = xstrdup(list), *word, *save = NULL;
        struct buf out;

        buf_init(&out, 0);
        for (word = strtok_r(copy, " ", &save); word != NULL;
             word = strtok_r(NULL, " ", &save))
                if (allowed(srv, word, tls))
                        buf_printf(&out, "%s%s", out.len ? " " : "", word);
        free(copy);
        return buf_steal(&out);
}

static void mechs_done(const struct authc_reply *r, void *ctx)
{
        struct smtpd_session *s = ctx;
        struct smtpd_server *srv = s->srv;
        void (*cb)(struct smtpd_session *) = s->mechs_cb;

        s->req = NULL;
        s->mechs_cb = NULL;
        if (r->result == AUTHC_OK) {
                free(srv->mechs[s->tls]);
                srv->mechs[s->tls] = filter(srv, r->mechs, s->tls);
                srv->mechs_at[s->tls] = loop_now_ms();
        } else {
                log_warn("%s: cannot list SASL mechanisms: authd: %s",
                         s->client, r->reason);
                s->mechs_failed = 1;
        }
        s->waiting &= ~SMTPD_WAIT_MECHS;
        cb(s);
}

const char *smtpd_auth_mechs(struct smtpd_session *s,
                             void (*cb)(struct smtpd_session *s))
{
        struct smtpd_server *srv = s->srv;
        int tls = s->tls;

        if (srv->mechs[tls] != NULL &&
            loop_now_ms() - srv->mechs_at[tls] < SMTPD_MECHS_TTL_MS)
                return srv->mechs[tls];
        if (s->mechs_failed) {
                s->mechs_failed = 0;
                return srv->mechs[tls] != NULL ? srv->mechs[tls] : "";
        }
        s->mechs_cb = cb;
        smtpd_wait(s, SMTPD_WAIT_MECHS);
        s->req = authc_mechs(srv->authc, srv->sasl_service, tls, mechs_done,
                             s);
        return NULL;
}

void smtpd_auth_cancel(struct smtpd_session *s)
{
        if (s->auth_mech != NULL)
                authc_cancel(&s->req);
        xfree(&s->auth_mech);
        s->parser.line_max = (size_t)s->srv->line_max;
}

/* auth_end - the exchange is over (reply made) */
static void auth_end(struct smtpd_session *s)
{
        s->req = NULL;
        xfree(&s->auth_mech);
        s->parser.line_max = (size_t)s->srv->line_max;
        smtpd_resume(s, SMTPD_WAIT_AUTH);
}

static void auth_done(const struct authc_reply *r, void *ctx)
{
        struct smtpd_session *s = ctx;

        switch (r->result) {
        case AUTHC_CONTINUE:
                smtpd_reply(s, "334 %s", r->challenge);
                smtpd_resume(s, SMTPD_WAIT_AUTH);
                return;
        case AUTHC_OK:
                s->sasl_user = xstrdup(r->user->name);
                s->sasl_method = xstrdup(s->auth_mech);
                smtpd_reply(s, "235 2.7.0 Authentication successful");
                break;
        case AUTHC_FAIL:
                switch (r->fail) {
                case AUTHC_FAIL_MECH:
                        smtpd_reply(s, "504 5.5.4 Unsupported authentication "
                                    "mechanism");
                        break;
                case AUTHC_FAIL_SYNTAX:
                        smtpd_reply(s, "501 5.5.2 Cannot decode response");
                        break;
                case AUTHC_FAIL_BANNED:
                        log_auth_sasl_failed("unknown", s->addr, s->auth_mech,
                                             "too many failed logins", NULL);
                        smtpd_reply(s, "454 4.7.0 Temporary authentication "
                                    "failure: too many failed logins");
                        break;
                default:
                        log_auth_sasl_failed("unknown", s->addr, s->auth_mech,
                                             "authentication failure", NULL);
                        smtpd_reply(s, "535 5.7.8 Error: authentication "
                                    "failed: authentication failure");
                        break;
                }
                break;
        default:
                log_warn("%s: SASL %s authentication: authd: %s", s->client,
                         s->auth_mech, r->reason);
                smtpd_reply(s, "454 4.7.0 Temporary authentication failure");
                break;
        }
        auth_end(s);
}

void smtpd_auth_line(struct smtpd_session *s, const char *line, int too_long)
{
        if (too_long) {
                authc_cancel(&s->req);
                smtpd_reply(s, "500 5.5.6 Authentication exchange line is "
                            "too long");
                auth_end(s);
                return;
        }
        if (strcmp(line, "*") == 0) {
                authc_cancel(&s->req);
                smtpd_reply(s, "501 5.7.0 Authentication aborted");
                auth_end(s);
                return;
        }
        smtpd_wait(s, SMTPD_WAIT_AUTH);
        authc_sasl_continue(s->req, line);
}

void smtpd_cmd_auth(struct smtpd_session *s, char *args)
{
        struct smtpd_server *srv = s->srv;
        struct authc_login login;
        const char *mechs, *initial = NULL;
        char mech[AUTHC_MECH_MAX + 1];
        size_t n = strcspn(args, " ");

        if (!srv->sasl_enable || !smtpd_auth_offered(s)) {
                smtpd_reply(s, s->sasl_user != NULL ?
                            "503 5.5.1 Error: already authenticated" :
                            "503 5.5.1 Error: authentication not enabled");
                return;
        }
        if (!s->esmtp) {
                smtpd_reply(s, "503 5.5.1 Error: send EHLO first");
                return;
        }
        if (s->mail_given) {
                smtpd_reply(s, "503 5.5.1 Error: MAIL transaction in "
                            "progress");
                return;
        }
        if (n == 0 || n > AUTHC_MECH_MAX) {
                smtpd_reply(s, "501 5.5.4 Syntax: AUTH mechanism");
                return;
        }
        if (smtpd_rate_exceeded(s, SMTPD_ANVIL_AUTH, srv->auth_rate_limit,
                                "AUTH command rate")) {
                smtpd_reply(s, "450 4.7.1 Error: too many AUTH commands "
                            "from %s", s->addr);
                return;
        }
        memcpy(mech, args, n);
        mech[n] = '\0';
        for (char *p = mech; *p; p++)
                if (*p >= 'a' && *p <= 'z')
                        *p = (char)(*p - 'a' + 'A');
        mechs = srv->mechs[s->tls];
        if (!allowed(srv, mech, s->tls) ||
            (mechs != NULL && !has_word(mechs, mech))) {
                smtpd_reply(s, "504 5.5.4 Unsupported authentication "
                            "mechanism");
                return;
        }
        if (args[n] == ' ') {
                initial = args + n + 1;
                if (strcmp(initial, "=") == 0)
                        initial = "";   /* RFC 4954 4: an empty response */
        }
        memset(&login, 0, sizeof(login));
        login.service = srv->sasl_service;
        login.rip = s->addr;
        login.lip = s->laddr;
        login.secured = s->tls;
        s->auth_mech = xstrdup(mech);
        s->parser.line_max = (size_t)srv->sasl_response_limit;
        smtpd_wait(s, SMTPD_WAIT_AUTH);
        s->req = authc_sasl_start(srv->authc, &login, mech, initial,
                                  auth_done, s);
}
