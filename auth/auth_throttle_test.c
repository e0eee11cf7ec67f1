/* auth_throttle_test.c - failure delays, the per-address ban starting at
 * the limit and lapsing, the window lapsing, trusted networks, and that a
 * user name plays no part (counting is per address only). The clock is
 * passed in, so nothing sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth_throttle.h"

static const struct auth_throttle_conf conf = {
        .delay_ms = 2000, .limit = 3, .window_ms = 60000, .ban_ms = 30000,
};

static void test_ban_and_lapse(void **state)
{
        struct auth_throttle *t = auth_throttle_new(&conf);

        assert_int_equal(auth_throttle_delay(t, "192.0.2.1"), 2000);
        assert_int_equal(auth_throttle_banned(t, "192.0.2.1", 0), 0);
        assert_int_equal(auth_throttle_failed(t, "192.0.2.1", 1000), 0);
        assert_int_equal(auth_throttle_failed(t, "192.0.2.1", 2000), 0);
        assert_int_equal(auth_throttle_banned(t, "192.0.2.1", 2500), 0);
        /* the third failure within the window starts the ban */
        assert_int_equal(auth_throttle_failed(t, "192.0.2.1", 3000), 1);
        assert_int_equal(auth_throttle_banned(t, "192.0.2.1", 3000), 30000);
        assert_int_equal(auth_throttle_banned(t, "192.0.2.1", 32999), 1);
        /* others are not affected */
        assert_int_equal(auth_throttle_banned(t, "192.0.2.2", 3000), 0);
        /* failures during a ban do not lengthen it */
        assert_int_equal(auth_throttle_failed(t, "192.0.2.1", 10000), 0);
        assert_int_equal(auth_throttle_banned(t, "192.0.2.1", 33000), 0);
        /* after the ban, counting starts afresh */
        assert_int_equal(auth_throttle_failed(t, "192.0.2.1", 34000), 0);
        assert_int_equal(auth_throttle_failed(t, "192.0.2.1", 35000), 0);
        assert_int_equal(auth_throttle_banned(t, "192.0.2.1", 35000), 0);
        auth_throttle_free(&t);
        assert_null(t);
}

static void test_window_lapses(void **state)
{
        struct auth_throttle *t = auth_throttle_new(&conf);

        assert_int_equal(auth_throttle_failed(t, "2001:db8::1", 0), 0);
        assert_int_equal(auth_throttle_failed(t, "2001:db8::1", 1000), 0);
        /* the window (60 s from the first failure) is over: a new one */
        assert_int_equal(auth_throttle_failed(t, "2001:db8::1", 61000), 0);
        assert_int_equal(auth_throttle_failed(t, "2001:db8::1", 62000), 0);
        assert_int_equal(auth_throttle_banned(t, "2001:db8::1", 62000), 0);
        assert_int_equal(auth_throttle_failed(t, "2001:db8::1", 63000), 1);
        /* purge keeps the ban, then forgets it */
        assert_int_equal(auth_throttle_purge(t, 64000), 1);
        assert_true(auth_throttle_banned(t, "2001:db8::1", 64000) > 0);
        assert_int_equal(auth_throttle_purge(t, 93000), 0);
        assert_int_equal(auth_throttle_banned(t, "2001:db8::1", 64000), 0);
        auth_throttle_free(&t);
}

static void test_no_limit(void **state)
{
        struct auth_throttle_conf c = conf;
        struct auth_throttle *t;

        c.limit = 0;
        t = auth_throttle_new(&c);
        for (int i = 0; i < 100; i++)
                assert_int_equal(auth_throttle_failed(t, "192.0.2.1", i), 0);
        assert_int_equal(auth_throttle_banned(t, "192.0.2.1", 100), 0);
        assert_int_equal(auth_throttle_delay(t, "192.0.2.1"), 2000);
        /* an unknown address is never banned either */
        assert_int_equal(auth_throttle_failed(t, "", 0), 0);
        auth_throttle_free(&t);
}

static void test_trusted(void **state)
{
        static const struct {
                const char *network;
                const char *rip;
                int want;
        } cases[] = {
                { "192.0.2.0/24", "192.0.2.77", 1 },
                { "192.0.2.0/24", "192.0.3.1", 0 },
                { "192.0.2.0/25", "192.0.2.128", 0 },
                { "192.0.2.0/25", "192.0.2.127", 1 },
                { "10.1.2.3", "10.1.2.3", 1 },
                { "10.1.2.3", "10.1.2.4", 0 },
                { "0.0.0.0/0", "203.0.113.5", 1 },
                { "0.0.0.0/0", "2001:db8::5", 0 },
                { "2001:db8::/32", "2001:db8:ffff::1", 1 },
                { "[2001:db8::1]", "2001:db8::1", 1 },
                { "[2001:db8::]/127", "2001:db8::1", 1 },
                { "[2001:db8::]/127", "2001:db8::2", 0 },
                { "127.0.0.0/8", "::ffff:127.0.0.1", 1 },
                { "127.0.0.0/8", "", 0 },
                { "127.0.0.0/8", "junk", 0 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct auth_throttle *t = auth_throttle_new(&conf);
                struct status st;
                int got;

                assert_int_equal(auth_throttle_trust(t, cases[i].network,
                                                     &st), 0);
                got = auth_throttle_trusted(t, cases[i].rip);
                if (got != cases[i].want)
                        fail_msg("case %s in %s: got %d, want %d",
                                 cases[i].rip, cases[i].network, got,
                                 cases[i].want);
                if (cases[i].want) {
                        /* trusted: no delay, never counted */
                        assert_int_equal(auth_throttle_delay(t,
                                                             cases[i].rip),
                                         0);
                        for (int j = 0; j < 10; j++)
                                assert_int_equal(auth_throttle_failed(
                                        t, cases[i].rip, j), 0);
                        assert_int_equal(auth_throttle_banned(
                                t, cases[i].rip, 10), 0);
                }
                auth_throttle_free(&t);
        }
}

static void test_bad_networks(void **state)
{
        static const char *const bad[] = {
                "192.0.2.0/33", "2001:db8::/129", "host.example.com",
                "192.0.2.0/", "192.0.2.0/x", "[192.0.2.1", "",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct auth_throttle *t = auth_throttle_new(&conf);
                struct status st;

                if (auth_throttle_trust(t, bad[i], &st) != -1)
                        fail_msg("case %s: got accepted, want refused",
                                 bad[i]);
                assert_non_null(strstr(st.text, "login_trusted_networks"));
                auth_throttle_free(&t);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ban_and_lapse),
                cmocka_unit_test(test_window_lapses),
                cmocka_unit_test(test_no_limit),
                cmocka_unit_test(test_trusted),
                cmocka_unit_test(test_bad_networks),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
