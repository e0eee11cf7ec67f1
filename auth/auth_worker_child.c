/* auth_worker_child.c - the life of one authd worker process
 * Used by: auth_worker.c, right after fork(). A worker serves one request
 * at a time from its SOCK_SEQPACKET channel, blocking as long as the work
 * takes, and exits when the front end closes the channel. Requests and
 * replies are TAB-separated, escaped fields (authc_escape()):
 *   V user password rip     -> R ret what [record]   (ret 2: not here)
 *   L user                  -> R ret what [record]
 *   S sid mech service flags has_initial initial
 *   C sid response          -> K sid challenge | O sid user |
 *                              F sid kind reason    (kind: fail, mech,
 *                              syntax, temp)
 *   E sid                   -> D sid
 * and, while a SASL step runs, the worker asks "P sid user password" and
 * waits for "P ret" (1, 0, -1). Roles: sqlite and sasl workers drop to
 * mail_owner first; the pam worker stays root. Parses only what the
 * front end sends; the SASL worker's libsasl2 parses client data. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "auth_db.h"
#include "auth_map.h"
#include "auth_proto.h"
#include "auth_sasl.h"
#include "auth_user.h"
#include "auth_worker.h"
#include "authc.h"
#include "buf.h"
#include "log.h"
#include "mem.h"

#define CHILD_FIELDS_MAX 12

struct child {
        enum auth_worker_role role;
        int fd;
        struct auth_user_conf conf;     /* one backend: the role's */
        struct auth_db *db;
        dev_t db_dev;                   /* the file db has open */
        ino_t db_ino;
        struct auth_map *sessions;      /* sid -> struct child_sasl */
        const char *hostname;
        struct buf out;
        char *in;
};

struct child_sasl {
        struct child *c;
        struct auth_sasl *sasl;
        char sid[24];
};

static void child_send(struct child *c)
{
        ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);

        if (c->out.data != NULL)
                explicit_bzero(c->out.data, c->out.len);
        if (n < 0 || (size_t)n != c->out.len)
                _exit(0);       /* the front end is gone */
        buf_reset(&c->out);
}

static void put(struct buf *out, const char *s)
{
        buf_putc(out, '\t');
        authc_escape(out, s, strlen(s));
}

/* child_recv - the next message into c->in, split into fields; returns
 * the field count; exits when the channel closes */
static size_t child_recv(struct child *c, char **f)
{
        for (;;) {
                ssize_t n = recv(c->fd, c->in, AUTH_WORKER_MSG_MAX,
                                 MSG_TRUNC);
                size_t count;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        _exit(0);
                if (n > AUTH_WORKER_MSG_MAX) {
                        log_error("auth worker: message too long");
                        _exit(EX_SOFTWARE);
                }
                count = authc_split(c->in, (size_t)n, f, CHILD_FIELDS_MAX);
                if (count > CHILD_FIELDS_MAX)
                        count = CHILD_FIELDS_MAX;
                for (size_t i = 0; i < count; i++)
                        if (authc_unescape(f[i], strlen(f[i])) < 0)
                                f[i][0] = '\0';
                return count;
        }
}

/* child_db - the user database, opened on first use, again after
 * trouble, and again when the file was replaced (a restore, a move):
 * an open handle would go on answering from the old file. NULL when it
 * cannot be opened; st says why. */
static struct auth_db *child_db(struct child *c, struct status *st)
{
        struct stat sb;

        if (c->conf.db_path == NULL) {
                status_set(st, STATUS_LOCAL_IO, "no user database");
                return NULL;
        }
        if (stat(c->conf.db_path, &sb) < 0) {
                auth_db_close(&c->db);
                status_set(st, STATUS_LOCAL_IO, "user database %s: %m",
                           c->conf.db_path);
                log_warn("auth: %s", st->text);
                return NULL;
        }
        if (c->db != NULL && (sb.st_dev != c->db_dev ||
                              sb.st_ino != c->db_ino))
                auth_db_close(&c->db);
        if (c->db == NULL) {
                if (auth_db_open(c->conf.db_path, 0, NULL, &c->db, st) < 0) {
                        log_warn("auth: %s", st->text);
                        return NULL;
                }
                c->db_dev = sb.st_dev;
                c->db_ino = sb.st_ino;
        }
        return c->db;
}

