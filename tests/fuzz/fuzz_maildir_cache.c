/* fuzz_maildir_cache.c - fuzz the yubin-cache reader
 * Used by: make fuzz (libFuzzer) and make check (with tests/fuzz/replay.c)
 * (the same file built as a plain program that replays the files named on
 * its command line, e.g. the seed corpus in corpus/maildir_cache/). Each
 * input is parsed as a cache file, the way a folder handle reads one it
 * finds on disk; a file that is accepted must be one the writer would have
 * written: formatting what was read gives the same bytes back. A broken
 * promise aborts, so the fuzzer reports it. */
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
        struct maildir_cache *c;
        char *error;
        size_t len;

        if (maildir_cache_parse((const char *)data, size, &c, &error) < 0) {
                if (error == NULL)
                        abort();
                free(error);
                return 0;
        }
        char *again = maildir_cache_format(c, &len);
        if (len != size || memcmp(again, data, size) != 0) {
                fprintf(stderr, "fuzz_maildir_cache: accepted a file the "
                        "writer would not write\n");
                abort();
        }
        free(again);
        maildir_cache_free(&c);
        return 0;
}
