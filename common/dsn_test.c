/* dsn_test.c - delivery status notifications: structure (checked with the
 * MIME parser), report fields, RET=HDRS and bounce_size_limit, 8-bit
 * originals, header injection through diagnostics, the original read in
 * small chunks */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "dsn.h"
#include "mem.h"
#include "mime.h"

struct src {
        const char *text;
        size_t pos, chunk;
        int calls, fail;
};

/* read_chunks - hand out src->text chunk bytes at a time */
static int read_chunks(void *ctx, int first, const char **data_r,
                       size_t *len_r, struct status *st)
{
        struct src *s = ctx;
        size_t left;

        if (first)
                s->pos = 0;
        s->calls++;
        if (s->fail)
                return status_set(st, STATUS_LOCAL_IO, "read failed");
        left = strlen(s->text) - s->pos;
        if (left == 0)
                return 0;
        *len_r = left < s->chunk ? left : s->chunk;
        *data_r = s->text + s->pos;
        s->pos += *len_r;
        return 1;
}

static const char original[] =
        "From: ann@example.org\nTo: bob@example.com\nSubject: hi\n"
        "Message-ID: <1@example.org>\n\nbody line 1\nbody line 2\n";

/* header_value - the unfolded value of name in part, as a new string */
static char *header_value(const struct mime_message *m,
                          const struct mime_part *p, const char *name)
{
        struct buf b;

        buf_init(&b, 0);
        if (mime_header_get(m, p, name, &b) != 1) {
                buf_release(&b);
                return NULL;
        }
        return buf_steal(&b);
}

static char *body_of(const struct mime_message *m, const struct mime_part *p)
{
        size_t len;
        const char *b = mime_part_body(m, p, &len);

        return xstrndup(b, len);
}

struct compose_case {
        const char *name;
        int ret_hdrs;
        long long size_limit;
        enum dsn_action action;
        const char *want_subject;
        const char *want_third_type;    /* Content-Type of part 3 */
        int want_body_returned;
};

static void test_compose_table(void **state)
{
        static const struct compose_case cases[] = {
                { "bounce, full", 0, 50000, DSN_ACTION_FAILED,
                  "Undelivered Mail Returned to Sender", "message/rfc822",
                  1 },
                { "bounce, RET=HDRS", 1, 50000, DSN_ACTION_FAILED,
                  "Undelivered Mail Returned to Sender",
                  "text/rfc822-headers", 0 },
                { "bounce, over the size limit", 0, 40, DSN_ACTION_FAILED,
                  "Undelivered Mail Returned to Sender",
                  "text/rfc822-headers", 0 },
                { "bounce, no limit", 0, 0, DSN_ACTION_FAILED,
                  "Undelivered Mail Returned to Sender", "message/rfc822",
                  1 },
                { "delay", 0, 50000, DSN_ACTION_DELAYED,
                  "Delayed Mail (still being retried)",
                  "text/rfc822-headers", 0 },
                { "success", 0, 50000, DSN_ACTION_DELIVERED,
                  "Successful Mail Delivery Report", "text/rfc822-headers",
                  0 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const struct compose_case *c = &cases[i];
                struct src s = { original, 0, 7, 0, 0 };
                struct dsn_rcpt r[2] = {
                        { "bob@example.com", "rfc822;Bob+2Bx@example.com",
                          c->action, c->action == DSN_ACTION_FAILED ?
                          "5.1.1" : c->action == DSN_ACTION_DELAYED ?
                          "4.4.1" : "2.0.0",
                          "unknown user: \"bob\"", NULL, NULL, 1000, 5000 },
                        { "a b@example.com", NULL, c->action, NULL,
                          "550 5.1.1 no such user", "smtp", "mx.example.com",
                          0, 0 },
                };
                struct dsn_msg m = {
                        "4Xk2Lq3vZ1", "ann@example.org", "env+2Bid",
                        c->ret_hdrs, 1700000000, "mx.example.org", "Yubin",
                        c->size_limit, "postmaster", read_chunks, &s,
                };
                struct buf out;
                struct status st;
                struct mime_message *mm;
                const struct mime_part *p1, *p2, *p3;
                char *v, *b;

                buf_init(&out, 0);
                assert_int_equal(dsn_compose(&m, r, 2, &out, &st), 0);
                assert_null(memchr(out.data, '\r', out.len));
                mm = mime_parse(out.data, out.len);
                v = header_value(mm, mm->root, "Subject");
                if (v == NULL || strcmp(v, c->want_subject) != 0)
                        fail_msg("case %s: got subject %s, want %s", c->name,
                                 v, c->want_subject);
                free(v);
                v = header_value(mm, mm->root, "From");
                assert_non_null(strstr(v, "MAILER-DAEMON@mx.example.org"));
                free(v);
                v = header_value(mm, mm->root, "To");
                assert_string_equal(v, "ann@example.org");
                free(v);
                v = header_value(mm, mm->root, "Content-Type");
                assert_non_null(strstr(v, "multipart/report; "
                                       "report-type=delivery-status;"));
                free(v);
                v = header_value(mm, mm->root, "Date");
                assert_non_null(v);
                free(v);
                p1 = mime_part_find(mm, "1");
                p2 = mime_part_find(mm, "2");
                p3 = mime_part_find(mm, "3");
                assert_non_null(p1);
                assert_non_null(p2);
                if (p3 == NULL)
                        fail_msg("case %s: no third part in:\n%s", c->name,
                                 out.data);
                assert_null(mime_part_find(mm, "4"));
                b = body_of(mm, p1);
                assert_non_null(strstr(b, "This is the mail system at host "
                                       "mx.example.org."));
                assert_non_null(strstr(b, "<bob@example.com>: unknown user: "
                                       "\"bob\""));
                assert_non_null(strstr(b, "<\"a b\"@example.com>: host "
                                       "mx.example.com said: 550 5.1.1 no "
                                       "such user"));
                free(b);
                v = header_value(mm, p2, "Content-Type");
                assert_string_equal(v, "message/delivery-status");
                free(v);
                b = body_of(mm, p2);
                static const char *const fields[] = {
                        "Reporting-MTA: dns; mx.example.org\n",
                        "X-Yubin-Queue-ID: 4Xk2Lq3vZ1\n",
                        "Original-Envelope-Id: env+2Bid\n",
                        "Arrival-Date: ",
                        ("\n\nFinal-Recipient: rfc822; bob@example.com\n"
                         "Original-Recipient: rfc822;Bob+x@example.com\n"),
                        "Diagnostic-Code: X-Yubin; unknown user: \"bob\"\n",
                        "\n\nFinal-Recipient: rfc822; \"a b\"@example.com\n",
                        "Remote-MTA: dns; mx.example.com\n",
                        "Diagnostic-Code: smtp; 550 5.1.1 no such user\n",
                        "Last-Attempt-Date: ",
                };
                for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]);
                     f++)
                        if (strstr(b, fields[f]) == NULL)
                                fail_msg("case %s: no \"%s\" in report:\n%s",
                                         c->name, fields[f], b);
                char want_action[64];
                snprintf(want_action, sizeof(want_action), "Action: %s\n",
                         dsn_action_name(c->action));
                assert_non_null(strstr(b, want_action));
                assert_true((strstr(b, "Will-Retry-Until:") != NULL) ==
                            (c->action == DSN_ACTION_DELAYED));
                free(b);
                v = header_value(mm, p3, "Content-Type");
                if (strcmp(v, c->want_third_type) != 0)
                        fail_msg("case %s: got %s, want %s", c->name, v,
                                 c->want_third_type);
                free(v);
                b = body_of(mm, p3);
                assert_non_null(strstr(b, "Message-ID: <1@example.org>"));
                if ((strstr(b, "body line 2") != NULL) !=
                    c->want_body_returned)
                        fail_msg("case %s: body returned: %s", c->name, b);
                free(b);
                mime_free(&mm);
                buf_release(&out);
        }
}

