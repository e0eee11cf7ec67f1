/* smtpd_check_access.c - access tables: look-up order and their answers
 * Used by: smtpd_check.c's evaluator (check_client_access,
 * check_reverse_client_hostname_access, check_helo_access,
 * check_sender_access, check_recipient_access, check_sasl_access and a
 * bare type:name), smtpd_check_policy.c (a policy service's action=).
 * The keys are tried as Postfix's access(5) says: a host name and its
 * parent domains (".example.com" or, with smtpd_access_maps in
 * parent_domain_matches_subdomains, "example.com"), then the address and
 * its network prefixes (1.2.3.4, 1.2.3, 1.2, 1); a mail address as
 * user+ext@domain, user@domain, the domain and its parents, user+ext@,
 * user@. regexp:, pcre: and cidr: tables get the full key only. An
 * answer is OK, REJECT [text], DEFER [text], DUNNO, 4NN/5NN text, WARN,
 * HOLD, DISCARD, REDIRECT, PREPEND, DEFER_IF_PERMIT, DEFER_IF_REJECT, or
 * restrictions/classes run in place. A table that cannot answer, and
 * FILTER (there are no content filters), is a 451 4.3.5. Also the
 * per-session state the restrictions keep: transaction actions, pipelining. Reads table
 * contents an administrator wrote, keyed by client input. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "dns.h"
#include "log.h"
#include "map.h"
#include "mem.h"
#include "smtpd_check_int.h"
#include "smtpd_log.h"

#define FRAME(run) smtpd_check_frame(run)

/* --- session state --- */

struct smtpd_check_sess *smtpd_check_sess(struct smtpd_session *s)
{
        if (s->chk == NULL)
                s->chk = xcalloc(1, sizeof(*s->chk));
        return s->chk;
}

const struct smtpd_check_actions *
smtpd_check_actions(const struct smtpd_session *s)
{
        static const struct smtpd_check_actions none;
        struct smtpd_check_sess *c = s->chk;

        if (c == NULL)
                return &none;
        c->view.hold = c->hold;
        c->view.redirect = c->redirect;
        c->view.discard = c->discard;
        c->view.prepend = c->prepend;
        c->view.prepend_count = c->prepend_count;
        return &c->view;
}

void smtpd_check_hold(struct smtpd_session *s, const char *why)
{
        struct smtpd_check_sess *c = smtpd_check_sess(s);

        if (c->hold == NULL)
                c->hold = xstrdup(why);
}

void smtpd_check_discard(struct smtpd_session *s)
{
        smtpd_check_sess(s)->discard = 1;
}

void smtpd_check_reset(struct smtpd_session *s)
{
        struct smtpd_check_sess *c = s->chk;

        if (c == NULL)
                return;
        xfree(&c->hold);
        xfree(&c->redirect);
        for (size_t i = 0; i < c->prepend_count; i++)
                free(c->prepend[i]);
        xfree(&c->prepend);
        c->prepend_count = 0;
        c->discard = 0;
        c->sender_listed = 0;
        c->txn++;
}

void smtpd_check_session_free(struct smtpd_session *s)
{
        if (s->chk == NULL)
                return;
        dns_cancel(&s->chk->peer);
        smtpd_check_reset(s);
        xfree(&s->chk);
}

void smtpd_check_pipelining(struct smtpd_session *s, const char *verb,
                            const char *next, size_t next_len)
{
        /* commands after which a client must wait for the reply (RFC 2920
         * 3.1), the greeting, and anything before the client knows we
         * pipeline (STARTTLS has its own rule: smtpd_starttls()) */
        static const char *const last[] = {
                "CONNECT", "HELO", "EHLO", "DATA", "NOOP", "VRFY",
        };
        char text[128];
        int found = !s->esmtp;

        for (size_t i = 0; i < sizeof(last) / sizeof(last[0]) && !found; i++)
                found = strcasecmp(verb, last[i]) == 0;
        if (!found || s->ill_pipelining)
                return;
        s->ill_pipelining = 1;
        if (next_len > 100)
                next_len = 100;
        snprintf(text, sizeof(text), "%.*s", (int)next_len,
                 next != NULL ? next : "");
        smtpd_log_ill_pipelining(s, verb, text);
}

