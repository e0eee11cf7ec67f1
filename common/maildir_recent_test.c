/* maildir_recent_test.c - \Recent: claimed once, by the first handle
 * Scenarios as tables of steps over a few handles on one INBOX: what each
 * sync reports as new and as recent after deliveries, APPENDs and COPYs
 * through selecting (MAILDIR_BOX_RECENT), examining (read-only) and plain
 * handles; that claims outlive the handle that made them; the count STATUS
 * gives; where the first recent UID starts for a folder with messages but
 * no store yet. Then processes syncing at once while mail arrives: every
 * message recent in exactly one of them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "maildir.h"

static char root[64];
static struct maildir *md;

static int setup(void **state)
{
        struct status st;

        snprintf(root, sizeof(root), "/tmp/maildir_recent_test.XXXXXX");
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

/* handle kinds: an IMAP SELECT, an EXAMINE (or STATUS), and one without
 * modseqs (POP3) */
#define SEL     (MAILDIR_BOX_CACHE | MAILDIR_BOX_MODSEQ | MAILDIR_BOX_RECENT)
#define EXAM    (MAILDIR_BOX_CACHE | MAILDIR_BOX_MODSEQ | MAILDIR_BOX_READONLY)
#define PLAIN   0

enum op {
        END,
        OPEN,           /* handle h with flags n */
        CLOSE,          /* handle h */
        DELIVER,        /* n messages into new/ */
        CUR,            /* n message files straight into cur/ */
        SYNC,           /* sync h: want new, want recent */
        APPEND,         /* one message appended through h */
        COPY,           /* n messages copied from folder Src through h */
        COUNT,          /* maildir_box_recent_count(h) is n */
};

struct step {
        enum op op;
        int h;
        int n;
        const char *want_new, *want_recent;
};

/* the steps, spelled out */
#define OPEN_(h, flags)         { OPEN, h, flags, NULL, NULL }
#define CLOSE_(h)               { CLOSE, h, 0, NULL, NULL }
#define DELIVER_(n)             { DELIVER, 0, n, NULL, NULL }
#define CUR_(n)                 { CUR, 0, n, NULL, NULL }
#define SYNC_(h, new, recent)   { SYNC, h, 0, new, recent }
#define APPEND_(h)              { APPEND, h, 0, NULL, NULL }
#define COPY_(h, n)             { COPY, h, n, NULL, NULL }
#define COUNT_(h, n)            { COUNT, h, n, NULL, NULL }

static const struct {
        const char *name;
        struct step steps[16];        /* ended by END (zero) */
} scenarios[] = {
        { "a delivery is recent for the first to sync", {
                OPEN_(0, SEL), OPEN_(1, SEL),
                SYNC_(0, "", ""), SYNC_(1, "", ""),
                DELIVER_(2),
                SYNC_(1, "1 2", "1 2"), SYNC_(0, "1 2", ""),
                DELIVER_(1),
                SYNC_(0, "3", "3"), SYNC_(1, "3", ""),
        } },
        { "EXAMINE shows recent and takes it from no one", {
                DELIVER_(2),
                OPEN_(0, EXAM), SYNC_(0, "1 2", "1 2"),
                OPEN_(1, SEL), SYNC_(1, "1 2", "1 2"),
                OPEN_(2, EXAM), SYNC_(2, "1 2", ""),
                COUNT_(0, 2), COUNT_(1, 2), COUNT_(2, 0),
        } },
        { "an APPEND is recent where the folder is selected", {
                OPEN_(0, SEL), OPEN_(1, SEL),
                SYNC_(0, "", ""), SYNC_(1, "", ""),
                APPEND_(0),
                /* the other syncs first, and still does not get it */
                SYNC_(1, "1", ""), SYNC_(0, "1", "1"),
                COUNT_(0, 1), COUNT_(1, 0),
        } },
        { "an APPEND from elsewhere waits for a selecting sync", {
                OPEN_(0, SEL), SYNC_(0, "", ""),
                OPEN_(1, EXAM), SYNC_(1, "", ""),
                APPEND_(1), APPEND_(1),
                SYNC_(1, "1 2", "1 2"),
                SYNC_(0, "1 2", "1 2"),
        } },
        { "a COPY into a folder nobody selects", {
                /* as COPY opens its target: the store made first */
                OPEN_(0, PLAIN | MAILDIR_BOX_MODSEQ), SYNC_(0, "", ""),
                COPY_(0, 3),
                OPEN_(1, EXAM), SYNC_(1, "1 2 3", "1 2 3"),
                OPEN_(2, SEL), SYNC_(2, "1 2 3", "1 2 3"),
                OPEN_(3, SEL), SYNC_(3, "1 2 3", ""),
        } },
        { "a COPY through a selecting handle", {
                OPEN_(0, SEL), SYNC_(0, "", ""),
                OPEN_(1, SEL), SYNC_(1, "", ""),
                COPY_(0, 2),
                SYNC_(1, "1 2", ""), SYNC_(0, "1 2", "1 2"),
        } },
        { "claims outlive the handle", {
                DELIVER_(2),
                OPEN_(0, SEL), SYNC_(0, "1 2", "1 2"),
                CLOSE_(0),
                OPEN_(1, SEL), SYNC_(1, "1 2", ""),
                OPEN_(2, EXAM), SYNC_(2, "1 2", ""),
                COUNT_(2, 0),
        } },
        { "a folder without a store: cur/ is old, new/ recent", {
                CUR_(2), DELIVER_(1),
                OPEN_(0, SEL), SYNC_(0, "1 2 3", "3"),
        } },
        { "numbered before the store was made: old", {
                DELIVER_(2),
                OPEN_(0, PLAIN), SYNC_(0, "1 2", "1 2"),
                OPEN_(1, SEL), SYNC_(1, "1 2", ""),
                DELIVER_(1),
                SYNC_(0, "3", "3"), SYNC_(1, "3", "3"),
        } },
};

