/* imap_parser_test.c - unit tests for imap_parser.c
 * Each case is a byte stream and the events it must produce, rendered as
 * text: a complete command as "tag NAME args;", an announced literal as
 * "L<size><+>;" (accepted unless the case rejects it), an error as
 * "E<tag>:<text>;". Every stream is fed whole and one byte at a time;
 * both must give the same events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "imap_parser.h"

struct pcase {
        const char *name;
        const char *input;
        size_t len;             /* 0: strlen(input) */
        uint64_t literal_max;   /* 0: accept any */
        const char *want;
};

static void render_args(const struct imap_arg *a, struct buf *out)
{
        for (size_t i = 0; a[i].type != IMAP_ARG_EOL; i++) {
                if (i > 0)
                        buf_putc(out, ' ');
                switch (a[i].type) {
                case IMAP_ARG_ATOM:
                        buf_puts(out, a[i].str);
                        break;
                case IMAP_ARG_QUOTED:
                        buf_printf(out, "\"%s\"", a[i].str);
                        break;
                case IMAP_ARG_LITERAL:
                        buf_printf(out, "%s{", a[i].literal8 ? "~" : "");
                        for (size_t k = 0; k < a[i].len; k++) {
                                unsigned char ch = (unsigned char)a[i].str[k];
                                if (ch < 0x20 && ch != '\r' && ch != '\n')
                                        buf_printf(out, "\\%02x", ch);
                                else
                                        buf_putc(out, ch);
                        }
                        buf_putc(out, '}');
                        break;
                case IMAP_ARG_LIST:
                        buf_putc(out, '(');
                        render_args(a[i].list, out);
                        buf_putc(out, ')');
                        break;
                default:
                        break;
                }
        }
}

/* drive - feed data in steps of step bytes (0: all at once) */
static void drive(const struct pcase *pc, size_t step, struct buf *out)
{
        struct imap_parser p;
        const char *data = pc->input;
        size_t len = pc->len != 0 ? pc->len : strlen(pc->input);

        imap_parser_init(&p, 200);
        buf_reset(out);
        while (len > 0) {
                size_t n = step == 0 || step > len ? len : step;
                const char *d = data;
                size_t left = n;

                while (left > 0) {
                        size_t used = 0;
                        enum imap_parse_result r =
                                imap_parser_feed(&p, d, left, &used);
                        d += used;
                        left -= used;
                        if (r == IMAP_PARSE_DONE) {
                                buf_printf(out, "%s %s", imap_parser_tag(&p),
                                           imap_parser_name(&p));
                                const struct imap_arg *a =
                                        imap_parser_args(&p, NULL);
                                if (a[0].type != IMAP_ARG_EOL) {
                                        buf_putc(out, ' ');
                                        render_args(a, out);
                                }
                                buf_putc(out, ';');
                        } else if (r == IMAP_PARSE_LITERAL) {
                                buf_printf(out, "L%llu%s;",
                                           (unsigned long long)p.literal_size,
                                           p.literal_sync ? "" : "+");
                                if (pc->literal_max != 0 &&
                                    p.literal_size > pc->literal_max)
                                        imap_parser_literal_reject(&p, "big");
                                else
                                        imap_parser_literal_accept(&p);
                        } else if (r == IMAP_PARSE_ERROR) {
                                buf_printf(out, "E%s:%s;", imap_parser_tag(&p),
                                           p.error);
                        }
                }
                data += n;
                len -= n;
        }
        imap_parser_release(&p);
}

