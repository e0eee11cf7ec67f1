/* addr_test.c - RFC 5321 paths (adversarial inputs, every truncation),
 * writing addresses out, splitting, extensions, ESMTP parameters, xtext,
 * RFC 5322 address lists */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"
#include "buf.h"
#include "mem.h"

#define ERR NULL        /* want: the parse fails */
#define N ADDR_NULL_OK
#define U ADDR_UTF8
#define B ADDR_NO_BRACKETS

static const struct path_case {
        const char *name;
        int flags;
        const char *in;
        const char *want;       /* internal form, or ERR */
        size_t consumed;        /* 0: the whole input */
} path_cases[] = {
        { "plain", 0, "<a@example.com>", "a@example.com", 0 },
        { "case kept", 0, "<A@Example.COM>", "A@Example.COM", 0 },
        { "leading space", 0, "  <a@b.c>", "a@b.c", 0 },
        { "null sender", N, "<>", "", 0 },
        { "null sender refused", 0, "<>", ERR, 0 },
        { "null sender then params", N, "<> SIZE=10", "", 3 },
        { "null sender garbage", N, "<>x", ERR, 0 },
        { "params follow", 0, "<a@b.c> SIZE=100 BODY=8BITMIME", "a@b.c", 8 },
        { "tab before params", 0, "<a@b.c>\tX", "a@b.c", 8 },
        { "garbage after >", 0, "<a@b.c>x", ERR, 0 },
        { "quoted space", 0, "<\"a b\"@x.org>", "a b@x.org", 0 },
        { "quoted escaped quote", 0, "<\"a\\\"b\"@x.org>", "a\"b@x.org", 0 },
        { "quoted escaped backslash", 0, "<\"a\\\\b\"@x.org>", "a\\b@x.org",
          0 },
        { "quoted at sign", 0, "<\"a@b\"@x.org>", "a@b@x.org", 0 },
        { "quoted comma", 0, "<\"a,b\"@x.org>", "a,b@x.org", 0 },
        { "empty quoted", 0, "<\"\"@x.org>", ERR, 0 },
        { "unbalanced quote", 0, "<\"ab@x.org>", ERR, 0 },
        { "quote then text", 0, "<\"a\"b@x.org>", ERR, 0 },
        { "quoted control", 0, "<\"a\x01\"@x.org>", ERR, 0 },
        { "quoted escaped control", 0, "<\"a\\\x01\"@x.org>", ERR, 0 },
        { "quoted backslash at end", 0, "<\"a\\", ERR, 0 },
        { "source route", 0, "<@r1.example,@r2.example:u@x.org>", "u@x.org",
          0 },
        { "one route", 0, "<@r1:u@x.org>", "u@x.org", 0 },
        { "route without colon", 0, "<@r1,u@x.org>", ERR, 0 },
        { "route empty domain", 0, "<@:u@x.org>", ERR, 0 },
        { "route bad domain", 0, "<@-r:u@x.org>", ERR, 0 },
        { "route only", 0, "<@r1:>", ERR, 0 },
        { "no local part", 0, "<@x.org>", ERR, 0 },
        { "ipv4 literal", 0, "<u@[192.0.2.1]>", "u@[192.0.2.1]", 0 },
        { "ipv6 literal", 0, "<u@[IPv6:2001:db8::1]>",
          "u@[IPv6:2001:db8::1]", 0 },
        { "ipv6 literal lower tag", 0, "<u@[ipv6:::1]>", "u@[ipv6:::1]", 0 },
        { "bad ipv4 literal", 0, "<u@[300.1.1.1]>", ERR, 0 },
        { "short ipv4 literal", 0, "<u@[1.2.3]>", ERR, 0 },
        { "bad ipv6 literal", 0, "<u@[IPv6:zz::1]>", ERR, 0 },
        { "ipv6 without tag", 0, "<u@[2001:db8::1]>", ERR, 0 },
        { "general literal", 0, "<u@[x-tag:abc]>", ERR, 0 },
        { "unclosed literal", 0, "<u@[192.0.2.1>", ERR, 0 },
        { "empty literal", 0, "<u@[]>", ERR, 0 },
        { "no domain", 0, "<postmaster>", "postmaster", 0 },
        { "quoted @, no domain", 0, "<\"a@b\">", ERR, 0 },
        { "empty domain", 0, "<a@>", ERR, 0 },
        { "unbalanced <", 0, "<a@b.c", ERR, 0 },
        { "double <", 0, "<<a@b.c>>", ERR, 0 },
        { "no brackets refused", 0, "a@b.c", ERR, 0 },
        { "no brackets allowed", B, "a@b.c SIZE=1", "a@b.c", 6 },
        { "no brackets, > at end", B, "a@b.c>", ERR, 0 },
        { "space in local part", 0, "<a b@c.d>", ERR, 0 },
        { "space before >", 0, "<a@b.c >", ERR, 0 },
        { "two at signs", 0, "<a@b@c.d>", ERR, 0 },
        { "double dot local (lenient)", 0, "<a..b@x.org>", "a..b@x.org", 0 },
        { "trailing dot local (lenient)", 0, "<a.@x.org>", "a.@x.org", 0 },
        { "domain leading hyphen", 0, "<a@-x.org>", ERR, 0 },
        { "domain trailing hyphen", 0, "<a@x-.org>", ERR, 0 },
        { "domain empty label", 0, "<a@x..org>", ERR, 0 },
        { "domain leading dot", 0, "<a@.x.org>", ERR, 0 },
        { "domain trailing dot", 0, "<a@x.org.>", ERR, 0 },
        { "domain underscore", 0, "<a@_dmarc.x.org>", "a@_dmarc.x.org", 0 },
        { "domain bad char", 0, "<a@x!y.org>", ERR, 0 },
        { "local bad char", 0, "<a(b)@x.org>", ERR, 0 },
        { "local comma", 0, "<a,b@x.org>", ERR, 0 },
        { "control in local", 0, "<a\x01@x.org>", ERR, 0 },
        { "DEL in local", 0, "<a\x7f@x.org>", ERR, 0 },
        { "CR in path", 0, "<a\r@x.org>", ERR, 0 },
        { "utf8 local refused", 0, "<\xc3\xbc@example.jp>", ERR, 0 },
        { "utf8 local with flag", U, "<\xc3\xbc@example.jp>",
          "\xc3\xbc@example.jp", 0 },
        { "utf8 domain with flag", U, "<a@b\xc3\xbc" "cher.de>",
          "a@b\xc3\xbc" "cher.de", 0 },
        { "utf8 domain refused", 0, "<a@b\xc3\xbc" "cher.de>", ERR, 0 },
        { "utf8 quoted with flag", U, "<\"\xe6\x97\xa5 x\"@x.jp>",
          "\xe6\x97\xa5 x@x.jp", 0 },
        { "utf8 quoted refused", 0, "<\"\xe6\x97\xa5\"@x.jp>", ERR, 0 },
        { "overlong utf8", U, "<\xc0\xaf@x.org>", ERR, 0 },
        { "overlong 3-byte", U, "<\xe0\x80\xaf@x.org>", ERR, 0 },
        { "surrogate", U, "<\xed\xa0\x80@x.org>", ERR, 0 },
        { "past U+10FFFF", U, "<\xf4\x90\x80\x80@x.org>", ERR, 0 },
        { "truncated utf8", U, "<\xe6\x97@x.org>", ERR, 0 },
        { "lone continuation", U, "<\x80@x.org>", ERR, 0 },
        { "4-byte utf8", U, "<\xf0\x9f\x93\xae@x.org>",
          "\xf0\x9f\x93\xae@x.org", 0 },
        { "empty input", 0, "", ERR, 0 },
        { "only <", 0, "<", ERR, 0 },
        { "only >", 0, ">", ERR, 0 },
        { "only @", 0, "<@>", ERR, 0 },
};

