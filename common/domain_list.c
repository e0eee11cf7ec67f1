/* domain_list.c - mydestination/relay_domains-style lists of domains
 * Used by: smtpd (reject_unauth_destination, recipient checks), resolve,
 * qmgr. Reads main.cf values and files an administrator wrote. Matching
 * follows Postfix's match_list for host names: first match wins, "!item"
 * inverts, ".domain" matches subdomains, a plain name also matches its
 * subdomains when the parameter is in parent_domain_matches_subdomains;
 * for a table the name is looked up, then each parent ("example.com" with
 * parent matching, ".example.com" without). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "buf.h"
#include "cfg.h"
#include "cfg_lines.h"
#include "domain_list.h"
#include "map.h"
#include "mem.h"


struct domain_item {
        int negate;
        char *pattern;          /* folded; NULL for a table */
        struct maps *table;
};

struct domain_list {
        struct domain_item *items;
        size_t count;
        int parent;
};

static int add_value(struct domain_list *l, const char *value,
                     const char *param, int depth, struct status *st);

/* file_line - one line of a list file, one level deeper */
static int file_line(void *ctx, const char *line, const char *where,
                     int depth, struct status *st)
{
        return add_value(ctx, line, where, depth, st);
}

static int add_value(struct domain_list *l, const char *value,
                     const char *param, int depth, struct status *st)
{
        const char *p = value, *item;
        size_t len;
        int r;

        while ((r = map_list_next(&p, &item, &len)) != 0) {
                struct domain_item it;
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
                if (len == 0)
                        return status_set(st, STATUS_CONFIG_TEMP,
                                          "%s: \"!\" without a name", param);
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
                if (strchr(text, ':') != NULL && *text != '[') {
                        r = maps_open(text, param, 0, &it.table, st);
                        free(text);
                        if (r < 0)
                                return -1;
                } else {
                        it.pattern = addr_fold(text);
                        free(text);
                }
                l->items = xrealloc(l->items,
                                    (l->count + 1) * sizeof(*l->items));
                l->items[l->count++] = it;
        }
        return 0;
}

int domain_list_open_value(const char *value, const char *param, int parent,
                           struct domain_list **l_r, struct status *st)
{
        struct domain_list *l = xcalloc(1, sizeof(*l));

        *l_r = NULL;
        l->parent = parent;
        if (add_value(l, value != NULL ? value : "", param, 0, st) < 0) {
                domain_list_free(&l);
                return -1;
        }
        *l_r = l;
        return 0;
}

int domain_list_open(const struct cfg *cfg, const char *param,
                     struct domain_list **l_r, struct status *st)
{
        /* cfg_get() may cache expansions in cfg, so it takes it non-const;
         * the configuration itself is not changed */
        struct cfg *c = (struct cfg *)cfg;
        char **parents;
        int parent = 0;

        parents = cfg_get_list(c, "parent_domain_matches_subdomains", NULL);
        for (char **p = parents; *p != NULL; p++)
                if (strcmp(*p, param) == 0)
                        parent = 1;
        cfg_list_free(&parents);
        return domain_list_open_value(cfg_get(c, param), param, parent, l_r,
                                      st);
}

/* table_match - look name and its parents up in t; 1/0/-1 */
static int table_match(struct maps *t, const char *name, int parent)
{
        struct status st;
        const char *v, *next;
        int r;

        if ((r = maps_lookup(t, name, &v, &st)) != 0)
                return r;
        if (*name == '[')
                return 0;
        for (const char *e = name; (next = strchr(e + 1, '.')) != NULL;
             e = next) {
                r = maps_lookup(t, parent ? next + 1 : next, &v, &st);
                if (r != 0)
                        return r;
        }
        return 0;
}

/* pattern_match - name (folded) against a literal pattern */
static int pattern_match(const char *pattern, const char *name, int parent)
{
        size_t nlen = strlen(name), plen = strlen(pattern);

        if (strcmp(pattern, name) == 0)
                return 1;
        if (*name == '[' || *pattern == '[')
                return 0;
        if (*pattern == '.')
                return nlen > plen && strcmp(name + nlen - plen, pattern) == 0;
        return parent && nlen > plen + 1 &&
               name[nlen - plen - 1] == '.' &&
               strcmp(name + nlen - plen, pattern) == 0;
}

int domain_list_match(const struct domain_list *l, const char *domain)
{
        char *name;
        int ret = 0;

        if (*domain == '\0')
                return 0;
        name = addr_fold(domain);
        for (size_t i = 0; i < l->count; i++) {
                const struct domain_item *it = &l->items[i];
                int hit = it->table != NULL ?
                        table_match(it->table, name, l->parent) :
                        pattern_match(it->pattern, name, l->parent);

                if (hit < 0) {
                        ret = -1;
                        break;
                }
                if (hit) {
                        ret = !it->negate;
                        break;
                }
        }
        free(name);
        return ret;
}

void domain_list_free(struct domain_list **lp)
{
        struct domain_list *l = *lp;

        if (l == NULL)
                return;
        for (size_t i = 0; i < l->count; i++) {
                free(l->items[i].pattern);
                maps_free(&l->items[i].table);
        }
        free(l->items);
        free(l);
        *lp = NULL;
}
