/* qmgr_message.c - one message, from active/ to its removal or deferral
 * Used by: qmgr.c (activation), qmgr_deliver.c (local's answers). A pass
 * over a message: open and check the file (a corrupt one goes to
 * corrupt/), log "from=", resolve every pending recipient (resolve.h):
 * virtual aliases are expanded here into recipients appended to the file,
 * local ones go to local, unknown ones bounce, remote ones go to the
 * smtp client (qmgr_smtp.c, one request per destination); then record each recipient's outcome,
 * write one bounce for what failed for good, and either remove the file
 * (nothing pending) or move it to deferred/ with its next attempt time as
 * the file's mtime, or return it when it is too old. Recipients are
 * marked done in the file (fsynced) as soon as they are delivered, so a
 * restarted qmgr never delivers them again. A message still owed the
 * delay warning (delay_warning_time) gets it at the end of such a pass.
 * The messages in memory are kept in a list, so that the administrator's
 * requests (qmgr_ctl.c) can find one and stop it: a stopped message
 * starts no more deliveries, and when those under way have answered it
 * leaves memory with their results recorded, wherever its file now is.
 * Runs as mail_owner. */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "mem.h"
#include "qmgr.h"
#include "resolve.h"

static struct qmgr_msg *msgs;  /* every message in memory */

static void route_pending(struct qmgr_msg *msg);
static void maybe_finish(struct qmgr_msg *msg);
static void sync_added(struct qmgr_msg *msg);
static void forwards_free(struct qmgr_rcpt *rs);
static int add_recipient(struct qmgr_msg *msg, size_t i, const char *addr);

static void grow(struct qmgr_msg *msg)
{
        size_t n = queue_file_rcpt_count(msg->qf);

        if (n <= msg->nrs)
                return;
        msg->rs = xrealloc(msg->rs, n * sizeof(*msg->rs));
        memset(msg->rs + msg->nrs, 0, (n - msg->nrs) * sizeof(*msg->rs));
        msg->nrs = n;
}

static void msg_free(struct qmgr_msg *msg)
{
        for (size_t i = 0; i < msg->nrs; i++) {
                free(msg->rs[i].defer_code);
                free(msg->rs[i].defer_text);
                forwards_free(&msg->rs[i]);
        }
        free(msg->rs);
        for (size_t i = 0; i < msg->nfails; i++) {
                free(msg->fails[i].target);
                free(msg->fails[i].code);
                free(msg->fails[i].text);
        }
        free(msg->fails);
        free(msg->sent_notify);
        free(msg->smtp_batch);
        queue_file_free(&msg->qf);
        if (msg->prev != NULL)
                msg->prev->next = msg->next;
        else
                msgs = msg->next;
        if (msg->next != NULL)
                msg->next->prev = msg->prev;
        free(msg);
        qmgr.active--;
}

struct qmgr_msg *qmgr_message_find(const char *id)
{
        for (struct qmgr_msg *m = msgs; m != NULL; m = m->next)
                if (strcmp(m->id, id) == 0)
                        return m;
        return NULL;
}

void qmgr_message_stop(struct qmgr_msg *msg, enum queue_admin_op op)
{
        msg->stopped = 1;
        if (op == QUEUE_ADMIN_DELETE)
                msg->deleted = 1;
        else if (op == QUEUE_ADMIN_REQUEUE)
                msg->requeued = 1;
}

/* to_corrupt - keep a file that does not parse, for the administrator */
static void to_corrupt(const char *id, const struct status *why)
{
        struct status st;

        if (queue_move(qmgr.queue_dir, id, QUEUE_ACTIVE, QUEUE_CORRUPT, 0,
                       &st) < 0)
                log_error("%s: %s; and moving it to %s/ failed: %s", id,
                          why->text, QUEUE_CORRUPT, st.text);
        else
                log_warn("%s: %s; moved to %s/", id, why->text,
                         QUEUE_CORRUPT);
}

/* set_mtime - the time of the next attempt, kept as the file's mtime */
static void set_mtime(const char *dir, const char *id, time_t when)
{
        char *path = queue_path(qmgr.queue_dir, dir, id);
        struct timespec ts[2] = { { when, 0 }, { when, 0 } };

        if (utimensat(AT_FDCWD, path, ts, 0) < 0)
                log_warn("%s: utimensat: %m", path);
        free(path);
}

