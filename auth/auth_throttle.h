/* auth_throttle.h - failed-login delays and per-address bans
 * Used by: authd's front end (auth_conn.c) for VERIFY and SASL. As
 * Dovecot's auth penalty, failures are counted per client address only,
 * never per user, so that nobody can lock a user out: after
 * auth_failure_limit failures within auth_failure_window an address is
 * refused, even with the right password, for auth_failure_ban_time.
 * Each failure's answer is held back auth_failure_delay; successful logins
 * are not slowed. Addresses in login_trusted_networks are neither delayed
 * nor counted. State is in memory only: an authd restart forgets it. */
#ifndef YUBIN_AUTH_THROTTLE_H
#define YUBIN_AUTH_THROTTLE_H

#include <stddef.h>

#include "status.h"

/* the most addresses tracked at once; beyond it new addresses are still
 * delayed but not counted until old entries lapse */
#define AUTH_THROTTLE_MAX 100000

struct cfg;

struct auth_throttle_conf {
        long long delay_ms;     /* auth_failure_delay */
        long long limit;        /* auth_failure_limit; 0: no bans */
        long long window_ms;    /* auth_failure_window */
        long long ban_ms;       /* auth_failure_ban_time */
};

struct auth_throttle;

/* auth_throttle_new - empty state for conf (copied); free with
 * auth_throttle_free() */
struct auth_throttle *auth_throttle_new(const struct auth_throttle_conf *conf);
/* auth_throttle_free - free *tp and clear it; accepts NULL */
void auth_throttle_free(struct auth_throttle **tp);
/* auth_throttle_load - auth_failure_* and login_trusted_networks from c.
 * Returns 0 with *t_r (free with auth_throttle_free()), or -1 with st
 * (5.3.5) for a network that is not ADDRESS or ADDRESS/BITS. */
int auth_throttle_load(struct cfg *c, struct auth_throttle **t_r,
                       struct status *st);

/* auth_throttle_trust - exempt network ("192.0.2.0/24", "2001:db8::/32",
 * "[2001:db8::1]", a bare address); 0, or -1 with st (5.3.5) */
int auth_throttle_trust(struct auth_throttle *t, const char *network,
                        struct status *st);
/* auth_throttle_trusted - 1 if rip is in a trusted network, else 0 (also
 * for "" and malformed addresses) */
int auth_throttle_trusted(const struct auth_throttle *t, const char *rip);

/* auth_throttle_banned - milliseconds left of rip's ban at now_ms, or 0
 * when rip may try */
long long auth_throttle_banned(struct auth_throttle *t, const char *rip,
                               long long now_ms);
/* auth_throttle_failed - count one failure of rip at now_ms; returns 1
 * when it starts a ban, else 0 (trusted addresses and "" are not counted) */
int auth_throttle_failed(struct auth_throttle *t, const char *rip,
                         long long now_ms);
/* auth_throttle_delay - how long to hold back a failure answer for rip, in
 * ms (0 for a trusted address) */
long long auth_throttle_delay(const struct auth_throttle *t, const char *rip);
/* auth_throttle_purge - forget lapsed windows and bans; returns how many
 * addresses are still tracked */
size_t auth_throttle_purge(struct auth_throttle *t, long long now_ms);

#endif
