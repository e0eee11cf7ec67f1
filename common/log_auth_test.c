/* log_auth_test.c - the login log lines: each builder's exact shape (the
 * words fail2ban's stock filters anchor on) and that names a client chose
 * cannot smuggle another address into a line. Lines are captured through
 * maillog_file in a temporary directory. */
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
#include "log_auth.h"
#include "mem.h"

static char path[64];

/* last_line - the text after "tag[pid]: " of the file's last line */
static char *last_line(void)
{
        FILE *fp = fopen(path, "r");
        char line[4096], last[4096] = "";
        char *p;

        assert_non_null(fp);
        while (fgets(line, sizeof(line), fp) != NULL)
                memcpy(last, line, sizeof(last));
        fclose(fp);
        last[strcspn(last, "\n")] = '\0';
        p = strstr(last, "]: ");
        assert_non_null(p);
        return xstrdup(p + 3);
}

static int setup(void **state)
{
        snprintf(path, sizeof(path), "/tmp/log_auth_test.%ld",
                 (long)getpid());
        unlink(path);
        log_open("yubin", "smtpd", LOG_TO_FILE, path);
        return 0;
}

static int teardown(void **state)
{
        unlink(path);
        return 0;
}

static void expect(const char *name, const char *want)
{
        char *got = last_line();

        if (strcmp(got, want) != 0)
                fail_msg("case %s: got %s, want %s", name, got, want);
        free(got);
}

static void test_shapes(void **state)
{
        log_auth_sasl_failed("unknown", "192.0.2.9", "PLAIN",
                             "authentication failure", "ann@example.com");
        expect("postfix sasl", "warning: unknown[192.0.2.9]: SASL PLAIN "
               "authentication failed: authentication failure, "
               "sasl_username=ann@example.com");
        log_auth_sasl_failed(NULL, "2001:db8::9", "LOGIN", "", NULL);
        expect("postfix sasl, no user", "warning: unknown[2001:db8::9]: "
               "SASL LOGIN authentication failed: authentication failure");
        log_auth_login_failed("imap", "ann@example.com", "PLAIN",
                              "192.0.2.9", "192.0.2.1", 1, 2, 1);
        expect("dovecot login failed", "imap-login: Disconnected: Aborted "
               "login (auth failed, 1 attempts in 2 secs): "
               "user=<ann@example.com>, method=PLAIN, rip=192.0.2.9, "
               "lip=192.0.2.1, TLS");
        log_auth_login_failed("pop3", NULL, "USER", "192.0.2.9", "", 3, 10,
                              0);
        expect("dovecot login failed, no user", "pop3-login: Disconnected: "
               "Aborted login (auth failed, 3 attempts in 10 secs): "
               "method=USER, rip=192.0.2.9, lip=");
        log_auth_login("imap", "ann@example.com", "PLAIN", "192.0.2.7",
                       "192.0.2.1", 4302, 1);
        expect("dovecot login", "imap-login: Login: user=<ann@example.com>, "
               "method=PLAIN, rip=192.0.2.7, lip=192.0.2.1, mpid=4302, TLS");
        log_auth_failed("sqlite", "ann@example.com", "192.0.2.9", "imap",
                        "Password mismatch");
        expect("dovecot auth", "auth: sqlite(ann@example.com,192.0.2.9,<imap>):"
               " Password mismatch");
}

static void test_injection(void **state)
{
        /* a user name that would name 6.6.6.6 to fail2ban, were it kept */
        log_auth_login_failed("imap", "x>, method=PLAIN, rip=6.6.6.6, y",
                              "PLAIN", "192.0.2.9", "192.0.2.1", 1, 2, 0);
        expect("login user", "imap-login: Disconnected: Aborted login (auth "
               "failed, 1 attempts in 2 secs): user=<x??"
               "?method?PLAIN??rip?6.6.6.6??y>, method=PLAIN, "
               "rip=192.0.2.9, lip=192.0.2.1");
        log_auth_failed("sqlite", "x,6.6.6.6)", "192.0.2.9", "imap",
                        "unknown user");
        expect("auth user", "auth: sqlite(x?6.6.6.6?,192.0.2.9,<imap>): "
               "unknown user");
        log_auth_sasl_failed("unknown", "192.0.2.9", "PLAIN",
                             "x [6.6.6.6]\nnext", "a b]:");
        expect("sasl reason", "warning: unknown[192.0.2.9]: SASL PLAIN "
               "authentication failed: x ?6.6.6.6??next, "
               "sasl_username=a?b?:");
}

static void test_safe(void **state)
{
        char out[8];

        assert_string_equal(log_auth_safe("ann@x.y", out, sizeof(out)),
                            "ann@x.y");
        assert_string_equal(log_auth_safe("abcdefghij", out, sizeof(out)),
                            "abcdefg");
        assert_string_equal(log_auth_safe(NULL, out, sizeof(out)), "");
        assert_string_equal(log_auth_safe("a\tb\x7f<", out, sizeof(out)),
                            "a?b??");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_shapes),
                cmocka_unit_test(test_injection),
                cmocka_unit_test(test_safe),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
