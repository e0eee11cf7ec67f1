/* authc.c - the authd client, asynchronous side (wire helpers: authc_wire.c)
 * Used by: the event-driven daemons (smtpd, imapd, pop3d, local, qmgr) and
 * through authc_int.h by authc_sync.c. One UNIX stream connection to authd
 * per struct authc, opened on the first request and again after trouble;
 * requests are pipelined with numeric ids and matched to replies by id.
 * When the connection breaks every request it carried is answered
 * TEMPFAIL: a lost authd is never a "no". Parses input from authd only,
 * which runs as mail_owner like its callers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "authc.h"
#include "authc_int.h"
#include "conn.h"
#include "log.h"
#include "loop.h"
#include "mem.h"

/* --- the asynchronous client --- */

struct authc_req {
        struct authc *a;
        struct authc_req *prev, *next;
        unsigned long id;
        enum authc_op op;
        authc_cb *cb;
        void *ctx;
        int sent;               /* written on the current connection */
        int doomed;             /* to be answered TEMPFAIL from the loop */
        enum authc_result doom_result;
        enum authc_fail doom_fail;
        const char *doom_reason;        /* static text */
};

struct authc {
        char *path;
        struct conn *conn;
        int version_ok;
        unsigned long next_id;
        struct authc_req *head, *tail;
        size_t count;
        size_t waiting;         /* sent and not yet answered */
        struct loop_timer *kick;
        struct buf out;         /* scratch for request lines */
        int dispatching;
        int dead;               /* authc_free() inside a callback */
};

static void authc_kick_cb(void *ctx);

struct authc *authc_new(const char *socket_path)
{
        struct authc *a = xcalloc(1, sizeof(*a));

        a->path = xstrdup(socket_path);
        a->next_id = 1;
        a->kick = loop_timer_new(authc_kick_cb, a);
        buf_init(&a->out, 0);
        return a;
}

static void req_unlink(struct authc *a, struct authc_req *r)
{
        if (r->prev != NULL)
                r->prev->next = r->next;
        else
                a->head = r->next;
        if (r->next != NULL)
                r->next->prev = r->prev;
        else
                a->tail = r->prev;
        r->prev = r->next = NULL;
        a->count--;
        if (r->sent) {
                r->sent = 0;
                a->waiting--;
        }
}

static void authc_destroy(struct authc *a)
{
        struct authc_req *r;

        while ((r = a->head) != NULL) {
                req_unlink(a, r);
                free(r);
        }
        conn_free(&a->conn);
        loop_timer_free(&a->kick);
        buf_release(&a->out);
        free(a->path);
        free(a);
}

void authc_free(struct authc **ap)
{
        struct authc *a;

        if (ap == NULL || *ap == NULL)
                return;
        a = *ap;
        *ap = NULL;
        if (a->dispatching > 0) {
                /* the loop that called back finishes the job */
                a->dead = 1;
                conn_free(&a->conn);
                loop_timer_stop(a->kick);
                return;
        }
        authc_destroy(a);
}

size_t authc_pending(const struct authc *a)
{
        return a->count;
}

/* deliver - call back for r (unlinked by the caller or not) with reply;
 * final replies free r. Returns -1 when a was freed meanwhile. */
static int deliver(struct authc *a, struct authc_req *r,
                   const struct authc_reply *reply, int final)
{
        authc_cb *cb = r->cb;
        void *ctx = r->ctx;

        if (final) {
                req_unlink(a, r);
                free(r);
        }
        a->dispatching++;
        cb(reply, ctx);
        a->dispatching--;
        if (a->dead) {
                if (a->dispatching == 0)
                        authc_destroy(a);
                return -1;
        }
        return 0;
}

static void update_timeout(struct authc *a)
{
        if (a->conn != NULL)
                conn_set_timeout(a->conn, a->waiting > 0 ?
                                 AUTHC_REPLY_TIMEOUT_MS : 0);
}

