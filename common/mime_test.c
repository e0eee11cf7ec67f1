/* mime_test.c - unit tests for mime.c and rfc2047.c
 * The corpus in testdata/mime/ holds real-world message shapes (NAME.eml,
 * LF line endings as Maildir keeps them) and what Dovecot answered for each
 * (NAME.ref, made by testdata/mime/mkref.py): part sizes as IMAP counts
 * them. Every message is parsed as stored (LF) and with CRLF line endings;
 * both must give Dovecot's numbers. Hostile shapes are generated here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "buf.h"
#include "mem.h"
#include "mime.h"
#include "rfc2047.h"

/* generous: these take milliseconds, even under ASan */
#define HOSTILE_SECONDS_MAX     10.0

static const char *const corpus[] = {
        "plain", "alternative_related", "forwarded", "japanese",
        "utf8_subject", "bad_boundary", "no_boundary_param", "unclosed",
        "rfc2231", "groups", "eightbit", "digest", "headers_only",
        "no_mime_version", "duplicates", "mime_in_header", "deep_multipart",
        "deep_rfc822", "garbage", "edge_cases", "plain_uppercase",
};

static char *testdata_path(const char *name, const char *ext)
{
        const char *dir = getenv("MIME_TESTDATA");

        if (dir != NULL)
                return xasprintf("%s/%s%s", dir, name, ext);
        /* __FILE__ is common/mime_test.c when built from the top */
        const char *slash = strrchr(__FILE__, '/');
        int n = slash != NULL ? (int)(slash - __FILE__) : 0;

        if (n == 0)
                return xasprintf("testdata/mime/%s%s", name, ext);
        return xasprintf("%.*s/testdata/mime/%s%s", n, __FILE__, name, ext);
}

static char *read_file(const char *name, const char *ext, size_t *len_r)
{
        char *path = testdata_path(name, ext);
        FILE *f = fopen(path, "rb");
        struct buf b;
        char tmp[65536];
        size_t n;

        if (f == NULL)
                fail_msg("case %s: cannot open %s", name, path);
        buf_init(&b, 0);
        while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
                buf_append(&b, tmp, n);
        fclose(f);
        free(path);
        *len_r = b.len;
        return buf_steal(&b);
}

/* to_crlf - the message as a client sends it: each bare LF as CRLF */
static char *to_crlf(const char *d, size_t len, size_t *len_r)
{
        char *out = xmalloc(len * 2 + 1);
        size_t i, n = 0;

        for (i = 0; i < len; i++) {
                if (d[i] == '\n' && (i == 0 || d[i - 1] != '\r'))
                        out[n++] = '\r';
                out[n++] = d[i];
        }
        *len_r = n;
        return out;
}

static double now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* check_invariants - what any parse must satisfy, however broken the
 * input: the root spans the message, children lie inside their parent's
 * body, virtual sizes add one per bare LF, limits hold */
static void check_invariants(const char *name, const struct mime_message *m)
{
        const struct mime_part *part = m->root, *c;
        size_t lf = 0, bare = 0, i, count = 0;

        for (i = 0; i < m->len; i++) {
                if (m->data[i] == '\n') {
                        lf++;
                        if (i == 0 || m->data[i - 1] != '\r')
                                bare++;
                }
        }
        if (part->header.physical + part->body.physical != m->len)
                fail_msg("case %s: root spans %zu, want %zu", name,
                         part->header.physical + part->body.physical,
                         m->len);
        assert_int_equal(part->header.virtual + part->body.virtual,
                         m->len + bare);
        assert_int_equal(part->header.lines + part->body.lines, lf);
        assert_true(m->part_count <= MIME_PARTS_MAX);

        /* walk the tree without recursion */
        while (part != NULL) {
                size_t sum = 0;

                count++;
                assert_true(part->depth < MIME_DEPTH_MAX);
                assert_true(part->offset + part->header.physical +
                            part->body.physical <= m->len);
                assert_true(part->header.virtual >= part->header.physical);
                for (c = part->children; c != NULL; c = c->next) {
                        assert_true(c->offset >= part->offset +
                                    part->header.physical);
                        sum += c->header.physical + c->body.physical;
                }
                assert_true(sum <= part->body.physical);
                if ((part->flags & MIME_PART_MESSAGE) != 0)
                        assert_non_null(part->children);
                if (part->children != NULL) {
                        part = part->children;
                        continue;
                }
                while (part != NULL && part->next == NULL)
                        part = part->parent;
                if (part != NULL)
                        part = part->next;
        }
        assert_int_equal(count, m->part_count);
}

