/* smtpd_check_dns.c - restrictions that ask the DNS
 * Used by: smtpd_check.c's evaluator. reject_unknown_helo_hostname (A,
 * AAAA or MX),
 * reject_unknown_sender/recipient_domain (MX, A or AAAA; a null MX is
 * refused), reject_rbl_client, reject_rhsbl_{client,reverse_client,helo,
 * sender,recipient}, permit_dnswl_client, permit_rhswl_client (A with an
 * optional =d.d.d.d filter, the reply text from TXT and default_rbl_reply
 * or rbl_reply_maps). Every question is asynchronous (common/dns.h); the
 * client's name at connect is smtpd_check_peer.c's. A
 * timeout or SERVFAIL gives Postfix's answer: the 450 of
 * *_tempfail_action for unknown names, never a permit; a blocklist that
 * cannot be asked is skipped with a warning, as Postfix does. Parses DNS
 * data through dns.c. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "dns.h"
#include "log.h"
#include "map.h"
#include "mem.h"
#include "smtpd_check_int.h"

#define RBL_TXT_MAX     500     /* bytes of TXT text in a reply */

/* One DNS list question under way (run->step). */
struct dnsxl {
        char query[DNS_NAME_MAX + 1];
        char list[DNS_NAME_MAX + 64];   /* the list, as configured */
        char domain[DNS_NAME_MAX + 1];  /* ... without its filter */
        char filter[64];                /* "=d.d.d.d" part, or "" */
        char what[DNS_NAME_MAX + 64];   /* the client IP or the name */
        const char *class;
        const char *permit;             /* permit_dnswl/rhswl_client, or
                                         * NULL for a blocklist */
        char txt[RBL_TXT_MAX + 1];
};

/* --- unknown host names and domains --- */

static void helo_done(const struct dns_answer *a, void *ctx)
{
        struct smtpd_check_run *run = ctx;
        const char *helo = run->s->helo;
        enum smtpd_check_status st = CHK_DUNNO;

        run->dns = NULL;
        if (a->result == DNS_NOTFOUND)
                st = smtpd_check_reject(run, run->c->unknown_name_code,
                                        "4.7.1", "<%s>: %s rejected: Host "
                                        "not found", helo, CHK_HELO);
        else if (a->result == DNS_TEMPFAIL)
                st = smtpd_check_defer_if_permit(run, run->c->name_tf_defer,
                                                 450, "4.7.1", "<%s>: %s "
                                                 "rejected: Host not found",
                                                 helo, CHK_HELO);
        smtpd_check_resume(run, st);
}

enum smtpd_check_status smtpd_check_unknown_helo(struct smtpd_check_run *run,
        const struct smtpd_check_item *it)
{
        static const enum dns_type types[] = { DNS_A, DNS_AAAA, DNS_MX };
        const char *helo = run->s->helo;

        if (helo == NULL)
                return CHK_DUNNO;
        if (*helo == '[')
                return smtpd_check_invalid_literal(run, helo);
        run->dns = dns_query_any(run->c->dns, helo, types, 3, helo_done,
                                 run);
        return CHK_PENDING;
}

struct mailhost {
        const char *addr;       /* borrowed from the session */
        const char *class;
        char domain[DNS_NAME_MAX + 1];
};

static void mailhost_done(const struct dns_answer *a, void *ctx)
{
        struct smtpd_check_run *run = ctx;
        struct mailhost *m = run->step;
        int sender = strcmp(m->class, CHK_SENDER) == 0;
        enum smtpd_check_status st = CHK_DUNNO;

        run->dns = NULL;
        if (a->result == DNS_OK && a->type == DNS_MX && a->count == 1 &&
            a->prefs[0] == 0 && (a->values[0][0] == '\0' ||
                                 strcmp(a->values[0], ".") == 0))
                st = smtpd_check_reject(run, sender ? 550 : 556,
                                        sender ? "4.7.27" : "4.1.10",
                                        "<%s>: %s rejected: Domain %s does "
                                        "not accept mail (nullMX)", m->addr,
                                        m->class, m->domain);
        else if (a->result == DNS_NOTFOUND)
                st = smtpd_check_reject(run, run->c->unknown_addr_code,
                                        sender ? "4.1.8" : "4.1.2",
                                        "<%s>: %s rejected: Domain not "
                                        "found", m->addr, m->class);
        else if (a->result == DNS_TEMPFAIL)
                st = smtpd_check_defer_if_permit(run, run->c->addr_tf_defer,
                                                 450, sender ? "4.1.8" :
                                                 "4.1.2", "<%s>: %s rejected:"
                                                 " Domain not found", m->addr,
                                                 m->class);
        free(m);
        smtpd_check_resume(run, st);
}

