/* master_listen.c - bind the inet listeners master.cf asks for
 * Used by: yubin, as root before any daemon starts, so that a port in use
 * is a clear error and nothing is left half-started. Listeners survive a
 * reload: an address that stays in master.cf keeps its socket. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "mem.h"

#define LISTEN_BACKLOG 511

struct address {
        char host[256];         /* "" = wildcard of the family */
        int family;             /* AF_INET, AF_INET6 or AF_UNSPEC */
};

/* protocols - which families inet_protocols allows */
static void protocols(struct cfg *cfg, int *v4_r, int *v6_r)
{
        size_t n;
        char **items = cfg_get_list(cfg, "inet_protocols", &n);

        *v4_r = *v6_r = 0;
        for (size_t i = 0; i < n; i++) {
                if (strcmp(items[i], "all") == 0)
                        *v4_r = *v6_r = 1;
                else if (strcmp(items[i], "ipv4") == 0)
                        *v4_r = 1;
                else if (strcmp(items[i], "ipv6") == 0)
                        *v6_r = 1;
        }
        cfg_list_free(&items);
}

/* addresses - what to bind for a service's host part (NULL: use
 * inet_interfaces); returns the count */
static size_t addresses(struct cfg *cfg, const char *host,
                        struct address *out, size_t max)
{
        int v4, v6;
        size_t n = 0;

        protocols(cfg, &v4, &v6);
        if (host != NULL && strcmp(host, "*") != 0) {
                snprintf(out[0].host, sizeof(out[0].host), "%s", host);
                out[0].family = AF_UNSPEC;
                return 1;
        }
        size_t count;
        char **items = cfg_get_list(cfg, "inet_interfaces", &count);
        for (size_t i = 0; i < count && n + 2 <= max; i++) {
                if (strcmp(items[i], "all") == 0) {
                        if (v4)
                                out[n++] = (struct address){ "", AF_INET };
                        if (v6)
                                out[n++] = (struct address){ "", AF_INET6 };
                } else if (strcmp(items[i], "loopback-only") == 0) {
                        if (v4)
                                out[n++] = (struct address){ "127.0.0.1",
                                                             AF_INET };
                        if (v6)
                                out[n++] = (struct address){ "::1",
                                                             AF_INET6 };
                } else {
                        snprintf(out[n].host, sizeof(out[n].host), "%s",
                                 items[i]);
                        out[n++].family = AF_UNSPEC;
                }
        }
        cfg_list_free(&items);
        return n;
}

/* bind_one - a listening socket for addr:port; returns the fd, -2 when
 * the family is not available on this host (skipped), or -1 (logged) */
static int bind_one(const struct master_service *s, const struct address *a)
{
        struct addrinfo hints, *res = NULL;
        int fd = -1, err, one = 1;

        memset(&hints, 0, sizeof(hints));
        hints.ai_family = a->family;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | (a->host[0] ? 0 : AI_NUMERICHOST);
        err = getaddrinfo(a->host[0] ? a->host : NULL, s->port, &hints, &res);
        if (err != 0) {
                log_error("%s: service %s: cannot resolve %s port %s: %s",
                          s->where, s->name, a->host[0] ? a->host : "*",
                          s->port, gai_strerror(err));
                return -1;
        }
        fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                int saved = errno;
                freeaddrinfo(res);
                if (a->host[0] == '\0' &&
                    (saved == EAFNOSUPPORT || saved == EPROTONOSUPPORT))
                        return -2;
                errno = saved;
                log_error("%s: service %s: socket: %m", s->where, s->name);
                return -1;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (res->ai_family == AF_INET6)
                setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
            listen(fd, LISTEN_BACKLOG) < 0) {
                int saved = errno;
                char shown[300];

                snprintf(shown, sizeof(shown), "%s%.255s%s",
                         res->ai_family == AF_INET6 ? "[" : "",
                         a->host[0] ? a->host
                                    : (res->ai_family == AF_INET6 ? "::"
                                                                  : "0.0.0.0"),
                         res->ai_family == AF_INET6 ? "]" : "");
                close(fd);
                freeaddrinfo(res);
                if (a->host[0] == '\0' && saved == EADDRNOTAVAIL)
                        return -2;
                errno = saved;
                log_error("%s: service %s: cannot listen on %s port %s: %m",
                          s->where, s->name, shown, s->port);
                return -1;
        }
        freeaddrinfo(res);
        return fd;
}

/* take_over - a copy of old's open listener with this key, or -1; old
 * keeps its own descriptor, so a failed reload loses nothing */
static int take_over(struct master_conf *old, const char *key)
{
        if (old == NULL)
                return -1;
        for (size_t i = 0; i < old->count; i++) {
                struct master_service *s = &old->services[i];
                for (size_t j = 0; j < s->listener_count; j++) {
                        if (s->listeners[j].fd >= 0 &&
                            strcmp(s->listeners[j].key, key) == 0) {
                                return fcntl(s->listeners[j].fd,
                                             F_DUPFD_CLOEXEC, 3);
                        }
                }
        }
        return -1;
}

static void close_new(struct master_conf *conf, size_t upto)
{
        for (size_t i = 0; i < upto && i < conf->count; i++) {
                struct master_service *s = &conf->services[i];
                for (size_t j = 0; j < s->listener_count; j++) {
                        if (s->listeners[j].fd >= 0)
                                close(s->listeners[j].fd);
                        s->listeners[j].fd = -1;
                }
        }
}

int master_listen_all(struct master_conf *conf, struct master_conf *old)
{
        for (size_t i = 0; i < conf->count; i++) {
                struct master_service *s = &conf->services[i];
                struct address addrs[16];
                size_t n;

                if (strcmp(s->type, "inet") != 0)
                        continue;
                n = addresses(conf->cfg, s->host, addrs, 16);
                s->listeners = xcalloc(n, sizeof(*s->listeners));
                for (size_t j = 0; j < n; j++) {
                        char *key = xasprintf("%d|%s|%s", addrs[j].family,
                                              addrs[j].host, s->port);
                        int fd = take_over(old, key);

                        if (fd < 0)
                                fd = bind_one(s, &addrs[j]);
                        if (fd == -2) {
                                free(key);
                                continue;
                        }
                        if (fd < 0) {
                                free(key);
                                close_new(conf, i + 1);
                                return -1;
                        }
                        s->listeners[s->listener_count].key = key;
                        s->listeners[s->listener_count++].fd = fd;
                }
                if (s->listener_count == 0) {
                        log_error("%s: service %s: no address to listen on",
                                  s->where, s->name);
                        close_new(conf, i + 1);
                        return -1;
                }
        }
        return 0;
}
