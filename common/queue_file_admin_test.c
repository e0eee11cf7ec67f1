/* queue_file_admin_test.c - the administrator's side of the queue: the
 * late attribute (A) and requeue (Q) records read back, torn and whole;
 * hold, release, requeue, flush and delete on files in each queue
 * directory, table-driven; ALL and per-site selection; the mailq listing
 * and the show output */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mem.h"
#include "queue_file.h"

static char *make_queue(void)
{
        char tmpl[] = "/tmp/queue_admin_test.XXXXXX";
        char *dir = mkdtemp(tmpl);
        struct status st;

        assert_non_null(dir);
        assert_int_equal(queue_dirs_make(dir, (uid_t)-1, (gid_t)-1, &st), 0);
        return xstrdup(dir);
}

static void remove_queue(char *dir)
{
        char *cmd = xasprintf("rm -rf '%s'", dir);

        assert_int_equal(system(cmd), 0);
        free(cmd);
        free(dir);
}

/* put - a message to rcpt in queue_dir/dir; its ID into id */
static void put(const char *queue_dir, const char *dir, const char *rcpt,
                char *id)
{
        struct queue_writer *w = NULL;
        struct status st;

        assert_int_equal(queue_writer_open(queue_dir, &w, &st), 0);
        queue_writer_sender(w, "ann@example.org");
        queue_writer_attr(w, "arrival", "1700000000");
        queue_writer_recipient(w, rcpt, NULL, 0);
        queue_writer_recipient(w, "done@example.com", NULL, 0);
        assert_int_equal(queue_writer_data(w, "Subject: x\n\nbody\n", 17,
                                           &st), 0);
        strcpy(id, queue_writer_id(w));
        assert_int_equal(queue_writer_commit(w, &st), 0);
        queue_writer_free(&w);
        if (strcmp(dir, QUEUE_INCOMING) != 0)
                assert_int_equal(queue_move(queue_dir, id, QUEUE_INCOMING,
                                            dir, 0, &st), 0);
}

/* defer - record a deferral of recipient 0, recipient 1 delivered */
static void defer(const char *queue_dir, const char *dir, const char *id)
{
        char *path = queue_path(queue_dir, dir, id);
        struct queue_file *qf = NULL;
        struct status st;

        assert_int_equal(queue_file_open(path, 1, &qf, &st), 0);
        queue_file_mark(qf, 1, QUEUE_RCPT_SENT);
        queue_file_defer_reason(qf, 0, "4.4.1", "connect to mx[192.0.2.1]:"
                                "25: Connection refused");
        queue_file_attempt(qf, 1700000100);
        assert_int_equal(queue_file_sync(qf, &st), 0);
        queue_file_free(&qf);
        free(path);
}