void qmgr_message_activate(const char *id)
{
        struct qmgr_msg *msg;
        struct queue_file *qf = NULL;
        struct status st;
        char *path = queue_path(qmgr.queue_dir, QUEUE_ACTIVE, id);
        time_t sec;
        long usec;

        if (queue_file_open(path, 1, &qf, &st) < 0) {
                int gone = access(path, F_OK) < 0 && errno == ENOENT;

                free(path);
                if (status_class(&st) == 5) {
                        to_corrupt(id, &st);
                } else if (!gone) {
                        log_warn("%s: %s", id, st.text);
                        if (queue_move(qmgr.queue_dir, id, QUEUE_ACTIVE,
                                       QUEUE_DEFERRED, 0, &st) == 0)
                                set_mtime(QUEUE_DEFERRED, id, time(NULL) +
                                          qmgr.min_backoff);
                }
                return;
        }
        free(path);
        msg = xcalloc(1, sizeof(*msg));
        msg->next = msgs;
        if (msgs != NULL)
                msgs->prev = msg;
        msgs = msg;
        qmgr.active++;
        snprintf(msg->id, sizeof(msg->id), "%s", id);
        msg->qf = qf;
        sec = queue_file_arrival(qf, &usec);
        msg->arrival = (double)sec + (double)usec / 1e6;
        msg->activated = qmgr_now();
        grow(msg);
        qmgr_log_active(msg);
        route_pending(msg);
}

/* chain - 1 when addr is recipient i's own address or an ancestor's:
 * the expansion of a virtual alias stops there */
static int in_chain(const struct qmgr_msg *msg, size_t i, const char *addr,
                    size_t *depth_r)
{
        size_t depth = 0;
        int found = 0;

        for (size_t p = queue_file_rcpt(msg->qf, i)->parent;
             p != QUEUE_NO_PARENT && depth <= QUEUE_RCPT_MAX;
             p = queue_file_rcpt(msg->qf, p)->parent) {
                depth++;
                if (strcasecmp(queue_file_rcpt(msg->qf, p)->addr, addr) == 0)
                        found = 1;
        }
        *depth_r = depth;
        return found;
}

/* rcpt_done - recipient i's pass is over: record what happened */
static void rcpt_done(struct qmgr_msg *msg, size_t i)
{
        struct qmgr_rcpt *rs = &msg->rs[i];

        if (rs->waiting || rs->finished)
                return;
        rs->finished = 1;
        if (queue_file_rcpt(msg->qf, i)->state != QUEUE_RCPT_PENDING)
                return;
        if (rs->deferred > 0) {
                /* try every target again later; drop its failures now, or
                 * they would be returned twice */
                size_t k = 0;

                for (size_t j = 0; j < msg->nfails; j++) {
                        if (msg->fails[j].rcpt == i) {
                                free(msg->fails[j].target);
                                free(msg->fails[j].code);
                                free(msg->fails[j].text);
                        } else {
                                msg->fails[k++] = msg->fails[j];
                        }
                }
                msg->nfails = k;
                forwards_free(rs);
                /* a stopped message keeps its last reason: this one may
                 * only say that the file moved away */
                if (!msg->stopped)
                        queue_file_defer_reason(msg->qf, i, rs->defer_code,
                                                rs->defer_text);
                return;
        }
        /* what aliases and .forward handed back becomes recipients of
         * their own (msg->rs may move) */
        if (rs->nforwards > 0) {
                char **fw = rs->forwards;
                size_t n = rs->nforwards, added = 0;

                rs->forwards = NULL;
                rs->nforwards = 0;
                for (size_t j = 0; j < n; j++) {
                        if (add_recipient(msg, i, fw[j]) == 0)
                                added++;
                        free(fw[j]);
                }
                free(fw);
                rs = &msg->rs[i];
                rs->sent += added;
        }
        /* local has already recorded a delivered recipient in the file
         * (queue_file_mark_fd); this mark reaches the disk with the next
         * sync, or the file goes */
        if (rs->sent > 0)
                queue_file_mark(msg->qf, i, QUEUE_RCPT_SENT);
        /* bounced: marked once the notice is queued (maybe_finish) */
}

