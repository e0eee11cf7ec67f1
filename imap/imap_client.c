/* imap_client.c - one logged-in IMAP client: connection, input, commands
 * Used by: imap.c (imap_client.h). A switch on the conn's events; input
 * is fed to the resumable parser, literals are judged as soon as they
 * are announced (RFC 7888: a synchronizing one over the limit gets its
 * tagged NO or BAD instead of "+"; a non-synchronizing one is read and
 * dropped), complete commands run from the table in imap_cmd.c, and
 * commands in steps wait for CONN_DRAINED with input paused. Runs as the
 * mailbox owner; parses client input. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "imap_client.h"
#include "imap_compress.h"
#include "imap_idle.h"
#include "imap_list.h"
#include "imap_view.h"
#include "log.h"
#include "log_auth.h"
#include "login_session.h"
#include "loop.h"
#include "mem.h"
#include "plain_conn.h"

static void on_event(struct plain_conn *conn, enum conn_event ev,
                     const struct conn_ev_data *d, void *ctx);

/* ---- output ---- */

void imap_client_write(struct imap_client *c, const void *data, size_t len)
{
        if (c->conn == NULL || len == 0)
                return;
        c->stats.out += len;
        if (imap_compress_active(c))
                imap_compress_write(c, data, len);
        else
                (void)plain_conn_write(c->conn, data, len);
}

void imap_client_send(struct imap_client *c, const char *fmt, ...)
{
        struct buf b;
        va_list ap;

        buf_init(&b, 0);
        va_start(ap, fmt);
        buf_vprintf(&b, fmt, ap);
        va_end(ap);
        imap_client_write(c, b.data, b.len);
        buf_release(&b);
}

void imap_client_send_buf(struct imap_client *c, const struct buf *b)
{
        imap_client_write(c, b->data, b->len);
}

int imap_client_output_full(const struct imap_client *c)
{
        return c->conn != NULL && plain_conn_output_pending(c->conn) > IMAP_OUT_HIGH;
}

int imap_client_feature(const struct imap_client *c, unsigned int f)
{
        return (c->features & f) != 0;
}

void imap_client_enable(struct imap_client *c, unsigned int f)
{
        if (f & IMAP_FEATURE_QRESYNC)
                f |= IMAP_FEATURE_CONDSTORE;
        /* RFC 7162 3.1: CONDSTORE switched on with a mailbox selected
         * tells the mailbox's highest mod-sequence */
        if ((f & IMAP_FEATURE_CONDSTORE) != 0 &&
            (c->features & IMAP_FEATURE_CONDSTORE) == 0 && c->view != NULL) {
                uint64_t hms = maildir_box_highestmodseq(c->view->box);
                imap_client_send(c, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
                                 (unsigned long long)(hms > 0 ? hms : 1));
        }
        /* RFC 9051 has no \Recent, even for a mailbox already open */
        if ((f & IMAP_FEATURE_REV2) != 0 && c->view != NULL)
                c->view->no_recent = 1;
        c->features |= f;
}

void imap_client_capability(struct imap_client *c, struct buf *out)
{
        buf_puts(out, "IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE "
                 "SORT THREAD=REFERENCES THREAD=ORDEREDSUBJECT UNSELECT "
                 "CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED CONDSTORE QRESYNC "
                 "ESEARCH SEARCHRES LIST-STATUS BINARY MOVE SPECIAL-USE "
                 "QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE STATUS=SIZE");
        if (c->append_limit > 0)
                buf_printf(out, " APPENDLIMIT=%llu",
                           (unsigned long long)c->append_limit);
        else
                buf_puts(out, " APPENDLIMIT");
        if (imap_compress_available(c))
                buf_puts(out, " COMPRESS=DEFLATE");
}

/* ---- the end ---- */

static void log_end(struct imap_client *c, const char *reason)
{
        char stats[512], u[LOG_AUTH_FIELD_MAX];

        snprintf(stats, sizeof(stats), "in=%llu out=%llu deleted=%lu "
                 "expunged=%lu trashed=%lu hdr_count=%lu hdr_bytes=%llu "
                 "body_count=%lu body_bytes=%llu",
                 (unsigned long long)c->stats.in,
                 (unsigned long long)c->stats.out, c->stats.deleted,
                 c->stats.expunged, c->stats.trashed,
                 c->stats.fetch_hdr_count,
                 (unsigned long long)c->stats.fetch_hdr_bytes,
                 c->stats.fetch_body_count,
                 (unsigned long long)c->stats.fetch_body_bytes);
        if (c->ls != NULL)
                login_session_log_end(c->ls, reason, stats);
        else
                log_info("imap(%s): Disconnected: %s %s",
                         log_auth_safe(c->user, u, sizeof(u)), reason, stats);
}

