/* cfg_test.c - main.cf: syntax, expansion, typed values, validation
 * Table-driven where it fits; the seed and stock files in testdata/ must
 * load with no diagnostic at all, and the seed's values are compared with
 * testdata/seed-main.ref ("name = expanded value" per line;
 * YUBIN_WRITE_GOLDEN=1 rewrites it, review the diff). Test data is found
 * next to this file, or in $YUBIN_TESTDATA. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "buf.h"
#include "cfg.h"
#include "log.h"
#include "mem.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* --- helpers --- */

static char *testdata(const char *name)
{
        const char *env = getenv("YUBIN_TESTDATA");
        const char *slash = strrchr(__FILE__, '/');

        if (env != NULL && *env != '\0')
                return xasprintf("%s/%s", env, name);
        if (slash == NULL)
                return xasprintf("testdata/%s", name);
        return xasprintf("%.*s/testdata/%s", (int)(slash - __FILE__),
                         __FILE__, name);
}

static char *read_file(const char *path)
{
        FILE *f = fopen(path, "r");
        struct buf b;
        char chunk[4096];
        size_t n;

        if (f == NULL)
                fail_msg("cannot open %s", path);
        buf_init(&b, 0);
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                buf_append(&b, chunk, n);
        fclose(f);
        return buf_steal(&b);
}

static struct cfg *parsed(const char *text)
{
        struct cfg *c = cfg_new("/etc/yubin");

        cfg_parse_main(c, "main.cf", text, strlen(text));
        return c;
}

static void print_diags(const struct cfg *c)
{
        for (size_t i = 0; i < cfg_diag_count(c); i++) {
                int error;
                const char *d = cfg_diag(c, i, &error);

                print_message("  %s %s\n", error ? "error:" : "warning:", d);
        }
}

static size_t count_diags(const struct cfg *c, int want_error)
{
        size_t n = 0;

        for (size_t i = 0; i < cfg_diag_count(c); i++) {
                int error;

                cfg_diag(c, i, &error);
                n += error == want_error;
        }
        return n;
}

/* has_diag - 1 if a diagnostic of that kind starts with prefix and then
 * contains rest (rest may be NULL) */
static int has_diag(const struct cfg *c, int want_error, const char *prefix,
                    const char *rest)
{
        size_t plen = strlen(prefix);

        for (size_t i = 0; i < cfg_diag_count(c); i++) {
                int error;
                const char *d = cfg_diag(c, i, &error);

                if (error == want_error && strncmp(d, prefix, plen) == 0 &&
                    (rest == NULL || strstr(d + plen, rest) != NULL))
                        return 1;
        }
        return 0;
}

static char *joined(char **items)
{
        struct buf b;

        buf_init(&b, 0);
        for (size_t i = 0; items[i] != NULL; i++)
                buf_printf(&b, "%s%s", i ? "|" : "", items[i]);
        return buf_steal(&b);
}

static char *list_of(struct cfg *c, const char *name)
{
        size_t n;
        char **items = cfg_get_list(c, name, &n);
        char *s = joined(items);

        cfg_list_free(&items);
        assert_null(items);
        return s;
}

/* --- the table --- */

static void test_table_sorted_and_found(void **state)
{
        assert_true(cfg_params_count > 300);
        for (size_t i = 0; i < cfg_params_count; i++) {
                const struct cfg_param *p = &cfg_params[i];

                if (i > 0 && strcmp(cfg_params[i - 1].name, p->name) >= 0)
                        fail_msg("case %s: not after %s", p->name,
                                 cfg_params[i - 1].name);
                if (cfg_param_find(p->name) != p)
                        fail_msg("case %s: cfg_param_find missed it", p->name);
                if (p->def == NULL || p->doc == NULL || p->doc[0] == '\0')
                        fail_msg("case %s: no default or doc", p->name);
                if (strchr(p->doc, '\n') != NULL)
                        fail_msg("case %s: doc is not one line", p->name);
                if ((p->type == CFG_INT || p->type == CFG_TIME ||
                     p->type == CFG_SIZE) && p->min > p->max)
                        fail_msg("case %s: min > max", p->name);
        }
        static const char *const unknown[] = {
                "", "smtp", "smtpd_", "smtpd_tls", "zzz", "2", "virtual_uid",
                "MYHOSTNAME", "myhostname ", "aaa",
        };
        for (size_t i = 0; i < COUNT(unknown); i++)
                if (cfg_param_find(unknown[i]) != NULL)
                        fail_msg("case \"%s\": found, want NULL", unknown[i]);
}

static void test_table_has_required(void **state)
{
        static const char *const names[] = {
                "config_directory", "queue_directory", "data_directory",
                "daemon_directory", "command_directory", "mail_owner",
                "default_privs", "syslog_name", "syslog_facility",
                "maillog_file", "inet_interfaces", "inet_protocols",
                "myhostname", "mydomain", "myorigin", "mydestination",
                "mynetworks", "mynetworks_style", "relay_domains",
                "home_mailbox", "mail_location", "protocols",
                "disable_plaintext_auth", "login_trusted_networks",
                "tls_cert_file", "tls_key_file", "tls_wrappermode",
                "smtpd_tls_cert_file", "smtpd_tls_key_file",
                "smtpd_tls_wrappermode", "smtpd_tls_security_level",
                "smtpd_tls_auth_only", "smtpd_tls_protocols",
                "smtpd_tls_mandatory_protocols", "tls_protocols",
                "tls_ciphers", "smtp_tls_security_level", "smtp_tls_CAfile",
                "smtpd_banner", "mail_name", "message_size_limit",
                "smtpd_recipient_limit", "smtpd_timeout",
                "smtpd_helo_required", "disable_vrfy_command",
                "smtpd_client_restrictions", "smtpd_helo_restrictions",
                "smtpd_sender_restrictions", "smtpd_recipient_restrictions",
                "smtpd_relay_restrictions", "smtpd_data_restrictions",
                "smtpd_end_of_data_restrictions", "smtpd_etrn_restrictions",
                "smtpd_restriction_classes", "smtpd_delay_reject",
                "smtpd_sasl_auth_enable", "smtpd_sasl_security_options",
                "smtpd_sasl_local_domain", "smtp_sasl_auth_enable",
                "smtp_sasl_password_maps", "smtp_sasl_mechanism_filter",
                "smtp_sasl_security_options", "relayhost", "transport_maps",
                "alias_maps", "alias_database", "virtual_alias_maps",
                "virtual_mailbox_domains", "virtual_mailbox_maps",
                "virtual_uid_maps", "virtual_gid_maps", "recipient_delimiter",
                "local_recipient_maps", "minimal_backoff_time",
                "maximal_backoff_time", "maximal_queue_lifetime",
                "bounce_queue_lifetime", "queue_run_delay",
                "delay_warning_time", "default_destination_concurrency_limit",
                "smtp_destination_concurrency_limit", "default_process_limit",
                "service_throttle_time", "user_database", "auth_backends",
                "pop_before_smtp_timeout", "auth_failure_delay",
                "auth_failure_limit", "auth_failure_window",
                "auth_failure_ban_time", "pop3_uidl_format",
                "pop3_lock_session", "mailbox_size_limit",
                "virtual_mailbox_limit", "maps_rbl_reject_code",
                "unknown_address_reject_code", "relay_domains_reject_code",
                "unknown_client_reject_code", "unknown_hostname_reject_code",
                "non_fqdn_reject_code", "access_map_reject_code",
                "reject_code", "defer_code", "smtpd_policy_service_timeout",
                "dns_resolver", "biff", "append_dot_mydomain",
                "compatibility_level", "readme_directory", "html_directory",
                "manpage_directory", "sample_directory", "newaliases_path",
                "mailq_path", "sendmail_path", "setgid_group",
                "smtputf8_enable", "smtpd_tls_loglevel",
                "smtpd_tls_session_cache_database",
                "smtp_tls_session_cache_database", "smtpd_use_tls",
                "smtp_use_tls", "unknown_local_recipient_reject_code",
                "mailbox_command", "mailbox_transport", "debug_peer_level",
                "debug_peer_list", "debugger_command", "shlib_directory",
                "meta_directory", "smtp_tls_CApath", "smtpd_tls_CAfile",
                "smtpd_tls_CApath", "smtpd_tls_ciphers", "smtp_tls_ciphers",
        };
        for (size_t i = 0; i < COUNT(names); i++)
                if (cfg_param_find(names[i]) == NULL)
                        fail_msg("case %s: not in the table", names[i]);
}

