/* smtpd_mail.c - MAIL FROM and RCPT TO: paths and parameters
 * Used by: smtpd's command table. Paths are parsed by common/addr (RFC
 * 5321 4.1.2); parameters are SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8
 * (RFC 6531), RET/ENVID/NOTIFY/ORCPT (RFC 3461) and AUTH (RFC 4954 5).
 * A well-formed recipient goes on to smtpd_rcpt.c (restrictions, is it
 * known). Parses client input; runs as mail_owner. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "mem.h"
#include "queue_file.h"
#include "smtpd.h"
#include "smtpd_anvil.h"
#include "smtpd_check.h"
#include "smtpd_log.h"

#define ENVID_MAX 100           /* RFC 3461 4.4 */

void smtpd_reset(struct smtpd_session *s)
{
        queue_writer_free(&s->qw);
        s->queue_id[0] = '\0';
        s->mail_given = 0;
        xfree(&s->sender);
        for (size_t i = 0; i < s->rcpt_count; i++) {
                free(s->rcpts[i].addr);
                free(s->rcpts[i].orcpt);
        }
        s->rcpt_count = 0;
        xfree(&s->pending.addr);
        xfree(&s->pending.orcpt);
        xfree(&s->dsn_ret);
        xfree(&s->dsn_envid);
        s->size_param = 0;
        s->body = NULL;
        s->smtputf8 = 0;
        s->in_data = 0;
        s->bdat = 0;
        s->bdat_failed = 0;
        s->bdat_error[0] = '\0';
        s->rcpt_tried = 0;
        memset(&s->content, 0, sizeof(s->content));
        smtpd_check_reset(s);
        smtpd_hbc_free(&s->hbc);
}

const char *smtpd_protocol(const struct smtpd_session *s)
{
        static const char *const names[2][4] = {
                { "ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA" },
                { "UTF8SMTP", "UTF8SMTPS", "UTF8SMTPA", "UTF8SMTPSA" },
        };

        if (!s->esmtp)
                return "SMTP";
        return names[s->smtputf8 ? 1 : 0][(s->tls ? 1 : 0) +
                                           (s->sasl_user != NULL ? 2 : 0)];
}

static int has_8bit(const char *s)
{
        for (; *s != '\0'; s++)
                if ((unsigned char)*s >= 0x80)
                        return 1;
        return 0;
}

/* path - the path after "FROM:"/"TO:"; 0 with *addr_r and *rest_r, or -1
 * (replied) */
static int path(struct smtpd_session *s, const char *text, int flags,
                int sender, char **addr_r, const char **rest_r)
{
        struct status st;
        size_t used = 0;
        const char *bad = sender ? "501 5.1.7 Bad sender address syntax" :
                "501 5.1.3 Bad recipient address syntax";

        text += strspn(text, " \t");
        if (!s->srv->strict_rfc821)
                flags |= ADDR_NO_BRACKETS;
        if (addr_parse_path(text, flags | ADDR_UTF8, addr_r, &used, &st) < 0) {
                smtpd_reply(s, "%s", bad);
                return -1;
        }
        *rest_r = text + used;
        return 0;
}

/* utf8_ok - an 8-bit address needs SMTPUTF8 (RFC 6531 3.4) */
static int utf8_ok(struct smtpd_session *s, const char *addr, int sender)
{
        if (!has_8bit(addr) || s->smtputf8)
                return 1;
        if (s->srv->smtputf8)
                smtpd_reply(s, "553 5.6.7 Must declare SMTPUTF8 to send "
                            "unicode address");
        else
                smtpd_reply(s, "%s", sender ?
                            "501 5.1.7 Bad sender address syntax" :
                            "501 5.1.3 Bad recipient address syntax");
        return 0;
}

/* --- MAIL --- */

