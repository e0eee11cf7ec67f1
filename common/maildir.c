/* maildir.c - the Maildir handle, folder names and message file names
 * Used by: local (delivery), the imap and pop3 sessions, and the other
 * maildir_*.c modules. Owns the naming rules: folder names (UTF-8 in the
 * API, modified UTF-7 on disk), unique file names in Dovecot's form and the
 * ":2," info suffix. Runs as the mailbox owner, never root. Errors: -1 +
 * status (4.x.x disk trouble, 5.x.x bad name). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "maildir.h"
#include "maildir_private.h"
#include "mem.h"
#include "mutf7.h"

const char *maildir_status_errno(int err)
{
        return err == ENOSPC || err == EDQUOT ? STATUS_NO_SPACE :
               STATUS_LOCAL_IO;
}

/* mkdir_p - make path and missing parents, mode 0700 */
static int mkdir_p(const char *path, struct status *st)
{
        char *p = xstrdup(path);
        int ret = 0;

        for (char *s = p + 1; ; s++) {
                if (*s != '/' && *s != '\0')
                        continue;
                char c = *s;
                *s = '\0';
                if (mkdir(p, 0700) < 0 && errno != EEXIST) {
                        ret = status_set(st, maildir_status_errno(errno),
                                         "maildir: mkdir %s: %m", p);
                        break;
                }
                *s = c;
                if (c == '\0')
                        break;
        }
        free(p);
        return ret;
}

int maildir_make_dirs(const char *path, int parents, struct status *st)
{
        static const char *const subs[] = { "cur", "new", "tmp" };

        if (parents) {
                if (mkdir_p(path, st) < 0)
                        return -1;
        } else if (mkdir(path, 0700) < 0 && errno != EEXIST) {
                return status_set(st, maildir_status_errno(errno),
                                  "maildir: mkdir %s: %m", path);
        }
        for (size_t i = 0; i < 3; i++) {
                char *sub = xasprintf("%s/%s", path, subs[i]);
                int r = mkdir(sub, 0700);
                if (r < 0 && errno != EEXIST) {
                        status_set(st, maildir_status_errno(errno),
                                   "maildir: mkdir %s: %m", sub);
                        free(sub);
                        return -1;
                }
                free(sub);
        }
        return 0;
}

int maildir_fsync_dir(const char *path, struct status *st)
{
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return status_set(st, STATUS_LOCAL_IO, "maildir: open %s: %m",
                                  path);
        if (fsync(fd) < 0) {
                status_set(st, maildir_status_errno(errno),
                           "maildir: fsync %s: %m", path);
                close(fd);
                return -1;
        }
        close(fd);
        return 0;
}

int maildir_rename_noreplace(const char *from, const char *to)
{
        if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
                return 0;
        if (errno != EINVAL && errno != ENOSYS)
                return -1;
        /* the file system cannot do it: link + unlink never overwrites */
        if (link(from, to) < 0)
                return -1;
        if (unlink(from) < 0) {
                int saved = errno;
                unlink(to);
                errno = saved;
                return -1;
        }
        return 0;
}

int maildir_read_file(const char *path, size_t max, char **data_r,
                      size_t *len_r, struct stat *sb_r, struct status *st)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        size_t size, got = 0;
        char *data;

        *data_r = NULL;
        *len_r = 0;
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return status_set(st, STATUS_LOCAL_IO, "maildir: open %s: %m",
                                  path);
        }
        if (fstat(fd, sb_r) < 0) {
                status_set(st, STATUS_LOCAL_IO, "maildir: fstat %s: %m", path);
                close(fd);
                return -1;
        }
        if (sb_r->st_size < 0 || (uint64_t)sb_r->st_size > max) {
                *len_r = (size_t)sb_r->st_size;
                close(fd);
                return 1;
        }
        size = (size_t)sb_r->st_size;
        data = xmalloc(size + 1);
        while (got < size) {
                ssize_t n = read(fd, data + got, size - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        status_set(st, STATUS_LOCAL_IO, "maildir: read %s: %m",
                                   path);
                        free(data);
                        close(fd);
                        return -1;
                }
                if (n == 0)
                        break;  /* shrank meanwhile: what we have */
                got += (size_t)n;
        }
        close(fd);
        data[got] = '\0';
        *data_r = data;
        *len_r = got;
        return 1;
}