/* run_path - parse text; returns the address or NULL, consumed in *used */
static char *run_path(const char *text, int flags, size_t *used)
{
        struct status st;
        char *addr = (char *)"not set";
        size_t consumed = 12345;

        if (addr_parse_path(text, flags, &addr, &consumed, &st) < 0) {
                assert_null(addr);
                assert_true(st.text[0] != '\0');
                assert_int_equal(st.code[0], '5');
                return NULL;
        }
        assert_true(consumed <= strlen(text));
        *used = consumed;
        return addr;
}

static void test_path_table(void **state)
{
        for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]);
             i++) {
                const struct path_case *c = &path_cases[i];
                size_t used = 0, want_used = c->consumed ? c->consumed :
                        strlen(c->in);
                char *got = run_path(c->in, c->flags, &used);

                if ((got == NULL) != (c->want == NULL) ||
                    (got != NULL && strcmp(got, c->want) != 0))
                        fail_msg("case %s: got \"%s\", want \"%s\"", c->name,
                                 got ? got : "(error)",
                                 c->want ? c->want : "(error)");
                if (got != NULL && used != want_used)
                        fail_msg("case %s: got consumed %zu, want %zu",
                                 c->name, used, want_used);
                free(got);
        }
}

/* every truncation of every case, each in a buffer of exactly its size, so
 * a read past the end is caught by the sanitizers; a prefix may parse
 * only if it does not claim more than it has */
