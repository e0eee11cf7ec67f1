/* imap_envelope_test.c - unit tests for imap_envelope.c
 * Each message of common/testdata/mime/ is parsed as stored (LF) and with
 * CRLF line endings, and its BODY, BODYSTRUCTURE and ENVELOPE must equal,
 * byte for byte, what Dovecot answered (NAME.ref, from mkref.py there).
 * The quoting rules are tested on their own in tables. */
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
#include "imap_envelope.h"
#include "mem.h"
#include "mime.h"

#define RENDER_SECONDS_MAX      10.0

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
        /* __FILE__ is imap/imap_envelope_test.c when built from the top */
        const char *slash = strrchr(__FILE__, '/');
        int n = slash != NULL ? (int)(slash - __FILE__) : 0;

        if (n == 0)
                return xasprintf("../common/testdata/mime/%s%s", name, ext);
        return xasprintf("%.*s/../common/testdata/mime/%s%s", n, __FILE__,
                         name, ext);
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

/* ref_item - the value of item name in a .ref: from after "NAME " to the
 * LF that starts the next item (values may hold literals, so never split
 * the file on lines) */
static char *ref_item(const char *case_name, const char *ref,
                      const char *name, const char *next)
{
        char key[64], end[64];
        const char *p, *q;

        snprintf(key, sizeof(key), "\n%s ", name);
        p = strstr(ref, key);
        if (p == NULL)
                fail_msg("case %s: no %s in .ref", case_name, name);
        p += strlen(key);
        if (next != NULL) {
                snprintf(end, sizeof(end), "\n%s ", next);
                q = strstr(p, end);
        } else {
                q = p + strlen(p);
                if (q > p && q[-1] == '\n')
                        q--;
        }
        if (q == NULL)
                fail_msg("case %s: no %s in .ref", case_name, next);
        return xstrndup(p, (size_t)(q - p));
}

static void expect_item(const char *case_name, const char *mode,
                        const char *item, const struct buf *got,
                        const char *want)
{
        size_t i;

        if (got->len == strlen(want) && memcmp(got->data, want, got->len) == 0)
                return;
        for (i = 0; i < got->len && want[i] != '\0' && got->data[i] == want[i];
             i++)
                ;
        fail_msg("case %s (%s): %s differs at byte %zu:\n got  %.*s\n want "
                 "%s", case_name, mode, item, i, (int)got->len,
                 buf_cstr(got), want);
}

static void check_message(const char *name, const char *mode,
                          const char *data, size_t len, const char *ref)
{
        struct mime_message *m = mime_parse(data, len);
        char *body = ref_item(name, ref, "BODY", "BODYSTRUCTURE");
        char *bs = ref_item(name, ref, "BODYSTRUCTURE", "ENVELOPE");
        char *env = ref_item(name, ref, "ENVELOPE", NULL);
        struct buf got;

        buf_init(&got, 0);
        assert_int_equal(imap_envelope_write_body(&got, m, m->root, 0), 0);
        expect_item(name, mode, "BODY", &got, body);
        buf_reset(&got);
        assert_int_equal(imap_envelope_write_body(&got, m, m->root, 1), 0);
        expect_item(name, mode, "BODYSTRUCTURE", &got, bs);
        buf_reset(&got);
        assert_int_equal(imap_envelope_write(&got, m, m->root), 0);
        expect_item(name, mode, "ENVELOPE", &got, env);
        buf_release(&got);
        free(body);
        free(bs);
        free(env);
        mime_free(&m);
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

                check_message(corpus[i], "LF", data, len, ref);
                check_message(corpus[i], "CRLF", crlf, clen, ref);
                free(data);
                free(ref);
                free(crlf);
        }
}

static void test_nstring(void **state)
{
        static const struct {
                const char *name, *in, *want;
        } cases[] = {
                { "null", NULL, "NIL" },
                { "empty", "", "\"\"" },
                { "plain", "hello world", "\"hello world\"" },
                { "the word NIL", "NIL", "\"NIL\"" },
                { "escapes", "a\"b\\c", "\"a\\\"b\\\\c\"" },
                { "four escapes", "\"\"\"\"", "\"\\\"\\\"\\\"\\\"\"" },
                { "five escapes", "\"\"\"\"\"", "{5}\r\n\"\"\"\"\"" },
                { "8-bit", "caf\xc3\xa9", "{5}\r\ncaf\xc3\xa9" },
                { "line break", "a\r\nb", "{4}\r\na\r\nb" },
        };
        struct buf out;
        size_t i;

        (void)state;
        buf_init(&out, 0);
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                buf_reset(&out);
                assert_int_equal(imap_envelope_append_nstring(&out,
                                                              cases[i].in), 0);
                if (strcmp(buf_cstr(&out), cases[i].want) != 0)
                        fail_msg("case %s: got %s, want %s", cases[i].name,
                                 buf_cstr(&out), cases[i].want);
        }
        buf_release(&out);
}

