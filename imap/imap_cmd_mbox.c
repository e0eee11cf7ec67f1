/* imap_cmd_mbox.c - CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS
 * Used by: the imap session's command table (imap_cmd.c); STATUS items
 * also serve LIST-STATUS (imap_list.h). RFC 9051 6.3.4-6.3.8 and 6.3.11,
 * with STATUS=SIZE (RFC 8438), HIGHESTMODSEQ (RFC 7162) and APPENDLIMIT
 * (RFC 7889). Renaming INBOX moves its messages into the new folder and
 * leaves INBOX empty, as RFC 9051 says. An IMAP4rev2 name the server
 * composed into NFC is told back in a LIST with OLDNAME (RFC 9051
 * 6.3.9.7). Parses client arguments. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_client.h"
#include "imap_list.h"
#include "imap_view.h"
#include "log.h"
#include "mem.h"

/* one_mailbox - the single mailbox argument of a command, or NULL;
 * sent_r as imap_cmd_mailbox_arg() */
static char *one_mailbox(struct imap_client *c, struct imap_cmd *cmd,
                         char **sent_r)
{
        if (sent_r != NULL)
                *sent_r = NULL;
        if (cmd->argc != 1) {
                imap_cmd_bad(cmd, "Error in IMAP command %s: Invalid "
                             "arguments.", cmd->name);
                return NULL;
        }
        return imap_cmd_mailbox_arg(c, cmd, &cmd->args[0], sent_r);
}

void imap_cmd_create(struct imap_client *c, struct imap_cmd *cmd)
{
        const char *raw = cmd->argc == 1 ? imap_arg_astring(&cmd->args[0]) :
                          NULL;
        struct imap_arg trimmed;
        struct status st;
        char *name, *sent = NULL;
        int r;

        /* RFC 9051 6.3.4: a trailing separator only says the name will
         * have children */
        if (raw != NULL && strlen(raw) > 1 &&
            raw[strlen(raw) - 1] == MAILDIR_SEP) {
                trimmed = cmd->args[0];
                trimmed.str = xstrndup(raw, strlen(raw) - 1);
                name = imap_cmd_mailbox_arg(c, cmd, &trimmed, &sent);
                free(trimmed.str);
        } else {
                name = one_mailbox(c, cmd, &sent);
        }
        if (name == NULL)
                return;
        if (strcmp(name, "INBOX") == 0) {
                imap_cmd_no(cmd, "[ALREADYEXISTS] Mailbox already exists");
                goto out;
        }
        r = maildir_folder_create(c->md, name, &st);
        if (r < 0) {
                imap_cmd_fail(c, cmd, &st, name);
        } else if (r == 0) {
                imap_cmd_no(cmd, "[ALREADYEXISTS] Mailbox already exists");
        } else {
                /* RFC 9051 6.3.4: the NFC name made of the one sent */
                if (sent != NULL)
                        imap_list_tell(c, name, sent);
                imap_cmd_ok(cmd, "Create completed.");
        }
out:
        free(name);
        free(sent);
}

/* under - 1 if name is folder or below it */
static int under(const char *name, const char *folder)
{
        size_t n = strlen(folder);

        return strncmp(name, folder, n) == 0 &&
               (name[n] == '\0' || name[n] == MAILDIR_SEP);
}

void imap_cmd_delete(struct imap_client *c, struct imap_cmd *cmd)
{
        struct status st;
        char *sent;
        char *name = one_mailbox(c, cmd, &sent);
        int r;

        if (name == NULL)
                return;
        if (strcmp(name, "INBOX") == 0) {
                imap_cmd_no(cmd, "[CANNOT] INBOX can't be deleted.");
                goto out;
        }
        /* deleting the selected folder unselects it first */
        if (c->view != NULL && strcmp(c->view->name, name) == 0) {
                imap_view_close(&c->view);
                c->saved_valid = 0;
        }
        r = maildir_folder_delete(c->md, name, &st);
        if (r < 0) {
                imap_cmd_fail(c, cmd, &st, name);
        } else if (r == 0) {
                imap_cmd_no(cmd, "[NONEXISTENT] Mailbox doesn't exist: %s",
                            name);
        } else {
                /* RFC 9051 6.3.5: \NonExistent, under its normal name */
                if (sent != NULL)
                        imap_list_tell(c, name, sent);
                imap_cmd_ok(cmd, "Delete completed.");
        }
out:
        free(name);
        free(sent);
}

/* rename_inbox - move every INBOX message into the new folder */
static int rename_inbox(struct imap_client *c, const char *to,
                        struct status *st)
{
        struct maildir_box *src = NULL, *dst = NULL;
        uint32_t *uids = NULL, *out = NULL;
        int ret = -1;

