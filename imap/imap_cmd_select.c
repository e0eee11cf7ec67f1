/* imap_cmd_select.c - SELECT, EXAMINE, CLOSE, UNSELECT, EXPUNGE
 * Used by: the imap session's command table (imap_cmd.c). RFC 9051
 * 6.3.2/6.3.3 and 6.4.2/6.4.3, UNSELECT (RFC 3691), UID EXPUNGE (RFC
 * 4315), SELECT's CONDSTORE and QRESYNC parameters (RFC 7162 3.1.8,
 * 3.2.5). After ENABLE IMAP4rev2, SELECT and EXAMINE also send the
 * mailbox's LIST and, when they close another, CLOSED; no RECENT or
 * UNSEEN. Parses client arguments. */
#include <stdlib.h>
#include <string.h>

#include "imap_client.h"
#include "imap_list.h"
#include "imap_view.h"
#include "log.h"
#include "mem.h"

struct qresync {
        int given;
        uint64_t uidvalidity, modseq;
        struct imap_seqset known;       /* empty: all */
};

/* parse_params - SELECT's optional parameter list; 0, or -1 with BAD */
static int parse_params(struct imap_client *c, struct imap_cmd *cmd,
                        const struct imap_arg *list, struct qresync *q)
{
        for (size_t i = 0; i < list->len; i++) {
                const struct imap_arg *a = &list->list[i];

                if (imap_arg_is_atom(a, "CONDSTORE")) {
                        /* not imap_client_enable(): the mailbox being
                         * left must not report its HIGHESTMODSEQ; the
                         * SELECT reply carries the new one */
                        c->features |= IMAP_FEATURE_CONDSTORE;
                        continue;
                }
                if (!imap_arg_is_atom(a, "QRESYNC") ||
                    a[1].type != IMAP_ARG_LIST)
                        goto bad;
                if (!imap_client_feature(c, IMAP_FEATURE_QRESYNC)) {
                        imap_cmd_bad(cmd, "Error in IMAP command %s: QRESYNC "
                                     "isn't enabled", cmd->name);
                        return -1;
                }
                const struct imap_arg *p = a[1].list;
                size_t n = a[1].len;
                int dollar;
                if (n < 2 || n > 4 ||
                    !imap_arg_number(&p[0], UINT32_MAX, &q->uidvalidity) ||
                    q->uidvalidity == 0 ||
                    !imap_arg_number(&p[1], INT64_MAX, &q->modseq))
                        goto bad;
                if (n >= 3) {
                        if (p[2].type == IMAP_ARG_LIST) {
                                /* the seq-match data alone: only a hint */
                        } else if (imap_arg_atom(&p[2]) == NULL ||
                                   imap_seqset_parse(p[2].str, UINT32_MAX,
                                                     &q->known, &dollar) < 0 ||
                                   dollar) {
                                goto bad;
                        }
                }
                if (n == 4 && p[3].type != IMAP_ARG_LIST)
                        goto bad;
                q->given = 1;
                i++;
        }
        return 0;
bad:
        imap_cmd_bad(cmd, "Error in IMAP command %s: Invalid parameters",
                     cmd->name);
        return -1;
}

/* send_qresync - RFC 7162 3.2.5.2: what vanished and what changed
 * since the client's modseq */
