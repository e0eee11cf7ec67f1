/* smtpd_parse_test.c - the SMTP input parser: command lines, DATA end and
 * dot-unstuffing, bare LF and bare CR (SMTP smuggling), long lines, BDAT;
 * every case fed whole and one byte at a time (and in other slices) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "smtpd_parse.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* escape - c for a transcript: CR, LF, NUL, '|' shown as \r \n \0 \| */
static void escape(struct buf *b, const char *s, size_t len)
{
        for (size_t i = 0; i < len; i++) {
                switch (s[i]) {
                case '\r':
                        buf_puts(b, "\\r");
                        break;
                case '\n':
                        buf_puts(b, "\\n");
                        break;
                case '\0':
                        buf_puts(b, "\\0");
                        break;
                case '|':
                        buf_puts(b, "\\|");
                        break;
                default:
                        buf_putc(b, s[i]);
                }
        }
}

/* transcript - parse in slices of step bytes (0: whole), acting as the
 * session does: "DATA" switches to DATA, "BDAT n [LAST]" to a chunk.
 * Events: "L:line" ("L!" for a bare LF), "LONG", "D:content" for each
 * message or chunk, up to its END ("D!" when a line in it ended in a bare
 * LF), "MORE:content" for content cut off by the end of input. */
static char *transcript(const char *in, size_t len, size_t step,
                        size_t line_max, enum smtpd_newline nl)
{
        struct smtpd_parser p;
        struct smtpd_parse_out o;
        struct buf out, content;
        size_t off = 0;
        int bare = 0, calls = 0;

        buf_init(&out, 0);
        buf_init(&content, 0);
        smtpd_parser_init(&p, line_max, nl);
        while (off < len || p.end_due) {
                size_t avail = step == 0 || len - off < step ? len - off
                                                             : step;
                size_t used = 0;
                enum smtpd_parse_ev ev;

                if (++calls > 100000)
                        fail_msg("no end after %d calls", calls);
                ev = smtpd_parse(&p, in + off, avail, &used, &o);
                assert_true(used <= avail);
                off += used;
                switch (ev) {
                case SMTPD_EV_MORE:
                        assert_int_equal(used, avail);
                        break;
                case SMTPD_EV_LINE:
                        assert_int_equal(o.data[o.len], '\0');
                        buf_puts(&out, o.bare_lf ? "L!:" : "L:");
                        escape(&out, o.data, o.len);
                        buf_puts(&out, "|");
                        if (strcmp(o.data, "DATA") == 0) {
                                smtpd_parser_data(&p);
                        } else if (strncmp(o.data, "BDAT ", 5) == 0) {
                                unsigned long long n =
                                        strtoull(o.data + 5, NULL, 10);

                                if (n > 0)
                                        smtpd_parser_bdat(&p, n,
                                                strstr(o.data, "LAST") != NULL);
                        }
                        break;
                case SMTPD_EV_LONG:
                        buf_puts(&out, "LONG|");
                        break;
                case SMTPD_EV_TEXT:
                        assert_true(o.len > 0);
                        assert_true(o.len <= SMTPD_PARSE_PIECE_MAX + 2);
                        if (o.eol)
                                assert_int_equal(o.data[o.len - 1], '\n');
                        if (o.eol && o.bare_lf)
                                bare = 1;
                        buf_append(&content, o.data, o.len);
                        break;
                case SMTPD_EV_END:
                        buf_puts(&out, bare ? "D!:" : "D:");
                        escape(&out, content.data, content.len);
                        buf_puts(&out, "|");
                        buf_reset(&content);
                        bare = 0;
                        break;
                }
        }
        if (content.len > 0) {
                buf_puts(&out, "MORE:");
                escape(&out, content.data, content.len);
        }
        smtpd_parser_release(&p);
        buf_release(&content);
        return buf_steal(&out);
}

struct pcase {
        const char *name;
        enum smtpd_newline nl;
        const char *in;
        const char *want;
        size_t len;             /* 0: strlen(in) */
};

