/* cfg_value.c - what a main.cf value of each type may look like
 * Used by: cfg.c (cfg_check). Booleans, integers, times, sizes, lists,
 * lookup tables (type:name, nested proxy:/unionmap:), network lists and
 * smtpd restriction lists with their arguments, plus the few parameters
 * whose words come from a fixed set. Lookup tables are checked by name
 * only: whether a file exists is the program's business. Every problem is
 * one "WHERE: NAME: message" error through cfg_value_error(). */
#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "cfg_int.h"
#include "mem.h"

/* --- tables --- */

/* Per-name value sets. */
static const struct {
        const char *name;
        int list;               /* check each item of a list */
        int empty_ok;
        const char *values;     /* space separated */
} enums[] = {
        { "inet_protocols", 1, 0, "all ipv4 ipv6" },
        { "milter_default_action", 0, 0, "accept reject tempfail quarantine" },
        { "mynetworks_style", 0, 0, "host subnet class" },
        { "notify_classes", 1, 0,
          "bounce 2bounce data delay policy protocol resource software" },
        { "reject_tempfail_action", 0, 0, "defer defer_if_permit" },
        { "smtp_address_preference", 0, 0, "any ipv4 ipv6" },
        { "smtp_dns_support_level", 0, 1, "disabled enabled dnssec" },
        { "smtp_host_lookup", 1, 0, "dns native" },
        { "smtp_sasl_security_options", 1, 0,
          "noanonymous noplaintext noactive nodictionary mutual_auth "
          "forward_secrecy" },
        { "smtp_sasl_tls_security_options", 1, 0,
          "noanonymous noplaintext noactive nodictionary mutual_auth "
          "forward_secrecy" },
        { "smtp_sasl_type", 0, 0, "cyrus" },
        { "smtp_tls_security_level", 0, 1,
          "none may encrypt dane dane-only fingerprint verify secure" },
        { "smtpd_sasl_security_options", 1, 0,
          "noanonymous noplaintext noactive nodictionary mutual_auth "
          "forward_secrecy" },
        { "smtpd_sasl_tls_security_options", 1, 0,
          "noanonymous noplaintext noactive nodictionary mutual_auth "
          "forward_secrecy" },
        /* dovecot: migrated configs; authd serves SMTP AUTH either way */
        { "smtpd_sasl_type", 0, 0, "cyrus dovecot" },
        { "smtpd_tls_security_level", 0, 1, "none may encrypt" },
        { "smtpd_upstream_proxy_protocol", 0, 1, "haproxy" },
        { "syslog_facility", 0, 0,
          "auth authpriv cron daemon ftp kern lpr mail news syslog user uucp "
          "local0 local1 local2 local3 local4 local5 local6 local7" },
        { "unknown_address_tempfail_action", 0, 0, "defer defer_if_permit" },
        { "unknown_helo_hostname_tempfail_action", 0, 0,
          "defer defer_if_permit" },
};

static const char *const map_types[] = {
        "btree", "cdb", "cidr", "dbm", "environ", "fail", "hash", "inline",
        "internal", "ldap", "lmdb", "memcache", "mysql", "nis", "pcre",
        "pgsql", "pipemap", "proxy", "randmap", "regexp", "socketmap",
        "sqlite", "static", "tcp", "texthash", "unionmap", "unix",
};

enum restriction_arg {
        RA_NONE,
        RA_TABLE,       /* type:name */
        RA_POLICY,      /* inet:host:port or unix:path, maybe in { } */
        RA_DOMAIN,      /* DNS list domain[=filter] */
        RA_SECONDS,
};

static const char *const arg_names[] = {
        [RA_NONE] = "",
        [RA_TABLE] = "lookup table",
        [RA_POLICY] = "policy service address",
        [RA_DOMAIN] = "DNS list domain",
        [RA_SECONDS] = "number of seconds",
};

/* The smtpd restriction names, as Postfix's access(5) and postconf(5);
 * the same ones smtpd_check_load.c implements or refuses by name */