/* doom_sent - every request the lost connection carried fails from the
 * loop */
static void doom_sent(struct authc *a, const char *why)
{
        for (struct authc_req *r = a->head; r != NULL; r = r->next) {
                if (!r->sent)
                        continue;
                r->sent = 0;
                r->doomed = 1;
                r->doom_result = AUTHC_TEMPFAIL;
                r->doom_reason = why;
        }
        a->waiting = 0;
        loop_timer_start(a->kick, 0);
}

static void drop_conn(struct authc *a, const char *why)
{
        conn_free(&a->conn);
        a->version_ok = 0;
        doom_sent(a, why);
}

static struct authc_req *find_req(struct authc *a, unsigned long id)
{
        for (struct authc_req *r = a->head; r != NULL; r = r->next)
                if (r->id == id && r->sent)
                        return r;
        return NULL;
}

/* on_line - one reply from authd */
static void on_line(struct authc *a, char *line, size_t len)
{
        char *fields[AUTHC_FIELDS_MAX];
        struct authc_user *user = NULL;
        struct authc_reply reply;
        unsigned long id;
        struct authc_req *r;
        size_t n;

        n = authc_line_head(line, len, fields, &id);
        if (!a->version_ok) {
                if (!authc_version_ok(fields, n)) {
                        log_warn("authd at %s: unexpected greeting; "
                                 "dropping the connection", a->path);
                        drop_conn(a, "authd speaks another protocol version");
                        return;
                }
                a->version_ok = 1;
                return;
        }
        if (n == 0)
                return;
        if (id == 0 || (r = find_req(a, id)) == NULL) {
                if (strcmp(fields[0], "ERROR") == 0)
                        log_warn("authd at %s: %s", a->path,
                                 n > 2 ? fields[2] : "error");
                return;         /* a canceled request's answer */
        }
        if (!authc_reply_decode(r->op, fields, n, &reply, &user)) {
                /* CONT: the exchange now waits for the client, not authd */
                r->sent = 0;
                a->waiting--;
                update_timeout(a);
                (void)deliver(a, r, &reply, 0);
                return;
        }
        if (deliver(a, r, &reply, 1) == 0)
                update_timeout(a);
        authc_user_free(&user);
}

static void on_event(struct conn *c, enum conn_event ev,
                     const struct conn_ev_data *d, void *ctx)
{
        struct authc *a = ctx;

        switch (ev) {
        case CONN_LINE:
                on_line(a, (char *)d->data, d->len);
                return;
        case CONN_LINE_TOO_LONG:
                log_warn("authd at %s: reply line too long", a->path);
                drop_conn(a, "malformed reply from authd");
                return;
        case CONN_TIMEOUT:
                log_warn("authd at %s: no answer in %d s", a->path,
                         AUTHC_REPLY_TIMEOUT_MS / 1000);
                drop_conn(a, "authd does not answer");
                return;
        case CONN_EOF:
        case CONN_ERROR:
        case CONN_CLOSED:
        case CONN_DEADLINE:
                drop_conn(a, "lost the connection to authd");
                return;
        default:
                return;
        }
}

/* connect_now - open the socket; 0, or -1 (logged) */
static int connect_now(struct authc *a)
{
        struct sockaddr_un sun;
        struct conn_opts opts;
        int fd;

        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        if (strlen(a->path) >= sizeof(sun.sun_path)) {
                log_warn("authd socket path too long: %s", a->path);
                return -1;
        }
        memcpy(sun.sun_path, a->path, strlen(a->path));
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                log_warn("authd: socket: %m");
                return -1;
        }
        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
                log_warn("cannot connect to authd at %s: %m", a->path);
                close(fd);
                return -1;
        }
        memset(&opts, 0, sizeof(opts));
        opts.line_max = AUTHC_LINE_MAX;
        /* reading pauses above out_high: never let our own requests
         * stall the replies that would drain them */
        opts.out_high = 16 * 1024 * 1024;
        opts.out_low = 1024 * 1024;
        a->conn = conn_new(fd, &opts, on_event, a);
        a->version_ok = 0;
        conn_printf(a->conn, "VERSION\t%d\t%d\n", AUTHC_PROTO_MAJOR,
                    AUTHC_PROTO_MINOR);
        return 0;
}