static void test_path_truncated(void **state)
{
        for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]);
             i++) {
                const struct path_case *c = &path_cases[i];
                size_t len = strlen(c->in);

                for (size_t n = 0; n <= len; n++) {
                        char *copy = xmalloc(n + 1);
                        size_t used = 0;
                        char *got;

                        memcpy(copy, c->in, n);
                        copy[n] = '\0';
                        got = run_path(copy, c->flags, &used);
                        if (got != NULL && n < len && c->in[0] == '<' &&
                            strchr(copy, '>') == NULL)
                                fail_msg("case %s: prefix %zu parsed as "
                                         "\"%s\"", c->name, n, got);
                        free(got);
                        free(copy);
                }
        }
}

static void test_path_limits(void **state)
{
        struct buf b;
        size_t used;
        char *got;

        buf_init(&b, 0);
        /* local part at and past the limit */
        buf_putc(&b, '<');
        for (int i = 0; i < ADDR_LOCAL_MAX; i++)
                buf_putc(&b, 'a');
        buf_puts(&b, "@x.org>");
        got = run_path(b.data, 0, &used);
        assert_non_null(got);
        free(got);
        buf_reset(&b);
        buf_putc(&b, '<');
        for (int i = 0; i < ADDR_LOCAL_MAX + 1; i++)
                buf_putc(&b, 'a');
        buf_puts(&b, "@x.org>");
        assert_null(run_path(b.data, 0, &used));
        /* a quoted one too */
        buf_reset(&b);
        buf_puts(&b, "<\"");
        for (int i = 0; i < 100000; i++)
                buf_puts(&b, "\\a");
        buf_puts(&b, "\"@x.org>");
        assert_null(run_path(b.data, 0, &used));
        /* label of 63 and 64 bytes, domain past 255 */
        buf_reset(&b);
        buf_printf(&b, "<a@%0*d.org>", 63, 0);
        got = run_path(b.data, 0, &used);
        assert_non_null(got);
        free(got);
        buf_reset(&b);
        buf_printf(&b, "<a@%0*d.org>", 64, 0);
        assert_null(run_path(b.data, 0, &used));
        buf_reset(&b);
        buf_puts(&b, "<a@");
        for (int i = 0; i < 60; i++)
                buf_puts(&b, "abcd.");
        buf_puts(&b, "org>");
        assert_null(run_path(b.data, 0, &used));
        /* a megabyte of '<' and of route */
        buf_reset(&b);
        for (int i = 0; i < 1 << 20; i++)
                buf_putc(&b, '<');
        assert_null(run_path(b.data, 0, &used));
        buf_reset(&b);
        buf_putc(&b, '<');
        for (int i = 0; i < 1 << 18; i++)
                buf_puts(&b, "@r.x,");
        buf_puts(&b, "@r:u@x.org>");
        got = run_path(b.data, 0, &used);
        assert_string_equal(got, "u@x.org");
        free(got);
        /* a NUL ends the text */
        assert_null(run_path("<a@b.c\0>", 0, &used));
        buf_release(&b);
}

