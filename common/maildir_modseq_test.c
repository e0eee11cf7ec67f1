/* maildir_modseq_test.c - modification sequences: one new MODSEQ per sync
 * or commit (one fsync each), CHANGEDSINCE and VANISHED (EARLIER) answers,
 * changes by other handles and other programs, HIGHESTMODSEQ across
 * restarts, a torn last block cut off, a lost, corrupt or rolled-back store
 * giving the folder a new UIDVALIDITY, and two processes committing at
 * once under the uidlist lock */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "maildir.h"
#include "maildir_private.h"

static char root[64];
static struct maildir *md;

static int setup(void **state)
{
        struct status st;

        snprintf(root, sizeof(root), "/tmp/maildir_modseq_test.XXXXXX");
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

static void deliver_n(int n)
{
        struct status st;
        char msg[128];

        for (int i = 0; i < n; i++) {
                snprintf(msg, sizeof(msg), "Subject: %d\n\nbody\n", i);
                if (maildir_deliver(md, NULL, msg, strlen(msg), NULL, &st) < 0)
                        fail_msg("deliver: %s", st.text);
        }
}

static struct maildir_box *open_box(int flags)
{
        struct maildir_box *box;
        struct status st;

        assert_int_equal(maildir_box_open(md, NULL, flags, &box, &st), 0);
        return box;
}

static void sync_ok(struct maildir_box *box, struct maildir_changes *ch)
{
        struct status st;

        if (maildir_sync(box, ch, &st) < 0)
                fail_msg("sync: %s %s", st.code, st.text);
}

static void store(struct maildir_box *box, uint32_t uid, uint32_t flags)
{
        struct status st;

        if (maildir_msg_store(box, uid, MAILDIR_STORE_ADD, flags, NULL, 0,
                              &st) != 1)
                fail_msg("store %u: %s", uid, st.text);
}

static void commit(struct maildir_box *box)
{
        struct status st;

        if (maildir_modseq_commit(box, &st) < 0)
                fail_msg("commit: %s %s", st.code, st.text);
}

static uint64_t modseq_of(struct maildir_box *box, uint32_t uid)
{
        uint64_t m;

        if (maildir_msg_modseq(box, uid, &m) != 1)
                fail_msg("no modseq for %u", uid);
        return m;
}

static const char *changed(struct maildir_box *box, uint64_t since)
{
        static char out[1024];
        uint32_t *uids;
        size_t n, off = 0;
        struct status st;

        assert_int_equal(maildir_changed_since(box, since, &uids, &n, &st), 0);
        out[0] = '\0';
        for (size_t i = 0; i < n && off < sizeof(out) - 12; i++)
                off += (size_t)snprintf(out + off, sizeof(out) - off, "%s%u",
                                        i ? "," : "", uids[i]);
        free(uids);
        return out;
}

static const char *vanished(struct maildir_box *box, uint64_t since)
{
        static char out[1024];
        struct maildir_uid_range *r;
        size_t n, off = 0;
        struct status st;

        assert_int_equal(maildir_expunged_since(box, since, &r, &n, &st), 0);
        out[0] = '\0';
        for (size_t i = 0; i < n && off < sizeof(out) - 24; i++) {
                if (r[i].first == r[i].last)
                        off += (size_t)snprintf(out + off, sizeof(out) - off,
                                                "%s%u", i ? "," : "",
                                                r[i].first);
                else
                        off += (size_t)snprintf(out + off, sizeof(out) - off,
                                                "%s%u:%u", i ? "," : "",
                                                r[i].first, r[i].last);
        }
        free(r);
        return out;
}

static char *read_rel(const char *rel, size_t *len_r)
{
        char p[256];
        snprintf(p, sizeof(p), "%s/%s", root, rel);
        FILE *f = fopen(p, "rb");
        if (f == NULL)
                return NULL;
        char *buf = malloc(1 << 20);
        *len_r = fread(buf, 1, (1 << 20) - 1, f);
        buf[*len_r] = '\0';
        fclose(f);
        return buf;
}

static void write_rel(const char *rel, const char *data, size_t len)
{
        char p[256];
        snprintf(p, sizeof(p), "%s/%s", root, rel);
        FILE *f = fopen(p, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        fclose(f);
}

static void test_basic(void **state)
{
        struct maildir_changes ch;
        struct status st;

        deliver_n(5);
        struct maildir_box *box = open_box(MAILDIR_BOX_MODSEQ);
        sync_ok(box, &ch);
        maildir_changes_release(&ch);
        /* first use: every message at MODSEQ 1, the mark in the uidlist */
        assert_int_equal(maildir_box_highestmodseq(box), 1);
        for (uint32_t uid = 1; uid <= 5; uid++)
                assert_int_equal(modseq_of(box, uid), 1);
        size_t len;
        char *ul = read_rel("dovecot-uidlist", &len);
        assert_non_null(strstr(ul, " Y1\n"));
        free(ul);
        assert_int_equal(maildir_box_stats(box)->modseq_resets, 0);

        /* a STORE on two messages: one MODSEQ, one fsync */
        unsigned long fsyncs = maildir_box_stats(box)->modseq_fsyncs;
        store(box, 2, MAILDIR_FLAG_SEEN);
        store(box, 3, MAILDIR_FLAG_FLAGGED);
        commit(box);
        assert_int_equal(maildir_box_stats(box)->modseq_fsyncs, fsyncs + 1);
        assert_int_equal(maildir_box_highestmodseq(box), 2);
        assert_int_equal(modseq_of(box, 2), 2);
        assert_int_equal(modseq_of(box, 3), 2);
        assert_int_equal(modseq_of(box, 1), 1);
        assert_string_equal(changed(box, 1), "2,3");
        assert_string_equal(changed(box, 2), "");
        assert_string_equal(changed(box, 0), "1,2,3,4,5");
        /* a commit with nothing new writes nothing */
        commit(box);
        store(box, 2, MAILDIR_FLAG_SEEN);       /* already set */
        commit(box);
        assert_int_equal(maildir_box_stats(box)->modseq_fsyncs, fsyncs + 1);

        /* EXPUNGE of three: one MODSEQ, the UIDs as one range */
        for (uint32_t uid = 1; uid <= 3; uid++)
                assert_int_equal(maildir_msg_expunge(box, uid, &st), 1);
        commit(box);
        assert_int_equal(maildir_box_highestmodseq(box), 3);
        assert_int_equal(maildir_box_stats(box)->modseq_fsyncs, fsyncs + 2);
        sync_ok(box, &ch);
        assert_int_equal(ch.expunged_count, 3);
        maildir_changes_release(&ch);
        assert_int_equal(maildir_box_highestmodseq(box), 3);
        assert_string_equal(vanished(box, 2), "1:3");
        assert_string_equal(vanished(box, 3), "");
        assert_string_equal(vanished(box, 0), "1:3");

        /* new mail: one MODSEQ for the sync that found it */
        deliver_n(3);
        sync_ok(box, &ch);
        assert_int_equal(ch.new_count, 3);
        maildir_changes_release(&ch);
        assert_int_equal(maildir_box_highestmodseq(box), 4);
        assert_string_equal(changed(box, 3), "6,7,8");
        assert_int_equal(maildir_box_stats(box)->modseq_fsyncs, fsyncs + 3);

        /* a warm sync with nothing new: no lock, no write */
        unsigned long writes = maildir_box_stats(box)->modseq_writes;
        sync_ok(box, NULL);
        sync_ok(box, NULL);
        assert_int_equal(maildir_box_stats(box)->modseq_writes, writes);
        maildir_box_close(&box);

        /* after a restart: the same values */
        box = open_box(MAILDIR_BOX_MODSEQ);
        sync_ok(box, NULL);
        assert_int_equal(maildir_box_highestmodseq(box), 4);
        assert_int_equal(modseq_of(box, 4), 1);
        assert_int_equal(modseq_of(box, 6), 4);
        assert_string_equal(vanished(box, 1), "1:3");
        assert_int_equal(maildir_box_stats(box)->modseq_writes, 0);
        /* a handle without modseqs has none to give */
        struct maildir_box *plain = open_box(0);
        sync_ok(plain, NULL);
        uint32_t *uids;
        size_t n;
        assert_int_equal(maildir_box_highestmodseq(plain), 0);
        assert_int_equal(maildir_changed_since(plain, 0, &uids, &n, &st), -1);
        maildir_box_close(&plain);
        maildir_box_close(&box);
}

static void test_other_writers(void **state)
{
        struct maildir_changes ch;

        deliver_n(4);
        struct maildir_box *a = open_box(MAILDIR_BOX_MODSEQ);
        struct maildir_box *b = open_box(MAILDIR_BOX_MODSEQ);
        sync_ok(a, NULL);
        sync_ok(b, NULL);
        assert_int_equal(maildir_box_highestmodseq(b), 1);

        /* a's change, committed: b learns it without a MODSEQ of its own */
        store(a, 1, MAILDIR_FLAG_SEEN);
        commit(a);
        sync_ok(b, &ch);
        assert_int_equal(ch.changed_count, 1);
        maildir_changes_release(&ch);
        assert_int_equal(maildir_box_highestmodseq(b), 2);
        assert_int_equal(modseq_of(b, 1), 2);
        assert_int_equal(maildir_box_stats(b)->modseq_writes, 0);

        /* a's change, not committed: the next sync of anyone records it,
         * once */
        store(a, 2, MAILDIR_FLAG_SEEN);
        sync_ok(b, NULL);
        assert_int_equal(maildir_box_highestmodseq(b), 3);
        assert_int_equal(modseq_of(b, 2), 3);
        commit(a);
        sync_ok(a, NULL);
        assert_int_equal(maildir_box_highestmodseq(a), 3);

        /* a program that knows nothing of modseqs (Dovecot, a handle
         * without them) renames a file: the next sync gives it a MODSEQ */
        struct maildir_box *plain = open_box(0);
        sync_ok(plain, NULL);
        store(plain, 3, MAILDIR_FLAG_ANSWERED);
        struct status st;
        assert_int_equal(maildir_msg_expunge(plain, 4, &st), 1);
        maildir_box_close(&plain);
        sync_ok(a, NULL);
        assert_int_equal(maildir_box_highestmodseq(a), 4);
        assert_int_equal(modseq_of(a, 3), 4);
        assert_string_equal(vanished(a, 3), "4");
        sync_ok(b, NULL);
        assert_int_equal(maildir_box_highestmodseq(b), 4);
        assert_string_equal(changed(b, 3), "3");
        maildir_box_close(&a);
        maildir_box_close(&b);
}

/* base - the folder's UIDVALIDITY and the list of UIDs, after a sync */
static uint32_t uidvalidity_after_sync(struct maildir_box *box)
{
        sync_ok(box, NULL);
        return maildir_box_uidvalidity(box);
}

static void test_lost_store(void **state)
{
        static const struct {
                const char *name;
                int how;
        } cases[] = {
                { "deleted", 0 },
                { "emptied", 1 },
                { "flipped byte in a middle block", 2 },
                { "bad header", 3 },
                { "rolled back to an older copy", 4 },
        };
        char path[256];

        deliver_n(3);
        snprintf(path, sizeof(path), "%s/%s", root, MAILDIR_MODSEQ_NAME);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct maildir_box *live = open_box(MAILDIR_BOX_MODSEQ);
                uint32_t v = uidvalidity_after_sync(live);
                size_t old_len;
                char *old = read_rel(MAILDIR_MODSEQ_NAME, &old_len);
                assert_non_null(old);
                /* two changes, so the file has blocks after what it had */
                uint32_t f = i % 2 ? MAILDIR_FLAG_FLAGGED : MAILDIR_FLAG_SEEN;
                struct status st;
                for (uint32_t uid = 1; uid <= 2; uid++) {
                        assert_int_equal(maildir_msg_store(live, uid,
                                                           MAILDIR_STORE_REPLACE,
                                                           f, NULL, 0, &st), 1);
                        commit(live);
                }
                uint64_t high = maildir_box_highestmodseq(live);
                assert_int_equal(high, maildir_box_highestmodseq(live));
                /* a rewrite in place is seen by its change time, which
                 * moves in coarse ticks */
                usleep(50000);
                size_t len;
                char *data = read_rel(MAILDIR_MODSEQ_NAME, &len);
                assert_true(len > old_len + 60);
                switch (cases[i].how) {
                case 0: unlink(path); break;
                case 1: write_rel(MAILDIR_MODSEQ_NAME, "", 0); break;
                case 2: data[old_len + 20] ^= 1;
                        write_rel(MAILDIR_MODSEQ_NAME, data, len); break;
                case 3: data[3] ^= 1;
                        write_rel(MAILDIR_MODSEQ_NAME, data, len); break;
                case 4: unlink(path);
                        write_rel(MAILDIR_MODSEQ_NAME, old, old_len); break;
                }
                free(data);
                free(old);

                /* the handle that was open: a new UIDVALIDITY, every
                 * message with a new UID from 1, and HIGHESTMODSEQ never
                 * below what it had (a rolled-back copy is caught by a
                 * reader that knew more) */
                struct maildir_changes ch;
                sync_ok(live, &ch);
                uint32_t nv = maildir_box_uidvalidity(live);
                if (!ch.uidvalidity_changed || ch.new_count != 3 || nv == v ||
                    maildir_box_stats(live)->modseq_resets != 1)
                        fail_msg("case %s: uidvalidity_changed %d, %zu new, "
                                 "UIDVALIDITY %u (was %u), %lu resets",
                                 cases[i].name, ch.uidvalidity_changed,
                                 ch.new_count, nv, v,
                                 maildir_box_stats(live)->modseq_resets);
                assert_int_equal(ch.new_uids[0], 1);
                assert_int_equal(ch.new_uids[2], 3);
                maildir_changes_release(&ch);
                if (maildir_box_highestmodseq(live) < high)
                        fail_msg("case %s: HIGHESTMODSEQ went from %llu to "
                                 "%llu", cases[i].name,
                                 (unsigned long long)high,
                                 (unsigned long long)maildir_box_highestmodseq(live));
                maildir_box_close(&live);

                /* and it settles: the next handle finds nothing wrong */
                struct maildir_box *box = open_box(MAILDIR_BOX_MODSEQ);
                assert_int_equal(uidvalidity_after_sync(box), nv);
                assert_int_equal(maildir_box_stats(box)->modseq_resets, 0);
                assert_int_equal(maildir_box_stats(box)->modseq_writes, 0);
                maildir_box_close(&box);
        }
}

static void test_first_use_and_torn_tail(void **state)
{
        deliver_n(2);
        /* a folder used before without modseqs keeps its UIDVALIDITY */
        struct maildir_box *plain = open_box(0);
        uint32_t v = uidvalidity_after_sync(plain);
        maildir_box_close(&plain);
        struct maildir_box *box = open_box(MAILDIR_BOX_MODSEQ);
        assert_int_equal(uidvalidity_after_sync(box), v);
        assert_int_equal(maildir_box_stats(box)->modseq_resets, 0);
        store(box, 1, MAILDIR_FLAG_SEEN);
        commit(box);
        assert_int_equal(maildir_box_highestmodseq(box), 2);
        maildir_box_close(&box);

        /* a writer died in the middle of a block: not a lost store */
        static const char torn[] = "YBLK\x40\x00\x00\x00garbage";
        size_t len;
        char *data = read_rel(MAILDIR_MODSEQ_NAME, &len);
        memcpy(data + len, torn, sizeof(torn) - 1);
        write_rel(MAILDIR_MODSEQ_NAME, data, len + sizeof(torn) - 1);
        box = open_box(MAILDIR_BOX_MODSEQ);
        assert_int_equal(uidvalidity_after_sync(box), v);
        assert_int_equal(maildir_box_highestmodseq(box), 2);
        store(box, 2, MAILDIR_FLAG_SEEN);
        commit(box);
        /* the torn block's modseq (3) is never used */
        assert_int_equal(modseq_of(box, 2), 4);
        assert_int_equal(maildir_box_stats(box)->modseq_resets, 0);
        maildir_box_close(&box);
        size_t len2;
        char *after = read_rel(MAILDIR_MODSEQ_NAME, &len2);
        struct maildir_modseq *ms;
        size_t used;
        char *error;
        assert_int_equal(maildir_modseq_parse(after, len2, &ms, &used, &error),
                         0);
        assert_int_equal(used, len2);
        assert_int_equal(maildir_modseq_highest(ms), 4);
        maildir_modseq_free(&ms);
        free(after);
        free(data);
}

static void test_compaction(void **state)
{
        struct status st;

        deliver_n(40);
        struct maildir_box *box = open_box(MAILDIR_BOX_MODSEQ);
        sync_ok(box, NULL);
        /* many small commits grow the file until it is rewritten */
        for (int round = 0; round < 300; round++) {
                uint32_t uid = (uint32_t)(round % 40) + 1;
                uint32_t f = round % 80 < 40 ? MAILDIR_FLAG_SEEN : 0;
                assert_int_equal(maildir_msg_store(box, uid,
                                                   MAILDIR_STORE_REPLACE, f,
                                                   NULL, 0, &st), 1);
                commit(box);
                if (maildir_box_highestmodseq(box) != (uint64_t)round + 2)
                        fail_msg("round %d: HIGHESTMODSEQ %llu", round,
                                 (unsigned long long)maildir_box_highestmodseq(box));
        }
        for (uint32_t uid = 1; uid <= 40; uid += 2)
                assert_int_equal(maildir_msg_expunge(box, uid, &st), 1);
        commit(box);
        uint64_t high = maildir_box_highestmodseq(box);
        assert_int_equal(high, 1 + 300 + 1);
        maildir_box_close(&box);
        struct stat sb;
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", root, MAILDIR_MODSEQ_NAME);
        assert_int_equal(stat(path, &sb), 0);
        assert_true(sb.st_size < 65536);

        box = open_box(MAILDIR_BOX_MODSEQ);
        sync_ok(box, NULL);
        assert_int_equal(maildir_box_highestmodseq(box), high);
        assert_int_equal(modseq_of(box, 40), 281);      /* round 279 */
        /* odd UIDs are gone, at the last modseq; no even UID is named */
        const char *v = vanished(box, high - 1);
        assert_non_null(strstr(v, "39"));
        assert_null(strstr(v, "40"));
        assert_null(strstr(v, "1:3"));
        maildir_box_close(&box);
}

enum { RACE_MSGS = 30, RACE_ROUNDS = 40 };

/* race_child - commit flag changes in a loop; exits with the number of
 * blocks this process wrote */
static void race_child(int id)
{
        struct maildir *cmd;
        struct maildir_box *box;
        struct status st;
        unsigned long blocks = 0;

        if (maildir_open(root, 0, &cmd, &st) < 0 ||
            maildir_box_open(cmd, NULL, MAILDIR_BOX_MODSEQ, &box, &st) < 0)
                _exit(255);
        for (int round = 0; round < RACE_ROUNDS; round++) {
                if (maildir_sync(box, NULL, &st) < 0)
                        _exit(254);
                for (uint32_t uid = 1; uid <= RACE_MSGS; uid++) {
                        if ((uid + (uint32_t)round + (uint32_t)id) % 3 != 0)
                                continue;
                        uint32_t f = id == 0 ? MAILDIR_FLAG_SEEN :
                                               MAILDIR_FLAG_FLAGGED;
                        enum maildir_store_op op = round % 2 ?
                                MAILDIR_STORE_REMOVE : MAILDIR_STORE_ADD;
                        if (maildir_msg_store(box, uid, op, f, NULL, 0,
                                              &st) < 0)
                                _exit(253);
                }
                if (maildir_modseq_commit(box, &st) < 0)
                        _exit(252);
        }
        if (maildir_sync(box, NULL, &st) < 0)
                _exit(254);
        /* a sync records the other's uncommitted changes: count those too */
        blocks = maildir_box_stats(box)->modseq_writes;
        maildir_box_close(&box);
        maildir_close(&cmd);
        _exit((int)(blocks > 200 ? 200 : blocks));
}

static void test_concurrent_writers(void **state)
{
        pid_t pids[2];
        int status, total = 0;

        deliver_n(RACE_MSGS);
        struct maildir_box *box = open_box(MAILDIR_BOX_MODSEQ);
        sync_ok(box, NULL);
        maildir_box_close(&box);
        for (int i = 0; i < 2; i++) {
                pids[i] = fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0)
                        race_child(i);
        }
        for (int i = 0; i < 2; i++) {
                assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
                assert_true(WIFEXITED(status));
                if (WEXITSTATUS(status) >= 200)
                        fail_msg("writer %d failed: %d", i, WEXITSTATUS(status));
                total += WEXITSTATUS(status);
        }
        /* every block gave exactly one new MODSEQ: none twice, none lost */
        size_t len;
        char *data = read_rel(MAILDIR_MODSEQ_NAME, &len);
        struct maildir_modseq *ms;
        size_t used;
        char *error;
        if (maildir_modseq_parse(data, len, &ms, &used, &error) < 0)
                fail_msg("store corrupt: %s", error);
        assert_int_equal(used, len);
        assert_int_equal(maildir_modseq_highest(ms), 1 + (uint64_t)total);
        maildir_modseq_free(&ms);
        free(data);
        assert_true(total > RACE_ROUNDS);
        /* and it agrees with the files: a fresh sync has nothing to add */
        box = open_box(MAILDIR_BOX_MODSEQ);
        sync_ok(box, NULL);
        assert_int_equal(maildir_box_stats(box)->modseq_writes, 0);
        assert_int_equal(maildir_box_highestmodseq(box), 1 + (uint64_t)total);
        maildir_box_close(&box);
}

