/* ctl_conf_test.c - unit tests for the main.cf editor behind conf -e / -X
 * Table-driven: main.cf text in, requested edits, the text that must come
 * out (and how many assignments each edit found); plus the -e argument
 * splitter and the line-to-name lookup used to name a rejected value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "ctl.h"

#define EDITS_MAX 4

struct edit_case {
        const char *name;
        const char *input;
        struct {
                const char *name;
                const char *value;      /* NULL: remove */
                size_t found;           /* want */
        } edits[EDITS_MAX];
        const char *want;
};

static const struct edit_case edit_cases[] = {
        { "replace",
          "a = 1\nb = 2\nc = 3\n",
          { { "b", "20", 1 } },
          "a = 1\nb = 20\nc = 3\n" },
        { "replace without spaces",
          "a=1\nb=2\n",
          { { "a", "x y", 1 } },
          "a = x y\nb=2\n" },
        { "replace keeps comments and blank lines",
          "# head\n\na = 1\n   # indented comment\n\nb = 2\n# tail\n",
          { { "a", "9", 1 } },
          "# head\n\na = 9\n   # indented comment\n\nb = 2\n# tail\n" },
        { "continuation lines go with the assignment",
          "a = one,\n    two,\n\tthree\nb = 2\n",
          { { "a", "x", 1 } },
          "a = x\nb = 2\n" },
        { "comments inside a continued assignment stay",
          "a = one,\n# note\n    two\n\n    three\nb = 2\n",
          { { "a", "x", 1 } },
          "a = x\n# note\n\nb = 2\n" },
        { "continuation of another parameter is kept",
          "a = 1\nb = one,\n  two\n",
          { { "a", "x", 1 } },
          "a = x\nb = one,\n  two\n" },
        { "append when absent",
          "# only a comment\na = 1\n",
          { { "z", "26", 0 } },
          "# only a comment\na = 1\nz = 26\n" },
        { "append after a last line without newline",
          "a = 1",
          { { "b", "2", 0 } },
          "a = 1\nb = 2\n" },
        { "append to an empty file",
          "",
          { { "a", "1", 0 }, { "b", "2", 0 } },
          "a = 1\nb = 2\n" },
        { "appended in the order given",
          "x = 0\n",
          { { "c", "3", 0 }, { "a", "1", 0 }, { "x", "9", 1 } },
          "x = 9\nc = 3\na = 1\n" },
        { "every assignment of a repeated name is replaced",
          "a = 1\nb = 2\na = 3\n  more\n",
          { { "a", "new", 2 } },
          "a = new\nb = 2\na = new\n" },
        { "a longer name with the same prefix is another parameter",
          "ab = 1\na_b = 2\n",
          { { "a", "x", 0 } },
          "ab = 1\na_b = 2\na = x\n" },
        { "empty value",
          "a = 1\n",
          { { "a", "", 1 } },
          "a =\n" },
        { "value with dollar references kept verbatim",
          "",
          { { "myorigin", "$mydomain", 0 } },
          "myorigin = $mydomain\n" },
        { "last line without newline replaced",
          "a = 1\nb = 2",
          { { "b", "3", 1 } },
          "a = 1\nb = 3\n" },
        { "remove",
          "a = 1\nb = 2\nc = 3\n",
          { { "b", NULL, 1 } },
          "a = 1\nc = 3\n" },
        { "remove with continuation, comment kept",
          "a = 1,\n  2\n# c\n  3\nb = 2\n",
          { { "a", NULL, 1 } },
          "# c\nb = 2\n" },
        { "remove every assignment",
          "a = 1\nb = 2\na = 3\n",
          { { "a", NULL, 2 } },
          "b = 2\n" },
        { "remove an absent name changes nothing",
          "a = 1\n",
          { { "zz", NULL, 0 } },
          "a = 1\n" },
        { "remove does not append",
          "",
          { { "a", NULL, 0 } },
          "" },
        { "leading continuation without an entry is kept",
          "  stray\na = 1\n",
          { { "a", "2", 1 } },
          "  stray\na = 2\n" },
        { "several edits at once",
          "a = 1\nb = 2\nc = 3\n",
          { { "c", NULL, 1 }, { "a", "10", 1 }, { "d", "4", 0 } },
          "a = 10\nb = 2\nd = 4\n" },
};

static void test_edit_text(void **state)
{
        int failed = 0;

        for (size_t i = 0; i < sizeof(edit_cases) / sizeof(edit_cases[0]);
             i++) {
                const struct edit_case *tc = &edit_cases[i];
                struct ctl_conf_edit edits[EDITS_MAX];
                struct buf out;
                size_t n = 0;

                for (; n < EDITS_MAX && tc->edits[n].name != NULL; n++) {
                        edits[n].name = tc->edits[n].name;
                        edits[n].value = tc->edits[n].value;
                        edits[n].found = 99;
                }
                buf_init(&out, 0);
                ctl_conf_edit_text(tc->input, strlen(tc->input), edits, n,
                                   &out);
                if (strcmp(buf_cstr(&out), tc->want) != 0) {
                        print_error("case %s: got \"%s\", want \"%s\"\n",
                                    tc->name, buf_cstr(&out), tc->want);
                        failed = 1;
                }
                for (size_t j = 0; j < n; j++)
                        if (edits[j].found != tc->edits[j].found) {
                                print_error("case %s: %s found %zu times, "
                                            "want %zu\n", tc->name,
                                            edits[j].name, edits[j].found,
                                            tc->edits[j].found);
                                failed = 1;
                        }
                buf_release(&out);
        }
        assert_int_equal(failed, 0);
}