static void test_external(void **state)
{
        static const struct {
                const char *in, *want;
        } cases[] = {
                { "a@x.org", "a@x.org" },
                { "a.b@x.org", "a.b@x.org" },
                { "", "" },
                { "postmaster", "postmaster" },
                { "a b@x.org", "\"a b\"@x.org" },
                { "a\"b@x.org", "\"a\\\"b\"@x.org" },
                { "a\\b@x.org", "\"a\\\\b\"@x.org" },
                { "a@b@x.org", "\"a@b\"@x.org" },
                { "a..b@x.org", "\"a..b\"@x.org" },
                { ".a@x.org", "\".a\"@x.org" },
                { "a.@x.org", "\"a.\"@x.org" },
                { "a,b@x.org", "\"a,b\"@x.org" },
                { "\xc3\xbc@x.org", "\xc3\xbc@x.org" },
                { "a b", "\"a b\"" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *got = addr_external(cases[i].in);

                if (strcmp(got, cases[i].want) != 0)
                        fail_msg("case %s: got \"%s\", want \"%s\"",
                                 cases[i].in, got, cases[i].want);
                free(got);
        }
}

/* what parses, written out and parsed again, is the same address */
static void test_round_trip(void **state)
{
        for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]);
             i++) {
                const struct path_case *c = &path_cases[i];
                size_t used;
                char *a, *ext, *path, *again;

                if (c->want == NULL || *c->want == '\0')
                        continue;
                a = run_path(c->in, c->flags, &used);
                ext = addr_external(a);
                path = xasprintf("<%s>", ext);
                again = run_path(path, c->flags, &used);
                if (again == NULL || strcmp(again, a) != 0)
                        fail_msg("case %s: got \"%s\" from %s, want \"%s\"",
                                 c->name, again ? again : "(error)", path, a);
                free(a);
                free(ext);
                free(path);
                free(again);
        }
}

static void test_split_and_extension(void **state)
{
        static const struct {
                const char *in, *local, *domain;
        } splits[] = {
                { "a@X.Org", "a", "x.org" },
                { "A@b@c", "A@b", "c" },
                { "root", "root", "" },
                { "@x", "", "x" },
        };
        static const struct {
                const char *in, *delims, *stripped, *ext;
        } exts[] = {
                { "user+tag@d", "+", "user@d", "tag" },
                { "user+tag@d", "", "user+tag@d", NULL },
                { "user+tag@d", NULL, "user+tag@d", NULL },
                { "user-tag+x@d", "+-", "user@d", "tag+x" },
                { "+tag@d", "+", "+tag@d", NULL },
                { "user+@d", "+", "user@d", "" },
                { "user+tag", "+", "user", "tag" },
                { "a@b+c", "+", "a@b+c", NULL },
                { "", "+", "", NULL },
        };
        char *l, *d;

        for (size_t i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
                assert_int_equal(addr_split(splits[i].in, &l, &d), 0);
                if (strcmp(l, splits[i].local) != 0 ||
                    strcmp(d, splits[i].domain) != 0)
                        fail_msg("case %s: got %s / %s, want %s / %s",
                                 splits[i].in, l, d, splits[i].local,
                                 splits[i].domain);
                free(l);
                free(d);
        }
        assert_int_equal(addr_split("", &l, &d), -1);
        assert_null(l);
        for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
                char *s = addr_strip_extension(exts[i].in, exts[i].delims);
                char *e = addr_extension(exts[i].in, exts[i].delims);

                if (strcmp(s, exts[i].stripped) != 0)
                        fail_msg("case %s: got \"%s\", want \"%s\"",
                                 exts[i].in, s, exts[i].stripped);
                if ((e == NULL) != (exts[i].ext == NULL) ||
                    (e != NULL && strcmp(e, exts[i].ext) != 0))
                        fail_msg("case %s ext: got \"%s\", want \"%s\"",
                                 exts[i].in, e ? e : "(none)",
                                 exts[i].ext ? exts[i].ext : "(none)");
                free(s);
                free(e);
        }
}

