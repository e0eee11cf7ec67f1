/* smtpd_check.c - restriction lists: a table of names, an evaluator
 * Used by: smtpd. Each restriction is a row {name, handler, arguments};
 * a list item is a row and its arguments; a run walks the lists of a
 * range of stages. A handler answers DUNNO (next item), PERMIT (this list
 * is done), REJECT (with a reply) or PENDING (it asked someone; its
 * callback calls resume()). Replies follow Postfix's texts and the reply
 * code parameters (reject_code, defer_code, relay_domains_reject_code). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authc.h"
#include "cfg.h"
#include "domain_list.h"
#include "inet_list.h"
#include "log.h"
#include "mem.h"
#include "smtpd.h"
#include "smtpd_check.h"

enum verdict { R_DUNNO, R_PERMIT, R_REJECT, R_PENDING };

struct item;
typedef enum verdict restriction_fn(struct smtpd_check_run *run,
                                    const struct item *it);

struct restriction {
        const char *name;
        restriction_fn *fn;
        int nargs;              /* list items that follow as arguments */
};

struct item {
        const struct restriction *r;
        char **args;
};

struct list {
        struct item *items;
        size_t count;
};

struct smtpd_checks {
        struct list lists[SMTPD_STAGE_COUNT];
        long long reject_code, defer_code, relay_code;
};

struct smtpd_check_run {
        struct smtpd_session *s;
        enum smtpd_stage stage, last;
        size_t pos;
        smtpd_check_done_fn *done;
        struct authc_req *req;
        char reply[SMTPD_REPLY_MAX];
};

static const char *const params[SMTPD_STAGE_COUNT] = {
        "smtpd_client_restrictions",
        "smtpd_helo_restrictions",
        "smtpd_sender_restrictions",
        "smtpd_relay_restrictions",
        "smtpd_recipient_restrictions",
        "smtpd_data_restrictions",
};

static void run_on(struct smtpd_check_run *run);
static void finish(struct smtpd_check_run *run, int verdict);

/* target - what a stage's reply names: <client>, <helo>, <sender>... */
static const char *target(const struct smtpd_check_run *run, const char **what)
{
        const struct smtpd_session *s = run->s;

        switch (run->stage) {
        case SMTPD_STAGE_CLIENT:
                *what = "Client host rejected";
                return s->client;
        case SMTPD_STAGE_HELO:
                *what = "Helo command rejected";
                return s->helo != NULL ? s->helo : "";
        case SMTPD_STAGE_SENDER:
                *what = "Sender address rejected";
                return s->sender != NULL ? s->sender : "";
        case SMTPD_STAGE_DATA:
                *what = "Data command rejected";
                return "DATA";
        default:
                *what = "Recipient address rejected";
                return s->pending.addr != NULL ? s->pending.addr : "";
        }
}

/* refuse - a reply "CODE DSN <target>: WHAT: TEXT" */
static enum verdict refuse(struct smtpd_check_run *run, long long code,
                           const char *dsn, const char *text)
{
        const char *what;
        const char *t = target(run, &what);

        snprintf(run->reply, sizeof(run->reply), "%lld %s <%s>: %s: %s",
                 code, dsn, t, what, text);
        return R_REJECT;
}

static enum verdict tempfail(struct smtpd_check_run *run)
{
        return refuse(run, 451, "4.3.0", "Temporary lookup failure");
}

/* --- the restrictions --- */

static enum verdict r_permit(struct smtpd_check_run *run,
                             const struct item *it)
{
        return R_PERMIT;
}

static enum verdict r_reject(struct smtpd_check_run *run,
                             const struct item *it)
{
        return refuse(run, run->s->srv->checks->reject_code, "5.7.1",
                      "Access denied");
}

static enum verdict r_defer(struct smtpd_check_run *run,
                            const struct item *it)
{
        return refuse(run, run->s->srv->checks->defer_code, "4.7.1",
                      "Access denied");
}

static enum verdict r_mynetworks(struct smtpd_check_run *run,
                                 const struct item *it)
{
        switch (run->s->in_mynetworks) {
        case 1:
                return R_PERMIT;
        case 0:
                return R_DUNNO;
        default:
                return tempfail(run);
        }
}

static enum verdict r_sasl(struct smtpd_check_run *run, const struct item *it)
{
        return run->s->sasl_user != NULL ? R_PERMIT : R_DUNNO;
}