static void test_records(void **state)
{
        char *dir = make_queue(), id[QUEUE_ID_MAX], *path;
        struct queue_file *qf = NULL;
        struct status st;
        time_t last;
        int fd;

        put(dir, QUEUE_DEFERRED, "bob@example.net", id);
        defer(dir, QUEUE_DEFERRED, id);
        path = queue_path(dir, QUEUE_DEFERRED, id);
        assert_int_equal(queue_file_open(path, 1, &qf, &st), 0);
        queue_file_set_attr(qf, "delay_warning", "1700000200\nignored");
        queue_file_set_attr(qf, "arrival", "1");
        assert_int_equal(queue_file_sync(qf, &st), 0);
        queue_file_free(&qf);

        assert_int_equal(queue_file_open(path, 0, &qf, &st), 0);
        assert_string_equal(queue_file_attr(qf, "delay_warning"),
                            "1700000200");
        assert_string_equal(queue_file_attr(qf, "arrival"), "1");
        assert_int_equal(queue_file_attempts(qf, &last), 1);
        assert_string_equal(queue_file_rcpt(qf, 0)->defer_code, "4.4.1");
        queue_file_free(&qf);

        /* a requeue forgets reasons and attempts, not done recipients */
        assert_int_equal(queue_file_open(path, 1, &qf, &st), 0);
        queue_file_requeue(qf, 1700000300);
        assert_null(queue_file_rcpt(qf, 0)->defer_text);
        assert_int_equal(queue_file_sync(qf, &st), 0);
        queue_file_free(&qf);
        assert_int_equal(queue_file_open(path, 0, &qf, &st), 0);
        assert_null(queue_file_rcpt(qf, 0)->defer_code);
        assert_null(queue_file_rcpt(qf, 0)->defer_text);
        assert_int_equal(queue_file_attempts(qf, &last), 0);
        assert_int_equal(queue_file_rcpt(qf, 1)->state, QUEUE_RCPT_SENT);
        assert_int_equal(queue_file_pending(qf), 1);
        assert_string_equal(queue_file_attr(qf, "delay_warning"),
                            "1700000200");
        queue_file_free(&qf);

        /* a later deferral is remembered again; torn A and Q records are
         * a torn tail, cut off by a writable open */
        defer(dir, QUEUE_DEFERRED, id);
        fd = open(path, O_WRONLY | O_APPEND);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "A9:x=1\nQ3:12", 12), 12);
        close(fd);
        assert_int_equal(queue_file_open(path, 1, &qf, &st), 0);
        assert_string_equal(queue_file_rcpt(qf, 0)->defer_code, "4.4.1");
        assert_null(queue_file_attr(qf, "x"));
        queue_file_free(&qf);
        fd = open(path, O_WRONLY | O_APPEND);
        assert_int_equal(write(fd, "A2:=1\n", 6), 6);  /* no name */
        close(fd);
        assert_int_equal(queue_file_open(path, 0, &qf, &st), 0);
        assert_int_equal(queue_file_attempts(qf, NULL), 1);
        queue_file_free(&qf);
        free(path);
        remove_queue(dir);
}