/* ref_number - the number after key in the .ref text, or fail */
static size_t ref_number(const char *name, const char *ref, const char *key)
{
        const char *p = strstr(ref, key);

        if (p == NULL)
                fail_msg("case %s: no %s in .ref", name, key);
        return (size_t)strtoul(p + strlen(key), NULL, 10);
}

static void check_corpus_message(const char *name, const char *data,
                                 size_t len, const char *ref,
                                 const char *mode)
{
        struct mime_message *m = mime_parse(data, len);
        const struct mime_part *root = m->root;
        const char *line;
        size_t want;

        check_invariants(name, m);
        want = ref_number(name, ref, "SIZE ");
        if (root->header.virtual + root->body.virtual != want)
                fail_msg("case %s (%s): size got %zu, want %zu", name, mode,
                         root->header.virtual + root->body.virtual, want);
        want = ref_number(name, ref, "HEADER ");
        if (root->header.virtual != want)
                fail_msg("case %s (%s): header got %zu, want %zu", name,
                         mode, root->header.virtual, want);
        want = ref_number(name, ref, " TEXT ");
        if (root->body.virtual != want)
                fail_msg("case %s (%s): text got %zu, want %zu", name, mode,
                         root->body.virtual, want);

        /* SECTION num MIME n BODY n: BODY[num.MIME] and BODY[num] sizes */
        for (line = strstr(ref, "SECTION "); line != NULL;
             line = strstr(line + 1, "\nSECTION ")) {
                char section[1024];
                size_t mime_size, body_size;
                const struct mime_part *part;

                if (*line == '\n')
                        line++;
                if (sscanf(line, "SECTION %1023s MIME %zu BODY %zu", section,
                           &mime_size, &body_size) != 3)
                        fail_msg("case %s: bad SECTION line", name);
                part = mime_part_find(m, section);
                if (part == NULL && mime_size == 0 && body_size == 0)
                        continue;       /* IMAP shows a missing part empty */
                if (part == NULL)
                        fail_msg("case %s (%s): section %s not found", name,
                                 mode, section);
                if (part->header.virtual != mime_size ||
                    part->body.virtual != body_size)
                        fail_msg("case %s (%s): section %s got MIME %zu BODY "
                                 "%zu, want MIME %zu BODY %zu", name, mode,
                                 section, part->header.virtual,
                                 part->body.virtual, mime_size, body_size);
        }
        mime_free(&m);
        assert_null(m);
}

static void test_corpus(void **state)
{
        size_t i;

        (void)state;
        for (i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
                size_t len, rlen, clen;
                char *data = read_file(corpus[i], ".eml", &len);
                char *ref = read_file(corpus[i], ".ref", &rlen);
                char *crlf = to_crlf(data, len, &clen);

                check_corpus_message(corpus[i], data, len, ref, "LF");
                check_corpus_message(corpus[i], crlf, clen, ref, "CRLF");
                free(data);
                free(ref);
                free(crlf);
        }
}

/* every prefix of a message, as a truncated delivery would leave it */
static void test_corpus_prefixes(void **state)
{
        static const char *const names[] = {
                "forwarded", "mime_in_header", "digest", "unclosed",
        };
        size_t i, n;

        (void)state;
        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                size_t len;
                char *data = read_file(names[i], ".eml", &len);

                for (n = 0; n <= len; n++) {
                        /* a copy, so ASan sees a read past the prefix */
                        char *copy = xmalloc(n + 1);
                        struct mime_message *m;

                        memcpy(copy, data, n);
                        m = mime_parse(copy, n);
                        check_invariants(names[i], m);
                        mime_free(&m);
                        free(copy);
                }
                free(data);
        }
}

