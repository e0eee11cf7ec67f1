/* smtp_sasl_test.c - the outbound SASL client against a Cyrus server
 * session in the same process: PLAIN (initial response), LOGIN (two
 * challenges), a wrong password, security options leaving no mechanism,
 * the mechanism filter, and splitting map credentials. */
#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mem.h"
#include "smtp_sasl.h"

typedef int (*sasl_fn)(void);

static int server_getopt(void *context, const char *plugin,
                         const char *option, const char **result,
                         unsigned *len)
{
        const char *v = strcmp(option, "mech_list") == 0 ? "PLAIN LOGIN" :
                        strcmp(option, "auxprop_plugin") == 0 ? "none" : NULL;

        if (v == NULL)
                return SASL_FAIL;
        *result = v;
        if (len != NULL)
                *len = (unsigned)strlen(v);
        return SASL_OK;
}

static int server_log(void *context, int level, const char *message)
{
        return SASL_OK;
}

static int checkpass(sasl_conn_t *conn, void *context, const char *user,
                     const char *pass, unsigned passlen,
                     struct propctx *propctx)
{
        return strcmp(user, "relay@example.net") == 0 && passlen == 7 &&
               memcmp(pass, "s3cr:et", 7) == 0 ? SASL_OK : SASL_BADAUTH;
}

static sasl_callback_t server_callbacks[] = {
        { SASL_CB_GETOPT, (sasl_fn)(void (*)(void))server_getopt, NULL },
        { SASL_CB_LOG, (sasl_fn)(void (*)(void))server_log, NULL },
        { SASL_CB_SERVER_USERDB_CHECKPASS,
          (sasl_fn)(void (*)(void))checkpass, NULL },
        { SASL_CB_LIST_END, NULL, NULL },
};

/* exchange - run the client against a fresh server session; returns the
 * server's final code and the mechanism used in *mech_r */
static int exchange(const char *mechs, const char *password, unsigned flags,
                    char *mech_r, size_t size, int *steps_r)
{
        struct smtp_sasl *c;
        sasl_conn_t *srv;
        struct status st;
        const char *mech;
        char *initial, *resp = NULL;
        const char *out;
        unsigned outlen, len;
        char in[1024], b64[1024];
        int rc;

        *steps_r = 0;
        assert_int_equal(sasl_server_new("smtp", "mx.example.net", NULL,
                                         NULL, NULL, NULL, 0, &srv),
                         SASL_OK);
        c = smtp_sasl_new("smtp", "mx.example.net", "relay@example.net",
                            password, flags, &st);
        assert_non_null(c);
        if (smtp_sasl_start(c, mechs, &mech, &initial, &st) < 0) {
                snprintf(mech_r, size, "none: %s", st.code);
                smtp_sasl_free(&c);
                sasl_dispose(&srv);
                return SASL_NOMECH;
        }
        snprintf(mech_r, size, "%s", mech);
        len = 0;
        if (initial != NULL)
                assert_int_equal(sasl_decode64(initial, strlen(initial), in,
                                               sizeof(in), &len), SASL_OK);
        rc = sasl_server_start(srv, mech, initial != NULL ? in : NULL, len,
                               &out, &outlen);
        free(initial);
        while (rc == SASL_CONTINUE) {
                (*steps_r)++;
                assert_int_equal(sasl_encode64(out, outlen, b64, sizeof(b64),
                                               &len), SASL_OK);
                b64[len] = '\0';
                assert_int_equal(smtp_sasl_step(c, b64, &resp, &st), 0);
                assert_int_equal(sasl_decode64(resp, strlen(resp), in,
                                               sizeof(in), &len), SASL_OK);
                free(resp);
                rc = sasl_server_step(srv, in, len, &out, &outlen);
        }
        smtp_sasl_free(&c);
        assert_null(c);
        sasl_dispose(&srv);
        return rc;
}

static void test_exchanges(void **state)
{
        static const struct {
                const char *name;
                const char *mechs;
                const char *password;
                unsigned flags;
                int want_rc;
                const char *want_mech;
                int want_steps;
        } cases[] = {
                { "plain", "PLAIN", "s3cr:et", SASL_SEC_NOANONYMOUS, SASL_OK,
                  "PLAIN", 0 },
                { "login", "LOGIN", "s3cr:et", SASL_SEC_NOANONYMOUS, SASL_OK,
                  "LOGIN", 2 },
                /* refused: Cyrus reports the verifier's code or its
                 * fallback's, so any failure will do (-1 here) */
                { "plain wrong", "PLAIN", "wrong", SASL_SEC_NOANONYMOUS,
                  -1, "PLAIN", 0 },
                { "noplaintext leaves nothing", "PLAIN LOGIN", "s3cr:et",
                  SASL_SEC_NOPLAINTEXT, SASL_NOMECH, "none: 5.7.0", 0 },
                { "unknown mechanism only", "X-FOO", "s3cr:et", 0,
                  SASL_NOMECH, "none: 5.7.0", 0 },
        };

        assert_int_equal(sasl_server_init(server_callbacks, NULL), SASL_OK);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char mech[64];
                int steps;
                int rc = exchange(cases[i].mechs, cases[i].password,
                                  cases[i].flags, mech, sizeof(mech),
                                  &steps);

                if (cases[i].want_rc == -1 && rc != SASL_OK &&
                    rc != SASL_CONTINUE)
                        rc = -1;
                if (rc != cases[i].want_rc ||
                    strcmp(mech, cases[i].want_mech) != 0 ||
                    steps != cases[i].want_steps)
                        fail_msg("case %s: got %d/%s/%d, want %d/%s/%d",
                                 cases[i].name, rc, mech, steps,
                                 cases[i].want_rc, cases[i].want_mech,
                                 cases[i].want_steps);
        }
}

static void test_filter(void **state)
{
        char *filter[] = { "login", "CRAM-MD5" };
        char *got;

        got = smtp_sasl_filter("PLAIN LOGIN CRAM-MD5 GSSAPI", filter, 2);
        assert_string_equal(got, "LOGIN CRAM-MD5");
        free(got);
        got = smtp_sasl_filter("PLAIN  LOGIN", filter, 0);
        assert_string_equal(got, "PLAIN LOGIN");
        free(got);
        got = smtp_sasl_filter("PLAIN", filter, 2);
        assert_string_equal(got, "");
        free(got);
}

static void test_credentials(void **state)
{
        static const struct {
                const char *in;
                const char *user;       /* NULL: refused */
                const char *password;
        } cases[] = {
                { "relay@example.net:s3cr:et", "relay@example.net",
                  "s3cr:et" },
                { "u:", "u", "" },
                { ":pw", NULL, NULL },
                { "nocolon", NULL, NULL },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *user, *pw;
                struct status st;
                int ret = smtp_sasl_credentials(cases[i].in, &user, &pw,
                                                  &st);

                if (cases[i].user == NULL) {
                        if (ret != -1)
                                fail_msg("case %s: got accepted, want "
                                         "refused", cases[i].in);
                        assert_null(user);
                        continue;
                }
                assert_int_equal(ret, 0);
                if (strcmp(user, cases[i].user) != 0 ||
                    strcmp(pw, cases[i].password) != 0)
                        fail_msg("case %s: got %s/%s, want %s/%s",
                                 cases[i].in, user, pw, cases[i].user,
                                 cases[i].password);
                free(user);
                free(pw);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_exchanges),
                cmocka_unit_test(test_filter),
                cmocka_unit_test(test_credentials),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
