/* map_regexp_test.c - regexp:, pcre: and sqlite: tables: rules in file
 * order, flags, $n substitution, if/endif, negation, inline tables, the
 * problems reported with file:line; sqlite queries with %s %u %d and SQL
 * quoting */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "map.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static char dir[] = "/tmp/map_regexp_test.XXXXXX";

static char *write_file(const char *name, const char *text)
{
        char *path = NULL;
        FILE *fp;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                abort();
        fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(text, fp);
        fclose(fp);
        return path;
}

static const char rules[] =
        "# comment\n"
        "/^Subject: (.*)spam(.*)/  REJECT spammy $1|${2}\n"
        "if /^X-/\n"
        "/^X-Bad: ([a-z]+)/ WARN bad $1, $$5\n"
        "endif\n"
        "/^X-Other/ DUNNO outside\n"
        "!/@example\\.com$/ DUNNO foreign\n"
        "/^(.*)@example\\.com$/ OK\n"
        "  user $1\n"
        "/CASE/i must match case\n"
        "#/^#/ commented out\n";

struct mcase {
        const char *name;
        const char *key;
        const char *want;       /* NULL: not found */
};

static const struct mcase cases[] = {
        { "groups", "Subject: big spam offer", "REJECT spammy big | offer" },
        { "case-insensitive by default", "subject: SPAM", "REJECT spammy |" },
        { "if taken", "X-Bad: thing", "WARN bad thing, $5" },
        { "if skipped", "Y-Bad: thing", "DUNNO foreign" },
        { "after endif", "X-Other: 1", "DUNNO outside" },
        { "negation", "ann@example.org", "DUNNO foreign" },
        { "continuation line", "ann@example.com", "OK user ann" },
        { "flag i toggles", "case@example.com", "OK user case" },
        { "flag i toggles, upper", "CASE@example.com", "OK user CASE" },
};

static void run_table(const char *spec)
{
        struct maps *m;
        struct status st;

        if (maps_open(spec, "test", 0, &m, &st) < 0)
                fail_msg("open %s: %s", spec, st.text);
        for (size_t i = 0; i < COUNT(cases); i++) {
                const char *v = NULL;
                int r = maps_lookup(m, cases[i].key, &v, &st);

                if ((r == 1) != (cases[i].want != NULL) ||
                    (r == 1 && strcmp(v, cases[i].want) != 0))
                        fail_msg("case %s (%s): got %d \"%s\", want \"%s\"",
                                 cases[i].name, spec, r, r == 1 ? v : "",
                                 cases[i].want ? cases[i].want : "(none)");
        }
        maps_free(&m);
}

static void test_pattern_files(void **state)
{
        char *path = write_file("rules", rules), *spec = NULL;

        for (int i = 0; i < 2; i++) {
                if (asprintf(&spec, "%s:%s", i ? "pcre" : "regexp", path) < 0)
                        abort();
                run_table(spec);
                free(spec);
        }
        free(path);
}

static void test_inline_and_problems(void **state)
{
        static const char bad[] =
                "/unclosed REJECT\n"
                "/x/\n"
                "/(a)/ REJECT $2\n"
                "endif\n"
                "/x/q REJECT\n"
                "if /y/\n";
        char *path = write_file("bad", bad), *spec = NULL;
        struct maps *m;
        struct status st;
        const char *v;

        /* the default of smtpd_forbidden_commands */
        assert_int_equal(maps_open("regexp:{{/^[^A-Z]/ Thrash}, {/^GE(T)/ "
                                   "got $1}}", "t", 0, &m, &st), 0);
        assert_int_equal(maps_lookup(m, "1x", &v, &st), 1);
        assert_string_equal(v, "Thrash");
        assert_int_equal(maps_lookup(m, "get", &v, &st), 1);
        assert_string_equal(v, "got t");
        assert_int_equal(maps_lookup(m, "HELO", &v, &st), 0);
        maps_free(&m);
        /* without a diag the first problem is the error, with its line */
        for (int i = 0; i < 2; i++) {
                if (asprintf(&spec, "%s:%s", i ? "pcre" : "regexp", path) < 0)
                        abort();
                assert_int_equal(map_check(spec, 0, NULL, NULL, &st), -1);
                if (strstr(st.text, "bad:1: ") == NULL)
                        fail_msg("case %s: got \"%s\"", spec, st.text);
                free(spec);
        }
        free(path);
}

