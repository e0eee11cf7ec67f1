/* queue_file.h - the durable mail queue: queue files, IDs and directories
 * Used by: smtpd and maildrop pickup (writer), dsn (bounces are written as
 * new queue files), qmgr (reader, recipient state, moves between queue
 * directories, the administrator's operations), local (reader, content),
 * mailq and yubinctl queue (listing; hold, release, delete, requeue while
 * qmgr is not running).
 * Runs as mail_owner (the queue belongs to it when Yubin runs as root), or
 * as the invoking user of an unprivileged instance; local reads as root
 * before it forks to the mailbox owner.
 *
 * Queue layout under queue_directory (each 0700, owned by mail_owner):
 *   tmp/        files being written (never delivered; stale ones removed),
 *               and spare.N: files of delivered messages, which writers
 *               take and write over instead of creating new ones
 *   incoming/   complete, fsynced messages qmgr has not looked at yet
 *   active/     messages qmgr is delivering now
 *   deferred/   messages waiting for their next attempt
 *   hold/       messages put on hold by the administrator
 *   corrupt/    files that failed to parse, kept for inspection
 *   private/qmgr  qmgr's socket: new-mail notices (queue_notify) and
 *               the administrator's requests (queue_ctl.h)
 * Queue IDs are shaped as Postfix long IDs: arrival seconds (6 digits)
 * and microseconds (4 digits) in an order-preserving base 52
 * ([0-9A-Za-p]), 'z', then the queue file's inode in the same base: 12-23
 * characters. IDs sort by arrival (a process never hands out the same
 * microsecond twice); the inode makes them unique while the file exists.
 * Message content is stored with LF line ends (smtpd converts CRLF to LF
 * and undoes dot-stuffing; the outbound client converts back). The file
 * format is described in queue_file.c. */
#ifndef YUBIN_QUEUE_FILE_H
#define YUBIN_QUEUE_FILE_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "status.h"

#define QUEUE_ID_MAX            32

/* RFC 3461 NOTIFY bits; 0 = NOTIFY not given (Postfix: failure and delay) */
#define QUEUE_NOTIFY_NEVER      1
#define QUEUE_NOTIFY_SUCCESS    2
#define QUEUE_NOTIFY_FAILURE    4
#define QUEUE_NOTIFY_DELAY      8

/* queue subdirectory names */
#define QUEUE_TMP               "tmp"
#define QUEUE_INCOMING          "incoming"
#define QUEUE_ACTIVE            "active"
#define QUEUE_DEFERRED          "deferred"
#define QUEUE_HOLD              "hold"
#define QUEUE_CORRUPT           "corrupt"
#define QUEUE_PRIVATE           "private"
/* qmgr's notify socket, under queue_directory */
#define QUEUE_NOTIFY_SOCKET     "private/qmgr"

/* limits a reader enforces (a larger value means a corrupt file) */
#define QUEUE_RCPT_MAX          100000  /* recipients in one file */
#define QUEUE_RECORD_MAX        65536   /* one envelope record's data */

/* ---- writing a new message (queue_file_write.c) ---- */

struct queue_writer;

/* queue_writer_open - start a new message: creates its file in
 * queue_dir/tmp (making the queue directories when missing) and assigns
 * its queue ID now. Returns 0 and a new writer in *w_r (finish with
 * queue_writer_commit, free with queue_writer_free), or -1 with st
 * (4.3.0 I/O trouble, 4.3.1 no space). Borrows queue_dir (copied). */
int queue_writer_open(const char *queue_dir, struct queue_writer **w_r,
                      struct status *st);
/* queue_writer_id - the message's queue ID; valid while w lives */
const char *queue_writer_id(const struct queue_writer *w);
/* queue_writer_sender - the envelope sender; "" = null sender <>.
 * Borrows sender (copied). */
