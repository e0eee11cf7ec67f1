/* maildir_sync_test.c - folder handles: UIDs in Dovecot's order, what one
 * handle learns of another's changes (new, flags, expunges), warm syncs
 * that touch no directory or message, an inotify watch sparing the reads
 * of directories changed too recently to trust, races with other processes, lost and
 * damaged uidlists, keywords, copy, move, append, read-only handles */
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "maildir.h"
#include "uidlist.h"

static char root[64];
static struct maildir *md;

static int setup(void **state)
{
        struct status st;

        snprintf(root, sizeof(root), "/tmp/maildir_sync_test.XXXXXX");
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

static void put(const char *rel, const char *data)
{
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", root, rel);
        FILE *f = fopen(p, "wb");
        assert_non_null(f);
        fputs(data, f);
        fclose(f);
}

static char *get(const char *rel)
{
        static char buf[8192];
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", root, rel);
        FILE *f = fopen(p, "rb");
        size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
        if (f)
                fclose(f);
        buf[n] = '\0';
        return buf;
}

/* age_dirs - put new/ and cur/ mtimes in the past, as if the last change
 * happened long ago (a sync does not trust a directory changed within the
 * last second) */
static void age_dirs(const char *folder_dir)
{
        const char *subs[] = { "new", "cur" };
        for (int i = 0; i < 2; i++) {
                char p[512];
                snprintf(p, sizeof(p), "%s%s%s/%s", root, folder_dir[0] ? "/" : "",
                         folder_dir, subs[i]);
                struct timespec ts[2] = { { time(NULL) - 60, 0 },
                                          { time(NULL) - 60, 0 } };
                assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
        }
}

/* uids_str - "1 2 3" */
static const char *uids_str(const uint32_t *uids, size_t n)
{
        static char buf[1024];
        size_t off = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < n && off < sizeof(buf) - 12; i++)
                off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%u",
                                        i ? " " : "", uids[i]);
        return buf;
}

static void sync_expect(struct maildir_box *box, const char *want_new,
                        const char *want_recent, const char *want_changed,
                        const char *want_expunged)
{
        struct maildir_changes ch;
        struct status st;

        if (maildir_sync(box, &ch, &st) < 0)
                fail_msg("sync failed: %s %s", st.code, st.text);
        char got[4][1024];
        snprintf(got[0], sizeof(got[0]), "%s", uids_str(ch.new_uids, ch.new_count));
        snprintf(got[1], sizeof(got[1]), "%s", uids_str(ch.recent_uids, ch.recent_count));
        snprintf(got[2], sizeof(got[2]), "%s", uids_str(ch.changed_uids, ch.changed_count));
        snprintf(got[3], sizeof(got[3]), "%s", uids_str(ch.expunged_uids, ch.expunged_count));
        if (strcmp(got[0], want_new) || strcmp(got[1], want_recent) ||
            strcmp(got[2], want_changed) || strcmp(got[3], want_expunged))
                fail_msg("sync of %s: got new [%s] recent [%s] changed [%s] expunged [%s], "
                         "want [%s] [%s] [%s] [%s]", maildir_box_name(box),
                         got[0], got[1], got[2], got[3], want_new, want_recent,
                         want_changed, want_expunged);
        maildir_changes_release(&ch);
}

static uint32_t flags_of(struct maildir_box *box, uint32_t uid)
{
        struct maildir_msg_info info;
        assert_int_equal(maildir_msg_info(box, uid, &info), 1);
        return info.flags;
}

static uint32_t keywords_of(struct maildir_box *box, uint32_t uid)
{
        struct maildir_msg_info info;
        assert_int_equal(maildir_msg_info(box, uid, &info), 1);
        return info.keywords;
}

