/* maildir_private.h - what the maildir_*.c modules share, and nothing else
 * includes: the handles' insides and helpers between the modules. */
#ifndef YUBIN_MAILDIR_PRIVATE_H
#define YUBIN_MAILDIR_PRIVATE_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "dotlock.h"
#include "keywords.h"
#include "maildir.h"
#include "uidlist.h"

#define MAILDIR_SIZE_UNKNOWN    UINT64_MAX
/* how often a vanished file makes an operation rescan before giving up */
#define MAILDIR_RACE_RETRIES    5
/* a directory changed this recently may change again within the same
 * mtime tick; such a directory is scanned again at the next sync. The
 * tick is a second where mtimes have no fraction (as Dovecot assumes),
 * else the kernel's coarse clock tick (at most 10 ms), with margin. */
#define MAILDIR_DIRTY_SECS      1
#define MAILDIR_DIRTY_NSECS     50000000L
/* tmp/ files untouched this long are left over from a crash */
#define MAILDIR_TMP_STALE_SECS  (36 * 3600)

enum maildir_quota_mode {
        MAILDIR_QUOTA_FILE,     /* limits from maildirsize, if any */
        MAILDIR_QUOTA_SET,      /* configured limits */
        MAILDIR_QUOTA_OFF
};

struct maildir {
        char *root;
        char *host;             /* escaped for file names */
        enum maildir_quota_mode quota_mode;
        uint64_t quota_limits[2];       /* bytes, count */
        unsigned long deliveries;       /* the Q<n> of unique names */
        struct timeval last_tv;
};

/* one message file, as last seen */
struct maildir_rec {
        uint32_t uid;           /* 0: none yet */
        char *name;             /* file name in new/ or cur/ */
        unsigned int in_new:1;
        unsigned int recent:1;  /* this handle moved it out of new/ (what
                                 * \Recent means without a modseq store) */
        uint32_t flags;
        uint32_t kw;            /* keyword letters */
        uint64_t size;          /* MAILDIR_SIZE_UNKNOWN until known */
        uint64_t vsize;
        time_t mtime;           /* 0 until known */
};

/* one message as last reported by maildir_sync */
struct maildir_seen {
        uint32_t uid;
        uint32_t flags;
        uint32_t kw;
};

struct maildir_cache;           /* maildir_cache.c */
struct maildir_modseq;          /* maildir_modseq.c */

struct maildir_box {
        struct maildir *md;
        char *name;
        char *path;             /* the folder's directory */
        char *uidlist_path;
        char *keywords_path;
        int flags;              /* MAILDIR_BOX_* */

        struct uidlist *ul;     /* NULL before the first read, or lost */
        struct stat ul_sb;      /* of the file ul was read from */
        int ul_known;           /* ul_sb is valid (else: file missing) */
        struct stat ul_bad_sb;  /* the corrupt file last complained of */
        uint32_t last_uidvalidity;

        struct keywords *kw;
        struct stat kw_sb;
        int kw_known;

        int dir_fd[2];          /* cur/ and new/ for the *at() calls, -1
                                 * until first used (maildir_box_dir_fd) */
        struct stat dir_sb[2];  /* of the directories they were opened on */

        int watch_fd;           /* MAILDIR_BOX_WATCH inotify, or -1 */
        int watch_wd[2];        /* its watches on cur/ and new/ */
        int watch_paused;       /* removed while the handle changes files */
        int watch_events;       /* events read since the last scan began */

        struct timespec new_mtime, cur_mtime;   /* as of their last scan */
        int new_dirty, cur_dirty;
        int scanned;

        struct maildir_rec *msgs;       /* with UIDs, increasing */
        size_t count;
        size_t find_hint;               /* maildir_box_find()'s last index:
                                         * look-ups mostly walk in order */

        struct maildir_seen *seen;      /* as last reported, increasing */
        size_t seen_count;
        uint32_t seen_uidvalidity;
        int synced;

        uint32_t refresh_uidvalidity;   /* the uidlist as the last refresh */
        uint32_t refresh_next_uid;      /* used it: UIDs at or above this
                                         * may be unknown to the handle */

