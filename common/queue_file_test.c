/* queue_file_test.c - queue files: write/read round trip, progress records
 * surviving a reopen, torn tails, truncated and corrupt files detected,
 * opening from a descriptor, queue IDs unique, ordered and decodable,
 * directory moves and listing, spare files of delivered messages reused */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "fileio.h"
#include "mem.h"
#include "queue_file.h"

static char *make_queue(void)
{
        char tmpl[] = "/tmp/queue_file_test.XXXXXX";
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

/* write_msg - commit a message with content (len bytes) written in
 * chunks of chunk bytes; returns its incoming/ path */
static char *write_msg(const char *dir, const char *content, size_t len,
                       size_t chunk, char *id_r)
{
        struct queue_writer *w = NULL;
        struct status st;
        char *path;

        assert_int_equal(queue_writer_open(dir, &w, &st), 0);
        queue_writer_sender(w, "ann@example.org");
        queue_writer_attr(w, "client_address", "192.0.2.7");
        queue_writer_attr(w, "helo", "first");
        queue_writer_attr(w, "helo", "mx.example.org");
        queue_writer_attr(w, "arrival", "1700000000");
        queue_writer_recipient(w, "bob@example.com", "rfc822;Bob@example.com",
                               QUEUE_NOTIFY_FAILURE | QUEUE_NOTIFY_DELAY);
        queue_writer_recipient(w, "quoted local@example.com", NULL, 0);
        for (size_t off = 0; off < len; off += chunk) {
                size_t n = len - off < chunk ? len - off : chunk;

                assert_int_equal(queue_writer_data(w, content + off, n, &st),
                                 0);
        }
        assert_int_equal(queue_writer_size(w), (long long)len);
        strcpy(id_r, queue_writer_id(w));
        if (queue_writer_commit(w, &st) < 0)
                fail_msg("commit: %s", st.text);
        queue_writer_free(&w);
        path = queue_path(dir, QUEUE_INCOMING, id_r);
        return path;
}

static void test_round_trip(void **state)
{
        static const size_t sizes[] = { 0, 1, 100, 65535, 65536, 300000 };
        static const size_t chunks[] = { 1, 7, 4096, 1 << 20 };
        char *dir = make_queue();

        for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++)
                for (size_t c = 0; c < sizeof(chunks) / sizeof(*chunks); c++) {
                        size_t len = sizes[s];
                        char *content, id[QUEUE_ID_MAX];
                        struct queue_file *qf = NULL;
                        struct status st;
                        const struct queue_rcpt *r;
                        const char *mapped;
                        size_t mlen;
                        char *path;

                        if (len > 5000 && chunks[c] == 1)
                                continue;       /* slow, and nothing new */
                        content = xmalloc(len + 1);
                        for (size_t i = 0; i < len; i++)
                                content[i] = (char)(i * 7 + s);   /* any byte */
                        path = write_msg(dir, content, len, chunks[c], id);
                        if (queue_file_open(path, 0, &qf, &st) < 0)
                                fail_msg("case size %zu chunk %zu: got %s, "
                                         "want a good file", len, chunks[c],
                                         st.text);
                        assert_string_equal(queue_file_id(qf), id);
                        assert_string_equal(queue_file_sender(qf),
                                            "ann@example.org");
                        assert_string_equal(queue_file_attr(qf, "helo"),
                                            "mx.example.org");
                        assert_null(queue_file_attr(qf, "nothing"));
                        assert_int_equal(queue_file_arrival(qf, NULL),
                                         1700000000);
                        assert_int_equal(queue_file_rcpt_count(qf), 2);
                        assert_int_equal(queue_file_pending(qf), 2);
                        r = queue_file_rcpt(qf, 0);
                        assert_string_equal(r->addr, "bob@example.com");
                        assert_string_equal(r->orcpt,
                                            "rfc822;Bob@example.com");
                        assert_int_equal(r->notify, QUEUE_NOTIFY_FAILURE |
                                         QUEUE_NOTIFY_DELAY);
                        assert_int_equal(r->parent, QUEUE_NO_PARENT);
                        r = queue_file_rcpt(qf, 1);
                        assert_string_equal(r->addr,
                                            "quoted local@example.com");
                        assert_null(r->orcpt);
                        assert_null(queue_file_rcpt(qf, 2));
                        if (queue_file_size(qf) != (long long)len)
                                fail_msg("case size %zu chunk %zu: got size "
                                         "%lld", len, chunks[c],
                                         queue_file_size(qf));
                        mapped = queue_file_content(qf, &mlen);
                        assert_int_equal(mlen, len);
                        assert_memory_equal(mapped, content, len);
                        if (len > 10) {
                                char b[10];

                                assert_int_equal(queue_file_read(qf, 3, b, 10,
                                                                 &st), 10);
                                assert_memory_equal(b, content + 3, 10);
                                assert_int_equal(queue_file_read(qf,
                                                 (long long)len - 2, b, 10,
                                                 &st), 2);
                        }
                        queue_file_free(&qf);
                        assert_null(qf);
                        unlink(path);
                        free(path);
                        free(content);
                }
        remove_queue(dir);
}

