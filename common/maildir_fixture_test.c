/* maildir_fixture_test.c - a Maildir written by Dovecot 2.3 itself
 * (testdata/maildir/dovecot-fixture, made by make-dovecot-fixture.py) read
 * through this library: every folder's UIDVALIDITY, UIDNEXT and message
 * count, every message's UID, flags, keywords, size and CRLF size, the
 * folder list and the subscriptions must be what Dovecot reported for it
 * (dovecot-fixture.expected). */
#include <errno.h>
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

#define MAX_ROWS 64

struct row {
        char *f[12];
        int n;
};

static struct row rows[MAX_ROWS];
static int nrows;
static char root[64];
static char fixture[512];
static struct maildir *md;

/* find_fixture - testdata next to this file, whatever the cwd */
static int find_fixture(void)
{
        const char *env = getenv("YUBIN_TESTDATA");
        char base[400];

        if (env != NULL) {
                snprintf(base, sizeof(base), "%s", env);
        } else {
                snprintf(base, sizeof(base), "%s", __FILE__);
                char *slash = strrchr(base, '/');
                if (slash != NULL)
                        slash[1] = '\0';
                else
                        base[0] = '\0';
                strcat(base, "testdata");
        }
        snprintf(fixture, sizeof(fixture), "%s/maildir/dovecot-fixture", base);
        return access(fixture, F_OK);
}

static int load_expected(void)
{
        char path[600], line[1024];

        snprintf(path, sizeof(path), "%s.expected", fixture);
        FILE *f = fopen(path, "r");
        if (f == NULL)
                return -1;
        while (fgets(line, sizeof(line), f) != NULL && nrows < MAX_ROWS) {
                line[strcspn(line, "\n")] = '\0';
                if (line[0] == '#' || line[0] == '\0')
                        continue;
                struct row *r = &rows[nrows++];
                char *save, *tok = strtok_r(line, "\t", &save);
                for (r->n = 0; tok != NULL && r->n < 12;
                     tok = strtok_r(NULL, "\t", &save))
                        r->f[r->n++] = strdup(tok);
        }
        fclose(f);
        return 0;
}

static int setup(void **state)
{
        struct status st;
        char cmd[1200];

        if (find_fixture() < 0 || load_expected() < 0) {
                fprintf(stderr, "fixture not found at %s\n", fixture);
                return -1;
        }
        snprintf(root, sizeof(root), "/tmp/maildir_fixture_test.XXXXXX");
        if (mkdtemp(root) == NULL)
                return -1;
        /* a copy, since syncing moves files and may write; without empty
         * directories, as git keeps none */
        snprintf(cmd, sizeof(cmd),
                 "cp -R '%s/.' '%s/' && find '%s' -mindepth 1 -type d -empty -delete",
                 fixture, root, root);
        if (system(cmd) != 0)
                return -1;
        return maildir_open(root, 0, &md, &st);
}

static int teardown(void **state)
{
        char cmd[128];

        maildir_close(&md);
        for (int i = 0; i < nrows; i++) {
                for (int k = 0; k < rows[i].n; k++)
                        free(rows[i].f[k]);
        }
        nrows = 0;
        snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
        return system(cmd) == 0 ? 0 : -1;
}

static uint32_t system_flag(const char *name)
{
        static const struct {
                const char *name;
                uint32_t flag;
        } map[] = {
                { "\\Seen", MAILDIR_FLAG_SEEN },
                { "\\Answered", MAILDIR_FLAG_ANSWERED },
                { "\\Flagged", MAILDIR_FLAG_FLAGGED },
                { "\\Deleted", MAILDIR_FLAG_DELETED },
                { "\\Draft", MAILDIR_FLAG_DRAFT },
        };

        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
                if (strcmp(map[i].name, name) == 0)
                        return map[i].flag;
        }
        return 0;
}