/* Every default passes its own validation, and every typed getter can
 * read every row. */
static void test_defaults_check_clean(void **state)
{
        struct cfg *c = cfg_new("/etc/yubin");

        if (cfg_check(c) != 0 || cfg_diag_count(c) != 0) {
                print_diags(c);
                fail_msg("defaults: got %zu diagnostics, want 0",
                         cfg_diag_count(c));
        }
        for (size_t i = 0; i < cfg_params_count; i++) {
                const struct cfg_param *p = &cfg_params[i];
                char **items;
                size_t n;

                switch (p->type) {
                case CFG_BOOL:
                        cfg_get_bool(c, p->name);
                        break;
                case CFG_INT: {
                        long long v = cfg_get_int(c, p->name);
                        if (v < p->min || v > p->max)
                                fail_msg("case %s: %lld out of limits",
                                         p->name, v);
                        break;
                }
                case CFG_TIME: {
                        long long v = cfg_get_time(c, p->name);
                        if (v < p->min || v > p->max)
                                fail_msg("case %s: %llds out of limits",
                                         p->name, v);
                        break;
                }
                case CFG_SIZE:
                        cfg_get_size(c, p->name);
                        break;
                case CFG_LIST:
                case CFG_MAPS:
                case CFG_RESTRICT:
                        items = cfg_get_list(c, p->name, &n);
                        cfg_list_free(&items);
                        break;
                case CFG_STR:
                        assert_non_null(cfg_get(c, p->name));
                        break;
                }
        }
        cfg_free(&c);
        assert_null(c);
        cfg_free(&c);
}

static void test_default_values(void **state)
{
        struct cfg *c = cfg_new("/srv/conf");
        char *host = xstrdup(cfg_get(c, "myhostname"));
        char *s;

        assert_int_equal(cfg_check(c), 0);
        assert_non_null(strchr(host, '.'));
        assert_string_equal(cfg_get(c, "mydomain"), strchr(host, '.') + 1);
        assert_string_equal(cfg_get(c, "myorigin"), host);
        assert_string_equal(cfg_get(c, "config_directory"), "/srv/conf");
        assert_string_equal(cfg_config_dir(c), "/srv/conf");
        assert_string_equal(cfg_get_default(c, "config_directory"),
                            "/srv/conf");
        assert_string_equal(cfg_get_default(c, "myhostname"), host);
        assert_null(cfg_get_default(c, "no_such_parameter"));
        assert_string_equal(cfg_get(c, "queue_directory"), "/var/spool/yubin");
        assert_string_equal(cfg_get(c, "user_database"),
                            "sqlite:/var/lib/yubin/users.db");
        assert_string_equal(cfg_get(c, "mail_owner"), "yubin");
        assert_string_equal(cfg_get(c, "syslog_name"), "yubin");
        assert_string_equal(cfg_get(c, "relay_domains"), "");
        assert_string_equal(cfg_get(c, "protocols"), "imap pop3");
        assert_string_equal(cfg_get(c, "smtpd_tls_cert_file"), "");
        assert_string_equal(cfg_get(c, "tls_protocols"), ">=TLSv1.2");
        assert_string_equal(cfg_get(c, "smtpd_tls_protocols"), ">=TLSv1.2");
        assert_string_equal(cfg_get(c, "pop3_uidl_format"), "%08Xu%08Xv");
        s = xasprintf("%s ESMTP Yubin", host);
        assert_string_equal(cfg_get(c, "smtpd_banner"), s);
        free(s);
        s = list_of(c, "mydestination");
        char *want = xasprintf("%s|localhost.%s|localhost", host,
                               strchr(host, '.') + 1);
        assert_string_equal(s, want);
        free(s);
        free(want);
        s = list_of(c, "mynetworks");
        assert_string_equal(s, "127.0.0.0/8|[::1]/128");
        free(s);
        s = list_of(c, "smtpd_relay_restrictions");
        assert_string_equal(s, "permit_mynetworks|permit_sasl_authenticated|"
                            "permit_pop_before_smtp|"
                            "defer_unauth_destination");
        free(s);
        s = list_of(c, "smtpd_client_event_limit_exceptions");
        assert_string_equal(s, "127.0.0.0/8|[::1]/128");
        free(s);
        s = list_of(c, "local_recipient_maps");
        assert_string_equal(s, "proxy:unix:passwd.byname|hash:/etc/aliases");
        free(s);
        assert_int_equal(cfg_get_bool(c, "disable_vrfy_command"), 1);
        assert_int_equal(cfg_get_bool(c, "disable_plaintext_auth"), 1);
        assert_int_equal(cfg_get_bool(c, "smtpd_tls_wrappermode"), 0);
        assert_int_equal(cfg_get_size(c, "message_size_limit"), 10240000);
        assert_int_equal(cfg_get_int(c, "default_process_limit"), 100);
        assert_int_equal(cfg_get_int(c, "smtpd_hard_error_limit"), 20);
        assert_int_equal(cfg_get_int(c, "smtp_destination_concurrency_limit"),
                         20);
        assert_int_equal(cfg_get_int(c, "unknown_address_reject_code"), 450);
        assert_int_equal(cfg_get_time(c, "smtpd_timeout"), 300);
        assert_int_equal(cfg_get_time(c, "minimal_backoff_time"), 300);
        assert_int_equal(cfg_get_time(c, "maximal_backoff_time"), 4000);
        assert_int_equal(cfg_get_time(c, "maximal_queue_lifetime"), 5 * 86400);
        assert_int_equal(cfg_get_time(c, "bounce_queue_lifetime"), 5 * 86400);
        assert_int_equal(cfg_get_time(c, "pop_before_smtp_timeout"), 600);
        assert_int_equal(cfg_get_time(c, "auth_failure_delay"), 2);
        assert_int_equal(cfg_get_time(c, "delay_warning_time"), 0);
        assert_int_equal(cfg_is_set(c, "myhostname"), 0);
        assert_null(cfg_set_name(c, 0));
        free(host);
        cfg_free(&c);
}

static void test_dynamic_defaults(void **state)
{
        static const struct {
                const char *name, *text, *want_domain, *want_dest;
        } cases[] = {
                { "domain from the host name",
                  "myhostname = mx1.example.org\n", "example.org",
                  "mx1.example.org|localhost.example.org|localhost" },
                { "host name without a dot",
                  "myhostname = box\n", "localdomain",
                  "box|localhost.localdomain|localhost" },
                { "host name via a reference",
                  "h = smtp.example.net\nmyhostname = $h\n", "example.net",
                  "smtp.example.net|localhost.example.net|localhost" },
                { "mydomain set wins",
                  "myhostname = a.b.c\nmydomain = example.com\n",
                  "example.com", "a.b.c|localhost.example.com|localhost" },
        };

        for (size_t i = 0; i < COUNT(cases); i++) {
                struct cfg *c = parsed(cases[i].text);
                char *dest;

                if (cfg_check(c) != 0) {
                        print_diags(c);
                        fail_msg("case %s: check failed", cases[i].name);
                }
                dest = list_of(c, "mydestination");
                if (strcmp(cfg_get(c, "mydomain"), cases[i].want_domain) != 0 ||
                    strcmp(dest, cases[i].want_dest) != 0)
                        fail_msg("case %s: got %s / %s, want %s / %s",
                                 cases[i].name, cfg_get(c, "mydomain"), dest,
                                 cases[i].want_domain, cases[i].want_dest);
                free(dest);
                cfg_free(&c);
        }
}

