/* smtpd_check_load.c - restriction names, lists, classes and their tables
 * Used by: smtpd at start (smtpd_checks_load) and by the evaluator for
 * restrictions that an access table answers with. The table below is the
 * one place that says which restriction names smtpd knows; a name that is
 * neither there nor a class is a configuration error naming main.cf's
 * file and line, and a name Postfix has but Yubin does not implement says
 * so by name. Each table ("check_*_access type:name") is opened once
 * however many lists name it; a table that cannot be opened stops the
 * start. Reads administrator files only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "dns.h"
#include "log.h"
#include "map.h"
#include "mem.h"
#include "smtpd_check_int.h"

/* The restrictions, sorted by name. */
static const struct smtpd_check_def defs[] = {
        { "check_client_access", smtpd_check_client_access, CHK_ARG_TABLE, 0 },
        { "check_helo_access", smtpd_check_helo_access, CHK_ARG_TABLE, 0 },
        { "check_policy_service", smtpd_check_policy_service,
          CHK_ARG_POLICY, 0 },
        { "check_recipient_access", smtpd_check_rcpt_access, CHK_ARG_TABLE,
          0 },
        { "check_recipient_maps", smtpd_check_unlisted_rcpt, CHK_ARG_NONE,
          0 },
        { "check_reverse_client_hostname_access", smtpd_check_reverse_access,
          CHK_ARG_TABLE, 0 },
        { "check_sasl_access", smtpd_check_sasl_access, CHK_ARG_TABLE, 0 },
        { "check_sender_access", smtpd_check_sender_access, CHK_ARG_TABLE,
          0 },
        { "defer", smtpd_check_defer_all, CHK_ARG_NONE, 1 },
        { "defer_if_permit", smtpd_check_dip, CHK_ARG_NONE, 1 },
        { "defer_if_reject", smtpd_check_dir, CHK_ARG_NONE, 0 },
        { "defer_unauth_destination", smtpd_check_defer_unauth_dest,
          CHK_ARG_NONE, 1 },
        { "permit", smtpd_check_permit_all, CHK_ARG_NONE, 0 },
        { "permit_auth_destination", smtpd_check_permit_auth_dest,
          CHK_ARG_NONE, 0 },
        { "permit_dnswl_client", smtpd_check_dnswl_client, CHK_ARG_DOMAIN,
          0 },
        { "permit_inet_interfaces", smtpd_check_interfaces, CHK_ARG_NONE, 0 },
        { "permit_mynetworks", smtpd_check_mynetworks, CHK_ARG_NONE, 0 },
        { "permit_pop_before_smtp", smtpd_check_pbs, CHK_ARG_NONE, 0 },
        { "permit_rhswl_client", smtpd_check_rhswl_client, CHK_ARG_DOMAIN,
          0 },
        { "permit_sasl_authenticated", smtpd_check_sasl, CHK_ARG_NONE, 0 },
        { "reject", smtpd_check_reject_all, CHK_ARG_NONE, 1 },
        { "reject_authenticated_sender_login_mismatch",
          smtpd_check_auth_login_mismatch, CHK_ARG_NONE, 0 },
        { "reject_invalid_helo_hostname", smtpd_check_invalid_helo,
          CHK_ARG_NONE, 0 },
        { "reject_invalid_hostname", smtpd_check_invalid_helo, CHK_ARG_NONE,
          0 },
        { "reject_known_sender_login_mismatch",
          smtpd_check_known_login_mismatch, CHK_ARG_NONE, 0 },
        { "reject_multi_recipient_bounce", smtpd_check_mul_bounce,
          CHK_ARG_NONE, 0 },
        { "reject_non_fqdn_helo_hostname", smtpd_check_non_fqdn_helo,
          CHK_ARG_NONE, 0 },
        { "reject_non_fqdn_hostname", smtpd_check_non_fqdn_helo,
          CHK_ARG_NONE, 0 },
        { "reject_non_fqdn_recipient", smtpd_check_non_fqdn_rcpt,
          CHK_ARG_NONE, 0 },
        { "reject_non_fqdn_sender", smtpd_check_non_fqdn_sender,
          CHK_ARG_NONE, 0 },
        { "reject_plaintext_session", smtpd_check_plaintext, CHK_ARG_NONE,
          0 },
        { "reject_rbl", smtpd_check_rbl_client, CHK_ARG_DOMAIN, 0 },
        { "reject_rbl_client", smtpd_check_rbl_client, CHK_ARG_DOMAIN, 0 },
        { "reject_rhsbl_client", smtpd_check_rhsbl_client, CHK_ARG_DOMAIN,
          0 },
        { "reject_rhsbl_helo", smtpd_check_rhsbl_helo, CHK_ARG_DOMAIN, 0 },
        { "reject_rhsbl_recipient", smtpd_check_rhsbl_rcpt, CHK_ARG_DOMAIN,
          0 },
        { "reject_rhsbl_reverse_client", smtpd_check_rhsbl_reverse,
          CHK_ARG_DOMAIN, 0 },
        { "reject_rhsbl_sender", smtpd_check_rhsbl_sender, CHK_ARG_DOMAIN,
          0 },
        { "reject_sender_login_mismatch", smtpd_check_login_mismatch,
          CHK_ARG_NONE, 0 },
        { "reject_unauth_destination", smtpd_check_reject_unauth_dest,
          CHK_ARG_NONE, 1 },
        { "reject_unauth_pipelining", smtpd_check_unauth_pipe, CHK_ARG_NONE,
          0 },
        { "reject_unauthenticated_sender_login_mismatch",
          smtpd_check_unauth_login_mismatch, CHK_ARG_NONE, 0 },
        { "reject_unknown_address", smtpd_check_unknown_sender, CHK_ARG_NONE,
          0 },
        { "reject_unknown_client", smtpd_check_unknown_client, CHK_ARG_NONE,
          0 },
        { "reject_unknown_client_hostname", smtpd_check_unknown_client,
          CHK_ARG_NONE, 0 },
        { "reject_unknown_helo_hostname", smtpd_check_unknown_helo,
          CHK_ARG_NONE, 0 },
        { "reject_unknown_hostname", smtpd_check_unknown_helo, CHK_ARG_NONE,
          0 },
        { "reject_unknown_recipient_domain", smtpd_check_unknown_rcpt,
          CHK_ARG_NONE, 0 },
        { "reject_unknown_reverse_client_hostname",
          smtpd_check_unknown_reverse, CHK_ARG_NONE, 0 },
        { "reject_unknown_sender_domain", smtpd_check_unknown_sender,
          CHK_ARG_NONE, 0 },
        { "reject_unlisted_recipient", smtpd_check_unlisted_rcpt,
          CHK_ARG_NONE, 0 },
        { "reject_unlisted_sender", smtpd_check_unlisted_sender,
          CHK_ARG_NONE, 0 },
        { "sleep", smtpd_check_sleep, CHK_ARG_SECONDS, 0 },
        { "warn_if_reject", NULL, CHK_ARG_NONE, 0 },
};