/* The editor is bounded by len, not by a NUL. */
static void test_edit_text_len(void **state)
{
        const char text[] = "a = 1\nb = 2\nGARBAGE";
        struct ctl_conf_edit e = { "b", "3", 0 };
        struct buf out;

        buf_init(&out, 0);
        ctl_conf_edit_text(text, strlen("a = 1\nb = 2\n"), &e, 1, &out);
        assert_string_equal(buf_cstr(&out), "a = 1\nb = 3\n");
        buf_release(&out);
}

struct split_case {
        const char *name;
        const char *arg;
        int rc;
        const char *want_name;
        const char *want_value;
};

static const struct split_case split_cases[] = {
        { "plain", "a=b", 0, "a", "b" },
        { "spaces", "  a  =  b c  ", 0, "a", "b c" },
        { "tabs", "a\t=\tb", 0, "a", "b" },
        { "empty value", "a=", 0, "a", "" },
        { "value with =", "a=b=c", 0, "a", "b=c" },
        { "value with $", "myorigin = $mydomain", 0, "myorigin",
          "$mydomain" },
        { "no equals", "ab", -1, NULL, NULL },
        { "no name", " = b", -1, NULL, NULL },
        { "space in name", "a b = c", -1, NULL, NULL },
        { "comment", "#a = b", -1, NULL, NULL },
        { "newline in value", "a = b\nc = d", -1, NULL, NULL },
};

static void test_split(void **state)
{
        int failed = 0;

        for (size_t i = 0; i < sizeof(split_cases) / sizeof(split_cases[0]);
             i++) {
                const struct split_case *tc = &split_cases[i];
                char arg[128];
                char *name = NULL, *value = NULL;
                const char *error = NULL;
                int rc;

                snprintf(arg, sizeof(arg), "%s", tc->arg);
                rc = ctl_conf_edit_split(arg, &name, &value, &error);
                if (rc != tc->rc) {
                        print_error("case %s: got rc %d, want %d\n",
                                    tc->name, rc, tc->rc);
                        failed = 1;
                        continue;
                }
                if (rc < 0) {
                        if (error == NULL || *error == '\0') {
                                print_error("case %s: no error text\n",
                                            tc->name);
                                failed = 1;
                        }
                        continue;
                }
                if (strcmp(name, tc->want_name) != 0 ||
                    strcmp(value, tc->want_value) != 0) {
                        print_error("case %s: got \"%s\"=\"%s\", want "
                                    "\"%s\"=\"%s\"\n", tc->name, name, value,
                                    tc->want_name, tc->want_value);
                        failed = 1;
                }
        }
        assert_int_equal(failed, 0);
}

static void test_name_ok(void **state)
{
        assert_int_equal(ctl_conf_edit_name_ok("smtpd_helo_required"), 1);
        assert_int_equal(ctl_conf_edit_name_ok("Abc_09"), 1);
        assert_int_equal(ctl_conf_edit_name_ok(""), 0);
        assert_int_equal(ctl_conf_edit_name_ok("a-b"), 0);
        assert_int_equal(ctl_conf_edit_name_ok("a b"), 0);
        assert_int_equal(ctl_conf_edit_name_ok("$a"), 0);
}

static void test_name_at(void **state)
{
        const char *text = "# c\na = 1\n  more\nbee=2\n";
        char name[16];

        assert_int_equal(ctl_conf_edit_name_at(text, strlen(text), 2, name,
                                               sizeof(name)), 0);
        assert_string_equal(name, "a");
        assert_int_equal(ctl_conf_edit_name_at(text, strlen(text), 4, name,
                                               sizeof(name)), 0);
        assert_string_equal(name, "bee");
        /* comment, continuation, past the end, name too long */
        assert_int_equal(ctl_conf_edit_name_at(text, strlen(text), 1, name,
                                               sizeof(name)), -1);
        assert_int_equal(ctl_conf_edit_name_at(text, strlen(text), 3, name,
                                               sizeof(name)), -1);
        assert_int_equal(ctl_conf_edit_name_at(text, strlen(text), 9, name,
                                               sizeof(name)), -1);
        assert_int_equal(ctl_conf_edit_name_at(text, strlen(text), 4, name,
                                               3), -1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_edit_text),
                cmocka_unit_test(test_edit_text_len),
                cmocka_unit_test(test_split),
                cmocka_unit_test(test_name_ok),
                cmocka_unit_test(test_name_at),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