static void cmd_release(struct imap_cmd *cmd)
{
        if (cmd->ctx_free != NULL && cmd->ctx != NULL)
                cmd->ctx_free(cmd->ctx);
        cmd->ctx = NULL;
        cmd->ctx_free = NULL;
        cmd->cont = NULL;
        buf_reset(&cmd->text);
        cmd->reply = IMAP_REPLY_NONE;
}

/* stop_loop - the process has nothing more to do */
static void stop_loop(struct imap_client *c)
{
        if (!c->stopped) {
                c->stopped = 1;
                loop_exit();
        }
}

void imap_client_end(struct imap_client *c, const char *reason)
{
        if (c->ending)
                return;
        c->ending = 1;
        log_end(c, reason);
        imap_idle_stop(c);
        if (c->conn != NULL)
                plain_conn_close(c->conn);
        else
                stop_loop(c);
}

void imap_client_stop(struct imap_client *c)
{
        if (c->conn == NULL)
                return;
        if (!c->ending) {
                imap_client_send(c, "* BYE Server shutting down.\r\n");
                log_end(c, "Server shutting down");
        }
        c->ending = 1;
        imap_idle_stop(c);
        plain_conn_free(&c->conn);
        stop_loop(c);
}

void imap_client_free(struct imap_client **cp)
{
        struct imap_client *c;

        if (cp == NULL || *cp == NULL)
                return;
        c = *cp;
        *cp = NULL;
        imap_idle_stop(c);
        cmd_release(&c->cmd);
        buf_release(&c->cmd.text);
        plain_conn_free(&c->conn);
        imap_compress_free(&c->compress);
        imap_view_close(&c->view);
        maildir_close(&c->md);
        imap_parser_release(&c->parser);
        login_session_free(&c->ls);
        free(c->saved);
        free(c->user);
        free(c);
}

/* ---- commands ---- */

static void input_resume(struct imap_client *c)
{
        if (c->conn != NULL)
                plain_conn_resume(c->conn);
}

/* finish - the command is over: sync, the tagged reply, input again */
static void finish(struct imap_client *c)
{
        struct imap_cmd *cmd = &c->cmd;
        const struct imap_cmd_def *def = cmd->def;
        static const char *const words[] = { "OK", "OK", "NO", "BAD" };

        c->running = 0;
        c->waiting = 0;
        if (c->ending) {
                cmd_release(cmd);
                return;
        }
        if (c->view != NULL && def != NULL &&
            (def->flags & IMAP_CMD_NO_SYNC) == 0)
                imap_view_sync(c, cmd->uid ||
                               (def->flags & IMAP_CMD_NO_EXPUNGE) == 0,
                               cmd->uid);
        if (c->ending) {
                cmd_release(cmd);
                return;
        }
        if (cmd->reply == IMAP_REPLY_NONE)
                imap_cmd_ok(cmd, "%s completed.", cmd->name);
        imap_client_send(c, "%s %s %s\r\n", cmd->tag, words[cmd->reply],
                         buf_cstr(&cmd->text));
        if (cmd->reply == IMAP_REPLY_BAD &&
            ++c->bad >= IMAP_BAD_COMMANDS_MAX) {
                imap_client_send(c, "* BYE Too many invalid IMAP "
                                 "commands.\r\n");
                cmd_release(cmd);
                imap_client_end(c, "Too many invalid IMAP commands");
                return;
        }
        cmd_release(cmd);
        if (c->logout) {
                imap_client_end(c, "Logged out");
                return;
        }
        imap_compress_start_pending(c);
        input_resume(c);
        /* input inflated before the command went on in steps */
        imap_compress_pump(c);
}

/* step - run a command in steps until it is done or the output is full */
static void step(struct imap_client *c)
{
        struct imap_cmd *cmd = &c->cmd;

        while (c->running && cmd->cont != NULL && !c->ending) {
                if (imap_client_output_full(c)) {
                        c->waiting = 1;
                        return;
                }
                if (cmd->cont(c, cmd)) {
                        cmd->cont = NULL;
                        break;
                }
        }
        if (c->running && !c->ending)
                finish(c);
}

void imap_client_resume(struct imap_client *c)
{
        if (c->running)
                finish(c);
}

