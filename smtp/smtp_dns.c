/* smtp_dns.c - a next hop's MX and address records, looked up from the loop
 * Used by: smtp_nexthop.c, once per request. As Postfix's smtp(8) finds
 * its servers (RFC 5321 5.1): a next hop without brackets asks for MX
 * records; they are sorted by preference (equal preferences shuffled)
 * and each MX host's A and AAAA records (as inet_protocols allows) are
 * asked for, all at once; an MX host that resolves to nothing is
 * skipped. No MX records (NODATA): the name's own A/AAAA records. A
 * bracketed next hop asks for A/AAAA only; a literal address is used as
 * it is. Outcomes, in Postfix's words:
 *   NXDOMAIN of the domain       5.4.4 Host or domain name not found ...
 *   a null MX (RFC 7505)         5.1.10 Domain D does not accept mail
 *   SERVFAIL, timeout            4.4.3 ... Host not found, try again
 *   this host among the best MX  5.4.6 mail for D loops back to myself
 * A temporary failure dominates a permanent one, and a "never" answer
 * bounces only when the next hop is the recipients' domain: a relayhost
 * that does not resolve defers. This host is recognised, when the port
 * is smtp_tcp_port (Postfix: port 25), by an MX host named $myhostname
 * or an address of inet_interfaces or proxy_interfaces. Addresses are
 * kept in that order (per host IPv4 first, IPv6 first with
 * smtp_address_preference = ipv6), at most smtp_mx_address_limit. Runs
 * in smtp's loop as mail_owner; parses DNS answers through common/dns. */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cfg.h"
#include "dns.h"
#include "host_addrs.h"
#include "log.h"
#include "loop.h"
#include "mem.h"
#include "smtp.h"

#define NOT_FOUND_TEXT          "Host or domain name not found. Name " \
                                "service error for name=%s type=%s: "

enum { V4, V6 };

/* One question: A or AAAA of one host. */
struct smtp_dns_q {
        struct smtp_dns *l;
        size_t host;
        int fam;
        struct dns_req *req;
        enum dns_result result;
        int asked, nxdomain;
        char reason[80];
        char *ips[SMTP_ADDRS_MAX];
        size_t nips;
};

struct smtp_dns_host {
        char name[SMTP_HOST_MAX];
        int pref;
        int self;                       /* named $myhostname */
        struct smtp_dns_q q[2];
};

struct smtp_dns {
        struct smtp_job *job;
        smtp_nexthop_cb *done;
        char name[SMTP_HOST_MAX];
        int port, final;
        int best_pref;                  /* -1: no MX records */
        struct dns_req *mx_req;
        struct smtp_dns_host *hosts;
        size_t nhosts, pending;
        struct loop_timer *kick;        /* an outcome known at once */
};

static struct {
        int v4, v6, v6_first;
        const char *myhostname;
        struct host_addrs *own;         /* this host's addresses */
} sd;

int smtp_dns_init(struct cfg *cfg, struct status *st)
{
        size_t n;
        char **protos = cfg_get_list(cfg, "inet_protocols", &n);
        const char *pref = cfg_get(cfg, "smtp_address_preference");
        int fd;

        for (size_t i = 0; i < n; i++) {
                if (strcasecmp(protos[i], "all") == 0)
                        sd.v4 = sd.v6 = 1;
                else if (strcasecmp(protos[i], "ipv4") == 0)
                        sd.v4 = 1;
                else if (strcasecmp(protos[i], "ipv6") == 0)
                        sd.v6 = 1;
        }
        cfg_list_free(&protos);
        /* "all" means what this kernel has, as in Postfix */
        if (sd.v6 && sd.v4 && (fd = socket(AF_INET6, SOCK_STREAM, 0)) < 0) {
                if (errno == EAFNOSUPPORT)
                        sd.v6 = 0;
        } else if (sd.v6 && sd.v4) {
                close(fd);
        }
        if (!sd.v4 && !sd.v6)
                sd.v4 = 1;
        sd.v6_first = strcasecmp(pref, "ipv6") == 0;
        sd.myhostname = cfg_get(cfg, "myhostname");
        host_addrs_free(&sd.own);
        sd.own = host_addrs_open(cfg);
        return dns_open(cfg_get(cfg, "dns_servers"),
                        cfg_get_time(cfg, "dns_timeout") * 1000,
                        &smtp_srv.dns, st);
}

