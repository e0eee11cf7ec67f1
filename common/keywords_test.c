/* keywords_test.c - dovecot-keywords: Dovecot's lines, skipped junk, the
 * 26-letter limit, names, and the file (replaced, mtime always later) */
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

#include "keywords.h"

static void test_dovecot_file(void **state)
{
        const char *data = "0 $Forwarded\n1 Junk\n2 custom1\n";
        struct keywords *kw = keywords_new();

        assert_int_equal(keywords_parse(kw, data, strlen(data)), 0);
        assert_string_equal(keywords_name(kw, 0), "$Forwarded");
        assert_string_equal(keywords_name(kw, 1), "Junk");
        assert_string_equal(keywords_name(kw, 2), "custom1");
        assert_null(keywords_name(kw, 3));
        assert_null(keywords_name(kw, 26));
        assert_int_equal(keywords_index(kw, "custom1"), 2);
        assert_int_equal(keywords_index(kw, "junk"), -1);      /* exact */
        size_t len;
        char *out = keywords_format(kw, &len);
        assert_string_equal(out, data);
        free(out);
        keywords_free(&kw);
        assert_null(kw);
}

static void test_junk_lines(void **state)
{
        static const struct {
                const char *name;
                const char *data;
                int want_bad;
                int want_idx;           /* index of "ok", or -1 */
        } cases[] = {
                { "not a number", "x foo\n3 ok\n", 1, 3 },
                { "index too big", "26 foo\n3 ok\n", 1, 3 },
                { "huge index", "99999999999 foo\n3 ok\n", 1, 3 },
                { "no name", "3 \n4 ok\n", 1, 4 },
                { "no space", "3ok\n", 1, -1 },
                { "same index twice", "3 ok\n3 other\n", 1, 3 },
                { "same name twice", "3 ok\n4 ok\n", 1, 3 },
                { "crlf", "5 ok\r\n", 0, 5 },
                { "no final newline", "5 ok", 0, 5 },
                { "blank lines", "\n\n7 ok\n\n", 0, 7 },
                { "negative", "-1 ok\n", 1, -1 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct keywords *kw = keywords_new();
                int bad = keywords_parse(kw, cases[i].data,
                                         strlen(cases[i].data));
                int idx = keywords_index(kw, "ok");
                if (bad != cases[i].want_bad || idx != cases[i].want_idx)
                        fail_msg("case %s: got bad %d idx %d, want %d %d",
                                 cases[i].name, bad, idx, cases[i].want_bad,
                                 cases[i].want_idx);
                keywords_free(&kw);
        }
}

static void test_add_until_full(void **state)
{
        const char *data = "1 b\n";
        struct keywords *kw = keywords_new();

        keywords_parse(kw, data, strlen(data));
        assert_int_equal(keywords_add(kw, "a"), 0);    /* hole first */
        assert_int_equal(keywords_add(kw, "b"), 1);    /* known */
        for (int i = 2; i < KEYWORDS_MAX; i++) {
                char name[16];
                snprintf(name, sizeof(name), "k%d", i);
                assert_int_equal(keywords_add(kw, name), i);
        }
        assert_int_equal(keywords_add(kw, "one-too-many"), -1);
        assert_int_equal(keywords_add(kw, "k25"), 25);
        keywords_free(&kw);
}

static void test_name_valid(void **state)
{
        static const struct {
                const char *name;
                int want;
        } cases[] = {
                { "$Forwarded", 1 }, { "Junk", 1 }, { "custom1", 1 },
                { "a-b.c_d", 1 }, { "", 0 }, { "\\Seen", 0 }, { "a b", 0 },
                { "a(b", 0 }, { "a)b", 0 }, { "a{b", 0 }, { "a%b", 0 },
                { "a*b", 0 }, { "a\"b", 0 }, { "a]b", 0 }, { "a\\b", 0 },
                { "caf\xc3\xa9", 0 }, { "tab\t", 0 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                int got = keywords_name_valid(cases[i].name);
                if (got != cases[i].want)
                        fail_msg("case \"%s\": got %d, want %d", cases[i].name,
                                 got, cases[i].want);
        }
        char long_name[KEYWORDS_NAME_MAX + 2];
        memset(long_name, 'x', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = '\0';
        assert_int_equal(keywords_name_valid(long_name), 0);
        long_name[KEYWORDS_NAME_MAX] = '\0';
        assert_int_equal(keywords_name_valid(long_name), 1);
}

static void test_file(void **state)
{
        char dir[] = "/tmp/keywords_test.XXXXXX";
        char path[256], lock[300];
        struct keywords *kw, *kw2;
        struct status st;
        struct stat sb1, sb2;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/%s", dir, KEYWORDS_NAME);
        snprintf(lock, sizeof(lock), "%s.lock", path);
        assert_int_equal(keywords_read(path, &kw, NULL, &st), 0);
        assert_non_null(kw);
        assert_int_equal(keywords_add(kw, "Junk"), 0);
        assert_int_equal(keywords_write(kw, path, &st), 0);
        assert_int_equal(stat(path, &sb1), 0);
        assert_int_equal(keywords_add(kw, "$Label1"), 1);
        /* a lock left by a crash is not in the way (we hold the uidlist
         * lock when writing) */
        FILE *f = fopen(lock, "w");
        fclose(f);
        assert_int_equal(keywords_write(kw, path, &st), 0);
        assert_int_equal(stat(path, &sb2), 0);
        assert_true(sb2.st_mtime > sb1.st_mtime);
        assert_int_equal(access(lock, F_OK), -1);
        assert_int_equal(keywords_read(path, &kw2, NULL, &st), 1);
        assert_string_equal(keywords_name(kw2, 1), "$Label1");
        keywords_free(&kw2);
        keywords_free(&kw);
        unlink(path);
        rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_dovecot_file),
                cmocka_unit_test(test_junk_lines),
                cmocka_unit_test(test_add_until_full),
                cmocka_unit_test(test_name_valid),
                cmocka_unit_test(test_file),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
