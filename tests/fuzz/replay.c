/* replay.c - the main() of every fuzz target when it is not built for
 * libFuzzer: runs LLVMFuzzerTestOneInput once on each file named on the
 * command line, so that `make check` replays the seed corpora with the
 * ordinary compiler (and the sanitizers, with SANITIZE=1). */
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fileio.h"

#define REPLAY_INPUT_MAX (64 * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                struct status st;
                struct buf b;

                buf_init(&b, 0);
                if (fileio_read(argv[i], REPLAY_INPUT_MAX, &b, &st) <= 0) {
                        fprintf(stderr, "%s: cannot read\n", argv[i]);
                        return 1;
                }
                /* an exact-size copy, so a read past the end is caught */
                uint8_t *copy = malloc(b.len > 0 ? b.len : 1);
                if (copy == NULL)
                        return 1;
                memcpy(copy, buf_cstr(&b), b.len);
                LLVMFuzzerTestOneInput(copy, b.len);
                free(copy);
                buf_release(&b);
        }
        printf("%s: %d inputs replayed\n", basename(argv[0]), argc - 1);
        return 0;
}
