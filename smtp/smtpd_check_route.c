/* smtpd_check_route.c - where an address goes, as Postfix's resolver says
 * Used by: smtpd's relay control (permit_auth_destination,
 * reject_unauth_destination), the address restrictions, and the form of
 * a recipient that is queued. Postfix decides relaying on the address as
 * trivial-rewrite resolves it, so that what smtpd permits is where the
 * mail then goes: every local domain (mydestination, this host's
 * addresses as [literals]) is stripped off the right end, and what is
 * left is rewritten and tried again: "user%host" becomes user@host
 * (allow_percent_hack), "host!user" user@host (swap_bangpath), a quoted
 * local part with routing characters is opened up
 * (resolve_dequoted_address), a trailing dot and a source route go. The
 * result is local, virtual, relay or other, and "routed" when routing
 * characters are left in its local part; a malformed domain is an error.
 * Also this host's own addresses (inet_interfaces, proxy_interfaces) for
 * permit_inet_interfaces and address literals, and mynetworks as
 * mynetworks_style makes it when main.cf does not set it. Parses client
 * input. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "addr.h"
#include "cfg.h"
#include "domain_list.h"
#include "host_addrs.h"
#include "log.h"
#include "mem.h"
#include "smtpd_check_int.h"

#define ROUTE_LOOPS     100     /* rewriting rounds for one address */

static int is_local(const struct smtpd_route *r, const char *domain);

struct smtpd_route {
        const struct smtpd_server *srv;
        int percent_hack, swap_bangpath, dequoted, null_domain;
        int numeric_domain, dot_mydomain;
        char *myhostname, *mydomain, *empty_addr;
        struct host_addrs *own; /* this host's addresses */
};

struct smtpd_route *smtpd_route_open(struct smtpd_server *srv,
                                     struct status *st)
{
        struct smtpd_route *r = xcalloc(1, sizeof(*r));
        struct cfg *cfg = srv->cfg;

        r->srv = srv;
        r->percent_hack = cfg_get_bool(cfg, "allow_percent_hack");
        r->swap_bangpath = cfg_get_bool(cfg, "swap_bangpath");
        r->dequoted = cfg_get_bool(cfg, "resolve_dequoted_address");
        r->null_domain = cfg_get_bool(cfg, "resolve_null_domain");
        r->numeric_domain = cfg_get_bool(cfg, "resolve_numeric_domain");
        r->dot_mydomain = cfg_get_bool(cfg, "append_dot_mydomain");
        r->myhostname = xstrdup(cfg_get(cfg, "myhostname"));
        r->mydomain = xstrdup(cfg_get(cfg, "mydomain"));
        r->empty_addr = xstrdup(cfg_get(cfg, "empty_address_recipient"));
        r->own = host_addrs_open(cfg);
        return r;
}

void smtpd_route_free(struct smtpd_route **rp)
{
        struct smtpd_route *r = *rp;

        if (r == NULL)
                return;
        host_addrs_free(&r->own);
        free(r->myhostname);
        free(r->mydomain);
        free(r->empty_addr);
        free(r);
        *rp = NULL;
}

char *smtpd_route_local_name(const struct smtpd_route *r)
{
        return is_local(r, r->myhostname) == 1 ? r->myhostname : NULL;
}

int smtpd_route_own_addr(const struct smtpd_route *r, const char *ip)
{
        return host_addrs_match(r->own, ip);
}

/* literal_own - "[1.2.3.4]" or "[IPv6:...]" naming this host */
static int literal_own(const struct smtpd_route *r, const char *domain)
{
        size_t n = strlen(domain);
        char ip[INET6_ADDRSTRLEN + 8];

        if (n < 3 || domain[0] != '[' || domain[n - 1] != ']' ||
            n - 2 >= sizeof(ip))
                return 0;
        snprintf(ip, sizeof(ip), "%.*s", (int)(n - 2), domain + 1);
        if (strncasecmp(ip, "IPv6:", 5) == 0)
                memmove(ip, ip + 5, strlen(ip + 5) + 1);
        return smtpd_route_own_addr(r, ip);
}

/* is_local - Postfix's resolve_local(): 1, 0, or -1 could not tell */
static int is_local(const struct smtpd_route *r, const char *domain)
{
        char d[1024];
        size_t n = strlen(domain);

        if (n >= sizeof(d))
                return 0;
        memcpy(d, domain, n + 1);
        if (n > 1 && d[n - 1] == '.' && d[n - 2] != '.')
                d[--n] = '\0';
        if (d[0] == '[')
                return literal_own(r, d);
        if (r->numeric_domain && smtpd_route_own_addr(r, d))
                return 1;
        return r->srv->mydestination != NULL ?
               domain_list_match(r->srv->mydestination, d) : 0;
}