static const struct {
        const char *name;
        enum restriction_arg arg;
        int implemented;
} restrictions[] = {
        { "check_address_map", RA_TABLE, 0 },
        { "check_ccert_access", RA_TABLE, 0 },
        { "check_client_a_access", RA_TABLE, 0 },
        { "check_client_access", RA_TABLE, 1 },
        { "check_client_mx_access", RA_TABLE, 0 },
        { "check_client_ns_access", RA_TABLE, 0 },
        { "check_etrn_access", RA_TABLE, 0 },
        { "check_helo_a_access", RA_TABLE, 0 },
        { "check_helo_access", RA_TABLE, 1 },
        { "check_helo_mx_access", RA_TABLE, 0 },
        { "check_helo_ns_access", RA_TABLE, 0 },
        { "check_policy_service", RA_POLICY, 1 },
        { "check_recipient_a_access", RA_TABLE, 0 },
        { "check_recipient_access", RA_TABLE, 1 },
        { "check_recipient_maps", RA_NONE, 1 },
        { "check_recipient_mx_access", RA_TABLE, 0 },
        { "check_recipient_ns_access", RA_TABLE, 0 },
        { "check_relay_domains", RA_NONE, 0 },
        { "check_reverse_client_hostname_a_access", RA_TABLE, 0 },
        { "check_reverse_client_hostname_access", RA_TABLE, 1 },
        { "check_reverse_client_hostname_mx_access", RA_TABLE, 0 },
        { "check_reverse_client_hostname_ns_access", RA_TABLE, 0 },
        { "check_sasl_access", RA_TABLE, 1 },
        { "check_sender_a_access", RA_TABLE, 0 },
        { "check_sender_access", RA_TABLE, 1 },
        { "check_sender_mx_access", RA_TABLE, 0 },
        { "check_sender_ns_access", RA_TABLE, 0 },
        { "defer", RA_NONE, 1 },
        { "defer_if_permit", RA_NONE, 1 },
        { "defer_if_reject", RA_NONE, 1 },
        { "defer_unauth_destination", RA_NONE, 1 },
        { "permit", RA_NONE, 1 },
        { "permit_auth_destination", RA_NONE, 1 },
        { "permit_dnswl_client", RA_DOMAIN, 1 },
        { "permit_inet_interfaces", RA_NONE, 1 },
        { "permit_mx_backup", RA_NONE, 0 },
        { "permit_mynetworks", RA_NONE, 1 },
        { "permit_naked_ip_address", RA_NONE, 0 },
        { "permit_pop_before_smtp", RA_NONE, 1 },
        { "permit_rhswl_client", RA_DOMAIN, 1 },
        { "permit_sasl_authenticated", RA_NONE, 1 },
        { "permit_tls_all_clientcerts", RA_NONE, 0 },
        { "permit_tls_clientcerts", RA_NONE, 0 },
        { "reject", RA_NONE, 1 },
        { "reject_authenticated_sender_login_mismatch", RA_NONE, 1 },
        { "reject_invalid_helo_hostname", RA_NONE, 1 },
        { "reject_invalid_hostname", RA_NONE, 1 },
        { "reject_known_sender_login_mismatch", RA_NONE, 1 },
        { "reject_maps_rbl", RA_NONE, 0 },
        { "reject_multi_recipient_bounce", RA_NONE, 1 },
        { "reject_non_fqdn_helo_hostname", RA_NONE, 1 },
        { "reject_non_fqdn_hostname", RA_NONE, 1 },
        { "reject_non_fqdn_recipient", RA_NONE, 1 },
        { "reject_non_fqdn_sender", RA_NONE, 1 },
        { "reject_plaintext_session", RA_NONE, 1 },
        { "reject_rbl", RA_DOMAIN, 1 },
        { "reject_rbl_client", RA_DOMAIN, 1 },
        { "reject_rhsbl_client", RA_DOMAIN, 1 },
        { "reject_rhsbl_helo", RA_DOMAIN, 1 },
        { "reject_rhsbl_recipient", RA_DOMAIN, 1 },
        { "reject_rhsbl_reverse_client", RA_DOMAIN, 1 },
        { "reject_rhsbl_sender", RA_DOMAIN, 1 },
        { "reject_sender_login_mismatch", RA_NONE, 1 },
        { "reject_unauth_destination", RA_NONE, 1 },
        { "reject_unauth_pipelining", RA_NONE, 1 },
        { "reject_unauthenticated_sender_login_mismatch", RA_NONE, 1 },
        { "reject_unknown_address", RA_NONE, 1 },
        { "reject_unknown_client", RA_NONE, 1 },
        { "reject_unknown_client_hostname", RA_NONE, 1 },
        { "reject_unknown_forward_client_hostname", RA_NONE, 0 },
        { "reject_unknown_helo_hostname", RA_NONE, 1 },
        { "reject_unknown_hostname", RA_NONE, 1 },
        { "reject_unknown_recipient_domain", RA_NONE, 1 },
        { "reject_unknown_reverse_client_hostname", RA_NONE, 1 },
        { "reject_unknown_sender_domain", RA_NONE, 1 },
        { "reject_unlisted_recipient", RA_NONE, 1 },
        { "reject_unlisted_sender", RA_NONE, 1 },
        { "reject_unverified_recipient", RA_NONE, 0 },
        { "reject_unverified_sender", RA_NONE, 0 },
        { "sleep", RA_SECONDS, 1 },
        { "warn_if_reject", RA_NONE, 1 },
};