static const struct pcase cases[] = {
        { "simple", "a NOOP\r\n", 0, 0, "a NOOP;" },
        { "bare lf", "a NOOP\n", 0, 0, "a NOOP;" },
        { "empty lines ignored", "\r\n\r\na NOOP\r\n", 0, 0, "a NOOP;" },
        { "atoms", "a1 SELECT INBOX\r\n", 0, 0, "a1 SELECT INBOX;" },
        { "quoted", "t LOGIN \"us er\" \"p\\\"w\\\\\"\r\n", 0, 0,
          "t LOGIN \"us er\" \"p\"w\\\";" },
        { "nested lists", "x STORE 1 +FLAGS (\\Seen (a b) ())\r\n", 0, 0,
          "x STORE 1 +FLAGS (\\Seen (a b) ());" },
        { "literal sync", "a LOGIN {3}\r\nabc {2}\r\nde\r\n", 0, 0,
          "L3;L2;a LOGIN {abc} {de};" },
        { "literal plus", "a APPEND X {5+}\r\nhello\r\n", 0, 0,
          "L5+;a APPEND X {hello};" },
        { "literal minus", "a APPEND X {2-}\r\nhi\r\n", 0, 0,
          "L2+;a APPEND X {hi};" },
        { "literal8", "a APPEND X ~{3}\r\na\0b\r\n", 22, 0,
          "L3;a APPEND X ~{a\\00b};" },
        { "empty literal", "a X {0}\r\n\r\n", 0, 0, "L0;a X {};" },
        { "literal with crlf", "a X {4}\r\n\r\n\r\n Y\r\n", 0, 0,
          "L4;a X {\r\n\r\n} Y;" },
        { "fetch section atom",
          "a FETCH 1 (BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.10> UID)\r\n",
          0, 0, "a FETCH 1 (BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.10> UID);" },
        { "brackets in names stay atoms", "a SELECT [Gmail]/All\r\n", 0, 0,
          "a SELECT [Gmail]/All;" },
        { "wildcards and sets", "a LIST \"\" %.*\r\nb UID FETCH 1:*,$ X\r\n",
          0, 0, "a LIST \"\" %.*;b UID FETCH 1:*,$ X;" },
        { "pipelined", "a NOOP\r\nb NOOP\r\nc CHECK\r\n", 0, 0,
          "a NOOP;b NOOP;c CHECK;" },
        { "missing tag", " NOOP\r\na NOOP\r\n", 0, 0,
          "E:Missing tag;a NOOP;" },
        { "missing command", "a\r\nb NOOP\r\n", 0, 0,
          "Ea:Missing command;b NOOP;" },
        { "bad tag char", "a+b NOOP\r\nc NOOP\r\n", 0, 0,
          "E:Invalid tag;c NOOP;" },
        { "unterminated quote", "a X \"abc\r\nb NOOP\r\n", 0, 0,
          "Ea:Missing '\"';b NOOP;" },
        { "unbalanced paren", "a X (b\r\nc NOOP\r\n", 0, 0,
          "Ea:Missing ')';c NOOP;" },
        { "extra paren", "a X b)\r\nc NOOP\r\n", 0, 0,
          "Ea:Unexpected ')';c NOOP;" },
        { "no space", "a X \"b\"c\r\nd NOOP\r\n", 0, 0,
          "Ea:Missing space between arguments;d NOOP;" },
        { "8 bit atom", "a X \xc3\xa9\r\nb NOOP\r\n", 0, 0,
          "Ea:Invalid characters in atom;b NOOP;" },
        { "tilde atom", "a LIST \"\" ~foo\r\nb X ~ ~a~\r\n", 0, 0,
          "a LIST \"\" ~foo;b X ~ ~a~;" },
        { "8 bit quoted ok", "a X \"\xc3\xa9\"\r\n", 0, 0,
          "a X \"\xc3\xa9\";" },
        { "broken literal", "a X {1a}\r\nb NOOP\r\n", 0, 0,
          "Ea:Broken literal;b NOOP;" },
        { "line too long",
          "a X aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
          "aaaaaaaaaaaaaaaa\r\nb NOOP\r\n", 0, 0,
          "Ea:Too long command line;b NOOP;" },
        { "rejected sync literal", "a X {10}\r\nb NOOP\r\n", 0, 5,
          "L10;b NOOP;" },
        { "rejected nonsync literal is skipped",
          "a X {10+}\r\n0123456789 more\r\nb NOOP\r\n", 0, 5,
          "L10+;b NOOP;" },
        { "broken line with literal is skipped",
          "a X \"q {4+}\r\nabcd\r\nb NOOP\r\n", 0, 0,
          "Ea:Missing '\"';b NOOP;" },
        { "nul in quoted", "a X \"a\0b\"\r\nb NOOP\r\n", 19, 0,
          "Ea:Missing '\"';b NOOP;" },
};

