/* quota.c - Maildir++ quota: the maildirsize file
 * Used by: maildir_save.c and maildir_msg.c (checked before delivery,
 * append and copy; updated after them and after expunge). Runs as the
 * mailbox owner. Errors: -1 + status 4.3.0; over quota is 5.2.2. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "dotlock.h"
#include "maildir.h"
#include "mem.h"
#include "quota.h"

/* parse_u64 - strict decimal; 0 or -1 */
static int parse_u64(const char *s, size_t len, uint64_t *v)
{
        uint64_t x = 0;

        if (len == 0)
                return -1;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                uint64_t d = (uint64_t)(s[i] - '0');
                if (x > (UINT64_MAX - d) / 10)
                        return -1;
                x = x * 10 + d;
        }
        *v = x;
        return 0;
}

/* parse_i64 - optional '-', then decimal within int64; 0 or -1 */
static int parse_i64(const char *s, size_t len, int64_t *v)
{
        uint64_t x;
        int neg = len > 0 && s[0] == '-';

        if (parse_u64(s + neg, len - (size_t)neg, &x) < 0 ||
            x > (uint64_t)INT64_MAX)
                return -1;
        *v = neg ? -(int64_t)x : (int64_t)x;
        return 0;
}

int quota_parse_limits(const char *line, size_t len, uint64_t *bytes_r,
                       uint64_t *count_r)
{
        const char *p = line, *end = line + len;

        *bytes_r = 0;
        *count_r = 0;
        if (len > 0 && line[len - 1] == ',')
                return -1;
        while (p < end) {
                const char *comma = memchr(p, ',', (size_t)(end - p));
                const char *tend = comma ? comma : end;
                uint64_t v;

                if (tend - p < 2 || parse_u64(p, (size_t)(tend - p - 1), &v) < 0)
                        return -1;
                if (tend[-1] == 'S')
                        *bytes_r = v;
                else if (tend[-1] == 'C')
                        *count_r = v;
                else
                        return -1;
                p = comma ? comma + 1 : end;
        }
        return 0;
}

int quota_parse(const char *data, size_t len, time_t age_secs,
                struct quota_usage *u_r)
{
        const char *p = data, *end = data + len;
        const char *nl = memchr(p, '\n', len);
        int64_t bytes = 0, count = 0;
        unsigned int lines = 0;

        memset(u_r, 0, sizeof(*u_r));
        if (nl == NULL ||
            quota_parse_limits(p, (size_t)(nl - p), &u_r->bytes_limit,
                               &u_r->count_limit) < 0) {
                u_r->bytes_limit = u_r->count_limit = 0;
                return 0;
        }
        if (len >= QUOTA_RECALC_SIZE)
                return 0;
        for (p = nl + 1; p < end; p = nl + 1) {
                nl = memchr(p, '\n', (size_t)(end - p));
                if (nl == NULL)
                        return 0;       /* a writer died mid-line */
                const char *sp = memchr(p, ' ', (size_t)(nl - p));
                int64_t b, c;
                if (sp == NULL || parse_i64(p, (size_t)(sp - p), &b) < 0) 
                        return 0;
                while (sp < nl && *sp == ' ')
                        sp++;
                if (parse_i64(sp, (size_t)(nl - sp), &c) < 0)
                        return 0;
                if ((b > 0 && bytes > INT64_MAX - b) ||
                    (b < 0 && bytes < INT64_MIN - b) ||
                    (c > 0 && count > INT64_MAX - c) ||
                    (c < 0 && count < INT64_MIN - c))
                        return 0;
                bytes += b;
                count += c;
                lines++;
        }
        if (lines == 0 || bytes < 0 || count < 0)
                return 0;
        u_r->bytes = bytes;
        u_r->count = count;
        if ((u_r->bytes_limit != 0 && (uint64_t)bytes > u_r->bytes_limit) ||
            (u_r->count_limit != 0 && (uint64_t)count > u_r->count_limit)) {
                /* over quota: believe it only from a fresh sum */
                if (lines > 1 || age_secs > QUOTA_STALE_SECS)
                        return 0;
        }
        return 1;
}

/* sum_dir - add up the messages in one new/ or cur/ directory */
static int sum_dir(const char *path, struct quota_usage *u, struct status *st)
{
        DIR *d = opendir(path);
        struct dirent *de;

        if (d == NULL) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0;
                return status_set(st, STATUS_LOCAL_IO, "quota: opendir %s: %m",
                                  path);
        }
        while ((de = readdir(d)) != NULL) {
                uint64_t size;

                if (de->d_name[0] == '.')
                        continue;
                if (maildir_filename_size(de->d_name, 'S', &size) != 1) {
                        struct stat sb;
                        char *f = xasprintf("%s/%s", path, de->d_name);
                        int r = lstat(f, &sb);
                        free(f);
                        if (r < 0)
                                continue;       /* expunged meanwhile */
                        size = (uint64_t)sb.st_size;
                }
                u->bytes += (int64_t)size;
                u->count++;
        }
        closedir(d);
        return 0;
}

static int sum_folder(const char *dir, struct quota_usage *u,
                      struct status *st)
{
        static const char *const subs[] = { "new", "cur" };

        for (size_t i = 0; i < 2; i++) {
                char *p = xasprintf("%s/%s", dir, subs[i]);
                int r = sum_dir(p, u, st);
                free(p);
                if (r < 0)
                        return -1;
        }
        return 0;
}

static int write_file(const char *root, const struct quota_usage *u,
                      struct status *st)
{
        char *tmp = xasprintf("%s/tmp/%s.%ld.%s", root, QUOTA_FILE,
                              (long)getpid(), dotlock_hostname());
        char *path = xasprintf("%s/%s", root, QUOTA_FILE);
        struct buf b;
        int fd, ret = -1;