/* child_reply - "R ret what [record]" */
static void child_reply(struct child *c, int ret, const char *what,
                        const struct auth_user *u)
{
        buf_printf(&c->out, "R\t%d", ret);
        put(&c->out, what);
        if (u != NULL)
                auth_proto_user_fields(&c->out, u);
        child_send(c);
}

/* child_verify - one backend's say on user's password: 1, 0 (the backend
 * knows the user: final), 2 (not here), -1 */
static int child_verify(struct child *c, const char *user,
                        const char *password, const char *rip,
                        struct auth_user **u_r, const char **what_r,
                        struct status *st)
{
        struct auth_user *found = NULL;
        struct status st2;
        struct auth_db *db = NULL;
        int ret, known;

        *what_r = "";
        if (c->role == AUTH_WORKER_SQLITE && (db = child_db(c, st)) == NULL)
                return -1;
        ret = auth_user_verify(&c->conf, db, user, password,
                               *rip != '\0' ? rip : NULL, u_r, st);
        if (ret != 0)
                return ret;
        /* who failed: an unknown user moves on to the next backend */
        known = auth_user_lookup(&c->conf, db, user, &found, &st2);
        if (known == 0) {
                *what_r = "unknown user";
                return 2;
        }
        *what_r = known == 1 && !found->enabled ? "account disabled"
                                                : "Password mismatch";
        auth_user_free(&found);
        return 0;
}

static void child_backend_request(struct child *c, char **f, size_t n)
{
        struct auth_user *u = NULL;
        struct status st;
        const char *what = "";
        int ret;

        status_clear(&st);
        if (f[0][0] == 'V' && n >= 4) {
                ret = child_verify(c, f[1], f[2], f[3], &u, &what, &st);
                explicit_bzero(f[2], strlen(f[2]));
        } else if (f[0][0] == 'L' && n >= 2) {
                struct auth_db *db = NULL;

                if (c->role == AUTH_WORKER_SQLITE &&
                    (db = child_db(c, &st)) == NULL)
                        ret = -1;
                else
                        ret = auth_user_lookup(&c->conf, db, f[1], &u, &st);
                if (ret == 0)
                        ret = 2;
        } else {
                log_error("auth worker: unexpected request %.8s", f[0]);
                _exit(EX_SOFTWARE);
        }
        if (ret < 0) {
                what = st.text;
                /* reopen after trouble: the file may have been replaced */
                auth_db_close(&c->db);
        }
        child_reply(c, ret, what, ret == 1 ? u : NULL);
        auth_user_free(&u);
}

/* child_checkpass - Cyrus asks for a password check: the front end does
 * it (the same walk as VERIFY) while this worker waits */
static int child_checkpass(void *ctx, const char *user, const char *password,
                           size_t len)
{
        struct child_sasl *cs = ctx;
        struct child *c = cs->c;
        char *f[CHILD_FIELDS_MAX];
        size_t n;

        buf_printf(&c->out, "P\t%s", cs->sid);
        put(&c->out, user);
        buf_putc(&c->out, '\t');
        authc_escape(&c->out, password, len);
        child_send(c);
        n = child_recv(c, f);
        if (n < 2 || strcmp(f[0], "P") != 0) {
                log_error("auth worker: expected a password check answer");
                _exit(EX_SOFTWARE);
        }
        return (int)strtol(f[1], NULL, 10);
}

/* child_sasl_result - send what a start or step gave */
static void child_sasl_result(struct child *c, struct child_sasl *cs,
                              enum auth_sasl_result r, char *out,
                              const struct status *st)
{
        static const char *const kinds[] = {
                [AUTH_SASL_FAIL] = "fail",
                [AUTH_SASL_BADMECH] = "mech",
                [AUTH_SASL_SYNTAX] = "syntax",
                [AUTH_SASL_TEMPFAIL] = "temp",
        };

        switch (r) {
        case AUTH_SASL_CONTINUE:
                buf_printf(&c->out, "K\t%s", cs->sid);
                put(&c->out, out != NULL ? out : "");
                child_send(c);
                free(out);
                return;
        case AUTH_SASL_OK:
                buf_printf(&c->out, "O\t%s", cs->sid);
                put(&c->out, auth_sasl_user(cs->sasl));
                break;
        default:
                buf_printf(&c->out, "F\t%s\t%s", cs->sid, kinds[r]);
                put(&c->out, st->text);
                break;
        }
        child_send(c);
        free(out);
        /* a final answer ends the session */
        auth_map_del(c->sessions, cs->sid);
        auth_sasl_free(&cs->sasl);
        free(cs);
}

