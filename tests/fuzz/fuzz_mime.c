/* fuzz_mime.c - fuzz the MIME parser and the IMAP renderings of its tree
 * Used by: make fuzz (libFuzzer) and make check (with tests/fuzz/replay.c)
 * (the same file built as a plain program that replays the files named on
 * its command line, e.g. the seed corpus in corpus/mime/). Each input is
 * parsed as a whole message; then every header look-up, parameter decoder
 * and IMAP item (ENVELOPE, BODY, BODYSTRUCTURE) is run over every part, so
 * a crash, hang or sanitizer report anywhere on that path is found. The
 * input also goes through APPEND's re-encoding of parts with NULs and
 * BINARY[]'s decoding (imap_binary.h): what APPEND would store must hold
 * no NUL. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "imap_binary.h"
#include "imap_envelope.h"
#include "mime.h"
#include "rfc2047.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* visit - render one part the ways a FETCH or SEARCH would */
static void visit(const struct mime_message *m, const struct mime_part *part,
                  struct buf *out)
{
        struct mime_header_iter it;
        struct mime_header h;
        struct mime_content ct;
        const char *hdr;
        size_t len;

        buf_reset(out);
        (void)mime_header_get_utf8(m, part, "Subject", out);
        (void)mime_header_get(m, part, "Content-Type", out);
        hdr = mime_part_header(m, part, &len);
        mime_header_iter_init(&it, hdr, len);
        while (mime_header_next(&it, &h) > 0) {
                if (h.name_len == 19 &&
                    strncmp(h.name, "Content-Disposition", 19) == 0) {
                        (void)mime_content_disposition_parse(h.value,
                                                             h.value_len,
                                                             &ct);
                        (void)mime_param_get_utf8(&ct, "filename", out);
                        mime_content_release(&ct);
                }
        }
        (void)mime_part_body(m, part, &len);
        buf_reset(out);
        (void)imap_envelope_write_body(out, m, part, 1);
        if ((part->flags & MIME_PART_MESSAGE) != 0 && part->children != NULL)
                (void)imap_envelope_write(out, m, part->children);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct mime_message *m = mime_parse((const char *)data, size);
        const struct mime_part *part = m->root;
        struct buf out;
        static const char *const sections[] = {
                "1", "2", "1.1", "1.2", "2.1", "1.1.1", "3.2.1",
        };
        size_t i;

        buf_init(&out, 0);
        (void)imap_envelope_write(&out, m, m->root);
        (void)imap_envelope_write_body(&out, m, m->root, 0);
        (void)rfc2047_decode(&out, (const char *)data, size < 4096 ?
                             size : 4096);
        /* every part, without recursion */
        while (part != NULL) {
                visit(m, part, &out);
                if (part->children != NULL) {
                        part = part->children;
                        continue;
                }
                while (part != NULL && part->next == NULL)
                        part = part->parent;
                if (part != NULL)
                        part = part->next;
        }
        for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
                (void)mime_part_find(m, sections[i]);
        buf_reset(&out);
        (void)imap_binary_decode(m, &out);
        buf_reset(&out);
        if (imap_binary_encode((const char *)data, size, &out) > 0) {
                if (memchr(out.data, '\0', out.len) != NULL)
                        abort();
                struct mime_message *stored = mime_parse(out.data, out.len);
                struct buf back;
                buf_init(&back, 0);
                (void)imap_binary_decode(stored, &back);
                buf_release(&back);
                mime_free(&stored);
        }
        buf_release(&out);
        mime_free(&m);
        return 0;
}
