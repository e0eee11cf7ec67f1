/* imap_mbname_test.c - unit tests for imap_mbname.c
 * Tables: mailbox arguments as an IMAP4rev1 client (modified UTF-7) and
 * an IMAP4rev2 client (UTF-8) sends them, with the UTF-8 name each gives
 * or NULL for a refusal; LIST patterns; and names written back in both
 * modes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "imap_mbname.h"

#define NIHONGO "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"  /* U+65E5 ... */
#define GA_NFC "\xe3\x81\x8c"                           /* U+304C */
#define GA_NFD "\xe3\x81\x8b\xe3\x82\x99"               /* U+304B U+3099 */

static const struct {
        const char *name;
        int utf8;
        const char *input, *want;       /* want NULL: refused */
} decode_cases[] = {
        { "rev1 ascii", 0, "Sent", "Sent" },
        { "rev1 japanese", 0, "&ZeVnLIqe-", NIHONGO },
        { "rev1 ampersand", 0, "A&-B", "A&B" },
        { "rev1 hierarchy", 0, "&ZeVnLIqe-.Sub", NIHONGO ".Sub" },
        { "rev1 raw utf-8", 0, NIHONGO, NULL },
        { "rev1 unterminated shift", 0, "&ZeVn", NULL },
        { "rev1 shifted ascii", 0, "&AEE-", NULL },
        { "rev2 ascii", 1, "Sent", "Sent" },
        { "rev2 japanese", 1, NIHONGO, NIHONGO },
        { "rev2 ampersand is itself", 1, "A&-B", "A&-B" },
        { "rev2 mutf-7 is taken literally", 1, "&ZeVnLIqe-", "&ZeVnLIqe-" },
        { "rev2 composed", 1, GA_NFD, GA_NFC },
        { "rev2 already nfc", 1, GA_NFC, GA_NFC },
        { "rev2 latin-1", 1, "caf\xe9", NULL },
        { "rev2 overlong", 1, "\xc0\xae", NULL },
        { "rev2 tab", 1, "a\tb", NULL },
        { "rev2 delete", 1, "a\x7f", NULL },
        { "rev2 c1 control", 1, "a\xc2\x85", NULL },
        { "rev2 line separator", 1, "a\xe2\x80\xa8", NULL },
        { "rev2 paragraph separator", 1, "a\xe2\x80\xa9", NULL },
        { "rev2 no-break space", 1, "a\xc2\xa0" "b", "a\xc2\xa0" "b" },
        { "rev2 en dash", 1, "a\xe2\x80\x93" "b", "a\xe2\x80\x93" "b" },
};

static void test_decode(void **state)
{
        struct buf out;
        const char *error;

        buf_init(&out, 0);
        for (size_t i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]);
             i++) {
                int r;

                buf_reset(&out);
                error = NULL;
                r = imap_mbname_decode(decode_cases[i].input,
                                       decode_cases[i].utf8, &out, &error);
                if (decode_cases[i].want == NULL) {
                        if (r == 0)
                                fail_msg("case %s: got \"%s\", want refused",
                                         decode_cases[i].name,
                                         buf_cstr(&out));
                        if (error == NULL || out.len != 0)
                                fail_msg("case %s: refused without a reason "
                                         "or with output",
                                         decode_cases[i].name);
                        continue;
                }
                if (r < 0)
                        fail_msg("case %s: got refused (%s), want \"%s\"",
                                 decode_cases[i].name, error,
                                 decode_cases[i].want);
                if (strcmp(buf_cstr(&out), decode_cases[i].want) != 0)
                        fail_msg("case %s: got \"%s\", want \"%s\"",
                                 decode_cases[i].name, buf_cstr(&out),
                                 decode_cases[i].want);
        }
        buf_release(&out);
}

static const struct {
        const char *name;
        int utf8;
        const char *input, *want;
} pattern_cases[] = {
        { "rev1 wildcard", 0, "&ZeVnLIqe-*", NIHONGO "*" },
        { "rev1 not mutf-7 kept", 0, "&&*", "&&*" },
        { "rev2 wildcard", 1, NIHONGO "%", NIHONGO "%" },
        { "rev2 composed", 1, GA_NFD "*", GA_NFC "*" },
        { "rev2 not utf-8 kept", 1, "\xff*", "\xff*" },
};