static void count_diag(void *ctx, const char *text)
{
        (*(int *)ctx)++;
}

static void test_problem_count(void **state)
{
        char *path = write_file("bad2", "/a/ OK\n/(b)/ OK $3\nendif\n"
                                "/c/z OK\n"), *spec = NULL;
        struct status st;
        int n = 0;

        if (asprintf(&spec, "regexp:%s", path) < 0)
                abort();
        assert_int_equal(map_check(spec, 0, count_diag, &n, &st), 3);
        assert_int_equal(n, 3);
        free(spec);
        free(path);
}

static void test_sqlite(void **state)
{
        char *db = NULL, *cf, *text = NULL, *spec = NULL;
        struct maps *m;
        struct status st;
        const char *v;
        sqlite3 *h;

        if (asprintf(&db, "%s/t.sqlite", dir) < 0)
                abort();
        assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
        assert_int_equal(sqlite3_exec(h, "CREATE TABLE t (k TEXT, v TEXT);"
                "INSERT INTO t VALUES ('ann@example.com', 'OK'),"
                "('o''neil@example.com', 'REJECT quoted'),"
                "('bob@example.com', 'a'), ('bob@example.com', 'b'),"
                "('example.net', 'REJECT domain'), ('ann', 'local');",
                NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(h);
        if (asprintf(&text, "dbpath = %s\n"
                     "query = SELECT v FROM t WHERE k = '%%s'\n"
                     "result_format = [%%s]\n", db) < 0)
                abort();
        cf = write_file("q.cf", text);
        if (asprintf(&spec, "sqlite:%s", cf) < 0)
                abort();
        assert_int_equal(maps_open(spec, "t", 0, &m, &st), 0);
        assert_int_equal(maps_lookup(m, "ANN@example.com", &v, &st), 1);
        assert_string_equal(v, "[OK]");
        assert_int_equal(maps_lookup(m, "o'neil@example.com", &v, &st), 1);
        assert_string_equal(v, "[REJECT quoted]");
        assert_int_equal(maps_lookup(m, "bob@example.com", &v, &st), 1);
        assert_string_equal(v, "[a],[b]");
        assert_int_equal(maps_lookup(m, "x' OR '1'='1", &v, &st), 0);
        assert_int_equal(maps_lookup(m, "nobody", &v, &st), 0);
        maps_free(&m);
        free(text);
        free(cf);
        /* %d and %u; %d without a domain: no look-up */
        if (asprintf(&text, "dbpath = %s\n"
                     "query = SELECT v FROM t WHERE k = '%%d' OR k = '%%u'\n",
                     db) < 0)
                abort();
        cf = write_file("q2.cf", text);
        free(spec);
        if (asprintf(&spec, "sqlite:%s", cf) < 0)
                abort();
        assert_int_equal(maps_open(spec, "t", 0, &m, &st), 0);
        assert_int_equal(maps_lookup(m, "x@example.net", &v, &st), 1);
        assert_string_equal(v, "REJECT domain");
        assert_int_equal(maps_lookup(m, "ann@nowhere.example", &v, &st), 1);
        assert_string_equal(v, "local");
        assert_int_equal(maps_lookup(m, "ann", &v, &st), 0);
        maps_free(&m);
        /* a broken query is "could not tell" */
        free(text);
        free(cf);
        if (asprintf(&text, "dbpath = %s\nquery = SELECT nope FROM t\n",
                     db) < 0)
                abort();
        cf = write_file("q3.cf", text);
        free(spec);
        if (asprintf(&spec, "sqlite:%s", cf) < 0)
                abort();
        assert_int_equal(maps_open(spec, "t", 0, &m, &st), 0);
        assert_int_equal(maps_lookup(m, "a", &v, &st), -1);
        maps_free(&m);
        free(text);
        free(cf);
        free(spec);
        free(db);
}

static int setup(void **state)
{
        return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
        char *cmd = NULL;

        if (asprintf(&cmd, "rm -rf %s", dir) < 0)
                return -1;
        if (system(cmd) != 0)
                return -1;
        free(cmd);
        return 0;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_pattern_files),
                cmocka_unit_test(test_inline_and_problems),
                cmocka_unit_test(test_problem_count),
                cmocka_unit_test(test_sqlite),
        };

        return cmocka_run_group_tests_name("map_regexp", tests, setup,
                                           teardown);
}
