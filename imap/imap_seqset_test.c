/* imap_seqset_test.c - unit tests for imap_seqset.c
 * Tables of sequence sets: parsed with "*" standing for 10, normalized and
 * written back; malformed sets; runs written by imap_seqset_write_list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "imap_seqset.h"

static const struct {
        const char *name, *input, *want;        /* want NULL: refused */
} cases[] = {
        { "single", "5", "5" },
        { "range", "2:4", "2:4" },
        { "reversed range", "4:2", "2:4" },
        { "star", "8:*", "8:10" },
        { "star first", "*:8", "8:10" },
        { "star beyond", "12:*", "10:12" },
        { "merge overlap", "1:3,2:5,9", "1:5,9" },
        { "merge adjacent", "3,1,2,4:6", "1:6" },
        { "unsorted", "9,1,5", "1,5,9" },
        { "max uid", "4294967295", "4294967295" },
        { "dollar", "$", "" },
        { "zero", "0", NULL },
        { "zero in range", "0:3", NULL },
        { "too big", "4294967296", NULL },
        { "empty", "", NULL },
        { "trailing comma", "1,", NULL },
        { "double colon", "1::2", NULL },
        { "letters", "1:a", NULL },
        { "leading zero", "01", NULL },
        { "dollar in list", "1,$", NULL },
};

static void test_parse(void **state)
{
        struct imap_seqset set;
        struct buf out;
        int dollar;

        imap_seqset_init(&set);
        buf_init(&out, 0);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                int r = imap_seqset_parse(cases[i].input, 10, &set, &dollar);
                if (cases[i].want == NULL) {
                        if (r == 0)
                                fail_msg("case %s: got accepted, want refused",
                                         cases[i].name);
                        continue;
                }
                if (r < 0)
                        fail_msg("case %s: got refused, want %s",
                                 cases[i].name, cases[i].want);
                buf_reset(&out);
                imap_seqset_write(&out, &set);
                if (strcmp(buf_cstr(&out), cases[i].want) != 0)
                        fail_msg("case %s: got %s, want %s", cases[i].name,
                                 buf_cstr(&out), cases[i].want);
                assert_int_equal(dollar, strcmp(cases[i].input, "$") == 0);
        }
        imap_seqset_release(&set);
        buf_release(&out);
}

static void test_contains_count(void **state)
{
        struct imap_seqset set;
        int dollar;

        imap_seqset_init(&set);
        assert_int_equal(imap_seqset_parse("1:3,7,20:29", 99, &set, &dollar),
                         0);
        assert_true(imap_seqset_contains(&set, 2));
        assert_true(imap_seqset_contains(&set, 7));
        assert_true(imap_seqset_contains(&set, 29));
        assert_false(imap_seqset_contains(&set, 4));
        assert_false(imap_seqset_contains(&set, 30));
        assert_int_equal(imap_seqset_count(&set), 14);
        assert_int_equal(imap_seqset_max(&set), 29);
        imap_seqset_release(&set);
}

static void test_write_list(void **state)
{
        static const uint32_t v[] = { 4, 5, 6, 2, 9, 10, 4294967295u };
        struct buf out;

        buf_init(&out, 0);
        imap_seqset_write_list(&out, v, sizeof(v) / sizeof(v[0]));
        assert_string_equal(buf_cstr(&out), "4:6,2,9:10,4294967295");
        buf_release(&out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_contains_count),
                cmocka_unit_test(test_write_list),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
