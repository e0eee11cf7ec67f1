/* mime_recode_test.c - unit tests for mime_recode.c
 * Tables: quoted-printable and base64 bodies (RFC 2045 6.7 rules: '='
 * and 8-bit bytes encoded, white space at a line end encoded, soft line
 * breaks within 76 columns); then whole messages: only leaves with an
 * identity encoding are re-encoded, their field replaced or added. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "mime.h"
#include "mime_recode.h"

static const struct {
        const char *name;
        mime_recode_encoder *enc;
        const char *in, *want;
} bodies[] = {
        { "qp ascii", mime_recode_qp, "plain text\n", "plain text\n" },
        { "qp 8-bit and =", mime_recode_qp, "K\xc3\xb6ln = 1\n",
          "K=C3=B6ln =3D 1\n" },
        { "qp space at line end", mime_recode_qp, "a \nb\t\n",
          "a=20\nb=09\n" },
        { "qp no final newline", mime_recode_qp, "x\xff", "x=FF" },
        { "qp bare CR", mime_recode_qp, "a\rb\n", "a=0Db\n" },
        { "qp stored CR LF", mime_recode_qp, "a\r\nb\r\n", "a\nb\n" },
        { "qp soft break", mime_recode_qp,
          "0123456789012345678901234567890123456789012345678901234567890"
          "1234567890123456789\n",
          "0123456789012345678901234567890123456789012345678901234567890"
          "12345678901234=\n56789\n" },
        { "qp 76 fits", mime_recode_qp,
          "0123456789012345678901234567890123456789012345678901234567890"
          "123456789012345\n",
          "0123456789012345678901234567890123456789012345678901234567890"
          "123456789012345\n" },
        { "qp encoded byte not split", mime_recode_qp,
          "0123456789012345678901234567890123456789012345678901234567890"
          "1234567890123\xe9x\n",
          "0123456789012345678901234567890123456789012345678901234567890"
          "1234567890123=\n=E9x\n" },
        { "base64", mime_recode_base64, "ab\0c", "YWIAYw==" },
};

static void test_bodies(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
                struct buf out;
                size_t len = strlen(bodies[i].in);

                if (bodies[i].enc == mime_recode_base64)
                        len = 4;        /* the NUL is content */
                buf_init(&out, 0);
                bodies[i].enc(&out, bodies[i].in, len, "\n");
                if (strcmp(buf_cstr(&out), bodies[i].want) != 0)
                        fail_msg("case %s: got \"%s\", want \"%s\"",
                                 bodies[i].name, buf_cstr(&out),
                                 bodies[i].want);
                /* no line longer than 76 */
                const char *p = buf_cstr(&out);
                while (*p != '\0') {
                        size_t n = strcspn(p, "\n");
                        assert_true(n <= MIME_RECODE_LINE);
                        p += n + (p[n] == '\n');
                }
                buf_release(&out);
        }
}

static int has_8bit(const char *body, size_t len)
{
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)body[i] >= 0x80)
                        return 1;
        return 0;
}

static const struct mime_recode qp = {
        .cte = "quoted-printable",
        .want = has_8bit,
        .encode = mime_recode_qp,
};

static const struct {
        const char *name, *in, *want;   /* want NULL: left as it is */
} messages[] = {
        { "single part 8bit field replaced",
          "MIME-Version: 1.0\nContent-Transfer-Encoding: 8bit\n"
          "Subject: x\n\n\xc3\xa9t\xc3\xa9\n",
          "MIME-Version: 1.0\nContent-Transfer-Encoding: quoted-printable\n"
          "Subject: x\n\n=C3=A9t=C3=A9\n" },
        { "field added", "MIME-Version: 1.0\n\n\xe9\n",
          "MIME-Version: 1.0\nContent-Transfer-Encoding: quoted-printable\n"
          "\n=E9\n" },
        { "not MIME: as it is", "Subject: x\n\n\xe9\n", NULL },
        { "ascii: as it is", "MIME-Version: 1.0\n\nabc\n", NULL },
        { "base64 part left", "MIME-Version: 1.0\nContent-Type: "
          "multipart/mixed; boundary=b\n\n--b\nContent-Transfer-Encoding: "
          "base64\n\n\xe9\n--b--\n", NULL },
        { "one part of two",
          "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
          "--b\n\nascii\n--b\nContent-Transfer-Encoding: 8bit\n\n\xe9\n"
          "--b--\n",
          "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
          "--b\n\nascii\n--b\nContent-Transfer-Encoding: quoted-printable\n"
          "\n=E9\n--b--\n" },
};

static void test_messages(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
                const char *in = messages[i].in;
                struct mime_message *m = mime_parse(in, strlen(in));
                struct buf out;
                size_t n;

                buf_init(&out, 0);
                n = mime_recode(m, &qp, &out);
                if (messages[i].want == NULL) {
                        if (n != 0 || out.len != 0)
                                fail_msg("case %s: got \"%s\", want it left",
                                         messages[i].name, buf_cstr(&out));
                } else if (n == 0 ||
                           strcmp(buf_cstr(&out), messages[i].want) != 0) {
                        fail_msg("case %s: got \"%s\", want \"%s\"",
                                 messages[i].name, buf_cstr(&out),
                                 messages[i].want);
                }
                buf_release(&out);
                mime_free(&m);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bodies),
                cmocka_unit_test(test_messages),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