void smtp_dns_shutdown(void)
{
        dns_free(&smtp_srv.dns);
        host_addrs_free(&sd.own);
}

/* --- one look-up --- */

static void addrs_done(struct smtp_dns *l);

/* complete - detach from the job, free l, tell the job (st NULL: found) */
static void complete(struct smtp_dns *l, const struct status *st)
{
        struct smtp_job *job = l->job;
        smtp_nexthop_cb *done = l->done;
        struct status copy;

        if (st != NULL)
                copy = *st;
        job->lookup = NULL;
        smtp_dns_free(&l);
        done(job, st != NULL ? &copy : NULL);
}

/* on_kick - nothing was asked of DNS: finish from the loop */
static void on_kick(void *ctx)
{
        addrs_done(ctx);
}

/* fail - the look-up ends with why; a "never" only for the final
 * destination: a configured relay must not bounce the mail behind it */
static void fail(struct smtp_dns *l, const struct status *why)
{
        struct status st = *why;

        if (!l->final && st.code[0] == '5')
                st.code[0] = '4';
        complete(l, &st);
}

/* add_host - one host (MX or the name itself) to look up */
static struct smtp_dns_host *add_host(struct smtp_dns *l, const char *name,
                                      int pref)
{
        struct smtp_dns_host *h;

        l->hosts = xrealloc(l->hosts, (l->nhosts + 1) * sizeof(*l->hosts));
        h = &l->hosts[l->nhosts];
        memset(h, 0, sizeof(*h));
        snprintf(h->name, sizeof(h->name), "%s", name);
        h->pref = pref;
        for (int f = V4; f <= V6; f++) {
                h->q[f].l = l;
                h->q[f].host = l->nhosts;
                h->q[f].fam = f;
        }
        l->nhosts++;
        return h;
}

/* literal - ip (maybe "ipv6:..."), when name is an address, into ip */
static int literal(const char *name, char *ip, size_t size)
{
        unsigned char bin[16];

        if (strncasecmp(name, "ipv6:", 5) == 0)
                name += 5;
        if (inet_pton(AF_INET, name, bin) != 1 &&
            inet_pton(AF_INET6, name, bin) != 1)
                return 0;
        snprintf(ip, size, "%s", name);
        return 1;
}

static void on_addrs(const struct dns_answer *a, void *ctx)
{
        struct smtp_dns_q *q = ctx;
        struct smtp_dns *l = q->l;

        q->req = NULL;
        q->result = a->result;
        q->nxdomain = a->nxdomain;
        snprintf(q->reason, sizeof(q->reason), "%s",
                 a->reason != NULL ? a->reason : "");
        for (size_t i = 0; a->result == DNS_OK && i < a->count &&
             q->nips < SMTP_ADDRS_MAX; i++)
                q->ips[q->nips++] = xstrdup(a->values[i]);
        if (--l->pending == 0)
                addrs_done(l);
}

/* ask_addrs - every host's A/AAAA records at once */
static void ask_addrs(struct smtp_dns *l)
{
        char ip[64];

        for (size_t i = 0; i < l->nhosts; i++) {
                struct smtp_dns_host *h = &l->hosts[i];

                if (literal(h->name, ip, sizeof(ip))) {
                        int f = strchr(ip, ':') != NULL ? V6 : V4;

                        h->q[f].asked = 1;
                        h->q[f].result = DNS_OK;
                        h->q[f].ips[h->q[f].nips++] = xstrdup(ip);
                        continue;
                }
                for (int f = V4; f <= V6; f++) {
                        if (!(f == V4 ? sd.v4 : sd.v6))
                                continue;
                        h->q[f].asked = 1;
                        l->pending++;
                        h->q[f].req = dns_query(smtp_srv.dns, h->name,
                                                f == V4 ? DNS_A : DNS_AAAA,
                                                on_addrs, &h->q[f]);
                }
        }
        if (l->pending == 0)
                loop_timer_start(l->kick, 0);   /* never inside the call */
}

/* no_addr_why - why no host had an address: the first temporary failure,
 * else the first permanent one, in preference order */
