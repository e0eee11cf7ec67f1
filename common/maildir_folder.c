/* maildir_folder.c - Maildir++ folders: create, delete, rename, list
 * Used by: the imap session (CREATE, DELETE, RENAME, LIST) and local
 * (creating a folder named by a filter). Folder "A.B" lives in
 * the root entry ".A.B" (modified UTF-7); a folder has a maildirfolder file
 * and cur/ new/ tmp/. Deleting a folder renames it to "..DOVECOT-TRASH"
 * first, as Dovecot does, so that a crash never leaves half a folder that
 * lists; children stay. Runs as the mailbox owner. Errors: -1 + status
 * (4.x.x disk trouble, 5.x.x bad or missing names). */
#include <dirent.h>
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

#define FOLDER_TRASH            "..DOVECOT-TRASH"

int maildir_folder_exists(struct maildir *md, const char *name,
                          struct status *st)
{
        char *path = maildir_folder_path(md, name, st);
        struct stat sb;
        int r;

        if (path == NULL)
                return -1;
        r = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
        free(path);
        return r;
}

int maildir_folder_create(struct maildir *md, const char *name,
                          struct status *st)
{
        char *path = maildir_folder_path(md, name, st);
        int ret = 1;

        if (path == NULL)
                return -1;
        if (strcmp(path, md->root) == 0) {
                free(path);
                return 0;       /* INBOX always exists */
        }
        if (mkdir(path, 0700) < 0) {
                if (errno == EEXIST) {
                        ret = 0;
                } else if (errno == ENAMETOOLONG) {
                        ret = status_set(st, STATUS_BAD_ARGS,
                                         "folder name too long");
                } else {
                        ret = status_set(st, maildir_status_errno(errno),
                                         "maildir: mkdir %s: %m", path);
                }
                free(path);
                return ret;
        }
        if (maildir_make_dirs(path, 0, st) < 0) {
                free(path);
                return -1;
        }
        char *mf = xasprintf("%s/maildirfolder", path);
        int fd = open(mf, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                ret = status_set(st, maildir_status_errno(errno),
                                 "maildir: create %s: %m", mf);
        else
                close(fd);
        free(mf);
        free(path);
        if (ret > 0 && maildir_fsync_dir(md->root, st) < 0)
                return -1;
        return ret;
}

/* remove_tree - delete a directory tree; counts message bytes and files
 * in new/ and cur/ for the quota */
static int remove_tree(const char *path, int depth, int64_t *bytes,
                       int64_t *count, struct status *st)
{
        DIR *d = opendir(path);
        struct dirent *de;
        int ret = 0;

        if (d == NULL) {
                if (errno == ENOENT)
                        return 0;
                return status_set(st, STATUS_LOCAL_IO, "maildir: opendir %s: %m",
                                  path);
        }
        const char *base = strrchr(path, '/');
        int msgdir = depth == 1 && base != NULL &&
                     (strcmp(base, "/new") == 0 || strcmp(base, "/cur") == 0);
        while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                char *p = xasprintf("%s/%s", path, de->d_name);
                struct stat sb;
                if (lstat(p, &sb) < 0) {
                        free(p);
                        continue;
                }
                if (S_ISDIR(sb.st_mode)) {
                        if (depth < 4 && remove_tree(p, depth + 1, bytes, count,
                                                     st) < 0)
                                ret = -1;
                } else {
                        if (msgdir && de->d_name[0] != '.') {
                                uint64_t size;
                                if (maildir_filename_size(de->d_name, 'S',
                                                          &size) != 1)
                                        size = (uint64_t)sb.st_size;
                                *bytes += (int64_t)size;
                                (*count)++;
                        }
                        if (unlink(p) < 0 && errno != ENOENT)
                                ret = status_set(st, STATUS_LOCAL_IO,
                                                 "maildir: unlink %s: %m", p);
                }
                free(p);
        }
        closedir(d);
        if (rmdir(path) < 0 && errno != ENOENT)
                ret = status_set(st, STATUS_LOCAL_IO, "maildir: rmdir %s: %m",
                                 path);
        return ret;
}

int maildir_folder_delete(struct maildir *md, const char *name,
                          struct status *st)
{
        char *path = maildir_folder_path(md, name, st);
        char *trash;
        int64_t bytes = 0, count = 0;
        int ret = 1;

