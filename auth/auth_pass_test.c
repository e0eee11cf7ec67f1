/* auth_pass_test.c - password hashes: vectors for every scheme, wrong
 * passwords, malformed hashes, Dovecot prefixes, new hashes, and the
 * constant-time comparison.
 * Vectors: $5$/$6$ are Drepper's SHA-crypt specification examples, checked
 * with `openssl passwd -5/-6 -salt saltstring` (an implementation apart from
 * libxcrypt); $2a$/$2b$/$2y$ are the crypt_blowfish test vectors; the $y$
 * vector was computed once with crypt(3) (python3 crypt and mkpasswd agree,
 * both on libxcrypt: there is no second yescrypt implementation on Debian). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "auth_pass.h"
#include "status.h"

#define SHA512_HW "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3u" \
                  "BnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
#define SHA512_R10000 "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVe" \
                      "XbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9" \
                      "qs/y3RnOaw5v."
#define SHA512_EMPTY "$6$saltstring$kyGrqt6gmjAdtFLPrflEFifSYLCWWq1pyx95Svqin" \
                     "LDy2UHmj0sTF0MSLMwxPFZc3tu5kQckI8fks0zOPda3n1"
#define SHA256_HW "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"
#define SHA256_R10000 "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeuj" \
                      "ZkZRBAwqFMz2.opqey6IcA"
#define BF_UU "CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
#define BF_UUU "CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"
#define BF_LONG "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui"
#define BF_LONG_PW "0123456789abcdefghijklmnopqrstuvwxyz" \
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" \
                   "chars after 72 are ignored"
#define YESCRYPT_CHS "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$y8e1eitiNDaQsFFW6d.9KbSTl" \
                     "k5zV3R3coZQtfcNAO5"

struct verify_case {
        const char *name;
        const char *password;
        const char *stored;
        int want;
};

static const struct verify_case verify_cases[] = {
        /* every scheme, right password */
        { "yescrypt", "correct horse battery staple", YESCRYPT_CHS, 1 },
        { "sha512", "Hello world!", SHA512_HW, 1 },
        { "sha512 rounds", "Hello world!", SHA512_R10000, 1 },
        { "sha256", "Hello world!", SHA256_HW, 1 },
        { "sha256 rounds", "Hello world!", SHA256_R10000, 1 },
        { "bcrypt 2a", "U*U", "$2a$05$" BF_UU, 1 },
        { "bcrypt 2b", "U*U", "$2b$05$" BF_UU, 1 },
        { "bcrypt 2y", "U*U", "$2y$05$" BF_UU, 1 },
        { "bcrypt 2b other", "U*U*", "$2b$05$" BF_UUU, 1 },
        { "bcrypt 72 bytes", BF_LONG_PW, BF_LONG, 1 },
        /* Dovecot prefixes */
        { "{SHA512-CRYPT}", "Hello world!", "{SHA512-CRYPT}" SHA512_HW, 1 },
        { "{sha512-crypt} any case", "Hello world!",
          "{sha512-crypt}" SHA512_HW, 1 },
        { "{SHA256-CRYPT}", "Hello world!", "{SHA256-CRYPT}" SHA256_HW, 1 },
        { "{BLF-CRYPT}", "U*U", "{BLF-CRYPT}$2y$05$" BF_UU, 1 },
        { "{CRYPT} sha512", "Hello world!", "{CRYPT}" SHA512_HW, 1 },
        { "{CRYPT} yescrypt", "correct horse battery staple",
          "{CRYPT}" YESCRYPT_CHS, 1 },
        { "{CRYPT} bcrypt", "U*U", "{CRYPT}$2b$05$" BF_UU, 1 },
        { "{PLAIN}", "s3cret:x", "{PLAIN}s3cret:x", 1 },
        { "{CLEARTEXT}", "s3cret", "{CLEARTEXT}s3cret", 1 },

        /* wrong passwords */
        { "yescrypt wrong", "correct horse battery stapler", YESCRYPT_CHS,
          0 },
        { "sha512 wrong", "hello world!", SHA512_HW, 0 },
        { "sha256 wrong", "Hello world", SHA256_HW, 0 },
        { "bcrypt wrong", "U*u", "$2b$05$" BF_UU, 0 },
        { "{SHA512-CRYPT} wrong", "Hello", "{SHA512-CRYPT}" SHA512_HW, 0 },
        { "{PLAIN} case", "S3cret", "{PLAIN}s3cret", 0 },
        { "{PLAIN} prefix of", "s3cre", "{PLAIN}s3cret", 0 },
        { "{PLAIN} longer", "s3cret!", "{PLAIN}s3cret", 0 },
        { "empty password, hash of empty", "", SHA512_EMPTY, 0 },
        { "empty password, empty plain", "", "{PLAIN}", 0 },
        { "empty password, bcrypt", "", "$2a$05$CCCCCCCCCCCCCCCCCCCCC."
          "7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy", 0 },

        /* locked on purpose */
        { "empty hash", "x", "", 0 },
        { "locked !", "Hello world!", "!" SHA512_HW, 0 },
        { "locked *", "x", "*", 0 },

        /* malformed or unsupported: never a success, never a crash */
        { "prefix disagrees", "Hello world!", "{SHA512-CRYPT}" SHA256_HW, -1 },
        { "blf prefix on sha", "Hello world!", "{BLF-CRYPT}" SHA512_HW, -1 },
        { "unknown prefix", "x", "{SSHA}abcdef", -1 },
        { "unclosed prefix", "x", "{PLAIN", -1 },
        { "empty prefix", "x", "{}x", -1 },
        { "setting only", "Hello world!", "$6$saltstring", -1 },
        { "setting and $", "Hello world!", "$6$saltstring$", -1 },
        { "truncated", "Hello world!", "$6$saltstring$svn8UoSV", -1 },
        { "trailing junk", "Hello world!", SHA512_HW "x", -1 },
        { "newline", "Hello world!", SHA512_HW "\n", -1 },
        { "space", "Hello world!", " " SHA512_HW, -1 },
        { "bad char", "x", "$6$salt\xc3\xa4$abc", -1 },
        { "bcrypt short", "U*U", "$2b$05$CCCC", -1 },
        { "bcrypt cost digits", "U*U", "$2b$5$" BF_UU "x", -1 },
        { "bcrypt 2x", "U*U", "$2x$05$" BF_UU, -1 },
        { "yescrypt bare", "x", "$y$", -1 },
        { "yescrypt no hash", "x", "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$", -1 },
        { "yescrypt bad params", "x", "$y$$$$", -1 },
        { "md5crypt", "abc", "$1$saltsalt$7fq7ZEc75157blrz18yX./", -1 },
        { "descrypt", "abc", "abFZSxKKdq5s6", -1 },
        { "{CRYPT} descrypt", "abc", "{CRYPT}abFZSxKKdq5s6", -1 },
        { "scrypt", "x", "$7$CU..../....abcdefgh$abc", -1 },
        { "dollar soup", "x", "$$$$$$$$", -1 },
        { "just a dollar", "x", "$", -1 },
        { "rounds junk", "Hello world!", "$6$rounds=x$salt$abc", -1 },
};

