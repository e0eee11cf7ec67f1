/* maildir_msg.c - messages by UID: sizes, dates, contents, flags, expunge,
 * copy and move
 * Used by: the imap and pop3 sessions. Flags live in the file name, so a
 * flag change is a rename within new/ or cur/; when another process renamed
 * or removed the file first, the folder is rescanned and the operation
 * retried on the file's new name (or reports the message gone). Copies are
 * hard links when the file system allows; UIDs in the destination are
 * given under its uidlist lock. Runs as the mailbox owner. Errors: -1 +
 * status (4.x.x disk or lock trouble, 5.x.x bad keyword, 5.2.2 quota). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "maildir.h"
#include "maildir_private.h"
#include "mem.h"

#define LETTERS_MASK    ((1u << 26) - 1)

/* rename_in - rename a file within box's new/ or cur/: by the handle's
 * directory descriptor, which spares the kernel the path walk */
static int rename_in(struct maildir_box *box, int in_new, const char *from,
                     const char *to)
{
        int dfd = maildir_box_dir_fd(box, in_new);

        maildir_watch_pause(box);
        if (dfd >= 0)
                return renameat(dfd, from, dfd, to);
        const char *sub = in_new ? "new" : "cur";
        char *f = xasprintf("%s/%s/%s", box->path, sub, from);
        char *t = xasprintf("%s/%s/%s", box->path, sub, to);
        int r = rename(f, t);
        int err = errno;
        free(f);
        free(t);
        errno = err;
        return r;
}

/* stat_rec - stat the file of uid, rescanning when it vanished; 1, 0 gone,
 * -1 */
static int stat_rec(struct maildir_box *box, uint32_t uid, struct stat *sb,
                    struct maildir_rec **rec_r, struct status *st)
{
        for (int tries = 0; tries < MAILDIR_RACE_RETRIES; tries++) {
                struct maildir_rec *rec = maildir_box_find(box, uid);
                if (rec == NULL)
                        return 0;
                char *path = maildir_box_rec_path(box, rec);
                int r = stat(path, sb);
                if (r == 0) {
                        free(path);
                        *rec_r = rec;
                        return 1;
                }
                if (errno != ENOENT) {
                        status_set(st, STATUS_LOCAL_IO, "maildir: stat %s: %m",
                                   path);
                        free(path);
                        return -1;
                }
                free(path);
                if (maildir_box_refresh(box, 1, st) < 0)
                        return -1;
        }
        return status_set(st, STATUS_LOCAL_IO,
                          "maildir: %s: message %u keeps moving", box->path,
                          uid);
}

/* open_rec - open the file of uid read-only, as stat_rec */
static int open_rec(struct maildir_box *box, uint32_t uid, int *fd_r,
                    struct maildir_rec **rec_r, struct status *st)
{
        for (int tries = 0; tries < MAILDIR_RACE_RETRIES; tries++) {
                struct maildir_rec *rec = maildir_box_find(box, uid);
                if (rec == NULL)
                        return 0;
                char *path = maildir_box_rec_path(box, rec);
                int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd >= 0) {
                        free(path);
                        box->stats.msg_reads++;
                        *fd_r = fd;
                        *rec_r = rec;
                        return 1;
                }
                if (errno != ENOENT) {
                        status_set(st, STATUS_LOCAL_IO, "maildir: open %s: %m",
                                   path);
                        free(path);
                        return -1;
                }
                free(path);
                if (maildir_box_refresh(box, 1, st) < 0)
                        return -1;
        }
        return status_set(st, STATUS_LOCAL_IO,
                          "maildir: %s: message %u keeps moving", box->path,
                          uid);
}

int maildir_msg_info(struct maildir_box *box, uint32_t uid,
                     struct maildir_msg_info *info_r)
{
        struct maildir_rec *rec = maildir_box_find(box, uid);

        memset(info_r, 0, sizeof(*info_r));
        if (rec == NULL)
                return 0;
        info_r->uid = uid;
        info_r->flags = rec->flags;
        info_r->keywords = rec->kw;
        info_r->recent = maildir_recent_is(box, rec);
        return 1;
}

int maildir_msg_size(struct maildir_box *box, uint32_t uid, uint64_t *size_r,
                     struct status *st)
{
        struct maildir_rec *rec = maildir_box_find(box, uid);
        struct stat sb;
        int r;

