/* smtp_reply_test.c - server replies, EHLO keywords, next-hop forms and
 * the DATA encoding of queued content */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp.h"

struct smtp_server smtp_srv;

static void test_replies(void **state)
{
        static const struct {
                const char *name;
                const char *lines[4];
                int want;               /* last smtp_reply_line() */
                int code;
                const char *dsn;
                const char *text;
        } cases[] = {
                { "one line", { "250 2.0.0 Ok: queued as X" }, 1, 250,
                  "2.0.0", "250 2.0.0 Ok: queued as X" },
                { "no enhanced code", { "451 try later" }, 1, 451, "4.0.0",
                  "451 try later" },
                { "class mismatch ignored", { "550 4.1.1 odd" }, 1, 550,
                  "5.0.0", "550 4.1.1 odd" },
                { "multi-line", { "550-5.1.1 first", "550 5.1.1 second" },
                  1, 550, "5.1.1", "550 5.1.1 first 5.1.1 second" },
                { "bare code", { "250" }, 1, 250, "2.0.0", "250" },
                { "continuation pending", { "250-a" }, 0, 250, "", "" },
                { "code changes", { "250-a", "251 b" }, -1, 0, "", "" },
                { "not digits", { "2x0 no" }, -1, 0, "", "" },
                { "bad separator", { "250+x" }, -1, 0, "", "" },
                { "control chars", { "250 a\tb" }, 1, 250, "2.0.0",
                  "250 a?b" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct smtp_reply r;
                int got = 0;

                smtp_reply_init(&r);
                for (size_t j = 0; j < 4 && cases[i].lines[j] != NULL; j++)
                        got = smtp_reply_line(&r, cases[i].lines[j],
                                              strlen(cases[i].lines[j]));
                if (got != cases[i].want)
                        fail_msg("case %s: got %d, want %d", cases[i].name,
                                 got, cases[i].want);
                if (got == 1) {
                        const char *t = smtp_reply_text(&r);

                        if (r.code != cases[i].code ||
                            strcmp(r.dsn, cases[i].dsn) != 0 ||
                            strcmp(t, cases[i].text) != 0)
                                fail_msg("case %s: got %d %s \"%s\", want "
                                         "%d %s \"%s\"", cases[i].name,
                                         r.code, r.dsn, t, cases[i].code,
                                         cases[i].dsn, cases[i].text);
                }
                smtp_reply_release(&r);
        }
}

static void test_ehlo(void **state)
{
        static const char *lines[] = {
                "250-mx.example.net hello", "250-PIPELINING",
                "250-SIZE 1000", "250-8BITMIME", "250-STARTTLS",
                "250-AUTH PLAIN LOGIN", "250-AUTH=OLD", "250 SMTPUTF8",
        };
        struct smtp_reply r;
        struct smtp_ext ext;

        memset(&ext, 0, sizeof(ext));
        smtp_reply_init(&r);
        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
                smtp_reply_line(&r, lines[i], strlen(lines[i]));
        smtp_ext_parse(&ext, &r);
        assert_true(ext.pipelining && ext.eightbit && ext.starttls &&
                    ext.smtputf8 && !ext.dsn);
        assert_int_equal(ext.size_max, 1000);
        assert_string_equal(ext.auth, "PLAIN LOGIN");
        smtp_ext_release(&ext);
        assert_int_equal(ext.size_max, -1);
        smtp_reply_release(&r);
}

static void test_nexthop(void **state)
{
        static const struct {
                const char *in;
                int ok;
                const char *host;
                int port, mx;
        } cases[] = {
                { "[127.0.0.1]:2525", 0, "127.0.0.1", 2525, 0 },
                { "[mail.isp.example]", 0, "mail.isp.example", 0, 0 },
                { "smtp:[relay.example]:587", 0, "relay.example", 587, 0 },
                { "example.org:26", 0, "example.org", 26, 1 },
                { "example.org", 0, "example.org", 0, 1 },
                { ":[x.example]", 0, "x.example", 0, 0 },
                { "[ipv6:2001:db8::1]:25", 0, "ipv6:2001:db8::1", 25, 0 },
                { "[x.example", -1, "", 0, 0 },
                { "[x]:0", -1, "", 0, 0 },
                { "[x]:99999", -1, "", 0, 0 },
                { "[x]junk", -1, "", 0, 0 },
                { "", -1, "", 0, 0 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char host[64] = "";
                int port = 0, mx = 0;
                int got = smtp_nexthop_parse(cases[i].in, host, sizeof(host),
                                             &port, &mx);

                if (got != cases[i].ok || (got == 0 &&
                    (strcmp(host, cases[i].host) != 0 ||
                     port != cases[i].port || mx != cases[i].mx)))
                        fail_msg("case %s: got %d %s %d %d, want %d %s %d %d",
                                 cases[i].in, got, host, port, mx,
                                 cases[i].ok, cases[i].host, cases[i].port,
                                 cases[i].mx);
        }
}

static void test_content(void **state)
{
        static const struct {
                const char *name, *in, *want;
        } cases[] = {
                { "plain", "a\nb\n", "a\r\nb\r\n.\r\n" },
                { "dots", ".x\n..y\n.\n", "..x\r\n...y\r\n..\r\n.\r\n" },
                { "no final newline", "a\n.b", "a\r\n..b\r\n.\r\n" },
                { "empty", "", ".\r\n" },
                { "CR LF kept single", "a\r\nb\n", "a\r\nb\r\n.\r\n" },
                { "dot mid-line", "a.b\n", "a.b\r\n.\r\n" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                /* whole, and in pieces of one byte at a time */
                for (size_t max = 1; max <= 1 << 20; max <<= 20) {
                        struct smtp_content c;
                        struct buf out;
                        size_t rounds = 0;

                        buf_init(&out, 0);
                        smtp_content_init(&c, cases[i].in,
                                          strlen(cases[i].in));
                        while (smtp_content_next(&c, &out, max) == 1 &&
                               rounds++ < 1000)
                                ;
                        if (strcmp(buf_cstr(&out), cases[i].want) != 0)
                                fail_msg("case %s (max %zu): got \"%s\", "
                                         "want \"%s\"", cases[i].name, max,
                                         buf_cstr(&out), cases[i].want);
                        assert_int_equal(smtp_content_next(&c, &out, max),
                                         0);
                        buf_release(&out);
                }
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_replies),
                cmocka_unit_test(test_ehlo),
                cmocka_unit_test(test_nexthop),
                cmocka_unit_test(test_content),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