static void test_verify_vectors(void **state)
{
        for (size_t i = 0; i < sizeof(verify_cases) / sizeof(verify_cases[0]);
             i++) {
                const struct verify_case *c = &verify_cases[i];
                struct status st;
                int got;

                status_clear(&st);
                got = auth_pass_verify(c->password, c->stored, &st);
                if (got != c->want)
                        fail_msg("case %s: got %d, want %d (%s)", c->name, got,
                                 c->want, st.text);
                if (got < 0 && status_class(&st) != 5)
                        fail_msg("case %s: got status %s, want 5.x.x",
                                 c->name, st.code);
        }
}

static void test_verify_overlong_password(void **state)
{
        char password[AUTH_PASS_MAX + 2];
        char *stored;
        struct status st;

        memset(password, 'a', sizeof(password) - 1);
        password[sizeof(password) - 1] = '\0';
        /* even a clear-text copy of it must not match */
        stored = malloc(sizeof(password) + 8);
        assert_non_null(stored);
        snprintf(stored, sizeof(password) + 8, "{PLAIN}%s", password);
        assert_int_equal(auth_pass_verify(password, stored, &st), 0);
        /* one byte shorter is the limit and fine */
        password[AUTH_PASS_MAX] = '\0';
        snprintf(stored, sizeof(password) + 8, "{PLAIN}%s", password);
        assert_int_equal(auth_pass_verify(password, stored, &st), 1);
        free(stored);
}