static void check_range(struct cfg_value_ctx *k, const struct cfg_param *p,
                        const char *text, long long v, const char *unit)
{
        char q[CFG_QUOTE_MAX + 4];

        if (v >= p->min && v <= p->max)
                return;
        cfg_quote(q, text, strlen(text));
        if (v < p->min && p->max >= INT_MAX)
                cfg_value_error(k, "\"%s\": must be at least %lld%s", q, p->min,
                                unit);
        else if (v > p->max && (p->min <= 0 || p->max >= INT_MAX))
                cfg_value_error(k, "\"%s\": must be at most %lld%s", q, p->max,
                                unit);
        else
                cfg_value_error(k, "\"%s\": must be between %lld%s and %lld%s",
                                q, p->min, unit, p->max, unit);
}

/* word_in - 1 if the len bytes at s are one of the words in set */
static int word_in(const char *s, size_t len, const char *set)
{
        while (*set != '\0') {
                size_t n = strcspn(set, " ");

                if (n == len && strncasecmp(s, set, len) == 0)
                        return 1;
                set += n;
                set += strspn(set, " ");
        }
        return 0;
}

static int known_map_type(const char *s, size_t len)
{
        for (size_t i = 0; i < sizeof(map_types) / sizeof(map_types[0]); i++)
                if (strlen(map_types[i]) == len &&
                    memcmp(map_types[i], s, len) == 0)
                        return 1;
        return 0;
}

static int has_braces(const char *s, size_t len)
{
        return len >= 2 && s[0] == '{' && s[len - 1] == '}';
}

static void check_map(struct cfg_value_ctx *k, const char *item, size_t len,
                      int depth);

/* check_map_group - each table in "{ a, b }" */
static void check_map_group(struct cfg_value_ctx *k, const char *s, size_t len,
                            int depth)
{
        char *inner = xstrndup(s + 1, len - 2);
        const char *p = inner, *item, *error;
        size_t n;
        int r, count = 0;

        while ((r = cfg_list_next(&p, &item, &n, &error)) > 0) {
                check_map(k, item, n, depth + 1);
                count++;
        }
        if (r < 0)
                cfg_value_error(k, "%s", error);
        else if (count == 0)
                cfg_value_error(k, "empty table list \"{}\"");
        free(inner);
}

/* check_map - item must be type:name with a known type */
static void check_map(struct cfg_value_ctx *k, const char *item, size_t len,
                      int depth)
{
        const char *colon = memchr(item, ':', len);
        char q[CFG_QUOTE_MAX + 4], t[CFG_QUOTE_MAX + 4];

        if (depth > CFG_MAP_DEPTH) {
                cfg_value_error(k, "\"%s\": lookup tables nested too deeply",
                                cfg_quote(q, item, len));
                return;
        }
        if (colon == NULL || colon == item) {
                cfg_value_error(k, "\"%s\": expected a type:name lookup table",
                                cfg_quote(q, item, len));
                return;
        }
        size_t tlen = (size_t)(colon - item);
        const char *name = colon + 1;
        size_t nlen = len - tlen - 1;
        if (!known_map_type(item, tlen)) {
                cfg_value_error(k, "\"%s\": unknown lookup table type \"%s\"",
                                cfg_quote(q, item, len),
                                cfg_quote(t, item, tlen));
                return;
        }
        if (nlen == 0) {
                cfg_value_error(k, "\"%s\": missing table name after the type",
                                cfg_quote(q, item, len));
                return;
        }
        if (tlen == 5 && memcmp(item, "proxy", 5) == 0) {
                check_map(k, name, nlen, depth + 1);
        } else if ((tlen == 8 && memcmp(item, "unionmap", 8) == 0) ||
                   (tlen == 7 && memcmp(item, "pipemap", 7) == 0)) {
                if (!has_braces(name, nlen))
                        cfg_value_error(k, "\"%s\": expected {type:name, ...} "
                                        "after the type",
                                        cfg_quote(q, item, len));
                else
                        check_map_group(k, name, nlen, depth);
        } else if ((tlen == 6 && memcmp(item, "inline", 6) == 0) ||
                   (tlen == 7 && memcmp(item, "randmap", 7) == 0)) {
                if (!has_braces(name, nlen))
                        cfg_value_error(k, "\"%s\": expected { ... } after the "
                                        "type", cfg_quote(q, item, len));
        }
}