static void pbs_done(const struct authc_reply *r, void *ctx)
{
        struct smtpd_check_run *run = ctx;
        enum verdict v;

        run->req = NULL;
        switch (r->result) {
        case AUTHC_OK:
                v = R_PERMIT;
                break;
        case AUTHC_NOTFOUND:
        case AUTHC_FAIL:
                v = R_DUNNO;
                break;
        default:
                /* authd down: never a permit */
                log_warn("%s: permit_pop_before_smtp: authd: %s",
                         run->s->client, r->reason);
                v = tempfail(run);
                break;
        }
        if (v == R_REJECT) {
                finish(run, SMTPD_REJECTED);
                return;
        }
        if (v == R_PERMIT) {
                run->stage++;
                run->pos = 0;
        } else {
                run->pos++;
        }
        run_on(run);
}

static enum verdict r_pbs(struct smtpd_check_run *run, const struct item *it)
{
        run->req = authc_pbs_check(run->s->srv->authc, run->s->addr,
                                   pbs_done, run);
        return R_PENDING;
}

/* unauth - reject/defer_unauth_destination with code */
static enum verdict unauth(struct smtpd_check_run *run, long long code,
                           const char *dsn)
{
        const char *rcpt = run->s->pending.addr;

        if (rcpt == NULL)
                return R_DUNNO;         /* no recipient at this stage */
        switch (smtpd_check_destination(run->s, rcpt)) {
        case 1:
                return R_DUNNO;
        case 0:
                snprintf(run->reply, sizeof(run->reply),
                         "%lld %s <%s>: Relay access denied", code, dsn, rcpt);
                return R_REJECT;
        default:
                return tempfail(run);
        }
}

static enum verdict r_reject_unauth(struct smtpd_check_run *run,
                                    const struct item *it)
{
        return unauth(run, run->s->srv->checks->relay_code, "5.7.1");
}

static enum verdict r_defer_unauth(struct smtpd_check_run *run,
                                   const struct item *it)
{
        /* Postfix's defer variant: the reject code as a 4xx */
        return unauth(run, 400 + run->s->srv->checks->relay_code % 100,
                      "4.7.1");
}

/* The table, sorted by name. */
static const struct restriction table[] = {
        { "defer", r_defer, 0 },
        { "defer_unauth_destination", r_defer_unauth, 0 },
        { "permit", r_permit, 0 },
        { "permit_mynetworks", r_mynetworks, 0 },
        { "permit_pop_before_smtp", r_pbs, 0 },
        { "permit_sasl_authenticated", r_sasl, 0 },
        { "reject", r_reject, 0 },
        { "reject_unauth_destination", r_reject_unauth, 0 },
};

static const struct restriction *find(const char *name)
{
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
                if (strcasecmp(table[i].name, name) == 0)
                        return &table[i];
        return NULL;
}

/* --- evaluation --- */

static void finish(struct smtpd_check_run *run, int verdict)
{
        struct smtpd_session *s = run->s;
        smtpd_check_done_fn *done = run->done;

        s->check = NULL;
        done(s, verdict, verdict == SMTPD_REJECTED ? run->reply : NULL);
        free(run);
}

/* run_on - go on from run->stage/pos until a verdict or a wait */
static void run_on(struct smtpd_check_run *run)
{
        struct smtpd_checks *c = run->s->srv->checks;

        while (run->stage <= run->last) {
                const struct list *l = &c->lists[run->stage];

                if (run->pos >= l->count) {
                        run->stage++;
                        run->pos = 0;
                        continue;
                }
                const struct item *it = &l->items[run->pos];
                switch (it->r->fn(run, it)) {
                case R_DUNNO:
                        run->pos++;
                        break;
                case R_PERMIT:
                        run->stage++;
                        run->pos = 0;
                        break;
                case R_REJECT:
                        finish(run, SMTPD_REJECTED);
                        return;
                case R_PENDING:
                        return;
                }
        }
        finish(run, SMTPD_PASSED);
}

void smtpd_check_start(struct smtpd_session *s, enum smtpd_stage first,
                       enum smtpd_stage last, smtpd_check_done_fn *done)
{
        struct smtpd_check_run *run = xcalloc(1, sizeof(*run));

        run->s = s;
        run->stage = first;
        run->last = last;
        run->done = done;
        s->check = run;
        run_on(run);
}

void smtpd_check_cancel(struct smtpd_check_run **runp)
{
        if (runp == NULL || *runp == NULL)
                return;
        authc_cancel(&(*runp)->req);
        free(*runp);
        *runp = NULL;
}

int smtpd_check_empty(const struct smtpd_checks *c, enum smtpd_stage stage)
{
        return c->lists[stage].count == 0;
}

