/* fuzz_maildrop.c - fuzz the parsers of files local users and
 * administrators write: maildrop files (read by pickup, as mail_owner,
 * from any local user), aliases(5) files and postmap text tables
 * Used by: make fuzz (libFuzzer) and make check (with tests/fuzz/replay.c,
 * over corpus/maildrop/). The same bytes go to each parser. Checks, besides
 * "no crash": a maildrop file that parses has its content inside the
 * input, and writing its envelope out again parses to the same envelope. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alias_file.h"
#include "buf.h"
#include "maildrop.h"
#include "map_driver.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int entry(void *ctx, const char *name, const char *value, int line)
{
        char **t;
        size_t n;
        struct status st;

        if (alias_targets_split(value, &t, &n, &st) == 0)
                alias_targets_free(&t);
        return 0;
}

static void diag(void *ctx, const char *text)
{
        (*(size_t *)ctx)++;
}

static void check_maildrop(const char *d, size_t size)
{
        struct maildrop_env env, again;
        struct status st;
        size_t content, content2;
        struct buf b;

        if (maildrop_parse(d, size, &env, &content, &st) < 0)
                return;
        if (content > size)
                abort();
        buf_init(&b, 0);
        maildrop_format(&b, &env);
        if (maildrop_parse(b.data, b.len, &again, &content2, &st) < 0 ||
            content2 != b.len || strcmp(again.sender, env.sender) != 0 ||
            again.nrcpt != env.nrcpt)
                abort();
        for (size_t i = 0; i < env.nrcpt; i++)
                if (strcmp(again.rcpts[i], env.rcpts[i]) != 0)
                        abort();
        maildrop_env_release(&again);
        maildrop_env_release(&env);
        buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* an exact-size copy, so a read past the end is caught */
        char *d = xmalloc(size ? size : 1);
        struct map_table *t;
        struct status st;
        size_t problems = 0;

        memcpy(d, data, size);
        check_maildrop(d, size);
        (void)alias_file_parse("fuzz", d, size, entry, diag, &problems, &st);
        (void)alias_file_parse("fuzz", d, size, entry, NULL, NULL, &st);
        t = map_table_new();
        (void)map_text_load(t, "fuzz", d, size, 0, 1, diag, &problems, &st);
        map_table_free(&t);
        free(d);
        return 0;
}
