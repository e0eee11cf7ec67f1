/* login_trust.h - when an IMAP/POP3 connection counts as secured
 * Used by: the login front ends (imapd, pop3d) through login_server.c, to
 * apply disable_plaintext_auth as Dovecot does: a connection is secured
 * when it is TLS, when the client's address equals the server's own
 * address (a client on 127.0.0.2 talking to 127.0.0.1 is not secured), or
 * when the client is in login_trusted_networks (ADDRESS or ADDRESS/BITS,
 * IPv4 or IPv6, brackets allowed). Parses configuration only. */
#ifndef YUBIN_LOGIN_TRUST_H
#define YUBIN_LOGIN_TRUST_H

#include <stddef.h>

#include "status.h"

struct cfg;
struct login_trust;

/* login_trust_new - the networks of count items (borrowed); 0 with *t_r
 * (free with login_trust_free()), or -1 with st (5.3.5) naming the item
 * that is not ADDRESS or ADDRESS/BITS */
int login_trust_new(char **items, size_t count, struct login_trust **t_r,
                    struct status *st);
/* login_trust_from_cfg - the same from login_trusted_networks */
int login_trust_from_cfg(struct cfg *cfg, struct login_trust **t_r,
                         struct status *st);
/* login_trust_free - free *tp and clear it; accepts NULL */
void login_trust_free(struct login_trust **tp);

/* login_trust_match - 1 if ip (text; IPv4-mapped IPv6 counts as IPv4)
 * is in one of the networks, else 0 (also for text that is no address) */
int login_trust_match(const struct login_trust *t, const char *ip);
/* login_trust_secured - 1 if a connection from rip to lip is secured:
 * tls, or rip equals lip (as addresses), or rip is trusted; else 0 */
int login_trust_secured(const struct login_trust *t, int tls,
                        const char *rip, const char *lip);

#endif