static void test_long_garbage_hash(void **state)
{
        char stored[2000];
        struct status st;

        memcpy(stored, "$6$", 3);
        memset(stored + 3, 'a', sizeof(stored) - 4);
        stored[sizeof(stored) - 1] = '\0';
        assert_int_equal(auth_pass_verify("a", stored, &st), -1);
        stored[500] = '$';
        assert_int_equal(auth_pass_verify("a", stored, &st), -1);
}

static void test_scheme(void **state)
{
        static const struct {
                const char *stored;
                enum auth_pass_scheme want;
                int plain;
        } cases[] = {
                { YESCRYPT_CHS, AUTH_PASS_YESCRYPT, 0 },
                { SHA512_HW, AUTH_PASS_SHA512_CRYPT, 0 },
                { "{SHA512-CRYPT}" SHA512_HW, AUTH_PASS_SHA512_CRYPT, 0 },
                { SHA256_HW, AUTH_PASS_SHA256_CRYPT, 0 },
                { "$2y$05$" BF_UU, AUTH_PASS_BCRYPT, 0 },
                { "{BLF-CRYPT}$2b$05$" BF_UU, AUTH_PASS_BCRYPT, 0 },
                { "{PLAIN}x", AUTH_PASS_PLAIN, 1 },
                { "{plain}x", AUTH_PASS_PLAIN, 1 },
                { "{CLEARTEXT}x", AUTH_PASS_PLAIN, 1 },
                { "", AUTH_PASS_LOCKED, 0 },
                { "!x", AUTH_PASS_LOCKED, 0 },
                { "{MD5}x", AUTH_PASS_UNKNOWN, 0 },
                { "abFZSxKKdq5s6", AUTH_PASS_UNKNOWN, 0 },
                { "plain text", AUTH_PASS_UNKNOWN, 0 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                enum auth_pass_scheme got = auth_pass_scheme(cases[i].stored);

                if (got != cases[i].want)
                        fail_msg("case %s: got %s, want %s", cases[i].stored,
                                 auth_pass_scheme_name(got),
                                 auth_pass_scheme_name(cases[i].want));
                if (auth_pass_is_plain(cases[i].stored) != cases[i].plain)
                        fail_msg("case %s: is_plain got %d, want %d",
                                 cases[i].stored, !cases[i].plain,
                                 cases[i].plain);
        }
}

static void test_hash_default_is_yescrypt(void **state)
{
        struct status st;
        char *a = NULL;
        char *b = NULL;

        assert_int_equal(auth_pass_hash("pässword 1", NULL, &a, &st), 0);
        assert_non_null(a);
        assert_true(strncmp(a, "$y$", 3) == 0);
        assert_int_equal(auth_pass_scheme(a), AUTH_PASS_YESCRYPT);
        assert_int_equal(auth_pass_verify("pässword 1", a, &st), 1);
        assert_int_equal(auth_pass_verify("pässword 2", a, &st), 0);
        assert_int_equal(auth_pass_verify("pässword 1", a + 1, &st), -1);
        /* a fresh salt each time */
        assert_int_equal(auth_pass_hash("pässword 1", NULL, &b, &st), 0);
        assert_string_not_equal(a, b);
        free(a);
        free(b);
}

static void test_hash_other_methods(void **state)
{
        static const struct {
                const char *prefix;
                enum auth_pass_scheme want;
        } cases[] = {
                { "$6$", AUTH_PASS_SHA512_CRYPT },
                { "$5$", AUTH_PASS_SHA256_CRYPT },
                { "$2b$", AUTH_PASS_BCRYPT },
                { "$y$", AUTH_PASS_YESCRYPT },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct status st;
                char *h = NULL;

                if (auth_pass_hash("another one", cases[i].prefix, &h, &st) < 0)
                        fail_msg("case %s: hash failed: %s", cases[i].prefix,
                                 st.text);
                if (strncmp(h, cases[i].prefix, strlen(cases[i].prefix)) != 0 ||
                    auth_pass_scheme(h) != cases[i].want)
                        fail_msg("case %s: got %s", cases[i].prefix, h);
                if (auth_pass_verify("another one", h, &st) != 1 ||
                    auth_pass_verify("another two", h, &st) != 0)
                        fail_msg("case %s: %s does not verify", cases[i].prefix,
                                 h);
                free(h);
        }
}

static void test_hash_refuses(void **state)
{
        char big[AUTH_PASS_MAX + 2];
        struct status st;
        char *h = (char *)"untouched";

        assert_int_equal(auth_pass_hash("", NULL, &h, &st), -1);
        assert_null(h);
        assert_string_equal(st.code, STATUS_BAD_ARGS);
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(auth_pass_hash(big, NULL, &h, &st), -1);
        assert_null(h);
        assert_int_equal(auth_pass_hash("x", "$nonsense$", &h, &st), -1);
        assert_null(h);
}

static void test_equal_table(void **state)
{
        static const struct {
                const char *name;
                const char *a;
                size_t alen;
                const char *b;
                size_t blen;
                int want;
        } cases[] = {
                { "same", "secret", 6, "secret", 6, 1 },
                { "first byte", "Secret", 6, "secret", 6, 0 },
                { "last byte", "secreT", 6, "secret", 6, 0 },
                { "shorter", "secre", 5, "secret", 6, 0 },
                { "longer", "secrets", 7, "secret", 6, 0 },
                { "zero padded", "secre\0", 6, "secre", 5, 0 },
                { "both empty", "", 0, "", 0, 1 },
                { "empty vs not", "", 0, "a", 1, 0 },
                { "not vs empty", "a", 1, "", 0, 0 },
                { "nul inside", "a\0b", 3, "a\0c", 3, 0 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                int got = auth_pass_equal(cases[i].a, cases[i].alen,
                                          cases[i].b, cases[i].blen);

                if (got != cases[i].want)
                        fail_msg("case %s: got %d, want %d", cases[i].name,
                                 got, cases[i].want);
        }
}

static double now_seconds(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* best_time - the fastest of several comparisons of a against b */
static double best_time(const unsigned char *a, const unsigned char *b,
                        size_t len)
{
        double best = 1e9;

        for (int round = 0; round < 7; round++) {
                double t0 = now_seconds();

                assert_int_equal(auth_pass_equal(a, len, b, len), 0);
                double t = now_seconds() - t0;
                if (t < best)
                        best = t;
        }
        return best;
}

/* An early-exit comparison (memcmp) would return at once when the first
 * byte differs and take the whole length when only the last does; a
 * constant-time one takes about the same either way. */
static void test_equal_takes_the_same_time(void **state)
{
        const size_t len = 8 * 1024 * 1024;
        unsigned char *a = malloc(len);
        unsigned char *b = malloc(len);
        double first, last;

        assert_non_null(a);
        assert_non_null(b);
        memset(a, 'x', len);
        memset(b, 'x', len);
        a[0] = 'y';
        first = best_time(a, b, len);
        a[0] = 'x';
        a[len - 1] = 'y';
        last = best_time(a, b, len);
        if (first < last * 0.5 || last < first * 0.5)
                fail_msg("differ at first byte %.6fs, at last byte %.6fs",
                         first, last);
        free(a);
        free(b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_verify_vectors),
                cmocka_unit_test(test_verify_overlong_password),
                cmocka_unit_test(test_long_garbage_hash),
                cmocka_unit_test(test_scheme),
                cmocka_unit_test(test_hash_default_is_yescrypt),
                cmocka_unit_test(test_hash_other_methods),
                cmocka_unit_test(test_hash_refuses),
                cmocka_unit_test(test_equal_table),
                cmocka_unit_test(test_equal_takes_the_same_time),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
