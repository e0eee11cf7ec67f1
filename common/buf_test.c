/* buf_test.c - struct buf: growth, the cap, binary data, consume */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void test_append_and_cstr(void **state)
{
        struct buf *b = buf_new(0);

        assert_string_equal(buf_cstr(b), "");
        assert_int_equal(buf_puts(b, "hello"), 0);
        assert_int_equal(buf_putc(b, ' '), 0);
        assert_int_equal(buf_printf(b, "%s %d", "world", 42), 0);
        assert_string_equal(buf_cstr(b), "hello world 42");
        assert_int_equal(b->len, 14);
        buf_free(&b);
        assert_null(b);
        buf_free(&b);   /* a cleared pointer is fine */
}

static void test_binary_safe(void **state)
{
        struct buf b;
        const char bin[] = { 'a', '\0', 'b', '\0' };

        buf_init(&b, 0);
        assert_int_equal(buf_append(&b, bin, sizeof(bin)), 0);
        assert_int_equal(b.len, 4);
        assert_memory_equal(b.data, bin, 4);
        assert_int_equal(b.data[4], '\0');      /* NUL kept past the end */
        buf_release(&b);
}

static void test_cap(void **state)
{
        static const struct {
                const char *name;
                size_t max;
                const char *first, *second;
                int want_second;
                const char *want;
        } cases[] = {
                { "fits", 10, "12345", "67890", 0, "1234567890" },
                { "one over", 10, "12345", "678901", -1, "12345" },
                { "uncapped", 0, "12345", "678901", 0, "12345678901" },
                { "exact first", 3, "abc", "", 0, "abc" },
                { "over first", 3, "abcd", "x", 0, "x" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct buf *b = buf_new(cases[i].max);

                buf_puts(b, cases[i].first);
                int got = buf_puts(b, cases[i].second);
                if (got != cases[i].want_second ||
                    strcmp(buf_cstr(b), cases[i].want) != 0)
                        fail_msg("case %s: got %d \"%s\", want %d \"%s\"",
                                 cases[i].name, got, buf_cstr(b),
                                 cases[i].want_second, cases[i].want);
                buf_free(&b);
        }
}

static void test_printf_long_and_capped(void **state)
{
        struct buf *b = buf_new(1000);
        char big[600];

        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(buf_printf(b, "%s", big), 0);
        assert_int_equal(b->len, 599);
        assert_int_equal(buf_printf(b, "%s", big), -1);
        assert_int_equal(b->len, 599);  /* left whole */
        buf_free(&b);
}

static void test_consume_truncate_steal(void **state)
{
        struct buf *b = buf_new(0);

        buf_puts(b, "line one\r\nline two\r\n");
        buf_consume(b, 10);
        assert_string_equal(buf_cstr(b), "line two\r\n");
        buf_truncate(b, 8);
        assert_string_equal(buf_cstr(b), "line two");
        buf_truncate(b, 100);
        assert_string_equal(buf_cstr(b), "line two");
        char *s = buf_steal(b);
        assert_string_equal(s, "line two");
        assert_int_equal(b->len, 0);
        assert_string_equal(buf_cstr(b), "");
        free(s);
        buf_consume(b, 5);
        assert_int_equal(b->len, 0);
        buf_free(&b);
}

static void test_growth_many(void **state)
{
        struct buf *b = buf_new(0);

        for (int i = 0; i < 100000; i++)
                assert_int_equal(buf_putc(b, 'a' + i % 26), 0);
        assert_int_equal(b->len, 100000);
        assert_int_equal(b->data[99999], 'a' + 99999 % 26);
        assert_true(b->size >= b->len + 1);
        buf_free(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_append_and_cstr),
                cmocka_unit_test(test_binary_safe),
                cmocka_unit_test(test_cap),
                cmocka_unit_test(test_printf_long_and_capped),
                cmocka_unit_test(test_consume_truncate_steal),
                cmocka_unit_test(test_growth_many),
        };

        return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
