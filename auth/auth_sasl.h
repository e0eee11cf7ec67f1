/* auth_sasl.h - Cyrus SASL server sessions for SMTP AUTH, IMAP and POP3
 * Used by: authd's SASL workers (the sessions: start, step) and its front
 * end (the mechanism list and the policy). Front ends relay the base64
 * exchange to authd (AUTH/CONT); here it meets libsasl2. Cyrus is set up
 * with callbacks only: no /etc/sasl2 file is read (no application name),
 * only the PLAIN and LOGIN plug-ins are loaded, no auxprop plug-in is
 * consulted (so no sasldb), and password checks go to the caller's
 * checkpass function (SASL_CB_SERVER_USERDB_CHECKPASS), which authd routes
 * to the same verification as VERIFY. Mechanisms that need a clear-text
 * secret the user database does not keep (CRAM-MD5, SCRAM) are never
 * offered. */
#ifndef YUBIN_AUTH_SASL_H
#define YUBIN_AUTH_SASL_H

#include <stddef.h>

#include "status.h"

/* the mechanisms authd can serve: checked with a password */
#define AUTH_SASL_MECH_LIST "PLAIN LOGIN"

struct cfg;

/* Which mechanisms a connection may use, from main.cf. */
struct auth_sasl_policy {
        char *smtp_service;     /* smtpd_sasl_service ("smtp") */
        unsigned smtp_flags;    /* smtpd_sasl_security_options */
        unsigned smtp_tls_flags;        /* smtpd_sasl_tls_security_options */
        int tls_auth_only;      /* smtpd_tls_auth_only */
        int disable_plaintext;  /* disable_plaintext_auth (IMAP, POP3) */
        char *hostname;         /* myhostname, for sasl_server_new */
};

/* auth_sasl_policy_load - read the policy from c. Returns 0, or -1 with
 * st (5.3.5) for an unknown security option. Release with
 * auth_sasl_policy_release(). */
int auth_sasl_policy_load(struct cfg *c, struct auth_sasl_policy *p_r,
                          struct status *st);
void auth_sasl_policy_release(struct auth_sasl_policy *p);
/* auth_sasl_flags_for - the SASL_SEC_* flags for a connection to service
 * that is (secured 1) or is not TLS; returns 0 with *flags_r, or -1 when
 * no mechanism may be offered at all (smtpd_tls_auth_only without TLS) */
int auth_sasl_flags_for(const struct auth_sasl_policy *p, const char *service,
                        int secured, unsigned *flags_r);

/* auth_sasl_init - start Cyrus SASL's server side in this process (once;
 * later calls do nothing). 0, or -1 with st (4.3.5). */
int auth_sasl_init(struct status *st);

/* auth_sasl_mechs - the mechanisms Cyrus offers for service under flags,
 * space-separated ("PLAIN LOGIN", or "" for none); 0 with *mechs_r (free
 * with free()), or -1 with st (4.3.0) */
int auth_sasl_mechs(const char *service, const char *hostname,
                    unsigned flags, char **mechs_r, struct status *st);

/* The password check Cyrus calls: 1 right, 0 wrong (or unknown user), -1
 * could not tell. user and password are borrowed for the call. */
typedef int auth_sasl_checkpass_fn(void *ctx, const char *user,
                                   const char *password, size_t len);

enum auth_sasl_result {
        AUTH_SASL_CONTINUE,     /* send the challenge, wait for an answer */
        AUTH_SASL_OK,           /* authenticated: auth_sasl_user() */
        AUTH_SASL_FAIL,         /* authentication failed */
        AUTH_SASL_BADMECH,      /* mechanism unknown or not allowed */
        AUTH_SASL_SYNTAX,       /* the client's data was not base64 */
        AUTH_SASL_TEMPFAIL,     /* could not tell */
};

struct auth_sasl;

/* auth_sasl_new - a session for service (borrowed) under flags;
 * checkpass(ctx, ...) checks passwords. Returns a new session (free with auth_sasl_free()), or NULL
 * with st (4.3.0). */
struct auth_sasl *auth_sasl_new(const char *service, const char *hostname,
                                unsigned flags,
                                auth_sasl_checkpass_fn *checkpass, void *ctx,
                                struct status *st);
/* auth_sasl_start - begin mech with the initial response (base64,
 * borrowed; NULL: none). *out_r gets the challenge in base64 for
 * AUTH_SASL_CONTINUE (free with free()), else NULL. st says why for
 * failures (text for the log). */
enum auth_sasl_result auth_sasl_start(struct auth_sasl *s, const char *mech,
                                      const char *initial, char **out_r,
                                      struct status *st);
/* auth_sasl_step - the client's answer (base64, borrowed); as
 * auth_sasl_start */
enum auth_sasl_result auth_sasl_step(struct auth_sasl *s,
                                     const char *response, char **out_r,
                                     struct status *st);
/* auth_sasl_user - after AUTH_SASL_OK, the authenticated name as the
 * client gave it (borrowed from s) */
const char *auth_sasl_user(const struct auth_sasl *s);
/* auth_sasl_free - end *sp and clear it; accepts NULL */
void auth_sasl_free(struct auth_sasl **sp);

#endif
