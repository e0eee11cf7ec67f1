/* login_relay.h - plaintext relay between a TLS client and its session
 * Used by: the login front ends (login_handoff.c), once a session runs
 * for a client whose TLS the front end holds: bytes decrypted from the
 * client go to the session's end of a socketpair, the session's output is
 * encrypted to the client. Each direction pauses its reader while the
 * other side has more than LOGIN_RELAY_HIGH bytes unsent. When either
 * side closes, what the other had sent is flushed and both close. Runs as
 * mail_owner; reads nothing, only copies. */
#ifndef YUBIN_LOGIN_RELAY_H
#define YUBIN_LOGIN_RELAY_H

#include <stddef.h>

struct conn;

#define LOGIN_RELAY_HIGH (256 * 1024)

/* login_relay_start - relay between client (a conn with TLS active,
 * taken: its callback is replaced) and fd (the front end's end of the
 * socketpair, taken) until both are closed */
void login_relay_start(struct conn *client, int fd);
/* login_relay_count - relays running */
size_t login_relay_count(void);
/* login_relay_set_done - call done(ctx) whenever a relay ends */
void login_relay_set_done(void (*done)(void *ctx), void *ctx);
/* login_relay_stop_all - close every relay at once (SIGTERM) */
void login_relay_stop_all(void);

#endif
