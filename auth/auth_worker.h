/* auth_worker.h - authd's worker processes for blocking work
 * Used by: authd's front end (auth_conn.c, authd.c). Password checks
 * (crypt(3) is slow on purpose), user database and passwd look-ups, PAM
 * conversations and Cyrus SASL sessions all block, so they run in worker
 * processes the front end talks to over SOCK_SEQPACKET socketpairs, one
 * job at a time per worker, while its own loop keeps serving. Pools:
 *   sqlite  the user database and crypt(3)  mail_owner  (CPU count)
 *   pam     PAM and the passwd database     root        (2, pam in
 *           auth_backends only; pam_unix checks only the caller's own
 *           password otherwise)
 *   sasl    Cyrus SASL server sessions      mail_owner  (2)
 * A VERIFY or LOOKUP walks auth_backends in order, each backend answered
 * by its pool ("not here" moves on; a backend that knows the user has the
 * final word). A SASL session stays in the worker that started it; its
 * password check comes back to the front end and takes the same walk as
 * VERIFY, so SMTP, IMAP and POP3 see the same users. A dead mail_owner
 * worker is replaced; a dead root worker cannot be (the front end has
 * given up root), so authd exits and the supervisor starts it again. */
#ifndef YUBIN_AUTH_WORKER_H
#define YUBIN_AUTH_WORKER_H

#include <stddef.h>
#include <sys/types.h>

#include "auth_sasl.h"
#include "priv.h"
#include "status.h"

/* the largest message between front end and worker */
#define AUTH_WORKER_MSG_MAX 65536

struct auth_user;
struct auth_user_conf;

struct auth_workers_conf {
        const struct auth_user_conf *users;     /* borrowed; must outlive */
        const struct priv *owner;       /* whom the unprivileged run as */
        int privileged;                 /* 1: started as root */
        size_t sqlite_count;            /* 0: the default (CPUs, >= 2) */
        size_t pam_count;               /* 0: 2 */
        size_t sasl_count;              /* 0: 2 */
        const char *hostname;           /* myhostname, for Cyrus */
};

struct auth_workers;

/* auth_workers_start - fork the pools (call as root before dropping
 * privileges, after loop_init()). Returns 0 with *w_r (free with
 * auth_workers_free()), or -1 with st. */
int auth_workers_start(const struct auth_workers_conf *conf,
                       struct auth_workers **w_r, struct status *st);
/* auth_workers_free - close the channels (the workers exit on EOF) and
 * free *wp; pending jobs get no callback; clears *wp; accepts NULL */
void auth_workers_free(struct auth_workers **wp);
/* auth_workers_fork_hook - fn(ctx) runs in every worker forked later
 * (replacements), first thing: close the front end's descriptors there */
void auth_workers_fork_hook(struct auth_workers *w, void (*fn)(void *ctx),
                            void *ctx);

/* --- VERIFY and LOOKUP --- */

/* What a walk found. */
struct auth_workers_result {
        int ret;                /* 1 found/verified, 0 no, -1 could not
                                 * tell */
        struct auth_user *user; /* ret 1: the record; the callback may take
                                 * it (set to NULL), else it is freed */
        const char *backend;    /* "sqlite" or "pam": who answered (for a
                                 * user nobody knows, the last asked) */
        const char *what;       /* ret 0: "unknown user", "Password
                                 * mismatch", "account disabled"; ret -1:
                                 * why, for the log */
};

typedef void auth_workers_cb(struct auth_workers_result *r, void *ctx);

struct auth_wjob;

/* auth_workers_verify - check user's password (rip: the client's address
 * or "", given to PAM). cb is called once, from the loop. Strings are
 * copied (the password is wiped when done). Returns a handle for
 * auth_workers_cancel(), valid until the callback. */
struct auth_wjob *auth_workers_verify(struct auth_workers *w,
                                      const char *user, const char *password,
                                      const char *rip, auth_workers_cb *cb,
                                      void *ctx);
/* auth_workers_lookup - find user without a password; as verify (ret 0:
 * not found) */
struct auth_wjob *auth_workers_lookup(struct auth_workers *w,
                                      const char *user, auth_workers_cb *cb,
                                      void *ctx);
/* auth_workers_cancel - no callback for *jp; clears it; accepts NULL */
void auth_workers_cancel(struct auth_wjob **jp);

/* --- SASL sessions --- */

struct auth_workers_sasl_result {
        enum auth_sasl_result result;
        const char *challenge;  /* CONTINUE: base64 */
        const char *reason;     /* failures: text for the log */
        const char *sasl_user;  /* the name the client gave, when known */
        struct auth_user *user; /* OK: the record from the password check;
                                 * the callback may take it */
        const char *backend;    /* as in auth_workers_result, when a
                                 * password was checked */
        const char *what;
};

typedef void auth_workers_sasl_cb(struct auth_workers_sasl_result *r,
                                  void *ctx);

struct auth_wsasl;

/* auth_workers_sasl_start - a session for mech on service under Cyrus
 * flags (auth_sasl_flags_for()), with the initial response (base64;
 * NULL: none). cb is called from the loop after this and each step: with
 * CONTINUE (call auth_workers_sasl_step()), or a final result, after
 * which the session is over (still free it). Returns the session; free
 * with auth_workers_sasl_free(). */
struct auth_wsasl *auth_workers_sasl_start(struct auth_workers *w,
                                           const char *mech,
                                           const char *service,
                                           const char *rip, unsigned flags,
                                           const char *initial,
                                           auth_workers_sasl_cb *cb,
                                           void *ctx);
/* auth_workers_sasl_step - the client's answer (base64) to the last
 * challenge */
void auth_workers_sasl_step(struct auth_wsasl *s, const char *response);
/* auth_workers_sasl_free - end the session (at the worker too); no
 * callback follows; clears *sp; accepts NULL */
void auth_workers_sasl_free(struct auth_wsasl **sp);

/* --- inside a worker (auth_worker_child.c) --- */

enum auth_worker_role {
        AUTH_WORKER_SQLITE,
        AUTH_WORKER_PAM,
        AUTH_WORKER_SASL,
};

/* auth_worker_child_run - a worker's life: serve requests on fd until the
 * front end goes away, then _exit(). Never returns. */
void auth_worker_child_run(enum auth_worker_role role, int fd,
                           const struct auth_workers_conf *conf)
        __attribute__((noreturn));

#endif
