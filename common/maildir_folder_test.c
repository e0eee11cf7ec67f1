/* maildir_folder_test.c - Maildir++ folders: create, list (with implied
 * parents), delete (children stay, as in Dovecot), rename (children move),
 * and the subscriptions file in both of Dovecot's formats */
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

#include "maildir.h"

static char root[64];
static struct maildir *md;

static int setup(void **state)
{
        struct status st;

        snprintf(root, sizeof(root), "/tmp/maildir_folder_test.XXXXXX");
        if (mkdtemp(root) == NULL)
                return -1;
        return maildir_open(root, MAILDIR_CREATE, &md, &st);
}

static int teardown(void **state)
{
        char cmd[128];

        maildir_close(&md);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
        return system(cmd) == 0 ? 0 : -1;
}

static int exists(const char *rel)
{
        char p[256];
        struct stat sb;

        snprintf(p, sizeof(p), "%s/%s", root, rel);
        return stat(p, &sb) == 0;
}

static void write_file(const char *rel, const char *data)
{
        size_t len = strlen(data);
        char p[256];
        snprintf(p, sizeof(p), "%s/%s", root, rel);
        FILE *f = fopen(p, "wb");
        fwrite(data, 1, len, f);
        fclose(f);
}

static char *read_file(const char *rel)
{
        char p[256];
        static char buf[4096];
        snprintf(p, sizeof(p), "%s/%s", root, rel);
        FILE *f = fopen(p, "rb");
        size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
        if (f)
                fclose(f);
        buf[n] = '\0';
        return buf;
}

/* list_str - the folder list as "name/flags name/flags ..." */
static char *list_str(void)
{
        static char out[2048];
        struct maildir_folder *list;
        struct status st;
        size_t n, off = 0;

        assert_int_equal(maildir_folder_list(md, &list, &n, &st), 0);
        out[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                off += (size_t)snprintf(out + off, sizeof(out) - off, "%s%s/%s%s%s",
                        i ? " " : "", list[i].name,
                        list[i].flags & MAILDIR_LIST_NONEXISTENT ? "N" : "",
                        list[i].flags & MAILDIR_LIST_CHILDREN ? "C" : "",
                        list[i].flags & MAILDIR_LIST_SUBSCRIBED ? "S" : "");
        }
        maildir_folder_list_free(&list, n);
        assert_null(list);
        return out;
}

static void test_create_and_list(void **state)
{
        struct status st;

        assert_int_equal(maildir_folder_create(md, "Work", &st), 1);
        assert_int_equal(maildir_folder_create(md, "Work.Projects", &st), 1);
        assert_int_equal(maildir_folder_create(md, "日本語", &st), 1);
        assert_int_equal(maildir_folder_create(md, "A.B.C", &st), 1);
        assert_int_equal(maildir_folder_create(md, "Work", &st), 0);
        assert_int_equal(maildir_folder_create(md, "inbox", &st), 0);
        assert_int_equal(maildir_folder_create(md, "a..b", &st), -1);
        assert_int_equal(status_class(&st), 5);
        assert_true(exists(".Work/cur") && exists(".Work/new") &&
                    exists(".Work/tmp") && exists(".Work/maildirfolder"));
        assert_true(exists(".&ZeVnLIqe-/maildirfolder"));
        assert_true(exists(".Work.Projects/cur"));
        assert_false(exists(".A"));     /* parents are not made */
        /* junk in the root is not a folder */
        write_file(".notadir", "x");
        write_file(".&bad", "x");
        char p[256];
        snprintf(p, sizeof(p), "%s/..DOVECOT-TRASH", root);
        mkdir(p, 0700);
        snprintf(p, sizeof(p), "%s/.&bad-dir", root);
        mkdir(p, 0700);
        assert_string_equal(list_str(),
                "INBOX/ A/NC A.B/NC A.B.C/ Work/C Work.Projects/ 日本語/");
        assert_int_equal(maildir_folder_exists(md, "Work.Projects", &st), 1);
        assert_int_equal(maildir_folder_exists(md, "A.B", &st), 0);
        assert_int_equal(maildir_folder_exists(md, "INBOX", &st), 1);
        assert_int_equal(maildir_folder_exists(md, "bad/name", &st), -1);
}

static void test_delete(void **state)
{
        struct status st;
        struct quota_usage u;

        maildir_folder_create(md, "Work", &st);
        maildir_folder_create(md, "Work.Projects", &st);
        maildir_set_quota(md, 1000000, 0);
        assert_int_equal(maildir_deliver(md, "Work", "abc\n", 4, NULL, &st), 0);
        assert_int_equal(maildir_deliver(md, "INBOX", "de\n", 3, NULL, &st), 0);
        assert_int_equal(maildir_quota(md, &u, &st), 1);
        assert_int_equal(u.count, 2);

        assert_int_equal(maildir_folder_delete(md, "Work", &st), 1);
        assert_false(exists(".Work"));
        assert_false(exists("..DOVECOT-TRASH"));
        assert_true(exists(".Work.Projects/cur"));
        assert_string_equal(list_str(), "INBOX/ Work/NC Work.Projects/");
        assert_int_equal(maildir_quota(md, &u, &st), 1);
        assert_int_equal(u.count, 1);
        assert_int_equal(u.bytes, 3);

        assert_int_equal(maildir_folder_delete(md, "Work", &st), 0);
        assert_int_equal(maildir_folder_delete(md, "INBOX", &st), -1);
        assert_int_equal(status_class(&st), 5);

        /* a leftover trash directory is cleared first */
        char p[256];
        snprintf(p, sizeof(p), "%s/..DOVECOT-TRASH", root);
        mkdir(p, 0700);
        write_file("..DOVECOT-TRASH/junk", "x");
        assert_int_equal(maildir_folder_delete(md, "Work.Projects", &st), 1);
        assert_false(exists("..DOVECOT-TRASH"));
        assert_string_equal(list_str(), "INBOX/");
}