static void test_uids_in_time_order(void **state)
{
        struct maildir_box *box;
        struct status st;

        /* numeric order of seconds, then microseconds: M10 after M9 */
        put("new/1700000003.M5P1.h,S=2,W=4", "x\n");
        put("new/1700000001.M10P1.h", "x\n");
        put("new/1700000001.M9P1.h", "x\n");
        put("cur/1700000002.M1P1.h:2,S", "x\n");
        time_t before = time(NULL);
        assert_int_equal(maildir_box_open(md, "INBOX", 0, &box, &st), 0);
        assert_int_equal(maildir_box_count(box), 0);
        sync_expect(box, "1 2 3 4", "1 2 4", "", "");
        assert_true(maildir_box_uidvalidity(box) >= (uint32_t)before);
        assert_int_equal(maildir_box_uidnext(box), 5);
        assert_int_equal(maildir_box_count(box), 4);
        assert_string_equal(maildir_box_path(box), root);
        assert_int_equal(maildir_box_uid(box, 3), 4);
        assert_int_equal(maildir_box_uid(box, 4), 0);
        char want[512];
        snprintf(want, sizeof(want),
                 "3 V%u N5 G", maildir_box_uidvalidity(box));
        const char *ul = get("dovecot-uidlist");
        assert_true(strncmp(ul, want, strlen(want)) == 0);
        assert_non_null(strstr(ul, "\n1 :1700000001.M9P1.h\n"
                                   "2 :1700000001.M10P1.h\n"
                                   "3 :1700000002.M1P1.h\n"
                                   "4 :1700000003.M5P1.h,S=2,W=4\n"));
        /* moved to cur/ with ":2," added, as Dovecot moves them */
        char p[512];
        snprintf(p, sizeof(p), "%s/cur/1700000001.M9P1.h:2,", root);
        assert_int_equal(access(p, F_OK), 0);
        assert_int_equal(flags_of(box, 3), MAILDIR_FLAG_SEEN);
        struct maildir_msg_info info;
        assert_int_equal(maildir_msg_info(box, 1, &info), 1);
        assert_int_equal(info.recent, 1);
        assert_int_equal(maildir_msg_info(box, 3, &info), 1);
        assert_int_equal(info.recent, 0);
        assert_int_equal(maildir_msg_info(box, 9, &info), 0);
        maildir_box_close(&box);
        assert_null(box);
}

static void test_other_handle_changes(void **state)
{
        struct maildir_box *a, *b;
        struct status st;
        const char *junk[] = { "Junk" };

        assert_int_equal(maildir_box_open(md, "INBOX", 0, &a, &st), 0);
        assert_int_equal(maildir_box_open(md, "INBOX", 0, &b, &st), 0);
        sync_expect(a, "", "", "", "");
        sync_expect(b, "", "", "", "");
        assert_int_equal(maildir_deliver(md, NULL, "A: 1\n\none\n", 11, NULL, &st), 0);
        assert_int_equal(maildir_deliver(md, NULL, "A: 2\n\ntwo\n", 11, NULL, &st), 0);
        sync_expect(b, "1 2", "1 2", "", "");
        sync_expect(a, "1 2", "", "", "");     /* b took them from new/ */
        sync_expect(a, "", "", "", "");

        assert_int_equal(maildir_msg_store(b, 1, MAILDIR_STORE_ADD,
                                           MAILDIR_FLAG_SEEN, NULL, 0, &st), 1);
        assert_int_equal(maildir_msg_store(b, 2, MAILDIR_STORE_ADD, 0, junk, 1,
                                           &st), 1);
        sync_expect(b, "", "", "", "");        /* b knows its own changes */
        sync_expect(a, "", "", "1 2", "");
        assert_int_equal(flags_of(a, 1), MAILDIR_FLAG_SEEN);
        assert_int_equal(keywords_of(a, 2), 1);
        assert_string_equal(maildir_box_keyword(a, 0), "Junk");
        assert_string_equal(get("dovecot-keywords"), "0 Junk\n");

        assert_int_equal(maildir_msg_expunge(b, 1, &st), 1);
        assert_int_equal(maildir_msg_expunge(b, 1, &st), 0);
        assert_int_equal(maildir_box_count(b), 2);     /* until reported */
        sync_expect(b, "", "", "", "1");
        sync_expect(a, "", "", "", "1");
        assert_int_equal(maildir_box_count(a), 1);
        assert_int_equal(maildir_box_uid(a, 0), 2);

        /* a new message after an expunge gets the next UID, never 1 */
        assert_int_equal(maildir_deliver(md, NULL, "A: 3\n\n", 6, NULL, &st), 0);
        sync_expect(a, "3", "3", "", "");
        maildir_box_close(&a);
        maildir_box_close(&b);
}

