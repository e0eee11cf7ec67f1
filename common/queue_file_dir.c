/* queue_file_dir.c - queue IDs and the queue directories
 * Used by: the writer (IDs, creating a missing queue), qmgr (creating the
 * queue with the right owner, moving files between directories, scans),
 * yubinctl queue / mailq (listing). Runs as root only in qmgr's start-up
 * (queue_dirs_make, to give the directories to mail_owner), otherwise as
 * mail_owner or the instance's user. */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "queue_file.h"
#include "queue_file_int.h"

/* An order-preserving base 52 (the digits' ASCII order is the values'
 * order), without 'z', which separates the time from the inode. */
static const char id_digits[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop";
#define ID_BASE         52
#define ID_SEC_LEN      6       /* 52^6 seconds: past the year 2500 */
#define ID_USEC_LEN     4       /* 52^4 > 10^6 */
#define ID_SEP          'z'
#define ID_MIN_LEN      (ID_SEC_LEN + ID_USEC_LEN + 2)

static int digit_value(int c)
{
        const char *p = c != '\0' ? strchr(id_digits, c) : NULL;

        return p != NULL ? (int)(p - id_digits) : -1;
}

static void put_fixed(char *out, unsigned long long v, int width)
{
        for (int i = width - 1; i >= 0; i--) {
                out[i] = id_digits[v % ID_BASE];
                v /= ID_BASE;
        }
}

void queue_id_make(time_t sec, long usec, unsigned long long ino, char *out)
{
        char tmp[16];
        size_t n = 0, pos;

        put_fixed(out, (unsigned long long)sec, ID_SEC_LEN);
        put_fixed(out + ID_SEC_LEN, (unsigned long long)usec, ID_USEC_LEN);
        pos = ID_SEC_LEN + ID_USEC_LEN;
        out[pos++] = ID_SEP;
        do {
                tmp[n++] = id_digits[ino % ID_BASE];
                ino /= ID_BASE;
        } while (ino > 0);
        while (n > 0)
                out[pos++] = tmp[--n];
        out[pos] = '\0';
}

int queue_id_valid(const char *name)
{
        size_t len = strlen(name);

        if (len < ID_MIN_LEN || len >= QUEUE_ID_MAX)
                return 0;
        for (size_t i = 0; i < len; i++) {
                if (i == ID_SEC_LEN + ID_USEC_LEN) {
                        if (name[i] != ID_SEP)
                                return 0;
                } else if (digit_value((unsigned char)name[i]) < 0) {
                        return 0;
                }
        }
        return 1;
}

int queue_id_time(const char *id, time_t *sec_r, long *usec_r)
{
        unsigned long long sec = 0, usec = 0;

        if (!queue_id_valid(id))
                return -1;
        for (int i = 0; i < ID_SEC_LEN; i++)
                sec = sec * ID_BASE + (unsigned)digit_value(id[i]);
        for (int i = ID_SEC_LEN; i < ID_SEC_LEN + ID_USEC_LEN; i++)
                usec = usec * ID_BASE + (unsigned)digit_value(id[i]);
        if (usec > 999999)
                return -1;
        *sec_r = (time_t)sec;
        *usec_r = (long)usec;
        return 0;
}

static const char *const queue_subdirs[] = {
        QUEUE_TMP, QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, QUEUE_HOLD,
        QUEUE_CORRUPT, QUEUE_PRIVATE,
};

int queue_dirs_make(const char *queue_dir, uid_t uid, gid_t gid,
                    struct status *st)
{
        int chown_ok = uid != (uid_t)-1 && geteuid() == 0;

        if (mkdir(queue_dir, 0755) < 0 && errno != EEXIST)
                return status_set(st, STATUS_LOCAL_IO, "mkdir %s: %m",
                                  queue_dir);
        for (size_t i = 0; i < sizeof(queue_subdirs) / sizeof(*queue_subdirs);
             i++) {
                char *path = xasprintf("%s/%s", queue_dir, queue_subdirs[i]);
                struct stat sb;

                if (mkdir(path, 0700) < 0 && errno != EEXIST) {
                        status_set(st, STATUS_LOCAL_IO, "mkdir %s: %m", path);
                        free(path);
                        return -1;
                }
                if (lstat(path, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
                        status_set(st, STATUS_LOCAL_IO, "%s: not a "
                                   "directory", path);
                        free(path);
                        return -1;
                }
                if (chown_ok && (sb.st_uid != uid || sb.st_gid != gid) &&
                    chown(path, uid, gid) < 0) {
                        status_set(st, STATUS_LOCAL_IO, "chown %s: %m", path);
                        free(path);
                        return -1;
                }
                free(path);
        }
        return 0;
}

char *queue_path(const char *queue_dir, const char *dir, const char *id)
{
        return xasprintf("%s/%s/%s", queue_dir, dir, id);
}

int queue_move(const char *queue_dir, const char *id, const char *from,
               const char *to, int sync_from, struct status *st)
{
        char *src = queue_path(queue_dir, from, id);
        char *dst = queue_path(queue_dir, to, id);
        char *dir = NULL;
        int ret = -1;

        if (rename(src, dst) < 0) {
                status_set(st, queue_io_code(errno), "rename %s to %s: %m",
                           src, dst);
                goto out;
        }
        if (sync_from == QUEUE_MOVE_NOSYNC) {
                ret = 0;
                goto out;
        }
        dir = xasprintf("%s/%s", queue_dir, to);
        if (queue_fsync_dir(dir, st) < 0)
                goto out;
        if (sync_from) {
                free(dir);
                dir = xasprintf("%s/%s", queue_dir, from);
                if (queue_fsync_dir(dir, st) < 0)
                        goto out;
        }
        ret = 0;
out:
        free(src);
        free(dst);
        free(dir);
        return ret;
}

static int id_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int queue_dir_list(const char *queue_dir, const char *dir, char ***ids_r,
                   size_t *count_r, struct status *st)
{
        char *path = xasprintf("%s/%s", queue_dir, dir);
        DIR *d = opendir(path);
        struct dirent *de;
        char **ids = NULL;
        size_t n = 0, size = 0;

        if (d == NULL) {
                status_set(st, STATUS_LOCAL_IO, "opendir %s: %m", path);
                free(path);
                return -1;
        }
        free(path);
        ids = xmalloc(sizeof(char *));
        size = 1;
        while ((de = readdir(d)) != NULL) {
                if (!queue_id_valid(de->d_name))
                        continue;
                if (n + 1 >= size) {
                        size *= 2;
                        ids = xrealloc(ids, size * sizeof(char *));
                }
                ids[n++] = xstrdup(de->d_name);
        }
        closedir(d);
        qsort(ids, n, sizeof(char *), id_cmp);
        ids[n] = NULL;
        *ids_r = ids;
        *count_r = n;
        return 0;
}

void queue_ids_free(char ***idsp)
{
        char **ids = *idsp;

        if (ids == NULL)
                return;
        for (size_t i = 0; ids[i] != NULL; i++)
                free(ids[i]);
        free(ids);
        *idsp = NULL;
}