/* dot_string - the local part needs no quotes (RFC 822 dot-string) */
static int dot_string(const char *s, size_t n)
{
        if (n == 0 || s[0] == '.' || s[n - 1] == '.')
                return 0;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];

                if ((c == '.' && i + 1 < n && s[i + 1] == '.') || c <= ' ' ||
                    c == 0x7f || strchr("()<>@,;:\\\"[]", c) != NULL)
                        return 0;
        }
        return 1;
}

/* rewrite - Postfix's rewrite_tree() in the local context, on an address
 * whose local part is in tokens: source route, bang path, percent hack,
 * .mydomain, trailing dot. Returns a new string. */
static char *rewrite(const struct smtpd_route *r, const char *addr)
{
        char *a = xstrdup(addr), *p;
        size_t n;

        if (a[0] == '@' && (p = strchr(a, ':')) != NULL && p[1] != '\0')
                memmove(a, p + 1, strlen(p + 1) + 1);
        if (strchr(a, '@') == NULL) {
                if (r->swap_bangpath && (p = strchr(a, '!')) != NULL) {
                        char *swapped;

                        *p = '\0';
                        swapped = xasprintf("%s@%s", p + 1, a);
                        free(a);
                        a = swapped;
                } else if (r->percent_hack && (p = strrchr(a, '%')) != NULL) {
                        *p = '@';
                }
        }
        p = strrchr(a, '@');
        if (r->dot_mydomain && p != NULL && p[1] != '\0' && p[1] != '[' &&
            strchr(p + 1, '.') == NULL && *r->mydomain != '\0') {
                char *more = xasprintf("%s.%s", a, r->mydomain);

                free(a);
                a = more;
        }
        n = strlen(a);
        if (n > 1 && a[n - 1] == '.' && a[n - 2] != '.' && a[n - 2] != '@')
                a[--n] = '\0';
        return a;
}

/* routed - Postfix: routing characters are left in the local part when
 * the first of '@', '!', '%' is not the '@' before the domain */
static int routed(const char *addr, const char *domain)
{
        size_t i = strcspn(addr, "@!%");

        return addr[i] == '\0' || strcmp(addr + i + 1, domain) != 0;
}

int smtpd_route_resolve(const struct smtpd_route *r, const char *addr,
                        char **addr_r)
{
        char *cur = xstrdup(addr), *saved = NULL, *domain;
        int flags = 0, remote = 0, loops = 0;

        for (;;) {
                char *at = strrchr(cur, '@'), *local;
                size_t n = strlen(cur);
                int quoted;

                if (++loops > ROUTE_LOOPS) {
                        log_warn("resolving <%s>: giving up after %d rounds",
                                 addr, ROUTE_LOOPS);
                        flags |= ROUTE_FAIL;
                        break;
                }
                /* a trailing dot, but not dot-dot or at-dot */
                if (at != NULL && n > 1 && cur[n - 1] == '.' &&
                    cur[n - 2] != '.' && cur[n - 2] != '@')
                        cur[--n] = '\0';
                if (r->null_domain && at != NULL && at[1] == '\0')
                        *at = '\0', at = NULL;
                if (at != NULL) {
                        int rc = at[1] != '\0' ? is_local(r, at + 1) : 1;

                        if (rc < 0) {
                                flags |= ROUTE_FAIL;
                                break;
                        }
                        if (rc == 0) {
                                remote = 1;
                                break;
                        }
                        free(saved);
                        saved = xstrdup(at);    /* "@domain" */
                        *at = '\0';
                }
                local = cur;
                quoted = !dot_string(local, strlen(local));
                if (!quoted && (strchr(local, '@') != NULL ||
                                (r->swap_bangpath && strchr(local, '!')) ||
                                (r->percent_hack && strchr(local, '%')))) {
                        char *next = rewrite(r, local);

                        free(cur);
                        cur = next;
                        continue;
                }
                if (quoted && r->dequoted &&
                    (strchr(local, '@') != NULL ||
                     (r->percent_hack && strchr(local, '%') != NULL) ||
                     (r->swap_bangpath && strchr(local, '!') != NULL))) {
                        char *op = strrchr(local, '@'), *next;

                        if (op == NULL && r->percent_hack)
                                op = strrchr(local, '%');
                        if (op == NULL)
                                op = strrchr(local, '!');
                        if (*op == '%')
                                *op = '@';
                        next = rewrite(r, local);
                        free(cur);
                        cur = next;
                        continue;
                }
                if (*local == '\0') {
                        /* an empty local part: the local MAILER-DAEMON */
                        free(cur);
                        cur = xstrdup(r->empty_addr);
                        continue;
                }
                if (saved == NULL) {
                        char *more = xasprintf("%s@%s", cur, r->myhostname);

                        free(cur);
                        cur = more;
                        continue;
                }
                break;
        }
        if (!remote && !(flags & ROUTE_FAIL)) {
                char *full = xasprintf("%s%s", cur, saved != NULL ? saved :
                                       "@");

                free(cur);
                cur = full;
        }
        free(saved);
        *addr_r = cur;
        if (flags & ROUTE_FAIL)
                return flags;
        domain = strrchr(cur, '@') + 1;
        if (!addr_domain_valid(domain, ADDR_UTF8)) {
                if (r->numeric_domain && !remote) {
                        /* an address this host answers to */
                } else {
                        return flags | ROUTE_ERROR | ROUTE_DEFAULT;
                }
        }
        if (routed(cur, domain))
                flags |= ROUTE_ROUTED;
        if (!remote)
                return flags | ROUTE_LOCAL;
        const struct smtpd_server *srv = r->srv;
        struct domain_list *lists[] = { srv->virtual_alias_domains,
                srv->virtual_mailbox_domains, srv->relay_domains };
        static const int classes[] = { ROUTE_ALIAS, ROUTE_VIRTUAL,
                                       ROUTE_RELAY };
        for (size_t i = 0; i < 3; i++) {
                int m = lists[i] != NULL ? domain_list_match(lists[i], domain)
                                         : 0;

                if (m < 0)
                        return flags | ROUTE_FAIL;
                if (m > 0)
                        return flags | classes[i];
        }
        return flags | ROUTE_DEFAULT;
}

