/* resolve.c - where a recipient address goes (rules in resolve.h)
 * Used by: smtpd (RCPT validation), qmgr (routing). Runs as mail_owner or
 * the instance's user; reads the configured tables (kept in memory by
 * map.c) and the passwd database. Addresses come from the network but have
 * been through addr_parse_path(). */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cfg.h"
#include "domain_list.h"
#include "map.h"
#include "mem.h"
#include "resolve.h"

struct resolve {
        struct domain_list *mydestination;
        struct domain_list *virtual_domains;
        struct maps *virtual_alias;
        struct maps *aliases;
        char *delimiter;
};

int resolve_open(const struct cfg *cfg, struct resolve **r_r,
                 struct status *st)
{
        /* cfg_get() may cache expansions, so it takes cfg non-const */
        struct cfg *c = (struct cfg *)cfg;
        struct resolve *r = xcalloc(1, sizeof(*r));

        r->delimiter = xstrdup(cfg_get(c, "recipient_delimiter"));
        if (domain_list_open(cfg, "mydestination", &r->mydestination,
                             st) < 0 ||
            domain_list_open(cfg, "virtual_mailbox_domains",
                             &r->virtual_domains, st) < 0 ||
            maps_open(cfg_get(c, "virtual_alias_maps"), "virtual_alias_maps",
                      0, &r->virtual_alias, st) < 0 ||
            maps_open(cfg_get(c, "alias_maps"), "alias_maps", MAPS_ALIASES,
                      &r->aliases, st) < 0) {
                resolve_free(&r);
                return -1;
        }
        *r_r = r;
        return 0;
}

void resolve_free(struct resolve **rp)
{
        struct resolve *r = *rp;

        if (r == NULL)
                return;
        domain_list_free(&r->mydestination);
        domain_list_free(&r->virtual_domains);
        maps_free(&r->virtual_alias);
        maps_free(&r->aliases);
        free(r->delimiter);
        free(r);
        *rp = NULL;
}

const char *resolve_delimiter(const struct resolve *r)
{
        return r->delimiter;
}

int resolve_is_local_domain(struct resolve *r, const char *domain)
{
        if (*domain == '\0')
                return 1;
        return domain_list_match(r->mydestination, domain);
}

int resolve_is_virtual_domain(struct resolve *r, const char *domain)
{
        if (*domain == '\0')
                return 0;
        return domain_list_match(r->virtual_domains, domain);
}

/* lookup - maps_lookup of key; 1 with a new copy of the value in
 * *value_r, 0, -1 with st */
static int lookup(struct maps *m, const char *key, char **value_r,
                  struct status *st)
{
        const char *v;
        int ret = maps_lookup(m, key, &v, st);

        if (ret == 1)
                *value_r = xstrdup(v);
        return ret;
}

/* virtual_alias - rule 1 of resolve.h; 1 found, 0, -1 */
static int virtual_alias(struct resolve *r, const char *full,
                         const char *stripped, const char *local_stripped,
                         const char *domain, int local, char **value_r,
                         struct status *st)
{
        char *key;
        int ret;

        if ((ret = lookup(r->virtual_alias, full, value_r, st)) != 0)
                return ret;
        if (strcmp(stripped, full) != 0 &&
            (ret = lookup(r->virtual_alias, stripped, value_r, st)) != 0)
                return ret;
        if (local && (ret = lookup(r->virtual_alias, local_stripped, value_r,
                                   st)) != 0)
                return ret;
        if (*domain == '\0')
                return 0;
        key = xasprintf("@%s", domain);
        ret = lookup(r->virtual_alias, key, value_r, st);
        free(key);
        return ret;
}

/* local_recipient - rule 2 of resolve.h */
static int local_recipient(struct resolve *r, const char *local,
                           const char *local_stripped,
                           enum resolve_class *class_r, char **lookup_r,
                           struct status *st)
{
        const char *v;
        struct passwd *pw;
        int ret;

