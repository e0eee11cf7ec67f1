/* map_cidr.c - cidr: tables, "network/length value" lines
 * Used by: map.c (check_client_access cidr:..., mynetworks = cidr:...).
 * Postfix's cidr_table(5) format: one "pattern value" rule a line (white
 * space between; continuation lines and # comments as everywhere), the
 * pattern an address or network, IPv4 or IPv6, with or without brackets;
 * rules are tried in file order and the first match wins. The key is a
 * client IP; anything else is not found. The file is read with
 * map_file.c, so it is reloaded when it changes. */
#include <stdlib.h>
#include <string.h>

#include "cfg_lines.h"
#include "inet_list.h"
#include "map_driver.h"
#include "mem.h"

struct cidr_rule {
        struct inet_list_net net;
        char *value;
};

struct cidr_table {
        struct cidr_rule *rules;
        size_t count;
};

static void cidr_free(void *content)
{
        struct cidr_table *c = content;

        if (c == NULL)
                return;
        for (size_t i = 0; i < c->count; i++)
                free(c->rules[i].value);
        free(c->rules);
        free(c);
}

static int cidr_parse(struct map *m, const char *text, size_t len,
                      map_diag_fn *diag, void *ctx, void **content_r,
                      struct status *st)
{
        struct cidr_table *c = xcalloc(1, sizeof(*c));
        struct cfg_lines r;
        const char *line, *error;
        size_t line_len;
        int lineno, ret, problems = 0;

        *content_r = NULL;
        cfg_lines_init(&r, text, len, "a rule");
        while ((ret = cfg_lines_next(&r, &line, &line_len, &lineno,
                                     &error)) != 0) {
                struct inet_list_net net;
                size_t plen;
                const char *value;

                if (ret < 0)
                        goto problem;
                plen = strcspn(line, " \t");
                value = line + plen;
                value += strspn(value, " \t");
                if (*value == '\0') {
                        error = "expected \"network/length value\"";
                        goto problem;
                }
                if (inet_list_net_parse(line, plen, &net, &error) < 0)
                        goto problem;
                c->rules = xrealloc(c->rules,
                                    (c->count + 1) * sizeof(*c->rules));
                c->rules[c->count].net = net;
                c->rules[c->count].value = xstrdup(value);
                c->count++;
                continue;
problem:
                problems++;
                if (map_diag(diag, ctx, st, "%s:%d: %s", m->name, lineno,
                             error) < 0) {
                        cfg_lines_release(&r);
                        cidr_free(c);
                        return -1;
                }
        }
        cfg_lines_release(&r);
        *content_r = c;
        return problems;
}

static const struct map_file_format cidr_format = { cidr_parse, cidr_free };

static int cidr_open(struct map *m, map_diag_fn *diag, void *ctx,
                     struct status *st)
{
        return map_file_open(m, &cidr_format, diag, ctx, st);
}

static int cidr_lookup(struct map *m, const char *key, const char **value_r,
                       struct status *st)
{
        const struct cidr_table *c = map_file_content(m);
        struct inet_list_net a;

        if (inet_list_addr_parse(key, &a) < 0)
                return 0;
        for (size_t i = 0; i < c->count; i++)
                if (inet_list_net_match(&c->rules[i].net, &a)) {
                        *value_r = c->rules[i].value;
                        return 1;
                }
        return 0;
}

const struct map_type map_type_cidr = {
        "cidr", cidr_open, cidr_lookup, map_file_source, map_file_close, 0,
};