static void test_rename(void **state)
{
        struct status st;

        maildir_folder_create(md, "A", &st);
        maildir_folder_create(md, "A.x", &st);
        maildir_folder_create(md, "A.x.deep", &st);
        maildir_folder_create(md, "Ab", &st);           /* not a child */
        maildir_folder_create(md, "Taken", &st);
        assert_int_equal(maildir_deliver(md, "A.x", "m\n", 2, NULL, &st), 0);

        assert_int_equal(maildir_folder_rename(md, "A", "日本語", &st), 1);
        assert_string_equal(list_str(),
                "INBOX/ Ab/ Taken/ 日本語/C 日本語.x/C 日本語.x.deep/");
        assert_true(exists(".&ZeVnLIqe-.x/new"));

        assert_int_equal(maildir_folder_rename(md, "日本語", "Taken", &st), -1);
        assert_int_equal(status_class(&st), 5);
        assert_int_equal(maildir_folder_rename(md, "Nope", "Other", &st), 0);
        assert_int_equal(maildir_folder_rename(md, "INBOX", "Other", &st), -1);
        assert_int_equal(status_class(&st), 5);
        assert_int_equal(maildir_folder_rename(md, "Ab", "inbox", &st), -1);

        /* under itself: the old children follow, nothing doubles up */
        assert_int_equal(maildir_folder_rename(md, "Ab", "Ab.sub", &st), 1);
        assert_string_equal(list_str(),
                "INBOX/ Ab/NC Ab.sub/ Taken/ 日本語/C 日本語.x/C 日本語.x.deep/");

        /* a parent that exists only by its children can be renamed */
        assert_int_equal(maildir_folder_rename(md, "Ab", "Cd", &st), 1);
        assert_string_equal(list_str(),
                "INBOX/ Cd/NC Cd.sub/ Taken/ 日本語/C 日本語.x/C 日本語.x.deep/");
}

static void test_subscriptions(void **state)
{
        struct status st;
        char **names;
        size_t n;

        assert_int_equal(maildir_subscriptions(md, &names, &n, &st), 0);
        assert_int_equal(n, 0);
        assert_int_equal(maildir_subscribe(md, "inbox", 1, &st), 0);
        assert_int_equal(maildir_subscribe(md, "日本語", 1, &st), 0);
        assert_int_equal(maildir_subscribe(md, "Work.Projects", 1, &st), 0);
        assert_int_equal(maildir_subscribe(md, "Work.Projects", 1, &st), 0);
        assert_string_equal(read_file("subscriptions"),
                "V\t2\n\nINBOX\n&ZeVnLIqe-\nWork\tProjects\n");
        assert_int_equal(maildir_subscribe(md, "日本語", 0, &st), 0);
        assert_string_equal(read_file("subscriptions"),
                "V\t2\n\nINBOX\nWork\tProjects\n");
        assert_false(exists("subscriptions.lock"));
        assert_int_equal(maildir_subscribe(md, "bad..name", 1, &st), -1);

        /* names need not exist; listing marks those that do */
        maildir_folder_create(md, "Work", &st);
        maildir_folder_create(md, "Work.Projects", &st);
        assert_string_equal(list_str(), "INBOX/S Work/C Work.Projects/S");

        assert_int_equal(maildir_subscriptions(md, &names, &n, &st), 0);
        assert_int_equal(n, 2);
        assert_string_equal(names[0], "INBOX");
        assert_string_equal(names[1], "Work.Projects");
        maildir_subscriptions_free(&names, n);
        assert_null(names);
}

static void test_subscriptions_old_format(void **state)
{
        struct status st;
        char **names;
        size_t n;

        /* one name a line, '.' between levels, a trailing separator from
         * other software, and a line that is no valid name */
        write_file("subscriptions", "INBOX\nWork.Projects\n&ZeVnLIqe-\nOld.\n&bad\n\n");
        assert_int_equal(maildir_subscriptions(md, &names, &n, &st), 0);
        assert_int_equal(n, 4);
        assert_string_equal(names[0], "INBOX");
        assert_string_equal(names[1], "Work.Projects");
        assert_string_equal(names[2], "日本語");
        assert_string_equal(names[3], "Old");
        maildir_subscriptions_free(&names, n);

        /* writing turns it into version 2; the unreadable line stays */
        assert_int_equal(maildir_subscribe(md, "New", 1, &st), 0);
        assert_string_equal(read_file("subscriptions"),
                "V\t2\n\nINBOX\nWork\tProjects\n&ZeVnLIqe-\nOld\n&bad\nNew\n");

        /* version 2 with Dovecot's tab escapes: \001t is a tab, which no
         * folder name may hold, so the line is skipped but kept */
        write_file("subscriptions", "V\t2\n\nA\001tB\nC\tD\n");
        assert_int_equal(maildir_subscriptions(md, &names, &n, &st), 0);
        assert_int_equal(n, 1);
        assert_string_equal(names[0], "C.D");
        maildir_subscriptions_free(&names, n);
        assert_int_equal(maildir_subscribe(md, "C.D", 0, &st), 0);
        assert_string_equal(read_file("subscriptions"), "V\t2\n\nA\001tB\n");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_create_and_list, setup, teardown),
                cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rename, setup, teardown),
                cmocka_unit_test_setup_teardown(test_subscriptions, setup, teardown),
                cmocka_unit_test_setup_teardown(test_subscriptions_old_format, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
