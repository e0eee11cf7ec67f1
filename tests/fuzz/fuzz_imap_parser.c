/* fuzz_imap_parser.c - fuzz the IMAP command reader and argument parsers
 * Used by: make fuzz (libFuzzer) and make check (replaying corpus/
 * imap_parser/ through tests/fuzz/replay.c). The input is a client's byte
 * stream; its first byte picks the slice size (1..32 bytes, or all at
 * once), so resumption at every boundary is exercised. Every literal is
 * accepted up to a bound and refused above it, as the session does; every
 * complete command's arguments then go through the sequence-set, FETCH
 * attribute and SEARCH key parsers, and mailbox names through both
 * revisions' decoders (modified UTF-7; UTF-8 into NFC) and back out. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "imap_fetch.h"
#include "imap_mbname.h"
#include "imap_parser.h"
#include "imap_search.h"
#include "imap_seqset.h"
#include "mutf7.h"

#define FUZZ_LITERAL_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void visit_args(const struct imap_arg *a, unsigned int depth)
{
        struct imap_seqset set;
        struct buf out;
        const char *error;
        int dollar;

        imap_seqset_init(&set);
        buf_init(&out, 0);
        for (; a->type != IMAP_ARG_EOL; a++) {
                const char *s = imap_arg_astring(a);
                if (s != NULL) {
                        if (imap_seqset_parse(s, 1000, &set, &dollar) == 0) {
                                buf_reset(&out);
                                imap_seqset_write(&out, &set);
                        }
                        buf_reset(&out);
                        (void)mutf7_decode(s, &out);
                        buf_reset(&out);
                        if (imap_mbname_decode(s, 1, &out, &error) == 0) {
                                char *name = buf_steal(&out);
                                imap_mbname_write(&out, name, 0);
                                buf_reset(&out);
                                imap_mbname_write(&out, name, 1);
                                free(name);
                        }
                }
                if (a->type == IMAP_ARG_LIST && depth < 8)
                        visit_args(a->list, depth + 1);
        }
        imap_seqset_release(&set);
        buf_release(&out);
}

static void command(struct imap_parser *p)
{
        size_t n;
        const struct imap_arg *args = imap_parser_args(p, &n);
        struct imap_fetch_req req;
        struct imap_search_key *key = NULL;
        const char *error;

        visit_args(args, 0);
        /* as FETCH: the attributes follow the set */
        if (n >= 2 && imap_fetch_parse(&args[1], &req, &error) == 0)
                imap_fetch_req_release(&req);
        /* as SEARCH: the whole argument list is keys */
        if (n >= 1 && imap_search_parse(args, NULL, 100, 1000, &key,
                                        &error) == 0)
                (void)imap_search_uses(key, IMAP_SEARCH_MODSEQ);
        imap_search_free(&key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct imap_parser p;
        size_t step;

        if (size == 0)
                return 0;
        step = data[0] % 33;
        data++;
        size--;
        imap_parser_init(&p, 8192);
        while (size > 0) {
                size_t n = step == 0 || step > size ? size : step;
                const char *d = (const char *)data;
                size_t left = n;

                while (left > 0) {
                        size_t used = 0;
                        enum imap_parse_result r =
                                imap_parser_feed(&p, d, left, &used);
                        d += used;
                        left -= used;
                        switch (r) {
                        case IMAP_PARSE_LITERAL:
                                if (p.literal_total + p.literal_size >
                                    FUZZ_LITERAL_MAX)
                                        imap_parser_literal_reject(&p, "big");
                                else
                                        imap_parser_literal_accept(&p);
                                break;
                        case IMAP_PARSE_DONE:
                                (void)imap_parser_tag(&p);
                                (void)imap_parser_name(&p);
                                command(&p);
                                break;
                        default:
                                break;
                        }
                }
                data += n;
                size -= n;
        }
        imap_parser_release(&p);
        return 0;
}