static void test_header_lookup(void **state)
{
        static const char msg[] =
                "Received: from a\r\n\tby b\r\n"
                "subject: first\n  folded\n"
                "X-Empty:\n"
                "X-Blank:   \n"
                "Subject: second\n"
                "NoColonLine\n"
                "From : x@example.com\n"
                "X-Encoded: =?UTF-8?Q?caf=C3=A9?= =?UTF-8?B?IGF1IGxhaXQ=?=\n"
                "X-Nul: a\0b\n"
                "\n"
                "Subject: in the body\n";
        static const struct {
                const char *name, *want;
                int found;
        } cases[] = {
                { "Subject", "first  folded", 1 },
                { "SUBJECT", "first  folded", 1 },
                { "received", "from a\tby b", 1 },
                { "X-Empty", "", 1 },
                { "X-Blank", "  ", 1 },
                { "From", "x@example.com", 1 },
                { "X-Nul", "a\xef\xbf\xbd" "b", 1 },
                { "X-Missing", "", 0 },
                { "NoColonLine", "", 0 },
        };
        struct mime_message *m = mime_parse(msg, sizeof(msg) - 1);
        struct buf v;
        size_t i;

        buf_init(&v, 0);
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                int found;

                buf_reset(&v);
                found = mime_header_get(m, m->root, cases[i].name, &v);
                if (found != cases[i].found ||
                    strcmp(buf_cstr(&v), cases[i].want) != 0)
                        fail_msg("case %s: got %d \"%s\", want %d \"%s\"",
                                 cases[i].name, found, buf_cstr(&v),
                                 cases[i].found, cases[i].want);
        }
        buf_reset(&v);
        assert_int_equal(mime_header_get_utf8(m, m->root, "x-encoded", &v),
                         1);
        assert_string_equal(buf_cstr(&v), "caf\xc3\xa9 au lait");
        assert_true((m->root->flags & MIME_PART_HAS_NULS) != 0);

        /* the iterator sees every field, the nameless line too */
        {
                struct mime_header_iter it;
                struct mime_header h;
                size_t len, n = 0;
                const char *hdr = mime_part_header(m, m->root, &len);

                mime_header_iter_init(&it, hdr, len);
                while (mime_header_next(&it, &h) > 0)
                        n++;
                assert_int_equal(n, 9);
        }
        buf_release(&v);
        mime_free(&m);
}

static void test_part_find(void **state)
{
        static const struct {
                const char *section;
                int found;
        } cases[] = {
                { "1", 1 }, { "2", 1 }, { "2.1", 1 }, { "2.2", 1 },
                { "3", 0 }, { "", 0 }, { "0", 0 }, { "1.", 0 }, { "a", 0 },
                { "1..1", 0 }, { "2.3", 0 }, { "01", 0 },
                { "99999999999999999999", 0 },
        };
        size_t len, i;
        char *data = read_file("forwarded", ".eml", &len);
        struct mime_message *m = mime_parse(data, len);

        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                int found = mime_part_find(m, cases[i].section) != NULL;

                if (found != cases[i].found)
                        fail_msg("case \"%s\": got %d, want %d",
                                 cases[i].section, found, cases[i].found);
        }
        /* 2 is the message/rfc822 part, 2.1 the first part inside it */
        assert_true((mime_part_find(m, "2")->flags & MIME_PART_MESSAGE) != 0);
        assert_ptr_equal(mime_part_find(m, "2.1"),
                         m->root->children->next->children->children);
        {
                size_t blen;
                const char *body = mime_part_body(m, mime_part_find(m, "2.2"),
                                                  &blen);

                assert_int_equal(blen, 40);
                assert_memory_equal(body, "<ol>", 4);
        }
        mime_free(&m);
        free(data);
}