        if (rec == NULL)
                return 0;
        if (rec->size != MAILDIR_SIZE_UNKNOWN) {
                *size_r = rec->size;
                return 1;
        }
        struct maildir_cache_info info;
        if (maildir_cache_info(box, uid, 0, &info, st) > 0) {
                rec->size = *size_r = info.size;
                return 1;
        }
        if ((r = stat_rec(box, uid, &sb, &rec, st)) <= 0)
                return r;
        rec->size = (uint64_t)sb.st_size;
        rec->mtime = sb.st_mtime;
        *size_r = rec->size;
        return 1;
}

int maildir_msg_date(struct maildir_box *box, uint32_t uid, time_t *date_r,
                     struct status *st)
{
        struct maildir_rec *rec = maildir_box_find(box, uid);
        struct stat sb;
        int r;

        if (rec == NULL)
                return 0;
        if (rec->mtime != 0) {
                *date_r = rec->mtime;
                return 1;
        }
        struct maildir_cache_info info;
        if (maildir_cache_info(box, uid, 0, &info, st) > 0 &&
            info.mtime != 0) {
                rec->mtime = *date_r = info.mtime;
                return 1;
        }
        if ((r = stat_rec(box, uid, &sb, &rec, st)) <= 0)
                return r;
        rec->mtime = sb.st_mtime;
        if (rec->size == MAILDIR_SIZE_UNKNOWN)
                rec->size = (uint64_t)sb.st_size;
        *date_r = rec->mtime;
        return 1;
}

int maildir_msg_vsize(struct maildir_box *box, uint32_t uid,
                      uint64_t *vsize_r, struct status *st)
{
        struct maildir_rec *rec = maildir_box_find(box, uid);
        char buf[65536];
        uint64_t size = 0, lines = 0;
        int fd, r;

        if (rec == NULL)
                return 0;
        if (rec->vsize != MAILDIR_SIZE_UNKNOWN) {
                *vsize_r = rec->vsize;
                return 1;
        }
        /* with a cache the file is read once, for good */
        struct maildir_cache_info info;
        if ((r = maildir_cache_info(box, uid, 1, &info, st)) != 0) {
                if (r > 0) {
                        rec = maildir_box_find(box, uid);
                        if (rec != NULL)
                                rec->vsize = info.vsize;
                        *vsize_r = info.vsize;
                }
                return r;
        }
        if ((r = open_rec(box, uid, &fd, &rec, st)) <= 0)
                return r;
        /* each stored LF goes out as CRLF, unless a CR is already there */
        char prev = '\0';
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        status_set(st, STATUS_LOCAL_IO, "maildir: read %s: %m",
                                   rec->name);
                        close(fd);
                        return -1;
                }
                if (n == 0)
                        break;
                for (ssize_t i = 0; i < n; i++) {
                        if (buf[i] == '\n' && prev != '\r')
                                lines++;
                        prev = buf[i];
                }
                size += (uint64_t)n;
        }
        close(fd);
        rec->size = size;
        rec->vsize = size + lines;
        *vsize_r = rec->vsize;
        return 1;
}

char *maildir_msg_path(struct maildir_box *box, uint32_t uid)
{
        struct maildir_rec *rec = maildir_box_find(box, uid);

        return rec == NULL ? NULL : maildir_box_rec_path(box, rec);
}

int maildir_msg_open(struct maildir_box *box, uint32_t uid, int *fd_r,
                     struct status *st)
{
        struct maildir_rec *rec;

        *fd_r = -1;
        return open_rec(box, uid, fd_r, &rec, st);
}

int maildir_msg_map(struct maildir_box *box, uint32_t uid,
                    struct maildir_map *map_r, struct status *st)
{
        struct maildir_rec *rec;
        struct stat sb;
        int fd, r;

        memset(map_r, 0, sizeof(*map_r));
        map_r->data = "";
        if ((r = open_rec(box, uid, &fd, &rec, st)) <= 0)
                return r;
        if (fstat(fd, &sb) < 0) {
                status_set(st, STATUS_LOCAL_IO, "maildir: fstat %s: %m",
                           rec->name);
                close(fd);
                return -1;
        }
        if (sb.st_size > 0) {
                void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ,
                               MAP_PRIVATE, fd, 0);
                if (p == MAP_FAILED) {
                        status_set(st, STATUS_LOCAL_IO, "maildir: mmap %s: %m",
                                   rec->name);
                        close(fd);
                        return -1;
                }
                map_r->base = p;
                map_r->data = p;
                map_r->len = (size_t)sb.st_size;
        }
        close(fd);
        rec->size = (uint64_t)sb.st_size;
        rec->mtime = sb.st_mtime;
        return 1;
}

