/* authc_test.c - the authd client: field escaping and splitting, request
 * lines and their limits, reply decoding, and the asynchronous client
 * against a scripted server in the same loop (pipelined answers out of
 * order, a lost connection answered TEMPFAIL, no authd at all, cancel,
 * a SASL exchange), plus the blocking client against a forked server. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "authc.h"
#include "authc_int.h"
#include "buf.h"
#include "conn.h"
#include "loop.h"
#include "mem.h"

/* --- wire helpers --- */

static void test_escape(void **state)
{
        static const struct {
                const char *in;
                const char *want;
        } cases[] = {
                { "plain", "plain" },
                { "a\tb", "a\\tb" },
                { "a\\b", "a\\\\b" },
                { "l1\nl2\r", "l1\\nl2\\r" },
                { "", "" },
                { "\\t", "\\\\t" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct buf b;
                char *back;

                buf_init(&b, 0);
                assert_int_equal(authc_escape(&b, cases[i].in,
                                              strlen(cases[i].in)), 0);
                if (strcmp(buf_cstr(&b), cases[i].want) != 0)
                        fail_msg("case %s: got %s, want %s", cases[i].want,
                                 buf_cstr(&b), cases[i].want);
                back = xstrdup(buf_cstr(&b));
                assert_int_equal(authc_unescape(back, strlen(back)),
                                 (long)strlen(cases[i].in));
                assert_string_equal(back, cases[i].in);
                free(back);
                buf_release(&b);
        }
        /* bad escapes */
        char bad1[] = "a\\x", bad2[] = "a\\";
        assert_int_equal(authc_unescape(bad1, strlen(bad1)), -1);
        assert_int_equal(authc_unescape(bad2, strlen(bad2)), -1);
        /* a capped buffer is left whole when the escape does not fit */
        struct buf capped;
        buf_init(&capped, 4);
        buf_puts(&capped, "ab");
        assert_int_equal(authc_escape(&capped, "\t\t", 2), -1);
        assert_string_equal(buf_cstr(&capped), "ab");
        buf_release(&capped);
}

static void test_split(void **state)
{
        char line[] = "A\tb\t\tc";
        char many[] = "1\t2\t3\t4";
        char *f[4];

        assert_int_equal(authc_split(line, strlen(line), f, 4), 4);
        assert_string_equal(f[0], "A");
        assert_string_equal(f[1], "b");
        assert_string_equal(f[2], "");
        assert_string_equal(f[3], "c");
        assert_int_equal(authc_split(many, strlen(many), f, 3), 4);
        assert_string_equal(authc_field_value("user=ann", "user"), "ann");
        assert_null(authc_field_value("username=ann", "user"));
        assert_null(authc_field_value("user", "user"));
}

static void test_line_build(void **state)
{
        struct authc_login l = { "imap", "192.0.2.1", "", 1, 1 };
        struct authc_args a = { .login = &l, .user = "ann\tx",
                                .password = "p w" };
        char *big_user = xmalloc(AUTHC_USER_MAX + 2);
        struct buf b;

        buf_init(&b, 0);
        assert_int_equal(authc_line_build(&b, AUTHC_OP_VERIFY, 7, &a), 0);
        assert_string_equal(buf_cstr(&b), "VERIFY\t7\tann\\tx\tp w\timap\t"
                            "192.0.2.1\t\t1\ttoken\n");
        buf_reset(&b);
        a.mech = "PLAIN";
        a.data = "";
        l.want_token = 0;
        assert_int_equal(authc_line_build(&b, AUTHC_OP_AUTH, 8, &a), 0);
        assert_string_equal(buf_cstr(&b), "AUTH\t8\tPLAIN\timap\t192.0.2.1\t"
                            "\t1\tresp=\n");
        buf_reset(&b);
        a.data = NULL;
        assert_int_equal(authc_line_build(&b, AUTHC_OP_AUTH, 9, &a), 0);
        assert_string_equal(buf_cstr(&b), "AUTH\t9\tPLAIN\timap\t192.0.2.1\t"
                            "\t1\n");
        /* over a field's limit: refused, buffer unchanged */
        buf_reset(&b);
        buf_puts(&b, "keep");
        memset(big_user, 'u', AUTHC_USER_MAX + 1);
        big_user[AUTHC_USER_MAX + 1] = '\0';
        a.user = big_user;
        assert_int_equal(authc_line_build(&b, AUTHC_OP_LOOKUP, 10, &a), -1);
        assert_string_equal(buf_cstr(&b), "keep");
        big_user[AUTHC_USER_MAX] = '\0';
        assert_int_equal(authc_line_build(&b, AUTHC_OP_LOOKUP, 10, &a), 0);
        free(big_user);
        buf_release(&b);
}

static void test_reply_decode(void **state)
{
        static const struct {
                const char *name;
                enum authc_op op;
                const char *line;
                enum authc_result want;
                int final;
                const char *detail;     /* user, mechs, reason, challenge */
        } cases[] = {
                { "verify ok", AUTHC_OP_VERIFY,
                  "OK\t1\tuser=ann\tuid=5\tgid=6\thome=/h\tmail=m\t"
                  "quota_bytes=7\tnew_key=x\ttoken=t0", AUTHC_OK, 1, "ann" },
                { "verify ok without user", AUTHC_OP_VERIFY, "OK\t1\tuid=5",
                  AUTHC_TEMPFAIL, 1, "malformed user record from authd" },
                { "verify ok bad uid", AUTHC_OP_VERIFY,
                  "OK\t1\tuser=a\tuid=-5", AUTHC_TEMPFAIL, 1,
                  "malformed user record from authd" },
                { "verify fail", AUTHC_OP_VERIFY, "FAIL\t1\tbanned\tslow",
                  AUTHC_FAIL, 1, "slow" },
                { "lookup notfound", AUTHC_OP_LOOKUP, "NOTFOUND\t1",
                  AUTHC_NOTFOUND, 1, "" },
                { "lookup tempfail", AUTHC_OP_LOOKUP, "TEMPFAIL\t1\tdb down",
                  AUTHC_TEMPFAIL, 1, "db down" },
                { "lookup fail is not for lookups", AUTHC_OP_LOOKUP,
                  "FAIL\t1\tauth\tx", AUTHC_TEMPFAIL, 1,
                  "unexpected reply from authd" },
                { "pbs yes", AUTHC_OP_PBS_CHECK,
                  "YES\t1\tip=1.2.3.4\tuser=ann\texpires=99", AUTHC_OK, 1,
                  "ann" },
                { "pbs no", AUTHC_OP_PBS_CHECK, "NO\t1", AUTHC_NOTFOUND, 1,
                  "" },
                { "mechs", AUTHC_OP_MECHS, "OK\t1\tmechs=PLAIN LOGIN",
                  AUTHC_OK, 1, "PLAIN LOGIN" },
                { "cont", AUTHC_OP_AUTH, "CONT\t1\tVXNlcg==",
                  AUTHC_CONTINUE, 0, "VXNlcg==" },
                { "cont for verify", AUTHC_OP_VERIFY, "CONT\t1\tx",
                  AUTHC_TEMPFAIL, 1, "unexpected reply from authd" },
                { "error", AUTHC_OP_PBS_GRANT, "ERROR\t1\tbad", AUTHC_TEMPFAIL,
                  1, "bad" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *line = xstrdup(cases[i].line);
                char *f[AUTHC_FIELDS_MAX];
                struct authc_user *u = NULL;
                struct authc_reply r;
                unsigned long id;
                size_t n = authc_line_head(line, strlen(line), f, &id);
                int final = authc_reply_decode(cases[i].op, f, n, &r, &u);
                const char *detail = r.user != NULL ? r.user->name :
                                     r.mechs != NULL ? r.mechs :
                                     r.pbs_user != NULL ? r.pbs_user :
                                     r.challenge != NULL ? r.challenge :
                                     r.reason;

                assert_int_equal(id, 1);
                if (r.result != cases[i].want || final != cases[i].final ||
                    strcmp(detail, cases[i].detail) != 0)
                        fail_msg("case %s: got %d/%d/%s, want %d/%d/%s",
                                 cases[i].name, r.result, final, detail,
                                 cases[i].want, cases[i].final,
                                 cases[i].detail);
                if (i == 0) {
                        assert_int_equal(u->uid, 5);
                        assert_int_equal(u->gid, 6);
                        assert_string_equal(u->home, "/h");
                        assert_int_equal(u->quota_bytes, 7);
                        assert_string_equal(u->token, "t0");
                }
                if (i == 3)
                        assert_int_equal(r.fail, AUTHC_FAIL_BANNED);
                authc_user_free(&u);
                free(line);
        }
}

/* --- a scripted authd in the same loop --- */

struct server {
        int fd;
        struct loop_fd *watch;
        struct conn *conn;
        char held[256];         /* a reply held back until the next line */
        int connections;
        int lines;
        char path[108];
};

static struct server srv;

static void srv_reply(const char *fmt, ...)
{
        va_list ap;
        char line[512];

        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        conn_printf(srv.conn, "%s\n", line);
}

static void srv_line(char *line, size_t len)
{
        char *f[AUTHC_FIELDS_MAX];
        unsigned long id;
        size_t n = authc_line_head(line, len, f, &id);

        srv.lines++;
        if (n == 0 || strcmp(f[0], "VERSION") == 0)
                return;
        if (strcmp(f[0], "PBS-GRANT") == 0) {
                /* answered only after the next request's answer */
                snprintf(srv.held, sizeof(srv.held), "OK\t%lu", id);
                return;
        }
        if (strcmp(f[0], "VERIFY") == 0) {
                if (n > 3 && strcmp(f[3], "right") == 0)
                        srv_reply("OK\t%lu\tuser=%s\tuid=1\tgid=2", id, f[2]);
                else
                        srv_reply("FAIL\t%lu\tauth\tno", id);
        } else if (strcmp(f[0], "LOOKUP") == 0) {
                if (n > 2 && strcmp(f[2], "drop") == 0) {
                        conn_free(&srv.conn);
                        return;
                }
                srv_reply("NOTFOUND\t%lu", id);
        } else if (strcmp(f[0], "PBS-CHECK") == 0) {
                srv_reply("YES\t%lu\tip=%s\tuser=ann\texpires=42", id, f[2]);
        } else if (strcmp(f[0], "AUTH") == 0) {
                srv_reply("CONT\t%lu\tVXNlcm5hbWU6", id);
        } else if (strcmp(f[0], "CONT") == 0) {
                srv_reply("OK\t%lu\tuser=ann", id);
        } else if (strcmp(f[0], "ABORT") == 0) {
                return;
        } else {
                srv_reply("ERROR\t%lu\tunknown", id);
        }
        if (srv.held[0] != '\0') {
                srv_reply("%s", srv.held);
                srv.held[0] = '\0';
        }
}

static void srv_event(struct conn *c, enum conn_event ev,
                      const struct conn_ev_data *d, void *ctx)
{
        if (ev == CONN_LINE)
                srv_line((char *)d->data, d->len);
        else if (ev == CONN_EOF || ev == CONN_ERROR)
                conn_free(&srv.conn);
}

static void srv_accept(int fd, int events, void *ctx)
{
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

        if (c < 0)
                return;
        conn_free(&srv.conn);
        srv.connections++;
        srv.conn = conn_new(c, NULL, srv_event, NULL);
        conn_printf(srv.conn, "VERSION\t1\t0\n");
}

static int srv_listen(const char *path)
{
        struct sockaddr_un sun;
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
        unlink(path);
        assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
        assert_int_equal(listen(fd, 16), 0);
        return fd;
}

static int srv_setup(void **state)
{
        memset(&srv, 0, sizeof(srv));
        snprintf(srv.path, sizeof(srv.path), "/tmp/authc_test.%ld",
                 (long)getpid());
        loop_init();
        srv.fd = srv_listen(srv.path);
        srv.watch = loop_fd_new(srv.fd, LOOP_READ, srv_accept, NULL);
        return 0;
}

static int srv_teardown(void **state)
{
        conn_free(&srv.conn);
        loop_fd_free(&srv.watch);
        close(srv.fd);
        unlink(srv.path);
        loop_free();
        return 0;
}

/* What the client's callbacks saw, in order. */
static struct buf seen;
static int expect_calls;
static struct authc_req *sasl;
static struct authc *client;

static void record(const struct authc_reply *r, void *ctx)
{
        const char *tag = ctx;

        if (seen.len > 0)
                buf_putc(&seen, '|');
        switch (r->result) {
        case AUTHC_OK:
                buf_printf(&seen, "%s:OK%s%s", tag,
                           r->user != NULL ? ":" : "",
                           r->user != NULL ? r->user->name : "");
                break;
        case AUTHC_FAIL:
                buf_printf(&seen, "%s:FAIL", tag);
                break;
        case AUTHC_NOTFOUND:
                buf_printf(&seen, "%s:NOTFOUND", tag);
                break;
        case AUTHC_TEMPFAIL:
                buf_printf(&seen, "%s:TEMPFAIL", tag);
                break;
        case AUTHC_CONTINUE:
                buf_printf(&seen, "%s:CONT:%s", tag, r->challenge);
                authc_sasl_continue(sasl, "YW5u");
                return;
        }
        if (--expect_calls == 0)
                loop_exit();
}

static void run_until(int calls)
{
        expect_calls = calls;
        loop_run();
}

static void test_async(void **state)
{
        struct authc_login l = { "imap", "192.0.2.1", "", 0, 0 };

        buf_init(&seen, 0);
        client = authc_new(srv.path);
        /* pipelined; the grant's answer comes after the check's */
        authc_pbs_grant(client, "192.0.2.1", "ann", record, "grant");
        authc_pbs_check(client, "192.0.2.1", record, "check");
        authc_verify(client, &l, "ann", "right", record, "v1");
        authc_verify(client, &l, "ann", "wrong", record, "v2");
        /* nothing is delivered from inside a call */
        assert_int_equal(seen.len, 0);
        assert_int_equal(authc_pending(client), 4);
        run_until(4);
        assert_string_equal(buf_cstr(&seen), "check:OK|grant:OK|v1:OK:ann|"
                            "v2:FAIL");
        assert_int_equal(authc_pending(client), 0);

        /* a cancelled request is never answered */
        buf_reset(&seen);
        struct authc_req *r = authc_lookup(client, "bob", record, "gone");
        authc_cancel(&r);
        assert_null(r);
        authc_lookup(client, "bob", record, "l");
        run_until(1);
        assert_string_equal(buf_cstr(&seen), "l:NOTFOUND");

        /* SASL: a challenge, an answer, the result */
        buf_reset(&seen);
        sasl = authc_sasl_start(client, &l, "LOGIN", NULL, record, "s");
        run_until(1);
        assert_string_equal(buf_cstr(&seen), "s:CONT:VXNlcm5hbWU6|s:OK:ann");

        /* the connection drops: what it carried is TEMPFAIL, and the next
         * request connects again */
        buf_reset(&seen);
        authc_lookup(client, "drop", record, "d");
        run_until(1);
        assert_string_equal(buf_cstr(&seen), "d:TEMPFAIL");
        buf_reset(&seen);
        authc_lookup(client, "bob", record, "again");
        run_until(1);
        assert_string_equal(buf_cstr(&seen), "again:NOTFOUND");
        assert_int_equal(srv.connections, 2);
        authc_free(&client);
        assert_null(client);
        buf_release(&seen);
}

static void test_async_no_authd(void **state)
{
        buf_init(&seen, 0);
        client = authc_new("/nonexistent/authd.socket");
        authc_pbs_check(client, "192.0.2.1", record, "c");
        assert_int_equal(seen.len, 0);
        run_until(1);
        /* never "no grant": could not tell */
        assert_string_equal(buf_cstr(&seen), "c:TEMPFAIL");
        authc_free(&client);
        buf_release(&seen);
}

static void free_in_callback(const struct authc_reply *r, void *ctx)
{
        authc_free(&client);
        loop_exit();
}

static void test_free_in_callback(void **state)
{
        client = authc_new(srv.path);
        authc_lookup(client, "bob", free_in_callback, NULL);
        authc_lookup(client, "bob", free_in_callback, NULL);
        loop_run();
        assert_null(client);
}

/* --- the blocking client against a forked server --- */

static void child_server(int lfd)
{
        int c = accept(lfd, NULL, NULL);
        char buf[4096];
        size_t have = 0;

        if (c < 0)
                _exit(1);
        if (write(c, "VERSION\t1\t0\n", 12) != 12)
                _exit(1);
        for (;;) {
                ssize_t n = read(c, buf + have, sizeof(buf) - have - 1);
                char *lf;

                if (n <= 0)
                        _exit(0);
                have += (size_t)n;
                while ((lf = memchr(buf, '\n', have)) != NULL) {
                        char line[4096], out[512];
                        size_t len = (size_t)(lf - buf);
                        unsigned long id = 0;

                        memcpy(line, buf, len);
                        line[len] = '\0';
                        memmove(buf, lf + 1, have - len - 1);
                        have -= len + 1;
                        if (strncmp(line, "VERSION", 7) == 0)
                                continue;
                        sscanf(strchr(line, '\t') ? strchr(line, '\t') + 1
                               : "0", "%lu", &id);
                        if (strncmp(line, "PBS-LIST", 8) == 0)
                                snprintf(out, sizeof(out),
                                         "ITEM\t%lu\tip=192.0.2.1\tuser=a\t"
                                         "expires=5\nITEM\t%lu\tip=::1\t"
                                         "user=b\texpires=6\nOK\t%lu\t"
                                         "count=2\n", id, id, id);
                        else if (strncmp(line, "LOOKUP", 6) == 0)
                                /* a stray answer first: skipped by id */
                                snprintf(out, sizeof(out),
                                         "NOTFOUND\t999\nOK\t%lu\t"
                                         "user=ann\tuid=3\tgid=4\n", id);
                        else if (strncmp(line, "VERIFY", 6) == 0)
                                snprintf(out, sizeof(out),
                                         "FAIL\t%lu\tbanned\twait\n", id);
                        else
                                snprintf(out, sizeof(out),
                                         "TEMPFAIL\t%lu\tbusy\n", id);
                        if (write(c, out, strlen(out)) < 0)
                                _exit(1);
                }
        }
}

static void count_item(const char *ip, const char *user, long long exp,
                       void *ctx)
{
        buf_printf(ctx, "%s=%s@%lld;", ip, user, exp);
}

static void test_sync(void **state)
{
        char path[108];
        int lfd, status;
        pid_t pid;
        struct authc_sync *s;
        struct authc_user *u = NULL;
        struct authc_login l = { "smtp", "192.0.2.1", "", 0, 0 };
        enum authc_fail fail = AUTHC_FAIL_AUTH;
        struct status st;
        struct buf items;

        snprintf(path, sizeof(path), "/tmp/authc_sync_test.%ld",
                 (long)getpid());
        lfd = srv_listen(path);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                child_server(lfd);
        close(lfd);
        s = authc_sync_open(path, 5000, &st);
        assert_non_null(s);
        assert_int_equal(authc_sync_lookup(s, "ann", &u, &st), 1);
        assert_string_equal(u->name, "ann");
        assert_int_equal(u->uid, 3);
        authc_user_free(&u);
        assert_int_equal(authc_sync_verify(s, &l, "ann", "pw", &u, &fail,
                                           &st), 0);
        assert_int_equal(fail, AUTHC_FAIL_BANNED);
        buf_init(&items, 0);
        assert_int_equal(authc_sync_pbs_list(s, count_item, &items, &st), 2);
        assert_string_equal(buf_cstr(&items),
                            "192.0.2.1=a@5;::1=b@6;");
        buf_release(&items);
        /* TEMPFAIL is -1 with a 4.x.x status */
        assert_int_equal(authc_sync_redeem(s, "abc", &u, &st), -1);
        assert_int_equal(st.code[0], '4');
        authc_sync_close(&s);
        assert_null(s);
        waitpid(pid, &status, 0);
        unlink(path);
        /* no server: NULL with a reason */
        assert_null(authc_sync_open(path, 1000, &st));
        assert_non_null(strstr(st.text, "cannot connect"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_escape),
                cmocka_unit_test(test_split),
                cmocka_unit_test(test_line_build),
                cmocka_unit_test(test_reply_decode),
                cmocka_unit_test_setup_teardown(test_async, srv_setup,
                                                srv_teardown),
                cmocka_unit_test_setup_teardown(test_async_no_authd,
                                                srv_setup, srv_teardown),
                cmocka_unit_test_setup_teardown(test_free_in_callback,
                                                srv_setup, srv_teardown),
                cmocka_unit_test(test_sync),
        };

        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