void qmgr_message_result(struct qmgr_msg *msg, size_t i, const char *status,
                         const char *code, const char *target,
                         const char *text, const char *relay,
                         double sent_at)
{
        const struct queue_rcpt *r = queue_file_rcpt(msg->qf, i);
        struct qmgr_rcpt *rs = &msg->rs[i];

        /* a |command or /file is logged and reported under the address
         * that led to it, as Postfix does; the text names it */
        if (*target == '|' || *target == '/')
                target = r->addr;
        qmgr_log_rcpt(msg, target, r->addr, relay, sent_at, qmgr_now(), code,
                      status, text);
        if (strcmp(status, "sent") == 0) {
                rs->sent++;
                if ((r->notify & QUEUE_NOTIFY_SUCCESS) && rs->sent == 1) {
                        msg->sent_notify = xrealloc(msg->sent_notify,
                                (msg->nsent_notify + 1) * sizeof(size_t));
                        msg->sent_notify[msg->nsent_notify++] = i;
                }
        } else if (strcmp(status, "deferred") == 0) {
                if (rs->deferred++ == 0) {
                        rs->defer_code = xstrdup(code);
                        rs->defer_text = xstrdup(text);
                }
        } else {
                struct qmgr_fail *f;

                rs->bounced++;
                msg->fails = xrealloc(msg->fails, (msg->nfails + 1) *
                                      sizeof(*msg->fails));
                f = &msg->fails[msg->nfails++];
                f->rcpt = i;
                f->target = xstrdup(target);
                f->code = xstrdup(code);
                f->text = xstrdup(text);
        }
}

/* add_recipient - addr becomes a new recipient of the message, found by
 * expanding recipient i; 0, or -1 when the expansion went too far (the
 * failure is recorded for i) */
static int add_recipient(struct qmgr_msg *msg, size_t i, const char *addr)
{
        const struct queue_rcpt *r = queue_file_rcpt(msg->qf, i);
        char *orcpt = NULL;

        if (msg->added >= (size_t)qmgr.expansion_limit ||
            queue_file_rcpt_count(msg->qf) >= QUEUE_RCPT_MAX) {
                qmgr_message_result(msg, i, "bounced", STATUS_ROUTING_LOOP,
                                    addr, "too many recipients from alias "
                                    "expansion", "none", qmgr_now());
                return -1;
        }
        if (r->orcpt == NULL) {
                char *x = addr_xtext_encode(r->addr);

                orcpt = xasprintf("rfc822;%s", x);
                free(x);
        }
        queue_file_add_rcpt(msg->qf, i, addr, r->orcpt != NULL ? r->orcpt :
                            orcpt, r->notify);
        free(orcpt);
        msg->added++;
        grow(msg);
        return 0;
}

void qmgr_message_forward(struct qmgr_msg *msg, size_t i, const char *addr)
{
        struct qmgr_rcpt *rs = &msg->rs[i];

        /* kept until the recipient's outcome is known: a deferred one is
         * expanded again at its next attempt */
        if (rs->nforwards >= QMGR_FORWARDS_MAX)
                return;
        rs->forwards = xrealloc(rs->forwards,
                                (rs->nforwards + 1) * sizeof(char *));
        rs->forwards[rs->nforwards++] = xstrdup(addr);
}

static void forwards_free(struct qmgr_rcpt *rs)
{
        for (size_t j = 0; j < rs->nforwards; j++)
                free(rs->forwards[j]);
        free(rs->forwards);
        rs->forwards = NULL;
        rs->nforwards = 0;
}

/* expand - a virtual alias: its targets become recipients of the
 * message, replacing recipient i */
static void expand(struct qmgr_msg *msg, size_t i, const char *value)
{
        const char *p = value;
        size_t before = msg->added;

        while (*p != '\0') {
                size_t len;
                char *target, *full;

                p += strspn(p, ", \t\r\n");
                len = strcspn(p, ", \t\r\n");
                if (len == 0)
                        break;
                target = xstrndup(p, len);
                p += len;
                full = strchr(target, '@') != NULL ? xstrdup(target) :
                       addr_qualify(target, qmgr.myorigin);
                add_recipient(msg, i, full);
                free(full);
                free(target);
        }
        if (msg->added == before)
                qmgr_message_result(msg, i, "bounced", STATUS_BAD_MAILBOX,
                                    queue_file_rcpt(msg->qf, i)->addr,
                                    "virtual alias expands to nothing",
                                    "none", qmgr_now());
        else
                queue_file_mark(msg->qf, i, QUEUE_RCPT_EXPANDED);
        sync_added(msg);
}

