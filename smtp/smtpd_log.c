/* smtpd_log.c - smtpd's log lines in Postfix's shape
 * Used by: every smtpd module that logs an event of a session. The field
 * order and words are those pflogsumm and fail2ban match; see
 * smtpd_log.h. */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "smtpd.h"
#include "smtpd_log.h"

#define SAFE_MAX 512

const char *smtpd_log_safe(const char *text, char *out, size_t size)
{
        size_t i = 0;

        if (size == 0)
                return out;
        for (; text != NULL && text[i] != '\0' && i + 1 < size; i++) {
                unsigned char c = (unsigned char)text[i];

                out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
        }
        out[i] = '\0';
        return out;
}

/* id - the queue ID, or NOQUEUE before the queue file exists */
static const char *id(const struct smtpd_session *s)
{
        return s->queue_id[0] != '\0' ? s->queue_id : "NOQUEUE";
}

void smtpd_log_connect(const struct smtpd_session *s)
{
        log_info("connect from %s", s->client);
}

void smtpd_log_disconnect(const struct smtpd_session *s)
{
        struct buf b;

        buf_init(&b, 0);
        smtpd_cmd_counts(s, &b);
        log_info("disconnect from %s%s", s->client, buf_cstr(&b));
        buf_release(&b);
}

void smtpd_log_client(const struct smtpd_session *s)
{
        char user[SAFE_MAX];

        if (s->sasl_user != NULL)
                log_info("%s: client=%s, sasl_method=%s, sasl_username=%s",
                         id(s), s->client, s->sasl_method,
                         smtpd_log_safe(s->sasl_user, user, sizeof(user)));
        else
                log_info("%s: client=%s", id(s), s->client);
}

void smtpd_log_reject(const struct smtpd_session *s, const char *stage,
                      const char *reply, const char *rcpt)
{
        smtpd_log_action(s, "reject", stage, reply, rcpt);
}

void smtpd_log_action(const struct smtpd_session *s, const char *action,
                      const char *stage, const char *reply, const char *rcpt)
{
        char text[SAFE_MAX], helo[SAFE_MAX], addr[SAFE_MAX];
        struct buf b;

        buf_init(&b, 0);
        buf_printf(&b, "%s: %s: %s from %s: %s;", id(s), action, stage,
                   s->client, smtpd_log_safe(reply, text, sizeof(text)));
        if (s->mail_given)
                buf_printf(&b, " from=<%s>",
                           smtpd_log_safe(s->sender, addr, sizeof(addr)));
        if (rcpt != NULL)
                buf_printf(&b, " to=<%s>",
                           smtpd_log_safe(rcpt, addr, sizeof(addr)));
        buf_printf(&b, " proto=%s", s->esmtp ? "ESMTP" : "SMTP");
        if (s->helo != NULL)
                buf_printf(&b, " helo=<%s>",
                           smtpd_log_safe(s->helo, helo, sizeof(helo)));
        log_info("%s", buf_cstr(&b));
        buf_release(&b);
}

void smtpd_log_lost(const struct smtpd_session *s, const char *what)
{
        if (s->in_data && s->content.size > 0)
                log_info("%s after %s (%lld bytes) from %s", what,
                         s->last_cmd, s->content.size, s->client);
        else
                log_info("%s after %s from %s", what, s->last_cmd, s->client);
}

void smtpd_log_message_id(const struct smtpd_session *s, const char *msgid)
{
        char text[SAFE_MAX];

        log_info("%s: message-id=%s", id(s),
                 smtpd_log_safe(msgid, text, sizeof(text)));
}

void smtpd_log_limit(const struct smtpd_session *s, const char *what,
                     long long n)
{
        log_warn("%s limit exceeded: %lld from %s for service %s", what, n,
                 s->client, s->srv->service);
}

void smtpd_log_pipelining(const struct smtpd_session *s, size_t bytes)
{
        log_info("improper command pipelining after STARTTLS from %s: %zu "
                 "bytes discarded", s->client, bytes);
}

void smtpd_log_ill_pipelining(const struct smtpd_session *s,
                              const char *verb, const char *next)
{
        char text[128];

        log_info("improper command pipelining after %s from %s: %s", verb,
                 s->client, smtpd_log_safe(next, text, sizeof(text)));
}

void smtpd_log_tls_failed(const struct smtpd_session *s, const char *reason)
{
        char text[SAFE_MAX];

        log_info("SSL_accept error from %s: %s", s->client,
                 smtpd_log_safe(reason, text, sizeof(text)));
}

void smtpd_log_non_smtp(const struct smtpd_session *s, const char *line)
{
        char text[128];

        log_warn("non-SMTP command from %s: %s", s->client,
                 smtpd_log_safe(line, text, sizeof(text)));
}

void smtpd_log_tls(const struct smtpd_session *s, const char *desc)
{
        log_info("Anonymous TLS connection established from %s: %s",
                 s->client, desc);
}

void smtpd_log_content(const struct smtpd_session *s, const char *action,
                       const char *where, const char *line,
                       const char *text)
{
        char l[201], t[SAFE_MAX], helo[SAFE_MAX], addr[SAFE_MAX];
        struct buf b;

        buf_init(&b, 0);
        buf_printf(&b, "%s: %s: %s %s from %s;", id(s), action, where,
                   smtpd_log_safe(line, l, sizeof(l)), s->client);
        if (s->mail_given)
                buf_printf(&b, " from=<%s>",
                           smtpd_log_safe(s->sender, addr, sizeof(addr)));
        if (s->rcpt_count > 0)
                buf_printf(&b, " to=<%s>", smtpd_log_safe(s->rcpts[0].addr,
                                                          addr, sizeof(addr)));
        buf_printf(&b, " proto=%s", s->esmtp ? "ESMTP" : "SMTP");
        if (s->helo != NULL)
                buf_printf(&b, " helo=<%s>",
                           smtpd_log_safe(s->helo, helo, sizeof(helo)));
        if (text != NULL && *text != '\0')
                buf_printf(&b, ": %s", smtpd_log_safe(text, t, sizeof(t)));
        log_info("%s", buf_cstr(&b));
        buf_release(&b);
}
