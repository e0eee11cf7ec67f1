/* log_auth.h - the log lines of logins, in the shapes fail2ban knows
 * Used by: smtpd (SASL failures, Postfix's words), imapd and pop3d (login
 * and failed-login lines, Dovecot's words), authd (its per-backend
 * failure lines, Dovecot auth's words). One builder per line shape; call
 * sites never printf these. Whatever a client chose (user names, SASL
 * text) is made safe first (log_auth_safe()), so that it cannot make a
 * line name another address for fail2ban to ban. Stock filters match:
 *   warning: unknown[192.0.2.9]: SASL PLAIN authentication failed:
 *     authentication failure, sasl_username=ann@example.com
 *                                   (postfix.conf, mode=auth / sasl)
 *   imap-login: Disconnected: Aborted login (auth failed, 1 attempts in
 *     2 secs): user=<ann@example.com>, method=PLAIN, rip=192.0.2.9,
 *     lip=192.0.2.1, TLS            (dovecot.conf)
 *   auth: sqlite(ann@example.com,192.0.2.9,<imap>): Password mismatch
 *                                   (dovecot.conf)
 * with _daemon widened for Yubin's tag by conf/fail2ban/. */
#ifndef YUBIN_LOG_AUTH_H
#define YUBIN_LOG_AUTH_H

#include <stddef.h>

/* the longest user name or reason put into a line */
#define LOG_AUTH_FIELD_MAX 256

/* log_auth_safe - s for a log line, into out (size bytes): white space,
 * control characters and < > ( ) [ ] , ; = " ' \ become '?', and it is
 * cut at size - 1 bytes; "" for NULL. Returns out. */
const char *log_auth_safe(const char *s, char *out, size_t size);

/* log_auth_sasl_failed - smtpd, Postfix's shape: "warning: NAME[ADDR]:
 * SASL MECH authentication failed: REASON[, sasl_username=USER]".
 * client_name is "unknown" when the address has no verified name; reason
 * is e.g. "authentication failure"; sasl_username may be NULL. */
void log_auth_sasl_failed(const char *client_name, const char *client_addr,
                          const char *mech, const char *reason,
                          const char *sasl_username);

/* log_auth_login_failed - imapd, pop3d: "PROTO-login: Disconnected:
 * Aborted login (auth failed, N attempts in S secs): user=<U>, method=M,
 * rip=R, lip=L[, TLS]" (proto "imap" or "pop3"; user may be NULL when
 * none was given) */
void log_auth_login_failed(const char *proto, const char *user,
                           const char *method, const char *rip,
                           const char *lip, unsigned attempts,
                           long long secs, int tls);

/* log_auth_login - imapd, pop3d: "PROTO-login: Login: user=<U>,
 * method=M, rip=R, lip=L, mpid=PID[, TLS]" */
void log_auth_login(const char *proto, const char *user, const char *method,
                    const char *rip, const char *lip, long mpid, int tls);

/* log_auth_failed - authd: "auth: BACKEND(USER,RIP,<SERVICE>): WHAT",
 * e.g. WHAT "Password mismatch" or "unknown user". The service sits where
 * Dovecot puts its <session>: in brackets, so that fail2ban's host
 * pattern cannot take it for a host name. */
void log_auth_failed(const char *backend, const char *user, const char *rip,
                     const char *service, const char *what);

#endif
