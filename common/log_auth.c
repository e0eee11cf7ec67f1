/* log_auth.c - the log lines of logins, in the shapes fail2ban knows
 * Used by: smtpd, imapd, pop3d and authd. Field order and words follow
 * Postfix's smtpd and Dovecot's login and auth processes, because
 * fail2ban's stock filters anchor on them. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "log_auth.h"

const char *log_auth_safe(const char *s, char *out, size_t size)
{
        static const char unsafe[] = "<>()[],;=\"'\\";
        size_t n = 0;

        if (size == 0)
                return out;
        for (; s != NULL && *s != '\0' && n + 1 < size; s++) {
                unsigned char c = (unsigned char)*s;

                out[n++] = c <= ' ' || c == 0x7f || strchr(unsafe, c) != NULL
                           ? '?' : (char)c;
        }
        out[n] = '\0';
        return out;
}

void log_auth_sasl_failed(const char *client_name, const char *client_addr,
                          const char *mech, const char *reason,
                          const char *sasl_username)
{
        char name[LOG_AUTH_FIELD_MAX], addr[LOG_AUTH_FIELD_MAX];
        char m[LOG_AUTH_FIELD_MAX], user[LOG_AUTH_FIELD_MAX];
        char why[LOG_AUTH_FIELD_MAX];
        size_t n = 0;

        /* the reason is text, spaces and all; only the line's own
         * punctuation is taken out */
        for (const char *p = reason != NULL ? reason : ""; *p != '\0' &&
             n + 1 < sizeof(why); p++)
                why[n++] = (unsigned char)*p < ' ' || *p == '[' ||
                           *p == ']' ? '?' : *p;
        why[n] = '\0';
        log_warn("%s[%s]: SASL %s authentication failed: %s%s%s",
                 log_auth_safe(client_name != NULL && *client_name != '\0' ?
                               client_name : "unknown", name, sizeof(name)),
                 log_auth_safe(client_addr, addr, sizeof(addr)),
                 log_auth_safe(mech, m, sizeof(m)),
                 *why != '\0' ? why : "authentication failure",
                 sasl_username != NULL ? ", sasl_username=" : "",
                 sasl_username != NULL ?
                 log_auth_safe(sasl_username, user, sizeof(user)) : "");
}

void log_auth_login_failed(const char *proto, const char *user,
                           const char *method, const char *rip,
                           const char *lip, unsigned attempts,
                           long long secs, int tls)
{
        char p[32], u[LOG_AUTH_FIELD_MAX], m[64], r[64], l[64];
        char who[LOG_AUTH_FIELD_MAX + 16] = "";

        if (user != NULL)
                snprintf(who, sizeof(who), " user=<%s>,",
                         log_auth_safe(user, u, sizeof(u)));
        log_info("%s-login: Disconnected: Aborted login (auth failed, %u "
                 "attempts in %lld secs):%s method=%s, rip=%s, lip=%s%s",
                 log_auth_safe(proto, p, sizeof(p)), attempts, secs, who,
                 log_auth_safe(method, m, sizeof(m)),
                 log_auth_safe(rip, r, sizeof(r)),
                 log_auth_safe(lip, l, sizeof(l)), tls ? ", TLS" : "");
}

void log_auth_login(const char *proto, const char *user, const char *method,
                    const char *rip, const char *lip, long mpid, int tls)
{
        char p[32], u[LOG_AUTH_FIELD_MAX], m[64], r[64], l[64];

        log_info("%s-login: Login: user=<%s>, method=%s, rip=%s, lip=%s, "
                 "mpid=%ld%s", log_auth_safe(proto, p, sizeof(p)),
                 log_auth_safe(user, u, sizeof(u)),
                 log_auth_safe(method, m, sizeof(m)),
                 log_auth_safe(rip, r, sizeof(r)),
                 log_auth_safe(lip, l, sizeof(l)), mpid, tls ? ", TLS" : "");
}

void log_auth_failed(const char *backend, const char *user, const char *rip,
                     const char *service, const char *what)
{
        char b[32], u[LOG_AUTH_FIELD_MAX], r[64], s[64];
        char w[LOG_AUTH_FIELD_MAX];
        size_t n = 0;

        for (const char *p = what != NULL ? what : ""; *p != '\0' &&
             n + 1 < sizeof(w); p++)
                w[n++] = (unsigned char)*p < ' ' ? '?' : *p;
        w[n] = '\0';
        log_info("auth: %s(%s,%s,<%s>): %s",
                 log_auth_safe(backend, b, sizeof(b)),
                 log_auth_safe(user, u, sizeof(u)),
                 log_auth_safe(rip, r, sizeof(r)),
                 log_auth_safe(service, s, sizeof(s)), w);
}
