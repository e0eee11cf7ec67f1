/* auth_sasl_test.c - Cyrus SASL server sessions in-process: PLAIN with and
 * without an initial response, LOGIN, wrong and "could not tell"
 * passwords, bad base64, a foreign authorization id, mechanisms refused by
 * the security options, and the policy read from main.cf. The password
 * check is a table here; in authd it is the VERIFY walk. */
#include <sasl/sasl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth_sasl.h"
#include "smtp_sasl.h"
#include "cfg.h"
#include "mem.h"

static int checks;
static char last_user[128];

static int checkpass(void *ctx, const char *user, const char *password,
                     size_t len)
{
        checks++;
        snprintf(last_user, sizeof(last_user), "%s", user);
        if (strcmp(user, "down@example.com") == 0)
                return -1;
        return strcmp(user, "ann@example.com") == 0 && len == 6 &&
               memcmp(password, "secret", 6) == 0;
}

struct exchange {
        const char *name;
        const char *mech;
        const char *initial;            /* NULL: none */
        const char *steps[3];           /* client answers, in order */
        const char *challenges;         /* every challenge, ';'-joined */
        enum auth_sasl_result want;
        int want_checks;
};

/* base64: "\0ann@example.com\0secret" and friends */
#define PLAIN_OK "AGFubkBleGFtcGxlLmNvbQBzZWNyZXQ="
#define PLAIN_WRONG "AGFubkBleGFtcGxlLmNvbQBzZWNyZXU="
#define PLAIN_DOWN "AGRvd25AZXhhbXBsZS5jb20Ac2VjcmV0"
#define PLAIN_AUTHZ_SAME "YW5uQGV4YW1wbGUuY29tAGFubkBleGFtcGxlLmNvbQBzZWNyZXQ="
#define PLAIN_AUTHZ_OTHER "Ym9iQGV4YW1wbGUuY29tAGFubkBleGFtcGxlLmNvbQBzZWNyZXQ="
#define PLAIN_NO_NULS "YW5uc2VjcmV0"
#define LOGIN_USER "YW5uQGV4YW1wbGUuY29t"
#define LOGIN_PASS "c2VjcmV0"
#define LOGIN_WRONG "c2VjcmV1"

static const struct exchange exchanges[] = {
        { "plain initial", "PLAIN", PLAIN_OK, { NULL }, "", AUTH_SASL_OK, 1 },
        { "plain lower-case name", "plain", PLAIN_OK, { NULL }, "",
          AUTH_SASL_OK, 1 },
        { "plain after empty challenge", "PLAIN", NULL, { PLAIN_OK, NULL },
          "", AUTH_SASL_OK, 1 },
        { "plain wrong", "PLAIN", PLAIN_WRONG, { NULL }, "", AUTH_SASL_FAIL,
          1 },
        { "plain could not tell", "PLAIN", PLAIN_DOWN, { NULL }, "",
          AUTH_SASL_TEMPFAIL, 1 },
        { "plain authzid same", "PLAIN", PLAIN_AUTHZ_SAME, { NULL }, "",
          AUTH_SASL_OK, 1 },
        { "plain authzid other", "PLAIN", PLAIN_AUTHZ_OTHER, { NULL }, "",
          AUTH_SASL_FAIL, 1 },
        { "plain malformed", "PLAIN", PLAIN_NO_NULS, { NULL }, "",
          AUTH_SASL_FAIL, 0 },
        { "plain empty initial", "PLAIN", "", { NULL }, "", AUTH_SASL_FAIL,
          0 },
        { "plain bad base64", "PLAIN", "!!!!", { NULL }, "",
          AUTH_SASL_SYNTAX, 0 },
        { "plain bad base64 later", "PLAIN", NULL, { "@@", NULL }, "",
          AUTH_SASL_SYNTAX, 0 },
        { "login", "LOGIN", NULL, { LOGIN_USER, LOGIN_PASS, NULL },
          "VXNlcm5hbWU6;UGFzc3dvcmQ6", AUTH_SASL_OK, 1 },
        { "login initial user", "LOGIN", LOGIN_USER, { LOGIN_PASS, NULL },
          "UGFzc3dvcmQ6", AUTH_SASL_OK, 1 },
        { "login wrong", "LOGIN", NULL, { LOGIN_USER, LOGIN_WRONG, NULL },
          "VXNlcm5hbWU6;UGFzc3dvcmQ6", AUTH_SASL_FAIL, 1 },
        { "cram-md5 not offered", "CRAM-MD5", NULL, { NULL }, "",
          AUTH_SASL_BADMECH, 0 },
        { "unknown mechanism", "X-NONE", NULL, { NULL }, "",
          AUTH_SASL_BADMECH, 0 },
};

