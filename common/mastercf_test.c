/* mastercf_test.c - master.cf: columns, inet forms, -o, errors, stock file
 * Table-driven for single entries; the Debian 12 stock master.cf must parse
 * with no error and its dump must equal testdata/debian12-master.ref
 * (YUBIN_WRITE_GOLDEN=1 rewrites it; review the diff). Test data is found
 * next to this file, or in $YUBIN_TESTDATA. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "cfg.h"
#include "mastercf.h"
#include "mem.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

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

static struct mastercf *parsed(const char *text)
{
        return mastercf_parse("master.cf", text, strlen(text));
}

static size_t error_count(const struct mastercf *m)
{
        size_t n = 0;

        while (m->errors[n] != NULL)
                n++;
        return n;
}

static void print_errors(const struct mastercf *m)
{
        for (size_t i = 0; m->errors[i] != NULL; i++)
                print_message("  %s\n", m->errors[i]);
}

/* dump - one service as a line of text, for tables and the golden file */
static void dump(struct buf *b, const struct mastercf_service *s)
{
        buf_printf(b, "%d service=%s type=%s host=%s port=%s private=%d "
                   "unpriv=%d chroot=%d wakeup=%s maxproc=%d command=%s",
                   s->line, s->service, s->type, s->host ? s->host : "-",
                   s->port ? s->port : "-", s->private_, s->unpriv, s->chroot,
                   s->wakeup, s->maxproc, s->command);
        for (char **a = s->args; *a != NULL; a++)
                buf_printf(b, " arg=[%s]", *a);
        for (char **o = s->overrides; *o != NULL; o++)
                buf_printf(b, " -o=[%s]", *o);
        buf_puts(b, "\n");
}

static char *dump_all(const struct mastercf *m)
{
        struct buf b;

        buf_init(&b, 0);
        for (size_t i = 0; i < m->count; i++)
                dump(&b, &m->services[i]);
        return buf_steal(&b);
}

