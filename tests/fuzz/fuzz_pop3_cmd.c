/* fuzz_pop3_cmd.c - fuzz the POP3 command parser and the RETR/TOP writer
 * Used by: make fuzz (libFuzzer) and make check (with tests/fuzz/replay.c
 * replaying corpus/pop3_cmd/). Each input is a client's byte stream: it
 * is cut into lines as conn does (at LF, a CR before it dropped) and each
 * line is parsed; the parse must keep its promises -- arguments inside
 * the line, within their limits, as many as the table allows, a known
 * command for every OK -- and a message-number argument must parse the
 * same way twice. Then the whole input is sent as a message by RETR and
 * by TOP, whole and in slices of 1 to 5 bytes: the outputs must agree,
 * end with ".CRLF", hold no bare LF, and count the octets LIST reports.
 * A broken promise aborts, so the fuzzer reports it. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "pop3_parse.h"
#include "pop3_retr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
        if (!ok) {
                fprintf(stderr, "fuzz_pop3_cmd: broken promise: %s\n", what);
                abort();
        }
}

static void parse_line(const char *in, size_t len)
{
        char *line = malloc(len + 1);
        struct pop3_cmd cmd;
        enum pop3_parse_error err;

        memcpy(line, in, len);
        line[len] = '\0';
        err = pop3_parse(line, len, &cmd);
        check(cmd.argc <= POP3_ARGS_MAX, "argc over the maximum");
        if (err == POP3_PARSE_OK) {
                check(cmd.def != NULL && cmd.def->id == cmd.id,
                      "OK without its command");
                check(cmd.argc >= cmd.def->min_args &&
                      cmd.argc <= cmd.def->max_args, "argument count");
        }
        if (err == POP3_PARSE_EMPTY || err == POP3_PARSE_UNKNOWN)
                check(cmd.id == POP3_CMD_UNKNOWN || err == POP3_PARSE_UNKNOWN,
                      "empty line with a command");
        for (size_t i = 0; i < cmd.argc; i++) {
                check(cmd.args[i] >= line && cmd.args[i] <= line + len,
                      "argument outside the line");
                size_t n = strlen(cmd.args[i]);
                check(cmd.args[i] + n <= line + len, "argument runs past");
                if (err == POP3_PARSE_OK)
                        check(n > 0 && n <= POP3_SASL_ARG_MAX,
                              "argument length");
                unsigned long a = 0, b = 0;
                int ra = pop3_parse_number(cmd.args[i], 0xffffffffUL, &a);
                int rb = pop3_parse_number(cmd.args[i], 0xffffffffUL, &b);
                check(ra == rb && (ra < 0 || a == b), "numbers differ");
        }
        free(line);
}

/* retr - the output of sending data with slices of step bytes */
static void retr(const char *data, size_t size, long top, size_t step,
                 struct buf *out, uint64_t *octets_r)
{
        struct pop3_retr r;
        int rounds = 0;

        buf_reset(out);
        pop3_retr_init(&r, data, size, top);
        while (!pop3_retr_fill(&r, out, step))
                check(++rounds < 10 * (int)size + 10, "no progress");
        *octets_r = r.octets;
}

static void check_retr(const char *data, size_t size, long top)
{
        struct buf whole, part;
        uint64_t n_whole, n_part, vsize = 0;
        size_t len = top < 0 ? size :
                pop3_retr_top_len(data, size, (unsigned long)top);

        check(len <= size, "TOP longer than the message");
        for (size_t i = 0; i < len; i++)
                vsize += data[i] == '\n' && (i == 0 || data[i - 1] != '\r') ?
                         2 : 1;
        buf_init(&whole, 0);
        buf_init(&part, 0);
        retr(data, size, top, (size_t)-1, &whole, &n_whole);
        check(n_whole == vsize, "octets are not the CRLF size");
        check(whole.len >= 3 &&
              memcmp(whole.data + whole.len - 3, ".\r\n", 3) == 0,
              "no terminator");
        check(whole.len == 3 || (whole.len >= 5 &&
              memcmp(whole.data + whole.len - 5, "\r\n.\r\n", 5) == 0),
              "terminator not on its own line");
        for (size_t i = 0; i < whole.len; i++)
                check(whole.data[i] != '\n' ||
                      (i > 0 && whole.data[i - 1] == '\r'), "bare LF");
        for (size_t step = 1; step <= 5; step++) {
                retr(data, size, top, step, &part, &n_part);
                check(part.len == whole.len &&
                      memcmp(part.data, whole.data, whole.len) == 0,
                      "slices differ");
                check(n_part == n_whole, "octets differ");
        }
        buf_release(&whole);
        buf_release(&part);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *p = (const char *)data, *end = p + size;

        while (p < end) {
                const char *lf = memchr(p, '\n', (size_t)(end - p));
                size_t len = lf != NULL ? (size_t)(lf - p) : (size_t)(end - p);

                if (len > 0 && p[len - 1] == '\r')
                        len--;
                if (len <= POP3_LOGIN_LINE_MAX)
                        parse_line(p, len);
                if (lf == NULL)
                        break;
                p = lf + 1;
        }
        check_retr((const char *)data, size, -1);
        check_retr((const char *)data, size, (long)(size % 7));
        return 0;
}
