/* imap_client.h - one logged-in IMAP client: state, commands, output
 * Used by: the imap program (imap.c starts one client per process) and
 * every imap_cmd_*.c, imap_view.c, imap_fetch*.c, imap_search*.c module.
 * The client is a switch on its connection's events: input goes through
 * the resumable command parser (imap_parser.h), a complete command is
 * looked up in the command table (imap_cmd.c) and run; a command that
 * produces much output (FETCH) runs in steps as the client reads, with
 * input paused meanwhile, so output stays bounded and pipelined commands
 * run in order. After each command the selected mailbox is synced and the
 * changes others made are sent as untagged EXISTS, EXPUNGE (or VANISHED)
 * and FETCH responses, before the tagged reply, at the times RFC 9051
 * section 7.5 allows. Runs as the mailbox owner; parses client input. */
#ifndef YUBIN_IMAP_CLIENT_H
#define YUBIN_IMAP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "plain_conn.h"
#include "imap_parser.h"
#include "imap_seqset.h"
#include "maildir.h"
#include "status.h"

struct cfg;
struct imap_client;
struct imap_cmd;
struct imap_idle;
struct imap_view;
struct imap_compress;
struct login_session;

/* RFC 9051 section 5.4: an autologout timer of at least 30 minutes is
 * the default of imap_client_timeout */
/* unsent output above which a command pauses until the client reads */
#define IMAP_OUT_HIGH           (256 * 1024)
#define IMAP_OUT_LOW            (64 * 1024)
/* bad commands in a row before the client is disconnected */
#define IMAP_BAD_COMMANDS_MAX   20
/* a literal in a command other than APPEND */
#define IMAP_LITERAL_MAX        (64 * 1024)

/* command flags */
#define IMAP_CMD_AUTH           (1u << 0)       /* authenticated state */
#define IMAP_CMD_SELECTED       (1u << 1)       /* needs a mailbox */
#define IMAP_CMD_UID            (1u << 2)       /* may follow UID */
#define IMAP_CMD_NO_EXPUNGE     (1u << 3)       /* no EXPUNGE may follow
                                                 * (without UID) */
#define IMAP_CMD_NO_SYNC        (1u << 4)       /* reply without a sync */

/* ENABLEd or implied features */
#define IMAP_FEATURE_CONDSTORE  (1u << 0)
#define IMAP_FEATURE_QRESYNC    (1u << 1)
#define IMAP_FEATURE_REV2       (1u << 2)       /* ENABLE IMAP4rev2 */

enum imap_reply {
        IMAP_REPLY_NONE,
        IMAP_REPLY_OK,
        IMAP_REPLY_NO,
        IMAP_REPLY_BAD,
};

typedef void imap_cmd_fn(struct imap_client *c, struct imap_cmd *cmd);
/* a command's next step: 1 when done (the reply is set), 0 to be called
 * again once the output drained */
typedef int imap_cmd_cont_fn(struct imap_client *c, struct imap_cmd *cmd);

struct imap_cmd_def {
        const char *name;
        imap_cmd_fn *run;
        unsigned int flags;     /* IMAP_CMD_* */
};

struct imap_cmd {
        const struct imap_cmd_def *def;
        char tag[IMAP_PARSER_TAG_MAX + 1];
        const char *name;               /* as defined: "FETCH" */
        const struct imap_arg *args;    /* borrowed from the parser */
        size_t argc;
        int uid;                        /* "UID FETCH" */
        enum imap_reply reply;
        struct buf text;                /* the tagged reply's text */
        imap_cmd_cont_fn *cont;         /* set by a command that goes on */
        void *ctx;                      /* the command's own state */
        void (*ctx_free)(void *ctx);
};

struct imap_stats {
        uint64_t in, out;
        unsigned long deleted, expunged, trashed;
        unsigned long fetch_hdr_count, fetch_body_count;
        uint64_t fetch_hdr_bytes, fetch_body_bytes;
};

struct imap_client {
        struct cfg *cfg;
        struct plain_conn *conn;
        struct login_session *ls;       /* NULL in preauth mode */
        char *user;
        struct maildir *md;
        struct imap_view *view;         /* the selected mailbox, or NULL */
        struct imap_parser parser;
        struct imap_cmd cmd;            /* the one being run */
        int running;                    /* cmd is in progress */
        int waiting;                    /* cmd->cont waits for a drain */
        unsigned int features;          /* IMAP_FEATURE_* */
        unsigned int bad;
        int ending;                     /* logged out or closing */
        int logout;                     /* LOGOUT: end after the reply */
        int stopped;                    /* the loop was told to end */
        struct imap_idle *idle;         /* IDLE in progress */
        struct imap_compress *compress;
        /* SEARCHRES: the saved result, as UIDs */
        uint32_t *saved;
        size_t saved_count;
        int saved_valid;
        /* limits and settings */
        size_t line_max;
        uint64_t append_limit;          /* 0: none */
        long long timeout_ms;
        struct imap_stats stats;
};

/* ---- the client (imap_client.c) ---- */

/* imap_client_new - a client for user (borrowed, copied) on the
 * connected socket fd (taken), serving the Maildir at maildir_path; ls
 * (taken, may be NULL) is the login that started it. pending (may be
 * NULL) is input that came before, tag (may be NULL) the LOGIN or
 * AUTHENTICATE tag to answer, else "* PREAUTH" is sent. Returns the new
 * client, or NULL when the Maildir could not be opened (logged, and
 * the client told). Ends the process's loop when it is over. */
