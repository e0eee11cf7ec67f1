/* fuzz_smtpd_cmd.c - fuzz smtpd's input parser (smtp/smtpd_parse.c)
 * Used by: make fuzz (libFuzzer) and make check (tests/fuzz/replay.c
 * replays corpus/smtpd_cmd/). The first byte picks the bare-LF mode; the
 * rest is a client stream, driven as a session drives it ("DATA" and
 * "BDAT n [LAST]" lines switch modes). The stream is parsed whole and in
 * slices of 1 to 7 bytes: the events must be the same every way; the
 * parser must never take more than it was given, must take everything
 * when it says "need more", and must never hand out a command line over
 * its limit or a content piece over SMTPD_PARSE_PIECE_MAX (+ CR + LF). A
 * broken promise aborts, so the fuzzer reports it. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "smtpd_parse.h"

#define LINE_MAX_FUZZ 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
        if (!ok) {
                fprintf(stderr, "fuzz_smtpd_cmd: broken promise: %s\n", what);
                abort();
        }
}

/* run - the events as text, parsing in slices of step bytes (0: whole) */
static char *run(const char *in, size_t len, size_t step,
                 enum smtpd_newline nl)
{
        struct smtpd_parser p;
        struct smtpd_parse_out o;
        struct buf out;
        size_t off = 0;
        long guard = 0;

        buf_init(&out, 0);
        smtpd_parser_init(&p, LINE_MAX_FUZZ, nl);
        while (off < len || p.end_due) {
                size_t avail = step == 0 || len - off < step ? len - off
                                                             : step;
                size_t used = 0;
                enum smtpd_parse_ev ev = smtpd_parse(&p, in + off, avail,
                                                     &used, &o);

                check(++guard < 10 * (long)len + 100, "no progress");
                check(used <= avail, "took more than given");
                off += used;
                switch (ev) {
                case SMTPD_EV_MORE:
                        check(used == avail, "need more, yet input left");
                        break;
                case SMTPD_EV_LINE:
                        check(o.len <= LINE_MAX_FUZZ, "line over the limit");
                        check(o.data[o.len] == '\0', "line not terminated");
                        buf_printf(&out, "L%d:", o.bare_lf);
                        buf_append(&out, o.data, o.len);
                        buf_putc(&out, '|');
                        if (o.len == 4 && memcmp(o.data, "DATA", 4) == 0) {
                                smtpd_parser_data(&p);
                        } else if (o.len > 5 &&
                                   memcmp(o.data, "BDAT ", 5) == 0) {
                                unsigned long long n =
                                        strtoull(o.data + 5, NULL, 10) % 4096;

                                if (n > 0)
                                        smtpd_parser_bdat(&p, n,
                                                strstr(o.data, "LAST") != NULL);
                        }
                        break;
                case SMTPD_EV_LONG:
                        buf_puts(&out, "G|");
                        break;
                case SMTPD_EV_TEXT:
                        check(o.len > 0, "empty piece");
                        check(o.len <= SMTPD_PARSE_PIECE_MAX + 2,
                              "piece over the limit");
                        check(!o.eol || o.data[o.len - 1] == '\n',
                              "line end without LF");
                        check(memchr(o.data, '\n', o.len - (o.eol ? 1 : 0))
                              == NULL, "LF inside a piece");
                        buf_append(&out, o.data, o.len);
                        if (o.eol)
                                buf_printf(&out, "<%d>", o.bare_lf);
                        break;
                case SMTPD_EV_END:
                        buf_puts(&out, "E|");
                        break;
                }
        }
        smtpd_parser_release(&p);
        return buf_steal(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        enum smtpd_newline nl;
        char *whole;

        if (size == 0)
                return 0;
        nl = (enum smtpd_newline)(data[0] % 3);
        whole = run((const char *)data + 1, size - 1, 0, nl);
        for (size_t step = 1; step <= 7; step++) {
                char *sliced = run((const char *)data + 1, size - 1, step,
                                   nl);

                check(strcmp(whole, sliced) == 0,
                      "slices give other results");
                free(sliced);
        }
        free(whole);
        return 0;
}
