/* quota_test.c - maildirsize: limits, the sum of change lines, when the
 * Maildir++ rules want a recalculation, recalculation over folders, the
 * over-quota verdict (5.2.2) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "quota.h"

static void test_parse_limits(void **state)
{
        static const struct {
                const char *in;
                int want;
                uint64_t bytes, count;
        } cases[] = {
                { "1000S,10C", 0, 1000, 10 },
                { "10C,1000S", 0, 1000, 10 },
                { "1000S", 0, 1000, 0 },
                { "10C", 0, 0, 10 },
                { "0S", 0, 0, 0 },
                { "", 0, 0, 0 },
                { "18446744073709551615S", 0, UINT64_MAX, 0 },
                { "18446744073709551616S", -1, 0, 0 },
                { "10X", -1, 0, 0 },
                { "S", -1, 0, 0 },
                { "abcS", -1, 0, 0 },
                { "10S,", -1, 0, 0 },
                { ",10C", -1, 0, 0 },
                { "-5S", -1, 0, 0 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                uint64_t b = 99, c = 99;
                int r = quota_parse_limits(cases[i].in, strlen(cases[i].in),
                                           &b, &c);
                if (r != cases[i].want ||
                    (r == 0 && (b != cases[i].bytes || c != cases[i].count)))
                        fail_msg("case \"%s\": got %d %llu %llu, want %d %llu %llu",
                                 cases[i].in, r, (unsigned long long)b,
                                 (unsigned long long)c, cases[i].want,
                                 (unsigned long long)cases[i].bytes,
                                 (unsigned long long)cases[i].count);
        }
}

static void test_parse(void **state)
{
        static const struct {
                const char *name;
                const char *data;
                time_t age;
                int want;
                int64_t bytes, count;
        } cases[] = {
                { "fresh sum", "1000S,10C\n500 5\n", 0, 1, 500, 5 },
                { "changes", "1000S,10C\n500 5\n100 1\n-50 -1\n", 0, 1, 550, 5 },
                { "no limits", "0S\n123 4\n", 0, 1, 123, 4 },
                { "over, many lines", "1000S\n900 1\n200 1\n", 0, 0, 0, 0 },
                { "over, one line, fresh", "1000S\n1200 3\n", 60, 1, 1200, 3 },
                { "over, one line, old", "1000S\n1200 3\n", 16 * 60, 0, 0, 0 },
                { "count over", "5C\n10 6\n-1 0\n", 0, 0, 0, 0 },
                { "negative total", "1000S\n10 1\n-20 -2\n", 0, 0, 0, 0 },
                { "garbage line", "1000S\n10 1\nhello\n", 0, 0, 0, 0 },
                { "one number", "1000S\n10\n", 0, 0, 0, 0 },
                { "truncated line", "1000S\n10 1\n20 ", 0, 0, 0, 0 },
                { "no sum line", "1000S\n", 0, 0, 0, 0 },
                { "bad header", "lots\n10 1\n", 0, 0, 0, 0 },
                { "no newline", "1000S", 0, 0, 0, 0 },
                { "overflow", "0S\n9223372036854775807 1\n1 1\n", 0, 0, 0, 0 },
                { "huge number", "0S\n99999999999999999999 1\n", 0, 0, 0, 0 },
                { "extra spaces", "1000S\n10  1\n", 0, 1, 10, 1 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct quota_usage u;
                int r = quota_parse(cases[i].data, strlen(cases[i].data),
                                    cases[i].age, &u);
                if (r != cases[i].want ||
                    (r == 1 && (u.bytes != cases[i].bytes ||
                                u.count != cases[i].count)))
                        fail_msg("case %s: got %d %lld %lld, want %d %lld %lld",
                                 cases[i].name, r, (long long)u.bytes,
                                 (long long)u.count, cases[i].want,
                                 (long long)cases[i].bytes,
                                 (long long)cases[i].count);
        }
        /* 5120 bytes or more: recalculate */
        char big[QUOTA_RECALC_SIZE + 16];
        size_t n = (size_t)snprintf(big, sizeof(big), "0S\n");
        while (n + 6 < QUOTA_RECALC_SIZE)
                n += (size_t)snprintf(big + n, sizeof(big) - n, "1 1\n");
        struct quota_usage u;
        assert_int_equal(quota_parse(big, n, 0, &u), 1);
        n += (size_t)snprintf(big + n, sizeof(big) - n, "1 1\n1 1\n");
        assert_int_equal(quota_parse(big, n, 0, &u), 0);
}