/* Postfix restrictions Yubin does not implement: named as such. */
static const char *const missing[] = {
        "check_address_map", "check_ccert_access", "check_client_a_access",
        "check_client_mx_access", "check_client_ns_access",
        "check_etrn_access", "check_helo_a_access", "check_helo_mx_access",
        "check_helo_ns_access", "check_recipient_a_access",
        "check_recipient_mx_access", "check_recipient_ns_access",
        "check_relay_domains", "check_reverse_client_hostname_a_access",
        "check_reverse_client_hostname_mx_access",
        "check_reverse_client_hostname_ns_access", "check_sender_a_access",
        "check_sender_mx_access", "check_sender_ns_access",
        "permit_mx_backup", "permit_naked_ip_address",
        "permit_tls_all_clientcerts", "permit_tls_clientcerts",
        "reject_maps_rbl", "reject_unknown_forward_client_hostname",
        "reject_unverified_recipient",
        "reject_unverified_sender",
};

static const char *const params[SMTPD_STAGE_COUNT] = {
        "smtpd_client_restrictions",
        "smtpd_helo_restrictions",
        "smtpd_sender_restrictions",
        "smtpd_relay_restrictions",
        "smtpd_recipient_restrictions",
        "smtpd_data_restrictions",
        "smtpd_end_of_data_restrictions",
};

static const struct smtpd_check_def *def_find(const char *name)
{
        size_t lo = 0, hi = sizeof(defs) / sizeof(defs[0]);

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                int d = strcasecmp(name, defs[mid].name);

                if (d == 0)
                        return &defs[mid];
                if (d < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return NULL;
}

static int is_missing(const char *name)
{
        for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++)
                if (strcasecmp(missing[i], name) == 0)
                        return 1;
        return 0;
}

const struct smtpd_check_list *smtpd_check_find_class(
        const struct smtpd_checks *c, const char *name)
{
        for (size_t i = 0; i < c->class_count; i++)
                if (strcmp(c->classes[i].name, name) == 0)
                        return &c->classes[i];
        return NULL;
}

