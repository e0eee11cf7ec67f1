/* quota.h - Maildir++ quota: the maildirsize file
 * The file sits in the Maildir root. Its first line holds the limits,
 * "<bytes>S,<count>C" (either part may be missing; 0 or missing = none);
 * every further line is a change "<bytes> <count>" (negative on expunge),
 * the first of them written by a recalculation as the total. Writers append
 * one line with one write(2) on an O_APPEND descriptor, so they need no
 * lock. The sum is recalculated from the folders when the file reaches
 * 5120 bytes, when it is broken, when its limits are not the configured
 * ones, and when it says "over quota" but may be out of date (more than one
 * change line, or older than 15 minutes), as the Maildir++ rules say. */
#ifndef YUBIN_QUOTA_H
#define YUBIN_QUOTA_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "status.h"

#define QUOTA_FILE              "maildirsize"
#define QUOTA_RECALC_SIZE       5120
#define QUOTA_STALE_SECS        (15 * 60)

struct quota_usage {
        uint64_t bytes_limit;   /* 0: no limit */
        uint64_t count_limit;   /* 0: no limit */
        int64_t bytes;
        int64_t count;
};

/* quota_parse_limits - parse a header line (len bytes, no newline);
 * 0, or -1 if malformed */
int quota_parse_limits(const char *line, size_t len, uint64_t *bytes_r,
                       uint64_t *count_r);

/* quota_parse - the usage in a maildirsize file's len bytes, age_secs old.
 * Returns 1 if the sum can be trusted, 0 if a recalculation is due (the
 * limits are still filled in when the header was readable; *u_r's limits
 * are 0 otherwise). */
int quota_parse(const char *data, size_t len, time_t age_secs,
                struct quota_usage *u_r);

/* quota_recalc - sum the sizes of every message in the Maildir at root
 * (INBOX and all folders, new/ and cur/), and write a fresh maildirsize
 * with the given limits (temp file in root/tmp, renamed into place).
 * 0 with *u_r, or -1 with st. */
int quota_recalc(const char *root, uint64_t bytes_limit, uint64_t count_limit,
                 struct quota_usage *u_r, struct status *st);

/* quota_get - current usage. limits, when not NULL, are the configured
 * {bytes, count} limits (a file with others is rebuilt); when NULL the
 * file's own header gives them. Recalculates when due. Returns 1 with *u_r
 * when a quota applies, 0 when none does (no limits configured and no
 * file), -1 with st. */
int quota_get(const char *root, const uint64_t *limits,
              struct quota_usage *u_r, struct status *st);

/* quota_check - whether bytes and count more would fit; 0, or -1 with st
 * STATUS_OVER_QUOTA (5.2.2) */
int quota_check(const struct quota_usage *u, uint64_t bytes, uint64_t count,
                struct status *st);

/* quota_update - append the change "<bytes> <count>" to root/maildirsize;
 * nothing to do when the file does not exist (it is rebuilt when next
 * needed). 0, or -1 with st. */
int quota_update(const char *root, int64_t bytes, int64_t count,
                 struct status *st);

#endif