static void test_cases(void **state)
{
        struct buf whole, bytes;

        buf_init(&whole, 0);
        buf_init(&bytes, 0);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                drive(&cases[i], 0, &whole);
                drive(&cases[i], 1, &bytes);
                if (strcmp(buf_cstr(&whole), cases[i].want) != 0)
                        fail_msg("case %s: got %s, want %s", cases[i].name,
                                 buf_cstr(&whole), cases[i].want);
                if (strcmp(buf_cstr(&bytes), cases[i].want) != 0)
                        fail_msg("case %s (bytewise): got %s, want %s",
                                 cases[i].name, buf_cstr(&bytes),
                                 cases[i].want);
        }
        buf_release(&whole);
        buf_release(&bytes);
}

static void test_limits(void **state)
{
        struct imap_parser p;
        struct buf in;
        size_t used;
        enum imap_parse_result r;

        /* nesting */
        buf_init(&in, 0);
        buf_puts(&in, "a X ");
        for (int i = 0; i < IMAP_PARSER_DEPTH_MAX + 2; i++)
                buf_putc(&in, '(');
        imap_parser_init(&p, 100000);
        r = imap_parser_feed(&p, in.data, in.len, &used);
        assert_int_equal(r, IMAP_PARSE_ERROR);
        assert_string_equal(p.error, "Too deeply nested lists");
        imap_parser_release(&p);
        /* argument count */
        buf_reset(&in);
        buf_puts(&in, "a X");
        for (int i = 0; i < IMAP_PARSER_ARGS_MAX + 1; i++)
                buf_puts(&in, " x");
        buf_puts(&in, "\r\n");
        imap_parser_init(&p, 1000000);
        r = imap_parser_feed(&p, in.data, in.len, &used);
        assert_int_equal(r, IMAP_PARSE_ERROR);
        assert_string_equal(p.error, "Too many arguments");
        imap_parser_release(&p);
        /* literal bytes do not count against the line */
        buf_reset(&in);
        buf_puts(&in, "a X {300+}\r\n");
        for (int i = 0; i < 300; i++)
                buf_putc(&in, 'x');
        buf_puts(&in, "\r\n");
        imap_parser_init(&p, 200);
        r = imap_parser_feed(&p, in.data, in.len, &used);
        assert_int_equal(r, IMAP_PARSE_LITERAL);
        imap_parser_literal_accept(&p);
        assert_int_equal(imap_parser_raw_pending(&p), 300);
        size_t off = used;
        r = imap_parser_feed(&p, in.data + off, in.len - off, &used);
        assert_int_equal(r, IMAP_PARSE_DONE);
        assert_int_equal(imap_parser_args(&p, NULL)[0].len, 300);
        imap_parser_release(&p);
        buf_release(&in);
}

static void test_arg_helpers(void **state)
{
        struct imap_parser p;
        const char *in = "a X NIL \"q\" 42 18446744073709551616 {1}\r\nz\r\n";
        size_t used, n;
        uint64_t v;
        const char *s;

        imap_parser_init(&p, 1000);
        assert_int_equal(imap_parser_feed(&p, in, strlen(in), &used),
                         IMAP_PARSE_LITERAL);
        imap_parser_literal_accept(&p);
        assert_int_equal(imap_parser_feed(&p, in + used, strlen(in) - used,
                                          &used), IMAP_PARSE_DONE);
        const struct imap_arg *a = imap_parser_args(&p, &n);
        assert_int_equal(n, 5);
        assert_int_equal(imap_arg_nstring(&a[0], &s), 1);
        assert_null(s);
        assert_string_equal(imap_arg_string(&a[1]), "q");
        assert_null(imap_arg_atom(&a[1]));
        assert_int_equal(imap_arg_number(&a[2], 100, &v), 1);
        assert_int_equal(v, 42);
        assert_int_equal(imap_arg_number(&a[2], 41, &v), 0);
        assert_int_equal(imap_arg_number(&a[3], UINT64_MAX, &v), 0);
        assert_string_equal(imap_arg_astring(&a[4]), "z");
        assert_true(imap_arg_is_atom(&a[0], "nil"));
        imap_parser_release(&p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cases),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_arg_helpers),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
