/* smtpd_check_route_test.c - Postfix's address resolution as smtpd's
 * relay control sees it: local domains stripped off the right, then the
 * percent hack, bang paths, quoted local parts, trailing dots, address
 * literals of this host, and what each switch (allow_percent_hack,
 * swap_bangpath, resolve_dequoted_address) changes; mynetworks as
 * mynetworks_style makes it */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cfg.h"
#include "domain_list.h"
#include "smtpd.h"
#include "smtpd_check.h"
#include "smtpd_check_int.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct rcase {
        const char *name;
        const char *settings;   /* main.cf lines */
        const char *addr;
        int want;               /* ROUTE_* flags */
        const char *resolved;
};

static const struct rcase cases[] = {
        { "local", "", "user@mail.example.com", ROUTE_LOCAL,
          "user@mail.example.com" },
        { "case and trailing dot", "", "User@MAIL.example.com.",
          ROUTE_LOCAL, "User@MAIL.example.com" },
        { "bare name", "", "user", ROUTE_LOCAL, "user@mail.example.com" },
        { "percent hack", "", "user%remote.example@mail.example.com",
          ROUTE_DEFAULT, "user@remote.example" },
        { "percent hack, twice local", "",
          "user%localhost@mail.example.com", ROUTE_LOCAL,
          "user@localhost" },
        { "bang path", "", "remote.example!user@mail.example.com",
          ROUTE_DEFAULT, "user@remote.example" },
        { "bang path, two hops", "", "a.example!b.example!user@localhost",
          ROUTE_DEFAULT | ROUTE_ROUTED, "b.example!user@a.example" },
        { "user@remote@local", "", "user@remote.example@mail.example.com",
          ROUTE_DEFAULT, "user@remote.example" },
        { "user@local@remote", "", "user@mail.example.com@remote.example",
          ROUTE_DEFAULT | ROUTE_ROUTED,
          "user@mail.example.com@remote.example" },
        { "routed remote", "", "a%b@remote.example",
          ROUTE_DEFAULT | ROUTE_ROUTED, "a%b@remote.example" },
        { "virtual", "", "ann@example.com", ROUTE_VIRTUAL,
          "ann@example.com" },
        { "virtual routed", "", "x%y@example.com",
          ROUTE_VIRTUAL | ROUTE_ROUTED, "x%y@example.com" },
        { "relay domain", "", "x@relayed.example", ROUTE_RELAY,
          "x@relayed.example" },
        { "our literal", "", "root@[127.0.0.1]", ROUTE_LOCAL,
          "root@[127.0.0.1]" },
        { "our IPv6 literal", "", "root@[IPv6:::1]", ROUTE_LOCAL,
          "root@[IPv6:::1]" },
        { "another literal", "", "root@[192.0.2.1]", ROUTE_DEFAULT,
          "root@[192.0.2.1]" },
        { "malformed domain", "", "user@-bad-.example",
          ROUTE_DEFAULT | ROUTE_ERROR, "user@-bad-.example" },
        { "empty local part", "", "@mail.example.com", ROUTE_LOCAL,
          "MAILER-DAEMON@mail.example.com" },
        { "no percent hack", "allow_percent_hack = no\n",
          "user%remote.example@mail.example.com",
          ROUTE_LOCAL | ROUTE_ROUTED,
          "user%remote.example@mail.example.com" },
        { "no bang paths", "swap_bangpath = no\n",
          "remote.example!user@mail.example.com",
          ROUTE_LOCAL | ROUTE_ROUTED,
          "remote.example!user@mail.example.com" },
        { "not dequoted", "resolve_dequoted_address = no\n",
          "user@remote.example@mail.example.com",
          ROUTE_LOCAL | ROUTE_ROUTED,
          "user@remote.example@mail.example.com" },
        { "quoted percent", "", "a b%remote.example@localhost",
          ROUTE_DEFAULT, "a b@remote.example" },
};