        struct maildir_cache *cache;    /* MAILDIR_BOX_CACHE; NULL until
                                         * first used */
        char *cache_path;

        struct maildir_modseq *modseq;  /* MAILDIR_BOX_MODSEQ; NULL until
                                         * the first sync */
        char *modseq_path;
        uint32_t *mod_pending;          /* UIDs this handle changed or
                                         * expunged, not yet committed */
        size_t mod_pending_count, mod_pending_alloc;

        struct maildir_uid_range *claimed;      /* \Recent for this
                                                 * MAILDIR_BOX_RECENT handle:
                                                 * increasing, disjoint */
        size_t claimed_count, claimed_alloc;
        uint32_t claimed_uidvalidity;   /* the UIDVALIDITY they are of */

        struct maildir_box_stats stats;
};

struct maildir_save {
        struct maildir *md;
        char *folder_path;
        char *tmp_path;
        char *base;             /* unique name without S=/W= */
        int fd;
        int pending_cr;         /* last byte written was a held-back CR */
        uint64_t size;          /* bytes stored (LF line ends) */
        uint64_t vsize;         /* bytes with CRLF line ends */
        char *out;              /* write buffer */
        size_t out_len;
};

/* little-endian numbers in yubin-cache and yubin-modseq */
static inline void maildir_put_le32(unsigned char *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (unsigned char)(v >> (8 * i));
}