static void test_entries(void **state)
{
        static const struct {
                const char *name, *text, *want;
        } cases[] = {
                { "port only", "smtp      inet  n       -       y       -"
                  "       -       smtpd\n",
                  "1 service=smtp type=inet host=- port=smtp private=0 "
                  "unpriv=1 chroot=1 wakeup=- maxproc=-1 command=smtpd\n" },
                { "IPv4 host and port",
                  "127.0.0.1:2525 inet n - n - 10 smtpd -v\n",
                  "1 service=127.0.0.1:2525 type=inet host=127.0.0.1 "
                  "port=2525 private=0 unpriv=1 chroot=0 wakeup=- maxproc=10 "
                  "command=smtpd arg=[-v]\n" },
                { "IPv6 host and port", "[::1]:2525 inet n - n - - smtpd\n",
                  "1 service=[::1]:2525 type=inet host=::1 port=2525 "
                  "private=0 unpriv=1 chroot=0 wakeup=- maxproc=-1 "
                  "command=smtpd\n" },
                { "IPv6 any", "[::]:smtp inet n - n - - smtpd\n",
                  "1 service=[::]:smtp type=inet host=:: port=smtp private=0 "
                  "unpriv=1 chroot=0 wakeup=- maxproc=-1 command=smtpd\n" },
                { "star host", "*:587 inet n - n - - smtpd\n",
                  "1 service=*:587 type=inet host=- port=587 private=0 "
                  "unpriv=1 chroot=0 wakeup=- maxproc=-1 command=smtpd\n" },
                { "host name and service name",
                  "localhost:submission inet n - n - - smtpd\n",
                  "1 service=localhost:submission type=inet host=localhost "
                  "port=submission private=0 unpriv=1 chroot=0 wakeup=- "
                  "maxproc=-1 command=smtpd\n" },
                { "unix with wakeup", "pickup unix n - y 60 1 pickup\n",
                  "1 service=pickup type=unix host=- port=- private=0 "
                  "unpriv=1 chroot=1 wakeup=60 maxproc=1 command=pickup\n" },
                { "wakeup when used", "tlsmgr unix - - y 1000? 1 tlsmgr\n",
                  "1 service=tlsmgr type=unix host=- port=- private=1 "
                  "unpriv=1 chroot=1 wakeup=1000? maxproc=1 command=tlsmgr\n" },
                { "unix-dgram, all y",
                  "postlog unix-dgram y y y - 0 postlogd\n",
                  "1 service=postlog type=unix-dgram host=- port=- private=1 "
                  "unpriv=1 chroot=1 wakeup=- maxproc=0 command=postlogd\n" },
                { "fifo and pass", "q fifo n n n - - qmgr\n"
                  "s pass - - n - - smtpd\n",
                  "1 service=q type=fifo host=- port=- private=0 unpriv=0 "
                  "chroot=0 wakeup=- maxproc=-1 command=qmgr\n"
                  "2 service=s type=pass host=- port=- private=1 unpriv=1 "
                  "chroot=0 wakeup=- maxproc=-1 command=smtpd\n" },
                { "overrides, args, continuation and comments",
                  "# head\n"
                  "submission inet n - y - - smtpd\n"
                  "  -o syslog_name=yubin/submission\n"
                  "#  -o smtpd_tls_security_level=encrypt\n"
                  "\n"
                  "  -o { smtpd_client_restrictions = "
                  "permit_sasl_authenticated, reject }\n"
                  "\t-o smtpd_helo_restrictions= -v\n"
                  "  -o {smtpd_banner=$myhostname  ESMTP}\n",
                  "2 service=submission type=inet host=- port=submission "
                  "private=0 unpriv=1 chroot=1 wakeup=- maxproc=-1 "
                  "command=smtpd arg=[-v] -o=[syslog_name=yubin/submission] "
                  "-o=[smtpd_client_restrictions=permit_sasl_authenticated, "
                  "reject] -o=[smtpd_helo_restrictions=] "
                  "-o=[smtpd_banner=$myhostname  ESMTP]\n" },
                { "pipe argv keeps -o",
                  "maildrop unix - n n - - pipe\n"
                  "  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d "
                  "${recipient} -o x\n",
                  "1 service=maildrop type=unix host=- port=- private=1 "
                  "unpriv=0 chroot=0 wakeup=- maxproc=-1 command=pipe "
                  "arg=[flags=DRXhu] arg=[user=vmail] "
                  "arg=[argv=/usr/bin/maildrop] arg=[-d] arg=[${recipient}] "
                  "arg=[-o] arg=[x]\n" },
                { "braced argument", "x unix - - n - - cmd { a b } c\n",
                  "1 service=x type=unix host=- port=- private=1 unpriv=1 "
                  "chroot=0 wakeup=- maxproc=-1 command=cmd arg=[a b] "
                  "arg=[c]\n" },
        };

        for (size_t i = 0; i < COUNT(cases); i++) {
                struct mastercf *m = parsed(cases[i].text);
                char *got = dump_all(m);

                if (error_count(m) != 0 || strcmp(got, cases[i].want) != 0) {
                        print_errors(m);
                        fail_msg("case %s: got\n%s want\n%s", cases[i].name,
                                 got, cases[i].want);
                }
                assert_string_equal(m->services[0].file, "master.cf");
                free(got);
                mastercf_free(&m);
                assert_null(m);
        }
}

