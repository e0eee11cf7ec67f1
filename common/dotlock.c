/* dotlock.c - lock files made with O_EXCL, the way Dovecot makes them
 * Used by: uidlist and keywords (dovecot-uidlist.lock, dovecot-keywords.lock)
 * and the subscriptions file. O_EXCL is atomic on local file systems and on
 * NFSv3+. Waiting polls with a growing sleep; holders keep their locks for
 * milliseconds, so there is no need for anything cleverer. Runs as the
 * mailbox owner. Errors: -1 + status 4.3.0. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dotlock.h"
#include "log.h"
#include "mem.h"

/* a lock younger than this is not judged by its pid: the pid may not have
 * been written yet */
#define DOTLOCK_PID_CHECK_SECS  2
#define DOTLOCK_SLEEP_MIN_NS    (500 * 1000L)
#define DOTLOCK_SLEEP_MAX_NS    (50 * 1000 * 1000L)

struct dotlock {
        char *path;             /* the locked file */
        char *lock_path;        /* path.lock */
        int fd;
        dev_t dev;
        ino_t ino;
};

const char *dotlock_hostname(void)
{
        static char host[256];

        if (host[0] == '\0') {
                if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
                        snprintf(host, sizeof(host), "localhost");
                host[sizeof(host) - 1] = '\0';
        }
        return host;
}

static double mono_now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* lock_pid - the pid in a lock file if it names a process on this host,
 * else 0 */
