/* host_addrs.h - this host's own addresses, as main.cf names them
 * Used by: smtpd's routing checks (permit_inet_interfaces, [address]
 * literals naming this host) and the smtp client (mail that would loop
 * back to this host). The addresses are those of inet_interfaces and
 * proxy_interfaces: "all" is every interface's, "loopback-only"
 * 127.0.0.1 and ::1, a name its addresses, looked up once, when the set
 * is made. Parses administrator data only. */
#ifndef YUBIN_HOST_ADDRS_H
#define YUBIN_HOST_ADDRS_H

#include "cfg.h"

struct host_addrs;

/* host_addrs_open - the set for cfg; a name that does not resolve is
 * warned about and left out. Never NULL; free with host_addrs_free() */
struct host_addrs *host_addrs_open(struct cfg *cfg);
/* host_addrs_match - 1 when ip (IPv4 or IPv6 text) is one of them, else
 * 0 */
int host_addrs_match(const struct host_addrs *h, const char *ip);
void host_addrs_free(struct host_addrs **hp);

#endif
