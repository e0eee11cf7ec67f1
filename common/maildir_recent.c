/* maildir_recent.c - \Recent: which session sees a message first
 * Used by: maildir_modseq.c (what a sync or an APPEND claims, under the
 * uidlist lock), maildir_sync.c and maildir_msg.c (what a handle reports),
 * the imap session (SELECT, FETCH FLAGS, SEARCH RECENT, STATUS RECENT).
 * RFC 3501 2.3.2: a message is recent in exactly one session, the first
 * to be told of it. The folder's first recent UID lives in yubin-modseq
 * (as Dovecot keeps first_recent_uid in its index): every UID at or above
 * it is unclaimed. A MAILDIR_BOX_RECENT handle (SELECT) that syncs under
 * the lock claims the unclaimed UIDs up to the highest it saw and moves
 * the first recent UID past them in the same block; appending or copying
 * through it claims the new UIDs at once. A handle remembers the ranges
 * it claimed, so a message stays recent there until the handle is closed
 * and is recent nowhere else. Handles with a store but without
 * MAILDIR_BOX_RECENT (EXAMINE, STATUS) see the unclaimed UIDs as recent
 * and claim none, as RFC 3501 6.3.2 asks of EXAMINE; handles without a
 * store report what they moved out of new/. Nothing here touches
 * Dovecot's files. Runs as the mailbox owner. */
#include <stdint.h>
#include <stdlib.h>

#include "maildir.h"
#include "maildir_private.h"
#include "mem.h"

/* start - where the first recent UID starts for a store that holds none:
 * every UID given before the last refresh is old (without a uidlist then,
 * every file in cur/ is), except files found in new/ (delivered, never
 * seen by a session); UIDs given since are new */
static uint32_t start(const struct maildir_box *box)
{
        uint32_t first = box->refresh_next_uid;

        if (first == 0)
                first = box->count > 0 &&
                        box->msgs[box->count - 1].uid < UINT32_MAX ?
                        box->msgs[box->count - 1].uid + 1 : 1;

        for (size_t i = 0; i < box->count; i++) {
                const struct maildir_rec *r = &box->msgs[i];
                if ((r->in_new || r->recent) && r->uid < first)
                        first = r->uid;
        }
        return first;
}

static int claims(const struct maildir_box *box)
{
        return (box->flags & MAILDIR_BOX_RECENT) &&
               (box->flags & MAILDIR_BOX_MODSEQ);
}

uint32_t maildir_recent_next(const struct maildir_box *box, uint32_t first,
                             uint32_t *base_r)
{
        if (first == 0)
                first = start(box);
        *base_r = first;
        if (!claims(box) || box->count == 0)
                return first;
        uint32_t top = box->msgs[box->count - 1].uid;
        /* UIDs above top, given by others after our refresh, are left
         * for whoever sees them first: perhaps us, at the next sync */
        return top >= first && top < UINT32_MAX ? top + 1 : first;
}

void maildir_recent_claimed(struct maildir_box *box, uint32_t first,
                            uint32_t end)
{
        uint32_t v = box->ul != NULL ? box->ul->uidvalidity : 0;

        if (first >= end)
                return;
        if (v != box->claimed_uidvalidity) {
                box->claimed_count = 0;
                box->claimed_uidvalidity = v;
        }
        if (box->claimed_count > 0) {
                struct maildir_uid_range *last =
                        &box->claimed[box->claimed_count - 1];
                /* claims only go up; one that touches the last grows it */
                if (first <= last->last + 1) {
                        if (end - 1 > last->last)
                                last->last = end - 1;
                        return;
                }
        }
        if (box->claimed_count == box->claimed_alloc) {
                box->claimed_alloc = box->claimed_alloc ?
                                     box->claimed_alloc * 2 : 8;
                box->claimed = xrealloc(box->claimed, box->claimed_alloc *
                                        sizeof(*box->claimed));
        }
        box->claimed[box->claimed_count].first = first;
        box->claimed[box->claimed_count].last = end - 1;
        box->claimed_count++;
}

/* in_claims - uid lies in one of the handle's claimed ranges */
static int in_claims(const struct maildir_box *box, uint32_t uid)
{
        size_t lo = 0, hi = box->claimed_count;

        if (box->ul == NULL || box->ul->uidvalidity != box->claimed_uidvalidity)
                return 0;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const struct maildir_uid_range *r = &box->claimed[mid];
                if (uid < r->first)
                        hi = mid;
                else if (uid > r->last)
                        lo = mid + 1;
                else
                        return 1;
        }
        return 0;
}

int maildir_recent_is(const struct maildir_box *box,
                      const struct maildir_rec *rec)
{
        uint32_t first;

        if (claims(box))
                return in_claims(box, rec->uid);
        if (box->modseq != NULL &&
            (first = maildir_modseq_first_recent(box->modseq)) != 0)
                return rec->uid >= first;
        return rec->recent;
}

size_t maildir_box_recent_count(const struct maildir_box *box)
{
        size_t n = 0;

        for (size_t i = 0; i < box->seen_count; i++) {
                const struct maildir_rec *r =
                        maildir_box_find((struct maildir_box *)box,
                                         box->seen[i].uid);
                if (r != NULL && maildir_recent_is(box, r))
                        n++;
        }
        return n;
}
