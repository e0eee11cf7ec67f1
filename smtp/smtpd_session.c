/* smtpd_session.c - one SMTP client: the connection, its input, replies
 * Used by: smtpd. A session is a switch on conn events and a pump: raw
 * input is appended to s->in and parsed (smtpd_parse.c) one event at a
 * time while nothing waits; an asynchronous step (restrictions, an authd
 * look-up, AUTH, the queue file commit, the error delay, a TLS handshake)
 * pauses the pump, and the rest of what the client pipelined waits in
 * s->in. Replies collect in s->out and are written when the pump stops,
 * so a pipelined group is answered in one write. Runs as mail_owner;
 * parses network input. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authc.h"
#include "conn.h"
#include "inet_list.h"
#include "log.h"
#include "loop.h"
#include "mem.h"
#include "queue_file.h"
#include "smtpd.h"
#include "smtpd_anvil.h"
#include "smtpd_check.h"
#include "smtpd_log.h"
#include "workq.h"

static void pump(struct smtpd_session *s);
static void shutting_down(struct smtpd_session *s);

/* session_free - forget s; the connection is already gone */
static void session_free(struct smtpd_session *s)
{
        struct smtpd_server *srv = s->srv;

        if (s->prev != NULL)
                s->prev->next = s->next;
        else
                srv->sessions = s->next;
        if (s->next != NULL)
                s->next->prev = s->prev;
        srv->session_count--;
        if (s->anvil_counted)
                smtpd_anvil_disconnect(srv->anvil, s->addr);
        smtpd_reset(s);
        smtpd_check_cancel(&s->check);
        smtpd_check_session_free(s);
        smtpd_auth_cancel(s);
        authc_cancel(&s->req);
        loop_timer_free(&s->timer);
        smtpd_parser_release(&s->parser);
        buf_release(&s->in);
        buf_release(&s->out);
        free(s->helo);
        free(s->name);
        free(s->reverse_name);
        free(s->sasl_user);
        free(s->sasl_method);
        free(s->access_denied);
        free(s->rcpts);
        free(s);
        if (srv->draining && srv->session_count == 0)
                loop_exit();
}

/* end - the connection is over: log, and free s unless a step that cannot
 * be called off (a commit) still runs */
static void end(struct smtpd_session *s)
{
        if (s->gone)
                return;
        s->gone = 1;
        conn_free(&s->conn);
        smtpd_log_disconnect(s);
        smtpd_check_cancel(&s->check);
        smtpd_auth_cancel(s);
        authc_cancel(&s->req);
        if (s->timer != NULL)
                loop_timer_stop(s->timer);
        s->waiting &= SMTPD_WAIT_COMMIT;
        if (s->waiting == 0)
                session_free(s);
}

/* flush - write the replies, unless the error delay holds them */
static void flush(struct smtpd_session *s)
{
        if (s->out.len == 0 || s->conn == NULL ||
            (s->waiting & SMTPD_WAIT_DELAY))
                return;
        conn_write(s->conn, s->out.data, s->out.len);
        buf_reset(&s->out);
}

static void delay_done(void *ctx)
{
        smtpd_resume(ctx, SMTPD_WAIT_DELAY);
}

void smtpd_reply_raw(struct smtpd_session *s, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        buf_vprintf(&s->out, fmt, ap);
        va_end(ap);
        buf_puts(&s->out, "\r\n");
}

void smtpd_reply(struct smtpd_session *s, const char *fmt, ...)
{
        struct smtpd_server *srv = s->srv;
        char line[SMTPD_REPLY_MAX];
        va_list ap;
        int code;

        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        buf_puts(&s->out, line);
        buf_puts(&s->out, "\r\n");
        code = atoi(line);
        if (code == 334 || code == 354)
                return;         /* the command goes on */
        if (s->cur_cmd >= 0) {
                if (code < 400)
                        s->counts[s->cur_cmd].ok++;
                s->cur_cmd = -1;
        }
        if (code < 400 || code == 421 || s->closing)
                return;
        s->errors++;
        if (s->errors >= srv->hard_error_limit) {
                smtpd_log_lost(s, "too many errors");
                snprintf(line, sizeof(line), "421 4.7.0 %s Error: too many "
                         "errors", srv->myhostname);
                smtpd_close(s, line);
                return;
        }
        if (s->errors >= srv->soft_error_limit && srv->error_sleep_ms > 0 &&
            !(s->waiting & SMTPD_WAIT_DELAY)) {
                if (s->timer == NULL)
                        s->timer = loop_timer_new(delay_done, s);
                smtpd_wait(s, SMTPD_WAIT_DELAY);
                loop_timer_start(s->timer, srv->error_sleep_ms);
        }
}

