/* alias_file_test.c - aliases(5): target lists, target kinds, entries and
 * problems with file:line, duplicates, every truncation of a file */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alias_file.h"
#include "buf.h"
#include "cfg.h"
#include "mem.h"

#define ERR NULL

static void test_targets(void **state)
{
        static const struct {
                const char *in, *want;  /* "t|t|" or ERR */
        } cases[] = {
                { "ann", "ann|" },
                { "ann, bob@example.org", "ann|bob@example.org|" },
                { "  ann ,bob  ,, ", "ann|bob|" },
                { "\"|/usr/bin/procmail -a x, y\"",
                  "|/usr/bin/procmail -a x, y|" },
                { "|/usr/bin/vacation ann", "|/usr/bin/vacation ann|" },
                { "/var/log/mail.copy", "/var/log/mail.copy|" },
                { ":include:/etc/mail/staff", ":include:/etc/mail/staff|" },
                { "\"a b\"@example.org", "a b@example.org|" },
                { "\"a\\\"b\"", "a\"b|" },
                { "\"ann\"", "ann|" },
                { "", ERR },
                { " , ", ERR },
                { "\"\"", ERR },
                { "ann, \"\"", ERR },
                { "\"unbalanced", ERR },
                { "a b", ERR },
                { "|", ERR },
                { ":include:relative/path", ERR },
                { "ann\x01", ERR },
                { "@example.org", ERR },
                { "ann@", ERR },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char **t = (char **)1;
                size_t n = 99;
                struct status st;
                struct buf got;

                if (alias_targets_split(cases[i].in, &t, &n, &st) < 0) {
                        assert_null(t);
                        assert_int_equal(n, 0);
                        if (cases[i].want != NULL)
                                fail_msg("case %s: got error %s, want %s",
                                         cases[i].in, st.text, cases[i].want);
                        continue;
                }
                buf_init(&got, 0);
                for (size_t j = 0; j < n; j++)
                        buf_printf(&got, "%s|", t[j]);
                assert_null(t[n]);
                if (cases[i].want == NULL ||
                    strcmp(buf_cstr(&got), cases[i].want) != 0)
                        fail_msg("case %s: got \"%s\", want \"%s\"",
                                 cases[i].in, buf_cstr(&got),
                                 cases[i].want ? cases[i].want : "(error)");
                alias_targets_free(&t);
                assert_null(t);
                buf_release(&got);
        }
}