static void test_warm_sync_touches_nothing(void **state)
{
        struct maildir_box *box;
        struct status st;

        for (int i = 0; i < 20; i++)
                assert_int_equal(maildir_deliver(md, NULL, "A: b\n\nbody\n", 11,
                                                 NULL, &st), 0);
        assert_int_equal(maildir_box_open(md, "INBOX", 0, &box, &st), 0);
        sync_expect(box, "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
                    "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20", "", "");
        age_dirs("");
        sync_expect(box, "", "", "", "");      /* saw the mtimes move */
        struct maildir_box_stats before = *maildir_box_stats(box);
        for (int i = 0; i < 5; i++)
                sync_expect(box, "", "", "", "");
        /* sizes come from the names: no message file is read either */
        for (uint32_t uid = 1; uid <= 20; uid++) {
                uint64_t size, vsize;
                assert_int_equal(maildir_msg_size(box, uid, &size, &st), 1);
                assert_int_equal(maildir_msg_vsize(box, uid, &vsize, &st), 1);
                assert_int_equal(size, 11);
                assert_int_equal(vsize, 14);
        }
        const struct maildir_box_stats *after = maildir_box_stats(box);
        assert_int_equal(after->dir_scans, before.dir_scans);
        assert_int_equal(after->msg_reads, before.msg_reads);
        assert_int_equal(after->msg_reads, 0);
        assert_int_equal(after->uidlist_reads, before.uidlist_reads);
        assert_int_equal(after->uidlist_writes, before.uidlist_writes);

        /* a change by someone else is seen at once */
        assert_int_equal(maildir_deliver(md, NULL, "x\n", 2, NULL, &st), 0);
        sync_expect(box, "21", "21", "", "");
        maildir_box_close(&box);
}

/* cur_mtime - cur/'s mtime, to put back as if a change fell in the same
 * clock tick as the scan before it */
static struct timespec cur_mtime(void)
{
        char p[512];
        struct stat sb;

        snprintf(p, sizeof(p), "%s/cur", root);
        assert_int_equal(stat(p, &sb), 0);
        return sb.st_mtim;
}

static void set_cur_mtime(struct timespec ts)
{
        char p[512];
        struct timespec both[2] = { ts, ts };

        snprintf(p, sizeof(p), "%s/cur", root);
        assert_int_equal(utimensat(AT_FDCWD, p, both, 0), 0);
}

static void test_watch_spares_rescans(void **state)
{
        struct maildir_box *w, *plain, *other;
        struct status st;

        for (int i = 0; i < 5; i++)
                assert_int_equal(maildir_deliver(md, NULL, "A: b\n\nbody\n", 11,
                                                 NULL, &st), 0);
        assert_int_equal(maildir_box_open(md, "INBOX", 0, &other, &st), 0);
        sync_expect(other, "1 2 3 4 5", "1 2 3 4 5", "", "");
        assert_int_equal(maildir_box_open(md, "INBOX", MAILDIR_BOX_WATCH, &w,
                                          &st), 0);
        assert_true(maildir_box_watch_fd(w) >= 0);
        assert_int_equal(maildir_box_open(md, "INBOX", 0, &plain, &st), 0);
        sync_expect(w, "1 2 3 4 5", "", "", "");
        sync_expect(plain, "1 2 3 4 5", "", "", "");

        /* cur/ changed just now, so its mtime cannot be trusted: without
         * a watch every sync reads it again, with one none does */
        unsigned long w0 = maildir_box_stats(w)->dir_scans;
        unsigned long p0 = maildir_box_stats(plain)->dir_scans;
        for (int i = 0; i < 3; i++) {
                sync_expect(w, "", "", "", "");
                sync_expect(plain, "", "", "", "");
        }
        assert_int_equal(maildir_box_stats(w)->dir_scans, w0);
        assert_true(maildir_box_stats(plain)->dir_scans >= p0 + 3);

        /* another handle's change in the same tick leaves the mtime as it
         * was: the watch still sees it */
        struct timespec ts = cur_mtime();
        assert_int_equal(maildir_msg_store(other, 2, MAILDIR_STORE_ADD,
                                           MAILDIR_FLAG_FLAGGED, NULL, 0,
                                           &st), 1);
        assert_int_equal(maildir_msg_expunge(other, 4, &st), 1);
        set_cur_mtime(ts);
        sync_expect(w, "", "", "2", "4");
        assert_int_equal(flags_of(w, 2), MAILDIR_FLAG_FLAGGED);

        /* the handle's own changes pause the watch; the sync after them
         * reads cur/ once and the next ones not at all */
        assert_int_equal(maildir_msg_store(w, 3, MAILDIR_STORE_ADD,
                                           MAILDIR_FLAG_SEEN, NULL, 0, &st), 1);
        sync_expect(w, "", "", "", "");
        w0 = maildir_box_stats(w)->dir_scans;
        sync_expect(w, "", "", "", "");
        assert_int_equal(maildir_box_stats(w)->dir_scans, w0);
        sync_expect(other, "", "", "3", "4");
        ts = cur_mtime();
        assert_int_equal(maildir_msg_store(other, 3, MAILDIR_STORE_REMOVE,
                                           MAILDIR_FLAG_SEEN, NULL, 0, &st), 1);
        set_cur_mtime(ts);
        sync_expect(w, "", "", "3", "");
        assert_int_equal(flags_of(w, 3), 0);
        maildir_box_close(&w);
        maildir_box_close(&plain);
        maildir_box_close(&other);
}

