/* auth_token_test.c - login tokens are 128-bit random hex, single-use,
 * expire, and give back the user they were issued for; and the string map
 * under them (growth, replacement, deletion, each). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth_map.h"
#include "auth_token.h"
#include "auth_user.h"
#include "mem.h"

static void test_tokens(void **state)
{
        struct auth_user u = { 0 };
        struct auth_tokens *t = auth_tokens_new();
        char a[AUTH_TOKEN_LEN + 1], b[AUTH_TOKEN_LEN + 1];
        struct auth_user *got;
        struct status st;

        u.name = "ann@example.com";
        u.home = "";
        u.mail = "maildir:/srv/ann";
        u.uid = 5000;
        u.gid = 5001;
        assert_int_equal(auth_tokens_issue(t, &u, 1000, 30000, a, &st), 0);
        assert_int_equal(auth_tokens_issue(t, &u, 1000, 30000, b, &st), 0);
        assert_int_equal(strlen(a), 32);
        assert_int_equal(strspn(a, "0123456789abcdef"), 32);
        assert_string_not_equal(a, b);
        /* redeemed once, with the record */
        assert_int_equal(auth_tokens_redeem(t, a, 2000, &got), 1);
        assert_string_equal(got->name, "ann@example.com");
        assert_string_equal(got->mail, "maildir:/srv/ann");
        assert_int_equal(got->uid, 5000);
        assert_int_equal(got->gid, 5001);
        auth_user_free(&got);
        /* and never again */
        assert_int_equal(auth_tokens_redeem(t, a, 2000, &got), 0);
        assert_null(got);
        /* expired: refused, and forgotten */
        assert_int_equal(auth_tokens_redeem(t, b, 31000, &got), 0);
        assert_int_equal(auth_tokens_redeem(t, b, 2000, &got), 0);
        /* unknown */
        assert_int_equal(auth_tokens_redeem(t, "00", 2000, &got), 0);
        /* purge */
        assert_int_equal(auth_tokens_issue(t, &u, 1000, 100, a, &st), 0);
        assert_int_equal(auth_tokens_issue(t, &u, 1000, 5000, b, &st), 0);
        assert_int_equal(auth_tokens_purge(t, 2000), 1);
        assert_int_equal(auth_tokens_redeem(t, b, 2000, &got), 1);
        auth_user_free(&got);
        auth_tokens_free(&t);
        assert_null(t);
}

static int drop_odd(const char *key, void *value, void *ctx)
{
        int *seen = ctx;

        (*seen)++;
        if ((intptr_t)value % 2 == 1) {
                return 1;
        }
        return 0;
}

static void test_map(void **state)
{
        struct auth_map *m = auth_map_new();
        char key[32];
        int seen = 0;

        for (intptr_t i = 1; i <= 5000; i++) {
                snprintf(key, sizeof(key), "k%ld", (long)i);
                assert_null(auth_map_put(m, key, (void *)i));
        }
        assert_int_equal(auth_map_count(m), 5000);
        for (intptr_t i = 1; i <= 5000; i++) {
                snprintf(key, sizeof(key), "k%ld", (long)i);
                if (auth_map_get(m, key) != (void *)i)
                        fail_msg("case %s: got %p, want %ld", key,
                                 auth_map_get(m, key), (long)i);
        }
        assert_null(auth_map_get(m, "k0"));
        assert_ptr_equal(auth_map_put(m, "k7", (void *)7001), (void *)7);
        assert_ptr_equal(auth_map_get(m, "k7"), (void *)7001);
        assert_ptr_equal(auth_map_del(m, "k8"), (void *)8);
        assert_null(auth_map_del(m, "k8"));
        assert_int_equal(auth_map_count(m), 4999);
        auth_map_each(m, drop_odd, &seen);
        assert_int_equal(seen, 4999);
        /* even values stay: k2..k5000 less k8 */
        assert_int_equal(auth_map_count(m), 2499);
        assert_null(auth_map_get(m, "k3"));
        assert_ptr_equal(auth_map_get(m, "k4"), (void *)4);
        auth_map_free(&m);
        assert_null(m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tokens),
                cmocka_unit_test(test_map),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
