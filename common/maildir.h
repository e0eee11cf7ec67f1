/* maildir.h - Maildir++ storage, bit-compatible with Dovecot's
 * One user's Maildir (struct maildir) holds INBOX at its root and every
 * other folder in a ".Name" directory; the hierarchy separator is '.' both
 * on disk and towards IMAP clients, as in Dovecot's default Maildir++
 * setup. Folder names in this API are UTF-8 ("Work.Projects", "日本語");
 * on disk they are IMAP modified UTF-7 (".&ZeVnLIqe-"), as Dovecot keeps
 * them. "INBOX" is matched without regard to case.
 * Per folder: dovecot-uidlist (UIDs, uidlist.h), dovecot-keywords
 * (keywords.h), flags in the ":2," info of each file name; per Maildir:
 * subscriptions and maildirsize (quota.h).
 * A folder is read through a handle (struct maildir_box): maildir_sync()
 * brings it up to date and reports what changed since its previous call,
 * which is what an IMAP session turns into EXISTS, FETCH and EXPUNGE. The
 * handle's message list (maildir_box_count/maildir_box_uid) is the one last
 * reported; a message gone meanwhile makes the maildir_msg_* calls return 0.
 * Optional, per handle: yubin-cache (sizes, dates and commonly fetched
 * header fields, rebuilt when missing or bad) and yubin-modseq (CONDSTORE
 * and QRESYNC modification sequences, which cannot be rebuilt: losing them
 * gives the folder a new UIDVALIDITY, and the folder's first \Recent UID);
 * Dovecot's files are left as they are apart from a "Y1" field in the
 * uidlist header that says a modseq store was made.
 * Runs as the mailbox owner, never root; directories are made 0700, files
 * 0600. Errors: -1 + status, 4.x.x for disk or lock trouble (4.3.1 when the
 * disk is full), 5.x.x for bad or missing names, 5.2.2 over quota. */
#ifndef YUBIN_MAILDIR_H
#define YUBIN_MAILDIR_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "quota.h"
#include "status.h"

/* system flags: the upper-case info letters, as bits 'A'..'Z' */
#define MAILDIR_FLAG(c)         (1u << ((c) - 'A'))
#define MAILDIR_FLAG_DRAFT      MAILDIR_FLAG('D')
#define MAILDIR_FLAG_FLAGGED    MAILDIR_FLAG('F')
#define MAILDIR_FLAG_PASSED     MAILDIR_FLAG('P')
#define MAILDIR_FLAG_ANSWERED   MAILDIR_FLAG('R')
#define MAILDIR_FLAG_SEEN       MAILDIR_FLAG('S')
#define MAILDIR_FLAG_DELETED    MAILDIR_FLAG('T')

#define MAILDIR_SEP             '.'
/* longest folder name, in bytes of UTF-8 */
#define MAILDIR_NAME_MAX        1024
/* dovecot-uidlist.lock: how long to wait, and when it is stale */
#define MAILDIR_LOCK_TIMEOUT    125
#define MAILDIR_LOCK_STALE      120

struct maildir;
struct maildir_box;
struct maildir_save;

/* ---- the Maildir (maildir.c) ---- */

/* MAILDIR_CREATE - create the Maildir (and its parents) when missing */
#define MAILDIR_CREATE          (1 << 0)

/* maildir_open - open the Maildir at root (borrowed, copied). With
 * MAILDIR_CREATE a missing root, cur/, new/ or tmp/ is made (mode 0700).
 * 0 and a new handle in *md_r (free with maildir_close), or -1 with st. */
int maildir_open(const char *root, int flags, struct maildir **md_r,
                 struct status *st);
/* maildir_close - free *mdp and clear it; accepts NULL. Boxes opened from
 * it must be closed first. */
void maildir_close(struct maildir **mdp);
/* maildir_root - the root path; borrowed */
const char *maildir_root(const struct maildir *md);

/* maildir_set_quota - the configured quota limits (0 = none of that kind).
 * Both 0 turns quota off. Without this call the limits in an existing
 * maildirsize file apply, as Maildir++ intends. */
void maildir_set_quota(struct maildir *md, uint64_t bytes, uint64_t count);
/* maildir_quota - current usage: 1 with *u_r when a quota applies, 0 when
 * none does, -1 with st */
int maildir_quota(struct maildir *md, struct quota_usage *u_r,
                  struct status *st);

/* ---- names (maildir.c) ---- */