/* table_open - the shared table for spec; 0, or -1 with st */
static int table_open(struct smtpd_checks *c, const char *spec,
                      const char *param, struct maps **m_r,
                      struct status *st)
{
        for (size_t i = 0; i < c->table_count; i++)
                if (strcmp(c->tables[i].spec, spec) == 0) {
                        *m_r = c->tables[i].maps;
                        return 0;
                }
        if (c->table_count == SMTPD_CHECK_TABLES_MAX)
                return status_set(st, STATUS_CONFIG, "%s: more than %d "
                                  "tables", param, SMTPD_CHECK_TABLES_MAX);
        if (maps_open(spec, param, 0, m_r, st) < 0)
                return -1;
        c->tables = xrealloc(c->tables, (c->table_count + 1) *
                             sizeof(*c->tables));
        c->tables[c->table_count].spec = xstrdup(spec);
        c->tables[c->table_count].maps = *m_r;
        c->table_count++;
        return 0;
}

/* pattern_table - regexp:, pcre: and cidr: tables answer full keys only,
 * as Postfix's non-"fixed" tables */
static int pattern_table(const char *spec)
{
        while (strncmp(spec, "proxy:", 6) == 0)
                spec += 6;
        return strncmp(spec, "regexp:", 7) == 0 ||
               strncmp(spec, "pcre:", 5) == 0 ||
               strncmp(spec, "cidr:", 5) == 0;
}

static int policy_get(struct smtpd_checks *c, const char *spec,
                      struct smtpd_policy **p_r, struct status *st)
{
        /* one client (and its connections) per distinct spec */
        for (size_t i = 0; i < c->policy_count; i++)
                if (strcmp(smtpd_policy_spec(c->policies[i]), spec) == 0) {
                        *p_r = c->policies[i];
                        return 0;
                }
        *p_r = smtpd_policy_new(c->srv, spec, st);
        if (*p_r == NULL)
                return -1;
        c->policies = xrealloc(c->policies, (c->policy_count + 1) *
                               sizeof(*c->policies));
        c->policies[c->policy_count++] = *p_r;
        return 0;
}

/* arg_ok - the argument of def is well-formed; NULL, or why not */
static const char *arg_check(const struct smtpd_check_def *def,
                             const char *arg)
{
        switch (def->arg) {
        case CHK_ARG_TABLE:
                return strchr(arg, ':') == NULL || arg[0] == '{' ?
                       "needs a type:name table" : NULL;
        case CHK_ARG_POLICY:
                return strchr(arg, ':') == NULL ?
                       "needs inet:host:port or unix:pathname" : NULL;
        case CHK_ARG_DOMAIN:
                return strchr(arg, ':') != NULL || arg[0] == '{' ||
                       def_find(arg) != NULL ?
                       "needs a DNS list domain" : NULL;
        case CHK_ARG_SECONDS:
                return arg[0] == '\0' || strspn(arg, "0123456789") !=
                       strlen(arg) || strlen(arg) > 6 ?
                       "needs a number of seconds" : NULL;
        default:
                return NULL;
        }
}

int smtpd_check_parse(struct smtpd_checks *c, const char *value,
                      const char *name, const char *where, int runtime,
                      struct smtpd_check_list *l, struct status *st)
{
        const char *p = value != NULL ? value : "", *item;
        char pre[512];
        size_t len;
        int r;

