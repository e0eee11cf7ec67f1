/* login_proto_test.c - the front end / supervisor / session messages:
 * round trips of LOGIN, OK, FAIL and SESSION (escaped values, bodies with
 * any bytes), and a table of malformed datagrams each parser must refuse
 * with a reason rather than act on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "login_proto.h"
#include "mem.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct login_client_info info = {
        .proto = "pop3", .service = "127.0.0.1:110", .rip = "192.0.2.7",
        .lip = "192.0.2.1", .rport = 40000, .lport = 110, .tls = 1,
        .secured = 1, .method = "PLAIN", .data = "tag\twith\\odd\nbytes",
};

static void test_request_round_trip(void **state)
{
        static const char pending[] = "STAT\r\nLIST\r\n\0\xff";
        struct login_request r = { .id = 42, .info = info,
                                   .token = "Qx3abc", .pending = pending,
                                   .pending_len = sizeof(pending) - 1 };
        struct login_request got;
        struct status st;
        struct buf b;

        buf_init(&b, 0);
        assert_int_equal(login_request_build(&b, &r, &st), 0);
        assert_int_equal(login_request_parse(b.data, b.len, &got, &st), 0);
        assert_int_equal(got.id, 42);
        assert_string_equal(got.info.proto, "pop3");
        assert_string_equal(got.info.service, "127.0.0.1:110");
        assert_string_equal(got.info.rip, "192.0.2.7");
        assert_string_equal(got.info.lip, "192.0.2.1");
        assert_int_equal(got.info.rport, 40000);
        assert_int_equal(got.info.lport, 110);
        assert_int_equal(got.info.tls, 1);
        assert_int_equal(got.info.secured, 1);
        assert_string_equal(got.info.method, "PLAIN");
        assert_string_equal(got.info.data, info.data);
        assert_string_equal(got.token, "Qx3abc");
        assert_int_equal(got.pending_len, sizeof(pending) - 1);
        assert_memory_equal(got.pending, pending, sizeof(pending) - 1);
        buf_release(&b);
}

static void test_reply_round_trip(void **state)
{
        struct login_reply r;
        struct status st;
        struct buf b;

        buf_init(&b, 0);
        login_reply_build_ok(&b, 7, 12345);
        assert_int_equal(login_reply_parse(b.data, b.len, &r, &st), 0);
        assert_int_equal(r.ok, 1);
        assert_int_equal(r.id, 7);
        assert_int_equal(r.pid, 12345);

        login_reply_build_fail(&b, 8, LOGIN_FAIL_LIMIT, "too\tmany");
        assert_int_equal(login_reply_parse(b.data, b.len, &r, &st), 0);
        assert_int_equal(r.ok, 0);
        assert_int_equal(r.id, 8);
        assert_int_equal(r.fail, LOGIN_FAIL_LIMIT);
        assert_string_equal(r.text, "too\tmany");

        login_reply_build_fail(&b, 9, LOGIN_FAIL_REFUSED, NULL);
        assert_int_equal(login_reply_parse(b.data, b.len, &r, &st), 0);
        assert_int_equal(r.fail, LOGIN_FAIL_REFUSED);
        assert_string_equal(r.text, "");
        buf_release(&b);
}

static void test_session_round_trip(void **state)
{
        struct authc_user u = { .name = "ann@example.com", .uid = 5000,
                                .gid = 5001, .home = "",
                                .mail = "maildir:/var/vmail/e/ann",
                                .quota_bytes = 100 };
        struct login_session_info s;
        struct status st;
        struct buf b;

        buf_init(&b, 0);
        assert_int_equal(login_session_build(&b, &info, &u, "NOOP\r\n", 6,
                                             &st), 0);
        assert_int_equal(login_session_parse(b.data, b.len, &s, &st), 0);
        assert_string_equal(s.user->name, "ann@example.com");
        assert_int_equal(s.user->uid, 5000);
        assert_int_equal(s.user->gid, 5001);
        assert_string_equal(s.user->mail, "maildir:/var/vmail/e/ann");
        assert_int_equal(s.user->quota_bytes, 100);
        assert_string_equal(s.info.rip, "192.0.2.7");
        assert_int_equal(s.pending_len, 6);
        assert_memory_equal(s.pending, "NOOP\r\n", 6);
        authc_user_free(&s.user);
        buf_release(&b);
}

static void test_too_long(void **state)
{
        static char big[LOGIN_PENDING_MAX + 1];
        struct login_request r = { .id = 1, .info = info, .token = "a",
                                   .pending = big,
                                   .pending_len = sizeof(big) };
        struct status st;
        struct buf b;

        buf_init(&b, 0);
        assert_int_equal(login_request_build(&b, &r, &st), -1);
        buf_release(&b);
}

#define GOOD "\tproto=pop3\tservice=s\trip=1.2.3.4\tlip=1.2.3.5\t" \
        "rport=1\tlport=2\ttls=0\tsecured=0\tmethod=PLAIN\ttoken=abc"

static void test_request_refused(void **state)
{
        static const struct {
                const char *name, *text;
        } cases[] = {
                { "good (control)", NULL },
                { "no LF", "LOGIN\t1\t5" GOOD },
                { "other word", "HELLO\t1\t5" GOOD "\n" },
                { "major 2", "LOGIN\t2\t5" GOOD "\n" },
                { "id 0", "LOGIN\t1\t0" GOOD "\n" },
                { "id leading zero", "LOGIN\t1\t05" GOOD "\n" },
                { "id too big", "LOGIN\t1\t4294967296" GOOD "\n" },
                { "no token", "LOGIN\t1\t5\tproto=pop3\tservice=s\trip=a\t"
                  "lip=b\trport=1\tlport=2\ttls=0\tsecured=0\tmethod=P\n" },
                { "token charset", "LOGIN\t1\t5" GOOD "/x\n" },
                { "bad port", "LOGIN\t1\t5\trport=65536" GOOD "\n" },
                { "bad tls", "LOGIN\t1\t5\ttls=2" GOOD "\n" },
                { "proto upper", "LOGIN\t1\t5\tproto=POP3" GOOD "\n" },
                { "method lower", "LOGIN\t1\t5\tmethod=plain" GOOD "\n" },
                { "rip blank", "LOGIN\t1\t5\trip=a b" GOOD "\n" },
                { "bad escape", "LOGIN\t1\t5" GOOD "\tx=\\q\n" },
                { "no '='", "LOGIN\t1\t5" GOOD "\tjunk\n" },
                { "NUL in header", "LOGIN\t1\t5" GOOD "\tx=a\0b\n" },
                { "short", "LOGIN\t1\n" },
        };

        for (size_t i = 0; i < NELEM(cases); i++) {
                struct login_request r;
                struct status st;
                char *text;
                size_t len;
                int got;

                if (cases[i].text == NULL) {
                        text = xstrdup("LOGIN\t1\t5" GOOD "\n");
                        len = strlen(text);
                } else {
                        /* "NUL in header" has a NUL: measure the literal */
                        len = strlen(cases[i].text);
                        if (strcmp(cases[i].name, "NUL in header") == 0)
                                len = sizeof("LOGIN\t1\t5" GOOD "\tx=a\0b\n")
                                      - 1;
                        text = xmalloc(len + 1);
                        memcpy(text, cases[i].text, len + 1);
                }
                got = login_request_parse(text, len, &r, &st);
                if (got != (cases[i].text == NULL ? 0 : -1))
                        fail_msg("case %s: got %d, want %d", cases[i].name,
                                 got, cases[i].text == NULL ? 0 : -1);
                free(text);
        }
}