static void route(struct qmgr_msg *msg, size_t i)
{
        const char *addr = queue_file_rcpt(msg->qf, i)->addr;
        enum resolve_class cls;
        struct status st;
        char *lookup = NULL;
        size_t depth;
        int no_virtual = in_chain(msg, i, addr, &depth), r;
        double now = qmgr_now();

        if (depth > (size_t)qmgr.recursion_limit) {
                qmgr_message_result(msg, i, "bounced", STATUS_ROUTING_LOOP, addr,
                                    "virtual alias recursion limit exceeded",
                                    "none", now);
                rcpt_done(msg, i);
                return;
        }
        if (qmgr.resolve == NULL) {
                qmgr_message_result(msg, i, "deferred", qmgr.config_st.code,
                                    addr, qmgr.config_st.text, "none", now);
                rcpt_done(msg, i);
                return;
        }
        r = resolve_rcpt_flags(qmgr.resolve, addr, no_virtual ?
                               RESOLVE_NO_VIRTUAL : 0, &cls, &lookup, &st);
        switch (r < 0 ? RESOLVE_TEMPFAIL : cls) {
        case RESOLVE_LOCAL_ALIAS:
        case RESOLVE_LOCAL_USER:
        case RESOLVE_USERDB:
                qmgr_deliver_local(msg, i, no_virtual);
                break;
        case RESOLVE_VIRTUAL_ALIAS:
                expand(msg, i, lookup);
                break;
        case RESOLVE_UNKNOWN:
                qmgr_message_result(msg, i, "bounced", st.code, addr,
                                    st.text, "none", now);
                break;
        case RESOLVE_REMOTE:
                qmgr_deliver_smtp(msg, i);
                break;
        case RESOLVE_TEMPFAIL:
                qmgr_message_result(msg, i, "deferred", st.code, addr,
                                    st.text, "none", now);
                break;
        }
        free(lookup);
        rcpt_done(msg, i);
}

/* sync_added - recipients appended to the file reach the disk before
 * any of them is handed to local, which records them by index */
static void sync_added(struct qmgr_msg *msg)
{
        if (msg->added == msg->added_synced)
                return;
        if (queue_file_sync(msg->qf, NULL) < 0)
                msg->sync_failed = 1;
        msg->added_synced = msg->added;
}

/* route_pending - every pending recipient not yet looked at in this pass
 * (expansion appends more while this runs) */
static void route_pending(struct qmgr_msg *msg)
{
        msg->routing++;
        sync_added(msg);
        for (size_t i = 0; i < queue_file_rcpt_count(msg->qf) &&
             !msg->stopped; i++) {
                struct qmgr_rcpt *rs;

                grow(msg);
                rs = &msg->rs[i];
                if (queue_file_rcpt(msg->qf, i)->state !=
                    QUEUE_RCPT_PENDING || rs->waiting || rs->finished)
                        continue;
                route(msg, i);
        }
        qmgr_deliver_smtp_flush(msg);
        msg->routing--;
        maybe_finish(msg);
}

void qmgr_message_local_done(struct qmgr_msg *msg, size_t i)
{
        msg->rs[i].waiting = 0;
        msg->outstanding--;
        rcpt_done(msg, i);
        route_pending(msg);     /* what local handed back, then finish */
}