static void test_ops(void **state)
{
        static const struct {
                const char *name;
                const char *from;
                enum queue_admin_op op;
                int want;               /* 1, 0 or -1 */
                const char *to;         /* where it is after; NULL gone */
                const char *why;
        } cases[] = {
                { "hold incoming", QUEUE_INCOMING, QUEUE_ADMIN_HOLD, 1,
                  QUEUE_HOLD, NULL },
                { "hold deferred", QUEUE_DEFERRED, QUEUE_ADMIN_HOLD, 1,
                  QUEUE_HOLD, NULL },
                { "hold active", QUEUE_ACTIVE, QUEUE_ADMIN_HOLD, 1,
                  QUEUE_HOLD, NULL },
                { "hold held", QUEUE_HOLD, QUEUE_ADMIN_HOLD, 0, QUEUE_HOLD,
                  "already on hold" },
                { "release held", QUEUE_HOLD, QUEUE_ADMIN_RELEASE, 1,
                  QUEUE_DEFERRED, NULL },
                { "release deferred", QUEUE_DEFERRED, QUEUE_ADMIN_RELEASE, 0,
                  QUEUE_DEFERRED, "not on hold" },
                { "requeue deferred", QUEUE_DEFERRED, QUEUE_ADMIN_REQUEUE, 1,
                  QUEUE_INCOMING, NULL },
                { "requeue held", QUEUE_HOLD, QUEUE_ADMIN_REQUEUE, 1,
                  QUEUE_INCOMING, NULL },
                { "requeue incoming", QUEUE_INCOMING, QUEUE_ADMIN_REQUEUE, 1,
                  QUEUE_INCOMING, NULL },
                { "flush deferred", QUEUE_DEFERRED, QUEUE_ADMIN_FLUSH, 1,
                  QUEUE_DEFERRED, NULL },
                { "flush held", QUEUE_HOLD, QUEUE_ADMIN_FLUSH, 0, QUEUE_HOLD,
                  "on hold" },
                { "flush active", QUEUE_ACTIVE, QUEUE_ADMIN_FLUSH, 0,
                  QUEUE_ACTIVE, "being delivered" },
                { "delete deferred", QUEUE_DEFERRED, QUEUE_ADMIN_DELETE, 1,
                  NULL, NULL },
                { "delete corrupt", QUEUE_CORRUPT, QUEUE_ADMIN_DELETE, 1,
                  NULL, NULL },
                { "hold corrupt", QUEUE_CORRUPT, QUEUE_ADMIN_HOLD, -1,
                  QUEUE_CORRUPT, NULL },
        };
        char *dir = make_queue();

        for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
                char id[QUEUE_ID_MAX], *path;
                const char *why = NULL, *where = NULL;
                struct status st;
                struct stat sb;
                int r;

                put(dir, cases[i].from, "bob@example.net", id);
                defer(dir, cases[i].from, id);
                /* in the future: a flush or release makes it due now */
                path = queue_path(dir, cases[i].from, id);
                {
                        struct timespec ts[2] = { { time(NULL) + 3600, 0 },
                                                  { time(NULL) + 3600, 0 } };

                        assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
                }
                free(path);
                r = queue_admin(dir, cases[i].op, id, 0, &why, &st);
                if (r != cases[i].want)
                        fail_msg("case %s: got %d (%s), want %d",
                                 cases[i].name, r, r < 0 ? st.text : "",
                                 cases[i].want);
                if (cases[i].why != NULL &&
                    (why == NULL || strcmp(why, cases[i].why) != 0))
                        fail_msg("case %s: got why \"%s\", want \"%s\"",
                                 cases[i].name, why ? why : "(null)",
                                 cases[i].why);
                if (r < 0 && status_class(&st) != 5)
                        fail_msg("case %s: got class %d, want 5",
                                 cases[i].name, status_class(&st));
                if (!queue_admin_find(dir, id, 1, &where))
                        where = NULL;
                if ((where == NULL) != (cases[i].to == NULL) ||
                    (where != NULL && strcmp(where, cases[i].to) != 0))
                        fail_msg("case %s: got it in %s, want %s",
                                 cases[i].name, where ? where : "nowhere",
                                 cases[i].to ? cases[i].to : "nowhere");
                if (where == NULL)
                        continue;
                path = queue_path(dir, where, id);
                assert_int_equal(stat(path, &sb), 0);
                if (r > 0 && (cases[i].op == QUEUE_ADMIN_FLUSH ||
                              cases[i].op == QUEUE_ADMIN_RELEASE) &&
                    sb.st_mtime > time(NULL))
                        fail_msg("case %s: not due now", cases[i].name);
                if (r > 0 && cases[i].op == QUEUE_ADMIN_REQUEUE) {
                        struct queue_file *qf = NULL;

                        assert_int_equal(queue_file_open(path, 0, &qf, &st),
                                         0);
                        if (queue_file_rcpt(qf, 0)->defer_text != NULL ||
                            queue_file_rcpt(qf, 1)->state != QUEUE_RCPT_SENT)
                                fail_msg("case %s: not rewound",
                                         cases[i].name);
                        queue_file_free(&qf);
                }
                unlink(path);
                free(path);
        }
        /* no such message, not a queue ID */
        {
                const char *why;
                struct status st;

                assert_int_equal(queue_admin(dir, QUEUE_ADMIN_DELETE,
                                             "000000000Az1", 0, &why, &st),
                                 -1);
                assert_int_equal(status_class(&st), 5);
                assert_non_null(strstr(st.text, "no such message"));
                assert_int_equal(queue_admin(dir, QUEUE_ADMIN_HOLD, "../x",
                                             0, &why, &st), -1);
                assert_non_null(strstr(st.text, "not a queue ID"));
        }
        remove_queue(dir);
}