static void test_reply_refused(void **state)
{
        static const char *const cases[] = {
                "OK\t1\t3\n",                   /* no pid */
                "OK\t1\t3\tpid=0\n",
                "OK\t1\t3\tpid=-5\n",
                "MAYBE\t1\t3\n",
                "OK\t3\t3\tpid=5\n",
                "",
        };

        for (size_t i = 0; i < NELEM(cases); i++) {
                struct login_reply r;
                struct status st;
                char *text = xstrdup(cases[i]);

                if (login_reply_parse(text, strlen(text), &r, &st) != -1)
                        fail_msg("case %zu (%s): accepted", i, cases[i]);
                free(text);
        }
        /* an unknown FAIL code is temporary, never a "no" */
        struct login_reply r;
        struct status st;
        char *text = xstrdup("FAIL\t1\t3\tcode=weird\n");
        assert_int_equal(login_reply_parse(text, strlen(text), &r, &st), 0);
        assert_int_equal(r.fail, LOGIN_FAIL_TEMP);
        free(text);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_request_round_trip),
                cmocka_unit_test(test_reply_round_trip),
                cmocka_unit_test(test_session_round_trip),
                cmocka_unit_test(test_too_long),
                cmocka_unit_test(test_request_refused),
                cmocka_unit_test(test_reply_refused),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
