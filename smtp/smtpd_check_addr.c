/* smtpd_check_addr.c - relay control and the address and HELO syntax
 * restrictions
 * Used by: smtpd_check.c's evaluator. permit_auth_destination,
 * reject_unauth_destination and defer_unauth_destination decide on the
 * address as smtpd_check_route.c resolves it (a source-routed address is
 * never an authorized destination unless allow_untrusted_routing);
 * reject_invalid_helo_hostname, reject_non_fqdn_* check syntax as
 * Postfix's valid_hostname(); reject_unlisted_sender/recipient ask the
 * shared resolver (and authd for virtual mailbox domains);
 * reject_*sender_login_mismatch compare smtpd_sender_login_maps with the
 * SASL login. Replies and codes are Postfix's. Parses client input. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "authc.h"
#include "domain_list.h"
#include "log.h"
#include "map.h"
#include "mem.h"
#include "resolve.h"
#include "smtpd_check_int.h"

#define FRAME(run) smtpd_check_frame(run)

/* --- relay control --- */

/* auth_dest - Postfix's permit_auth_destination() for rcpt */
static enum smtpd_check_status auth_dest(struct smtpd_check_run *run,
                                         const char *rcpt)
{
        char *resolved;
        int flags = smtpd_route_resolve(run->c->route, rcpt, &resolved);

        free(resolved);
        if (flags & ROUTE_FAIL)
                return smtpd_check_tempfail(run, rcpt);
        if (!run->c->allow_untrusted_routing && (flags & ROUTE_ROUTED))
                return CHK_DUNNO;
        if (flags & (ROUTE_FINAL | ROUTE_RELAY))
                return CHK_OK;
        return CHK_DUNNO;
}

int smtpd_check_destination(const struct smtpd_session *s, const char *addr)
{
        const struct smtpd_checks *c = s->srv->checks;
        char *resolved;
        int flags = smtpd_route_resolve(c->route, addr, &resolved);

        free(resolved);
        if (flags & ROUTE_FAIL)
                return -1;
        if (!c->allow_untrusted_routing && (flags & ROUTE_ROUTED))
                return 0;
        return (flags & (ROUTE_FINAL | ROUTE_RELAY)) ? 1 : 0;
}

char *smtpd_check_resolved(const struct smtpd_session *s, const char *addr)
{
        const struct smtpd_route *r = s->srv->checks->route;
        char *resolved, *at, *local;
        int flags;

        if (strcasecmp(addr, "postmaster") == 0)
                return xstrdup(addr);
        flags = smtpd_route_resolve(r, addr, &resolved);
        at = strrchr(resolved, '@');
        /* user@[our address] is a local user: name the domain the queue
         * manager knows as local */
        if ((flags & ROUTE_LOCAL) && at != NULL && at[1] == '[' &&
            (local = smtpd_route_local_name(r)) != NULL) {
                char *named = xasprintf("%.*s@%s", (int)(at - resolved),
                                        resolved, local);

                free(resolved);
                resolved = named;
        }
        return resolved;
}

int smtpd_check_addr_ok(const struct smtpd_session *s, const char *addr)
{
        char *resolved;
        int flags;

        if (*addr == '\0' || strcasecmp(addr, "postmaster") == 0)
                return 1;
        flags = smtpd_route_resolve(s->srv->checks->route, addr, &resolved);
        free(resolved);
        return (flags & ROUTE_ERROR) ? 0 : 1;
}

enum smtpd_check_status smtpd_check_permit_auth_dest(
        struct smtpd_check_run *run, const struct smtpd_check_item *it)
{
        enum smtpd_check_status st;

        if (run->rcpt == NULL)
                return CHK_DUNNO;
        st = auth_dest(run, run->rcpt);
        if (st != CHK_OK)
                return st;
        return smtpd_check_permit(run, it->word, CHK_RECIPIENT, run->rcpt);
}

