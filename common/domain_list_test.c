/* domain_list_test.c - mydestination/relay_domains-style lists: names,
 * .subdomains, parent matching, negation, files, tables, from main.cf */
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
#include "mem.h"

static char dir[] = "/tmp/domain_list_test.XXXXXX";

static int setup(void **state)
{
        FILE *f;
        char path[256];

        if (mkdtemp(dir) == NULL)
                return -1;
        snprintf(path, sizeof(path), "%s/domains", dir);
        f = fopen(path, "w");
        if (f == NULL)
                return -1;
        fputs("# relay\nfile.example\n  other.example\n", f);
        fclose(f);
        snprintf(path, sizeof(path), "%s/table", dir);
        f = fopen(path, "w");
        if (f == NULL)
                return -1;
        fputs("table.example OK\n.sub.example OK\n", f);
        fclose(f);
        /* a file that names itself */
        snprintf(path, sizeof(path), "%s/loop", dir);
        f = fopen(path, "w");
        if (f == NULL)
                return -1;
        fprintf(f, "loop.example\n%s\n", path);
        fclose(f);
        return 0;
}

static int teardown(void **state)
{
        char *cmd = xasprintf("rm -rf %s", dir);
        int r = system(cmd);

        free(cmd);
        return r == 0 ? 0 : -1;
}

static void test_match_table(void **state)
{
        char *withfile = xasprintf("x.example %s/domains", dir);
        char *withtable = xasprintf("hash:%s/table", dir);
        const struct {
                const char *list;
                int parent;
                const char *domain;
                int want;
        } cases[] = {
                { "example.com", 0, "example.com", 1 },
                { "example.com", 0, "EXAMPLE.Com", 1 },
                { "Example.COM", 0, "example.com", 1 },
                { "example.com", 0, "mail.example.com", 0 },
                { "example.com", 1, "mail.example.com", 1 },
                { "example.com", 1, "badexample.com", 0 },
                { ".example.com", 0, "mail.example.com", 1 },
                { ".example.com", 0, "a.b.example.com", 1 },
                { ".example.com", 0, "example.com", 0 },
                { "a.org, b.org c.org", 0, "c.org", 1 },
                { "a.org, b.org c.org", 0, "d.org", 0 },
                { "!x.example.com, example.com", 1, "x.example.com", 0 },
                { "!x.example.com, example.com", 1, "y.example.com", 1 },
                { "[192.0.2.1]", 0, "[192.0.2.1]", 1 },
                { "[192.0.2.1]", 1, "x.[192.0.2.1]", 0 },
                { "", 0, "example.com", 0 },
                { "example.com", 0, "", 0 },
                { withfile, 0, "other.example", 1 },
                { withfile, 0, "x.example", 1 },
                { withfile, 0, "y.example", 0 },
                { withtable, 0, "table.example", 1 },
                { withtable, 0, "TABLE.example", 1 },
                { withtable, 0, "a.table.example", 0 },
                { withtable, 1, "a.table.example", 1 },
                { withtable, 0, "a.sub.example", 1 },
                { withtable, 0, "sub.example", 0 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct domain_list *l;
                struct status st;
                int got;

                if (domain_list_open_value(cases[i].list, "relay_domains",
                                           cases[i].parent, &l, &st) < 0)
                        fail_msg("case %s: open: %s", cases[i].list, st.text);
                got = domain_list_match(l, cases[i].domain);
                if (got != cases[i].want)
                        fail_msg("case %s%s / %s: got %d, want %d",
                                 cases[i].list,
                                 cases[i].parent ? " (parent)" : "",
                                 cases[i].domain, got, cases[i].want);
                domain_list_free(&l);
                assert_null(l);
        }
        free(withfile);
        free(withtable);
}

static void test_from_cfg(void **state)
{
        struct cfg *c = cfg_new("/nonexistent");
        struct domain_list *l;
        struct status st;

        cfg_set(c, "myhostname", "mx.example.org", NULL);
        cfg_set(c, "mydomain", "example.org", NULL);
        /* the default mydestination: $myhostname, localhost.$mydomain,
         * localhost; not in parent_domain_matches_subdomains */
        assert_int_equal(domain_list_open(c, "mydestination", &l, &st), 0);
        assert_int_equal(domain_list_match(l, "mx.example.org"), 1);
        assert_int_equal(domain_list_match(l, "localhost"), 1);
        assert_int_equal(domain_list_match(l, "localhost.example.org"), 1);
        assert_int_equal(domain_list_match(l, "a.mx.example.org"), 0);
        domain_list_free(&l);
        /* relay_domains is in it by default */
        cfg_set(c, "relay_domains", "relay.example", NULL);
        assert_int_equal(domain_list_open(c, "relay_domains", &l, &st), 0);
        assert_int_equal(domain_list_match(l, "a.relay.example"), 1);
        domain_list_free(&l);
        cfg_free(&c);
}

static void test_bad(void **state)
{
        static const struct {
                const char *list, *want;
        } cases[] = {
                { "/nonexistent/domains", "relay_domains: "
                  "/nonexistent/domains: no such file" },
                { "!/etc/x", "cannot be negated" },
                { "foo:bar", "unsupported lookup table type" },
                { "!", "without a name" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct domain_list *l = (struct domain_list *)1;
                struct status st;

                if (domain_list_open_value(cases[i].list, "relay_domains", 0,
                                           &l, &st) == 0)
                        fail_msg("case %s: got success, want %s",
                                 cases[i].list, cases[i].want);
                assert_null(l);
                if (strstr(st.text, cases[i].want) == NULL)
                        fail_msg("case %s: got \"%s\", want \"%s\"",
                                 cases[i].list, st.text, cases[i].want);
        }

        /* files naming files stop at CFG_LINES_FILE_DEPTH */
        struct domain_list *l = NULL;
        struct status st;
        char *loop = xasprintf("%s/loop", dir);

        assert_int_equal(domain_list_open_value(loop, "relay_domains", 0,
                                                &l, &st), -1);
        assert_null(l);
        if (strstr(st.text, "files nested too deeply") == NULL ||
            strstr(st.text, "/loop:") == NULL)
                fail_msg("case loop: got \"%s\"", st.text);
        free(loop);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_match_table),
                cmocka_unit_test(test_from_cfg),
                cmocka_unit_test(test_bad),
        };

        return cmocka_run_group_tests_name("domain_list", tests, setup,
                                           teardown);
}
