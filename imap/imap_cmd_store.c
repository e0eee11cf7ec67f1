/* imap_cmd_store.c - STORE, COPY, MOVE and their UID forms
 * Used by: the imap session's command table (imap_cmd.c). RFC 9051
 * 6.4.6-6.4.8, COPYUID (RFC 4315), MOVE (RFC 6851: COPYUID in an untagged
 * OK, then the expunges, then the tagged OK), UNCHANGEDSINCE and MODIFIED
 * (RFC 7162 3.1.3). Flag changes go to the file names (maildir.h) and get
 * one new MODSEQ per command. Parses client arguments. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_client.h"
#include "imap_list.h"
#include "imap_view.h"
#include "log.h"
#include "mem.h"

struct store_req {
        enum maildir_store_op op;
        int silent;
        uint64_t unchangedsince;        /* UINT64_MAX: none */
        uint32_t flags;
        const char **kw;
        size_t nkw;
};

static int parse_store(struct imap_client *c, struct imap_cmd *cmd,
                       struct store_req *r)
{
        const struct imap_arg *a = &cmd->args[1];
        const char *item;

        r->unchangedsince = UINT64_MAX;
        if (a->type == IMAP_ARG_LIST) {
                if (a->len != 2 || !imap_arg_is_atom(&a->list[0],
                                                     "UNCHANGEDSINCE") ||
                    !imap_arg_number(&a->list[1], INT64_MAX,
                                     &r->unchangedsince))
                        goto bad;
                imap_client_enable(c, IMAP_FEATURE_CONDSTORE);
                a++;
        }
        if ((item = imap_arg_atom(a)) == NULL)
                goto bad;
        r->op = MAILDIR_STORE_REPLACE;
        if (*item == '+') {
                r->op = MAILDIR_STORE_ADD;
                item++;
        } else if (*item == '-') {
                r->op = MAILDIR_STORE_REMOVE;
                item++;
        }
        if (strcasecmp(item, "FLAGS.SILENT") == 0)
                r->silent = 1;
        else if (strcasecmp(item, "FLAGS") != 0)
                goto bad;
        a++;
        if (a->type == IMAP_ARG_LIST) {
                if (a[1].type != IMAP_ARG_EOL)
                        goto bad;
                return imap_cmd_flags(cmd, a->list, a->len, &r->flags,
                                      &r->kw, &r->nkw);
        }
        size_t n = 0;
        while (a[n].type != IMAP_ARG_EOL)
                n++;
        if (n == 0 && r->op != MAILDIR_STORE_REPLACE)
                goto bad;
        return imap_cmd_flags(cmd, a, n, &r->flags, &r->kw, &r->nkw);
bad:
        imap_cmd_bad(cmd, "Error in IMAP command %s: Invalid arguments.",
                     cmd->name);
        return -1;
}

void imap_cmd_store(struct imap_client *c, struct imap_cmd *cmd)
{
        struct imap_view *v = c->view;
        struct store_req r;
        struct imap_seqset modified;
        uint32_t *idx = NULL, *changed = NULL;
        size_t n = 0, nchanged = 0;
        const char *set = imap_arg_atom(&cmd->args[0]);
        struct status st;
        int failed = 0;

        memset(&r, 0, sizeof(r));
        imap_seqset_init(&modified);
        if (cmd->argc < 2 || set == NULL) {
                imap_cmd_bad(cmd, "Error in IMAP command %s: Invalid "
                             "arguments.", cmd->name);
                return;
        }
        if (parse_store(c, cmd, &r) < 0 ||
            imap_view_resolve(c, cmd, set, cmd->uid, &idx, &n) < 0)
                goto out;
        if (v->readonly) {
                /* as Dovecot answers it: nothing changes, no error */
                imap_cmd_ok(cmd, "Store ignored with read-only mailbox.");
                goto out;
        }
        changed = xcalloc(n + 1, sizeof(*changed));
        for (size_t i = 0; i < n; i++) {
                uint32_t uid = v->uids[idx[i]];
                struct maildir_msg_info info;
                uint64_t modseq;

                /* expunged by another session: nothing to keep */
                if (maildir_msg_info(v->box, uid, &info) <= 0)
                        continue;
                if (r.unchangedsince != UINT64_MAX &&
                    maildir_msg_modseq(v->box, uid, &modseq) > 0 &&
                    modseq > r.unchangedsince) {
                        imap_seqset_add(&modified, cmd->uid ? uid :
                                        idx[i] + 1);
                        continue;
                }
                int ret = maildir_msg_store(v->box, uid, r.op, r.flags, r.kw,
                                            r.nkw, &st);
                if (ret < 0) {
                        failed = 1;
                        break;
                }
                if (ret == 0)
                        continue;
                if ((r.flags & MAILDIR_FLAG_DELETED) &&
                    r.op != MAILDIR_STORE_REMOVE &&
                    (info.flags & MAILDIR_FLAG_DELETED) == 0)
                        c->stats.deleted++;
                changed[nchanged++] = idx[i];
        }
        struct status cst;
        if (maildir_modseq_commit(v->box, &cst) < 0)
                log_warn("imap(%s): %s: %s", c->user, v->name, cst.text);
        if (failed) {
                imap_cmd_fail(c, cmd, &st, v->name);
                goto out;
        }
        /* new keywords are announced before the FETCHes that use them */
        imap_view_sync(c, 0, cmd->uid);
        int condstore = imap_client_feature(c, IMAP_FEATURE_CONDSTORE);
        for (size_t i = 0; i < nchanged; i++) {
                if (!r.silent) {
                        imap_view_send_fetch_flags(c, changed[i], cmd->uid);
                } else if (condstore) {
                        uint64_t modseq = 0;
                        uint32_t uid = v->uids[changed[i]];
                        /* a message another session expunged meanwhile
                         * has no mod-sequence to tell (RFC 7162: never 0) */
                        if (maildir_msg_modseq(v->box, uid, &modseq) <= 0 ||
                            modseq == 0)
                                continue;
                        /* RFC 9051 7.5.2: IMAP4rev2 wants UID here */
                        if (cmd->uid ||
                            imap_client_feature(c, IMAP_FEATURE_REV2))
                                imap_client_send(c, "* %u FETCH (UID %u "
                                                 "MODSEQ (%llu))\r\n",
                                                 changed[i] + 1, uid,
                                                 (unsigned long long)modseq);
                        else
                                imap_client_send(c, "* %u FETCH (MODSEQ "
                                                 "(%llu))\r\n", changed[i] + 1,
                                                 (unsigned long long)modseq);
                }
        }
        if (modified.n > 0) {
                struct buf b;
                imap_seqset_normalize(&modified);
                buf_init(&b, 0);
                imap_seqset_write(&b, &modified);
                imap_cmd_ok(cmd, "[MODIFIED %s] Conditional store failed.",
                            buf_cstr(&b));
                buf_release(&b);
        } else {
                /* one another session expunged kept no flags: still OK,
                 * and its EXPUNGE follows (RFC 2180 4.2.1) */
                imap_cmd_ok(cmd, "Store completed.");
        }
out:
        free(r.kw);
        free(idx);
        free(changed);
        imap_seqset_release(&modified);
}