static void send_qresync(struct imap_client *c, const struct qresync *q)
{
        struct imap_view *v = c->view;
        struct maildir_uid_range *ranges = NULL;
        uint32_t *uids = NULL;
        size_t n = 0;
        struct status st;
        struct imap_seqset gone;

        if (q->uidvalidity != maildir_box_uidvalidity(v->box))
                return;
        imap_seqset_init(&gone);
        if (maildir_expunged_since(v->box, q->modseq, &ranges, &n, &st) < 0) {
                log_warn("imap(%s): %s: %s", c->user, v->name, st.text);
        } else {
                for (size_t i = 0; i < n; i++) {
                        if (q->known.n == 0) {
                                imap_seqset_add_range(&gone, ranges[i].first,
                                                      ranges[i].last);
                                continue;
                        }
                        for (size_t k = 0; k < q->known.n; k++) {
                                uint32_t lo = q->known.v[k].lo;
                                uint32_t hi = q->known.v[k].hi;
                                if (lo < ranges[i].first)
                                        lo = ranges[i].first;
                                if (hi > ranges[i].last)
                                        hi = ranges[i].last;
                                if (lo <= hi)
                                        imap_seqset_add_range(&gone, lo, hi);
                        }
                }
                free(ranges);
                imap_seqset_normalize(&gone);
                if (gone.n > 0) {
                        struct buf b;
                        buf_init(&b, 0);
                        buf_puts(&b, "* VANISHED (EARLIER) ");
                        imap_seqset_write(&b, &gone);
                        buf_puts(&b, "\r\n");
                        imap_client_send_buf(c, &b);
                        buf_release(&b);
                }
        }
        imap_seqset_release(&gone);
        n = 0;
        if (maildir_changed_since(v->box, q->modseq, &uids, &n, &st) < 0) {
                log_warn("imap(%s): %s: %s", c->user, v->name, st.text);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                long idx = imap_view_find(v, uids[i]);
                if (idx >= 0)
                        imap_view_send_fetch_flags(c, (size_t)idx, 1);
        }
        free(uids);
}

static void select_open(struct imap_client *c, struct imap_cmd *cmd,
                        int readonly)
{
        struct qresync q;
        struct status st;
        char *name, *sent = NULL;
        struct imap_view *v;

        memset(&q, 0, sizeof(q));
        imap_seqset_init(&q.known);
        if (cmd->argc < 1 || cmd->argc > 2 ||
            (cmd->argc == 2 && cmd->args[1].type != IMAP_ARG_LIST)) {
                imap_cmd_bad(cmd, "Error in IMAP command %s: Invalid "
                             "arguments.", cmd->name);
                goto out;
        }
        if (cmd->argc == 2 && parse_params(c, cmd, &cmd->args[1], &q) < 0)
                goto out;
        if ((name = imap_cmd_mailbox_arg(c, cmd, &cmd->args[0],
                                         &sent)) == NULL)
                goto out;
        if (c->view != NULL) {
                imap_view_close(&c->view);
                /* RFC 7162 3.2.11 and RFC 9051 6.3.2; sent with
                 * CONDSTORE too, as Dovecot does */
                if (imap_client_feature(c, IMAP_FEATURE_CONDSTORE |
                                        IMAP_FEATURE_REV2))
                        imap_client_send(c, "* OK [CLOSED] Previous mailbox "
                                         "closed.\r\n");
        }
        if (imap_view_open(c, name, readonly, &v, &st) < 0) {
                imap_cmd_fail(c, cmd, &st, name);
                free(name);
                goto out;
        }
        free(name);
        c->view = v;
        c->saved_valid = 0;
        imap_view_send_flags(c);
        imap_client_send(c, "* %zu EXISTS\r\n", v->count);
        if (!imap_client_feature(c, IMAP_FEATURE_REV2)) {
                imap_client_send(c, "* %zu RECENT\r\n", v->recent_count);
                for (size_t i = 0; i < v->count; i++) {
                        struct maildir_msg_info info;
                        if (maildir_msg_info(v->box, v->uids[i], &info) > 0 &&
                            (info.flags & MAILDIR_FLAG_SEEN) == 0) {
                                imap_client_send(c, "* OK [UNSEEN %zu] First "
                                                 "unseen.\r\n", i + 1);
                                break;
                        }
                }
        }
        imap_client_send(c, "* OK [UIDVALIDITY %u] UIDs valid\r\n"
                         "* OK [UIDNEXT %u] Predicted next UID\r\n",
                         maildir_box_uidvalidity(v->box),
                         maildir_box_uidnext(v->box));
        /* RFC 9051 6.3.2: the mailbox's LIST, with OLDNAME when the
         * name was normalized */
        if (imap_client_feature(c, IMAP_FEATURE_REV2))
                imap_list_tell(c, v->name, sent);
        /* RFC 7162: a mod-sequence is positive, even in an empty box */
        uint64_t hms = maildir_box_highestmodseq(v->box);
        imap_client_send(c, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
                         (unsigned long long)(hms > 0 ? hms : 1));
        if (q.given)
                send_qresync(c, &q);
        imap_cmd_ok(cmd, "[%s] %s completed", readonly ? "READ-ONLY" :
                    "READ-WRITE", readonly ? "Examine" : "Select");
out:
        free(sent);
        imap_seqset_release(&q.known);
}