int maildir_copy_file(const char *from, const char *to, struct status *st)
{
        char buf[65536];
        struct stat sb;
        int in, out;

        in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (in < 0)
                return status_set(st, STATUS_LOCAL_IO, "maildir: open %s: %m",
                                  from);
        out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                   0600);
        if (out < 0) {
                status_set(st, maildir_status_errno(errno),
                           "maildir: create %s: %m", to);
                close(in);
                return -1;
        }
        for (;;) {
                ssize_t n = read(in, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        status_set(st, STATUS_LOCAL_IO, "maildir: read %s: %m",
                                   from);
                        goto fail;
                }
                if (n == 0)
                        break;
                for (ssize_t off = 0; off < n; ) {
                        ssize_t w = write(out, buf + off, (size_t)(n - off));
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0) {
                                status_set(st, maildir_status_errno(errno),
                                           "maildir: write %s: %m", to);
                                goto fail;
                        }
                        off += w;
                }
        }
        if (fstat(in, &sb) == 0) {
                struct timespec ts[2] = { sb.st_atim, sb.st_mtim };
                futimens(out, ts);
        }
        if (fsync(out) < 0) {
                status_set(st, maildir_status_errno(errno),
                           "maildir: fsync %s: %m", to);
                goto fail;
        }
        close(in);
        close(out);
        return 0;
fail:
        close(in);
        close(out);
        unlink(to);
        return -1;
}

/* escape_host - the host name with '/', ':' and ',' written in octal, so
 * that it cannot break the file name apart */
static char *escape_host(const char *host)
{
        struct buf b;

        buf_init(&b, 0);
        for (const char *p = host; *p != '\0'; p++) {
                if (*p == '/')
                        buf_puts(&b, "\\057");
                else if (*p == ':')
                        buf_puts(&b, "\\072");
                else if (*p == ',')
                        buf_puts(&b, "\\054");
                else
                        buf_putc(&b, *p);
        }
        return buf_steal(&b);
}

int maildir_open(const char *root, int flags, struct maildir **md_r,
                 struct status *st)
{
        struct stat sb;
        char host[256];

        *md_r = NULL;
        if (root == NULL || root[0] == '\0')
                return status_set(st, STATUS_CONFIG_TEMP,
                                  "maildir: empty Maildir path");
        if (flags & MAILDIR_CREATE) {
                if (maildir_make_dirs(root, 1, st) < 0)
                        return -1;
        } else if (stat(root, &sb) < 0) {
                if (errno == ENOENT)
                        return status_set(st, STATUS_BAD_MAILBOX,
                                          "maildir: %s does not exist", root);
                return status_set(st, STATUS_LOCAL_IO, "maildir: stat %s: %m",
                                  root);
        } else if (!S_ISDIR(sb.st_mode)) {
                return status_set(st, STATUS_LOCAL_IO,
                                  "maildir: %s is not a directory", root);
        }
        struct maildir *md = xcalloc(1, sizeof(*md));
        md->root = xstrdup(root);
        size_t len = strlen(md->root);
        while (len > 1 && md->root[len - 1] == '/')
                md->root[--len] = '\0';
        if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
                snprintf(host, sizeof(host), "localhost");
        host[sizeof(host) - 1] = '\0';
        md->host = escape_host(host);
        md->quota_mode = MAILDIR_QUOTA_FILE;
        *md_r = md;
        return 0;
}

void maildir_close(struct maildir **mdp)
{
        if (mdp == NULL || *mdp == NULL)
                return;
        free((*mdp)->root);
        free((*mdp)->host);
        free(*mdp);
        *mdp = NULL;
}

const char *maildir_root(const struct maildir *md)
{
        return md->root;
}

void maildir_set_quota(struct maildir *md, uint64_t bytes, uint64_t count)
{
        md->quota_limits[0] = bytes;
        md->quota_limits[1] = count;
        md->quota_mode = bytes == 0 && count == 0 ? MAILDIR_QUOTA_OFF :
                         MAILDIR_QUOTA_SET;
}