/* check_network - a mynetworks item: address, net/mask, [ipv6]/mask,
 * /file/name or type:table, maybe after '!' */
static void check_network(struct cfg_value_ctx *k, const char *item, size_t len)
{
        char q[CFG_QUOTE_MAX + 4], addr[INET6_ADDRSTRLEN + 1];
        unsigned char bytes[16];
        const char *s = item, *end = item + len, *a, *ae, *mask = NULL;
        int family;

        if (s < end && *s == '!')
                s++;
        if (s < end && *s == '/')
                return;
        if (s < end && *s == '[') {
                a = s + 1;
                ae = memchr(a, ']', (size_t)(end - a));
                if (ae == NULL) {
                        cfg_value_error(k, "\"%s\": missing ']'",
                                        cfg_quote(q, item, len));
                        return;
                }
                family = AF_INET6;
                if (ae + 1 < end) {
                        if (ae[1] != '/') {
                                cfg_value_error(k, "\"%s\": expected [address] "
                                                "or [address]/length",
                                                cfg_quote(q, item, len));
                                return;
                        }
                        mask = ae + 2;
                }
        } else {
                a = s;
                ae = memchr(a, '/', (size_t)(end - a));
                if (ae == NULL)
                        ae = end;
                else
                        mask = ae + 1;
                family = AF_INET;
                if (memchr(a, ':', (size_t)(ae - a)) != NULL) {
                        size_t n = (size_t)(ae - a);

                        if (n <= INET6_ADDRSTRLEN) {
                                memcpy(addr, a, n);
                                addr[n] = '\0';
                                if (inet_pton(AF_INET6, addr, bytes) == 1) {
                                        cfg_value_error(k, "\"%s\": write an "
                                                        "IPv6 network in "
                                                        "brackets, as "
                                                        "[address]/length",
                                                        cfg_quote(q, item,
                                                                  len));
                                        return;
                                }
                        }
                        check_map(k, s, (size_t)(end - s), 0);
                        return;
                }
        }
        size_t n = (size_t)(ae - a);
        if (n == 0 || n > INET6_ADDRSTRLEN) {
                cfg_value_error(k, "\"%s\": expected an address, "
                                "network/length, /file/name or type:table",
                                cfg_quote(q, item, len));
                return;
        }
        memcpy(addr, a, n);
        addr[n] = '\0';
        if (inet_pton(family, addr, bytes) != 1) {
                cfg_value_error(k, "\"%s\": expected an address, "
                                "network/length, /file/name or type:table",
                                cfg_quote(q, item, len));
                return;
        }
        if (mask == NULL)
                return;
        int bits = family == AF_INET ? 32 : 128;
        unsigned long long m;
        const char *mp = mask;
        if (mp == end || cfg_digits(&mp, 1000, &m) < 0 || mp != end ||
            m > (unsigned long long)bits) {
                cfg_value_error(k, "\"%s\": bad network length (0..%d)",
                                cfg_quote(q, item, len), bits);
                return;
        }
        for (int i = (int)m; i < bits; i++)
                if (bytes[i / 8] & (0x80 >> (i % 8))) {
                        cfg_value_error(k, "\"%s\": non-null host address "
                                        "bits after /%llu",
                                        cfg_quote(q, item, len), m);
                        return;
                }
}

int cfg_value_is_class(const struct cfg_value_ctx *k, const char *s, size_t len)
{
        for (size_t i = 0; i < k->class_count; i++)
                if (strlen(k->classes[i]) == len &&
                    memcmp(k->classes[i], s, len) == 0)
                        return 1;
        return 0;
}