/* unknown_address - Postfix's reject_unknown_address() */
static enum smtpd_check_status unknown_address(struct smtpd_check_run *run,
                                               const char *addr,
                                               const char *class)
{
        static const enum dns_type types[] = { DNS_MX, DNS_A, DNS_AAAA };
        struct mailhost *m;
        char *resolved, *at;
        int flags = smtpd_route_resolve(run->c->route, addr, &resolved);

        at = strrchr(resolved, '@');
        if (flags & ROUTE_FAIL) {
                free(resolved);
                return smtpd_check_tempfail(run, addr);
        }
        if (at == NULL || (flags & ROUTE_FINAL) || at[1] == '[' ||
            strlen(at + 1) > DNS_NAME_MAX) {
                free(resolved);
                return CHK_DUNNO;
        }
        m = xcalloc(1, sizeof(*m));
        m->addr = addr;
        m->class = class;
        snprintf(m->domain, sizeof(m->domain), "%s", at + 1);
        free(resolved);
        run->step = m;
        run->dns = dns_query_any(run->c->dns, m->domain, types, 3,
                                 mailhost_done, run);
        return CHK_PENDING;
}

enum smtpd_check_status smtpd_check_unknown_sender(
        struct smtpd_check_run *run, const struct smtpd_check_item *it)
{
        const char *sender = run->s->sender;

        if (sender == NULL || *sender == '\0')
                return CHK_DUNNO;
        return unknown_address(run, sender, CHK_SENDER);
}

enum smtpd_check_status smtpd_check_unknown_rcpt(struct smtpd_check_run *run,
        const struct smtpd_check_item *it)
{
        if (run->rcpt == NULL)
                return CHK_DUNNO;
        return unknown_address(run, run->rcpt, CHK_RECIPIENT);
}

/* --- DNS lists --- */

/* octet_match - one field of a =d.d.d.d filter: "n", or "[n;m..k]" */
static int octet_match(const char *pat, size_t len, unsigned v)
{
        char buf[64], *item, *save = NULL;

        if (len == 0 || len >= sizeof(buf))
                return 0;
        if (pat[0] != '[')
                return strtoul(pat, NULL, 10) == v &&
                       strspn(pat, "0123456789") == len;
        if (pat[len - 1] != ']')
                return 0;
        snprintf(buf, sizeof(buf), "%.*s", (int)(len - 2), pat + 1);
        for (item = strtok_r(buf, ";", &save); item != NULL;
             item = strtok_r(NULL, ";", &save)) {
                char *dots = strstr(item, "..");
                unsigned lo = (unsigned)strtoul(item, NULL, 10);
                unsigned hi = dots ? (unsigned)strtoul(dots + 2, NULL, 10) :
                              lo;

                if (v >= lo && v <= hi)
                        return 1;
        }
        return 0;
}

/* filter_match - an A record against the =d.d.d.d filter */
static int filter_match(const char *filter, const char *ip)
{
        unsigned o[4];
        const char *p = filter;

        if (sscanf(ip, "%u.%u.%u.%u", &o[0], &o[1], &o[2], &o[3]) != 4)
                return 0;
        for (int i = 0; i < 4; i++) {
                size_t n = 0;
                int depth = 0;

                while (p[n] != '\0' && (depth > 0 || p[n] != '.')) {
                        depth += p[n] == '[' ? 1 : p[n] == ']' ? -1 : 0;
                        n++;
                }
                if (!octet_match(p, n, o[i]) || (i < 3 && p[n] != '.'))
                        return 0;
                p += n + (i < 3);
        }
        return *p == '\0';
}

