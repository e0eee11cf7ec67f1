/* smtpd_check_test.c - restriction lists: loading (unsupported names and
 * open relays are configuration errors naming the parameter) and the
 * evaluation of the core items, stage by stage, with Postfix's replies */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "authc.h"
#include "cfg.h"
#include "loop.h"
#include "domain_list.h"
#include "smtpd.h"
#include "smtpd_check.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int verdict_got;
static char reply_got[SMTPD_REPLY_MAX];

static void done(struct smtpd_session *s, int verdict, const char *reply)
{
        verdict_got = verdict;
        snprintf(reply_got, sizeof(reply_got), "%s", reply ? reply : "");
        loop_exit();
}

struct lcase {
        const char *name;
        const char *param, *value;
        const char *want;       /* a text of the error, or NULL: loads */
};

static void test_load(void **state)
{
        static const struct lcase cases[] = {
                { "default", NULL, NULL, NULL },
                { "unsupported", "smtpd_recipient_restrictions",
                  "check_recipient_access hash:/x",
                  "smtpd_recipient_restrictions: restriction "
                  "\"check_recipient_access\" is not supported" },
                { "open relay", "smtpd_relay_restrictions",
                  "permit_mynetworks, permit_sasl_authenticated",
                  "or this server is an open relay" },
                { "recipient list closes", "smtpd_relay_restrictions", "",
                  NULL },
        };

        for (size_t i = 0; i < COUNT(cases); i++) {
                struct smtpd_server srv;
                struct smtpd_checks *c = NULL;
                struct status st;
                int ret;

                memset(&srv, 0, sizeof(srv));
                srv.cfg = cfg_new("/nonexistent");
                if (cases[i].param != NULL)
                        cfg_set(srv.cfg, cases[i].param, cases[i].value, NULL);
                if (strcmp(cases[i].name, "recipient list closes") == 0)
                        cfg_set(srv.cfg, "smtpd_recipient_restrictions",
                                "permit_mynetworks, reject", NULL);
                ret = smtpd_checks_load(&srv, &c, &st);
                if (cases[i].want == NULL && ret != 0)
                        fail_msg("case %s: got error \"%s\", want none",
                                 cases[i].name, st.text);
                if (cases[i].want != NULL &&
                    (ret == 0 || strstr(st.text, cases[i].want) == NULL))
                        fail_msg("case %s: got %d \"%s\", want \"%s\"",
                                 cases[i].name, ret, ret ? st.text : "",
                                 cases[i].want);
                smtpd_checks_free(&c);
                cfg_free(&srv.cfg);
        }
}

struct ecase {
        const char *name;
        const char *relay, *recipient, *client;
        int mynetworks;         /* the client is in mynetworks */
        int sasl;               /* the client has authenticated */
        const char *rcpt;
        const char *want;       /* "" passes, else the reply */
};