static int restriction_find(const char *s, size_t len)
{
        for (size_t i = 0; i < sizeof(restrictions) / sizeof(restrictions[0]);
             i++)
                if (strlen(restrictions[i].name) == len &&
                    memcmp(restrictions[i].name, s, len) == 0)
                        return (int)i;
        return -1;
}

/* check_restriction_arg - the argument of restriction r */
static void check_restriction_arg(struct cfg_value_ctx *k, int r,
                                  const char *arg, size_t len)
{
        const char *rname = restrictions[r].name;
        char q[CFG_QUOTE_MAX + 4];
        size_t i;

        switch (restrictions[r].arg) {
        case RA_NONE:
                break;
        case RA_TABLE:
                check_map(k, arg, len, 0);
                break;
        case RA_POLICY: {
                const char *s = arg;
                size_t n = len;

                if (has_braces(arg, len)) {     /* { address, options } */
                        s = arg + 1;
                        n = len - 2;
                        while (n > 0 && isspace((unsigned char)*s)) {
                                s++;
                                n--;
                        }
                        size_t w = strcspn(s, CFG_LIST_SEP);

                        if (w < n)
                                n = w;
                }
                if ((n > 5 && memcmp(s, "inet:", 5) == 0 &&
                     memchr(s + 5, ':', n - 5) != NULL &&
                     s[n - 1] != ':') ||
                    (n > 5 && memcmp(s, "unix:", 5) == 0))
                        break;
                cfg_value_error(k, "%s: \"%s\": expected inet:host:port or "
                                "unix:pathname", rname, cfg_quote(q, arg, len));
                break;
        }
        case RA_DOMAIN: {
                const char *eq = memchr(arg, '=', len);
                size_t dlen = eq != NULL ? (size_t)(eq - arg) : len;
                int ok = dlen > 0;

                for (i = 0; ok && i < dlen; i++)
                        ok = isalnum((unsigned char)arg[i]) ||
                             strchr("-._", arg[i]) != NULL;
                if (ok && eq != NULL) {
                        ok = eq + 1 < arg + len;
                        for (i = dlen + 1; ok && i < len; i++)
                                ok = isdigit((unsigned char)arg[i]) ||
                                     strchr(".[];", arg[i]) != NULL;
                }
                if (!ok)
                        cfg_value_error(k, "%s: \"%s\": expected a DNS "
                                        "domain, optionally followed by "
                                        "=d.d.d.d", rname,
                                        cfg_quote(q, arg, len));
                break;
        }
        case RA_SECONDS: {
                int ok = len > 0 && len <= 9;

                for (i = 0; ok && i < len; i++)
                        ok = isdigit((unsigned char)arg[i]);
                if (!ok)
                        cfg_value_error(k, "%s: \"%s\": expected a number "
                                        "of seconds", rname,
                                        cfg_quote(q, arg, len));
                break;
        }
        }
}

/* cfg_value_check_restrictions - every item a known restriction or class,
 * each with the argument it needs */
void cfg_value_check_restrictions(struct cfg_value_ctx *k, const char *value)
{
        const char *p = value, *item, *error;
        char q[CFG_QUOTE_MAX + 4];
        size_t len;
        int r, want = -1;       /* restriction waiting for its argument */

        while ((r = cfg_list_next(&p, &item, &len, &error)) > 0) {
                int known = restriction_find(item, len);

                if (want >= 0) {
                        if (known < 0 && !cfg_value_is_class(k, item, len)) {
                                check_restriction_arg(k, want, item, len);
                                want = -1;
                                continue;
                        }
                        cfg_value_error(k, "%s: missing %s argument (before "
                                        "\"%s\")", restrictions[want].name,
                                        arg_names[restrictions[want].arg],
                                        cfg_quote(q, item, len));
                        want = -1;
                }
                if (known >= 0) {
                        if (!restrictions[known].implemented)
                                cfg_value_error(k, "\"%s\" is a Postfix "
                                                "restriction that Yubin does "
                                                "not implement",
                                                restrictions[known].name);
                        if (restrictions[known].arg != RA_NONE)
                                want = known;
                } else if (cfg_value_is_class(k, item, len)) {
                        continue;
                } else if (item[0] == '{') {
                        cfg_value_error(k, "\"%s\": a { } group must follow a "
                                        "restriction that takes it",
                                        cfg_quote(q, item, len));
                } else if (memchr(item, ':', len) != NULL) {
                        /* Postfix: a bare table is the access check of the
                         * list's stage */
                        check_map(k, item, len, 0);
                } else {
                        cfg_value_error(k, "\"%s\": unknown restriction",
                                        cfg_quote(q, item, len));
                }
        }
        if (r < 0)
                cfg_value_error(k, "%s", error);
        else if (want >= 0)
                cfg_value_error(k, "%s: missing %s argument",
                                restrictions[want].name,
                                arg_names[restrictions[want].arg]);
}

