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
 * mtime tick; such a directory is scanned again at the next sync */
#define MAILDIR_DIRTY_SECS      1
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
        unsigned int recent:1;  /* this handle moved it out of new/ */
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

        struct timespec new_mtime, cur_mtime;   /* as of their last scan */
        int new_dirty, cur_dirty;
        int scanned;

        struct maildir_rec *msgs;       /* with UIDs, increasing */
        size_t count;

        struct maildir_seen *seen;      /* as last reported, increasing */
        size_t seen_count;
        uint32_t seen_uidvalidity;
        int synced;

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

#endif
