/* smtpd_check.c - restriction lists: the evaluator and the simple items
 * Used by: smtpd. A run walks the lists of a range of stages (client,
 * helo, sender, relay, recipient; data; end of data) as a stack of
 * frames: a stage's list at the bottom, a restriction class or an access
 * table's answer ("reject_unknown_sender_domain, permit") pushed above
 * the item that named it. An item answers DUNNO (next item), OK (its
 * list is done; a nested list's OK is its parent item's), REJECT (the run
 * is over), PENDING (it asked authd, DNS or a policy service; the answer
 * comes back through smtpd_check_resume()) or NESTED. warn_if_reject,
 * defer_if_permit and defer_if_reject keep Postfix's meanings, and each
 * reply is formed as Postfix forms it (smtpd_check_reject()). The items
 * of other kinds live in smtpd_check_access.c, _addr.c, _dns.c and
 * _policy.c; the table of names in smtpd_check_load.c. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authc.h"
#include "dns.h"
#include "log.h"
#include "loop.h"
#include "mem.h"
#include "smtpd_check_int.h"
#include "smtpd_log.h"

static void run_on(struct smtpd_check_run *run);

/* --- replies --- */

/* dsn_ok - "D.DDD.DDD" */
static int dsn_ok(const char *d)
{
        size_t n;

        if ((d[0] != '2' && d[0] != '4' && d[0] != '5') || d[1] != '.')
                return 0;
        d += 2;
        for (int part = 0; part < 2; part++) {
                n = strspn(d, "0123456789");
                if (n < 1 || n > 3)
                        return 0;
                d += n;
                if (part == 0 && *d++ != '.')
                        return 0;
        }
        return *d == '\0';
}

const char *smtpd_check_dsn_fix(const char *status, const char *class)
{
        /* micro code -> sender / recipient form, as Postfix maps them */
        static const char *const map[][3] = {
                { "1", "4.1.0", "4.1.1" }, { "2", "4.1.8", "4.1.2" },
                { "3", "4.1.7", "4.1.3" }, { "4", "4.1.0", "4.1.4" },
                { "5", "4.1.0", "4.1.5" }, { "6", "4.1.0", "4.1.6" },
                { "7", "4.1.7", "4.1.3" }, { "8", "4.1.8", "4.1.2" },
        };
        size_t i;

        if (!isdigit((unsigned char)status[0]) ||
            strncmp(status + 1, ".1.", 3) != 0)
                return status;
        if (strcmp(class, CHK_SENDER) != 0 &&
            strcmp(class, CHK_RECIPIENT) != 0)
                return "4.0.0";
        for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if (strcmp(status + 4, map[i][0]) == 0)
                        break;
        if (i == sizeof(map) / sizeof(map[0]))
                return "4.1.0";
        return map[i][strcmp(class, CHK_SENDER) == 0 ? 1 : 2];
}

/* form - "CODE DSN TEXT" into out: a bad code or DSN gives Postfix's
 * generic reply, control characters become spaces, at most 510 bytes */