/* --- what an answer means --- */

/* dsn_split - an optional "D.D.D " at the start of text */
static const char *dsn_split(const char *text, const char *def, char *dsn,
                             size_t size)
{
        size_t n = strspn(text, "0123456789.");

        snprintf(dsn, size, "%s", def);
        if (n >= 5 && n < size && (text[0] == '2' || text[0] == '4' ||
                                   text[0] == '5') && text[1] == '.' &&
            (text[n] == ' ' || text[n] == '\t' || text[n] == '\0')) {
                snprintf(dsn, size, "%.*s", (int)n, text);
                text += n;
                text += strspn(text, " \t");
        }
        return text;
}

/* delegable - HOLD & co. need a transaction (smtpd_delay_reject = no
 * runs client and helo restrictions outside one) */
static int delegable(struct smtpd_check_run *run, const char *table,
                     const char *action)
{
        if (run->s->mail_given)
                return 1;
        log_warn("access table %s: with smtpd_delay_reject=no, action %s is "
                 "always skipped in Client host or Helo command "
                 "restrictions", table, action);
        return 0;
}

static int is_header(const char *text)
{
        size_t n = 0;

        while (text[n] != '\0' && text[n] != ':' &&
               (unsigned char)text[n] > ' ' && (unsigned char)text[n] < 127)
                n++;
        return n > 0 && text[n] == ':';
}

/* action - the actions kept for the transaction; -1 when cmd is none */
static int action(struct smtpd_check_run *run, const char *table,
                  const char *cmd, const char *text, const char *datum,
                  const char *name, const char *class,
                  enum smtpd_check_status *st_r)
{
        struct smtpd_check_sess *c = smtpd_check_sess(run->s);

        *st_r = CHK_DUNNO;
        if (strcasecmp(cmd, "WARN") == 0) {
                smtpd_check_log(run, "warn", "%s", text);
        } else if (strcasecmp(cmd, "INFO") == 0) {
                smtpd_check_log(run, "info", "%s", text);
        } else if (strcasecmp(cmd, "HOLD") == 0) {
                if (!delegable(run, table, cmd) || c->hold != NULL)
                        return 0;
                c->hold = xasprintf("<%s>: %s %s", name, class,
                                    *text ? text : "triggers HOLD action");
                smtpd_check_log(run, "hold", "%s", c->hold);
        } else if (strcasecmp(cmd, "DISCARD") == 0) {
                if (!delegable(run, table, cmd))
                        return 0;
                smtpd_check_log(run, "discard", "<%s>: %s %s", name, class,
                                *text ? text : "triggers DISCARD action");
                c->discard = 1;
                *st_r = smtpd_check_permit(run, cmd, class, name);
        } else if (strcasecmp(cmd, "REDIRECT") == 0) {
                if (!delegable(run, table, cmd))
                        return 0;
                if (strchr(text, '@') == NULL) {
                        log_warn("access table %s entry \"%s\" requires "
                                 "user@domain target", table, datum);
                        return 0;
                }
                smtpd_check_log(run, "redirect", "<%s>: %s triggers "
                                "REDIRECT %s", name, class, text);
                free(c->redirect);
                c->redirect = xstrdup(text);
        } else if (strcasecmp(cmd, "FILTER") == 0) {
                /* mail that should pass a content filter is never
                 * delivered around it: the client retries later */
                log_warn("access table %s: action FILTER is not supported; "
                         "entry \"%s\"", table, datum);
                *st_r = smtpd_check_server_error(run);
        } else if (strcasecmp(cmd, "PREPEND") == 0) {
                if (!delegable(run, table, cmd))
                        return 0;
                if (run->last == SMTPD_STAGE_EOD) {
                        log_warn("access table %s: action PREPEND must be "
                                 "used before smtpd_end_of_data_restrictions",
                                 table);
                        return 0;
                }
                if (!is_header(text)) {
                        log_warn("access table %s entry \"%s\" requires "
                                 "header: text", table, datum);
                        return 0;
                }
                c->prepend = xrealloc(c->prepend, (c->prepend_count + 1) *
                                      sizeof(char *));
                c->prepend[c->prepend_count++] = xstrdup(text);
        } else if (strcasecmp(cmd, "BCC") == 0) {
                log_warn("access table %s: action BCC is not supported; "
                         "entry \"%s\" ignored", table, datum);
        } else {
                return -1;
        }
        return 0;
}