void maildir_msg_unmap(struct maildir_map *map)
{
        if (map->base != NULL)
                munmap(map->base, map->len);
        map->base = NULL;
        map->data = "";
        map->len = 0;
}

/* note_keywords_written - our own keywords write is not news to us */
static void note_keywords_written(struct maildir_box *box)
{
        if (stat(box->keywords_path, &box->kw_sb) == 0)
                box->kw_known = 1;
}

/* keyword_letters - letters for names, adding unknown ones to
 * dovecot-keywords under the uidlist lock when create is set */
static int keyword_letters(struct maildir_box *box, const char *const *names,
                           size_t n, int create, uint32_t *kw_r,
                           struct status *st)
{
        int added = 0;

        for (size_t i = 0; i < n; i++) {
                if (!keywords_name_valid(names[i]))
                        return status_set(st, STATUS_BAD_ARGS,
                                          "invalid keyword: %.64s", names[i]);
        }
        if (maildir_box_keyword_letters(box, names, n, 0, kw_r, &added,
                                        st) < 0)
                return -1;
        if (!create || (uint32_t)__builtin_popcount(*kw_r) == n)
                return 0;
        /* some names are new here: only the lock holder may add them */
        struct dotlock *lock;
        if (maildir_box_lock(box, &lock, st) < 0)
                return -1;
        int ret = maildir_box_keyword_letters(box, names, n, 1, kw_r, &added,
                                              st);
        if (ret == 0 && added) {
                ret = keywords_write(box->kw, box->keywords_path, st);
                if (ret == 0)
                        note_keywords_written(box);
        }
        if (maildir_box_unlock(box, &lock, 0, ret < 0 ? NULL : st) < 0)
                ret = -1;
        return ret;
}

int maildir_msg_store(struct maildir_box *box, uint32_t uid,
                      enum maildir_store_op op, uint32_t flags,
                      const char *const *keywords, size_t nkeywords,
                      struct status *st)
{
        uint32_t kw;

        flags &= LETTERS_MASK;
        if (maildir_box_find(box, uid) == NULL)
                return 0;
        if (keyword_letters(box, keywords, nkeywords,
                            op != MAILDIR_STORE_REMOVE, &kw, st) < 0)
                return -1;
        for (int tries = 0; tries < MAILDIR_RACE_RETRIES; tries++) {
                struct maildir_rec *rec = maildir_box_find(box, uid);
                uint32_t nf, nk;

                if (rec == NULL)
                        return 0;
                switch (op) {
                case MAILDIR_STORE_ADD:
                        nf = rec->flags | flags;
                        nk = rec->kw | kw;
                        break;
                case MAILDIR_STORE_REMOVE:
                        nf = rec->flags & ~flags;
                        nk = rec->kw & ~kw;
                        break;
                default:
                        nf = flags;
                        nk = kw;
                        break;
                }
                if (nf == rec->flags && nk == rec->kw &&
                    strstr(rec->name, ":2,") != NULL) {
                        maildir_box_seen_update(box, uid, nf, nk);
                        return 1;
                }
                char *name = maildir_filename_set_flags(rec->name, nf, nk);
                int r = rename_in(box, rec->in_new, rec->name, name);
                int err = errno;
                if (r == 0) {
                        free(rec->name);
                        rec->name = name;
                        rec->flags = nf;
                        rec->kw = nk;
                        maildir_box_seen_update(box, uid, nf, nk);
                        maildir_modseq_note(box, uid);
                        return 1;
                }
                free(name);
                if (err != ENOENT) {
                        errno = err;
                        return status_set(st, STATUS_LOCAL_IO,
                                          "maildir: rename %s/%s: %m",
                                          box->path, rec->name);
                }
                if (maildir_box_refresh(box, 1, st) < 0)
                        return -1;
        }
        return status_set(st, STATUS_LOCAL_IO,
                          "maildir: %s: message %u keeps moving", box->path,
                          uid);
}

