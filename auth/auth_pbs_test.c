/* auth_pbs_test.c - PbS grants: check from the granted and another
 * address, expiry, replacement, purge, the list, and survival across a
 * reopen of pbs.db (as across an authd restart), where lapsed grants are
 * dropped from the file too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "auth_pbs.h"
#include "mem.h"

static char *tmpdir(void)
{
        char tmpl[] = "/tmp/auth_pbs_test.XXXXXX";
        char *d = mkdtemp(tmpl);

        assert_non_null(d);
        return xstrdup(d);
}

static void rmdir_all(const char *dir)
{
        char *cmd = xasprintf("rm -rf '%s'", dir);

        assert_int_equal(system(cmd), 0);
        free(cmd);
}

static long rows(const char *path)
{
        sqlite3 *db;
        sqlite3_stmt *s;
        long n = -1;

        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM grants",
                                            -1, &s, NULL), SQLITE_OK);
        if (sqlite3_step(s) == SQLITE_ROW)
                n = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        sqlite3_close(db);
        return n;
}

static void test_memory(void **state)
{
        struct auth_pbs *p;
        struct status st;
        const char *user;
        long long exp;

        assert_int_equal(auth_pbs_open(NULL, 0, &p, &st), 0);
        assert_int_equal(auth_pbs_check(p, "192.0.2.1", 1000, &user, &exp),
                         0);
        assert_int_equal(auth_pbs_grant(p, "192.0.2.1", "ann@example.com",
                                        1000, 2000, &st), 0);
        assert_int_equal(auth_pbs_check(p, "192.0.2.1", 1000, &user, &exp),
                         1);
        assert_string_equal(user, "ann@example.com");
        assert_int_equal(exp, 3000);
        /* another address has no grant */
        assert_int_equal(auth_pbs_check(p, "192.0.2.2", 1000, NULL, NULL),
                         0);
        /* live up to, not at, the expiry */
        assert_int_equal(auth_pbs_check(p, "192.0.2.1", 2999, NULL, NULL),
                         1);
        assert_int_equal(auth_pbs_check(p, "192.0.2.1", 3000, NULL, NULL),
                         0);
        /* a new login replaces and extends */
        assert_int_equal(auth_pbs_grant(p, "192.0.2.1", "bob@example.com",
                                        2500, 2000, &st), 0);
        assert_int_equal(auth_pbs_check(p, "192.0.2.1", 4000, &user, &exp),
                         1);
        assert_string_equal(user, "bob@example.com");
        assert_int_equal(auth_pbs_purge(p, 4000), 1);
        assert_int_equal(auth_pbs_purge(p, 4500), 0);
        auth_pbs_close(&p);
        assert_null(p);
}

struct seen {
        int count;
        char text[256];
};

static void collect(const char *ip, const char *user, long long exp,
                    void *ctx)
{
        struct seen *s = ctx;
        size_t n = strlen(s->text);

        s->count++;
        snprintf(s->text + n, sizeof(s->text) - n, "%s=%s@%lld;", ip, user,
                 exp);
}

static void test_persist(void **state)
{
        char *dir = tmpdir();
        char *path = xasprintf("%s/pbs.db", dir);
        struct auth_pbs *p;
        struct status st;
        struct seen seen = { 0, "" };
        struct stat sb;
        const char *user;

        assert_int_equal(auth_pbs_open(path, 1000, &p, &st), 0);
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);
        assert_int_equal(auth_pbs_grant(p, "192.0.2.1", "ann", 1000, 10000,
                                        &st), 0);
        assert_int_equal(auth_pbs_grant(p, "2001:db8::1", "bob", 1000, 500,
                                        &st), 0);
        assert_int_equal(auth_pbs_list(p, 1200, collect, &seen), 2);
        assert_int_equal(rows(path), 2);
        /* as a kill -9: no purge, no orderly close first */
        auth_pbs_close(&p);

        /* reopened later: the live grant is back, the lapsed one is gone
         * from memory and from the file */
        assert_int_equal(auth_pbs_open(path, 5000, &p, &st), 0);
        assert_int_equal(auth_pbs_check(p, "192.0.2.1", 5000, &user, NULL),
                         1);
        assert_string_equal(user, "ann");
        assert_int_equal(auth_pbs_check(p, "2001:db8::1", 5000, NULL, NULL),
                         0);
        assert_int_equal(rows(path), 1);
        memset(&seen, 0, sizeof(seen));
        assert_int_equal(auth_pbs_list(p, 5000, collect, &seen), 1);
        assert_string_equal(seen.text, "192.0.2.1=ann@11000;");
        /* purge drops it from the file too */
        assert_int_equal(auth_pbs_purge(p, 11000), 0);
        assert_int_equal(rows(path), 0);
        auth_pbs_close(&p);
        rmdir_all(dir);
        free(path);
        free(dir);
}

static void test_open_fails(void **state)
{
        struct auth_pbs *p = (struct auth_pbs *)1;
        struct status st;

        assert_int_equal(auth_pbs_open("/nonexistent/dir/pbs.db", 0, &p, &st),
                         -1);
        assert_null(p);
        assert_string_equal(st.code, "4.3.0");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_memory),
                cmocka_unit_test(test_persist),
                cmocka_unit_test(test_open_fails),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
