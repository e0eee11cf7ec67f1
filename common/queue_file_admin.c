/* queue_file_admin.c - the administrator's operations on queued messages:
 * delete, hold, release, requeue, flush (postsuper -d/-h/-H/-r,
 * postqueue -i)
 * Used by: qmgr, which owns the queue while it runs and carries out what
 * yubinctl asks over its socket (smtp/qmgr_ctl.c); yubinctl queue itself
 * while qmgr is not running (postsuper works without the daemon too).
 * Every operation is a rename, an unlink or an mtime change on one file,
 * plus, for a requeue, one appended record (queue_file_requeue); a
 * message is found by searching the queue directories for its ID. A file
 * that moves between the search and the rename (qmgr started meanwhile)
 * is looked for again. Runs as mail_owner (yubinctl drops to it as root)
 * or as the user of an unprivileged instance. Logs "ID: removed", "ID:
 * placed on hold", "ID: released from hold", "ID: requeued" as postsuper
 * does, through log.h. */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "queue_file.h"

#define ADMIN_TRIES     3       /* searches when a file keeps moving */

/* the directories a message is looked for in, in this order */
static const char *const admin_dirs[] = {
        QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, QUEUE_HOLD,
        QUEUE_CORRUPT,
};

int queue_admin_find(const char *queue_dir, const char *id, int corrupt,
                     const char **dir_r)
{
        size_t n = sizeof(admin_dirs) / sizeof(*admin_dirs);

        if (!queue_id_valid(id))
                return 0;
        for (size_t i = 0; i < n; i++) {
                char *path;
                struct stat sb;
                int found;

                if (!corrupt && strcmp(admin_dirs[i], QUEUE_CORRUPT) == 0)
                        continue;
                path = queue_path(queue_dir, admin_dirs[i], id);
                found = lstat(path, &sb) == 0 && S_ISREG(sb.st_mode);
                free(path);
                if (found) {
                        *dir_r = admin_dirs[i];
                        return 1;
                }
        }
        return 0;
}

/* set_due - dir/id's next attempt is now (its mtime) */
static int set_due(const char *queue_dir, const char *dir, const char *id,
                   struct status *st)
{
        char *path = queue_path(queue_dir, dir, id);
        time_t now = time(NULL);
        struct timespec ts[2] = { { now, 0 }, { now, 0 } };
        int ret = 0;

        if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0)
                ret = status_set(st, STATUS_LOCAL_IO, "utimensat %s: %m",
                                 path);
        free(path);
        return ret;
}

int queue_admin_due(const char *queue_dir, const char *id,
                    struct status *st)
{
        return set_due(queue_dir, QUEUE_DEFERRED, id, st);
}

/* requeue_record - append the requeue record to dir/id */
static int requeue_record(const char *queue_dir, const char *dir,
                          const char *id, struct status *st)
{
        struct queue_file *qf = NULL;
        char *path = queue_path(queue_dir, dir, id);
        int ret;

        ret = queue_file_open(path, 1, &qf, st);
        free(path);
        if (ret < 0)
                return -1;
        queue_file_requeue(qf, time(NULL));
        ret = queue_file_sync(qf, st);
        queue_file_free(&qf);
        return ret;
}

/* moved - 1 when dir/id is no longer there */
static int moved(const char *queue_dir, const char *dir, const char *id)
{
        char *path = queue_path(queue_dir, dir, id);
        struct stat sb;
        int gone = lstat(path, &sb) < 0 && errno == ENOENT;

        free(path);
        return gone;
}

