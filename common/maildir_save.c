/* maildir_save.c - new messages: local delivery and IMAP APPEND
 * Used by: local (maildir_save_deliver: no uidlist lock, like Dovecot's LDA)
 * and the imap session (maildir_save_append: flags, keywords, internal date
 * and a UID for APPENDUID). The Maildir protocol: write tmp/<unique>, fsync,
 * rename into new/ (or cur/ with flags) without ever replacing a file,
 * fsync the directory. Messages are stored with LF line ends; the size
 * with CRLF is kept in the name as W=. Runs as the mailbox owner. Errors:
 * -1 + status (4.3.x disk trouble, 5.1.1 no such folder, 5.2.2 quota). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "maildir.h"
#include "maildir_private.h"
#include "mem.h"

#define SAVE_BUF_SIZE   65536

int maildir_save_begin(struct maildir *md, const char *folder,
                       struct maildir_save **sv_r, struct status *st)
{
        struct quota_usage u;
        struct stat sb;
        char *path, *base = NULL, *tmp = NULL;
        int fd = -1, q, dirs_failed = 0;

        *sv_r = NULL;
        path = maildir_folder_path(md, folder == NULL ? "INBOX" : folder, st);
        if (path == NULL)
                return -1;
        int inbox = strcmp(path, md->root) == 0;
        if (!inbox && stat(path, &sb) < 0) {
                if (errno == ENOENT)
                        status_set(st, STATUS_BAD_MAILBOX, "no such folder: %s",
                                   folder);
                else
                        status_set(st, STATUS_LOCAL_IO, "maildir: stat %s: %m",
                                   path);
                free(path);
                return -1;
        }
        q = maildir_quota_get(md, &u, st);
        if (q < 0 || (q > 0 && quota_check(&u, 0, 1, st) < 0)) {
                free(path);
                return -1;
        }
        for (int tries = 0; tries < 10 && fd < 0; tries++) {
                free(base);
                free(tmp);
                base = maildir_unique_base(md);
                tmp = xasprintf("%s/tmp/%s", path, base);
                fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
                          O_NOFOLLOW, 0600);
                if (fd < 0 && errno == ENOENT && tries == 0) {
                        /* first delivery: the Maildir is made now */
                        if (maildir_make_dirs(path, inbox, st) < 0) {
                                dirs_failed = 1;
                                break;
                        }
                } else if (fd < 0 && errno != EEXIST) {
                        break;
                }
        }
        if (fd < 0) {
                if (!dirs_failed)
                        status_set(st, maildir_status_errno(errno),
                                   "maildir: create %s: %m", tmp);
                free(path);
                free(base);
                free(tmp);
                return -1;
        }
        struct maildir_save *sv = xcalloc(1, sizeof(*sv));
        sv->md = md;
        sv->folder_path = path;
        sv->tmp_path = tmp;
        sv->base = base;
        sv->fd = fd;
        sv->out = xmalloc(SAVE_BUF_SIZE);
        *sv_r = sv;
        return 0;
}

