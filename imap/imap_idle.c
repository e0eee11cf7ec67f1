/* imap_idle.c - IDLE (RFC 2177): changes pushed as they happen
 * Used by: the imap session (imap_idle.h). inotify on the folder's new/
 * and cur/ (the folder handle's watch, or one of its own when the handle
 * has none); events wake a short timer that syncs the view, which sends
 * EXISTS, EXPUNGE and FETCH as the RFC allows during IDLE. Runs as the
 * mailbox owner. */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cfg.h"
#include "imap_client.h"
#include "imap_idle.h"
#include "imap_view.h"
#include "log.h"
#include "loop.h"
#include "mem.h"

struct imap_idle {
        int fd;                         /* inotify, or -1 */
        int own_fd;                     /* fd is ours, not the handle's */
        struct loop_fd *watch;
        struct loop_timer *sync_timer;  /* a change to look at */
        struct loop_timer *check_timer; /* the backstop */
        struct loop_timer *notify_timer;
        long long notify_ms;
        int trimmed;                    /* freed heap given back */
};

static void do_sync(void *ctx)
{
        struct imap_client *c = ctx;

        if (c->idle == NULL || c->ending)
                return;
        if (c->view != NULL)
                imap_view_sync(c, 1, 0);
        if (c->idle == NULL)
                return;
        if (c->view != NULL)
                loop_timer_start(c->idle->check_timer, IMAP_IDLE_CHECK_MS);
        /* an idle session may wait for hours: once the command that
         * started it is done with, give back the heap it freed */
        if (!c->idle->trimmed) {
                malloc_trim(0);
                c->idle->trimmed = 1;
        }
}

static void notify(void *ctx)
{
        struct imap_client *c = ctx;

        if (c->idle == NULL || c->ending)
                return;
        imap_client_send(c, "* OK Still here\r\n");
        loop_timer_start(c->idle->notify_timer, c->idle->notify_ms);
}

static void on_inotify(int fd, int events, void *ctx)
{
        struct imap_client *c = ctx;
        char buf[4096];

        /* the events only say "look": drain them */
        if (c->idle != NULL && !c->idle->own_fd && c->view != NULL)
                maildir_box_watch_drain(c->view->box);  /* reads fd */
        else
                while (read(fd, buf, sizeof(buf)) > 0)
                        ;
        if (c->idle != NULL && !loop_timer_pending(c->idle->sync_timer))
                loop_timer_start(c->idle->sync_timer, IMAP_IDLE_DELAY_MS);
}

static void watch_dir(struct imap_client *c, const char *sub)
{
        char *path = xasprintf("%s/%s", maildir_box_path(c->view->box), sub);

        if (inotify_add_watch(c->idle->fd, path, IN_CREATE | IN_MOVED_TO |
                              IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR) < 0)
                log_warn("imap(%s): inotify %s: %m", c->user, path);
        free(path);
}

void imap_cmd_idle(struct imap_client *c, struct imap_cmd *cmd)
{
        struct imap_idle *idle;

        if (cmd->argc != 0) {
                imap_cmd_bad(cmd, "Error in IMAP command IDLE: Invalid "
                             "arguments.");
                return;
        }
        idle = xcalloc(1, sizeof(*idle));
        idle->fd = -1;
        c->idle = idle;
        idle->sync_timer = loop_timer_new(do_sync, c);
        idle->check_timer = loop_timer_new(do_sync, c);
        idle->notify_timer = loop_timer_new(notify, c);
        idle->notify_ms = cfg_get_time(c->cfg, "imap_idle_notify_interval") *
                          1000;
        if (c->view != NULL) {
                idle->fd = maildir_box_watch_fd(c->view->box);
                if (idle->fd < 0) {
                        idle->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
                        idle->own_fd = 1;
                }
                if (idle->fd < 0) {
                        log_warn("imap(%s): inotify_init1: %m", c->user);
                } else {
                        if (idle->own_fd) {
                                watch_dir(c, "new");
                                watch_dir(c, "cur");
                        }
                        idle->watch = loop_fd_new(idle->fd, LOOP_READ,
                                                  on_inotify, c);
                }
                loop_timer_start(idle->check_timer, IMAP_IDLE_CHECK_MS);
        }
        loop_timer_start(idle->notify_timer, idle->notify_ms);
        imap_client_send(c, "+ idling\r\n");
        /* what changed between the last command and now */
        loop_timer_start(idle->sync_timer, 0);
}

void imap_idle_stop(struct imap_client *c)
{
        struct imap_idle *idle = c->idle;

        if (idle == NULL)
                return;
        c->idle = NULL;
        loop_fd_free(&idle->watch);
        if (idle->own_fd && idle->fd >= 0)
                close(idle->fd);
        loop_timer_free(&idle->sync_timer);
        loop_timer_free(&idle->check_timer);
        loop_timer_free(&idle->notify_timer);
        free(idle);
}

void imap_idle_line(struct imap_client *c, const char *line, size_t len)
{
        imap_idle_stop(c);
        if (len == 4 && strncasecmp(line, "DONE", 4) == 0)
                imap_cmd_ok(&c->cmd, "Idle completed.");
        else
                imap_cmd_bad(&c->cmd, "Expected DONE.");
        imap_client_resume(c);
}
