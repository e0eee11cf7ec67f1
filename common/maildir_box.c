/* maildir_box.c - folder handles: opening, the uidlist lock, accessors
 * Used by: the imap and pop3 sessions, maildir_sync.c (which fills the
 * handle's message list), maildir_msg.c and maildir_save.c (the lock, for
 * UIDs and new keywords). A handle keeps what it last read of
 * dovecot-uidlist and dovecot-keywords with their stat, and re-reads a file
 * only when its stat moved. Runs as the mailbox owner. Errors: -1 +
 * status (4.x.x lock or disk trouble, 5.1.1 no such folder). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "maildir.h"
#include "maildir_private.h"
#include "mem.h"

static int ts_equal(const struct timespec *a, const struct timespec *b)
{
        return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

int maildir_stat_same(const struct stat *a, const struct stat *b)
{
        return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
               a->st_size == b->st_size &&
               ts_equal(&a->st_mtim, &b->st_mtim) &&
               ts_equal(&a->st_ctim, &b->st_ctim);
}

static void dir_fd_close(struct maildir_box *box, int in_new)
{
        if (box->dir_fd[in_new] >= 0)
                close(box->dir_fd[in_new]);
        box->dir_fd[in_new] = -1;
}

int maildir_box_dir_fd(struct maildir_box *box, int in_new)
{
        if (box->dir_fd[in_new] >= 0)
                return box->dir_fd[in_new];
        char *path = xasprintf("%s/%s", box->path, in_new ? "new" : "cur");
        int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        free(path);
        if (fd < 0)
                return -1;
        if (fstat(fd, &box->dir_sb[in_new]) < 0) {
                close(fd);
                return -1;
        }
        box->dir_fd[in_new] = fd;
        return fd;
}

void maildir_box_dir_check(struct maildir_box *box, int in_new,
                           const struct stat *now)
{
        const struct stat *was = &box->dir_sb[in_new];

        if (box->dir_fd[in_new] >= 0 &&
            (now->st_ino != was->st_ino || now->st_dev != was->st_dev))
                dir_fd_close(box, in_new);
}

char *maildir_box_rec_path(const struct maildir_box *box,
                           const struct maildir_rec *rec)
{
        return xasprintf("%s/%s/%s", box->path, rec->in_new ? "new" : "cur",
                         rec->name);
}

struct maildir_rec *maildir_box_find(struct maildir_box *box, uint32_t uid)
{
        size_t lo = 0, hi = box->count, h = box->find_hint;

        /* the same message again, or the next one */
        for (size_t i = h; i < h + 2 && i < box->count; i++)
                if (box->msgs[i].uid == uid) {
                        box->find_hint = i;
                        return &box->msgs[i];
                }
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (box->msgs[mid].uid == uid) {
                        box->find_hint = mid;
                        return &box->msgs[mid];
                }
                if (box->msgs[mid].uid < uid)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

