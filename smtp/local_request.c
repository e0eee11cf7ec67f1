/* local_request.c - one delivery request, in a worker process
 * Used by: local.c, which reads the request line from qmgr (local_proto.h)
 * and forks a worker for it, or hands it to a pooled worker
 * (local_pool.c). Opens the queue file read-only and for its D mark
 * (local_request_open), delivers the recipient from those descriptors
 * (local_request_deliver: local_alias.c and below) and writes the answer.
 * Runs as local does (root when Yubin does); the deliveries themselves
 * happen in children with the owner's privileges, or, when one Maildir is
 * the only target, in the worker after it has become that Maildir's owner
 * (local_mailbox.c) -- a pooled worker is that owner from the start and
 * gets the descriptors from the main process. Parses qmgr's request
 * line and scans the message header for Delivered-To. */
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "authc.h"
#include "local.h"
#include "local_proto.h"
#include "log.h"
#include "mem.h"
#include "queue_file.h"

void local_result(struct local_msg *m, const char *status, const char *code,
                  const char *target, const char *text)
{
        const char *f[] = { "RESULT", status, code, target, text };

        local_proto_put(&m->out, f, 5);
        m->targets++;
        if (strcmp(status, "sent") == 0)
                m->sent++;
}

void local_result_st(struct local_msg *m, const struct status *st,
                     const char *target)
{
        local_result(m, status_class(st) == 5 ? "bounced" : "deferred",
                     st->code, target, st->text);
}

void local_forward(struct local_msg *m, const char *addr)
{
        const char *f[] = { "FORWARD", addr };

        local_proto_put(&m->out, f, 2);
        m->targets++;
}

/* header_len - bytes of the header, up to and including its blank line */
static size_t header_len(const char *p, size_t len)
{
        size_t i = 0;

        while (i < len) {
                const char *nl = memchr(p + i, '\n', len - i);

                if (nl == NULL)
                        return len;
                if (nl == p + i)        /* the empty line */
                        return i + 1;
                i = (size_t)(nl - p) + 1;
        }
        return len;
}

int local_looped(const struct local_msg *m, const char *addr)
{
        static const char name[] = "delivered-to:";
        const char *p = m->content, *end = m->content + m->header_len;
        size_t alen = strlen(addr);

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *line_end = nl != NULL ? nl : end;

                if ((size_t)(line_end - p) > sizeof(name) - 1 &&
                    strncasecmp(p, name, sizeof(name) - 1) == 0) {
                        const char *v = p + sizeof(name) - 1;

                        while (v < line_end && (*v == ' ' || *v == '\t'))
                                v++;
                        while (line_end > v && (line_end[-1] == ' ' ||
                                                line_end[-1] == '\t' ||
                                                line_end[-1] == '\r'))
                                line_end--;
                        if ((size_t)(line_end - v) == alen &&
                            strncasecmp(v, addr, alen) == 0)
                                return 1;
                }
                p = nl != NULL ? nl + 1 : end;
        }
        return 0;
}

static void answer(int fd, struct buf *out)
{
        const char *p = out->data;
        size_t left = out->len;

        while (left > 0) {
                ssize_t n = write(fd, p, left);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return;         /* qmgr went away: it defers */
                p += n;
                left -= (size_t)n;
        }
}

/* parse_request - split the request line (modified); 0 with the fields
 * and the recipient index, or -1 when it is malformed */
static int parse_request(char *line, size_t len, char **fields,
                         unsigned long *idx_r)
{
        char *end;
        int n;

        if (line == NULL)
                goto bad;
        n = local_proto_split(line, len, fields, LOCAL_FIELDS_MAX);
        if (n != 5 || strcmp(fields[0], "DELIVER") != 0 ||
            !queue_id_valid(fields[1]) || *fields[3] == '\0' ||
            (strcmp(fields[4], "0") != 0 && strcmp(fields[4], "1") != 0))
                goto bad;
        *idx_r = strtoul(fields[2], &end, 10);
        if (*fields[2] < '0' || *fields[2] > '9' || *end != '\0')
                goto bad;
        return 0;
bad:
        return -1;
}

