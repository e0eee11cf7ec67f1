/* login_trust_test.c - disable_plaintext_auth's "secured" rule: TLS, the
 * same address on both ends (IPv4-mapped IPv6 counts as IPv4), and
 * login_trusted_networks with prefixes of every length; and the network
 * items that must be refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "login_trust.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void test_secured(void **state)
{
        char *nets[] = { "192.0.2.0/24", "10.1.2.3", "2001:db8::/32",
                         "[2001:db8:ffff::1]/128", "172.16.0.0/12" };
        static const struct {
                const char *name;
                int tls;
                const char *rip, *lip;
                int want;
        } cases[] = {
                { "tls", 1, "198.51.100.1", "203.0.113.1", 1 },
                { "same v4", 0, "127.0.0.1", "127.0.0.1", 1 },
                { "other loopback", 0, "127.0.0.2", "127.0.0.1", 0 },
                { "same v6", 0, "::1", "::1", 1 },
                { "mapped same", 0, "::ffff:127.0.0.1", "127.0.0.1", 1 },
                { "in /24", 0, "192.0.2.200", "203.0.113.1", 1 },
                { "out of /24", 0, "192.0.3.1", "203.0.113.1", 0 },
                { "single host", 0, "10.1.2.3", "203.0.113.1", 1 },
                { "next host", 0, "10.1.2.4", "203.0.113.1", 0 },
                { "mapped in /24", 0, "::ffff:192.0.2.9", "203.0.113.1", 1 },
                { "v6 /32", 0, "2001:db8:1::5", "2001:db8:9::1", 1 },
                { "v6 outside", 0, "2001:db9::5", "2001:db8:9::1", 0 },
                { "v6 bracketed host", 0, "2001:db8:ffff::1", "::1", 1 },
                { "/12 edge in", 0, "172.31.255.255", "10.0.0.1", 1 },
                { "/12 edge out", 0, "172.32.0.0", "10.0.0.1", 0 },
                { "not an address", 0, "unknown", "unknown", 0 },
        };
        struct login_trust *t;
        struct status st;

        assert_int_equal(login_trust_new(nets, NELEM(nets), &t, &st), 0);
        for (size_t i = 0; i < NELEM(cases); i++) {
                int got = login_trust_secured(t, cases[i].tls, cases[i].rip,
                                              cases[i].lip);
                if (got != cases[i].want)
                        fail_msg("case %s: got %d, want %d", cases[i].name,
                                 got, cases[i].want);
        }
        login_trust_free(&t);
        assert_null(t);
        /* no networks at all: only TLS and the same address count */
        assert_int_equal(login_trust_new(NULL, 0, &t, &st), 0);
        assert_int_equal(login_trust_secured(t, 0, "192.0.2.1", "192.0.2.2"),
                         0);
        assert_int_equal(login_trust_secured(t, 0, "192.0.2.1", "192.0.2.1"),
                         1);
        login_trust_free(&t);
}

static void test_refused(void **state)
{
        static const char *const bad[] = {
                "", "192.0.2.0/33", "192.0.2.0/", "192.0.2.0/x", "host.name",
                "2001:db8::/129", "192.0.2.1/-1", "[192.0.2.1",
        };

        for (size_t i = 0; i < NELEM(bad); i++) {
                char *items[] = { (char *)bad[i] };
                struct login_trust *t = NULL;
                struct status st;

                if (login_trust_new(items, 1, &t, &st) != -1)
                        fail_msg("case %s: accepted", bad[i]);
                assert_null(t);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_secured),
                cmocka_unit_test(test_refused),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