const struct maildir_seen *maildir_box_seen_find(const struct maildir_box *box,
                                                 uint32_t uid)
{
        size_t lo = 0, hi = box->seen_count;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (box->seen[mid].uid == uid)
                        return &box->seen[mid];
                if (box->seen[mid].uid < uid)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

int maildir_box_read_uidlist(struct maildir_box *box, int force,
                             struct status *st)
{
        struct stat sb;
        char *error = NULL;

        if (stat(box->uidlist_path, &sb) < 0) {
                if (errno != ENOENT)
                        return status_set(st, STATUS_LOCAL_IO,
                                          "maildir: stat %s: %m",
                                          box->uidlist_path);
                if (box->ul != NULL)
                        log_warn("maildir: %s vanished; UIDs start over",
                                 box->uidlist_path);
                uidlist_free(&box->ul);
                box->ul_known = 0;
                return 0;
        }
        if (!force && box->ul != NULL && box->ul_known &&
            maildir_stat_same(&sb, &box->ul_sb))
                return 0;
        struct uidlist *ul;
        box->stats.uidlist_reads++;
        int r = uidlist_read(box->uidlist_path, &ul, &sb, &error, st);
        if (r < 0)
                return -1;
        if (r == 0) {
                if (error != NULL && !maildir_stat_same(&sb, &box->ul_bad_sb))
                        log_warn("maildir: %s is corrupt (%s); "
                                 "rebuilding it with a new UIDVALIDITY",
                                 box->uidlist_path, error);
                free(error);
                box->ul_bad_sb = sb;
                uidlist_free(&box->ul);
                box->ul_known = 0;
                return 0;
        }
        if (error != NULL)
                log_warn("maildir: %s is damaged (%s); lines dropped",
                         box->uidlist_path, error);
        free(error);
        uidlist_free(&box->ul);
        box->ul = ul;
        box->ul_sb = sb;
        box->ul_known = 1;
        if (ul->uidvalidity > box->last_uidvalidity)
                box->last_uidvalidity = ul->uidvalidity;
        return 0;
}

int maildir_box_read_keywords(struct maildir_box *box, struct status *st)
{
        struct stat sb;
        struct keywords *kw;

        if (stat(box->keywords_path, &sb) < 0) {
                if (errno != ENOENT)
                        return status_set(st, STATUS_LOCAL_IO,
                                          "maildir: stat %s: %m",
                                          box->keywords_path);
                /* letters keep their meaning: a missing file keeps ours */
                return 0;
        }
        if (box->kw_known && maildir_stat_same(&sb, &box->kw_sb))
                return 0;
        if (keywords_read(box->keywords_path, &kw, &sb, st) < 0)
                return -1;
        keywords_free(&box->kw);
        box->kw = kw;
        box->kw_sb = sb;
        box->kw_known = 1;
        return 0;
}

/* next_uidvalidity - v, or more: past the last UIDVALIDITY any folder of
 * this Maildir was given, kept in the root's dovecot-uidvalidity (hex, as
 * Dovecot keeps it), so that a folder deleted and created again within a
 * second still gets a new one (RFC 9051 2.3.1.1). Best effort: a file
 * that cannot be read or written leaves v as it is. */
static uint32_t next_uidvalidity(const struct maildir_box *box, uint32_t v)
{
        char *path = xasprintf("%s/dovecot-uidvalidity", box->md->root);
        char *tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
        FILE *f;
        unsigned int last;

        if ((f = fopen(path, "r")) != NULL) {
                if (fscanf(f, "%x", &last) == 1 && v <= last)
                        v = last + 1;
                fclose(f);
        }
        if ((f = fopen(tmp, "w")) != NULL) {
                int bad = fprintf(f, "%08x\n", v) < 0;
                if (fclose(f) != 0 || bad || rename(tmp, path) < 0)
                        (void)unlink(tmp);
        }
        free(tmp);
        free(path);
        return v;
}

int maildir_box_lock(struct maildir_box *box, struct dotlock **lock_r,
                     struct status *st)
{
        if (dotlock_create(box->uidlist_path, MAILDIR_LOCK_TIMEOUT,
                           MAILDIR_LOCK_STALE, 0, lock_r, st) < 0)
                return -1;
        if (maildir_box_read_uidlist(box, 0, st) < 0 ||
            maildir_box_read_keywords(box, st) < 0) {
                dotlock_release(lock_r, NULL);
                return -1;
        }
        if (box->ul == NULL) {
                uint32_t v = (uint32_t)time(NULL);
                if (v <= box->last_uidvalidity)
                        v = box->last_uidvalidity + 1;
                v = next_uidvalidity(box, v);
                box->ul = uidlist_new(v);
                box->last_uidvalidity = v;
                box->ul_known = 0;
        }
        return 0;
}

int maildir_box_unlock(struct maildir_box *box, struct dotlock **lockp,
                       int write, struct status *st)
{
        int ret = 0;

        if (write && box->ul != NULL) {
                box->stats.uidlist_writes++;
                if (uidlist_write(box->ul, box->uidlist_path, st) < 0) {
                        ret = -1;
                        box->ul_known = 0;
                } else if (stat(box->uidlist_path, &box->ul_sb) == 0) {
                        /* our own write is not news to us */
                        box->ul_known = 1;
                        box->ul->damaged = 0;
                } else {
                        box->ul_known = 0;
                }
        }
        if (dotlock_release(lockp, ret < 0 ? NULL : st) < 0)
                ret = -1;
        return ret;
}

int maildir_box_keyword_letters(struct maildir_box *box,
                                const char *const *names, size_t n,
                                int create, uint32_t *kw_r, int *added_r,
                                struct status *st)
{
        *kw_r = 0;
        for (size_t i = 0; i < n; i++) {
                int idx = keywords_index(box->kw, names[i]);
                if (idx < 0 && create) {
                        idx = keywords_add(box->kw, names[i]);
                        if (idx < 0)
                                return status_set(st, STATUS_PERM,
                                                  "maildir: no room for keyword %s "
                                                  "(%d per folder)",
                                                  names[i], KEYWORDS_MAX);
                        *added_r = 1;
                }
                if (idx >= 0)
                        *kw_r |= 1u << idx;
        }
        return 0;
}

void maildir_box_forget(struct maildir_box *box, uint32_t uid)
{
        struct maildir_rec *r = maildir_box_find(box, uid);

        if (r == NULL)
                return;
        size_t i = (size_t)(r - box->msgs);
        maildir_modseq_note(box, uid);
        free(r->name);
        memmove(&box->msgs[i], &box->msgs[i + 1],
                (box->count - i - 1) * sizeof(*box->msgs));
        box->count--;
}

void maildir_box_seen_update(struct maildir_box *box, uint32_t uid,
                             uint32_t flags, uint32_t kw)
{
        struct maildir_seen *s =
                (struct maildir_seen *)maildir_box_seen_find(box, uid);

        if (s != NULL) {
                s->flags = flags;
                s->kw = kw;
        }
}

/* clean_tmp - remove what crashed writers left in tmp/: files untouched
 * for 36 hours, as the Maildir rules say */
static void clean_tmp(const char *path)
{
        char *dir = xasprintf("%s/tmp", path);
        time_t limit = time(NULL) - MAILDIR_TMP_STALE_SECS;
        struct dirent *de;
        DIR *d = opendir(dir);

        if (d != NULL) {
                while ((de = readdir(d)) != NULL) {
                        struct stat sb;
                        if (de->d_name[0] == '.')
                                continue;
                        char *f = xasprintf("%s/%s", dir, de->d_name);
                        if (lstat(f, &sb) == 0 && S_ISREG(sb.st_mode) &&
                            sb.st_atime < limit && sb.st_mtime < limit &&
                            unlink(f) == 0)
                                log_info("maildir: removed stale %s", f);
                        free(f);
                }
                closedir(d);
        }
        free(dir);
}

int maildir_box_open(struct maildir *md, const char *name, int flags,
                     struct maildir_box **box_r, struct status *st)
{
        struct stat sb;
        char *norm, *path;

        *box_r = NULL;
        norm = maildir_name_normalize(name == NULL ? "INBOX" : name, st);
        if (norm == NULL)
                return -1;
        path = maildir_folder_path(md, norm, st);
        if (path == NULL) {
                free(norm);
                return -1;
        }
        if (stat(path, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
                int inbox = strcmp(norm, "INBOX") == 0;
                if (!inbox || errno != ENOENT) {
                        if (errno == ENOENT || errno == ENOTDIR || !inbox)
                                status_set(st, STATUS_BAD_MAILBOX,
                                           "no such folder: %s", norm);
                        else
                                status_set(st, STATUS_LOCAL_IO,
                                           "maildir: stat %s: %m", path);
                        free(path);
                        free(norm);
                        return -1;
                }
        }
        if (maildir_make_dirs(path, strcmp(norm, "INBOX") == 0, st) < 0) {
                free(path);
                free(norm);
                return -1;
        }
        if (!(flags & MAILDIR_BOX_READONLY))
                clean_tmp(path);
        struct maildir_box *box = xcalloc(1, sizeof(*box));
        box->md = md;
        box->name = norm;
        box->path = path;
        box->uidlist_path = xasprintf("%s/%s", path, UIDLIST_NAME);
        box->keywords_path = xasprintf("%s/%s", path, KEYWORDS_NAME);
        box->cache_path = xasprintf("%s/%s", path, MAILDIR_CACHE_NAME);
        box->modseq_path = xasprintf("%s/%s", path, MAILDIR_MODSEQ_NAME);
        box->flags = flags;
        box->dir_fd[0] = box->dir_fd[1] = -1;
        box->watch_fd = -1;
        box->kw = keywords_new();
        if (flags & MAILDIR_BOX_WATCH)
                maildir_watch_open(box);
        *box_r = box;
        return 0;
}

void maildir_box_close(struct maildir_box **boxp)
{
        struct maildir_box *box;

        if (boxp == NULL || *boxp == NULL)
                return;
        box = *boxp;
        maildir_cache_close(box);
        maildir_modseq_free(&box->modseq);
        dir_fd_close(box, 0);
        dir_fd_close(box, 1);
        maildir_watch_close(box);
        free(box->mod_pending);
        free(box->claimed);
        free(box->cache_path);
        free(box->modseq_path);
        for (size_t i = 0; i < box->count; i++)
                free(box->msgs[i].name);
        free(box->msgs);
        free(box->seen);
        uidlist_free(&box->ul);
        keywords_free(&box->kw);
        free(box->name);
        free(box->path);
        free(box->uidlist_path);
        free(box->keywords_path);
        free(box);
        *boxp = NULL;
}

const char *maildir_box_name(const struct maildir_box *box)
{
        return box->name;
}

const char *maildir_box_path(const struct maildir_box *box)
{
        return box->path;
}

uint32_t maildir_box_uidvalidity(const struct maildir_box *box)
{
        return box->seen_uidvalidity;
}

uint32_t maildir_box_uidnext(const struct maildir_box *box)
{
        uint32_t next = box->ul != NULL ? box->ul->next_uid : 1;

        if (box->seen_count > 0 && box->seen[box->seen_count - 1].uid >= next)
                next = box->seen[box->seen_count - 1].uid + 1;
        return next;
}

size_t maildir_box_count(const struct maildir_box *box)
{
        return box->seen_count;
}

uint32_t maildir_box_uid(const struct maildir_box *box, size_t i)
{
        return i < box->seen_count ? box->seen[i].uid : 0;
}

const char *maildir_box_keyword(const struct maildir_box *box,
                                unsigned int idx)
{
        return keywords_name(box->kw, idx);
}

const struct maildir_box_stats *maildir_box_stats(const struct maildir_box *box)
{
        return &box->stats;
}
