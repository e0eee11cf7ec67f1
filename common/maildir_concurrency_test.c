/* maildir_concurrency_test.c - two processes deliver 2,000 messages while
 * one syncs and checks the uidlist over and over, and another changes
 * flags (renames in cur/) all along: no UID given twice, none lost, no
 * message reported expunged, the uidlist valid at every read */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "maildir.h"
#include "uidlist.h"

#define DELIVERERS      2
#define PER_DELIVERER   1000
#define TOTAL           (DELIVERERS * PER_DELIVERER)

static char root[64];
static char done_path[128];

static int setup(void **state)
{
        snprintf(root, sizeof(root), "/tmp/maildir_conc_test.XXXXXX");
        if (mkdtemp(root) == NULL)
                return -1;
        snprintf(done_path, sizeof(done_path), "%s.done", root);
        return 0;
}

static int teardown(void **state)
{
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf %s %s", root, done_path);
        return system(cmd) == 0 ? 0 : -1;
}

static void deliverer(int n)
{
        struct maildir *md;
        struct status st;
        char msg[256];

        if (maildir_open(root, MAILDIR_CREATE, &md, &st) < 0)
                _exit(10);
        for (int i = 0; i < PER_DELIVERER; i++) {
                int len = snprintf(msg, sizeof(msg),
                                   "From: d%d@example.com\r\nSubject: %d\r\n\r\nbody %d\r\n",
                                   n, i, i);
                if (maildir_deliver(md, NULL, msg, (size_t)len, NULL, &st) < 0) {
                        fprintf(stderr, "deliverer %d: %s\n", n, st.text);
                        _exit(11);
                }
        }
        maildir_close(&md);
        _exit(0);
}

#define FAIL(...) do { fprintf(stderr, "syncer: " __VA_ARGS__); \
                       fputc('\n', stderr); _exit(20); } while (0)

/* check_uidlist - the file parses cleanly and never contradicts what was
 * seen before: a name keeps its UID, a UID its name */
static void check_uidlist(char **names, uint32_t *uidvalidity)
{
        char path[160];
        struct uidlist *ul;
        struct status st;
        char *error;

        snprintf(path, sizeof(path), "%s/%s", root, UIDLIST_NAME);
        int r = uidlist_read(path, &ul, NULL, &error, &st);
        if (r == 0 && error == NULL)
                return;                 /* not written yet */
        if (r != 1 || error != NULL)
                FAIL("uidlist unreadable or damaged: %s", error ? error : st.text);
        if (*uidvalidity == 0)
                *uidvalidity = ul->uidvalidity;
        if (ul->uidvalidity != *uidvalidity)
                FAIL("UIDVALIDITY changed %u -> %u", *uidvalidity,
                     ul->uidvalidity);
        for (size_t i = 0; i < ul->count; i++) {
                uint32_t uid = ul->recs[i].uid;
                if (uid > TOTAL)
                        FAIL("UID %u above %d", uid, TOTAL);
                if (names[uid] == NULL)
                        names[uid] = strdup(ul->recs[i].name);
                else if (strcmp(names[uid], ul->recs[i].name) != 0)
                        FAIL("UID %u given to %s and %s", uid, names[uid],
                             ul->recs[i].name);
        }
        if (ul->next_uid > TOTAL + 1)
                FAIL("next UID %u", ul->next_uid);
        uidlist_free(&ul);
}