        ret = maps_lookup(r->aliases, local, &v, st);
        if (ret == 0 && strcmp(local, local_stripped) != 0) {
                ret = maps_lookup(r->aliases, local_stripped, &v, st);
                local = local_stripped;
        }
        if (ret < 0)
                return -1;
        if (ret == 1) {
                *class_r = RESOLVE_LOCAL_ALIAS;
                *lookup_r = xstrdup(local);
                return 0;
        }
        errno = 0;
        pw = getpwnam(local_stripped);
        if (pw != NULL) {
                *class_r = RESOLVE_LOCAL_USER;
                *lookup_r = xstrdup(pw->pw_name);
                return 0;
        }
        if (errno != 0 && errno != ENOENT && errno != ESRCH &&
            errno != EBADF && errno != EPERM)
                return status_set(st, STATUS_LOOKUP_TEMP, "passwd lookup of "
                                  "%s: %m", local_stripped);
        if (strcmp(local_stripped, "postmaster") == 0) {
                /* RFC 5321 4.5.1: postmaster always exists; local delivery
                 * sends it to root when no alias says otherwise */
                *class_r = RESOLVE_LOCAL_ALIAS;
                *lookup_r = xstrdup("postmaster");
                return 0;
        }
        *class_r = RESOLVE_UNKNOWN;
        status_set(st, STATUS_BAD_MAILBOX, "unknown user: \"%s\"",
                   local_stripped);
        return 0;
}

int resolve_rcpt(struct resolve *r, const char *addr,
                 enum resolve_class *class_r, char **lookup_r,
                 struct status *st)
{
        return resolve_rcpt_flags(r, addr, 0, class_r, lookup_r, st);
}

int resolve_rcpt_flags(struct resolve *r, const char *addr, int flags,
                       enum resolve_class *class_r, char **lookup_r,
                       struct status *st)
{
        char *full = addr_fold(addr), *stripped = NULL, *local = NULL,
             *domain = NULL, *local_stripped = NULL, *dom2 = NULL;
        int ret = -1, is_local, is_virtual;

        *lookup_r = NULL;
        *class_r = RESOLVE_TEMPFAIL;
        if (*full == '\0' || addr_split(full, &local, &domain) < 0) {
                *class_r = RESOLVE_UNKNOWN;
                status_set(st, STATUS_BAD_MAILBOX, "bad address syntax");
                ret = 0;
                goto out;
        }
        stripped = addr_strip_extension(full, r->delimiter);
        if (addr_split(stripped, &local_stripped, &dom2) < 0)
                local_stripped = xstrdup(local);
        is_local = resolve_is_local_domain(r, domain);
        if (is_local < 0) {
                status_set(st, STATUS_LOOKUP_TEMP, "mydestination lookup of "
                           "%s failed", domain);
                goto out;
        }
        switch ((flags & RESOLVE_NO_VIRTUAL) ? 0 :
                virtual_alias(r, full, stripped, local_stripped, domain,
                              is_local, lookup_r, st)) {
        case 1:
                *class_r = RESOLVE_VIRTUAL_ALIAS;
                ret = 0;
                goto out;
        case -1:
                goto out;
        }
        if (is_local) {
                ret = local_recipient(r, local, local_stripped, class_r,
                                      lookup_r, st);
                goto out;
        }
        is_virtual = resolve_is_virtual_domain(r, domain);
        if (is_virtual < 0) {
                status_set(st, STATUS_LOOKUP_TEMP, "virtual_mailbox_domains "
                           "lookup of %s failed", domain);
                goto out;
        }
        if (is_virtual) {
                *class_r = RESOLVE_USERDB;
                *lookup_r = xstrdup(stripped);
        } else {
                *class_r = RESOLVE_REMOTE;
                status_set(st, STATUS_TEMP, "domain %s is not local", domain);
        }
        ret = 0;
out:
        if (ret < 0)
                *class_r = RESOLVE_TEMPFAIL;
        free(full);
        free(stripped);
        free(local);
        free(domain);
        free(local_stripped);
        free(dom2);
        return ret;
}

const char *resolve_class_name(enum resolve_class c)
{
        static const char *const names[] = {
                [RESOLVE_LOCAL_ALIAS] = "local-alias",
                [RESOLVE_LOCAL_USER] = "local-user",
                [RESOLVE_VIRTUAL_ALIAS] = "virtual-alias",
                [RESOLVE_USERDB] = "userdb",
                [RESOLVE_UNKNOWN] = "unknown",
                [RESOLVE_REMOTE] = "remote",
                [RESOLVE_TEMPFAIL] = "tempfail",
        };

        return (unsigned)c < sizeof(names) / sizeof(*names) ? names[c] :
               "?";
}
