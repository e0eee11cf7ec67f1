/* imap_cmd.c - the IMAP command table, replies, and the small commands
 * Used by: the imap session (imap_client.c dispatches from the table;
 * every imap_cmd_*.c uses the reply and mailbox-name helpers). Holds
 * CAPABILITY, NOOP, CHECK, LOGOUT, ID (RFC 2971), ENABLE (RFC 5161:
 * CONDSTORE, QRESYNC and IMAP4rev2, RFC 9051 appendix A), NAMESPACE (RFC
 * 2342) and QUOTA (RFC 9208). Maps a struct status to a tagged NO once,
 * per STYLE.md's table. Parses client arguments. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "imap_client.h"
#include "imap_mbname.h"
#include "keywords.h"
#include "log.h"
#include "login_session.h"
#include "mem.h"

/* The commands of the authenticated and selected states, RFC 9051
 * section 6 and the extensions. */
static const struct imap_cmd_def commands[] = {
        { "APPEND", imap_cmd_append, 0 },
        { "CAPABILITY", imap_cmd_capability, 0 },
        { "CHECK", imap_cmd_check, IMAP_CMD_SELECTED },
        { "CLOSE", imap_cmd_close, IMAP_CMD_SELECTED | IMAP_CMD_NO_SYNC },
        { "COMPRESS", imap_cmd_compress, IMAP_CMD_NO_SYNC },
        { "COPY", imap_cmd_copy,
          IMAP_CMD_SELECTED | IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE },
        { "CREATE", imap_cmd_create, 0 },
        { "DELETE", imap_cmd_delete, 0 },
        { "ENABLE", imap_cmd_enable, 0 },
        { "EXAMINE", imap_cmd_examine, IMAP_CMD_NO_SYNC },
        { "EXPUNGE", imap_cmd_expunge, IMAP_CMD_SELECTED | IMAP_CMD_UID },
        { "FETCH", imap_cmd_fetch,
          IMAP_CMD_SELECTED | IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE },
        { "GETQUOTA", imap_cmd_getquota, 0 },
        { "GETQUOTAROOT", imap_cmd_getquotaroot, 0 },
        { "ID", imap_cmd_id, 0 },
        { "IDLE", imap_cmd_idle, 0 },
        { "LIST", imap_cmd_list, 0 },
        { "LOGOUT", imap_cmd_logout, IMAP_CMD_NO_SYNC },
        { "LSUB", imap_cmd_lsub, 0 },
        { "MOVE", imap_cmd_move, IMAP_CMD_SELECTED | IMAP_CMD_UID },
        { "NAMESPACE", imap_cmd_namespace, 0 },
        { "NOOP", imap_cmd_noop, 0 },
        { "RENAME", imap_cmd_rename, 0 },
        { "SEARCH", imap_cmd_search,
          IMAP_CMD_SELECTED | IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE },
        { "SELECT", imap_cmd_select, IMAP_CMD_NO_SYNC },
        { "SETQUOTA", imap_cmd_setquota, 0 },
        { "SORT", imap_cmd_sort,
          IMAP_CMD_SELECTED | IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE },
        { "STATUS", imap_cmd_status, 0 },
        { "STORE", imap_cmd_store,
          IMAP_CMD_SELECTED | IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE },
        { "SUBSCRIBE", imap_cmd_subscribe, 0 },
        { "THREAD", imap_cmd_thread,
          IMAP_CMD_SELECTED | IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE },
        { "UNSELECT", imap_cmd_unselect, IMAP_CMD_SELECTED | IMAP_CMD_NO_SYNC },
        { "UNSUBSCRIBE", imap_cmd_unsubscribe, 0 },
};

const struct imap_cmd_def *imap_cmd_find(const char *name)
{
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (strcasecmp(commands[i].name, name) == 0)
                        return &commands[i];
        return NULL;
}

/* ---- replies ---- */

static void set_reply(struct imap_cmd *cmd, enum imap_reply kind,
                      const char *fmt, va_list ap)
{
        cmd->reply = kind;
        buf_reset(&cmd->text);
        buf_vprintf(&cmd->text, fmt, ap);
}

void imap_cmd_ok(struct imap_cmd *cmd, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        set_reply(cmd, IMAP_REPLY_OK, fmt, ap);
        va_end(ap);
}

void imap_cmd_no(struct imap_cmd *cmd, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        set_reply(cmd, IMAP_REPLY_NO, fmt, ap);
        va_end(ap);
}