static void check_list(struct cfg_value_ctx *k, const char *value, int enum_i)
{
        const char *p = value, *item, *error;
        char q[CFG_QUOTE_MAX + 4];
        size_t len;
        int r, net = strcmp(k->name, "mynetworks") == 0;

        while ((r = cfg_list_next(&p, &item, &len, &error)) > 0) {
                if (enum_i >= 0 && !word_in(item, len, enums[enum_i].values))
                        cfg_value_error(k, "\"%s\": expected one of: %s",
                                        cfg_quote(q, item, len),
                                        enums[enum_i].values);
                else if (net)
                        check_network(k, item, len);
        }
        if (r < 0)
                cfg_value_error(k, "%s", error);
}

static const char *unit_name(char unit)
{
        switch (unit) {
        case 'm':
                return "minutes";
        case 'h':
                return "hours";
        case 'd':
                return "days";
        case 'w':
                return "weeks";
        default:
                return "seconds";
        }
}

/* cfg_value_check - value (expanded) against p's type, limits and set */
void cfg_value_check(struct cfg_value_ctx *k, const struct cfg_param *p,
                        const char *value)
{
        char q[CFG_QUOTE_MAX + 4];
        const char *s;
        long long v;
        int b, enum_i = -1;

        for (size_t i = 0; i < sizeof(enums) / sizeof(enums[0]); i++)
                if (strcmp(enums[i].name, p->name) == 0)
                        enum_i = (int)i;
        cfg_quote(q, value, strlen(value));
        switch (p->type) {
        case CFG_STR:
                if (enum_i >= 0 &&
                    !(*value == '\0' && enums[enum_i].empty_ok) &&
                    !word_in(value, strlen(value), enums[enum_i].values))
                        cfg_value_error(k, "\"%s\": expected one of: %s%s", q,
                                        enums[enum_i].values,
                                        enums[enum_i].empty_ok ? " (or empty)" :
                                        "");
                break;
        case CFG_BOOL:
                if (cfg_parse_bool(value, &b) < 0)
                        cfg_value_error(k, "\"%s\": expected yes or no", q);
                break;
        case CFG_INT:
                if (cfg_parse_int(value, &v) == 0) {
                        check_range(k, p, value, v, "");
                        break;
                }
                s = value + (*value == '-' || *value == '+');
                if (*s != '\0' && strspn(s, "0123456789") == strlen(s))
                        cfg_value_error(k, "\"%s\": number out of range", q);
                else
                        cfg_value_error(k, "\"%s\": expected a decimal integer",
                                        q);
                break;
        case CFG_TIME:
                if (cfg_parse_time(value, cfg_param_time_unit(p), &v) == 0)
                        check_range(k, p, value, v, "s");
                else
                        cfg_value_error(k, "\"%s\": expected a time: a number "
                                        "with an optional unit s, m, h, d or w "
                                        "(none: %s)", q,
                                        unit_name(cfg_param_time_unit(p)));
                break;
        case CFG_SIZE:
                if (cfg_parse_size(value, &v) == 0)
                        check_range(k, p, value, v, " bytes");
                else
                        cfg_value_error(k, "\"%s\": expected a size in bytes "
                                        "(a plain number, no unit)", q);
                break;
        case CFG_LIST:
                check_list(k, value, enum_i >= 0 && enums[enum_i].list ?
                           enum_i : -1);
                break;
        case CFG_MAPS: {
                const char *pp = value, *item, *error;
                size_t len;
                int r;

                while ((r = cfg_list_next(&pp, &item, &len, &error)) > 0)
                        check_map(k, item, len, 0);
                if (r < 0)
                        cfg_value_error(k, "%s", error);
                break;
        }
        case CFG_RESTRICT:
                cfg_value_check_restrictions(k, value);
                break;
        }
}

