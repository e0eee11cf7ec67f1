/* pop3_cmd.c - the POP3 commands of the TRANSACTION state
 * Used by: pop3_session.c (pop3_session.h). RFC 1939 STAT, LIST, RETR,
 * DELE, NOOP, RSET, TOP, UIDL, QUIT (with UPDATE), and RFC 2449 CAPA,
 * dispatched from a table. Message numbers are those of the snapshot taken
 * at login; replies are worded as Dovecot words them. */
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "log.h"
#include "pop3_session.h"

/* msg_arg - the 0-based index of a message-number argument that names a
 * message not marked deleted; else answers -ERR and returns -1 */
static long msg_arg(struct pop3_session *s, const char *arg)
{
        unsigned long n;

        if (pop3_parse_number(arg, 0xffffffffUL, &n) < 0) {
                conn_printf(s->conn, "-ERR Invalid message number: %.40s\r\n",
                            arg);
                return -1;
        }
        if (n == 0 || n > s->mb->count) {
                conn_printf(s->conn, "-ERR There's no message %lu.\r\n", n);
                return -1;
        }
        if (s->mb->msgs[n - 1].deleted) {
                conn_printf(s->conn, "-ERR Message is deleted.\r\n");
                return -1;
        }
        return (long)(n - 1);
}

static void cmd_capa(struct pop3_session *s, struct pop3_cmd *cmd)
{
        conn_printf(s->conn, "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
                    "PIPELINING\r\nAUTH-RESP-CODE\r\nIMPLEMENTATION %s\r\n"
                    ".\r\n", cfg_get(s->cfg, "mail_name"));
}

static void cmd_stat(struct pop3_session *s, struct pop3_cmd *cmd)
{
        size_t count = 0;
        unsigned long long size = 0;

        for (size_t i = 0; i < s->mb->count; i++) {
                if (s->mb->msgs[i].deleted)
                        continue;
                count++;
                size += s->mb->msgs[i].size;
        }
        conn_printf(s->conn, "+OK %zu %llu\r\n", count, size);
}

/* list_or_uidl - LIST and UIDL share their shape (RFC 1939 sections 5, 7) */
static void list_or_uidl(struct pop3_session *s, struct pop3_cmd *cmd,
                         int uidl)
{
        struct buf out;

        if (cmd->argc == 1) {
                long i = msg_arg(s, cmd->args[0]);

                if (i < 0)
                        return;
                if (uidl)
                        conn_printf(s->conn, "+OK %ld %s\r\n", i + 1,
                                    s->mb->msgs[i].uidl);
                else
                        conn_printf(s->conn, "+OK %ld %llu\r\n", i + 1,
                                    (unsigned long long)s->mb->msgs[i].size);
                return;
        }
        buf_init(&out, 0);
        if (uidl) {
                buf_puts(&out, "+OK\r\n");
        } else {
                size_t count = 0;

                for (size_t i = 0; i < s->mb->count; i++)
                        count += !s->mb->msgs[i].deleted;
                buf_printf(&out, "+OK %zu messages:\r\n", count);
        }
        for (size_t i = 0; i < s->mb->count; i++) {
                const struct pop3_msg *m = &s->mb->msgs[i];

                if (m->deleted)
                        continue;
                if (uidl)
                        buf_printf(&out, "%zu %s\r\n", i + 1, m->uidl);
                else
                        buf_printf(&out, "%zu %llu\r\n", i + 1,
                                   (unsigned long long)m->size);
                if (out.len >= 64 * 1024) {
                        conn_write(s->conn, out.data, out.len);
                        buf_reset(&out);
                }
        }
        buf_puts(&out, ".\r\n");
        conn_write(s->conn, out.data, out.len);
        buf_release(&out);
}

static void cmd_list(struct pop3_session *s, struct pop3_cmd *cmd)
{
        list_or_uidl(s, cmd, 0);
}

static void cmd_uidl(struct pop3_session *s, struct pop3_cmd *cmd)
{
        list_or_uidl(s, cmd, 1);
}