/* --- syntax --- */

static void test_syntax_values(void **state)
{
        static const struct {
                const char *name, *text, *param, *want;
        } cases[] = {
                { "no spaces", "myorigin=example.org\n", "myorigin",
                  "example.org" },
                { "spaces and tabs", "myorigin \t=\t example.org \t\n",
                  "myorigin", "example.org" },
                { "continuation lines", "mydestination = a,\n  b,\n\tc\n",
                  "mydestination", "a, b, c" },
                { "comment and blank line inside a continuation",
                  "mydestination = a,\n# note\n   b,\n\n   c\nrelayhost = r\n",
                  "mydestination", "a, b, c" },
                { "indented comment", "   # not a value\nmyorigin = x\n",
                  "myorigin", "x" },
                { "# later in a line is text",
                  "smtpd_banner = host ESMTP # here\n", "smtpd_banner",
                  "host ESMTP # here" },
                { "last assignment wins", "myorigin = a\nrelayhost = r\n"
                  "myorigin = b\n", "myorigin", "b" },
                { "empty value", "relay_domains =\n", "relay_domains", "" },
                { "CRLF line ends", "myorigin = x\r\nrelayhost = y\r\n",
                  "myorigin", "x" },
                { "no final newline", "myorigin = x", "myorigin", "x" },
                { "value with =", "smtpd_banner = a=b = c\n", "smtpd_banner",
                  "a=b = c" },
                { "continuation keeps the previous value's last line",
                  "myorigin = x\n   \nrelayhost = [mx.example.com]:587\n",
                  "relayhost", "[mx.example.com]:587" },
        };

        for (size_t i = 0; i < COUNT(cases); i++) {
                struct cfg *c = cfg_new("/etc/yubin");
                int rc = cfg_parse_main(c, "main.cf", cases[i].text,
                                        strlen(cases[i].text));
                const char *got = cfg_get(c, cases[i].param);

                if (rc != 0 || cfg_diag_count(c) != 0 ||
                    strcmp(got, cases[i].want) != 0) {
                        print_diags(c);
                        fail_msg("case %s: got %d \"%s\", want 0 \"%s\"",
                                 cases[i].name, rc, got, cases[i].want);
                }
                cfg_free(&c);
        }
}

static void test_syntax_errors(void **state)
{
        static const struct {
                const char *name;
                const char *text;
                size_t len;             /* 0: strlen */
                const char *want[3];
        } cases[] = {
                { "missing =", "myorigin = a\nbogus line here\n", 0,
                  { "main.cf:2: missing '=' after parameter name: "
                    "\"bogus line here\"" } },
                { "line number after a continuation",
                  "mydestination = a,\n  b\n\n# c\nnot an assignment\n", 0,
                  { "main.cf:5: missing '=' after parameter name: "
                    "\"not an assignment\"" } },
                { "error in a continued line is at its start",
                  "myorigin = a\nfoo\n  bar\n  baz\n", 0,
                  { "main.cf:2: missing '=' after parameter name: "
                    "\"foo bar baz\"" } },
                { "continuation first", "  myorigin = x\n", 0,
                  { "main.cf:1: continuation line without a parameter "
                    "before it" } },
                { "no name", "= value\n", 0,
                  { "main.cf:1: missing parameter name before '=': "
                    "\"= value\"" } },
                { "NUL byte", "relayhost = r\nmyorigin = a\0b\n", 27,
                  { "main.cf:2: NUL character in line" } },
                { "several errors", "a\nmyorigin = x\nb c = d\n", 0,
                  { "main.cf:1: missing '=' after parameter name: \"a\"",
                    "main.cf:3: missing '=' after parameter name: "
                    "\"b c = d\"" } },
        };

        for (size_t i = 0; i < COUNT(cases); i++) {
                size_t len = cases[i].len ? cases[i].len :
                             strlen(cases[i].text);
                struct cfg *c = cfg_new("/etc/yubin");
                int rc = cfg_parse_main(c, "main.cf", cases[i].text, len);
                size_t want_n = 0;

                while (want_n < 3 && cases[i].want[want_n] != NULL)
                        want_n++;
                if (rc != -1 || cfg_diag_count(c) != want_n) {
                        print_diags(c);
                        fail_msg("case %s: got %d with %zu diagnostics, want "
                                 "-1 with %zu", cases[i].name, rc,
                                 cfg_diag_count(c), want_n);
                }
                for (size_t j = 0; j < want_n; j++) {
                        int error;
                        const char *d = cfg_diag(c, j, &error);

                        if (!error || strcmp(d, cases[i].want[j]) != 0)
                                fail_msg("case %s: got \"%s\", want \"%s\"",
                                         cases[i].name, d, cases[i].want[j]);
                }
                /* the good lines still count */
                if (strcmp(cases[i].name, "several errors") == 0)
                        assert_string_equal(cfg_get(c, "myorigin"), "x");
                cfg_free(&c);
        }
}

static void test_read_main(void **state)
{
        struct cfg *c = cfg_new("/etc/yubin");
        char *dir = testdata("");

        assert_int_equal(cfg_read_main(c, "/nonexistent/main.cf"), -1);
        assert_true(has_diag(c, 1, "/nonexistent/main.cf: cannot open: ",
                             NULL));
        assert_int_equal(cfg_read_main(c, dir), -1);
        assert_int_equal(cfg_diag_count(c), 2);
        free(dir);
        cfg_free(&c);
}

/* --- expansion --- */

static void test_expand(void **state)
{
        static const char *const conf =
                "x = hello\n"
                "e =\n"
                "a = $b/x\n"
                "b = $c\n"
                "c = deep\n"
                "loop1 = $loop2\n"
                "loop2 = ${loop1}\n"
                "self = x $self\n"
                "myhostname = mx.example.org\n";
        static const struct {
                const char *name, *text, *want, *want_error;
        } cases[] = {
                { "$name", "$x", "hello", NULL },
                { "${name}", "${x}world", "helloworld", NULL },
                { "$(name)", "[$(x)]", "[hello]", NULL },
                { "name ends at a non-name character", "$x.y-z", "hello.y-z",
                  NULL },
                { "${name?text} when set", "${x?yes}", "yes", NULL },
                { "${name?text} when empty", "${e?yes}", "", NULL },
                { "${name?text} when unknown", "${nosuch?yes}", "", NULL },
                { "${name:text} when set", "${x:dflt}", "", NULL },
                { "${name:text} when empty", "${e:dflt}", "dflt", NULL },
                { "text is expanded", "${x?[$x]}", "[hello]", NULL },
                { "nested conditionals", "${x?${e:in}}", "in", NULL },
                { "Postfix 3 alternatives, set", "${x?{one}:{two}}", "one",
                  NULL },
                { "Postfix 3 alternatives, empty", "${e?{one} : {two}}",
                  "two", NULL },
                { "unknown name is empty", "a${nosuch}b$nosuch2", "ab", NULL },
                { "$$ is a dollar", "$$x costs $$5", "$x costs $5", NULL },
                { "lone dollar", "a $ b 5$", "a $ b 5$", NULL },
                { "recursive", "$a", "deep/x", NULL },
                { "known parameter", "$mydomain", "example.org", NULL },
                { "unbalanced", "${x", NULL, "missing '}'" },
                { "empty name", "${}", NULL, "missing parameter name" },
                { "bad character", "${x!y}", NULL, "unexpected '!'" },
                { "loop", "$loop1", NULL,
                  "expansion loop: $loop1 -> $loop2 -> $loop1" },
                { "self loop", "$self", NULL, "expansion loop: $self -> $self" },
                { "loop inside text", "${x?$loop2}", NULL,
                  "expansion loop: $loop2 -> $loop1 -> $loop2" },
        };
        struct cfg *c = parsed(conf);

        for (size_t i = 0; i < COUNT(cases); i++) {
                const char *error = NULL;
                char *got = cfg_expand(c, cases[i].text, &error);

                if (cases[i].want != NULL &&
                    (got == NULL || strcmp(got, cases[i].want) != 0))
                        fail_msg("case %s: got \"%s\" (%s), want \"%s\"",
                                 cases[i].name, got ? got : "NULL",
                                 error ? error : "", cases[i].want);
                if (cases[i].want_error != NULL &&
                    (got != NULL || error == NULL ||
                     strstr(error, cases[i].want_error) == NULL))
                        fail_msg("case %s: got \"%s\" error \"%s\", want "
                                 "error \"%s\"", cases[i].name,
                                 got ? got : "NULL", error ? error : "NULL",
                                 cases[i].want_error);
                free(got);
        }
        cfg_free(&c);
}