/* net_text - "addr/bits" of the network of sa under mask (bits = -1: a
 * class A/B/C network for IPv4), appended to b */
static void net_text(struct buf *b, const struct sockaddr *sa,
                     const struct sockaddr *mask, int style)
{
        unsigned char a[16], m[16];
        char text[INET6_ADDRSTRLEN];
        int v6 = sa->sa_family == AF_INET6, n = v6 ? 16 : 4, bits = 0;

        memcpy(a, v6 ? (const void *)&((const struct sockaddr_in6 *)sa)->
               sin6_addr : (const void *)&((const struct sockaddr_in *)sa)->
               sin_addr, (size_t)n);
        memset(m, 0xff, sizeof(m));
        if (style == 's' && mask != NULL && mask->sa_family == sa->sa_family)
                memcpy(m, v6 ? (const void *)&((const struct sockaddr_in6 *)
                                               mask)->sin6_addr :
                       (const void *)&((const struct sockaddr_in *)mask)->
                       sin_addr, (size_t)n);
        if (style == 'c' && !v6) {
                int len = a[0] < 128 ? 1 : a[0] < 192 ? 2 : 3;

                memset(m, 0, sizeof(m));
                memset(m, 0xff, (size_t)len);
        }
        for (int i = 0; i < n; i++) {
                a[i] &= m[i];
                for (int bit = 7; bit >= 0; bit--)
                        bits += (m[i] >> bit) & 1;
        }
        if (inet_ntop(sa->sa_family, a, text, sizeof(text)) == NULL)
                return;
        buf_printf(b, "%s%s%s%s/%d", b->len ? " " : "", v6 ? "[" : "", text,
                   v6 ? "]" : "", bits);
}

char *smtpd_check_default_mynetworks(struct cfg *cfg)
{
        const char *style = cfg_get(cfg, "mynetworks_style");
        struct ifaddrs *ifa = NULL;
        struct buf b;

        buf_init(&b, 0);
        if (getifaddrs(&ifa) == 0) {
                for (struct ifaddrs *p = ifa; p != NULL; p = p->ifa_next)
                        if (p->ifa_addr != NULL &&
                            (p->ifa_addr->sa_family == AF_INET ||
                             p->ifa_addr->sa_family == AF_INET6))
                                net_text(&b, p->ifa_addr, p->ifa_netmask,
                                         style[0]);
                freeifaddrs(ifa);
        }
        if (b.len == 0)
                buf_puts(&b, cfg_get_default(cfg, "mynetworks"));
        return buf_steal(&b);
}
