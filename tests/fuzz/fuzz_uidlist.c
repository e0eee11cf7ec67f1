/* fuzz_uidlist.c - fuzz the dovecot-uidlist reader
 * Used by: make fuzz (libFuzzer) and make check (with tests/fuzz/replay.c)
 * (the same file built as a plain program that replays the files named on
 * its command line, e.g. the seed corpus in corpus/uidlist/). Each input is
 * parsed as a uidlist file; a list that parses must keep its promises
 * (increasing UIDs, every record found by name and by UID, the next UID
 * above the last) and come back the same through uidlist_format and a
 * second parse. A broken promise aborts, so the fuzzer reports it. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "uidlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
        if (!ok) {
                fprintf(stderr, "fuzz_uidlist: broken promise: %s\n", what);
                abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct uidlist *ul, *again;
        char *error = NULL, *error2 = NULL;
        size_t len;
        uint64_t v;

        if (uidlist_parse((const char *)data, size, &ul, &error) < 0) {
                check(ul == NULL && error != NULL, "refusal without a reason");
                free(error);
                return 0;
        }
        free(error);
        check(ul->uidvalidity != 0 && ul->next_uid != 0, "header values");
        for (size_t i = 0; i < ul->count; i++) {
                const struct uidlist_rec *r = &ul->recs[i];
                check(r->uid != 0 && (i == 0 || r->uid > ul->recs[i - 1].uid),
                      "UIDs increase");
                check(r->uid < ul->next_uid, "next UID above the last");
                check(uidlist_lookup(ul, r->name, strlen(r->name)) == r,
                      "found by name");
                check(uidlist_lookup_uid(ul, r->uid) == r, "found by UID");
                (void)uidlist_rec_ext(r, 'W', &v);
                (void)uidlist_rec_ext(r, 'S', &v);
        }
        (void)uidlist_hdr_has(ul, 'Y');
        /* what we write, we read back the same */
        char *text = uidlist_format(ul, &len);
        int r = uidlist_parse(text, len, &again, &error2);
        check(r == 0, "own output parses cleanly");
        check(again->uidvalidity == ul->uidvalidity &&
              again->next_uid == ul->next_uid &&
              strcmp(again->guid, ul->guid) == 0 &&
              again->count == ul->count, "round trip: header");
        for (size_t i = 0; i < ul->count; i++) {
                check(again->recs[i].uid == ul->recs[i].uid &&
                      strcmp(again->recs[i].name, ul->recs[i].name) == 0,
                      "round trip: records");
        }
        /* a change and a new record keep the list whole */
        if (ul->count > 0)
                uidlist_set_ext(ul, 0, 'W', 1234);
        uint32_t uid = uidlist_add(ul, "fuzz.M1P1.host", 14, NULL);
        check(uid == 0 || uidlist_lookup_uid(ul, uid) != NULL, "added");
        free(error2);
        free(text);
        uidlist_free(&again);
        uidlist_free(&ul);
        return 0;
}