/* maildir_name_normalize - check a UTF-8 folder name and return it with
 * "INBOX" spelled so; a new string (free with free()), or NULL with st
 * (5.5.4): empty, too long, bad UTF-8, control characters, '/', '%', '*',
 * or an empty hierarchy level ("a..b", ".a", "a."). */
char *maildir_name_normalize(const char *name, struct status *st);
/* maildir_name_to_dir - the directory name for a folder: "" for INBOX,
 * else "." + modified UTF-7; new string, or NULL with st (bad name) */
char *maildir_name_to_dir(const char *name, struct status *st);
/* maildir_dir_to_name - the folder name for a root entry like ".Foo";
 * new string, or NULL when the entry is not a folder name */
char *maildir_dir_to_name(const char *dirent);

/* ---- file names (maildir.c) ---- */

/* maildir_filename_size - the value of ",<key>=<n>" (key 'S': file size,
 * 'W': size with CRLF line ends) in a file name; 1 found, 0 absent */
int maildir_filename_size(const char *fname, char key, uint64_t *size_r);
/* maildir_filename_flags - system flags (MAILDIR_FLAG_*) and keyword
 * letters (bit n = 'a' + n) from a name's ":2," info; 0 and 0 without */
void maildir_filename_flags(const char *fname, uint32_t *flags_r,
                            uint32_t *keywords_r);
/* maildir_filename_set_flags - fname with its info replaced by ":2," and
 * the letters of flags then keywords, each in ASCII order; new string */
char *maildir_filename_set_flags(const char *fname, uint32_t flags,
                                 uint32_t keywords);
/* maildir_filename_base_len - length of the base name (before ':') */
size_t maildir_filename_base_len(const char *fname);
/* maildir_filename_format - "<secs>.M<usecs>P<pid>Q<n>.<host>", then
 * ",S=<size>,W=<vsize>" when size is not UINT64_MAX; '/', ':' and ',' in
 * host become \057, \072 and \054. New string. */
char *maildir_filename_format(time_t secs, long usecs, long pid,
                              unsigned long q, const char *host,
                              uint64_t size, uint64_t vsize);

/* maildir_msg_header_end - offset where the body starts in a message
 * (just past the empty line that ends the header), or len if the message
 * has no body */
size_t maildir_msg_header_end(const char *data, size_t len);

/* ---- folders (maildir_folder.c) ---- */

#define MAILDIR_LIST_NONEXISTENT (1 << 0)       /* only a parent of others */
#define MAILDIR_LIST_CHILDREN   (1 << 1)        /* has child folders */
#define MAILDIR_LIST_SUBSCRIBED (1 << 2)

struct maildir_folder {
        char *name;             /* UTF-8 */
        unsigned int flags;     /* MAILDIR_LIST_* */
};

/* maildir_folder_exists - 1 exists, 0 does not, -1 with st (bad name) */
int maildir_folder_exists(struct maildir *md, const char *name,
                          struct status *st);
/* maildir_folder_create - make ".Name" with cur/ new/ tmp/ and
 * maildirfolder; 1 created, 0 it already existed, -1 with st */
int maildir_folder_create(struct maildir *md, const char *name,
                          struct status *st);
/* maildir_folder_delete - delete a folder and its messages; its children
 * stay (as in Dovecot: the parent then lists as NONEXISTENT). 1 deleted,
 * 0 no such folder, -1 with st (5.x.x for INBOX). */
int maildir_folder_delete(struct maildir *md, const char *name,
                          struct status *st);
/* maildir_folder_rename - rename a folder and its children; a child whose
 * new name is taken stays where it was (as in Dovecot). Subscriptions are
 * names and are left alone. 1 renamed, 0 no such folder (nor children),
 * -1 with st (target exists: 5.x.x; INBOX: 5.x.x). */
int maildir_folder_rename(struct maildir *md, const char *oldname,
                          const char *newname, struct status *st);
/* maildir_folder_list - every folder, INBOX first then in byte order, with
 * parents that exist only as a prefix of others (NONEXISTENT). 0 and a new
 * array (free with maildir_folder_list_free), or -1 with st. */
int maildir_folder_list(struct maildir *md, struct maildir_folder **list_r,
                        size_t *count_r, struct status *st);
void maildir_folder_list_free(struct maildir_folder **listp, size_t count);

/* ---- subscriptions (maildir_subs.c) ---- */

/* maildir_subscriptions - the subscribed names, in file order (either
 * subscriptions format is read). 0 and a new array of new strings (free
 * with maildir_subscriptions_free), or -1 with st. */
