/* pop3_session.c - one logged-in POP3 client: connection, streaming, end
 * Used by: pop3.c (pop3_session.h). The session is a switch on the conn's
 * events; commands go to pop3_cmd.c. A message being sent pauses command
 * input and is produced a slice at a time as the client reads (CONN_DRAINED),
 * so a large RETR costs a bounded amount of memory and commands pipelined
 * behind it run in order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "log.h"
#include "loop.h"
#include "pop3_session.h"

/* logout_stats - pop3_logout_format with Dovecot's variables: %t/%p TOP
 * count/bytes, %r/%b RETR count/bytes, %d deleted, %m messages and %s
 * size at login, %% */
static void logout_stats(const struct pop3_session *s, struct buf *out)
{
        const char *fmt = cfg_get(s->cfg, "pop3_logout_format");

        for (const char *p = fmt; *p != '\0'; p++) {
                if (*p != '%' || p[1] == '\0') {
                        buf_putc(out, *p);
                        continue;
                }
                switch (*++p) {
                case 't':
                        buf_printf(out, "%lu", s->top_count);
                        break;
                case 'p':
                        buf_printf(out, "%llu",
                                   (unsigned long long)s->top_bytes);
                        break;
                case 'r':
                        buf_printf(out, "%lu", s->retr_count);
                        break;
                case 'b':
                        buf_printf(out, "%llu",
                                   (unsigned long long)s->retr_bytes);
                        break;
                case 'd':
                        buf_printf(out, "%zu", s->deleted);
                        break;
                case 'm':
                        buf_printf(out, "%zu", s->mb != NULL ?
                                   s->mb->count : (size_t)0);
                        break;
                case 's':
                        buf_printf(out, "%llu", s->mb != NULL ?
                                   (unsigned long long)s->mb->total : 0ULL);
                        break;
                case '%':
                        buf_putc(out, '%');
                        break;
                default:
                        buf_putc(out, '%');
                        buf_putc(out, *p);
                        break;
                }
        }
}

static void log_end(struct pop3_session *s, const char *reason)
{
        struct buf stats;

        buf_init(&stats, 0);
        logout_stats(s, &stats);
        login_session_log_end(s->ls, reason, buf_cstr(&stats));
        buf_release(&stats);
}

static void stream_stop(struct pop3_session *s)
{
        if (!s->streaming)
                return;
        maildir_msg_unmap(&s->map);
        buf_release(&s->out);
        s->streaming = 0;
}

void pop3_session_end(struct pop3_session *s, const char *reason)
{
        if (s->ending)
                return;
        s->ending = 1;
        stream_stop(s);
        log_end(s, reason);
        conn_close(s->conn);
}

void pop3_session_stop(struct pop3_session *s)
{
        if (s->conn == NULL)
                return;
        if (!s->ending)
                log_end(s, "Server shutting down");
        s->ending = 1;
        stream_stop(s);
        conn_free(&s->conn);
        loop_exit();
}

void pop3_session_release(struct pop3_session *s)
{
        stream_stop(s);
        conn_free(&s->conn);
        pop3_mbox_close(&s->mb);
        login_session_free(&s->ls);
}

/* stream_more - send slices until the output is full or the message is
 * out; then let commands flow again */
static void stream_more(struct pop3_session *s)
{
        while (s->streaming &&
               conn_output_pending(s->conn) < POP3_STREAM_HIGH) {
                int done;

                buf_reset(&s->out);
                done = pop3_retr_fill(&s->retr, &s->out, 64 * 1024);
                conn_write(s->conn, s->out.data, s->out.len);
                if (!done)
                        continue;
                if (s->stream_is_top)
                        s->top_bytes += s->retr.octets;
                else
                        s->retr_bytes += s->retr.octets;
                stream_stop(s);
                conn_resume(s->conn);
        }
}

