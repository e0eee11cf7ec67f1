/* map_test.c - lookup tables: each type, key folding, aliases(5) files,
 * errors naming the parameter and file:line, reloading a changed file,
 * map_check collecting every problem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "map.h"
#include "mem.h"

static char dir[] = "/tmp/map_test.XXXXXX";

/* put - write text to dir/name; returns the path (static buffer) */
static const char *put(const char *name, const char *text)
{
        static char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        return path;
}

static int setup(void **state)
{
        return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
        char *cmd = xasprintf("rm -rf %s", dir);
        int r = system(cmd);

        free(cmd);
        return r == 0 ? 0 : -1;
}

struct lookup_case {
        const char *key;
        const char *want;       /* NULL: not found */
};

/* check_lookups - open spec as param and run the cases */
static void check_lookups(const char *what, const char *spec, int flags,
                          const struct lookup_case *cases, size_t n)
{
        struct maps *m;
        struct status st;

        if (maps_open(spec, "test_maps", flags, &m, &st) < 0)
                fail_msg("case %s: open %s: %s", what, spec, st.text);
        for (size_t i = 0; i < n; i++) {
                const char *v = NULL;
                int r = maps_lookup(m, cases[i].key, &v, &st);

                assert_true(r >= 0);
                if ((r == 1) != (cases[i].want != NULL) ||
                    (r == 1 && strcmp(v, cases[i].want) != 0))
                        fail_msg("case %s key %s: got \"%s\", want \"%s\"",
                                 what, cases[i].key, r == 1 ? v : "(none)",
                                 cases[i].want ? cases[i].want : "(none)");
        }
        maps_free(&m);
        assert_null(m);
}

static void test_postmap_format(void **state)
{
        static const struct lookup_case cases[] = {
                { "a@example.com", "b@example.org" },
                { "A@Example.COM", "b@example.org" },   /* keys fold */
                { "@example.net", "catchall@example.org" },
                { "multi", "one two three" },
                { "dup", "first" },
                { "tabbed", "value with\ttab" },
                { "missing", NULL },
                { "#comment", NULL },
                { "", NULL },
        };
        const char *path = put("virtual",
                               "# virtual(5)\n"
                               "a@example.com   b@example.org\n"
                               "\n"
                               "@example.net\tcatchall@example.org\n"
                               "multi one\n"
                               "  two\n"
                               "# inside\n"
                               "\tthree\n"
                               "dup first\n"
                               "dup second\n"
                               "tabbed value with\ttab\r\n");
        char *spec;

        for (int i = 0; i < 3; i++) {
                static const char *const types[] = { "hash", "btree",
                                                     "texthash" };

                spec = xasprintf("%s:%s", types[i], path);
                check_lookups(types[i], spec, 0, cases,
                              sizeof(cases) / sizeof(cases[0]));
                free(spec);
        }
}

static void test_aliases_format(void **state)
{
        static const struct lookup_case cases[] = {
                { "postmaster", "root" },
                { "root", "ann, bob" },
                { "list", "ann, \"|/usr/bin/x -a, b\", /tmp/file, "
                          ":include:/etc/list" },
                { "a b", "ann" },
                { "mailer-daemon", "postmaster" },
                { "MAILER-DAEMON", "postmaster" },
                { "nobody", NULL },
        };
        const char *path = put("aliases",
                               "# aliases(5)\n"
                               "postmaster: root\n"
                               "root:\tann,\n"
                               "  bob\n"
                               "list : ann, \"|/usr/bin/x -a, b\", "
                               "/tmp/file, :include:/etc/list\n"
                               "\"a b\": ann\n"
                               "MAILER-DAEMON: postmaster\n");
        char *spec = xasprintf("hash:%s", path);
        struct maps *m;
        struct status st;
        const char *v, *src;

        check_lookups("aliases", spec, MAPS_ALIASES, cases,
                      sizeof(cases) / sizeof(cases[0]));
        /* the file a value came from */
        assert_int_equal(maps_open(spec, "alias_maps", MAPS_ALIASES, &m, &st),
                         0);
        assert_int_equal(maps_lookup_source(m, "root", &v, &src, &st), 1);
        assert_string_equal(src, path);
        assert_int_equal(maps_count(m), 1);
        assert_string_equal(maps_spec(m, 0), spec);
        maps_free(&m);
        free(spec);
}

static void test_inline_static(void **state)
{
        static const struct lookup_case inl[] = {
                { "a", "1" },
                { "B", "2" },
                { "c d", NULL },
                { "spaced", "x, y" },
                { "e", NULL },
        };
        static const struct lookup_case stat[] = {
                { "anything", "OK" },
                { "", "OK" },
        };
        static const struct lookup_case order[] = {
                { "a", "first" },       /* the first table wins */
                { "b", "2" },
                { "z", "fallback here" },
        };

        check_lookups("inline", "inline:{a=1, b=2, { spaced = x, y }}", 0,
                      inl, sizeof(inl) / sizeof(inl[0]));
        check_lookups("static", "static:OK", 0, stat,
                      sizeof(stat) / sizeof(stat[0]));
        check_lookups("list order", "inline:{a=first} inline:{a=1,b=2}, "
                      "static:{fallback here}", 0, order,
                      sizeof(order) / sizeof(order[0]));
        check_lookups("empty list", "", 0, NULL, 0);
}

