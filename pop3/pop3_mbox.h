/* pop3_mbox.h - a POP3 session's view of INBOX: the snapshot at login
 * Used by: the pop3 session (pop3_session.c). At login INBOX is synced
 * once and its messages numbered 1..n in UID order with their sizes as
 * RFC 1939 counts them (CRLF line ends) and their UIDLs; the numbering
 * holds for the whole session -- mail delivered meanwhile waits for the
 * next login, and a message expunged meanwhile (by IMAP) keeps its number
 * and size, only its retrieval fails. DELE marks, RSET unmarks, and only
 * pop3_mbox_update() (QUIT) expunges. With pop3_lock_session one session
 * at a time holds the mailbox (an fcntl open file description lock on
 * yubin-pop3.lock in the Maildir: released if the session dies). Runs as the mailbox owner.
 * Errors: -1 + status (4.x.x disk or lock trouble). */
#ifndef YUBIN_POP3_MBOX_H
#define YUBIN_POP3_MBOX_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "maildir.h"
#include "status.h"

#define POP3_LOCK_NAME "yubin-pop3.lock"
/* the longest UIDL (RFC 1939: 70 characters) */
#define POP3_UIDL_MAX 70

struct pop3_msg {
        uint32_t uid;
        uint64_t size;          /* with CRLF line ends */
        char uidl[POP3_UIDL_MAX + 1];
        unsigned deleted:1;     /* DELE */
        unsigned retrieved:1;   /* RETR: gets \Seen at QUIT */
};

struct pop3_mbox {
        struct maildir *md;
        struct maildir_box *box;
        struct pop3_msg *msgs;
        size_t count;
        uint64_t total;         /* sum of sizes at login */
        int lock_fd;
};

/* pop3_mbox_open - open the Maildir at path (created if missing), take
 * the session lock when lock_session, sync INBOX and take the snapshot
 * with UIDLs in uidl_format (borrowed). 0 with *mb_r (free with
 * pop3_mbox_close()); 1 when another session holds the lock; -1 with st. */
int pop3_mbox_open(const char *path, int lock_session,
                   const char *uidl_format, struct pop3_mbox **mb_r,
                   struct status *st);
/* pop3_mbox_close - release the lock and free *mbp; clears it; accepts
 * NULL */
void pop3_mbox_close(struct pop3_mbox **mbp);

/* pop3_mbox_update - the UPDATE state (RFC 1939 section 6): expunge the
 * messages marked deleted and, unless no_flag_updates, give the retrieved
 * ones \Seen. *deleted_r gets how many were expunged. 0, or -1 with st
 * (the rest were still tried). */
int pop3_mbox_update(struct pop3_mbox *mb, int no_flag_updates,
                     size_t *deleted_r, struct status *st);

/* pop3_uidl_format - expand a Dovecot pop3_uidl_format: %u the UID, %v
 * the UIDVALIDITY, %f and %g the file's base name, %% a percent sign;
 * between % and the letter an optional width (a leading 0 pads numbers
 * with zeros, else the value is cut to that width) and the modifier X
 * (hexadecimal, in lower case as Dovecot writes it) or L/U (case). base may be NULL when the
 * format has no %f/%g. 0 with the UIDL in out (size bytes), or -1 with st
 * (5.3.5) for an unknown variable or a result longer than POP3_UIDL_MAX
 * or with characters a UIDL may not hold (RFC 1939: 0x21..0x7e). */
int pop3_uidl_format(const char *fmt, uint32_t uid, uint32_t uidvalidity,
                     const char *base, char *out, size_t size,
                     struct status *st);
/* pop3_uidl_needs_base - 1 if fmt uses %f or %g */
int pop3_uidl_needs_base(const char *fmt);

#endif