static enum smtpd_check_status unauth_dest(struct smtpd_check_run *run,
                                           long long code, const char *dsn)
{
        enum smtpd_check_status st;

        if (run->rcpt == NULL)
                return CHK_DUNNO;
        st = auth_dest(run, run->rcpt);
        if (st == CHK_OK)
                return CHK_DUNNO;
        if (st == CHK_REJECT)
                return st;
        return smtpd_check_reject(run, code, dsn, "<%s>: Relay access denied",
                                  run->rcpt);
}

enum smtpd_check_status smtpd_check_reject_unauth_dest(
        struct smtpd_check_run *run, const struct smtpd_check_item *it)
{
        return unauth_dest(run, run->c->relay_code, "5.7.1");
}

enum smtpd_check_status smtpd_check_defer_unauth_dest(
        struct smtpd_check_run *run, const struct smtpd_check_item *it)
{
        return unauth_dest(run, run->c->relay_code - 100, "4.7.1");
}

/* --- syntax --- */

/* valid_hostname - Postfix's: labels of letters, digits, '-' and '_',
 * not starting or ending with '-', at most 63 bytes each, 255 in all,
 * and not all-numeric */
static int valid_hostname(const char *name)
{
        size_t len = strlen(name), label = 0;
        int alpha = 0;

        if (len == 0 || len > 255)
                return 0;
        for (size_t i = 0; i <= len; i++) {
                unsigned char c = (unsigned char)name[i];

                if (c == '.' || c == '\0') {
                        if (label == 0 || name[i - 1] == '-')
                                return 0;
                        label = 0;
                        continue;
                }
                if (!isalnum(c) && c != '-' && c != '_')
                        return 0;
                if (label == 0 && c == '-')
                        return 0;
                if (++label > 63)
                        return 0;
                if (!isdigit(c))
                        alpha = 1;
        }
        return alpha;
}

static int valid_hostaddr(const char *text)
{
        unsigned char a[16];

        return inet_pton(AF_INET, text, a) == 1 ||
               inet_pton(AF_INET6, text, a) == 1;
}

/* valid_literal - the inside of [...]: IPv4, or "IPv6:" and IPv6 */
static int valid_literal(const char *text)
{
        unsigned char a[16];

        if (strncasecmp(text, "IPv6:", 5) == 0)
                return inet_pton(AF_INET6, text + 5, a) == 1;
        return inet_pton(AF_INET, text, a) == 1;
}

/* truncated - name without one trailing dot (but not dot-dot); new */
static char *truncated(const char *name)
{
        size_t n = strlen(name);

        if (n > 1 && name[n - 1] == '.' && name[n - 2] != '.')
                n--;
        return xstrndup(name, n);
}

enum smtpd_check_status smtpd_check_invalid_literal(
        struct smtpd_check_run *run, const char *helo)
{
        size_t n = strlen(helo);
        char *inside = n > 2 && helo[n - 1] == ']' ?
                       xstrndup(helo + 1, n - 2) : xstrdup(helo);
        int ok = valid_literal(inside);

        free(inside);
        if (ok)
                return CHK_DUNNO;
        return smtpd_check_reject(run, run->c->bad_name_code, "5.5.2",
                                  "<%s>: %s rejected: invalid ip address",
                                  helo, CHK_HELO);
}

enum smtpd_check_status smtpd_check_invalid_helo(struct smtpd_check_run *run,
        const struct smtpd_check_item *it)
{
        const char *helo = run->s->helo;
        char *name;
        int ok;

        if (helo == NULL)
                return CHK_DUNNO;
        if (*helo == '[')
                return smtpd_check_invalid_literal(run, helo);
        name = truncated(helo);
        ok = valid_hostname(name) || valid_hostaddr(name);
        free(name);
        if (ok)
                return CHK_DUNNO;
        return smtpd_check_reject(run, run->c->bad_name_code, "5.5.2",
                                  "<%s>: %s rejected: Invalid name", helo,
                                  CHK_HELO);
}