static void child_sasl_request(struct child *c, char **f, size_t n)
{
        struct child_sasl *cs;
        struct status st;
        char *out = NULL;
        enum auth_sasl_result r;

        status_clear(&st);
        if (n < 2) {
                log_error("auth worker: short SASL request");
                _exit(EX_SOFTWARE);
        }
        cs = auth_map_get(c->sessions, f[1]);
        switch (f[0][0]) {
        case 'S':
                if (n < 7 || cs != NULL) {
                        log_error("auth worker: bad SASL start");
                        _exit(EX_SOFTWARE);
                }
                cs = xcalloc(1, sizeof(*cs));
                cs->c = c;
                snprintf(cs->sid, sizeof(cs->sid), "%s", f[1]);
                auth_map_put(c->sessions, cs->sid, cs);
                cs->sasl = auth_sasl_new(f[3], c->hostname,
                                         (unsigned)strtoul(f[4], NULL, 10),
                                         child_checkpass, cs, &st);
                if (cs->sasl == NULL)
                        r = AUTH_SASL_TEMPFAIL;
                else
                        r = auth_sasl_start(cs->sasl, f[2],
                                            f[5][0] == '1' ? f[6] : NULL,
                                            &out, &st);
                explicit_bzero(f[6], strlen(f[6]));
                child_sasl_result(c, cs, r, out, &st);
                return;
        case 'C':
                if (n < 3 || cs == NULL) {
                        log_error("auth worker: step of an unknown session");
                        _exit(EX_SOFTWARE);
                }
                r = auth_sasl_step(cs->sasl, f[2], &out, &st);
                explicit_bzero(f[2], strlen(f[2]));
                child_sasl_result(c, cs, r, out, &st);
                return;
        case 'E':
                if (cs != NULL) {
                        auth_map_del(c->sessions, cs->sid);
                        auth_sasl_free(&cs->sasl);
                        free(cs);
                }
                buf_printf(&c->out, "D\t%s", f[1]);
                child_send(c);
                return;
        }
        log_error("auth worker: unexpected request %.8s", f[0]);
        _exit(EX_SOFTWARE);
}

void auth_worker_child_run(enum auth_worker_role role, int fd,
                           const struct auth_workers_conf *conf)
{
        static const char *const names[] = {
                [AUTH_WORKER_SQLITE] = "authd-sqlite",
                [AUTH_WORKER_PAM] = "authd-pam",
                [AUTH_WORKER_SASL] = "authd-sasl",
        };
        static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1,
                                    SIGUSR2, SIGCHLD };
        struct child c;
        struct status st;
        char *f[CHILD_FIELDS_MAX];

        /* the front end's handlers would only write to its loop */
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
                signal(sigs[i], SIG_DFL);
        signal(SIGPIPE, SIG_IGN);
        prctl(PR_SET_NAME, names[role], 0, 0, 0);
        if (conf->privileged && role != AUTH_WORKER_PAM &&
            priv_drop(conf->owner, &st) < 0) {
                log_error("auth worker: cannot drop privileges to %s: %s",
                          conf->owner->name, st.text);
                _exit(EX_TEMPFAIL);
        }
        /* after the drop, which clears it: go when the front end goes */
        prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
        memset(&c, 0, sizeof(c));
        c.role = role;
        c.fd = fd;
        c.conf = *conf->users;
        c.conf.backends[0] = role == AUTH_WORKER_PAM ? AUTH_BACKEND_PAM
                                                     : AUTH_BACKEND_SQLITE;
        c.conf.backend_count = 1;
        c.hostname = conf->hostname;
        c.sessions = auth_map_new();
        c.in = xmalloc(AUTH_WORKER_MSG_MAX + 1);
        buf_init(&c.out, 0);
        if (role == AUTH_WORKER_SASL && auth_sasl_init(&st) < 0)
                log_warn("auth worker: %s", st.text);
        for (;;) {
                size_t n = child_recv(&c, f);

                if (n == 0 || f[0][0] == '\0')
                        continue;
                if (role == AUTH_WORKER_SASL)
                        child_sasl_request(&c, f, n);
                else
                        child_backend_request(&c, f, n);
        }
}
