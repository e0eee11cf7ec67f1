/* dns_test.c - the DNS client's pure parts: reverse and blocklist names
 * of IPv4 and IPv6 addresses, the dns_servers syntax, and the promise
 * that a request is answered from the loop (never inside the call), even
 * when no server can be reached. Questions to a real server are asked in
 * tests/proto/test_restrict_dns.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dns.h"
#include "loop.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct rcase {
        const char *name;
        const char *ip, *suffix;
        const char *want;       /* NULL: refused */
};

static void test_reverse_names(void **state)
{
        static const struct rcase cases[] = {
                { "ipv4", "192.0.2.7", NULL, "7.2.0.192.in-addr.arpa" },
                { "ipv4 list", "127.0.0.2", "bl.example",
                  "2.0.0.127.bl.example" },
                { "ipv6", "2001:db8::1", NULL,
                  "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1."
                  "0.0.2.ip6.arpa" },
                { "not an address", "example.com", NULL, NULL },
                { "empty", "", NULL, NULL },
        };
        char out[128];

        for (size_t i = 0; i < COUNT(cases); i++) {
                int r = dns_reverse_name(cases[i].ip, cases[i].suffix, out,
                                         sizeof(out));

                if ((r == 0) != (cases[i].want != NULL) ||
                    (r == 0 && strcmp(out, cases[i].want) != 0))
                        fail_msg("case %s: got %d \"%s\", want \"%s\"",
                                 cases[i].name, r, r == 0 ? out : "",
                                 cases[i].want ? cases[i].want : "(error)");
        }
        /* too small a buffer is an error, not a cut name */
        assert_int_equal(dns_reverse_name("192.0.2.7", NULL, out, 10), -1);
}

struct scase {
        const char *name;
        const char *servers;
        const char *want;       /* NULL: accepted; else a text of the error */
};

static void test_servers(void **state)
{
        static const struct scase cases[] = {
                { "system", "", NULL },
                { "one", "127.0.0.1", NULL },
                { "ports and v6", "127.0.0.1:5353, [::1]:53 ::1", NULL },
                { "name", "ns.example.com", "bad server \"ns.example.com\"" },
                { "port range", "127.0.0.1:70000", "bad server" },
                { "empty port", "127.0.0.1:", "bad server" },
                { "unclosed", "[::1:53", "bad server" },
                { "too many", "1.1.1.1 1.1.1.2 1.1.1.3 1.1.1.4 1.1.1.5 "
                  "1.1.1.6 1.1.1.7 1.1.1.8 1.1.1.9", "too many" },
        };

        loop_init();
        for (size_t i = 0; i < COUNT(cases); i++) {
                struct dns *d = NULL;
                struct status st;
                int r = dns_open(cases[i].servers, 1000, &d, &st);

                if ((r == 0) != (cases[i].want == NULL) ||
                    (r < 0 && strstr(st.text, cases[i].want) == NULL))
                        fail_msg("case %s: got %d \"%s\", want \"%s\"",
                                 cases[i].name, r, r < 0 ? st.text : "",
                                 cases[i].want ? cases[i].want : "(fine)");
                dns_free(&d);
        }
        loop_free();
}

static int answers;
static enum dns_result result_got;

static void got(const struct dns_answer *a, void *ctx)
{
        answers++;
        result_got = a->result;
        if (answers == 2)
                loop_exit();
}

static void got_name(const struct dns_client_name *n, void *ctx)
{
        assert_string_equal(n->name, "unknown");
        assert_int_equal(n->name_status, DNS_NAME_PERM);
        if (++answers == 2)
                loop_exit();
}

static void test_answers_from_the_loop(void **state)
{
        struct dns *d;
        struct status st;

        loop_init();
        /* a port nothing listens on: the question fails, later */
        assert_int_equal(dns_open("127.0.0.1:1", 500, &d, &st), 0);
        answers = 0;
        dns_query(d, "example.com", DNS_MX, got, NULL);
        dns_client_name(d, "not an address", 500, got_name, NULL);
        assert_int_equal(answers, 0);
        assert_int_equal(dns_pending(d), 2);
        loop_run();
        assert_int_equal(answers, 2);
        assert_int_equal(result_got, DNS_TEMPFAIL);
        assert_int_equal(dns_pending(d), 0);
        /* a cancelled request never answers */
        struct dns_req *r = dns_query(d, "example.com", DNS_A, got, NULL);

        dns_cancel(&r);
        assert_null(r);
        assert_int_equal(dns_pending(d), 0);
        dns_free(&d);
        loop_free();
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_reverse_names),
                cmocka_unit_test(test_servers),
                cmocka_unit_test(test_answers_from_the_loop),
        };

        return cmocka_run_group_tests_name("dns", tests, NULL, NULL);
}