enum smtpd_check_status smtpd_check_non_fqdn_helo(struct smtpd_check_run *run,
        const struct smtpd_check_item *it)
{
        const char *helo = run->s->helo;
        char *name;
        int ok;

        if (helo == NULL)
                return CHK_DUNNO;
        if (*helo == '[')
                return smtpd_check_invalid_literal(run, helo);
        name = truncated(helo);
        ok = valid_hostname(name) && strchr(name, '.') != NULL;
        free(name);
        if (ok)
                return CHK_DUNNO;
        return smtpd_check_reject(run, run->c->non_fqdn_code, "5.5.2",
                                  "<%s>: %s rejected: need fully-qualified "
                                  "hostname", helo, CHK_HELO);
}

static enum smtpd_check_status non_fqdn(struct smtpd_check_run *run,
                                        const char *addr, const char *class)
{
        const char *at = strrchr(addr, '@');
        const char *domain = at != NULL ? at + 1 : "";
        size_t n = strlen(domain);
        char *name;
        int ok;

        if (n > 1 && domain[0] == '[' && domain[n - 1] == ']')
                return CHK_DUNNO;
        name = truncated(domain);
        ok = *name != '\0' && valid_hostname(name) &&
             strchr(name, '.') != NULL;
        free(name);
        if (ok)
                return CHK_DUNNO;
        return smtpd_check_reject(run, run->c->non_fqdn_code, "4.5.2",
                                  "<%s>: %s rejected: need fully-qualified "
                                  "address", addr, class);
}

enum smtpd_check_status smtpd_check_non_fqdn_sender(
        struct smtpd_check_run *run, const struct smtpd_check_item *it)
{
        const char *sender = run->s->sender;

        if (sender == NULL || *sender == '\0')
                return CHK_DUNNO;
        return non_fqdn(run, sender, CHK_SENDER);
}

enum smtpd_check_status smtpd_check_non_fqdn_rcpt(struct smtpd_check_run *run,
        const struct smtpd_check_item *it)
{
        if (run->rcpt == NULL)
                return CHK_DUNNO;
        return non_fqdn(run, run->rcpt, CHK_RECIPIENT);
}

/* --- unlisted senders and recipients --- */

struct unlisted {
        const char *addr;       /* borrowed from the session */
        const char *class;
        char domain[256];
};

/* unknown_user - "User unknown in ... table", named as Postfix names the
 * table of the address's domain */
static enum smtpd_check_status unknown_user(struct smtpd_check_run *run,
                                            const char *addr,
                                            const char *class,
                                            const char *domain)
{
        const struct smtpd_server *srv = run->s->srv;
        const struct smtpd_checks *c = run->c;
        const char *table = "local recipient";
        long long code = c->local_rcpt_code;

        if (*domain != '\0' && srv->virtual_mailbox_domains != NULL &&
            domain_list_match(srv->virtual_mailbox_domains, domain) == 1) {
                table = "virtual mailbox";
                code = c->virt_mailbox_code;
        } else if (*domain != '\0' && srv->virtual_alias_domains != NULL &&
                   domain_list_match(srv->virtual_alias_domains, domain) ==
                   1) {
                table = "virtual alias";
                code = c->virt_alias_code;
        }
        return smtpd_check_reject(run, code, smtpd_check_dsn_fix(
                strcmp(class, CHK_SENDER) == 0 ? "5.1.0" : "5.1.1", class),
                "<%s>: %s rejected: User unknown%s%s%s", addr, class,
                c->show_table ? " in " : "", c->show_table ? table : "",
                c->show_table ? " table" : "");
}

static void unlisted_done(const struct authc_reply *r, void *ctx)
{
        struct smtpd_check_run *run = ctx;
        struct unlisted *u = run->step;
        enum smtpd_check_status st;

        run->authc = NULL;
        switch (r->result) {
        case AUTHC_OK:
                st = CHK_DUNNO;
                break;
        case AUTHC_NOTFOUND:
        case AUTHC_FAIL:
                st = unknown_user(run, u->addr, u->class, u->domain);
                break;
        default:
                log_warn("%s: look-up of <%s>: %s", run->s->client, u->addr,
                         r->reason);
                st = smtpd_check_tempfail(run, u->addr);
                break;
        }
        free(u);
        smtpd_check_resume(run, st);
}

