/* qmgr.c - the queue manager
 *   qmgr -c CONFIG_DIR -n qmgr -t unix [-v] [-s]   (started by yubin)
 * Moves new mail from incoming/ (and, through maildrop_pickup, from
 * maildrop/) to active/, has each recipient delivered (qmgr_message.c),
 * and retries deferred/ mail whose time has come (a message's mtime in
 * deferred/ is its next attempt). Woken by queue_notify() datagrams on
 * $queue_directory/private/qmgr, a socket it creates; incoming/ is also
 * scanned every few seconds and deferred/ every queue_run_delay, so a
 * lost datagram only delays mail. At start, files left in active/ by a
 * qmgr that died are put back in incoming/: their recipients' done marks
 * keep what was delivered from being delivered again. The same socket
 * takes the administrator's requests (yubinctl queue flush, hold,
 * release, delete, requeue: queue_ctl.h, carried out by qmgr_ctl.c).
 * Runs as: root only to create the queue directories for mail_owner (and
 * maildrop/ for the postdrop group), then mail_owner; started by an
 * ordinary user, as that user. Parses queue files and local's answers;
 * no network input. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "daemon.h"
#include "log.h"
#include "loop.h"
#include "maildrop.h"
#include "mem.h"
#include "priv.h"
#include "qmgr.h"
#include "queue_ctl.h"
#include "queue_file.h"
#include "resolve.h"

#define TMP_STALE_SECS          (24 * 3600)
#define NOTIFY_BATCH_MAX        64      /* datagrams read per wake-up */

struct qmgr qmgr;

static struct daemon d;
static int notify_fd = -1;
static struct loop_fd *notify_watch;
static struct loop_timer *incoming_timer, *deferred_timer, *stop_timer;

/* open_resolve - the recipient rules; trouble defers mail until a later
 * try succeeds */
static void open_resolve(void)
{
        struct status st;

        if (qmgr.resolve != NULL || loop_now_ms() < qmgr.config_retry_ms)
                return;
        qmgr.config_retry_ms = loop_now_ms() + QMGR_CONFIG_RETRY_MS;
        if (resolve_open(qmgr.cfg, &qmgr.resolve, &st) < 0) {
                if (strcmp(st.text, qmgr.config_st.text) != 0)
                        log_error("%s; mail is deferred until this is fixed",
                                  st.text);
                qmgr.config_st = st;
                return;
        }
        status_clear(&qmgr.config_st);
}

/* activate_from - move id from dir to active/ and start on it */
static void activate_from(const char *dir, const char *id)
{
        struct status st;

        /* still in memory: a message the administrator stopped, whose
         * deliveries under way have not all answered yet */
        if (qmgr_message_find(id) != NULL)
                return;
        /* qmgr scans incoming/, deferred/ and active/ at start: a crash
         * leaves the file in one of them, so no fsync */
        if (queue_move(qmgr.queue_dir, id, dir, QUEUE_ACTIVE,
                       QUEUE_MOVE_NOSYNC, &st) < 0) {
                if (errno != ENOENT)
                        log_warn("%s: %s", id, st.text);
                return;
        }
        qmgr_message_activate(id);
}

static void scan_incoming(void *ctx)
{
        struct status st;
        char **ids = NULL;
        size_t n = 0, picked = 0;

        if (qmgr.draining)
                return;
        open_resolve();
        if (maildrop_pickup(qmgr.cfg, &picked, &st) < 0)
                log_warn("maildrop: %s", st.text);
        if (queue_dir_list(qmgr.queue_dir, QUEUE_INCOMING, &ids, &n,
                           &st) < 0) {
                log_warn("%s", st.text);
        } else {
                for (size_t i = 0; i < n && qmgr.active < QMGR_ACTIVE_MAX;
                     i++)
                        activate_from(QUEUE_INCOMING, ids[i]);
                queue_ids_free(&ids);
        }
        /* more than fits in memory: look again soon */
        loop_timer_start(incoming_timer, qmgr.active >= QMGR_ACTIVE_MAX ?
                         200 : QMGR_INCOMING_SCAN_MS);
}

