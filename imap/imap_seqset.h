/* imap_seqset.h - IMAP sequence sets: "1,3:5,7:*", "$"
 * Used by: the imap session (FETCH, STORE, COPY, MOVE, SEARCH, EXPUNGE,
 * QRESYNC) for message numbers and UIDs alike, and to write UID sets in
 * COPYUID, APPENDUID, VANISHED and ESEARCH replies. A set is a list of
 * inclusive ranges; imap_seqset_normalize() sorts and merges them.
 * Parses client input: at most IMAP_SEQSET_RANGES_MAX ranges. */
#ifndef YUBIN_IMAP_SEQSET_H
#define YUBIN_IMAP_SEQSET_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define IMAP_SEQSET_RANGES_MAX  100000

struct imap_range {
        uint32_t lo, hi;        /* inclusive, lo <= hi */
};

struct imap_seqset {
        struct imap_range *v;
        size_t n, cap;
};

void imap_seqset_init(struct imap_seqset *set);
void imap_seqset_release(struct imap_seqset *set);
void imap_seqset_clear(struct imap_seqset *set);
/* imap_seqset_add_range - add lo..hi (either order) */
void imap_seqset_add_range(struct imap_seqset *set, uint32_t lo, uint32_t hi);
void imap_seqset_add(struct imap_seqset *set, uint32_t n);
/* imap_seqset_normalize - sort and merge overlapping or adjacent ranges */
void imap_seqset_normalize(struct imap_seqset *set);

/* imap_seqset_parse - parse s (RFC 9051 sequence-set) into set (emptied
 * first), "*" standing for star; normalized. "$" (RFC 5182) gives an
 * empty set and *dollar_r = 1 (it may only stand alone). 0, or -1 when s
 * is not a sequence set (numbers are 1..4294967295). */
int imap_seqset_parse(const char *s, uint32_t star, struct imap_seqset *set,
                      int *dollar_r);
/* imap_seqset_contains - 1 if n is in the normalized set */
int imap_seqset_contains(const struct imap_seqset *set, uint32_t n);
/* imap_seqset_count - numbers in the set */
uint64_t imap_seqset_count(const struct imap_seqset *set);
/* imap_seqset_max - the highest number, 0 when empty */
uint32_t imap_seqset_max(const struct imap_seqset *set);

/* imap_seqset_write - append set as "1:3,5" (nothing when empty) */
void imap_seqset_write(struct buf *out, const struct imap_seqset *set);
/* imap_seqset_write_list - append n numbers, in the given order, runs of
 * consecutive increasing ones as ranges: "4:6,2" (COPYUID keeps pairs) */
void imap_seqset_write_list(struct buf *out, const uint32_t *v, size_t n);

#endif
