/* auth_throttle.c - failed-login delays and per-address bans
 * Used by: authd's front end. One entry per client address that failed:
 * the start of its counting window, failures so far, and the end of its
 * ban. A window opens at an address's first failure and lasts
 * auth_failure_window; reaching auth_failure_limit within it starts a ban
 * of auth_failure_ban_time. Counting stops during a ban (a banned client
 * cannot lengthen its own ban by hammering). Times are the loop's
 * monotonic milliseconds, passed in so tests can move the clock. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "auth_map.h"
#include "auth_throttle.h"
#include "cfg.h"
#include "log.h"
#include "mem.h"

struct throttle_entry {
        long long window_start;
        long long failures;
        long long banned_until; /* 0: not banned */
};

struct throttle_net {
        int family;
        unsigned char addr[16];
        unsigned bits;
};

struct auth_throttle {
        struct auth_throttle_conf conf;
        struct auth_map *clients;
        struct throttle_net *nets;
        size_t net_count;
        int full_warned;
};

struct auth_throttle *auth_throttle_new(const struct auth_throttle_conf *conf)
{
        struct auth_throttle *t = xcalloc(1, sizeof(*t));

        t->conf = *conf;
        t->clients = auth_map_new();
        return t;
}

static int free_entry(const char *key, void *value, void *ctx)
{
        free(value);
        return 1;
}

void auth_throttle_free(struct auth_throttle **tp)
{
        struct auth_throttle *t;

        if (tp == NULL || *tp == NULL)
                return;
        t = *tp;
        auth_map_each(t->clients, free_entry, NULL);
        auth_map_free(&t->clients);
        free(t->nets);
        free(t);
        *tp = NULL;
}

/* parse_addr - an address into family and 16 bytes; 0 or -1 */
static int parse_addr(const char *s, int *family_r, unsigned char *addr)
{
        memset(addr, 0, 16);
        if (inet_pton(AF_INET, s, addr) == 1) {
                *family_r = AF_INET;
                return 0;
        }
        if (inet_pton(AF_INET6, s, addr) == 1) {
                static const unsigned char mapped[12] = {
                        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

                if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
                        memmove(addr, addr + 12, 4);
                        memset(addr + 4, 0, 12);
                        *family_r = AF_INET;
                } else {
                        *family_r = AF_INET6;
                }
                return 0;
        }
        return -1;
}

int auth_throttle_trust(struct auth_throttle *t, const char *network,
                        struct status *st)
{
        char text[80];
        const char *slash;
        struct throttle_net net;
        size_t len;
        char *p = text;

        if (strlen(network) >= sizeof(text))
                return status_set(st, STATUS_CONFIG,
                                  "login_trusted_networks: %s: too long",
                                  network);
        memcpy(text, network, strlen(network) + 1);
        slash = strchr(text, '/');
        len = slash != NULL ? (size_t)(slash - text) : strlen(text);
        text[len] = '\0';
        if (p[0] == '[' && len >= 2 && p[len - 1] == ']') {
                p[len - 1] = '\0';
                p++;
        }
        memset(&net, 0, sizeof(net));
        if (parse_addr(p, &net.family, net.addr) < 0)
                goto bad;
        net.bits = net.family == AF_INET ? 32 : 128;
        if (slash != NULL) {
                char *end;
                unsigned long bits = strtoul(slash + 1, &end, 10);

                if (slash[1] < '0' || slash[1] > '9' || *end != '\0' ||
                    bits > net.bits)
                        goto bad;
                net.bits = (unsigned)bits;
        }
        t->nets = xrealloc(t->nets, (t->net_count + 1) * sizeof(*t->nets));
        t->nets[t->net_count++] = net;
        return 0;
bad:
        return status_set(st, STATUS_CONFIG,
                          "login_trusted_networks: %s: not ADDRESS or "
                          "ADDRESS/BITS", network);
}

static int net_match(const struct throttle_net *n, int family,
                     const unsigned char *addr)
{
        unsigned full = n->bits / 8;
        unsigned rest = n->bits % 8;

        if (n->family != family)
                return 0;
        if (memcmp(n->addr, addr, full) != 0)
                return 0;
        if (rest == 0)
                return 1;
        unsigned char mask = (unsigned char)(0xff << (8 - rest));
        return (n->addr[full] & mask) == (addr[full] & mask);
}