static void test_cidr(void **state)
{
        static const struct lookup_case cases[] = {
                { "192.0.2.1", "host" },
                { "192.0.2.2", "net24" },
                { "192.0.2.255", "net24" },
                { "192.0.3.1", "net16" },
                { "10.1.2.3", NULL },
                { "2001:db8::1", "v6" },
                { "2001:db8:ffff::", "v6" },
                { "2001:db9::1", NULL },
                { "::1", "loop6" },
                { "::ffff:192.0.2.1", "host" },
                { "not an ip", NULL },
                { "", NULL },
        };
        const char *path = put("access.cidr",
                               "# first match wins\n"
                               "192.0.2.1      host\n"
                               "192.0.2.0/24   net24\n"
                               "192.0.0.0/16   net16\n"
                               "2001:db8::/32  v6\n"
                               "[::1]          loop6\n");
        char *spec = xasprintf("cidr:%s", path);

        check_lookups("cidr", spec, 0, cases,
                      sizeof(cases) / sizeof(cases[0]));
        free(spec);
}

static void test_unix(void **state)
{
        static const struct lookup_case cases[] = {
                { "root", "root:" },
                { "no-such-user-here", NULL },
        };
        struct maps *m;
        struct status st;
        const char *v;

        assert_int_equal(maps_open("proxy:unix:passwd.byname", "p", 0, &m,
                                   &st), 0);
        for (size_t i = 0; i < 2; i++) {
                int r = maps_lookup(m, cases[i].key, &v, &st);

                assert_int_equal(r, cases[i].want != NULL);
                if (r == 1)
                        assert_memory_equal(v, cases[i].want,
                                            strlen(cases[i].want));
        }
        maps_free(&m);
}

static void test_errors(void **state)
{
        struct {
                const char *name, *spec, *want;
                int flags;
        } cases[] = {
                { "unknown type", "foo:/x", "my_maps: unsupported lookup "
                  "table type \"foo:\" in \"foo:/x\"", 0 },
                { "no colon", "bar", "my_maps: expected type:name", 0 },
                { "empty name", "hash:", "my_maps: missing table name", 0 },
                { "relative path", "hash:etc/x", "must be an absolute path",
                  0 },
                { "missing file", NULL, "No such file", 0 },
                { "bad postmap line", NULL, "my_maps: ", 0 },
                { "bad alias line", NULL, "my_maps: ", MAPS_ALIASES },
                { "bad cidr line", NULL, "my_maps: ", 0 },
                { "inline without braces", "inline:a=b", "expected inline:{",
                  0 },
                { "inline item", "inline:{a=b, c}", "expected key=value, "
                  "not \"c\"", 0 },
                { "unbalanced brace", "inline:{a=b", "unbalanced", 0 },
                { "unix table", "unix:group.byname", "unsupported unix", 0 },
        };
        char *missing = xasprintf("hash:%s/nonexistent", dir);
        char *bad = xasprintf("hash:%s", put("bad", "ok value\n"
                                             "novalue\n"));
        char *bad_want = xasprintf("my_maps: %s/bad:2: expected \"key "
                                   "whitespace value\"", dir);
        char *badal = xasprintf("hash:%s", put("badal", "ok: x\n\n"
                                               "bad line\n"));
        char *badal_want = xasprintf("my_maps: %s/badal:3: missing ':'",
                                     dir);
        char *badcidr = xasprintf("cidr:%s", put("badcidr", "10.0.0.0/8 x\n"
                                                 "10.0.0.1/8 y\n"));
        char *badcidr_want = xasprintf("my_maps: %s/badcidr:2: non-null "
                                       "host address bits", dir);

        cases[4].spec = missing;
        cases[5].spec = bad;
        cases[5].want = bad_want;
        cases[6].spec = badal;
        cases[6].want = badal_want;
        cases[7].spec = badcidr;
        cases[7].want = badcidr_want;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct maps *m = (struct maps *)1;
                struct status st;
                char *spec = xasprintf("static:x, %s", cases[i].spec);

                if (maps_open(spec, "my_maps", cases[i].flags, &m, &st) == 0)
                        fail_msg("case %s: got success, want \"%s\"",
                                 cases[i].name, cases[i].want);
                assert_null(m);
                if (st.code[0] != '4')
                        fail_msg("case %s: got code \"%s\", want 4.x.x",
                                 cases[i].name, st.code);
                if (strstr(st.text, cases[i].want) == NULL)
                        fail_msg("case %s: got \"%s\", want \"%s\"",
                                 cases[i].name, st.text, cases[i].want);
                free(spec);
        }
        free(missing);
        free(bad);
        free(bad_want);
        free(badal);
        free(badal_want);
        free(badcidr);
        free(badcidr_want);
}

