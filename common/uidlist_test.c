/* uidlist_test.c - dovecot-uidlist: Dovecot's own lines, round trips,
 * versions 1 and 3, damaged and hostile files (never a crash: dropped
 * lines are reported, a bad header makes the list lost), the file I/O */
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

#include "uidlist.h"

#define G "a0e8911bd65c0a6b6e21000083ecc375"

static void test_dovecot_file(void **state)
{
        /* as Dovecot 2.3 wrote it for a fixture INBOX */
        const char *data = "3 V1795841240 N3 G" G "\n"
                           "1 :1795841238.M488989P8563.vm,S=101,W=108\n"
                           "2 :1795841238.M499033P8565.vm,S=43,W=47\n";
        struct uidlist *ul;
        char *error;

        assert_int_equal(uidlist_parse(data, strlen(data), &ul, &error), 0);
        assert_null(error);
        assert_int_equal(ul->version, 3);
        assert_int_equal(ul->uidvalidity, 1795841240u);
        assert_int_equal(ul->next_uid, 3);
        assert_string_equal(ul->guid, G);
        assert_int_equal(ul->count, 2);
        const struct uidlist_rec *r = uidlist_lookup(ul,
                "1795841238.M499033P8565.vm,S=43,W=47", 36);
        assert_non_null(r);
        assert_int_equal(r->uid, 2);
        assert_null(uidlist_lookup(ul, "1795841238.M499033P8565.vm", 26));
        assert_ptr_equal(uidlist_lookup_uid(ul, 1), &ul->recs[0]);
        assert_null(uidlist_lookup_uid(ul, 3));

        /* written back byte for byte */
        size_t len;
        char *out = uidlist_format(ul, &len);
        assert_int_equal(len, strlen(data));
        assert_string_equal(out, data);
        free(out);
        uidlist_free(&ul);
        assert_null(ul);
}

static void test_extensions_and_unknown_fields(void **state)
{
        const char *data = "3 V7 N10 G" G " Zfuture\n"
                           "4 W108 S101 Xunknown :a,S=1\n"
                           "9 :b\n";
        struct uidlist *ul;
        char *error;
        uint64_t v;

        assert_int_equal(uidlist_parse(data, strlen(data), &ul, &error), 0);
        assert_string_equal(ul->hdr_ext, "Zfuture");
        assert_int_equal(uidlist_rec_ext(&ul->recs[0], 'W', &v), 1);
        assert_int_equal(v, 108);
        assert_int_equal(uidlist_rec_ext(&ul->recs[0], 'S', &v), 1);
        assert_int_equal(v, 101);
        assert_int_equal(uidlist_rec_ext(&ul->recs[1], 'W', &v), 0);
        uidlist_set_ext(ul, 1, 'W', 55);
        uidlist_set_ext(ul, 0, 'W', 109);
        size_t len;
        char *out = uidlist_format(ul, &len);
        assert_string_equal(out, "3 V7 N10 G" G " Zfuture\n"
                                 "4 S101 Xunknown W109 :a,S=1\n"
                                 "9 W55 :b\n");
        free(out);
        uidlist_free(&ul);
}

static void test_appended_records_raise_next_uid(void **state)
{
        /* Dovecot appends records without rewriting the header */
        const char *data = "3 V5 N2 G" G "\n1 :a\n2 :b\n3 :c\n";
        struct uidlist *ul;
        char *error;

        assert_int_equal(uidlist_parse(data, strlen(data), &ul, &error), 0);
        assert_int_equal(ul->next_uid, 4);
        assert_int_equal(uidlist_add(ul, "d", 1, NULL), 4);
        assert_int_equal(uidlist_add(ul, "b", 1, NULL), 2);    /* known */
        assert_int_equal(ul->next_uid, 5);
        uidlist_free(&ul);
}