void imap_cmd_bad(struct imap_cmd *cmd, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        set_reply(cmd, IMAP_REPLY_BAD, fmt, ap);
        va_end(ap);
}

const char *imap_cmd_internal_error(struct imap_client *c, const char *detail,
                                    char *out, size_t size)
{
        log_error("imap(%s): %s", c->user, detail);
        return login_session_internal_error(out, size);
}

void imap_cmd_fail(struct imap_client *c, struct imap_cmd *cmd,
                   const struct status *st, const char *what)
{
        char text[200];

        if (strcmp(st->code, STATUS_BAD_MAILBOX) == 0) {
                imap_cmd_no(cmd, "[NONEXISTENT] Mailbox doesn't exist%s%s",
                            what != NULL ? ": " : ".",
                            what != NULL ? what : "");
        } else if (strcmp(st->code, STATUS_OVER_QUOTA) == 0 ||
                   strcmp(st->code, STATUS_OVER_QUOTA_TEMP) == 0) {
                imap_cmd_no(cmd, "[OVERQUOTA] Quota exceeded (mailbox for "
                            "user is full)");
        } else if (strcmp(st->code, STATUS_TOO_BIG) == 0) {
                imap_cmd_no(cmd, "[TOOBIG] %s", st->text);
        } else if (status_class(st) == 5) {
                imap_cmd_no(cmd, "[CANNOT] %s", st->text);
        } else {
                char detail[STATUS_TEXT_MAX + 300];
                snprintf(detail, sizeof(detail), "%s%s%s", what != NULL ?
                         what : "", what != NULL ? ": " : "", st->text);
                imap_cmd_internal_error(c, detail, text, sizeof(text));
                imap_cmd_no(cmd, "[%s] %s",
                            strcmp(st->code, STATUS_LOCAL_IO) == 0 ?
                            "SERVERBUG" : "UNAVAILABLE", text);
        }
}

/* ---- mailbox names ---- */

char *imap_cmd_mailbox_arg(struct imap_client *c, struct imap_cmd *cmd,
                           const struct imap_arg *a, char **sent_r)
{
        const char *s = imap_arg_astring(a);
        int utf8 = imap_client_feature(c, IMAP_FEATURE_REV2);
        const char *error;
        struct status st;
        struct buf name;
        char *norm;

        if (sent_r != NULL)
                *sent_r = NULL;
        if (s == NULL) {
                imap_cmd_bad(cmd, "Error in IMAP command %s: Invalid "
                             "arguments.", cmd->name);
                return NULL;
        }
        buf_init(&name, 0);
        if (imap_mbname_decode(s, utf8, &name, &error) < 0) {
                buf_release(&name);
                imap_cmd_no(cmd, "%s", error);
                return NULL;
        }
        norm = maildir_name_normalize(buf_cstr(&name), &st);
        /* RFC 9051 5.1: the name was not in NFC; 6.3.9.7 tells how the
         * client learns what became of it */
        if (norm != NULL && sent_r != NULL && utf8 &&
            strcmp(buf_cstr(&name), s) != 0)
                *sent_r = xstrdup(s);
        buf_release(&name);
        if (norm == NULL)
                imap_cmd_no(cmd, "[CANNOT] Invalid mailbox name");
        return norm;
}

void imap_cmd_write_mailbox(struct imap_client *c, struct buf *out,
                            const char *name)
{
        imap_mbname_write(out, name, imap_client_feature(c, IMAP_FEATURE_REV2));
}