/* expire - a message too old to keep: its deferred recipients fail */
static void expire(struct qmgr_msg *msg)
{
        qmgr_log_expired(msg);
        for (size_t i = 0; i < msg->nrs; i++) {
                struct qmgr_rcpt *rs = &msg->rs[i];
                struct qmgr_fail *f;
                const struct queue_rcpt *r = queue_file_rcpt(msg->qf, i);

                if (r->state != QUEUE_RCPT_PENDING || rs->bounced > 0 ||
                    rs->sent > 0)
                        continue;
                msg->fails = xrealloc(msg->fails, (msg->nfails + 1) *
                                      sizeof(*msg->fails));
                f = &msg->fails[msg->nfails++];
                f->rcpt = i;
                f->target = xstrdup(r->addr);
                f->code = xstrdup(rs->defer_code != NULL ? rs->defer_code :
                                  r->defer_code != NULL ? r->defer_code :
                                  STATUS_TEMP);
                f->text = xasprintf("delivery time expired: %s",
                                    rs->defer_text != NULL ? rs->defer_text :
                                    r->defer_text != NULL ? r->defer_text :
                                    "message could not be delivered");
                rs->deferred = 0;
                rs->bounced++;
        }
}

/* deferred_left - 1 when a recipient stays pending after this pass */
static int deferred_left(const struct qmgr_msg *msg)
{
        for (size_t i = 0; i < msg->nrs; i++)
                if (queue_file_rcpt(msg->qf, i)->state == QUEUE_RCPT_PENDING &&
                    msg->rs[i].bounced == 0 && msg->rs[i].sent == 0)
                        return 1;
        return 0;
}

/* finish_stopped - the last delivery under way for a stopped message
 * answered: record the results where the file now is (held, requeued, or
 * gone), and look for it again if it was released or requeued */
static void finish_stopped(struct qmgr_msg *msg)
{
        struct status st;

        if (!msg->deleted) {
                qmgr_success_notice(msg);
                if (msg->requeued)
                        queue_file_requeue(msg->qf, time(NULL));
                if (queue_file_sync(msg->qf, &st) < 0)
                        log_warn("%s: %s", msg->id, st.text);
        }
        msg_free(msg);
        qmgr_wakeup(1);
}

static void maybe_finish(struct qmgr_msg *msg)
{
        struct status st;
        double now;
        long long age;
        int null_sender;

        if (msg->outstanding > 0 || msg->routing > 0)
                return;
        if (msg->stopped) {
                finish_stopped(msg);
                return;
        }
        now = qmgr_now();
        age = (long long)(now - msg->arrival);
        null_sender = *queue_file_sender(msg->qf) == '\0';
        if (deferred_left(msg) &&
            qmgr_expired(age, null_sender ? qmgr.bounce_lifetime :
                         qmgr.queue_lifetime))
                expire(msg);
        if (msg->nfails > 0) {
                if (qmgr_bounce(msg, &st) < 0) {
                        log_warn("%s: cannot return mail to sender: %s; "
                                 "will try again", msg->id, st.text);
                        for (size_t j = 0; j < msg->nfails; j++)
                                queue_file_defer_reason(msg->qf,
                                                        msg->fails[j].rcpt,
                                                        st.code, st.text);
                }
        }
        qmgr_success_notice(msg);
        if (queue_file_pending(msg->qf) == 0) {
                char *path = queue_path(qmgr.queue_dir, QUEUE_ACTIVE,
                                        msg->id);

                if (queue_spare_put(qmgr.queue_dir, path) < 0)
                        log_error("%s: unlink %s: %m", msg->id, path);
                else
                        qmgr_log_removed(msg);
                free(path);
        } else {
                long long wait = qmgr_backoff(age, qmgr.min_backoff,
                                              qmgr.max_backoff);
                int warn = qmgr_delay_due(msg, age);

                queue_file_attempt(msg->qf, (time_t)now);
                /* recorded before it goes out: never sent twice, even
                 * when qmgr dies right after */
                if (warn) {
                        char when[32];

                        snprintf(when, sizeof(when), "%lld",
                                 (long long)now);
                        queue_file_set_attr(msg->qf, QMGR_DELAY_ATTR, when);
                }
                if (queue_file_sync(msg->qf, &st) < 0) {
                        log_warn("%s: %s", msg->id, st.text);
                        warn = 0;
                }
                if (warn)
                        qmgr_delay_notice(msg);
                if (queue_move(qmgr.queue_dir, msg->id, QUEUE_ACTIVE,
                               QUEUE_DEFERRED, 0, &st) < 0)
                        log_error("%s: %s", msg->id, st.text);
                else
                        set_mtime(QUEUE_DEFERRED, msg->id,
                                  (time_t)now + wait);
        }
        msg_free(msg);
}