static void test_check(void **state)
{
        struct quota_usage u = { 1000, 10, 900, 9 };
        struct status st;

        assert_int_equal(quota_check(&u, 100, 1, &st), 0);
        assert_int_equal(quota_check(&u, 101, 1, &st), -1);
        assert_string_equal(st.code, STATUS_OVER_QUOTA);
        assert_int_equal(quota_check(&u, 1, 2, &st), -1);
        assert_string_equal(st.code, "5.2.2");
        struct quota_usage none = { 0, 0, 1000000, 100000 };
        assert_int_equal(quota_check(&none, UINT64_MAX, 5, &st), 0);
        struct quota_usage huge = { 1000, 0, 0, 0 };
        assert_int_equal(quota_check(&huge, UINT64_MAX, 1, &st), -1);
}

static void put(const char *root, const char *rel, size_t size)
{
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", root, rel);
        FILE *f = fopen(p, "w");
        for (size_t i = 0; i < size; i++)
                fputc('x', f);
        fclose(f);
}

static void mk(const char *root, const char *rel)
{
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", root, rel);
        mkdir(p, 0700);
}

static void read_file(const char *root, char *buf, size_t size)
{
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", root, QUOTA_FILE);
        FILE *f = fopen(p, "r");
        size_t n = f ? fread(buf, 1, size - 1, f) : 0;
        if (f)
                fclose(f);
        buf[n] = '\0';
}

static void test_recalc_and_update(void **state)
{
        char root[] = "/tmp/quota_test.XXXXXX";
        struct quota_usage u;
        struct status st;
        char buf[8192];

        assert_non_null(mkdtemp(root));
        const char *dirs[] = { "cur", "new", "tmp", ".A", ".A/cur", ".A/new",
                               ".A/tmp", ".A.B", ".A.B/cur", "..DOVECOT-TRASH",
                               "..DOVECOT-TRASH/cur" };
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
                mk(root, dirs[i]);
        put(root, "cur/1.M1P1.h,S=100,W=104:2,S", 3);  /* S= wins */
        put(root, "new/2.M1P1.h", 40);                 /* stat size */
        put(root, ".A/cur/3.M1P1.h,S=7:2,", 7);
        put(root, ".A.B/cur/4.M1P1.h,S=1000", 1);
        put(root, "cur/.hidden", 50);                  /* ignored */
        put(root, "tmp/5.M1P1.h,S=99", 99);            /* not mail yet */
        put(root, "..DOVECOT-TRASH/cur/6,S=5000", 1);  /* being deleted */

        /* no file, no configured limits: no quota */
        assert_int_equal(quota_get(root, NULL, &u, &st), 0);

        uint64_t limits[2] = { 2000, 0 };
        assert_int_equal(quota_get(root, limits, &u, &st), 1);
        assert_int_equal(u.bytes, 1147);
        assert_int_equal(u.count, 4);
        read_file(root, buf, sizeof(buf));
        assert_string_equal(buf, "2000S\n1147 4\n");

        /* the file's own limits when none are configured */
        assert_int_equal(quota_get(root, NULL, &u, &st), 1);
        assert_int_equal(u.bytes_limit, 2000);

        assert_int_equal(quota_update(root, 500, 1, &st), 0);
        assert_int_equal(quota_update(root, -100, -1, &st), 0);
        assert_int_equal(quota_get(root, limits, &u, &st), 1);
        assert_int_equal(u.bytes, 1547);
        assert_int_equal(u.count, 4);
        read_file(root, buf, sizeof(buf));
        assert_string_equal(buf, "2000S\n1147 4\n500 1\n-100 -1\n");

        /* other limits configured: the header is rewritten, and the
         * changes (made up, here) are replaced by the true sum */
        uint64_t limits2[2] = { 5000, 50 };
        assert_int_equal(quota_get(root, limits2, &u, &st), 1);
        assert_int_equal(u.bytes, 1147);
        read_file(root, buf, sizeof(buf));
        assert_string_equal(buf, "5000S,50C\n1147 4\n");

        /* growing past 5120 bytes brings a recalculation */
        for (int i = 0; i < 1400; i++)
                quota_update(root, 1, 0, &st);
        assert_int_equal(quota_get(root, limits2, &u, &st), 1);
        assert_int_equal(u.bytes, 1147);
        read_file(root, buf, sizeof(buf));
        assert_string_equal(buf, "5000S,50C\n1147 4\n");

        /* over quota according to several change lines: recounted */
        quota_update(root, 9000, 0, &st);
        assert_int_equal(quota_get(root, limits2, &u, &st), 1);
        assert_int_equal(u.bytes, 1147);

        /* updating a missing file does nothing */
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", root, QUOTA_FILE);
        unlink(p);
        assert_int_equal(quota_update(root, 1, 1, &st), 0);
        assert_int_equal(access(p, F_OK), -1);

        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
        assert_int_equal(system(cmd), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_limits),
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_check),
                cmocka_unit_test(test_recalc_and_update),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
