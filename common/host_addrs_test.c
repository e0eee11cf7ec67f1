/* host_addrs_test.c - unit tests for host_addrs.c
 * A table of inet_interfaces / proxy_interfaces settings and addresses
 * that are, or are not, this host's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cfg.h"
#include "host_addrs.h"

static const struct {
        const char *name, *inet, *proxy, *ip;
        int want;
} cases[] = {
        { "listed v4", "127.0.0.1", "", "127.0.0.1", 1 },
        { "other v4", "127.0.0.1", "", "127.0.0.2", 0 },
        { "v4-mapped v6", "127.0.0.1", "", "::ffff:127.0.0.1", 1 },
        { "bracketed v6", "[::1]", "", "::1", 1 },
        { "v6 spelled long", "[::1]", "", "0:0:0:0:0:0:0:1", 1 },
        { "proxy address", "127.0.0.1", "192.0.2.7", "192.0.2.7", 1 },
        { "loopback-only v4", "loopback-only", "", "127.0.0.1", 1 },
        { "loopback-only v6", "loopback-only", "", "::1", 1 },
        { "loopback-only other", "loopback-only", "", "192.0.2.7", 0 },
        { "all has loopback", "all", "", "127.0.0.1", 1 },
        { "not an address", "127.0.0.1", "", "mail.example", 0 },
        { "a list", "127.0.0.1, 127.0.0.3", "", "127.0.0.3", 1 },
};

static void test_match(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct cfg *c = cfg_new("/etc/yubin");
                struct host_addrs *h;
                int got;

                cfg_set(c, "inet_interfaces", cases[i].inet, "main.cf:1");
                cfg_set(c, "proxy_interfaces", cases[i].proxy, "main.cf:2");
                assert_int_equal(cfg_check(c), 0);
                h = host_addrs_open(c);
                got = host_addrs_match(h, cases[i].ip);
                if (got != cases[i].want)
                        fail_msg("case %s: got %d, want %d", cases[i].name,
                                 got, cases[i].want);
                host_addrs_free(&h);
                assert_null(h);
                cfg_free(&c);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_match),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
