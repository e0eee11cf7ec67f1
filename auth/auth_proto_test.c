/* auth_proto_test.c - authd's request parser on good, malformed, truncated
 * and oversized input, each fed whole and one byte at a time (both must
 * give the same requests and errors), and the reply serializers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth_proto.h"
#include "auth_user.h"
#include "buf.h"
#include "mem.h"

/* describe - one result as text: "VERIFY 1 u=.. p=.. ..." or "ERR id" */
static void describe(struct buf *out, int ret,
                     const struct auth_proto_req *q)
{
        if (out->len > 0)
                buf_putc(out, '|');
        if (ret == AUTH_PROTO_ERROR) {
                buf_printf(out, "ERR %s", q->id[0] != '\0' ? q->id : "-");
                return;
        }
        buf_printf(out, "%s", auth_proto_cmd_name(q->cmd));
        if (q->cmd == AUTH_PROTO_VERSION) {
                buf_printf(out, " %lu.%lu", q->major, q->minor);
                return;
        }
        buf_printf(out, " %s", q->id);
#define F(name, v) if ((v) != NULL) buf_printf(out, " " name "=%s", (v))
        F("u", q->user);
        F("p", q->password);
        F("s", q->service);
        F("rip", q->rip);
        F("lip", q->lip);
        F("ip", q->ip);
        F("m", q->mech);
        F("t", q->token);
        F("d", q->data);
#undef F
        if (q->cmd == AUTH_PROTO_VERIFY || q->cmd == AUTH_PROTO_AUTH ||
            q->cmd == AUTH_PROTO_MECHS)
                buf_printf(out, " sec=%d", q->secured);
        if (q->want_token)
                buf_puts(out, " token");
        if (q->has_data)
                buf_puts(out, " has");
}

/* run - parse input (len bytes) in slices of step bytes (0: whole) */
static char *run(const char *input, size_t len, size_t step)
{
        struct auth_proto_parser p;
        struct auth_proto_req q;
        struct status st;
        struct buf out;
        size_t off = 0;

        buf_init(&out, 0);
        auth_proto_parser_init(&p);
        while (off < len) {
                size_t avail = step == 0 || len - off < step ? len - off
                                                             : step;
                size_t used = 0;
                int ret = auth_proto_parse(&p, input + off, avail, &used, &q,
                                           &st);

                assert_true(used <= avail);
                if (ret != AUTH_PROTO_MORE) {
                        assert_true(used > 0);
                        describe(&out, ret, &q);
                } else {
                        assert_int_equal(used, avail);
                }
                off += used;
        }
        auth_proto_parser_release(&p);
        return buf_steal(&out);
}

static void check(const char *name, const char *input, size_t len,
                  const char *want)
{
        char *whole = run(input, len, 0);
        char *bytes = run(input, len, 1);
        char *sevens = run(input, len, 7);

        if (strcmp(whole, want) != 0)
                fail_msg("case %s: got %s, want %s", name, whole, want);
        if (strcmp(bytes, want) != 0)
                fail_msg("case %s (byte by byte): got %s, want %s", name,
                         bytes, want);
        if (strcmp(sevens, want) != 0)
                fail_msg("case %s (7 at a time): got %s, want %s", name,
                         sevens, want);
        free(whole);
        free(bytes);
        free(sevens);
}