static void test_folders(void **state)
{
        struct maildir_folder *list;
        struct status st;
        size_t n;
        int want = 0;

        assert_int_equal(maildir_folder_list(md, &list, &n, &st), 0);
        for (int i = 0; i < nrows; i++) {
                if (strcmp(rows[i].f[0], "folder") != 0)
                        continue;
                want++;
                int found = 0;
                for (size_t k = 0; k < n; k++)
                        found |= strcmp(list[k].name, rows[i].f[1]) == 0 &&
                                 !(list[k].flags & MAILDIR_LIST_NONEXISTENT);
                if (!found)
                        fail_msg("folder %s: not listed", rows[i].f[1]);
        }
        assert_int_equal(n, (size_t)want);
        for (size_t k = 0; k < n; k++) {
                int children = strcmp(list[k].name, "Work") == 0;
                if (!!(list[k].flags & MAILDIR_LIST_CHILDREN) != children)
                        fail_msg("folder %s: children flag %u", list[k].name,
                                 list[k].flags);
        }
        maildir_folder_list_free(&list, n);

        char **subs;
        assert_int_equal(maildir_subscriptions(md, &subs, &n, &st), 0);
        size_t want_subs = 0;
        for (int i = 0; i < nrows; i++) {
                if (strcmp(rows[i].f[0], "subscribed") != 0)
                        continue;
                int found = 0;
                for (size_t k = 0; k < n; k++)
                        found |= strcmp(subs[k], rows[i].f[1]) == 0;
                if (!found)
                        fail_msg("subscription %s: missing", rows[i].f[1]);
                want_subs++;
        }
        assert_int_equal(n, want_subs);
        maildir_subscriptions_free(&subs, n);
}

static void check_folder(const struct row *fr)
{
        struct maildir_box *box;
        struct status st;
        const char *name = fr->f[1];

        if (maildir_box_open(md, name, 0, &box, &st) < 0)
                fail_msg("folder %s: %s", name, st.text);
        if (maildir_sync(box, NULL, &st) < 0)
                fail_msg("folder %s: sync: %s", name, st.text);
        if (maildir_box_uidvalidity(box) != strtoul(fr->f[2], NULL, 10) ||
            maildir_box_uidnext(box) != strtoul(fr->f[3], NULL, 10) ||
            maildir_box_count(box) != strtoul(fr->f[4], NULL, 10))
                fail_msg("folder %s: got UIDVALIDITY %u UIDNEXT %u MESSAGES %zu, "
                         "want %s %s %s", name, maildir_box_uidvalidity(box),
                         maildir_box_uidnext(box), maildir_box_count(box),
                         fr->f[2], fr->f[3], fr->f[4]);
        size_t seen = 0;
        for (int i = 0; i < nrows; i++) {
                const struct row *r = &rows[i];
                if (strcmp(r->f[0], "msg") != 0 || strcmp(r->f[1], name) != 0)
                        continue;
                uint32_t uid = (uint32_t)strtoul(r->f[2], NULL, 10);
                struct maildir_msg_info info;
                if (maildir_msg_info(box, uid, &info) != 1 ||
                    maildir_box_uid(box, seen) != uid)
                        fail_msg("%s UID %u: not there (or not in order)",
                                 name, uid);
                seen++;
                uint32_t want_flags = 0;
                int want_kw = 0;
                for (int k = 5; k < r->n; k++) {
                        if (r->f[k][0] == '\\') {
                                want_flags |= system_flag(r->f[k]);
                                continue;
                        }
                        want_kw++;
                        int have = 0;
                        for (unsigned int b = 0; b < 26; b++) {
                                const char *kw = maildir_box_keyword(box, b);
                                if ((info.keywords & (1u << b)) && kw != NULL &&
                                    strcmp(kw, r->f[k]) == 0)
                                        have = 1;
                        }
                        if (!have)
                                fail_msg("%s UID %u: keyword %s missing", name,
                                         uid, r->f[k]);
                }
                if (info.flags != want_flags ||
                    __builtin_popcount(info.keywords) != want_kw)
                        fail_msg("%s UID %u: flags %x keywords %x, want %x and %d keywords",
                                 name, uid, info.flags, info.keywords,
                                 want_flags, want_kw);
                uint64_t size, vsize;
                assert_int_equal(maildir_msg_size(box, uid, &size, &st), 1);
                assert_int_equal(maildir_msg_vsize(box, uid, &vsize, &st), 1);
                if (size != strtoull(r->f[3], NULL, 10) ||
                    vsize != strtoull(r->f[4], NULL, 10))
                        fail_msg("%s UID %u: size %llu/%llu, want %s/%s", name,
                                 uid, (unsigned long long)size,
                                 (unsigned long long)vsize, r->f[3], r->f[4]);
                /* our own count of the CRLF size agrees with Dovecot's */
                struct maildir_map map;
                assert_int_equal(maildir_msg_map(box, uid, &map, &st), 1);
                uint64_t lf = 0;
                for (size_t k = 0; k < map.len; k++)
                        lf += map.data[k] == '\n' &&
                              (k == 0 || map.data[k - 1] != '\r');
                if (map.len + lf != vsize)
                        fail_msg("%s UID %u: counted %llu, Dovecot %llu", name,
                                 uid, (unsigned long long)(map.len + lf),
                                 (unsigned long long)vsize);
                size_t hdr = maildir_msg_header_end(map.data, map.len);
                assert_true(hdr > 0 && hdr < map.len);
                assert_memory_equal(map.data + hdr - 2, "\n\n", 2);
                maildir_msg_unmap(&map);
        }
        if (seen != maildir_box_count(box))
                fail_msg("folder %s: %zu messages, expected lists %zu", name,
                         maildir_box_count(box), seen);
        maildir_box_close(&box);
}