void pop3_session_stream(struct pop3_session *s, size_t i, long top_lines)
{
        struct pop3_msg *m = &s->mb->msgs[i];
        struct status st;
        char text[160];
        int r;

        r = maildir_msg_map(s->mb->box, m->uid, &s->map, &st);
        if (r < 0) {
                log_error("pop3(%s): message UID %u: %s", s->ls->user->name,
                          m->uid, st.text);
                conn_printf(s->conn, "-ERR [SYS/TEMP] %s\r\n",
                            login_session_internal_error(text, sizeof(text)));
                return;
        }
        if (r == 0) {
                conn_printf(s->conn, "-ERR Message is no longer "
                            "available.\r\n");
                return;
        }
        if (top_lines < 0) {
                conn_printf(s->conn, "+OK %llu octets\r\n",
                            (unsigned long long)m->size);
                m->retrieved = 1;
                s->retr_count++;
        } else {
                conn_printf(s->conn, "+OK\r\n");
                s->top_count++;
        }
        pop3_retr_init(&s->retr, s->map.data, s->map.len, top_lines);
        buf_init(&s->out, 0);
        s->streaming = 1;
        s->stream_is_top = top_lines >= 0;
        conn_pause(s->conn);
        stream_more(s);
}

static void on_event(struct conn *c, enum conn_event ev,
                     const struct conn_ev_data *d, void *ctx)
{
        struct pop3_session *s = ctx;

        switch (ev) {
        case CONN_LINE:
                if (!s->ending)
                        pop3_cmd_run(s, (char *)d->data, d->len);
                return;
        case CONN_LINE_TOO_LONG:
                if (!s->ending)
                        conn_printf(c, "-ERR Input line too long.\r\n");
                return;
        case CONN_DRAINED:
                stream_more(s);
                return;
        case CONN_TIMEOUT:
        case CONN_DEADLINE:
                if (s->ending)
                        return;
                conn_printf(c, "-ERR Disconnected for inactivity.\r\n");
                pop3_session_end(s, "Inactivity");
                return;
        case CONN_EOF:
                if (!s->ending)
                        log_end(s, "Connection closed");
                s->ending = 1;
                break;
        case CONN_ERROR:
                if (!s->ending)
                        log_end(s, d->reason);
                s->ending = 1;
                break;
        case CONN_CLOSED:
                break;
        default:
                return;
        }
        stream_stop(s);
        conn_free(&s->conn);
        loop_exit();
}

void pop3_session_start(struct pop3_session *s, struct login_session *ls,
                        struct cfg *cfg)
{
        struct conn_opts opts;
        struct status st;
        char text[160];
        int r;

        memset(s, 0, sizeof(*s));
        s->ls = ls;
        s->cfg = cfg;
        s->no_flag_updates = cfg_get_bool(cfg, "pop3_no_flag_updates");
        memset(&opts, 0, sizeof(opts));
        opts.line_max = POP3_LINE_MAX;
        opts.idle_ms = POP3_IDLE_MS;
        opts.out_high = POP3_STREAM_HIGH;
        opts.out_low = POP3_STREAM_LOW;
        s->conn = login_session_conn(ls, &opts, on_event, s);
        r = pop3_mbox_open(ls->maildir, cfg_get_bool(cfg, "pop3_lock_session"),
                           cfg_get(cfg, "pop3_uidl_format"), &s->mb, &st);
        if (r > 0) {
                conn_printf(s->conn, "-ERR [IN-USE] Mailbox is locked by "
                            "another POP3 session.\r\n");
                pop3_session_end(s, "Mailbox is locked by another POP3 "
                                 "session");
                return;
        }
        if (r < 0) {
                log_error("pop3(%s): %s: %s", ls->user->name, ls->maildir,
                          st.text);
                conn_printf(s->conn, "-ERR [SYS/TEMP] %s\r\n",
                            login_session_internal_error(text, sizeof(text)));
                pop3_session_end(s, "Internal error");
                return;
        }
        conn_printf(s->conn, "+OK Logged in.\r\n");
}