static int flush_out(struct maildir_save *sv, struct status *st)
{
        size_t off = 0;

        while (off < sv->out_len) {
                ssize_t n = write(sv->fd, sv->out + off, sv->out_len - off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return status_set(st, maildir_status_errno(errno),
                                          "maildir: write %s: %m",
                                          sv->tmp_path);
                off += (size_t)n;
        }
        sv->out_len = 0;
        return 0;
}

static int put_byte(struct maildir_save *sv, char c, struct status *st)
{
        if (sv->out_len == SAVE_BUF_SIZE && flush_out(sv, st) < 0)
                return -1;
        sv->out[sv->out_len++] = c;
        sv->size++;
        /* on the wire every line ends in CRLF */
        sv->vsize += c == '\n' ? 2 : 1;
        return 0;
}

int maildir_save_write(struct maildir_save *sv, const void *data, size_t len,
                       struct status *st)
{
        const char *p = data;

        for (size_t i = 0; i < len; i++) {
                char c = p[i];
                if (sv->pending_cr) {
                        sv->pending_cr = 0;
                        if (c == '\n') {
                                if (put_byte(sv, '\n', st) < 0)
                                        return -1;
                                continue;
                        }
                        /* a lone CR stays as it is */
                        if (put_byte(sv, '\r', st) < 0)
                                return -1;
                }
                if (c == '\r') {
                        sv->pending_cr = 1;
                        continue;
                }
                if (put_byte(sv, c, st) < 0)
                        return -1;
        }
        return 0;
}

/* finish_file - flush, fsync, close */
static int finish_file(struct maildir_save *sv, struct status *st)
{
        if (sv->pending_cr) {
                sv->pending_cr = 0;
                if (put_byte(sv, '\r', st) < 0)
                        return -1;
        }
        if (flush_out(sv, st) < 0)
                return -1;
        if (fsync(sv->fd) < 0)
                return status_set(st, maildir_status_errno(errno),
                                  "maildir: fsync %s: %m", sv->tmp_path);
        if (close(sv->fd) < 0) {
                sv->fd = -1;
                return status_set(st, maildir_status_errno(errno),
                                  "maildir: close %s: %m", sv->tmp_path);
        }
        sv->fd = -1;
        return 0;
}

static void save_free(struct maildir_save **svp, int unlink_tmp)
{
        struct maildir_save *sv = *svp;

        if (sv->fd >= 0)
                close(sv->fd);
        if (unlink_tmp)
                unlink(sv->tmp_path);
        free(sv->folder_path);
        free(sv->tmp_path);
        free(sv->base);
        free(sv->out);
        free(sv);
        *svp = NULL;
}

void maildir_save_abort(struct maildir_save **svp)
{
        if (svp == NULL || *svp == NULL)
                return;
        save_free(svp, 1);
}

/* check_quota - the finished message against the quota */
static int check_quota(struct maildir_save *sv, struct status *st)
{
        struct quota_usage u;
        int q = maildir_quota_get(sv->md, &u, st);

        if (q < 0)
                return -1;
        return q > 0 ? quota_check(&u, sv->size, 1, st) : 0;
}

int maildir_save_deliver(struct maildir_save **svp, char **name_r,
                         struct status *st)
{
        struct maildir_save *sv = *svp;
        char *name, *dest, *dir;
        int ret = -1;

        if (name_r != NULL)
                *name_r = NULL;
        if (finish_file(sv, st) < 0 || check_quota(sv, st) < 0) {
                save_free(svp, 1);
                return -1;
        }
        name = xasprintf("%s,S=%llu,W=%llu", sv->base,
                         (unsigned long long)sv->size,
                         (unsigned long long)sv->vsize);
        dir = xasprintf("%s/new", sv->folder_path);
        dest = xasprintf("%s/%s", dir, name);
        if (maildir_rename_noreplace(sv->tmp_path, dest) < 0) {
                status_set(st, maildir_status_errno(errno),
                           "maildir: rename %s: %m", sv->tmp_path);
        } else if (maildir_fsync_dir(dir, st) == 0) {
                ret = 0;
                maildir_quota_add(sv->md, (int64_t)sv->size, 1);
        }
        free(dir);
        free(dest);
        if (ret == 0 && name_r != NULL)
                *name_r = name;
        else
                free(name);
        save_free(svp, ret < 0);
        return ret;
}

int maildir_save_append(struct maildir_save **svp, struct maildir_box *box,
                        uint32_t flags, const char *const *keywords,
                        size_t nkeywords, time_t date, uint32_t *uid_r,
                        struct status *st)
{
        struct maildir_save *sv = *svp;
        struct dotlock *lock;
        uint32_t kw = 0;
        int added = 0, ret = -1;

        *uid_r = 0;
        flags &= (1u << 26) - 1;
        if (strcmp(sv->folder_path, box->path) != 0) {
                status_set(st, STATUS_TEMP,
                           "maildir: append to %s begun for another folder",
                           box->name);
                save_free(svp, 1);
                return -1;
        }
        for (size_t i = 0; i < nkeywords; i++) {
                if (!keywords_name_valid(keywords[i])) {
                        status_set(st, STATUS_BAD_ARGS, "invalid keyword: %.64s",
                                   keywords[i]);
                        save_free(svp, 1);
                        return -1;
                }
        }
        /* the internal date is set after the rename, under the folder
         * lock: a back-dated file in tmp/ would look like debris to
         * another session's tmp/ clean-up, and no session can give the
         * new file a UID before the lock is released */
        if (finish_file(sv, st) < 0 || check_quota(sv, st) < 0) {
                save_free(svp, 1);
                return -1;
        }
        if (maildir_box_lock(box, &lock, st) < 0) {
                save_free(svp, 1);
                return -1;
        }
        if (maildir_box_keyword_letters(box, keywords, nkeywords, 1, &kw,
                                        &added, st) < 0)
                goto unlock;
        if (added) {
                if (keywords_write(box->kw, box->keywords_path, st) < 0)
                        goto unlock;
                if (stat(box->keywords_path, &box->kw_sb) == 0)
                        box->kw_known = 1;
        }
        char *base = xasprintf("%s,S=%llu,W=%llu", sv->base,
                               (unsigned long long)sv->size,
                               (unsigned long long)sv->vsize);
        int to_cur = flags != 0 || kw != 0;
        char *name = to_cur ? maildir_filename_set_flags(base, flags, kw) :
                              xstrdup(base);
        char *dir = xasprintf("%s/%s", box->path, to_cur ? "cur" : "new");
        char *dest = xasprintf("%s/%s", dir, name);
        struct timespec ts[2] = { { date, 0 }, { date, 0 } };
        if (maildir_rename_noreplace(sv->tmp_path, dest) < 0) {
                status_set(st, maildir_status_errno(errno),
                           "maildir: rename %s: %m", sv->tmp_path);
        } else if (date != 0 && utimensat(AT_FDCWD, dest, ts, 0) < 0) {
                status_set(st, STATUS_LOCAL_IO, "maildir: utimes %s: %m",
                           dest);
                (void)unlink(dest);
        } else if (maildir_fsync_dir(dir, st) == 0) {
                *uid_r = uidlist_add(box->ul, base, strlen(base), NULL);
                if (*uid_r == 0)
                        status_set(st, STATUS_LOCAL_IO,
                                   "maildir: %s: UIDs used up", box->path);
                else
                        ret = 0;
        }
        /* RFC 3501 2.3.2: recent for the session that appended it when
         * that session has the folder selected (a MAILDIR_BOX_RECENT
         * handle), before another can see it; saved either way */
        struct status cst;
        if (ret == 0 && maildir_modseq_claim_locked(box, *uid_r, &cst) < 0)
                log_warn("maildir: %s: \\Recent: %s", box->path, cst.text);
        free(base);
        free(name);
        free(dir);
        free(dest);
unlock:
        if (maildir_box_unlock(box, &lock, ret == 0, ret < 0 ? NULL : st) < 0)
                ret = -1;
        if (*uid_r != 0)
                maildir_quota_add(sv->md, (int64_t)sv->size, 1);
        save_free(svp, ret < 0);
        return ret;
}

int maildir_deliver(struct maildir *md, const char *folder, const void *data,
                    size_t len, char **name_r, struct status *st)
{
        struct maildir_save *sv;

        if (maildir_save_begin(md, folder, &sv, st) < 0)
                return -1;
        if (maildir_save_write(sv, data, len, st) < 0) {
                maildir_save_abort(&sv);
                return -1;
        }
        return maildir_save_deliver(&sv, name_r, st);
}