void smtpd_wait(struct smtpd_session *s, unsigned why)
{
        s->waiting |= why;
        if (s->conn != NULL)
                conn_pause(s->conn);
}

void smtpd_resume(struct smtpd_session *s, unsigned why)
{
        s->waiting &= ~why;
        if (s->gone) {
                if (s->waiting == 0)
                        session_free(s);
                return;
        }
        flush(s);
        if (s->waiting != 0)
                return;
        if (s->closing) {
                if (!s->pumping)
                        conn_close(s->conn);
                return;
        }
        conn_resume(s->conn);
        if (s->pumping)
                return;         /* the pump goes on by itself */
        if (s->srv->draining && s->drain_now) {
                shutting_down(s);
                return;
        }
        pump(s);
}

void smtpd_close(struct smtpd_session *s, const char *text)
{
        if (text != NULL)
                smtpd_reply_raw(s, "%s", text);
        s->closing = 1;
        if (s->pumping || s->waiting != 0)
                return;         /* the pump or resume closes */
        flush(s);
        conn_close(s->conn);
}

/* shutting_down - SIGTERM: say so and close */
static void shutting_down(struct smtpd_session *s)
{
        char text[SMTPD_REPLY_MAX];

        snprintf(text, sizeof(text), "421 4.3.2 %s Service shutting down",
                 s->srv->myhostname);
        smtpd_close(s, text);
}

/* bare_lf - Postfix's smtpd_forbid_bare_newline = reject */
static void bare_lf(struct smtpd_session *s)
{
        char reply[128];

        snprintf(reply, sizeof(reply), "%lld 5.5.2 Error: bare <LF> received",
                 s->srv->bare_lf_code);
        smtpd_log_reject(s, s->in_data ? "DATA" : "CONNECT", reply, NULL);
        smtpd_reply(s, "%s", reply);
        smtpd_close(s, NULL);
}

/* pump - parse and act on input while nothing waits */
static void pump(struct smtpd_session *s)
{
        struct smtpd_parse_out o;
        int reject_lf = s->parser.newline == SMTPD_NL_REJECT;

        if (s->pumping)
                return;
        s->pumping = 1;
        while (!s->waiting && !s->closing && !s->gone &&
               (s->in_off < s->in.len || s->parser.end_due)) {
                size_t used = 0;
                enum smtpd_parse_ev ev;

                ev = smtpd_parse(&s->parser, s->in.data + s->in_off,
                                 s->in.len - s->in_off, &used, &o);
                s->in_off += used;
                switch (ev) {
                case SMTPD_EV_MORE:
                        break;
                case SMTPD_EV_LINE:
                        if (o.bare_lf && reject_lf)
                                bare_lf(s);
                        else if (s->auth_mech != NULL)
                                smtpd_auth_line(s, o.data, 0);
                        else
                                smtpd_cmd_line(s, (char *)o.data, o.len);
                        break;
                case SMTPD_EV_LONG:
                        if (s->auth_mech != NULL) {
                                smtpd_auth_line(s, NULL, 1);
                        } else {
                                s->last_cmd = "UNKNOWN";
                                smtpd_reply(s, "500 5.5.2 Error: line too "
                                            "long");
                        }
                        break;
                case SMTPD_EV_TEXT:
                        if (o.eol && o.bare_lf && reject_lf &&
                            s->parser.mode == SMTPD_MODE_DATA)
                                bare_lf(s);
                        else
                                smtpd_data_text(s, o.data, o.len, o.eol);
                        break;
                case SMTPD_EV_END:
                        smtpd_data_end(s);
                        break;
                }
        }
        s->pumping = 0;
        if (s->gone) {
                if (s->waiting == 0)
                        session_free(s);
                return;
        }
        buf_consume(&s->in, s->in_off);
        s->in_off = 0;
        flush(s);
        if (s->closing) {
                if (s->waiting == 0)
                        conn_close(s->conn);
                return;
        }
        if (s->waiting != 0)
                return;
        if (s->srv->draining && s->drain_now && s->in.len == 0 &&
            !s->in_data)
                shutting_down(s);
}