static void test_all_and_site(void **state)
{
        char *dir = make_queue(), a[QUEUE_ID_MAX], b[QUEUE_ID_MAX];
        char c[QUEUE_ID_MAX], d[QUEUE_ID_MAX], **ids = NULL;
        struct status st;
        size_t n;

        put(dir, QUEUE_DEFERRED, "bob@A.example", a);
        put(dir, QUEUE_DEFERRED, "bob@b.example", b);
        put(dir, QUEUE_HOLD, "bob@a.example", c);
        put(dir, QUEUE_INCOMING, "bob@a.example", d);
        assert_int_equal(queue_admin_site(dir, QUEUE_DEFERRED, a,
                                          "a.example"), 1);
        assert_int_equal(queue_admin_site(dir, QUEUE_DEFERRED, b,
                                          "a.example"), 0);
        assert_int_equal(queue_admin_site(dir, QUEUE_DEFERRED, a,
                                          "example"), 0);
        /* delivered recipients do not count */
        assert_int_equal(queue_admin_site(dir, QUEUE_DEFERRED, a,
                                          "example.com"), 1);
        defer(dir, QUEUE_DEFERRED, a);
        assert_int_equal(queue_admin_site(dir, QUEUE_DEFERRED, a,
                                          "example.com"), 0);
        assert_int_equal(queue_admin_ids(dir, QUEUE_ADMIN_FLUSH, &ids, &n,
                                         &st), 0);
        assert_int_equal(n, 2);
        queue_ids_free(&ids);
        assert_int_equal(queue_admin_ids(dir, QUEUE_ADMIN_RELEASE, &ids, &n,
                                         &st), 0);
        assert_int_equal(n, 1);
        assert_string_equal(ids[0], c);
        queue_ids_free(&ids);
        assert_int_equal(queue_admin_ids(dir, QUEUE_ADMIN_HOLD, &ids, &n,
                                         &st), 0);
        assert_int_equal(n, 3);
        queue_ids_free(&ids);
        assert_int_equal(queue_admin_ids(dir, QUEUE_ADMIN_DELETE, &ids, &n,
                                         &st), 0);
        assert_int_equal(n, 4);
        for (size_t i = 1; i < n; i++)
                assert_true(strcmp(ids[i - 1], ids[i]) < 0);
        queue_ids_free(&ids);
        remove_queue(dir);
}

/* list_text - what queue_list prints; a new string */
static char *list_text(const char *dir)
{
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);

        assert_int_equal(queue_list(out, dir), 0);
        fclose(out);
        return text;
}

static void test_list_and_show(void **state)
{
        char *dir = make_queue(), a[QUEUE_ID_MAX], b[QUEUE_ID_MAX];
        char *text, *want, *line;
        struct status st;
        size_t len = 0;
        FILE *out;

        text = list_text(dir);
        assert_string_equal(text, "Mail queue is empty\n");
        free(text);
        put(dir, QUEUE_DEFERRED, "bob@example.net", a);
        defer(dir, QUEUE_DEFERRED, a);
        put(dir, QUEUE_HOLD, "carol@example.net", b);
        defer(dir, QUEUE_HOLD, b);
        text = list_text(dir);
        /* the reason above the pending recipient; the delivered one not
         * listed; held mail marked */
        want = xasprintf("%s  ", a);
        line = strstr(text, want);
        assert_non_null(line);
        free(want);
        want = xasprintf("(connect to mx[192.0.2.1]:25: Connection "
                         "refused)\n%42s bob@example.net\n\n", "");
        assert_non_null(strstr(line, want));
        free(want);
        want = xasprintf("%s! ", b);
        assert_non_null(strstr(text, want));
        free(want);
        assert_null(strstr(text, "done@example.com"));
        assert_non_null(strstr(text, "-- 1 Kbytes in 2 Requests.\n"));
        free(text);

        text = NULL;
        out = open_memstream(&text, &len);
        assert_int_equal(queue_show(out, dir, a, &st), 1);
        assert_int_equal(queue_show(out, dir, "000000000Az1", &st), 0);
        fclose(out);
        want = xasprintf("*** ENVELOPE RECORDS deferred/%s ***\n", a);
        assert_true(strncmp(text, want, strlen(want)) == 0);
        free(want);
        assert_non_null(strstr(text, "sender: ann@example.org\n"));
        assert_non_null(strstr(text, "named_attribute: arrival=1700000000\n"));
        assert_non_null(strstr(text, "recipient: bob@example.net (deferred: "
                               "4.4.1 connect to mx[192.0.2.1]:25: "
                               "Connection refused)\n"));
        assert_non_null(strstr(text, "recipient: done@example.com (sent)\n"));
        assert_non_null(strstr(text, "delivery_attempts: 1\n"));
        want = xasprintf("*** MESSAGE CONTENTS deferred/%s ***\nSubject: "
                         "x\n\nbody\n*** MESSAGE FILE END deferred/%s ***\n",
                         a, a);
        assert_non_null(strstr(text, want));
        free(want);
        free(text);
        remove_queue(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_records),
                cmocka_unit_test(test_ops),
                cmocka_unit_test(test_all_and_site),
                cmocka_unit_test(test_list_and_show),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
