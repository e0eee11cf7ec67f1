/* smtpd_check_simple.c - the restrictions that need no table or DNS
 * Used by: smtpd_check.c's evaluator, through smtpd_check_load.c's table
 * of names: permit, reject, defer, defer_if_permit, defer_if_reject,
 * sleep, reject_plaintext_session, reject_unauth_pipelining,
 * permit_mynetworks, permit_inet_interfaces, permit_sasl_authenticated,
 * permit_pop_before_smtp (asks authd; authd down is 451, never a permit)
 * and reject_multi_recipient_bounce, with Postfix's replies and codes
 * (reject_code, defer_code, plaintext_reject_code,
 * multi_recipient_bounce_reject_code). Runs as mail_owner. */
#include <stdio.h>
#include <stdlib.h>

#include "authc.h"
#include "log.h"
#include "loop.h"
#include "smtpd_check_int.h"

#define FRAME(run) smtpd_check_frame(run)

enum smtpd_check_status smtpd_check_permit_all(struct smtpd_check_run *run,
                                        const struct smtpd_check_item *it)
{
        return smtpd_check_permit(run, "permit", FRAME(run)->reply_class,
                                  FRAME(run)->reply_name);
}

enum smtpd_check_status smtpd_check_reject_all(struct smtpd_check_run *run,
                                        const struct smtpd_check_item *it)
{
        return smtpd_check_reject(run, run->c->reject_code, "5.7.1",
                                  "<%s>: %s rejected: Access denied",
                                  FRAME(run)->reply_name,
                                  FRAME(run)->reply_class);
}

enum smtpd_check_status smtpd_check_defer_all(struct smtpd_check_run *run,
                                       const struct smtpd_check_item *it)
{
        return smtpd_check_reject(run, run->c->defer_code, "4.3.2",
                                  "<%s>: %s rejected: Try again later",
                                  FRAME(run)->reply_name,
                                  FRAME(run)->reply_class);
}

enum smtpd_check_status smtpd_check_dip(struct smtpd_check_run *run,
        const struct smtpd_check_item *it)
{
        return smtpd_check_defer_if_permit(run, 1, 450, "4.7.0",
                "<%s>: %s rejected: defer_if_permit requested",
                FRAME(run)->reply_name, FRAME(run)->reply_class);
}

enum smtpd_check_status smtpd_check_dir(struct smtpd_check_run *run,
        const struct smtpd_check_item *it)
{
        return smtpd_check_defer_if(run, &run->dir, 450, "4.7.0",
                "<%s>: %s rejected: defer_if_reject requested",
                FRAME(run)->reply_name, FRAME(run)->reply_class);
}

static void slept(void *ctx)
{
        smtpd_check_resume(ctx, CHK_DUNNO);
}

enum smtpd_check_status smtpd_check_sleep(struct smtpd_check_run *run,
                                       const struct smtpd_check_item *it)
{
        if (run->timer == NULL)
                run->timer = loop_timer_new(slept, run);
        loop_timer_start(run->timer, atoll(it->arg) * 1000);
        return CHK_PENDING;
}

enum smtpd_check_status smtpd_check_plaintext(struct smtpd_check_run *run,
                                           const struct smtpd_check_item *it)
{
        if (run->s->tls)
                return CHK_DUNNO;
        return smtpd_check_reject(run, run->c->plaintext_code, "4.7.1",
                                  "Session encryption is required");
}

enum smtpd_check_status smtpd_check_unauth_pipe(struct smtpd_check_run *run,
                                            const struct smtpd_check_item *it)
{
        if (!run->s->ill_pipelining)
                return CHK_DUNNO;
        return smtpd_check_reject(run, 503, "5.5.0", "<%s>: %s rejected: "
                                  "Improper use of SMTP command pipelining",
                                  FRAME(run)->reply_name,
                                  FRAME(run)->reply_class);
}

enum smtpd_check_status smtpd_check_mynetworks(struct smtpd_check_run *run,
                                            const struct smtpd_check_item *it)
{
        switch (run->s->in_mynetworks) {
        case 1:
                return smtpd_check_permit(run, "permit_mynetworks",
                                          CHK_CLIENT, run->s->client);
        case 0:
                return CHK_DUNNO;
        default:
                return smtpd_check_tempfail(run, FRAME(run)->reply_name);
        }
}

enum smtpd_check_status smtpd_check_interfaces(struct smtpd_check_run *run,
                                            const struct smtpd_check_item *it)
{
        if (!smtpd_route_own_addr(run->c->route, run->s->addr))
                return CHK_DUNNO;
        return smtpd_check_permit(run, "permit_inet_interfaces", CHK_CLIENT,
                                  run->s->client);
}

enum smtpd_check_status smtpd_check_sasl(struct smtpd_check_run *run,
                                      const struct smtpd_check_item *it)
{
        if (run->s->sasl_user == NULL)
                return CHK_DUNNO;
        return smtpd_check_permit(run, "permit_sasl_authenticated",
                                  CHK_CLIENT, run->s->client);
}

static void pbs_done(const struct authc_reply *r, void *ctx)
{
        struct smtpd_check_run *run = ctx;

        run->authc = NULL;
        switch (r->result) {
        case AUTHC_OK:
                smtpd_check_resume(run, smtpd_check_permit(run,
                        "permit_pop_before_smtp", CHK_CLIENT,
                        run->s->client));
                return;
        case AUTHC_NOTFOUND:
        case AUTHC_FAIL:
                smtpd_check_resume(run, CHK_DUNNO);
                return;
        default:
                /* authd down: never a permit */
                log_warn("%s: permit_pop_before_smtp: authd: %s",
                         run->s->client, r->reason);
                smtpd_check_resume(run, smtpd_check_reject(run, 451, "4.3.0",
                        "<%s>: %s rejected: Temporary lookup failure",
                        FRAME(run)->reply_name, FRAME(run)->reply_class));
                return;
        }
}

enum smtpd_check_status smtpd_check_pbs(struct smtpd_check_run *run,
                                     const struct smtpd_check_item *it)
{
        run->authc = authc_pbs_check(run->s->srv->authc, run->s->addr,
                                     pbs_done, run);
        return CHK_PENDING;
}

enum smtpd_check_status smtpd_check_mul_bounce(struct smtpd_check_run *run,
                                            const struct smtpd_check_item *it)
{
        struct smtpd_session *s = run->s;
        size_t more = run->last >= SMTPD_STAGE_DATA ? 1 : 0;

        if (s->sender == NULL || *s->sender != '\0' || s->rcpt_count <= more)
                return CHK_DUNNO;
        return smtpd_check_reject(run, run->c->mul_rcpt_code, "5.5.3",
                                  "<%s>: %s rejected: Multi-recipient bounce",
                                  FRAME(run)->reply_name,
                                  FRAME(run)->reply_class);
}
