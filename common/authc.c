/* authc.c - the authd client, asynchronous side, and the wire helpers
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

/* --- wire helpers --- */

int authc_escape(struct buf *out, const char *s, size_t len)
{
        size_t start = out->len;

        for (size_t i = 0; i < len; i++) {
                const char *esc = NULL;

                switch (s[i]) {
                case '\\':
                        esc = "\\\\";
                        break;
                case '\t':
                        esc = "\\t";
                        break;
                case '\n':
                        esc = "\\n";
                        break;
                case '\r':
                        esc = "\\r";
                        break;
                }
                if ((esc != NULL ? buf_append(out, esc, 2)
                                 : buf_putc(out, s[i])) < 0) {
                        buf_truncate(out, start);
                        return -1;
                }
        }
        return 0;
}

long authc_unescape(char *s, size_t len)
{
        size_t o = 0;

        for (size_t i = 0; i < len; i++) {
                char c = s[i];

                if (c == '\0')
                        return -1;
                if (c == '\\') {
                        if (++i >= len)
                                return -1;
                        switch (s[i]) {
                        case '\\':
                                c = '\\';
                                break;
                        case 't':
                                c = '\t';
                                break;
                        case 'n':
                                c = '\n';
                                break;
                        case 'r':
                                c = '\r';
                                break;
                        default:
                                return -1;
                        }
                }
                s[o++] = c;
        }
        s[o] = '\0';
        return (long)o;
}

size_t authc_split(char *line, size_t len, char **fields_r, size_t max)
{
        size_t n = 0;
        char *p = line;
        char *end = line + len;

        for (;;) {
                char *tab = memchr(p, '\t', (size_t)(end - p));

                if (n == max)
                        return max + 1;
                fields_r[n++] = p;
                if (tab == NULL)
                        break;
                *tab = '\0';
                p = tab + 1;
        }
        *end = '\0';
        return n;
}

const char *authc_field_value(const char *field, const char *key)
{
        size_t n = strlen(key);

        if (strncmp(field, key, n) == 0 && field[n] == '=')
                return field + n + 1;
        return NULL;
}

void authc_user_free(struct authc_user **up)
{
        struct authc_user *u;

        if (up == NULL || *up == NULL)
                return;
        u = *up;
        free(u->name);
        free(u->home);
        free(u->mail);
        if (u->token != NULL) {
                explicit_bzero(u->token, strlen(u->token));
                free(u->token);
        }
        free(u);
        *up = NULL;
}

struct authc_user *authc_user_dup(const struct authc_user *u)
{
        struct authc_user *c = xcalloc(1, sizeof(*c));

        c->name = xstrdup(u->name);
        c->uid = u->uid;
        c->gid = u->gid;
        c->home = xstrdup(u->home != NULL ? u->home : "");
        c->mail = xstrdup(u->mail != NULL ? u->mail : "");
        c->quota_bytes = u->quota_bytes;
        c->quota_messages = u->quota_messages;
        c->token = u->token != NULL ? xstrdup(u->token) : NULL;
        return c;
}

/* parse_num - a decimal number in 0..max; 0 or -1 */
static int parse_num(const char *s, long long max, long long *v_r)
{
        long long v = 0;

        if (*s == '\0')
                return -1;
        for (; *s != '\0'; s++) {
                if (*s < '0' || *s > '9')
                        return -1;
                if (v > (max - (*s - '0')) / 10)
                        return -1;
                v = v * 10 + (*s - '0');
        }
        *v_r = v;
        return 0;
}

struct authc_user *authc_user_parse(char **fields, size_t count)
{
        struct authc_user *u = xcalloc(1, sizeof(*u));
        long long v = 0;
        int bad = 0;

        for (size_t i = 0; i < count && !bad; i++) {
                const char *f = fields[i];
                const char *val;

                if ((val = authc_field_value(f, "user")) != NULL) {
                        free(u->name);
                        u->name = xstrdup(val);
                } else if ((val = authc_field_value(f, "uid")) != NULL) {
                        bad = parse_num(val, 4294967295LL, &v) < 0;
                        u->uid = (uid_t)v;
                } else if ((val = authc_field_value(f, "gid")) != NULL) {
                        bad = parse_num(val, 4294967295LL, &v) < 0;
                        u->gid = (gid_t)v;
                } else if ((val = authc_field_value(f, "home")) != NULL) {
                        free(u->home);
                        u->home = xstrdup(val);
                } else if ((val = authc_field_value(f, "mail")) != NULL) {
                        free(u->mail);
                        u->mail = xstrdup(val);
                } else if ((val = authc_field_value(f, "quota_bytes"))
                           != NULL) {
                        bad = parse_num(val, 0x7fffffffffffffffLL,
                                        &u->quota_bytes) < 0;
                } else if ((val = authc_field_value(f, "quota_messages"))
                           != NULL) {
                        bad = parse_num(val, 0x7fffffffffffffffLL,
                                        &u->quota_messages) < 0;
                } else if ((val = authc_field_value(f, "token")) != NULL) {
                        free(u->token);
                        u->token = xstrdup(val);
                }
        }
        if (bad || u->name == NULL || *u->name == '\0') {
                authc_user_free(&u);
                return NULL;
        }
        if (u->home == NULL)
                u->home = xstrdup("");
        if (u->mail == NULL)
                u->mail = xstrdup("");
        return u;
}