static void test_progress(void **state)
{
        char *dir = make_queue(), id[QUEUE_ID_MAX], *path;
        struct queue_file *qf = NULL;
        struct status st;
        size_t added;
        time_t last;
        int fd;

        path = write_msg(dir, "Subject: x\n\nbody\n", 17, 17, id);
        assert_int_equal(queue_file_open(path, 1, &qf, &st), 0);
        queue_file_mark(qf, 0, QUEUE_RCPT_SENT);
        queue_file_defer_reason(qf, 1, "4.2.2", "mailbox full\r\nnext line");
        queue_file_attempt(qf, 1700000100);
        assert_int_equal(queue_file_sync(qf, &st), 0);
        queue_file_free(&qf);

        assert_int_equal(queue_file_open(path, 1, &qf, &st), 0);
        assert_int_equal(queue_file_rcpt(qf, 0)->state, QUEUE_RCPT_SENT);
        assert_int_equal(queue_file_rcpt(qf, 1)->state, QUEUE_RCPT_PENDING);
        assert_string_equal(queue_file_rcpt(qf, 1)->defer_code, "4.2.2");
        assert_string_equal(queue_file_rcpt(qf, 1)->defer_text,
                            "mailbox full");
        assert_int_equal(queue_file_pending(qf), 1);
        assert_int_equal(queue_file_attempts(qf, &last), 1);
        assert_int_equal(last, 1700000100);
        /* expansion: the parent is replaced by two new recipients */
        added = queue_file_add_rcpt(qf, 1, "x@example.net", NULL, 0);
        assert_int_equal(added, 2);
        assert_int_equal(queue_file_add_rcpt(qf, 1, "y@example.net",
                                             "rfc822;q@example.com", 4), 3);
        queue_file_mark(qf, 1, QUEUE_RCPT_EXPANDED);
        assert_int_equal(queue_file_sync(qf, &st), 0);
        queue_file_free(&qf);

        /* a torn batch at the end is ignored, then cut off */
        fd = open(path, O_WRONLY | O_APPEND);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "D7:2 sen", 8), 8);
        close(fd);
        assert_int_equal(queue_file_open(path, 1, &qf, &st), 0);
        assert_int_equal(queue_file_rcpt_count(qf), 4);
        assert_int_equal(queue_file_rcpt(qf, 1)->state, QUEUE_RCPT_EXPANDED);
        assert_int_equal(queue_file_rcpt(qf, 2)->parent, 1);
        assert_string_equal(queue_file_rcpt(qf, 3)->orcpt,
                            "rfc822;q@example.com");
        assert_int_equal(queue_file_rcpt(qf, 3)->notify, 4);
        assert_int_equal(queue_file_pending(qf), 2);
        queue_file_mark(qf, 2, QUEUE_RCPT_BOUNCED);
        queue_file_mark(qf, 3, QUEUE_RCPT_DROPPED);
        assert_int_equal(queue_file_sync(qf, &st), 0);
        queue_file_free(&qf);
        assert_int_equal(queue_file_open(path, 0, &qf, &st), 0);
        assert_int_equal(queue_file_pending(qf), 0);
        assert_int_equal(queue_file_rcpt(qf, 2)->state, QUEUE_RCPT_BOUNCED);
        assert_int_equal(queue_file_rcpt(qf, 3)->state, QUEUE_RCPT_DROPPED);
        queue_file_free(&qf);
        free(path);
        remove_queue(dir);
}