int imap_cmd_flags(struct imap_cmd *cmd, const struct imap_arg *args,
                   size_t n, uint32_t *flags_r, const char ***kw_r,
                   size_t *nkw_r)
{
        static const struct {
                const char *name;
                uint32_t flag;
        } sys[] = {
                { "\\Answered", MAILDIR_FLAG_ANSWERED },
                { "\\Flagged", MAILDIR_FLAG_FLAGGED },
                { "\\Deleted", MAILDIR_FLAG_DELETED },
                { "\\Seen", MAILDIR_FLAG_SEEN },
                { "\\Draft", MAILDIR_FLAG_DRAFT },
        };
        const char **kw = xcalloc(n + 1, sizeof(*kw));
        size_t nkw = 0;

        *flags_r = 0;
        for (size_t i = 0; i < n; i++) {
                const char *f = imap_arg_atom(&args[i]);
                size_t k;

                if (f == NULL)
                        goto bad;
                if (f[0] != '\\') {
                        if (strpbrk(f, "%*]") != NULL ||
                            strlen(f) > KEYWORDS_NAME_MAX)
                                goto bad;
                        kw[nkw++] = f;
                        continue;
                }
                for (k = 0; k < sizeof(sys) / sizeof(sys[0]); k++)
                        if (strcasecmp(f, sys[k].name) == 0)
                                break;
                if (k == sizeof(sys) / sizeof(sys[0])) {
                        imap_cmd_bad(cmd, "Error in IMAP command %s: Invalid "
                                     "system flag %s", cmd->name, f);
                        free(kw);
                        return -1;
                }
                *flags_r |= sys[k].flag;
        }
        *kw_r = kw;
        *nkw_r = nkw;
        return 0;
bad:
        free(kw);
        imap_cmd_bad(cmd, "Error in IMAP command %s: Flags list contains "
                     "non-atoms.", cmd->name);
        return -1;
}

/* ---- the small commands ---- */

void imap_cmd_capability(struct imap_client *c, struct imap_cmd *cmd)
{
        struct buf b;

        buf_init(&b, 0);
        buf_puts(&b, "* CAPABILITY ");
        imap_client_capability(c, &b);
        buf_puts(&b, "\r\n");
        imap_client_send_buf(c, &b);
        buf_release(&b);
        imap_cmd_ok(cmd, "Capability completed.");
}

void imap_cmd_noop(struct imap_client *c, struct imap_cmd *cmd)
{
        imap_cmd_ok(cmd, "NOOP completed.");
}

void imap_cmd_check(struct imap_client *c, struct imap_cmd *cmd)
{
        imap_cmd_ok(cmd, "Check completed.");
}

void imap_cmd_logout(struct imap_client *c, struct imap_cmd *cmd)
{
        imap_client_send(c, "* BYE Logging out\r\n");
        imap_cmd_ok(cmd, "Logout completed.");
        c->logout = 1;
}

/* ID (RFC 2971): the client's fields are read and ignored; ours are
 * name and version */
void imap_cmd_id(struct imap_client *c, struct imap_cmd *cmd)
{
        const struct imap_arg *a = &cmd->args[0];
        struct buf b;

        if (cmd->argc != 1 || (a->type != IMAP_ARG_LIST &&
                               !imap_arg_is_atom(a, "NIL")) ||
            (a->type == IMAP_ARG_LIST && a->len % 2 != 0)) {
                imap_cmd_bad(cmd, "Error in IMAP command ID: Invalid "
                             "parameters.");
                return;
        }
        buf_init(&b, 0);
        buf_puts(&b, "* ID (\"name\" ");
        imap_write_string(&b, cfg_get(c->cfg, "mail_name"),
                          strlen(cfg_get(c->cfg, "mail_name")), 0);
        buf_puts(&b, " \"version\" ");
        imap_write_string(&b, cfg_get(c->cfg, "mail_version"),
                          strlen(cfg_get(c->cfg, "mail_version")), 0);
        buf_puts(&b, ")\r\n");
        imap_client_send_buf(c, &b);
        buf_release(&b);
        imap_cmd_ok(cmd, "ID completed.");
}

/* ENABLE (RFC 5161): unknown capabilities are ignored; ENABLED lists
 * what this command turned on */
void imap_cmd_enable(struct imap_client *c, struct imap_cmd *cmd)
{
        static const struct {
                const char *name;
                unsigned int feature;
        } known[] = {
                { "CONDSTORE", IMAP_FEATURE_CONDSTORE },
                { "IMAP4rev2", IMAP_FEATURE_REV2 },
                { "QRESYNC", IMAP_FEATURE_QRESYNC },
        };
        struct buf b;

        if (cmd->argc == 0) {
                imap_cmd_bad(cmd, "Error in IMAP command ENABLE: Missing "
                             "capabilities.");
                return;
        }
        buf_init(&b, 0);
        buf_puts(&b, "* ENABLED");
        for (size_t i = 0; i < cmd->argc; i++) {
                const char *name = imap_arg_atom(&cmd->args[i]);
                if (name == NULL) {
                        buf_release(&b);
                        imap_cmd_bad(cmd, "Error in IMAP command ENABLE: "
                                     "Invalid arguments.");
                        return;
                }
                for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
                        if (strcasecmp(name, known[k].name) != 0 ||
                            imap_client_feature(c, known[k].feature))
                                continue;
                        imap_client_enable(c, known[k].feature);
                        buf_printf(&b, " %s", known[k].name);
                }
        }
        buf_puts(&b, "\r\n");
        imap_client_send_buf(c, &b);
        buf_release(&b);
        imap_cmd_ok(cmd, "Enabled.");
}

