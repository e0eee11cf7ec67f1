/* keywords.c - Dovecot's dovecot-keywords file: IMAP keywords of a folder
 * Used by: maildir_box.c (reading, when the file's stat changes; adding
 * names under the uidlist lock for maildir_msg.c and maildir_save.c). Runs
 * as the mailbox owner. Errors: -1 + status 4.3.0 (4.3.1 when the disk is full). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "dotlock.h"
#include "keywords.h"
#include "mem.h"

/* the lock is only contended when the uidlist lock was broken */
#define KEYWORDS_LOCK_TIMEOUT   10
#define KEYWORDS_LOCK_STALE     120
#define KEYWORDS_FILE_MAX       (64 * 1024)

struct keywords *keywords_new(void)
{
        return xcalloc(1, sizeof(struct keywords));
}

static void keywords_clear(struct keywords *kw)
{
        for (int i = 0; i < KEYWORDS_MAX; i++)
                xfree(&kw->names[i]);
}

void keywords_free(struct keywords **kwp)
{
        if (kwp == NULL || *kwp == NULL)
                return;
        keywords_clear(*kwp);
        free(*kwp);
        *kwp = NULL;
}

int keywords_parse(struct keywords *kw, const char *data, size_t len)
{
        const char *p = data, *end = data + len;
        int bad = 0;

        keywords_clear(kw);
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *line = p, *lend = nl ? nl : end;
                p = nl ? nl + 1 : end;
                if (lend > line && lend[-1] == '\r')
                        lend--;
                if (lend == line)
                        continue;
                const char *sp = memchr(line, ' ', (size_t)(lend - line));
                unsigned int idx = 0;
                const char *q = line;
                int ok = sp != NULL && sp > line && sp - line <= 2;
                for (; ok && q < sp; q++) {
                        if (*q < '0' || *q > '9')
                                ok = 0;
                        else
                                idx = idx * 10 + (unsigned int)(*q - '0');
                }
                size_t nlen = ok ? (size_t)(lend - sp - 1) : 0;
                if (!ok || idx >= KEYWORDS_MAX || nlen == 0 ||
                    memchr(sp + 1, '\0', nlen) != NULL) {
                        bad++;
                        continue;
                }
                char *name = xstrndup(sp + 1, nlen);
                if (keywords_index(kw, name) >= 0 || kw->names[idx] != NULL) {
                        free(name);
                        bad++;
                        continue;
                }
                kw->names[idx] = name;
        }
        return bad;
}

int keywords_read(const char *path, struct keywords **kw_r, struct stat *sb_r,
                  struct status *st)
{
        char data[KEYWORDS_FILE_MAX];
        struct stat sb;
        size_t got = 0;
        int fd;

        *kw_r = NULL;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                if (errno != ENOENT)
                        return status_set(st, STATUS_LOCAL_IO,
                                          "keywords: open %s: %m", path);
                *kw_r = keywords_new();
                return 0;
        }
        if (fstat(fd, &sb) < 0) {
                status_set(st, STATUS_LOCAL_IO, "keywords: fstat %s: %m", path);
                close(fd);
                return -1;
        }
        if (sb_r != NULL)
                *sb_r = sb;
        for (;;) {
                ssize_t n = read(fd, data + got, sizeof(data) - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        status_set(st, STATUS_LOCAL_IO, "keywords: read %s: %m",
                                   path);
                        close(fd);
                        return -1;
                }
                if (n == 0 || (got += (size_t)n) == sizeof(data))
                        break;
        }
        close(fd);
        *kw_r = keywords_new();
        keywords_parse(*kw_r, data, got);
        return 1;
}

int keywords_index(const struct keywords *kw, const char *name)
{
        for (int i = 0; i < KEYWORDS_MAX; i++) {
                if (kw->names[i] != NULL && strcmp(kw->names[i], name) == 0)
                        return i;
        }
        return -1;
}

const char *keywords_name(const struct keywords *kw, unsigned int idx)
{
        return idx < KEYWORDS_MAX ? kw->names[idx] : NULL;
}

int keywords_add(struct keywords *kw, const char *name)
{
        int i = keywords_index(kw, name);

        if (i >= 0)
                return i;
        for (i = 0; i < KEYWORDS_MAX; i++) {
                if (kw->names[i] == NULL) {
                        kw->names[i] = xstrdup(name);
                        return i;
                }
        }
        return -1;
}

int keywords_name_valid(const char *name)
{
        size_t len = strlen(name);

        if (len == 0 || len > KEYWORDS_NAME_MAX || name[0] == '\\')
                return 0;
        for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
                /* RFC 3501 atom-specials, and no 8-bit */
                if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\]", *p))
                        return 0;
        }
        return 1;
}

char *keywords_format(const struct keywords *kw, size_t *len_r)
{
        struct buf b;

        buf_init(&b, 0);
        for (int i = 0; i < KEYWORDS_MAX; i++) {
                if (kw->names[i] != NULL)
                        buf_printf(&b, "%d %s\n", i, kw->names[i]);
        }
        *len_r = b.len;
        return buf_steal(&b);
}

int keywords_write(const struct keywords *kw, const char *path,
                   struct status *st)
{
        struct dotlock *lock;
        struct stat old;
        size_t len, off = 0;
        char *data;
        int have_old = stat(path, &old) == 0;

        /* we hold the uidlist lock, so a keywords lock is a leftover */
        char *lock_path = xasprintf("%s.lock", path);
        unlink(lock_path);
        free(lock_path);
        if (dotlock_create(path, KEYWORDS_LOCK_TIMEOUT, KEYWORDS_LOCK_STALE,
                           DOTLOCK_REPLACE, &lock, st) < 0)
                return -1;
        data = keywords_format(kw, &len);
        int fd = dotlock_fd(lock);
        while (off < len) {
                ssize_t n = write(fd, data + off, len - off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        status_set(st, errno == ENOSPC || errno == EDQUOT ?
                                   STATUS_NO_SPACE : STATUS_LOCAL_IO,
                                   "keywords: write %s: %m",
                                   dotlock_path(lock));
                        free(data);
                        dotlock_release(&lock, NULL);
                        return -1;
                }
                off += (size_t)n;
        }
        free(data);
        if (have_old && time(NULL) <= old.st_mtime) {
                struct timespec ts[2];
                ts[0].tv_sec = ts[1].tv_sec = old.st_mtime + 1;
                ts[0].tv_nsec = ts[1].tv_nsec = 0;
                if (futimens(fd, ts) < 0) {
                        status_set(st, STATUS_LOCAL_IO, "keywords: utime %s: %m",
                                   dotlock_path(lock));
                        dotlock_release(&lock, NULL);
                        return -1;
                }
        }
        return dotlock_replace(&lock, st);
}
