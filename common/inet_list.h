/* inet_list.h - mynetworks-style lists of client addresses
 * Used by: smtpd (mynetworks, smtpd_forbid_bare_newline_exclusions,
 * smtpd_client_event_limit_exceptions ...), and anything else that asks
 * "is this client IP in the list". Items, separated by commas and/or white
 * space, first match wins:
 *   192.0.2.0/24  10.1.2.3  [2001:db8::]/32  [::1]  2001:db8::1  ::1/128
 *   /file/name        more items, one or more a line, # comments
 *   type:table        the IP is looked up (cidr:, hash: ... see map.h)
 *   !item             a match of item means "not in the list"
 * A network whose address has bits set past its length is refused, as
 * Postfix does ("non-null host address bits"). IPv4-mapped IPv6 client
 * addresses (::ffff:192.0.2.1) match IPv4 items. Host names are not
 * supported (there is no reverse look-up here) and are refused. */
#ifndef YUBIN_INET_LIST_H
#define YUBIN_INET_LIST_H

#include "status.h"

struct inet_list;

/* inet_list_open - parse value; param names the parameter in messages.
 * Returns 0 with a new list in *l_r (free with inet_list_free()), or -1
 * with st (4.3.5, "mynetworks: bad network '10.0.0.1/33'"). */
int inet_list_open(const char *value, const char *param,
                   struct inet_list **l_r, struct status *st);

/* inet_list_match - 1 if ip (textual IPv4 or IPv6, no brackets) is in l,
 * 0 if not (or ip is not an address), -1 if a table could not tell */
int inet_list_match(const struct inet_list *l, const char *ip);

/* inet_list_free - free *l and clear it; accepts NULL */
void inet_list_free(struct inet_list **l);

/* One network or address, also used by cidr: tables (map_cidr.c). */
struct inet_list_net {
        int family;             /* AF_INET or AF_INET6 */
        unsigned char addr[16]; /* network byte order; 4 bytes for AF_INET */
        unsigned bits;          /* prefix length */
};

/* inet_list_net_parse - len bytes at text: "192.0.2.0/24", "192.0.2.1",
 * "[2001:db8::]/32", "2001:db8::/32", "[::1]". Returns 0, or -1 with a
 * static text in *error_r ("bad address", "bad prefix length", "non-null
 * host address bits"). */
int inet_list_net_parse(const char *text, size_t len,
                        struct inet_list_net *net_r, const char **error_r);
/* inet_list_addr_parse - a client IP (no brackets, no length; an
 * IPv4-mapped IPv6 address becomes IPv4); 0 or -1 */
int inet_list_addr_parse(const char *ip, struct inet_list_net *addr_r);
/* inet_list_net_match - 1 if addr (from inet_list_addr_parse) is in net */
int inet_list_net_match(const struct inet_list_net *net,
                        const struct inet_list_net *addr);

#endif