static void authc_kick_cb(void *ctx)
{
        struct authc *a = ctx;
        struct authc_req *r;
        struct authc_reply reply;

        /* answer the doomed ones, one at a time: a callback may cancel
         * others or free a */
        for (;;) {
                for (r = a->head; r != NULL && !r->doomed; r = r->next)
                        ;
                if (r == NULL)
                        break;
                memset(&reply, 0, sizeof(reply));
                reply.result = r->doom_result;
                reply.fail = r->doom_fail;
                reply.reason = r->doom_reason;
                if (deliver(a, r, &reply, 1) < 0)
                        return;
        }
}

/* doom - r fails from the loop with result (and fail code) */
static void doom(struct authc *a, struct authc_req *r,
                 enum authc_result result, enum authc_fail fail,
                 const char *why)
{
        r->doomed = 1;
        r->doom_result = result;
        r->doom_fail = fail;
        r->doom_reason = why;
        loop_timer_start(a->kick, 0);
}

/* start - queue a new request; its line goes out at once when the
 * connection is (or can be) up, else it fails from the loop */
static struct authc_req *start(struct authc *a, enum authc_op op,
                               const struct authc_args *args, authc_cb *cb,
                               void *ctx)
{
        struct authc_req *r = xcalloc(1, sizeof(*r));

        r->a = a;
        r->op = op;
        r->cb = cb;
        r->ctx = ctx;
        r->id = a->next_id++;
        if (a->next_id > 4294967295UL)
                a->next_id = 1;
        r->prev = a->tail;
        if (a->tail != NULL)
                a->tail->next = r;
        else
                a->head = r;
        a->tail = r;
        a->count++;
        buf_reset(&a->out);
        if (authc_line_build(&a->out, op, r->id, args) < 0) {
                /* too long to send: a refusal, not an outage */
                if (op == AUTHC_OP_LOOKUP || op == AUTHC_OP_REDEEM)
                        doom(a, r, AUTHC_NOTFOUND, AUTHC_FAIL_AUTH,
                             "request too long");
                else if (op == AUTHC_OP_VERIFY || op == AUTHC_OP_AUTH)
                        doom(a, r, AUTHC_FAIL, op == AUTHC_OP_AUTH ?
                             AUTHC_FAIL_SYNTAX : AUTHC_FAIL_AUTH,
                             "request too long");
                else
                        doom(a, r, AUTHC_TEMPFAIL, AUTHC_FAIL_AUTH,
                             "request too long");
        } else if (a->conn == NULL && connect_now(a) < 0) {
                doom(a, r, AUTHC_TEMPFAIL, AUTHC_FAIL_AUTH,
                     "cannot connect to authd");
        } else if (conn_write(a->conn, a->out.data, a->out.len) < 0) {
                doom(a, r, AUTHC_TEMPFAIL, AUTHC_FAIL_AUTH,
                     "cannot write to authd");
        } else {
                r->sent = 1;
                if (a->waiting++ == 0)
                        update_timeout(a);
        }
        return r;
}

struct authc_req *authc_verify(struct authc *a, const struct authc_login *l,
                               const char *user, const char *password,
                               authc_cb *cb, void *ctx)
{
        struct authc_args args = { .login = l, .user = user,
                                   .password = password };
        struct authc_req *r = start(a, AUTHC_OP_VERIFY, &args, cb, ctx);

        /* the password was copied into the connection's buffer only */
        explicit_bzero(a->out.data, a->out.len);
        return r;
}

