/* maildrop_test.c - maildrop files: format and parse round trip, hostile
 * files (every truncation too), storing, the directory */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "cfg.h"
#include "fileio.h"
#include "maildrop.h"
#include "mem.h"

#define ERR NULL

static void test_round_trip(void **state)
{
        char *rcpts[] = { "bob@example.com", "a b@example.org",
                          "x+y=z@example.net", NULL };
        struct maildrop_env env = { "ann@example.org", rcpts, 3, "HDRS",
                                    "id+1", 0 }, got;
        struct buf out;
        struct status st;
        size_t content;

        buf_init(&out, 0);
        maildrop_format(&out, &env);
        buf_puts(&out, "Subject: x\n\nbody\n");
        assert_int_equal(maildrop_parse(out.data, out.len, &got, &content,
                                        &st), 0);
        assert_string_equal(got.sender, "ann@example.org");
        assert_int_equal(got.nrcpt, 3);
        for (int i = 0; i < 3; i++)
                assert_string_equal(got.rcpts[i], rcpts[i]);
        assert_null(got.rcpts[3]);
        assert_string_equal(got.dsn_ret, "HDRS");
        assert_string_equal(got.dsn_envid, "id+1");
        assert_string_equal(out.data + content, "Subject: x\n\nbody\n");
        maildrop_env_release(&got);
        assert_null(got.sender);
        /* the null sender */
        env.sender = "";
        env.dsn_ret = env.dsn_envid = NULL;
        buf_reset(&out);
        maildrop_format(&out, &env);
        assert_int_equal(maildrop_parse(out.data, out.len, &got, &content,
                                        &st), 0);
        assert_string_equal(got.sender, "");
        assert_int_equal(content, out.len);
        maildrop_env_release(&got);
        buf_release(&out);
}

#define T(s) s, sizeof(s) - 1
#define M "YUBIN-MAILDROP 1\n"

