/* imap_search.h - SEARCH keys: parse into a tree, match messages
 * Used by: the imap session (SEARCH, SORT, THREAD: imap_cmd_search.c)
 * and the fuzz target fuzz_imap_parser (imap_search_parse). Keys are
 * RFC 9051 6.4.4 (and RFC 3501's NEW, OLD, RECENT), "$" (RFC 5182) and
 * MODSEQ (RFC 7162). Strings match as substrings after RFC 2047 and
 * Content-Transfer-Encoding decoding and charset conversion to UTF-8,
 * without regard to case (Unicode simple case folding). Parses client
 * input; reads message files. */
#ifndef YUBIN_IMAP_SEARCH_H
#define YUBIN_IMAP_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "imap_seqset.h"

struct imap_arg;
struct imap_client;

/* nesting of NOT, OR and parentheses */
#define IMAP_SEARCH_DEPTH_MAX   100
/* keys in one program */
#define IMAP_SEARCH_KEYS_MAX    10000

enum imap_search_op {
        IMAP_SEARCH_ALL,
        IMAP_SEARCH_AND,        /* children */
        IMAP_SEARCH_OR,         /* two children */
        IMAP_SEARCH_NOT,        /* one child */
        IMAP_SEARCH_FLAG,       /* all of flags set */
        IMAP_SEARCH_UNFLAG,     /* none of flags set */
        IMAP_SEARCH_KEYWORD,
        IMAP_SEARCH_UNKEYWORD,
        IMAP_SEARCH_NEW,        /* \Recent and not \Seen */
        IMAP_SEARCH_OLD,
        IMAP_SEARCH_RECENT,
        IMAP_SEARCH_SEQSET,
        IMAP_SEARCH_UIDSET,
        IMAP_SEARCH_LARGER,
        IMAP_SEARCH_SMALLER,
        IMAP_SEARCH_BEFORE,     /* internal date, local day */
        IMAP_SEARCH_ON,
        IMAP_SEARCH_SINCE,
        IMAP_SEARCH_SENTBEFORE, /* Date: field, its own day */
        IMAP_SEARCH_SENTON,
        IMAP_SEARCH_SENTSINCE,
        IMAP_SEARCH_HEADER,     /* field contains str */
        IMAP_SEARCH_BODY,
        IMAP_SEARCH_TEXT,
        IMAP_SEARCH_MODSEQ,
};

struct imap_search_key {
        enum imap_search_op op;
        struct imap_search_key *child, *next;
        uint32_t flags;                 /* FLAG, UNFLAG */
        char *field;                    /* HEADER */
        char *str;                      /* HEADER, BODY, TEXT, KEYWORD:
                                         * UTF-8, case-folded */
        uint64_t num;                   /* LARGER, SMALLER, MODSEQ */
        long day;                       /* dates */
        struct imap_seqset set;         /* SEQSET, UIDSET */
        int dollar;                     /* the set is "$" */
};

/* imap_search_parse - the keys in args (until EOL); string arguments in
 * charset (NULL: UTF-8) are converted to UTF-8. seq_max is what "*"
 * means for message numbers, uid_max for UIDs. 0 with *key_r (free with
 * imap_search_free), -1 with *error_r (BAD text), -2 for an unknown
 * charset (NO [BADCHARSET]). */
int imap_search_parse(const struct imap_arg *args, const char *charset,
                      uint32_t seq_max, uint32_t uid_max,
                      struct imap_search_key **key_r, const char **error_r);
void imap_search_free(struct imap_search_key **keyp);
/* imap_search_uses - 1 if the tree has a key of op */
int imap_search_uses(const struct imap_search_key *key,
                     enum imap_search_op op);

/* imap_search_match - 1 if the message at view index i matches, 0 if
 * not, -1 if it is gone or unreadable (counted as no match) */
int imap_search_match(struct imap_client *c, const struct imap_search_key *key,
                      size_t i);

/* imap_search_fold - append s[0..len) case-folded (UTF-8; invalid bytes
 * kept) */
void imap_search_fold(const char *s, size_t len, struct buf *out);

#endif