static void test_version1(void **state)
{
        const char *data = "1 1234 10\n3 foo:2,S\n5 bar\n";
        struct uidlist *ul;
        char *error;

        assert_int_equal(uidlist_parse(data, strlen(data), &ul, &error), 0);
        assert_int_equal(ul->version, 1);
        assert_int_equal(ul->uidvalidity, 1234);
        assert_int_equal(ul->next_uid, 10);
        assert_int_equal(ul->count, 2);
        assert_string_equal(ul->recs[0].name, "foo");
        assert_string_equal(ul->recs[1].name, "bar");
        assert_int_equal(strlen(ul->guid), 32);        /* given one */
        size_t len;
        char *out = uidlist_format(ul, &len);
        assert_true(strncmp(out, "3 V1234 N10 G", 13) == 0);
        assert_non_null(strstr(out, "\n3 :foo\n5 :bar\n"));
        free(out);
        uidlist_free(&ul);
}

static void test_malformed(void **state)
{
        static const struct {
                const char *name;
                const char *data;
                size_t len;             /* 0: strlen */
                int want;               /* parse result */
                size_t want_count;
                uint32_t want_next;
        } cases[] = {
                { "empty", "", 0, -1, 0, 0 },
                { "garbage header", "hello world\n", 0, -1, 0, 0 },
                { "version 2", "2 1 1\n", 0, -1, 0, 0 },
                { "no V", "3 N5 G" G "\n", 0, -1, 0, 0 },
                { "zero V", "3 V0 N5\n", 0, -1, 0, 0 },
                { "huge V", "3 V99999999999 N1\n", 0, -1, 0, 0 },
                { "V with junk", "3 V12x N1\n", 0, -1, 0, 0 },
                { "short guid", "3 V1 N1 Gabc\n", 0, -1, 0, 0 },
                { "lower-case header key", "3 V1 N1 x5\n", 0, -1, 0, 0 },
                { "bad v1 header", "1 12\n", 0, -1, 0, 0 },
                { "NUL in header", "3 V1\0 N1\n", 10, -1, 0, 0 },
                { "header only", "3 V1 N1 G" G "\n", 0, 0, 0, 1 },
                { "header without newline", "3 V1 N7", 0, 0, 0, 7 },
                { "huge uid", "3 V1 N1\n99999999999999999999 :x\n2 :y\n", 0,
                  1, 1, 3 },
                { "uid at the top", "3 V1 N1\n4294967295 :x\n", 0, 1, 0, 1 },
                { "highest uid", "3 V1 N1\n4294967294 :x\n", 0, 0, 1,
                  UINT32_MAX },
                { "uid zero", "3 V1 N1\n0 :x\n", 0, 1, 0, 1 },
                { "truncated last line", "3 V1 N1\n1 :a\n2 :bbb", 0, 1, 1, 2 },
                { "not increasing", "3 V1 N1\n5 :a\n3 :b\n6 :c\n", 0, 1, 2, 7 },
                { "same uid twice", "3 V1 N1\n5 :a\n5 :b\n", 0, 1, 1, 6 },
                { "duplicate name", "3 V1 N1\n1 :a\n2 :a\n", 0, 1, 1, 3 },
                { "no colon", "3 V1 N1\n1 W5 a\n2 :b\n", 0, 1, 1, 3 },
                { "empty name", "3 V1 N1\n1 :\n2 :b\n", 0, 1, 1, 3 },
                { "slash in name", "3 V1 N1\n1 :../../etc\n", 0, 1, 0, 1 },
                { "bad ext key kept record", "3 V1 N1\n1 w5 :a\n", 0, 1, 1, 2 },
                { "NUL in record", "3 V1 N1\n1 :a\0b\n2 :c\n", 20, 1, 1, 3 },
                { "garbage lines", "3 V1 N1\n\x01\x02\xff\n:::\n7 :g\n", 0, 1,
                  1, 8 },
                { "crlf lines", "3 V1 N4\r\n1 :a\r\n2 :b\r\n", 0, 0, 2, 4 },
                { "blank lines", "3 V1 N1\n\n1 :a\n\n", 0, 0, 1, 2 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct uidlist *ul;
                char *error;
                size_t len = cases[i].len ? cases[i].len : strlen(cases[i].data);
                int r = uidlist_parse(cases[i].data, len, &ul, &error);
                if (r != cases[i].want)
                        fail_msg("case %s: got %d (%s), want %d", cases[i].name,
                                 r, error ? error : "", cases[i].want);
                if (r != 0 && (error == NULL || error[0] == '\0'))
                        fail_msg("case %s: no reason given", cases[i].name);
                if (r < 0) {
                        if (ul != NULL)
                                fail_msg("case %s: a list for a bad header",
                                         cases[i].name);
                } else {
                        if (ul->count != cases[i].want_count ||
                            ul->next_uid != cases[i].want_next)
                                fail_msg("case %s: got %zu records, next %u; want %zu, %u",
                                         cases[i].name, ul->count, ul->next_uid,
                                         cases[i].want_count,
                                         cases[i].want_next);
                        if ((r == 1) != (ul->damaged != 0))
                                fail_msg("case %s: damaged flag %d", cases[i].name,
                                         ul->damaged);
                        /* every list formats into something that parses
                         * back cleanly to the same records */
                        size_t flen;
                        char *out = uidlist_format(ul, &flen);
                        struct uidlist *ul2;
                        char *err2;
                        if (uidlist_parse(out, flen, &ul2, &err2) != 0 ||
                            ul2->count != ul->count)
                                fail_msg("case %s: reformatted list does not parse: %s",
                                         cases[i].name, err2 ? err2 : "");
                        uidlist_free(&ul2);
                        free(err2);
                        free(out);
                }
                uidlist_free(&ul);
                free(error);
        }
}

/* random damage to a valid file: parse must never crash, and whatever it
 * returns must be consistent (UIDs increasing, next above all of them) */
static void test_hostile_mutations(void **state)
{
        const char *base = "3 V1795841240 N30 G" G " Xa\n"
                           "1 W108 S101 :1795841238.M488989P8563.vm,S=101\n"
                           "2 :1795841238.M499033P8565.vm\n"
                           "17 W5 :x\n"
                           "29 :y\n";
        size_t blen = strlen(base);
        uint32_t seed = 99;
        char buf[512];

        for (int round = 0; round < 30000; round++) {
                size_t len = blen;
                memcpy(buf, base, blen);
                int muts = 1 + round % 5;
                for (int m = 0; m < muts; m++) {
                        seed = seed * 1664525u + 1013904223u;
                        size_t pos = (seed >> 8) % len;
                        switch ((seed >> 4) % 4) {
                        case 0: buf[pos] = (char)(seed >> 20); break;
                        case 1: len = pos + 1; break;
                        case 2: buf[pos] = "0123456789 :\n\0VNGW"[(seed >> 16) % 18]; break;
                        default:
                                if (len + 10 < sizeof(buf)) {
                                        memmove(buf + pos + 10, buf + pos, len - pos);
                                        memset(buf + pos, '9', 10);
                                        len += 10;
                                }
                                break;
                        }
                }
                struct uidlist *ul;
                char *error;
                int r = uidlist_parse(buf, len, &ul, &error);
                free(error);
                if (r < 0)
                        continue;
                for (size_t i = 0; i < ul->count; i++) {
                        if (ul->recs[i].uid == 0 ||
                            (i > 0 && ul->recs[i].uid <= ul->recs[i - 1].uid) ||
                            ul->recs[i].uid >= ul->next_uid ||
                            strchr(ul->recs[i].name, '/') != NULL)
                                fail_msg("round %d: inconsistent list", round);
                }
                uidlist_free(&ul);
        }
}

static void test_add_retain_exhaust(void **state)
{
        struct uidlist *ul = uidlist_new(42);

        assert_int_equal(ul->uidvalidity, 42);
        assert_int_equal(ul->next_uid, 1);
        assert_int_equal(strlen(ul->guid), 32);
        for (int i = 0; i < 100; i++) {
                char name[16];
                snprintf(name, sizeof(name), "m%d", i);
                assert_int_equal(uidlist_add(ul, name, strlen(name), NULL),
                                 (uint32_t)i + 1);
        }
        unsigned char keep[100];
        for (int i = 0; i < 100; i++)
                keep[i] = i % 3 == 0;
        uidlist_retain(ul, keep);
        assert_int_equal(ul->count, 34);
        assert_non_null(uidlist_lookup(ul, "m99", 3));
        assert_null(uidlist_lookup(ul, "m98", 3));
        assert_int_equal(uidlist_lookup(ul, "m3", 2)->uid, 4);
        assert_int_equal(ul->next_uid, 101);   /* never goes back */
        uidlist_free(&ul);

        const char *data = "3 V1 N4294967293\n";
        char *error;
        assert_int_equal(uidlist_parse(data, strlen(data), &ul, &error), 0);
        assert_int_equal(uidlist_add(ul, "a", 1, NULL), 4294967293u);
        assert_int_equal(uidlist_add(ul, "b", 1, NULL), 4294967294u);
        assert_int_equal(uidlist_add(ul, "c", 1, NULL), 0);     /* used up */
        uidlist_free(&ul);
}

static void test_file_io(void **state)
{
        char dir[] = "/tmp/uidlist_test.XXXXXX";
        char path[256], lockless[300];
        struct uidlist *ul, *ul2;
        struct status st;
        struct stat sb;
        char *error;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/%s", dir, UIDLIST_NAME);
        assert_int_equal(uidlist_read(path, &ul, &sb, &error, &st), 0);
        assert_null(ul);
        assert_null(error);

        ul = uidlist_new(1000);
        uidlist_add(ul, "one", 3, "W10");
        uidlist_add(ul, "two", 3, NULL);
        assert_int_equal(uidlist_write(ul, path, &st), 0);
        snprintf(lockless, sizeof(lockless), "%s.tmp", path);
        assert_int_equal(access(lockless, F_OK), -1);  /* renamed away */
        assert_int_equal(uidlist_read(path, &ul2, &sb, &error, &st), 1);
        assert_null(error);
        assert_int_equal(sb.st_size > 0, 1);
        assert_int_equal(ul2->uidvalidity, 1000);
        assert_int_equal(ul2->next_uid, 3);
        assert_string_equal(ul2->guid, ul->guid);
        assert_string_equal(ul2->recs[0].ext, "W10");
        uidlist_free(&ul2);

        /* a corrupt file is "no usable file", with the reason */
        FILE *f = fopen(path, "w");
        fputs("garbage\n", f);
        fclose(f);
        assert_int_equal(uidlist_read(path, &ul2, &sb, &error, &st), 0);
        assert_null(ul2);
        assert_non_null(error);
        free(error);

        /* a damaged one is read, with the reason */
        f = fopen(path, "w");
        fputs("3 V5 N3\n1 :a\nx :b\n2 :c\n", f);
        fclose(f);
        assert_int_equal(uidlist_read(path, &ul2, &sb, &error, &st), 1);
        assert_non_null(error);
        assert_int_equal(ul2->count, 2);
        free(error);
        uidlist_free(&ul2);

        uidlist_free(&ul);
        unlink(path);
        rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_dovecot_file),
                cmocka_unit_test(test_extensions_and_unknown_fields),
                cmocka_unit_test(test_appended_records_raise_next_uid),
                cmocka_unit_test(test_version1),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_hostile_mutations),
                cmocka_unit_test(test_add_retain_exhaust),
                cmocka_unit_test(test_file_io),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
