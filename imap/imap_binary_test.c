/* imap_binary_test.c - unit tests for imap_binary.c
 * A table of messages as an APPEND brings them: left alone without NULs,
 * re-encoded where a body part holds one, refused where no re-encoding
 * can carry it; every re-encoded part decodes (as FETCH BINARY[1]
 * decodes it) to the bytes that came in. A table of stored messages and
 * their BINARY[]; MIME messages sent as binary come back from BINARY[]
 * byte for byte. Long bodies wrap at 76 columns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "imap_binary.h"
#include "imap_fetch.h"
#include "mime.h"

/* a string literal and its length, NULs included */
#define S(x) x, sizeof(x) - 1
#define UNCHANGED NULL, 0, 0
#define REFUSED NULL, 0, -1

static const struct {
        const char *name;
        const char *input;
        size_t input_len;
        const char *want;       /* the message stored (with r 1) */
        size_t want_len;
        int r;
} cases[] = {
        { "no NUL", S("Subject: a\r\n\r\nbody\r\n"), UNCHANGED },
        { "8-bit without NUL",
          S("Content-Transfer-Encoding: binary\r\n\r\n\x01\xff\r\n"),
          UNCHANGED },
        { "binary part",
          S("From: user@domain.org\r\n"
            "Content-Type: application/octet-stream\r\n"
            "Content-Transfer-Encoding: binary\r\n"
            "\r\n"
            "\0-\xe4\n\r\n\n"),
          S("From: user@domain.org\r\n"
            "Content-Type: application/octet-stream\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            "\r\n"
            "AC3kCg0KCg==\r\n"), 1 },
        { "not MIME, LF line ends",
          S("Subject: x\n\nab\0c\n"),
          S("Subject: x\nMIME-Version: 1.0\n"
            "Content-Transfer-Encoding: base64\n\nYWIAYwo=\n"), 1 },
        { "folded CTE replaced",
          S("MIME-Version: 1.0\r\nContent-Transfer-Encoding:\r\n 8bit\r\n"
            "X-After: 1\r\n\r\nx\0y\r\n"),
          S("MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n"
            "X-After: 1\r\n\r\neAB5DQo=\r\n"), 1 },
        { "two CTE fields: the first replaced",
          S("MIME-Version: 1.0\r\nContent-Transfer-Encoding: binary\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\nx\0y\r\n"),
          S("MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n"
            "\r\neAB5DQo=\r\n"), 1 },
        { "multipart: only the part with a NUL",
          S("MIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
            "pre\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
            "--b\r\nContent-Type: application/octet-stream\r\n"
            "Content-Transfer-Encoding: binary\r\n\r\n\x01\0\x02\r\n"
            "--b--\r\nepilogue\r\n"),
          S("MIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
            "pre\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
            "--b\r\nContent-Type: application/octet-stream\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\nAQAC\r\n"
            "--b--\r\nepilogue\r\n"), 1 },
        { "message/rfc822 inside",
          S("MIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n"
            "Subject: inner\r\n\r\nx\0y\r\n"),
          S("MIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n"
            "Subject: inner\r\nMIME-Version: 1.0\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\neAB5DQo=\r\n"), 1 },
        { "NUL in a header", S("Subject: a\0b\r\n\r\nbody\0\r\n"), REFUSED },
        { "NUL in a preamble",
          S("MIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
            "pre\0\r\n--b\r\n\r\nhello\r\n--b--\r\n"), REFUSED },
        { "NUL in a base64 part",
          S("MIME-Version: 1.0\r\nContent-Transfer-Encoding: Base64 \r\n"
            "\r\nAAAA\0\r\n"), REFUSED },
        { "NUL in a quoted-printable part",
          S("MIME-Version: 1.0\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n=00\0\r\n"),
          REFUSED },
        { "multipart without its boundary",
          S("MIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
            "x\0y\r\n"), REFUSED },
};

/* check_decodes - each base64 part of out decodes to what the same part
 * of in held */
