/* auth_conn.h - one client connection of authd
 * Used by: authd.c, which accepts on $data_directory/authd.socket and
 * hands each new socket here. A connection speaks auth/PROTOCOL.md:
 * VERSION first, then pipelined requests named by ids; answers may come
 * in any order. Malformed, oversized and out-of-order requests get ERROR
 * and a log line; a client that keeps sending them is disconnected. Every
 * operation is open to every client: the socket (mode 0660, mail_owner)
 * already limits who can connect to mail_owner's processes and root.
 * Runs in authd's front end as mail_owner; parses what clients send. */
#ifndef YUBIN_AUTH_CONN_H
#define YUBIN_AUTH_CONN_H

#include <stddef.h>

#include "auth_sasl.h"

/* requests of one connection waiting for workers or delays before its
 * reading pauses */
#define AUTH_CONN_INFLIGHT_MAX 256
/* open ids (requests and SASL exchanges) per connection */
#define AUTH_CONN_OPEN_MAX 4096
/* protocol errors before a connection is dropped */
#define AUTH_CONN_ERRORS_MAX 10
/* how long a SASL exchange may wait for the client's next answer */
#define AUTH_CONN_SASL_IDLE_MS (5 * 60 * 1000)

struct cfg;
struct auth_workers;
struct auth_pbs;
struct auth_throttle;
struct auth_tokens;

/* What every connection shares; authd.c owns it. */
struct auth_service {
        struct auth_workers *workers;
        struct auth_pbs *pbs;
        struct auth_throttle *throttle;
        struct auth_tokens *tokens;
        struct auth_sasl_policy policy;
        long long pbs_ttl_ms;           /* pop_before_smtp_timeout; 0: off */
        long long token_ttl_ms;         /* auth_token_lifetime */
};

/* auth_conn_accept - serve the accepted socket fd (taken over) for svc
 * (borrowed; must outlive every connection) */
void auth_conn_accept(struct auth_service *svc, int fd);
/* auth_conn_count - connections open now */
size_t auth_conn_count(void);
/* auth_conn_close_fds - in a freshly forked worker: close every client
 * socket's descriptor (the front end keeps them) */
void auth_conn_close_fds(void);
/* auth_conn_free_all - drop every connection (at exit) */
void auth_conn_free_all(void);

#endif