int maildir_msg_expunge(struct maildir_box *box, uint32_t uid,
                        struct status *st)
{
        for (int tries = 0; tries < MAILDIR_RACE_RETRIES; tries++) {
                struct maildir_rec *rec = maildir_box_find(box, uid);
                struct stat sb;

                if (rec == NULL)
                        return 0;
                char *path = maildir_box_rec_path(box, rec);
                uint64_t size = rec->size;
                if (size == MAILDIR_SIZE_UNKNOWN)
                        size = lstat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
                maildir_watch_pause(box);
                if (unlink(path) == 0) {
                        free(path);
                        maildir_box_forget(box, uid);
                        maildir_quota_add(box->md, -(int64_t)size, -1);
                        return 1;
                }
                if (errno != ENOENT) {
                        status_set(st, STATUS_LOCAL_IO, "maildir: unlink %s: %m",
                                   path);
                        free(path);
                        return -1;
                }
                free(path);
                if (maildir_box_refresh(box, 1, st) < 0)
                        return -1;
        }
        return status_set(st, STATUS_LOCAL_IO,
                          "maildir: %s: message %u keeps moving", box->path,
                          uid);
}

/* fsync_sub - make renames in box's new/ or cur/ durable; trouble is only
 * logged, the rename itself has happened */
static void fsync_sub(struct maildir_box *box, const char *sub)
{
        struct status st;
        char *dir = xasprintf("%s/%s", box->path, sub);

        if (maildir_fsync_dir(dir, &st) < 0)
                log_warn("%s", st.text);
        free(dir);
}

/* copy_one - link (or copy) or rename one message into dst while dst is
 * locked; 1 done (*uid_r), 0 the source file vanished, -1 */
static int copy_one(struct maildir_box *src, struct maildir_rec *rec,
                    struct maildir_box *dst, int move, uint32_t *uid_r,
                    uint64_t *size_r, int *used_new, int *used_cur,
                    struct status *st)
{
        uint32_t kw = 0;
        int added = 0;

        /* keyword letters mean names, and names map to dst's letters */
        const char *names[KEYWORDS_MAX];
        size_t n = 0;
        for (unsigned int i = 0; i < KEYWORDS_MAX; i++) {
                const char *name = (rec->kw & (1u << i)) ?
                                   keywords_name(src->kw, i) : NULL;
                if (name != NULL)
                        names[n++] = name;
        }
        if (maildir_box_keyword_letters(dst, names, n, 1, &kw, &added, st) < 0)
                return -1;
        if (added) {
                if (keywords_write(dst->kw, dst->keywords_path, st) < 0)
                        return -1;
                note_keywords_written(dst);
        }

        struct buf b;
        char *base = maildir_unique_base(dst->md);
        buf_init(&b, 0);
        buf_puts(&b, base);
        free(base);
        uint64_t size = rec->size, vsize = rec->vsize;
        if (size == MAILDIR_SIZE_UNKNOWN) {
                struct stat sb;
                char *p = maildir_box_rec_path(src, rec);
                if (stat(p, &sb) == 0)
                        size = (uint64_t)sb.st_size;
                free(p);
        }
        *size_r = size == MAILDIR_SIZE_UNKNOWN ? 0 : size;
        if (size != MAILDIR_SIZE_UNKNOWN)
                buf_printf(&b, ",S=%llu", (unsigned long long)size);
        if (vsize != MAILDIR_SIZE_UNKNOWN)
                buf_printf(&b, ",W=%llu", (unsigned long long)vsize);
        size_t base_len = b.len;
        int to_cur = rec->flags != 0 || kw != 0;
        char *fname = to_cur ? maildir_filename_set_flags(b.data, rec->flags, kw)
                             : xstrdup(b.data);
        char *from = maildir_box_rec_path(src, rec);
        char *to = xasprintf("%s/%s/%s", dst->path, to_cur ? "cur" : "new",
                             fname);
        int ret = 1, r;

        if (move) {
                r = maildir_rename_noreplace(from, to);
        } else {
                r = link(from, to);
                if (r < 0 && errno != ENOENT && errno != EEXIST) {
                        /* another file system, or no hard links here */
                        char *tmp = xasprintf("%s/tmp/%s", dst->path, b.data);
                        r = maildir_copy_file(from, tmp, st);
                        if (r == 0 && (r = maildir_rename_noreplace(tmp, to)) < 0) {
                                status_set(st, maildir_status_errno(errno),
                                           "maildir: rename %s: %m", tmp);
                                unlink(tmp);
                                free(tmp);
                                ret = -1;
                                goto out;
                        }
                        free(tmp);
                        if (r < 0 && errno != ENOENT) {
                                ret = -1;
                                goto out;
                        }
                }
        }
        if (r < 0) {
                if (errno == ENOENT) {
                        ret = 0;
                } else {
                        ret = status_set(st, maildir_status_errno(errno),
                                         "maildir: %s %s: %m",
                                         move ? "rename" : "link", from);
                }
                goto out;
        }
        if (to_cur)
                *used_cur = 1;
        else
                *used_new = 1;
        *uid_r = uidlist_add(dst->ul, b.data, base_len, NULL);
        if (*uid_r == 0)
                ret = status_set(st, STATUS_LOCAL_IO,
                                 "maildir: %s: UIDs used up", dst->path);
out:
        buf_release(&b);
        free(fname);
        free(from);
        free(to);
        return ret;
}