static void test_nstring_nolf(void **state)
{
        static const struct {
                const char *name, *in, *want;
        } cases[] = {
                { "no break", "<a@b>", "\"<a@b>\"" },
                { "fold dropped", "<a@b>\n <c@d>", "\"<a@b> <c@d>\"" },
                { "crlf fold dropped", "x\r\n\ty", "\"x\ty\"" },
                { "bare break spaced", "x\ny", "\"x y\"" },
                { "trailing break dropped", "x\n", "\"x\"" },
        };
        struct buf out;
        size_t i;

        (void)state;
        buf_init(&out, 0);
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                buf_reset(&out);
                imap_envelope_append_nstring_nolf(&out, cases[i].in);
                if (strcmp(buf_cstr(&out), cases[i].want) != 0)
                        fail_msg("case %s: got %s, want %s", cases[i].name,
                                 buf_cstr(&out), cases[i].want);
        }
        buf_release(&out);
}

static void test_human(void **state)
{
        static const struct {
                const char *name, *in;
                size_t len;
                const char *want;
        } cases[] = {
                { "plain", "Lunch on Friday?", 16, "\"Lunch on Friday?\"" },
                { "empty", "", 0, "\"\"" },
                { "only blanks", " \t ", 3, "\"\"" },
                { "runs collapsed", "a  b\tc", 6, "{5}\r\na b c" },
                { "trimmed", " a ", 3, "{1}\r\na" },
                { "fold", "a\n b", 4, "{3}\r\na b" },
                { "quote", "say \"hi\"", 8, "{8}\r\nsay \"hi\"" },
                { "8-bit", "K\xc3\xb6ln", 5, "{5}\r\nK\xc3\xb6ln" },
                { "nul", "a\0b", 3, "{3}\r\na\x80" "b" },
        };
        struct buf out;
        size_t i;

        (void)state;
        buf_init(&out, 0);
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                buf_reset(&out);
                imap_envelope_append_human(&out, cases[i].in, cases[i].len);
                if (out.len != strlen(cases[i].want) ||
                    memcmp(out.data, cases[i].want, out.len) != 0)
                        fail_msg("case %s: got %s, want %s", cases[i].name,
                                 buf_cstr(&out), cases[i].want);
        }
        buf_release(&out);
}