static void no_addr_why(struct smtp_dns *l, struct status *st)
{
        const struct smtp_dns_q *hard = NULL;

        for (size_t i = 0; i < l->nhosts; i++)
                for (int f = V4; f <= V6; f++) {
                        const struct smtp_dns_q *q = &l->hosts[i].q[f];
                        const char *type = f == V4 ? "A" : "AAAA";

                        if (q->asked && q->result == DNS_TEMPFAIL) {
                                status_set(st, STATUS_LOOKUP_TEMP,
                                           NOT_FOUND_TEXT "Host not found, "
                                           "try again (%s)",
                                           l->hosts[i].name, type, q->reason);
                                return;
                        }
                        if (q->asked && q->result == DNS_NOTFOUND &&
                            hard == NULL)
                                hard = q;
                }
        if (hard == NULL) {
                status_set(st, "5.4.4", "no address of %s is usable "
                           "(inet_protocols)", l->name);
                return;
        }
        if (hard->nxdomain)
                status_set(st, "5.4.4", NOT_FOUND_TEXT "Host not found",
                           l->hosts[hard->host].name,
                           hard->fam == V4 ? "A" : "AAAA");
        else
                status_set(st, "5.4.4", NOT_FOUND_TEXT "Host found but no "
                           "data record of type %s",
                           l->hosts[hard->host].name,
                           hard->fam == V4 ? "A" : "AAAA",
                           hard->fam == V4 ? "A" : "AAAA");
}

/* self_pref - the best preference at which this host appears, or -1 */
static int self_pref(const struct smtp_dns *l)
{
        if (l->port != smtp_srv.tcp_port)
                return -1;      /* another service: not a loop */
        for (size_t i = 0; i < l->nhosts; i++) {
                const struct smtp_dns_host *h = &l->hosts[i];

                if (h->self)
                        return h->pref;
                for (int f = V4; f <= V6; f++)
                        for (size_t k = 0; k < h->q[f].nips; k++)
                                if (host_addrs_match(sd.own, h->q[f].ips[k]))
                                        return h->pref;
        }
        return -1;
}

/* addrs_done - every answer is in: the address list, or why not */
static void addrs_done(struct smtp_dns *l)
{
        struct smtp_job *job = l->job;
        int self = self_pref(l);
        size_t limit = smtp_srv.mx_address_limit;
        struct status st;

        job->naddrs = 0;
        for (size_t i = 0; i < l->nhosts; i++) {
                const struct smtp_dns_host *h = &l->hosts[i];

                if (self >= 0 && h->pref >= self)
                        break;          /* no worse MX than myself */
                for (int n = 0; n < 2; n++) {
                        const struct smtp_dns_q *q =
                                &h->q[n == 0 ? sd.v6_first : !sd.v6_first];

                        for (size_t k = 0; k < q->nips; k++) {
                                if (limit > 0 && job->naddrs >= limit)
                                        break;
                                (void)smtp_nexthop_add(job, h->name,
                                                       q->ips[k], l->port);
                        }
                }
        }
        if (job->naddrs > 0) {
                complete(l, NULL);
                return;
        }
        if (self >= 0) {
                /* Postfix: a better MX that did not resolve is not a loop */
                int better = 0;

                for (size_t i = 0; i < l->nhosts; i++)
                        if (l->hosts[i].pref < self)
                                better = 1;
                if (better)
                        status_set(&st, "4.4.4", "unable to find primary "
                                   "relay for %s", l->name);
                else
                        status_set(&st, STATUS_ROUTING_LOOP, "mail for %s "
                                   "loops back to myself", l->name);
                fail(l, &st);
                return;
        }
        no_addr_why(l, &st);
        if (l->best_pref >= 0)
                log_warn("%s: no MX host for %s has a valid address record",
                         job->id, l->name);
        fail(l, &st);
}

/* by_pref - qsort: MX preference; the shuffle before it orders equals */
static int by_pref(const void *a, const void *b)
{
        const struct smtp_dns_host *x = a, *y = b;

        if (x->pref != y->pref)
                return x->pref < y->pref ? -1 : 1;
        return x->q[0].host < y->q[0].host ? -1 :
               x->q[0].host > y->q[0].host;
}