static void test_hostile(void **state)
{
        static const struct {
                const char *name;
                const char *text;
                size_t len;
                const char *want;       /* error text part, or NULL = ok */
        } cases[] = {
                { "ok", T(M "Sa@b.c\nRd@e.f\nE\nx"), NULL },
                { "empty", T(""), "not a maildrop file" },
                { "bad magic", T("YUBIN-MAILDROP 2\nSa@b.c\nRd@e.f\nE\n"),
                  "not a maildrop file" },
                { "no end", T(M "Sa@b.c\nRd@e.f\n"), "envelope not ended" },
                { "no newline", T(M "Sa@b.c\nRd@e.f\nE"),
                  "envelope not ended" },
                { "no sender", T(M "Rd@e.f\nE\n"), "no sender" },
                { "no recipient", T(M "Sa@b.c\nE\n"), "no recipients" },
                { "two senders", T(M "Sa@b.c\nSa@b.c\nRd@e.f\nE\n"),
                  "two senders" },
                { "bad xtext", T(M "Sa+zz@b.c\nRd@e.f\nE\n"),
                  "malformed envelope record" },
                { "raw space", T(M "Sa b@c.d\nRd@e.f\nE\n"),
                  "malformed envelope record" },
                { "NUL", T(M "Sa@b.c\0\nRd@e.f\nE\n"), "NUL in envelope" },
                { "empty line", T(M "Sa@b.c\n\nRd@e.f\nE\n"),
                  "malformed envelope record" },
                { "unknown record", T(M "Sa@b.c\nRd@e.f\nXy\nE\n"),
                  "unknown envelope record" },
                { "unknown attribute", T(M "Sa@b.c\nRd@e.f\nAuid=0\nE\n"),
                  "bad attribute" },
                { "bad ret", T(M "Sa@b.c\nRd@e.f\nAdsn_ret=ALL\nE\n"),
                  "bad attribute" },
                { "E with text", T(M "Sa@b.c\nRd@e.f\nEx\n"),
                  "malformed end" },
                { "bad sender", T(M "Sa@b..c\nRd@e.f\nE\n"),
                  "bad sender address" },
                { "unqualified recipient", T(M "Sa@b.c\nRroot\nE\n"),
                  "bad recipient address" },
                { "recipient <>", T(M "Sa@b.c\nR\nE\n"),
                  "bad recipient address" },
                { "utf8 without flag", T(M "Sa@b.c\nR\xc3\xbc@e.f\nE\n"),
                  "bad recipient address" },
                { "utf8 with flag",
                  T(M "Sa@b.c\nR\xc3\xbc@e.f\nAsmtputf8=1\nE\n"), NULL },
                { "control in address", T(M "Sa@b.c\nRd+01@e.f\nE\n"),
                  "malformed envelope record" },
                { "CR in address", T(M "Sa@b.c\r\nRd@e.f\nE\n"),
                  "malformed envelope record" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct maildrop_env env;
                struct status st;
                size_t content;
                int r = maildrop_parse(cases[i].text, cases[i].len, &env,
                                       &content, &st);

                if ((r == 0) != (cases[i].want == NULL) ||
                    (r < 0 && strstr(st.text, cases[i].want) == NULL))
                        fail_msg("case %s: got %s, want %s", cases[i].name,
                                 r == 0 ? "ok" : st.text,
                                 cases[i].want ? cases[i].want : "ok");
                if (r < 0) {
                        assert_null(env.sender);
                        assert_int_equal(st.code[0], '5');
                }
                maildrop_env_release(&env);
                /* every truncation, in an exact-size buffer */
                for (size_t n = 0; n < cases[i].len; n++) {
                        char *copy = xmalloc(n ? n : 1);

                        memcpy(copy, cases[i].text, n);
                        if (maildrop_parse(copy, n, &env, &content, &st) == 0)
                                assert_true(content <= n);
                        maildrop_env_release(&env);
                        free(copy);
                }
        }
}

static void test_store_and_init(void **state)
{
        char base[] = "/tmp/maildrop_test.XXXXXX";
        struct status st;
        struct cfg *c;
        struct stat sb;
        struct buf b;
        char *name, *path, *cmd;
        DIR *d;
        struct dirent *de;
        int files = 0;

        assert_non_null(mkdtemp(base));
        c = cfg_new("/nonexistent");
        cfg_set(c, "queue_directory", base, NULL);
        /* no maildrop/ yet: the store fails, init makes it */
        assert_int_equal(maildrop_store(base, "x", 1, &name, &st), -1);
        assert_int_equal(maildrop_init(c, &st), 0);
        path = xasprintf("%s/maildrop", base);
        assert_int_equal(stat(path, &sb), 0);
        assert_true(S_ISDIR(sb.st_mode));
        if (getuid() != 0)
                assert_int_equal(sb.st_mode & 07777, 0700);
        assert_int_equal(maildrop_init(c, &st), 0);     /* again: fine */
        assert_int_equal(maildrop_store(base, "hello\n", 6, &name, &st), 0);
        assert_non_null(name);
        assert_null(strstr(name, "tmp."));
        free(path);
        path = xasprintf("%s/maildrop/%s", base, name);
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0644);
        buf_init(&b, 0);
        assert_int_equal(fileio_read(path, 100, &b, &st), 1);
        assert_string_equal(buf_cstr(&b), "hello\n");
        buf_release(&b);
        /* nothing else is left behind */
        free(path);
        path = xasprintf("%s/maildrop", base);
        d = opendir(path);
        assert_non_null(d);
        while ((de = readdir(d)) != NULL)
                if (de->d_name[0] != '.')
                        files++;
        closedir(d);
        assert_int_equal(files, 1);
        free(name);
        free(path);
        cfg_free(&c);
        cmd = xasprintf("rm -rf %s", base);
        assert_int_equal(system(cmd), 0);
        free(cmd);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_hostile),
                cmocka_unit_test(test_store_and_init),
        };

        return cmocka_run_group_tests_name("maildrop", tests, NULL, NULL);
}