static void test_vsize_and_date_read_once(void **state)
{
        struct maildir_box *box;
        struct status st;

        /* a file without S= or W=, as other software leaves them */
        put("cur/1700000000.M1P1.other:2,", "A: b\n\nl1\nl2\r\nl3");
        char p[512];
        snprintf(p, sizeof(p), "%s/cur/1700000000.M1P1.other:2,", root);
        struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
        assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
        assert_int_equal(maildir_box_open(md, NULL, 0, &box, &st), 0);
        sync_expect(box, "1", "", "", "");
        uint64_t size, vsize;
        time_t date;
        assert_int_equal(maildir_msg_vsize(box, 1, &vsize, &st), 1);
        assert_int_equal(vsize, 15 + 3);       /* 3 bare LFs */
        assert_int_equal(maildir_msg_vsize(box, 1, &vsize, &st), 1);
        assert_int_equal(maildir_box_stats(box)->msg_reads, 1);
        assert_int_equal(maildir_msg_size(box, 1, &size, &st), 1);
        assert_int_equal(size, 15);
        assert_int_equal(maildir_msg_date(box, 1, &date, &st), 1);
        assert_int_equal(date, 1000000000);

        struct maildir_map map;
        assert_int_equal(maildir_msg_map(box, 1, &map, &st), 1);
        assert_int_equal(map.len, 15);
        assert_int_equal(maildir_msg_header_end(map.data, map.len), 6);
        assert_memory_equal(map.data + 6, "l1\n", 3);
        maildir_msg_unmap(&map);
        int fd;
        assert_int_equal(maildir_msg_open(box, 1, &fd, &st), 1);
        char c;
        assert_int_equal(read(fd, &c, 1), 1);
        assert_int_equal(c, 'A');
        close(fd);
        assert_int_equal(maildir_msg_open(box, 77, &fd, &st), 0);
        maildir_box_close(&box);
}