int maildir_subscriptions(struct maildir *md, char ***names_r,
                          size_t *count_r, struct status *st);
void maildir_subscriptions_free(char ***namesp, size_t count);
/* maildir_subscribe - add (on) or remove (!on) a name; the file is written
 * in Dovecot 2.3's format ("V\t2\n\n", then one name a line, levels
 * separated by tabs). 0, or -1 with st. */
int maildir_subscribe(struct maildir *md, const char *name, int on,
                      struct status *st);

/* ---- folder handles (maildir_box.c) and sync (maildir_sync.c) ---- */

/* MAILDIR_BOX_READONLY - leave new/ as it is (no moves to cur/) */
#define MAILDIR_BOX_READONLY    (1 << 0)
/* MAILDIR_BOX_CACHE - keep the folder cache, yubin-cache (sizes, dates,
 * header offsets and commonly fetched header fields of each message) */
#define MAILDIR_BOX_CACHE       (1 << 1)
/* MAILDIR_BOX_MODSEQ - keep the modification sequences, yubin-modseq (IMAP
 * CONDSTORE/QRESYNC); every sync records what changed since the last one */
#define MAILDIR_BOX_MODSEQ      (1 << 2)
/* MAILDIR_BOX_RECENT - claim \Recent (RFC 3501 2.3.2; an IMAP SELECT, not
 * EXAMINE): each message is recent for exactly one such handle, the first
 * to sync after it arrived, or the one that appended or copied it in.
 * Needs MAILDIR_BOX_MODSEQ (yubin-modseq keeps the folder's first
 * unclaimed UID); ignored without it. */
#define MAILDIR_BOX_RECENT      (1 << 3)
/* MAILDIR_BOX_WATCH - watch new/ and cur/ with inotify while the handle is
 * open: a sync right after a change of its own then needs no second read
 * of a directory. The descriptor serves IMAP IDLE too. */
#define MAILDIR_BOX_WATCH       (1 << 4)

struct maildir_changes {
        int uidvalidity_changed;        /* all earlier UIDs are void */
        uint32_t *new_uids;             /* increasing */
        size_t new_count;
        uint32_t *recent_uids;          /* those of new_uids that are
                                         * \Recent here (maildir_msg_info) */
        size_t recent_count;
        uint32_t *changed_uids;         /* flags or keywords changed by
                                         * others */
        size_t changed_count;
        uint32_t *expunged_uids;        /* increasing */
        size_t expunged_count;
};

struct maildir_box_stats {
        unsigned long dir_scans;        /* readdir passes over new/ or cur/ */
        unsigned long msg_reads;        /* message files opened */
        unsigned long uidlist_reads;
        unsigned long uidlist_writes;
        unsigned long cache_hits;       /* answers from yubin-cache */
        unsigned long cache_misses;     /* entries made by reading a file */
        unsigned long cache_writes;     /* yubin-cache files written */
        unsigned long cache_discards;   /* corrupt or stale files dropped */
        unsigned long modseq_reads;     /* yubin-modseq reads (whole or tail) */
        unsigned long modseq_writes;    /* blocks appended, files written */
        unsigned long modseq_fsyncs;
        unsigned long modseq_resets;    /* store lost: new UIDVALIDITY */
};

/* maildir_box_open - a handle on a folder (cur/, new/ and tmp/ are made if
 * missing; INBOX always exists). The list is empty until maildir_sync().
 * 0 and a new handle (free with maildir_box_close), or -1 with st (5.1.1
 * when there is no such folder). */
int maildir_box_open(struct maildir *md, const char *name, int flags,
                     struct maildir_box **box_r, struct status *st);
void maildir_box_close(struct maildir_box **boxp);
/* maildir_box_name - the folder name; borrowed */
const char *maildir_box_name(const struct maildir_box *box);
/* maildir_box_path - the folder's directory, e.g. for inotify watches on
 * its new/ and cur/ (IMAP IDLE); borrowed */
const char *maildir_box_path(const struct maildir_box *box);
/* maildir_box_watch_fd - the MAILDIR_BOX_WATCH inotify descriptor, or -1
 * (none could be made); readable when new/ or cur/ changed. Its reader
 * calls maildir_box_watch_drain(), which empties it and notes for the
 * next sync that something changed. The descriptor is the process's one
 * inotify instance, shared by its watching handles: drain it only this
 * way, and never close it. */