static const struct {
        const char *name;
        const char *input;
        const char *want;
} cases[] = {
        { "version", "VERSION\t1\t0\n", "VERSION 1.0" },
        { "version other", "VERSION\t2\t7\r\n", "VERSION 2.7" },
        { "version malformed", "VERSION\t1\n", "ERR -" },
        { "version letters", "VERSION\tx\t0\n", "ERR -" },
        { "verify",
          "VERIFY\t1\tAnn@Example.com\ts3cret\tIMAP\t192.0.2.1\t\t1\n",
          "VERIFY 1 u=Ann@Example.com p=s3cret s=imap rip=192.0.2.1 lip= "
          "sec=1" },
        { "verify token and mapped address",
          "VERIFY\t2\tann\tpw\tpop3\t::FFFF:192.0.2.9\t2001:DB8::1\t0\t"
          "token\n",
          "VERIFY 2 u=ann p=pw s=pop3 rip=192.0.2.9 lip=2001:db8::1 sec=0 "
          "token" },
        { "verify escapes",
          "VERIFY\t3\tan\\tn\tp\\\\w\\n\\r\tsmtp\t\t\t0\n",
          "VERIFY 3 u=an\tn p=p\\w\n\r s=smtp rip= lip= sec=0" },
        { "verify CR LF", "LOOKUP\t4\tann\r\n", "LOOKUP 4 u=ann" },
        { "verify too few", "VERIFY\t5\tann\tpw\timap\n", "ERR 5" },
        { "verify bad secured",
          "VERIFY\t6\tann\tpw\timap\t\t\t2\n", "ERR 6" },
        { "verify bad rip", "VERIFY\t7\tann\tpw\timap\tnot-ip\t\t0\n",
          "ERR 7" },
        { "verify unknown option",
          "VERIFY\t8\tann\tpw\timap\t\t\t0\tjunk\n", "ERR 8" },
        { "verify bad service", "VERIFY\t9\tann\tpw\ti map\t\t\t0\n",
          "ERR 9" },
        { "bad escape", "LOOKUP\t10\tan\\xn\n", "ERR 10" },
        { "trailing backslash", "LOOKUP\t11\tann\\\n", "ERR 11" },
        { "redeem", "REDEEM\t12\t0123abcdEF\n", "REDEEM 12 t=0123abcdEF" },
        { "redeem bad token", "REDEEM\t13\tab-cd\n", "ERR 13" },
        { "pbs", "PBS-GRANT\t14\t192.0.2.1\tann@example.com\n"
                 "PBS-CHECK\t15\t2001:db8:0:0::1\nPBS-LIST\t16\n",
          "PBS-GRANT 14 u=ann@example.com ip=192.0.2.1|"
          "PBS-CHECK 15 ip=2001:db8::1|PBS-LIST 16" },
        { "pbs bad ip", "PBS-CHECK\t17\t192.0.2.300\n", "ERR 17" },
        { "pbs empty ip", "PBS-CHECK\t18\t\n", "ERR 18" },
        { "mechs", "MECHS\t19\tSMTP\t1\n", "MECHS 19 s=smtp sec=1" },
        { "auth", "AUTH\t20\tplain\tsmtp\t192.0.2.1\t\t0\ttoken\t"
                  "resp=AGFubgBwdw==\n",
          "AUTH 20 s=smtp rip=192.0.2.1 lip= m=PLAIN d=AGFubgBwdw== sec=0 "
          "token has" },
        { "auth empty initial response",
          "AUTH\t21\tLOGIN\timap\t\t\t1\tresp=\n",
          "AUTH 21 s=imap rip= lip= m=LOGIN d= sec=1 has" },
        { "auth no initial response", "AUTH\t22\tLOGIN\timap\t\t\t1\n",
          "AUTH 22 s=imap rip= lip= m=LOGIN sec=1" },
        { "auth bad mech", "AUTH\t23\tPL AIN\timap\t\t\t1\n", "ERR 23" },
        { "cont and abort", "CONT\t24\tdGVzdA==\nABORT\t24\n",
          "CONT 24 d=dGVzdA==|ABORT 24" },
        { "cont not base64 is the worker's business", "CONT\t25\t!!\n",
          "CONT 25 d=!!" },
        { "unknown command", "FROB\t26\tx\n", "ERR 26" },
        { "unknown command, no id", "FROB\n", "ERR -" },
        { "lower-case command", "lookup\t27\tann\n", "ERR 27" },
        { "missing id", "LOOKUP\n", "ERR -" },
        { "id zero", "LOOKUP\t0\tann\n", "ERR -" },
        { "id leading zero", "LOOKUP\t01\tann\n", "ERR -" },
        { "id largest", "LOOKUP\t4294967295\tann\n",
          "LOOKUP 4294967295 u=ann" },
        { "id too big", "LOOKUP\t4294967296\tann\n", "ERR -" },
        { "id not a number", "LOOKUP\tx1\tann\n", "ERR -" },
        { "empty line", "\n", "ERR -" },
        { "empty then good", "\n\nPBS-LIST\t28\n", "ERR -|ERR -|PBS-LIST 28" },
        { "truncated", "VERIFY\t29\tann\tpw", "" },
        { "truncated after good", "PBS-LIST\t30\nPBS-LIST\t31",
          "PBS-LIST 30" },
        { "too many fields",
          "PBS-LIST\t32\ta\tb\tc\td\te\tf\tg\th\ti\tj\tk\tl\tm\tn\to\tp\tq"
          "\tr\ts\tt\tu\tv\tw\tx\n", "ERR 32" },
        { "extra field", "PBS-LIST\t33\tx\n", "ERR 33" },
};