static void cmd_retr(struct pop3_session *s, struct pop3_cmd *cmd)
{
        long i = msg_arg(s, cmd->args[0]);

        if (i >= 0)
                pop3_session_stream(s, (size_t)i, -1);
}

static void cmd_top(struct pop3_session *s, struct pop3_cmd *cmd)
{
        long i = msg_arg(s, cmd->args[0]);
        unsigned long lines;

        if (i < 0)
                return;
        if (pop3_parse_number(cmd->args[1], 0x7fffffffUL, &lines) < 0) {
                conn_printf(s->conn, "-ERR Invalid number of lines: %.40s\r\n",
                            cmd->args[1]);
                return;
        }
        pop3_session_stream(s, (size_t)i, (long)lines);
}

static void cmd_dele(struct pop3_session *s, struct pop3_cmd *cmd)
{
        long i = msg_arg(s, cmd->args[0]);

        if (i < 0)
                return;
        s->mb->msgs[i].deleted = 1;
        conn_printf(s->conn, "+OK Marked to be deleted.\r\n");
}

static void cmd_noop(struct pop3_session *s, struct pop3_cmd *cmd)
{
        conn_printf(s->conn, "+OK\r\n");
}

static void cmd_rset(struct pop3_session *s, struct pop3_cmd *cmd)
{
        for (size_t i = 0; i < s->mb->count; i++)
                s->mb->msgs[i].deleted = 0;
        conn_printf(s->conn, "+OK\r\n");
}

static void cmd_quit(struct pop3_session *s, struct pop3_cmd *cmd)
{
        struct status st;
        char text[160];

        /* RFC 1939 section 6: the UPDATE state */
        if (pop3_mbox_update(s->mb, s->no_flag_updates, &s->deleted,
                             &st) < 0) {
                log_error("pop3(%s): %s", s->ls->user->name, st.text);
                conn_printf(s->conn, "-ERR [SYS/TEMP] %s\r\n",
                            login_session_internal_error(text, sizeof(text)));
                pop3_session_end(s, "Logged out");
                return;
        }
        conn_printf(s->conn, s->deleted > 0 ?
                    "+OK Logging out, messages deleted.\r\n" :
                    "+OK Logging out.\r\n");
        pop3_session_end(s, "Logged out");
}

static const struct {
        enum pop3_cmd_id id;
        void (*handler)(struct pop3_session *s, struct pop3_cmd *cmd);
} handlers[] = {
        { POP3_CMD_CAPA, cmd_capa },
        { POP3_CMD_DELE, cmd_dele },
        { POP3_CMD_LIST, cmd_list },
        { POP3_CMD_NOOP, cmd_noop },
        { POP3_CMD_QUIT, cmd_quit },
        { POP3_CMD_RETR, cmd_retr },
        { POP3_CMD_RSET, cmd_rset },
        { POP3_CMD_STAT, cmd_stat },
        { POP3_CMD_TOP, cmd_top },
        { POP3_CMD_UIDL, cmd_uidl },
};

/* bad - a command that cannot run; too many and the client goes */
static void bad(struct pop3_session *s, const char *reply)
{
        conn_printf(s->conn, "%s\r\n", reply);
        if (++s->bad >= POP3_BAD_COMMANDS_MAX) {
                conn_printf(s->conn, "-ERR Too many invalid commands.\r\n");
                pop3_session_end(s, "Too many invalid commands");
        }
}

void pop3_cmd_run(struct pop3_session *s, char *line, size_t len)
{
        struct pop3_cmd cmd;
        enum pop3_parse_error err = pop3_parse(line, len, &cmd);

        if (err == POP3_PARSE_EMPTY || err == POP3_PARSE_UNKNOWN ||
            (cmd.def->states & POP3_TRANSACTION) == 0) {
                bad(s, "-ERR Unknown command.");
                return;
        }
        if (err == POP3_PARSE_ARGS) {
                bad(s, "-ERR Invalid arguments.");
                return;
        }
        for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
                if (handlers[i].id == cmd.id) {
                        handlers[i].handler(s, &cmd);
                        return;
                }
        }
        bad(s, "-ERR Unknown command.");
}
