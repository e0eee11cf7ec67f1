/* host_addrs.c - this host's own addresses; see host_addrs.h
 * Runs in smtpd and smtp at start (getifaddrs, getaddrinfo), then only
 * compares. */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "host_addrs.h"
#include "inet_list.h"
#include "log.h"
#include "mem.h"

struct host_addrs {
        struct inet_list_net *addrs;
        size_t count;
};

static void add(struct host_addrs *h, const char *ip)
{
        struct inet_list_net a;

        if (inet_list_addr_parse(ip, &a) < 0 || host_addrs_match(h, ip))
                return;
        h->addrs = xrealloc(h->addrs, (h->count + 1) * sizeof(*h->addrs));
        h->addrs[h->count++] = a;
}

static void add_sockaddr(struct host_addrs *h, const struct sockaddr *sa)
{
        char text[INET6_ADDRSTRLEN];
        const void *a;

        if (sa == NULL || (sa->sa_family != AF_INET &&
                           sa->sa_family != AF_INET6))
                return;
        a = sa->sa_family == AF_INET ?
            (const void *)&((const struct sockaddr_in *)sa)->sin_addr :
            (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (inet_ntop(sa->sa_family, a, text, sizeof(text)) != NULL)
                add(h, text);
}

/* add_param - the addresses an inet_interfaces-style parameter names */
static void add_param(struct host_addrs *h, struct cfg *cfg,
                      const char *param)
{
        size_t count = 0;
        char **items = cfg_get_list(cfg, param, &count);

        for (size_t i = 0; i < count; i++) {
                char *item = items[i];
                size_t n = strlen(item);
                struct addrinfo hints, *res = NULL;

                if (strcasecmp(item, "all") == 0) {
                        struct ifaddrs *ifa = NULL;

                        if (getifaddrs(&ifa) == 0)
                                for (struct ifaddrs *p = ifa; p != NULL;
                                     p = p->ifa_next)
                                        add_sockaddr(h, p->ifa_addr);
                        freeifaddrs(ifa);
                        continue;
                }
                if (strcasecmp(item, "loopback-only") == 0) {
                        add(h, "127.0.0.1");
                        add(h, "::1");
                        continue;
                }
                if (n > 2 && item[0] == '[' && item[n - 1] == ']') {
                        item[n - 1] = '\0';
                        item++;
                }
                memset(&hints, 0, sizeof(hints));
                hints.ai_socktype = SOCK_STREAM;
                if (getaddrinfo(item, NULL, &hints, &res) != 0) {
                        log_warn("%s: cannot find the addresses of \"%s\"",
                                 param, item);
                        continue;
                }
                for (struct addrinfo *a = res; a != NULL; a = a->ai_next)
                        add_sockaddr(h, a->ai_addr);
                freeaddrinfo(res);
        }
        cfg_list_free(&items);
}

struct host_addrs *host_addrs_open(struct cfg *cfg)
{
        struct host_addrs *h = xcalloc(1, sizeof(*h));

        add_param(h, cfg, "inet_interfaces");
        add_param(h, cfg, "proxy_interfaces");
        return h;
}

int host_addrs_match(const struct host_addrs *h, const char *ip)
{
        struct inet_list_net a;

        if (inet_list_addr_parse(ip, &a) < 0)
                return 0;
        for (size_t i = 0; i < h->count; i++)
                if (inet_list_net_match(&h->addrs[i], &a) == 1)
                        return 1;
        return 0;
}

void host_addrs_free(struct host_addrs **hp)
{
        struct host_addrs *h = *hp;

        if (h == NULL)
                return;
        free(h->addrs);
        free(h);
        *hp = NULL;
}
