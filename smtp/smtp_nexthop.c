/* smtp_nexthop.c - where a destination's mail goes
 * Used by: smtp.c for each request. The next hop comes from
 * transport_maps (the domain, then its parent domains as ".domain"; a
 * value "smtp:[host]:port", "smtp:host", ":[host]" or "smtp:" keeps the
 * domain), then relayhost, then the domain itself. Postfix's forms:
 * "[host]:port" and "[host]" name one host whose address records are
 * used as they are; "host:port" and "host" ask for MX records first; a
 * next hop without a port uses smtp_tcp_port. The look-ups themselves are
 * smtp_dns.c's, which also decides what a failure means: only the
 * recipients' own domain can bounce on a DNS answer; a relayhost or
 * transport_maps host that does not resolve defers the mail behind it.
 * Parses administrator data only. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "map.h"
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
        *port_r = 0;
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

int smtp_nexthop_add(struct smtp_job *job, const char *host, const char *ip,
                     int port)
{
        struct smtp_addr *a;
        struct sockaddr_in *s4;
        struct sockaddr_in6 *s6;

        if (job->naddrs >= SMTP_ADDRS_MAX)
                return -1;
        a = &job->addrs[job->naddrs];
        memset(a, 0, sizeof(*a));
        s4 = (struct sockaddr_in *)&a->sa;
        s6 = (struct sockaddr_in6 *)&a->sa;
        if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
                s4->sin_family = AF_INET;
                s4->sin_port = htons((uint16_t)port);
                a->salen = sizeof(*s4);
        } else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
                s6->sin6_family = AF_INET6;
                s6->sin6_port = htons((uint16_t)port);
                a->salen = sizeof(*s6);
        } else {
                return -1;
        }
        snprintf(a->host, sizeof(a->host), "%s", host);
        snprintf(a->ip, sizeof(a->ip), "%s", ip);
        a->port = port;
        job->naddrs++;
        return 0;
}

int smtp_nexthop(struct smtp_job *job, smtp_nexthop_cb *done,
                 struct status *st)
{
        const char *value = NULL, *hop, *colon = NULL;
        char host[SMTP_HOST_MAX];
        int port, mx, r;

        r = transport(job->domain, &value, st);
        if (r < 0)
                return -1;
        if (r > 0) {
                /* "transport:nexthop", or a transport alone ("smtp") */
                colon = strchr(value, ':');
                size_t tlen = colon != NULL ? (size_t)(colon - value) :
                              strlen(value);

                if (tlen != 0 && (tlen != 4 ||
                                  strncasecmp(value, "smtp", 4) != 0))
                        return status_set(st, STATUS_CONFIG_TEMP,
                                          "transport_maps: %s: only the "
                                          "smtp transport is supported",
                                          value);
        }
        hop = colon != NULL && colon[1] != '\0' ? value :
              *smtp_srv.relayhost != '\0' ? smtp_srv.relayhost : job->domain;
        if (smtp_nexthop_parse(hop, host, sizeof(host), &port, &mx) < 0)
                return status_set(st, STATUS_CONFIG_TEMP, "malformed next "
                                  "hop \"%s\"", hop);
        snprintf(job->nexthop, sizeof(job->nexthop), "%s%s%s",
                 mx ? "" : "[", host, mx ? "" : "]");
        if (port != 0 && port != 25)
                snprintf(job->nexthop + strlen(job->nexthop),
                         sizeof(job->nexthop) - strlen(job->nexthop), ":%d",
                         port);
        job->naddrs = 0;
        job->cur = 0;
        job->lookup = smtp_dns_lookup(job, host, port != 0 ? port :
                                      smtp_srv.tcp_port, mx, hop ==
                                      job->domain, done);
        return 0;
}