/* uids_str - "1 2 3" */
static const char *uids_str(char *buf, size_t size, const uint32_t *uids,
                            size_t n)
{
        size_t off = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < n && off + 12 < size; i++)
                off += (size_t)snprintf(buf + off, size - off, "%s%u",
                                        i ? " " : "", uids[i]);
        return buf;
}

static void put_cur(int i)
{
        char path[256];

        snprintf(path, sizeof(path), "%s/cur/1700000000.M%dP1.test:2,S", root,
                 i);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "Subject: %d\n\nold\n", i);
        assert_int_equal(fclose(f), 0);
}

static void append_one(const char *name, struct maildir_box *box)
{
        struct maildir_save *sv;
        struct status st;
        uint32_t uid;
        const char msg[] = "Subject: appended\n\nbody\n";

        if (maildir_save_begin(md, NULL, &sv, &st) < 0 ||
            maildir_save_write(sv, msg, sizeof(msg) - 1, &st) < 0 ||
            maildir_save_append(&sv, box, 0, NULL, 0, 0, &uid, &st) < 0)
                fail_msg("case %s: append: %s", name, st.text);
}

static void copy_in(const char *name, struct maildir_box *dst, int n)
{
        struct maildir_box *src;
        struct status st;
        uint32_t uids[16], out[16];
        char msg[64];

        assert_true(n <= 16);
        assert_true(maildir_folder_create(md, "Src", &st) >= 0);
        for (int i = 0; i < n; i++) {
                snprintf(msg, sizeof(msg), "Subject: %d\n\nbody\n", i);
                assert_int_equal(maildir_deliver(md, "Src", msg, strlen(msg),
                                                 NULL, &st), 0);
        }
        assert_int_equal(maildir_box_open(md, "Src", 0, &src, &st), 0);
        assert_int_equal(maildir_sync(src, NULL, &st), 0);
        for (int i = 0; i < n; i++)
                uids[i] = maildir_box_uid(src, (size_t)i);
        if (maildir_msg_copy(src, uids, (size_t)n, dst, 0, out, &st) != n)
                fail_msg("case %s: copy: %s", name, st.text);
        maildir_box_close(&src);
}

static void run(const char *name, const struct step *steps)
{
        struct maildir_box *h[4] = { NULL, NULL, NULL, NULL };
        struct maildir_changes ch;
        struct status st;
        char got_new[256], got_recent[256];
        int cur = 0;

        for (const struct step *s = steps; s->op != END; s++) {
                switch (s->op) {
                case OPEN:
                        assert_int_equal(maildir_box_open(md, NULL, s->n,
                                                          &h[s->h], &st), 0);
                        break;
                case CLOSE:
                        maildir_box_close(&h[s->h]);
                        break;
                case DELIVER:
                        for (int i = 0; i < s->n; i++)
                                assert_int_equal(maildir_deliver(md, NULL,
                                        "Subject: x\n\nbody\n", 18, NULL,
                                        &st), 0);
                        break;
                case CUR:
                        for (int i = 0; i < s->n; i++)
                                put_cur(cur++);
                        break;
                case SYNC:
                        if (maildir_sync(h[s->h], &ch, &st) < 0)
                                fail_msg("case %s: sync: %s", name, st.text);
                        uids_str(got_new, sizeof(got_new), ch.new_uids,
                                 ch.new_count);
                        uids_str(got_recent, sizeof(got_recent),
                                 ch.recent_uids, ch.recent_count);
                        if (strcmp(got_new, s->want_new) != 0 ||
                            strcmp(got_recent, s->want_recent) != 0)
                                fail_msg("case %s: step %d, handle %d: got "
                                         "new [%s] recent [%s], want [%s] "
                                         "[%s]", name, (int)(s - steps),
                                         s->h, got_new, got_recent,
                                         s->want_new, s->want_recent);
                        /* maildir_msg_info agrees with the report */
                        for (size_t i = 0; i < ch.new_count; i++) {
                                struct maildir_msg_info info;
                                int want = 0;
                                for (size_t k = 0; k < ch.recent_count; k++)
                                        want |= ch.recent_uids[k] ==
                                                ch.new_uids[i];
                                assert_int_equal(maildir_msg_info(h[s->h],
                                        ch.new_uids[i], &info), 1);
                                if (info.recent != want)
                                        fail_msg("case %s: step %d: info of "
                                                 "%u: got recent %d, want %d",
                                                 name, (int)(s - steps),
                                                 ch.new_uids[i], info.recent,
                                                 want);
                        }
                        maildir_changes_release(&ch);
                        break;
                case APPEND:
                        append_one(name, h[s->h]);
                        break;
                case COPY:
                        copy_in(name, h[s->h], s->n);
                        break;
                case COUNT:
                        if (maildir_box_recent_count(h[s->h]) != (size_t)s->n)
                                fail_msg("case %s: step %d: got %zu recent, "
                                         "want %d", name, (int)(s - steps),
                                         maildir_box_recent_count(h[s->h]),
                                         s->n);
                        break;
                case END:
                        break;
                }
        }
        for (int i = 0; i < 4; i++)
                maildir_box_close(&h[i]);
}

