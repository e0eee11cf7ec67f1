/* cfg_lines_test.c - logical lines: continuation, comments, NUL bytes,
 * line numbers and the order in which lines and errors come out */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "cfg_lines.h"

#define NUL_ERR "NUL character in line"
#define ORPHAN "continuation line without a parameter before it"

/* transcript - everything r gives, as "LINE text" for a logical line and
 * "LINE! error" for an error, joined by " | "; returns a new string */
static char *transcript(const char *text, size_t len, const char *what)
{
        struct cfg_lines r;
        struct buf out;
        const char *logical, *error;
        size_t logical_len;
        int line, ret, calls = 0;

        buf_init(&out, 0);
        cfg_lines_init(&r, text, len, what);
        while ((ret = cfg_lines_next(&r, &logical, &logical_len, &line,
                                     &error)) != 0) {
                if (++calls > 1000)
                        fail_msg("no end after %d calls", calls);
                if (out.len > 0)
                        buf_puts(&out, " | ");
                if (ret > 0) {
                        /* NUL-terminated, and the length agrees */
                        assert_int_equal(strlen(logical), logical_len);
                        buf_printf(&out, "%d %s", line, logical);
                } else {
                        assert_int_equal(ret, -1);
                        buf_printf(&out, "%d! %s", line, error);
                }
        }
        /* the end stays the end */
        assert_int_equal(cfg_lines_next(&r, &logical, &logical_len, &line,
                                        &error), 0);
        cfg_lines_release(&r);
        return buf_steal(&out);
}

#define T(s) s, sizeof(s) - 1   /* text and length, NUL bytes included */

