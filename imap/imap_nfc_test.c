/* imap_nfc_test.c - unit tests for imap_nfc.c
 * A table of texts and their NFC forms (checked against Python's
 * unicodedata.normalize when the table was written): composition, the
 * Hangul arithmetic, canonical reordering, blocked marks, singletons and
 * composition exclusions; then text that is not UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "imap_nfc.h"

static const struct {
        const char *name, *input, *want;
} cases[] = {
        { "ascii", "Sent", "Sent" },
        { "already composed", "caf\xc3\xa9", "caf\xc3\xa9" },
        { "e and acute", "cafe\xcc\x81", "caf\xc3\xa9" },
        { "kana and voicing mark", "\xe3\x81\x8b\xe3\x82\x99",
          "\xe3\x81\x8c" },
        { "katakana name", "\xe3\x83\x8f\xe3\x82\x99\xe3\x83\x83\xe3\x82\xaf"
          "\xe3\x82\xa2\xe3\x83\x83\xe3\x83\x95\xe3\x82\x9a",
          "\xe3\x83\x90\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xa2\xe3\x83\x83"
          "\xe3\x83\x97" },
        { "kanji", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
          "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
        { "hangul jamo l v t", "\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8",
          "\xea\xb0\x81" },
        { "hangul syllable and t", "\xea\xb0\x80\xe1\x86\xa8",
          "\xea\xb0\x81" },
        { "hangul syllables", "\xed\x95\x9c\xea\xb5\xad",
          "\xed\x95\x9c\xea\xb5\xad" },
        { "singleton", "\xe2\x84\xab", "\xc3\x85" },
        { "marks in order", "a\xcc\x82\xcc\xa3", "\xe1\xba\xad" },
        { "marks reversed", "a\xcc\xa3\xcc\x82", "\xe1\xba\xad" },
        { "second mark blocked", "a\xcc\x81\xcc\x81", "\xc3\xa1\xcc\x81" },
        { "composite and lower mark", "\xe1\xb8\x8b\xcc\xa3",
          "\xe1\xb8\x8d\xcc\x87" },
        { "composition exclusion", "\xe0\xa5\x98",
          "\xe0\xa4\x95\xe0\xa4\xbc" },
        { "leading mark", "\xcc\x81" "a", "\xcc\x81" "a" },
        { "non-starter decomposition", "\xcd\x84", "\xcc\x88\xcc\x81" },
        { "supplementary plane", "\xf0\x9d\x85\x9e",
          "\xf0\x9d\x85\x97\xf0\x9d\x85\xa5" },
        { "empty", "", "" },
};

static void test_nfc(void **state)
{
        struct buf out;

        buf_init(&out, 0);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                buf_reset(&out);
                if (imap_nfc(cases[i].input, strlen(cases[i].input),
                             &out) < 0)
                        fail_msg("case %s: got -1, want \"%s\"",
                                 cases[i].name, cases[i].want);
                if (strcmp(buf_cstr(&out), cases[i].want) != 0)
                        fail_msg("case %s: got \"%s\", want \"%s\"",
                                 cases[i].name, buf_cstr(&out),
                                 cases[i].want);
        }
        buf_release(&out);
}

static const struct {
        const char *name, *input;
} invalid[] = {
        { "stray continuation", "a\x80" },
        { "overlong slash", "\xc0\xaf" },
        { "surrogate", "\xed\xa0\x80" },
        { "beyond U+10FFFF", "\xf4\x90\x80\x80" },
        { "cut short", "\xe3\x81" },
        { "latin-1", "caf\xe9" },
};

static void test_invalid(void **state)
{
        struct buf out;

        buf_init(&out, 0);
        for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
                buf_reset(&out);
                buf_puts(&out, "kept");
                if (imap_nfc(invalid[i].input, strlen(invalid[i].input),
                             &out) == 0)
                        fail_msg("case %s: got 0, want -1", invalid[i].name);
                if (strcmp(buf_cstr(&out), "kept") != 0)
                        fail_msg("case %s: got output \"%s\", want none",
                                 invalid[i].name, buf_cstr(&out));
        }
        /* an embedded NUL is not part of a name */
        buf_reset(&out);
        if (imap_nfc("a\0b", 3, &out) == 0)
                fail_msg("case NUL: got 0, want -1");
        buf_release(&out);
}

static void test_limit(void **state)
{
        static char big[IMAP_NFC_MAX + 1];
        struct buf out;

        memset(big, 'a', sizeof(big));
        buf_init(&out, 0);
        assert_int_equal(imap_nfc(big, IMAP_NFC_MAX, &out), 0);
        assert_int_equal(out.len, IMAP_NFC_MAX);
        buf_reset(&out);
        assert_int_equal(imap_nfc(big, IMAP_NFC_MAX + 1, &out), -1);
        assert_int_equal(out.len, 0);
        buf_release(&out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_nfc),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_limit),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