static void test_expansion_loops_in_check(void **state)
{
        struct cfg *c = parsed("a = $b\n"
                               "b = $a\n"
                               "myorigin = $a\n"
                               "smtpd_banner = $smtp_helo_name\n"
                               "smtp_helo_name = ${smtpd_banner}\n");

        assert_int_equal(cfg_check(c), -1);
        if (!has_diag(c, 1, "main.cf:3: myorigin: expansion loop: "
                      "$a -> $b -> $a", NULL) ||
            !has_diag(c, 1, "main.cf:4: smtpd_banner: expansion loop: "
                      "$smtpd_banner -> $smtp_helo_name -> $smtpd_banner",
                      NULL) ||
            !has_diag(c, 1, "main.cf:5: smtp_helo_name: expansion loop: "
                      "$smtp_helo_name -> $smtpd_banner -> $smtp_helo_name",
                      NULL)) {
                print_diags(c);
                fail_msg("loop errors missing");
        }
        /* a and b are referenced, so not "unused" */
        assert_int_equal(count_diags(c, 0), 0);
        /* the getter still answers, with the text as written */
        assert_string_equal(cfg_get(c, "myorigin"), "$a");
        cfg_free(&c);
}

static void test_expansion_depth(void **state)
{
        struct buf b;

        buf_init(&b, 0);
        for (int i = 0; i < 200; i++)
                buf_printf(&b, "p%d = $p%d\n", i, i + 1);
        buf_puts(&b, "p200 = end\nmyorigin = $p0\nrelayhost = $p150\n");
        struct cfg *c = parsed(buf_cstr(&b));
        assert_int_equal(cfg_check(c), -1);
        assert_true(has_diag(c, 1, "main.cf:202: myorigin: ",
                             "nested more than 64 deep"));
        /* a short enough chain works */
        assert_string_equal(cfg_get(c, "relayhost"), "end");
        buf_release(&b);
        cfg_free(&c);
}

/* --- typed values --- */

struct value_case {
        const char *name;
        const char *param;
        const char *value;
        const char *want_error;         /* NULL: valid */
        long long want;                 /* for bool, int, time, size */
};

static const struct value_case value_cases[] = {
        { "bool yes", "smtpd_helo_required", "yes", NULL, 1 },
        { "bool NO", "smtpd_helo_required", "NO", NULL, 0 },
        { "bool maybe", "smtpd_helo_required", "maybe",
          "\"maybe\": expected yes or no", 0 },
        { "bool true", "biff", "true", "\"true\": expected yes or no", 0 },
        { "bool empty", "biff", "", "\"\": expected yes or no", 0 },
        { "int", "smtpd_recipient_limit", "500", NULL, 500 },
        { "int via $", "smtp_destination_concurrency_limit",
          "$default_process_limit", NULL, 100 },
        { "int below min", "smtpd_recipient_limit", "0",
          "\"0\": must be at least 1", 0 },
        { "int negative", "default_process_limit", "-1",
          "\"-1\": must be at least 1", 0 },
        { "int word", "smtpd_recipient_limit", "abc",
          "\"abc\": expected a decimal integer", 0 },
        { "int with unit", "smtpd_recipient_limit", "12k",
          "\"12k\": expected a decimal integer", 0 },
        { "int overflow", "smtpd_recipient_limit", "99999999999999999999",
          "\"99999999999999999999\": number out of range", 0 },
        { "int above max", "smtpd_recipient_limit", "2147483648",
          "\"2147483648\": must be at most 2147483647", 0 },
        { "reply code", "reject_code", "550", NULL, 550 },
        { "reply code out of range", "reject_code", "600",
          "\"600\": must be between 400 and 599", 0 },
        { "time bare number takes the row's unit (d)",
          "maximal_queue_lifetime", "7", NULL, 7 * 86400 },
        { "time bare number takes the row's unit (m)",
          "pop_before_smtp_timeout", "5", NULL, 300 },
        { "time bare number takes the row's unit (s)", "smtpd_timeout",
          "30", NULL, 30 },
        { "time seconds", "maximal_queue_lifetime", "3600s", NULL, 3600 },
        { "time minutes", "smtpd_timeout", "2m", NULL, 120 },
        { "time hours", "delay_warning_time", "4h", NULL, 4 * 3600 },
        { "time weeks", "maximal_queue_lifetime", "2w", NULL, 14 * 86400 },
        { "time zero", "delay_warning_time", "0", NULL, 0 },
        { "time bad unit", "smtpd_timeout", "5x",
          "\"5x\": expected a time", 0 },
        { "time negative", "smtpd_timeout", "-1s",
          "\"-1s\": expected a time", 0 },
        { "time two units", "smtpd_timeout", "1h30m",
          "\"1h30m\": expected a time", 0 },
        { "time empty", "smtpd_timeout", "", "\"\": expected a time", 0 },
        { "time overflow", "smtpd_timeout", "99999999999999999999",
          "expected a time", 0 },
        { "time below min", "minimal_backoff_time", "0",
          "\"0\": must be at least 1s", 0 },
        { "time above max", "maximal_queue_lifetime", "100000w",
          "\"100000w\": must be at most 2147483647s", 0 },
        { "size", "message_size_limit", "10485760", NULL, 10485760 },
        { "size zero", "message_size_limit", "0", NULL, 0 },
        { "size with unit", "message_size_limit", "10k",
          "\"10k\": expected a size in bytes", 0 },
        { "size negative", "message_size_limit", "-5",
          "\"-5\": expected a size in bytes", 0 },
        { "enum", "smtpd_tls_security_level", "encrypt", NULL, 0 },
        { "enum empty allowed", "smtpd_tls_security_level", "", NULL, 0 },
        { "enum bad", "smtpd_tls_security_level", "maybe",
          "\"maybe\": expected one of: none may encrypt (or empty)", 0 },
        { "enum empty not allowed", "mynetworks_style", "",
          "\"\": expected one of: host subnet class", 0 },
        { "syslog facility", "syslog_facility", "local3", NULL, 0 },
        { "list items", "inet_protocols", "ipv4, ipv6", NULL, 0 },
        { "list bad item", "inet_protocols", "ipv4, ipv5",
          "\"ipv5\": expected one of: all ipv4 ipv6", 0 },
        { "sasl options", "smtpd_sasl_security_options",
          "noanonymous, noplaintext", NULL, 0 },
        { "sasl bad option", "smtpd_sasl_security_options", "noanonymous, x",
          "\"x\": expected one of:", 0 },
        { "list missing }", "mydestination", "a, {b", "missing '}'", 0 },
        { "list stray }", "mydestination", "a}", "unbalanced '}'", 0 },
        { "networks", "mynetworks",
          "10.0.0.0/8 !192.168.1.0/24 192.168.0.0/16 [2001:db8::]/32 [::1] "
          "127.0.0.1 /etc/yubin/networks cidr:/etc/yubin/networks.cidr",
          NULL, 0 },
        { "network host bits", "mynetworks", "10.0.0.1/8",
          "\"10.0.0.1/8\": non-null host address bits", 0 },
        { "network ipv6 host bits", "mynetworks", "[2001:db8::1]/32",
          "non-null host address bits", 0 },
        { "network length", "mynetworks", "10.0.0.0/33",
          "\"10.0.0.0/33\": bad network length (0..32)", 0 },
        { "network ipv6 without brackets", "mynetworks", "2001:db8::/32",
          "\"2001:db8::/32\": write an IPv6 network in brackets", 0 },
        { "network name", "mynetworks", "localhost",
          "\"localhost\": expected an address", 0 },
        { "network missing ]", "mynetworks", "[::1",
          "\"[::1\": missing ']'", 0 },
        { "maps", "alias_maps", "hash:/etc/aliases, btree:/x lmdb:/y", NULL,
          0 },
        { "maps nested proxy", "local_recipient_maps",
          "proxy:unix:passwd.byname proxy:hash:/x", NULL, 0 },
        { "maps inline", "virtual_alias_maps",
          "inline:{ a@x=b@y, c@x = d@y }, static:{some text}", NULL, 0 },
        { "maps union", "virtual_alias_maps",
          "unionmap:{hash:/a, pcre:/b}", NULL, 0 },
        { "maps unknown type", "alias_maps", "hash:/a, bogus:/x",
          "\"bogus:/x\": unknown lookup table type \"bogus\"", 0 },
        { "maps no type", "alias_maps", "/etc/aliases",
          "\"/etc/aliases\": expected a type:name lookup table", 0 },
        { "maps bad proxy", "alias_maps", "proxy:bogus:/x",
          "\"bogus:/x\": unknown lookup table type \"bogus\"", 0 },
        { "maps bad union member", "alias_maps",
          "unionmap:{hash:/a, foo:/b}", "unknown lookup table type \"foo\"",
          0 },
        { "maps inline without braces", "alias_maps", "inline:a=b",
          "\"inline:a=b\": expected { ... } after the type", 0 },
        { "maps no name", "alias_maps", "hash:",
          "\"hash:\": missing table name", 0 },
        { "maps upper case type", "alias_maps", "HASH:/x",
          "unknown lookup table type \"HASH\"", 0 },
        { "restrictions", "smtpd_client_restrictions",
          "permit_mynetworks, check_client_access hash:/etc/postfix/access, "
          "reject_rbl_client zen.spamhaus.org=127.0.0.[2..11], "
          "check_policy_service inet:127.0.0.1:10023, "
          "check_policy_service unix:private/policy, "
          "check_policy_service { inet:127.0.0.1:9998, timeout=10s }, "
          "warn_if_reject reject_unknown_client_hostname, sleep 1, "
          "permit_pop_before_smtp, hash:/etc/postfix/more, permit",
          NULL, 0 },
        { "restriction without its table", "smtpd_client_restrictions",
          "check_client_access",
          "check_client_access: missing lookup table argument", 0 },
        { "restriction table missing before the next",
          "smtpd_client_restrictions", "check_client_access, permit",
          "check_client_access: missing lookup table argument (before "
          "\"permit\")", 0 },
        { "restriction with a bad table", "smtpd_client_restrictions",
          "check_client_access /etc/access",
          "\"/etc/access\": expected a type:name lookup table", 0 },
        { "unknown restriction", "smtpd_recipient_restrictions",
          "permit_mynetworks, reject_bogus, reject",
          "\"reject_bogus\": unknown restriction", 0 },
        { "Postfix restriction Yubin lacks", "smtpd_client_restrictions",
          "permit_mynetworks, check_ccert_access hash:/etc/postfix/x",
          "\"check_ccert_access\" is a Postfix restriction that Yubin does "
          "not implement", 0 },
        { "old rbl name is known", "smtpd_client_restrictions",
          "reject_rbl bl.example", NULL, 0 },
        { "rbl without domain", "smtpd_client_restrictions",
          "reject_rbl_client", "reject_rbl_client: missing DNS list domain "
          "argument", 0 },
        { "rbl bad domain", "smtpd_client_restrictions",
          "reject_rbl_client bl/x", "reject_rbl_client: \"bl/x\": expected "
          "a DNS domain", 0 },
        { "rbl bad filter", "smtpd_client_restrictions",
          "reject_rbl_client bl.example=x", "expected a DNS domain", 0 },
        { "policy without address", "smtpd_recipient_restrictions",
          "check_policy_service", "check_policy_service: missing policy "
          "service address argument", 0 },
        { "policy bad address", "smtpd_recipient_restrictions",
          "check_policy_service 127.0.0.1:10023",
          "check_policy_service: \"127.0.0.1:10023\": expected "
          "inet:host:port or unix:pathname", 0 },
        { "sleep bad", "smtpd_client_restrictions", "sleep x",
          "sleep: \"x\": expected a number of seconds", 0 },
        { "stray group", "smtpd_client_restrictions", "permit, {a b}",
          "\"{a b}\": a { } group must follow", 0 },
};