static void test_races(void **state)
{
        struct maildir_box *box;
        struct status st;

        for (int i = 0; i < 4; i++)
                assert_int_equal(maildir_deliver(md, NULL, "A: b\n\nx\n", 8,
                                                 NULL, &st), 0);
        assert_int_equal(maildir_box_open(md, NULL, 0, &box, &st), 0);
        sync_expect(box, "1 2 3 4", "1 2 3 4", "", "");

        /* another process expunges 1 between our scan and our access */
        char *path = maildir_msg_path(box, 1);
        assert_non_null(path);
        assert_int_equal(unlink(path), 0);
        free(path);
        int fd;
        assert_int_equal(maildir_msg_open(box, 1, &fd, &st), 0);
        assert_int_equal(maildir_msg_store(box, 1, MAILDIR_STORE_ADD,
                                           MAILDIR_FLAG_SEEN, NULL, 0, &st), 0);
        assert_int_equal(maildir_msg_expunge(box, 1, &st), 0);
        struct maildir_map map;
        assert_int_equal(maildir_msg_map(box, 1, &map, &st), 0);

        /* another process sets \Seen on 2 (a rename) just before we set
         * \Flagged: both stick */
        path = maildir_msg_path(box, 2);
        char *to = malloc(strlen(path) + 2);
        sprintf(to, "%sS", path);
        assert_int_equal(rename(path, to), 0);
        assert_int_equal(maildir_msg_store(box, 2, MAILDIR_STORE_ADD,
                                           MAILDIR_FLAG_FLAGGED, NULL, 0, &st), 1);
        assert_int_equal(flags_of(box, 2),
                         MAILDIR_FLAG_SEEN | MAILDIR_FLAG_FLAGGED);
        free(path);
        free(to);
        path = maildir_msg_path(box, 2);
        assert_non_null(strstr(path, ":2,FS"));
        free(path);

        /* renamed again under us: reading still works */
        path = maildir_msg_path(box, 3);
        to = malloc(strlen(path) + 2);
        sprintf(to, "%sT", path);
        assert_int_equal(rename(path, to), 0);
        assert_int_equal(maildir_msg_open(box, 3, &fd, &st), 1);
        close(fd);
        free(path);
        free(to);

        /* the expunge and the flag change by the others are reported;
         * 2 is not: its flags were read back after our own change, which
         * the caller reported already */
        sync_expect(box, "", "", "3", "1");
        assert_int_equal(flags_of(box, 3), MAILDIR_FLAG_DELETED);

        /* the same message in new/ and cur/ (a move raced our scan) */
        path = maildir_msg_path(box, 4);
        char *base = strrchr(path, '/') + 1;
        char dup[512];
        snprintf(dup, sizeof(dup), "%s/new/%.*s", root,
                 (int)(strchr(base, ':') - base), base);
        assert_int_equal(link(path, dup), 0);
        free(path);
        sync_expect(box, "", "", "", "");
        assert_int_equal(maildir_box_count(box), 3);
        maildir_box_close(&box);
}

static void test_uidlist_lost_or_broken(void **state)
{
        struct maildir_box *box;
        struct maildir_changes ch;
        struct status st;
        char p[512];

        for (int i = 0; i < 3; i++)
                assert_int_equal(maildir_deliver(md, NULL, "x\n", 2, NULL, &st), 0);
        assert_int_equal(maildir_box_open(md, NULL, 0, &box, &st), 0);
        sync_expect(box, "1 2 3", "1 2 3", "", "");
        uint32_t v1 = maildir_box_uidvalidity(box);

        /* a damaged line: the other UIDs stay, the file is rewritten */
        const char *ul = get("dovecot-uidlist");
        char copy[8192];
        snprintf(copy, sizeof(copy), "%s", ul);
        char *second = strchr(copy, '\n') + 1;
        second = strchr(second, '\n') + 1;     /* the line of UID 2 */
        second[0] = 'x';
        put("dovecot-uidlist", copy);
        assert_int_equal(maildir_sync(box, &ch, &st), 0);
        assert_int_equal(ch.uidvalidity_changed, 0);
        assert_string_equal(uids_str(ch.new_uids, ch.new_count), "4");
        assert_string_equal(uids_str(ch.expunged_uids, ch.expunged_count), "2");
        maildir_changes_release(&ch);
        assert_int_equal(maildir_box_uidvalidity(box), v1);
        assert_null(strstr(get("dovecot-uidlist"), "\nx"));

        /* garbage: lost, rebuilt with a new UIDVALIDITY */
        put("dovecot-uidlist", "this is not a uidlist\n");
        assert_int_equal(maildir_sync(box, &ch, &st), 0);
        assert_int_equal(ch.uidvalidity_changed, 1);
        assert_string_equal(uids_str(ch.new_uids, ch.new_count), "1 2 3");
        maildir_changes_release(&ch);
        uint32_t v2 = maildir_box_uidvalidity(box);
        assert_true(v2 > v1);

        /* gone */
        snprintf(p, sizeof(p), "%s/dovecot-uidlist", root);
        assert_int_equal(unlink(p), 0);
        assert_int_equal(maildir_sync(box, &ch, &st), 0);
        assert_int_equal(ch.uidvalidity_changed, 1);
        assert_true(maildir_box_uidvalidity(box) > v2);
        maildir_changes_release(&ch);

        /* a fresh handle agrees, and an empty folder gets a uidlist too */
        struct maildir_box *other;
        assert_int_equal(maildir_box_open(md, NULL, 0, &other, &st), 0);
        sync_expect(other, "1 2 3", "", "", "");
        assert_int_equal(maildir_box_uidvalidity(other),
                         maildir_box_uidvalidity(box));
        maildir_box_close(&other);
        assert_int_equal(maildir_folder_create(md, "Empty", &st), 1);
        assert_int_equal(maildir_box_open(md, "Empty", 0, &other, &st), 0);
        sync_expect(other, "", "", "", "");
        assert_true(maildir_box_uidvalidity(other) > 0);
        assert_int_equal(maildir_box_uidnext(other), 1);
        snprintf(p, sizeof(p), "%s/.Empty/dovecot-uidlist", root);
        assert_int_equal(access(p, F_OK), 0);
        maildir_box_close(&other);
        maildir_box_close(&box);
}