static pid_t lock_pid(const char *lock_path)
{
        char buf[512];
        ssize_t n;
        int fd;

        fd = open(lock_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return 0;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        char *host = strchr(buf, ':');
        if (host == NULL)
                return 0;
        *host++ = '\0';
        host[strcspn(host, "\r\n")] = '\0';
        if (strcmp(host, dotlock_hostname()) != 0)
                return 0;
        char *end;
        errno = 0;
        long pid = strtol(buf, &end, 10);
        if (errno != 0 || end == buf || *end != '\0' || pid <= 0 ||
            pid > INT_MAX)
                return 0;
        return (pid_t)pid;
}

/* lock_is_stale - 1 if the existing lock file may be removed */
static int lock_is_stale(const char *lock_path, const struct stat *sb,
                         unsigned int stale_secs)
{
        time_t now = time(NULL);
        pid_t pid;

        if (sb->st_mtime < now - (time_t)stale_secs)
                return 1;
        if (sb->st_mtime >= now - DOTLOCK_PID_CHECK_SECS)
                return 0;
        pid = lock_pid(lock_path);
        if (pid == 0)
                return 0;
        /* our own pid: a leftover of an earlier process, since this one
         * never waits for a lock it holds */
        if (pid == getpid())
                return 1;
        return kill(pid, 0) < 0 && errno == ESRCH;
}

static int write_pid(int fd)
{
        char buf[320];
        int n = snprintf(buf, sizeof(buf), "%ld:%s", (long)getpid(),
                         dotlock_hostname());

        if (n < 0 || (size_t)n >= sizeof(buf))
                return -1;
        return write(fd, buf, (size_t)n) == n ? 0 : -1;
}

int dotlock_create(const char *path, unsigned int timeout_secs,
                   unsigned int stale_secs, int flags,
                   struct dotlock **lock_r, struct status *st)
{
        char *lock_path = xasprintf("%s.lock", path);
        double deadline = mono_now() + timeout_secs;
        long sleep_ns = DOTLOCK_SLEEP_MIN_NS;
        struct stat sb;
        int fd;

        *lock_r = NULL;
        for (;;) {
                fd = open(lock_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                          O_CLOEXEC, 0600);
                if (fd >= 0)
                        break;
                if (errno != EEXIST) {
                        status_set(st, errno == ENOSPC ? STATUS_NO_SPACE :
                                   STATUS_LOCAL_IO,
                                   "dotlock: create %s: %m", lock_path);
                        free(lock_path);
                        return -1;
                }
                if (lstat(lock_path, &sb) < 0) {
                        if (errno == ENOENT)
                                continue;       /* just released */
                        status_set(st, STATUS_LOCAL_IO, "dotlock: stat %s: %m",
                                   lock_path);
                        free(lock_path);
                        return -1;
                }
                if (lock_is_stale(lock_path, &sb, stale_secs)) {
                        struct stat sb2;
                        /* remove only the file we judged */
                        if (lstat(lock_path, &sb2) == 0 &&
                            sb2.st_ino == sb.st_ino &&
                            sb2.st_dev == sb.st_dev &&
                            sb2.st_mtime == sb.st_mtime) {
                                if (unlink(lock_path) == 0)
                                        log_warn("dotlock: removed stale lock %s",
                                                 lock_path);
                        }
                        continue;
                }
                if (mono_now() >= deadline) {
                        status_set(st, STATUS_LOCAL_IO,
                                   "dotlock: timed out after %u s waiting for %s",
                                   timeout_secs, lock_path);
                        free(lock_path);
                        return -1;
                }
                struct timespec ts = { 0, sleep_ns };
                nanosleep(&ts, NULL);
                if (sleep_ns < DOTLOCK_SLEEP_MAX_NS)
                        sleep_ns *= 2;
        }
        if (!(flags & DOTLOCK_REPLACE) && write_pid(fd) < 0) {
                /* an empty lock is still a lock; it just cannot be
                 * judged by pid */
                if (ftruncate(fd, 0) < 0)
                        log_warn("dotlock: truncate %s: %m", lock_path);
        }
        if (fstat(fd, &sb) < 0) {
                status_set(st, STATUS_LOCAL_IO, "dotlock: fstat %s: %m",
                           lock_path);
                close(fd);
                unlink(lock_path);
                free(lock_path);
                return -1;
        }
        struct dotlock *lock = xcalloc(1, sizeof(*lock));
        lock->path = xstrdup(path);
        lock->lock_path = lock_path;
        lock->fd = fd;
        lock->dev = sb.st_dev;
        lock->ino = sb.st_ino;
        *lock_r = lock;
        return 0;
}

int dotlock_fd(const struct dotlock *lock)
{
        return lock->fd;
}

const char *dotlock_path(const struct dotlock *lock)
{
        return lock->lock_path;
}

/* still_ours - 1 if path.lock is still the file we created */
static int still_ours(const struct dotlock *lock)
{
        struct stat sb;

        return lstat(lock->lock_path, &sb) == 0 && sb.st_ino == lock->ino &&
               sb.st_dev == lock->dev;
}

int dotlock_touch(struct dotlock *lock, struct status *st)
{
        if (futimens(lock->fd, NULL) < 0)
                return status_set(st, STATUS_LOCAL_IO, "dotlock: touch %s: %m",
                                  lock->lock_path);
        return 0;
}

static void dotlock_destroy(struct dotlock **lockp)
{
        struct dotlock *lock = *lockp;

        if (lock->fd >= 0)
                close(lock->fd);
        free(lock->path);
        free(lock->lock_path);
        free(lock);
        *lockp = NULL;
}

int dotlock_release(struct dotlock **lockp, struct status *st)
{
        struct dotlock *lock;
        int ret = 0;

        if (lockp == NULL || *lockp == NULL)
                return 0;
        lock = *lockp;
        if (!still_ours(lock)) {
                ret = status_set(st, STATUS_LOCAL_IO,
                                 "dotlock: %s was taken over while we held it",
                                 lock->lock_path);
        } else if (unlink(lock->lock_path) < 0 && errno != ENOENT) {
                ret = status_set(st, STATUS_LOCAL_IO, "dotlock: unlink %s: %m",
                                 lock->lock_path);
        }
        dotlock_destroy(lockp);
        return ret;
}

int dotlock_replace(struct dotlock **lockp, struct status *st)
{
        struct dotlock *lock = *lockp;
        int ret = 0;

        if (fsync(lock->fd) < 0) {
                ret = status_set(st, errno == ENOSPC ? STATUS_NO_SPACE :
                                 STATUS_LOCAL_IO, "dotlock: fsync %s: %m",
                                 lock->lock_path);
        } else if (!still_ours(lock)) {
                ret = status_set(st, STATUS_LOCAL_IO,
                                 "dotlock: %s was taken over while we held it",
                                 lock->lock_path);
                dotlock_destroy(lockp);
                return ret;
        } else if (rename(lock->lock_path, lock->path) < 0) {
                ret = status_set(st, STATUS_LOCAL_IO, "dotlock: rename %s: %m",
                                 lock->lock_path);
        }
        if (ret < 0)
                unlink(lock->lock_path);
        dotlock_destroy(lockp);
        return ret;
}