static void test_cases(void **state)
{
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                check(cases[i].name, cases[i].input, strlen(cases[i].input),
                      cases[i].want);
}

static void test_nul(void **state)
{
        static const char input[] = "LOOKUP\t34\tan\0n\nPBS-LIST\t35\n";

        check("NUL in a field", input, sizeof(input) - 1,
              "ERR 34|PBS-LIST 35");
}

/* repeat - a string of n copies of c */
static char *repeat(char c, size_t n)
{
        char *s = xmalloc(n + 1);

        memset(s, c, n);
        s[n] = '\0';
        return s;
}

static void test_oversized(void **state)
{
        char *big = repeat('a', AUTHC_LINE_MAX + 100);
        char *user_max = repeat('u', AUTHC_USER_MAX);
        char *user_over = repeat('u', AUTHC_USER_MAX + 1);
        char *pass_over = repeat('p', AUTHC_PASSWORD_MAX + 1);
        char *sasl_max = repeat('A', AUTHC_SASL_MAX);
        char *sasl_over = repeat('A', AUTHC_SASL_MAX + 1);
        char *in, *want;

        in = xasprintf("LOOKUP\t40\t%s\nPBS-LIST\t41\n", big);
        check("line too long, id kept", in, strlen(in),
              "ERR 40|PBS-LIST 41");
        free(in);
        in = xasprintf("%s\nPBS-LIST\t42\n", big);
        check("line too long, no id", in, strlen(in), "ERR -|PBS-LIST 42");
        free(in);
        /* two long lines in a row give one error each */
        in = xasprintf("%s\n%s\nPBS-LIST\t43\n", big, big);
        check("two long lines", in, strlen(in), "ERR -|ERR -|PBS-LIST 43");
        free(in);
        in = xasprintf("LOOKUP\t44\t%s\n", user_max);
        want = xasprintf("LOOKUP 44 u=%s", user_max);
        check("user at the limit", in, strlen(in), want);
        free(in);
        free(want);
        in = xasprintf("LOOKUP\t45\t%s\n", user_over);
        check("user over the limit", in, strlen(in), "ERR 45");
        free(in);
        in = xasprintf("VERIFY\t46\tann\t%s\timap\t\t\t0\n", pass_over);
        check("password over the limit", in, strlen(in), "ERR 46");
        free(in);
        in = xasprintf("CONT\t47\t%s\n", sasl_max);
        want = xasprintf("CONT 47 d=%s", sasl_max);
        check("SASL data at the limit", in, strlen(in), want);
        free(in);
        free(want);
        in = xasprintf("CONT\t48\t%s\n", sasl_over);
        check("SASL data over the limit", in, strlen(in), "ERR 48");
        free(in);
        free(big);
        free(user_max);
        free(user_over);
        free(pass_over);
        free(sasl_max);
        free(sasl_over);
}

static void test_ip_normalize(void **state)
{
        static const struct {
                const char *in;
                const char *want;       /* NULL: refused */
        } ips[] = {
                { "192.0.2.1", "192.0.2.1" },
                { "::ffff:192.0.2.1", "192.0.2.1" },
                { "2001:DB8:0::0:1", "2001:db8::1" },
                { "::1", "::1" },
                { "192.0.2", NULL },
                { "192.0.2.1 ", NULL },
                { "", NULL },
                { "[::1]", NULL },
        };
        char out[AUTH_PROTO_IP_SIZE];

        for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
                int ret = auth_proto_ip_normalize(ips[i].in, out,
                                                  sizeof(out));

                if (ips[i].want == NULL) {
                        if (ret != -1)
                                fail_msg("case %s: got %s, want refused",
                                         ips[i].in, out);
                } else if (ret != 0 || strcmp(out, ips[i].want) != 0) {
                        fail_msg("case %s: got %s, want %s", ips[i].in,
                                 ret == 0 ? out : "refused", ips[i].want);
                }
        }
}

