/* sendmail_drop.c - hand a submission to the maildrop queue
 * Used by: sendmail (stdin and -bs). Runs as the invoking user. Tries to
 * store the file itself (root, mail_owner, or the user of an unprivileged
 * instance); when maildrop/ is not writable it runs postdrop, the setgid
 * helper, and pipes the file to it (see maildrop.h). postdrop is looked
 * for next to this program first (so a build tree or a test instance uses
 * its own), then in command_directory. When maildrop/ is missing and the
 * queue directory is this user's (or this is root), it is made here, so
 * that mail can be submitted before Yubin ever started. Afterwards qmgr
 * is nudged through its notify socket, when this user can reach it. */
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"
#include "maildrop.h"
#include "mem.h"
#include "queue_file.h"
#include "sendmail.h"

/* postdrop_path - where postdrop is; a new string, or NULL */
static char *postdrop_path(struct cfg *cfg)
{
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        char *path;

        if (n > 0) {
                self[n] = '\0';
                path = xasprintf("%s/postdrop", dirname(self));
                if (access(path, X_OK) == 0)
                        return path;
                free(path);
        }
        path = xasprintf("%s/postdrop", cfg_get(cfg, "command_directory"));
        if (access(path, X_OK) == 0)
                return path;
        free(path);
        return NULL;
}

/* run_postdrop - pipe data to postdrop; 0 or -1 with st */
static int run_postdrop(struct cfg *cfg, const struct sendmail_opts *o,
                        const struct buf *data, struct status *st)
{
        char *path = postdrop_path(cfg);
        const char *p = buf_cstr(data);
        size_t left = data->len;
        int fds[2], status;
        pid_t pid;

        if (path == NULL)
                return status_set(st, STATUS_CONFIG_TEMP,
                                  "cannot write the maildrop queue and "
                                  "postdrop is not installed in %s",
                                  cfg_get(cfg, "command_directory"));
        if (pipe(fds) < 0) {
                free(path);
                return status_set(st, STATUS_LOCAL_IO, "pipe: %m");
        }
        pid = fork();
        if (pid < 0) {
                free(path);
                close(fds[0]);
                close(fds[1]);
                return status_set(st, STATUS_LOCAL_IO, "fork: %m");
        }
        if (pid == 0) {
                if (dup2(fds[0], 0) < 0)
                        _exit(EX_OSERR);
                close(fds[0]);
                close(fds[1]);
                if (o->config_dir_given)
                        execl(path, "postdrop", "-c", o->config_dir,
                              (char *)NULL);
                else
                        execl(path, "postdrop", (char *)NULL);
                _exit(EX_OSERR);
        }
        close(fds[0]);
        signal(SIGPIPE, SIG_IGN);
        while (left > 0) {
                ssize_t n = write(fds[1], p, left);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;  /* postdrop gave up; its status says why */
                p += n;
                left -= (size_t)n;
        }
        close(fds[1]);
        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR) {
                        free(path);
                        return status_set(st, STATUS_LOCAL_IO,
                                          "waitpid: %m");
                }
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                free(path);
                return 0;
        }
        status_set(st, WIFEXITED(status) &&
                   WEXITSTATUS(status) == EX_DATAERR ? STATUS_PERM :
                   STATUS_LOCAL_IO, "%s failed (%s %d)", path,
                   WIFEXITED(status) ? "exit status" : "signal",
                   WIFEXITED(status) ? WEXITSTATUS(status) :
                   WTERMSIG(status));
        free(path);
        return -1;
}

/* queue_is_mine - 1 if this user may set up maildrop/ itself */
static int queue_is_mine(struct cfg *cfg)
{
        struct stat sb;

        if (geteuid() == 0)
                return 1;
        return stat(cfg_get(cfg, "queue_directory"), &sb) == 0 &&
               sb.st_uid == geteuid();
}

int sendmail_drop(struct cfg *cfg, const struct sendmail_opts *o,
                  const struct maildrop_env *env, const struct buf *msg,
                  struct status *st)
{
        const char *queue_dir = cfg_get(cfg, "queue_directory");
        struct buf data;
        char *name = NULL;
        int r;

        buf_init(&data, 0);
        maildrop_format(&data, env);
        buf_append(&data, buf_cstr(msg), msg->len);
        r = maildrop_store(queue_dir, data.data, data.len, &name, st);
        if (r < 0 && errno == ENOENT) {
                /* root may make the queue directory too, as `yubin start`
                 * would */
                if (geteuid() == 0)
                        (void)mkdir(queue_dir, 0755);
                if (queue_is_mine(cfg) && maildrop_init(cfg, st) == 0)
                        r = maildrop_store(queue_dir, data.data, data.len,
                                           &name, st);
                else
                        errno = ENOENT;
        }
        if (r < 0 && (errno == EACCES || errno == EPERM ||
                      errno == ENOENT)) {
                if (o->verbose)
                        log_info("%s; using postdrop", st->text);
                r = run_postdrop(cfg, o, &data, st);
        } else if (r == 0 && o->verbose) {
                log_info("stored as %s/%s/%s", queue_dir, MAILDROP_DIR,
                         name);
        }
        /* wake qmgr's pickup now when this user may reach its socket
         * (root, the unprivileged instance's user); others wait for its
         * periodic scan */
        if (r == 0)
                queue_notify(queue_dir);
        free(name);
        buf_release(&data);
        return r;
}