static void test_messages(void **state)
{
        int folders = 0;

        for (int i = 0; i < nrows; i++) {
                if (strcmp(rows[i].f[0], "folder") == 0) {
                        check_folder(&rows[i]);
                        folders++;
                }
        }
        assert_int_equal(folders, 4);
}

/* writing into Dovecot's files: the keyword letters already there keep
 * their meaning, new names go after them, UIDs continue from Dovecot's */
static void test_write_into_dovecot_files(void **state)
{
        struct maildir_box *box;
        struct status st;
        const char *kw[] = { "custom1", "NewKeyword" };
        uint32_t uid;

        assert_int_equal(maildir_box_open(md, "INBOX", 0, &box, &st), 0);
        assert_int_equal(maildir_sync(box, NULL, &st), 0);
        assert_int_equal(maildir_msg_store(box, 6, MAILDIR_STORE_ADD,
                                           MAILDIR_FLAG_SEEN, kw, 2, &st), 1);
        char *path = maildir_msg_path(box, 6);
        assert_non_null(strstr(path, ":2,Scd"));
        free(path);
        char p[256], buf[256];
        snprintf(p, sizeof(p), "%s/dovecot-keywords", root);
        FILE *f = fopen(p, "r");
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        assert_string_equal(buf, "0 $Forwarded\n1 Junk\n2 custom1\n3 NewKeyword\n");
        assert_int_equal(maildir_deliver(md, NULL, "x\n", 2, NULL, &st), 0);
        struct maildir_changes ch;
        assert_int_equal(maildir_sync(box, &ch, &st), 0);
        assert_int_equal(ch.new_count, 1);
        assert_int_equal(ch.new_uids[0], 7);
        maildir_changes_release(&ch);
        for (int i = 0; i < nrows; i++) {
                if (strcmp(rows[i].f[0], "folder") == 0 &&
                    strcmp(rows[i].f[1], "INBOX") == 0)
                        assert_int_equal(maildir_box_uidvalidity(box),
                                         strtoul(rows[i].f[2], NULL, 10));
        }
        uid = 7;
        assert_int_equal(maildir_msg_expunge(box, uid, &st), 1);
        maildir_box_close(&box);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_folders, setup, teardown),
                cmocka_unit_test_setup_teardown(test_messages, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_into_dovecot_files,
                                                setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