        snprintf(pre, sizeof(pre), "%s%s%s", where != NULL ? where : "",
                 where != NULL ? ": " : "", name);
        l->name = xstrdup(name);
        l->where = where != NULL ? xstrdup(where) : NULL;
        while ((r = map_list_next(&p, &item, &len)) != 0) {
                struct smtpd_check_item it;
                const char *why;

                if (r < 0)
                        return status_set(st, STATUS_CONFIG, "%s: unbalanced "
                                          "'{' in \"%s\"", pre, value);
                memset(&it, 0, sizeof(it));
                it.word = xstrndup(item, len);
                it.def = def_find(it.word);
                if (it.def != NULL && it.def->arg != CHK_ARG_NONE) {
                        if (map_list_next(&p, &item, &len) <= 0) {
                                status_set(st, STATUS_CONFIG, "%s: \"%s\" "
                                           "needs an argument", pre,
                                           it.word);
                                goto bad;
                        }
                        it.arg = xstrndup(item, len);
                        if ((why = arg_check(it.def, it.arg)) != NULL) {
                                status_set(st, STATUS_CONFIG, "%s: \"%s %s\""
                                           ": %s", pre, it.word, it.arg,
                                           why);
                                goto bad;
                        }
                } else if (it.def == NULL &&
                           (it.cls = smtpd_check_find_class(c, it.word)) ==
                           NULL && strchr(it.word, ':') != NULL &&
                           it.word[0] != '{') {
                        it.arg = xstrdup(it.word);      /* a bare table */
                } else if (it.def == NULL && it.cls == NULL) {
                        if (is_missing(it.word))
                                status_set(st, STATUS_CONFIG, "%s: \"%s\" is "
                                           "a Postfix restriction that Yubin "
                                           "does not implement", pre,
                                           it.word);
                        else
                                status_set(st, STATUS_CONFIG, "%s: unknown "
                                           "restriction \"%s\"", pre,
                                           it.word);
                        goto bad;
                }
                if (it.arg != NULL && (it.def == NULL ||
                                       it.def->arg == CHK_ARG_TABLE)) {
                        if (runtime) {
                                status_set(st, STATUS_CONFIG, "%s: table "
                                           "\"%s\" in an access table's "
                                           "answer: define a restriction "
                                           "class and name it instead", pre,
                                           it.arg);
                                goto bad;
                        }
                        if (table_open(c, it.arg, name, &it.table, st) < 0)
                                goto bad;
                        it.pattern = pattern_table(it.arg);
                } else if (it.def != NULL && it.def->arg == CHK_ARG_POLICY) {
                        if (runtime) {
                                status_set(st, STATUS_CONFIG, "%s: policy "
                                           "service in an access table's "
                                           "answer", pre);
                                goto bad;
                        }
                        if (policy_get(c, it.arg, &it.policy, st) < 0)
                                goto bad;
                }
                l->items = xrealloc(l->items, (l->count + 1) *
                                    sizeof(*l->items));
                l->items[l->count++] = it;
                continue;
bad:
                free(it.word);
                free(it.arg);
                if (where != NULL && strncmp(st->text, where,
                                             strlen(where)) != 0) {
                        char text[STATUS_TEXT_MAX];

                        snprintf(text, sizeof(text), "%s", st->text);
                        status_set(st, STATUS_CONFIG, "%s: %s", where, text);
                }
                return -1;
        }
        return 0;
}

void smtpd_check_list_free(struct smtpd_check_list *l)
{
        for (size_t i = 0; i < l->count; i++) {
                free(l->items[i].word);
                free(l->items[i].arg);
        }
        free(l->items);
        free(l->name);
        free(l->where);
        memset(l, 0, sizeof(*l));
}

/* closes_relay - can l refuse a foreign recipient (Postfix's
 * has_required)? depth guards classes that name each other */
static int closes_relay(const struct smtpd_check_list *l, int depth)
{
        if (depth > SMTPD_CHECK_DEPTH)
                return 0;
        for (size_t i = 0; i < l->count; i++) {
                const struct smtpd_check_item *it = &l->items[i];

                if (it->def != NULL && it->def->fn == NULL) {
                        i++;            /* warn_if_reject X: X only warns */
                        continue;
                }
                if (it->def != NULL && it->def->fn == smtpd_check_permit_all)
                        return 0;
                if (it->def != NULL && it->def->closes_relay)
                        return 1;
                if (it->cls != NULL && closes_relay(it->cls, depth + 1))
                        return 1;
        }
        return 0;
}

/* load_classes - smtpd_restriction_classes: names first, so that classes
 * may name each other, then their lists */
static int load_classes(struct smtpd_checks *c, struct cfg *cfg,
                        struct status *st)
{
        size_t count = 0;
        char **names = cfg_get_list(cfg, "smtpd_restriction_classes", &count);
        int ret = 0;

        c->classes = xcalloc(count + 1, sizeof(*c->classes));
        for (size_t i = 0; i < count; i++)
                c->classes[c->class_count++].name = xstrdup(names[i]);
        for (size_t i = 0; i < count && ret == 0; i++) {
                struct smtpd_check_list *l = &c->classes[i];
                const char *where = NULL, *value;
                char *name = l->name;

                l->name = NULL;
                value = "";
                if (cfg_is_set(cfg, name)) {
                        cfg_get_raw(cfg, name, &where);
                        value = cfg_get(cfg, name);
                }
                if (value[strspn(value, ", \t\r\n")] == '\0') {
                        cfg_get_raw(cfg, "smtpd_restriction_classes", &where);
                        ret = status_set(st, STATUS_CONFIG, "%s%srestriction "
                                         "class \"%s\" needs a definition",
                                         where ? where : "",
                                         where ? ": " : "", name);
                        l->name = name;
                        break;
                }
                ret = smtpd_check_parse(c, value, name, where, 0, l, st);
                free(name);
        }
        cfg_list_free(&names);
        return ret;
}

