/* imap_cmd_append.c - APPEND (RFC 9051 6.3.12) with APPENDUID (RFC 4315)
 * Used by: the imap session's command table (imap_cmd.c). The message
 * arrives as a literal (or a literal8 with BINARY, RFC 3516), already
 * checked against APPENDLIMIT (RFC 7889) when it was announced
 * (imap_client.c); parts holding NULs are stored base64-encoded
 * (imap_binary.h). It is written through maildir_save_* so that a crash
 * never leaves half a message in the folder. Parses client arguments. */
#include <stdlib.h>
#include <string.h>

#include "imap_binary.h"
#include "imap_client.h"
#include "imap_date.h"
#include "imap_view.h"
#include "mem.h"

/* target_box - the handle to append through: the selected folder's (the
 * message is then \Recent in this session, unless it was EXAMINEd), or a
 * new one (*opened_r set, close it after) that keeps modseqs, so that the
 * folder's first recent UID is set before the message gets its UID: it
 * is then recent for the next session to select the folder */
static struct maildir_box *target_box(struct imap_client *c, const char *name,
                                      struct maildir_box **opened_r,
                                      struct status *st)
{
        *opened_r = NULL;
        if (c->view != NULL && strcmp(c->view->name, name) == 0)
                return c->view->box;
        if (maildir_box_open(c->md, name,
                             MAILDIR_BOX_CACHE | MAILDIR_BOX_MODSEQ,
                             opened_r, st) < 0)
                return NULL;
        if (maildir_sync(*opened_r, NULL, st) < 0) {
                maildir_box_close(opened_r);
                return NULL;
        }
        return *opened_r;
}

void imap_cmd_append(struct imap_client *c, struct imap_cmd *cmd)
{
        const struct imap_arg *a = cmd->args;
        const char **kw = NULL;
        size_t nkw = 0;
        uint32_t flags = 0, uid = 0;
        time_t date = 0;
        struct maildir_save *sv = NULL;
        struct maildir_box *box, *opened = NULL;
        struct status st;
        struct buf enc;
        char *name = NULL;
        int r;

        buf_init(&enc, 0);
        if (cmd->argc < 2)
                goto bad;
        if ((name = imap_cmd_mailbox_arg(c, cmd, a, NULL)) == NULL)
                return;
        a++;
        if (a->type == IMAP_ARG_LIST) {
                if (imap_cmd_flags(cmd, a->list, a->len, &flags, &kw,
                                   &nkw) < 0)
                        goto out;
                a++;
        }
        if (a->type == IMAP_ARG_QUOTED) {
                if (imap_date_parse_time(a->str, &date) < 0) {
                        imap_cmd_bad(cmd, "Error in IMAP command APPEND: "
                                     "Invalid internal date.");
                        goto out;
                }
                a++;
        }
        if (a->type != IMAP_ARG_LITERAL || a[1].type != IMAP_ARG_EOL)
                goto bad;
        if (a->len == 0) {
                imap_cmd_no(cmd, "Can't save a zero byte message.");
                goto out;
        }
        if (c->append_limit > 0 && a->len > c->append_limit) {
                imap_cmd_no(cmd, "[TOOBIG] Mail size is larger than the "
                            "maximum size allowed.");
                goto out;
        }
        /* RFC 3516 4.4: NULs (a literal8's, or a plain literal's against
         * RFC 3501 4.3) are kept by re-encoding their parts */
        const char *data = a->str;
        size_t len = a->len;
        r = imap_binary_encode(a->str, a->len, &enc);
        if (r < 0) {
                imap_cmd_no(cmd, "[UNKNOWN-CTE] NUL octets outside a body "
                            "part can't be stored.");
                goto out;
        }
        if (r > 0) {
                data = buf_cstr(&enc);
                len = enc.len;
        }
        r = maildir_folder_exists(c->md, name, &st);
        if (r == 0) {
                imap_cmd_no(cmd, "[TRYCREATE] Mailbox doesn't exist: %s",
                            name);
                goto out;
        }
        if (r < 0 || maildir_save_begin(c->md, name, &sv, &st) < 0 ||
            maildir_save_write(sv, data, len, &st) < 0 ||
            (box = target_box(c, name, &opened, &st)) == NULL ||
            maildir_save_append(&sv, box, flags, kw, nkw, date, &uid,
                                &st) < 0) {
                maildir_save_abort(&sv);
                imap_cmd_fail(c, cmd, &st, name);
                goto out;
        }
        imap_cmd_ok(cmd, "[APPENDUID %u %u] Append completed.",
                    maildir_box_uidvalidity(box), uid);
        maildir_box_close(&opened);
        goto out;
bad:
        imap_cmd_bad(cmd, "Error in IMAP command APPEND: Invalid arguments.");
out:
        maildir_box_close(&opened);
        buf_release(&enc);
        free(kw);
        free(name);
}