static void test_parse_mutations(void **state)
{
        deliver_n(6);
        struct maildir_box *box = open_box(MAILDIR_BOX_MODSEQ);
        struct status st;
        sync_ok(box, NULL);
        store(box, 1, MAILDIR_FLAG_SEEN);
        commit(box);
        assert_int_equal(maildir_msg_expunge(box, 2, &st), 1);
        commit(box);
        maildir_box_close(&box);
        size_t len;
        char *good = read_rel(MAILDIR_MODSEQ_NAME, &len);
        unsigned int seed = 777;
        for (size_t cut = 0; cut <= len; cut++) {
                struct maildir_modseq *ms;
                size_t used;
                char *error;
                char *copy = malloc(cut + 1);
                memcpy(copy, good, cut);
                /* a cut file is either refused (header) or read up to its
                 * last whole block, never past the end */
                if (maildir_modseq_parse(copy, cut, &ms, &used, &error) == 0) {
                        assert_true(used <= cut);
                        maildir_modseq_free(&ms);
                } else {
                        assert_true(cut < 32);
                        free(error);
                }
                free(copy);
        }
        for (int i = 0; i < 3000; i++) {
                struct maildir_modseq *ms;
                size_t used;
                char *error;
                char *copy = malloc(len);
                memcpy(copy, good, len);
                size_t at = (size_t)rand_r(&seed) % len;
                copy[at] = (char)(copy[at] ^ (1 + rand_r(&seed) % 255));
                if (maildir_modseq_parse(copy, len, &ms, &used, &error) == 0)
                        maildir_modseq_free(&ms);
                else
                        free(error);
                free(copy);
        }
        free(good);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_basic, setup, teardown),
                cmocka_unit_test_setup_teardown(test_other_writers, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_lost_store, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_first_use_and_torn_tail,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_compaction, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_concurrent_writers, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_parse_mutations, setup,
                                                teardown),
        };

        log_open("yubin", "maildir_modseq_test", 0, NULL);     /* quiet */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