static void test_errors(void **state)
{
        static const struct {
                const char *name, *text, *want;
        } cases[] = {
                { "bad type", "smtp tcp n - y - - smtpd\n",
                  "master.cf:1: type \"tcp\": expected inet, unix, "
                  "unix-dgram, fifo or pass" },
                { "bad private", "smtp inet x - y - - smtpd\n",
                  "master.cf:1: private column: \"x\": expected y, n or -" },
                { "bad unpriv", "smtp inet n yes y - - smtpd\n",
                  "master.cf:1: unpriv column: \"yes\": expected y, n or -" },
                { "bad chroot", "smtp inet n - Y - - smtpd\n",
                  "master.cf:1: chroot column: \"Y\": expected y, n or -" },
                { "bad wakeup", "smtp inet n - n abc - smtpd\n",
                  "master.cf:1: wakeup column: \"abc\": expected -, a number "
                  "of seconds, or seconds followed by ?" },
                { "bad wakeup ??", "smtp inet n - n 5?? - smtpd\n",
                  "master.cf:1: wakeup column: \"5??\"" },
                { "negative maxproc", "smtp inet n - n - -1 smtpd\n",
                  "master.cf:1: maxproc column: \"-1\": expected - or a "
                  "number" },
                { "huge maxproc", "smtp inet n - n - 99999999999 smtpd\n",
                  "master.cf:1: maxproc column: \"99999999999\"" },
                { "too few fields", "smtp inet n - y\n",
                  "master.cf:1: expected at least 8 fields (service type "
                  "private unpriv chroot wakeup maxproc command), found 5" },
                { "IPv6 without brackets", "::1:25 inet n - n - - smtpd\n",
                  "master.cf:1: service \"::1:25\": write an IPv6 address in "
                  "brackets, as [address]:port" },
                { "bad IPv6", "[zz::1]:25 inet n - n - - smtpd\n",
                  "master.cf:1: service \"[zz::1]:25\": bad IPv6 address" },
                { "brackets without port", "[::1] inet n - n - - smtpd\n",
                  "master.cf:1: service \"[::1]\": expected [address]:port" },
                { "port 0", "0 inet n - n - - smtpd\n",
                  "master.cf:1: service \"0\": bad port \"0\"" },
                { "port too big", "1.2.3.4:70000 inet n - n - - smtpd\n",
                  "master.cf:1: service \"1.2.3.4:70000\": bad port "
                  "\"70000\"" },
                { "empty port", "1.2.3.4: inet n - n - - smtpd\n",
                  "master.cf:1: service \"1.2.3.4:\": bad port \"\"" },
                { "bad host", "a/b:25 inet n - n - - smtpd\n",
                  "master.cf:1: service \"a/b:25\": bad host name" },
                { "slash in a unix name", "../x unix - - n - - local\n",
                  "master.cf:1: service \"../x\": a unix service name may "
                  "not contain '/'" },
                { "-o without =",
                  "smtp inet n - n - - smtpd -o smtpd_helo_required\n",
                  "master.cf:1: -o \"smtpd_helo_required\": expected "
                  "name=value" },
                { "-o name = value as three words",
                  "smtp inet n - n - - smtpd\n"
                  "  -o smtpd_helo_required = yes\n",
                  "master.cf:1: -o \"smtpd_helo_required\": expected "
                  "name=value" },
                { "-o at the end", "smtp inet n - n - - smtpd -o\n",
                  "master.cf:1: -o at the end of the entry: expected "
                  "name=value" },
                { "-o =value", "smtp inet n - n - - smtpd -o =x\n",
                  "master.cf:1: -o \"=x\": expected name=value" },
                { "-o { name with space }",
                  "smtp inet n - n - - smtpd -o { a b = c }\n",
                  "master.cf:1: -o \"{a b = c}\": white space in the "
                  "parameter name" },
                { "unbalanced brace", "smtp inet n - n - - smtpd -o { a = b\n",
                  "master.cf:1: missing '}' after \"{ a = b\"" },
                { "text after brace",
                  "smtp inet n - n - - smtpd -o { a = b }x\n",
                  "master.cf:1: text after '}': \"x\"" },
                { "brace in a column", "{ smtp } inet n - n - - smtpd\n",
                  "master.cf:1: field 1: { } is allowed only in command "
                  "arguments" },
                { "continuation first", "  -o a=b\n",
                  "master.cf:1: continuation line without a service line "
                  "before it" },
                { "NUL", "smtp inet n - n - - sm\001\n", NULL },
        };

        for (size_t i = 0; i < COUNT(cases); i++) {
                struct mastercf *m = parsed(cases[i].text);

                if (cases[i].want == NULL) {
                        mastercf_free(&m);
                        continue;
                }
                if (error_count(m) != 1 || m->count != 0 ||
                    strncmp(m->errors[0], cases[i].want,
                            strlen(cases[i].want)) != 0) {
                        print_errors(m);
                        fail_msg("case %s: got %zu errors, %zu entries, want "
                                 "\"%s\"", cases[i].name, error_count(m),
                                 m->count, cases[i].want);
                }
                mastercf_free(&m);
        }

        /* NUL bytes need a length */
        static const char nul[] = "a unix - - n - - x\nb unix - - n - - y\0z\n";
        struct mastercf *m = mastercf_parse("master.cf", nul, sizeof(nul) - 1);
        assert_int_equal(m->count, 1);
        assert_int_equal(error_count(m), 1);
        assert_string_equal(m->errors[0], "master.cf:2: NUL character in line");
        mastercf_free(&m);
}

