/* smtpd_rcpt.c - is a recipient taken: restrictions, then is it known
 * Used by: smtpd's RCPT command (smtpd_mail.c parsed it into s->pending).
 * A recipient passes the restriction lists (smtpd_check.c), then, with
 * smtpd_reject_unlisted_recipient, the shared resolver (common/resolve)
 * and, for the user database, an asynchronous authd look-up: unknown
 * local recipients get 550 5.1.1 at RCPT time, so nothing bounces later;
 * a table or authd that cannot answer gives 451 4.3.0. The queue file is
 * opened at the first accepted recipient, with the envelope attributes,
 * and its "client=" line is logged. Runs as mail_owner. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authc.h"
#include "cfg.h"
#include "domain_list.h"
#include "log.h"
#include "loop.h"
#include "mem.h"
#include "queue_file.h"
#include "resolve.h"
#include "smtpd.h"
#include "smtpd_check.h"
#include "smtpd_log.h"

/* open_queue - the queue file, at the first accepted recipient; -1 with
 * the reply made */
static int open_queue(struct smtpd_session *s)
{
        struct status st;
        char port[16], arrival[32];

        if (s->qw != NULL)
                return 0;
        if (queue_writer_open(s->srv->queue_dir, &s->qw, &st) < 0) {
                log_warn("%s: cannot create a queue file: %s", s->client,
                         st.text);
                smtpd_reply(s, "451 %s Error: queue file write error",
                            status_class(&st) == 4 ? st.code : "4.3.0");
                return -1;
        }
        snprintf(s->queue_id, sizeof(s->queue_id), "%s",
                 queue_writer_id(s->qw));
        snprintf(port, sizeof(port), "%d", s->port);
        snprintf(arrival, sizeof(arrival), "%lld", (long long)time(NULL));
        queue_writer_sender(s->qw, s->sender);
        queue_writer_attr(s->qw, "client_name", s->name != NULL ? s->name :
                          "unknown");
        if (s->reverse_name != NULL)
                queue_writer_attr(s->qw, "reverse_client_name",
                                  s->reverse_name);
        queue_writer_attr(s->qw, "client_address", s->addr);
        queue_writer_attr(s->qw, "client_port", port);
        if (s->helo != NULL)
                queue_writer_attr(s->qw, "helo", s->helo);
        queue_writer_attr(s->qw, "protocol", smtpd_protocol(s));
        if (s->sasl_user != NULL) {
                queue_writer_attr(s->qw, "sasl_method", s->sasl_method);
                queue_writer_attr(s->qw, "sasl_username", s->sasl_user);
        }
        if (s->dsn_ret != NULL)
                queue_writer_attr(s->qw, "dsn_ret", s->dsn_ret);
        if (s->dsn_envid != NULL)
                queue_writer_attr(s->qw, "dsn_envid", s->dsn_envid);
        if (s->smtputf8)
                queue_writer_attr(s->qw, "smtputf8", "1");
        if (s->body != NULL)
                queue_writer_attr(s->qw, "body", s->body);
        queue_writer_attr(s->qw, "arrival", arrival);
        smtpd_log_client(s);
        return 0;
}

/* rcpt_accept - take the pending recipient (reply made) */
static void rcpt_accept(struct smtpd_session *s)
{
        struct smtpd_rcpt *r;

        if (open_queue(s) < 0) {
                xfree(&s->pending.addr);
                xfree(&s->pending.orcpt);
                s->pending.notify = 0;
                return;
        }
        /* written to the queue file when the content starts (DATA), so
         * that a REDIRECT can replace them */
        if (s->rcpt_count == s->rcpt_size) {
                s->rcpt_size = s->rcpt_size ? 2 * s->rcpt_size : 4;
                s->rcpts = xrealloc(s->rcpts, s->rcpt_size * sizeof(*r));
        }
        s->rcpts[s->rcpt_count++] = s->pending;
        memset(&s->pending, 0, sizeof(s->pending));
        smtpd_reply(s, "250 2.1.5 Ok");
}

static void rcpt_refuse(struct smtpd_session *s, const char *reply)
{
        smtpd_log_reject(s, "RCPT", reply, s->pending.addr);
        smtpd_reply(s, "%s", reply);
        xfree(&s->pending.addr);
        xfree(&s->pending.orcpt);
        s->pending.notify = 0;
}

/* unknown - the 550 5.1.1 for an unlisted recipient, naming the table as
 * Postfix does */
static void unknown(struct smtpd_session *s)
{
        struct smtpd_server *srv = s->srv;
        const char *at = strrchr(s->pending.addr, '@');
        const char *domain = at != NULL ? at + 1 : "";
        const char *table = "local recipient";
        const char *param = "unknown_local_recipient_reject_code";
        char reply[SMTPD_REPLY_MAX];

        if (*domain != '\0' && srv->virtual_mailbox_domains != NULL &&
            domain_list_match(srv->virtual_mailbox_domains, domain) == 1) {
                table = "virtual mailbox";
                param = "unknown_virtual_mailbox_reject_code";
        } else if (*domain != '\0' && srv->virtual_alias_domains != NULL &&
                   domain_list_match(srv->virtual_alias_domains, domain) ==
                   1) {
                table = "virtual alias";
                param = "unknown_virtual_alias_reject_code";
        }
        snprintf(reply, sizeof(reply), "%lld 5.1.1 <%s>: Recipient address "
                 "rejected: User unknown in %s table",
                 cfg_get_int(srv->cfg, param), s->pending.addr, table);
        rcpt_refuse(s, reply);
}