/* rewrite - replace the file at path with len bytes of data */
static void rewrite(const char *path, const char *data, size_t len)
{
        int fd = open(path, O_WRONLY | O_TRUNC);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t)len);
        close(fd);
}

static void test_corrupt(void **state)
{
        char *dir = make_queue(), id[QUEUE_ID_MAX], *path;
        struct buf good;
        struct status st;
        size_t env_end, crc_at;
        const char *c;

        path = write_msg(dir, "Subject: x\n\nbody\n", 17, 5, id);
        buf_init(&good, 0);
        assert_int_equal(fileio_read(path, 1 << 20, &good, &st), 1);
        c = strstr(good.data, "\nC0");
        assert_non_null(c);
        env_end = (size_t)(c - good.data) + 1;
        crc_at = good.len - 9;
        /* every truncation is detected */
        for (size_t len = 0; len < good.len; len++) {
                struct queue_file *qf = NULL;

                rewrite(path, good.data, len);
                if (queue_file_open(path, 0, &qf, &st) == 0)
                        fail_msg("case truncated at %zu of %zu: got a good "
                                 "file, want corrupt", len, good.len);
                if (status_class(&st) != 5)
                        fail_msg("case truncated at %zu: got %s %s, want "
                                 "class 5", len, st.code, st.text);
        }
        /* every flipped byte is detected, in the envelope and content */
        for (size_t i = 0; i < good.len - 1; i++) {
                struct queue_file *qf = NULL;
                char *bad = xstrndup(good.data, good.len);

                bad[i] ^= (i < env_end || i >= crc_at) ? 0x01 : 0x20;
                rewrite(path, bad, good.len);
                if (queue_file_open(path, 0, &qf, &st) == 0) {
                        queue_file_free(&qf);
                        fail_msg("case byte %zu flipped ('%c'): got a good "
                                 "file, want corrupt", i, good.data[i]);
                }
                assert_int_equal(status_class(&st), 5);
                free(bad);
        }
        rewrite(path, good.data, good.len);
        {
                struct queue_file *qf = NULL;

                assert_int_equal(queue_file_open(path, 0, &qf, &st), 0);
                queue_file_free(&qf);
        }
        /* a missing file is a temporary condition, not corruption */
        unlink(path);
        {
                struct queue_file *qf = NULL;

                assert_int_equal(queue_file_open(path, 0, &qf, &st), -1);
                assert_int_equal(status_class(&st), 4);
        }
        buf_release(&good);
        free(path);
        remove_queue(dir);
}

/* test_open_fd - a descriptor opened elsewhere reads as the path does;
 * the handle owns the descriptor, on failure too */
static void test_open_fd(void **state)
{
        char *dir = make_queue(), id[QUEUE_ID_MAX], *path;
        struct queue_file *qf = NULL;
        struct status st;
        const char *content;
        size_t len;
        int fd;

        path = write_msg(dir, "Subject: x\n\nbody\n", 17, 17, id);
        fd = open(path, O_RDONLY);
        assert_true(fd >= 0);
        assert_int_equal(queue_file_open_fd(fd, id, &qf, &st), 0);
        assert_string_equal(queue_file_id(qf), id);
        assert_string_equal(queue_file_sender(qf), "ann@example.org");
        assert_int_equal(queue_file_rcpt_count(qf), 2);
        assert_string_equal(queue_file_rcpt(qf, 1)->addr,
                            "quoted local@example.com");
        content = queue_file_content(qf, &len);
        assert_int_equal(len, 17);
        assert_memory_equal(content, "Subject: x\n\nbody\n", 17);
        queue_file_free(&qf);
        assert_int_equal(fcntl(fd, F_GETFD), -1);       /* closed */
        /* a corrupt file: -1, class 5, the descriptor closed */
        rewrite(path, "YUBINQ 1\nT3:1.0\n", 16);
        fd = open(path, O_RDONLY);
        assert_true(fd >= 0);
        assert_int_equal(queue_file_open_fd(fd, id, &qf, &st), -1);
        assert_null(qf);
        assert_int_equal(status_class(&st), 5);
        assert_int_equal(fcntl(fd, F_GETFD), -1);
        free(path);
        remove_queue(dir);
}

