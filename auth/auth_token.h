/* auth_token.h - single-use login tokens
 * Used by: authd's front end. After a successful VERIFY or SASL exchange
 * that asked for one, authd issues a token (128 random bits from the
 * kernel, as 32 hex digits) naming the user; the supervisor redeems it
 * (REDEEM) to learn whom a login front end authenticated before it starts
 * that user's session, so a compromised front end cannot ask for a
 * session as anyone it likes. A token is good once, for
 * auth_token_lifetime; tokens live in memory only. */
#ifndef YUBIN_AUTH_TOKEN_H
#define YUBIN_AUTH_TOKEN_H

#include <stddef.h>

#include "status.h"

/* 16 random bytes as hex */
#define AUTH_TOKEN_BYTES 16
#define AUTH_TOKEN_LEN (AUTH_TOKEN_BYTES * 2)
/* the most tokens outstanding at once */
#define AUTH_TOKEN_MAX 100000

struct auth_user;
struct auth_tokens;

/* auth_tokens_new - an empty store; free with auth_tokens_free() */
struct auth_tokens *auth_tokens_new(void);
/* auth_tokens_free - free *tp and clear it; accepts NULL */
void auth_tokens_free(struct auth_tokens **tp);

/* auth_tokens_issue - a new token for u (copied) good until now_ms +
 * ttl_ms, into token_r (AUTH_TOKEN_LEN + 1 bytes). Returns 0, or -1 with
 * st (4.3.0: no random bytes, or AUTH_TOKEN_MAX tokens outstanding). */
int auth_tokens_issue(struct auth_tokens *t, const struct auth_user *u,
                      long long now_ms, long long ttl_ms, char *token_r,
                      struct status *st);
/* auth_tokens_redeem - use up token: 1 with *user_r (free with
 * auth_user_free()) when it was issued and is live at now_ms, else 0 (an
 * expired token is forgotten too) */
int auth_tokens_redeem(struct auth_tokens *t, const char *token,
                       long long now_ms, struct auth_user **user_r);
/* auth_tokens_purge - forget tokens lapsed at now_ms; returns how many are
 * left */
size_t auth_tokens_purge(struct auth_tokens *t, long long now_ms);

#endif
