/* maildir_sync.c - scanning a folder, giving UIDs, reporting changes
 * Used by: the imap and pop3 sessions (maildir_sync), maildir_msg.c
 * (rescans after races).
 * A sync stats new/, cur/, dovecot-uidlist and dovecot-keywords; it reads a
 * directory only when its mtime moved (or moved too recently to be sure of),
 * and never opens a message file. New files get UIDs under the uidlist
 * dotlock, in the order of the time in their names, as Dovecot gives them.
 * A file renamed or removed while a directory is read makes a rescan, not
 * an error. Runs as the mailbox owner. Errors: -1 + status 4.x.x. */
#include <dirent.h>
#include <errno.h>
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

/* at most this many scans in one refresh while files seem to vanish: a
 * busy session renaming flags can race several scans in a row on a
 * loaded machine, and each lost race would be a false expunge */
#define SYNC_SCAN_PASSES        10
/* rewrite the uidlist to drop records of gone files when over this share */
#define SYNC_STALE_PERCENT      25

struct scan_file {
        char *name;
        unsigned int in_new:1;
        unsigned int recent:1;
        unsigned int dup:1;             /* another file of the message */
        uint32_t uid;
        size_t base_len;
};

struct scan {
        struct scan_file *files;
        size_t count, alloc;
        int stable;             /* no directory moved while it was read */
        int complete;           /* both directories were read */
};

static void scan_add(struct scan *sc, const char *name, int in_new,
                     int recent)
{
        if (sc->count == sc->alloc) {
                sc->alloc = sc->alloc ? sc->alloc * 2 : 64;
                sc->files = xrealloc(sc->files, sc->alloc * sizeof(*sc->files));
        }
        struct scan_file *f = &sc->files[sc->count++];
        f->name = xstrdup(name);
        f->in_new = in_new != 0;
        f->recent = recent != 0;
        f->uid = 0;
        f->base_len = maildir_filename_base_len(name);
}

static void scan_release(struct scan *sc)
{
        for (size_t i = 0; i < sc->count; i++)
                free(sc->files[i].name);
        free(sc->files);
        memset(sc, 0, sizeof(*sc));
}