static void test_ids(void **state)
{
        static const struct {
                const char *name;
                int want;
        } shapes[] = {
                { "4Xk2Lq3vZ1z", 0 },           /* too short */
                { "000000000Az1", 1 },
                { "0000000000z", 0 },
                { "ABCDEFGHIJzK", 1 },
                { "ABCDEFGHIJyK", 0 },          /* no separator */
                { "ABCDEFGHIzzK", 0 },
                { "ABCDEFGHIJz.", 0 },
                { "../etc/pass", 0 },
                { "ABCDEFGHIJzKKKKKKKKKKKKKKKKKKKKKKK", 0 },    /* too long */
        };
        char *dir = make_queue(), prev[QUEUE_ID_MAX] = "", **ids = NULL;
        char made[QUEUE_ID_MAX];
        time_t sec;
        long usec;
        size_t n;
        struct status st;

        for (size_t i = 0; i < sizeof(shapes) / sizeof(*shapes); i++)
                if (queue_id_valid(shapes[i].name) != shapes[i].want)
                        fail_msg("case %s: got %d, want %d", shapes[i].name,
                                 !shapes[i].want, shapes[i].want);
        queue_id_make(1700000000, 123456, 0, made);
        assert_true(queue_id_valid(made));
        assert_int_equal(queue_id_time(made, &sec, &usec), 0);
        assert_int_equal(sec, 1700000000);
        assert_int_equal(usec, 123456);
        queue_id_make(4102444800LL, 999999, ~0ULL, made);
        assert_true(queue_id_valid(made));
        assert_int_equal(queue_id_time(made, &sec, &usec), 0);
        assert_int_equal(sec, 4102444800LL);
        /* writers opened in a row get increasing IDs, unique while they
         * exist; the directory lists them in that order */
        for (int i = 0; i < 200; i++) {
                char id[QUEUE_ID_MAX], *path;

                path = write_msg(dir, "x\n", 2, 2, id);
                if (strcmp(id, prev) <= 0)
                        fail_msg("case %d: got ID %s after %s, want a larger "
                                 "one", i, id, prev);
                strcpy(prev, id);
                free(path);
        }
        assert_int_equal(queue_dir_list(dir, QUEUE_INCOMING, &ids, &n, &st),
                         0);
        assert_int_equal(n, 200);
        for (size_t i = 1; i < n; i++)
                assert_true(strcmp(ids[i - 1], ids[i]) < 0);
        assert_int_equal(queue_move(dir, ids[0], QUEUE_INCOMING,
                                    QUEUE_DEFERRED, 1, &st), 0);
        assert_int_equal(queue_move(dir, ids[0], QUEUE_INCOMING,
                                    QUEUE_DEFERRED, 0, &st), -1);
        queue_ids_free(&ids);
        assert_null(ids);
        assert_int_equal(queue_dir_list(dir, QUEUE_DEFERRED, &ids, &n, &st),
                         0);
        assert_int_equal(n, 1);
        queue_ids_free(&ids);
        remove_queue(dir);
}

static void test_abandoned(void **state)
{
        char *dir = make_queue(), **ids = NULL;
        struct queue_writer *w = NULL;
        struct status st;
        size_t n;

        /* a writer freed before commit leaves nothing behind */
        assert_int_equal(queue_writer_open(dir, &w, &st), 0);
        queue_writer_recipient(w, "a@b", NULL, 0);
        assert_int_equal(queue_writer_data(w, "abc\n", 4, &st), 0);
        queue_writer_free(&w);
        assert_int_equal(queue_dir_list(dir, QUEUE_INCOMING, &ids, &n, &st),
                         0);
        assert_int_equal(n, 0);
        queue_ids_free(&ids);
        {
                char *cmd = xasprintf("test -z \"$(ls -A '%s/tmp')\"", dir);

                assert_int_equal(system(cmd), 0);
                free(cmd);
        }
        /* no recipients: commit refuses */
        assert_int_equal(queue_writer_open(dir, &w, &st), 0);
        assert_int_equal(queue_writer_commit(w, &st), -1);
        assert_int_equal(status_class(&st), 4);
        queue_writer_free(&w);
        /* a queue directory made on first use */
        {
                char *sub = xasprintf("%s/new", dir);

                assert_int_equal(queue_writer_open(sub, &w, &st), 0);
                queue_writer_recipient(w, "a@b", NULL, 0);
                assert_int_equal(queue_writer_commit(w, &st), 0);
                queue_writer_free(&w);
                free(sub);
        }
        remove_queue(dir);
}