static void run_exchange(const struct exchange *e, unsigned flags)
{
        struct auth_sasl *s;
        struct status st;
        char challenges[256] = "";
        char *out = NULL;
        enum auth_sasl_result r;
        size_t step = 0;

        checks = 0;
        s = auth_sasl_new("smtp", "mail.example.com", flags, checkpass, NULL,
                          &st);
        assert_non_null(s);
        r = auth_sasl_start(s, e->mech, e->initial, &out, &st);
        while (r == AUTH_SASL_CONTINUE) {
                size_t n = strlen(challenges);

                snprintf(challenges + n, sizeof(challenges) - n, "%s%s",
                         n > 0 ? ";" : "", out);
                free(out);
                out = NULL;
                if (step >= 3 || e->steps[step] == NULL)
                        break;
                r = auth_sasl_step(s, e->steps[step++], &out, &st);
        }
        free(out);
        if (r != e->want)
                fail_msg("case %s: got result %d (%s), want %d", e->name, r,
                         st.text, e->want);
        if (strcmp(challenges, e->challenges) != 0 &&
            !(strcmp(e->challenges, "") == 0 &&
              strcmp(challenges, "") == 0))
                fail_msg("case %s: got challenges %s, want %s", e->name,
                         challenges, e->challenges);
        if (checks != e->want_checks)
                fail_msg("case %s: got %d password checks, want %d", e->name,
                         checks, e->want_checks);
        if (r == AUTH_SASL_OK)
                assert_string_equal(auth_sasl_user(s), "ann@example.com");
        auth_sasl_free(&s);
        assert_null(s);
}

static void test_exchanges(void **state)
{
        for (size_t i = 0; i < sizeof(exchanges) / sizeof(exchanges[0]); i++)
                run_exchange(&exchanges[i], SASL_SEC_NOANONYMOUS);
}

static void test_noplaintext(void **state)
{
        static const struct exchange e = {
                "plain under noplaintext", "PLAIN", PLAIN_OK, { NULL }, "",
                AUTH_SASL_BADMECH, 0 };
        struct status st;
        char *mechs;

        run_exchange(&e, SASL_SEC_NOANONYMOUS | SASL_SEC_NOPLAINTEXT);
        assert_int_equal(auth_sasl_mechs("smtp", "mail.example.com",
                                          SASL_SEC_NOPLAINTEXT, &mechs, &st),
                         0);
        assert_string_equal(mechs, "");
        free(mechs);
        assert_int_equal(auth_sasl_mechs("smtp", "mail.example.com",
                                          SASL_SEC_NOANONYMOUS, &mechs, &st),
                         0);
        /* exactly the two, in Cyrus's order; never CRAM-MD5 or SCRAM */
        if (strcmp(mechs, "PLAIN LOGIN") != 0 &&
            strcmp(mechs, "LOGIN PLAIN") != 0)
                fail_msg("case mechs: got %s, want PLAIN and LOGIN", mechs);
        free(mechs);
}

static void test_sec_flags(void **state)
{
        char *words[] = { "noanonymous", "NOPLAINTEXT", "nodictionary",
                          "noactive", "mutual_auth", "forward_secrecy" };
        char *bad[] = { "noanonymous", "nonsense" };
        struct status st;
        unsigned flags = 0;

        assert_int_equal(smtp_sasl_sec_flags(words, 6, &flags, &st), 0);
        assert_int_equal(flags, SASL_SEC_NOANONYMOUS | SASL_SEC_NOPLAINTEXT |
                         SASL_SEC_NODICTIONARY | SASL_SEC_NOACTIVE |
                         SASL_SEC_MUTUAL_AUTH | SASL_SEC_FORWARD_SECRECY);
        assert_int_equal(smtp_sasl_sec_flags(words, 0, &flags, &st), 0);
        assert_int_equal(flags, 0);
        assert_int_equal(smtp_sasl_sec_flags(bad, 2, &flags, &st), -1);
        assert_non_null(strstr(st.text, "nonsense"));
}

