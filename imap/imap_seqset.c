/* imap_seqset.c - IMAP sequence sets: parse, merge, write
 * Used by: the imap session (imap_seqset.h). Parses client input. */
#include <stdlib.h>
#include <string.h>

#include "imap_seqset.h"
#include "mem.h"

void imap_seqset_init(struct imap_seqset *set)
{
        memset(set, 0, sizeof(*set));
}

void imap_seqset_release(struct imap_seqset *set)
{
        free(set->v);
        memset(set, 0, sizeof(*set));
}

void imap_seqset_clear(struct imap_seqset *set)
{
        set->n = 0;
}

void imap_seqset_add_range(struct imap_seqset *set, uint32_t lo, uint32_t hi)
{
        if (lo > hi) {
                uint32_t t = lo;
                lo = hi;
                hi = t;
        }
        /* the common case: appending in order */
        if (set->n > 0 && set->v[set->n - 1].hi != UINT32_MAX &&
            set->v[set->n - 1].hi + 1 >= lo && set->v[set->n - 1].lo <= lo) {
                if (hi > set->v[set->n - 1].hi)
                        set->v[set->n - 1].hi = hi;
                return;
        }
        if (set->n == set->cap) {
                set->cap = set->cap == 0 ? 8 : set->cap * 2;
                set->v = xrealloc(set->v, set->cap * sizeof(*set->v));
        }
        set->v[set->n++] = (struct imap_range){ lo, hi };
}

void imap_seqset_add(struct imap_seqset *set, uint32_t n)
{
        imap_seqset_add_range(set, n, n);
}

static int range_cmp(const void *a, const void *b)
{
        const struct imap_range *x = a, *y = b;

        if (x->lo != y->lo)
                return x->lo < y->lo ? -1 : 1;
        return x->hi < y->hi ? -1 : x->hi > y->hi;
}

void imap_seqset_normalize(struct imap_seqset *set)
{
        size_t i, j = 0;

        if (set->n < 2)
                return;
        qsort(set->v, set->n, sizeof(*set->v), range_cmp);
        for (i = 1; i < set->n; i++) {
                struct imap_range *last = &set->v[j];
                if (last->hi == UINT32_MAX || set->v[i].lo <= last->hi + 1) {
                        if (set->v[i].hi > last->hi)
                                last->hi = set->v[i].hi;
                } else {
                        set->v[++j] = set->v[i];
                }
        }
        set->n = j + 1;
}

/* number - a seq-number at *sp: nz-number or "*" */
static int number(const char **sp, uint32_t star, uint32_t *n_r)
{
        const char *s = *sp;
        uint64_t n = 0;

        if (*s == '*') {
                *sp = s + 1;
                *n_r = star;
                return 0;
        }
        if (*s < '1' || *s > '9')
                return -1;
        for (; *s >= '0' && *s <= '9'; s++) {
                n = n * 10 + (uint64_t)(*s - '0');
                if (n > UINT32_MAX)
                        return -1;
        }
        *sp = s;
        *n_r = (uint32_t)n;
        return 0;
}

int imap_seqset_parse(const char *s, uint32_t star, struct imap_seqset *set,
                      int *dollar_r)
{
        imap_seqset_clear(set);
        *dollar_r = 0;
        if (strcmp(s, "$") == 0) {
                *dollar_r = 1;
                return 0;
        }
        for (;;) {
                uint32_t lo, hi;

                if (number(&s, star, &lo) < 0)
                        return -1;
                hi = lo;
                if (*s == ':') {
                        s++;
                        if (number(&s, star, &hi) < 0)
                                return -1;
                }
                if (set->n >= IMAP_SEQSET_RANGES_MAX)
                        return -1;
                imap_seqset_add_range(set, lo, hi);
                if (*s == '\0')
                        break;
                if (*s++ != ',')
                        return -1;
        }
        imap_seqset_normalize(set);
        return 0;
}

int imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
        size_t lo = 0, hi = set->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (n < set->v[mid].lo)
                        hi = mid;
                else if (n > set->v[mid].hi)
                        lo = mid + 1;
                else
                        return 1;
        }
        return 0;
}

uint64_t imap_seqset_count(const struct imap_seqset *set)
{
        uint64_t n = 0;

        for (size_t i = 0; i < set->n; i++)
                n += (uint64_t)set->v[i].hi - set->v[i].lo + 1;
        return n;
}

uint32_t imap_seqset_max(const struct imap_seqset *set)
{
        uint32_t max = 0;

        for (size_t i = 0; i < set->n; i++)
                if (set->v[i].hi > max)
                        max = set->v[i].hi;
        return max;
}

static void write_range(struct buf *out, uint32_t lo, uint32_t hi, int comma)
{
        if (comma)
                buf_putc(out, ',');
        if (lo == hi)
                buf_printf(out, "%u", lo);
        else
                buf_printf(out, "%u:%u", lo, hi);
}

void imap_seqset_write(struct buf *out, const struct imap_seqset *set)
{
        for (size_t i = 0; i < set->n; i++)
                write_range(out, set->v[i].lo, set->v[i].hi, i > 0);
}

void imap_seqset_write_list(struct buf *out, const uint32_t *v, size_t n)
{
        size_t i = 0;

        while (i < n) {
                size_t j = i;
                while (j + 1 < n && v[j] != UINT32_MAX && v[j + 1] == v[j] + 1)
                        j++;
                write_range(out, v[i], v[j], i > 0);
                i = j + 1;
        }
}