static void test_values(void **state)
{
        for (size_t i = 0; i < COUNT(value_cases); i++) {
                const struct value_case *k = &value_cases[i];
                const struct cfg_param *p = cfg_param_find(k->param);
                struct cfg *c = cfg_new("/etc/yubin");
                long long got = 0;
                int rc;

                assert_non_null(p);
                cfg_set(c, k->param, k->value, "main.cf:7");
                rc = cfg_check(c);
                if (k->want_error != NULL) {
                        char *prefix = xasprintf("main.cf:7: %s: ", k->param);

                        if (rc != -1 || !has_diag(c, 1, prefix, k->want_error)) {
                                print_diags(c);
                                fail_msg("case %s: got %d, want -1 and "
                                         "\"%s%s\"", k->name, rc, prefix,
                                         k->want_error);
                        }
                        free(prefix);
                        cfg_free(&c);
                        continue;
                }
                if (rc != 0 || cfg_diag_count(c) != 0) {
                        print_diags(c);
                        fail_msg("case %s: got %d, want a clean check",
                                 k->name, rc);
                }
                switch (p->type) {
                case CFG_BOOL:
                        got = cfg_get_bool(c, k->param);
                        break;
                case CFG_INT:
                        got = cfg_get_int(c, k->param);
                        break;
                case CFG_TIME:
                        got = cfg_get_time(c, k->param);
                        break;
                case CFG_SIZE:
                        got = cfg_get_size(c, k->param);
                        break;
                default:
                        got = k->want;
                        break;
                }
                if (got != k->want)
                        fail_msg("case %s: got %lld, want %lld", k->name, got,
                                 k->want);
                cfg_free(&c);
        }
}