/* admin_once - one try of queue_admin on the file found in dir */
static int admin_once(const char *queue_dir, enum queue_admin_op op,
                      const char *id, int flags, const char *dir,
                      const char **why_r, struct status *st)
{
        char *path;

        switch (op) {
        case QUEUE_ADMIN_DELETE:
                path = queue_path(queue_dir, dir, id);
                if (unlink(path) < 0) {
                        status_set(st, STATUS_LOCAL_IO, "unlink %s: %m",
                                   path);
                        free(path);
                        return -1;
                }
                free(path);
                log_info("%s: removed", id);
                return 1;
        case QUEUE_ADMIN_HOLD:
                if (strcmp(dir, QUEUE_HOLD) == 0) {
                        *why_r = "already on hold";
                        return 0;
                }
                if (queue_move(queue_dir, id, dir, QUEUE_HOLD, 1, st) < 0)
                        return -1;
                log_info("%s: placed on hold", id);
                return 1;
        case QUEUE_ADMIN_RELEASE:
                if (strcmp(dir, QUEUE_HOLD) != 0) {
                        *why_r = "not on hold";
                        return 0;
                }
                if (queue_move(queue_dir, id, QUEUE_HOLD, QUEUE_DEFERRED, 1,
                               st) < 0)
                        return -1;
                if (set_due(queue_dir, QUEUE_DEFERRED, id, st) < 0)
                        log_warn("%s", st->text);
                log_info("%s: released from hold", id);
                return 1;
        case QUEUE_ADMIN_REQUEUE:
                if (!(flags & QUEUE_ADMIN_OPEN) &&
                    requeue_record(queue_dir, dir, id, st) < 0)
                        return -1;
                if (strcmp(dir, QUEUE_INCOMING) != 0 &&
                    queue_move(queue_dir, id, dir, QUEUE_INCOMING, 1,
                               st) < 0)
                        return -1;
                log_info("%s: requeued", id);
                return 1;
        case QUEUE_ADMIN_FLUSH:
                if (strcmp(dir, QUEUE_HOLD) == 0) {
                        *why_r = "on hold";
                        return 0;
                }
                if (strcmp(dir, QUEUE_ACTIVE) == 0) {
                        *why_r = "being delivered";
                        return 0;
                }
                if (strcmp(dir, QUEUE_DEFERRED) == 0 &&
                    set_due(queue_dir, dir, id, st) < 0)
                        return -1;
                return 1;
        }
        return status_set(st, STATUS_BAD_ARGS, "unknown queue operation");
}

int queue_admin(const char *queue_dir, enum queue_admin_op op,
                const char *id, int flags, const char **why_r,
                struct status *st)
{
        *why_r = NULL;
        if (!queue_id_valid(id))
                return status_set(st, STATUS_BAD_ARGS, "%s: not a queue ID",
                                  id);
        for (int tries = 0; tries < ADMIN_TRIES; tries++) {
                const char *dir;
                int r;

                if (!queue_admin_find(queue_dir, id,
                                      op == QUEUE_ADMIN_DELETE, &dir))
                        break;
                r = admin_once(queue_dir, op, id, flags, dir, why_r, st);
                if (r >= 0 || !moved(queue_dir, dir, id))
                        return r;
        }
        return status_set(st, STATUS_PERM, "%s: no such message in the "
                          "queue", id);
}

int queue_admin_site(const char *queue_dir, const char *dir, const char *id,
                     const char *domain)
{
        struct queue_file *qf = NULL;
        struct status st;
        char *path = queue_path(queue_dir, dir, id);
        int found = 0;

        if (queue_file_open(path, 0, &qf, &st) < 0) {
                free(path);
                return 0;
        }
        free(path);
        for (size_t i = 0; i < queue_file_rcpt_count(qf) && !found; i++) {
                const struct queue_rcpt *r = queue_file_rcpt(qf, i);
                const char *at = strrchr(r->addr, '@');

                found = r->state == QUEUE_RCPT_PENDING && at != NULL &&
                        strcasecmp(at + 1, domain) == 0;
        }
        queue_file_free(&qf);
        return found;
}

static int id_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int queue_admin_ids(const char *queue_dir, enum queue_admin_op op,
                    char ***ids_r, size_t *count_r, struct status *st)
{
        static const char *const some[] = {
                QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, QUEUE_HOLD,
        };
        const char *const *dirs = some;
        const char *one[1];
        size_t ndirs = sizeof(some) / sizeof(*some), n = 0;
        char **all = xcalloc(1, sizeof(char *));

        if (op == QUEUE_ADMIN_RELEASE || op == QUEUE_ADMIN_FLUSH) {
                one[0] = op == QUEUE_ADMIN_RELEASE ? QUEUE_HOLD :
                         QUEUE_DEFERRED;
                dirs = one;
                ndirs = 1;
        } else if (op == QUEUE_ADMIN_HOLD) {
                ndirs--;        /* held mail is held already */
        }
        for (size_t d = 0; d < ndirs; d++) {
                char **ids = NULL, *path = xasprintf("%s/%s", queue_dir,
                                                     dirs[d]);
                struct stat sb;
                size_t k = 0;
                int missing = stat(path, &sb) < 0 && errno == ENOENT;

                free(path);
                if (missing)
                        continue;       /* a queue never used */
                if (queue_dir_list(queue_dir, dirs[d], &ids, &k, st) < 0) {
                        queue_ids_free(&all);
                        return -1;
                }
                all = xrealloc(all, (n + k + 1) * sizeof(char *));
                memcpy(all + n, ids, k * sizeof(char *));
                n += k;
                all[n] = NULL;
                free(ids);      /* the strings moved to all */
        }
        qsort(all, n, sizeof(char *), id_cmp);
        *ids_r = all;
        *count_r = n;
        return 0;
}