static void test_content_type(void **state)
{
        static const struct {
                const char *name, *in;
                int ret;
                const char *type, *subtype, *params;
        } cases[] = {
                { "simple", "text/plain; charset=utf-8", 0, "text", "plain",
                  "charset=utf-8;" },
                { "quoted", "multipart/mixed; boundary=\"a b;c\"", 0,
                  "multipart", "mixed", "boundary=a b;c;" },
                { "comments", " (c) text (d) / html (e) ; charset = x (f)",
                  0, "text", "html", "charset=x;" },
                { "folded", "text/plain;\r\n charset=\"us-\r\n ascii\"", 0,
                  "text", "plain", "charset=us- ascii;" },
                { "no subtype", "text", -1, "text", "", "" },
                { "empty subtype", "text/", -1, "", "", "" },
                { "junk after", "text/plain junk", -1, "", "", "" },
                { "empty", "", -1, "", "", "" },
                { "empty name kept", "a/b; =x; c=d", 0, "a", "b",
                  "=x;c=d;" },
                { "rest lost after a bad param", "a/b; x; c=d", 0, "a", "b",
                  "" },
                { "rfc2231 joined", "a/b; n*1=y; n*0=x", 0, "a", "b",
                  "n=xy;" },
                { "rfc2231 charset", "a/b; n*0*=utf-8''%41; n*1=%", 0, "a",
                  "b", "n*=utf-8''%41%25;" },
                { "rfc2231 gap", "a/b; n*0=x; n*2=z", 0, "a", "b",
                  "n*0=x;n*2=z;" },
                { "rfc2231 after plain", "a/b; n*=utf-8''x; m=1", 0, "a",
                  "b", "m=1;n*=utf-8''x;" },
                { "broken encoded value", "a/b; name==?utf-8?q?x?= ;c=1", 0,
                  "a", "b", "name==?utf-8?q?x?=;c=1;" },
        };
        struct buf got;
        size_t i, j;

        buf_init(&got, 0);
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct mime_content ct;
                int ret = mime_content_type_parse(cases[i].in,
                                                  strlen(cases[i].in), &ct);

                buf_reset(&got);
                for (j = 0; j < ct.nparams; j++)
                        buf_printf(&got, "%s=%s;", ct.params[j].name,
                                   ct.params[j].value);
                if (ret != cases[i].ret ||
                    strcmp(ct.type, cases[i].type) != 0 ||
                    strcmp(ct.subtype, cases[i].subtype) != 0 ||
                    strcmp(buf_cstr(&got), cases[i].params) != 0)
                        fail_msg("case %s: got %d %s/%s [%s], want %d %s/%s "
                                 "[%s]", cases[i].name, ret, ct.type,
                                 ct.subtype, buf_cstr(&got), cases[i].ret,
                                 cases[i].type, cases[i].subtype,
                                 cases[i].params);
                mime_content_release(&ct);
        }
        buf_release(&got);
}

static void test_param_utf8(void **state)
{
        static const struct {
                const char *name, *in, *param, *want;
        } cases[] = {
                { "rfc2231 utf-8", "attachment; filename*0*=UTF-8''%E5%A0"
                  "%B1%E5%91%8A; filename*1*=%E6%9B%B8.pdf", "filename",
                  "\xe5\xa0\xb1\xe5\x91\x8a\xe6\x9b\xb8.pdf" },
                { "rfc2231 latin1", "inline; filename*=iso-8859-1'fr'caf%E9",
                  "filename", "caf\xc3\xa9" },
                { "rfc2231 no charset", "inline; filename*=''a%20b",
                  "filename", "a b" },
                { "plain", "attachment; filename=\"notes part.txt\"",
                  "filename", "notes part.txt" },
                { "rfc2047 in quotes", "attachment; filename=\"=?UTF-8?B?"
                  "w6kudHh0?=\"", "filename", "\xc3\xa9.txt" },
                { "raw 8-bit", "attachment; filename=\"caf\xe9\"",
                  "filename", "caf\xef\xbf\xbd" },
        };
        struct buf got;
        size_t i;

        buf_init(&got, 0);
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct mime_content ct;

                buf_reset(&got);
                mime_content_disposition_parse(cases[i].in,
                                               strlen(cases[i].in), &ct);
                if (mime_param_get_utf8(&ct, cases[i].param, &got) != 1 ||
                    strcmp(buf_cstr(&got), cases[i].want) != 0)
                        fail_msg("case %s: got \"%s\", want \"%s\"",
                                 cases[i].name, buf_cstr(&got),
                                 cases[i].want);
                assert_int_equal(mime_param_get_utf8(&ct, "nothere", &got),
                                 0);
                mime_content_release(&ct);
        }
        buf_release(&got);
}