static void test_parsers(void **state)
{
        static const struct {
                const char *text;
                char unit;
                int want_rc;
                long long want;
        } times[] = {
                { "0", 's', 0, 0 }, { "10", 's', 0, 10 }, { "10", 'm', 0, 600 },
                { "10", 'h', 0, 36000 }, { "1", 'd', 0, 86400 },
                { "1", 'w', 0, 604800 }, { "1", '?', 0, 1 },
                { "3s", 'd', 0, 3 }, { "3m", 's', 0, 180 },
                { "", 's', -1, 0 }, { "s", 's', -1, 0 }, { "1 s", 's', -1, 0 },
                { " 1", 's', -1, 0 }, { "1ss", 's', -1, 0 },
                { "+1", 's', -1, 0 }, { "1S", 's', -1, 0 },
                { "15250284452471w", 's', 0, 15250284452471LL * 604800 },
                { "15250284452472w", 's', -1, 0 },
                { "9223372036854775807", 's', 0, 9223372036854775807LL },
                { "9223372036854775808", 's', -1, 0 },
        };
        static const struct {
                const char *text;
                int want_rc;
                long long want;
        } ints[] = {
                { "0", 0, 0 }, { "-0", 0, 0 }, { "+7", 0, 7 }, { "-7", 0, -7 },
                { "9223372036854775807", 0, 9223372036854775807LL },
                { "-9223372036854775808", 0, (-9223372036854775807LL - 1) },
                { "9223372036854775808", -1, 0 },
                { "-9223372036854775809", -1, 0 },
                { "", -1, 0 }, { "-", -1, 0 }, { "1.5", -1, 0 },
                { "0x10", -1, 0 }, { " 1", -1, 0 }, { "1 ", -1, 0 },
        };
        long long v;
        int b;

        for (size_t i = 0; i < COUNT(times); i++) {
                v = -1;
                int rc = cfg_parse_time(times[i].text, times[i].unit, &v);
                if (rc != times[i].want_rc || (rc == 0 && v != times[i].want))
                        fail_msg("case time \"%s\" %c: got %d %lld, want %d "
                                 "%lld", times[i].text, times[i].unit, rc, v,
                                 times[i].want_rc, times[i].want);
        }
        for (size_t i = 0; i < COUNT(ints); i++) {
                v = -1;
                int rc = cfg_parse_int(ints[i].text, &v);
                if (rc != ints[i].want_rc || (rc == 0 && v != ints[i].want))
                        fail_msg("case int \"%s\": got %d %lld, want %d %lld",
                                 ints[i].text, rc, v, ints[i].want_rc,
                                 ints[i].want);
        }
        assert_int_equal(cfg_parse_size("123", &v), 0);
        assert_int_equal(v, 123);
        assert_int_equal(cfg_parse_size("-1", &v), -1);
        assert_int_equal(cfg_parse_size("+1", &v), -1);
        assert_int_equal(cfg_parse_size("1k", &v), -1);
        assert_int_equal(cfg_parse_size("", &v), -1);
        assert_int_equal(cfg_parse_bool("Yes", &b), 0);
        assert_int_equal(b, 1);
        assert_int_equal(cfg_parse_bool("no", &b), 0);
        assert_int_equal(b, 0);
        assert_int_equal(cfg_parse_bool("y", &b), -1);
        assert_int_equal(cfg_parse_bool("1", &b), -1);
        assert_int_equal(cfg_parse_bool("false", &b), -1);
}

static void test_time_units(void **state)
{
        static const struct {
                const char *param;
                char want;
        } cases[] = {
                { "maximal_queue_lifetime", 'd' },
                { "bounce_queue_lifetime", 'd' },
                { "pop_before_smtp_timeout", 'm' },
                { "auth_failure_window", 'm' },
                { "delay_warning_time", 'h' },
                { "smtpd_timeout", 's' },
                { "minimal_backoff_time", 's' },
                { "imap_idle_notify_interval", 'm' },
        };

        for (size_t i = 0; i < COUNT(cases); i++) {
                char got = cfg_param_time_unit(cfg_param_find(cases[i].param));

                if (got != cases[i].want)
                        fail_msg("case %s: got %c, want %c", cases[i].param,
                                 got, cases[i].want);
        }
        assert_int_equal(cfg_param_time_unit(NULL), 's');
}

/* --- lists --- */

static void test_lists(void **state)
{
        static const struct {
                const char *name, *param, *value, *want;
        } cases[] = {
                { "restriction and its table",
                  "smtpd_client_restrictions",
                  "check_client_access hash:/etc/postfix/access,",
                  "check_client_access|hash:/etc/postfix/access" },
                { "commas and white space",
                  "smtpd_recipient_restrictions",
                  " permit_mynetworks ,permit_sasl_authenticated,,\treject ",
                  "permit_mynetworks|permit_sasl_authenticated|reject" },
                { "braced argument kept whole",
                  "smtpd_recipient_restrictions",
                  "check_policy_service { inet:127.0.0.1:9998, timeout=10s },"
                  " permit",
                  "check_policy_service|{ inet:127.0.0.1:9998, timeout=10s }|"
                  "permit" },
                { "inline table kept whole", "virtual_alias_maps",
                  "inline:{a@x=b@y, c@x=d@y} hash:/x",
                  "inline:{a@x=b@y, c@x=d@y}|hash:/x" },
                { "empty items dropped", "mydestination",
                  "a, , b,,c ,", "a|b|c" },
                { "empty", "relay_domains", "", "" },
                { "expanded first", "mydestination",
                  "$myhostname, x.$mydomain",
                  "h.example.com|x.example.com" },
        };

        for (size_t i = 0; i < COUNT(cases); i++) {
                struct cfg *c = cfg_new("/etc/yubin");
                size_t n;
                char **items;
                char *got;

                cfg_set(c, "myhostname", "h.example.com", NULL);
                cfg_set(c, cases[i].param, cases[i].value, NULL);
                items = cfg_get_list(c, cases[i].param, &n);
                got = joined(items);
                if (strcmp(got, cases[i].want) != 0)
                        fail_msg("case %s: got \"%s\", want \"%s\"",
                                 cases[i].name, got, cases[i].want);
                size_t want_n = *cases[i].want ? 1 : 0;
                for (const char *p = cases[i].want; *p; p++)
                        want_n += *p == '|';
                if (n != want_n)
                        fail_msg("case %s: got %zu items, want %zu",
                                 cases[i].name, n, want_n);
                if (cfg_check(c) != 0) {
                        print_diags(c);
                        fail_msg("case %s: check failed", cases[i].name);
                }
                free(got);
                cfg_list_free(&items);
                cfg_free(&c);
        }
}

static void test_restriction_classes(void **state)
{
        struct cfg *c = parsed(
                "smtpd_restriction_classes = mua, strict\n"
                "mua = permit_sasl_authenticated, reject\n"
                "strict = reject_unknown_sender_domain, bogus_thing\n"
                "smtpd_recipient_restrictions =\n"
                "    mua, check_sender_access hash:/x, strict\n");
        char *s;

        assert_int_equal(cfg_check(c), -1);
        if (cfg_diag_count(c) != 1 ||
            !has_diag(c, 1, "main.cf:3: strict: \"bogus_thing\": unknown "
                      "restriction", NULL)) {
                print_diags(c);
                fail_msg("want one error for the class strict");
        }
        s = list_of(c, "mua");
        assert_string_equal(s, "permit_sasl_authenticated|reject");
        free(s);
        cfg_free(&c);

        c = parsed("smtpd_restriction_classes = nothere\n"
                   "smtpd_sender_restrictions = nothere\n");
        assert_int_equal(cfg_check(c), -1);
        if (!has_diag(c, 1, "main.cf:1: smtpd_restriction_classes: "
                      "restriction class \"nothere\" needs a definition",
                      NULL)) {
                print_diags(c);
                fail_msg("want an undefined class error");
        }
        cfg_free(&c);
}

/* --- unknown names, overrides --- */

static void test_unused_parameters(void **state)
{
        struct cfg *c = parsed("foo = bar\n"
                               "mine = example.net\n"
                               "myorigin = $mine\n"
                               "helper = x\n"
                               "other = ${helper?y}\n");

        assert_int_equal(cfg_check(c), 0);
        assert_string_equal(cfg_get(c, "myorigin"), "example.net");
        /* user parameters that are set may be read (a variable, so that
         * scans for table names in getter calls skip it) */
        const char *mine = "mine";
        assert_string_equal(cfg_get(c, mine), "example.net");
        if (count_diags(c, 0) != 2 || count_diags(c, 1) != 0 ||
            !has_diag(c, 0, "main.cf:1: unused parameter: foo=bar", NULL) ||
            !has_diag(c, 0, "main.cf:5: unused parameter: other=${helper?y}",
                      NULL)) {
                print_diags(c);
                fail_msg("want warnings for foo and other only");
        }
        /* checking again does not repeat them */
        assert_int_equal(cfg_check(c), 0);
        assert_int_equal(cfg_diag_count(c), 2);
        log_open("yubin", "cfg_test", 0, NULL);   /* quiet */
        assert_int_equal(cfg_log_diags(c), 0);
        cfg_free(&c);
}