/* bad_line - a BAD reply outside any command */
static void bad_line(struct imap_client *c, const char *tag, const char *why)
{
        imap_client_send(c, "%s BAD Error in IMAP command received by "
                         "server: %s\r\n", *tag != '\0' ? tag : "*", why);
        if (++c->bad >= IMAP_BAD_COMMANDS_MAX) {
                imap_client_send(c, "* BYE Too many invalid IMAP "
                                 "commands.\r\n");
                imap_client_end(c, "Too many invalid IMAP commands");
        }
}

static void run(struct imap_client *c)
{
        struct imap_cmd *cmd = &c->cmd;
        const char *name = imap_parser_name(&c->parser);
        const struct imap_cmd_def *def;
        size_t argc;
        const struct imap_arg *args = imap_parser_args(&c->parser, &argc);

        cmd_release(cmd);
        snprintf(cmd->tag, sizeof(cmd->tag), "%s",
                 imap_parser_tag(&c->parser));
        cmd->uid = 0;
        cmd->def = NULL;
        cmd->name = name;
        if (strcasecmp(name, "UID") == 0) {
                const char *sub = imap_arg_atom(&args[0]);
                def = sub != NULL ? imap_cmd_find(sub) : NULL;
                if (def == NULL || (def->flags & IMAP_CMD_UID) == 0) {
                        bad_line(c, cmd->tag, "Unknown command.");
                        return;
                }
                cmd->uid = 1;
                args++;
                argc--;
        } else {
                def = imap_cmd_find(name);
        }
        if (def == NULL) {
                bad_line(c, cmd->tag, "Unknown command.");
                return;
        }
        cmd->def = def;
        cmd->name = def->name;
        cmd->args = args;
        cmd->argc = argc;
        c->running = 1;
        if ((def->flags & IMAP_CMD_SELECTED) != 0 && c->view == NULL) {
                imap_cmd_bad(cmd, "No mailbox selected.");
                finish(c);
                return;
        }
        def->run(c, cmd);
        if (c->ending || !c->running)
                return;
        if (c->idle != NULL)
                return;         /* IDLE reads its own lines */
        if (cmd->cont != NULL) {
                if (c->conn != NULL)
                        plain_conn_pause(c->conn);
                step(c);
                return;
        }
        finish(c);
}

/* literal - decide on a literal the parser announced */
static void literal(struct imap_client *c)
{
        struct imap_parser *p = &c->parser;
        int append = strcasecmp(imap_parser_name(p), "APPEND") == 0;
        uint64_t limit = append ? c->append_limit : IMAP_LITERAL_MAX;
        uint64_t size = p->literal_size;
        const char *tag = imap_parser_tag(p);

        if (append && limit == 0)
                limit = UINT32_MAX;
        if (p->literal_total + size > limit) {
                if (append)
                        imap_client_send(c, "%s NO [TOOBIG] Mail size is "
                                         "larger than the maximum size "
                                         "allowed.\r\n", tag);
                else
                        imap_client_send(c, "%s BAD Literal too large.\r\n",
                                         tag);
                if (!p->literal_sync && size > (uint64_t)1 << 32) {
                        imap_client_send(c, "* BYE Literal too large.\r\n");
                        imap_client_end(c, "Literal too large");
                        return;
                }
                imap_parser_literal_reject(p, "Literal too large");
                return;
        }
        imap_parser_literal_accept(p);
        if (p->literal_sync && size > 0)
                imap_client_send(c, "+ OK\r\n");
}

size_t imap_client_input(struct imap_client *c, const char *data,
                         size_t len)
{
        size_t total = len;

        while (!c->ending && !c->running) {
                size_t used = 0;
                enum imap_parse_result r;

                r = imap_parser_feed(&c->parser, data, len, &used);
                data += used;
                len -= used;
                switch (r) {
                case IMAP_PARSE_MORE:
                        break;
                case IMAP_PARSE_LITERAL:
                        literal(c);
                        continue;
                case IMAP_PARSE_ERROR:
                        bad_line(c, imap_parser_tag(&c->parser),
                                 c->parser.error);
                        continue;
                case IMAP_PARSE_DONE:
                        run(c);
                        continue;
                }
                if (len == 0)
                        break;
        }
        uint64_t raw = imap_parser_raw_pending(&c->parser);
        if (raw > 0 && c->conn != NULL && !c->ending &&
            !imap_compress_active(c))
                plain_conn_read_bytes(c->conn, (size_t)raw);
        return total - len;
}

/* line - one input line (CR LF removed) */
static void line(struct imap_client *c, const char *data, size_t len)
{
        c->stats.in += len + 2;
        if (c->idle != NULL) {
                imap_idle_line(c, data, len);
                return;
        }
        if (c->running)
                return;         /* cannot happen: input is paused */
        imap_client_input(c, data, len);
        /* a command cannot end before its CRLF: nothing runs yet */
        if (!c->ending && !c->running && c->idle == NULL)
                imap_client_input(c, "\r\n", 2);
}