/* --- request lines and replies (authc_int.h) --- */

/* put_max - TAB then s escaped, if s (NULL counts as "") is at most max
 * bytes long; 0 or -1 */
static int put_max(struct buf *out, const char *s, size_t max)
{
        size_t len;

        if (s == NULL)
                s = "";
        len = strlen(s);
        if (len > max || buf_putc(out, '\t') < 0)
                return -1;
        return authc_escape(out, s, len);
}

static int put_field(struct buf *out, const char *s)
{
        return put_max(out, s, AUTHC_LINE_MAX);
}

static int put_login(struct buf *out, const struct authc_login *l)
{
        int bad = 0;

        bad |= put_max(out, l->service, AUTHC_SERVICE_MAX);
        bad |= put_max(out, l->rip, AUTHC_IP_MAX);
        bad |= put_max(out, l->lip, AUTHC_IP_MAX);
        bad |= put_field(out, l->secured ? "1" : "0");
        return bad ? -1 : 0;
}

int authc_line_build(struct buf *out, enum authc_op op, unsigned long id,
                     const struct authc_args *a)
{
        static const char *const words[] = {
                [AUTHC_OP_VERIFY] = "VERIFY",
                [AUTHC_OP_LOOKUP] = "LOOKUP",
                [AUTHC_OP_REDEEM] = "REDEEM",
                [AUTHC_OP_PBS_GRANT] = "PBS-GRANT",
                [AUTHC_OP_PBS_CHECK] = "PBS-CHECK",
                [AUTHC_OP_PBS_LIST] = "PBS-LIST",
                [AUTHC_OP_MECHS] = "MECHS",
                [AUTHC_OP_AUTH] = "AUTH",
                [AUTHC_OP_CONT] = "CONT",
                [AUTHC_OP_ABORT] = "ABORT",
        };
        size_t start = out->len;
        int bad = 0;

        bad |= buf_printf(out, "%s\t%lu", words[op], id);
        switch (op) {
        case AUTHC_OP_VERIFY:
                bad |= put_max(out, a->user, AUTHC_USER_MAX);
                bad |= put_max(out, a->password, AUTHC_PASSWORD_MAX);
                bad |= put_login(out, a->login);
                if (a->login->want_token)
                        bad |= put_field(out, "token");
                break;
        case AUTHC_OP_LOOKUP:
                bad |= put_max(out, a->user, AUTHC_USER_MAX);
                break;
        case AUTHC_OP_REDEEM:
                bad |= put_max(out, a->token, AUTHC_TOKEN_MAX);
                break;
        case AUTHC_OP_PBS_GRANT:
                bad |= put_max(out, a->ip, AUTHC_IP_MAX);
                bad |= put_max(out, a->user, AUTHC_USER_MAX);
                break;
        case AUTHC_OP_PBS_CHECK:
                bad |= put_max(out, a->ip, AUTHC_IP_MAX);
                break;
        case AUTHC_OP_PBS_LIST:
        case AUTHC_OP_ABORT:
                break;
        case AUTHC_OP_MECHS:
                bad |= put_max(out, a->service, AUTHC_SERVICE_MAX);
                bad |= put_field(out, a->secured ? "1" : "0");
                break;
        case AUTHC_OP_AUTH:
                bad |= put_max(out, a->mech, AUTHC_MECH_MAX);
                bad |= put_login(out, a->login);
                if (a->data != NULL) {
                        if (strlen(a->data) > AUTHC_SASL_MAX)
                                bad = 1;
                        bad |= buf_puts(out, "\tresp=");
                        bad |= authc_escape(out, a->data, strlen(a->data));
                }
                if (a->login->want_token)
                        bad |= put_field(out, "token");
                break;
        case AUTHC_OP_CONT:
                bad |= put_max(out, a->data, AUTHC_SASL_MAX);
                break;
        }
        if (!bad && out->len - start > AUTHC_LINE_MAX)
                bad = 1;
        bad |= buf_putc(out, '\n');
        if (bad) {
                buf_truncate(out, start);
                return -1;
        }
        return 0;
}

