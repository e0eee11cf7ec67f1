/* sendmail_msg_test.c - the message of a sendmail submission: reading
 * stdin (CR LF, the "." line, a last line without LF, the size limit),
 * fed whole and one byte at a time; header fixing (-t, Bcc, added fields,
 * Resent-, an mbox From_ line, no header at all); senders and
 * recipients qualified with $myorigin */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "cfg.h"
#include "mem.h"
#include "sendmail.h"

#define T(s) s, sizeof(s) - 1

/* read_via_pipe - sendmail_msg_read over a pipe written chunk bytes at a
 * time (the whole input fits the pipe buffer) */
static int read_via_pipe(const char *in, size_t len, size_t chunk,
                         int dot_ends, size_t max, struct buf *out,
                         struct status *st)
{
        int fds[2], r;

        assert_int_equal(pipe(fds), 0);
        for (size_t off = 0; off < len; off += chunk) {
                size_t n = len - off < chunk ? len - off : chunk;

                assert_int_equal(write(fds[1], in + off, n), (ssize_t)n);
        }
        close(fds[1]);
        r = sendmail_msg_read(fds[0], dot_ends, max, out, st);
        close(fds[0]);
        return r;
}

static void test_read(void **state)
{
        static const struct {
                const char *name;
                const char *in;
                size_t len;
                int dot_ends;
                size_t max;
                const char *want;       /* NULL: error */
        } cases[] = {
                { "plain", T("a\nb\n"), 1, 0, "a\nb\n" },
                { "CRLF", T("a\r\nb\r\n"), 1, 0, "a\nb\n" },
                { "lone CR kept", T("a\rb\n"), 1, 0, "a\rb\n" },
                { "CR at the end", T("a\r"), 1, 0, "a\r\n" },
                { "no final LF", T("a\nb"), 1, 0, "a\nb\n" },
                { "dot ends", T("a\n.\nb\n"), 1, 0, "a\n" },
                { "dot CRLF ends", T("a\r\n.\r\nb\r\n"), 1, 0, "a\n" },
                { "dot at EOF ends", T("a\n."), 1, 0, "a\n" },
                { "-i: dot is text", T("a\n.\nb\n"), 0, 0, "a\n.\nb\n" },
                { "two dots are text", T("..\n"), 1, 0, "..\n" },
                { "dot first", T(".\nx\n"), 1, 0, "" },
                { "empty", T(""), 1, 0, "" },
                { "NUL kept", T("a\0b\n"), 1, 0, NULL },
                { "at the limit", T("abcd\n"), 1, 5, "abcd\n" },
                { "over the limit", T("abcde\n"), 1, 5, NULL },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                for (size_t chunk = 1; chunk <= 4096; chunk *= 4096) {
                        struct buf out;
                        struct status st;
                        int r;

                        buf_init(&out, 0);
                        r = read_via_pipe(cases[i].in, cases[i].len, chunk,
                                          cases[i].dot_ends, cases[i].max,
                                          &out, &st);
                        if (strcmp(cases[i].name, "NUL kept") == 0) {
                                assert_int_equal(r, 0);
                                assert_int_equal(out.len, 4);
                                assert_memory_equal(out.data, "a\0b\n", 4);
                        } else if (cases[i].want == NULL) {
                                if (r == 0)
                                        fail_msg("case %s/%zu: got \"%s\", "
                                                 "want an error",
                                                 cases[i].name, chunk,
                                                 buf_cstr(&out));
                                assert_string_equal(st.code, STATUS_TOO_BIG);
                        } else if (r < 0 ||
                                   strcmp(buf_cstr(&out), cases[i].want)) {
                                fail_msg("case %s/%zu: got \"%s\", want "
                                         "\"%s\"", cases[i].name, chunk,
                                         r < 0 ? st.text : buf_cstr(&out),
                                         cases[i].want);
                        }
                        buf_release(&out);
                }
        }
}

static struct cfg *test_cfg(void)
{
        struct cfg *c = cfg_new("/nonexistent");

        cfg_set(c, "myhostname", "mx.example.org", NULL);
        cfg_set(c, "myorigin", "example.org", NULL);
        return c;
}

/* shape - msg's header fields joined by '|' (a generated Date: or
 * Message-ID: shown only by name, as they vary), then '/' and the body;
 * a new string */
static char *shape(const char *msg)
{
        struct buf b;
        const char *p = msg;

        buf_init(&b, 0);
        while (*p != '\0' && *p != '\n') {
                const char *nl = strchr(p, '\n');
                size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);

                if (strncmp(p, "Date: ", 6) == 0 && n > 10 && p[9] == ',')
                        buf_puts(&b, "Date|");
                else if (strncmp(p, "Message-ID: <", 13) == 0 &&
                         strstr(p, "@mx.example.org>") != NULL &&
                         (size_t)(strstr(p, "@mx.example.org>") - p) < n)
                        buf_puts(&b, "Message-ID|");
                else
                        buf_printf(&b, "%.*s|", (int)n, p);
                p += n + (nl != NULL);
        }
        buf_printf(&b, "/%s", *p == '\n' ? p + 1 : p);
        return buf_steal(&b);
}