void queue_writer_sender(struct queue_writer *w, const char *sender);
/* queue_writer_recipient - add an envelope recipient; orcpt is RFC 3461
 * ORCPT as received ("rfc822;x@y", xtext) or NULL; notify QUEUE_NOTIFY_*
 * bits or 0. Borrows the strings (copied). */
void queue_writer_recipient(struct queue_writer *w, const char *rcpt,
                            const char *orcpt, unsigned notify);
/* queue_writer_attr - a message attribute; names: "client_name",
 * "client_address", "client_port", "helo", "protocol" (SMTP, ESMTP,
 * ESMTPS, ESMTPSA, ...), "sasl_method", "sasl_username", "dsn_ret"
 * (FULL/HDRS), "dsn_envid", "smtputf8" ("1"), "body" (7BIT/8BITMIME/
 * BINARYMIME), "uid" (sendmail submitter), "log_ident", "arrival" (unix
 * time; defaults to the time of queue_writer_open). A name given twice
 * keeps the last value. Borrows the strings (copied). */
void queue_writer_attr(struct queue_writer *w, const char *name,
                       const char *value);
/* The envelope calls above must precede the first queue_writer_data(). */

/* queue_writer_data - append len content bytes (LF line ends). 0, or -1
 * with st (4.3.0 / 4.3.1); after -1 the writer can only be freed. */
int queue_writer_data(struct queue_writer *w, const void *data, size_t len,
                      struct status *st);
/* queue_writer_size - content bytes so far */
long long queue_writer_size(const struct queue_writer *w);
/* queue_writer_commit - flush, fsync the file, rename it into incoming/,
 * fsync incoming/. BLOCKING, and safe to call from a worker thread (no
 * logging, no shared state), so concurrent sessions' fsyncs overlap
 * (group commit). After 0 the message belongs to the queue (mail that got
 * 250 is never lost); after -1 (st 4.3.x) nothing of it will ever be
 * delivered. Either way, only queue_writer_free() may follow. */
int queue_writer_commit(struct queue_writer *w, struct status *st);
/* queue_writer_free - free *wp and clear it; a message not committed has
 * its partial file removed. Accepts NULL. */
void queue_writer_free(struct queue_writer **wp);

/* queue_spare_put - a message is done: its file (path) becomes a spare in
 * tmp/ for queue_writer_open to write over, or is removed when the spares
 * are many. 0, or -1 with errno (unlink failed). */
int queue_spare_put(const char *queue_dir, const char *path);

/* queue_notify - tell qmgr there is new mail in incoming/: one datagram
 * to queue_dir/private/qmgr, non-blocking, best effort (qmgr also scans
 * periodically). */
void queue_notify(const char *queue_dir);

/* ---- reading a message (queue_file.c) ---- */

/* A recipient's state as recorded in the file. */
enum queue_rcpt_state {
        QUEUE_RCPT_PENDING = 0, /* still to be delivered */
        QUEUE_RCPT_SENT,        /* delivered (or relayed) */
        QUEUE_RCPT_BOUNCED,     /* failed for good; bounce written */
        QUEUE_RCPT_DROPPED,     /* failed for good; no bounce wanted
                                 * (null sender, NOTIFY=NEVER) */
        QUEUE_RCPT_EXPANDED,    /* replaced by recipients appended later
                                 * (not used by local delivery) */
};

struct queue_rcpt {
        char *addr;             /* envelope recipient, internal form */
        char *orcpt;            /* RFC 3461 ORCPT or NULL */
        unsigned notify;        /* QUEUE_NOTIFY_* or 0 */
        enum queue_rcpt_state state;
        char *defer_code;       /* last deferral's code ("4.2.2") or NULL */
        char *defer_text;       /* last deferral's reason or NULL */
        size_t parent;          /* the recipient whose expansion added this
                                 * one, or QUEUE_NO_PARENT */
};
#define QUEUE_NO_PARENT         ((size_t)-1)

struct queue_file;

