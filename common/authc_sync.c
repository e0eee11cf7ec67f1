/* authc_sync.c - the authd client, blocking side
 * Used by: yubinctl (pbs list), the supervisor (redeeming login tokens)
 * and tests. One request at a time over a blocking UNIX stream socket,
 * each answer awaited with poll() for at most the handle's timeout; any
 * trouble is -1 with a 4.x.x status ("could not tell"). Shares the request
 * and reply format with authc.c (authc_int.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "authc.h"
#include "authc_int.h"
#include "loop.h"
#include "mem.h"

struct authc_sync {
        int fd;
        long long timeout_ms;
        unsigned long next_id;
        struct buf in;          /* bytes read, not yet a whole line */
        struct buf out;
        char *line;             /* the current line (in the in buffer) */
        size_t line_len;
};

/* sync_write - send all of out; 0 or -1 with st */
static int sync_write(struct authc_sync *s, struct status *st)
{
        size_t off = 0;

        while (off < s->out.len) {
                ssize_t n = send(s->fd, s->out.data + off, s->out.len - off,
                                 MSG_NOSIGNAL);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return status_set(st, STATUS_LOCAL_IO,
                                          "authd: write: %m");
                off += (size_t)n;
        }
        return 0;
}

/* sync_read_line - the next line from authd into s->line (valid until the
 * next call); 0, or -1 with st */
static int sync_read_line(struct authc_sync *s, struct status *st)
{
        long long deadline = loop_now_ms() + s->timeout_ms;

        if (s->line != NULL) {
                buf_consume(&s->in, s->line_len + 1);
                s->line = NULL;
        }
        for (;;) {
                char *lf = s->in.len > 0 ? memchr(s->in.data, '\n', s->in.len)
                                         : NULL;
                char chunk[8192];
                struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
                long long left;
                ssize_t n;

                if (lf != NULL) {
                        s->line = s->in.data;
                        s->line_len = (size_t)(lf - s->in.data);
                        return 0;
                }
                if (s->in.len > AUTHC_LINE_MAX + 1)
                        return status_set(st, STATUS_LOCAL_IO,
                                          "authd: reply line too long");
                left = deadline - loop_now_ms();
                if (left <= 0)
                        return status_set(st, STATUS_LOCAL_IO,
                                          "authd: no answer in %lld ms",
                                          s->timeout_ms);
                n = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return status_set(st, STATUS_LOCAL_IO,
                                          "authd: poll: %m");
                if (n == 0)
                        continue;
                n = recv(s->fd, chunk, sizeof(chunk), 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return status_set(st, STATUS_LOCAL_IO,
                                          "authd: read: %m");
                if (n == 0)
                        return status_set(st, STATUS_LOCAL_IO,
                                          "authd closed the connection");
                buf_append(&s->in, chunk, (size_t)n);
        }
}

struct authc_sync *authc_sync_open(const char *socket_path,
                                   long long timeout_ms, struct status *st)
{
        struct sockaddr_un sun;
        struct authc_sync *s;
        char *fields[AUTHC_FIELDS_MAX];
        unsigned long id;
        size_t n;
        int fd;

        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        if (strlen(socket_path) >= sizeof(sun.sun_path)) {
                status_set(st, STATUS_CONFIG_TEMP,
                           "authd socket path too long: %s", socket_path);
                return NULL;
        }
        memcpy(sun.sun_path, socket_path, strlen(socket_path));
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                status_set(st, STATUS_LOCAL_IO, "authd: socket: %m");
                return NULL;
        }
        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
                status_set(st, STATUS_LOCAL_IO,
                           "cannot connect to authd at %s: %m", socket_path);
                close(fd);
                return NULL;
        }
        s = xcalloc(1, sizeof(*s));
        s->fd = fd;
        s->timeout_ms = timeout_ms > 0 ? timeout_ms : AUTHC_REPLY_TIMEOUT_MS;
        s->next_id = 1;
        buf_init(&s->in, 0);
        buf_init(&s->out, 0);
        buf_printf(&s->out, "VERSION\t%d\t%d\n", AUTHC_PROTO_MAJOR,
                   AUTHC_PROTO_MINOR);
        if (sync_write(s, st) < 0 || sync_read_line(s, st) < 0)
                goto fail;
        n = authc_line_head(s->line, s->line_len, fields, &id);
        if (!authc_version_ok(fields, n)) {
                status_set(st, STATUS_LOCAL_IO,
                           "authd at %s speaks another protocol version",
                           socket_path);
                goto fail;
        }
        return s;
fail:
        authc_sync_close(&s);
        return NULL;
}

void authc_sync_close(struct authc_sync **sp)
{
        struct authc_sync *s;

        if (sp == NULL || *sp == NULL)
                return;
        s = *sp;
        close(s->fd);
        buf_release(&s->in);
        explicit_bzero(s->out.data, s->out.len);
        buf_release(&s->out);
        free(s);
        *sp = NULL;
}

/* sync_call - send one request and read lines up to its reply, which is
 * decoded into r (user into *user_r). For PBS-LIST, ITEM lines go to fn
 * first. Returns 0, or -1 with st when authd cannot be asked. */