static void test_foreign_uidlist_records(void **state)
{
        struct maildir_box *box;
        struct status st;

        /* Dovecot appends records without rewriting the header */
        put("cur/1700000001.M1P1.h:2,", "x\n");
        put("cur/1700000002.M1P1.h:2,", "x\n");
        put("dovecot-uidlist", "3 V12345 N1 G0123456789abcdef0123456789abcdef\n"
                               "7 :1700000002.M1P1.h\n"
                               "9 :1700000001.M1P1.h\n");
        assert_int_equal(maildir_box_open(md, NULL, 0, &box, &st), 0);
        sync_expect(box, "7 9", "", "", "");
        assert_int_equal(maildir_box_uidvalidity(box), 12345);
        assert_int_equal(maildir_box_uidnext(box), 10);

        /* a file whose record lies below what was reported shows up late
         * (missed by our scan): it gets a new UID, since IMAP cannot take
         * a message in the middle */
        put("cur/1700000000.M1P1.h:2,", "x\n");
        put("dovecot-uidlist", "3 V12345 N10 G0123456789abcdef0123456789abcdef\n"
                               "5 :1700000000.M1P1.h\n"
                               "7 :1700000002.M1P1.h\n"
                               "9 :1700000001.M1P1.h\n");
        sync_expect(box, "10", "", "", "");
        assert_non_null(strstr(get("dovecot-uidlist"),
                               "\n10 :1700000000.M1P1.h\n"));
        maildir_box_close(&box);
}

static void test_keywords(void **state)
{
        struct maildir_box *box;
        struct status st;
        const char *kw3[] = { "$Forwarded", "Junk", "custom" };
        const char *kw1[] = { "Junk" };
        const char *bad[] = { "bad keyword" };

        assert_int_equal(maildir_deliver(md, NULL, "x\n", 2, NULL, &st), 0);
        assert_int_equal(maildir_box_open(md, NULL, 0, &box, &st), 0);
        sync_expect(box, "1", "1", "", "");
        assert_int_equal(maildir_msg_store(box, 1, MAILDIR_STORE_REPLACE,
                                           MAILDIR_FLAG_SEEN | MAILDIR_FLAG_ANSWERED,
                                           kw3, 3, &st), 1);
        assert_string_equal(get("dovecot-keywords"),
                            "0 $Forwarded\n1 Junk\n2 custom\n");
        char *path = maildir_msg_path(box, 1);
        assert_non_null(strstr(path, ":2,RSabc"));
        free(path);
        assert_int_equal(maildir_msg_store(box, 1, MAILDIR_STORE_REMOVE,
                                           MAILDIR_FLAG_ANSWERED, kw1, 1, &st), 1);
        assert_int_equal(keywords_of(box, 1), 5);
        assert_int_equal(flags_of(box, 1), MAILDIR_FLAG_SEEN);
        assert_int_equal(maildir_msg_store(box, 1, MAILDIR_STORE_REMOVE, 0,
                                           (const char *[]){ "unknown" }, 1,
                                           &st), 1);
        assert_int_equal(maildir_msg_store(box, 1, MAILDIR_STORE_ADD, 0, bad, 1,
                                           &st), -1);
        assert_int_equal(status_class(&st), 5);
        /* 26 letters at most */
        for (int i = 3; i < 26; i++) {
                char name[16];
                const char *n[] = { name };
                snprintf(name, sizeof(name), "k%d", i);
                assert_int_equal(maildir_msg_store(box, 1, MAILDIR_STORE_ADD, 0,
                                                   n, 1, &st), 1);
        }
        assert_int_equal(maildir_msg_store(box, 1, MAILDIR_STORE_ADD, 0,
                                           (const char *[]){ "k26" }, 1, &st),
                         -1);
        assert_int_equal(status_class(&st), 5);
        path = maildir_msg_path(box, 1);
        assert_non_null(strstr(path, ":2,Sacdefghijklmnopqrstuvwxyz"));
        free(path);
        maildir_box_close(&box);
}