static void on_event(struct plain_conn *conn, enum conn_event ev,
                     const struct conn_ev_data *d, void *ctx)
{
        struct imap_client *c = ctx;

        switch (ev) {
        case CONN_LINE:
                if (!c->ending)
                        line(c, d->data, d->len);
                return;
        case CONN_DATA:
                if (c->ending)
                        return;
                if (imap_compress_active(c)) {
                        imap_compress_input(c, d->data, d->len);
                        return;
                }
                c->stats.in += d->len;
                imap_client_input(c, d->data, d->len);
                return;
        case CONN_LINE_TOO_LONG:
                if (c->ending)
                        return;
                imap_parser_reset(&c->parser);
                bad_line(c, "*", "Too long command line");
                return;
        case CONN_DRAINED:
                if (c->running && c->waiting && !c->ending) {
                        c->waiting = 0;
                        step(c);
                }
                return;
        case CONN_TIMEOUT:
        case CONN_DEADLINE:
                if (c->ending) {
                        plain_conn_free(&c->conn);
                        stop_loop(c);
                        return;
                }
                imap_client_send(c, "* BYE Disconnected for inactivity.\r\n");
                imap_client_end(c, "Disconnected for inactivity");
                return;
        case CONN_EOF:
                if (!c->ending)
                        log_end(c, "Connection closed");
                c->ending = 1;
                break;
        case CONN_ERROR:
                if (!c->ending)
                        log_end(c, d->reason);
                c->ending = 1;
                break;
        case CONN_CLOSED:
                break;
        default:
                return;
        }
        imap_idle_stop(c);
        plain_conn_free(&c->conn);
        stop_loop(c);
}

/* ---- the start ---- */

struct imap_client *imap_client_new(struct cfg *cfg, int fd,
                                    const char *user,
                                    const char *maildir_path,
                                    struct login_session *ls,
                                    const char *tag)
{
        struct imap_client *c = xcalloc(1, sizeof(*c));
        struct conn_opts opts;
        struct status st;
        struct buf caps;

        c->cfg = cfg;
        c->ls = ls;
        c->user = xstrdup(user);
        c->line_max = (size_t)cfg_get_size(cfg, "imap_max_line_length");
        c->append_limit = (uint64_t)cfg_get_size(cfg, "message_size_limit");
        c->timeout_ms = cfg_get_time(cfg, "imap_client_timeout") * 1000;
        buf_init(&c->cmd.text, 0);
        imap_parser_init(&c->parser, c->line_max);
        memset(&opts, 0, sizeof(opts));
        opts.line_max = c->line_max;
        opts.out_high = IMAP_OUT_HIGH;
        opts.out_low = IMAP_OUT_LOW;
        opts.idle_ms = c->timeout_ms;
        if (ls != NULL) {
                /* the client, with what the front end read but did not
                 * use put back in front */
                c->conn = plain_conn_new(LOGIN_SESSION_CLIENT_FD, &opts,
                                         on_event, c);
                plain_conn_unread(c->conn, ls->pending.data,
                                  ls->pending.len);
                buf_release(&ls->pending);
        } else {
                c->conn = plain_conn_new(fd, &opts, on_event, c);
        }
        if (maildir_open(maildir_path, MAILDIR_CREATE, &c->md, &st) < 0) {
                char text[200];
                log_error("imap(%s): %s: %s", user, maildir_path, st.text);
                imap_client_send(c, "* BYE [UNAVAILABLE] %s\r\n",
                                 login_session_internal_error(text,
                                                              sizeof(text)));
                imap_client_end(c, "Internal error");
                return c;
        }
        /* the user record's quota; without one, maildirsize's own */
        if (ls != NULL && (ls->user->quota_bytes > 0 ||
                           ls->user->quota_messages > 0))
                maildir_set_quota(c->md, (uint64_t)ls->user->quota_bytes,
                                  (uint64_t)ls->user->quota_messages);
        imap_list_autocreate(c);
        buf_init(&caps, 0);
        imap_client_capability(c, &caps);
        if (tag != NULL && *tag != '\0')
                imap_client_send(c, "%s OK [CAPABILITY %s] Logged in\r\n",
                                 tag, buf_cstr(&caps));
        else
                imap_client_send(c, "* PREAUTH [CAPABILITY %s] Logged in as "
                                 "%s\r\n", buf_cstr(&caps), user);
        buf_release(&caps);
        return c;
}