static void test_rfc2047(void **state)
{
        static const struct {
                const char *name, *in, *want;
        } cases[] = {
                { "plain", "Hello world", "Hello world" },
                { "b utf-8", "=?UTF-8?B?w5xiZXJwcsO8ZnVuZw==?=",
                  "\xc3\x9c" "berpr\xc3\xbc" "fung" },
                { "q latin1", "=?iso-8859-1?q?caf=E9_au_lait?=",
                  "caf\xc3\xa9 au lait" },
                { "adjacent joined", "=?UTF-8?Q?a?= =?UTF-8?Q?b?=", "ab" },
                { "folded joined", "=?UTF-8?Q?a?=\r\n =?UTF-8?Q?b?=", "ab" },
                { "text kept", "=?UTF-8?Q?a?= x =?UTF-8?Q?b?= y",
                  "a x b y" },
                { "split character", "=?UTF-8?Q?=C3?= =?UTF-8?Q?=A9?=",
                  "\xc3\xa9" },
                { "iso-2022-jp",
                  "=?ISO-2022-JP?B?GyRCMnE1RCRON28kSyREJCQkRhsoQg==?=",
                  "\xe4\xbc\x9a\xe8\xad\xb0\xe3\x81\xae\xe4\xbb\xb6\xe3\x81"
                  "\xab\xe3\x81\xa4\xe3\x81\x84\xe3\x81\xa6" },
                { "shift_jis", "=?Shift_JIS?B?k/qWew==?=",
                  "\xe6\x97\xa5\xe6\x9c\xac" },
                { "euc-jp", "=?EUC-JP?B?xvzL3A==?=",
                  "\xe6\x97\xa5\xe6\x9c\xac" },
                { "windows-1252", "=?windows-1252?Q?=80?=",
                  "\xe2\x82\xac" },
                { "iso-8859-15", "=?ISO-8859-15?Q?=A4?=", "\xe2\x82\xac" },
                { "charsets change", "=?iso-8859-1?q?=E9?= "
                  "=?UTF-8?Q?=C3=A9?=", "\xc3\xa9\xc3\xa9" },
                { "language", "=?UTF-8*en?Q?hi?=", "hi" },
                { "lower case", "=?utf-8?b?aGk=?= =?utf-8?q?_there?=",
                  "hi there" },
                { "empty text", "x =?UTF-8?Q?" "?= y", "x  y" },
                { "unknown charset", "=?x-bogus?Q?abc?=",
                  "=?x-bogus?Q?abc?=" },
                { "bad encoding", "=?UTF-8?X?abc?=", "=?UTF-8?X?abc?=" },
                { "bad base64", "=?UTF-8?B?#!?=", "=?UTF-8?B?#!?=" },
                { "unterminated", "=?UTF-8?Q?abc", "=?UTF-8?Q?abc" },
                { "space inside", "=?UTF-8?Q?a b?=", "=?UTF-8?Q?a b?=" },
                { "bad word between good", "=?UTF-8?Q?a?= =?x?Q?b?= "
                  "=?UTF-8?Q?c?=", "a =?x?Q?b?= c" },
                { "raw utf-8 kept", "Gr\xc3\xbc\xc3\x9f" "e",
                  "Gr\xc3\xbc\xc3\x9f" "e" },
                { "raw 8-bit replaced", "caf\xe9!", "caf\xef\xbf\xbd!" },
                { "overlong replaced", "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },
                { "invalid in word", "=?UTF-8?Q?=FF?=", "\xef\xbf\xbd" },
                { "bad latin1 byte in sjis", "=?Shift_JIS?Q?=FF?=",
                  "\xef\xbf\xbd" },
                { "lone =?", "a =? b", "a =? b" },
                { "folding in text", "a\r\n b", "a b" },
        };
        struct buf out;
        size_t i;

        buf_init(&out, 0);
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                buf_reset(&out);
                assert_int_equal(rfc2047_decode(&out, cases[i].in,
                                                strlen(cases[i].in)), 0);
                if (strcmp(buf_cstr(&out), cases[i].want) != 0)
                        fail_msg("case %s: got \"%s\", want \"%s\"",
                                 cases[i].name, buf_cstr(&out),
                                 cases[i].want);
        }
        buf_release(&out);

        /* a capped buffer says so */
        {
                struct buf small;

                buf_init(&small, 4);
                assert_int_equal(rfc2047_decode(&small, "=?UTF-8?Q?abcdef?=",
                                                18), -1);
                buf_release(&small);
        }
        assert_int_equal(rfc2047_to_utf8(&out, "no-such-charset", "x", 1),
                         -2);
}

/*
 * Hostile mail
 */

static void parse_timed(const char *name, const char *data, size_t len,
                        struct mime_message **m_r)
{
        double t0 = now(), dt;