/* mx_hosts - the MX records as hosts, best first, equals shuffled */
static void mx_hosts(struct smtp_dns *l, const struct dns_answer *a)
{
        size_t *order = xmalloc(a->count * sizeof(*order));

        for (size_t i = 0; i < a->count; i++)
                order[i] = i;
        for (size_t i = a->count; i > 1; i--) {
                size_t j = arc4random_uniform((uint32_t)i), t = order[i - 1];

                order[i - 1] = order[j];
                order[j] = t;
        }
        for (size_t i = 0; i < a->count; i++) {
                const char *name = a->values[order[i]];

                if (*name == '\0' || strcmp(name, ".") == 0)
                        continue;       /* a null MX among others */
                add_host(l, name, a->prefs[order[i]]);
        }
        free(order);
        qsort(l->hosts, l->nhosts, sizeof(*l->hosts), by_pref);
        if (l->nhosts > SMTP_MX_HOSTS_MAX)
                l->nhosts = SMTP_MX_HOSTS_MAX;
        for (size_t i = 0; i < l->nhosts; i++) {
                struct smtp_dns_host *h = &l->hosts[i];

                h->self = strcasecmp(h->name, sd.myhostname) == 0;
                for (int f = V4; f <= V6; f++)
                        h->q[f].host = i;
        }
}

static void on_mx(const struct dns_answer *a, void *ctx)
{
        struct smtp_dns *l = ctx;
        struct status st;

        l->mx_req = NULL;
        if (a->result == DNS_TEMPFAIL) {
                status_set(&st, STATUS_LOOKUP_TEMP, NOT_FOUND_TEXT "Host not "
                           "found, try again (%s)", l->name, "MX", a->reason);
                fail(l, &st);
                return;
        }
        if (a->result == DNS_NOTFOUND && a->nxdomain) {
                status_set(&st, "5.4.4", NOT_FOUND_TEXT "Host not found",
                           l->name, "MX");
                fail(l, &st);
                return;
        }
        if (a->result == DNS_NOTFOUND) {
                /* no MX: the name is its own mail host (RFC 5321 5.1) */
                add_host(l, l->name, 0);
                ask_addrs(l);
                return;
        }
        if (a->count == 1 && a->prefs[0] == 0 &&
            (a->values[0][0] == '\0' || strcmp(a->values[0], ".") == 0)) {
                status_set(&st, "5.1.10", "Domain %s does not accept mail "
                           "(nullMX)", l->name);
                fail(l, &st);
                return;
        }
        mx_hosts(l, a);
        if (l->nhosts == 0) {
                status_set(&st, "5.1.10", "Domain %s does not accept mail "
                           "(nullMX)", l->name);
                fail(l, &st);
                return;
        }
        l->best_pref = l->hosts[0].pref;
        ask_addrs(l);
}

struct smtp_dns *smtp_dns_lookup(struct smtp_job *job, const char *host,
                                 int port, int mx, int final,
                                 smtp_nexthop_cb *done)
{
        struct smtp_dns *l = xcalloc(1, sizeof(*l));
        char ip[64];

        l->job = job;
        l->done = done;
        snprintf(l->name, sizeof(l->name), "%s", host);
        l->port = port;
        l->final = final;
        l->best_pref = -1;
        l->kick = loop_timer_new(on_kick, l);
        if (literal(host, ip, sizeof(ip))) {
                /* as it is, whatever inet_protocols says: the
                 * administrator named it */
                snprintf(l->name, sizeof(l->name), "%s", ip);
                add_host(l, ip, 0);
                ask_addrs(l);
        } else if (mx) {
                l->mx_req = dns_query(smtp_srv.dns, host, DNS_MX, on_mx, l);
        } else {
                add_host(l, host, 0);
                ask_addrs(l);
        }
        return l;
}

void smtp_dns_free(struct smtp_dns **lp)
{
        struct smtp_dns *l = *lp;

        if (l == NULL)
                return;
        *lp = NULL;
        dns_cancel(&l->mx_req);
        for (size_t i = 0; i < l->nhosts; i++)
                for (int f = V4; f <= V6; f++) {
                        struct smtp_dns_q *q = &l->hosts[i].q[f];

                        dns_cancel(&q->req);
                        for (size_t k = 0; k < q->nips; k++)
                                free(q->ips[k]);
                }
        free(l->hosts);
        loop_timer_free(&l->kick);
        free(l);
}
