/* local_mailbox.c - writing into a Maildir, and reading files, as their
 * owner
 * Used by: local_alias.c. Each call forks a child that becomes the owner
 * (setgroups, setresgid, setresuid through priv.h; nothing changes when
 * local is not root), does the work and reports through a pipe, so the
 * worker itself never touches a user's files as root. When a Maildir is
 * the request's only target (m->in_place), the worker becomes the owner
 * itself instead and delivers nothing more (srv->dropped); the queue file
 * descriptor and qmgr's socket it still writes to were opened before; a
 * pooled worker (local_pool.c) is some owner from its start and writes
 * in place only into that owner's Maildirs. The
 * one exception to "never as root" is uid 0's own mailbox (root's
 * Maildir, in root's home), which only root can write: that process drops
 * its supplementary groups and writes nothing else. Delivery adds
 * Return-Path and Delivered-To and goes through the Maildir library
 * (tmp/, fsync, new/ with S= and W=; Maildir++ quota: over it is 5.2.2,
 * or 4.2.2 with quota_full_tempfail). */
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "local.h"
#include "maildir.h"
#include "mem.h"
#include "priv.h"

int local_run_as(struct local_server *srv, uid_t uid, gid_t gid,
                 struct status *st)
{
        struct priv p;

        if (srv->dropped)
                return status_set(st, STATUS_LOCAL_IO, "delivery worker "
                                  "already runs as a mailbox owner");
        if (!srv->privileged)
                return 0;
        if (uid == 0) {
                /* root's own files only; see the file header */
                if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0)
                        return status_set(st, STATUS_LOCAL_IO,
                                          "dropping groups: %m");
                return 0;
        }
        memset(&p, 0, sizeof(p));
        p.uid = uid;
        p.gid = gid;
        snprintf(p.name, sizeof(p.name), "%lu", (unsigned long)uid);
        return priv_drop(&p, st);
}

/* report - the child's answer on fd: "OK" or "<code> <text>" */
static void report(int fd, const struct status *st, int ok)
{
        char line[STATUS_TEXT_MAX + 16];
        int n = ok ? snprintf(line, sizeof(line), "OK") :
                snprintf(line, sizeof(line), "%s %s", st->code, st->text);

        if (n > 0)
                (void)!write(fd, line, (size_t)n < sizeof(line) ?
                             (size_t)n : sizeof(line) - 1);
}

/* collect - read the child's report and reap it; 0, or -1 with st */
static int collect(pid_t pid, int fd, size_t max, struct buf *head,
                   struct status *st)
{
        char chunk[4096];
        int status;

        for (;;) {
                ssize_t n = read(fd, chunk, sizeof(chunk));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                if (head->len + (size_t)n > max + STATUS_TEXT_MAX + 64) {
                        /* a child never sends this much: stop reading */
                        break;
                }
                buf_append(head, chunk, (size_t)n);
        }
        close(fd);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (head->len == 0)
                return status_set(st, STATUS_LOCAL_IO, "delivery process "
                                  "ended without an answer (status %d)",
                                  status);
        return 0;
}

/* parse_report - "OK" gives 0; "<code> <text>" gives -1 with st */
static int parse_report(const char *text, struct status *st)
{
        const char *sp;

        if (strcmp(text, "OK") == 0)
                return 0;
        sp = strchr(text, ' ');
        if (sp == NULL || sp - text > 7 || (*text != '4' && *text != '5'))
                return status_set(st, STATUS_LOCAL_IO, "delivery process: "
                                  "bad answer");
        status_set(st, STATUS_TEMP, "%s", sp + 1);
        snprintf(st->code, sizeof(st->code), "%.*s", (int)(sp - text), text);
        return -1;
}

static int write_maildir(struct local_msg *m, const char *path,
                         uint64_t quota_bytes, uint64_t quota_count,
                         const char *delivered_to, struct status *st)
{
        struct maildir *md = NULL;
        struct maildir_save *sv = NULL;
        struct buf head;
        char *ret_path = addr_external(m->sender);
        int ret = -1;

        buf_init(&head, 0);
        buf_printf(&head, "Return-Path: <%s>\nDelivered-To: %s\n", ret_path,
                   delivered_to);
        free(ret_path);
        if (maildir_open(path, MAILDIR_CREATE, &md, st) < 0)
                goto out;
        if (quota_bytes > 0 || quota_count > 0)
                maildir_set_quota(md, quota_bytes, quota_count);
        if (maildir_save_begin(md, NULL, &sv, st) < 0 ||
            maildir_save_write(sv, head.data, head.len, st) < 0 ||
            maildir_save_write(sv, m->content, m->len, st) < 0 ||
            maildir_save_deliver(&sv, NULL, st) < 0)
                goto out;
        ret = 0;
out:
        if (ret < 0 && strcmp(st->code, STATUS_OVER_QUOTA) == 0 &&
            m->srv->quota_tempfail)
                memcpy(st->code, STATUS_OVER_QUOTA_TEMP,
                       sizeof(STATUS_OVER_QUOTA_TEMP));
        maildir_save_abort(&sv);
        maildir_close(&md);
        buf_release(&head);
        return ret;
}