struct imap_client *imap_client_new(struct cfg *cfg, int fd,
                                    const char *user,
                                    const char *maildir_path,
                                    struct login_session *ls,
                                    const char *tag);
/* imap_client_free - free *cp and clear it; accepts NULL */
void imap_client_free(struct imap_client **cp);
/* imap_client_stop - the server stops: say BYE, log, close at once */
void imap_client_stop(struct imap_client *c);
/* imap_client_end - log "Disconnected: reason", send what is queued and
 * close */
void imap_client_end(struct imap_client *c, const char *reason);

/* output; counted for the logout line */
void imap_client_write(struct imap_client *c, const void *data, size_t len);
void imap_client_send(struct imap_client *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
void imap_client_send_buf(struct imap_client *c, const struct buf *b);
/* imap_client_output_full - 1 while unsent output is above the
 * high-water mark: a command in steps should return 0 and wait */
int imap_client_output_full(const struct imap_client *c);

/* imap_client_capability - append the capabilities of the
 * authenticated state, space-separated, without "CAPABILITY" */
void imap_client_capability(struct imap_client *c, struct buf *out);
/* imap_client_feature - 1 if the feature is enabled */
int imap_client_feature(const struct imap_client *c, unsigned int f);
/* imap_client_enable - enable features (QRESYNC implies CONDSTORE) */
void imap_client_enable(struct imap_client *c, unsigned int f);

/* imap_client_input - feed client input to the parser and run what
 * completes, until a command goes on in steps or IDLE starts; returns
 * the bytes used (the rest waits for the command's end) */
size_t imap_client_input(struct imap_client *c, const char *data,
                         size_t len);
/* imap_client_resume - the command in progress is over (IDLE ended):
 * sync, reply, and read input again */
void imap_client_resume(struct imap_client *c);

/* ---- replies (imap_cmd.c) ---- */

/* imap_cmd_ok, imap_cmd_no, imap_cmd_bad - set the tagged reply */
void imap_cmd_ok(struct imap_cmd *cmd, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
void imap_cmd_no(struct imap_cmd *cmd, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
void imap_cmd_bad(struct imap_cmd *cmd, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* imap_cmd_fail - a NO for st, once (STYLE.md's table): 5.1.1 NONEXISTENT,
 * 5.2.2 OVERQUOTA, 5.3.4 TOOBIG, other 5.x.x CANNOT with st's text;
 * 4.x.x logged with what (may be NULL), then UNAVAILABLE or SERVERBUG
 * with the fixed internal-error text */
void imap_cmd_fail(struct imap_client *c, struct imap_cmd *cmd,
                   const struct status *st, const char *what);
/* imap_cmd_find - the command table's row for name (any case), or NULL */
const struct imap_cmd_def *imap_cmd_find(const char *name);
/* imap_cmd_internal_error - log detail and return the fixed text for the
 * client in out */
const char *imap_cmd_internal_error(struct imap_client *c, const char *detail,
                                    char *out, size_t size);

/* ---- helpers shared by the command modules (imap_cmd.c) ---- */

/* imap_cmd_mailbox_arg - the UTF-8 folder name of a mailbox argument,
 * sent in modified UTF-7, or in UTF-8 once IMAP4rev2 is enabled (then
 * put into NFC, imap_mbname.h); a new string, or NULL with a BAD/NO set
 * on cmd. sent_r (may be NULL) gets a copy of the argument as sent when
 * NFC changed it (the OLDNAME of RFC 9051 6.3.9.7), else NULL; free it
 * with free(). */
char *imap_cmd_mailbox_arg(struct imap_client *c, struct imap_cmd *cmd,
                           const struct imap_arg *a, char **sent_r);
/* imap_cmd_write_mailbox - append a UTF-8 folder name as the client
 * sees it: modified UTF-7, or UTF-8 after ENABLE IMAP4rev2; an atom,
 * quoted or literal as needed */
void imap_cmd_write_mailbox(struct imap_client *c, struct buf *out,
                            const char *name);

/* imap_cmd_flags - the flags of a flag list (APPEND, STORE): n
 * arguments (atoms); system flags into *flags_r, keyword names (borrowed
 * from args) into the new array *kw_r (free with free()). 0, or -1 with
 * a BAD set on cmd (an unknown system flag, \Recent, not an atom). */
int imap_cmd_flags(struct imap_cmd *cmd, const struct imap_arg *args,
                   size_t n, uint32_t *flags_r, const char ***kw_r,
                   size_t *nkw_r);

/* command handlers, one module per family */
imap_cmd_fn imap_cmd_capability, imap_cmd_noop, imap_cmd_logout,
        imap_cmd_id, imap_cmd_enable, imap_cmd_namespace, imap_cmd_check,
        imap_cmd_preauth_only, imap_cmd_getquota, imap_cmd_getquotaroot,
        imap_cmd_setquota;
imap_cmd_fn imap_cmd_select, imap_cmd_examine, imap_cmd_close,
        imap_cmd_unselect, imap_cmd_expunge;
imap_cmd_fn imap_cmd_create, imap_cmd_delete, imap_cmd_rename,
        imap_cmd_subscribe, imap_cmd_unsubscribe, imap_cmd_status;
imap_cmd_fn imap_cmd_list, imap_cmd_lsub;
imap_cmd_fn imap_cmd_append;
imap_cmd_fn imap_cmd_fetch;
imap_cmd_fn imap_cmd_store, imap_cmd_copy, imap_cmd_move;
imap_cmd_fn imap_cmd_search, imap_cmd_sort, imap_cmd_thread;
imap_cmd_fn imap_cmd_idle;
imap_cmd_fn imap_cmd_compress;

#endif