int maildir_quota_get(struct maildir *md, struct quota_usage *u_r,
                      struct status *st)
{
        memset(u_r, 0, sizeof(*u_r));
        if (md->quota_mode == MAILDIR_QUOTA_OFF)
                return 0;
        return quota_get(md->root, md->quota_mode == MAILDIR_QUOTA_SET ?
                         md->quota_limits : NULL, u_r, st);
}

int maildir_quota(struct maildir *md, struct quota_usage *u_r,
                  struct status *st)
{
        return maildir_quota_get(md, u_r, st);
}

void maildir_quota_add(struct maildir *md, int64_t bytes, int64_t count)
{
        struct status st;

        if (md->quota_mode == MAILDIR_QUOTA_OFF)
                return;
        if (quota_update(md->root, bytes, count, &st) < 0)
                log_warn("%s", st.text);
}

char *maildir_name_normalize(const char *name, struct status *st)
{
        size_t len = strlen(name);

        if (len == 0)
                return status_set(st, STATUS_BAD_ARGS,
                                  "empty folder name"), NULL;
        if (len > MAILDIR_NAME_MAX)
                return status_set(st, STATUS_BAD_ARGS,
                                  "folder name too long"), NULL;
        if (!mutf7_utf8_valid(name, len))
                return status_set(st, STATUS_BAD_ARGS,
                                  "folder name is not valid UTF-8"), NULL;
        for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
                if (*p < 0x20 || *p == 0x7f)
                        return status_set(st, STATUS_BAD_ARGS,
                                          "control character in folder name"),
                               NULL;
                if (*p == '/' || *p == '%' || *p == '*')
                        return status_set(st, STATUS_BAD_ARGS,
                                          "character '%c' not allowed in folder name",
                                          *p), NULL;
                if (*p == MAILDIR_SEP &&
                    (p == (const unsigned char *)name || p[1] == '\0' ||
                     p[1] == MAILDIR_SEP))
                        return status_set(st, STATUS_BAD_ARGS,
                                          "empty level in folder name"), NULL;
        }
        char *norm = xstrdup(name);
        if (strncasecmp(norm, "INBOX", 5) == 0 &&
            (norm[5] == '\0' || norm[5] == MAILDIR_SEP))
                memcpy(norm, "INBOX", 5);
        return norm;
}

char *maildir_name_to_dir(const char *name, struct status *st)
{
        char *norm = maildir_name_normalize(name, st);
        struct buf b;

        if (norm == NULL)
                return NULL;
        if (strcmp(norm, "INBOX") == 0) {
                free(norm);
                return xstrdup("");
        }
        buf_init(&b, 0);
        buf_putc(&b, '.');
        if (mutf7_encode(norm, &b) < 0) {
                buf_release(&b);
                free(norm);
                status_set(st, STATUS_BAD_ARGS, "folder name is not valid UTF-8");
                return NULL;
        }
        free(norm);
        /* each level is one path component's worth at most */
        for (const char *s = b.data + 1; *s; ) {
                size_t n = strcspn(s, ".");
                if (n > 200) {
                        buf_release(&b);
                        status_set(st, STATUS_BAD_ARGS,
                                   "folder name level too long");
                        return NULL;
                }
                s += n;
                if (*s)
                        s++;
        }
        return buf_steal(&b);
}

char *maildir_dir_to_name(const char *dirent)
{
        struct buf b;
        struct status st;

        /* ".." entries are Dovecot's and our trash for folders being
         * deleted */
        if (dirent[0] != '.' || dirent[1] == '\0' || dirent[1] == '.')
                return NULL;
        buf_init(&b, 0);
        if (mutf7_decode(dirent + 1, &b) < 0) {
                buf_release(&b);
                return NULL;
        }
        char *norm = maildir_name_normalize(buf_cstr(&b), &st);
        buf_release(&b);
        return norm;
}

char *maildir_folder_path(struct maildir *md, const char *name,
                          struct status *st)
{
        char *dir = maildir_name_to_dir(name == NULL ? "INBOX" : name, st);
        char *path;

        if (dir == NULL)
                return NULL;
        path = dir[0] == '\0' ? xstrdup(md->root) :
               xasprintf("%s/%s", md->root, dir);
        free(dir);
        return path;
}