static void test_copy_move_append(void **state)
{
        struct maildir_box *in, *dst, *dst2;
        struct maildir_save *sv;
        struct status st;
        const char *kw[] = { "Junk", "$Label1" };

        assert_int_equal(maildir_folder_create(md, "Dest", &st), 1);
        /* Dest knows another keyword first: letters must be mapped */
        put(".Dest/dovecot-keywords", "0 Other\n");
        assert_int_equal(maildir_box_open(md, "INBOX", 0, &in, &st), 0);
        assert_int_equal(maildir_box_open(md, "Dest", 0, &dst, &st), 0);
        assert_int_equal(maildir_box_open(md, "Dest", 0, &dst2, &st), 0);
        sync_expect(dst, "", "", "", "");
        sync_expect(dst2, "", "", "", "");

        /* APPEND with flags, keywords and an internal date */
        uint32_t uid;
        assert_int_equal(maildir_save_begin(md, "INBOX", &sv, &st), 0);
        assert_int_equal(maildir_save_write(sv, "A: b\r\n\r\nbody\r\n", 14, &st), 0);
        assert_int_equal(maildir_save_append(&sv, in, MAILDIR_FLAG_SEEN, kw, 2,
                                             1234567890, &uid, &st), 0);
        assert_int_equal(uid, 1);
        assert_null(sv);
        assert_int_equal(maildir_save_begin(md, "INBOX", &sv, &st), 0);
        assert_int_equal(maildir_save_write(sv, "plain\n", 6, &st), 0);
        assert_int_equal(maildir_save_append(&sv, in, 0, NULL, 0, 0, &uid, &st), 0);
        assert_int_equal(uid, 2);
        /* appending to a box begun for another folder is refused */
        assert_int_equal(maildir_save_begin(md, "Dest", &sv, &st), 0);
        assert_int_equal(maildir_save_append(&sv, in, 0, NULL, 0, 0, &uid, &st), -1);
        sync_expect(in, "1 2", "2", "", "");
        time_t date;
        assert_int_equal(maildir_msg_date(in, 1, &date, &st), 1);
        assert_int_equal(date, 1234567890);
        assert_int_equal(flags_of(in, 1), MAILDIR_FLAG_SEEN);
        assert_int_equal(keywords_of(in, 1), 3);
        uint64_t vsize;
        assert_int_equal(maildir_msg_vsize(in, 1, &vsize, &st), 1);
        assert_int_equal(vsize, 14);

        /* COPY: UIDs for COPYUID, flags and keywords (by name), date */
        uint32_t src[3] = { 1, 99, 2 }, out[3];
        assert_int_equal(maildir_msg_copy(in, src, 3, dst, 0, out, &st), 2);
        assert_int_equal(out[0], 1);
        assert_int_equal(out[1], 0);
        assert_int_equal(out[2], 2);
        sync_expect(dst, "1 2", "2", "", "");
        sync_expect(in, "", "", "", "");
        assert_int_equal(flags_of(dst, 1), MAILDIR_FLAG_SEEN);
        assert_string_equal(get(".Dest/dovecot-keywords"),
                            "0 Other\n1 Junk\n2 $Label1\n");
        assert_int_equal(keywords_of(dst, 1), 6);
        assert_int_equal(maildir_msg_date(dst, 1, &date, &st), 1);
        assert_int_equal(date, 1234567890);
        char *p1 = maildir_msg_path(in, 1), *p2 = maildir_msg_path(dst, 1);
        struct stat s1, s2;
        assert_int_equal(stat(p1, &s1), 0);
        assert_int_equal(stat(p2, &s2), 0);
        assert_int_equal(s1.st_ino, s2.st_ino);        /* a hard link */
        free(p1);
        free(p2);

        /* MOVE: gone from the source, new in the destination */
        uint32_t mv[1] = { 1 };
        assert_int_equal(maildir_msg_copy(in, mv, 1, dst, 1, out, &st), 1);
        assert_int_equal(out[0], 3);
        sync_expect(in, "", "", "", "1");
        sync_expect(dst, "3", "", "", "");
        sync_expect(dst2, "1 2 3", "", "", "");
        assert_int_equal(keywords_of(dst2, 3), 6);

        /* COPY within one folder */
        uint32_t self[1] = { 3 };
        assert_int_equal(maildir_msg_copy(dst, self, 1, dst, 0, out, &st), 1);
        assert_int_equal(out[0], 4);
        sync_expect(dst, "4", "", "", "");
        maildir_box_close(&in);
        maildir_box_close(&dst);
        maildir_box_close(&dst2);
}