static int sync_call(struct authc_sync *s, enum authc_op op,
                     const struct authc_args *args, struct authc_reply *r,
                     struct authc_user **user_r,
                     void (*fn)(char **fields, size_t n, void *ctx),
                     void *ctx, struct status *st)
{
        char *fields[AUTHC_FIELDS_MAX];
        unsigned long id = s->next_id++;
        unsigned long got;
        size_t n;
        int ret;

        buf_reset(&s->out);
        if (authc_line_build(&s->out, op, id, args) < 0)
                return status_set(st, STATUS_BAD_ARGS, "request too long");
        ret = sync_write(s, st);
        explicit_bzero(s->out.data, s->out.len);
        if (ret < 0)
                return -1;
        for (;;) {
                if (sync_read_line(s, st) < 0)
                        return -1;
                n = authc_line_head(s->line, s->line_len, fields, &got);
                if (n == 0 || got != id)
                        continue;
                if (strcmp(fields[0], "ITEM") == 0) {
                        if (fn != NULL)
                                fn(fields, n, ctx);
                        continue;
                }
                break;
        }
        authc_reply_decode(op, fields, n, r, user_r);
        if (r->result == AUTHC_TEMPFAIL)
                return status_set(st, STATUS_LOOKUP_TEMP, "authd: %s",
                                  *r->reason != '\0' ? r->reason
                                                     : "temporary failure");
        return 0;
}

int authc_sync_verify(struct authc_sync *s, const struct authc_login *l,
                      const char *user, const char *password,
                      struct authc_user **user_r, enum authc_fail *fail_r,
                      struct status *st)
{
        struct authc_args args = { .login = l, .user = user,
                                   .password = password };
        struct authc_reply r;

        *user_r = NULL;
        if (sync_call(s, AUTHC_OP_VERIFY, &args, &r, user_r, NULL, NULL,
                      st) < 0)
                return -1;
        if (r.result == AUTHC_OK)
                return 1;
        if (fail_r != NULL)
                *fail_r = r.fail;
        status_set(st, STATUS_POLICY, "%s", r.reason);
        return 0;
}

/* user_call - lookup and redeem */
static int user_call(struct authc_sync *s, enum authc_op op,
                     const struct authc_args *args,
                     struct authc_user **user_r, struct status *st)
{
        struct authc_reply r;

        *user_r = NULL;
        if (sync_call(s, op, args, &r, user_r, NULL, NULL, st) < 0)
                return -1;
        return r.result == AUTHC_OK ? 1 : 0;
}

int authc_sync_lookup(struct authc_sync *s, const char *user,
                      struct authc_user **user_r, struct status *st)
{
        struct authc_args args = { .user = user };

        return user_call(s, AUTHC_OP_LOOKUP, &args, user_r, st);
}

int authc_sync_redeem(struct authc_sync *s, const char *token,
                      struct authc_user **user_r, struct status *st)
{
        struct authc_args args = { .token = token };

        return user_call(s, AUTHC_OP_REDEEM, &args, user_r, st);
}

int authc_sync_pbs_grant(struct authc_sync *s, const char *ip,
                         const char *user, struct status *st)
{
        struct authc_args args = { .ip = ip, .user = user };
        struct authc_user *u = NULL;
        struct authc_reply r;

        if (sync_call(s, AUTHC_OP_PBS_GRANT, &args, &r, &u, NULL, NULL,
                      st) < 0)
                return -1;
        return 0;
}

int authc_sync_pbs_check(struct authc_sync *s, const char *ip,
                         char **user_r, long long *expires_r,
                         struct status *st)
{
        struct authc_args args = { .ip = ip };
        struct authc_user *u = NULL;
        struct authc_reply r;

        if (user_r != NULL)
                *user_r = NULL;
        if (sync_call(s, AUTHC_OP_PBS_CHECK, &args, &r, &u, NULL, NULL,
                      st) < 0)
                return -1;
        if (r.result != AUTHC_OK)
                return 0;
        if (user_r != NULL)
                *user_r = xstrdup(r.pbs_user);
        if (expires_r != NULL)
                *expires_r = r.pbs_expires;
        return 1;
}

struct list_ctx {
        void (*fn)(const char *ip, const char *user, long long expires,
                   void *ctx);
        void *ctx;
        long count;
};

static void list_item(char **f, size_t n, void *ctx)
{
        struct list_ctx *lc = ctx;
        const char *ip = "", *user = "";
        long long expires = 0;

        for (size_t i = 2; i < n; i++) {
                const char *v;

                if ((v = authc_field_value(f[i], "ip")) != NULL)
                        ip = v;
                else if ((v = authc_field_value(f[i], "user")) != NULL)
                        user = v;
                else if ((v = authc_field_value(f[i], "expires")) != NULL)
                        expires = strtoll(v, NULL, 10);
        }
        lc->count++;
        lc->fn(ip, user, expires, lc->ctx);
}

long authc_sync_pbs_list(struct authc_sync *s,
                         void (*fn)(const char *ip, const char *user,
                                    long long expires, void *ctx),
                         void *ctx, struct status *st)
{
        struct authc_args args = { 0 };
        struct list_ctx lc = { fn, ctx, 0 };
        struct authc_user *u = NULL;
        struct authc_reply r;

        if (sync_call(s, AUTHC_OP_PBS_LIST, &args, &r, &u, list_item, &lc,
                      st) < 0)
                return -1;
        return lc.count;
}

int authc_sync_mechs(struct authc_sync *s, const char *service, int secured,
                     char **mechs_r, struct status *st)
{
        struct authc_args args = { .service = service, .secured = secured };
        struct authc_user *u = NULL;
        struct authc_reply r;

        *mechs_r = NULL;
        if (sync_call(s, AUTHC_OP_MECHS, &args, &r, &u, NULL, NULL, st) < 0)
                return -1;
        *mechs_r = xstrdup(r.mechs != NULL ? r.mechs : "");
        return 0;
}
