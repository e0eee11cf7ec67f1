/* fuzz_addr.c - fuzz the address parsers: RFC 5321 paths, ESMTP
 * parameters, xtext, RFC 5322 address lists, alias target lists
 * Used by: make fuzz (libFuzzer) and make check (with tests/fuzz/replay.c,
 * over corpus/addr/). The first input byte selects the addr_parse_path
 * flags (ADDR_NULL_OK, ADDR_UTF8, ADDR_NO_BRACKETS in its low bits); the
 * rest is the text, cut at its first NUL as a C string would be. Besides
 * "no crash, no sanitizer report", checks the invariants: a parsed path
 * written out with addr_external() parses back to the same address, and
 * xtext encoding round-trips. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "alias_file.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *text, int flags)
{
        struct addr_param *params;
        struct status st;
        size_t used, n;
        char *addr, *ext, *path, *again, *l, *d, *s;

        if (addr_parse_path(text, flags, &addr, &used, &st) < 0)
                return;
        if (used > strlen(text))
                abort();
        ext = addr_external(addr);
        path = xasprintf("<%s>", ext);
        if (*addr != '\0' &&
            (addr_parse_path(path, flags & ~ADDR_NO_BRACKETS, &again, &n,
                             &st) < 0 || strcmp(again, addr) != 0)) {
                fprintf(stderr, "round trip: \"%s\" -> %s\n", addr, path);
                abort();
        }
        if (*addr != '\0') {
                free(again);
                if (addr_split(addr, &l, &d) < 0)
                        abort();
                free(l);
                free(d);
        }
        s = addr_strip_extension(addr, "+-");
        free(s);
        s = addr_extension(addr, "+");
        free(s);
        s = addr_fold(addr);
        free(s);
        if (addr_esmtp_params(text + used, &params, &n, &st) == 0) {
                for (size_t i = 0; i < n; i++) {
                        char *v;

                        if (params[i].value != NULL &&
                            addr_xtext_decode(params[i].value, &v) == 0) {
                                char *enc = addr_xtext_encode(v), *back;

                                if (addr_xtext_decode(enc, &back) < 0 ||
                                    strcmp(back, v) != 0)
                                        abort();
                                free(back);
                                free(enc);
                                free(v);
                        }
                }
                addr_esmtp_params_free(&params, n);
        }
        free(path);
        free(ext);
        free(addr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct status st;
        char **list;
        size_t n;
        char *text;
        int flags;

        if (size == 0)
                return 0;
        flags = data[0] & (ADDR_NULL_OK | ADDR_UTF8 | ADDR_NO_BRACKETS);
        text = xstrndup((const char *)data + 1, size - 1);
        check_path(text, flags);
        if (addr_header_list(text, &list, &n, &st) == 0) {
                if (list[n] != NULL)
                        abort();
                addr_list_free(&list);
        }
        if (alias_targets_split(text, &list, &n, &st) == 0)
                alias_targets_free(&list);
        free(text);
        return 0;
}