int maildir_box_watch_fd(const struct maildir_box *box);
void maildir_box_watch_drain(struct maildir_box *box);
/* maildir_box_uidvalidity, maildir_box_uidnext - as of the last sync */
uint32_t maildir_box_uidvalidity(const struct maildir_box *box);
uint32_t maildir_box_uidnext(const struct maildir_box *box);
/* maildir_box_count, maildir_box_uid - the messages as last reported by
 * maildir_sync, in UID order (i from 0) */
size_t maildir_box_count(const struct maildir_box *box);
uint32_t maildir_box_uid(const struct maildir_box *box, size_t i);
/* maildir_box_keyword - the keyword of letter 'a' + idx, or NULL; borrowed,
 * valid until the next sync */
const char *maildir_box_keyword(const struct maildir_box *box,
                                unsigned int idx);
/* maildir_box_recent_count - how many messages of the reported view are
 * \Recent for this handle (maildir_msg_info); STATUS RECENT on a handle
 * with MAILDIR_BOX_MODSEQ and without MAILDIR_BOX_RECENT counts those no
 * session has claimed, claiming none */
size_t maildir_box_recent_count(const struct maildir_box *box);
/* maildir_box_stats - counters, for tests and debug logging; borrowed */
const struct maildir_box_stats *maildir_box_stats(const struct maildir_box *box);

/* maildir_sync - bring the handle up to date: scan new/ and cur/ only if
 * their mtimes moved, move new/ files to cur/ (adding ":2,"), give UIDs to
 * new files under the uidlist lock, and fill *ch_r (may be NULL; release
 * with maildir_changes_release) with what changed since the previous call.
 * Expunges made through this handle are reported like anyone else's; its
 * own flag changes are not (the caller answered those already). 0, or -1
 * with st (the handle stays usable). */
int maildir_sync(struct maildir_box *box, struct maildir_changes *ch_r,
                 struct status *st);
void maildir_changes_release(struct maildir_changes *ch);

/* ---- messages (maildir_msg.c) ---- */

struct maildir_msg_info {
        uint32_t uid;
        uint32_t flags;         /* MAILDIR_FLAG_* */
        uint32_t keywords;      /* bit n: maildir_box_keyword(box, n) */
        int recent;             /* \Recent: with MAILDIR_BOX_RECENT, this
                                 * handle claimed it; with MAILDIR_BOX_MODSEQ
                                 * alone, no handle has claimed it yet (as
                                 * of the last sync); else this handle took
                                 * it from new/ */
};

/* The maildir_msg_* calls return 1 done, 0 when the UID no longer exists
 * (expunged, perhaps not yet reported), -1 with st. A file renamed or
 * removed by another process meanwhile makes them rescan, not fail. */

int maildir_msg_info(struct maildir_box *box, uint32_t uid,
                     struct maildir_msg_info *info_r);
/* maildir_msg_size - size on disk (LF line ends) */
int maildir_msg_size(struct maildir_box *box, uint32_t uid, uint64_t *size_r,
                     struct status *st);
/* maildir_msg_vsize - size with CRLF line ends (RFC822.SIZE): from W= in
 * the name or the uidlist, else counted by reading the file once */
int maildir_msg_vsize(struct maildir_box *box, uint32_t uid,
                      uint64_t *vsize_r, struct status *st);
/* maildir_msg_date - internal date: the file's mtime, as in Dovecot */
int maildir_msg_date(struct maildir_box *box, uint32_t uid, time_t *date_r,
                     struct status *st);
/* maildir_msg_path - the file's current path; new string, or NULL */
char *maildir_msg_path(struct maildir_box *box, uint32_t uid);
/* maildir_msg_open - a new read-only descriptor on the message (the
 * caller closes it) */
int maildir_msg_open(struct maildir_box *box, uint32_t uid, int *fd_r,
                     struct status *st);

struct maildir_map {
        const char *data;       /* the message, len bytes */
        size_t len;
        void *base;             /* for maildir_msg_unmap */
};
/* maildir_msg_map - map the message read-only; release with
 * maildir_msg_unmap */
int maildir_msg_map(struct maildir_box *box, uint32_t uid,
                    struct maildir_map *map_r, struct status *st);
void maildir_msg_unmap(struct maildir_map *map);

enum maildir_store_op {
        MAILDIR_STORE_REPLACE,
        MAILDIR_STORE_ADD,
        MAILDIR_STORE_REMOVE
};
/* maildir_msg_store - change system flags and keywords (nkeywords names,
 * borrowed; new names are added to dovecot-keywords, at most 26 a folder:
 * more is 5.x.x) by renaming the file */