        if (path == NULL)
                return -1;
        if (strcmp(path, md->root) == 0) {
                free(path);
                return status_set(st, STATUS_PERM, "INBOX cannot be deleted");
        }
        trash = xasprintf("%s/%s", md->root, FOLDER_TRASH);
        for (int tries = 0; ; tries++) {
                if (rename(path, trash) == 0)
                        break;
                if (errno == ENOENT) {
                        ret = 0;
                        break;
                }
                if ((errno == EEXIST || errno == ENOTEMPTY) && tries < 3) {
                        /* a leftover of an earlier delete */
                        int64_t b = 0, c = 0;
                        if (remove_tree(trash, 0, &b, &c, st) < 0) {
                                ret = -1;
                                break;
                        }
                        continue;
                }
                ret = status_set(st, STATUS_LOCAL_IO, "maildir: rename %s: %m",
                                 path);
                break;
        }
        if (ret > 0) {
                if (remove_tree(trash, 0, &bytes, &count, st) < 0)
                        log_warn("maildir: %s", st->text);
                if (count > 0)
                        maildir_quota_add(md, -bytes, -count);
        }
        free(trash);
        free(path);
        return ret;
}

int maildir_folder_rename(struct maildir *md, const char *oldname,
                          const char *newname, struct status *st)
{
        char *oldn = maildir_name_normalize(oldname, st), *newn = NULL;
        char *olddir = NULL, *newdir = NULL;
        char **children = NULL;
        size_t nchildren = 0;
        int ret = -1, found = 0;

        if (oldn == NULL || (newn = maildir_name_normalize(newname, st)) == NULL)
                goto out;
        if (strcmp(oldn, "INBOX") == 0) {
                status_set(st, STATUS_PERM, "renaming INBOX is not supported");
                goto out;
        }
        if (strcmp(newn, "INBOX") == 0) {
                status_set(st, STATUS_BAD_MAILBOX, "folder INBOX exists");
                goto out;
        }
        if ((olddir = maildir_name_to_dir(oldn, st)) == NULL ||
            (newdir = maildir_name_to_dir(newn, st)) == NULL)
                goto out;
        if (strcmp(olddir, newdir) == 0) {
                status_set(st, STATUS_BAD_MAILBOX, "folder %s exists", newn);
                goto out;
        }

        /* the children, listed before anything moves */
        size_t oldlen = strlen(olddir);
        DIR *d = opendir(md->root);
        struct dirent *de;
        if (d == NULL) {
                status_set(st, STATUS_LOCAL_IO, "maildir: opendir %s: %m",
                           md->root);
                goto out;
        }
        size_t alloc = 0;
        while ((de = readdir(d)) != NULL) {
                if (strncmp(de->d_name, olddir, oldlen) != 0 ||
                    de->d_name[oldlen] != MAILDIR_SEP)
                        continue;
                if (nchildren == alloc) {
                        alloc = alloc ? alloc * 2 : 8;
                        children = xrealloc(children, alloc * sizeof(*children));
                }
                children[nchildren++] = xstrdup(de->d_name + oldlen);
        }
        closedir(d);

        char *from = xasprintf("%s/%s", md->root, olddir);
        char *to = xasprintf("%s/%s", md->root, newdir);
        if (maildir_rename_noreplace(from, to) == 0) {
                found = 1;
        } else if (errno == EEXIST || errno == ENOTEMPTY) {
                status_set(st, STATUS_BAD_MAILBOX, "folder %s exists", newn);
                free(from);
                free(to);
                goto out;
        } else if (errno != ENOENT) {
                status_set(st, STATUS_LOCAL_IO, "maildir: rename %s: %m", from);
                free(from);
                free(to);
                goto out;
        }
        free(from);
        free(to);
        for (size_t i = 0; i < nchildren; i++) {
                char *cnew = xasprintf("%s%s", newdir, children[i]);
                /* RENAME a a.b: "a.b" was a child and is the target now */
                char *cold = xasprintf("%s%s", olddir, children[i]);
                if (strcmp(cold, newdir) != 0) {
                        char *f = xasprintf("%s/%s", md->root, cold);
                        char *t = xasprintf("%s/%s", md->root, cnew);
                        if (maildir_rename_noreplace(f, t) == 0)
                                found = 1;
                        else if (errno != EEXIST && errno != ENOTEMPTY &&
                                 errno != ENOENT)
                                log_warn("maildir: rename %s: %m", f);
                        free(f);
                        free(t);
                }
                free(cold);
                free(cnew);
        }
        ret = found;
        if (found && maildir_fsync_dir(md->root, st) < 0)
                ret = -1;
out:
        for (size_t i = 0; i < nchildren; i++)
                free(children[i]);
        free(children);
        free(oldn);
        free(newn);
        free(olddir);
        free(newdir);
        return ret;
}