        *m_r = mime_parse(data, len);
        dt = now() - t0;
        if (dt > HOSTILE_SECONDS_MAX)
                fail_msg("case %s: took %.2f s, want < %.0f s", name, dt,
                         HOSTILE_SECONDS_MAX);
        check_invariants(name, *m_r);
}

static void test_huge_header_line(void **state)
{
        const size_t n = 10 * 1024 * 1024;
        struct buf b;
        struct buf v;
        struct mime_message *m;

        (void)state;
        buf_init(&b, 0);
        buf_puts(&b, "Subject: ");
        for (size_t i = 0; i < n / 64; i++)
                buf_puts(&b, "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstu"
                         "vwxyzabcdefghijkl");
        buf_puts(&b, "\nContent-Type: multipart/mixed; boundary=");
        for (size_t i = 0; i < n / 64; i++)
                buf_puts(&b, "----------------------------------------------"
                         "------------------");
        buf_puts(&b, "\nMIME-Version: 1.0\n\nbody\n");
        parse_timed("10 MB header line", b.data, b.len, &m);
        assert_int_equal(m->root->header.lines, 4);
        assert_int_equal(m->root->body.physical, 5);
        buf_init(&v, 0);
        assert_int_equal(mime_header_get(m, m->root, "subject", &v), 1);
        assert_true(v.len > n - 64);
        buf_release(&v);
        mime_free(&m);
        buf_release(&b);
}

static void test_many_parts(void **state)
{
        const size_t n = MIME_PARTS_MAX + 50;
        struct buf b;
        struct mime_message *m;
        const struct mime_part *last;

        (void)state;
        buf_init(&b, 0);
        buf_puts(&b, "MIME-Version: 1.0\nContent-Type: multipart/mixed; "
                 "boundary=x\n\n");
        for (size_t i = 0; i < n; i++)
                buf_printf(&b, "--x\nContent-Type: text/plain\n\np%zu\n", i);
        buf_puts(&b, "--x--\n");
        parse_timed("10,050 parts", b.data, b.len, &m);
        assert_int_equal(m->part_count, MIME_PARTS_MAX);
        last = m->root->last_child;
        assert_true((last->flags & MIME_PART_OVERFLOW) != 0);
        /* what did not fit stays in the last part's body */
        assert_true(last->body.lines > 50 * 4);
        assert_non_null(mime_part_find(m, "9999"));
        assert_null(mime_part_find(m, "10000"));
        mime_free(&m);
        buf_release(&b);
}

/* many parts with long boundaries sharing a prefix: the scan must stay
 * linear however many boundaries are open */
static void test_many_boundaries(void **state)
{
        struct buf b;
        struct mime_message *m;
        char bnd[MIME_BOUNDARY_MAX + 1];
        size_t depth = MIME_DEPTH_MAX - 2, i;

        (void)state;
        buf_init(&b, 0);
        memset(bnd, 'b', sizeof(bnd) - 1);
        bnd[sizeof(bnd) - 1] = '\0';
        buf_puts(&b, "MIME-Version: 1.0\n");
        for (i = 0; i < depth; i++) {
                snprintf(bnd + sizeof(bnd) - 5, 5, "%04zu", i);
                buf_printf(&b, "Content-Type: multipart/mixed; boundary=%s"
                           "\n\n--%s\n", bnd, bnd);
        }
        buf_puts(&b, "\n");
        /* lines that look like boundaries up to the last byte */
        snprintf(bnd + sizeof(bnd) - 5, 5, "zzzz");
        for (i = 0; i < 60000; i++)
                buf_printf(&b, "--%s\n", bnd);
        parse_timed("near-boundaries", b.data, b.len, &m);
        assert_true(m->part_count > depth);
        mime_free(&m);
        buf_release(&b);
}

