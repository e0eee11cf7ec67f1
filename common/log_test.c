/* log_test.c - the shape of log lines: tag, severity words, file output */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

static char path[64];

/* fresh_path - a new empty temp file in path */
static int fresh_path(void)
{
        snprintf(path, sizeof(path), "/tmp/yubin-log-test-XXXXXX");
        return mkstemp(path);
}

static char *slurp(void)
{
        static char text[8192];
        FILE *f = fopen(path, "r");
        size_t n;

        assert_non_null(f);
        n = fread(text, 1, sizeof(text) - 1, f);
        text[n] = '\0';
        fclose(f);
        return text;
}

static void test_lines(void **state)
{
        static const struct {
                const char *name;
                void (*fn)(const char *, ...);
                const char *text;
                const char *want;       /* regex for the whole line */
        } cases[] = {
                { "info", log_info, "client=a[192.0.2.7]",
                  "^[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} "
                  "[^ ]+ yubin/smtpd\\[[0-9]+\\]: client=a\\[192\\.0\\.2\\.7\\]$" },
                { "warning", log_warn, "disk low",
                  " yubin/smtpd\\[[0-9]+\\]: warning: disk low$" },
                { "error", log_error, "no such thing",
                  " yubin/smtpd\\[[0-9]+\\]: error: no such thing$" },
                { "control characters", log_info, "evil\r\ninjected",
                  ": evil\\?\\?injected$" },
        };
        int fd = fresh_path();

        assert_true(fd >= 0);
        close(fd);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                regex_t rx;
                char *line;

                assert_int_equal(truncate(path, 0), 0);
                log_open("yubin", "smtpd", LOG_TO_FILE, path);
                cases[i].fn("%s", cases[i].text);
                line = slurp();
                assert_true(strlen(line) > 0 && line[strlen(line) - 1] == '\n');
                line[strlen(line) - 1] = '\0';
                assert_int_equal(regcomp(&rx, cases[i].want, REG_EXTENDED), 0);
                if (regexec(&rx, line, 0, NULL, 0) != 0)
                        fail_msg("case %s: got \"%s\", want /%s/", cases[i].name,
                                 line, cases[i].want);
                regfree(&rx);
        }
        unlink(path);
}

static void test_syslog_name_and_debug(void **state)
{
        int fd = fresh_path();

        assert_true(fd >= 0);
        close(fd);
        log_open("postfix/submission", "smtpd", LOG_TO_FILE, path);
        assert_string_equal(log_tag(), "postfix/submission/smtpd");
        log_set_verbose(0);
        log_debug("hidden");
        log_set_verbose(1);
        log_debug("shown");
        char *text = slurp();
        assert_null(strstr(text, "hidden"));
        assert_non_null(strstr(text, "postfix/submission/smtpd["));
        assert_non_null(strstr(text, "]: shown\n"));
        unlink(path);
}

static void test_reopen_after_rotation(void **state)
{
        char rotated[80];
        int fd = fresh_path();

        assert_true(fd >= 0);
        close(fd);
        snprintf(rotated, sizeof(rotated), "%s.1", path);
        log_open("yubin", "master", LOG_TO_FILE, path);
        log_info("before");
        assert_int_equal(rename(path, rotated), 0);
        log_reopen();
        log_info("after");
        char *text = slurp();
        assert_null(strstr(text, "before"));
        assert_non_null(strstr(text, "after"));
        unlink(path);
        unlink(rotated);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lines),
                cmocka_unit_test(test_syslog_name_and_debug),
                cmocka_unit_test(test_reopen_after_rotation),
        };

        return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
