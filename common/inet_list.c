/* inet_list.c - mynetworks-style lists of client addresses
 * Used by: smtpd (mynetworks and the *_exceptions lists), map_cidr.c (the
 * network syntax). Reads main.cf values and files an administrator wrote.
 * A list is an array of items tried in order; a /file item is read once,
 * at open, into items of its own (Postfix reads it at start-up too). */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cfg_lines.h"
#include "inet_list.h"
#include "map.h"
#include "mem.h"


struct inet_item {
        int negate;
        struct inet_list_net net;
        struct maps *table;     /* type:table, or NULL */
};

struct inet_list {
        struct inet_item *items;
        size_t count;
};

int inet_list_net_parse(const char *text, size_t len,
                        struct inet_list_net *net_r, const char **error_r)
{
        char tmp[INET6_ADDRSTRLEN + 1];
        const char *a = text, *end = text + len, *ae, *slash;
        unsigned long bits;
        unsigned max;

        memset(net_r, 0, sizeof(*net_r));
        *error_r = "bad address";
        if (len > 0 && *a == '[') {
                a++;
                ae = memchr(a, ']', (size_t)(end - a));
                if (ae == NULL)
                        return -1;
                slash = ae + 1 < end ? ae + 1 : NULL;
                if (slash != NULL && *slash != '/')
                        return -1;
        } else {
                slash = memchr(a, '/', len);
                ae = slash != NULL ? slash : end;
        }
        if (ae == a || (size_t)(ae - a) > INET6_ADDRSTRLEN)
                return -1;
        memcpy(tmp, a, (size_t)(ae - a));
        tmp[ae - a] = '\0';
        if (inet_pton(AF_INET, tmp, net_r->addr) == 1) {
                if (*text == '[')
                        return -1;
                net_r->family = AF_INET;
                max = 32;
        } else if (inet_pton(AF_INET6, tmp, net_r->addr) == 1) {
                net_r->family = AF_INET6;
                max = 128;
        } else {
                return -1;
        }
        net_r->bits = max;
        if (slash != NULL) {
                const char *p = slash + 1;
                char *digits_end;

                *error_r = "bad prefix length";
                if (p == end || !isdigit((unsigned char)*p) ||
                    (size_t)(end - p) > 3)
                        return -1;
                memcpy(tmp, p, (size_t)(end - p));
                tmp[end - p] = '\0';
                bits = strtoul(tmp, &digits_end, 10);
                if (*digits_end != '\0' || bits > max)
                        return -1;
                net_r->bits = (unsigned)bits;
        }
        for (unsigned i = net_r->bits; i < max; i++)
                if (net_r->addr[i / 8] & (0x80 >> (i % 8))) {
                        *error_r = "non-null host address bits";
                        return -1;
                }
        return 0;
}

int inet_list_addr_parse(const char *ip, struct inet_list_net *addr_r)
{
        static const unsigned char mapped[12] = {
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
        };

        memset(addr_r, 0, sizeof(*addr_r));
        if (inet_pton(AF_INET, ip, addr_r->addr) == 1) {
                addr_r->family = AF_INET;
                addr_r->bits = 32;
                return 0;
        }
        if (inet_pton(AF_INET6, ip, addr_r->addr) != 1)
                return -1;
        if (memcmp(addr_r->addr, mapped, sizeof(mapped)) == 0) {
                memmove(addr_r->addr, addr_r->addr + 12, 4);
                memset(addr_r->addr + 4, 0, 12);
                addr_r->family = AF_INET;
                addr_r->bits = 32;
                return 0;
        }
        addr_r->family = AF_INET6;
        addr_r->bits = 128;
        return 0;
}

int inet_list_net_match(const struct inet_list_net *net,
                        const struct inet_list_net *addr)
{
        unsigned full = net->bits / 8, rest = net->bits % 8;

        if (net->family != addr->family)
                return 0;
        if (memcmp(net->addr, addr->addr, full) != 0)
                return 0;
        if (rest == 0)
                return 1;
        unsigned char mask = (unsigned char)(0xff << (8 - rest));
        return (net->addr[full] & mask) == (addr->addr[full] & mask);
}

static int add_value(struct inet_list *l, const char *value,
                     const char *param, int depth, struct status *st);

/* file_line - one line of a list file, one level deeper */
static int file_line(void *ctx, const char *line, const char *where,
                     int depth, struct status *st)
{
        return add_value(ctx, line, where, depth, st);
}

static int add_value(struct inet_list *l, const char *value,
                     const char *param, int depth, struct status *st)
{
        const char *p = value, *item;
        size_t len;
        int r;

        while ((r = map_list_next(&p, &item, &len)) != 0) {
                struct inet_item it;
                const char *error;
                char *text;

                if (r < 0)
                        return status_set(st, STATUS_CONFIG_TEMP,
                                          "%s: unbalanced '{'", param);
                memset(&it, 0, sizeof(it));
                if (*item == '!') {
                        it.negate = 1;
                        item++;
                        len--;
                }
                text = xstrndup(item, len);
                if (*text == '/') {
                        if (it.negate)
                                r = status_set(st, STATUS_CONFIG_TEMP,
                                               "%s: \"!%s\": a file cannot "
                                               "be negated", param, text);
                        else
                                r = cfg_lines_file(text, param, depth,
                                                   file_line, l, st);
                        free(text);
                        if (r < 0)
                                return -1;
                        continue;
                }
                if (inet_list_net_parse(text, len, &it.net, &error) < 0) {
                        const char *colon = strchr(text, ':');

                        /* not a network: a type:table? */
                        if (colon == NULL || colon == text ||
                            strchr(text, '[') != NULL ||
                            strspn(text, "0123456789abcdefABCDEF:.") == len) {
                                status_set(st, STATUS_CONFIG_TEMP,
                                           "%s: \"%s\": %s", param, text,
                                           error);
                                free(text);
                                return -1;
                        }
                        if (maps_open(text, param, 0, &it.table, st) < 0) {
                                free(text);
                                return -1;
                        }
                }
                free(text);
                l->items = xrealloc(l->items,
                                    (l->count + 1) * sizeof(*l->items));
                l->items[l->count++] = it;
        }
        return 0;
}

int inet_list_open(const char *value, const char *param,
                   struct inet_list **l_r, struct status *st)
{
        struct inet_list *l = xcalloc(1, sizeof(*l));

        *l_r = NULL;
        if (add_value(l, value != NULL ? value : "", param, 0, st) < 0) {
                inet_list_free(&l);
                return -1;
        }
        *l_r = l;
        return 0;
}

int inet_list_match(const struct inet_list *l, const char *ip)
{
        struct inet_list_net a;
        struct status st;

        if (inet_list_addr_parse(ip, &a) < 0)
                return 0;
        for (size_t i = 0; i < l->count; i++) {
                const struct inet_item *it = &l->items[i];
                int hit;

                if (it->table != NULL) {
                        const char *v;

                        hit = maps_lookup(it->table, ip, &v, &st);
                        if (hit < 0)
                                return -1;
                } else {
                        hit = inet_list_net_match(&it->net, &a);
                }
                if (hit)
                        return !it->negate;
        }
        return 0;
}

void inet_list_free(struct inet_list **lp)
{
        struct inet_list *l = *lp;

        if (l == NULL)
                return;
        for (size_t i = 0; i < l->count; i++)
                maps_free(&l->items[i].table);
        free(l->items);
        free(l);
        *lp = NULL;
}
