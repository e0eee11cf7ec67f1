/* login_trust.c - when an IMAP/POP3 connection counts as secured
 * Used by: login_server.c. Networks are kept as (family, 16 bytes, bits);
 * an IPv4 address is matched in its 4-byte form whether it arrived as
 * IPv4 or IPv4-mapped IPv6. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cfg.h"
#include "login_trust.h"
#include "mem.h"

struct trust_net {
        int family;
        unsigned char addr[16];
        unsigned bits;
};

struct login_trust {
        struct trust_net *nets;
        size_t count;
};

/* parse_addr - text to family and bytes; IPv4-mapped IPv6 becomes IPv4.
 * 0, or -1 for anything that is not an address. */
static int parse_addr(const char *text, int *family_r, unsigned char *addr)
{
        static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0,
                                                  0, 0, 0xff, 0xff };

        memset(addr, 0, 16);
        if (inet_pton(AF_INET, text, addr) == 1) {
                *family_r = AF_INET;
                return 0;
        }
        if (inet_pton(AF_INET6, text, addr) != 1)
                return -1;
        if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
                memmove(addr, addr + 12, 4);
                memset(addr + 4, 0, 12);
                *family_r = AF_INET;
        } else {
                *family_r = AF_INET6;
        }
        return 0;
}

/* parse_net - "ADDRESS", "ADDRESS/BITS", "[ADDRESS]/BITS"; 0 or -1 */
static int parse_net(const char *item, struct trust_net *n)
{
        char text[80];
        char *slash, *p = text;
        size_t len = strlen(item);

        if (len == 0 || len >= sizeof(text))
                return -1;
        memcpy(text, item, len + 1);
        slash = strchr(text, '/');
        if (slash != NULL)
                *slash = '\0';
        len = strlen(p);
        if (len >= 2 && p[0] == '[' && p[len - 1] == ']') {
                p[len - 1] = '\0';
                p++;
        }
        if (parse_addr(p, &n->family, n->addr) < 0)
                return -1;
        n->bits = n->family == AF_INET ? 32 : 128;
        if (slash != NULL) {
                char *end;
                unsigned long bits;

                if (slash[1] < '0' || slash[1] > '9')
                        return -1;
                bits = strtoul(slash + 1, &end, 10);
                if (*end != '\0' || bits > n->bits)
                        return -1;
                n->bits = (unsigned)bits;
        }
        return 0;
}

int login_trust_new(char **items, size_t count, struct login_trust **t_r,
                    struct status *st)
{
        struct login_trust *t = xcalloc(1, sizeof(*t));

        t->nets = xcalloc(count > 0 ? count : 1, sizeof(*t->nets));
        for (size_t i = 0; i < count; i++) {
                if (parse_net(items[i], &t->nets[t->count]) < 0) {
                        login_trust_free(&t);
                        return status_set(st, STATUS_CONFIG,
                                          "login_trusted_networks: %s: not "
                                          "ADDRESS or ADDRESS/BITS", items[i]);
                }
                t->count++;
        }
        *t_r = t;
        return 0;
}

int login_trust_from_cfg(struct cfg *cfg, struct login_trust **t_r,
                         struct status *st)
{
        size_t count;
        char **items = cfg_get_list(cfg, "login_trusted_networks", &count);
        int ret = login_trust_new(items, count, t_r, st);

        cfg_list_free(&items);
        return ret;
}

void login_trust_free(struct login_trust **tp)
{
        if (tp == NULL || *tp == NULL)
                return;
        free((*tp)->nets);
        free(*tp);
        *tp = NULL;
}

static int net_match(const struct trust_net *n, int family,
                     const unsigned char *addr)
{
        unsigned full = n->bits / 8, rest = n->bits % 8;

        if (n->family != family || memcmp(n->addr, addr, full) != 0)
                return 0;
        if (rest == 0)
                return 1;
        unsigned char mask = (unsigned char)(0xff << (8 - rest));
        return (n->addr[full] & mask) == (addr[full] & mask);
}

int login_trust_match(const struct login_trust *t, const char *ip)
{
        unsigned char addr[16];
        int family;

        if (t == NULL || ip == NULL || parse_addr(ip, &family, addr) < 0)
                return 0;
        for (size_t i = 0; i < t->count; i++)
                if (net_match(&t->nets[i], family, addr))
                        return 1;
        return 0;
}

int login_trust_secured(const struct login_trust *t, int tls,
                        const char *rip, const char *lip)
{
        unsigned char ra[16], la[16];
        int rf, lf;

        if (tls)
                return 1;
        if (rip != NULL && lip != NULL && parse_addr(rip, &rf, ra) == 0 &&
            parse_addr(lip, &lf, la) == 0 && rf == lf &&
            memcmp(ra, la, sizeof(ra)) == 0)
                return 1;
        return login_trust_match(t, rip);
}
