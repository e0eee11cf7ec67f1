/* maildir_cache_test.c - the folder cache: header fields as HEADER.FIELDS
 * shows them, answers without message reads once cached (counted), sizes
 * and offsets, and a cache file that is missing, truncated, damaged, of
 * another UIDVALIDITY or of another folder's files being dropped and
 * rebuilt from the messages */
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

#include "buf.h"
#include "log.h"
#include "maildir.h"
#include "maildir_private.h"

static char root[64];
static struct maildir *md;

static int setup(void **state)
{
        struct status st;

        snprintf(root, sizeof(root), "/tmp/maildir_cache_test.XXXXXX");
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

static void deliver(const char *msg)
{
        struct status st;

        if (maildir_deliver(md, NULL, msg, strlen(msg), NULL, &st) < 0)
                fail_msg("deliver: %s %s", st.code, st.text);
}

static struct maildir_box *open_synced(int flags)
{
        struct maildir_box *box;
        struct status st;

        assert_int_equal(maildir_box_open(md, NULL, flags, &box, &st), 0);
        if (maildir_sync(box, NULL, &st) < 0)
                fail_msg("sync: %s %s", st.code, st.text);
        return box;
}

/* fields - maildir_msg_cached_header of a comma-separated name list */
static char *fields(struct maildir_box *box, uint32_t uid, const char *list)
{
        char copy[256];
        const char *names[16];
        size_t n = 0;
        struct buf out;
        struct status st;

        snprintf(copy, sizeof(copy), "%s", list);
        for (char *tok = strtok(copy, ","); tok != NULL && n < 16;
             tok = strtok(NULL, ","))
                names[n++] = tok;
        buf_init(&out, 0);
        int r = maildir_msg_cached_header(box, uid, names, n, &out, &st);
        if (r != 1)
                fail_msg("cached_header of %u: got %d (%s)", uid, r,
                         r < 0 ? st.text : "gone");
        char *s = strdup(buf_cstr(&out));
        buf_release(&out);
        return s;
}

static char *cache_file(const char *rel, size_t *len_r)
{
        char p[256];
        snprintf(p, sizeof(p), "%s/%s", root, rel);
        FILE *f = fopen(p, "rb");
        if (f == NULL)
                return NULL;
        char *buf = malloc(1 << 22);
        *len_r = fread(buf, 1, 1 << 22, f);
        fclose(f);
        return buf;
}

static void write_file(const char *rel, const char *data, size_t len)
{
        char p[256];
        snprintf(p, sizeof(p), "%s/%s", root, rel);
        FILE *f = fopen(p, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        fclose(f);
}

static void test_fields(void **state)
{
        static const struct {
                const char *name;
                const char *msg;
                const char *names;
                const char *want;
        } cases[] = {
                { "plain", "From: a@example.org\nTo: b@example.org\n"
                  "Subject: hi\n\nbody\n", "Subject,From",
                  "From: a@example.org\nSubject: hi\n" },
                { "message order, any case", "Subject: s\nDate: d\n"
                  "From: f\n\nx\n", "from,DATE",
                  "Date: d\nFrom: f\n" },
                { "folded", "Subject: a long\n\tsubject\n line\nTo: t\n\nb\n",
                  "Subject", "Subject: a long\n\tsubject\n line\n" },
                { "twice", "To: one\nCc: c\nTo: two\n\nb\n", "To",
                  "To: one\nTo: two\n" },
                { "absent", "From: f\n\nb\n", "Cc,Bcc", "" },
                { "crlf stored as lf", "From: f\r\nSubject: s\r\n\r\nb\r\n",
                  "Subject", "Subject: s\n" },
                { "blank before colon", "Subject : odd\n\nb\n", "Subject",
                  "Subject : odd\n" },
                { "no body", "Subject: only\n", "Subject",
                  "Subject: only\n" },
                { "body lines are not fields", "From: f\n\nSubject: no\n",
                  "Subject", "" },
                { "not cached", "X-Mailer: m\nFrom: f\n\nb\n",
                  "X-Mailer,From", "X-Mailer: m\nFrom: f\n" },
        };
        size_t n = sizeof(cases) / sizeof(cases[0]);

        for (size_t i = 0; i < n; i++)
                deliver(cases[i].msg);
        for (int pass = 0; pass < 2; pass++) {
                struct maildir_box *box = open_synced(MAILDIR_BOX_CACHE);
                for (size_t i = 0; i < n; i++) {
                        char *got = fields(box, (uint32_t)i + 1,
                                           cases[i].names);
                        if (strcmp(got, cases[i].want) != 0)
                                fail_msg("case %s (pass %d): got \"%s\", "
                                         "want \"%s\"", cases[i].name, pass,
                                         got, cases[i].want);
                        free(got);
                }
                const struct maildir_box_stats *s = maildir_box_stats(box);
                /* the first pass reads every file once; the second only
                 * the one asked for a field the cache does not keep */
                if (pass == 0) {
                        assert_int_equal(s->msg_reads, n);
                        assert_int_equal(s->cache_misses, n);
                } else {
                        assert_int_equal(s->msg_reads, 1);
                        assert_int_equal(s->cache_misses, 0);
                        assert_int_equal(s->cache_hits, n - 1);
                }
                maildir_box_close(&box);
        }
        /* without the cache every call reads the file */
        struct maildir_box *box = open_synced(0);
        free(fields(box, 1, "Subject"));
        free(fields(box, 1, "Subject"));
        assert_int_equal(maildir_box_stats(box)->msg_reads, 2);
        maildir_box_close(&box);
}

static void test_hits_need_no_reads(void **state)
{
        enum { N = 200 };
        char msg[512];
        struct status st;

        for (int i = 0; i < N; i++) {
                snprintf(msg, sizeof(msg), "Date: Mon, 1 Jan 2024 00:00:%02d +0000\n"
                         "From: sender%d@example.org\nSubject: message %d\n"
                         "Message-ID: <%d@example.org>\n\nbody %d\nline\n",
                         i % 60, i, i, i, i);
                deliver(msg);
        }
        /* a Dovecot-style file without S= or W=: the sizes need the file */
        write_file("cur/1700000000.M1P1.host:2,S",
                   "Subject: dovecot\n\nline one\nline two\n", 36);

        struct maildir_box *box = open_synced(MAILDIR_BOX_CACHE);
        /* the oldest name: UID 1 */
        uint32_t last = 1;
        uint64_t vsize, hsize, hvsize, size;
        time_t date;
        assert_int_equal(maildir_msg_vsize(box, last, &vsize, &st), 1);
        assert_int_equal(vsize, 36 + 4);
        assert_int_equal(maildir_box_stats(box)->msg_reads, 1);
        assert_int_equal(maildir_cache_fill(box, &st), 0);
        assert_int_equal(maildir_box_stats(box)->msg_reads, N + 1);
        maildir_box_close(&box);
        size_t len;
        char *data = cache_file(MAILDIR_CACHE_NAME, &len);
        assert_non_null(data);
        free(data);

        box = open_synced(MAILDIR_BOX_CACHE);
        for (uint32_t uid = 2; uid <= N + 1; uid++) {
                char *got = fields(box, uid, "From,Subject");
                snprintf(msg, sizeof(msg), "From: sender%u@example.org\n"
                         "Subject: message %u\n", uid - 2, uid - 2);
                if (strcmp(got, msg) != 0)
                        fail_msg("uid %u: got \"%s\", want \"%s\"", uid, got,
                                 msg);
                free(got);
                assert_int_equal(maildir_msg_header_size(box, uid, &hsize,
                                                         &hvsize, &st), 1);
                assert_int_equal(hvsize, hsize + 5);   /* 4 fields, blank line */
        }
        assert_int_equal(maildir_msg_vsize(box, last, &vsize, &st), 1);
        assert_int_equal(vsize, 40);
        assert_int_equal(maildir_msg_size(box, last, &size, &st), 1);
        assert_int_equal(size, 36);
        assert_int_equal(maildir_msg_date(box, last, &date, &st), 1);
        assert_int_not_equal(date, 0);
        assert_int_equal(maildir_msg_header_size(box, last, &hsize, &hvsize,
                                                 &st), 1);
        assert_int_equal(hsize, 18);
        assert_int_equal(hvsize, 20);
        const struct maildir_box_stats *s = maildir_box_stats(box);
        assert_int_equal(s->msg_reads, 0);
        assert_int_equal(s->cache_misses, 0);
        assert_int_equal(s->cache_discards, 0);
        maildir_box_close(&box);
}

static void test_long_fields(void **state)
{
        struct buf msg;
        struct status st;

        /* a References past the per-field limit is read from the file;
         * the other fields still come from the cache */
        buf_init(&msg, 0);
        buf_puts(&msg, "Subject: refs\nReferences:");
        for (int i = 0; i < 800; i++)
                buf_printf(&msg, " <%d@example.org>\n", i);
        buf_puts(&msg, "From: f\n\nbody\n");
        deliver(buf_cstr(&msg));
        for (int pass = 0; pass < 2; pass++) {
                struct maildir_box *box = open_synced(MAILDIR_BOX_CACHE);
                char *got = fields(box, 1, "References");
                const char *start = strstr(buf_cstr(&msg), "References:");
                const char *end = strstr(buf_cstr(&msg), "From: f");
                assert_int_equal(strlen(got), (size_t)(end - start));
                assert_memory_equal(got, start, strlen(got));
                free(got);
                got = fields(box, 1, "Subject,From");
                assert_string_equal(got, "Subject: refs\nFrom: f\n");
                free(got);
                /* pass 0: made the entry; pass 1: References only */
                assert_int_equal(maildir_box_stats(box)->msg_reads, 1);
                maildir_box_close(&box);
        }
        buf_release(&msg);
        (void)st;
}

/* build - a folder of n messages with a written cache; returns the file */
static char *build(int n, size_t *len_r)
{
        char msg[256];

        for (int i = 0; i < n; i++) {
                snprintf(msg, sizeof(msg), "Subject: m%d\nTo: t%d\n\nb\n", i, i);
                deliver(msg);
        }
        struct maildir_box *box = open_synced(MAILDIR_BOX_CACHE);
        struct status st;
        assert_int_equal(maildir_cache_fill(box, &st), 0);
        maildir_box_close(&box);
        char *data = cache_file(MAILDIR_CACHE_NAME, len_r);
        assert_non_null(data);
        return data;
}

/* check_rebuilt - a handle finds the right fields although the cache file
 * was bad (reading every message again), and leaves a good file behind */
static void check_rebuilt(const char *what, int n, unsigned long discards)
{
        char want[64];
        struct maildir_box *box = open_synced(MAILDIR_BOX_CACHE);

        for (int i = 0; i < n; i++) {
                char *got = fields(box, (uint32_t)i + 1, "Subject,To");
                snprintf(want, sizeof(want), "Subject: m%d\nTo: t%d\n", i, i);
                if (strcmp(got, want) != 0)
                        fail_msg("case %s: uid %d: got \"%s\", want \"%s\"",
                                 what, i + 1, got, want);
                free(got);
        }
        const struct maildir_box_stats *s = maildir_box_stats(box);
        if (s->msg_reads != (unsigned long)n || s->cache_discards != discards)
                fail_msg("case %s: got %lu reads, %lu discards, want %d, %lu",
                         what, s->msg_reads, s->cache_discards, n, discards);
        maildir_box_close(&box);
        box = open_synced(MAILDIR_BOX_CACHE);
        free(fields(box, 1, "Subject"));
        if (maildir_box_stats(box)->msg_reads != 0)
                fail_msg("case %s: the rebuilt file was not used", what);
        maildir_box_close(&box);
}

static void test_bad_files(void **state)
{
        enum { N = 12 };
        size_t len;
        char *good = build(N, &len);
        static const struct {
                const char *name;
                int how;
        } cases[] = {
                { "missing", 0 }, { "empty", 1 }, { "truncated header", 2 },
                { "truncated entry", 3 }, { "flipped byte", 4 },
                { "garbage", 5 }, { "bad magic", 6 }, { "appended junk", 7 },
        };
        char path[256];

        snprintf(path, sizeof(path), "%s/%s", root, MAILDIR_CACHE_NAME);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *bad = malloc(len + 16);
                memcpy(bad, good, len);
                size_t blen = len;
                switch (cases[i].how) {
                case 0: break;
                case 1: blen = 0; break;
                case 2: blen = 20; break;
                case 3: blen = len - 7; break;
                case 4: bad[len / 2] ^= 0x20; break;
                case 5: memset(bad, 'x', len); break;
                case 6: bad[0] = 'Z'; break;
                case 7: memcpy(bad + len, "trailing", 8); blen = len + 8; break;
                }
                if (cases[i].how == 0)
                        unlink(path);
                else
                        write_file(MAILDIR_CACHE_NAME, bad, blen);
                check_rebuilt(cases[i].name, N, cases[i].how == 0 ? 0 : 1);
                free(bad);
        }
        free(good);
}

static void test_wrong_uids(void **state)
{
        enum { N = 6 };
        size_t len;
        char *good = build(N, &len);
        char p[256];

        /* the uidlist made anew: another UIDVALIDITY voids the cache */
        snprintf(p, sizeof(p), "%s/dovecot-uidlist", root);
        assert_int_equal(unlink(p), 0);
        sleep(1);       /* UIDVALIDITY is the time */
        check_rebuilt("new uidvalidity", N, 1);

        /* the same UIDs with other files behind them: every entry is
         * refused by its file name, and made again from the new file */
        struct maildir_box *box = open_synced(MAILDIR_BOX_CACHE);
        uint32_t v = maildir_box_uidvalidity(box);
        maildir_box_close(&box);
        free(good);
        /* rename every file to a new base name: the UIDs in the uidlist
         * stay, the names the cache knows no longer match */
        char cmd[512];
        snprintf(cmd, sizeof(cmd),
                 "cd %s/cur && for f in *; do mv \"$f\" \"x$f\"; done", root);
        assert_int_equal(system(cmd), 0);
        snprintf(cmd, sizeof(cmd), "sed -i 's/ :/ :x/' %s/dovecot-uidlist", root);
        assert_int_equal(system(cmd), 0);
        box = open_synced(MAILDIR_BOX_CACHE);
        assert_int_equal(maildir_box_uidvalidity(box), v);
        for (int i = 0; i < N; i++) {
                char want[64];
                char *got = fields(box, (uint32_t)i + 1, "Subject");
                snprintf(want, sizeof(want), "Subject: m%d\n", i);
                assert_string_equal(got, want);
                free(got);
        }
        assert_int_equal(maildir_box_stats(box)->msg_reads, N);
        assert_int_equal(maildir_box_stats(box)->cache_hits, 0);
        maildir_box_close(&box);
}

static void test_stale_entries_dropped(void **state)
{
        enum { N = 10 };
        size_t len;
        struct status st;
        free(build(N, &len));

        /* another handle expunges three messages */
        struct maildir_box *other = open_synced(0);
        for (uint32_t uid = 2; uid <= 4; uid++)
                assert_int_equal(maildir_msg_expunge(other, uid, &st), 1);
        maildir_box_close(&other);
        deliver("Subject: new\n\nb\n");

        struct maildir_box *box = open_synced(MAILDIR_BOX_CACHE);
        char *got = fields(box, N + 1, "Subject");
        assert_string_equal(got, "Subject: new\n");
        free(got);
        maildir_box_close(&box);

        char *data = cache_file(MAILDIR_CACHE_NAME, &len);
        struct maildir_cache *c;
        char *error;
        assert_int_equal(maildir_cache_parse(data, len, &c, &error), 0);
        assert_int_equal(maildir_cache_count(c), N - 3 + 1);
        maildir_cache_free(&c);
        free(data);
}

static void test_parse_mutations(void **state)
{
        size_t len;
        char *good = build(5, &len);
        struct maildir_cache *c;
        char *error;
        unsigned int seed = 12345;

        assert_int_equal(maildir_cache_parse(good, len, &c, &error), 0);
        size_t flen;
        char *again = maildir_cache_format(c, &flen);
        assert_int_equal(flen, len);
        assert_memory_equal(again, good, len);
        free(again);
        maildir_cache_free(&c);
        /* every truncation and many random changes: refused, never a
         * crash (the sanitizer build checks the reads) */
        for (size_t cut = 0; cut < len; cut++) {
                char *copy = malloc(cut + 1);
                memcpy(copy, good, cut);
                if (maildir_cache_parse(copy, cut, &c, &error) == 0)
                        fail_msg("truncated to %zu: accepted", cut);
                free(error);
                free(copy);
        }
        for (int i = 0; i < 2000; i++) {
                char *copy = malloc(len);
                memcpy(copy, good, len);
                size_t at = (size_t)rand_r(&seed) % len;
                copy[at] = (char)(copy[at] ^ (1 + rand_r(&seed) % 255));
                if (maildir_cache_parse(copy, len, &c, &error) == 0)
                        maildir_cache_free(&c);
                else
                        free(error);
                free(copy);
        }
        free(good);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_fields, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hits_need_no_reads, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_long_fields, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_bad_files, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_wrong_uids, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_stale_entries_dropped,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_parse_mutations, setup,
                                                teardown),
        };

        log_open("yubin", "maildir_cache_test", 0, NULL);   /* quiet */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
