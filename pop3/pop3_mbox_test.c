/* pop3_mbox_test.c - the POP3 view of INBOX: UIDL formats (Dovecot's
 * variables, widths and modifiers), the snapshot at login, UPDATE's
 * expunges and \Seen flags, and pop3_lock_session's lock. Works in a
 * temporary Maildir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "maildir.h"
#include "mem.h"
#include "pop3_mbox.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void test_uidl_format(void **state)
{
        static const struct {
                const char *fmt;
                const char *want;       /* NULL: refused */
        } cases[] = {
                { "%08Xu%08Xv", "0000002a4b5c6d7e" },
                { "%u", "42" },
                { "%v.%u", "1264348542.42" },
                { "%Xu", "2a" },
                { "%UXu", "2A" },
                { "%f", "1700000000.M1P2.host" },
                { "%g", "1700000000.M1P2.host" },
                { "%4f", "1700" },
                { "x%%y%u", "x%y42" },
                { "%03u", "042" },
                { "%m", NULL },                 /* not offered */
                { "", NULL },
                { "a b", NULL },                /* no blanks in a UIDL */
                { "%u%u%u%u%u%u%u%u%u%u%u%u%u%u%u%u%u%u%u%u%u%u%u%u%u%u"
                  "%u%u%u%u%u%u%u%u%u%u", NULL }, /* over 70 */
        };

        for (size_t i = 0; i < NELEM(cases); i++) {
                char out[POP3_UIDL_MAX + 1];
                struct status st;
                int r = pop3_uidl_format(cases[i].fmt, 42, 0x4b5c6d7e,
                                         "1700000000.M1P2.host", out,
                                         sizeof(out), &st);

                if (cases[i].want == NULL) {
                        if (r != -1)
                                fail_msg("case %s: got %s, want refusal",
                                         cases[i].fmt, out);
                        continue;
                }
                if (r != 0 || strcmp(out, cases[i].want) != 0)
                        fail_msg("case %s: got %s, want %s", cases[i].fmt,
                                 r == 0 ? out : st.text, cases[i].want);
        }
        assert_int_equal(pop3_uidl_needs_base("%08Xu%08Xv"), 0);
        assert_int_equal(pop3_uidl_needs_base("%u-%4f"), 1);
}

static char root[128];

static int setup(void **state)
{
        snprintf(root, sizeof(root), "/tmp/pop3_mbox_test.%ld",
                 (long)getpid());
        return 0;
}

static int teardown(void **state)
{
        char cmd[200];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
        return system(cmd) == 0 ? 0 : -1;
}

static void deliver(const char *text)
{
        struct maildir *md;
        struct status st;

        assert_int_equal(maildir_open(root, MAILDIR_CREATE, &md, &st), 0);
        assert_int_equal(maildir_deliver(md, NULL, text, strlen(text), NULL,
                                         &st), 0);
        maildir_close(&md);
}

static void test_snapshot_and_update(void **state)
{
        struct pop3_mbox *mb, *again;
        struct status st;
        size_t deleted;

        deliver("Subject: 1\n\none\n");
        deliver("Subject: 2\n\ntwo\r\n");
        deliver("Subject: 3\n\nthree\n");
        assert_int_equal(pop3_mbox_open(root, 1, "%u", &mb, &st), 0);
        assert_int_equal(mb->count, 3);
        assert_string_equal(mb->msgs[0].uidl, "1");
        assert_string_equal(mb->msgs[2].uidl, "3");
        /* sizes with CRLF line ends */
        assert_int_equal(mb->msgs[0].size, strlen("Subject: 1\r\n\r\none\r\n"));
        assert_int_equal(mb->total, 3 * 19 + 2);
        /* a second session with the lock on is refused... */
        assert_int_equal(pop3_mbox_open(root, 1, "%u", &again, &st), 1);
        /* ...one without it is not */
        assert_int_equal(pop3_mbox_open(root, 0, "%u", &again, &st), 0);
        pop3_mbox_close(&again);
        /* delivered now: not in this snapshot */
        deliver("Subject: 4\n\nfour\n");
        assert_int_equal(mb->count, 3);
        mb->msgs[1].deleted = 1;
        mb->msgs[2].retrieved = 1;
        assert_int_equal(pop3_mbox_update(mb, 0, &deleted, &st), 0);
        assert_int_equal(deleted, 1);
        pop3_mbox_close(&mb);

        assert_int_equal(pop3_mbox_open(root, 1, "%u", &mb, &st), 0);
        assert_int_equal(mb->count, 3);
        assert_string_equal(mb->msgs[0].uidl, "1");
        assert_string_equal(mb->msgs[1].uidl, "3");
        assert_string_equal(mb->msgs[2].uidl, "4");
        struct maildir_msg_info info;
        assert_int_equal(maildir_msg_info(mb->box, 3, &info), 1);
        assert_true(info.flags & MAILDIR_FLAG_SEEN);
        assert_int_equal(maildir_msg_info(mb->box, 1, &info), 1);
        assert_false(info.flags & MAILDIR_FLAG_SEEN);
        pop3_mbox_close(&mb);
        assert_null(mb);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_uidl_format),
                cmocka_unit_test_setup_teardown(test_snapshot_and_update,
                                                setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