static void form(char *out, size_t size, long long code, const char *dsn,
                 const char *fmt, va_list ap)
{
        char text[SMTPD_REPLY_MAX];

        vsnprintf(text, sizeof(text), fmt, ap);
        if (snprintf(out, size, "%lld %s %s", code, dsn, text) >= (int)size)
                out[size - 1] = '\0';          /* cut below anyway */
        if (code < 400 || code > 599 || !dsn_ok(dsn)) {
                log_warn("SMTP reply code configuration error: %s", out);
                snprintf(out, size, "450 4.7.1 Service unavailable");
        }
        if (strlen(out) > 510)
                out[510] = '\0';
        for (char *p = out; *p != '\0'; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = ' ';
}

enum smtpd_check_status smtpd_check_reject(struct smtpd_check_run *run,
                                           long long code, const char *dsn,
                                           const char *fmt, ...)
{
        char reply[SMTPD_REPLY_MAX];
        int warn = run->warn != 0;
        va_list ap;

        va_start(ap, fmt);
        form(reply, sizeof(reply), code, dsn, fmt, ap);
        va_end(ap);
        /* an earlier temporary failure turns a reject into a deferral,
         * with the earlier reason */
        if (!warn && run->dir.active && reply[0] == '5') {
                run->dir.active = 0;
                snprintf(reply, sizeof(reply), "%s", run->dir.reply);
        }
        if (run->c->soft_bounce && reply[0] == '5')
                reply[0] = '4';
        reply[4] = reply[0];
        if (warn) {
                smtpd_check_log(run, "reject_warning", "%s", reply);
                return CHK_DUNNO;
        }
        snprintf(run->reply, sizeof(run->reply), "%s", reply);
        return CHK_REJECT;
}

enum smtpd_check_status smtpd_check_defer_if(struct smtpd_check_run *run,
                                             struct smtpd_check_defer *d,
                                             long long code, const char *dsn,
                                             const char *fmt, ...)
{
        va_list ap;

        if (d->active)
                return CHK_DUNNO;       /* the first reason stays */
        d->active = 1;
        va_start(ap, fmt);
        form(d->reply, sizeof(d->reply), code, dsn, fmt, ap);
        va_end(ap);
        d->reply[4] = d->reply[0];
        return CHK_DUNNO;
}

enum smtpd_check_status smtpd_check_defer_if_permit(
        struct smtpd_check_run *run, int defer_action, long long code,
        const char *dsn, const char *fmt, ...)
{
        char text[SMTPD_REPLY_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        if (run->warn == 0 && defer_action)
                return smtpd_check_defer_if(run, &run->dip, code, dsn, "%s",
                                            text);
        return smtpd_check_reject(run, code, dsn, "%s", text);
}

enum smtpd_check_status smtpd_check_tempfail(struct smtpd_check_run *run,
                                             const char *name)
{
        return smtpd_check_reject(run, 451, "4.3.0",
                                  "<%s>: Temporary lookup failure", name);
}

enum smtpd_check_status smtpd_check_server_error(struct smtpd_check_run *run)
{
        int warn = run->warn;
        enum smtpd_check_status st;

        /* a configuration error is never only a warning */
        run->warn = 0;
        st = smtpd_check_reject(run, 451, "4.3.5",
                                "Server configuration error");
        run->warn = warn;
        return st;
}

/* --- logging --- */

const char *smtpd_check_where(const struct smtpd_check_run *run)
{
        switch (run->last) {
        case SMTPD_STAGE_CLIENT:
                return "CONNECT";
        case SMTPD_STAGE_HELO:
                return run->s->esmtp ? "EHLO" : "HELO";
        case SMTPD_STAGE_SENDER:
                return "MAIL";
        case SMTPD_STAGE_DATA:
                return run->s->bdat ? "BDAT" : "DATA";
        case SMTPD_STAGE_EOD:
                return "END-OF-MESSAGE";
        default:
                return "RCPT";
        }
}

void smtpd_check_log(struct smtpd_check_run *run, const char *action,
                     const char *fmt, ...)
{
        char text[SMTPD_REPLY_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        smtpd_log_action(run->s, action, smtpd_check_where(run), text,
                         run->rcpt);
}

enum smtpd_check_status smtpd_check_permit(struct smtpd_check_run *run,
                                           const char *action,
                                           const char *class,
                                           const char *name)
{
        const struct smtpd_checks *c = run->c;

        if (run->dip.active)
                return CHK_OK;          /* overruled: not logged */
        for (size_t i = 0; i < c->permit_log_count; i++)
                if (strcasecmp(c->permit_log[i], action) == 0) {
                        smtpd_check_log(run, "permit", "action=%s for %s=%s",
                                        action, class, name);
                        break;
                }
        return CHK_OK;
}

/* --- frames --- */

struct smtpd_check_frame *smtpd_check_frame(struct smtpd_check_run *run)
{
        return &run->frames[run->depth - 1];
}

enum smtpd_check_status smtpd_check_push(struct smtpd_check_run *run,
                                         const struct smtpd_check_list *l,
                                         struct smtpd_check_list *owned,
                                         const char *reply_name,
                                         const char *reply_class,
                                         int suspicious)
{
        struct smtpd_check_frame *f;
        const char *acl = run->depth > 0 ?
                smtpd_check_frame(run)->def_acl : NULL;

        if (run->depth >= SMTPD_CHECK_DEPTH) {
                log_warn("restriction list %s nested too deeply (more than "
                         "%d levels)", l->name, SMTPD_CHECK_DEPTH);
                if (owned != NULL) {
                        smtpd_check_list_free(owned);
                        free(owned);
                }
                return smtpd_check_server_error(run);
        }
        f = &run->frames[run->depth++];
        memset(f, 0, sizeof(*f));
        f->list = l;
        f->owned = owned;
        f->reply_name = reply_name;
        f->reply_class = reply_class;
        f->def_acl = acl;
        f->suspicious = suspicious;
        return CHK_NESTED;
}

static void pop(struct smtpd_check_run *run)
{
        struct smtpd_check_frame *f = smtpd_check_frame(run);

        if (f->owned != NULL) {
                smtpd_check_list_free(f->owned);
                free(f->owned);
        }
        run->depth--;
}

/* --- the run --- */

static void finish(struct smtpd_check_run *run, int verdict)
{
        struct smtpd_session *s = run->s;
        smtpd_check_done_fn *done = run->done;

        while (run->depth > 0)
                pop(run);
        s->check = NULL;
        done(s, verdict, verdict == SMTPD_REJECTED ? run->reply : NULL);
        loop_timer_free(&run->timer);
        free(run);
}

static int discarding(const struct smtpd_check_run *run)
{
        return run->s->chk != NULL && run->s->chk->discard;
}

/* stage_push - the next list to walk: the stage's, or after the sender
 * list the implicit reject_unlisted_sender. 0 when the stage has none
 * (its subject is missing, or nothing more is wanted). */
static int stage_push(struct smtpd_check_run *run)
{
        struct smtpd_session *s = run->s;
        struct smtpd_checks *c = run->c;
        const struct smtpd_check_list *l = &c->lists[run->stage];
        const char *name = NULL, *class = NULL, *acl = NULL;

        switch (run->stage) {
        case SMTPD_STAGE_CLIENT:
                name = s->client;
                class = CHK_CLIENT;
                acl = "check_client_access";
                break;
        case SMTPD_STAGE_HELO:
                name = s->helo;
                class = CHK_HELO;
                acl = "check_helo_access";
                break;
        case SMTPD_STAGE_SENDER:
                name = s->mail_given ? s->sender : NULL;
                class = CHK_SENDER;
                acl = "check_sender_access";
                if (run->phase == 1) {
                        if (c->implicit_sender.count == 0 || name == NULL ||
                            *name == '\0' || discarding(run) ||
                            smtpd_check_sess(s)->sender_listed)
                                return 0;
                        l = &c->implicit_sender;
                }
                break;
        case SMTPD_STAGE_RELAY:
        case SMTPD_STAGE_RECIPIENT:
                name = run->rcpt;
                class = CHK_RECIPIENT;
                acl = "check_recipient_access";
                break;
        case SMTPD_STAGE_DATA:
                name = "DATA";
                class = CHK_DATA;
                break;
        default:
                name = "END-OF-MESSAGE";
                class = CHK_EOD;
                break;
        }
        if (name == NULL)
                return 0;
        run->warn = 0;
        run->dir.active = 0;
        smtpd_check_push(run, l, NULL, name, class, 0);
        smtpd_check_frame(run)->def_acl = acl;
        return 1;
}

/* advance - the list after the current one: the sender list is followed
 * by the implicit reject_unlisted_sender (phase 1) */
static void advance(struct smtpd_check_run *run)
{
        if (run->stage == SMTPD_STAGE_SENDER && run->phase == 0) {
                run->phase = 1;
        } else {
                run->phase = 0;
                run->stage++;
        }
}

/* next_stage - push the next list to walk; 0 when the run is over (and
 * finished) */
static int next_stage(struct smtpd_check_run *run)
{
        for (;;) {
                advance(run);
                if (run->stage > run->last)
                        break;
                if (stage_push(run))
                        return 1;
        }
        if (run->last <= SMTPD_STAGE_SENDER) {
                /* kept for the recipients, as Postfix's
                 * defer_if_permit_{client,helo,sender} */
                smtpd_check_sess(run->s)->dip_saved = run->dip;
        } else if (run->dip.active && !discarding(run)) {
                snprintf(run->reply, sizeof(run->reply), "%s",
                         run->dip.reply);
                if (run->c->soft_bounce && run->reply[0] == '5')
                        run->reply[0] = run->reply[4] = '4';
                finish(run, SMTPD_REJECTED);
                return 0;
        }
        finish(run, SMTPD_PASSED);
        return 0;
}

/* item_done - the item at the top frame answered st; 0 when the run is
 * over */
static int item_done(struct smtpd_check_run *run, enum smtpd_check_status st)
{
        for (;;) {
                if (st == CHK_REJECT) {
                        finish(run, SMTPD_REJECTED);
                        return 0;
                }
                if (run->warn >= run->depth)
                        run->warn = 0;
                if (st != CHK_OK)
                        return 1;
                /* OK ends this list; a nested list's OK is its parent
                 * item's answer */
                int suspicious = smtpd_check_frame(run)->suspicious;

                pop(run);
                if (run->depth == 0)
                        return 1;       /* the stage is done */
                st = suspicious ? CHK_DUNNO : CHK_OK;
        }
}

/* bare_table - a "type:name" item: the access check of the list's stage
 * (Postfix's def_acl) */
static enum smtpd_check_status bare_table(struct smtpd_check_run *run,
                                          const struct smtpd_check_item *it)
{
        const char *acl = smtpd_check_frame(run)->def_acl;

        if (acl == NULL) {
                log_warn("specify one of check_client_access, "
                         "check_helo_access, check_sender_access or "
                         "check_recipient_access before table \"%s\" in "
                         "%s restrictions", it->word,
                         smtpd_check_frame(run)->reply_class);
                return smtpd_check_server_error(run);
        }
        if (strcmp(acl, "check_client_access") == 0)
                return smtpd_check_client_access(run, it);
        if (strcmp(acl, "check_helo_access") == 0)
                return smtpd_check_helo_access(run, it);
        if (strcmp(acl, "check_sender_access") == 0)
                return smtpd_check_sender_access(run, it);
        return smtpd_check_rcpt_access(run, it);
}

static void run_on(struct smtpd_check_run *run)
{
        for (;;) {
                struct smtpd_check_frame *f;
                const struct smtpd_check_item *it;
                enum smtpd_check_status st;

                if (run->depth == 0) {
                        if (!next_stage(run))
                                return;
                        continue;
                }
                f = smtpd_check_frame(run);
                if (f->pos >= f->list->count || discarding(run) ||
                    (run->dip.active && run->dir.active)) {
                        pop(run);
                        if (run->depth > 0 && !item_done(run, CHK_DUNNO))
                                return;
                        continue;
                }
                it = &f->list->items[f->pos++];
                if (it->def != NULL && it->def->fn == NULL) {
                        /* warn_if_reject: for the next item only */
                        if (run->warn == 0)
                                run->warn = run->depth;
                        continue;
                }
                run->item = it;
                if (it->cls != NULL)
                        st = smtpd_check_push(run, it->cls, NULL,
                                              f->reply_name, f->reply_class,
                                              0);
                else if (it->def == NULL)
                        st = bare_table(run, it);
                else
                        st = it->def->fn(run, it);
                if (st == CHK_PENDING)
                        return;
                run->item = NULL;
                if (st != CHK_NESTED && !item_done(run, st))
                        return;
        }
}

void smtpd_check_resume(struct smtpd_check_run *run,
                        enum smtpd_check_status status)
{
        run->item = NULL;
        run->step = NULL;
        if (status == CHK_NESTED || item_done(run, status))
                run_on(run);
}

void smtpd_check_start(struct smtpd_session *s, enum smtpd_stage first,
                       enum smtpd_stage last, smtpd_check_done_fn *done)
{
        struct smtpd_check_run *run = xcalloc(1, sizeof(*run));
        struct smtpd_check_sess *sess = smtpd_check_sess(s);

        run->s = s;
        run->c = s->srv->checks;
        run->stage = first;
        run->last = last;
        run->done = done;
        if (last == SMTPD_STAGE_RELAY || last == SMTPD_STAGE_RECIPIENT) {
                run->rcpt = s->pending.addr;
                sess->rcpt_listed = 0;
        } else if (last >= SMTPD_STAGE_DATA && s->rcpt_count == 1) {
                run->rcpt = s->rcpts[0].addr;
        }
        if (first == SMTPD_STAGE_SENDER)
                sess->sender_listed = 0;
        if (first > SMTPD_STAGE_CLIENT && first < SMTPD_STAGE_DATA)
                run->dip = sess->dip_saved;
        s->check = run;
        if (run->rcpt != NULL && last <= SMTPD_STAGE_RECIPIENT &&
            strcasecmp(run->rcpt, "postmaster") == 0) {
                /* RFC 5321 4.5.1: always taken, before any restriction */
                finish(run, SMTPD_PASSED);
                return;
        }
        (void)stage_push(run);  /* nothing to check: run_on goes on */
        run_on(run);
}

void smtpd_check_cancel(struct smtpd_check_run **runp)
{
        struct smtpd_check_run *run;

        if (runp == NULL || *runp == NULL)
                return;
        run = *runp;
        authc_cancel(&run->authc);
        dns_cancel(&run->dns);
        smtpd_policy_cancel(&run->policy);
        loop_timer_free(&run->timer);
        free(run->step);
        while (run->depth > 0)
                pop(run);
        free(run);
        *runp = NULL;
}

int smtpd_check_empty(const struct smtpd_checks *c, enum smtpd_stage stage)
{
        return c->lists[stage].count == 0;
}