/* expand - default_rbl_reply's $names */
static const char *rbl_value(struct smtpd_check_run *run,
                             const struct dnsxl *x, const char *name,
                             char *tmp, size_t size)
{
        const struct smtpd_session *s = run->s;

        if (strcmp(name, "rbl_code") == 0) {
                snprintf(tmp, size, "%lld", run->c->rbl_code);
                return tmp;
        }
        if (strcmp(name, "rbl_domain") == 0)
                return x->domain;
        if (strcmp(name, "rbl_reason") == 0 || strcmp(name, "rbl_txt") == 0)
                return x->txt;
        if (strcmp(name, "rbl_what") == 0)
                return x->what;
        if (strcmp(name, "rbl_class") == 0)
                return x->class;
        if (strcmp(name, "client_address") == 0)
                return s->addr;
        if (strcmp(name, "client_name") == 0)
                return s->name;
        if (strcmp(name, "reverse_client_name") == 0)
                return s->reverse_name;
        if (strcmp(name, "helo_name") == 0)
                return s->helo;
        if (strcmp(name, "sender") == 0)
                return s->sender;
        if (strcmp(name, "recipient") == 0)
                return run->rcpt;
        return NULL;
}

static void expand(struct smtpd_check_run *run, const struct dnsxl *x,
                   const char *t, struct buf *out)
{
        char tmp[32], name[64];

        while (*t != '\0') {
                const char *v, *alt = NULL;
                size_t n, altlen = 0;
                char op = 0;

                if (*t != '$' || t[1] == '$') {
                        buf_putc(out, *t);
                        t += *t == '$' ? 2 : 1;
                        continue;
                }
                t++;
                if (*t == '{') {
                        const char *end = strchr(t, '}');

                        n = strcspn(t + 1, "?:}");
                        if (end == NULL)
                                break;
                        if (t[1 + n] == '?' || t[1 + n] == ':') {
                                op = t[1 + n];
                                alt = t + 2 + n;
                                altlen = (size_t)(end - alt);
                        }
                        snprintf(name, sizeof(name), "%.*s", (int)n, t + 1);
                        t = end + 1;
                } else {
                        n = 0;
                        while (isalnum((unsigned char)t[n]) || t[n] == '_')
                                n++;
                        snprintf(name, sizeof(name), "%.*s", (int)n, t);
                        t += n;
                }
                v = rbl_value(run, x, name, tmp, sizeof(tmp));
                if (op == '?') {
                        if (v != NULL && *v != '\0') {
                                struct buf sub;
                                char *inner = xstrndup(alt, altlen);

                                buf_init(&sub, 0);
                                expand(run, x, inner, &sub);
                                buf_puts(out, buf_cstr(&sub));
                                buf_release(&sub);
                                free(inner);
                        }
                } else if (op == ':') {
                        if (v == NULL || *v == '\0')
                                buf_append(out, alt, altlen);
                } else if (v != NULL) {
                        buf_puts(out, v);
                }
        }
}