static void test_fold_qualify_domain(void **state)
{
        char *s = addr_fold("AbC@\xc3\x9c" "X.ORG");

        assert_string_equal(s, "abc@\xc3\x9cx.org");
        free(s);
        s = addr_qualify("root", "example.org");
        assert_string_equal(s, "root@example.org");
        free(s);
        s = addr_qualify("root@x", "example.org");
        assert_string_equal(s, "root@x");
        free(s);
        s = addr_qualify("", "example.org");
        assert_string_equal(s, "");
        free(s);
        s = addr_qualify("root", "");
        assert_string_equal(s, "root");
        free(s);
        assert_true(addr_domain_valid("mail.example.org", 0));
        assert_true(addr_domain_valid("[192.0.2.1]", 0));
        assert_false(addr_domain_valid("", 0));
        assert_false(addr_domain_valid("a..b", 0));
        assert_false(addr_domain_valid("b\xc3\xbc.de", 0));
        assert_true(addr_domain_valid("b\xc3\xbc.de", ADDR_UTF8));
}

static void test_esmtp_params(void **state)
{
        static const struct {
                const char *name, *in, *want;   /* want: "K=V|K|" or ERR */
        } cases[] = {
                { "none", "", "" },
                { "spaces only", "   ", "" },
                { "one", "SIZE=100", "SIZE=100|" },
                { "several", "SIZE=1 BODY=8BITMIME  SMTPUTF8",
                  "SIZE=1|BODY=8BITMIME|SMTPUTF8|" },
                { "xtext kept", "ORCPT=rfc822;a+2Bb@x",
                  "ORCPT=rfc822;a+2Bb@x|" },
                { "trailing CRLF", "SIZE=1\r\n", "SIZE=1|" },
                { "empty value", "SIZE=", ERR },
                { "bad key", "-X=1", ERR },
                { "key with underscore", "A_B=1", ERR },
                { "value with =", "A=b=c", ERR },
                { "control in value", "A=b\x01", ERR },
                { "utf8 value", "ORCPT=utf-8;\xc3\xbc@x",
                  "ORCPT=utf-8;\xc3\xbc@x|" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct addr_param *p;
                struct status st;
                size_t n;
                struct buf got;

                buf_init(&got, 0);
                if (addr_esmtp_params(cases[i].in, &p, &n, &st) < 0) {
                        assert_null(p);
                        if (cases[i].want != NULL)
                                fail_msg("case %s: got error %s, want %s",
                                         cases[i].name, st.text,
                                         cases[i].want);
                        continue;
                }
                for (size_t j = 0; j < n; j++)
                        buf_printf(&got, "%s%s%s|", p[j].key,
                                   p[j].value ? "=" : "",
                                   p[j].value ? p[j].value : "");
                if (cases[i].want == NULL ||
                    strcmp(buf_cstr(&got), cases[i].want) != 0)
                        fail_msg("case %s: got \"%s\", want \"%s\"",
                                 cases[i].name, buf_cstr(&got),
                                 cases[i].want ? cases[i].want : "(error)");
                addr_esmtp_params_free(&p, n);
                assert_null(p);
                buf_release(&got);
        }
        /* the count limit */
        struct buf many;
        struct addr_param *p;
        struct status st;
        size_t n;

        buf_init(&many, 0);
        for (int i = 0; i <= ADDR_PARAMS_MAX; i++)
                buf_printf(&many, "X%d=1 ", i);
        assert_int_equal(addr_esmtp_params(many.data, &p, &n, &st), -1);
        buf_release(&many);
}

static void test_xtext(void **state)
{
        static const struct {
                const char *in, *want;
        } dec[] = {
                { "abc", "abc" },
                { "a+2Bb", "a+b" },
                { "a+2bb", "a+b" },
                { "+3D", "=" },
                { "", "" },
                { "a+2", ERR },
                { "a+", ERR },
                { "a+ZZ", ERR },
                { "a+00", ERR },
                { "a+0A", ERR },
                { "a=b", ERR },
                { "a b", ERR },
        };

        for (size_t i = 0; i < sizeof(dec) / sizeof(dec[0]); i++) {
                char *out = (char *)"x";
                int r = addr_xtext_decode(dec[i].in, &out);

                if ((r < 0) != (dec[i].want == NULL) ||
                    (r == 0 && strcmp(out, dec[i].want) != 0))
                        fail_msg("case %s: got %s, want %s", dec[i].in,
                                 r < 0 ? "(error)" : out,
                                 dec[i].want ? dec[i].want : "(error)");
                if (r == 0) {
                        char *enc = addr_xtext_encode(out);
                        char *back;

                        assert_int_equal(addr_xtext_decode(enc, &back), 0);
                        assert_string_equal(back, out);
                        free(back);
                        free(enc);
                        free(out);
                } else {
                        assert_null(out);
                }
        }
        char *e = addr_xtext_encode("a+b=c d\xc3\xbc");
        assert_string_equal(e, "a+2Bb+3Dc+20d+C3+BC");
        free(e);
}

static void test_header_list(void **state)
{
        static const struct {
                const char *name, *in, *want;   /* "a|b|" or ERR */
        } cases[] = {
                { "empty", "", "" },
                { "one", "a@b.c", "a@b.c|" },
                { "two", "a@b.c, d@e.f", "a@b.c|d@e.f|" },
                { "display name", "Ann Example <ann@x.org>", "ann@x.org|" },
                { "quoted display name with comma",
                  "\"Example, Ann\" <ann@x.org>, bob@y.org",
                  "ann@x.org|bob@y.org|" },
                { "comment", "ann@x.org (Ann), (c) bob@y.org",
                  "ann@x.org|bob@y.org|" },
                { "nested comment", "ann@x.org (a (b) c)", "ann@x.org|" },
                { "folded", "a@b.c,\r\n\td@e.f", "a@b.c|d@e.f|" },
                { "group", "friends: a@b.c, d@e.f;, g@h.i",
                  "a@b.c|d@e.f|g@h.i|" },
                { "empty group", "undisclosed-recipients:;", "" },
                { "quoted local", "\"a b\"@x.org", "a b@x.org|" },
                { "obsolete local", "\"a\".b@x.org", "a.b@x.org|" },
                { "route", "<@r.x:a@b.c>", "a@b.c|" },
                { "bare name", "root", "root|" },
                { "literal", "u@[192.0.2.1]", "u@[192.0.2.1]|" },
                { "utf8", "\xc3\xbc@b\xc3\xbc.de", "\xc3\xbc@b\xc3\xbc.de|" },
                { "empty angle", "<>", "" },
                { "empty items", ", ,a@b.c,,", "a@b.c|" },
                { "name without address", "John Doe", ERR },
                { "unbalanced <", "John <j@x.org", ERR },
                { "unbalanced >", "j@x.org>", ERR },
                { "unbalanced quote", "\"John <j@x.org>", ERR },
                { "unbalanced comment", "j@x.org (x", ERR },
                { "text after >", "<a@b.c> x", ERR },
                { "two angles", "<a@b.c> <d@e.f>", ERR },
                { "bad domain", "a@b..c", ERR },
                { "empty domain", "a@", ERR },
                { "control", "a\x01@b.c", ERR },
                { "backslash outside quotes", "a\\b@c", ERR },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char **list = (char **)1;
                struct status st;
                size_t n = 99;
                struct buf got;

                buf_init(&got, 0);
                if (addr_header_list(cases[i].in, &list, &n, &st) < 0) {
                        assert_null(list);
                        if (cases[i].want != NULL)
                                fail_msg("case %s: got error %s, want %s",
                                         cases[i].name, st.text,
                                         cases[i].want);
                        continue;
                }
                for (size_t j = 0; j < n; j++)
                        buf_printf(&got, "%s|", list[j]);
                assert_null(list[n]);
                if (cases[i].want == NULL ||
                    strcmp(buf_cstr(&got), cases[i].want) != 0)
                        fail_msg("case %s: got \"%s\", want \"%s\"",
                                 cases[i].name, buf_cstr(&got),
                                 cases[i].want ? cases[i].want : "(error)");
                addr_list_free(&list);
                assert_null(list);
                buf_release(&got);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_path_table),
                cmocka_unit_test(test_path_truncated),
                cmocka_unit_test(test_path_limits),
                cmocka_unit_test(test_external),
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_split_and_extension),
                cmocka_unit_test(test_fold_qualify_domain),
                cmocka_unit_test(test_esmtp_params),
                cmocka_unit_test(test_xtext),
                cmocka_unit_test(test_header_list),
        };

        return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