enum smtpd_check_status smtpd_check_table_result(struct smtpd_check_run *run,
        const char *table, const char *value, const char *datum,
        const char *name, const char *class, int suspicious)
{
        struct smtpd_check_list *l;
        enum smtpd_check_status st;
        struct status err;
        size_t n = strcspn(value, " \t");
        char cmd[32], dsn[16];
        const char *text = value + n;

        text += strspn(text, " \t");
        snprintf(cmd, sizeof(cmd), "%.*s", (int)(n < 31 ? n : 31), value);
        if (strcasecmp(cmd, "DUNNO") == 0)
                return CHK_DUNNO;
        if (strcasecmp(cmd, "REJECT") == 0 || strcasecmp(cmd, "DEFER") == 0) {
                int reject = toupper((unsigned char)cmd[0]) == 'R';

                text = dsn_split(text, reject ? "5.7.1" : "4.7.1", dsn,
                                 sizeof(dsn));
                return smtpd_check_reject(run, reject ?
                        run->c->map_reject_code : run->c->map_defer_code,
                        smtpd_check_dsn_fix(dsn, class),
                        "<%s>: %s rejected: %s", name, class,
                        *text ? text : "Access denied");
        }
        if (strcasecmp(cmd, "DEFER_IF_PERMIT") == 0 ||
            strcasecmp(cmd, "DEFER_IF_REJECT") == 0) {
                text = dsn_split(text, "4.7.1", dsn, sizeof(dsn));
                if (toupper((unsigned char)cmd[9]) == 'P')
                        return smtpd_check_defer_if_permit(run, 1,
                                run->c->map_defer_code,
                                smtpd_check_dsn_fix(dsn, class),
                                "<%s>: %s rejected: %s", name, class,
                                *text ? text : "Service unavailable");
                return smtpd_check_defer_if(run, &run->dir,
                                            run->c->map_defer_code,
                                            smtpd_check_dsn_fix(dsn, class),
                                            "<%s>: %s rejected: %s", name,
                                            class, *text ? text :
                                            "Service unavailable");
        }
        if (action(run, table, cmd, text, datum, name, class, &st) == 0)
                return st;
        if (strspn(value, "0123456789") == strlen(value) || /* a time stamp */
            strcasecmp(cmd, "OK") == 0 || strcasecmp(cmd, "RELAY") == 0)
                return smtpd_check_permit(run, cmd, class, name);
        if (n == 3 && *text != '\0' && (value[0] == '4' || value[0] == '5') &&
            isdigit((unsigned char)value[1]) &&
            isdigit((unsigned char)value[2])) {
                char def[] = "X.7.1";

                def[0] = value[0];
                text = dsn_split(text, def, dsn, sizeof(dsn));
                return smtpd_check_reject(run, atoi(value),
                                          smtpd_check_dsn_fix(dsn, class),
                                          "<%s>: %s rejected: %s", name,
                                          class, text);
        }
        /* restrictions (or classes) to run in place */
        l = xcalloc(1, sizeof(*l));
        if (smtpd_check_parse(run->c, value, table, NULL, 1, l, &err) < 0) {
                log_warn("access table %s entry \"%s\": %s", table, datum,
                         err.text);
                smtpd_check_list_free(l);
                free(l);
                return smtpd_check_server_error(run);
        }
        if (l->count == 0) {
                log_warn("access table %s entry %s has empty value", table,
                         datum);
                smtpd_check_list_free(l);
                free(l);
                return CHK_OK;
        }
        return smtpd_check_push(run, l, l, name, class, suspicious);
}