static void test_deep_nesting(void **state)
{
        struct buf b;
        struct mime_message *m;
        const struct mime_part *p;
        size_t i, depth = 0;

        (void)state;
        /* multipart in multipart, 1,000 deep */
        buf_init(&b, 0);
        buf_puts(&b, "MIME-Version: 1.0\n");
        for (i = 0; i < 1000; i++)
                buf_printf(&b, "Content-Type: multipart/mixed; boundary=b%zu"
                           "\n\n--b%zu\n", i, i);
        buf_puts(&b, "\nleaf\n");
        for (i = 1000; i-- > 0;)
                buf_printf(&b, "--b%zu--\n", i);
        parse_timed("1,000-deep multipart", b.data, b.len, &m);
        for (p = m->root; p->children != NULL; p = p->children)
                depth++;
        assert_int_equal(depth, MIME_DEPTH_MAX - 1);
        assert_true((p->flags & MIME_PART_OVERFLOW) != 0);
        assert_true((p->flags & MIME_PART_MULTIPART) == 0);
        mime_free(&m);

        /* message/rfc822 in message/rfc822, 1,000 deep */
        buf_reset(&b);
        for (i = 0; i < 1000; i++)
                buf_printf(&b, "Content-Type: message/rfc822\n\n"
                           "Subject: %zu\n", i);
        buf_puts(&b, "\nbody\n");
        parse_timed("1,000-deep message/rfc822", b.data, b.len, &m);
        depth = 0;
        for (p = m->root; p->children != NULL; p = p->children)
                depth++;
        assert_int_equal(depth, MIME_DEPTH_MAX - 1);
        assert_true((p->flags & MIME_PART_OVERFLOW) != 0);
        mime_free(&m);
        buf_release(&b);
}

static void test_nul_bytes(void **state)
{
        static const char msg[] =
                "From: a\0b@example.com\nSubject: x\0y\n"
                "MIME-Version: 1.0\nContent-Type: multipart/mixed; "
                "boundary=\"q\0r\"\n\n--q\0r\nContent-Type: text/plain\n\n"
                "\0\0\0\n--q\0r--\n";
        struct mime_message *m;
        struct buf v;

        (void)state;
        parse_timed("NUL bytes", msg, sizeof(msg) - 1, &m);
        assert_true((m->root->flags & MIME_PART_HAS_NULS) != 0);
        /* the boundary is cut at the NUL, as a C string would be */
        assert_int_equal(m->part_count, 1);
        buf_init(&v, 0);
        assert_int_equal(mime_header_get(m, m->root, "Subject", &v), 1);
        assert_string_equal(buf_cstr(&v), "x\xef\xbf\xbdy");
        buf_release(&v);
        mime_free(&m);
}

/* xorshift, so the garbage is the same on every run */
static uint32_t rnd_next(uint32_t *s)
{
        *s ^= *s << 13;
        *s ^= *s >> 17;
        *s ^= *s << 5;
        return *s;
}

static void test_random_garbage(void **state)
{
        static const char *const pieces[] = {
                "\n", "\r\n", "--b", "--b--", "--c", "\n\n", " ", "\t",
                "Content-Type: multipart/mixed; boundary=b\n",
                "Content-Type: multipart/digest; boundary=c\n",
                "Content-Type: message/rfc822\n", "MIME-Version: 1.0\n",
                "Content-Type: text/plain; charset*0*=utf-8''%; a*1=\"\n",
                "Subject: =?UTF-8?B?", "?=", ":", "(", "\"", "\\", "\0",
        };
        uint32_t seed = 0x9e3779b9u;
        struct buf b;
        int round;

        (void)state;
        buf_init(&b, 0);
        for (round = 0; round < 300; round++) {
                struct mime_message *m;
                size_t n = rnd_next(&seed) % 4000;

                buf_reset(&b);
                while (b.len < n) {
                        uint32_t r = rnd_next(&seed);

                        if (r % 3 == 0) {
                                const char *p = pieces[(r >> 8) %
                                        (sizeof(pieces) / sizeof(pieces[0]))];

                                buf_append(&b, p, *p != '\0' ? strlen(p) : 1);
                        } else {
                                buf_putc(&b, (int)(r >> 16) & 0xff);
                        }
                }
                parse_timed("random garbage", buf_cstr(&b), b.len, &m);
                mime_free(&m);
        }
        buf_release(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_corpus),
                cmocka_unit_test(test_corpus_prefixes),
                cmocka_unit_test(test_header_lookup),
                cmocka_unit_test(test_part_find),
                cmocka_unit_test(test_content_type),
                cmocka_unit_test(test_param_utf8),
                cmocka_unit_test(test_rfc2047),
                cmocka_unit_test(test_huge_header_line),
                cmocka_unit_test(test_many_parts),
                cmocka_unit_test(test_many_boundaries),
                cmocka_unit_test(test_deep_nesting),
                cmocka_unit_test(test_nul_bytes),
                cmocka_unit_test(test_random_garbage),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