/* tempfail_action - "defer_if_permit" 1, "defer" 0 */
static int tempfail_action(struct cfg *cfg, const char *param)
{
        return strcasecmp(cfg_get(cfg, param), "defer") != 0;
}

static int in_list(struct cfg *cfg, const char *param, const char *word)
{
        size_t count = 0;
        char **items = cfg_get_list(cfg, param, &count);
        int found = 0;

        for (size_t i = 0; i < count && !found; i++)
                found = strcasecmp(items[i], word) == 0;
        cfg_list_free(&items);
        return found;
}

static void codes(struct smtpd_checks *c, struct cfg *cfg)
{
        c->reject_code = cfg_get_int(cfg, "reject_code");
        c->defer_code = cfg_get_int(cfg, "defer_code");
        c->relay_code = cfg_get_int(cfg, "relay_domains_reject_code");
        c->map_reject_code = cfg_get_int(cfg, "access_map_reject_code");
        c->map_defer_code = cfg_get_int(cfg, "access_map_defer_code");
        c->unknown_client_code = cfg_get_int(cfg,
                                             "unknown_client_reject_code");
        c->unknown_name_code = cfg_get_int(cfg,
                                           "unknown_hostname_reject_code");
        c->unknown_addr_code = cfg_get_int(cfg,
                                           "unknown_address_reject_code");
        c->bad_name_code = cfg_get_int(cfg, "invalid_hostname_reject_code");
        c->non_fqdn_code = cfg_get_int(cfg, "non_fqdn_reject_code");
        c->rbl_code = cfg_get_int(cfg, "maps_rbl_reject_code");
        c->plaintext_code = cfg_get_int(cfg, "plaintext_reject_code");
        c->mul_rcpt_code = cfg_get_int(cfg,
                                       "multi_recipient_bounce_reject_code");
        c->local_rcpt_code = cfg_get_int(cfg,
                                         "unknown_local_recipient_reject_code");
        c->virt_alias_code = cfg_get_int(cfg,
                                         "unknown_virtual_alias_reject_code");
        c->virt_mailbox_code = cfg_get_int(cfg,
                                "unknown_virtual_mailbox_reject_code");
        c->client_lookup_ms = cfg_get_time(cfg,
                                           "smtpd_client_lookup_timeout") *
                              1000;
        c->name_tf_defer = tempfail_action(cfg,
                                "unknown_helo_hostname_tempfail_action");
        c->addr_tf_defer = tempfail_action(cfg,
                                           "unknown_address_tempfail_action");
        c->parent_match = in_list(cfg, "parent_domain_matches_subdomains",
                                  "smtpd_access_maps");
        c->allow_untrusted_routing = cfg_get_bool(cfg,
                                                  "allow_untrusted_routing");
        c->soft_bounce = cfg_get_bool(cfg, "soft_bounce");
        c->peername_lookup = cfg_get_bool(cfg, "smtpd_peername_lookup");
        c->sasl_enable = cfg_get_bool(cfg, "smtpd_sasl_auth_enable");
        c->show_table = cfg_get_bool(cfg, "show_user_unknown_table_name");
        c->default_rbl_reply = cfg_get(cfg, "default_rbl_reply");
        c->null_key = cfg_get(cfg, "smtpd_null_access_lookup_key");
        c->body_checks_limit = cfg_get_size(cfg, "body_checks_size_limit");
        c->mime_depth = cfg_get_bool(cfg, "disable_mime_input_processing") ?
                        0 : (size_t)cfg_get_int(cfg, "mime_nesting_limit");
        c->mime_boundary_max = (size_t)cfg_get_int(cfg,
                                        "mime_boundary_length_limit");
        c->permit_log = cfg_get_list(cfg, "smtpd_log_access_permit_actions",
                                     &c->permit_log_count);
}

/* open_maps - one parameter's tables; 0, or -1 with st */
static int open_maps(struct cfg *cfg, const char *param, struct maps **m_r,
                     struct status *st)
{
        const char *where = NULL;