int maildir_filename_size(const char *fname, char key, uint64_t *size_r)
{
        for (const char *p = fname; *p != '\0' && *p != ':'; p++) {
                if (p[0] != ',' || p[1] != key || p[2] != '=')
                        continue;
                const char *q = p + 3;
                uint64_t v = 0;
                if (*q < '0' || *q > '9')
                        continue;
                for (; *q >= '0' && *q <= '9'; q++) {
                        uint64_t d = (uint64_t)(*q - '0');
                        if (v > (UINT64_MAX - d) / 10)
                                return 0;
                        v = v * 10 + d;
                }
                if (*q != '\0' && *q != ':' && *q != ',')
                        continue;
                *size_r = v;
                return 1;
        }
        return 0;
}

size_t maildir_filename_base_len(const char *fname)
{
        return (size_t)(strchrnul(fname, ':') - fname);
}

void maildir_filename_flags(const char *fname, uint32_t *flags_r,
                            uint32_t *keywords_r)
{
        /* the info starts at the first colon, as Dovecot reads it */
        const char *info = strchr(fname, ':');

        *flags_r = 0;
        *keywords_r = 0;
        if (info == NULL || info[1] != '2' || info[2] != ',')
                return;
        for (const char *p = info + 3; *p != '\0' && *p != ','; p++) {
                if (*p >= 'A' && *p <= 'Z')
                        *flags_r |= MAILDIR_FLAG(*p);
                else if (*p >= 'a' && *p <= 'z')
                        *keywords_r |= 1u << (*p - 'a');
        }
}

char *maildir_filename_set_flags(const char *fname, uint32_t flags,
                                 uint32_t keywords)
{
        size_t base = maildir_filename_base_len(fname);
        struct buf b;

        buf_init(&b, 0);
        buf_append(&b, fname, base);
        buf_puts(&b, ":2,");
        for (int i = 0; i < 26; i++) {
                if (flags & (1u << i))
                        buf_putc(&b, 'A' + i);
        }
        for (int i = 0; i < 26; i++) {
                if (keywords & (1u << i))
                        buf_putc(&b, 'a' + i);
        }
        return buf_steal(&b);
}

char *maildir_filename_format(time_t secs, long usecs, long pid,
                              unsigned long q, const char *host,
                              uint64_t size, uint64_t vsize)
{
        char *h = escape_host(host);
        char *s;

        if (size == UINT64_MAX)
                s = xasprintf("%lld.M%ldP%ldQ%lu.%s", (long long)secs, usecs,
                              pid, q, h);
        else
                s = xasprintf("%lld.M%ldP%ldQ%lu.%s,S=%llu,W=%llu",
                              (long long)secs, usecs, pid, q, h,
                              (unsigned long long)size,
                              (unsigned long long)vsize);
        free(h);
        return s;
}

char *maildir_unique_base(struct maildir *md)
{
        struct timeval tv;

        gettimeofday(&tv, NULL);
        /* time never runs backwards within one process's names */
        if (timercmp(&tv, &md->last_tv, <))
                tv = md->last_tv;
        md->last_tv = tv;
        md->deliveries++;
        /* host is escaped already; format escapes nothing twice since the
         * escaped form holds no '/', ':' or ',' */
        return maildir_filename_format(tv.tv_sec, (long)tv.tv_usec,
                                       (long)getpid(), md->deliveries,
                                       md->host, UINT64_MAX, 0);
}

size_t maildir_msg_header_end(const char *data, size_t len)
{
        size_t i = 0;

        /* an empty header: the message starts with the blank line */
        if (len >= 1 && data[0] == '\n')
                return 1;
        if (len >= 2 && data[0] == '\r' && data[1] == '\n')
                return 2;
        while (i < len) {
                const char *nl = memchr(data + i, '\n', len - i);
                if (nl == NULL)
                        return len;
                i = (size_t)(nl - data) + 1;
                if (i < len && data[i] == '\n')
                        return i + 1;
                if (i + 1 < len && data[i] == '\r' && data[i + 1] == '\n')
                        return i + 2;
        }
        return len;
}