/* unlisted - Postfix's check_rcpt_maps() for addr */
static enum smtpd_check_status unlisted(struct smtpd_check_run *run,
                                        const char *addr, const char *class)
{
        struct smtpd_session *s = run->s;
        enum resolve_class rc = RESOLVE_TEMPFAIL;
        char *resolved = NULL, *lookup = NULL, *at;
        struct status st;
        int flags = smtpd_route_resolve(run->c->route, addr, &resolved);
        enum smtpd_check_status ret = CHK_DUNNO;

        at = strrchr(resolved, '@');
        if (flags & ROUTE_FAIL) {
                ret = smtpd_check_tempfail(run, addr);
        } else if (!(flags & ROUTE_FINAL)) {
                ret = CHK_DUNNO;        /* not ours to know */
        } else if (s->srv->resolve == NULL) {
                ret = smtpd_check_tempfail(run, addr);
        } else if (resolve_rcpt(s->srv->resolve, resolved, &rc, &lookup,
                                &st) < 0) {
                log_warn("%s: cannot resolve <%s>: %s", s->client, addr,
                         st.text);
                ret = smtpd_check_tempfail(run, addr);
        } else if (rc == RESOLVE_UNKNOWN) {
                ret = unknown_user(run, addr, class, at ? at + 1 : "");
        } else if (rc == RESOLVE_USERDB) {
                struct unlisted *u = xcalloc(1, sizeof(*u));

                u->addr = addr;
                u->class = class;
                snprintf(u->domain, sizeof(u->domain), "%s",
                         at ? at + 1 : "");
                run->step = u;
                run->authc = authc_lookup(s->srv->authc, lookup,
                                          unlisted_done, run);
                ret = CHK_PENDING;
        }
        free(lookup);
        free(resolved);
        return ret;
}

enum smtpd_check_status smtpd_check_unlisted_rcpt(struct smtpd_check_run *run,
        const struct smtpd_check_item *it)
{
        struct smtpd_check_sess *sess = smtpd_check_sess(run->s);

        if (run->rcpt == NULL || *run->rcpt == '\0' || sess->rcpt_listed)
                return CHK_DUNNO;
        if (run->warn == 0)
                sess->rcpt_listed = 1;
        return unlisted(run, run->rcpt, CHK_RECIPIENT);
}

enum smtpd_check_status smtpd_check_unlisted_sender(
        struct smtpd_check_run *run, const struct smtpd_check_item *it)
{
        struct smtpd_check_sess *sess = smtpd_check_sess(run->s);
        const char *sender = run->s->sender;

        if (sender == NULL || *sender == '\0' || sess->sender_listed)
                return CHK_DUNNO;
        if (run->warn == 0)
                sess->sender_listed = 1;
        return unlisted(run, sender, CHK_SENDER);
}

int smtpd_check_rcpt_listed(const struct smtpd_session *s)
{
        return s->chk != NULL && s->chk->rcpt_listed;
}

/* --- sender login mismatch --- */

/* owners - the smtpd_sender_login_maps value for sender (full address,
 * without extension, the local part in a local domain, @domain): 1 with
 * *owners_r (a new string), 0, or -1 could not tell */
static int owners(struct smtpd_check_run *run, const char *sender,
                  char **owners_r)
{
        struct smtpd_session *s = run->s;
        struct maps *m = run->c->sender_login_maps;
        char *resolved, *keys[4] = { NULL, NULL, NULL, NULL };
        const char *value, *delim = s->srv->recipient_delimiter;
        int flags = smtpd_route_resolve(run->c->route, sender, &resolved);
        int ret = 0;
        struct status st;
        char *at = strrchr(resolved, '@');

        if (flags & ROUTE_FAIL) {
                free(resolved);
                return -1;
        }
        keys[0] = xstrdup(resolved);
        keys[1] = addr_strip_extension(resolved, delim);
        if (at != NULL && (flags & ROUTE_LOCAL)) {
                char *bare = addr_strip_extension(resolved, delim);

                *strrchr(bare, '@') = '\0';
                keys[2] = bare;
        }
        if (at != NULL)
                keys[3] = xstrdup(at);
        for (int i = 0; i < 4 && ret == 0; i++) {
                if (keys[i] == NULL || (i == 1 && strcmp(keys[1], keys[0]) ==
                                        0))
                        continue;
                ret = maps_lookup(m, keys[i], &value, &st);
                if (ret > 0)
                        *owners_r = xstrdup(value);
                else if (ret < 0)
                        log_warn("smtpd_sender_login_maps: %s", st.text);
        }
        for (int i = 0; i < 4; i++)
                free(keys[i]);
        free(resolved);
        return ret;
}