/* clean_tmp - files a writer left in tmp/ long ago (it died) */
static void clean_tmp(void)
{
        char *dir = xasprintf("%s/%s", qmgr.queue_dir, QUEUE_TMP);
        time_t now = time(NULL);
        struct dirent *de;
        DIR *dp = opendir(dir);

        while (dp != NULL && (de = readdir(dp)) != NULL) {
                struct stat sb;

                if (de->d_name[0] == '.')
                        continue;
                if (fstatat(dirfd(dp), de->d_name, &sb,
                            AT_SYMLINK_NOFOLLOW) == 0 &&
                    S_ISREG(sb.st_mode) && sb.st_mtime < now - TMP_STALE_SECS)
                        unlinkat(dirfd(dp), de->d_name, 0);
        }
        if (dp != NULL)
                closedir(dp);
        free(dir);
}

static void scan_deferred(void *ctx)
{
        struct status st;
        char **ids = NULL;
        size_t n = 0;
        time_t now = time(NULL);

        if (qmgr.draining)
                return;
        open_resolve();
        if (queue_dir_list(qmgr.queue_dir, QUEUE_DEFERRED, &ids, &n,
                           &st) < 0) {
                log_warn("%s", st.text);
        } else {
                for (size_t i = 0; i < n && qmgr.active < QMGR_ACTIVE_MAX;
                     i++) {
                        char *path = queue_path(qmgr.queue_dir,
                                                QUEUE_DEFERRED, ids[i]);
                        struct stat sb;

                        if (stat(path, &sb) == 0 && sb.st_mtime <= now)
                                activate_from(QUEUE_DEFERRED, ids[i]);
                        free(path);
                }
                queue_ids_free(&ids);
        }
        clean_tmp();
        /* more due than fits in memory: look again soon */
        loop_timer_start(deferred_timer, qmgr.active >= QMGR_ACTIVE_MAX ?
                         200 : cfg_get_time(qmgr.cfg, "queue_run_delay") *
                         1000);
}

void qmgr_wakeup(int deferred)
{
        if (qmgr.draining)
                return;
        loop_timer_start(incoming_timer, 0);
        if (deferred)
                loop_timer_start(deferred_timer, 0);
}

/* on_notify - datagrams on private/qmgr: a control request is carried
 * out and answered; anything else says there is new mail */
static void on_notify(int fd, int events, void *ctx)
{
        char buf[QUEUE_CTL_DATAGRAM_MAX];
        int wake = 0;

        for (int i = 0; i < NOTIFY_BATCH_MAX; i++) {
                struct sockaddr_un from;
                socklen_t fromlen = sizeof(from);
                ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
                                     (struct sockaddr *)&from, &fromlen);

                if (n < 0)
                        break;
                if (queue_ctl_is_request(buf, (size_t)n))
                        qmgr_ctl_request(fd, buf, (size_t)n,
                                         (struct sockaddr *)&from, fromlen);
                else
                        wake = 1;
        }
        if (wake && !qmgr.draining)
                loop_timer_start(incoming_timer, 0);
}

/* recover - what a qmgr that died left in active/ starts over */
static void recover(void)
{
        struct status st;
        char **ids = NULL;
        size_t n = 0;

        if (queue_dir_list(qmgr.queue_dir, QUEUE_ACTIVE, &ids, &n, &st) < 0)
                log_fatal("%s", st.text);
        for (size_t i = 0; i < n; i++)
                if (queue_move(qmgr.queue_dir, ids[i], QUEUE_ACTIVE,
                               QUEUE_INCOMING, 0, &st) < 0)
                        log_warn("%s: %s", ids[i], st.text);
        queue_ids_free(&ids);
}

static void check_stop(void *ctx)
{
        if (qmgr.local_busy == 0)
                loop_exit();
        else
                loop_timer_start(stop_timer, 100);
}

/* drain - SIGTERM: stop now (active/ is recovered at the next start);
 * SIGUSR1: take nothing new, let running deliveries report first, so a
 * reload delivers nothing twice */
