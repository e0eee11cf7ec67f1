/* login_session.h - the start of a per-user IMAP/POP3 session process
 * Used by: the session programs imap and pop3, which the supervisor
 * starts after a login (master/master_session.c) with the mailbox owner's
 * uid and gid, the client at LOGIN_SESSION_CLIENT_FD (the socket itself,
 * or the far end of the front end's plaintext relay when the client uses
 * TLS), the SESSION message in a memfd at LOGIN_SESSION_INFO_FD and main.cf
 * at LOGIN_SESSION_MAIN_CF_FD (login_proto.h), and the front end's
 * master.cf arguments. A session reads SESSION, opens the user's Maildir
 * and answers the login itself. Runs as the mailbox owner, never root. */
#ifndef YUBIN_LOGIN_SESSION_H
#define YUBIN_LOGIN_SESSION_H

#include <stddef.h>

#include "authc.h"
#include "buf.h"
#include "conn.h"
#include "login_proto.h"
#include "status.h"

struct login_session {
        struct authc_user *user;        /* authd's record, as redeemed */
        char *proto, *service, *rip, *lip, *method, *data;
        int rport, lport;
        int tls;                        /* the client talks TLS to the
                                         * front end */
        int secured;
        struct buf pending;             /* client input read by the front
                                         * end, to be used first */
        char *maildir;                  /* the Maildir's path */
        long long started_ms;
};

/* login_session_read - read and check SESSION from fd: the user record,
 * the connection facts and the Maildir path from the record's mail
 * location. Refuses to go on as root. 0 with *s_r (free with
 * login_session_free()), or -1 with st. */
int login_session_read(int fd, struct login_session **s_r,
                       struct status *st);
/* login_session_free - free *sp and clear it; accepts NULL */
void login_session_free(struct login_session **sp);

/* login_session_conn - the client connection at LOGIN_SESSION_CLIENT_FD
 * (taken) with the front end's unused input put back in front; returns a
 * new conn (free with conn_free()) */
struct conn *login_session_conn(struct login_session *s,
                                const struct conn_opts *opts,
                                conn_event_fn *cb, void *ctx);

/* login_session_mail_path - the Maildir path in a Dovecot mail location:
 * "maildir:PATH" or "maildir:PATH:KEY=VALUE...", or an absolute PATH
 * alone ("::" in PATH stands for ':'). 0 with *path_r (free with free()),
 * or -1 with st (5.3.5) for another format or an empty or relative path. */
int login_session_mail_path(const char *mail, char **path_r,
                            struct status *st);

/* login_session_log_end - Dovecot's "PROTO(USER): Disconnected: REASON
 * STATS", e.g. "pop3(ann): Disconnected: Logged out top=0/0, ..." */
void login_session_log_end(const struct login_session *s, const char *reason,
                           const char *stats);
/* login_session_internal_error - the fixed text a client gets for
 * trouble whose detail went to the log, with the time so that the
 * administrator can find it: "Internal error occurred. Refer to server
 * log for more information. [2024-05-01 12:00:00]"; into out (size
 * bytes); returns out */
const char *login_session_internal_error(char *out, size_t size);

#endif