static void test_pattern(void **state)
{
        struct buf out;

        buf_init(&out, 0);
        for (size_t i = 0;
             i < sizeof(pattern_cases) / sizeof(pattern_cases[0]); i++) {
                buf_reset(&out);
                imap_mbname_pattern(pattern_cases[i].input,
                                    pattern_cases[i].utf8, &out);
                if (strcmp(buf_cstr(&out), pattern_cases[i].want) != 0)
                        fail_msg("case %s: got \"%s\", want \"%s\"",
                                 pattern_cases[i].name, buf_cstr(&out),
                                 pattern_cases[i].want);
        }
        buf_release(&out);
}

static const struct {
        const char *name;
        int utf8;
        const char *input, *want;
} write_cases[] = {
        { "rev1 atom", 0, "Sent", "Sent" },
        { "rev1 inbox", 0, "INBOX", "INBOX" },
        { "rev1 japanese", 0, NIHONGO, "&ZeVnLIqe-" },
        { "rev1 ampersand", 0, "A&B", "A&-B" },
        { "rev1 space", 0, "Sent Items", "\"Sent Items\"" },
        { "rev1 nil", 0, "NIL", "\"NIL\"" },
        { "rev1 quote", 0, "a\"b", "\"a\\\"b\"" },
        { "rev2 atom", 1, "Sent", "Sent" },
        { "rev2 japanese", 1, NIHONGO, "\"" NIHONGO "\"" },
        { "rev2 ampersand", 1, "A&B", "A&B" },
        { "rev2 japanese with space", 1, NIHONGO " x",
          "\"" NIHONGO " x\"" },
        { "rev2 backslash", 1, "a\\b", "\"a\\\\b\"" },
        { "rev2 nil", 1, "nil", "\"nil\"" },
        { "rev2 not utf-8", 1, "caf\xe9", "{4}\r\ncaf\xe9" },
        { "rev2 newline", 1, "a\nb", "{3}\r\na\nb" },
};

static void test_write(void **state)
{
        struct buf out;

        buf_init(&out, 0);
        for (size_t i = 0; i < sizeof(write_cases) / sizeof(write_cases[0]);
             i++) {
                buf_reset(&out);
                imap_mbname_write(&out, write_cases[i].input,
                                  write_cases[i].utf8);
                if (strcmp(buf_cstr(&out), write_cases[i].want) != 0)
                        fail_msg("case %s: got \"%s\", want \"%s\"",
                                 write_cases[i].name, buf_cstr(&out),
                                 write_cases[i].want);
        }
        buf_release(&out);
}

/* a name written in either mode reads back the same */
static void test_round_trip(void **state)
{
        static const char *const names[] = {
                "INBOX", "Sent Items", NIHONGO, NIHONGO ".Sub", "A&B",
                "a\"b\\c", GA_NFC "x",
        };
        struct buf wire, back;
        const char *error;

        buf_init(&wire, 0);
        buf_init(&back, 0);
        for (int utf8 = 0; utf8 <= 1; utf8++) {
                for (size_t i = 0; i < sizeof(names) / sizeof(names[0]);
                     i++) {
                        const char *w;
                        buf_reset(&wire);
                        buf_reset(&back);
                        imap_mbname_write(&wire, names[i], utf8);
                        /* unquote */
                        w = buf_cstr(&wire);
                        if (*w == '"') {
                                struct buf u;
                                buf_init(&u, 0);
                                for (const char *p = w + 1; *p != '"'; p++) {
                                        if (*p == '\\')
                                                p++;
                                        buf_putc(&u, *p);
                                }
                                buf_reset(&wire);
                                buf_append(&wire, u.data, u.len);
                                buf_release(&u);
                        }
                        if (imap_mbname_decode(buf_cstr(&wire), utf8, &back,
                                               &error) < 0 ||
                            strcmp(buf_cstr(&back), names[i]) != 0)
                                fail_msg("case %s (utf8 %d): got \"%s\", "
                                         "want \"%s\"", names[i], utf8,
                                         buf_cstr(&back), names[i]);
                }
        }
        buf_release(&wire);
        buf_release(&back);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_decode),
                cmocka_unit_test(test_pattern),
                cmocka_unit_test(test_write),
                cmocka_unit_test(test_round_trip),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