static void test_policy(void **state)
{
        static const struct {
                const char *name;
                const char *sec, *tls_sec, *tls_auth_only, *plaintext;
                const char *service;
                int secured;
                int want_ret;
                unsigned want;
        } cases[] = {
                { "smtp defaults", NULL, NULL, NULL, NULL, "smtp", 0, 0,
                  SASL_SEC_NOANONYMOUS },
                { "smtp noplaintext without TLS", "noanonymous, noplaintext",
                  "noanonymous", NULL, NULL, "smtp", 0, 0,
                  SASL_SEC_NOANONYMOUS | SASL_SEC_NOPLAINTEXT },
                { "smtp TLS options with TLS", "noanonymous, noplaintext",
                  "noanonymous", NULL, NULL, "smtp", 1, 0,
                  SASL_SEC_NOANONYMOUS },
                { "smtp tls_auth_only without TLS", NULL, NULL, "yes", NULL,
                  "smtp", 0, -1, 0 },
                { "smtp tls_auth_only with TLS", NULL, NULL, "yes", NULL,
                  "smtp", 1, 0, SASL_SEC_NOANONYMOUS },
                { "imap plaintext refused without TLS", NULL, NULL, NULL,
                  NULL, "imap", 0, 0,
                  SASL_SEC_NOANONYMOUS | SASL_SEC_NOPLAINTEXT },
                { "imap with TLS", NULL, NULL, NULL, NULL, "imap", 1, 0,
                  SASL_SEC_NOANONYMOUS },
                { "pop3 plaintext allowed", NULL, NULL, NULL, "no", "pop3",
                  0, 0, SASL_SEC_NOANONYMOUS },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct cfg *c = cfg_new("/nonexistent");
                struct auth_sasl_policy p;
                struct status st;
                unsigned flags = 0;
                int ret;

                if (cases[i].sec != NULL)
                        cfg_set(c, "smtpd_sasl_security_options",
                                cases[i].sec, NULL);
                if (cases[i].tls_sec != NULL)
                        cfg_set(c, "smtpd_sasl_tls_security_options",
                                cases[i].tls_sec, NULL);
                if (cases[i].tls_auth_only != NULL)
                        cfg_set(c, "smtpd_tls_auth_only",
                                cases[i].tls_auth_only, NULL);
                if (cases[i].plaintext != NULL)
                        cfg_set(c, "disable_plaintext_auth",
                                cases[i].plaintext, NULL);
                assert_int_equal(cfg_check(c), 0);
                assert_int_equal(auth_sasl_policy_load(c, &p, &st), 0);
                ret = auth_sasl_flags_for(&p, cases[i].service,
                                          cases[i].secured, &flags);
                if (ret != cases[i].want_ret ||
                    (ret == 0 && flags != cases[i].want))
                        fail_msg("case %s: got %d/%#x, want %d/%#x",
                                 cases[i].name, ret, flags,
                                 cases[i].want_ret, cases[i].want);
                auth_sasl_policy_release(&p);
                cfg_free(&c);
        }
}

static void test_policy_bad_option(void **state)
{
        struct cfg *c = cfg_new("/nonexistent");
        struct auth_sasl_policy p;
        struct status st;

        cfg_set(c, "smtpd_sasl_security_options", "noanonymous, bogus",
                NULL);
        assert_int_equal(auth_sasl_policy_load(c, &p, &st), -1);
        assert_non_null(strstr(st.text, "smtpd_sasl_security_options"));
        assert_non_null(strstr(st.text, "bogus"));
        cfg_free(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_exchanges),
                cmocka_unit_test(test_noplaintext),
                cmocka_unit_test(test_sec_flags),
                cmocka_unit_test(test_policy),
                cmocka_unit_test(test_policy_bad_option),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