static int folder_cmp(const void *a, const void *b)
{
        const struct maildir_folder *fa = a, *fb = b;

        if (strcmp(fa->name, "INBOX") == 0)
                return strcmp(fb->name, "INBOX") == 0 ? 0 : -1;
        if (strcmp(fb->name, "INBOX") == 0)
                return 1;
        return strcmp(fa->name, fb->name);
}

static void add_folder(struct maildir_folder **list, size_t *n, size_t *alloc,
                       char *name, unsigned int flags)
{
        if (*n == *alloc) {
                *alloc = *alloc ? *alloc * 2 : 16;
                *list = xrealloc(*list, *alloc * sizeof(**list));
        }
        (*list)[*n].name = name;
        (*list)[*n].flags = flags;
        (*n)++;
}

int maildir_folder_list(struct maildir *md, struct maildir_folder **list_r,
                        size_t *count_r, struct status *st)
{
        struct maildir_folder *list = NULL;
        size_t n = 0, alloc = 0;
        struct dirent *de;
        DIR *d;

        *list_r = NULL;
        *count_r = 0;
        d = opendir(md->root);
        if (d == NULL)
                return status_set(st, STATUS_LOCAL_IO, "maildir: opendir %s: %m",
                                  md->root);
        add_folder(&list, &n, &alloc, xstrdup("INBOX"), 0);
        while ((de = readdir(d)) != NULL) {
                char *name = maildir_dir_to_name(de->d_name);
                if (name == NULL)
                        continue;
                if (strcmp(name, "INBOX") == 0) {
                        free(name);
                        continue;
                }
                if (de->d_type != DT_DIR) {
                        struct stat sb;
                        char *p = xasprintf("%s/%s", md->root, de->d_name);
                        int isdir = stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
                        free(p);
                        if (!isdir) {
                                free(name);
                                continue;
                        }
                }
                add_folder(&list, &n, &alloc, name, 0);
        }
        closedir(d);
        qsort(list, n, sizeof(*list), folder_cmp);

        /* parents that exist only as a prefix of others */
        size_t real = n;
        for (size_t i = 0; i < real; i++) {
                char *p = list[i].name;
                for (char *dot = strchr(p, MAILDIR_SEP); dot != NULL;
                     dot = strchr(dot + 1, MAILDIR_SEP)) {
                        char *parent = xstrndup(p, (size_t)(dot - p));
                        int have = 0;
                        for (size_t k = 0; k < n && !have; k++)
                                have = strcmp(list[k].name, parent) == 0;
                        if (have)
                                free(parent);
                        else
                                add_folder(&list, &n, &alloc, parent,
                                           MAILDIR_LIST_NONEXISTENT);
                        p = list[i].name;
                }
        }
        qsort(list, n, sizeof(*list), folder_cmp);
        for (size_t i = 0; i < n; i++) {
                size_t len = strlen(list[i].name);
                for (size_t k = 0; k < n; k++) {
                        if (strncmp(list[k].name, list[i].name, len) == 0 &&
                            list[k].name[len] == MAILDIR_SEP) {
                                list[i].flags |= MAILDIR_LIST_CHILDREN;
                                break;
                        }
                }
        }
        char **subs;
        size_t nsubs;
        if (maildir_subscriptions(md, &subs, &nsubs, st) < 0) {
                maildir_folder_list_free(&list, n);
                return -1;
        }
        for (size_t i = 0; i < nsubs; i++) {
                for (size_t k = 0; k < n; k++) {
                        if (strcmp(list[k].name, subs[i]) == 0)
                                list[k].flags |= MAILDIR_LIST_SUBSCRIBED;
                }
        }
        maildir_subscriptions_free(&subs, nsubs);
        *list_r = list;
        *count_r = n;
        return 0;
}

void maildir_folder_list_free(struct maildir_folder **listp, size_t count)
{
        if (listp == NULL || *listp == NULL)
                return;
        for (size_t i = 0; i < count; i++)
                free((*listp)[i].name);
        free(*listp);
        *listp = NULL;
}