static void test_overrides(void **state)
{
        struct cfg *c = parsed("smtpd_helo_required = no\n"
                               "smtpd_timeout = 300s\n"
                               "mua_restrictions = permit_sasl_authenticated,"
                               " reject\n");
        const char *where;

        assert_int_equal(cfg_override(c, "smtpd_helo_required=yes",
                                      "master.cf:12"), 0);
        assert_int_equal(cfg_override(c, " smtpd_client_restrictions = "
                                      "$mua_restrictions ", "master.cf:12"),
                         0);
        assert_int_equal(cfg_override(c, "smtpd_tls_security_level=",
                                      "master.cf:12"), 0);
        assert_int_equal(cfg_check(c), 0);
        assert_int_equal(cfg_diag_count(c), 0);         /* mua_ is used */
        assert_int_equal(cfg_get_bool(c, "smtpd_helo_required"), 1);
        assert_string_equal(cfg_get_raw(c, "smtpd_helo_required", &where),
                            "yes");
        assert_string_equal(where, "master.cf:12");
        assert_string_equal(cfg_get_raw(c, "smtpd_timeout", &where), "300s");
        assert_string_equal(where, "main.cf:2");
        assert_string_equal(cfg_get_raw(c, "queue_directory", &where),
                            "/var/spool/yubin");
        assert_null(where);
        char *s = list_of(c, "smtpd_client_restrictions");
        assert_string_equal(s, "permit_sasl_authenticated|reject");
        free(s);
        assert_int_equal(cfg_is_set(c, "smtpd_client_restrictions"), 1);
        /* only main.cf names are listed */
        assert_string_equal(cfg_set_name(c, 0), "smtpd_helo_required");
        assert_string_equal(cfg_set_name(c, 2), "mua_restrictions");
        assert_null(cfg_set_name(c, 3));

        /* an override is validated with its origin */
        assert_int_equal(cfg_override(c, "smtpd_timeout=5x", "master.cf:14"),
                         0);
        assert_int_equal(cfg_override(c, "nosuch=1", "master.cf:15"), 0);
        assert_int_equal(cfg_check(c), -1);
        if (!has_diag(c, 1, "master.cf:14: smtpd_timeout: \"5x\": expected "
                      "a time", NULL) ||
            !has_diag(c, 0, "master.cf:15: unused parameter: nosuch=1",
                      NULL)) {
                print_diags(c);
                fail_msg("override diagnostics missing");
        }
        /* malformed -o */
        assert_int_equal(cfg_override(c, "novalue", "master.cf:16"), -1);
        assert_int_equal(cfg_override(c, "=x", "master.cf:17"), -1);
        assert_true(has_diag(c, 1, "master.cf:16: -o \"novalue\": expected "
                             "name=value", NULL));
        assert_true(has_diag(c, 1, "master.cf:17: -o \"=x\": expected "
                             "name=value", NULL));
        /* malformed -o survives a new check */
        assert_int_equal(cfg_check(c), -1);
        assert_true(has_diag(c, 1, "master.cf:16: ", NULL));
        cfg_free(&c);

        /* an override beats main.cf read after it */
        c = cfg_new("/etc/yubin");
        cfg_override(c, "myorigin=over.example", "master.cf:3");
        cfg_parse_main(c, "main.cf", "myorigin = main.example\n", 24);
        assert_string_equal(cfg_get(c, "myorigin"), "over.example");
        cfg_free(&c);
}

static void test_raw_parameters(void **state)
{
        struct cfg *c = parsed("mailbox_command = /usr/bin/procmail -a "
                               "\"$EXTENSION\" ${user}\n"
                               "forward_path = $home/.forward\n");

        assert_int_equal(cfg_check(c), 0);
        assert_string_equal(cfg_get(c, "mailbox_command"),
                            "/usr/bin/procmail -a \"$EXTENSION\" ${user}");
        assert_non_null(strstr(cfg_get(c, "default_rbl_reply"), "$rbl_code"));
        assert_true(cfg_param_is_raw(cfg_param_find("forward_path")));
        assert_false(cfg_param_is_raw(cfg_param_find("myorigin")));
        char *s = list_of(c, "forward_path");
        assert_string_equal(s, "$home/.forward");
        free(s);
        cfg_free(&c);
}

static void test_set_and_order(void **state)
{
        struct cfg *c = cfg_new("/etc/yubin");

        cfg_set(c, "relayhost", "[smart.example]:587", "yubinctl");
        cfg_set(c, "myorigin", "a", NULL);
        cfg_set(c, "relayhost", "other", NULL);
        assert_string_equal(cfg_set_name(c, 0), "relayhost");
        assert_string_equal(cfg_set_name(c, 1), "myorigin");
        assert_null(cfg_set_name(c, 2));
        assert_string_equal(cfg_get(c, "relayhost"), "other");
        assert_int_equal(cfg_is_set(c, "relayhost"), 1);
        assert_int_equal(cfg_is_set(c, "relay_domains"), 0);
        const char *nosuch = "nosuch";
        assert_int_equal(cfg_is_set(c, nosuch), 0);
        /* a value read before a change is recomputed after it */
        cfg_set(c, "myhostname", "one.example", NULL);
        assert_string_equal(cfg_get(c, "mydomain"), "example");
        cfg_set(c, "myhostname", "two.example.org", NULL);
        assert_string_equal(cfg_get(c, "mydomain"), "example.org");
        cfg_set(c, "smtpd_helo_required", "maybe", NULL);
        assert_int_equal(cfg_check(c), -1);
        assert_true(has_diag(c, 1, "(set): smtpd_helo_required: ", NULL));
        cfg_free(&c);
}

/* --- real files --- */

static void test_seed_file(void **state)
{
        char *path = testdata("seed-main.cf");
        char *ref_path = testdata("seed-main.ref");
        char *ref = read_file(ref_path);
        struct cfg *c = cfg_new("/etc/yubin");
        struct buf got;
        const char *where;
        char *s;

        if (cfg_read_main(c, path) != 0 || cfg_check(c) != 0 ||
            cfg_diag_count(c) != 0) {
                print_diags(c);
                fail_msg("seed: got diagnostics, want none");
        }
        assert_string_equal(cfg_get(c, "myorigin"), "example.com");
        assert_string_equal(cfg_get(c, "smtpd_banner"),
                            "mail.example.com ESMTP unknown");
        assert_string_equal(cfg_get(c, "smtpd_sasl_local_domain"),
                            "mail.example.com");
        assert_string_equal(cfg_get(c, "relay_domains"), "");
        assert_int_equal(cfg_get_size(c, "message_size_limit"), 10485760);
        assert_int_equal(cfg_get_bool(c, "smtpd_sasl_auth_enable"), 1);
        assert_int_equal(cfg_get_bool(c, "smtpd_helo_required"), 1);
        s = list_of(c, "mydestination");
        assert_string_equal(s, "mail.example.com|localhost.example.com|"
                            "localhost|example.com");
        free(s);
        s = list_of(c, "mynetworks");
        assert_string_equal(s, "192.168.0.0/24|127.0.0.0/8");
        free(s);
        s = list_of(c, "smtpd_client_restrictions");
        assert_string_equal(s, "permit_mynetworks|check_client_access|"
                            "hash:/etc/postfix/access|permit");
        free(s);
        s = list_of(c, "smtpd_helo_restrictions");
        assert_string_equal(s, "permit_mynetworks|check_helo_access|"
                            "hash:/etc/postfix/access|reject_invalid_hostname|"
                            "reject_unknown_hostname|reject_non_fqdn_hostname|"
                            "permit");
        free(s);
        s = list_of(c, "smtpd_recipient_restrictions");
        assert_string_equal(s, "permit_mynetworks|permit_sasl_authenticated|"
                            "check_recipient_access|hash:/etc/postfix/access|"
                            "reject_non_fqdn_recipient|"
                            "reject_unauth_destination");
        free(s);
        cfg_get_raw(c, "smtpd_sender_restrictions", &where);
        s = xasprintf("%s:27", path);
        assert_string_equal(where, s);
        free(s);

        /* golden: every assignment, expanded, in file order */
        buf_init(&got, 0);
        for (size_t i = 0; cfg_set_name(c, i) != NULL; i++) {
                const char *name = cfg_set_name(c, i);

                buf_printf(&got, "%s = %s\n", name, cfg_get(c, name));
        }
        if (getenv("YUBIN_WRITE_GOLDEN") != NULL) {
                FILE *f = fopen(ref_path, "w");

                assert_non_null(f);
                fputs(buf_cstr(&got), f);
                fclose(f);
        } else if (strcmp(buf_cstr(&got), ref) != 0) {
                fail_msg("seed: expansion differs from %s (YUBIN_WRITE_GOLDEN=1 "
                         "rewrites it); got:\n%s", ref_path, buf_cstr(&got));
        }
        buf_release(&got);
        free(ref);
        free(ref_path);
        free(path);
        cfg_free(&c);
}