static inline void maildir_put_le64(unsigned char *p, uint64_t v)
{
        for (int i = 0; i < 8; i++)
                p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint32_t maildir_get_le32(const unsigned char *p)
{
        uint32_t v = 0;

        for (int i = 3; i >= 0; i--)
                v = (v << 8) | p[i];
        return v;
}

static inline uint64_t maildir_get_le64(const unsigned char *p)
{
        uint64_t v = 0;

        for (int i = 7; i >= 0; i--)
                v = (v << 8) | p[i];
        return v;
}

/* maildir.c */
/* maildir_folder_path - the directory of a (normalized or not) folder
 * name; new string, or NULL with st */
char *maildir_folder_path(struct maildir *md, const char *name,
                          struct status *st);
/* maildir_make_dirs - create path (and parents when parents) with
 * cur/ new/ tmp/; 0 or -1 with st */
int maildir_make_dirs(const char *path, int parents, struct status *st);
/* maildir_fsync_dir - fsync a directory; 0 or -1 with st */
int maildir_fsync_dir(const char *path, struct status *st);
/* maildir_unique_base - a new unique "<secs>.M<usecs>P<pid>Q<n>.<host>" */
char *maildir_unique_base(struct maildir *md);
/* maildir_quota_get - 1 with usage, 0 no quota, -1 with st */
int maildir_quota_get(struct maildir *md, struct quota_usage *u_r,
                      struct status *st);
/* maildir_quota_add - record a change; failures are logged only */
void maildir_quota_add(struct maildir *md, int64_t bytes, int64_t count);
/* maildir_status_errno - STATUS_NO_SPACE for ENOSPC/EDQUOT, else
 * STATUS_LOCAL_IO */
const char *maildir_status_errno(int err);
/* maildir_rename_noreplace - rename that never overwrites (EEXIST) */
int maildir_rename_noreplace(const char *from, const char *to);
/* maildir_read_file - read the file at path whole: 1 with a new buffer in
 * *data_r (NUL-terminated, free with free()), its length and stat; a file
 * over max bytes gives 1 with *data_r NULL and *len_r its size. 0 when it
 * does not exist, -1 with st. */
int maildir_read_file(const char *path, size_t max, char **data_r,
                      size_t *len_r, struct stat *sb_r, struct status *st);
/* maildir_copy_file - copy from into a new file to (O_EXCL), fsynced and
 * with from's mtime; 0 or -1 with st (errno kept) */
int maildir_copy_file(const char *from, const char *to, struct status *st);

/* maildir_sync.c */
/* maildir_box_refresh - update box->msgs from disk (force: scan even if
 * mtimes did not move); 0 or -1 with st */
int maildir_box_refresh(struct maildir_box *box, int force,
                        struct status *st);

/* maildir_box.c */
/* maildir_stat_same - 1 if two stats show the same unchanged file */
int maildir_stat_same(const struct stat *a, const struct stat *b);
/* maildir_box_read_uidlist - (re)read dovecot-uidlist when its stat moved
 * (or force); a lost or corrupt file leaves box->ul NULL (logged once).
 * 0, or -1 with st on I/O trouble */
int maildir_box_read_uidlist(struct maildir_box *box, int force,
                             struct status *st);
/* maildir_box_read_keywords - (re)read dovecot-keywords when its stat
 * moved; 0 or -1 with st */
int maildir_box_read_keywords(struct maildir_box *box, struct status *st);
/* maildir_box_seen_find - uid in the reported view, or NULL */
const struct maildir_seen *maildir_box_seen_find(const struct maildir_box *box,
                                                 uint32_t uid);
/* maildir_box_find - the current record of uid, or NULL */
struct maildir_rec *maildir_box_find(struct maildir_box *box, uint32_t uid);
/* maildir_box_dir_fd - a descriptor of the folder's cur/ (in_new 0) or
 * new/ (1) for renameat() and openat(), kept by the handle; -1 when it
 * cannot be opened (the caller then uses paths). maildir_box_dir_check()
 * drops one whose directory is no longer the one at its path. */
int maildir_box_dir_fd(struct maildir_box *box, int in_new);
void maildir_box_dir_check(struct maildir_box *box, int in_new,
                           const struct stat *now);

/* maildir_watch.c: open and close the handle's watch; quiet: empties it,
 * then 1 when no event came since the dirty directories were last read
 * (called before the directories are stat()ed: an event read here is of
 * a change the stat and the scans after it see); settled: every dirty
 * directory is being read again, the events read so far are answered;
 * unsettled: that reading failed or left work undone, so the next sync
 * reads the dirty directories whatever the watch saw; pause: the handle
 * is about to rename or unlink files itself */
void maildir_watch_open(struct maildir_box *box);
void maildir_watch_close(struct maildir_box *box);
void maildir_watch_pause(struct maildir_box *box);
int maildir_watch_quiet(struct maildir_box *box);
void maildir_watch_settled(struct maildir_box *box);
void maildir_watch_unsettled(struct maildir_box *box);

/* maildir_box_rec_path - path of a record's file; new string */
char *maildir_box_rec_path(const struct maildir_box *box,
                           const struct maildir_rec *rec);
/* maildir_box_lock - take the uidlist lock and make box->ul and box->kw
 * current (a lost or corrupt uidlist is replaced by a new, empty one with
 * a new UIDVALIDITY); 0 or -1 with st */
int maildir_box_lock(struct maildir_box *box, struct dotlock **lock_r,
                     struct status *st);
/* maildir_box_unlock - write box->ul if write, then drop the lock;
 * 0 or -1 with st */
int maildir_box_unlock(struct maildir_box *box, struct dotlock **lockp,
                       int write, struct status *st);
/* maildir_box_keyword_letters - letters for keyword names, adding new ones
 * (the caller holds the lock; *added_r set when the file must be written);
 * 0 or -1 with st (more than 26) */
int maildir_box_keyword_letters(struct maildir_box *box,
                                const char *const *names, size_t n,
                                int create, uint32_t *kw_r, int *added_r,
                                struct status *st);
/* maildir_box_forget - drop a record (expunged or moved by this handle) */
void maildir_box_forget(struct maildir_box *box, uint32_t uid);
/* maildir_box_seen_update - the reported view of uid now has these flags
 * (a change made by this handle is not reported back to it) */
void maildir_box_seen_update(struct maildir_box *box, uint32_t uid,
                             uint32_t flags, uint32_t kw);

/* maildir_cache.c */
/* maildir_cache_parse - parse a yubin-cache file's len bytes (copied).
 * 0 and a new cache in *cache_r (free with maildir_cache_free), or -1 and
 * why in *error_r (a new string, free with free()) when it is corrupt. */
int maildir_cache_parse(const char *data, size_t len,
                        struct maildir_cache **cache_r, char **error_r);
/* maildir_cache_format - the file contents of a cache; a new string of
 * *len_r bytes, free with free() */
char *maildir_cache_format(const struct maildir_cache *cache, size_t *len_r);
/* maildir_cache_count - how many entries a cache holds */
size_t maildir_cache_count(const struct maildir_cache *cache);
void maildir_cache_free(struct maildir_cache **cachep);
/* maildir_cache_synced - after a sync: drop a cache of another
 * UIDVALIDITY, write the file when enough entries are new */
void maildir_cache_synced(struct maildir_box *box);
/* maildir_cache_close - write what is new, free the handle's cache */
void maildir_cache_close(struct maildir_box *box);
struct maildir_cache_info {
        uint64_t size, vsize;           /* the file, LF and CRLF */
        uint64_t hdr_size, hdr_vsize;   /* its header with the blank line */
        time_t mtime;                   /* internal date */
};
/* maildir_cache_info - what the handle's cache knows of uid; with make, an
 * entry missing is made by reading the file. 1 and *info_r, 0 when the
 * cache cannot say (none kept, no entry and !make, or the message is
 * gone), -1 with st. */
int maildir_cache_info(struct maildir_box *box, uint32_t uid, int make,
                       struct maildir_cache_info *info_r, struct status *st);

/* maildir_modseq.c */
/* maildir_modseq_parse - parse a yubin-modseq file's len bytes (borrowed)
 * into a new store (free with maildir_modseq_free). *used_r gets the
 * length of its complete blocks: a torn last block (a writer at work, or a
 * crash) is left out, not an error. 0, or -1 and why in *error_r (a new
 * string) when it is corrupt. */
int maildir_modseq_parse(const char *data, size_t len,
                         struct maildir_modseq **ms_r, size_t *used_r,
                         char **error_r);
/* maildir_modseq_highest - HIGHESTMODSEQ of a parsed store */
uint64_t maildir_modseq_highest(const struct maildir_modseq *ms);
void maildir_modseq_free(struct maildir_modseq **msp);
/* maildir_modseq_sync - after a refresh: record what changed in the store
 * (creating it, or giving the folder a new UIDVALIDITY when it was lost);
 * 0, or -1 with st */
int maildir_modseq_sync(struct maildir_box *box, struct status *st);
/* maildir_modseq_note - uid was changed or expunged by this handle */
void maildir_modseq_note(struct maildir_box *box, uint32_t uid);
/* maildir_modseq_first_recent - the first recent UID a parsed store holds;
 * 0 when it holds none yet */
uint32_t maildir_modseq_first_recent(const struct maildir_modseq *ms);
/* maildir_modseq_claim_locked - the caller holds the uidlist lock and this
 * handle just gave uid (APPEND, COPY): a MAILDIR_BOX_RECENT handle claims
 * every unclaimed UID up to uid and moves the store's first recent UID
 * past it. 0 (also when there is nothing to claim or no usable store: the
 * next sync sees to it), or -1 with st. */
int maildir_modseq_claim_locked(struct maildir_box *box, uint32_t uid,
                                struct status *st);

/* maildir_recent.c */
/* maildir_recent_next - what the store's first recent UID should become at
 * this handle's sync under the lock, given the one it holds (0: none yet,
 * then where it starts is worked out from the handle's view: the next UID
 * of the last refresh, or the lowest UID found in new/). *base_r gets the
 * first UID of what this handle claims: a MAILDIR_BOX_RECENT handle claims
 * [*base_r, returned value), others claim nothing (*base_r is the value
 * returned). */
uint32_t maildir_recent_next(const struct maildir_box *box, uint32_t first,
                             uint32_t *base_r);
/* maildir_recent_claimed - this handle claimed UIDs [first, end) (of the
 * uidlist's current UIDVALIDITY; claims of another are dropped) */
void maildir_recent_claimed(struct maildir_box *box, uint32_t first,
                            uint32_t end);
/* maildir_recent_is - 1 if rec is \Recent for this handle, else 0 (see
 * maildir_msg_info) */
int maildir_recent_is(const struct maildir_box *box,
                      const struct maildir_rec *rec);

#endif
