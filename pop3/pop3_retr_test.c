/* pop3_retr_test.c - RETR and TOP output: CRLF line ends, byte stuffing,
 * a missing last line end, TOP's line counts; produced whole and in
 * slices of every size up to 9 bytes, which must give the same bytes,
 * with the octets counted as LIST reports them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "pop3_retr.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct retr_case {
        const char *name;
        const char *in;
        size_t in_len;          /* 0: strlen */
        long top;               /* -1: RETR */
        const char *want;
        uint64_t octets;
};

static const struct retr_case cases[] = {
        { "plain LF", "A: b\n\nbody\n", 0, -1,
          "A: b\r\n\r\nbody\r\n.\r\n", 14 },
        { "already CRLF", "A: b\r\n\r\nbody\r\n", 0, -1,
          "A: b\r\n\r\nbody\r\n.\r\n", 14 },
        { "dots", "S: x\n\n.\n..a\n.b\nc.\n", 0, -1,
          "S: x\r\n\r\n..\r\n...a\r\n..b\r\nc.\r\n.\r\n", 24 },
        { "no last line end", "S: x\n\nend", 0, -1,
          "S: x\r\n\r\nend\r\n.\r\n", 11 },
        { "a lone dot at the end", "S: x\n\n.", 0, -1,
          "S: x\r\n\r\n..\r\n.\r\n", 9 },
        { "bare CR kept", "S: x\n\na\rb\n", 0, -1,
          "S: x\r\n\r\na\rb\r\n.\r\n", 13 },
        { "8 bit and NUL", "S: x\n\n\xff\x00\xe6\n", 10, -1,
          "S: x\r\n\r\n\xff\x00\xe6\r\n.\r\n", 13 },
        { "empty message", "", 0, -1, ".\r\n", 0 },
        { "top 0", "A: b\nC: d\n\n1\n2\n3\n", 0, 0,
          "A: b\r\nC: d\r\n\r\n.\r\n", 14 },
        { "top 2", "A: b\n\n.1\n2\n3\n", 0, 2,
          "A: b\r\n\r\n..1\r\n2\r\n.\r\n", 15 },
        { "top past the end", "A: b\n\n1\n2", 0, 9,
          "A: b\r\n\r\n1\r\n2\r\n.\r\n", 12 },
        { "top without body", "A: b\nC: d\n", 0, 3,
          "A: b\r\nC: d\r\n.\r\n", 12 },
        { "top CRLF header", "A: b\r\n\r\nx\r\ny\r\n", 0, 1,
          "A: b\r\n\r\nx\r\n.\r\n", 11 },
};

/* run - the output with slices of at most step bytes (0: whole) */
static void run(const struct retr_case *c, size_t step, struct buf *out,
                uint64_t *octets_r)
{
        size_t len = c->in_len ? c->in_len : strlen(c->in);
        struct pop3_retr r;
        int rounds = 0;

        buf_reset(out);
        pop3_retr_init(&r, c->in, len, c->top);
        while (!pop3_retr_fill(&r, out, step ? step : (size_t)-1))
                assert_true(++rounds < 100000);
        /* once done, nothing more */
        size_t before = out->len;
        assert_int_equal(pop3_retr_fill(&r, out, 10), 1);
        assert_int_equal(out->len, before);
        *octets_r = r.octets;
}

static void test_cases(void **state)
{
        struct buf out;

        buf_init(&out, 0);
        for (size_t i = 0; i < NELEM(cases); i++) {
                const struct retr_case *c = &cases[i];
                size_t want_len = strlen(c->want);

                if (strcmp(c->name, "8 bit and NUL") == 0)
                        want_len = 13 + 3;
                for (size_t step = 0; step <= 9; step++) {
                        uint64_t octets;

                        run(c, step, &out, &octets);
                        if (out.len != want_len ||
                            memcmp(out.data, c->want, want_len) != 0)
                                fail_msg("case %s, step %zu: got %s, want %s",
                                         c->name, step, out.data, c->want);
                        if (octets != c->octets)
                                fail_msg("case %s, step %zu: got %llu "
                                         "octets, want %llu", c->name, step,
                                         (unsigned long long)octets,
                                         (unsigned long long)c->octets);
                }
        }
        buf_release(&out);
}

static void test_top_len(void **state)
{
        const char *m = "H: 1\n\na\nb\nc\n";

        assert_int_equal(pop3_retr_top_len(m, strlen(m), 0), 6);
        assert_int_equal(pop3_retr_top_len(m, strlen(m), 1), 8);
        assert_int_equal(pop3_retr_top_len(m, strlen(m), 3), strlen(m));
        assert_int_equal(pop3_retr_top_len(m, strlen(m), 99), strlen(m));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cases),
                cmocka_unit_test(test_top_len),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