        buf_init(&b, 0);
        if (u->bytes_limit != 0 || u->count_limit == 0)
                buf_printf(&b, "%" PRIu64 "S", u->bytes_limit);
        if (u->count_limit != 0)
                buf_printf(&b, "%s%" PRIu64 "C", b.len > 0 ? "," : "",
                           u->count_limit);
        buf_printf(&b, "\n%" PRId64 " %" PRId64 "\n", u->bytes, u->count);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                  0600);
        if (fd < 0) {
                status_set(st, errno == ENOSPC ? STATUS_NO_SPACE :
                           STATUS_LOCAL_IO, "quota: create %s: %m", tmp);
                goto out;
        }
        if (write(fd, b.data, b.len) != (ssize_t)b.len || fsync(fd) < 0) {
                status_set(st, errno == ENOSPC || errno == EDQUOT ?
                           STATUS_NO_SPACE : STATUS_LOCAL_IO,
                           "quota: write %s: %m", tmp);
                close(fd);
                unlink(tmp);
                goto out;
        }
        close(fd);
        if (rename(tmp, path) < 0) {
                status_set(st, STATUS_LOCAL_IO, "quota: rename %s: %m", tmp);
                unlink(tmp);
                goto out;
        }
        ret = 0;
out:
        buf_release(&b);
        free(tmp);
        free(path);
        return ret;
}

int quota_recalc(const char *root, uint64_t bytes_limit, uint64_t count_limit,
                 struct quota_usage *u_r, struct status *st)
{
        struct dirent *de;
        DIR *d;

        memset(u_r, 0, sizeof(*u_r));
        u_r->bytes_limit = bytes_limit;
        u_r->count_limit = count_limit;
        if (sum_folder(root, u_r, st) < 0)
                return -1;
        d = opendir(root);
        if (d == NULL)
                return status_set(st, STATUS_LOCAL_IO, "quota: opendir %s: %m",
                                  root);
        while ((de = readdir(d)) != NULL) {
                /* Maildir++ folders: ".Name"; "..X" is a folder being
                 * deleted */
                if (de->d_name[0] != '.' || de->d_name[1] == '\0' ||
                    de->d_name[1] == '.')
                        continue;
                char *dir = xasprintf("%s/%s", root, de->d_name);
                int r = sum_folder(dir, u_r, st);
                free(dir);
                if (r < 0) {
                        closedir(d);
                        return -1;
                }
        }
        closedir(d);
        return write_file(root, u_r, st);
}

int quota_get(const char *root, const uint64_t *limits,
              struct quota_usage *u_r, struct status *st)
{
        char *path = xasprintf("%s/%s", root, QUOTA_FILE);
        char data[QUOTA_RECALC_SIZE + 1];
        struct stat sb;
        size_t got = 0;
        int fd, ok = 0;

        memset(u_r, 0, sizeof(*u_r));
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 && errno != ENOENT) {
                status_set(st, STATUS_LOCAL_IO, "quota: open %s: %m", path);
                free(path);
                return -1;
        }
        if (fd >= 0) {
                if (fstat(fd, &sb) < 0)
                        sb.st_mtime = 0;
                for (;;) {
                        ssize_t n = read(fd, data + got, sizeof(data) - got);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0 || (got += (size_t)n) == sizeof(data))
                                break;
                }
                close(fd);
                ok = quota_parse(data, got, time(NULL) - sb.st_mtime, u_r);
        }
        free(path);
        if (limits == NULL) {
                if (fd < 0)
                        return 0;
                if (u_r->bytes_limit == 0 && u_r->count_limit == 0 && !ok)
                        return 0;       /* header unreadable: no limits */
        } else if (fd < 0 || u_r->bytes_limit != limits[0] ||
                   u_r->count_limit != limits[1]) {
                ok = 0;
                u_r->bytes_limit = limits[0];
                u_r->count_limit = limits[1];
        }
        if (!ok && quota_recalc(root, u_r->bytes_limit, u_r->count_limit, u_r,
                                st) < 0)
                return -1;
        return 1;
}

int quota_check(const struct quota_usage *u, uint64_t bytes, uint64_t count,
                struct status *st)
{
        uint64_t ub = u->bytes > 0 ? (uint64_t)u->bytes : 0;
        uint64_t uc = u->count > 0 ? (uint64_t)u->count : 0;

        if (u->bytes_limit != 0 && (bytes > u->bytes_limit ||
                                    ub > u->bytes_limit - bytes))
                return status_set(st, STATUS_OVER_QUOTA,
                                  "mailbox is full: %" PRIu64 " of %" PRIu64
                                  " bytes used", ub, u->bytes_limit);
        if (u->count_limit != 0 && (count > u->count_limit ||
                                    uc > u->count_limit - count))
                return status_set(st, STATUS_OVER_QUOTA,
                                  "mailbox is full: %" PRIu64 " of %" PRIu64
                                  " messages", uc, u->count_limit);
        return 0;
}

int quota_update(const char *root, int64_t bytes, int64_t count,
                 struct status *st)
{
        char *path = xasprintf("%s/%s", root, QUOTA_FILE);
        char line[64];
        int fd, n, ret = 0;

        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                if (errno != ENOENT)
                        ret = status_set(st, STATUS_LOCAL_IO,
                                         "quota: open %s: %m", path);
                free(path);
                return ret;
        }
        n = snprintf(line, sizeof(line), "%" PRId64 " %" PRId64 "\n", bytes,
                     count);
        if (write(fd, line, (size_t)n) != n)
                ret = status_set(st, errno == ENOSPC || errno == EDQUOT ?
                                 STATUS_NO_SPACE : STATUS_LOCAL_IO,
                                 "quota: write %s: %m", path);
        close(fd);
        free(path);
        return ret;
}
