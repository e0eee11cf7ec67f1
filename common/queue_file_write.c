/* queue_file_write.c - writing a new message into the queue
 * Used by: smtpd (one writer per transaction; commit runs on its worker
 * threads), maildrop pickup, dsn (bounces), local (nothing yet). Runs as
 * mail_owner or the instance's user. The envelope is kept in memory until
 * the first content bytes, then written with the content streamed behind
 * it; commit fills in the content length, appends the end record with the
 * checksum, fsyncs, renames tmp/FILE to incoming/ID and fsyncs incoming/.
 * Nothing here logs or touches shared state except the ID clock (under a
 * mutex), so commit may run on any thread. The format: queue_file.c. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"
#include "mem.h"
#include "queue_file.h"
#include "queue_file_int.h"

#define WRITER_BUF_SIZE (64 * 1024)
/* Spare files: a delivered message's file is kept in tmp/ as "spare.N"
 * (N below QUEUE_SPARES) for a later writer to take instead of creating
 * one; the writer writes over it from the start and cuts what is left of
 * the old text. Making and removing a file costs the file system an inode
 * allocation and release each time (on ext4 without a journal an
 * allocation also steps over every inode released in the last minute),
 * and emptying it a release of its blocks; renames and overwriting do
 * not. The slots are a ring: qmgr puts at its cursor, writers
 * take at theirs, and a writer's cursor moves only when it took a file,
 * so the two meet again after either restarts. */
#define QUEUE_SPARES    64
#define SPARE_TRIES     4

struct queue_writer {
        char *queue_dir;
        char *tmp_path;
        int fd;
        off_t spare_size;       /* a spare's old length: cut at commit */
        char id[QUEUE_ID_MAX];
        time_t sec;             /* arrival, from the ID clock */
        long usec;
        char *sender;
        char **attr_names, **attr_values;
        size_t nattr;
        struct buf rcpts;       /* O and R records */
        size_t nrcpt;
        struct buf head;        /* the records before the content */
        int started;            /* head written */
        int failed;
        int committed;
        struct buf out;         /* content not yet written */
        long long size;
        uLong crc;              /* of the content */
};

static pthread_mutex_t clock_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t clock_sec;
static long clock_usec;
static unsigned long tmp_counter;
static unsigned int spare_take_next, spare_put_next;     /* under clock_lock */

static unsigned int cursor_get(const unsigned int *cursor)
{
        pthread_mutex_lock(&clock_lock);
        unsigned int c = *cursor;
        pthread_mutex_unlock(&clock_lock);
        return c;
}

static void cursor_set(unsigned int *cursor, unsigned int c)
{
        pthread_mutex_lock(&clock_lock);
        *cursor = c % QUEUE_SPARES;
        pthread_mutex_unlock(&clock_lock);
}

static char *spare_path(const char *queue_dir, unsigned int slot)
{
        return xasprintf("%s/%s/spare.%u", queue_dir, QUEUE_TMP,
                         slot % QUEUE_SPARES);
}

/* spare_take - a spare file renamed to tmp_path and opened emptied, or -1
 * (none found: the caller creates one) */