static void check_decodes(const char *name, const char *in, size_t in_len,
                          const char *out, size_t out_len)
{
        struct mime_message *a = mime_parse(in, in_len);
        struct mime_message *b = mime_parse(out, out_len);
        const char *sections[] = { "1", "2", "1.1" };

        for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
                const struct mime_part *pa = mime_part_find(a, sections[i]);
                const struct mime_part *pb = mime_part_find(b, sections[i]);
                struct buf cte, dec;
                size_t alen, blen;
                if (pa == NULL || pb == NULL) {
                        if ((pa == NULL) != (pb == NULL))
                                fail_msg("case %s: section %s: got %s, want "
                                         "%s", name, sections[i],
                                         pb ? "a part" : "none",
                                         pa ? "a part" : "none");
                        continue;
                }
                buf_init(&cte, 0);
                buf_init(&dec, 0);
                const char *abody = mime_part_body(a, pa, &alen);
                const char *bbody = mime_part_body(b, pb, &blen);
                if (mime_header_get(b, pb, "Content-Transfer-Encoding",
                                    &cte) > 0 &&
                    strcmp(buf_cstr(&cte), "base64") == 0) {
                        assert_int_equal(imap_decode_cte("base64", bbody,
                                                         blen, &dec), 0);
                        if (dec.len != alen ||
                            memcmp(dec.data, abody, alen) != 0)
                                fail_msg("case %s: section %s: got %zu "
                                         "decoded bytes, want the %zu sent",
                                         name, sections[i], dec.len, alen);
                }
                buf_release(&cte);
                buf_release(&dec);
        }
        mime_free(&a);
        mime_free(&b);
}

static void test_table(void **state)
{
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct buf out;
                buf_init(&out, 0);
                buf_puts(&out, "kept");
                int r = imap_binary_encode(cases[i].input, cases[i].input_len,
                                           &out);
                if (r != cases[i].r)
                        fail_msg("case %s: got %d, want %d", cases[i].name, r,
                                 cases[i].r);
                /* what the caller had in out stays */
                assert_memory_equal(out.data, "kept", 4);
                if (r <= 0) {
                        if (out.len != 4)
                                fail_msg("case %s: got %zu bytes out, want "
                                         "none", cases[i].name, out.len - 4);
                        buf_release(&out);
                        continue;
                }
                if (out.len - 4 != cases[i].want_len ||
                    memcmp(out.data + 4, cases[i].want,
                           cases[i].want_len) != 0)
                        fail_msg("case %s: got [%.*s], want [%s]",
                                 cases[i].name, (int)(out.len - 4),
                                 out.data + 4, cases[i].want);
                check_decodes(cases[i].name, cases[i].input,
                              cases[i].input_len, out.data + 4, out.len - 4);
                buf_release(&out);
        }
}