int maildir_msg_store(struct maildir_box *box, uint32_t uid,
                      enum maildir_store_op op, uint32_t flags,
                      const char *const *keywords, size_t nkeywords,
                      struct status *st);
/* maildir_msg_expunge - remove the message (reported by the next sync) */
int maildir_msg_expunge(struct maildir_box *box, uint32_t uid,
                        struct status *st);
/* maildir_msg_copy - copy (hard link when possible) or move (rename) count
 * messages from src to dst keeping flags, keywords and internal dates;
 * dst_uids_r[i] gets the new UID of uids[i], or 0 if it was gone. UIDs are
 * given under dst's uidlist lock (for COPYUID). A copy is checked against
 * the quota first. Returns how many were copied, or -1 with st. */
int maildir_msg_copy(struct maildir_box *src, const uint32_t *uids,
                     size_t count, struct maildir_box *dst, int move,
                     uint32_t *dst_uids_r, struct status *st);

/* maildir_msg_header_size - the header's size with its blank line (the
 * body's offset) in *size_r, and its size with CRLF line ends in *vsize_r
 * (either may be NULL); from the cache when the handle keeps one, else by
 * reading the file */
int maildir_msg_header_size(struct maildir_box *box, uint32_t uid,
                            uint64_t *size_r, uint64_t *vsize_r,
                            struct status *st);

/* ---- the folder cache (maildir_cache.c) ----
 * yubin-cache in the folder's directory: per message (UID and base file
 * name) its size, CRLF size, internal date, header size, and the raw lines
 * of the header fields IMAP clients fetch most (maildir_cache_field), so
 * ENVELOPE and BODY.PEEK[HEADER.FIELDS (...)] of those need no message
 * file. Entries are made on first access and the file is rewritten (temp
 * file + rename, no fsync: it is only a cache) at close, at
 * maildir_cache_flush, and by a sync once enough entries are new. A
 * missing, corrupt or foreign file is dropped and rebuilt; the Maildir is
 * the truth. Dovecot's files are not touched. */

#define MAILDIR_CACHE_NAME      "yubin-cache"
/* a field longer than this (all its lines) is not kept: read from the file */
#define MAILDIR_CACHE_FIELD_MAX 8192
/* kept field bytes per message; fields past it are read from the file */
#define MAILDIR_CACHE_MSG_MAX   32768
/* a sync writes the file once this many entries are new */
#define MAILDIR_CACHE_FLUSH_MIN 256

/* maildir_cache_field - 1 when the cache keeps the header field name (any
 * case): Date, Subject, From, Sender, Reply-To, To, Cc, Bcc, Message-ID,
 * In-Reply-To, References, Content-Type, Content-Transfer-Encoding,
 * MIME-Version, List-Id, Priority, X-Priority, Importance, Newsgroups; else 0 */
int maildir_cache_field(const char *name);

/* maildir_msg_cached_header - append to out the header fields of uid named
 * in names (n names, borrowed, any case), whole lines as stored, in the
 * order of the message, without the blank line that ends a header (what
 * BODY[HEADER.FIELDS (...)] shows, before CRLF conversion). Answered from
 * the cache when the handle keeps one and every name is a cached field
 * (maildir_cache_field); else, and for an entry not yet made, the file is
 * read (and the entry made). 1, 0 gone, -1 with st. */
int maildir_msg_cached_header(struct maildir_box *box, uint32_t uid,
                              const char *const *names, size_t n,
                              struct buf *out, struct status *st);

/* maildir_cache_fill - make the missing entries of every message in the
 * view (reads those files); 0, or -1 with st */
int maildir_cache_fill(struct maildir_box *box, struct status *st);

/* maildir_cache_flush - write yubin-cache now if entries were added since
 * it was last written; entries of messages no longer in the folder are
 * dropped. 0, or -1 with st (the cache stays usable in memory). */
int maildir_cache_flush(struct maildir_box *box, struct status *st);

/* ---- modification sequences (maildir_modseq.c) ----
 * yubin-modseq in the folder's directory holds each message's MODSEQ and
 * the folder's HIGHESTMODSEQ (RFC 7162) and the expunged UIDs with the
 * MODSEQ of their expunge (for QRESYNC's VANISHED (EARLIER)). A sync of a
 * MAILDIR_BOX_MODSEQ handle gives one new MODSEQ to everything it finds
 * changed (new messages, flags or keywords changed by anyone, expunges),
 * appended as one block and fsynced once, under the uidlist lock. The
 * store cannot be rebuilt from the Maildir: when it is lost or corrupt the
 * folder gets a new UIDVALIDITY and every message a new UID (clients
 * resync), so a MODSEQ is never given twice. HIGHESTMODSEQ never goes
 * down. The store also keeps the folder's first recent UID, as Dovecot
 * keeps first_recent_uid in its index (maildir_recent.c): messages at or
 * above it are \Recent for the next MAILDIR_BOX_RECENT handle to sync,
 * which moves it past them in the same block. A store made for a folder
 * that already has messages counts those not in new/ as seen before. */

