/* smtpd_log.h - smtpd's log lines, each in Postfix's shape
 * Used by: the smtpd modules. One builder per line shape, so that pflogsumm
 * and fail2ban read Yubin's log as they read Postfix's:
 *   connect from unknown[192.0.2.7]
 *   4Xk2Lq3vZ1: client=unknown[192.0.2.7], sasl_method=PLAIN, sasl_username=ann
 *   NOQUEUE: reject: RCPT from unknown[192.0.2.9]: 554 5.7.1 <x@example.org>:
 *     Relay access denied; from=<a@example.net> to=<x@example.org>
 *     proto=ESMTP helo=<pc>
 *   NOQUEUE: hold: RCPT from unknown[192.0.2.9]: <192.0.2.9>: Client host
 *     triggers HOLD action; from=<a@example.net> ... (also reject_warning,
 *     warn, discard, redirect, permit)
 *   4Xk2Lq3vZ1: reject: header Subject: x from unknown[192.0.2.9];
 *     from=<a@example.net> to=<b@example.org> proto=ESMTP helo=<pc>:
 *     5.7.1 message content rejected
 *   lost connection after DATA from unknown[192.0.2.7]
 *   disconnect from unknown[192.0.2.7] ehlo=1 mail=1 rcpt=1 data=1 quit=1
 *     commands=5
 * Text a client chose (HELO names, addresses) is logged with control
 * characters replaced by '?'. */
#ifndef YUBIN_SMTPD_LOG_H
#define YUBIN_SMTPD_LOG_H

#include <stddef.h>

struct smtpd_session;

void smtpd_log_connect(const struct smtpd_session *s);
void smtpd_log_disconnect(const struct smtpd_session *s);
/* smtpd_log_client - "ID: client=..." once the queue file exists */
void smtpd_log_client(const struct smtpd_session *s);
/* smtpd_log_reject - stage is "CONNECT", "HELO", "MAIL", "RCPT", "DATA",
 * "BDAT" or "END-OF-MESSAGE"; reply the full reply text; rcpt the
 * recipient in question or NULL */
void smtpd_log_reject(const struct smtpd_session *s, const char *stage,
                      const char *reply, const char *rcpt);
/* smtpd_log_action - as smtpd_log_reject() for another action word:
 * "reject_warning", "warn", "hold", "discard", "redirect",
 * "permit", "info" (Postfix's log_whatsup()) */
void smtpd_log_action(const struct smtpd_session *s, const char *action,
                      const char *stage, const char *text, const char *rcpt);
/* smtpd_log_content - header/body checks: "ID: ACTION: header|body LINE
 * from CLIENT; from=<> to=<> proto= helo=<>: TEXT" (text may be "") */
void smtpd_log_content(const struct smtpd_session *s, const char *action,
                       const char *where, const char *line,
                       const char *text);
/* smtpd_log_lost - what is "lost connection", "timeout", "too many
 * errors", ...: "WHAT after CMD from CLIENT" */
void smtpd_log_lost(const struct smtpd_session *s, const char *what);
/* smtpd_log_message_id - "ID: message-id=<...>" */
void smtpd_log_message_id(const struct smtpd_session *s, const char *msgid);
/* smtpd_log_limit - "warning: WHAT limit exceeded: N from CLIENT for
 * service SERVICE" (what: "Connection concurrency", "Connection rate",
 * "Message delivery request rate", "Recipient address rate", "AUTH
 * command rate", "New TLS session rate", as Postfix's anvil says) */
void smtpd_log_limit(const struct smtpd_session *s, const char *what,
                     long long n);
/* smtpd_log_tls - "Anonymous TLS connection established from CLIENT:
 * TLSv1.3 with cipher ..." */
void smtpd_log_tls(const struct smtpd_session *s, const char *desc);
/* smtpd_log_pipelining - "improper command pipelining after STARTTLS
 * from CLIENT: N bytes discarded" */
void smtpd_log_pipelining(const struct smtpd_session *s, size_t bytes);
/* smtpd_log_ill_pipelining - "improper command pipelining after VERB
 * from CLIENT: NEXT" (next: what came early, may be "") */
void smtpd_log_ill_pipelining(const struct smtpd_session *s,
                              const char *verb, const char *next);
/* smtpd_log_tls_failed - "SSL_accept error from CLIENT: REASON" */
void smtpd_log_tls_failed(const struct smtpd_session *s, const char *reason);
/* smtpd_log_non_smtp - "warning: non-SMTP command from CLIENT: LINE" */
void smtpd_log_non_smtp(const struct smtpd_session *s, const char *line);
/* smtpd_log_safe - text for a log line, control bytes as '?', cut at
 * size - 1; returns out */
const char *smtpd_log_safe(const char *text, char *out, size_t size);

#endif
