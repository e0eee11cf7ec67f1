/* login_session_conn.c - a session's client connection as a conn
 * Used by: pop3 (login_session.h). The client at LOGIN_SESSION_CLIENT_FD
 * with what the front end had read but not used put back in front. Kept
 * apart from login_session.c so that the imap session, which has its
 * own TLS-free socket layer (plain_conn.c), does not link conn.c and
 * OpenSSL. Runs as the mailbox owner. */
#include "buf.h"
#include "conn.h"
#include "login_session.h"

struct conn *login_session_conn(struct login_session *s,
                                const struct conn_opts *opts,
                                conn_event_fn *cb, void *ctx)
{
        struct conn *c = conn_new(LOGIN_SESSION_CLIENT_FD, opts, cb, ctx);

        conn_unread(c, s->pending.data, s->pending.len);
        buf_release(&s->pending);
        return c;
}