static const struct pcase cases[] = {
        { "commands", SMTPD_NL_NORMALIZE,
          "EHLO a\r\nMAIL FROM:<x@y>\r\nNOOP\n",
          "L:EHLO a|L:MAIL FROM:<x@y>|L!:NOOP|", 0 },
        { "empty line and bare CR in a command", SMTPD_NL_NORMALIZE,
          "\r\nEHLO c\r.test\r\n",
          "L:|L:EHLO c\\r.test|", 0 },
        { "unfinished line", SMTPD_NL_NORMALIZE, "EHLO a\r\nQUI", "L:EHLO a|", 0 },
        { "NUL kept", SMTPD_NL_NORMALIZE, "NO\0OP\r\n", "L:NO\\0OP|", 7 },
        { "simple message", SMTPD_NL_NORMALIZE,
          "DATA\r\nSubject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n",
          "L:DATA|D:Subject: x\\n\\nbody\\n|L:QUIT|", 0 },
        { "empty message", SMTPD_NL_NORMALIZE, "DATA\r\n.\r\n",
          "L:DATA|D:|", 0 },
        { "dot-unstuffing", SMTPD_NL_NORMALIZE,
          "DATA\r\n..\r\n...x\r\n.y\r\n.\r\n",
          "L:DATA|D:.\\n..x\\ny\\n|", 0 },
        { "bare LF line ends kept as LF", SMTPD_NL_NORMALIZE,
          "DATA\r\na\nb\r\n.\r\n",
          "L:DATA|D!:a\\nb\\n|", 0 },
        /* SMTP smuggling: none of these end the message */
        { "LF.LF smuggling", SMTPD_NL_NORMALIZE,
          "DATA\r\na\n.\nMAIL FROM:<e@v>\r\n.\r\n",
          "L:DATA|D!:a\\n\\nMAIL FROM:<e@v>\\n|", 0 },
        { "LF.CRLF smuggling", SMTPD_NL_NORMALIZE,
          "DATA\r\na\n.\r\nRCPT TO:<e@v>\r\n.\r\n",
          "L:DATA|D!:a\\n\\nRCPT TO:<e@v>\\n|", 0 },
        { "CRLF.LF smuggling", SMTPD_NL_NORMALIZE,
          "DATA\r\na\r\n.\nDATA\r\n.\r\n",
          "L:DATA|D!:a\\n\\nDATA\\n|", 0 },
        { "CR.CR smuggling", SMTPD_NL_NORMALIZE,
          "DATA\r\na\r.\rQUIT\r\n.\r\n",
          "L:DATA|D:a\\r.\\rQUIT\\n|", 0 },
        { "CRLF.CR smuggling", SMTPD_NL_NORMALIZE,
          "DATA\r\na\r\n.\rMAIL\r\n.\r\n",
          "L:DATA|D:a\\n\\rMAIL\\n|", 0 },
        { "CR.CRLF smuggling", SMTPD_NL_NORMALIZE,
          "DATA\r\na\r.\r\nMAIL\r\n.\r\n",
          "L:DATA|D:a\\r.\\nMAIL\\n|", 0 },
        { "DATA command in bare LF", SMTPD_NL_NORMALIZE,
          "DATA\n.\r\nx\r\n.\r\n",
          "L!:DATA|D:\\nx\\n|", 0 },
        { "exclusions: LF.LF ends", SMTPD_NL_ALLOW,
          "DATA\na\n.\nQUIT\n",
          "L!:DATA|D!:a\\n|L!:QUIT|", 0 },
        { "reject mode reports bare LF", SMTPD_NL_REJECT,
          "DATA\r\na\nb\r\n.\r\n",
          "L:DATA|D!:a\\nb\\n|", 0 },
        { "CR CR LF", SMTPD_NL_NORMALIZE,
          "DATA\r\na\r\r\n.\r\n",
          "L:DATA|D:a\\r\\n|", 0 },
        { "pipelined after the end", SMTPD_NL_NORMALIZE,
          "DATA\r\nx\r\n.\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n",
          "L:DATA|D:x\\n|L:MAIL FROM:<a@b>|L:RCPT TO:<c@d>|", 0 },
        { "message cut off", SMTPD_NL_NORMALIZE,
          "DATA\r\nabc\r\n.", "L:DATA|MORE:abc\\n", 0 },
        { "BDAT chunks", SMTPD_NL_NORMALIZE,
          "BDAT 5\r\na\r\nb\rBDAT 4 LAST\r\n\nc\r\rQUIT\r\n",
          "L:BDAT 5|D:a\\nb|L:BDAT 4 LAST|D:\\nc\\r\\r|L:QUIT|", 0 },
        { "BDAT keeps dots and CR LF . CR LF", SMTPD_NL_NORMALIZE,
          "BDAT 7 LAST\r\n.\r\n..\r\nNOOP\r\n",
          "L:BDAT 7 LAST|D:.\\n..\\n|L:NOOP|", 0 },
        { "BDAT 0", SMTPD_NL_NORMALIZE, "BDAT 0 LAST\r\nQUIT\r\n",
          "L:BDAT 0 LAST|L:QUIT|", 0 },
};

