/* dotlock.h - lock files made with O_EXCL, the way Dovecot makes them
 * The lock for FILE is FILE.lock, created with O_CREAT|O_EXCL. An ordinary
 * lock holds "<pid>:<hostname>" as Dovecot writes it; a lock taken to
 * replace FILE starts empty, the new contents are written into it and it is
 * renamed over FILE (dotlock_replace). A lock is stale, and is removed, when
 * its mtime is older than stale_secs, or when it is more than two seconds
 * old and names a process on this host that no longer exists. */
#ifndef YUBIN_DOTLOCK_H
#define YUBIN_DOTLOCK_H

#include "status.h"

struct dotlock;

/* DOTLOCK_REPLACE - the lock will become the file: write no pid into it */
#define DOTLOCK_REPLACE         (1 << 0)

/* dotlock_create - lock path (creating path.lock), waiting up to
 * timeout_secs while someone else holds it. Returns 0 and a new lock in
 * *lock_r (release with dotlock_release or dotlock_replace), or -1 with st
 * (4.x.x: timeout, or the directory is missing or unwritable). */
int dotlock_create(const char *path, unsigned int timeout_secs,
                   unsigned int stale_secs, int flags,
                   struct dotlock **lock_r, struct status *st);

/* dotlock_fd - the lock file's descriptor, open for writing (the new
 * contents, for DOTLOCK_REPLACE locks); borrowed */
int dotlock_fd(const struct dotlock *lock);

/* dotlock_path - the lock file's name (FILE.lock); borrowed */
const char *dotlock_path(const struct dotlock *lock);

/* dotlock_touch - refresh the lock's mtime so that a long holder is not
 * taken for stale; 0 or -1 with st */
int dotlock_touch(struct dotlock *lock, struct status *st);

/* dotlock_release - remove the lock if it is still ours; frees *lockp and
 * clears it; accepts NULL. Returns 0, or -1 with st if someone had taken
 * it over meanwhile (then whatever was written under it may be lost). */
int dotlock_release(struct dotlock **lockp, struct status *st);

/* dotlock_replace - fsync the lock file and rename it over the locked file
 * (atomic replacement); frees *lockp and clears it. 0, or -1 with st (the
 * lock is removed either way). */
int dotlock_replace(struct dotlock **lockp, struct status *st);

/* dotlock_hostname - this host's name as written into lock files */
const char *dotlock_hostname(void);

#endif