static void test_evaluate(void **state)
{
        static const struct ecase cases[] = {
                { "mynetworks relays", NULL, NULL, NULL, 1, 0,
                  "x@remote.example", "" },
                { "relay denied", "permit_mynetworks, "
                  "permit_sasl_authenticated, defer_unauth_destination",
                  NULL, NULL, 0, 0, "x@remote.example",
                  "454 4.7.1 <x@remote.example>: Relay access denied" },
                { "reject_unauth_destination", "reject_unauth_destination",
                  NULL, NULL, 0, 0, "x@remote.example",
                  "554 5.7.1 <x@remote.example>: Relay access denied" },
                { "sasl relays", NULL, NULL, NULL, 0, 1, "x@remote.example",
                  "" },
                { "local domain", NULL, NULL, NULL, 0, 0,
                  "ann@Example.COM", "" },
                { "relay_domains", NULL, NULL, NULL, 0, 0, "a@relayed.example",
                  "" },
                { "bare name is local", NULL, NULL, NULL, 0, 0, "postmaster",
                  "" },
                { "client reject", NULL, NULL, "permit_mynetworks, reject", 0,
                  0, "ann@example.com",
                  "554 5.7.1 <unknown[192.0.2.9]>: Client host rejected: "
                  "Access denied" },
                { "client permit ends only its list", NULL,
                  "permit_mynetworks, reject", "permit", 0, 0,
                  "ann@example.com",
                  "554 5.7.1 <ann@example.com>: Recipient address rejected: "
                  "Access denied" },
                { "defer", NULL, "defer", NULL, 0, 0, "ann@example.com",
                  "450 4.7.1 <ann@example.com>: Recipient address rejected: "
                  "Access denied" },
                { "pbs: authd down is no permit",
                  "permit_pop_before_smtp, reject_unauth_destination", NULL,
                  NULL, 0, 0, "x@remote.example",
                  "451 4.3.0 <x@remote.example>: Recipient address rejected: "
                  "Temporary lookup failure" },
                { "mynetworks unsure", NULL, NULL, NULL, -1, 0,
                  "x@remote.example",
                  "451 4.3.0 <x@remote.example>: Recipient address rejected: "
                  "Temporary lookup failure" },
        };

        for (size_t i = 0; i < COUNT(cases); i++) {
                struct smtpd_server srv;
                struct smtpd_session s;
                struct status st;

                memset(&srv, 0, sizeof(srv));
                memset(&s, 0, sizeof(s));
                srv.cfg = cfg_new("/nonexistent");
                cfg_set(srv.cfg, "smtpd_relay_restrictions",
                        cases[i].relay != NULL ? cases[i].relay :
                        "permit_mynetworks, permit_sasl_authenticated, "
                        "defer_unauth_destination", NULL);
                loop_init();
                srv.authc = authc_new("/nonexistent/authd.socket");
                if (cases[i].recipient != NULL)
                        cfg_set(srv.cfg, "smtpd_recipient_restrictions",
                                cases[i].recipient, NULL);
                if (cases[i].client != NULL)
                        cfg_set(srv.cfg, "smtpd_client_restrictions",
                                cases[i].client, NULL);
                assert_int_equal(smtpd_checks_load(&srv, &srv.checks, &st), 0);
                assert_int_equal(domain_list_open_value("example.com", "x", 0,
                                 &srv.virtual_mailbox_domains, &st), 0);
                assert_int_equal(domain_list_open_value("relayed.example", "y",
                                 0, &srv.relay_domains, &st), 0);
                s.srv = &srv;
                snprintf(s.client, sizeof(s.client), "unknown[192.0.2.9]");
                snprintf(s.addr, sizeof(s.addr), "192.0.2.9");
                s.in_mynetworks = cases[i].mynetworks;
                s.sasl_user = cases[i].sasl ? "ann@example.com" : NULL;
                s.pending.addr = (char *)cases[i].rcpt;
                verdict_got = -1;
                smtpd_check_start(&s, SMTPD_STAGE_CLIENT,
                                  SMTPD_STAGE_RECIPIENT, done);
                if (s.check != NULL)
                        loop_run();     /* it asked authd */
                assert_null(s.check);
                if (verdict_got != (*cases[i].want ? SMTPD_REJECTED :
                                    SMTPD_PASSED) ||
                    strcmp(reply_got, cases[i].want) != 0)
                        fail_msg("case %s: got %d \"%s\", want \"%s\"",
                                 cases[i].name, verdict_got, reply_got,
                                 cases[i].want);
                smtpd_checks_free(&srv.checks);
                authc_free(&srv.authc);
                loop_free();
                domain_list_free(&srv.virtual_mailbox_domains);
                domain_list_free(&srv.relay_domains);
                cfg_free(&srv.cfg);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_load),
                cmocka_unit_test(test_evaluate),
        };

        return cmocka_run_group_tests_name("smtpd_check", tests, NULL, NULL);
}