static void test_stock_files(void **state)
{
        static const char *const files[] = {
                "debian12-main.cf", "rhel9-main.cf", "seed-main.cf",
        };

        for (size_t i = 0; i < COUNT(files); i++) {
                char *path = testdata(files[i]);
                struct cfg *c = cfg_new("/etc/postfix");

                if (cfg_read_main(c, path) != 0 || cfg_check(c) != 0 ||
                    cfg_diag_count(c) != 0) {
                        print_diags(c);
                        fail_msg("case %s: got diagnostics, want none",
                                 files[i]);
                }
                if (i == 0) {
                        char *s = list_of(c, "mydestination");

                        assert_string_equal(s, "debian.example.com|"
                                            "debian.example.com|"
                                            "localhost.example.com|localhost");
                        free(s);
                        assert_string_equal(cfg_get(c, "myorigin"),
                                            "/etc/mailname");
                        assert_string_equal(cfg_get(c,
                                            "smtp_tls_session_cache_database"),
                                            "btree:/var/lib/yubin/smtp_scache");
                        assert_int_equal(cfg_get_size(c, "mailbox_size_limit"),
                                         0);
                        assert_string_equal(cfg_get(c, "smtpd_banner"),
                                            "debian.example.com ESMTP Yubin "
                                            "(Debian/GNU)");
                }
                if (i == 1) {
                        assert_non_null(strstr(cfg_get(c, "debugger_command"),
                                               "ddd $daemon_directory/"
                                               "$process_name $process_id"));
                        assert_string_equal(cfg_get(c, "daemon_directory"),
                                            "/usr/libexec/postfix");
                        assert_int_equal(cfg_get_int(c,
                                         "unknown_local_recipient_reject_code"),
                                         550);
                }
                free(path);
                cfg_free(&c);
        }
}

/* --- hostile input --- */

static void test_long_values(void **state)
{
        const size_t big = 1024 * 1024;
        struct buf b;
        struct cfg *c;

        buf_init(&b, 0);
        buf_puts(&b, "smtpd_banner = ");
        for (size_t i = 0; i < big; i++)
                buf_putc(&b, 'x');
        buf_puts(&b, "\nmydestination = ");
        for (size_t i = 0; i < big / 4; i++)
                buf_puts(&b, "a.b,");
        buf_puts(&b, "\nsmtpd_client_restrictions = ");
        for (size_t i = 0; i < big / 13; i++)
                buf_puts(&b, "reject_bogus ");
        buf_puts(&b, "\n");
        for (size_t i = 0; i < big; i++)
                buf_putc(&b, 'y');              /* a line with no '=' */
        buf_puts(&b, "\n");
        c = cfg_new("/etc/yubin");
        assert_int_equal(cfg_parse_main(c, "main.cf", b.data, b.len), -1);
        assert_int_equal(cfg_check(c), -1);
        assert_int_equal(strlen(cfg_get(c, "smtpd_banner")), big);
        size_t n;
        char **items = cfg_get_list(c, "mydestination", &n);
        assert_int_equal(n, big / 4);
        cfg_list_free(&items);
        /* one error per bad item up to a cap, then one line saying so */
        size_t errors = count_diags(c, 1);
        assert_in_range(errors, 3, 15);
        for (size_t i = 0; i < cfg_diag_count(c); i++)
                assert_true(strlen(cfg_diag(c, i, NULL)) < 400);
        assert_true(has_diag(c, 1, "main.cf:4: missing '='", "yyy..."));
        cfg_free(&c);
        buf_release(&b);
}

static void test_expansion_blowup(void **state)
{
        struct buf b;
        struct cfg *c;
        time_t start = time(NULL);

        buf_init(&b, 0);
        for (int i = 0; i < 12; i++)
                buf_printf(&b, "e%d = $e%d$e%d$e%d$e%d$e%d$e%d$e%d$e%d\n", i,
                           i + 1, i + 1, i + 1, i + 1, i + 1, i + 1, i + 1,
                           i + 1);
        buf_puts(&b, "e12 = xxxxxxxx\nmyorigin = $e0\n");
        c = parsed(buf_cstr(&b));
        assert_int_equal(cfg_check(c), -1);
        assert_true(has_diag(c, 1, "main.cf:14: myorigin: ",
                             "after expansion"));
        assert_true(time(NULL) - start < 5);
        buf_release(&b);
        cfg_free(&c);

        /* deeply nested conditional text */
        buf_init(&b, 0);
        buf_puts(&b, "x = 1\nmyorigin = ");
        for (int i = 0; i < 50000; i++)
                buf_puts(&b, "${x?");
        for (int i = 0; i < 50000; i++)
                buf_puts(&b, "}");
        buf_puts(&b, "\n");
        c = parsed(buf_cstr(&b));
        assert_int_equal(cfg_check(c), -1);
        assert_true(has_diag(c, 1, "main.cf:2: myorigin: ", "nested"));
        buf_release(&b);
        cfg_free(&c);
}

static void test_many_names_and_noise(void **state)
{
        struct buf b;
        struct cfg *c;
        uint32_t seed = 12345;

        buf_init(&b, 0);
        for (int i = 0; i < 20000; i++)
                buf_printf(&b, "user_param_%d = %d\n", i, i);
        c = parsed(buf_cstr(&b));
        assert_int_equal(cfg_check(c), 0);
        assert_int_equal(count_diags(c, 0), 20000);
        const char *last = "user_param_19999";
        assert_string_equal(cfg_get(c, last), "19999");
        buf_release(&b);
        cfg_free(&c);

        /* random bytes, NULs and all: diagnostics, never a crash */
        for (int round = 0; round < 20; round++) {
                char text[4096];

                for (size_t i = 0; i < sizeof(text); i++) {
                        seed = seed * 1103515245 + 12345;
                        static const char alphabet[] = "ab=$ {}()?:,#\n\t\r\\"
                                                       "smtpd_banner";
                        text[i] = (seed >> 16) % 7 == 0 ?
                                (char)(seed >> 8) :
                                alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
                }
                c = cfg_new("/etc/yubin");
                cfg_parse_main(c, "fuzz.cf", text, sizeof(text));
                cfg_check(c);
                cfg_get(c, "smtpd_banner");
                cfg_free(&c);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table_sorted_and_found),
                cmocka_unit_test(test_table_has_required),
                cmocka_unit_test(test_defaults_check_clean),
                cmocka_unit_test(test_default_values),
                cmocka_unit_test(test_dynamic_defaults),
                cmocka_unit_test(test_syntax_values),
                cmocka_unit_test(test_syntax_errors),
                cmocka_unit_test(test_read_main),
                cmocka_unit_test(test_expand),
                cmocka_unit_test(test_expansion_loops_in_check),
                cmocka_unit_test(test_expansion_depth),
                cmocka_unit_test(test_values),
                cmocka_unit_test(test_parsers),
                cmocka_unit_test(test_time_units),
                cmocka_unit_test(test_lists),
                cmocka_unit_test(test_restriction_classes),
                cmocka_unit_test(test_unused_parameters),
                cmocka_unit_test(test_overrides),
                cmocka_unit_test(test_raw_parameters),
                cmocka_unit_test(test_set_and_order),
                cmocka_unit_test(test_seed_file),
                cmocka_unit_test(test_stock_files),
                cmocka_unit_test(test_long_values),
                cmocka_unit_test(test_expansion_blowup),
                cmocka_unit_test(test_many_names_and_noise),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
