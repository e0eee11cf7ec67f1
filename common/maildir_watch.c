/* maildir_watch.c - inotify on a folder's new/ and cur/ for its handle
 * Used by: maildir_box.c (MAILDIR_BOX_WATCH), maildir_sync.c (whether a
 * directory whose mtime is too recent to trust must be read again),
 * maildir_msg.c (pausing it), the imap session's IDLE
 * (maildir_box_watch_fd, maildir_box_watch_drain).
 * A directory's mtime has the kernel's coarse clock tick: a change in the
 * tick of the last scan leaves it as it was, which is why such a scan is
 * "dirty" and repeated. With a watch the repeat is needed only when an
 * event came since the last scan began. The handle's own renames and
 * unlinks pause the watch (an event for each of ten thousand flag changes
 * costs the kernel more than the one scan that follows them anyway); the
 * next sync watches again and reads what moved. Without a watch (no
 * inotify, or the per-user instance limit reached) the handle works as
 * before. Runs as the mailbox owner. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "maildir.h"
#include "maildir_private.h"
#include "mem.h"

#define WATCH_EVENTS    (IN_CREATE | IN_DELETE | IN_MOVED_FROM | \
                         IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | \
                         IN_ONLYDIR)

/* The process's one inotify instance, shared by its watching handles:
 * closing an instance waits for the kernel's grace period (milliseconds),
 * and a user may have only so many (128 by default). Events are handed to
 * the handle whose watch they name. */
static int watch_instance = -1;
static struct maildir_box **watchers;
static size_t watcher_count, watcher_alloc;

static void watcher_add(struct maildir_box *box)
{
        if (watcher_count == watcher_alloc) {
                watcher_alloc = watcher_alloc ? watcher_alloc * 2 : 4;
                watchers = xrealloc(watchers,
                                    watcher_alloc * sizeof(*watchers));
        }
        watchers[watcher_count++] = box;
}

static void watcher_remove(struct maildir_box *box)
{
        for (size_t i = 0; i < watcher_count; i++)
                if (watchers[i] == box) {
                        watchers[i] = watchers[--watcher_count];
                        return;
                }
}

/* add_watches - watch new/ and cur/ (again): what happened meanwhile is
 * unknown. -1 and the handle's watch given up when one cannot be added */
static int add_watches(struct maildir_box *box)
{
        box->watch_wd[0] = box->watch_wd[1] = -1;
        box->watch_paused = 0;
        for (int in_new = 0; in_new < 2; in_new++) {
                char *path = xasprintf("%s/%s", box->path,
                                       in_new ? "new" : "cur");
                box->watch_wd[in_new] = inotify_add_watch(box->watch_fd, path,
                                                          WATCH_EVENTS);
                free(path);
                if (box->watch_wd[in_new] < 0) {
                        maildir_watch_close(box);
                        return -1;
                }
        }
        box->watch_events = 1;
        return 0;
}

void maildir_watch_open(struct maildir_box *box)
{
        if (watch_instance < 0)
                watch_instance = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (watch_instance < 0)
                return;
        box->watch_fd = watch_instance;
        watcher_add(box);
        add_watches(box);
}

void maildir_watch_pause(struct maildir_box *box)
{
        if (box->watch_fd < 0 || box->watch_paused)
                return;
        for (int in_new = 0; in_new < 2; in_new++)
                if (box->watch_wd[in_new] >= 0)
                        inotify_rm_watch(box->watch_fd, box->watch_wd[in_new]);
        box->watch_wd[0] = box->watch_wd[1] = -1;
        box->watch_paused = 1;
}

void maildir_watch_close(struct maildir_box *box)
{
        if (box->watch_fd < 0)
                return;
        maildir_watch_pause(box);
        watcher_remove(box);
        box->watch_fd = -1;
}

int maildir_box_watch_fd(const struct maildir_box *box)
{
        return box->watch_fd;
}

/* deliver - one event to the handle watching its directory; an overflow
 * (wd -1) to all */
static void deliver(int wd)
{
        for (size_t i = 0; i < watcher_count; i++)
                if (wd < 0 || watchers[i]->watch_wd[0] == wd ||
                    watchers[i]->watch_wd[1] == wd)
                        watchers[i]->watch_events = 1;
}

void maildir_box_watch_drain(struct maildir_box *box)
{
        union {
                struct inotify_event ev;
                char bytes[16384];
        } buf;
        ssize_t n;

        /* the shared instance, even when this handle has lost its watch:
         * the other handles' events are delivered to them */
        if (watch_instance < 0)
                return;
        while ((n = read(watch_instance, &buf, sizeof(buf))) > 0) {
                size_t off = 0;
                while (off + sizeof(struct inotify_event) <= (size_t)n) {
                        struct inotify_event ev;
                        memcpy(&ev, buf.bytes + off, sizeof(ev));
                        deliver(ev.wd);
                        off += sizeof(ev) + ev.len;
                }
        }
        /* a watch that cannot be read proves nothing */
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
                deliver(-1);
}

int maildir_watch_quiet(struct maildir_box *box)
{
        if (box->watch_fd < 0)
                return 0;
        if (box->watch_paused && add_watches(box) < 0)
                return 0;
        maildir_box_watch_drain(box);
        return !box->watch_events;
}

void maildir_watch_settled(struct maildir_box *box)
{
        box->watch_events = 0;
}

void maildir_watch_unsettled(struct maildir_box *box)
{
        box->watch_events = 1;
}