static void test_table(void **state)
{
        static const struct {
                const char *name;
                const char *text;
                size_t len;
                const char *want;
        } cases[] = {
                { "empty", T(""), "" },
                { "blank only", T(" \n\t\n\r\n"), "" },
                { "one line, no newline", T("a = b"), "1 a = b" },
                { "trailing space and CR", T("a = b \t\r\n"), "1 a = b" },
                { "two lines", T("a = b\nc = d\n"), "1 a = b | 2 c = d" },
                { "continuation joined with one space",
                  T("a = b\n   c\t\n\t\td  \n"), "1 a = b c d" },
                { "continuation at the end, no newline", T("a\n b"),
                  "1 a b" },
                { "blank and comment lines inside a logical line",
                  T("a = b\n# x\n\n   \n  c\nd = e"), "1 a = b c | 6 d = e" },
                { "indented comment is not a continuation",
                  T("a = b\n  # c\n"), "1 a = b" },
                { "# after text is kept", T("a = b # c\n"), "1 a = b # c" },
                { "line numbers count every line",
                  T("\n\n# c\nx\n\n y\n"), "4 x y" },
                { "continuation with nothing before",
                  T("  x\n\ty\na = b\n"),
                  "1! " ORPHAN " | 2! " ORPHAN " | 3 a = b" },
                { "continuation after only comments",
                  T("# c\n x\n"), "2! " ORPHAN },
                { "NUL in a first line",
                  T("a\0b\n c\nd = e\n"), "1! " NUL_ERR " | 3 d = e" },
                { "NUL line ends the line before, which comes after",
                  T("a = b\nc\0d\n e\nf = g"),
                  "2! " NUL_ERR " | 1 a = b | 4 f = g" },
                { "NUL in a continuation drops the logical line",
                  T("a = b\n c\0\n d\ne = f"),
                  "2! " NUL_ERR " | 4 e = f" },
                { "NUL in a continuation with nothing before",
                  T(" \0\n x\ny\n"),
                  "1! " NUL_ERR " | 2! " ORPHAN " | 3 y" },
                { "NUL in a comment line ends the line before",
                  T("a = b\n#\0\n c\nd\n"),
                  "2! " NUL_ERR " | 1 a = b | 4 d" },
                { "NUL lines in a row",
                  T("\0\n\0\n x\n"),
                  "1! " NUL_ERR " | 2! " NUL_ERR },
                { "NUL only", T("\0"), "1! " NUL_ERR },
                { "NUL line at the end",
                  T("a = b\n c\n\0"), "3! " NUL_ERR " | 1 a = b c" },
                { "good line after a dropped one",
                  T("a\0\nb = c\n d\n"), "1! " NUL_ERR " | 2 b = c d" },
                { "len is honoured", "a = b\nc = d", 5, "1 a = b" },
                { "len cuts a continuation", "a\n b\n c", 4, "1 a b" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *got = transcript(cases[i].text, cases[i].len,
                                       "a parameter");

                if (strcmp(got, cases[i].want) != 0)
                        fail_msg("case %s: got \"%s\", want \"%s\"",
                                 cases[i].name, got, cases[i].want);
                free(got);
        }
}

/* the noun in the continuation error is the caller's */
static void test_what(void **state)
{
        static const struct {
                const char *what;
                const char *want;
        } cases[] = {
                { "a parameter", "1! " ORPHAN " | 2 s" },
                { "a service line",
                  "1! continuation line without a service line before it"
                  " | 2 s" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *got = transcript(T(" x\ns\n"), cases[i].what);

                if (strcmp(got, cases[i].want) != 0)
                        fail_msg("case %s: got \"%s\", want \"%s\"",
                                 cases[i].what, got, cases[i].want);
                free(got);
        }
}

/* a long logical line grows the buffer; earlier text stays whole */
static void test_long_logical(void **state)
{
        struct buf in, want;
        struct cfg_lines r;
        const char *logical, *error;
        size_t logical_len;
        int line;

        buf_init(&in, 0);
        buf_init(&want, 0);
        buf_puts(&in, "first =");
        buf_puts(&want, "first =");
        for (int i = 0; i < 2000; i++) {
                buf_printf(&in, "\n\tword%d", i);
                buf_printf(&want, " word%d", i);
        }
        buf_puts(&in, "\nnext = 1\n");
        cfg_lines_init(&r, in.data, in.len, "a parameter");
        assert_int_equal(cfg_lines_next(&r, &logical, &logical_len, &line,
                                        &error), 1);
        assert_int_equal(line, 1);
        assert_int_equal(logical_len, want.len);
        assert_string_equal(logical, buf_cstr(&want));
        assert_int_equal(cfg_lines_next(&r, &logical, &logical_len, &line,
                                        &error), 1);
        assert_int_equal(line, 2002);
        assert_string_equal(logical, "next = 1");
        assert_int_equal(cfg_lines_next(&r, &logical, &logical_len, &line,
                                        &error), 0);
        cfg_lines_release(&r);
        buf_release(&in);
        buf_release(&want);
}

/* a released reader may be set up again over other text */
static void test_reuse(void **state)
{
        struct cfg_lines r;
        const char *logical, *error;
        size_t logical_len;
        int line;

        cfg_lines_init(&r, T("a\n b\n"), "a parameter");
        assert_int_equal(cfg_lines_next(&r, &logical, &logical_len, &line,
                                        &error), 1);
        assert_string_equal(logical, "a b");
        cfg_lines_release(&r);
        cfg_lines_init(&r, T("\n c\nd\n"), "a service line");
        assert_int_equal(cfg_lines_next(&r, &logical, &logical_len, &line,
                                        &error), -1);
        assert_int_equal(line, 2);
        assert_string_equal(error, "continuation line without a service "
                            "line before it");
        assert_int_equal(cfg_lines_next(&r, &logical, &logical_len, &line,
                                        &error), 1);
        assert_int_equal(line, 3);
        assert_string_equal(logical, "d");
        cfg_lines_release(&r);
        cfg_lines_release(&r);  /* twice is harmless */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_what),
                cmocka_unit_test(test_long_logical),
                cmocka_unit_test(test_reuse),
        };

        return cmocka_run_group_tests_name("cfg_lines", tests, NULL, NULL);
}
