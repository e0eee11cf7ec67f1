/* pop3_parse_test.c - POP3 command lines: keywords in any case, argument
 * counts and limits per command, PASS taking the rest of the line, and
 * strict message numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mem.h"
#include "pop3_parse.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void test_lines(void **state)
{
        static const struct {
                const char *name, *line;
                enum pop3_parse_error want;
                enum pop3_cmd_id id;
                const char *args;       /* arguments joined by '|' */
        } cases[] = {
                { "stat", "STAT", POP3_PARSE_OK, POP3_CMD_STAT, "" },
                { "lower case", "stat", POP3_PARSE_OK, POP3_CMD_STAT, "" },
                { "mixed case", "rEtR 12", POP3_PARSE_OK, POP3_CMD_RETR,
                  "12" },
                { "list no arg", "LIST", POP3_PARSE_OK, POP3_CMD_LIST, "" },
                { "list arg", "LIST 3", POP3_PARSE_OK, POP3_CMD_LIST, "3" },
                { "trailing space forgiven", "LIST 3 ", POP3_PARSE_OK,
                  POP3_CMD_LIST, "3" },
                { "top", "TOP 1 10", POP3_PARSE_OK, POP3_CMD_TOP, "1|10" },
                { "top one arg", "TOP 1", POP3_PARSE_ARGS, POP3_CMD_TOP, "" },
                { "list two args", "LIST 1 2", POP3_PARSE_ARGS,
                  POP3_CMD_LIST, "" },
                { "double space", "TOP 1  2", POP3_PARSE_ARGS, POP3_CMD_TOP,
                  "" },
                { "retr no arg", "RETR", POP3_PARSE_ARGS, POP3_CMD_RETR, "" },
                { "noop with arg", "NOOP x", POP3_PARSE_ARGS, POP3_CMD_NOOP,
                  "" },
                { "user rest", "USER ann@example.com", POP3_PARSE_OK,
                  POP3_CMD_USER, "ann@example.com" },
                { "pass spaces", "PASS a b  c ", POP3_PARSE_OK,
                  POP3_CMD_PASS, "a b  c " },
                { "pass empty", "PASS ", POP3_PARSE_ARGS, POP3_CMD_PASS, "" },
                { "pass none", "PASS", POP3_PARSE_ARGS, POP3_CMD_PASS, "" },
                { "auth none", "AUTH", POP3_PARSE_OK, POP3_CMD_AUTH, "" },
                { "auth ir", "AUTH PLAIN AGEAYg==", POP3_PARSE_OK,
                  POP3_CMD_AUTH, "PLAIN|AGEAYg==" },
                { "auth =", "AUTH PLAIN =", POP3_PARSE_OK, POP3_CMD_AUTH,
                  "PLAIN|=" },
                { "capa", "CAPA", POP3_PARSE_OK, POP3_CMD_CAPA, "" },
                { "stls", "STLS", POP3_PARSE_OK, POP3_CMD_STLS, "" },
                { "apop", "APOP u 0123", POP3_PARSE_OK, POP3_CMD_APOP,
                  "u|0123" },
                { "empty", "", POP3_PARSE_EMPTY, POP3_CMD_UNKNOWN, "" },
                { "blanks", "  \t", POP3_PARSE_EMPTY, POP3_CMD_UNKNOWN, "" },
                { "unknown", "XTND XMIT", POP3_PARSE_UNKNOWN,
                  POP3_CMD_UNKNOWN, "" },
                { "too long keyword", "STATS", POP3_PARSE_UNKNOWN,
                  POP3_CMD_UNKNOWN, "" },
                { "leading space", " STAT", POP3_PARSE_UNKNOWN,
                  POP3_CMD_UNKNOWN, "" },
                { "prefix only", "STA", POP3_PARSE_UNKNOWN, POP3_CMD_UNKNOWN,
                  "" },
        };

        for (size_t i = 0; i < NELEM(cases); i++) {
                struct pop3_cmd cmd;
                char *line = xstrdup(cases[i].line);
                enum pop3_parse_error got = pop3_parse(line, strlen(line),
                                                       &cmd);
                char args[256] = "";

                for (size_t k = 0; got == POP3_PARSE_OK && k < cmd.argc;
                     k++)
                        snprintf(args + strlen(args),
                                 sizeof(args) - strlen(args), "%s%s",
                                 k ? "|" : "", cmd.args[k]);
                if (got != cases[i].want)
                        fail_msg("case %s: got %d, want %d", cases[i].name,
                                 got, cases[i].want);
                if (cmd.id != cases[i].id)
                        fail_msg("case %s: got id %d, want %d", cases[i].name,
                                 cmd.id, cases[i].id);
                if (strcmp(args, cases[i].args) != 0)
                        fail_msg("case %s: got args %s, want %s",
                                 cases[i].name, args, cases[i].args);
                free(line);
        }
}