static void test_scenarios(void **state)
{
        for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]);
             i++) {
                char cmd[160];
                struct status st;
                run(scenarios[i].name, scenarios[i].steps);
                /* each scenario starts from an empty Maildir */
                maildir_close(&md);
                snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir %s", root,
                         root);
                assert_int_equal(system(cmd), 0);
                assert_int_equal(maildir_open(root, MAILDIR_CREATE, &md, &st),
                                 0);
        }
}

#define RACERS          3
#define RACE_MESSAGES   30
#define RACE_SYNCS      40

/* racer - sync a selecting handle while mail arrives; write each UID it
 * was given as recent to fd */
static void racer(int fd)
{
        struct maildir_box *box;
        struct maildir_changes ch;
        struct status st;

        if (maildir_box_open(md, NULL, SEL, &box, &st) < 0)
                _exit(2);
        for (int i = 0; i < RACE_SYNCS; i++) {
                if (maildir_sync(box, &ch, &st) < 0)
                        _exit(3);
                for (size_t k = 0; k < ch.recent_count; k++)
                        if (write(fd, &ch.recent_uids[k],
                                  sizeof(uint32_t)) != sizeof(uint32_t))
                                _exit(4);
                maildir_changes_release(&ch);
                usleep(1000);
        }
        /* one last look, after the deliveries */
        usleep(20000);
        if (maildir_sync(box, &ch, &st) < 0)
                _exit(3);
        for (size_t k = 0; k < ch.recent_count; k++)
                if (write(fd, &ch.recent_uids[k], sizeof(uint32_t)) !=
                    sizeof(uint32_t))
                        _exit(4);
        maildir_changes_release(&ch);
        maildir_box_close(&box);
        _exit(0);
}

static void test_racing_sessions(void **state)
{
        int fds[2];
        pid_t pids[RACERS];
        int seen[RACE_MESSAGES + 1];
        struct status st;
        uint32_t uid;

        assert_int_equal(pipe(fds), 0);
        for (int i = 0; i < RACERS; i++) {
                pids[i] = fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0) {
                        close(fds[0]);
                        racer(fds[1]);
                }
        }
        close(fds[1]);
        for (int i = 0; i < RACE_MESSAGES; i++) {
                assert_int_equal(maildir_deliver(md, NULL,
                                                 "Subject: r\n\nbody\n", 18,
                                                 NULL, &st), 0);
                if (i % 5 == 0)
                        usleep(2000);
        }
        for (int i = 0; i < RACERS; i++) {
                int status;
                assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        fail_msg("racer %d: status %d", i, status);
        }
        memset(seen, 0, sizeof(seen));
        while (read(fds[0], &uid, sizeof(uid)) == sizeof(uid)) {
                assert_true(uid >= 1 && uid <= RACE_MESSAGES);
                seen[uid]++;
        }
        close(fds[0]);
        /* a racer may have missed the last ones; a fresh selecting
         * handle takes those: then every message was recent once */
        struct maildir_box *box;
        struct maildir_changes ch;
        assert_int_equal(maildir_box_open(md, NULL, SEL, &box, &st), 0);
        assert_int_equal(maildir_sync(box, &ch, &st), 0);
        assert_int_equal(ch.new_count, RACE_MESSAGES);
        for (size_t k = 0; k < ch.recent_count; k++)
                seen[ch.recent_uids[k]]++;
        maildir_changes_release(&ch);
        maildir_box_close(&box);
        for (int i = 1; i <= RACE_MESSAGES; i++)
                if (seen[i] != 1)
                        fail_msg("UID %d: recent in %d sessions, want 1", i,
                                 seen[i]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_scenarios, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_racing_sessions, setup,
                                                teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
