/* map_pcre.c - pcre: tables, Postfix's pcre_table(5) on PCRE2
 * Used by: map.c (header_checks, body_checks, check_*_access ...). The
 * rule format, if/endif, $1..$9 and inline {rule} lists are map_regexp.c's;
 * this driver brings the expressions (Debian's libpcre2-8). Flags: i
 * (case, default insensitive), m (PCRE2_MULTILINE), s (PCRE2_DOTALL), x
 * (PCRE2_EXTENDED), A (PCRE2_ANCHORED), E (PCRE2_DOLLAR_ENDONLY), U
 * (PCRE2_UNGREEDY), X (accepted, no effect: PCRE2 is always strict).
 * Matching runs with a match limit, so a pathological pattern fails the
 * look-up (a temporary error) instead of spinning on client input. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "map_driver.h"
#include "mem.h"

#define PCRE_MATCH_LIMIT        1000000

struct pcre_re {
        pcre2_code *code;
        pcre2_match_data *md;
        pcre2_match_context *mc;
};

static void pcre_free_re(void *p)
{
        struct pcre_re *re = p;

        pcre2_match_data_free(re->md);
        pcre2_match_context_free(re->mc);
        pcre2_code_free(re->code);
        free(re);
}

static void *pcre_compile_re(const char *pattern, const char *flags,
                             int *groups_r, char *err, size_t errsize)
{
        uint32_t opts = PCRE2_CASELESS, groups = 0;
        struct pcre_re *re;
        PCRE2_SIZE off;
        int code;

        for (const char *f = flags; *f != '\0'; f++) {
                switch (*f) {
                case 'i':
                        opts ^= PCRE2_CASELESS;
                        break;
                case 'm':
                        opts ^= PCRE2_MULTILINE;
                        break;
                case 's':
                        opts ^= PCRE2_DOTALL;
                        break;
                case 'x':
                        opts ^= PCRE2_EXTENDED;
                        break;
                case 'A':
                        opts ^= PCRE2_ANCHORED;
                        break;
                case 'E':
                        opts ^= PCRE2_DOLLAR_ENDONLY;
                        break;
                case 'U':
                        opts ^= PCRE2_UNGREEDY;
                        break;
                default:
                        break;
                }
        }
        re = xcalloc(1, sizeof(*re));
        re->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                 opts, &code, &off, NULL);
        if (re->code == NULL) {
                PCRE2_UCHAR why[200];

                pcre2_get_error_message(code, why, sizeof(why));
                snprintf(err, errsize, "bad pattern at offset %zu: %s",
                         (size_t)off, (char *)why);
                free(re);
                return NULL;
        }
        pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &groups);
        *groups_r = (int)groups;
        re->md = pcre2_match_data_create_from_pattern(re->code, NULL);
        re->mc = pcre2_match_context_create(NULL);
        if (re->md == NULL || re->mc == NULL)
                log_fatal("pcre: out of memory");
        pcre2_set_match_limit(re->mc, PCRE_MATCH_LIMIT);
        return re;
}

static int pcre_match_re(void *p, const char *subject, size_t len, long *ov,
                         int nov)
{
        struct pcre_re *re = p;
        PCRE2_SIZE *v;
        uint32_t n;
        int r = pcre2_match(re->code, (PCRE2_SPTR)subject, len, 0, 0, re->md,
                            re->mc);

        if (r == PCRE2_ERROR_NOMATCH)
                return 0;
        if (r < 0)
                return -1;
        v = pcre2_get_ovector_pointer(re->md);
        n = pcre2_get_ovector_count(re->md);
        for (int g = 0; g < nov && (uint32_t)g < n; g++) {
                if (v[2 * g] == PCRE2_UNSET) {
                        ov[2 * g] = ov[2 * g + 1] = -1;
                        continue;
                }
                ov[2 * g] = (long)v[2 * g];
                ov[2 * g + 1] = (long)v[2 * g + 1];
        }
        return 1;
}

static const struct map_pattern_engine pcre_engine = {
        "pcre", "imsxAEUX", pcre_compile_re, pcre_match_re, pcre_free_re,
};

static int pcre_parse(struct map *m, const char *text, size_t len,
                      map_diag_fn *diag, void *ctx, void **content_r,
                      struct status *st)
{
        return map_pattern_parse(m, &pcre_engine, text, len, diag, ctx,
                                 content_r, st);
}

static const struct map_file_format pcre_format = {
        pcre_parse, map_pattern_content_free,
};

static int pcre_open(struct map *m, map_diag_fn *diag, void *ctx,
                     struct status *st)
{
        return map_pattern_open(m, &pcre_format, &pcre_engine, diag, ctx, st);
}

const struct map_type map_type_pcre = {
        "pcre", pcre_open, map_pattern_lookup, map_pattern_source,
        map_pattern_close, 0,
};