/* queue_file_open - open and check the queue file at path (read-only, or
 * read-write when writable is 1, for the state-recording calls below).
 * Returns 0 and a new handle in *qf_r (free with queue_file_free), or -1
 * with st: class 5 (STATUS_PERM, text "corrupt queue file ...: why") when
 * the file is malformed, truncated or fails its checksum -- it will never
 * be good; class 4 for I/O trouble (ENOENT included: qmgr may have moved
 * it meanwhile). The id is the file's base name. */
int queue_file_open(const char *path, int writable, struct queue_file **qf_r,
                    struct status *st);
/* queue_file_open_fd - the same, read-only, from fd, a queue file that
 * someone allowed to open it opened (local's main process, for a delivery
 * worker that runs as a mailbox owner); id is its queue ID, also its
 * path in messages. Takes fd: closed by queue_file_free, and on -1. */
int queue_file_open_fd(int fd, const char *id, struct queue_file **qf_r,
                       struct status *st);
/* queue_file_free - close, free *qfp, clear it; accepts NULL */
void queue_file_free(struct queue_file **qfp);

/* Getters; returned strings are borrowed from qf. */
const char *queue_file_id(const struct queue_file *qf);
const char *queue_file_path(const struct queue_file *qf);
const char *queue_file_sender(const struct queue_file *qf);
/* queue_file_attr - an attribute's value, or NULL when not set */
const char *queue_file_attr(const struct queue_file *qf, const char *name);
/* queue_file_attr_at - attribute i (0-based, in file order): 0 with
 * *name_r and *value_r (borrowed), or -1 past the last one */
int queue_file_attr_at(const struct queue_file *qf, size_t i,
                       const char **name_r, const char **value_r);
/* queue_file_arrival - arrival time (seconds, microseconds) */
time_t queue_file_arrival(const struct queue_file *qf, long *usec_r);
size_t queue_file_rcpt_count(const struct queue_file *qf);
/* queue_file_rcpt - recipient i (0-based, in envelope order); borrowed */
const struct queue_rcpt *queue_file_rcpt(const struct queue_file *qf,
                                         size_t i);
/* queue_file_pending - recipients still QUEUE_RCPT_PENDING */
size_t queue_file_pending(const struct queue_file *qf);
/* queue_file_attempts - delivery attempts recorded; *last_r (may be NULL)
 * the time of the last one (0 when none) */
unsigned queue_file_attempts(const struct queue_file *qf, time_t *last_r);
/* queue_file_size - content bytes */
long long queue_file_size(const struct queue_file *qf);

/* queue_file_read - copy up to len content bytes from content offset off
 * into data; returns the number copied (0 at the end), or -1 with st */
ssize_t queue_file_read(struct queue_file *qf, long long off, void *data,
                        size_t len, struct status *st);
/* queue_file_content - the whole content, mapped read-only: a pointer
 * borrowed from qf (valid until queue_file_free) and its length */
const char *queue_file_content(const struct queue_file *qf, size_t *len_r);
/* queue_file_content_fd - the open descriptor and the file offset where
 * the content begins (for sendfile-like copying); borrowed */
int queue_file_content_fd(const struct queue_file *qf, long long *offset_r);

/* ---- recording progress (needs writable; appended records) ---- */

/* queue_file_mark - record recipient i's final state (SENT, BOUNCED,
 * DROPPED, EXPANDED); buffered until queue_file_sync */
void queue_file_mark(struct queue_file *qf, size_t i,
                     enum queue_rcpt_state state);
/* queue_file_add_rcpt - append a recipient found by expanding recipient
 * parent (a virtual alias, or an address local delivery handed back);
 * the new recipient's index is returned, its state PENDING. Buffered
 * until queue_file_sync, which makes the additions and the marks
 * recorded with them durable together. Strings borrowed (copied). */
size_t queue_file_add_rcpt(struct queue_file *qf, size_t parent,
                           const char *addr, const char *orcpt,
                           unsigned notify);