static void syncer(void)
{
        struct maildir *md;
        struct maildir_box *box;
        struct status st;
        char **names = calloc(TOTAL + 2, sizeof(char *));
        unsigned char *reported = calloc(TOTAL + 2, 1);
        uint32_t uidvalidity = 0, max_reported = 0;
        size_t have = 0;
        int syncs = 0;
        time_t deadline = time(NULL) + 60;

        if (maildir_open(root, MAILDIR_CREATE, &md, &st) < 0 ||
            maildir_box_open(md, NULL, 0, &box, &st) < 0)
                FAIL("open: %s", st.text);
        for (;;) {
                int finished = access(done_path, F_OK) == 0;
                struct maildir_changes ch;
                if (maildir_sync(box, &ch, &st) < 0)
                        FAIL("sync: %s", st.text);
                syncs++;
                if (ch.uidvalidity_changed || ch.expunged_count > 0)
                        FAIL("expunged %zu, uidvalidity changed %d",
                             ch.expunged_count, ch.uidvalidity_changed);
                for (size_t i = 0; i < ch.new_count; i++) {
                        uint32_t uid = ch.new_uids[i];
                        if (uid <= max_reported || uid > TOTAL || reported[uid])
                                FAIL("UID %u reported out of order or twice",
                                     uid);
                        reported[uid] = 1;
                        max_reported = uid;
                }
                have += ch.new_count;
                maildir_changes_release(&ch);
                if (have != maildir_box_count(box))
                        FAIL("count %zu, reported %zu", maildir_box_count(box),
                             have);
                check_uidlist(names, &uidvalidity);
                if (finished && have == TOTAL)
                        break;
                if (time(NULL) > deadline)
                        FAIL("only %zu of %d messages after a minute", have,
                             TOTAL);
        }
        /* every UID 1..TOTAL, each a different file */
        for (uint32_t uid = 1; uid <= TOTAL; uid++) {
                if (!reported[uid] || names[uid] == NULL)
                        FAIL("UID %u missing", uid);
                uint64_t vsize;
                if (uid % 97 == 0 &&
                    maildir_msg_vsize(box, uid, &vsize, &st) != 1)
                        FAIL("UID %u unreadable", uid);
        }
        fprintf(stderr, "syncer: %d syncs\n", syncs);
        maildir_box_close(&box);
        maildir_close(&md);
        _exit(0);
}

/* flagger - another session: keeps renaming files in cur/ by setting and
 * clearing \Seen, so that the syncer's scans race with renames */
static void flagger(void)
{
        struct maildir *md;
        struct maildir_box *box;
        struct status st;
        uint32_t seed = 7;

        if (maildir_open(root, MAILDIR_CREATE, &md, &st) < 0 ||
            maildir_box_open(md, NULL, 0, &box, &st) < 0)
                _exit(30);
        while (access(done_path, F_OK) != 0) {
                if (maildir_sync(box, NULL, &st) < 0)
                        _exit(31);
                size_t n = maildir_box_count(box);
                for (int k = 0; k < 20 && n > 0; k++) {
                        seed = seed * 1103515245u + 12345u;
                        uint32_t uid = maildir_box_uid(box, (seed >> 8) % n);
                        if (maildir_msg_store(box, uid, k % 2 ?
                                              MAILDIR_STORE_REMOVE :
                                              MAILDIR_STORE_ADD,
                                              MAILDIR_FLAG_SEEN, NULL, 0,
                                              &st) < 0)
                                _exit(32);
                }
                struct timespec ts = { 0, 2 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
        maildir_box_close(&box);
        maildir_close(&md);
        _exit(0);
}

static void test_deliver_and_sync_concurrently(void **state)
{
        pid_t deliverers[DELIVERERS], sync_pid, flag_pid;
        struct maildir *md;
        struct status st;
        int status;

        /* the Maildir exists before anyone starts */
        assert_int_equal(maildir_open(root, MAILDIR_CREATE, &md, &st), 0);
        maildir_close(&md);
        if ((sync_pid = fork()) == 0)
                syncer();
        if ((flag_pid = fork()) == 0)
                flagger();
        for (int i = 0; i < DELIVERERS; i++) {
                if ((deliverers[i] = fork()) == 0)
                        deliverer(i);
        }
        for (int i = 0; i < DELIVERERS; i++) {
                assert_int_equal(waitpid(deliverers[i], &status, 0),
                                 deliverers[i]);
                assert_true(WIFEXITED(status));
                assert_int_equal(WEXITSTATUS(status), 0);
        }
        FILE *f = fopen(done_path, "w");
        assert_non_null(f);
        fclose(f);
        assert_int_equal(waitpid(flag_pid, &status, 0), flag_pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_int_equal(waitpid(sync_pid, &status, 0), sync_pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);

        /* and a fresh reader sees the same 2,000 */
        struct maildir_box *box;
        struct maildir_changes ch;
        assert_int_equal(maildir_open(root, 0, &md, &st), 0);
        assert_int_equal(maildir_box_open(md, NULL, 0, &box, &st), 0);
        assert_int_equal(maildir_sync(box, &ch, &st), 0);
        assert_int_equal(ch.new_count, TOTAL);
        assert_int_equal(ch.new_uids[0], 1);
        assert_int_equal(ch.new_uids[TOTAL - 1], TOTAL);
        maildir_changes_release(&ch);
        maildir_box_close(&box);
        maildir_close(&md);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_deliver_and_sync_concurrently,
                                                setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