static int sasl_off(struct smtpd_check_run *run,
                    const struct smtpd_check_item *it)
{
        if (run->c->sasl_enable)
                return 0;
        log_warn("restriction `%s' ignored: no SASL support", it->word);
        return 1;
}

/* auth_mismatch - the logged-in client must own the sender */
static enum smtpd_check_status auth_mismatch(struct smtpd_check_run *run,
                                             int allow_unknown)
{
        const struct smtpd_session *s = run->s;
        char *list = NULL, *save = NULL, *name;
        int r, found = 0;

        if (s->sasl_user == NULL)
                return CHK_DUNNO;
        r = owners(run, s->sender, &list);
        if (r < 0)
                return smtpd_check_tempfail(run, s->sender);
        if (r == 0 && allow_unknown)
                return CHK_DUNNO;
        for (name = list ? strtok_r(list, ", \t", &save) : NULL;
             name != NULL && !found; name = strtok_r(NULL, ", \t", &save))
                found = strcasecmp(name, s->sasl_user) == 0;
        free(list);
        if (found)
                return CHK_DUNNO;
        return smtpd_check_reject(run, 553, "5.7.1", "<%s>: Sender address "
                                  "rejected: not owned by user %s", s->sender,
                                  s->sasl_user);
}

/* unauth_mismatch - a sender with an owner needs a login */
static enum smtpd_check_status unauth_mismatch(struct smtpd_check_run *run)
{
        const struct smtpd_session *s = run->s;
        char *list = NULL;
        int r;

        if (s->sasl_user != NULL)
                return CHK_DUNNO;
        r = owners(run, s->sender, &list);
        free(list);
        if (r < 0)
                return smtpd_check_tempfail(run, s->sender);
        if (r == 0)
                return CHK_DUNNO;
        return smtpd_check_reject(run, 553, "5.7.1", "<%s>: Sender address "
                                  "rejected: not logged in", s->sender);
}

static int no_sender(const struct smtpd_check_run *run)
{
        return run->s->sender == NULL || *run->s->sender == '\0' ||
               maps_count(run->c->sender_login_maps) == 0;
}

enum smtpd_check_status smtpd_check_auth_login_mismatch(
        struct smtpd_check_run *run, const struct smtpd_check_item *it)
{
        if (sasl_off(run, it) || no_sender(run))
                return CHK_DUNNO;
        return auth_mismatch(run, 0);
}

enum smtpd_check_status smtpd_check_known_login_mismatch(
        struct smtpd_check_run *run, const struct smtpd_check_item *it)
{
        if (sasl_off(run, it) || no_sender(run))
                return CHK_DUNNO;
        return run->s->sasl_user != NULL ? auth_mismatch(run, 1) :
               unauth_mismatch(run);
}

enum smtpd_check_status smtpd_check_unauth_login_mismatch(
        struct smtpd_check_run *run, const struct smtpd_check_item *it)
{
        if (sasl_off(run, it) || no_sender(run))
                return CHK_DUNNO;
        return unauth_mismatch(run);
}

enum smtpd_check_status smtpd_check_login_mismatch(
        struct smtpd_check_run *run, const struct smtpd_check_item *it)
{
        enum smtpd_check_status st;

        if (sasl_off(run, it) || no_sender(run))
                return CHK_DUNNO;
        st = auth_mismatch(run, 0);
        if (st != CHK_DUNNO)
                return st;
        return unauth_mismatch(run);
}