/* listed - the reply for a listed client or name */
static enum smtpd_check_status listed(struct smtpd_check_run *run,
                                      const struct dnsxl *x)
{
        const char *tmpl = NULL, *text;
        enum smtpd_check_status st;
        struct status err;
        struct buf why;
        char dsn[16];
        int r = maps_lookup(run->c->rbl_reply_maps, x->list, &tmpl, &err);

        if (r < 0)
                return smtpd_check_server_error(run);
        buf_init(&why, 0);
        expand(run, x, r > 0 ? tmpl : run->c->default_rbl_reply, &why);
        text = buf_cstr(&why);
        if ((text[0] != '4' && text[0] != '5') ||
            !isdigit((unsigned char)text[1]) ||
            !isdigit((unsigned char)text[2]) || text[3] != ' ') {
                log_warn("rbl response code configuration error: %s", text);
                buf_release(&why);
                return smtpd_check_reject(run, 450, "4.7.1",
                                          "Service unavailable");
        }
        snprintf(dsn, sizeof(dsn), "4.7.1");
        text += 4;
        if (strspn(text, "0123456789.") >= 5 && text[1] == '.' &&
            text[strspn(text, "0123456789.")] == ' ') {
                snprintf(dsn, sizeof(dsn), "%.*s",
                         (int)strspn(text, "0123456789."), text);
                text += strlen(dsn) + 1;
        }
        st = smtpd_check_reject(run, atoi(buf_cstr(&why)),
                                smtpd_check_dsn_fix(dsn, x->class), "%s",
                                *text ? text : "Service unavailable");
        buf_release(&why);
        return st;
}

static void txt_done(const struct dns_answer *a, void *ctx)
{
        struct smtpd_check_run *run = ctx;
        struct dnsxl *x = run->step;
        struct buf b;
        enum smtpd_check_status st;

        run->dns = NULL;
        buf_init(&b, 0);
        for (size_t i = 0; a->result == DNS_OK && i < a->count; i++) {
                if (i > 0)
                        buf_puts(&b, " / ");
                buf_puts(&b, a->values[i]);
        }
        snprintf(x->txt, sizeof(x->txt), "%s", buf_cstr(&b));
        buf_release(&b);
        st = listed(run, x);
        free(x);
        smtpd_check_resume(run, st);
}

static void a_done(const struct dns_answer *a, void *ctx)
{
        struct smtpd_check_run *run = ctx;
        struct dnsxl *x = run->step;
        enum smtpd_check_status st = CHK_DUNNO;
        int match = a->result == DNS_OK && x->filter[0] == '\0';

        run->dns = NULL;
        for (size_t i = 0; a->result == DNS_OK && !match && i < a->count;
             i++)
                match = filter_match(x->filter, a->values[i]);
        if (a->result == DNS_TEMPFAIL) {
                log_warn("%s: RBL lookup error: %s", x->query, a->reason);
                if (x->permit)
                        st = smtpd_check_defer_if(run, &run->dir, 450,
                                                  "4.7.1", "<%s>: %s "
                                                  "rejected: Service "
                                                  "unavailable", x->what,
                                                  x->class);
        } else if (match && x->permit) {
                st = smtpd_check_permit(run, x->permit, x->class,
                                        run->s->client);
        } else if (match) {
                run->dns = dns_query(run->c->dns, x->query, DNS_TXT,
                                     txt_done, run);
                return;
        }
        free(x);
        smtpd_check_resume(run, st);
}

/* dnsxl - ask the list arg about key (a reversed IP or a name) */
static enum smtpd_check_status dnsxl(struct smtpd_check_run *run,
                                     const char *arg, const char *key,
                                     const char *what, const char *class,
                                     const char *permit)
{
        struct dnsxl *x = xcalloc(1, sizeof(*x));
        const char *eq = strchr(arg, '=');
        size_t dlen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);

        snprintf(x->list, sizeof(x->list), "%s", arg);
        snprintf(x->domain, sizeof(x->domain), "%.*s", (int)dlen, arg);
        snprintf(x->filter, sizeof(x->filter), "%s", eq ? eq + 1 : "");
        snprintf(x->what, sizeof(x->what), "%s", what);
        x->class = class;
        x->permit = permit;
        if (snprintf(x->query, sizeof(x->query), "%s.%s", key, x->domain) >=
            (int)sizeof(x->query)) {
                free(x);
                return CHK_DUNNO;
        }
        run->step = x;
        run->dns = dns_query(run->c->dns, x->query, DNS_A, a_done, run);
        return CHK_PENDING;
}