void imap_cmd_select(struct imap_client *c, struct imap_cmd *cmd)
{
        select_open(c, cmd, 0);
}

void imap_cmd_examine(struct imap_client *c, struct imap_cmd *cmd)
{
        select_open(c, cmd, 1);
}

/* expunge_deleted - remove the \Deleted messages (of idx when given);
 * 0, or -1 with st */
static int expunge_deleted(struct imap_client *c, const uint32_t *idx,
                           size_t n, struct status *st)
{
        struct imap_view *v = c->view;
        size_t count = idx != NULL ? n : v->count;

        for (size_t k = 0; k < count; k++) {
                uint32_t uid = v->uids[idx != NULL ? idx[k] : k];
                struct maildir_msg_info info;

                if (maildir_msg_info(v->box, uid, &info) <= 0 ||
                    (info.flags & MAILDIR_FLAG_DELETED) == 0)
                        continue;
                int r = maildir_msg_expunge(v->box, uid, st);
                if (r < 0)
                        return -1;
                if (r > 0)
                        c->stats.expunged++;
        }
        return maildir_modseq_commit(v->box, st);
}

void imap_cmd_expunge(struct imap_client *c, struct imap_cmd *cmd)
{
        uint32_t *idx = NULL;
        size_t n = 0;
        struct status st;

        if (cmd->uid ? cmd->argc != 1 : cmd->argc != 0) {
                imap_cmd_bad(cmd, "Error in IMAP command %s: Invalid "
                             "arguments.", cmd->name);
                return;
        }
        if (c->view->readonly) {
                imap_cmd_no(cmd, "[READ-ONLY] Mailbox is read-only.");
                return;
        }
        if (cmd->uid) {
                const char *set = imap_arg_atom(&cmd->args[0]);
                if (set == NULL) {
                        imap_cmd_bad(cmd, "Error in IMAP command EXPUNGE: "
                                     "Invalid arguments.");
                        return;
                }
                if (imap_view_resolve(c, cmd, set, 1, &idx, &n) < 0)
                        return;
                if (n == 0) {
                        imap_cmd_ok(cmd, "Expunge completed.");
                        return;
                }
        }
        if (expunge_deleted(c, idx, n, &st) < 0)
                imap_cmd_fail(c, cmd, &st, c->view->name);
        else
                imap_cmd_ok(cmd, "Expunge completed.");
        free(idx);
}

void imap_cmd_close(struct imap_client *c, struct imap_cmd *cmd)
{
        struct status st;

        if (!c->view->readonly && expunge_deleted(c, NULL, 0, &st) < 0)
                log_warn("imap(%s): %s: CLOSE: %s", c->user, c->view->name,
                         st.text);
        imap_view_close(&c->view);
        c->saved_valid = 0;
        imap_cmd_ok(cmd, "Close completed.");
}

void imap_cmd_unselect(struct imap_client *c, struct imap_cmd *cmd)
{
        imap_view_close(&c->view);
        c->saved_valid = 0;
        imap_cmd_ok(cmd, "Unselect completed.");
}