static void test_readonly_and_missing(void **state)
{
        struct maildir_box *box;
        struct status st;
        char old[512], fresh[512];

        /* what a crashed writer left in tmp/ goes after 36 hours */
        put("tmp/1.M1P1.h", "half a message");
        put("tmp/2.M1P1.h", "being written");
        snprintf(old, sizeof(old), "%s/tmp/1.M1P1.h", root);
        snprintf(fresh, sizeof(fresh), "%s/tmp/2.M1P1.h", root);
        struct timespec ts[2] = { { time(NULL) - 37 * 3600, 0 },
                                  { time(NULL) - 37 * 3600, 0 } };
        assert_int_equal(utimensat(AT_FDCWD, old, ts, 0), 0);
        assert_int_equal(maildir_box_open(md, NULL, 0, &box, &st), 0);
        maildir_box_close(&box);
        assert_int_equal(access(old, F_OK), -1);
        assert_int_equal(access(fresh, F_OK), 0);

        assert_int_equal(maildir_deliver(md, NULL, "x\n", 2, NULL, &st), 0);
        assert_int_equal(maildir_box_open(md, NULL, MAILDIR_BOX_READONLY, &box,
                                          &st), 0);
        sync_expect(box, "1", "", "", "");
        char *path = maildir_msg_path(box, 1);
        assert_non_null(strstr(path, "/new/"));
        free(path);
        maildir_box_close(&box);

        assert_int_equal(maildir_box_open(md, "Nope", 0, &box, &st), -1);
        assert_string_equal(st.code, STATUS_BAD_MAILBOX);
        assert_null(box);

        /* a folder that lost its cur/ new/ tmp/ gets them back */
        assert_int_equal(maildir_folder_create(md, "F", &st), 1);
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf %s/.F/cur %s/.F/new", root, root);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(maildir_box_open(md, "F", 0, &box, &st), 0);
        sync_expect(box, "", "", "", "");
        /* ... also when they vanish while it is open */
        assert_int_equal(system(cmd), 0);
        sync_expect(box, "", "", "", "");
        /* and a deleted folder is an error, not a crash */
        assert_int_equal(maildir_folder_delete(md, "F", &st), 1);
        assert_int_equal(maildir_sync(box, NULL, &st), -1);
        maildir_box_close(&box);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_uids_in_time_order, setup, teardown),
                cmocka_unit_test_setup_teardown(test_other_handle_changes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_warm_sync_touches_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_watch_spares_rescans, setup, teardown),
                cmocka_unit_test_setup_teardown(test_vsize_and_date_read_once, setup, teardown),
                cmocka_unit_test_setup_teardown(test_races, setup, teardown),
                cmocka_unit_test_setup_teardown(test_uidlist_lost_or_broken, setup, teardown),
                cmocka_unit_test_setup_teardown(test_foreign_uidlist_records, setup, teardown),
                cmocka_unit_test_setup_teardown(test_keywords, setup, teardown),
                cmocka_unit_test_setup_teardown(test_copy_move_append, setup, teardown),
                cmocka_unit_test_setup_teardown(test_readonly_and_missing, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