/* mail_param - one MAIL parameter; 0, or -1 (replied) */
static int mail_param(struct smtpd_session *s, const struct addr_param *p)
{
        const char *v = p->value;

        if (strcasecmp(p->key, "SIZE") == 0) {
                char *end;

                if (v == NULL || !isdigit((unsigned char)*v) ||
                    (s->size_param = strtoll(v, &end, 10), *end != '\0') ||
                    s->size_param < 0) {
                        smtpd_reply(s, "501 5.5.4 Bad message size syntax");
                        return -1;
                }
                return 0;
        }
        if (strcasecmp(p->key, "BODY") == 0) {
                if (v != NULL && strcasecmp(v, "8BITMIME") == 0)
                        s->body = "8BITMIME";
                else if (v != NULL && strcasecmp(v, "7BIT") == 0)
                        s->body = "7BIT";
                else {
                        smtpd_reply(s, "501 5.5.4 Bad BODY keyword value");
                        return -1;
                }
                return 0;
        }
        if (strcasecmp(p->key, "SMTPUTF8") == 0 && s->srv->smtputf8) {
                if (v != NULL) {
                        smtpd_reply(s, "501 5.5.4 Bad SMTPUTF8 syntax");
                        return -1;
                }
                s->smtputf8 = 1;
                return 0;
        }
        if (strcasecmp(p->key, "RET") == 0) {
                if (s->dsn_ret != NULL || v == NULL ||
                    (strcasecmp(v, "FULL") != 0 &&
                     strcasecmp(v, "HDRS") != 0)) {
                        smtpd_reply(s, "501 5.5.4 Bad RET parameter syntax");
                        return -1;
                }
                s->dsn_ret = xstrdup(strcasecmp(v, "FULL") == 0 ? "FULL" :
                                     "HDRS");
                return 0;
        }
        if (strcasecmp(p->key, "ENVID") == 0) {
                char *envid = NULL;

                if (s->dsn_envid != NULL || v == NULL ||
                    addr_xtext_decode(v, &envid) < 0 ||
                    strlen(envid) > ENVID_MAX || has_8bit(envid)) {
                        free(envid);
                        smtpd_reply(s, "501 5.5.4 Bad ENVID parameter "
                                    "syntax");
                        return -1;
                }
                s->dsn_envid = envid;
                return 0;
        }
        if (strcasecmp(p->key, "AUTH") == 0)
                return 0;       /* RFC 4954 5: we keep no submitter */
        smtpd_reply(s, "555 5.5.4 Unsupported option: %.64s", p->key);
        return -1;
}

/* mail_checked - smtpd_sender_restrictions answered (delay_reject = no) */
static void mail_checked(struct smtpd_session *s, int verdict,
                         const char *reply)
{
        if (verdict == SMTPD_REJECTED) {
                smtpd_log_reject(s, "MAIL", reply, NULL);
                smtpd_reply(s, "%s", reply);
                smtpd_reset(s);
        } else {
                smtpd_reply(s, "250 2.1.0 Ok");
        }
        smtpd_resume(s, SMTPD_WAIT_CHECK);
}

void smtpd_cmd_mail(struct smtpd_session *s, char *args)
{
        struct smtpd_server *srv = s->srv;
        struct addr_param *params = NULL;
        struct status st;
        size_t count = 0;
        const char *rest;
        char *addr = NULL;
        char reply[SMTPD_REPLY_MAX];

        if (strncasecmp(args, "FROM:", 5) != 0) {
                smtpd_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
                return;
        }
        if (srv->helo_required && s->helo == NULL) {
                smtpd_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
                return;
        }
        if (s->mail_given) {
                smtpd_reply(s, "503 5.5.1 Error: nested MAIL command");
                return;
        }
        if (smtpd_rate_exceeded(s, SMTPD_ANVIL_MESSAGE,
                                srv->message_rate_limit,
                                "Message delivery request rate")) {
                smtpd_reply(s, "450 4.7.1 Error: too much mail from %s",
                            s->addr);
                return;
        }
        if (path(s, args + 5, ADDR_NULL_OK, 1, &addr, &rest) < 0)
                return;
        if (!smtpd_check_addr_ok(s, addr)) {
                free(addr);
                smtpd_reply(s, "501 5.1.7 Bad sender address syntax");
                return;
        }
        if (addr_esmtp_params(rest, &params, &count, &st) < 0) {
                free(addr);
                smtpd_reply(s, "501 5.5.4 Bad MAIL parameter syntax");
                return;
        }
        s->sender = addr;
        s->mail_given = 1;
        for (size_t i = 0; i < count; i++) {
                if (mail_param(s, &params[i]) < 0) {
                        addr_esmtp_params_free(&params, count);
                        smtpd_reset(s);
                        return;
                }
        }
        addr_esmtp_params_free(&params, count);
        if (!utf8_ok(s, addr, 1)) {
                smtpd_reset(s);
                return;
        }
        if (srv->message_size_limit > 0 &&
            s->size_param > srv->message_size_limit) {
                snprintf(reply, sizeof(reply),
                         "552 5.3.4 Message size exceeds fixed limit");
        } else if (smtpd_space_ok(s, s->size_param) < 0) {
                snprintf(reply, sizeof(reply),
                         "452 4.3.1 Insufficient system storage");
        } else {
                reply[0] = '\0';
        }
        if (reply[0] != '\0') {
                smtpd_log_reject(s, "MAIL", reply, NULL);
                smtpd_reply(s, "%s", reply);
                smtpd_reset(s);
                return;
        }
        smtpd_wait(s, SMTPD_WAIT_CHECK);
        if (!srv->delay_reject &&
            !smtpd_check_empty(srv->checks, SMTPD_STAGE_SENDER)) {
                smtpd_check_start(s, SMTPD_STAGE_SENDER, SMTPD_STAGE_SENDER,
                                  mail_checked);
                return;
        }
        mail_checked(s, SMTPD_PASSED, NULL);
}