        if (maildir_folder_create(c->md, to, st) < 0 ||
            maildir_box_open(c->md, "INBOX", 0, &src, st) < 0 ||
            maildir_box_open(c->md, to, 0, &dst, st) < 0 ||
            maildir_sync(src, NULL, st) < 0 || maildir_sync(dst, NULL, st) < 0)
                goto out;
        size_t n = maildir_box_count(src);
        uids = xcalloc(n + 1, sizeof(*uids));
        out = xcalloc(n + 1, sizeof(*out));
        for (size_t i = 0; i < n; i++)
                uids[i] = maildir_box_uid(src, i);
        if (n > 0 && maildir_msg_copy(src, uids, n, dst, 1, out, st) < 0)
                goto out;
        ret = 0;
out:
        free(uids);
        free(out);
        maildir_box_close(&src);
        maildir_box_close(&dst);
        return ret;
}

/* renamed - the OK, after RFC 9051 6.3.6's LIST when either name was
 * normalized: the new name, with the old one as the client sent it */
static void renamed(struct imap_client *c, struct imap_cmd *cmd,
                    const char *from, const char *to, const char *from_sent,
                    const char *to_sent)
{
        if (from_sent != NULL || to_sent != NULL)
                imap_list_tell(c, to, from_sent != NULL ? from_sent : from);
        imap_cmd_ok(cmd, "Rename completed.");
}

void imap_cmd_rename(struct imap_client *c, struct imap_cmd *cmd)
{
        struct status st;
        char *from, *to, *from_sent = NULL, *to_sent = NULL;
        int r;

        if (cmd->argc != 2) {
                imap_cmd_bad(cmd, "Error in IMAP command RENAME: Invalid "
                             "arguments.");
                return;
        }
        if ((from = imap_cmd_mailbox_arg(c, cmd, &cmd->args[0],
                                         &from_sent)) == NULL)
                return;
        if ((to = imap_cmd_mailbox_arg(c, cmd, &cmd->args[1],
                                       &to_sent)) == NULL) {
                free(from);
                free(from_sent);
                return;
        }
        r = maildir_folder_exists(c->md, to, &st);
        if (r > 0 || strcmp(to, "INBOX") == 0) {
                imap_cmd_no(cmd, "[ALREADYEXISTS] Target mailbox already "
                            "exists");
                goto out;
        }
        if (r < 0) {
                imap_cmd_fail(c, cmd, &st, to);
                goto out;
        }
        if (strcmp(from, "INBOX") == 0) {
                if (rename_inbox(c, to, &st) < 0)
                        imap_cmd_fail(c, cmd, &st, to);
                else
                        renamed(c, cmd, from, to, from_sent, to_sent);
                goto out;
        }
        if (c->view != NULL && under(c->view->name, from)) {
                imap_view_close(&c->view);
                c->saved_valid = 0;
        }
        r = maildir_folder_rename(c->md, from, to, &st);
        if (r < 0)
                imap_cmd_fail(c, cmd, &st, from);
        else if (r == 0)
                imap_cmd_no(cmd, "[NONEXISTENT] Mailbox doesn't exist: %s",
                            from);
        else
                renamed(c, cmd, from, to, from_sent, to_sent);
out:
        free(from);
        free(to);
        free(from_sent);
        free(to_sent);
}

static void subscribe(struct imap_client *c, struct imap_cmd *cmd, int on)
{
        struct status st;
        char *name = one_mailbox(c, cmd, NULL);

        if (name == NULL)
                return;
        if (maildir_subscribe(c->md, name, on, &st) < 0)
                imap_cmd_fail(c, cmd, &st, name);
        else
                imap_cmd_ok(cmd, "%s completed.", on ? "Subscribe" :
                            "Unsubscribe");
        free(name);
}

void imap_cmd_subscribe(struct imap_client *c, struct imap_cmd *cmd)
{
        subscribe(c, cmd, 1);
}

void imap_cmd_unsubscribe(struct imap_client *c, struct imap_cmd *cmd)
{
        subscribe(c, cmd, 0);
}

/* ---- STATUS ---- */

static const struct {
        const char *name;
        unsigned int item;
} status_names[] = {
        { "MESSAGES", IMAP_STATUS_MESSAGES },
        { "RECENT", IMAP_STATUS_RECENT },
        { "UIDNEXT", IMAP_STATUS_UIDNEXT },
        { "UIDVALIDITY", IMAP_STATUS_UIDVALIDITY },
        { "UNSEEN", IMAP_STATUS_UNSEEN },
        { "DELETED", IMAP_STATUS_DELETED },
        { "SIZE", IMAP_STATUS_SIZE },
        { "HIGHESTMODSEQ", IMAP_STATUS_HIGHESTMODSEQ },
        { "APPENDLIMIT", IMAP_STATUS_APPENDLIMIT },
};

int imap_status_items(const struct imap_arg *list, unsigned int *items_r)
{
        *items_r = 0;
        if (list->type != IMAP_ARG_LIST || list->len == 0)
                return -1;
        for (size_t i = 0; i < list->len; i++) {
                size_t k;
                for (k = 0; k < sizeof(status_names) / sizeof(status_names[0]);
                     k++)
                        if (imap_arg_is_atom(&list->list[i],
                                             status_names[k].name))
                                break;
                if (k == sizeof(status_names) / sizeof(status_names[0]))
                        return -1;
                *items_r |= status_names[k].item;
        }
        return 0;
}

