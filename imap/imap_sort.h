/* imap_sort.h - SORT and THREAD (RFC 5256) and what they share
 * Used by: the imap session (imap_cmd.c's table: SORT, THREAD); the
 * search run is imap_cmd_search.c's. Runs as the mailbox owner. */
#ifndef YUBIN_IMAP_SORT_H
#define YUBIN_IMAP_SORT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

struct imap_arg;
struct imap_client;
struct imap_cmd;

/* imap_cmd_search_run - parse the search keys in args (charset NULL:
 * UTF-8) and match every message of the view: the matching view
 * indexes, increasing (a new array in *idx_r, free with free()), and
 * with MODSEQ keys the highest MODSEQ among them in *modseq_r (may be
 * NULL). 0, or -1 with a BAD or NO set on cmd. */
int imap_cmd_search_run(struct imap_client *c, struct imap_cmd *cmd,
                        const struct imap_arg *args, const char *charset,
                        uint32_t **idx_r, size_t *count_r,
                        uint64_t *modseq_r);

/* imap_sort_base_subject - RFC 5256 2.1: the base subject of a Subject
 * value (raw, RFC 2047 encoded), upper-cased for i;ascii-casemap, into
 * out; returns 1 when a reply or forward marker was removed (THREAD's
 * "is a reply or forward"), else 0 */
int imap_sort_base_subject(const char *value, size_t len, struct buf *out);
/* imap_sort_sent_date - the Date: of the message at view index i as an
 * instant, or its internal date when missing or unreadable (RFC 5256) */
time_t imap_sort_sent_date(struct imap_client *c, size_t i);
/* imap_sort_header - the unfolded raw value of the first field name of
 * the message at view index i, into out (empty when missing) */
void imap_sort_header(struct imap_client *c, size_t i, const char *name,
                      struct buf *out);

#endif