struct authc_req *authc_lookup(struct authc *a, const char *user,
                               authc_cb *cb, void *ctx)
{
        struct authc_args args = { .user = user };

        return start(a, AUTHC_OP_LOOKUP, &args, cb, ctx);
}

struct authc_req *authc_redeem(struct authc *a, const char *token,
                               authc_cb *cb, void *ctx)
{
        struct authc_args args = { .token = token };

        return start(a, AUTHC_OP_REDEEM, &args, cb, ctx);
}

struct authc_req *authc_pbs_grant(struct authc *a, const char *ip,
                                  const char *user, authc_cb *cb, void *ctx)
{
        struct authc_args args = { .ip = ip, .user = user };

        return start(a, AUTHC_OP_PBS_GRANT, &args, cb, ctx);
}

struct authc_req *authc_pbs_check(struct authc *a, const char *ip,
                                  authc_cb *cb, void *ctx)
{
        struct authc_args args = { .ip = ip };

        return start(a, AUTHC_OP_PBS_CHECK, &args, cb, ctx);
}

struct authc_req *authc_mechs(struct authc *a, const char *service,
                              int secured, authc_cb *cb, void *ctx)
{
        struct authc_args args = { .service = service, .secured = secured };

        return start(a, AUTHC_OP_MECHS, &args, cb, ctx);
}

struct authc_req *authc_sasl_start(struct authc *a, const struct authc_login *l,
                                   const char *mech, const char *initial,
                                   authc_cb *cb, void *ctx)
{
        struct authc_args args = { .login = l, .mech = mech,
                                   .data = initial };
        struct authc_req *r = start(a, AUTHC_OP_AUTH, &args, cb, ctx);

        explicit_bzero(a->out.data, a->out.len);
        return r;
}

void authc_sasl_continue(struct authc_req *r, const char *response)
{
        struct authc *a = r->a;
        struct authc_args args = { .data = response };

        if (r->doomed)
                return;                 /* its answer is on the way */
        if (a->conn == NULL || r->sent || r->op != AUTHC_OP_AUTH) {
                /* the connection went away since the challenge, or a step
                 * is still outstanding */
                doom(a, r, AUTHC_TEMPFAIL, AUTHC_FAIL_AUTH,
                     "lost the connection to authd");
                return;
        }
        buf_reset(&a->out);
        if (authc_line_build(&a->out, AUTHC_OP_CONT, r->id, &args) < 0) {
                struct authc_args none = { 0 };

                /* authd still holds the exchange: end it there */
                buf_reset(&a->out);
                if (authc_line_build(&a->out, AUTHC_OP_ABORT, r->id,
                                     &none) == 0)
                        conn_write(a->conn, a->out.data, a->out.len);
                doom(a, r, AUTHC_FAIL, AUTHC_FAIL_SYNTAX,
                     "response too long");
                return;
        }
        if (conn_write(a->conn, a->out.data, a->out.len) < 0) {
                explicit_bzero(a->out.data, a->out.len);
                drop_conn(a, "cannot write to authd");
                doom(a, r, AUTHC_TEMPFAIL, AUTHC_FAIL_AUTH,
                     "cannot write to authd");
                return;
        }
        explicit_bzero(a->out.data, a->out.len);
        r->sent = 1;
        if (a->waiting++ == 0)
                update_timeout(a);
}

void authc_cancel(struct authc_req **rp)
{
        struct authc_req *r;
        struct authc *a;

        if (rp == NULL || *rp == NULL)
                return;
        r = *rp;
        *rp = NULL;
        a = r->a;
        if (r->op == AUTHC_OP_AUTH && a->conn != NULL && !r->doomed) {
                struct authc_args none = { 0 };

                buf_reset(&a->out);
                if (authc_line_build(&a->out, AUTHC_OP_ABORT, r->id,
                                     &none) == 0)
                        conn_write(a->conn, a->out.data, a->out.len);
        }
        req_unlink(a, r);
        free(r);
        update_timeout(a);
}
