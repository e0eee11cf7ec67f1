/* imap_view.h - the selected mailbox as the client sees it
 * Used by: the imap session's commands. The client's message numbers map
 * to UIDs through the view, which changes only when the client is told:
 * a message expunged by anyone stays in the view (its data gone) until an
 * EXPUNGE or VANISHED response may be sent (RFC 9051 section 7.5.1: not
 * during FETCH, STORE or SEARCH). Flags, sizes and bodies come from the
 * Maildir handle (maildir.h) by UID. Runs as the mailbox owner. */
#ifndef YUBIN_IMAP_VIEW_H
#define YUBIN_IMAP_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "maildir.h"
#include "status.h"

struct imap_client;
struct imap_cmd;
struct imap_seqset;

struct imap_view {
        struct maildir_box *box;
        char *name;                     /* UTF-8 folder name */
        int readonly;                   /* EXAMINE */
        uint32_t *uids;                 /* uids[seq - 1], increasing */
        size_t count, cap;
        uint32_t *gone;                 /* expunged, not yet told */
        size_t gone_count, gone_cap;
        uint32_t *recent;               /* \Recent here, increasing */
        size_t recent_count, recent_cap;
        unsigned int keywords_told;     /* keyword letters in FLAGS */
        size_t exists_told;             /* count in the last EXISTS */
        size_t recent_told;             /* count in the last RECENT */
        int no_recent;                  /* IMAP4rev2: no \Recent flag */
        int broken;                     /* UIDVALIDITY changed */
};

/* imap_view_open - select the folder name (UTF-8): open, sync, fill the
 * view. 0 and *v_r (free with imap_view_close), or -1 with st. */
int imap_view_open(struct imap_client *c, const char *name, int readonly,
                   struct imap_view **v_r, struct status *st);
/* imap_view_close - flush caches and free *vp; clears it; accepts NULL */
void imap_view_close(struct imap_view **vp);

/* imap_view_sync - pick up what others changed and tell the client:
 * EXPUNGE (or VANISHED with QRESYNC) only when expunge is set, then
 * EXISTS and RECENT (not in IMAP4rev2), FLAGS when new keywords
 * appeared, and FETCH FLAGS for changed messages (with UID when uid is
 * set or QRESYNC or IMAP4rev2 is on) */
void imap_view_sync(struct imap_client *c, int expunge, int uid);

/* imap_view_find - the 0-based index of uid in the view, or -1 */
long imap_view_find(const struct imap_view *v, uint32_t uid);
/* imap_view_gone - 1 if uid was expunged but not yet told */
int imap_view_gone(const struct imap_view *v, uint32_t uid);
/* imap_view_is_recent - 1 if uid is \Recent in this session */
int imap_view_is_recent(const struct imap_view *v, uint32_t uid);

/* imap_view_resolve - the messages a sequence set names: the 0-based
 * view indexes in increasing order (a new array in *idx_r, free with
 * free(); NULL when none). uid: set holds UIDs (those not in the view
 * are left out), else message numbers ("*" is the last; 0 or past the
 * end is an error). "$" takes the saved search result. 0, or -1 with a
 * BAD set on cmd. */
int imap_view_resolve(struct imap_client *c, struct imap_cmd *cmd,
                      const char *set, int uid, uint32_t **idx_r,
                      size_t *count_r);

/* imap_view_write_flags - append "(\Seen kw ...)" for the message */
void imap_view_write_flags(const struct imap_view *v, struct buf *out,
                           uint32_t uid, uint32_t flags, uint32_t keywords);
/* imap_view_write_flag_list - append the flag names a FLAGS response
 * lists: system flags then the folder's keywords (no parentheses) */
void imap_view_write_flag_list(const struct imap_view *v, struct buf *out);
/* imap_view_send_flags - send FLAGS and PERMANENTFLAGS */
void imap_view_send_flags(struct imap_client *c);
/* imap_view_send_fetch_flags - "* N FETCH (FLAGS (...) [UID u]
 * [MODSEQ (m)])" for the message at index i */
void imap_view_send_fetch_flags(struct imap_client *c, size_t i, int uid);

/* imap_view_keywords_full - 1 when no new keyword can be made */
int imap_view_keywords_full(const struct imap_view *v);

#endif