void imap_cmd_namespace(struct imap_client *c, struct imap_cmd *cmd)
{
        imap_client_send(c, "* NAMESPACE ((\"\" \".\")) NIL NIL\r\n");
        imap_cmd_ok(cmd, "Namespace completed.");
}

/* ---- QUOTA (RFC 9208): one root, "User quota", from maildirsize ---- */

#define QUOTA_ROOT "User quota"

/* send_quota - "* QUOTA root (...)"; 1 sent, 0 no quota, -1 with st */
static int send_quota(struct imap_client *c, struct status *st)
{
        struct quota_usage u;
        struct buf b;
        int r = maildir_quota(c->md, &u, st);

        if (r <= 0)
                return r;
        buf_init(&b, 0);
        buf_puts(&b, "* QUOTA \"" QUOTA_ROOT "\" (");
        if (u.bytes_limit > 0)
                buf_printf(&b, "STORAGE %lld %llu",
                           (long long)(u.bytes < 0 ? 0 : u.bytes / 1024),
                           (unsigned long long)(u.bytes_limit / 1024));
        if (u.count_limit > 0)
                buf_printf(&b, "%sMESSAGE %lld %llu",
                           u.bytes_limit > 0 ? " " : "",
                           (long long)(u.count < 0 ? 0 : u.count),
                           (unsigned long long)u.count_limit);
        buf_puts(&b, ")\r\n");
        imap_client_send_buf(c, &b);
        buf_release(&b);
        return 1;
}

void imap_cmd_getquotaroot(struct imap_client *c, struct imap_cmd *cmd)
{
        struct quota_usage u;
        struct status st;
        struct buf b;
        char *name;
        int r;

        if (cmd->argc != 1) {
                imap_cmd_bad(cmd, "Error in IMAP command GETQUOTAROOT: "
                             "Invalid arguments.");
                return;
        }
        if ((name = imap_cmd_mailbox_arg(c, cmd, &cmd->args[0],
                                         NULL)) == NULL)
                return;
        if ((r = maildir_folder_exists(c->md, name, &st)) <= 0) {
                if (r == 0)
                        status_set(&st, STATUS_BAD_MAILBOX, "no such folder");
                imap_cmd_fail(c, cmd, &st, name);
                free(name);
                return;
        }
        if ((r = maildir_quota(c->md, &u, &st)) < 0) {
                imap_cmd_fail(c, cmd, &st, "quota");
                free(name);
                return;
        }
        buf_init(&b, 0);
        buf_puts(&b, "* QUOTAROOT ");
        imap_cmd_write_mailbox(c, &b, name);
        if (r > 0)
                buf_puts(&b, " \"" QUOTA_ROOT "\"");
        buf_puts(&b, "\r\n");
        imap_client_send_buf(c, &b);
        buf_release(&b);
        free(name);
        if (r > 0 && send_quota(c, &st) < 0) {
                imap_cmd_fail(c, cmd, &st, "quota");
                return;
        }
        imap_cmd_ok(cmd, "Getquotaroot completed.");
}

void imap_cmd_getquota(struct imap_client *c, struct imap_cmd *cmd)
{
        const char *root = cmd->argc == 1 ? imap_arg_astring(&cmd->args[0]) :
                           NULL;
        struct status st;
        int r;

        if (root == NULL) {
                imap_cmd_bad(cmd, "Error in IMAP command GETQUOTA: Invalid "
                             "arguments.");
                return;
        }
        if (strcmp(root, QUOTA_ROOT) != 0) {
                imap_cmd_no(cmd, "[NONEXISTENT] Quota root doesn't exist.");
                return;
        }
        if ((r = send_quota(c, &st)) < 0)
                imap_cmd_fail(c, cmd, &st, "quota");
        else if (r == 0)
                imap_cmd_no(cmd, "[NONEXISTENT] Quota root doesn't exist.");
        else
                imap_cmd_ok(cmd, "Getquota completed.");
}

void imap_cmd_setquota(struct imap_client *c, struct imap_cmd *cmd)
{
        imap_cmd_no(cmd, "[NOPERM] Permission denied");
}