        if (maps_open(cfg_get(cfg, param), param, 0, m_r, st) == 0)
                return 0;
        cfg_get_raw(cfg, param, &where);
        if (where != NULL) {
                char text[STATUS_TEXT_MAX];

                snprintf(text, sizeof(text), "%s", st->text);
                status_set(st, STATUS_CONFIG, "%s: %s", where, text);
        }
        return -1;
}

int smtpd_checks_load(struct smtpd_server *srv, struct smtpd_checks **c_r,
                      struct status *st)
{
        struct smtpd_checks *c = xcalloc(1, sizeof(*c));
        struct cfg *cfg = srv->cfg;

        *c_r = NULL;
        c->srv = srv;
        codes(c, cfg);
        if (load_classes(c, cfg, st) < 0)
                goto fail;
        for (int i = 0; i < SMTPD_STAGE_COUNT; i++) {
                const char *where = NULL;

                cfg_get_raw(cfg, params[i], &where);
                if (smtpd_check_parse(c, cfg_get(cfg, params[i]), params[i],
                                      where, 0, &c->lists[i], st) < 0)
                        goto fail;
        }
        if (cfg_get_bool(cfg, "smtpd_reject_unlisted_sender") &&
            smtpd_check_parse(c, "reject_unlisted_sender",
                              "smtpd_reject_unlisted_sender", NULL, 0,
                              &c->implicit_sender, st) < 0)
                goto fail;
        if (!closes_relay(&c->lists[SMTPD_STAGE_RELAY], 0) &&
            !closes_relay(&c->lists[SMTPD_STAGE_RECIPIENT], 0)) {
                status_set(st, STATUS_CONFIG, "smtpd_relay_restrictions, "
                           "smtpd_recipient_restrictions: specify at least "
                           "one working instance of reject_unauth_"
                           "destination, defer_unauth_destination, reject, "
                           "defer or defer_if_permit, or this server is an "
                           "open relay");
                goto fail;
        }
        if (open_maps(cfg, "rbl_reply_maps", &c->rbl_reply_maps, st) < 0 ||
            open_maps(cfg, "smtpd_sender_login_maps", &c->sender_login_maps,
                      st) < 0 ||
            open_maps(cfg, "header_checks", &c->header_checks, st) < 0 ||
            open_maps(cfg, "mime_header_checks", &c->mime_header_checks,
                      st) < 0 ||
            open_maps(cfg, "nested_header_checks", &c->nested_header_checks,
                      st) < 0 ||
            open_maps(cfg, "body_checks", &c->body_checks, st) < 0)
                goto fail;
        if ((c->route = smtpd_route_open(srv, st)) == NULL)
                goto fail;
        if (dns_open(cfg_get(cfg, "dns_servers"),
                     cfg_get_time(cfg, "dns_timeout") * 1000, &c->dns,
                     st) < 0) {
                const char *where = NULL;
                char text[STATUS_TEXT_MAX];

                cfg_get_raw(cfg, "dns_servers", &where);
                snprintf(text, sizeof(text), "%s", st->text);
                status_set(st, STATUS_CONFIG, "%s%s%s", where ? where : "",
                           where ? ": " : "", text);
                goto fail;
        }
        *c_r = c;
        return 0;
fail:
        smtpd_checks_free(&c);
        return -1;
}

void smtpd_checks_free(struct smtpd_checks **cp)
{
        struct smtpd_checks *c;

        if (cp == NULL || *cp == NULL)
                return;
        c = *cp;
        for (int i = 0; i < SMTPD_STAGE_COUNT; i++)
                smtpd_check_list_free(&c->lists[i]);
        for (size_t i = 0; i < c->class_count; i++)
                smtpd_check_list_free(&c->classes[i]);
        free(c->classes);
        smtpd_check_list_free(&c->implicit_sender);
        for (size_t i = 0; i < c->table_count; i++) {
                free(c->tables[i].spec);
                maps_free(&c->tables[i].maps);
        }
        free(c->tables);
        for (size_t i = 0; i < c->policy_count; i++)
                smtpd_policy_free(&c->policies[i]);
        free(c->policies);
        smtpd_route_free(&c->route);
        dns_free(&c->dns);
        maps_free(&c->rbl_reply_maps);
        maps_free(&c->sender_login_maps);
        maps_free(&c->header_checks);
        maps_free(&c->mime_header_checks);
        maps_free(&c->nested_header_checks);
        maps_free(&c->body_checks);
        cfg_list_free(&c->permit_log);
        free(c);
        *cp = NULL;
}