static void test_kinds(void **state)
{
        static const struct {
                const char *in;
                enum alias_target_kind kind;
                const char *arg;
        } cases[] = {
                { "ann", ALIAS_TARGET_ADDRESS, "ann" },
                { "|cmd x", ALIAS_TARGET_COMMAND, "cmd x" },
                { "/f", ALIAS_TARGET_FILE, "/f" },
                { ":include:/l", ALIAS_TARGET_INCLUDE, "/l" },
                { ":INCLUDE: /l", ALIAS_TARGET_INCLUDE, "/l" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const char *arg;
                enum alias_target_kind k = alias_target_kind(cases[i].in,
                                                             &arg);

                if (k != cases[i].kind || strcmp(arg, cases[i].arg) != 0)
                        fail_msg("case %s: got %d %s, want %d %s",
                                 cases[i].in, (int)k, arg,
                                 (int)cases[i].kind, cases[i].arg);
        }
}

static int add(void *ctx, const char *name, const char *value, int line)
{
        buf_printf(ctx, "%d %s=%s|", line, name, value);
        return 0;
}

static void diag(void *ctx, const char *text)
{
        buf_printf(ctx, "! %s|", text);
}

#define T(s) s, sizeof(s) - 1

static void test_parse(void **state)
{
        static const struct {
                const char *name;
                const char *text;
                size_t len;
                const char *want;
                int problems;
        } cases[] = {
                { "simple", T("a: b\n"), "1 a=b|", 0 },
                { "folded name", T("Root: Ann\n"), "1 root=Ann|", 0 },
                { "continuation", T("a: b,\n  c,\n\td\n"), "1 a=b, c, d|",
                  0 },
                { "comments and blanks", T("# x\n\na: b\n  # c\n  , d\n"),
                  "3 a=b , d|", 0 },
                { "quoted name", T("\"x y\": z\n"), "1 x y=z|", 0 },
                { "space before colon", T("a  : b\n"), "1 a=b|", 0 },
                { "missing colon", T("a b\nc: d\n"),
                  "! f:1: missing ':' after the alias name|2 c=d|", 1 },
                { "empty name", T(": b\n"), "! f:1: empty alias name|", 1 },
                { "space in name", T("a b: c\n"),
                  "! f:1: white space in alias name (quote it)|", 1 },
                { "empty value", T("a:\nb: c\n"), "! f:1: no targets|2 b=c|",
                  1 },
                { "bad target", T("a: x y\n"), "! f:1: white space in an "
                  "address (separate targets with commas): \"x y\"|", 1 },
                { "orphan continuation", T("  x\na: b\n"),
                  "! f:1: continuation line without an alias before it|"
                  "2 a=b|", 1 },
                { "NUL", T("a: b\0c\nd: e\n"),
                  "! f:1: NUL character in line|2 d=e|", 1 },
                { "CRLF", T("a: b\r\n"), "1 a=b|", 0 },
                { "no newline at end", T("a: b"), "1 a=b|", 0 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct buf got;
                struct status st;
                int r;

                buf_init(&got, 0);
                r = alias_file_parse("f", cases[i].text, cases[i].len, add,
                                     diag, &got, &st);
                if (r != cases[i].problems ||
                    strcmp(buf_cstr(&got), cases[i].want) != 0)
                        fail_msg("case %s: got %d \"%s\", want %d \"%s\"",
                                 cases[i].name, r, buf_cstr(&got),
                                 cases[i].problems, cases[i].want);
                /* without diag the first problem ends it, named in st */
                buf_reset(&got);
                r = alias_file_parse("f", cases[i].text, cases[i].len, add,
                                     NULL, &got, &st);
                if (cases[i].problems > 0) {
                        assert_int_equal(r, -1);
                        assert_memory_equal(st.text, "f:", 2);
                } else {
                        assert_int_equal(r, 0);
                }
                buf_release(&got);
        }
}

/* every prefix of a file, each in an exact-size buffer */
static void test_truncated(void **state)
{
        static const char text[] =
                "# aliases\npostmaster: root\n\"q n\": \"|/bin/x a, b\",\n"
                "  /tmp/f, :include:/etc/l\nbad line\nroot: ann";

        for (size_t n = 0; n <= sizeof(text) - 1; n++) {
                char *copy = xmalloc(n + 1);
                struct buf got;
                struct status st;

                memcpy(copy, text, n);
                buf_init(&got, 0);
                assert_true(alias_file_parse("f", copy, n, add, diag, &got,
                                             &st) >= 0);
                buf_release(&got);
                free(copy);
        }
}

static void test_check(void **state)
{
        char path[] = "/tmp/alias_file_test.XXXXXX";
        int fd = mkstemp(path);
        static const char text[] = "a: b\nA: c\nbroken\nd: e\n";
        struct buf got, want;
        struct status st;
        size_t entries;

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, sizeof(text) - 1),
                         (ssize_t)sizeof(text) - 1);
        close(fd);
        buf_init(&got, 0);
        buf_init(&want, 0);
        assert_int_equal(alias_file_check(path, diag, &got, &entries, &st),
                         1);
        assert_int_equal(entries, 3);
        buf_printf(&want, "! warning: %s:2: duplicate alias \"a\" (the first "
                   "one is used)|! %s:3: missing ':' after the alias name|",
                   path, path);
        assert_string_equal(buf_cstr(&got), buf_cstr(&want));
        unlink(path);
        assert_int_equal(alias_file_check(path, diag, &got, &entries, &st),
                         -1);
        assert_non_null(strstr(st.text, "no such file"));
        buf_release(&got);
        buf_release(&want);
}

static void test_rebuild(void **state)
{
        char good[] = "/tmp/alias_file_test.good.XXXXXX";
        char bad[] = "/tmp/alias_file_test.bad.XXXXXX";
        int fd1 = mkstemp(good), fd2 = mkstemp(bad);
        struct cfg *c = cfg_new("/nonexistent");
        struct buf got, want;
        struct status st;
        char *value;

        assert_true(fd1 >= 0 && fd2 >= 0);
        assert_int_equal(write(fd1, "a: b\n", 5), 5);
        assert_int_equal(write(fd2, "a: b\nc d\n", 9), 9);
        close(fd1);
        close(fd2);
        buf_init(&got, 0);
        buf_init(&want, 0);
        value = xasprintf("hash:%s, btree:%s inline:{x=y}", good, bad);
        cfg_set(c, "alias_database", value, NULL);
        assert_int_equal(alias_file_rebuild(c, diag, &got, &st), 1);
        buf_printf(&want, "! %s:2: missing ':' after the alias name|"
                   "! warning: alias_database: inline:{x=y}: not a hash:, "
                   "btree: or texthash: file; skipped|", bad);
        assert_string_equal(buf_cstr(&got), buf_cstr(&want));
        free(value);
        /* a missing file: -1, and the others are still checked */
        value = xasprintf("texthash:/nonexistent/aliases, proxy:hash:%s",
                          bad);
        cfg_set(c, "alias_database", value, NULL);
        buf_reset(&got);
        assert_int_equal(alias_file_rebuild(c, diag, &got, &st), -1);
        assert_non_null(strstr(st.text, "/nonexistent/aliases"));
        assert_non_null(strstr(buf_cstr(&got), ":2: missing ':'"));
        free(value);
        unlink(good);
        unlink(bad);
        buf_release(&got);
        buf_release(&want);
        cfg_free(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_targets),
                cmocka_unit_test(test_kinds),
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_truncated),
                cmocka_unit_test(test_check),
                cmocka_unit_test(test_rebuild),
        };

        return cmocka_run_group_tests_name("alias_file", tests, NULL, NULL);
}
