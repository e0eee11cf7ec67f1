/* smtp_nexthop.c - where a destination's mail goes
 * Used by: smtp.c for each request. The next hop comes from
 * transport_maps (the domain, then its parent domains as ".domain"; a
 * value "smtp:[host]:port", "smtp:host", ":[host]" or "smtp:" keeps the
 * domain), then relayhost, then the domain itself. Postfix's forms:
 * "[host]:port" and "[host]" name one host whose address records are
 * used as they are; "host:port" and "host" ask for MX records first.
 * Addresses: literal IPv4/IPv6 are used directly; a bracketed name is
 * resolved with getaddrinfo(), and a failure defers (a relayhost that does
 * not resolve must never bounce the mail behind it). MX look-ups are not
 * done yet: mail for a next hop that needs one waits in the queue with a
 * reason saying so, rather than being sent to a guessed address or
 * bounced. Parses administrator data only. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "map.h"
#include "mem.h"
#include "smtp.h"

int smtp_nexthop_parse(const char *text, char *host, size_t size,
                       int *port_r, int *mx_r)
{
        const char *p = text, *end;
        size_t n;

        if (strncasecmp(p, "smtp:", 5) == 0)
                p += 5;
        else if (*p == ':')
                p++;
        *port_r = 25;
        *mx_r = 1;
        if (*p == '[') {
                end = strchr(p, ']');
                if (end == NULL)
                        return -1;
                n = (size_t)(end - p - 1);
                p++;
                end++;
                *mx_r = 0;
        } else {
                end = strrchr(p, ':');
                if (end == NULL || strchr(p, ':') != end)
                        end = p + strlen(p);    /* none, or bare IPv6 */
                n = (size_t)(end - p);
        }
        if (n == 0 || n >= size)
                return -1;
        memcpy(host, p, n);
        host[n] = '\0';
        if (*end == ':') {
                char *e;
                long port = strtol(end + 1, &e, 10);

                if (end[1] == '\0' || *e != '\0' || port < 1 || port > 65535)
                        return -1;
                *port_r = (int)port;
        } else if (*end != '\0') {
                return -1;
        }
        return 0;
}

/* transport - the transport_maps value for domain or a parent; 1, 0, -1 */
static int transport(const char *domain, const char **value_r,
                     struct status *st)
{
        const char *d = domain;
        int r;

        if (smtp_srv.transport == NULL)
                return 0;
        r = maps_lookup(smtp_srv.transport, domain, value_r, st);
        while (r == 0 && (d = strchr(d + 1, '.')) != NULL)
                r = maps_lookup(smtp_srv.transport, d, value_r, st);
        return r;
}

/* add_addr - one address for host:port into job->addrs */
static void add_addr(struct smtp_job *job, const struct sockaddr *sa,
                     socklen_t len, const char *host, int port)
{
        struct smtp_addr *a;

        if (job->naddrs >= SMTP_ADDRS_MAX)
                return;
        a = &job->addrs[job->naddrs++];
        memset(a, 0, sizeof(*a));
        memcpy(&a->sa, sa, len);
        a->salen = len;
        snprintf(a->host, sizeof(a->host), "%s", host);
        a->port = port;
        if (sa->sa_family == AF_INET6) {
                struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->sa;

                s6->sin6_port = htons((uint16_t)port);
                inet_ntop(AF_INET6, &s6->sin6_addr, a->ip, sizeof(a->ip));
        } else {
                struct sockaddr_in *s4 = (struct sockaddr_in *)&a->sa;

                s4->sin_port = htons((uint16_t)port);
                inet_ntop(AF_INET, &s4->sin_addr, a->ip, sizeof(a->ip));
        }
}

/* host_addrs - the addresses of host; 0, or -1 with st */
static int host_addrs(struct smtp_job *job, const char *host, int port,
                      struct status *st)
{
        struct sockaddr_in s4;
        struct sockaddr_in6 s6;
        struct addrinfo hints, *res = NULL;
        int r;

        memset(&s4, 0, sizeof(s4));
        memset(&s6, 0, sizeof(s6));
        if (inet_pton(AF_INET, host, &s4.sin_addr) == 1) {
                s4.sin_family = AF_INET;
                add_addr(job, (struct sockaddr *)&s4, sizeof(s4), host, port);
                return 0;
        }
        if (strncasecmp(host, "ipv6:", 5) == 0)
                host += 5;
        if (inet_pton(AF_INET6, host, &s6.sin6_addr) == 1) {
                s6.sin6_family = AF_INET6;
                add_addr(job, (struct sockaddr *)&s6, sizeof(s6), host, port);
                return 0;
        }
        memset(&hints, 0, sizeof(hints));
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_family = AF_UNSPEC;
        r = getaddrinfo(host, NULL, &hints, &res);
        if (r == EAI_NONAME || r == EAI_NODATA)
                return status_set(st, STATUS_LOOKUP_TEMP, "Host or domain "
                                  "name not found. Name service error for "
                                  "name=%s type=A: Host not found", host);
        if (r != 0)
                return status_set(st, "4.4.3", "Host or domain name not "
                                  "found. Name service error for name=%s "
                                  "type=A: %s", host, gai_strerror(r));
        for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
                if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
                        add_addr(job, ai->ai_addr, ai->ai_addrlen, host,
                                 port);
        freeaddrinfo(res);
        if (job->naddrs == 0)
                return status_set(st, STATUS_LOOKUP_TEMP, "no address for %s",
                                  host);
        return 0;
}

/* is_literal - an IPv4 or IPv6 address, not a name */
static int is_literal(const char *host)
{
        unsigned char buf[sizeof(struct in6_addr)];

        if (strncasecmp(host, "ipv6:", 5) == 0)
                host += 5;
        return inet_pton(AF_INET, host, buf) == 1 ||
               inet_pton(AF_INET6, host, buf) == 1;
}

int smtp_nexthop(struct smtp_job *job, struct status *st)
{
        const char *value = NULL, *hop;
        char host[SMTP_HOST_MAX];
        int port, mx, r;

        r = transport(job->domain, &value, st);
        if (r < 0)
                return -1;
        if (r > 0 && strchr(value, ':') != NULL &&
            strncasecmp(value, "smtp:", 5) != 0 && *value != ':')
                return status_set(st, STATUS_CONFIG_TEMP, "transport_maps: "
                                  "%s: only the smtp transport is "
                                  "supported", value);
        hop = r > 0 && strchr(value, ':')[1] != '\0' ? value :
              *smtp_srv.relayhost != '\0' ? smtp_srv.relayhost : job->domain;
        if (smtp_nexthop_parse(hop, host, sizeof(host), &port, &mx) < 0)
                return status_set(st, STATUS_CONFIG_TEMP, "malformed next "
                                  "hop \"%s\"", hop);
        snprintf(job->nexthop, sizeof(job->nexthop), "%s%s%s",
                 mx ? "" : "[", host, mx ? "" : "]");
        if (port != 25)
                snprintf(job->nexthop + strlen(job->nexthop),
                         sizeof(job->nexthop) - strlen(job->nexthop), ":%d",
                         port);
        job->naddrs = 0;
        job->cur = 0;
        if (mx && !is_literal(host))
                return status_set(st, STATUS_LOOKUP_TEMP, "MX look-up of %s "
                                  "is not available in this version; set "
                                  "relayhost = [host] to send through a "
                                  "smarthost", host);
        return host_addrs(job, host, port, st);
}
