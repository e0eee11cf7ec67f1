/* inet_list_test.c - mynetworks-style lists: IPv4/IPv6 networks, hosts,
 * brackets, negation, files, tables, mapped addresses, bad items */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inet_list.h"
#include "mem.h"

static char dir[] = "/tmp/inet_list_test.XXXXXX";

static int setup(void **state)
{
        FILE *f;
        char path[256];

        if (mkdtemp(dir) == NULL)
                return -1;
        snprintf(path, sizeof(path), "%s/nets", dir);
        f = fopen(path, "w");
        if (f == NULL)
                return -1;
        fputs("# trusted\n198.51.100.0/24\n  203.0.113.7 [2001:db8:1::]/48\n",
              f);
        fclose(f);
        snprintf(path, sizeof(path), "%s/nets.cidr", dir);
        f = fopen(path, "w");
        if (f == NULL)
                return -1;
        fputs("100.64.0.0/10 OK\n", f);
        fclose(f);
        return 0;
}

static int teardown(void **state)
{
        char *cmd = xasprintf("rm -rf %s", dir);
        int r = system(cmd);

        free(cmd);
        return r == 0 ? 0 : -1;
}

static void test_match_table(void **state)
{
        static const struct {
                const char *list, *ip;
                int want;
        } cases[] = {
                { "127.0.0.0/8 [::1]/128", "127.0.0.1", 1 },
                { "127.0.0.0/8 [::1]/128", "127.255.255.255", 1 },
                { "127.0.0.0/8 [::1]/128", "128.0.0.1", 0 },
                { "127.0.0.0/8 [::1]/128", "::1", 1 },
                { "127.0.0.0/8 [::1]/128", "::2", 0 },
                { "127.0.0.0/8", "::ffff:127.0.0.1", 1 },
                { "192.0.2.0/25", "192.0.2.127", 1 },
                { "192.0.2.0/25", "192.0.2.128", 0 },
                { "192.0.2.1", "192.0.2.1", 1 },
                { "192.0.2.1", "192.0.2.2", 0 },
                { "0.0.0.0/0", "203.0.113.9", 1 },
                { "0.0.0.0/0", "2001:db8::1", 0 },
                { "[::]/0", "2001:db8::1", 1 },
                { "2001:db8::/32", "2001:db8:ffff::1", 1 },
                { "[2001:db8::]/33", "2001:db8:8000::1", 0 },
                { "[2001:db8::1]", "2001:db8::1", 1 },
                { "10.0.0.0/8, !10.1.0.0/16", "10.1.2.3", 1 },
                { "!10.1.0.0/16, 10.0.0.0/8", "10.1.2.3", 0 },
                { "!10.1.0.0/16, 10.0.0.0/8", "10.2.2.3", 1 },
                { "", "127.0.0.1", 0 },
                { "127.0.0.0/8", "not-an-ip", 0 },
                { "127.0.0.0/8", "", 0 },
                { "127.0.0.0/8", "[127.0.0.1]", 0 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct inet_list *l;
                struct status st;
                int got;

                if (inet_list_open(cases[i].list, "mynetworks", &l, &st) < 0)
                        fail_msg("case %s / %s: open: %s", cases[i].list,
                                 cases[i].ip, st.text);
                got = inet_list_match(l, cases[i].ip);
                if (got != cases[i].want)
                        fail_msg("case %s / %s: got %d, want %d",
                                 cases[i].list, cases[i].ip, got,
                                 cases[i].want);
                inet_list_free(&l);
                assert_null(l);
        }
}

static void test_file_and_table(void **state)
{
        char *value = xasprintf("127.0.0.1, %s/nets cidr:%s/nets.cidr", dir,
                                dir);
        static const struct {
                const char *ip;
                int want;
        } cases[] = {
                { "127.0.0.1", 1 },
                { "198.51.100.200", 1 },
                { "203.0.113.7", 1 },
                { "203.0.113.8", 0 },
                { "2001:db8:1:2::3", 1 },
                { "100.100.1.1", 1 },
                { "100.128.0.1", 0 },
        };
        struct inet_list *l;
        struct status st;

        assert_int_equal(inet_list_open(value, "mynetworks", &l, &st), 0);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                int got = inet_list_match(l, cases[i].ip);

                if (got != cases[i].want)
                        fail_msg("case %s: got %d, want %d", cases[i].ip,
                                 got, cases[i].want);
        }
        inet_list_free(&l);
        free(value);
}

static void test_bad(void **state)
{
        static const struct {
                const char *list, *want;
        } cases[] = {
                { "10.0.0.1/8", "mynetworks: \"10.0.0.1/8\": non-null host "
                  "address bits" },
                { "10.0.0.0/33", "bad prefix length" },
                { "10.0.0.0/", "bad prefix length" },
                { "10.0.0.0/8x", "bad prefix length" },
                { "[::1", "bad address" },
                { "[10.0.0.1]", "bad address" },
                { "300.1.1.1", "bad address" },
                { "host.example.com", "bad address" },
                { "/nonexistent/file", "no such file" },
                { "!/etc/x", "cannot be negated" },
                { "foo:bar", "unsupported lookup table type" },
                { "[::1]x", "bad address" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct inet_list *l = (struct inet_list *)1;
                struct status st;

                if (inet_list_open(cases[i].list, "mynetworks", &l, &st) == 0)
                        fail_msg("case %s: got success, want %s",
                                 cases[i].list, cases[i].want);
                assert_null(l);
                if (strstr(st.text, cases[i].want) == NULL)
                        fail_msg("case %s: got \"%s\", want \"%s\"",
                                 cases[i].list, st.text, cases[i].want);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_match_table),
                cmocka_unit_test(test_file_and_table),
                cmocka_unit_test(test_bad),
        };

        return cmocka_run_group_tests_name("inet_list", tests, setup,
                                           teardown);
}