size_t authc_line_head(char *line, size_t len, char **fields,
                       unsigned long *id_r)
{
        size_t n;
        long long id;

        *id_r = 0;
        if (len == 0)
                return 0;
        n = authc_split(line, len, fields, AUTHC_FIELDS_MAX);
        if (n > AUTHC_FIELDS_MAX)
                n = AUTHC_FIELDS_MAX;
        for (size_t i = 0; i < n; i++)
                if (authc_unescape(fields[i], strlen(fields[i])) < 0)
                        fields[i][0] = '\0';
        if (n >= 2 && parse_num(fields[1], 4294967295LL, &id) == 0)
                *id_r = (unsigned long)id;
        return n;
}

int authc_version_ok(char **fields, size_t count)
{
        long long major;

        return count >= 3 && strcmp(fields[0], "VERSION") == 0 &&
               parse_num(fields[1], 1000, &major) == 0 &&
               major == AUTHC_PROTO_MAJOR;
}

/* fail_code - FAIL's code word */
static enum authc_fail fail_code(const char *word)
{
        if (strcmp(word, "banned") == 0)
                return AUTHC_FAIL_BANNED;
        if (strcmp(word, "mech") == 0)
                return AUTHC_FAIL_MECH;
        if (strcmp(word, "syntax") == 0)
                return AUTHC_FAIL_SYNTAX;
        return AUTHC_FAIL_AUTH;
}

int authc_reply_decode(enum authc_op op, char **f, size_t n,
                       struct authc_reply *r, struct authc_user **user_r)
{
        const char *word = n > 0 ? f[0] : "";
        int user_op = op == AUTHC_OP_VERIFY || op == AUTHC_OP_LOOKUP ||
                      op == AUTHC_OP_REDEEM || op == AUTHC_OP_AUTH;

        memset(r, 0, sizeof(*r));
        *user_r = NULL;
        r->reason = "";
        r->result = AUTHC_TEMPFAIL;
        if (strcmp(word, "OK") == 0) {
                if (user_op) {
                        *user_r = authc_user_parse(f + 2, n - 2);
                        if (*user_r == NULL) {
                                r->reason = "malformed user record from authd";
                                return 1;
                        }
                        r->user = *user_r;
                } else if (op == AUTHC_OP_MECHS) {
                        r->mechs = "";
                        for (size_t i = 2; i < n; i++)
                                if (authc_field_value(f[i], "mechs") != NULL)
                                        r->mechs = authc_field_value(f[i],
                                                                     "mechs");
                }
                r->result = AUTHC_OK;
        } else if (strcmp(word, "YES") == 0 && op == AUTHC_OP_PBS_CHECK) {
                long long exp = 0;

                r->pbs_user = "";
                for (size_t i = 2; i < n; i++) {
                        if (authc_field_value(f[i], "user") != NULL)
                                r->pbs_user = authc_field_value(f[i], "user");
                        else if (authc_field_value(f[i], "expires") != NULL)
                                (void)parse_num(authc_field_value(f[i],
                                                                  "expires"),
                                                0x7fffffffffffffffLL, &exp);
                }
                r->pbs_expires = exp;
                r->result = AUTHC_OK;
        } else if ((strcmp(word, "NO") == 0 && op == AUTHC_OP_PBS_CHECK) ||
                   (strcmp(word, "NOTFOUND") == 0 &&
                    (op == AUTHC_OP_LOOKUP || op == AUTHC_OP_REDEEM))) {
                r->result = AUTHC_NOTFOUND;
        } else if (strcmp(word, "FAIL") == 0 &&
                   (op == AUTHC_OP_VERIFY || op == AUTHC_OP_AUTH)) {
                r->result = AUTHC_FAIL;
                r->fail = fail_code(n > 2 ? f[2] : "");
                r->reason = n > 3 ? f[3] : "";
        } else if (strcmp(word, "CONT") == 0 && op == AUTHC_OP_AUTH) {
                r->result = AUTHC_CONTINUE;
                r->challenge = n > 2 ? f[2] : "";
                return 0;
        } else if (strcmp(word, "TEMPFAIL") == 0) {
                r->reason = n > 2 ? f[2] : "";
        } else if (strcmp(word, "ERROR") == 0) {
                r->reason = n > 2 ? f[2] : "protocol error";
        } else {
                r->reason = "unexpected reply from authd";
        }
        return 1;
}

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
