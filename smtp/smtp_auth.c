/* smtp_auth.c - STARTTLS and SASL AUTH as an SMTP client
 * Used by: smtp_session.c, between EHLO and MAIL. STARTTLS (RFC 3207) by
 * smtp_tls_security_level: "may" uses it when offered, "encrypt" and
 * "verify" give up on a host without it (4.7.4), "verify" also on a
 * certificate the CA store does not vouch for (4.7.5). AUTH (RFC 4954)
 * through Cyrus SASL (smtp_sasl.c) when smtp_sasl_auth_enable is on and
 * smtp_sasl_password_maps has credentials for the next hop ([host]:port
 * as configured), the host or the domain, with the mechanisms left by
 * smtp_sasl_mechanism_filter and smtp_sasl_security_options (or
 * smtp_sasl_tls_security_options under TLS). A failure here moves on to
 * the next address with a 4.7.x reason. Runs in smtp's loop as
 * mail_owner; parses the server's 334 challenges. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "map.h"
#include "mem.h"
#include "smtp.h"
#include "smtp_sasl.h"
#include "smtp_session_int.h"
#include "tls.h"

void smtp_auth_after_ehlo(struct smtp_session *s)
{
        struct status st;
        int tls = conn_tls_active(s->conn);

        if (!tls && smtp_srv.tls_level >= SMTP_TLS_ENCRYPT &&
            (!s->ext.starttls || smtp_srv.tls == NULL)) {
                status_set(&st, "4.7.4", "TLS is required, but was not "
                           "offered by host %s[%s]", s->addr->host,
                           s->addr->ip);
                smtp_session_fail_addr(s, &st);
                return;
        }
        if (!tls && s->ext.starttls && smtp_srv.tls != NULL &&
            smtp_srv.tls_level >= SMTP_TLS_MAY && !s->tls_tried &&
            !s->no_starttls) {
                s->tls_tried = 1;
                s->state = S_STARTTLS;
                smtp_session_send(s, smtp_srv.starttls_ms, "STARTTLS");
                return;
        }
        if (smtp_srv.sasl_enable && smtp_srv.sasl_passwords != NULL &&
            s->ext.auth != NULL && s->sasl == NULL) {
                const char *keys[3], *value = NULL;
                char k0[SMTP_HOST_MAX + 16];
                char *user = NULL, *pass = NULL, *mechs, *initial = NULL;
                const char *mech;
                int r = 0;

                snprintf(k0, sizeof(k0), "%s", s->job->nexthop);
                keys[0] = k0;
                keys[1] = s->addr->host;
                keys[2] = s->job->domain;
                for (size_t i = 0; i < 3 && r == 0; i++)
                        r = maps_lookup(smtp_srv.sasl_passwords, keys[i],
                                        &value, &st);
                if (r < 0) {
                        smtp_session_fail_addr(s, &st);
                        return;
                }
                if (r > 0) {
                        if (smtp_sasl_credentials(value, &user, &pass,
                                                  &st) < 0) {
                                status_set(&st, STATUS_CONFIG_TEMP, "%s",
                                           st.text);
                                smtp_session_fail_addr(s, &st);
                                return;
                        }
                        mechs = smtp_sasl_filter(s->ext.auth,
                                                 smtp_srv.sasl_filter,
                                                 smtp_srv.sasl_filter_count);
                        s->sasl = smtp_sasl_new("smtp", s->addr->host, user,
                                                pass, tls ?
                                                smtp_srv.sasl_tls_flags :
                                                smtp_srv.sasl_flags, &st);
                        explicit_bzero(pass, strlen(pass));
                        free(pass);
                        free(user);
                        if (s->sasl == NULL || smtp_sasl_start(s->sasl,
                                        mechs, &mech, &initial, &st) < 0) {
                                free(mechs);
                                status_set(&st, "4.7.0", "SASL "
                                           "authentication failed; cannot "
                                           "authenticate to server %s[%s]: "
                                           "%s", s->addr->host, s->addr->ip,
                                           st.text);
                                smtp_session_fail_addr(s, &st);
                                return;
                        }
                        free(mechs);
                        s->state = S_AUTH;
                        if (initial != NULL)
                                smtp_session_send(s, smtp_srv.helo_ms,
                                                  "AUTH %s %s", mech,
                                                  *initial != '\0' ?
                                                  initial : "=");
                        else
                                smtp_session_send(s, smtp_srv.helo_ms,
                                                  "AUTH %s", mech);
                        if (initial != NULL)
                                explicit_bzero(initial, strlen(initial));
                        free(initial);
                        return;
                }
        }
        smtp_session_transaction(s);
}

void smtp_auth_reply(struct smtp_session *s)
{
        struct status st;
        int cls = s->reply.code / 100;

        switch (s->state) {
        case S_STARTTLS:
                if (cls != 2) {
                        if (smtp_srv.tls_level >= SMTP_TLS_ENCRYPT) {
                                smtp_session_said(s, &st, "STARTTLS");
                                st.code[0] = '4';
                                smtp_session_fail_addr(s, &st);
                        } else {
                                smtp_session_transaction(s);
                        }
                        return;
                }
                s->state = S_TLS;
                if (conn_starttls(s->conn, smtp_srv.tls, s->addr->host, NULL,
                                  &st) < 0) {
                        status_set(&st, STATUS_TEMP, "Cannot start TLS: %s",
                                   st.text);
                        smtp_session_fail_addr(s, &st);
                }
                return;
        case S_AUTH:
                if (s->reply.code == 334) {
                        char *resp = NULL;

                        if (smtp_sasl_step(s->sasl, buf_cstr(&s->reply.text),
                                           &resp, &st) < 0) {
                                smtp_session_send(s, smtp_srv.helo_ms, "*");
                                status_set(&st, "4.7.0", "SASL "
                                           "authentication failed; %s",
                                           st.text);
                                smtp_session_fail_addr(s, &st);
                                return;
                        }
                        smtp_session_send(s, smtp_srv.helo_ms, "%s", resp);
                        explicit_bzero(resp, strlen(resp));
                        free(resp);
                        return;
                }
                if (cls != 2) {
                        smtp_session_said(s, &st, "AUTH");
                        status_set(&st, "4.7.0", "SASL authentication "
                                   "failed; server %s[%s] said: %s",
                                   s->addr->host, s->addr->ip,
                                   smtp_reply_text(&s->reply));
                        smtp_session_fail_addr(s, &st);
                        return;
                }
                smtp_session_transaction(s);
                return;
        default:
                return;
        }
}

void smtp_auth_tls_ready(struct smtp_session *s)
{
        struct conn_tls_info info;
        struct status st;

        if (smtp_srv.tls_level >= SMTP_TLS_VERIFY &&
            (conn_tls_info(s->conn, &info) < 0 ||
             info.trust != TLS_TRUST_VERIFIED)) {
                status_set(&st, "4.7.5", "Server certificate not "
                           "verified: %s[%s]: %s", s->addr->host,
                           s->addr->ip, info.verify_error != NULL ?
                           info.verify_error : "untrusted");
                smtp_session_fail_addr(s, &st);
                return;
        }
        s->state = S_EHLO;
        smtp_session_send(s, smtp_srv.helo_ms, "EHLO %s", smtp_srv.helo_name);
}