/* queue_file_defer_reason - record why recipient i was deferred (code and
 * text borrowed, copied; the text is trimmed to one line); buffered */
void queue_file_defer_reason(struct queue_file *qf, size_t i,
                             const char *code, const char *text);
/* queue_file_attempt - record a delivery attempt at time when; buffered */
void queue_file_attempt(struct queue_file *qf, time_t when);
/* queue_file_set_attr - set attribute name to value after the fact (it
 * replaces an earlier value, the envelope's too); qmgr records
 * "delay_warning" (when the delay notice went out) this way. Strings
 * borrowed (copied; value trimmed to one line); buffered. */
void queue_file_set_attr(struct queue_file *qf, const char *name,
                         const char *value);
/* queue_file_requeue - record that the administrator requeued the message
 * at time when: the deferral reasons and attempts recorded before are
 * forgotten (done recipients stay done); buffered */
void queue_file_requeue(struct queue_file *qf, time_t when);
/* queue_file_sync - append what was buffered and fsync the file; after 0
 * a restarted qmgr sees it. 0, or -1 with st (4.3.x; nothing is lost that
 * was synced before, a partial append is cut off again, but the handle's
 * memory is ahead of the file: free it and open the file again). */
int queue_file_sync(struct queue_file *qf, struct status *st);

/* queue_file_mark_fd - record recipient i's final state with one record
 * appended to fd (the queue file opened O_WRONLY | O_APPEND; id names it
 * in messages). local delivery opens the file when a request arrives
 * (the descriptor stays valid whatever qmgr renames) and marks the
 * recipient the moment it is in its Maildir, so that a qmgr that dies
 * before hearing of it does not deliver it again: the window for a
 * duplicate is only between the Maildir rename and this record. Not
 * fsynced, as Postfix's delivery agents do not: a killed process loses
 * nothing write(2) took, only a crash of the whole system can lose the
 * record (a duplicate then, never a lost message), and qmgr's next
 * queue_file_sync() fsyncs it with the rest. 0, or -1 with st (4.3.x). */
int queue_file_mark_fd(int fd, const char *id, size_t i,
                       enum queue_rcpt_state state, struct status *st);

/* ---- queue IDs and directories (queue_file_dir.c) ---- */

/* queue_id_make - the ID for a message arriving at tv_sec/tv_usec whose
 * file has inode ino, into out (QUEUE_ID_MAX bytes) */
void queue_id_make(time_t sec, long usec, unsigned long long ino, char *out);
/* queue_id_valid - 1 when name has the shape of a queue ID, else 0 */
int queue_id_valid(const char *name);
/* queue_id_time - the arrival time encoded in id; 0, or -1 if malformed */
int queue_id_time(const char *id, time_t *sec_r, long *usec_r);

/* queue_dirs_make - create queue_dir and its subdirectories (0700) when
 * missing; as root, give what this call creates (and the existing
 * subdirectories) to uid:gid. uid (uid_t)-1 = keep the caller's. 0, or -1
 * with st (4.3.0). */
int queue_dirs_make(const char *queue_dir, uid_t uid, gid_t gid,
                    struct status *st);
/* queue_path - "queue_dir/dir/id"; new string, free with free() */
char *queue_path(const char *queue_dir, const char *dir, const char *id);
/* queue_move - rename queue_dir/from/id to queue_dir/to/id and fsync the
 * target directory (and the source one when sync_from is 1; neither when
 * it is QUEUE_MOVE_NOSYNC, for moves between directories that are all
 * scanned after a crash, which leaves the file in one of the two); 0, or
 * -1 with st (class 4; ENOENT keeps errno for the caller) */
#define QUEUE_MOVE_NOSYNC       (-1)
int queue_move(const char *queue_dir, const char *id, const char *from,
               const char *to, int sync_from, struct status *st);
/* queue_dir_list - the queue IDs in queue_dir/dir (only names shaped like
 * IDs), sorted; a new NULL-terminated array of new strings in *ids_r
 * (free with queue_ids_free), count in *count_r. 0, or -1 with st. */
