/* qmgr_backoff_test.c - retry times grow with the message's age between
 * minimal_backoff_time and maximal_backoff_time; expiry at the lifetime */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "qmgr.h"

static void test_backoff(void **state)
{
        static const struct {
                const char *name;
                long long age, min, max, want;
        } cases[] = {
                { "fresh message waits the minimum", 0, 300, 4000, 300 },
                { "young message waits the minimum", 120, 300, 4000, 300 },
                { "at the minimum", 300, 300, 4000, 300 },
                { "doubles: second retry", 600, 300, 4000, 600 },
                { "doubles: third retry", 1200, 300, 4000, 1200 },
                { "capped at the maximum", 5000, 300, 4000, 4000 },
                { "days old: still the maximum", 4 * 86400, 300, 4000,
                  4000 },
                { "max below min: min wins", 50, 300, 100, 300 },
                { "test settings", 3, 1, 2, 2 },
                { "clock went back", -100, 300, 4000, 300 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                long long got = qmgr_backoff(cases[i].age, cases[i].min,
                                             cases[i].max);

                if (got != cases[i].want)
                        fail_msg("case %s: got %lld, want %lld",
                                 cases[i].name, got, cases[i].want);
        }
}

static void test_sequence(void **state)
{
        /* a message deferred at every attempt is tried at 0, then after
         * 300, 300, 600, 1200, 2400, 4000, 4000 ... seconds */
        static const long long want[] = { 300, 300, 600, 1200, 2400, 4000,
                                          4000, 4000 };
        long long age = 0;

        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
                long long got = qmgr_backoff(age, 300, 4000);

                if (got != want[i])
                        fail_msg("case attempt %zu: got %lld, want %lld", i,
                                 got, want[i]);
                age += got;
        }
}

static void test_expired(void **state)
{
        static const struct {
                const char *name;
                long long age, lifetime;
                int want;
        } cases[] = {
                { "young", 10, 5 * 86400, 0 },
                { "just before", 5 * 86400 - 1, 5 * 86400, 0 },
                { "at the lifetime", 5 * 86400, 5 * 86400, 1 },
                { "lifetime 0: first deferral returns it", 0, 0, 1 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                if (qmgr_expired(cases[i].age, cases[i].lifetime) !=
                    cases[i].want)
                        fail_msg("case %s: got %d, want %d", cases[i].name,
                                 !cases[i].want, cases[i].want);
}

static void test_delay_format(void **state)
{
        static const struct {
                double secs;
                const char *want;
        } cases[] = {
                { 0, "0" }, { 0.001, "0" }, { 0.05, "0.05" }, { 0.12, "0.12" },
                { 0.5, "0.5" }, { 1.44, "1.4" }, { 2, "2" }, { 9.96, "10" },
                { 12.3, "12" }, { 4000.4, "4000" }, { -1, "0" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char got[32];

                qmgr_log_delay(got, sizeof(got), cases[i].secs);
                if (strcmp(got, cases[i].want) != 0)
                        fail_msg("case %g: got %s, want %s", cases[i].secs,
                                 got, cases[i].want);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_backoff),
                cmocka_unit_test(test_sequence),
                cmocka_unit_test(test_expired),
                cmocka_unit_test(test_delay_format),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