int smtpd_check_destination(const struct smtpd_session *s, const char *addr)
{
        const struct smtpd_server *srv = s->srv;
        const char *at = strrchr(addr, '@');
        struct domain_list *lists[] = {
                srv->mydestination, srv->virtual_alias_domains,
                srv->virtual_mailbox_domains, srv->relay_domains,
        };
        char domain[512];
        size_t n;
        int unsure = 0;

        if (at == NULL || at[1] == '\0')
                return 1;       /* a bare name is ours */
        n = strlen(at + 1);
        if (n >= sizeof(domain))
                return 0;
        memcpy(domain, at + 1, n + 1);
        if (n > 1 && domain[n - 1] == '.')
                domain[--n] = '\0';
        if (domain[0] == '[') {
                char ours[80];

                snprintf(ours, sizeof(ours), "[%s]", s->laddr);
                if (strcasecmp(domain, ours) == 0)
                        return 1;
        }
        for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
                if (lists[i] == NULL)
                        continue;
                switch (domain_list_match(lists[i], domain)) {
                case 1:
                        return 1;
                case -1:
                        unsure = 1;
                        break;
                }
        }
        return unsure ? -1 : 0;
}

/* --- loading --- */

static int load_list(struct smtpd_server *srv, enum smtpd_stage stage,
                     struct list *l, struct status *st)
{
        size_t count = 0;
        char **words = cfg_get_list(srv->cfg, params[stage], &count);
        int ret = 0;

        l->items = xcalloc(count + 1, sizeof(*l->items));
        for (size_t i = 0; i < count; i++) {
                const struct restriction *r = find(words[i]);
                struct item *it = &l->items[l->count];

                if (r == NULL) {
                        ret = status_set(st, STATUS_CONFIG,
                                         "%s: restriction \"%s\" is not "
                                         "supported", params[stage], words[i]);
                        break;
                }
                if ((size_t)r->nargs > count - i - 1) {
                        ret = status_set(st, STATUS_CONFIG,
                                         "%s: restriction \"%s\" needs an "
                                         "argument", params[stage], words[i]);
                        break;
                }
                it->r = r;
                it->args = xcalloc((size_t)r->nargs + 1, sizeof(char *));
                for (int a = 0; a < r->nargs; a++)
                        it->args[a] = xstrdup(words[++i]);
                l->count++;
        }
        cfg_list_free(&words);
        return ret;
}

/* closes_relay - does l hold an item that can refuse a foreign recipient */
static int closes_relay(const struct list *l)
{
        for (size_t i = 0; i < l->count; i++) {
                const char *n = l->items[i].r->name;

                if (strcmp(n, "reject") == 0 || strcmp(n, "defer") == 0 ||
                    strcmp(n, "reject_unauth_destination") == 0 ||
                    strcmp(n, "defer_unauth_destination") == 0)
                        return 1;
        }
        return 0;
}

int smtpd_checks_load(struct smtpd_server *srv, struct smtpd_checks **c_r,
                      struct status *st)
{
        struct smtpd_checks *c = xcalloc(1, sizeof(*c));

        *c_r = NULL;
        c->reject_code = cfg_get_int(srv->cfg, "reject_code");
        c->defer_code = cfg_get_int(srv->cfg, "defer_code");
        c->relay_code = cfg_get_int(srv->cfg, "relay_domains_reject_code");
        for (int i = 0; i < SMTPD_STAGE_COUNT; i++) {
                if (load_list(srv, i, &c->lists[i], st) < 0) {
                        smtpd_checks_free(&c);
                        return -1;
                }
        }
        if (!closes_relay(&c->lists[SMTPD_STAGE_RELAY]) &&
            !closes_relay(&c->lists[SMTPD_STAGE_RECIPIENT])) {
                smtpd_checks_free(&c);
                return status_set(st, STATUS_CONFIG,
                                  "smtpd_relay_restrictions, "
                                  "smtpd_recipient_restrictions: specify at "
                                  "least one of reject_unauth_destination, "
                                  "defer_unauth_destination, reject or defer, "
                                  "or this server is an open relay");
        }
        *c_r = c;
        return 0;
}

void smtpd_checks_free(struct smtpd_checks **cp)
{
        struct smtpd_checks *c;

        if (cp == NULL || *cp == NULL)
                return;
        c = *cp;
        for (int i = 0; i < SMTPD_STAGE_COUNT; i++) {
                for (size_t j = 0; j < c->lists[i].count; j++) {
                        for (char **a = c->lists[i].items[j].args; *a; a++)
                                free(*a);
                        free(c->lists[i].items[j].args);
                }
                free(c->lists[i].items);
        }
        free(c);
        *cp = NULL;
}
