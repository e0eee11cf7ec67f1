/* maildir_test.c - folder names, the ":2," suffix, unique names, the
 * header end, delivery (tmp -> new, LF storage, S= and W=), APPEND, and the
 * quota around both */
#include <dirent.h>
#include <fcntl.h>
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

static int setup(void **state)
{
        snprintf(root, sizeof(root), "/tmp/maildir_test.XXXXXX");
        return mkdtemp(root) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
        return system(cmd) == 0 ? 0 : -1;
}

/* only_file - the one file in dir (new string), or NULL */
static char *only_file(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        char *name = NULL;
        int n = 0;

        if (d == NULL)
                return NULL;
        while ((de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.')
                        continue;
                n++;
                free(name);
                name = strdup(de->d_name);
        }
        closedir(d);
        if (n != 1) {
                free(name);
                return NULL;
        }
        return name;
}

static char *slurp(const char *path, size_t *len_r)
{
        FILE *f = fopen(path, "rb");
        char *buf = malloc(1 << 20);
        size_t n = f ? fread(buf, 1, (1 << 20) - 1, f) : 0;
        if (f)
                fclose(f);
        buf[n] = '\0';
        *len_r = n;
        return buf;
}

static void test_names(void **state)
{
        static const struct {
                const char *name;
                const char *want_dir;   /* NULL: refused */
        } cases[] = {
                { "INBOX", "" },
                { "inbox", "" },
                { "Inbox.Sub", ".INBOX.Sub" },
                { "Sent", ".Sent" },
                { "Work.Projects", ".Work.Projects" },
                { "日本語", ".&ZeVnLIqe-" },
                { "日本語.メモ", ".&ZeVnLIqe-.&MOEw4g-" },
                { "A&B", ".A&-B" },
                { "Inboxes", ".Inboxes" },
                { "", NULL },
                { ".Hidden", NULL },
                { "Trailing.", NULL },
                { "a..b", NULL },
                { "a/b", NULL },
                { "a%b", NULL },
                { "a*", NULL },
                { "tab\there", NULL },
                { "bad\xff", NULL },
                { "del\x7f", NULL },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct status st;
                char *dir = maildir_name_to_dir(cases[i].name, &st);
                if ((dir == NULL) != (cases[i].want_dir == NULL) ||
                    (dir != NULL && strcmp(dir, cases[i].want_dir) != 0))
                        fail_msg("case \"%s\": got \"%s\", want \"%s\"",
                                 cases[i].name, dir ? dir : "(refused)",
                                 cases[i].want_dir ? cases[i].want_dir :
                                 "(refused)");
                if (dir == NULL && status_class(&st) != 5)
                        fail_msg("case \"%s\": class %d, want 5", cases[i].name,
                                 status_class(&st));
                /* and back, for names that get a directory */
                if (dir != NULL && dir[0] != '\0') {
                        char *back = maildir_dir_to_name(dir);
                        struct status st2;
                        char *norm = maildir_name_normalize(cases[i].name, &st2);
                        if (back == NULL || strcmp(back, norm) != 0)
                                fail_msg("case \"%s\": back as \"%s\"",
                                         cases[i].name, back ? back : "(null)");
                        free(back);
                        free(norm);
                }
                free(dir);
        }
        char *big = malloc(MAILDIR_NAME_MAX + 2);
        memset(big, 'a', MAILDIR_NAME_MAX + 1);
        big[MAILDIR_NAME_MAX + 1] = '\0';
        struct status st;
        assert_null(maildir_name_to_dir(big, &st));
        free(big);
        /* root entries that are not folders */
        assert_null(maildir_dir_to_name("."));
        assert_null(maildir_dir_to_name(".."));
        assert_null(maildir_dir_to_name("..DOVECOT-TRASH"));
        assert_null(maildir_dir_to_name("cur"));
        assert_null(maildir_dir_to_name(".&ZeVnLIqe"));        /* bad mUTF-7 */
}

static void test_flags_suffix(void **state)
{
        static const struct {
                const char *name;
                uint32_t flags, kw;
                const char *want;
        } cases[] = {
                { "1.M2P3.h", 0, 0, "1.M2P3.h:2," },
                { "1.M2P3.h:2,", MAILDIR_FLAG_SEEN, 0, "1.M2P3.h:2,S" },
                { "1.M2P3.h,S=5:2,S", MAILDIR_FLAG_SEEN | MAILDIR_FLAG_DRAFT |
                  MAILDIR_FLAG_FLAGGED | MAILDIR_FLAG_PASSED |
                  MAILDIR_FLAG_ANSWERED | MAILDIR_FLAG_DELETED, 0,
                  "1.M2P3.h,S=5:2,DFPRST" },
                { "x:2,RS", MAILDIR_FLAG_SEEN, (1u << 0) | (1u << 2),
                  "x:2,Sac" },
                { "x:2,Sabz", 0, 1u << 25, "x:2,z" },
                { "x:1,junk", MAILDIR_FLAG_ANSWERED, 0, "x:2,R" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *got = maildir_filename_set_flags(cases[i].name,
                                                       cases[i].flags,
                                                       cases[i].kw);
                if (strcmp(got, cases[i].want) != 0)
                        fail_msg("case %s: got %s, want %s", cases[i].name, got,
                                 cases[i].want);
                uint32_t f, k;
                maildir_filename_flags(got, &f, &k);
                if (f != cases[i].flags || k != cases[i].kw)
                        fail_msg("case %s: parsed back %x/%x", cases[i].name, f,
                                 k);
                free(got);
        }
        uint32_t f, k;
        maildir_filename_flags("1795841238.M488989P8563.vm,S=101,W=108:2,Sab",
                               &f, &k);
        assert_int_equal(f, MAILDIR_FLAG_SEEN);
        assert_int_equal(k, 3);
        maildir_filename_flags("noinfo", &f, &k);
        assert_int_equal(f | k, 0);
        assert_int_equal(maildir_filename_base_len("abc:2,S"), 3);
        assert_int_equal(maildir_filename_base_len("abc"), 3);
}

static void test_filename_sizes(void **state)
{
        static const struct {
                const char *name;
                char key;
                int want;
                uint64_t size;
        } cases[] = {
                { "1.M2P3.h,S=101,W=108:2,S", 'S', 1, 101 },
                { "1.M2P3.h,S=101,W=108:2,S", 'W', 1, 108 },
                { "1.M2P3.h,S=101", 'S', 1, 101 },
                { "1.M2P3.h,S=101", 'W', 0, 0 },
                { "1.M2P3.h", 'S', 0, 0 },
                { "1.M2P3.h,S=", 'S', 0, 0 },
                { "1.M2P3.h,S=12x", 'S', 0, 0 },
                { "1.M2P3.h:2,S=5", 'S', 0, 0 },   /* in the info: no */
                { "h,S=99999999999999999999", 'S', 0, 0 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                uint64_t v = 0;
                int r = maildir_filename_size(cases[i].name, cases[i].key, &v);
                if (r != cases[i].want || (r == 1 && v != cases[i].size))
                        fail_msg("case %s %c: got %d %llu", cases[i].name,
                                 cases[i].key, r, (unsigned long long)v);
        }
}

static void test_unique_names(void **state)
{
        char *n = maildir_filename_format(1700000000, 123456, 4242, 7,
                                          "mx/1:a,b", 101, 108);
        assert_string_equal(n, "1700000000.M123456P4242Q7.mx\\0571\\072a\\054b,S=101,W=108");
        free(n);
        n = maildir_filename_format(5, 0, 1, 1, "h", UINT64_MAX, 0);
        assert_string_equal(n, "5.M0P1Q1.h");
        free(n);
}

static void test_header_end(void **state)
{
        static const struct {
                const char *name;
                const char *msg;
                size_t want;
        } cases[] = {
                { "lf", "A: b\nC: d\n\nbody\n", 11 },
                { "crlf", "A: b\r\nC: d\r\n\r\nbody\r\n", 14 },
                { "no body", "A: b\nC: d\n", 10 },
                { "no newline", "A: b", 4 },
                { "empty header", "\nbody", 1 },
                { "empty header crlf", "\r\nbody", 2 },
                { "empty", "", 0 },
                { "blank at end", "A: b\n\n", 6 },
                { "folded", "A: b\n c\n\nx", 9 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                size_t got = maildir_msg_header_end(cases[i].msg,
                                                    strlen(cases[i].msg));
                if (got != cases[i].want)
                        fail_msg("case %s: got %zu, want %zu", cases[i].name,
                                 got, cases[i].want);
        }
}

static void test_open_creates(void **state)
{
        char path[128], sub[160];
        struct maildir *md;
        struct status st;

        snprintf(path, sizeof(path), "%s/home/u/Maildir", root);
        assert_int_equal(maildir_open(path, 0, &md, &st), -1);
        assert_string_equal(st.code, STATUS_BAD_MAILBOX);
        assert_int_equal(maildir_open(path, MAILDIR_CREATE, &md, &st), 0);
        const char *subs[] = { "cur", "new", "tmp" };
        for (int i = 0; i < 3; i++) {
                struct stat sb;
                snprintf(sub, sizeof(sub), "%s/%s", path, subs[i]);
                assert_int_equal(stat(sub, &sb), 0);
                assert_int_equal(sb.st_mode & 0777, 0700);
        }
        assert_string_equal(maildir_root(md), path);
        maildir_close(&md);
        assert_null(md);
}

static void test_deliver(void **state)
{
        static const struct {
                const char *name;
                const char *in;
                const char *stored;
                size_t chunk;           /* 0: all at once */
        } cases[] = {
                { "crlf", "A: b\r\n\r\nhi\r\n", "A: b\n\nhi\n", 0 },
                { "crlf byte by byte", "A: b\r\n\r\nhi\r\n", "A: b\n\nhi\n", 1 },
                { "lf", "A: b\n\nhi\n", "A: b\n\nhi\n", 0 },
                { "lone cr kept", "A: b\r\n\r\nx\ry\r\n", "A: b\n\nx\ry\n", 1 },
                { "cr at end", "A: b\n\nx\r", "A: b\n\nx\r", 1 },
                { "no final newline", "A: b\r\n\r\nx", "A: b\n\nx", 3 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char path[128], dir[160], file[400];
                struct maildir *md;
                struct maildir_save *sv;
                struct status st;
                char *name;

                snprintf(path, sizeof(path), "%s/md%zu", root, i);
                assert_int_equal(maildir_open(path, MAILDIR_CREATE, &md, &st), 0);
                assert_int_equal(maildir_save_begin(md, NULL, &sv, &st), 0);
                size_t len = strlen(cases[i].in);
                size_t step = cases[i].chunk ? cases[i].chunk : len;
                for (size_t off = 0; off < len; off += step) {
                        size_t n = len - off < step ? len - off : step;
                        assert_int_equal(maildir_save_write(sv, cases[i].in + off,
                                                            n, &st), 0);
                }
                assert_int_equal(maildir_save_deliver(&sv, &name, &st), 0);
                assert_null(sv);
                snprintf(dir, sizeof(dir), "%s/new", path);
                char *only = only_file(dir);
                if (only == NULL || strcmp(only, name) != 0)
                        fail_msg("case %s: new/ holds %s, want %s", cases[i].name,
                                 only ? only : "(not one file)", name);
                snprintf(file, sizeof(file), "%s/%s", dir, name);
                size_t got_len;
                char *got = slurp(file, &got_len);
                if (strcmp(got, cases[i].stored) != 0)
                        fail_msg("case %s: stored \"%s\"", cases[i].name, got);
                /* W= is the size with CRLF line ends */
                size_t nl = 0;
                for (size_t k = 0; k < got_len; k++)
                        nl += got[k] == '\n';
                uint64_t s, w;
                assert_int_equal(maildir_filename_size(name, 'S', &s), 1);
                assert_int_equal(maildir_filename_size(name, 'W', &w), 1);
                if (s != got_len || w != got_len + nl)
                        fail_msg("case %s: S=%llu W=%llu for %zu bytes, %zu LFs",
                                 cases[i].name, (unsigned long long)s,
                                 (unsigned long long)w, got_len, nl);
                /* Dovecot's form: <secs>.M<usecs>P<pid>Q<n>.<host>,S=,W= */
                char pidq[64];
                snprintf(pidq, sizeof(pidq), "P%ldQ1.", (long)getpid());
                if (strstr(name, ".M") == NULL || strstr(name, pidq) == NULL ||
                    strchr(name, ':') != NULL)
                        fail_msg("case %s: name %s", cases[i].name, name);
                snprintf(dir, sizeof(dir), "%s/tmp", path);
                assert_null(only_file(dir));    /* tmp/ is empty again */
                free(only);
                free(got);
                free(name);
                maildir_close(&md);
        }
}

static void test_deliver_names_unique(void **state)
{
        struct maildir *md;
        struct status st;
        char *names[50];

        assert_int_equal(maildir_open(root, MAILDIR_CREATE, &md, &st), 0);
        for (int i = 0; i < 50; i++)
                assert_int_equal(maildir_deliver(md, "INBOX", "x\n", 2,
                                                 &names[i], &st), 0);
        for (int i = 0; i < 50; i++) {
                for (int j = 0; j < i; j++)
                        assert_string_not_equal(names[i], names[j]);
        }
        for (int i = 0; i < 50; i++)
                free(names[i]);
        /* a folder must exist, except INBOX */
        assert_int_equal(maildir_deliver(md, "Nope", "x\n", 2, NULL, &st), -1);
        assert_string_equal(st.code, STATUS_BAD_MAILBOX);
        assert_int_equal(maildir_folder_create(md, "Yes", &st), 1);
        assert_int_equal(maildir_deliver(md, "Yes", "x\n", 2, NULL, &st), 0);
        maildir_close(&md);
}

static void test_first_delivery_creates(void **state)
{
        char path[128];
        struct maildir *md;
        struct status st;

        snprintf(path, sizeof(path), "%s/later", root);
        assert_int_equal(maildir_open(path, MAILDIR_CREATE, &md, &st), 0);
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf %s/tmp %s/new", path, path);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(maildir_deliver(md, NULL, "x\n", 2, NULL, &st), 0);
        maildir_close(&md);
}

static void test_quota(void **state)
{
        struct maildir *md;
        struct maildir_box *box;
        struct status st;
        struct quota_usage u;
        char msg[300];

        memset(msg, 'x', sizeof(msg));
        msg[sizeof(msg) - 1] = '\n';
        assert_int_equal(maildir_open(root, MAILDIR_CREATE, &md, &st), 0);
        assert_int_equal(maildir_quota(md, &u, &st), 0);       /* none */
        maildir_set_quota(md, 1000, 5);
        assert_int_equal(maildir_deliver(md, NULL, msg, 300, NULL, &st), 0);
        assert_int_equal(maildir_deliver(md, NULL, msg, 300, NULL, &st), 0);
        assert_int_equal(maildir_deliver(md, NULL, msg, 300, NULL, &st), 0);
        assert_int_equal(maildir_quota(md, &u, &st), 1);
        assert_int_equal(u.bytes, 900);
        assert_int_equal(u.count, 3);
        /* the fourth does not fit: 5.2.2, and nothing is left behind */
        assert_int_equal(maildir_deliver(md, NULL, msg, 300, NULL, &st), -1);
        assert_string_equal(st.code, STATUS_OVER_QUOTA);
        char tmp[128];
        snprintf(tmp, sizeof(tmp), "%s/tmp", root);
        assert_null(only_file(tmp));

        /* APPEND is checked too */
        struct maildir_save *sv;
        uint32_t uid;
        assert_int_equal(maildir_box_open(md, "INBOX", 0, &box, &st), 0);
        assert_int_equal(maildir_sync(box, NULL, &st), 0);
        assert_int_equal(maildir_save_begin(md, "INBOX", &sv, &st), 0);
        assert_int_equal(maildir_save_write(sv, msg, 300, &st), 0);
        assert_int_equal(maildir_save_append(&sv, box, 0, NULL, 0, 0, &uid,
                                             &st), -1);
        assert_string_equal(st.code, "5.2.2");

        /* expunge gives room back */
        assert_int_equal(maildir_msg_expunge(box, maildir_box_uid(box, 0), &st),
                         1);
        assert_int_equal(maildir_quota(md, &u, &st), 1);
        assert_int_equal(u.bytes, 600);
        assert_int_equal(u.count, 2);
        assert_int_equal(maildir_save_begin(md, "INBOX", &sv, &st), 0);
        assert_int_equal(maildir_save_write(sv, msg, 300, &st), 0);
        assert_int_equal(maildir_save_append(&sv, box, MAILDIR_FLAG_SEEN, NULL,
                                             0, 0, &uid, &st), 0);
        assert_int_equal(uid, 4);

        /* copies count as well (5 messages at most) */
        maildir_set_quota(md, 100000, 5);
        assert_int_equal(maildir_sync(box, NULL, &st), 0);
        uint32_t uids[3] = { 2, 3, 4 }, out[3];
        assert_int_equal(maildir_msg_copy(box, uids, 3, box, 0, out, &st), -1);
        assert_string_equal(st.code, STATUS_OVER_QUOTA);
        assert_int_equal(maildir_msg_copy(box, uids, 2, box, 0, out, &st), 2);
        assert_int_equal(maildir_quota(md, &u, &st), 1);
        assert_int_equal(u.count, 5);
        maildir_box_close(&box);

        /* already over at the start: refused before any writing */
        maildir_set_quota(md, 100000, 4);
        assert_int_equal(maildir_save_begin(md, NULL, &sv, &st), -1);
        assert_string_equal(st.code, STATUS_OVER_QUOTA);
        maildir_close(&md);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_flags_suffix),
                cmocka_unit_test(test_filename_sizes),
                cmocka_unit_test(test_unique_names),
                cmocka_unit_test(test_header_end),
                cmocka_unit_test_setup_teardown(test_open_creates, setup, teardown),
                cmocka_unit_test_setup_teardown(test_deliver, setup, teardown),
                cmocka_unit_test_setup_teardown(test_deliver_names_unique, setup, teardown),
                cmocka_unit_test_setup_teardown(test_first_delivery_creates, setup, teardown),
                cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
