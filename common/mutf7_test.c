/* mutf7_test.c - modified UTF-7: the RFC 3501 examples, Dovecot's folder
 * names, strictness on both sides, and a round trip over many code points */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "mutf7.h"

static const struct {
        const char *name;
        const char *utf8;
        const char *mutf7;
} pairs[] = {
        { "empty", "", "" },
        { "ascii", "INBOX", "INBOX" },
        { "japanese", "日本語", "&ZeVnLIqe-" },
        { "ampersand", "&", "&-" },
        { "ampersand inside", "a&b", "a&-b" },
        { "latin1", "Entwürfe", "Entw&APw-rfe" },
        { "rfc3501 example", "~peter/mail/台北/日本語",
          "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
        { "euro", "€", "&IKw-" },
        { "astral (surrogate pair)", "😀", "&2D3eAA-" },
        { "levels", "Å.Ä", "&AMU-.&AMQ-" },
        { "shift then ampersand", "日本語&", "&ZeVnLIqe-&-" },
        { "control char is shifted", "a\tb", "a&AAk-b" },
        { "printable edges", " ~", " ~" },
        { "mixed run", "Ключ-key", "&BBoEOwROBEc--key" },
};

static void test_encode_table(void **state)
{
        for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
                struct buf b;
                buf_init(&b, 0);
                int r = mutf7_encode(pairs[i].utf8, &b);
                if (r != 0 || strcmp(buf_cstr(&b), pairs[i].mutf7) != 0)
                        fail_msg("case %s: got %d \"%s\", want \"%s\"",
                                 pairs[i].name, r, buf_cstr(&b),
                                 pairs[i].mutf7);
                buf_release(&b);
        }
}

static void test_decode_table(void **state)
{
        for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
                struct buf b;
                buf_init(&b, 0);
                int r = mutf7_decode(pairs[i].mutf7, &b);
                if (r != 0 || strcmp(buf_cstr(&b), pairs[i].utf8) != 0)
                        fail_msg("case %s: got %d \"%s\", want \"%s\"",
                                 pairs[i].name, r, buf_cstr(&b),
                                 pairs[i].utf8);
                if (!mutf7_valid(pairs[i].mutf7))
                        fail_msg("case %s: valid() said no", pairs[i].name);
                buf_release(&b);
        }
}

static void test_decode_rejects(void **state)
{
        static const struct {
                const char *name;
                const char *in;
        } bad[] = {
                { "lone ampersand", "&" },
                { "unterminated", "&ZeVnLIqe" },
                { "unterminated short", "&Zev" },
                { "shifted printable", "&AGE-" },
                { "shifted ampersand", "&ACY-" },
                { "bad base64 char", "&ZeV!-" },
                { "slash in base64", "&ZeV/-" },
                { "eight-bit byte", "caf\xc3\xa9" },
                { "control byte", "a\x01" },
                { "DEL byte", "a\x7f" },
                { "adjacent shifts", "&ZeVnLIqe-&ZeVnLIqe-" },
                { "lone high surrogate", "&2D0-" },
                { "lone low surrogate", "&3gA-" },
                { "encoded NUL", "&AAA-" },
                { "non-zero padding", "&IKx-" },
                { "too many leftover bits", "&IKwA-" },
                { "ampersand then junk", "&-&" },
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct buf b;
                buf_init(&b, 0);
                buf_puts(&b, "keep");
                int r = mutf7_decode(bad[i].in, &b);
                if (r != -1 || strcmp(buf_cstr(&b), "keep") != 0)
                        fail_msg("case %s: got %d \"%s\", want -1 and buffer untouched",
                                 bad[i].name, r, buf_cstr(&b));
                if (mutf7_valid(bad[i].in))
                        fail_msg("case %s: valid() said yes", bad[i].name);
                buf_release(&b);
        }
}

static void test_encode_rejects(void **state)
{
        static const struct {
                const char *name;
                const char *in;
        } bad[] = {
                { "invalid byte", "\xff" },
                { "overlong NUL", "\xc0\x80" },
                { "overlong slash", "\xe0\x80\xaf" },
                { "surrogate", "\xed\xa0\x80" },
                { "above U+10FFFF", "\xf4\x90\x80\x80" },
                { "truncated", "\xe6\x97" },
                { "continuation only", "\x80" },
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct buf b;
                buf_init(&b, 0);
                buf_puts(&b, "keep");
                int r = mutf7_encode(bad[i].in, &b);
                if (r != -1 || strcmp(buf_cstr(&b), "keep") != 0)
                        fail_msg("case %s: got %d \"%s\", want -1 and buffer untouched",
                                 bad[i].name, r, buf_cstr(&b));
                if (mutf7_utf8_valid(bad[i].in, strlen(bad[i].in)))
                        fail_msg("case %s: utf8_valid said yes", bad[i].name);
        buf_release(&b);
        }
}

static size_t put_cp(char *out, uint32_t cp)
{
        if (cp < 0x80) {
                out[0] = (char)cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char)(0xc0 | (cp >> 6));
                out[1] = (char)(0x80 | (cp & 0x3f));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char)(0xe0 | (cp >> 12));
                out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                out[2] = (char)(0x80 | (cp & 0x3f));
                return 3;
        }
        out[0] = (char)(0xf0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[3] = (char)(0x80 | (cp & 0x3f));
        return 4;
}

/* strings of 1-7 random code points (ASCII, BMP and astral mixed) survive
 * encode + decode unchanged, and the encoding is pure printable ASCII */
static void test_round_trip(void **state)
{
        uint32_t seed = 12345;

        for (int round = 0; round < 20000; round++) {
                char s[64];
                size_t len = 0;
                int n = 1 + round % 7;
                for (int k = 0; k < n; k++) {
                        seed = seed * 1103515245u + 12345u;
                        uint32_t cp;
                        switch ((seed >> 16) % 4) {
                        case 0: cp = 0x20 + (seed >> 8) % 0x5f; break;
                        case 1: cp = 0x80 + (seed >> 4) % 0x780; break;
                        case 2: cp = 0x800 + (seed >> 3) % (0xd800 - 0x800); break;
                        default: cp = 0x10000 + (seed >> 2) % 0xfffff; break;
                        }
                        len += put_cp(s + len, cp);
                }
                s[len] = '\0';
                struct buf e, d;
                buf_init(&e, 0);
                buf_init(&d, 0);
                if (mutf7_encode(s, &e) != 0)
                        fail_msg("round %d: encode failed", round);
                for (size_t i = 0; i < e.len; i++) {
                        if (e.data[i] < 0x20 || e.data[i] > 0x7e)
                                fail_msg("round %d: byte 0x%02x in encoding",
                                         round, (unsigned char)e.data[i]);
                }
                if (mutf7_decode(e.data, &d) != 0 || strcmp(d.data, s) != 0)
                        fail_msg("round %d: \"%s\" came back as \"%s\" via \"%s\"",
                                 round, s, buf_cstr(&d), e.data);
                buf_release(&e);
                buf_release(&d);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_encode_table),
                cmocka_unit_test(test_decode_table),
                cmocka_unit_test(test_decode_rejects),
                cmocka_unit_test(test_encode_rejects),
                cmocka_unit_test(test_round_trip),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