int queue_dir_list(const char *queue_dir, const char *dir, char ***ids_r,
                   size_t *count_r, struct status *st);
void queue_ids_free(char ***idsp);

/* ---- the administrator's view (queue_file_list.c) ---- */

/* queue_list - the queue in Postfix's mailq shape on out: maildrop/ (not
 * yet picked up), incoming/, active/ ('*' after the ID), deferred/, hold/
 * ('!'); each message's pending recipients, the last deferral reason in
 * parentheses above the recipients it applies to; "Mail queue is empty"
 * or a total line. Returns 0, or -1 when a directory could not be read
 * (logged; the rest is listed). */
int queue_list(FILE *out, const char *queue_dir);
/* queue_show - message id as postcat -q shows it: where it is queued, the
 * envelope (arrival, size, sender, attributes, each recipient with its
 * state and last deferral reason, attempts), then the content. 1 shown,
 * 0 no such message, -1 with st (unreadable or corrupt). */
int queue_show(FILE *out, const char *queue_dir, const char *id,
               struct status *st);

/* ---- the administrator's operations (queue_file_admin.c) ---- */

enum queue_admin_op {
        QUEUE_ADMIN_DELETE,     /* remove the file (postsuper -d) */
        QUEUE_ADMIN_HOLD,       /* to hold/: no delivery (postsuper -h) */
        QUEUE_ADMIN_RELEASE,    /* hold/ to deferred/, due now (-H) */
        QUEUE_ADMIN_REQUEUE,    /* to incoming/, reasons forgotten (-r) */
        QUEUE_ADMIN_FLUSH,      /* a deferred message is due now
                                 * (postqueue -i) */
};

/* queue_admin flags */
#define QUEUE_ADMIN_OPEN        1       /* qmgr has the message open: a
                                         * requeue only moves the file (qmgr
                                         * records it through its handle) */

/* queue_admin - apply op to message id wherever it is queued (incoming/,
 * active/, deferred/, hold/; a delete also finds corrupt/). Whoever owns
 * the queue calls it: qmgr, or yubinctl while qmgr is not running.
 * Returns 1 done, logged as postsuper logs it ("ID: removed", "ID: placed
 * on hold", "ID: released from hold", "ID: requeued"); 0 nothing to do,
 * *why_r (static text) says why ("already on hold", "not on hold", "on
 * hold", "being delivered"); -1 with st: class 5 when there is no such
 * message, class 4 for I/O trouble. */
int queue_admin(const char *queue_dir, enum queue_admin_op op,
                const char *id, int flags, const char **why_r,
                struct status *st);
/* queue_admin_find - the directory holding id: 1 with *dir_r (QUEUE_
 * INCOMING, _ACTIVE, _DEFERRED, _HOLD, or with corrupt set also
 * _CORRUPT, static), 0 when none does */
int queue_admin_find(const char *queue_dir, const char *id, int corrupt,
                     const char **dir_r);
/* queue_admin_due - make deferred/id due now (its mtime is its next
 * attempt); 0, or -1 with st */
int queue_admin_due(const char *queue_dir, const char *id,
                    struct status *st);
/* queue_admin_site - 1 when dir/id has a pending recipient at domain
 * (case-insensitive; subdomains do not count), 0 when not or when the
 * file is gone or unreadable */
int queue_admin_site(const char *queue_dir, const char *dir, const char *id,
                     const char *domain);
/* queue_admin_ids - the IDs that "ALL" means for op: hold/ for a release,
 * deferred/ for a flush, else incoming/, active/, deferred/ and hold/;
 * a new sorted, NULL-terminated array (free with queue_ids_free). 0, or
 * -1 with st. */
int queue_admin_ids(const char *queue_dir, enum queue_admin_op op,
                    char ***ids_r, size_t *count_r, struct status *st);

#endif