int local_request_open(struct local_server *srv, const struct buf *line,
                       int *qfd_r, int *mark_r, struct status *st)
{
        char *fields[LOCAL_FIELDS_MAX], *copy, *path;
        unsigned long idx;
        int ret = 0;

        *qfd_r = *mark_r = -1;
        if (line->data == NULL)
                return status_set(st, STATUS_LOCAL_IO, "malformed delivery "
                                  "request");
        copy = xmalloc(line->len + 1);
        memcpy(copy, line->data, line->len);
        copy[line->len] = '\0';
        if (parse_request(copy, line->len, fields, &idx) < 0) {
                free(copy);
                return status_set(st, STATUS_LOCAL_IO, "malformed delivery "
                                  "request");
        }
        path = queue_path(srv->queue_dir, QUEUE_ACTIVE, fields[1]);
        /* both opened now: the descriptors follow the file wherever a
         * restarted qmgr moves it meanwhile */
        *qfd_r = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (*qfd_r < 0) {
                /* qmgr checked the file before asking: any trouble now
                 * is temporary */
                ret = status_set(st, STATUS_LOCAL_IO, "open %s: %m", path);
        } else {
                *mark_r = open(path, O_WRONLY | O_APPEND | O_CLOEXEC |
                               O_NOFOLLOW);
                if (*mark_r < 0)
                        log_warn("%s: open %s: %m", fields[1], path);
        }
        free(path);
        free(copy);
        return ret;
}

int local_request_deliver(struct local_server *srv, int fd,
                          struct buf *line, const struct local_prefetch *pre,
                          int qfd, int mark_fd, const struct status *open_st)
{
        struct local_msg m;
        struct status st;
        char *fields[LOCAL_FIELDS_MAX];
        unsigned long idx;

        memset(&m, 0, sizeof(m));
        m.srv = srv;
        m.pre = pre;
        if (parse_request(line->data, line->len, fields, &idx) < 0) {
                log_warn("malformed delivery request");
                close(fd);
                if (qfd >= 0)
                        close(qfd);
                if (mark_fd >= 0)
                        close(mark_fd);
                return EX_PROTOCOL;
        }
        buf_init(&m.out, 0);
        m.id = fields[1];
        m.rcpt = fields[3];
        if (srv->resolve == NULL) {
                if (qfd >= 0)
                        close(qfd);
                local_result_st(&m, &srv->config_st, m.rcpt);
        } else if (qfd < 0) {
                local_result_st(&m, open_st, m.rcpt);
        } else if (queue_file_open_fd(qfd, m.id, &m.qf, &st) < 0) {
                /* as for the open: temporary */
                status_set(&st, STATUS_LOCAL_IO, "%s", st.text);
                local_result_st(&m, &st, m.rcpt);
        } else if (idx >= queue_file_rcpt_count(m.qf) ||
                   strcmp(queue_file_rcpt(m.qf, idx)->addr, m.rcpt) != 0) {
                status_set(&st, STATUS_LOCAL_IO, "recipient %lu of %s is "
                           "not %s", idx, m.id, m.rcpt);
                log_warn("%s", st.text);
                local_result_st(&m, &st, m.rcpt);
        } else {
                m.sender = queue_file_sender(m.qf);
                m.content = queue_file_content(m.qf, &m.len);
                m.header_len = header_len(m.content, m.len);
                m.no_virtual = fields[4][0] == '1';
                local_deliver_addr(&m, m.rcpt, 0, NULL);
                if (m.targets == 0) {
                        status_set(&st, STATUS_BAD_MAILBOX, "alias or "
                                   ".forward expands to no recipient");
                        local_result_st(&m, &st, m.rcpt);
                } else if (m.sent == m.targets && mark_fd >= 0 &&
                           queue_file_mark_fd(mark_fd, m.id, idx,
                                              QUEUE_RCPT_SENT, &st) < 0) {
                        /* qmgr records it too; only a crash of both
                         * before that could deliver it again */
                        log_warn("%s: %s", m.id, st.text);
                }
        }
        buf_puts(&m.out, "DONE\n");
        answer(fd, &m.out);
        close(fd);
        if (mark_fd >= 0)
                close(mark_fd);
        queue_file_free(&m.qf);
        for (size_t i = 0; i < m.nseen; i++)
                free(m.seen[i]);
        free(m.seen);
        authc_sync_close(&m.authd);
        buf_release(&m.out);
        return 0;
}

int local_request_serve(struct local_server *srv, int fd, struct buf *line,
                        const struct local_prefetch *pre)
{
        struct status st;
        int qfd = -1, mark_fd = -1;

        status_clear(&st);
        if (srv->resolve != NULL)
                (void)local_request_open(srv, line, &qfd, &mark_fd, &st);
        return local_request_deliver(srv, fd, line, pre, qfd, mark_fd, &st);
}