static void tempfail(struct smtpd_session *s)
{
        char reply[SMTPD_REPLY_MAX];

        snprintf(reply, sizeof(reply), "451 4.3.0 <%s>: Temporary lookup "
                 "failure", s->pending.addr);
        rcpt_refuse(s, reply);
}

static void userdb_done(const struct authc_reply *r, void *ctx)
{
        struct smtpd_session *s = ctx;

        s->req = NULL;
        switch (r->result) {
        case AUTHC_OK:
                rcpt_accept(s);
                break;
        case AUTHC_NOTFOUND:
        case AUTHC_FAIL:
                unknown(s);
                break;
        default:
                log_warn("%s: recipient look-up of <%s>: %s", s->client,
                         s->pending.addr, r->reason);
                tempfail(s);
                break;
        }
        smtpd_resume(s, SMTPD_WAIT_CHECK);
}

/* in_alias_domain - is the pending recipient's domain one of
 * virtual_alias_domains (whose every address must be a virtual alias)? */
static int in_alias_domain(struct smtpd_session *s, const char *addr)
{
        const char *at = strrchr(addr, '@');

        return at != NULL && at[1] != '\0' &&
               s->srv->virtual_alias_domains != NULL &&
               domain_list_match(s->srv->virtual_alias_domains, at + 1) == 1;
}

/* resolver - the recipient resolver, opened again (at most every
 * SMTPD_RESOLVE_RETRY_MS) when it could not be at start; NULL while its
 * tables cannot be read */
static struct resolve *resolver(struct smtpd_server *srv)
{
        struct status st;

        if (srv->resolve == NULL &&
            loop_now_ms() - srv->resolve_tried >= SMTPD_RESOLVE_RETRY_MS) {
                srv->resolve_tried = loop_now_ms();
                if (resolve_open(srv->cfg, &srv->resolve, &st) < 0)
                        log_warn("%s", st.text);
        }
        return srv->resolve;
}

/* local_domain - is addr for a domain whose users we know (mydestination,
 * virtual mailbox or alias domains, or no domain)? 1, 0, or -1 */
static int local_domain(const struct smtpd_server *srv, const char *addr)
{
        const char *at = strrchr(addr, '@');
        struct domain_list *lists[] = { srv->mydestination,
                srv->virtual_mailbox_domains, srv->virtual_alias_domains };
        int unsure = 0;

        if (at == NULL || at[1] == '\0')
                return 1;
        for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
                int r = lists[i] != NULL ? domain_list_match(lists[i], at + 1)
                                         : 0;

                if (r == 1)
                        return 1;
                unsure |= r < 0;
        }
        return unsure ? -1 : 0;
}

/* rcpt_checked - the restrictions answered: now is the recipient known? */
static void rcpt_checked(struct smtpd_session *s, int verdict,
                         const char *reply)
{
        struct smtpd_server *srv = s->srv;
        enum resolve_class class = RESOLVE_REMOTE;
        struct status st;
        char *lookup = NULL, *resolved;

        if (verdict == SMTPD_REJECTED) {
                rcpt_refuse(s, reply);
                smtpd_resume(s, SMTPD_WAIT_CHECK);
                return;
        }
        /* the address as Postfix's resolver sees it (user%host@here is
         * user@host): where the mail goes, so what is looked up */
        resolved = smtpd_check_resolved(s, s->pending.addr);
        if (srv->reject_unlisted_rcpt && !smtpd_check_rcpt_listed(s) &&
            !smtpd_check_actions(s)->discard) {
                struct resolve *r = resolver(srv);

                if (r == NULL) {
                        /* the tables cannot be read: local users cannot
                         * be told from strangers now */
                        if (local_domain(srv, resolved) != 0)
                                class = RESOLVE_TEMPFAIL;
                } else if (resolve_rcpt(r, resolved, &class, &lookup,
                                        &st) < 0) {
                        log_warn("%s: cannot resolve <%s>: %s", s->client,
                                 s->pending.addr, st.text);
                        class = RESOLVE_TEMPFAIL;
                }
        }
        if (class == RESOLVE_REMOTE && srv->reject_unlisted_rcpt &&
            !smtpd_check_rcpt_listed(s) && in_alias_domain(s, resolved))
                class = RESOLVE_UNKNOWN;        /* no virtual alias for it */
        free(resolved);
        switch (class) {
        case RESOLVE_UNKNOWN:
                unknown(s);
                break;
        case RESOLVE_TEMPFAIL:
                tempfail(s);
                break;
        case RESOLVE_USERDB:
                s->req = authc_lookup(srv->authc, lookup != NULL ? lookup :
                                      s->pending.addr, userdb_done, s);
                free(lookup);
                return;         /* userdb_done resumes */
        default:
                rcpt_accept(s);
                break;
        }
        free(lookup);
        smtpd_resume(s, SMTPD_WAIT_CHECK);
}

void smtpd_rcpt_check(struct smtpd_session *s)
{
        smtpd_wait(s, SMTPD_WAIT_CHECK);
        smtpd_check_start(s, s->srv->delay_reject ? SMTPD_STAGE_CLIENT :
                          SMTPD_STAGE_RELAY, SMTPD_STAGE_RECIPIENT,
                          rcpt_checked);
}