/* --- look-ups --- */

/* access - one key; *found when the table has it (or failed) */
static enum smtpd_check_status access(struct smtpd_check_run *run,
                                      const struct smtpd_check_item *it,
                                      const char *key, int partial,
                                      int *found, const char *name,
                                      const char *class, int suspicious)
{
        const char *value;
        struct status st;
        int r;

        *found = 0;
        if (partial && it->pattern)
                return CHK_DUNNO;
        r = maps_lookup(it->table, key, &value, &st);
        if (r == 0)
                return CHK_DUNNO;
        *found = 1;
        if (r < 0) {
                log_warn("%s: table lookup problem: %s", it->arg, st.text);
                value = "451 4.3.5 Server configuration error";
        }
        return smtpd_check_table_result(run, it->arg, value, key, name,
                                        class, suspicious);
}

static int numeric(const char *text)
{
        unsigned char a[16];

        return inet_pton(AF_INET, text, a) == 1 ||
               inet_pton(AF_INET6, text, a) == 1;
}

/* domain_access - the name and its parent domains */
static enum smtpd_check_status domain_access(struct smtpd_check_run *run,
        const struct smtpd_check_item *it, const char *domain, int partial,
        int *found, const char *name, const char *class, int suspicious)
{
        enum smtpd_check_status st = CHK_DUNNO;
        const char *key = domain, *next;
        int numerical = numeric(domain);

        *found = 0;
        while (*key != '\0') {
                st = access(run, it, key, partial, found, name, class,
                            suspicious);
                if (*found)
                        return st;
                if (numerical || (next = strchr(key + 1, '.')) == NULL)
                        break;
                key = run->c->parent_match ? next + 1 : next;
                partial = 1;
        }
        return CHK_DUNNO;
}

/* addr_access - the address and its prefixes at '.' or ':' */
static enum smtpd_check_status addr_access(struct smtpd_check_run *run,
        const struct smtpd_check_item *it, const char *addr, int *found,
        const char *name, const char *class)
{
        char key[80];
        int delim = strchr(addr, ':') != NULL ? ':' : '.', partial = 0;
        enum smtpd_check_status st;
        char *cut;

        snprintf(key, sizeof(key), "%s", addr);
        do {
                st = access(run, it, key, partial, found, name, class, 0);
                if (*found)
                        return st;
                partial = 1;
        } while ((cut = strrchr(key, delim)) != NULL && (*cut = '\0', 1));
        return CHK_DUNNO;
}

/* namadr_access - a host: its name, then its address */
static enum smtpd_check_status namadr_access(struct smtpd_check_run *run,
        const struct smtpd_check_item *it, const char *host,
        const char *name, const char *class)
{
        enum smtpd_check_status st;
        int found;

        st = domain_access(run, it, host, 0, &found, name, class, 0);
        if (found)
                return st;
        return addr_access(run, it, run->s->addr, &found, name, class);
}

enum smtpd_check_status smtpd_check_client_access(struct smtpd_check_run *run,
        const struct smtpd_check_item *it)
{
        return namadr_access(run, it, run->s->name != NULL ? run->s->name :
                             "unknown", run->s->client, CHK_CLIENT);
}

enum smtpd_check_status smtpd_check_reverse_access(
        struct smtpd_check_run *run, const struct smtpd_check_item *it)
{
        const char *rev = run->s->reverse_name != NULL ?
                          run->s->reverse_name : "unknown";
        enum smtpd_check_status st;