int imap_status_write(struct imap_client *c, const char *name,
                      unsigned int items, struct buf *out, struct status *st)
{
        struct maildir_box *box = NULL;
        const uint32_t *uids;
        uint32_t *list = NULL;
        size_t count, recent = 0;
        uint64_t unseen = 0, deleted = 0, size = 0;
        int selected = c->view != NULL && strcmp(c->view->name, name) == 0;

        if (selected) {
                box = c->view->box;
                uids = c->view->uids;
                count = c->view->count;
                recent = c->view->recent_count;
        } else {
                int flags = MAILDIR_BOX_READONLY | MAILDIR_BOX_CACHE;
                /* the store knows what no session has claimed yet */
                if (items & (IMAP_STATUS_HIGHESTMODSEQ | IMAP_STATUS_RECENT))
                        flags |= MAILDIR_BOX_MODSEQ;
                if (maildir_box_open(c->md, name, flags, &box, st) < 0)
                        return -1;
                if (maildir_sync(box, NULL, st) < 0) {
                        maildir_box_close(&box);
                        return -1;
                }
                count = maildir_box_count(box);
                recent = maildir_box_recent_count(box);
                list = xcalloc(count + 1, sizeof(*list));
                for (size_t i = 0; i < count; i++)
                        list[i] = maildir_box_uid(box, i);
                uids = list;
        }
        if (items & (IMAP_STATUS_UNSEEN | IMAP_STATUS_DELETED |
                     IMAP_STATUS_SIZE)) {
                for (size_t i = 0; i < count; i++) {
                        struct maildir_msg_info info;
                        uint64_t vsize;
                        if (maildir_msg_info(box, uids[i], &info) <= 0)
                                continue;
                        if ((info.flags & MAILDIR_FLAG_SEEN) == 0)
                                unseen++;
                        if (info.flags & MAILDIR_FLAG_DELETED)
                                deleted++;
                        if ((items & IMAP_STATUS_SIZE) &&
                            maildir_msg_vsize(box, uids[i], &vsize, st) > 0)
                                size += vsize;
                }
        }
        buf_puts(out, "* STATUS ");
        imap_cmd_write_mailbox(c, out, name);
        buf_puts(out, " (");
        size_t mark = out->len;
#define ITEM(flag, fmt, val) \
        if (items & (flag)) \
                buf_printf(out, "%s" fmt, out->len > mark ? " " : "", val)
        ITEM(IMAP_STATUS_MESSAGES, "MESSAGES %zu", count);
        ITEM(IMAP_STATUS_RECENT, "RECENT %zu", recent);
        ITEM(IMAP_STATUS_UIDNEXT, "UIDNEXT %u", maildir_box_uidnext(box));
        ITEM(IMAP_STATUS_UIDVALIDITY, "UIDVALIDITY %u",
             maildir_box_uidvalidity(box));
        ITEM(IMAP_STATUS_UNSEEN, "UNSEEN %llu", (unsigned long long)unseen);
        ITEM(IMAP_STATUS_DELETED, "DELETED %llu", (unsigned long long)deleted);
        ITEM(IMAP_STATUS_SIZE, "SIZE %llu", (unsigned long long)size);
        ITEM(IMAP_STATUS_HIGHESTMODSEQ, "HIGHESTMODSEQ %llu",
             (unsigned long long)maildir_box_highestmodseq(box));
#undef ITEM
        if (items & IMAP_STATUS_APPENDLIMIT) {
                if (out->len > mark)
                        buf_putc(out, ' ');
                if (c->append_limit > 0)
                        buf_printf(out, "APPENDLIMIT %llu",
                                   (unsigned long long)c->append_limit);
                else
                        buf_puts(out, "APPENDLIMIT NIL");
        }
        buf_puts(out, ")\r\n");
        free(list);
        if (!selected)
                maildir_box_close(&box);
        return 0;
}

void imap_cmd_status(struct imap_client *c, struct imap_cmd *cmd)
{
        unsigned int items;
        struct status st;
        struct buf b;
        char *name;

        if (cmd->argc != 2 || imap_status_items(&cmd->args[1], &items) < 0) {
                imap_cmd_bad(cmd, "Error in IMAP command STATUS: Invalid "
                             "arguments.");
                return;
        }
        if ((name = imap_cmd_mailbox_arg(c, cmd, &cmd->args[0],
                                         NULL)) == NULL)
                return;
        if (items & IMAP_STATUS_HIGHESTMODSEQ)
                imap_client_enable(c, IMAP_FEATURE_CONDSTORE);
        buf_init(&b, 0);
        if (imap_status_write(c, name, items, &b, &st) < 0) {
                imap_cmd_fail(c, cmd, &st, name);
        } else {
                imap_client_send_buf(c, &b);
                imap_cmd_ok(cmd, "Status completed.");
        }
        buf_release(&b);
        free(name);
}