static void test_good_and_bad_lines(void **state)
{
        struct mastercf *m = parsed(
                "smtp inet n - y - - smtpd\n"                   /* 1 */
                "bad inet q - y - - smtpd\n"                    /* 2 */
                "relay unix - - y - - smtp\n"                   /* 3 */
                "  -o syslog_name=yubin/relay\n"                /* 4 */
                "  -o broken\n"                                 /* 5 */
                "# comment\n"                                   /* 6 */
                "local unix - n n - - local\n"                  /* 7 */
                "short unix\n"                                  /* 8 */
                "smtp inet n - y - - smtpd -v\n"                /* 9 */
                "smtp unix - - y - - smtp\n");                  /* 10 */

        if (error_count(m) != 4) {
                print_errors(m);
                fail_msg("got %zu errors, want 4", error_count(m));
        }
        assert_string_equal(m->errors[0], "master.cf:2: private column: "
                            "\"q\": expected y, n or -");
        assert_string_equal(m->errors[1], "master.cf:3: -o \"broken\": "
                            "expected name=value");
        assert_string_equal(m->errors[2], "master.cf:8: expected at least "
                            "8 fields (service type private unpriv chroot "
                            "wakeup maxproc command), found 2");
        assert_string_equal(m->errors[3], "master.cf:9: duplicate service "
                            "smtp/inet (first defined at line 1)");
        assert_int_equal(m->count, 3);
        assert_string_equal(m->services[0].service, "smtp");
        assert_int_equal(m->services[0].line, 1);
        assert_int_equal(m->services[0].args[0] == NULL, 1);
        assert_string_equal(m->services[1].service, "local");
        assert_int_equal(m->services[1].line, 7);
        assert_string_equal(m->services[2].type, "unix");
        assert_int_equal(m->services[2].line, 10);
        mastercf_free(&m);
}

static void test_debian_stock(void **state)
{
        char *path = testdata("debian12-master.cf");
        char *ref_path = testdata("debian12-master.ref");
        char *ref = read_file(ref_path);
        struct mastercf *m = mastercf_read(path);
        char *got = dump_all(m);

        if (error_count(m) != 0) {
                print_errors(m);
                fail_msg("debian12-master.cf: got errors, want none");
        }
        assert_int_equal(m->count, 31);
        assert_string_equal(m->services[0].file, path);
        if (getenv("YUBIN_WRITE_GOLDEN") != NULL) {
                FILE *f = fopen(ref_path, "w");

                assert_non_null(f);
                fputs(got, f);
                fclose(f);
        } else if (strcmp(got, ref) != 0) {
                fail_msg("dump differs from %s (YUBIN_WRITE_GOLDEN=1 "
                         "rewrites it); got:\n%s", ref_path, got);
        }

        /* each -o makes a valid configuration with main.cf */
        for (size_t i = 0; i < m->count; i++) {
                const struct mastercf_service *s = &m->services[i];
                struct cfg *c = cfg_new("/etc/yubin");
                char *where = xasprintf("%s:%d", s->file, s->line);

                for (char **o = s->overrides; *o != NULL; o++)
                        assert_int_equal(cfg_override(c, *o, where), 0);
                if (cfg_check(c) != 0 || cfg_diag_count(c) != 0)
                        fail_msg("case %s: -o gave diagnostics: %s",
                                 s->service, cfg_diag(c, 0, NULL));
                if (strcmp(s->service, "relay") == 0) {
                        cfg_set(c, "service_name", "relay", NULL);
                        assert_string_equal(cfg_get(c, "syslog_name"),
                                            "postfix/relay");
                }
                free(where);
                cfg_free(&c);
        }
        free(got);
        free(ref);
        free(ref_path);
        free(path);
        mastercf_free(&m);
}