        st = namadr_access(run, it, rev, rev, CHK_REV_CLIENT);
        if (st != CHK_OK)
                return st;
        /* an unverified name must not whitelist */
        log_warn("restriction %s returns OK for %s", it->word,
                 run->s->reverse_name);
        log_warn("this is not allowed for security reasons");
        log_warn("use DUNNO instead of OK if you want to make an exception");
        return smtpd_check_server_error(run);
}

enum smtpd_check_status smtpd_check_helo_access(struct smtpd_check_run *run,
        const struct smtpd_check_item *it)
{
        int found;

        if (run->s->helo == NULL)
                return CHK_DUNNO;
        return domain_access(run, it, run->s->helo, 0, &found, run->s->helo,
                             CHK_HELO, 0);
}

/* mail_access - Postfix's check_mail_access() */
static enum smtpd_check_status mail_access(struct smtpd_check_run *run,
        const struct smtpd_check_item *it, const char *addr,
        const char *class)
{
        const char *delim = run->s->srv->recipient_delimiter;
        enum smtpd_check_status st = CHK_DUNNO;
        char *resolved, *bare, *local_at = NULL, *bare_at = NULL;
        int flags = smtpd_route_resolve(run->c->route, addr, &resolved);
        int found = 0, suspicious;
        const char *at;

        if (flags & ROUTE_FAIL) {
                free(resolved);
                return smtpd_check_tempfail(run, addr);
        }
        suspicious = !run->c->allow_untrusted_routing &&
                     (flags & ROUTE_ROUTED) &&
                     strcmp(class, CHK_RECIPIENT) == 0;
        at = strrchr(resolved, '@');
        bare = addr_strip_extension(resolved, delim);
        if (strcmp(bare, resolved) == 0)
                xfree(&bare);
        local_at = xstrndup(resolved, (size_t)(at - resolved) + 1);
        if (bare != NULL)
                bare_at = xstrndup(bare, (size_t)(strrchr(bare, '@') -
                                                  bare) + 1);
        st = access(run, it, resolved, 0, &found, addr, class, suspicious);
        if (!found && bare != NULL)
                st = access(run, it, bare, 1, &found, addr, class,
                            suspicious);
        if (!found)
                st = domain_access(run, it, at + 1, 1, &found, addr, class,
                                   suspicious);
        if (!found)
                st = access(run, it, local_at, 1, &found, addr, class,
                            suspicious);
        if (!found && bare_at != NULL)
                st = access(run, it, bare_at, 1, &found, addr, class,
                            suspicious);
        free(resolved);
        free(bare);
        free(local_at);
        free(bare_at);
        if (st == CHK_OK && suspicious)
                return CHK_DUNNO;
        return found ? st : CHK_DUNNO;
}

enum smtpd_check_status smtpd_check_sender_access(struct smtpd_check_run *run,
        const struct smtpd_check_item *it)
{
        const char *sender = run->s->sender;
        int found;

        if (!run->s->mail_given || sender == NULL)
                return CHK_DUNNO;
        if (*sender == '\0')
                return access(run, it, run->c->null_key, 0, &found, sender,
                              CHK_SENDER, 0);
        return mail_access(run, it, sender, CHK_SENDER);
}

enum smtpd_check_status smtpd_check_rcpt_access(struct smtpd_check_run *run,
        const struct smtpd_check_item *it)
{
        if (run->rcpt == NULL)
                return CHK_DUNNO;
        return mail_access(run, it, run->rcpt, CHK_RECIPIENT);
}

enum smtpd_check_status smtpd_check_sasl_access(struct smtpd_check_run *run,
        const struct smtpd_check_item *it)
{
        int found;

        if (!run->c->sasl_enable) {
                log_warn("restriction `%s' ignored: no SASL support",
                         it->word);
                return CHK_DUNNO;
        }
        if (run->s->sasl_user == NULL || *run->s->sasl_user == '\0')
                return CHK_DUNNO;
        return access(run, it, run->s->sasl_user, 0, &found,
                      run->s->sasl_user, CHK_SASL, 0);
}