static void test_eight_bit_and_injection(void **state)
{
        struct src s = { "Subject: \xe6\x97\xa5\n\n\xe6\x97\xa5\n", 0, 1, 0,
                         0 };
        struct dsn_rcpt r = { "bob@example.com", NULL, DSN_ACTION_FAILED,
                              "5.0.0", "bad\r\nX-Injected: yes\n", NULL,
                              "mx\nEvil: 1", 0, 0 };
        struct dsn_msg m = { "Q1", "ann@example.org", NULL, 0, 0,
                             "mx.example.org", NULL, 50000, NULL,
                             read_chunks, &s };
        struct buf out;
        struct status st;

        buf_init(&out, 0);
        assert_int_equal(dsn_compose(&m, &r, 1, &out, &st), 0);
        assert_non_null(strstr(out.data, "\nContent-Transfer-Encoding: "
                               "8bit\n"));
        assert_null(strstr(out.data, "\nX-Injected"));
        assert_null(strstr(out.data, "\nEvil"));
        assert_non_null(strstr(out.data, "Diagnostic-Code: X-Yubin; bad  "
                               "X-Injected: yes \n"));
        /* no envid, no arrival: the fields are left out */
        assert_null(strstr(out.data, "Original-Envelope-Id"));
        assert_null(strstr(out.data, "Arrival-Date"));
        buf_release(&out);
}

static void test_errors_and_no_original(void **state)
{
        struct src s = { original, 0, 100, 0, 1 };
        struct dsn_rcpt r = { "bob@example.com", NULL, DSN_ACTION_FAILED,
                              "5.1.1", NULL, NULL, NULL, 0, 0 };
        struct dsn_msg m = { "Q1", "ann@example.org", NULL, 0, 0,
                             "mx.example.org", NULL, 50000, NULL,
                             read_chunks, &s };
        struct buf out;
        struct status st;
        struct mime_message *mm;

        buf_init(&out, 0);
        assert_int_equal(dsn_compose(&m, &r, 1, &out, &st), -1);
        assert_string_equal(st.text, "read failed");
        m.sender = "";
        assert_int_equal(dsn_compose(&m, &r, 1, &out, &st), -1);
        m.sender = "ann@example.org";
        assert_int_equal(dsn_compose(&m, &r, 0, &out, &st), -1);
        /* without an original: two parts */
        m.read = NULL;
        buf_reset(&out);
        assert_int_equal(dsn_compose(&m, &r, 1, &out, &st), 0);
        mm = mime_parse(out.data, out.len);
        assert_non_null(mime_part_find(mm, "2"));
        assert_null(mime_part_find(mm, "3"));
        assert_non_null(strstr(out.data, "<bob@example.com>: failed\n"));
        mime_free(&mm);
        buf_release(&out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_compose_table),
                cmocka_unit_test(test_eight_bit_and_injection),
                cmocka_unit_test(test_errors_and_no_original),
        };

        return cmocka_run_group_tests_name("dsn", tests, NULL, NULL);
}