/* --- RCPT --- */

/* rcpt_param - one RCPT parameter; 0, or -1 (replied) */
static int rcpt_param(struct smtpd_session *s, const struct addr_param *p)
{
        const char *v = p->value;

        if (strcasecmp(p->key, "NOTIFY") == 0) {
                unsigned bits = 0;
                char *copy, *word, *save = NULL;

                if (s->pending.notify != 0 || v == NULL || *v == '\0')
                        goto bad_notify;
                copy = xstrdup(v);
                for (word = strtok_r(copy, ",", &save); word != NULL;
                     word = strtok_r(NULL, ",", &save)) {
                        if (strcasecmp(word, "NEVER") == 0)
                                bits |= QUEUE_NOTIFY_NEVER;
                        else if (strcasecmp(word, "SUCCESS") == 0)
                                bits |= QUEUE_NOTIFY_SUCCESS;
                        else if (strcasecmp(word, "FAILURE") == 0)
                                bits |= QUEUE_NOTIFY_FAILURE;
                        else if (strcasecmp(word, "DELAY") == 0)
                                bits |= QUEUE_NOTIFY_DELAY;
                        else
                                bits = ~0u;
                }
                free(copy);
                /* NEVER stands alone (RFC 3461 4.1) */
                if (bits == 0 || bits == ~0u ||
                    ((bits & QUEUE_NOTIFY_NEVER) && bits != QUEUE_NOTIFY_NEVER))
                        goto bad_notify;
                s->pending.notify = bits;
                return 0;
bad_notify:
                smtpd_reply(s, "501 5.5.4 Error: Bad NOTIFY parameter "
                            "syntax");
                return -1;
        }
        if (strcasecmp(p->key, "ORCPT") == 0) {
                const char *semi = v != NULL ? strchr(v, ';') : NULL;
                char *decoded = NULL;

                if (s->pending.orcpt != NULL || semi == NULL || semi == v ||
                    addr_xtext_decode(semi + 1, &decoded) < 0 ||
                    *decoded == '\0') {
                        free(decoded);
                        smtpd_reply(s, "501 5.5.4 Error: Bad ORCPT parameter "
                                    "syntax");
                        return -1;
                }
                s->pending.orcpt = xasprintf("%.*s;%s", (int)(semi - v), v,
                                             decoded);
                free(decoded);
                return 0;
        }
        smtpd_reply(s, "555 5.5.4 Unsupported option: %.64s", p->key);
        return -1;
}

void smtpd_cmd_rcpt(struct smtpd_session *s, char *args)
{
        struct smtpd_server *srv = s->srv;
        struct addr_param *params = NULL;
        struct status st;
        size_t count = 0;
        const char *rest;
        char *addr = NULL;

        if (strncasecmp(args, "TO:", 3) != 0) {
                smtpd_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
                return;
        }
        if (!s->mail_given) {
                smtpd_reply(s, "503 5.5.1 Error: need MAIL command");
                return;
        }
        if (s->bdat) {
                smtpd_reply(s, "503 5.5.1 Error: BDAT transfer in progress");
                return;
        }
        if (s->rcpt_count >= (size_t)srv->recipient_limit) {
                smtpd_reply(s, "452 4.5.3 Error: too many recipients");
                return;
        }
        if (smtpd_rate_exceeded(s, SMTPD_ANVIL_RCPT, srv->rcpt_rate_limit,
                                "Recipient address rate")) {
                smtpd_reply(s, "450 4.7.1 Error: too many recipients from %s",
                            s->addr);
                return;
        }
        s->rcpt_tried = 1;
        if (path(s, args + 3, 0, 0, &addr, &rest) < 0)
                return;
        if (*addr != '\0' && !utf8_ok(s, addr, 0)) {
                free(addr);
                return;
        }
        if (*addr == '\0' || !smtpd_check_addr_ok(s, addr)) {
                smtpd_reply(s, "501 5.1.3 Bad recipient address syntax");
                free(addr);
                return;
        }
        if (addr_esmtp_params(rest, &params, &count, &st) < 0) {
                free(addr);
                smtpd_reply(s, "501 5.5.4 Bad RCPT parameter syntax");
                return;
        }
        s->pending.addr = addr;
        for (size_t i = 0; i < count; i++) {
                if (rcpt_param(s, &params[i]) < 0) {
                        addr_esmtp_params_free(&params, count);
                        xfree(&s->pending.addr);
                        xfree(&s->pending.orcpt);
                        s->pending.notify = 0;
                        return;
                }
        }
        addr_esmtp_params_free(&params, count);
        smtpd_rcpt_check(s);
}