static void test_fix(void **state)
{
        static const struct {
                const char *name;
                int extract;
                const char *in, *want, *rcpts;
        } cases[] = {
                { "adds From Date Message-ID", 0, "Subject: s\n\nbody\n",
                  "Subject: s|From: \"Ann\" <ann@example.org>|Date|"
                  "Message-ID|/body\n", "" },
                { "keeps what is there", 0,
                  "From: x@y\nDate: d\nMessage-ID: <m@x>\n\nb\n",
                  "From: x@y|Date: d|Message-ID: <m@x>|/b\n", "" },
                { "-t: To Cc Bcc, Bcc removed", 1,
                  "To: a, \"B\" <b@x.net>\nCc: c@y.net\nBcc: d,\n e@z.net\n"
                  "From: f@x\nDate: d\nMessage-ID: <m@x>\n\nb\n",
                  "To: a, \"B\" <b@x.net>|Cc: c@y.net|From: f@x|Date: d|"
                  "Message-ID: <m@x>|/b\n",
                  "a@example.org b@x.net c@y.net d@example.org e@z.net " },
                { "-t: Resent- fields win", 1,
                  "To: old@x\nResent-To: new@x\nResent-Bcc: hid@x\n"
                  "From: f@x\nDate: d\nMessage-ID: <m@x>\n\nb\n",
                  "To: old@x|Resent-To: new@x|From: f@x|Date: d|"
                  "Message-ID: <m@x>|/b\n", "new@x hid@x " },
                { "no header", 0, "just text\n",
                  "From: \"Ann\" <ann@example.org>|Date|Message-ID|"
                  "/just text\n", "" },
                { "header without body", 0, "Subject: s\n",
                  "Subject: s|From: \"Ann\" <ann@example.org>|Date|"
                  "Message-ID|/", "" },
                { "mbox From_ line dropped", 0,
                  "From ann Mon Jan  1 00:00:00 2024\nSubject: s\n\nb\n",
                  "Subject: s|From: \"Ann\" <ann@example.org>|Date|"
                  "Message-ID|/b\n", "" },
                { "bad To with -t", 1, "To: <unbalanced\n\nb\n", NULL, "" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct cfg *c = test_cfg();
                struct maildrop_env env;
                struct status st;
                struct buf msg, rc;
                char *got;
                int r;

                memset(&env, 0, sizeof(env));
                env.sender = xstrdup("ann@example.org");
                buf_init(&msg, 0);
                buf_puts(&msg, cases[i].in);
                r = sendmail_msg_fix(c, &msg, &env, cases[i].extract, "Ann",
                                     &st);
                if (cases[i].want == NULL) {
                        if (r == 0)
                                fail_msg("case %s: got success, want an "
                                         "error", cases[i].name);
                        assert_non_null(strstr(st.text, "To: header"));
                } else {
                        assert_int_equal(r, 0);
                        got = shape(buf_cstr(&msg));
                        if (strcmp(got, cases[i].want) != 0)
                                fail_msg("case %s: got \"%s\", want \"%s\"",
                                         cases[i].name, got, cases[i].want);
                        free(got);
                        buf_init(&rc, 0);
                        for (size_t k = 0; k < env.nrcpt; k++)
                                buf_printf(&rc, "%s ", env.rcpts[k]);
                        if (strcmp(buf_cstr(&rc), cases[i].rcpts) != 0)
                                fail_msg("case %s: got rcpts \"%s\", want "
                                         "\"%s\"", cases[i].name,
                                         buf_cstr(&rc), cases[i].rcpts);
                        buf_release(&rc);
                }
                buf_release(&msg);
                maildrop_env_release(&env);
                cfg_free(&c);
        }
}

static void test_sender_and_rcpts(void **state)
{
        static const struct {
                const char *given, *want;       /* want NULL: error */
        } senders[] = {
                { "bob", "bob@example.org" },
                { "<bob@x.net>", "bob@x.net" },
                { "bob@x.net", "bob@x.net" },
                { "<>", "" },
                { "", "" },
                { "  <>", "" },
                { "a b@x", NULL },
                { "<bob@x.net> junk", NULL },
                { "<\xc3\xbc@x.jp>", "\xc3\xbc@x.jp" },
        };
        struct cfg *c = test_cfg();
        struct maildrop_env env;
        struct status st;

        for (size_t i = 0; i < sizeof(senders) / sizeof(senders[0]); i++) {
                char *got = sendmail_sender(c, senders[i].given, &st);

                if ((got == NULL) != (senders[i].want == NULL) ||
                    (got != NULL && strcmp(got, senders[i].want) != 0))
                        fail_msg("case %s: got \"%s\", want \"%s\"",
                                 senders[i].given, got ? got : "(error)",
                                 senders[i].want ? senders[i].want :
                                 "(error)");
                free(got);
        }
        /* without -f: the login name of the real uid */
        char *me = sendmail_sender(c, NULL, &st);
        assert_non_null(me);
        assert_non_null(strstr(me, "@example.org"));
        free(me);
        memset(&env, 0, sizeof(env));
        assert_int_equal(sendmail_rcpt_add(c, &env, "a, B <b@x.net>", &st),
                         0);
        assert_int_equal(sendmail_rcpt_add(c, &env, "\xc3\xbc@x.jp", &st),
                         0);
        assert_int_equal(env.nrcpt, 3);
        assert_string_equal(env.rcpts[0], "a@example.org");
        assert_string_equal(env.rcpts[1], "b@x.net");
        assert_int_equal(env.smtputf8, 1);
        assert_int_equal(sendmail_rcpt_add(c, &env, "a@@b", &st), -1);
        assert_int_equal(env.nrcpt, 3);
        maildrop_env_release(&env);
        cfg_free(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_read),
                cmocka_unit_test(test_fix),
                cmocka_unit_test(test_sender_and_rcpts),
        };

        return cmocka_run_group_tests_name("sendmail_msg", tests, NULL,
                                           NULL);
}