/* address fields, each rendered as ENVELOPE's To */
static void test_addresses(void **state)
{
        static const struct {
                const char *name, *to, *want;
        } cases[] = {
                { "addr-spec", "a@example.com",
                  "((NIL NIL \"a\" \"example.com\"))" },
                { "name-addr", "Ann Lee <a@example.com>",
                  "((\"Ann Lee\" NIL \"a\" \"example.com\"))" },
                { "quoted name", "\"Lee, Ann\" <a@example.com>",
                  "((\"Lee, Ann\" NIL \"a\" \"example.com\"))" },
                { "comment name", "a@example.com (Ann Lee)",
                  "((\"Ann Lee\" NIL \"a\" \"example.com\"))" },
                { "angle only", "<a@example.com>",
                  "((NIL NIL \"a\" \"example.com\"))" },
                { "list", "a@x.org, b@y.org",
                  "((NIL NIL \"a\" \"x.org\")(NIL NIL \"b\" \"y.org\"))" },
                { "empty group", "undisclosed-recipients:;",
                  "((NIL NIL \"undisclosed-recipients\" NIL)"
                  "(NIL NIL NIL NIL))" },
                { "group", "G: a@x.org, b@y.org;",
                  "((NIL NIL \"G\" NIL)(NIL NIL \"a\" \"x.org\")"
                  "(NIL NIL \"b\" \"y.org\")(NIL NIL NIL NIL))" },
                { "route", "<@r.example:a@x.org>",
                  "((NIL \"@r.example\" \"a\" \"x.org\"))" },
                { "no domain", "trent",
                  "((NIL NIL \"trent\" \"MISSING_DOMAIN\"))" },
                { "words only", "Ann Lee",
                  "((\"Ann Lee\" NIL \"MISSING_MAILBOX\" "
                  "\"MISSING_DOMAIN\"))" },
                { "broken angle", "Ann <a@",
                  "((\"Ann\" NIL \"a\" \"SYNTAX_ERROR\"))" },
                { "domain literal", "a@[192.0.2.1]",
                  "((NIL NIL \"a\" \"[192.0.2.1]\"))" },
                { "quoted local", "\"a b\"@x.org",
                  "((NIL NIL \"a b\" \"x.org\"))" },
                { "loose dots", "a..b.@x.org",
                  "((NIL NIL \"a..b.\" \"x.org\"))" },
                { "empty", "", "NIL" },
                { "trailing comma", "a@x.org,",
                  "((NIL NIL \"a\" \"x.org\"))" },
        };
        struct buf msg, out, want;
        size_t i;

        (void)state;
        buf_init(&msg, 0);
        buf_init(&out, 0);
        buf_init(&want, 0);
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct mime_message *m;

                buf_reset(&msg);
                buf_printf(&msg, "To: %s\n\n", cases[i].to);
                m = mime_parse(msg.data, msg.len);
                buf_reset(&out);
                imap_envelope_write(&out, m, m->root);
                buf_reset(&want);
                buf_printf(&want, "(NIL NIL NIL NIL NIL %s NIL NIL NIL NIL)",
                           cases[i].want);
                if (strcmp(buf_cstr(&out), buf_cstr(&want)) != 0)
                        fail_msg("case %s: got %s, want %s", cases[i].name,
                                 buf_cstr(&out), buf_cstr(&want));
                mime_free(&m);
        }
        buf_release(&msg);
        buf_release(&out);
        buf_release(&want);
}

/* a capped buffer gets all of an item or none of it */
static void test_cap(void **state)
{
        size_t len;
        char *data = read_file("forwarded", ".eml", &len);
        struct mime_message *m = mime_parse(data, len);
        struct buf out;

        (void)state;
        buf_init(&out, 64);
        buf_puts(&out, "* 1 FETCH (");
        assert_int_equal(imap_envelope_write_body(&out, m, m->root, 1), -1);
        assert_int_equal(imap_envelope_write(&out, m, m->root), -1);
        assert_string_equal(buf_cstr(&out), "* 1 FETCH (");
        assert_int_equal(imap_envelope_append_nstring(&out, "x"), 0);
        buf_release(&out);
        mime_free(&m);
        free(data);
}

static double now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 10,000 parts and a huge subject render in bounded time */
static void test_hostile_render(void **state)
{
        struct buf msg, out;
        struct mime_message *m;
        double t0;
        size_t i;

        (void)state;
        buf_init(&msg, 0);
        buf_init(&out, 0);
        buf_puts(&msg, "Subject: ");
        for (i = 0; i < 100000; i++)
                buf_puts(&msg, "\"a\" \t");
        buf_puts(&msg, "\nMIME-Version: 1.0\nContent-Type: multipart/mixed; "
                 "boundary=x\n\n");
        for (i = 0; i < MIME_PARTS_MAX + 10; i++)
                buf_puts(&msg, "--x\nContent-Type: message/rfc822\n\n"
                         "Subject: s\n\nb\n");
        t0 = now();
        m = mime_parse(msg.data, msg.len);
        assert_int_equal(imap_envelope_write_body(&out, m, m->root, 1), 0);
        assert_int_equal(imap_envelope_write(&out, m, m->root), 0);
        if (now() - t0 > RENDER_SECONDS_MAX)
                fail_msg("case hostile render: took %.2f s", now() - t0);
        assert_true(out.len > 100000);
        /* past the part limit a message/rfc822 is opaque */
        assert_non_null(strstr(buf_cstr(&out),
                               "(\"application\" \"octet-stream\""));
        mime_free(&m);
        buf_release(&msg);
        buf_release(&out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_corpus),
                cmocka_unit_test(test_nstring),
                cmocka_unit_test(test_nstring_nolf),
                cmocka_unit_test(test_human),
                cmocka_unit_test(test_addresses),
                cmocka_unit_test(test_cap),
                cmocka_unit_test(test_hostile_render),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