void smtpd_starttls(struct smtpd_session *s)
{
        struct status st;
        size_t discarded = 0, early;

        /* RFC 3207 4.2: nothing the client sent before the handshake
         * counts after it */
        early = s->in.len - s->in_off;
        buf_reset(&s->in);
        s->in_off = 0;
        smtpd_parser_reset(&s->parser);
        flush(s);
        if (conn_starttls(s->conn, s->srv->tls, NULL, &discarded, &st) < 0) {
                log_warn("%s: STARTTLS: %s", s->client, st.text);
                smtpd_close(s, NULL);
                return;
        }
        if (early + discarded > 0)
                smtpd_log_pipelining(s, early + discarded);
        conn_set_timeout(s->conn, s->srv->starttls_timeout_ms);
        smtpd_wait(s, SMTPD_WAIT_TLS);
}

/* tls_ready - a handshake finished */
static void tls_ready(struct smtpd_session *s)
{
        char desc[256];

        s->tls = 1;
        conn_set_timeout(s->conn, s->srv->timeout_ms);
        conn_read_bytes(s->conn, SIZE_MAX);
        if (s->srv->tls_loglevel > 0)
                smtpd_log_tls(s, conn_tls_describe(s->conn, desc,
                                                   sizeof(desc)));
        if (s->waiting & SMTPD_WAIT_TLS) {
                /* STARTTLS: the client starts over (RFC 3207 4.2) */
                free(s->helo);
                s->helo = NULL;
                s->esmtp = 0;
                smtpd_reset(s);
                smtpd_resume(s, SMTPD_WAIT_TLS);
                return;
        }
        if (s->waiting & SMTPD_WAIT_PEER)
                return;         /* connected() greets */
        smtpd_greet(s);
}

static void on_conn(struct conn *c, enum conn_event ev,
                    const struct conn_ev_data *d, void *ctx)
{
        struct smtpd_session *s = ctx;

        switch (ev) {
        case CONN_DATA:
                buf_append(&s->in, d->data, d->len);
                pump(s);
                break;
        case CONN_LINE:
                /* only between a STARTTLS and its handshake, which
                 * discards it anyway */
                break;
        case CONN_LINE_TOO_LONG:
        case CONN_DRAINED:
        case CONN_CONNECTED:
                break;
        case CONN_TLS_READY:
                tls_ready(s);
                break;
        case CONN_TIMEOUT:
        case CONN_DEADLINE:
                if (s->closing) {
                        end(s);
                        break;
                }
                smtpd_log_lost(s, "timeout");
                s->waiting &= ~SMTPD_WAIT_DELAY;
                buf_printf(&s->out, "421 4.4.2 %s Error: timeout exceeded\r\n",
                           s->srv->myhostname);
                smtpd_close(s, NULL);
                if (s->waiting != 0) {
                        flush(s);
                        conn_close(s->conn);
                }
                break;
        case CONN_EOF:
                if (!s->closing)
                        smtpd_log_lost(s, "lost connection");
                end(s);
                break;
        case CONN_ERROR:
                if (!s->tls && (s->waiting & SMTPD_WAIT_TLS ||
                                s->srv->wrappermode))
                        smtpd_log_tls_failed(s, d->reason);
                if (!s->closing)
                        smtpd_log_lost(s, "lost connection");
                end(s);
                break;
        case CONN_CLOSED:
                end(s);
                break;
        }
}

/* greeted - the connect-time client restrictions answered */
static void greeted(struct smtpd_session *s, int verdict, const char *reply)
{
        if (verdict == SMTPD_REJECTED) {
                smtpd_log_reject(s, "CONNECT", reply, NULL);
                s->access_denied = xstrdup(reply);
                smtpd_reply_raw(s, "%s", reply);
        } else {
                smtpd_reply_raw(s, "220 %s", s->srv->banner);
        }
        smtpd_resume(s, SMTPD_WAIT_CHECK);
}

void smtpd_greet(struct smtpd_session *s)
{
        if (!s->srv->delay_reject &&
            !smtpd_check_empty(s->srv->checks, SMTPD_STAGE_CLIENT)) {
                smtpd_wait(s, SMTPD_WAIT_CHECK);
                smtpd_check_start(s, SMTPD_STAGE_CLIENT, SMTPD_STAGE_CLIENT,
                                  greeted);
                return;
        }
        smtpd_reply_raw(s, "220 %s", s->srv->banner);
        flush(s);
}