static void drain(struct daemon *dm, int now)
{
        qmgr.draining = 1;
        loop_fd_free(&notify_watch);
        loop_timer_stop(incoming_timer);
        loop_timer_stop(deferred_timer);
        if (now)
                loop_exit();
        else
                loop_timer_start(stop_timer, 0);
}

int main(int argc, char **argv)
{
        struct priv owner;
        struct status st;
        char *path;

        daemon_init(&d, "qmgr", argc, argv);
        qmgr.cfg = d.cfg;
        qmgr.queue_dir = cfg_get(d.cfg, "queue_directory");
        qmgr.myhostname = cfg_get(d.cfg, "myhostname");
        qmgr.mail_name = cfg_get(d.cfg, "mail_name");
        qmgr.myorigin = cfg_get(d.cfg, "myorigin");
        qmgr.double_bounce_rcpt = cfg_get(d.cfg, "2bounce_notice_recipient");
        qmgr.min_backoff = cfg_get_time(d.cfg, "minimal_backoff_time");
        qmgr.max_backoff = cfg_get_time(d.cfg, "maximal_backoff_time");
        qmgr.queue_lifetime = cfg_get_time(d.cfg, "maximal_queue_lifetime");
        qmgr.bounce_lifetime = cfg_get_time(d.cfg, "bounce_queue_lifetime");
        qmgr.delay_warning = cfg_get_time(d.cfg, "delay_warning_time");
        if (qmgr.bounce_lifetime > qmgr.queue_lifetime)
                qmgr.bounce_lifetime = qmgr.queue_lifetime;
        qmgr.bounce_size_limit = cfg_get_size(d.cfg, "bounce_size_limit");
        qmgr.expansion_limit = cfg_get_int(d.cfg,
                                           "virtual_alias_expansion_limit");
        qmgr.recursion_limit = cfg_get_int(d.cfg,
                                           "virtual_alias_recursion_limit");
        qmgr.local_limit = (size_t)cfg_get_int(d.cfg,
                                               "default_process_limit");
        qmgr.smtp_limit = (size_t)cfg_get_int(d.cfg,
                                              "default_process_limit");
        qmgr.smtp_rcpt_limit = (size_t)cfg_get_int(d.cfg,
                                "smtp_destination_recipient_limit");
        qmgr_dest_init();
        status_clear(&qmgr.config_st);

        /* the queue belongs to mail_owner; make what is missing */
        if (priv_is_root()) {
                if (priv_lookup("mail_owner", cfg_get(d.cfg, "mail_owner"),
                                &owner, &st) < 0)
                        log_fatal_config("%s", st.text);
        } else {
                priv_self(&owner);
        }
        if (queue_dirs_make(qmgr.queue_dir, owner.uid, owner.gid, &st) < 0)
                log_fatal("queue_directory: %s", st.text);
        if (maildrop_init(d.cfg, &st) < 0)
                log_warn("maildrop: %s", st.text);
        daemon_drop_privileges(&d);

        loop_init();
        path = xasprintf("%s/%s", qmgr.queue_dir, QUEUE_NOTIFY_SOCKET);
        notify_fd = daemon_unix_socket(path, SOCK_DGRAM, 0600, NULL);
        free(path);
        recover();
        open_resolve();
        d.drain = drain;
        daemon_watch_signals(&d);
        notify_watch = loop_fd_new(notify_fd, LOOP_READ, on_notify, NULL);
        incoming_timer = loop_timer_new(scan_incoming, NULL);
        deferred_timer = loop_timer_new(scan_deferred, NULL);
        stop_timer = loop_timer_new(check_stop, NULL);
        loop_timer_start(incoming_timer, 0);
        loop_timer_start(deferred_timer, 0);
        log_info("ready: %s/%s", qmgr.queue_dir, QUEUE_NOTIFY_SOCKET);
        loop_run();

        loop_fd_free(&notify_watch);
        if (notify_fd >= 0)
                close(notify_fd);
        loop_timer_free(&incoming_timer);
        loop_timer_free(&deferred_timer);
        loop_timer_free(&stop_timer);
        resolve_free(&qmgr.resolve);
        cfg_free(&d.cfg);
        return 0;
}