static enum smtpd_check_status addr_list(struct smtpd_check_run *run,
                                         const char *arg, const char *permit)
{
        char rev[DNS_NAME_MAX + 1];

        if (dns_reverse_name(run->s->addr, "", rev, sizeof(rev)) < 0)
                return CHK_DUNNO;
        rev[strlen(rev) - 1] = '\0';            /* the dot before "" */
        return dnsxl(run, arg, rev, run->s->addr, CHK_CLIENT, permit);
}

/* name_list - Postfix's find_dnsxl_domain(): the domain of what */
static enum smtpd_check_status name_list(struct smtpd_check_run *run,
                                         const char *arg, const char *what,
                                         const char *class,
                                         const char *permit)
{
        const char *at = strrchr(what, '@'), *domain = at ? at + 1 : what;
        const char *dot = strrchr(domain, '.');
        const char *last = dot ? dot + 1 : domain;

        if (*domain == '\0' || *domain == '[' ||
            strspn(last, "0123456789") == strlen(last) ||
            strspn(domain, "abcdefghijklmnopqrstuvwxyz"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
            strlen(domain))
                return CHK_DUNNO;
        return dnsxl(run, arg, domain, what, class, permit);
}

/* safe_dest - permit_*wl never whitelists an unauthorized recipient */
static int safe_dest(struct smtpd_check_run *run)
{
        return run->last < SMTPD_STAGE_RELAY ||
               run->last > SMTPD_STAGE_RECIPIENT || run->rcpt == NULL ||
               smtpd_check_destination(run->s, run->rcpt) == 1;
}

static int known(const char *name)
{
        return name != NULL && strcasecmp(name, "unknown") != 0;
}

enum smtpd_check_status smtpd_check_rbl_client(struct smtpd_check_run *run,
        const struct smtpd_check_item *it)
{
        return addr_list(run, it->arg, NULL);
}

enum smtpd_check_status smtpd_check_dnswl_client(struct smtpd_check_run *run,
        const struct smtpd_check_item *it)
{
        return safe_dest(run) ? addr_list(run, it->arg, "permit_dnswl_client") :
               CHK_DUNNO;
}

enum smtpd_check_status smtpd_check_rhswl_client(struct smtpd_check_run *run,
        const struct smtpd_check_item *it)
{
        if (!known(run->s->name) || !safe_dest(run))
                return CHK_DUNNO;
        return name_list(run, it->arg, run->s->name, CHK_CLIENT,
                         "permit_rhswl_client");
}

enum smtpd_check_status smtpd_check_rhsbl_client(struct smtpd_check_run *run,
        const struct smtpd_check_item *it)
{
        if (!known(run->s->name))
                return CHK_DUNNO;
        return name_list(run, it->arg, run->s->name, CHK_CLIENT, NULL);
}

enum smtpd_check_status smtpd_check_rhsbl_reverse(
        struct smtpd_check_run *run, const struct smtpd_check_item *it)
{
        if (!known(run->s->reverse_name))
                return CHK_DUNNO;
        return name_list(run, it->arg, run->s->reverse_name, CHK_REV_CLIENT,
                         NULL);
}

enum smtpd_check_status smtpd_check_rhsbl_helo(struct smtpd_check_run *run,
        const struct smtpd_check_item *it)
{
        if (run->s->helo == NULL)
                return CHK_DUNNO;
        return name_list(run, it->arg, run->s->helo, CHK_HELO, NULL);
}

enum smtpd_check_status smtpd_check_rhsbl_sender(struct smtpd_check_run *run,
        const struct smtpd_check_item *it)
{
        if (run->s->sender == NULL || *run->s->sender == '\0')
                return CHK_DUNNO;
        return name_list(run, it->arg, run->s->sender, CHK_SENDER, NULL);
}

enum smtpd_check_status smtpd_check_rhsbl_rcpt(struct smtpd_check_run *run,
        const struct smtpd_check_item *it)
{
        if (run->rcpt == NULL)
                return CHK_DUNNO;
        return name_list(run, it->arg, run->rcpt, CHK_RECIPIENT, NULL);
}