static const struct {
        const char *name;
        const char *input;      /* as stored (LF line ends) */
        size_t input_len;
        const char *want;       /* BINARY[]; NULL: the message itself */
        size_t want_len;
} decodes[] = {
        { "nothing encoded", S("Subject: a\n\nbody\n"), NULL, 0 },
        { "base64 leaf",
          S("MIME-Version: 1.0\nContent-Transfer-Encoding: base64\n"
            "X-After: 1\n\neAB5DQo=\n"),
          S("MIME-Version: 1.0\r\nContent-Transfer-Encoding: binary\r\n"
            "X-After: 1\r\n\r\nx\0y\r\n") },
        { "quoted-printable leaf in a multipart",
          S("MIME-Version: 1.0\n"
            "Content-Type: multipart/mixed; boundary=b\n\n"
            "--b\nContent-Transfer-Encoding: Quoted-Printable\n\n"
            "caf=C3=A9\n--b\n\nplain\n--b--\n"),
          S("MIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
            "--b\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            "caf\xc3\xa9\r\n--b\r\n\r\nplain\r\n--b--\r\n") },
        { "base64 without MIME-Version stays as it is",
          S("Content-Transfer-Encoding: base64\n\neAB5DQo=\n"), NULL, 0 },
};

static void test_decode_table(void **state)
{
        for (size_t i = 0; i < sizeof(decodes) / sizeof(decodes[0]); i++) {
                struct mime_message *m = mime_parse(decodes[i].input,
                                                    decodes[i].input_len);
                struct buf out;
                buf_init(&out, 0);
                int r = imap_binary_decode(m, &out);
                int want = decodes[i].want != NULL;
                if (r != want)
                        fail_msg("case %s: got %d, want %d", decodes[i].name,
                                 r, want);
                if (want && (out.len != decodes[i].want_len ||
                             memcmp(out.data, decodes[i].want,
                                    out.len) != 0))
                        fail_msg("case %s: got [%.*s], want [%s]",
                                 decodes[i].name, (int)out.len, out.data,
                                 decodes[i].want);
                if (!want && out.len != 0)
                        fail_msg("case %s: got %zu bytes, want none",
                                 decodes[i].name, out.len);
                buf_release(&out);
                mime_free(&m);
        }
}

/* lf - what the store keeps of a CRLF message */
static void lf(const struct buf *in, struct buf *out)
{
        for (size_t i = 0; i < in->len; i++)
                if (!(in->data[i] == '\r' && i + 1 < in->len &&
                      in->data[i + 1] == '\n'))
                        buf_putc(out, in->data[i]);
}

static void test_round_trip(void **state)
{
        static const struct {
                const char *name;
                const char *input;
                size_t len;
        } trips[] = {
                { "single part",
                  S("From: a@example.com\r\nMIME-Version: 1.0\r\n"
                    "Content-Transfer-Encoding: binary\r\n"
                    "Content-Type: application/octet-stream\r\n\r\n"
                    "\0-\xe4\n\r\n\n") },
                { "multipart",
                  S("MIME-Version: 1.0\r\n"
                    "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
                    "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
                    "--b\r\nContent-Transfer-Encoding: binary\r\n\r\n"
                    "\x01\0\r\r\n\x02\r\n--b--\r\n") },
        };

        for (size_t i = 0; i < sizeof(trips) / sizeof(trips[0]); i++) {
                struct buf enc, stored, back;
                buf_init(&enc, 0);
                buf_init(&stored, 0);
                buf_init(&back, 0);
                assert_int_equal(imap_binary_encode(trips[i].input,
                                                    trips[i].len, &enc), 1);
                lf(&enc, &stored);
                struct mime_message *m = mime_parse(stored.data, stored.len);
                assert_int_equal(imap_binary_decode(m, &back), 1);
                if (back.len != trips[i].len ||
                    memcmp(back.data, trips[i].input, back.len) != 0)
                        fail_msg("case %s: got [%.*s], want [%.*s]",
                                 trips[i].name, (int)back.len, back.data,
                                 (int)trips[i].len, trips[i].input);
                mime_free(&m);
                buf_release(&enc);
                buf_release(&stored);
                buf_release(&back);
        }
}

static void test_long_body_wraps(void **state)
{
        struct buf in, out;
        const char hdr[] = "Content-Type: application/octet-stream\r\n\r\n";

        buf_init(&in, 0);
        buf_init(&out, 0);
        buf_puts(&in, hdr);
        for (int i = 0; i < 1000; i++)
                buf_putc(&in, i % 256);
        assert_int_equal(imap_binary_encode(in.data, in.len, &out), 1);
        const char *body = strstr(buf_cstr(&out), "\r\n\r\n");
        assert_non_null(body);
        body += 4;
        /* 1000 bytes: 17 lines of 76 characters and one of 44, each
         * ended by CRLF */
        size_t lines = 0;
        for (const char *p = body; *p != '\0'; lines++) {
                const char *e = strstr(p, "\r\n");
                assert_non_null(e);
                size_t n = (size_t)(e - p);
                if (n != (lines < 17 ? IMAP_BINARY_LINE : 44u))
                        fail_msg("line %zu: got %zu characters, want %u",
                                 lines, n, lines < 17 ? IMAP_BINARY_LINE : 44);
                p = e + 2;
        }
        assert_int_equal(lines, 18);
        check_decodes("long body", in.data, in.len, out.data, out.len);
        buf_release(&in);
        buf_release(&out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_decode_table),
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_long_body_wraps),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