static void test_resolve(void **state)
{
        for (size_t i = 0; i < COUNT(cases); i++) {
                struct smtpd_server srv;
                struct smtpd_route *r;
                struct status st;
                char *text = NULL, *got = NULL;
                int flags;

                memset(&srv, 0, sizeof(srv));
                srv.cfg = cfg_new("/nonexistent");
                if (asprintf(&text, "myhostname = mail.example.com\n"
                             "mydestination = mail.example.com, localhost\n"
                             "virtual_mailbox_domains = example.com\n"
                             "relay_domains = relayed.example\n"
                             "inet_interfaces = loopback-only\n%s",
                             cases[i].settings) < 0)
                        abort();
                cfg_parse_main(srv.cfg, "main.cf", text, strlen(text));
                free(text);
                domain_list_open(srv.cfg, "mydestination", &srv.mydestination,
                                 &st);
                domain_list_open(srv.cfg, "virtual_mailbox_domains",
                                 &srv.virtual_mailbox_domains, &st);
                domain_list_open(srv.cfg, "relay_domains", &srv.relay_domains,
                                 &st);
                r = smtpd_route_open(&srv, &st);
                assert_non_null(r);
                flags = smtpd_route_resolve(r, cases[i].addr, &got);
                if (flags != cases[i].want ||
                    strcmp(got, cases[i].resolved) != 0)
                        fail_msg("case %s: got %#x \"%s\", want %#x \"%s\"",
                                 cases[i].name, flags, got, cases[i].want,
                                 cases[i].resolved);
                free(got);
                smtpd_route_free(&r);
                domain_list_free(&srv.mydestination);
                domain_list_free(&srv.virtual_mailbox_domains);
                domain_list_free(&srv.relay_domains);
                cfg_free(&srv.cfg);
        }
}

static void test_own(void **state)
{
        struct smtpd_server srv;
        struct smtpd_route *r;
        struct status st;
        const char text[] = "inet_interfaces = 192.0.2.1, [2001:db8::1]\n"
                            "proxy_interfaces = 198.51.100.7\n";

        memset(&srv, 0, sizeof(srv));
        srv.cfg = cfg_new("/nonexistent");
        cfg_parse_main(srv.cfg, "main.cf", text, strlen(text));
        r = smtpd_route_open(&srv, &st);
        assert_non_null(r);
        assert_int_equal(smtpd_route_own_addr(r, "192.0.2.1"), 1);
        assert_int_equal(smtpd_route_own_addr(r, "::ffff:192.0.2.1"), 1);
        assert_int_equal(smtpd_route_own_addr(r, "2001:DB8:0::1"), 1);
        assert_int_equal(smtpd_route_own_addr(r, "198.51.100.7"), 1);
        assert_int_equal(smtpd_route_own_addr(r, "192.0.2.2"), 0);
        assert_int_equal(smtpd_route_own_addr(r, "not an address"), 0);
        smtpd_route_free(&r);
        cfg_free(&srv.cfg);
}

static void test_mynetworks_style(void **state)
{
        static const struct {
                const char *style, *want;
        } styles[] = {
                { "host", "127.0.0.1/32" },
                { "subnet", "127.0.0.0/8" },
                { "class", "127.0.0.0/8" },
        };

        for (size_t i = 0; i < COUNT(styles); i++) {
                struct cfg *cfg = cfg_new("/nonexistent");
                char *nets;

                cfg_set(cfg, "mynetworks_style", styles[i].style, NULL);
                nets = smtpd_check_default_mynetworks(cfg);
                if (strstr(nets, styles[i].want) == NULL)
                        fail_msg("case %s: got \"%s\", want \"%s\" in it",
                                 styles[i].style, nets, styles[i].want);
                free(nets);
                cfg_free(&cfg);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_resolve),
                cmocka_unit_test(test_own),
                cmocka_unit_test(test_mynetworks_style),
        };

        return cmocka_run_group_tests_name("smtpd_check_route", tests, NULL,
                                           NULL);
}