static void collect(void *ctx, const char *text)
{
        struct buf *b = ctx;

        buf_printf(b, "%s|", text);
}

static void test_check(void **state)
{
        const char *path = put("check", "a: b\n"
                               "missing colon\n"
                               " orphan\n"
                               "c: \"unbalanced\n"
                               "d: :include:relative\n"
                               "e: f\n");
        char *spec = xasprintf("hash:%s", path);
        struct buf got, want;
        struct status st;

        buf_init(&got, 0);
        buf_init(&want, 0);
        assert_int_equal(map_check(spec, MAPS_ALIASES, collect, &got, &st),
                         3);
        buf_printf(&want, "%s:2: missing ':' after the alias name|"
                   "%s:4: unbalanced quote|"
                   "%s:5: :include: needs an absolute path: "
                   "\":include:relative\"|", path, path, path);
        if (strcmp(buf_cstr(&got), buf_cstr(&want)) != 0)
                fail_msg("case check: got \"%s\", want \"%s\"",
                         buf_cstr(&got), buf_cstr(&want));
        /* a clean table has no problems; a missing one is an error */
        buf_reset(&got);
        assert_int_equal(map_check("inline:{a=b}", 0, collect, &got, &st), 0);
        assert_int_equal(map_check("nope:x", 0, collect, &got, &st), -1);
        assert_int_equal(got.len, 0);
        assert_true(map_type_known("hash"));
        assert_true(map_type_known("cidr"));
        assert_true(map_type_known("regexp"));
        assert_false(map_type_known("ldap"));
        buf_release(&got);
        buf_release(&want);
        free(spec);
}

/* set_mtime - move path's mtime so a same-second rewrite is noticed */
static void age(const char *path)
{
        struct timeval tv[2];

        gettimeofday(&tv[0], NULL);
        tv[0].tv_sec -= 100;
        tv[1] = tv[0];
        assert_int_equal(utimes(path, tv), 0);
}

static void test_reload(void **state)
{
        char path[512];
        struct maps *m;
        struct status st;
        const char *v;
        int r = 0;

        snprintf(path, sizeof(path), "%s", put("reload", "k old\n"));
        age(path);
        char *spec = xasprintf("texthash:%s", path);
        assert_int_equal(maps_open(spec, "t", 0, &m, &st), 0);
        assert_int_equal(maps_lookup(m, "k", &v, &st), 1);
        assert_string_equal(v, "old");
        put("reload", "k new\nk2 x\n");
        /* checked at most once a second: within 3 s the new value shows */
        for (int i = 0; i < 300; i++) {
                r = maps_lookup(m, "k", &v, &st);
                if (r == 1 && strcmp(v, "new") == 0)
                        break;
                usleep(10000);
        }
        assert_string_equal(v, "new");
        assert_int_equal(maps_lookup(m, "k2", &v, &st), 1);
        /* a broken new version keeps the old contents */
        put("reload", "k newer\nbroken\n");
        age(path);
        for (int i = 0; i < 150; i++) {
                usleep(10000);
                r = maps_lookup(m, "k", &v, &st);
        }
        assert_int_equal(r, 1);
        assert_string_equal(v, "new");
        /* and so does a removed file */
        unlink(path);
        usleep(1100000);
        assert_int_equal(maps_lookup(m, "k", &v, &st), 1);
        maps_free(&m);
        free(spec);
}

static void test_many_keys(void **state)
{
        struct buf text;
        struct maps *m;
        struct status st;
        const char *v;
        char key[32];

        buf_init(&text, 0);
        for (int i = 0; i < 20000; i++)
                buf_printf(&text, "key%d value%d\n", i, i);
        char *spec = xasprintf("hash:%s", put("many", buf_cstr(&text)));
        assert_int_equal(maps_open(spec, "t", 0, &m, &st), 0);
        for (int i = 0; i < 20000; i += 997) {
                snprintf(key, sizeof(key), "KEY%d", i);
                assert_int_equal(maps_lookup(m, key, &v, &st), 1);
                snprintf(key, sizeof(key), "value%d", i);
                assert_string_equal(v, key);
        }
        assert_int_equal(maps_lookup(m, "key20000", &v, &st), 0);
        maps_free(&m);
        buf_release(&text);
        free(spec);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_postmap_format),
                cmocka_unit_test(test_aliases_format),
                cmocka_unit_test(test_inline_static),
                cmocka_unit_test(test_cidr),
                cmocka_unit_test(test_unix),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_check),
                cmocka_unit_test(test_reload),
                cmocka_unit_test(test_many_keys),
        };

        return cmocka_run_group_tests_name("map", tests, setup, teardown);
}
