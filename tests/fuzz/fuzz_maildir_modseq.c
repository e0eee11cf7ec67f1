/* fuzz_maildir_modseq.c - fuzz the yubin-modseq reader
 * Used by: make fuzz (libFuzzer) and make check (with tests/fuzz/replay.c)
 * (the same file built as a plain program that replays the files named on
 * its command line, e.g. the seed corpus in corpus/maildir_modseq/). Each
 * input is parsed as a modseq store; an accepted one must stop at a block
 * boundary inside the input (a torn last block is left out), and reading
 * just that much again must give the same store. A broken promise aborts,
 * so the fuzzer reports it. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "maildir_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct maildir_modseq *ms, *prefix;
        size_t used, used2;
        char *error;

        if (maildir_modseq_parse((const char *)data, size, &ms, &used,
                                 &error) < 0) {
                if (error == NULL)
                        abort();
                free(error);
                return 0;
        }
        if (used > size || used < 32)
                abort();
        /* a copy of just the complete blocks, so nothing past them is read */
        char *copy = malloc(used);
        if (copy == NULL)
                abort();
        memcpy(copy, data, used);
        if (maildir_modseq_parse(copy, used, &prefix, &used2, &error) < 0 ||
            used2 != used ||
            maildir_modseq_highest(prefix) != maildir_modseq_highest(ms)) {
                fprintf(stderr, "fuzz_maildir_modseq: its complete blocks "
                        "read differently\n");
                abort();
        }
        free(copy);
        maildir_modseq_free(&prefix);
        maildir_modseq_free(&ms);
        return 0;
}