static void test_limits(void **state)
{
        char line[POP3_SASL_ARG_MAX + 64];
        struct pop3_cmd cmd;

        /* an argument of POP3_ARG_MAX bytes is fine, one more is not */
        snprintf(line, sizeof(line), "USER %0*d", POP3_ARG_MAX, 0);
        assert_int_equal(pop3_parse(line, strlen(line), &cmd), POP3_PARSE_OK);
        snprintf(line, sizeof(line), "USER %0*d", POP3_ARG_MAX + 1, 0);
        assert_int_equal(pop3_parse(line, strlen(line), &cmd),
                         POP3_PARSE_ARGS);
        /* SASL initial responses may be long */
        snprintf(line, sizeof(line), "AUTH PLAIN %0*d", POP3_SASL_ARG_MAX, 0);
        assert_int_equal(pop3_parse(line, strlen(line), &cmd), POP3_PARSE_OK);
        snprintf(line, sizeof(line), "AUTH PLAIN %0*d", POP3_SASL_ARG_MAX + 1,
                 0);
        assert_int_equal(pop3_parse(line, strlen(line), &cmd),
                         POP3_PARSE_ARGS);
        /* a NUL inside the line */
        memcpy(line, "RETR 1\0002", 9);
        assert_int_equal(pop3_parse(line, 8, &cmd), POP3_PARSE_UNKNOWN);
}

static void test_numbers(void **state)
{
        static const struct {
                const char *text;
                unsigned long max;
                int ok;
                unsigned long want;
        } cases[] = {
                { "0", 10, 1, 0 }, { "7", 10, 1, 7 }, { "10", 10, 1, 10 },
                { "11", 10, 0, 0 }, { "4294967295", 0xffffffffUL, 1,
                                      0xffffffffUL },
                { "4294967296", 0xffffffffUL, 0, 0 }, { "", 10, 0, 0 },
                { "-1", 10, 0, 0 }, { "+1", 10, 0, 0 }, { "1x", 10, 0, 0 },
                { " 1", 10, 0, 0 }, { "2", 1, 0, 0 }, { "1", 1, 1, 1 },
                { "99999999999999999999999", 0xffffffffUL, 0, 0 },
        };

        for (size_t i = 0; i < NELEM(cases); i++) {
                unsigned long n = 12345;
                int got = pop3_parse_number(cases[i].text, cases[i].max, &n);

                if ((got == 0) != cases[i].ok)
                        fail_msg("case %s: got %d, want %s", cases[i].text,
                                 got, cases[i].ok ? "ok" : "error");
                if (cases[i].ok && n != cases[i].want)
                        fail_msg("case %s: got %lu, want %lu", cases[i].text,
                                 n, cases[i].want);
        }
}

static void test_table(void **state)
{
        size_t n;
        const struct pop3_cmd_def *t = pop3_cmd_table(&n);

        for (size_t i = 0; i < n; i++) {
                assert_true(strlen(t[i].name) >= 3 && strlen(t[i].name) <= 4);
                assert_true(t[i].min_args <= t[i].max_args);
                assert_true(t[i].max_args <= POP3_ARGS_MAX);
                assert_true(t[i].states != 0);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lines),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_numbers),
                cmocka_unit_test(test_table),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