int maildir_msg_copy(struct maildir_box *src, const uint32_t *uids,
                     size_t count, struct maildir_box *dst, int move,
                     uint32_t *dst_uids_r, struct status *st)
{
        unsigned char *pending = xcalloc(count + 1, 1);
        size_t npending = count, copied = 0;
        int ret = 0;

        memset(dst_uids_r, 0, count * sizeof(*dst_uids_r));
        for (size_t i = 0; i < count; i++)
                pending[i] = 1;
        if (!move && src->md->quota_mode != MAILDIR_QUOTA_OFF) {
                struct quota_usage u;
                uint64_t bytes = 0, n = 0, size;
                for (size_t i = 0; i < count; i++) {
                        int r = maildir_msg_size(src, uids[i], &size, st);
                        if (r < 0) {
                                free(pending);
                                return -1;
                        }
                        if (r > 0) {
                                bytes += size;
                                n++;
                        }
                }
                int q = maildir_quota_get(dst->md, &u, st);
                if (q < 0 || (q > 0 && quota_check(&u, bytes, n, st) < 0)) {
                        free(pending);
                        return -1;
                }
        }
        uint64_t bytes_added = 0;
        for (int round = 0; npending > 0 && ret == 0 &&
             round < MAILDIR_RACE_RETRIES; round++) {
                struct dotlock *lock;
                int used_new = 0, used_cur = 0;

                /* rescan the source outside dst's lock: they may be the
                 * same folder */
                if (round > 0 && maildir_box_refresh(src, 1, st) < 0) {
                        ret = -1;
                        break;
                }
                if (maildir_box_lock(dst, &lock, st) < 0) {
                        ret = -1;
                        break;
                }
                for (size_t i = 0; i < count && ret == 0; i++) {
                        if (!pending[i])
                                continue;
                        struct maildir_rec *rec = maildir_box_find(src, uids[i]);
                        if (rec == NULL) {
                                pending[i] = 0;
                                npending--;
                                continue;
                        }
                        uint64_t size;
                        int r = copy_one(src, rec, dst, move, &dst_uids_r[i],
                                         &size, &used_new, &used_cur, st);
                        if (r < 0) {
                                ret = -1;
                        } else if (r > 0) {
                                pending[i] = 0;
                                npending--;
                                copied++;
                                if (move)
                                        maildir_box_forget(src, uids[i]);
                                else
                                        bytes_added += size;
                        }
                }
                /* the new names must be on disk before their UIDs are */
                if (used_new)
                        fsync_sub(dst, "new");
                if (used_cur)
                        fsync_sub(dst, "cur");
                if (move && (used_new || used_cur)) {
                        fsync_sub(src, "new");
                        fsync_sub(src, "cur");
                }
                /* copies into a MAILDIR_BOX_RECENT handle are recent there */
                uint32_t top = 0;
                for (size_t i = 0; i < count; i++)
                        if (dst_uids_r[i] > top)
                                top = dst_uids_r[i];
                struct status cst;
                if (ret == 0 && top != 0 &&
                    maildir_modseq_claim_locked(dst, top, &cst) < 0)
                        log_warn("maildir: %s: \\Recent: %s", dst->path,
                                 cst.text);
                if (maildir_box_unlock(dst, &lock, 1, ret < 0 ? NULL : st) < 0)
                        ret = -1;
        }
        if (!move && copied > 0)
                maildir_quota_add(dst->md, (int64_t)bytes_added,
                                  (int64_t)copied);
        free(pending);
        if (ret == 0 && npending > 0)
                ret = status_set(st, STATUS_LOCAL_IO,
                                 "maildir: %s: messages keep moving", src->path);
        return ret < 0 ? -1 : (int)copied;
}