static void test_table(void **state)
{
        size_t steps[] = { 0, 1, 2, 3, 7 };

        for (size_t i = 0; i < COUNT(cases); i++) {
                for (size_t j = 0; j < COUNT(steps); j++) {
                        size_t len = cases[i].len ? cases[i].len :
                                strlen(cases[i].in);
                        char *got = transcript(cases[i].in, len, steps[j], 64,
                                               cases[i].nl);

                        if (strcmp(got, cases[i].want) != 0)
                                fail_msg("case %s (step %zu): got \"%s\", "
                                         "want \"%s\"", cases[i].name,
                                         steps[j], got, cases[i].want);
                        free(got);
                }
        }
}

/* a command line over the limit is dropped to its end; the next is fine */
static void test_long_lines(void **state)
{
        struct buf in;

        buf_init(&in, 0);
        for (int i = 0; i < 100; i++)
                buf_puts(&in, "x");
        buf_puts(&in, "\r\nNOOP\r\n");
        for (int i = 0; i < 30; i++)
                buf_puts(&in, "y");
        buf_puts(&in, "\r\n");
        for (size_t step = 0; step < 4; step++) {
                char *got = transcript(in.data, in.len, step, 32,
                                       SMTPD_NL_NORMALIZE);

                if (strcmp(got, "LONG|L:NOOP|L:" "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy|")
                    != 0)
                        fail_msg("case long (step %zu): got \"%s\"", step, got);
                free(got);
        }
        /* exactly line_max bytes is fine; one more is not, CR or not */
        char *got = transcript("abcd\r\nabcde\r\nabc\rd\r\n", 21, 1, 4,
                               SMTPD_NL_NORMALIZE);
        if (strcmp(got, "L:abcd|LONG|LONG|") != 0)
                fail_msg("case limit: got \"%s\"", got);
        free(got);
        buf_release(&in);
}

/* content lines longer than a piece arrive in pieces, none over the max */
static void test_long_content(void **state)
{
        struct buf in, want;

        buf_init(&in, 0);
        buf_init(&want, 0);
        buf_puts(&in, "DATA\r\n.");
        buf_puts(&want, "L:DATA|D:");
        for (int i = 0; i < 3 * SMTPD_PARSE_PIECE_MAX + 5; i++) {
                buf_putc(&in, 'a' + i % 26);
                buf_putc(&want, 'a' + i % 26);
        }
        buf_puts(&in, "\r\n.\r\n");
        buf_puts(&want, "\\n|");
        for (size_t step = 0; step < 3; step++) {
                char *got = transcript(in.data, in.len,
                                       step == 2 ? 1000 : step, 64,
                                       SMTPD_NL_NORMALIZE);

                if (strcmp(got, want.data) != 0)
                        fail_msg("case long content (step %zu): got %zu "
                                 "bytes, want %zu", step, strlen(got),
                                 want.len);
                free(got);
        }
        buf_release(&in);
        buf_release(&want);
}

/* after reset (STARTTLS) a partial line is forgotten */
static void test_reset(void **state)
{
        struct smtpd_parser p;
        struct smtpd_parse_out o;
        size_t used;

        smtpd_parser_init(&p, 64, SMTPD_NL_NORMALIZE);
        assert_int_equal(smtpd_parse(&p, "MAIL FR", 7, &used, &o),
                         SMTPD_EV_MORE);
        smtpd_parser_reset(&p);
        assert_int_equal(smtpd_parse(&p, "EHLO x\r\n", 8, &used, &o),
                         SMTPD_EV_LINE);
        assert_string_equal(o.data, "EHLO x");
        assert_int_equal(used, 8);
        smtpd_parser_release(&p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_long_lines),
                cmocka_unit_test(test_long_content),
                cmocka_unit_test(test_reset),
        };

        return cmocka_run_group_tests_name("smtpd_parse", tests, NULL, NULL);
}