static void test_replies(void **state)
{
        struct auth_user u = { 0 };
        struct auth_user *back;
        struct buf out;
        char *f[AUTHC_FIELDS_MAX];
        size_t n;

        buf_init(&out, 0);
        auth_proto_put_version(&out);
        auth_proto_put_word(&out, "NO", "5");
        auth_proto_put_text(&out, "ERROR", "", "bad\tthing");
        auth_proto_put_fail(&out, "6", "banned", "too many");
        auth_proto_put_cont(&out, "7", "");
        auth_proto_put_kv(&out, "OK", "8", "mechs", "PLAIN LOGIN");
        auth_proto_put_pbs(&out, "YES", "9", "192.0.2.1", "ann", 1700000000);
        assert_string_equal(buf_cstr(&out),
                            "VERSION\t1\t0\nNO\t5\nERROR\t-\tbad\\tthing\n"
                            "FAIL\t6\tbanned\ttoo many\nCONT\t7\t\n"
                            "OK\t8\tmechs=PLAIN LOGIN\n"
                            "YES\t9\tip=192.0.2.1\tuser=ann\t"
                            "expires=1700000000\n");
        buf_reset(&out);

        /* a user record goes out and comes back whole */
        u.name = "ann@example.com";
        u.backend = AUTH_BACKEND_PAM;
        u.uid = 1001;
        u.gid = 1002;
        u.home = "/home/a\tb";
        u.mail = "maildir:/home/a\\b/Maildir";
        u.quota_bytes = 1 << 20;
        u.quota_messages = 50;
        u.enabled = 1;
        auth_proto_put_user(&out, "10", &u, "abc");
        assert_string_equal(buf_cstr(&out),
                            "OK\t10\tuser=ann@example.com\tuid=1001\t"
                            "gid=1002\thome=/home/a\\tb\t"
                            "mail=maildir:/home/a\\\\b/Maildir\t"
                            "quota_bytes=1048576\tquota_messages=50\t"
                            "backend=pam\tenabled=1\ttoken=abc\n");
        out.data[--out.len] = '\0';
        n = authc_split(out.data, out.len, f, AUTHC_FIELDS_MAX);
        for (size_t i = 0; i < n; i++)
                assert_true(authc_unescape(f[i], strlen(f[i])) >= 0);
        back = auth_proto_user_parse(f + 2, n - 2);
        assert_non_null(back);
        assert_string_equal(back->name, u.name);
        assert_string_equal(back->home, u.home);
        assert_string_equal(back->mail, u.mail);
        assert_int_equal(back->uid, 1001);
        assert_int_equal(back->gid, 1002);
        assert_int_equal(back->backend, AUTH_BACKEND_PAM);
        assert_int_equal(back->quota_bytes, 1 << 20);
        assert_int_equal(back->quota_messages, 50);
        auth_user_free(&back);
        buf_release(&out);
}

static void test_user_parse_bad(void **state)
{
        static const struct {
                const char *name;
                const char *fields[3];
        } bad[] = {
                { "no user", { "uid=1", "gid=2", NULL } },
                { "empty user", { "user=", NULL } },
                { "uid letters", { "user=a", "uid=x", NULL } },
                { "uid negative", { "user=a", "uid=-1", NULL } },
                { "uid too big", { "user=a", "uid=4294967296", NULL } },
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char *f[3];
                size_t n = 0;
                struct auth_user *u;

                for (; n < 3 && bad[i].fields[n] != NULL; n++)
                        f[n] = xstrdup(bad[i].fields[n]);
                u = auth_proto_user_parse(f, n);
                if (u != NULL)
                        fail_msg("case %s: got a record, want none",
                                 bad[i].name);
                for (size_t j = 0; j < n; j++)
                        free(f[j]);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cases),
                cmocka_unit_test(test_nul),
                cmocka_unit_test(test_oversized),
                cmocka_unit_test(test_ip_normalize),
                cmocka_unit_test(test_replies),
                cmocka_unit_test(test_user_parse_bad),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
