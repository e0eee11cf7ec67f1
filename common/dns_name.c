/* dns_name.c - the client's host name: PTR, then forward confirmation
 * Used by: smtpd at connect (through dns_client_name()). As Postfix's
 * smtpd finds a client's name: the address's PTR name (the "reverse"
 * name; "unknown" when there is none), then the addresses of that name,
 * which must include the client's for the name to count as verified;
 * otherwise the verified name is "unknown" too and the status says why
 * (TEMP: ask again later, PERM: no PTR, FORGED: the name does not map
 * back). A PTR name that is not a valid host name, or is an address, is
 * PERM. With the system resolver /etc/hosts is read first, as
 * getnameinfo() and getaddrinfo() would. Parses answers from the network
 * through c-ares. */
#include <arpa/inet.h>
#include <ares.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "dns.h"
#include "dns_int.h"
#include "loop.h"
#include "mem.h"

/* bin_addr - ip as family and bytes (an IPv4-mapped IPv6 address as
 * IPv4); 0, or -1 */
static int bin_addr(const char *ip, int *family_r, unsigned char *a)
{
        if (inet_pton(AF_INET, ip, a) == 1) {
                *family_r = AF_INET;
                return 0;
        }
        if (inet_pton(AF_INET6, ip, a) != 1)
                return -1;
        *family_r = AF_INET6;
        if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a)) {
                memmove(a, a + 12, 4);
                *family_r = AF_INET;
        }
        return 0;
}

/* same_addr - 1 if sockaddr sa is the address family/a */
static int same_addr(const struct sockaddr *sa, int family,
                     const unsigned char *a)
{
        if (sa->sa_family == AF_INET && family == AF_INET)
                return memcmp(&((const struct sockaddr_in *)sa)->sin_addr,
                              a, 4) == 0;
        if (sa->sa_family == AF_INET6) {
                const unsigned char *b =
                        ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;

                if (family == AF_INET6)
                        return memcmp(b, a, 16) == 0;
                return IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)b) &&
                       memcmp(b + 12, a, 4) == 0;
        }
        return 0;
}

/* finish - both statuses from one outcome */
static void finish(struct dns_req *r, enum dns_name_status reverse,
                   enum dns_name_status name)
{
        r->reverse_status = reverse;
        r->name_status = name;
        if (reverse != DNS_NAME_OK)
                xfree(&r->reverse);
        dns_req_done(r);
}

static void forward_done(void *arg, int status, int timeouts,
                         struct ares_addrinfo *res)
{
        struct dns_token *t = arg;
        struct dns_req *r = t->req;
        unsigned char a[16];
        int family, found = 0;
        const char *reason;

        free(t);
        if (r == NULL) {
                if (res != NULL)
                        ares_freeaddrinfo(res);
                return;
        }
        r->token = NULL;
        if (status == ARES_SUCCESS && bin_addr(r->name, &family, a) == 0)
                for (struct ares_addrinfo_node *n = res ? res->nodes : NULL;
                     n != NULL && !found; n = n->ai_next)
                        found = same_addr(n->ai_addr, family, a);
        if (res != NULL)
                ares_freeaddrinfo(res);
        if (found)
                finish(r, DNS_NAME_OK, DNS_NAME_OK);
        else if (status != ARES_SUCCESS &&
                 dns_status_result(status, &reason) == DNS_TEMPFAIL)
                finish(r, DNS_NAME_OK, DNS_NAME_TEMP);
        else
                finish(r, DNS_NAME_OK, DNS_NAME_FORGED);
}

static void reverse_done(void *arg, int status, int timeouts,
                         struct hostent *h)
{
        struct dns_token *t = arg;
        struct dns_req *r = t->req;
        struct ares_addrinfo_hints hints;
        const char *reason;
        unsigned char a[16];
        int family;

        free(t);
        if (r == NULL)
                return;
        r->token = NULL;
        if (status != ARES_SUCCESS || h == NULL || h->h_name == NULL) {
                enum dns_name_status s =
                        dns_status_result(status, &reason) == DNS_TEMPFAIL ?
                        DNS_NAME_TEMP : DNS_NAME_PERM;

                finish(r, s, s);
                return;
        }
        r->reverse = xstrdup(h->h_name);
        {
                size_t n = strlen(r->reverse);

                if (n > 1 && r->reverse[n - 1] == '.')
                        r->reverse[n - 1] = '\0';
        }
        /* an address or a malformed name is no name (Postfix's "numeric
         * hostname") */
        if (bin_addr(r->reverse, &family, a) == 0 ||
            r->reverse[0] == '[' || !addr_domain_valid(r->reverse, 0)) {
                finish(r, DNS_NAME_PERM, DNS_NAME_PERM);
                return;
        }
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        ares_getaddrinfo(r->d->ch, r->reverse, NULL, &hints, forward_done,
                         dns_token_new(r));
        dns_rearm(r->d);
}

void dns_name_timeout(struct dns_req *r)
{
        if (r->reverse != NULL) {
                r->reverse_status = DNS_NAME_OK;
                r->name_status = DNS_NAME_TEMP;
        } else {
                r->reverse_status = r->name_status = DNS_NAME_TEMP;
        }
}

struct dns_req *dns_client_name(struct dns *d, const char *ip,
                                long long timeout_ms, dns_name_cb *cb,
                                void *ctx)
{
        struct dns_req *r = dns_req_new(d, DNS_REQ_NAME, ip, timeout_ms);
        unsigned char a[16];
        int family;

        r->name_cb = cb;
        r->ctx = ctx;
        if (bin_addr(ip, &family, a) < 0) {
                finish(r, DNS_NAME_PERM, DNS_NAME_PERM);
                return r;
        }
        ares_gethostbyaddr(d->ch, a, family == AF_INET ? 4 : 16, family,
                           reverse_done, dns_token_new(r));
        dns_rearm(d);
        return r;
}
