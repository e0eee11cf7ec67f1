/* domain_list.h - mydestination/relay_domains-style lists of domains
 * Used by: smtpd (relay checks), resolve / qmgr (local and virtual
 * domains). Items, separated by commas and/or white space, first match
 * wins, compared without regard to case:
 *   example.com       that domain (and its subdomains when the parameter
 *                     is named in parent_domain_matches_subdomains)
 *   .example.com      any subdomain of example.com
 *   /file/name        more items, one or more a line, # comments
 *   type:table        the domain is looked up (and, with parent matching,
 *                     each parent ".example.com" and "example.com")
 *   !item             a match of item means "not in the list"
 * Address literals ([192.0.2.1]) are compared as text. */
#ifndef YUBIN_DOMAIN_LIST_H
#define YUBIN_DOMAIN_LIST_H

#include "status.h"

struct cfg;
struct domain_list;

/* domain_list_open - the list that cfg_get(cfg, param) holds, with parent
 * matching as parent_domain_matches_subdomains says for param. Returns 0
 * with a new list in *l_r (free with domain_list_free()), or -1 with st
 * (4.3.5, naming param). */
int domain_list_open(const struct cfg *cfg, const char *param,
                     struct domain_list **l_r, struct status *st);

/* domain_list_open_value - as domain_list_open() from a value; parent is
 * 1 when "example.com" should also match its subdomains */
int domain_list_open_value(const char *value, const char *param, int parent,
                           struct domain_list **l_r, struct status *st);

/* domain_list_match - 1 if domain is in l, 0 if not, -1 if a table could
 * not tell */
int domain_list_match(const struct domain_list *l, const char *domain);

/* domain_list_free - free *l and clear it; accepts NULL */
void domain_list_free(struct domain_list **l);

#endif