#define MAILDIR_MODSEQ_NAME     "yubin-modseq"

struct maildir_uid_range {
        uint32_t first, last;   /* inclusive */
};

/* maildir_box_highestmodseq - HIGHESTMODSEQ as of the last sync or commit
 * (0 when the handle does not keep modseqs) */
uint64_t maildir_box_highestmodseq(const struct maildir_box *box);
/* maildir_msg_modseq - the MODSEQ of uid: 1 and *modseq_r, 0 when the
 * message is gone or the handle keeps no modseqs */
int maildir_msg_modseq(struct maildir_box *box, uint32_t uid,
                       uint64_t *modseq_r);
/* maildir_changed_since - the UIDs of the reported view whose MODSEQ is
 * above modseq, increasing (CHANGEDSINCE, SEARCH MODSEQ); a new array in
 * *uids_r (free with free(); NULL when empty). 0, or -1 with st when the
 * handle keeps no modseqs. */
int maildir_changed_since(struct maildir_box *box, uint64_t modseq,
                          uint32_t **uids_r, size_t *count_r,
                          struct status *st);
/* maildir_expunged_since - UIDs expunged with a MODSEQ above modseq, as
 * increasing disjoint ranges (VANISHED (EARLIER)); may name UIDs that
 * never existed or were expunged earlier, never a message that exists. A
 * new array in *ranges_r (free with free(); NULL when empty). 0, or -1
 * with st when the handle keeps no modseqs. */
int maildir_expunged_since(struct maildir_box *box, uint64_t modseq,
                           struct maildir_uid_range **ranges_r,
                           size_t *count_r, struct status *st);
/* maildir_modseq_commit - give one new MODSEQ to the flag changes and
 * expunges this handle made (maildir_msg_store, _expunge, a move) since
 * the last commit or sync, with one fsync: call it once after the calls of
 * one STORE or EXPUNGE command, before answering. Changes not committed
 * are committed by the next sync. 0 (also with nothing to do), or -1 with
 * st. */
int maildir_modseq_commit(struct maildir_box *box, struct status *st);

/* ---- saving: delivery and APPEND (maildir_save.c) ---- */

/* maildir_save_begin - start a message in folder's tmp/ (folder NULL or
 * "INBOX" for INBOX; another folder must exist: 5.1.1). Fails with 5.2.2
 * when already over quota. 0 and a new save (ended by deliver, append or
 * abort), or -1 with st. */
int maildir_save_begin(struct maildir *md, const char *folder,
                       struct maildir_save **sv_r, struct status *st);
/* maildir_save_write - add len bytes of the message; CRLF is stored as LF
 * (the CRLF size is kept as W=). 0, or -1 with st. */
int maildir_save_write(struct maildir_save *sv, const void *data, size_t len,
                       struct status *st);
/* maildir_save_deliver - local delivery: fsync, check quota, rename into
 * new/ as "<unique>,S=<size>,W=<vsize>" and fsync new/; no uidlist lock.
 * *name_r (may be NULL) gets the file name (new string). Ends the save:
 * *svp is freed and cleared either way. 0, or -1 with st. */
int maildir_save_deliver(struct maildir_save **svp, char **name_r,
                         struct status *st);
/* maildir_save_append - IMAP APPEND into box (the folder given to begin):
 * flags, keywords (borrowed), internal date (0 = now); the UID is given
 * under the uidlist lock (*uid_r, for APPENDUID). Ends the save either way.
 * 0, or -1 with st. */
int maildir_save_append(struct maildir_save **svp, struct maildir_box *box,
                        uint32_t flags, const char *const *keywords,
                        size_t nkeywords, time_t date, uint32_t *uid_r,
                        struct status *st);
/* maildir_save_abort - drop the temp file; frees *svp, clears it; accepts
 * NULL */
void maildir_save_abort(struct maildir_save **svp);
/* maildir_deliver - begin + write + deliver of a whole message */
int maildir_deliver(struct maildir *md, const char *folder, const void *data,
                    size_t len, char **name_r, struct status *st);

#endif