static int ts_equal(const struct timespec *a, const struct timespec *b)
{
        return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static int is_dirty(const struct timespec *mtime)
{
        struct timespec now;
        long long ago;

        if (mtime->tv_nsec == 0 || clock_gettime(CLOCK_REALTIME, &now) < 0)
                return mtime->tv_sec >= time(NULL) - MAILDIR_DIRTY_SECS;
        ago = (long long)(now.tv_sec - mtime->tv_sec) * 1000000000LL +
              (now.tv_nsec - mtime->tv_nsec);
        return ago < MAILDIR_DIRTY_NSECS;
}

/* scan_dir - read new/ or cur/ into sc; new/ files are moved to cur/
 * unless the handle is read-only. Records the directory's mtime from
 * before the read, so that any change during it shows at the next sync. */
static int scan_dir(struct maildir_box *box, int is_new, struct scan *sc,
                    int *moved_r, struct status *st)
{
        const char *sub = is_new ? "new" : "cur";
        char *dir = xasprintf("%s/%s", box->path, sub);
        struct stat before, after;
        struct dirent *de;
        DIR *d;

        if (stat(dir, &before) < 0 || (d = opendir(dir)) == NULL) {
                status_set(st, STATUS_LOCAL_IO, "maildir: read %s: %m", dir);
                free(dir);
                return -1;
        }
        box->stats.dir_scans++;
        while ((de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.')
                        continue;
                if (!is_new || (box->flags & MAILDIR_BOX_READONLY)) {
                        scan_add(sc, de->d_name, is_new, 0);
                        continue;
                }
                /* new/ -> cur/, with ":2," added when there is no info */
                char *to_name = strchr(de->d_name, ':') != NULL ?
                                xstrdup(de->d_name) :
                                xasprintf("%s:2,", de->d_name);
                char *from = xasprintf("%s/new/%s", box->path, de->d_name);
                char *to = xasprintf("%s/cur/%s", box->path, to_name);
                if (rename(from, to) == 0) {
                        scan_add(sc, to_name, 0, 1);
                        *moved_r = 1;
                } else if (errno != ENOENT) {
                        log_warn("maildir: rename %s to cur/: %m", from);
                        scan_add(sc, de->d_name, 1, 0);
                }
                /* ENOENT: someone else moved it; cur/ is read next */
                free(from);
                free(to);
                free(to_name);
        }
        closedir(d);
        if (stat(dir, &after) < 0)
                after = before;
        if (!ts_equal(&before.st_mtim, &after.st_mtim) ||
            is_dirty(&after.st_mtim))
                sc->stable = 0;
        if (is_new) {
                box->new_mtime = before.st_mtim;
                box->new_dirty = is_dirty(&before.st_mtim) ||
                                 !ts_equal(&before.st_mtim, &after.st_mtim);
        } else {
                box->cur_mtime = before.st_mtim;
                box->cur_dirty = is_dirty(&before.st_mtim) ||
                                 !ts_equal(&before.st_mtim, &after.st_mtim);
        }
        free(dir);
        return 0;
}

/* time_cmp - Dovecot's order for new files: the seconds and microseconds
 * at the start of the name, then the name */
static int time_cmp(const void *a, const void *b)
{
        const struct scan_file *fa = *(const struct scan_file *const *)a;
        const struct scan_file *fb = *(const struct scan_file *const *)b;
        char *ea, *eb;
        unsigned long long sa = strtoull(fa->name, &ea, 10);
        unsigned long long sb = strtoull(fb->name, &eb, 10);

        if (ea != fa->name && eb != fb->name && *ea == '.' && *eb == '.') {
                if (sa != sb)
                        return sa < sb ? -1 : 1;
                if (ea[1] == 'M' && eb[1] == 'M') {
                        unsigned long long ua = strtoull(ea + 2, NULL, 10);
                        unsigned long long ub = strtoull(eb + 2, NULL, 10);
                        if (ua != ub)
                                return ua < ub ? -1 : 1;
                }
        }
        return strcmp(fa->name, fb->name);
}

static int base_cmp(const void *a, const void *b)
{
        const struct scan_file *fa = *(const struct scan_file *const *)a;
        const struct scan_file *fb = *(const struct scan_file *const *)b;
        size_t n = fa->base_len < fb->base_len ? fa->base_len : fb->base_len;
        int c = memcmp(fa->name, fb->name, n);

        if (c != 0)
                return c;
        if (fa->base_len != fb->base_len)
                return fa->base_len < fb->base_len ? -1 : 1;
        /* the cur/ copy first: it is the one kept */
        return (int)fa->in_new - (int)fb->in_new;
}

/* dedup_unknown - of the files the uidlist does not name, one per base
 * name (sorted by base, cur/ first); the others are marked dup */
static void dedup_unknown(struct scan *sc, size_t unknown)
{
        struct scan_file **u = xmalloc(unknown * sizeof(*u));
        size_t n = 0;

        for (size_t i = 0; i < sc->count; i++)
                if (sc->files[i].uid == 0)
                        u[n++] = &sc->files[i];
        qsort(u, n, sizeof(*u), base_cmp);
        for (size_t i = 1; i < n; i++)
                if (u[i]->base_len == u[i - 1]->base_len &&
                    memcmp(u[i]->name, u[i - 1]->name, u[i]->base_len) == 0)
                        u[i]->dup = 1;
        free(u);
}

/* scan_match - each file's UID from the uidlist, and one file per
 * message: of two with one base name (a move from new/ raced with the
 * scan, or a rename with readdir) the cur/ one is kept. No sort: a base
 * name the uidlist knows is matched through its record. */
static void scan_match(struct maildir_box *box, struct scan *sc)
{
        const struct uidlist *ul = box->ul;
        size_t *owner = NULL, unknown = 0, j = 0;

        if (ul != NULL && ul->count > 0) {
                owner = xmalloc(ul->count * sizeof(*owner));
                for (size_t k = 0; k < ul->count; k++)
                        owner[k] = SIZE_MAX;
        }
        for (size_t i = 0; i < sc->count; i++) {
                struct scan_file *f = &sc->files[i];
                const struct uidlist_rec *r = ul == NULL ? NULL :
                        uidlist_lookup(ul, f->name, f->base_len);
                f->uid = r != NULL ? r->uid : 0;
                f->dup = 0;
                if (r == NULL) {
                        unknown++;
                        continue;
                }
                size_t k = (size_t)(r - ul->recs);
                if (owner[k] == SIZE_MAX) {
                        owner[k] = i;
                } else if (sc->files[owner[k]].in_new && !f->in_new) {
                        sc->files[owner[k]].dup = 1;
                        owner[k] = i;
                } else {
                        f->dup = 1;
                }
        }
        free(owner);
        if (unknown > 1)
                dedup_unknown(sc, unknown);
        for (size_t i = 0; i < sc->count; i++) {
                if (sc->files[i].dup) {
                        free(sc->files[i].name);
                        continue;
                }
                sc->files[j++] = sc->files[i];
        }
        sc->count = j;
}

/* carry - what an earlier record of the same message knew */
static void carry(const struct maildir_box *box, struct maildir_rec *rec,
                  size_t base_len)
{
        struct maildir_rec *old = maildir_box_find((struct maildir_box *)box,
                                                   rec->uid);

        if (old == NULL || strncmp(old->name, rec->name, base_len) != 0)
                return;
        if (rec->size == MAILDIR_SIZE_UNKNOWN)
                rec->size = old->size;
        if (rec->vsize == MAILDIR_SIZE_UNKNOWN)
                rec->vsize = old->vsize;
        rec->mtime = old->mtime;
        rec->recent |= old->recent;
}

struct uid_pos {
        uint32_t uid;
        size_t pos;
};

static int uid_pos_cmp(const void *a, const void *b)
{
        const struct uid_pos *pa = a, *pb = b;

        return pa->uid < pb->uid ? -1 : pa->uid > pb->uid;
}

/* sort_uid_pos - by UID: placed by value when the UIDs are dense (they
 * mostly are), else sorted */
static void sort_uid_pos(struct uid_pos *v, size_t n)
{
        uint32_t lo = UINT32_MAX, hi = 0;

        for (size_t i = 0; i < n; i++) {
                if (v[i].uid < lo)
                        lo = v[i].uid;
                if (v[i].uid > hi)
                        hi = v[i].uid;
        }
        if (n < 2)
                return;
        size_t range = (size_t)(hi - lo) + 1;
        if (range > 4 * n + 1024) {
                qsort(v, n, sizeof(*v), uid_pos_cmp);
                return;
        }
        size_t *at = xmalloc(range * sizeof(*at));
        for (size_t i = 0; i < range; i++)
                at[i] = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
                if (at[v[i].uid - lo] != SIZE_MAX) {
                        /* a UID twice (not expected): sort, lose none */
                        free(at);
                        qsort(v, n, sizeof(*v), uid_pos_cmp);
                        return;
                }
                at[v[i].uid - lo] = v[i].pos;
        }
        size_t k = 0;
        for (size_t u = 0; u < range; u++) {
                if (at[u] != SIZE_MAX) {
                        v[k].uid = (uint32_t)(lo + u);
                        v[k++].pos = at[u];
                }
        }
        free(at);
}

/* assign_locked - under the lock: give UIDs to the files without one,
 * renumber files that showed up below the last reported UID, drop records
 * of gone files when the scan was complete and calm. Returns 1 when the
 * uidlist must be written. */
static int assign_locked(struct maildir_box *box, struct scan *sc)
{
        struct uidlist *ul = box->ul;
        uint32_t max_seen = box->seen_count > 0 ?
                            box->seen[box->seen_count - 1].uid : 0;
        unsigned char *keep = xmalloc(ul->count + 1);
        unsigned char *found = xcalloc(ul->count + 1, 1);
        int write = ul->damaged || !box->ul_known;
        size_t live = 0;

        memset(keep, 1, ul->count + 1);
        for (size_t i = 0; i < sc->count; i++) {
                struct scan_file *f = &sc->files[i];
                const struct uidlist_rec *r = uidlist_lookup(ul, f->name,
                                                             f->base_len);
                f->uid = r != NULL ? r->uid : 0;
                if (r != NULL)
                        found[r - ul->recs] = 1;
                if (r != NULL && box->synced && f->uid <= max_seen &&
                    box->seen_uidvalidity == ul->uidvalidity &&
                    maildir_box_seen_find(box, f->uid) == NULL) {
                        /* appeared below UIDs already reported: IMAP
                         * cannot take it there, so it gets a new UID */
                        log_warn("maildir: %s: %s: UID %u showed up late; giving it a new UID",
                                 box->path, f->name, f->uid);
                        keep[r - ul->recs] = 0;
                        f->uid = 0;
                        write = 1;
                }
                if (f->uid != 0)
                        live++;
        }
        if (sc->complete && sc->stable && ul->count > live &&
            (ul->count - live) * 100 > ul->count * SYNC_STALE_PERCENT)
                write = 1;
        if (write && sc->complete && sc->stable) {
                for (size_t i = 0; i < ul->count; i++) {
                        if (!found[i])
                                keep[i] = 0;
                }
        }
        if (write)
                uidlist_retain(ul, keep);
        free(keep);
        free(found);

        size_t n = 0;
        struct scan_file **todo = xmalloc((sc->count + 1) * sizeof(*todo));
        for (size_t i = 0; i < sc->count; i++) {
                if (sc->files[i].uid == 0)
                        todo[n++] = &sc->files[i];
        }
        if (n > 0)
                qsort(todo, n, sizeof(*todo), time_cmp);
        for (size_t i = 0; i < n; i++) {
                todo[i]->uid = uidlist_add(ul, todo[i]->name,
                                           todo[i]->base_len, NULL);
                if (todo[i]->uid == 0) {
                        /* UID space used up: start over with a new
                         * UIDVALIDITY, every file renumbered */
                        uint32_t v = ul->uidvalidity + 1;
                        log_warn("maildir: %s: UIDs used up; new UIDVALIDITY %u",
                                 box->path, v);
                        uidlist_free(&box->ul);
                        ul = box->ul = uidlist_new(v);
                        box->last_uidvalidity = v;
                        for (size_t k = 0; k < sc->count; k++)
                                todo[k] = &sc->files[k];
                        qsort(todo, sc->count, sizeof(*todo), time_cmp);
                        for (size_t k = 0; k < sc->count; k++)
                                todo[k]->uid = uidlist_add(ul, todo[k]->name,
                                                           todo[k]->base_len,
                                                           NULL);
                        break;
                }
        }
        if (n > 0)
                write = 1;
        free(todo);
        return write;
}

/* refresh_once - one pass; *retry_r set when files vanished while a
 * directory was moving under us */
static int refresh_once(struct maildir_box *box, int force, int *retry_r,
                        struct status *st)
{
        struct stat nsb, csb, ksb;
        struct scan sc;
        int need_new, need_cur, moved = 0, ret = 0;

        *retry_r = 0;
        memset(&sc, 0, sizeof(sc));
        sc.stable = 1;
        int quiet = maildir_watch_quiet(box);
        for (int tries = 0; ; tries++) {
                char *n = xasprintf("%s/new", box->path);
                char *c = xasprintf("%s/cur", box->path);
                int rn = stat(n, &nsb), rc = rn < 0 ? -1 : stat(c, &csb);
                free(n);
                free(c);
                if (rn == 0 && rc == 0)
                        break;
                if (errno != ENOENT || tries > 0)
                        return status_set(st, STATUS_LOCAL_IO,
                                          "maildir: stat %s/new or cur: %m",
                                          box->path);
                struct stat root;
                if (stat(box->path, &root) < 0)
                        return status_set(st, STATUS_BAD_MAILBOX,
                                          "maildir: folder %s was deleted",
                                          box->name);
                if (maildir_make_dirs(box->path, 0, st) < 0)
                        return -1;
        }
        maildir_box_dir_check(box, 1, &nsb);
        maildir_box_dir_check(box, 0, &csb);
        /* a dirty directory is read again unless the watch saw nothing
         * happen since it was last read */
        need_new = force || !box->scanned || (box->new_dirty && !quiet) ||
                   !ts_equal(&nsb.st_mtim, &box->new_mtime);
        need_cur = force || !box->scanned || (box->cur_dirty && !quiet) ||
                   !ts_equal(&csb.st_mtim, &box->cur_mtime);
        if ((need_new || !box->new_dirty) && (need_cur || !box->cur_dirty))
                maildir_watch_settled(box);

        struct stat usb;
        int ul_changed;
        if (stat(box->uidlist_path, &usb) < 0)
                ul_changed = box->ul != NULL || !box->scanned;
        else
                ul_changed = box->ul == NULL || !box->ul_known ||
                             !maildir_stat_same(&usb, &box->ul_sb);
        int kw_changed = stat(box->keywords_path, &ksb) == 0 &&
                         (!box->kw_known ||
                          !maildir_stat_same(&ksb, &box->kw_sb));
        if (!need_new && !need_cur && !ul_changed && !kw_changed)
                return 0;

        if (maildir_box_read_keywords(box, st) < 0 ||
            maildir_box_read_uidlist(box, 0, st) < 0) {
                maildir_watch_unsettled(box);
                return -1;
        }
        /* every UID below this was given before the scan starts: a file
         * of one that the scan does not find is gone */
        box->refresh_uidvalidity = box->ul != NULL ? box->ul->uidvalidity : 0;
        box->refresh_next_uid = box->ul != NULL ? box->ul->next_uid : 0;

        /* the file list: directories that moved are read again, the
         * others are taken from what we knew */
        if (need_new) {
                if (scan_dir(box, 1, &sc, &moved, st) < 0)
                        goto out_fail;
                if (moved)
                        need_cur = 1;
        } else {
                for (size_t i = 0; i < box->count; i++) {
                        if (box->msgs[i].in_new)
                                scan_add(&sc, box->msgs[i].name, 1, 0);
                }
        }
        if (need_cur) {
                if (scan_dir(box, 0, &sc, &moved, st) < 0)
                        goto out_fail;
        } else {
                for (size_t i = 0; i < box->count; i++) {
                        if (!box->msgs[i].in_new)
                                scan_add(&sc, box->msgs[i].name, 0,
                                         box->msgs[i].recent);
                }
        }
        sc.complete = need_new && need_cur;
        if (!sc.complete)
                sc.stable = 0;
        box->scanned = 1;
        scan_match(box, &sc);

        /* decide whether the lock is needed */
        uint32_t max_seen = box->seen_count > 0 ?
                            box->seen[box->seen_count - 1].uid : 0;
        int need_lock = box->ul == NULL || box->ul->damaged || !box->ul_known;
        size_t live = 0;
        for (size_t i = 0; i < sc.count; i++) {
                struct scan_file *f = &sc.files[i];
                if (f->uid == 0)
                        need_lock = 1;
                else if (box->synced && f->uid <= max_seen &&
                         box->seen_uidvalidity == box->ul->uidvalidity &&
                         maildir_box_seen_find(box, f->uid) == NULL)
                        need_lock = 1;
                else
                        live++;
        }
        if (box->ul != NULL && sc.complete && sc.stable &&
            box->ul->count > live &&
            (box->ul->count - live) * 100 > box->ul->count * SYNC_STALE_PERCENT)
                need_lock = 1;
        if (need_lock) {
                struct dotlock *lock;
                if (maildir_box_lock(box, &lock, st) < 0) {
                        /* keep what has UIDs; look again next time */
                        box->new_dirty = box->cur_dirty = 1;
                        maildir_watch_unsettled(box);
                        ret = -1;
                } else {
                        int write = assign_locked(box, &sc);
                        if (maildir_box_unlock(box, &lock, write, st) < 0)
                                ret = -1;
                }
        }

        /* the new message list, made in UID order: the uidlist records
         * and the old list are then walked, not searched */
        struct uid_pos *order = xmalloc((sc.count + 1) * sizeof(*order));
        size_t count = 0, k = 0;
        for (size_t i = 0; i < sc.count; i++) {
                if (sc.files[i].uid != 0) {
                        order[count].uid = sc.files[i].uid;
                        order[count++].pos = i;
                }
        }
        sort_uid_pos(order, count);
        struct maildir_rec *msgs = xcalloc(count + 1, sizeof(*msgs));
        for (size_t i = 0; i < count; i++) {
                struct scan_file *f = &sc.files[order[i].pos];
                struct maildir_rec *r = &msgs[i];
                const struct maildir_rec *old = maildir_box_find(box, f->uid);
                if (old != NULL && strcmp(old->name, f->name) == 0) {
                        /* the same file as before: nothing to parse */
                        *r = *old;
                        r->name = f->name;
                        f->name = NULL;
                        r->in_new = f->in_new;
                        r->recent = f->recent | old->recent;
                        continue;
                }
                r->uid = f->uid;
                r->name = f->name;
                f->name = NULL;
                r->in_new = f->in_new;
                r->recent = f->recent;
                maildir_filename_flags(r->name, &r->flags, &r->kw);
                const struct uidlist_rec *ur = NULL;
                while (box->ul != NULL && k < box->ul->count &&
                       box->ul->recs[k].uid < r->uid)
                        k++;
                if (box->ul != NULL && k < box->ul->count &&
                    box->ul->recs[k].uid == r->uid)
                        ur = &box->ul->recs[k];
                if (maildir_filename_size(r->name, 'S', &r->size) != 1 &&
                    (ur == NULL || uidlist_rec_ext(ur, 'S', &r->size) != 1))
                        r->size = MAILDIR_SIZE_UNKNOWN;
                if (maildir_filename_size(r->name, 'W', &r->vsize) != 1 &&
                    (ur == NULL || uidlist_rec_ext(ur, 'W', &r->vsize) != 1))
                        r->vsize = MAILDIR_SIZE_UNKNOWN;
                carry(box, r, f->base_len);
        }
        free(order);

        /* files that vanished while a directory moved, or UIDs given by
         * someone else to files our scan missed (a rename in the middle of
         * readdir): look again rather than report a false expunge, or a
         * UID above a hole that would have to be filled later */
        if (!sc.stable && (need_new || need_cur)) {
                size_t j = 0;
                for (size_t i = 0; i < box->count && !*retry_r; i++) {
                        while (j < count && msgs[j].uid < box->msgs[i].uid)
                                j++;
                        if (j >= count || msgs[j].uid != box->msgs[i].uid)
                                *retry_r = 1;
                }
                uint32_t top = count > 0 ? msgs[count - 1].uid : 0;
                j = 0;
                for (size_t i = 0; box->ul != NULL && i < box->ul->count &&
                     !*retry_r; i++) {
                        uint32_t uid = box->ul->recs[i].uid;
                        if (uid <= max_seen)
                                continue;
                        if (uid >= top)
                                break;
                        while (j < count && msgs[j].uid < uid)
                                j++;
                        if (j >= count || msgs[j].uid != uid)
                                *retry_r = 1;
                }
        }
        for (size_t i = 0; i < box->count; i++)
                free(box->msgs[i].name);
        free(box->msgs);
        box->msgs = msgs;
        box->count = count;
        if (box->ul != NULL && box->ul->uidvalidity != box->refresh_uidvalidity) {
                /* a new UIDVALIDITY on the way: nothing is known gone */
                box->refresh_uidvalidity = box->ul->uidvalidity;
                box->refresh_next_uid = 0;
        }
        scan_release(&sc);
        return ret;
out_fail:
        maildir_watch_unsettled(box);
        scan_release(&sc);
        return -1;
}

int maildir_box_refresh(struct maildir_box *box, int force, struct status *st)
{
        for (int pass = 0; ; pass++) {
                int retry;
                if (refresh_once(box, force || pass > 0, &retry, st) < 0)
                        return -1;
                if (!retry || pass + 1 >= SYNC_SCAN_PASSES)
                        return 0;
        }
}

static void push_uid(uint32_t **arr, size_t *n, size_t *alloc, uint32_t uid)
{
        if (*n == *alloc) {
                *alloc = *alloc ? *alloc * 2 : 16;
                *arr = xrealloc(*arr, *alloc * sizeof(**arr));
        }
        (*arr)[(*n)++] = uid;
}

int maildir_sync(struct maildir_box *box, struct maildir_changes *ch_r,
                 struct status *st)
{
        struct maildir_changes ch;
        size_t a_new = 0, a_rec = 0, a_chg = 0, a_exp = 0;
        int ret = 0;

        memset(&ch, 0, sizeof(ch));
        if (ch_r != NULL)
                memset(ch_r, 0, sizeof(*ch_r));
        if (maildir_box_refresh(box, 0, st) < 0) {
                /* report what we have; the caller hears of the trouble */
                ret = -1;
                if (box->ul == NULL)
                        return -1;
        } else if (maildir_modseq_sync(box, st) < 0) {
                ret = -1;
        }
        uint32_t uidvalidity = box->ul != NULL ? box->ul->uidvalidity : 0;
        if (box->synced && box->seen_uidvalidity != uidvalidity) {
                ch.uidvalidity_changed = 1;
                box->seen_count = 0;
        }
        uint32_t max_seen = box->seen_count > 0 ?
                            box->seen[box->seen_count - 1].uid : 0;
        struct maildir_seen *seen = xmalloc((box->count + 1) * sizeof(*seen));
        size_t nseen = 0, i = 0, j = 0;

        while (i < box->seen_count || j < box->count) {
                const struct maildir_seen *s = i < box->seen_count ?
                                               &box->seen[i] : NULL;
                const struct maildir_rec *r = j < box->count ?
                                              &box->msgs[j] : NULL;
                if (r == NULL || (s != NULL && s->uid < r->uid)) {
                        push_uid(&ch.expunged_uids, &ch.expunged_count,
                                 &a_exp, s->uid);
                        i++;
                        continue;
                }
                if (s == NULL || r->uid < s->uid) {
                        j++;
                        /* below what was reported: wait for a new UID */
                        if (r->uid <= max_seen)
                                continue;
                        push_uid(&ch.new_uids, &ch.new_count, &a_new, r->uid);
                        if (maildir_recent_is(box, r))
                                push_uid(&ch.recent_uids, &ch.recent_count,
                                         &a_rec, r->uid);
                } else {
                        if (s->flags != r->flags || s->kw != r->kw)
                                push_uid(&ch.changed_uids, &ch.changed_count,
                                         &a_chg, r->uid);
                        i++;
                        j++;
                }
                seen[nseen].uid = r->uid;
                seen[nseen].flags = r->flags;
                seen[nseen].kw = r->kw;
                nseen++;
        }
        free(box->seen);
        box->seen = seen;
        box->seen_count = nseen;
        box->seen_uidvalidity = uidvalidity;
        box->synced = 1;
        maildir_cache_synced(box);
        if (ch_r != NULL)
                *ch_r = ch;
        else
                maildir_changes_release(&ch);
        return ret;
}

void maildir_changes_release(struct maildir_changes *ch)
{
        if (ch == NULL)
                return;
        free(ch->new_uids);
        free(ch->recent_uids);
        free(ch->changed_uids);
        free(ch->expunged_uids);
        memset(ch, 0, sizeof(*ch));
}
