/* login_master.h - a login front end's channel to the supervisor
 * Used by: imapd and pop3d (login_handoff.c). Sends LOGIN requests, each
 * with the client's descriptor, over $data_directory/login.socket and
 * hands back the supervisor's OK (the session's pid) or FAIL;
 * login_proto.h describes the messages. One SOCK_SEQPACKET connection,
 * opened on the first request and again after trouble; requests are
 * pipelined and matched to answers by id. A lost connection or a request
 * unanswered for LOGIN_MASTER_TIMEOUT_MS is a FAIL of code temp: never a
 * session started twice, never a wait without end. Event-driven (needs
 * loop_init()); runs as mail_owner. */
#ifndef YUBIN_LOGIN_MASTER_H
#define YUBIN_LOGIN_MASTER_H

#include "login_proto.h"

#define LOGIN_MASTER_TIMEOUT_MS (30 * 1000)

struct login_master;
struct login_master_req;

/* The answer; borrowed, valid until the callback returns. */
typedef void login_master_cb(const struct login_reply *r, void *ctx);

/* login_master_new - a client for the socket at path (borrowed, copied);
 * free with login_master_free() */
struct login_master *login_master_new(const char *socket_path);
/* login_master_free - close and free *lmp; pending requests are dropped
 * without a callback (their descriptors closed); clears *lmp; accepts
 * NULL. Not from inside a callback. */
void login_master_free(struct login_master **lmp);

/* login_master_request - ask for a session: r is borrowed (copied; its
 * id is chosen here), fd is taken (closed once sent, or when the request
 * ends). cb(reply, ctx) follows exactly once, from the loop, unless the
 * request is canceled. Returns a handle, invalid after the callback. */
struct login_master_req *login_master_request(struct login_master *lm,
                                              const struct login_request *r,
                                              int fd, login_master_cb *cb,
                                              void *ctx);
/* login_master_cancel - no callback will follow for *rp (a session the
 * supervisor starts anyway ends when its client goes); clears *rp;
 * accepts NULL */
void login_master_cancel(struct login_master_req **rp);

#endif