static void copy(struct imap_client *c, struct imap_cmd *cmd, int move)
{
        struct imap_view *v = c->view;
        const char *set = imap_arg_atom(&cmd->args[0]);
        struct maildir_box *dst = NULL;
        uint32_t *idx = NULL, *uids = NULL, *out = NULL;
        size_t n = 0;
        struct status st;
        char *name = NULL;
        int r;

        if (cmd->argc != 2 || set == NULL) {
                imap_cmd_bad(cmd, "Error in IMAP command %s: Invalid "
                             "arguments.", cmd->name);
                return;
        }
        if ((name = imap_cmd_mailbox_arg(c, cmd, &cmd->args[1],
                                         NULL)) == NULL ||
            imap_view_resolve(c, cmd, set, cmd->uid, &idx, &n) < 0)
                goto out;
        if (move && v->readonly) {
                imap_cmd_no(cmd, "Mailbox is read-only.");
                goto out;
        }
        if ((r = maildir_folder_exists(c->md, name, &st)) <= 0) {
                if (r == 0)
                        imap_cmd_no(cmd, "[TRYCREATE] Mailbox doesn't exist: "
                                    "%s", name);
                else
                        imap_cmd_fail(c, cmd, &st, name);
                goto out;
        }
        if (n == 0) {
                if (!cmd->uid)
                        imap_cmd_no(cmd, "No messages found.");
                else
                        imap_cmd_ok(cmd, "No messages found.");
                goto out;
        }
        uids = xcalloc(n, sizeof(*uids));
        out = xcalloc(n, sizeof(*out));
        for (size_t i = 0; i < n; i++)
                uids[i] = v->uids[idx[i]];
        /* with modseqs: the folder's first recent UID is set before the
         * copies get theirs, so they are \Recent for the next session
         * to see them */
        if (maildir_box_open(c->md, name,
                             MAILDIR_BOX_CACHE | MAILDIR_BOX_MODSEQ, &dst,
                             &st) < 0 ||
            maildir_sync(dst, NULL, &st) < 0 ||
            maildir_msg_copy(v->box, uids, n, dst, move, out, &st) < 0) {
                imap_cmd_fail(c, cmd, &st, name);
                goto out;
        }
        if (move && maildir_modseq_commit(v->box, &st) < 0)
                log_warn("imap(%s): %s: %s", c->user, v->name, st.text);
        /* the pairs that were copied, in increasing source order */
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                if (out[i] == 0)
                        continue;
                uids[k] = uids[i];
                out[k++] = out[i];
        }
        const char *use = imap_list_special_use(c, name);
        if (use != NULL && strcmp(use, "\\Trash") == 0)
                c->stats.trashed += k;
        struct buf code;
        buf_init(&code, 0);
        if (k > 0) {
                buf_printf(&code, "[COPYUID %u ", maildir_box_uidvalidity(dst));
                imap_seqset_write_list(&code, uids, k);
                buf_putc(&code, ' ');
                imap_seqset_write_list(&code, out, k);
                buf_puts(&code, "] ");
        }
        if (move) {
                if (k > 0)
                        imap_client_send(c, "* OK %sMoved UIDs.\r\n",
                                         buf_cstr(&code));
                imap_cmd_ok(cmd, "Move completed.");
        } else if (k < n && !cmd->uid) {
                imap_cmd_no(cmd, "[EXPUNGEISSUED] Some of the requested "
                            "messages no longer exist.");
        } else {
                imap_cmd_ok(cmd, "%sCopy completed.", buf_cstr(&code));
        }
        buf_release(&code);
out:
        maildir_box_close(&dst);
        free(idx);
        free(uids);
        free(out);
        free(name);
}

void imap_cmd_copy(struct imap_client *c, struct imap_cmd *cmd)
{
        copy(c, cmd, 0);
}

void imap_cmd_move(struct imap_client *c, struct imap_cmd *cmd)
{
        copy(c, cmd, 1);
}