/* limited - the per-client connection limits; 1 if s was turned away */
static int limited(struct smtpd_session *s)
{
        struct smtpd_server *srv = s->srv;
        long long count, rate;

        if (srv->event_exceptions != NULL &&
            inet_list_match(srv->event_exceptions, s->addr) == 1)
                return 0;
        smtpd_anvil_connect(srv->anvil, s->addr, loop_now_ms(), &count,
                            &rate);
        s->anvil_counted = 1;
        if (srv->conn_count_limit > 0 && count > srv->conn_count_limit) {
                smtpd_log_limit(s, "Connection concurrency", count);
        } else if (srv->conn_rate_limit > 0 && rate > srv->conn_rate_limit) {
                smtpd_log_limit(s, "Connection rate", rate);
        } else {
                return 0;
        }
        smtpd_reply_raw(s, "421 4.7.0 %s Error: too many connections from %s",
                        srv->myhostname, s->addr);
        return 1;
}

/* connected - the client's name is known (or given up on): log the
 * connection, apply the limits, greet */
static void connected(struct smtpd_session *s)
{
        struct smtpd_server *srv = s->srv;

        smtpd_log_connect(s);
        if (limited(s) || srv->draining) {
                if (srv->draining)
                        smtpd_reply_raw(s, "421 4.3.2 %s Service shutting "
                                        "down", srv->myhostname);
                smtpd_close(s, NULL);
        } else if (srv->wrappermode) {
                if (srv->tls == NULL) {
                        log_warn("%s: TLS not available (no certificate) "
                                 "on a smtpd_tls_wrappermode service",
                                 s->client);
                        smtpd_close(s, NULL);
                } else if (s->tls) {
                        smtpd_greet(s);
                }
                /* else the greeting follows the handshake */
        } else {
                if (conn_input_pending(s->conn) > 0)
                        smtpd_check_pipelining(s, "CONNECT", "", 0);
                smtpd_greet(s);
        }
        smtpd_resume(s, SMTPD_WAIT_PEER);
}

void smtpd_session_new(struct smtpd_server *srv, int fd)
{
        struct smtpd_session *s = xcalloc(1, sizeof(*s));
        struct conn_opts opts;
        int excluded;

        memset(&opts, 0, sizeof(opts));
        opts.idle_ms = srv->timeout_ms;
        if (srv->wrappermode && srv->tls != NULL) {
                opts.tls = srv->tls;
                opts.idle_ms = srv->starttls_timeout_ms;
        }
        s->srv = srv;
        s->cur_cmd = -1;
        s->last_cmd = "CONNECT";
        buf_init(&s->in, 0);
        buf_init(&s->out, 0);
        s->next = srv->sessions;
        if (s->next != NULL)
                s->next->prev = s;
        srv->sessions = s;
        srv->session_count++;
        s->conn = conn_new(fd, &opts, on_conn, s);
        snprintf(s->addr, sizeof(s->addr), "%s", conn_peer_addr(s->conn));
        snprintf(s->laddr, sizeof(s->laddr), "%s", conn_local_addr(s->conn));
        s->port = conn_peer_port(s->conn);
        snprintf(s->client, sizeof(s->client), "unknown[%s]", s->addr);
        s->in_mynetworks = inet_list_match(srv->mynetworks, s->addr);
        excluded = srv->newline_exclusions != NULL &&
                inet_list_match(srv->newline_exclusions, s->addr) == 1;
        smtpd_parser_init(&s->parser, (size_t)srv->line_max,
                          excluded ? SMTPD_NL_ALLOW : srv->newline);
        if (!srv->wrappermode)
                conn_read_bytes(s->conn, SIZE_MAX);
        /* input waits until the client's name is known */
        smtpd_wait(s, SMTPD_WAIT_PEER);
        smtpd_check_peer(s, connected);
}

int smtpd_rate_exceeded(struct smtpd_session *s, int kind, long long limit,
                        const char *what)
{
        struct smtpd_server *srv = s->srv;
        long long n;

        if (limit <= 0 || (srv->event_exceptions != NULL &&
                           inet_list_match(srv->event_exceptions, s->addr) == 1))
                return 0;
        n = smtpd_anvil_event(srv->anvil, s->addr, kind, loop_now_ms());
        if (n <= limit)
                return 0;
        smtpd_log_limit(s, what, n);
        return 1;
}

void smtpd_drain(struct smtpd_server *srv, int now)
{
        struct smtpd_session *s, *next;

        srv->draining = 1;
        for (s = srv->sessions; s != NULL; s = next) {
                next = s->next;
                s->drain_now = now;
                if (!now || s->gone || s->closing)
                        continue;
                if (s->waiting == 0 && !s->in_data)
                        shutting_down(s);
        }
        if (srv->session_count == 0)
                loop_exit();
}
