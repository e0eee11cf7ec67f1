/* queue_file_mark.c - recording progress in a queue file, and the record
 * and I/O helpers the queue modules share
 * Used by: qmgr (through queue_file_mark, _add_rcpt, _defer_reason,
 * _attempt, _set_attr, _requeue, _sync), queue_file_admin.c (_requeue),
 * local (queue_file_mark_fd), queue_file.c and queue_file_write.c
 * (records, writes). Progress records are appended
 * after the end record, each batch with one write(2) on an O_APPEND
 * descriptor and one fsync; see queue_file.c for the format. Runs as
 * mail_owner (qmgr) or as local's worker. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "queue_file.h"
#include "queue_file_int.h"

const char *const queue_state_names[] = {
        [QUEUE_RCPT_PENDING] = "pending",
        [QUEUE_RCPT_SENT] = "sent",
        [QUEUE_RCPT_BOUNCED] = "bounced",
        [QUEUE_RCPT_DROPPED] = "dropped",
        [QUEUE_RCPT_EXPANDED] = "expanded",
};

void queue_record_put(struct buf *out, char type, const void *data,
                      size_t len)
{
        buf_printf(out, "%c%zu:", type, len);
        buf_append(out, data, len);
        buf_putc(out, '\n');
}

void queue_record_putf(struct buf *out, char type, const char *fmt, ...)
{
        struct buf tmp;
        va_list ap;

        buf_init(&tmp, 0);
        va_start(ap, fmt);
        buf_vprintf(&tmp, fmt, ap);
        va_end(ap);
        queue_record_put(out, type, tmp.data, tmp.len);
        buf_release(&tmp);
}

const char *queue_io_code(int err)
{
        return err == ENOSPC || err == EDQUOT ? STATUS_NO_SPACE :
               STATUS_LOCAL_IO;
}

int queue_write_all(int fd, const void *data, size_t len, const char *what,
                    struct status *st)
{
        const char *p = data;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        if (n == 0)
                                errno = EIO;
                        return status_set(st, queue_io_code(errno),
                                          "queue file %s: write: %m", what);
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int queue_fsync_dir(const char *path, struct status *st)
{
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return status_set(st, STATUS_LOCAL_IO, "open %s: %m", path);
        if (fsync(fd) < 0) {
                int err = errno;

                close(fd);
                errno = err;
                return status_set(st, STATUS_LOCAL_IO, "fsync %s: %m",
                                  path);
        }
        close(fd);
        return 0;
}

int queue_file_rcpt_append(struct queue_file *qf, const char *addr,
                           size_t alen, char **orcpt,
                           unsigned long long notify, size_t parent)
{
        struct queue_rcpt *r;

        if (qf->nrcpt >= QUEUE_RCPT_MAX || memchr(addr, '\0', alen) != NULL)
                return -1;
        if (qf->nrcpt == qf->rcpt_size) {
                qf->rcpt_size = qf->rcpt_size ? qf->rcpt_size * 2 : 8;
                qf->rcpts = xrealloc(qf->rcpts,
                                     qf->rcpt_size * sizeof(*qf->rcpts));
        }
        r = &qf->rcpts[qf->nrcpt++];
        memset(r, 0, sizeof(*r));
        r->addr = xstrndup(addr, alen);
        r->orcpt = *orcpt;
        *orcpt = NULL;
        r->notify = (unsigned)notify & 15;
        r->parent = parent;
        qf->pending++;
        return 0;
}

void queue_file_set_state(struct queue_file *qf, size_t i,
                          enum queue_rcpt_state state)
{
        if (qf->rcpts[i].state == QUEUE_RCPT_PENDING &&
            state != QUEUE_RCPT_PENDING)
                qf->pending--;
        qf->rcpts[i].state = state;
}

void queue_file_mark(struct queue_file *qf, size_t i,
                     enum queue_rcpt_state state)
{
        if (i >= qf->nrcpt || state == QUEUE_RCPT_PENDING)
                log_panic("queue_file_mark: bad recipient %zu or state", i);
        queue_file_set_state(qf, i, state);
        queue_record_putf(&qf->out, 'D', "%zu %s", i, queue_state_names[state]);
}

size_t queue_file_add_rcpt(struct queue_file *qf, size_t parent,
                           const char *addr, const char *orcpt,
                           unsigned notify)
{
        char *o = orcpt != NULL ? xstrdup(orcpt) : NULL;

        if (parent >= qf->nrcpt)
                log_panic("queue_file_add_rcpt: bad parent %zu", parent);
        if (orcpt != NULL)
                queue_record_put(&qf->out, 'O', orcpt, strlen(orcpt));
        queue_record_putf(&qf->out, 'R', "%u %zu %s", notify, parent, addr);
        if (queue_file_rcpt_append(qf, addr, strlen(addr), &o, notify, parent) < 0)
                log_panic("queue_file_add_rcpt: too many recipients");
        return qf->nrcpt - 1;
}

void queue_file_defer_reason(struct queue_file *qf, size_t i,
                             const char *code, const char *text)
{
        struct queue_rcpt *r;
        char *t;

        if (i >= qf->nrcpt)
                log_panic("queue_file_defer_reason: bad recipient %zu", i);
        r = &qf->rcpts[i];
        t = xstrndup(text, strcspn(text, "\r\n"));
        if (strlen(t) > 1000)
                t[1000] = '\0';
        free(r->defer_code);
        free(r->defer_text);
        r->defer_code = xstrndup(code, strcspn(code, " \r\n"));
        r->defer_text = t;
        queue_record_putf(&qf->out, 'W', "%zu %s %s", i, r->defer_code, t);
}

void queue_file_attr_put(struct queue_file *qf, const char *name,
                         size_t nlen, const char *value, size_t vlen)
{
        struct queue_attr *a;

        for (size_t i = 0; i < qf->nattr; i++) {
                a = &qf->attrs[i];
                if (strlen(a->name) == nlen && memcmp(a->name, name,
                                                      nlen) == 0) {
                        free(a->value);
                        a->value = xstrndup(value, vlen);
                        return;
                }
        }
        qf->attrs = xrealloc(qf->attrs, (qf->nattr + 1) * sizeof(*qf->attrs));
        a = &qf->attrs[qf->nattr++];
        a->name = xstrndup(name, nlen);
        a->value = xstrndup(value, vlen);
}

void queue_file_forget(struct queue_file *qf)
{
        for (size_t i = 0; i < qf->nrcpt; i++) {
                free(qf->rcpts[i].defer_code);
                free(qf->rcpts[i].defer_text);
                qf->rcpts[i].defer_code = NULL;
                qf->rcpts[i].defer_text = NULL;
        }
        qf->attempts = 0;
        qf->last_attempt = 0;
}

void queue_file_set_attr(struct queue_file *qf, const char *name,
                         const char *value)
{
        size_t vlen = strcspn(value, "\r\n");

        if (*name == '\0' || strchr(name, '=') != NULL ||
            strpbrk(name, "\r\n") != NULL)
                log_panic("queue_file_set_attr: bad name \"%s\"", name);
        queue_file_attr_put(qf, name, strlen(name), value, vlen);
        queue_record_putf(&qf->out, 'A', "%s=%.*s", name, (int)vlen, value);
}

void queue_file_requeue(struct queue_file *qf, time_t when)
{
        queue_file_forget(qf);
        queue_record_putf(&qf->out, 'Q', "%lld", (long long)when);
}

void queue_file_attempt(struct queue_file *qf, time_t when)
{
        qf->attempts++;
        qf->last_attempt = when;
        queue_record_putf(&qf->out, 'Y', "%lld", (long long)when);
}

int queue_file_sync(struct queue_file *qf, struct status *st)
{
        if (!qf->writable)
                log_panic("queue_file_sync: %s opened read-only", qf->id);
        if (qf->out.len > 0) {
                if (queue_write_all(qf->fd, qf->out.data, qf->out.len,
                                    qf->id, st) < 0) {
                        /* cut a partial batch off, so that the next one
                         * starts on a record boundary */
                        if (ftruncate(qf->fd, qf->end) < 0)
                                log_warn("queue file %s: truncate: %m",
                                         qf->id);
                        return -1;
                }
                qf->end += (off_t)qf->out.len;
                buf_reset(&qf->out);
        }
        if (fsync(qf->fd) < 0)
                return status_set(st, STATUS_LOCAL_IO, "queue file %s: "
                                  "fsync: %m", qf->id);
        return 0;
}

int queue_file_mark_fd(int fd, const char *id, size_t i,
                       enum queue_rcpt_state state, struct status *st)
{
        struct buf rec;
        int ret = -1;

        if (state == QUEUE_RCPT_PENDING)
                log_panic("queue_file_mark_fd: bad state");
        buf_init(&rec, 0);
        queue_record_putf(&rec, 'D', "%zu %s", i, queue_state_names[state]);
        /* one write(2): appends from qmgr and local never interleave */
        if (queue_write_all(fd, rec.data, rec.len, id, st) == 0)
                ret = 0;
        buf_release(&rec);
        return ret;
}