static void test_overrides_checked_by_cfg(void **state)
{
        struct mastercf *m = parsed("submission inet n - n - - smtpd\n"
                                    "  -o smtpd_tls_security_level=encrypt\n"
                                    "  -o smtpd_timeout=5x\n"
                                    "  -o mua_helper=x\n");
        struct cfg *c = cfg_new("/etc/yubin");
        const struct mastercf_service *s = &m->services[0];
        char *where = xasprintf("%s:%d", s->file, s->line);

        assert_int_equal(m->count, 1);
        for (char **o = s->overrides; *o != NULL; o++)
                cfg_override(c, *o, where);
        assert_int_equal(cfg_check(c), -1);
        assert_string_equal(cfg_get(c, "smtpd_tls_security_level"),
                            "encrypt");
        assert_int_equal(cfg_diag_count(c), 2);
        assert_true(strncmp(cfg_diag(c, 0, NULL), "master.cf:1: "
                            "smtpd_timeout: \"5x\": expected a time", 44) == 0);
        assert_string_equal(cfg_diag(c, 1, NULL), "master.cf:1: unused "
                            "parameter: mua_helper=x");
        free(where);
        cfg_free(&c);
        mastercf_free(&m);
}

static void test_read_errors(void **state)
{
        struct mastercf *m = mastercf_read("/nonexistent/master.cf");

        assert_int_equal(m->count, 0);
        assert_int_equal(error_count(m), 1);
        assert_string_equal(m->errors[0], "/nonexistent/master.cf: cannot "
                            "open: No such file or directory");
        mastercf_free(&m);
        mastercf_free(&m);

        m = parsed("");
        assert_int_equal(m->count, 0);
        assert_int_equal(error_count(m), 0);
        mastercf_free(&m);
}

static void test_hostile(void **state)
{
        struct buf b;
        struct mastercf *m;
        uint32_t seed = 777;

        /* a 1 MB entry */
        buf_init(&b, 0);
        buf_puts(&b, "x unix - - n - - cmd\n");
        for (int i = 0; i < 100000; i++)
                buf_puts(&b, "  -o a=b arg\n");
        m = mastercf_parse("master.cf", b.data, b.len);
        assert_int_equal(error_count(m), 0);
        assert_int_equal(m->count, 1);
        assert_string_equal(m->services[0].overrides[99999], "a=b");
        assert_string_equal(m->services[0].args[99999], "arg");
        assert_null(m->services[0].args[100000]);
        mastercf_free(&m);

        /* a 1 MB field in an error is cut in the message */
        buf_reset(&b);
        buf_puts(&b, "x ");
        for (int i = 0; i < 1000000; i++)
                buf_putc(&b, 't');
        buf_puts(&b, " - - n - - cmd\n");
        m = mastercf_parse("master.cf", b.data, b.len);
        assert_int_equal(error_count(m), 1);
        assert_true(strlen(m->errors[0]) < 300);
        mastercf_free(&m);

        /* many services, duplicates among them */
        buf_reset(&b);
        for (int i = 0; i < 20000; i++)
                buf_printf(&b, "s%d unix - - n - - cmd\n", i % 15000);
        m = mastercf_parse("master.cf", b.data, b.len);
        assert_int_equal(m->count, 15000);
        assert_int_equal(error_count(m), 5000);
        mastercf_free(&m);

        /* noise */
        for (int round = 0; round < 30; round++) {
                char text[2048];
                static const char alphabet[] = "ab -{}[]:#\n\t\r=oyn0123?";

                for (size_t i = 0; i < sizeof(text); i++) {
                        seed = seed * 1103515245 + 12345;
                        text[i] = (seed >> 16) % 9 == 0 ? (char)(seed >> 8) :
                                alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
                }
                m = mastercf_parse("fuzz.cf", text, sizeof(text));
                mastercf_free(&m);
        }
        buf_release(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_entries),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_good_and_bad_lines),
                cmocka_unit_test(test_debian_stock),
                cmocka_unit_test(test_overrides_checked_by_cfg),
                cmocka_unit_test(test_read_errors),
                cmocka_unit_test(test_hostile),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