int local_maildir(struct local_msg *m, const char *path, uid_t uid,
                  gid_t gid, uint64_t quota_bytes, uint64_t quota_count,
                  const char *delivered_to, struct status *st)
{
        struct buf answer;
        int pfd[2], ret;
        pid_t pid;

        if (m->in_place && m->srv->pooled) {
                /* a pooled worker is the owner already */
                m->in_place = 0;
                if (uid != m->srv->pool_uid || gid != m->srv->pool_gid)
                        return status_set(st, STATUS_LOCAL_IO, "delivery "
                                          "worker runs as another user");
                return write_maildir(m, path, quota_bytes, quota_count,
                                     delivered_to, st);
        }
        if (m->in_place) {
                /* the worker's only target: it becomes the owner and
                 * writes here, saving a fork; it exits after answering */
                m->in_place = 0;
                ret = local_run_as(m->srv, uid, gid, st);
                m->srv->dropped = 1;
                if (ret < 0)
                        return -1;
                return write_maildir(m, path, quota_bytes, quota_count,
                                     delivered_to, st);
        }
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return status_set(st, STATUS_LOCAL_IO, "pipe: %m");
        pid = fork();
        if (pid < 0) {
                close(pfd[0]);
                close(pfd[1]);
                return status_set(st, STATUS_LOCAL_IO, "fork: %m");
        }
        if (pid == 0) {
                struct status cst;
                int ok;

                close(pfd[0]);
                ok = local_run_as(m->srv, uid, gid, &cst) == 0 &&
                     write_maildir(m, path, quota_bytes, quota_count,
                                   delivered_to, &cst) == 0;
                report(pfd[1], &cst, ok);
                _exit(0);
        }
        close(pfd[1]);
        buf_init(&answer, 0);
        ret = collect(pid, pfd[0], 0, &answer, st);
        if (ret == 0)
                ret = parse_report(answer.data, st);
        buf_release(&answer);
        return ret;
}

int local_read_file(struct local_server *srv, const char *path, uid_t uid,
                    gid_t gid, struct buf *out, uid_t *owner_r,
                    struct status *st)
{
        struct buf answer;
        int pfd[2], ret;
        pid_t pid;
        char *nl;

        if (pipe2(pfd, O_CLOEXEC) < 0)
                return status_set(st, STATUS_LOCAL_IO, "pipe: %m");
        pid = fork();
        if (pid < 0) {
                close(pfd[0]);
                close(pfd[1]);
                return status_set(st, STATUS_LOCAL_IO, "fork: %m");
        }
        if (pid == 0) {
                struct status cst;
                struct stat sb;
                char head[64], chunk[8192];
                ssize_t n;
                size_t total = 0;
                int fd;

                close(pfd[0]);
                if (local_run_as(srv, uid, gid, &cst) < 0) {
                        dprintf(pfd[1], "E %s %s", cst.code, cst.text);
                        _exit(0);
                }
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
                if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
                        dprintf(pfd[1], "N\n");
                        _exit(0);
                }
                if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
                        dprintf(pfd[1], "E %s %s: %s", STATUS_CONFIG_TEMP,
                                path, fd < 0 ? strerror(errno) :
                                "not a regular file");
                        _exit(0);
                }
                snprintf(head, sizeof(head), "F %lu\n",
                         (unsigned long)sb.st_uid);
                (void)!write(pfd[1], head, strlen(head));
                while (total < LOCAL_INCLUDE_MAX &&
                       (n = read(fd, chunk, sizeof(chunk))) > 0) {
                        (void)!write(pfd[1], chunk, (size_t)n);
                        total += (size_t)n;
                }
                _exit(0);
        }
        close(pfd[1]);
        buf_init(&answer, 0);
        ret = collect(pid, pfd[0], LOCAL_INCLUDE_MAX, &answer, st);
        if (ret < 0)
                goto out;
        nl = memchr(answer.data, '\n', answer.len);
        if (answer.data[0] == 'N') {
                ret = 0;
        } else if (answer.data[0] == 'F' && nl != NULL) {
                if (owner_r != NULL)
                        *owner_r = (uid_t)strtoul(answer.data + 2, NULL, 10);
                buf_append(out, nl + 1, answer.len -
                           (size_t)(nl + 1 - answer.data));
                ret = 1;
        } else if (answer.data[0] == 'E' && answer.len > 2) {
                ret = parse_report(answer.data + 2, st);
        } else {
                ret = status_set(st, STATUS_LOCAL_IO, "reading %s: bad "
                                 "answer", path);
        }
out:
        buf_release(&answer);
        return ret;
}
