/* resolve.h - where a recipient address goes: the one set of rules
 * Used by: smtpd (recipient validation at RCPT time, so unknown users get
 * 550 5.1.1 and there is no backscatter), qmgr (routing each recipient to
 * local delivery or leaving it for the outbound client). Runs as
 * mail_owner (or the invoking user). Parses addresses that came from the
 * network (already through addr_parse_path) and reads administrator
 * tables; never blocks on anything but getpwnam and the in-memory maps.
 *
 * The rules, as Postfix's trivial-rewrite and smtpd's unlisted-recipient
 * check apply them:
 *   1. virtual_alias_maps, for every domain: the full address, then the
 *      address without its recipient_delimiter extension, then "user"
 *      (only for a local domain: mydestination or an empty domain), then
 *      "@domain" (catch-all) -> RESOLVE_VIRTUAL_ALIAS
 *   2. domain empty or in mydestination: the local part (without the
 *      extension), folded to lowercase:
 *        alias_maps has it                         -> RESOLVE_LOCAL_ALIAS
 *        getpwnam finds it                         -> RESOLVE_LOCAL_USER
 *        "postmaster" (RFC 5321 4.5.1: must exist) -> RESOLVE_LOCAL_ALIAS
 *        otherwise                                 -> RESOLVE_UNKNOWN
 *   3. domain in virtual_mailbox_domains -> RESOLVE_USERDB: the caller
 *      asks authd (LOOKUP of *lookup_r); not found there is 550 5.1.1
 *   4. otherwise RESOLVE_REMOTE (relay permission is smtpd's business)
 * A table that could not answer gives RESOLVE_TEMPFAIL (and -1 with st
 * 4.x.x): "could not tell" is never "unknown". Matching is
 * case-insensitive. Aliases themselves are expanded by local delivery, as
 * in Postfix; virtual aliases by qmgr. */
#ifndef YUBIN_RESOLVE_H
#define YUBIN_RESOLVE_H

#include "status.h"

struct cfg;
struct resolve;

enum resolve_class {
        RESOLVE_LOCAL_ALIAS,    /* local domain, an alias_maps entry */
        RESOLVE_LOCAL_USER,     /* local domain, a system (passwd) user */
        RESOLVE_VIRTUAL_ALIAS,  /* a virtual_alias_maps entry */
        RESOLVE_USERDB,         /* virtual mailbox domain: needs an authd
                                 * LOOKUP of *lookup_r to know */
        RESOLVE_UNKNOWN,        /* no such recipient: 550 5.1.1 */
        RESOLVE_REMOTE,         /* not ours: relay (or refuse) */
        RESOLVE_TEMPFAIL,       /* a table could not tell: 4.x.x */
};

/* resolve_open - read mydestination, virtual_mailbox_domains,
 * virtual_alias_maps, alias_maps and recipient_delimiter from cfg (read
 * only; the pointer is not kept). Returns 0 with a new resolver in *r_r
 * (free with resolve_free), or -1 with st (4.3.5 naming the parameter). */
int resolve_open(const struct cfg *cfg, struct resolve **r_r,
                 struct status *st);
/* resolve_free - free *rp and clear it; accepts NULL */
void resolve_free(struct resolve **rp);

/* resolve_rcpt - classify addr (internal form, addr.h; a bare name without
 * '@' is in a local domain). *lookup_r gets a new string (free with
 * free()) or NULL:
 *   RESOLVE_LOCAL_ALIAS    the alias name that matched (lowercase local
 *                          part, with or without the extension)
 *   RESOLVE_LOCAL_USER     the login name
 *   RESOLVE_VIRTUAL_ALIAS  the virtual_alias_maps value (the targets)
 *   RESOLVE_USERDB         the address to look up in the user database
 *                          (lowercase, extension removed)
 *   otherwise              NULL
 * Returns 0 for every class but RESOLVE_TEMPFAIL, which returns -1 with
 * st (4.4.3 / 4.3.5); st is also filled for RESOLVE_UNKNOWN (5.1.1,
 * "unknown user: \"x\"") and RESOLVE_REMOTE (4.0.0, "domain ... is not
 * local"). */
int resolve_rcpt(struct resolve *r, const char *addr,
                 enum resolve_class *class_r, char **lookup_r,
                 struct status *st);

/* RESOLVE_NO_VIRTUAL - skip rule 1: for an address that a virtual alias
 * named as its own target (user@x -> user@x, other@y), which is then
 * delivered where it would go without the alias, as in Postfix */
#define RESOLVE_NO_VIRTUAL      1

/* resolve_rcpt_flags - resolve_rcpt() with RESOLVE_* flags */
int resolve_rcpt_flags(struct resolve *r, const char *addr, int flags,
                       enum resolve_class *class_r, char **lookup_r,
                       struct status *st);

/* resolve_is_local_domain - 1 if domain ("" included) is in mydestination,
 * 0 if not, -1 if a table could not tell */
int resolve_is_local_domain(struct resolve *r, const char *domain);
/* resolve_is_virtual_domain - as above for virtual_mailbox_domains */
int resolve_is_virtual_domain(struct resolve *r, const char *domain);
/* resolve_delimiter - recipient_delimiter ("" when none); borrowed */
const char *resolve_delimiter(const struct resolve *r);

/* resolve_class_name - "local-alias", "local-user", "virtual-alias",
 * "userdb", "unknown", "remote", "tempfail" (for logs and tests) */
const char *resolve_class_name(enum resolve_class c);

#endif
