/* imap_preauth.c - the imap session run by hand: "imap --preauth"
 * Used by: imap.c (imap_preauth.h). The relay child copies bytes between
 * stdin/stdout and the session's socket with poll(2), bounded by one
 * buffer each way, and ends when both directions have closed. Runs as
 * whoever started it, then (as root) as the Maildir's owner. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap_preauth.h"
#include "mem.h"
#include "priv.h"

#define RELAY_BUF (64 * 1024)

struct pipe_dir {
        int from, to;
        char buf[RELAY_BUF];
        size_t len, off;
        int eof;
};

/* relay - the child: stdin -> sock, sock -> stdout */
static void relay(int sock)
{
        static struct pipe_dir in, out;

        in.from = STDIN_FILENO;
        in.to = sock;
        out.from = sock;
        out.to = STDOUT_FILENO;
        /* the session's end is the end, whatever stdin does */
        while (!(out.eof && out.len == 0)) {
                struct pollfd p[4];
                struct pipe_dir *d[2] = { &in, &out };
                int n = 0, idx[4];

                for (int i = 0; i < 2; i++) {
                        if (!d[i]->eof && d[i]->len == 0) {
                                p[n] = (struct pollfd){ d[i]->from, POLLIN, 0 };
                                idx[n++] = i * 2;
                        }
                        if (d[i]->len > 0) {
                                p[n] = (struct pollfd){ d[i]->to, POLLOUT, 0 };
                                idx[n++] = i * 2 + 1;
                        }
                }
                if (n == 0)
                        break;
                if (poll(p, (nfds_t)n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                for (int k = 0; k < n; k++) {
                        struct pipe_dir *dir = d[idx[k] / 2];
                        if (p[k].revents == 0)
                                continue;
                        if ((idx[k] & 1) == 0) {
                                ssize_t r = read(dir->from, dir->buf,
                                                 sizeof(dir->buf));
                                if (r <= 0) {
                                        if (r < 0 && errno == EINTR)
                                                continue;
                                        dir->eof = 1;
                                        if (dir == &in)
                                                shutdown(sock, SHUT_WR);
                                        else
                                                close(STDOUT_FILENO);
                                } else {
                                        dir->len = (size_t)r;
                                        dir->off = 0;
                                }
                        } else {
                                ssize_t w = write(dir->to, dir->buf + dir->off,
                                                  dir->len);
                                if (w < 0) {
                                        if (errno == EINTR)
                                                continue;
                                        _exit(0);
                                }
                                dir->off += (size_t)w;
                                dir->len -= (size_t)w;
                        }
                }
        }
        _exit(0);
}

int imap_preauth_socket(struct status *st)
{
        struct stat sb;
        int sv[2];
        pid_t pid;

        if (fstat(STDIN_FILENO, &sb) == 0 && S_ISSOCK(sb.st_mode))
                return dup(STDIN_FILENO);
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return status_set(st, STATUS_LOCAL_IO, "socketpair: %m");
        pid = fork();
        if (pid < 0) {
                close(sv[0]);
                close(sv[1]);
                return status_set(st, STATUS_LOCAL_IO, "fork: %m");
        }
        if (pid == 0) {
                close(sv[0]);
                signal(SIGPIPE, SIG_IGN);
                relay(sv[1]);
        }
        close(sv[1]);
        /* the session never reads stdin or writes stdout itself */
        int null = open("/dev/null", 0);
        if (null >= 0) {
                dup2(null, STDIN_FILENO);
                close(null);
        }
        return sv[0];
}

int imap_preauth_drop(const char *path, struct status *st)
{
        char *p = xstrdup(path);
        struct stat sb;
        struct priv owner;

        if (!priv_is_root()) {
                free(p);
                return 0;
        }
        while (stat(p, &sb) < 0) {
                char *slash = strrchr(p, '/');
                if (slash == NULL || slash == p) {
                        free(p);
                        return status_set(st, STATUS_CONFIG, "%s: no "
                                          "existing parent", path);
                }
                *slash = '\0';
        }
        free(p);
        if (sb.st_uid == 0)
                return status_set(st, STATUS_CONFIG, "%s belongs to root: a "
                                  "session never runs as root", path);
        memset(&owner, 0, sizeof(owner));
        owner.uid = sb.st_uid;
        owner.gid = sb.st_gid;
        snprintf(owner.name, sizeof(owner.name), "%lu",
                 (unsigned long)sb.st_uid);
        return priv_drop(&owner, st);
}