int auth_throttle_trusted(const struct auth_throttle *t, const char *rip)
{
        unsigned char addr[16];
        int family;

        if (t->net_count == 0 || parse_addr(rip, &family, addr) < 0)
                return 0;
        for (size_t i = 0; i < t->net_count; i++)
                if (net_match(&t->nets[i], family, addr))
                        return 1;
        return 0;
}

long long auth_throttle_delay(const struct auth_throttle *t, const char *rip)
{
        return auth_throttle_trusted(t, rip) ? 0 : t->conf.delay_ms;
}

long long auth_throttle_banned(struct auth_throttle *t, const char *rip,
                               long long now_ms)
{
        struct throttle_entry *e = auth_map_get(t->clients, rip);

        if (e == NULL || e->banned_until == 0)
                return 0;
        if (now_ms >= e->banned_until) {
                /* the ban is over: start afresh */
                free(auth_map_del(t->clients, rip));
                return 0;
        }
        return e->banned_until - now_ms;
}

struct purge_ctx {
        const struct auth_throttle *t;
        long long now;
};

/* lapsed - 1 if the entry has nothing left to remember at now */
static int lapsed(const struct auth_throttle *t,
                  const struct throttle_entry *e, long long now)
{
        if (e->banned_until != 0)
                return now >= e->banned_until;
        return now - e->window_start >= t->conf.window_ms;
}

static int purge_one(const char *key, void *value, void *ctx)
{
        struct purge_ctx *pc = ctx;

        if (!lapsed(pc->t, value, pc->now))
                return 0;
        free(value);
        return 1;
}

size_t auth_throttle_purge(struct auth_throttle *t, long long now_ms)
{
        struct purge_ctx pc = { t, now_ms };

        auth_map_each(t->clients, purge_one, &pc);
        return auth_map_count(t->clients);
}

int auth_throttle_failed(struct auth_throttle *t, const char *rip,
                         long long now_ms)
{
        struct throttle_entry *e;

        if (t->conf.limit <= 0 || *rip == '\0' ||
            auth_throttle_trusted(t, rip))
                return 0;
        e = auth_map_get(t->clients, rip);
        if (e == NULL) {
                if (auth_map_count(t->clients) >= AUTH_THROTTLE_MAX &&
                    auth_throttle_purge(t, now_ms) >= AUTH_THROTTLE_MAX) {
                        if (!t->full_warned)
                                log_warn("auth: %d client addresses with "
                                         "failed logins: not counting more "
                                         "for now", AUTH_THROTTLE_MAX);
                        t->full_warned = 1;
                        return 0;
                }
                t->full_warned = 0;
                e = xcalloc(1, sizeof(*e));
                e->window_start = now_ms;
                auth_map_put(t->clients, rip, e);
        } else if (e->banned_until != 0) {
                if (now_ms < e->banned_until)
                        return 0;       /* no counting during a ban */
                memset(e, 0, sizeof(*e));
                e->window_start = now_ms;
        } else if (now_ms - e->window_start >= t->conf.window_ms) {
                e->window_start = now_ms;
                e->failures = 0;
        }
        if (++e->failures < t->conf.limit)
                return 0;
        e->banned_until = now_ms + (t->conf.ban_ms > 0 ? t->conf.ban_ms : 1);
        return 1;
}

int auth_throttle_load(struct cfg *c, struct auth_throttle **t_r,
                       struct status *st)
{
        struct auth_throttle_conf conf;
        struct auth_throttle *t;
        char **nets;
        size_t count;

        conf.delay_ms = cfg_get_time(c, "auth_failure_delay") * 1000;
        conf.limit = cfg_get_int(c, "auth_failure_limit");
        conf.window_ms = cfg_get_time(c, "auth_failure_window") * 1000;
        conf.ban_ms = cfg_get_time(c, "auth_failure_ban_time") * 1000;
        t = auth_throttle_new(&conf);
        nets = cfg_get_list(c, "login_trusted_networks", &count);
        for (size_t i = 0; i < count; i++) {
                if (auth_throttle_trust(t, nets[i], st) < 0) {
                        cfg_list_free(&nets);
                        auth_throttle_free(&t);
                        *t_r = NULL;
                        return -1;
                }
        }
        cfg_list_free(&nets);
        *t_r = t;
        return 0;
}