static int spare_take(const char *queue_dir, const char *tmp_path)
{
        unsigned int c = cursor_get(&spare_take_next);

        for (unsigned int i = 0; i < SPARE_TRIES; i++) {
                char *spare = spare_path(queue_dir, c + i);
                int r = rename(spare, tmp_path);
                free(spare);
                if (r < 0)
                        continue;
                cursor_set(&spare_take_next, c + i + 1);
                int fd = open(tmp_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
                if (fd >= 0)
                        return fd;
                unlink(tmp_path);
                return -1;
        }
        return -1;
}

int queue_spare_put(const char *queue_dir, const char *path)
{
        unsigned int c = cursor_get(&spare_put_next);

        for (unsigned int i = 0; i < SPARE_TRIES; i++) {
                char *spare = spare_path(queue_dir, c + i);
                int r = renameat2(AT_FDCWD, path, AT_FDCWD, spare,
                                  RENAME_NOREPLACE);
                if (r == 0) {
                        cursor_set(&spare_put_next, c + i + 1);
                        free(spare);
                        return 0;
                }
                free(spare);
                if (errno != EEXIST)
                        break;
        }
        return unlink(path);
}

/* clock_next - a time never earlier than, nor equal to, the last one this
 * process handed out, so that its IDs increase */
static void clock_next(time_t *sec_r, long *usec_r, unsigned long *count_r)
{
        struct timeval tv;

        gettimeofday(&tv, NULL);
        pthread_mutex_lock(&clock_lock);
        if (tv.tv_sec < clock_sec ||
            (tv.tv_sec == clock_sec && tv.tv_usec <= clock_usec)) {
                tv.tv_sec = clock_sec;
                tv.tv_usec = clock_usec + 1;
                if (tv.tv_usec > 999999) {
                        tv.tv_sec++;
                        tv.tv_usec = 0;
                }
        }
        clock_sec = tv.tv_sec;
        clock_usec = tv.tv_usec;
        *count_r = ++tmp_counter;
        pthread_mutex_unlock(&clock_lock);
        *sec_r = tv.tv_sec;
        *usec_r = tv.tv_usec;
}

int queue_writer_open(const char *queue_dir, struct queue_writer **w_r,
                      struct status *st)
{
        struct queue_writer *w;
        unsigned long count;
        struct stat sb;

        w = xcalloc(1, sizeof(*w));
        w->queue_dir = xstrdup(queue_dir);
        w->fd = -1;
        buf_init(&w->rcpts, 0);
        buf_init(&w->head, 0);
        buf_init(&w->out, 0);
        w->crc = crc32(0L, Z_NULL, 0);
        w->sender = xstrdup("");
        clock_next(&w->sec, &w->usec, &count);
        w->tmp_path = xasprintf("%s/%s/%ld.%lu.%ld", queue_dir, QUEUE_TMP,
                                (long)getpid(), count, w->usec);
        w->fd = spare_take(queue_dir, w->tmp_path);
        for (int tries = 0; w->fd < 0 && tries < 2; tries++) {
                w->fd = open(w->tmp_path, O_RDWR | O_CREAT | O_EXCL |
                             O_CLOEXEC, 0600);
                if (w->fd >= 0 || errno != ENOENT || tries > 0)
                        break;
                /* the queue is new: make its directories, as this user */
                if (queue_dirs_make(queue_dir, (uid_t)-1, (gid_t)-1, st) < 0)
                        goto fail;
        }
        if (w->fd < 0) {
                status_set(st, queue_io_code(errno), "create %s: %m",
                           w->tmp_path);
                goto fail;
        }
        if (fstat(w->fd, &sb) < 0) {
                status_set(st, STATUS_LOCAL_IO, "fstat %s: %m", w->tmp_path);
                goto fail;
        }
        w->spare_size = sb.st_size;
        queue_id_make(w->sec, w->usec, (unsigned long long)sb.st_ino, w->id);
        *w_r = w;
        return 0;
fail:
        queue_writer_free(&w);
        return -1;
}

const char *queue_writer_id(const struct queue_writer *w)
{
        return w->id;
}

void queue_writer_sender(struct queue_writer *w, const char *sender)
{
        free(w->sender);
        w->sender = xstrdup(sender);
}

void queue_writer_recipient(struct queue_writer *w, const char *rcpt,
                            const char *orcpt, unsigned notify)
{
        if (orcpt != NULL)
                queue_record_put(&w->rcpts, 'O', orcpt, strlen(orcpt));
        queue_record_putf(&w->rcpts, 'R', "%u %s", notify & 15, rcpt);
        w->nrcpt++;
}

void queue_writer_attr(struct queue_writer *w, const char *name,
                       const char *value)
{
        for (size_t i = 0; i < w->nattr; i++)
                if (strcmp(w->attr_names[i], name) == 0) {
                        free(w->attr_values[i]);
                        w->attr_values[i] = xstrdup(value);
                        return;
                }
        w->attr_names = xrealloc(w->attr_names,
                                 (w->nattr + 1) * sizeof(char *));
        w->attr_values = xrealloc(w->attr_values,
                                  (w->nattr + 1) * sizeof(char *));
        w->attr_names[w->nattr] = xstrdup(name);
        w->attr_values[w->nattr] = xstrdup(value);
        w->nattr++;
}

/* arrival - the T record's value: the "arrival" attribute when it is a
 * plain time, else the writer's own clock */
static void put_arrival(struct queue_writer *w)
{
        for (size_t i = 0; i < w->nattr; i++) {
                char *end;
                long long v;

                if (strcmp(w->attr_names[i], "arrival") != 0)
                        continue;
                v = strtoll(w->attr_values[i], &end, 10);
                if (end != w->attr_values[i] && v > 0 &&
                    (*end == '\0' || *end == '.')) {
                        long usec = 0;

                        if (*end == '.' && end[1] >= '0' && end[1] <= '9')
                                usec = strtol(end + 1, NULL, 10) % 1000000;
                        queue_record_putf(&w->head, 'T', "%lld.%06ld", v,
                                          usec);
                        return;
                }
        }
        queue_record_putf(&w->head, 'T', "%lld.%06ld", (long long)w->sec,
                          w->usec);
}

/* start - write the envelope and the content record's header */
static int start(struct queue_writer *w, struct status *st)
{
        if (w->started)
                return 0;
        w->started = 1;
        buf_puts(&w->head, QUEUE_MAGIC);
        put_arrival(w);
        queue_record_put(&w->head, 'S', w->sender, strlen(w->sender));
        for (size_t i = 0; i < w->nattr; i++)
                queue_record_putf(&w->head, 'A', "%s=%s", w->attr_names[i],
                                  w->attr_values[i]);
        buf_append(&w->head, w->rcpts.data, w->rcpts.len);
        buf_printf(&w->head, "C%0*d:", QUEUE_SIZE_DIGITS, 0);
        return queue_write_all(w->fd, w->head.data, w->head.len, w->id, st);
}

static int flush(struct queue_writer *w, struct status *st)
{
        if (w->out.len == 0)
                return 0;
        if (queue_write_all(w->fd, w->out.data, w->out.len, w->id, st) < 0)
                return -1;
        buf_reset(&w->out);
        return 0;
}

int queue_writer_data(struct queue_writer *w, const void *data, size_t len,
                      struct status *st)
{
        if (w->failed || w->committed)
                return status_set(st, STATUS_LOCAL_IO, "queue file %s: "
                                  "write after failure", w->id);
        if (start(w, st) < 0)
                goto fail;
        w->size += (long long)len;
        w->crc = crc32_z(w->crc, data, len);
        if (w->out.len + len > WRITER_BUF_SIZE) {
                if (flush(w, st) < 0)
                        goto fail;
                if (len >= WRITER_BUF_SIZE) {
                        if (queue_write_all(w->fd, data, len, w->id, st) < 0)
                                goto fail;
                        return 0;
                }
        }
        buf_append(&w->out, data, len);
        return 0;
fail:
        w->failed = 1;
        return -1;
}

long long queue_writer_size(const struct queue_writer *w)
{
        return w->size;
}

int queue_writer_commit(struct queue_writer *w, struct status *st)
{
        char digits[QUEUE_SIZE_DIGITS + 1], *dst = NULL, *dir = NULL;
        size_t dpos;
        uLong crc;
        int ret = -1;

        if (w->failed || w->committed)
                return status_set(st, STATUS_LOCAL_IO, "queue file %s: "
                                  "commit after failure", w->id);
        if (w->nrcpt == 0)
                return status_set(st, STATUS_LOCAL_IO, "queue file %s: no "
                                  "recipients", w->id);
        if (start(w, st) < 0 || flush(w, st) < 0)
                goto out;
        /* fill in the content length, then the end record */
        snprintf(digits, sizeof(digits), "%0*lld", QUEUE_SIZE_DIGITS,
                 w->size);
        dpos = w->head.len - QUEUE_SIZE_DIGITS - 1;
        memcpy(w->head.data + dpos, digits, QUEUE_SIZE_DIGITS);
        if (pwrite(w->fd, digits, QUEUE_SIZE_DIGITS, (off_t)dpos) !=
            QUEUE_SIZE_DIGITS) {
                status_set(st, queue_io_code(errno), "queue file %s: write: "
                           "%m", w->id);
                goto out;
        }
        crc = crc32_z(crc32(0L, Z_NULL, 0), (const Bytef *)w->head.data,
                      w->head.len);
        crc = crc32_combine(crc, w->crc, (z_off_t)w->size);
        buf_putc(&w->out, '\n');
        queue_record_putf(&w->out, 'E', "%08lx", (unsigned long)crc);
        if (flush(w, st) < 0)
                goto out;
        if (w->spare_size > 0) {
                /* a reused file: what is past the end record is the
                 * last message's */
                off_t end = lseek(w->fd, 0, SEEK_CUR);
                if (end < 0 || (end < w->spare_size &&
                                ftruncate(w->fd, end) < 0)) {
                        status_set(st, queue_io_code(errno), "queue file %s: "
                                   "truncate: %m", w->id);
                        goto out;
                }
        }
        if (fsync(w->fd) < 0) {
                status_set(st, queue_io_code(errno), "queue file %s: fsync: "
                           "%m", w->id);
                goto out;
        }
        dst = queue_path(w->queue_dir, QUEUE_INCOMING, w->id);
        if (rename(w->tmp_path, dst) < 0) {
                status_set(st, queue_io_code(errno), "rename %s: %m", dst);
                goto out;
        }
        w->committed = 1;
        dir = xasprintf("%s/%s", w->queue_dir, QUEUE_INCOMING);
        if (queue_fsync_dir(dir, st) < 0) {
                /* the file is in incoming/ and will be delivered, but the
                 * promise needs the directory on disk: take it back */
                if (unlink(dst) == 0)
                        w->committed = 0;
                goto out;
        }
        ret = 0;
out:
        if (ret < 0)
                w->failed = 1;
        free(dst);
        free(dir);
        return ret;
}

void queue_writer_free(struct queue_writer **wp)
{
        struct queue_writer *w = *wp;

        if (w == NULL)
                return;
        if (w->fd >= 0) {
                close(w->fd);
                if (!w->committed)
                        unlink(w->tmp_path);
        }
        for (size_t i = 0; i < w->nattr; i++) {
                free(w->attr_names[i]);
                free(w->attr_values[i]);
        }
        free(w->attr_names);
        free(w->attr_values);
        free(w->sender);
        free(w->queue_dir);
        free(w->tmp_path);
        buf_release(&w->rcpts);
        buf_release(&w->head);
        buf_release(&w->out);
        free(w);
        *wp = NULL;
}

void queue_notify(const char *queue_dir)
{
        struct sockaddr_un sun;
        int fd, n;

        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", queue_dir,
                     QUEUE_NOTIFY_SOCKET);
        if (n < 0 || (size_t)n >= sizeof(sun.sun_path))
                return;
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return;
        (void)sendto(fd, "n", 1, MSG_DONTWAIT, (struct sockaddr *)&sun,
                     sizeof(sun));
        close(fd);
}