static ino_t ino_of(const char *path)
{
        struct stat sb;

        assert_int_equal(stat(path, &sb), 0);
        return sb.st_ino;
}

static off_t size_of(const char *path)
{
        struct stat sb;

        assert_int_equal(stat(path, &sb), 0);
        return sb.st_size;
}

/* count_spares - files named spare.N in tmp/ */
static int count_spares(const char *dir)
{
        int n = 0;

        for (int i = 0; i < 200; i++) {
                char *p = xasprintf("%s/tmp/spare.%d", dir, i);

                if (access(p, F_OK) == 0)
                        n++;
                free(p);
        }
        return n;
}

/* content_is - the queue file at path parses and holds exactly want */
static void content_is(const char *path, const char *want)
{
        struct queue_file *qf = NULL;
        struct status st;
        size_t mlen;

        if (queue_file_open(path, 0, &qf, &st) < 0)
                fail_msg("%s: %s", path, st.text);
        const char *mapped = queue_file_content(qf, &mlen);
        assert_int_equal(mlen, strlen(want));
        assert_memory_equal(mapped, want, mlen);
        queue_file_free(&qf);
}

static void test_spares(void **state)
{
        char *dir = make_queue(), id[QUEUE_ID_MAX], id2[QUEUE_ID_MAX];
        static const char text[] = "Subject: one\n\nfirst message\n";
        static const char text2[] = "Subject: two\n\nsecond\n";

        /* a delivered message's file is kept and the next writer takes
         * it: the same inode, a new ID, and exactly the new content (the
         * old one was longer) */
        char *path = write_msg(dir, text, sizeof(text) - 1, 4096, id);
        ino_t ino = ino_of(path);
        off_t size = size_of(path);
        assert_int_equal(queue_spare_put(dir, path), 0);
        assert_int_equal(access(path, F_OK), -1);
        assert_int_equal(count_spares(dir), 1);
        char *path2 = write_msg(dir, text2, sizeof(text2) - 1, 4096, id2);
        assert_int_equal(ino_of(path2), ino);
        assert_string_not_equal(id, id2);
        assert_int_equal(count_spares(dir), 0);
        content_is(path2, text2);
        /* nothing of the old text is left past the new end */
        assert_int_equal(size_of(path2),
                         size - (off_t)(strlen(text) - strlen(text2)));
        /* and a longer message over a shorter one */
        assert_int_equal(queue_spare_put(dir, path2), 0);
        free(path);
        path = write_msg(dir, text, sizeof(text) - 1, 4096, id);
        assert_int_equal(ino_of(path), ino);
        content_is(path, text);

        /* the spares are bounded: past them, files are removed */
        char *paths[80];
        for (int i = 0; i < 80; i++)
                paths[i] = write_msg(dir, text, sizeof(text) - 1, 4096, id);
        for (int i = 0; i < 80; i++) {
                assert_int_equal(queue_spare_put(dir, paths[i]), 0);
                assert_int_equal(access(paths[i], F_OK), -1);
                free(paths[i]);
        }
        int spares = count_spares(dir);
        assert_true(spares > 0 && spares <= 64);
        /* and taken again, one by one */
        for (int i = 0; i < spares; i++) {
                char *p = write_msg(dir, text2, sizeof(text2) - 1, 4096, id);
                content_is(p, text2);
                free(p);
        }
        assert_true(count_spares(dir) < spares);
        free(path);
        free(path2);
        remove_queue(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_progress),
                cmocka_unit_test(test_corrupt),
                cmocka_unit_test(test_open_fd),
                cmocka_unit_test(test_ids),
                cmocka_unit_test(test_abandoned),
                cmocka_unit_test(test_spares),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
