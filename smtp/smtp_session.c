/* smtp_session.c - one SMTP conversation as a client
 * Used by: smtp.c, for each request from qmgr. Connects to the job's next
 * addresses in order, reads the greeting, EHLO (HELO when EHLO is
 * refused), STARTTLS and AUTH (smtp_auth.c) by smtp_tls_security_level and
 * smtp_sasl_password_maps, then one transaction for all recipients:
 * MAIL, RCPT..., DATA -- sent in one go when the server offers PIPELINING
 * (RFC 2920), else one at a time -- and the message, then QUIT. Each
 * recipient gets the reply that decided it: 2xx sent, 4xx deferred, 5xx
 * bounced. Trouble before MAIL (no connection, a 4xx or 5xx greeting, a
 * 421, TLS failure) moves on to the next address -- as Postfix, at most
 * smtp_mx_session_limit servers that sent a greeting (the address list
 * itself is cut at smtp_mx_address_limit by smtp_dns.c) -- and when none
 * is left the recipients are deferred with the last reason; after MAIL,
 * what has no result yet is deferred. A connection kept from an earlier
 * request to the same next hop (smtp_cache.c) is used first, after an
 * RSET that shows it still works; one that fails before the server could
 * have the message costs nothing: the request goes on over another or a
 * new connection. After a transaction that leaves the server in a known
 * state the connection is offered to the cache instead of QUIT. Runs in
 * smtp's loop as mail_owner; parses the server's replies (smtp_reply.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "conn.h"
#include "log.h"
#include "loop.h"
#include "map.h"
#include "mem.h"
#include "smtp.h"
#include "smtp_sasl.h"
#include "smtp_session_int.h"
#include "tls.h"

#define CHUNK                   (64 * 1024)

static void next_addr(struct smtp_session *s);
static void connect_any(struct smtp_session *s);


static const char *stage_name(enum smtp_session_state st,
                              enum smtp_session_expect e)
{
        switch (st) {
        case S_CONNECT: return "connect";
        case S_GREETING: return "receiving the initial server greeting";
        case S_EHLO: return "EHLO";
        case S_HELO: return "HELO";
        case S_STARTTLS: return "STARTTLS";
        case S_TLS: return "TLS handshake";
        case S_AUTH: return "AUTH";
        case S_RSET: return "RSET";
        case S_BODY: return "sending message body";
        case S_QUIT: return "QUIT";
        case S_TRANS: break;
        }
        return e == E_MAIL ? "MAIL FROM" : e == E_RCPT ? "RCPT TO" :
               e == E_DATA ? "DATA" : "end of data";
}

static const char *cur_stage(const struct smtp_session *s)
{
        return stage_name(s->state, s->head < s->nexpect ?
                          s->expect[s->head] : E_DOT);
}

/* said - "host H[I] said: REPLY (in reply to X command)" into st */
void smtp_session_said(struct smtp_session *s, struct status *st,
                       const char *cmd)
{
        const struct smtp_reply *r = &s->reply;

        status_set(st, r->dsn, "host %s[%s] said: %s (in reply to %s "
                   "command)", s->addr->host, s->addr->ip,
                   smtp_reply_text(&s->reply), cmd);
}

static void finish_cb(void *ctx)
{
        struct smtp_session *s = ctx;

        smtp_job_done(s->job);          /* frees s through the job */
}

/* end - the conversation is over: what has no result is deferred with
 * why (or s->last) and the job ends from the loop */
static void end(struct smtp_session *s, const struct status *why)
{
        conn_free(&s->conn);
        smtp_job_fail_rest(s->job, s->addr != NULL ? s->relay : NULL,
                           why != NULL ? why : &s->last);
        if (s->kick == NULL)
                s->kick = loop_timer_new(finish_cb, s);
        loop_timer_start(s->kick, 0);
}

/* fail_addr - this address did not work out before MAIL: try the next
 * one, keeping why for the recipients if none is left */
void smtp_session_fail_addr(struct smtp_session *s, const struct status *why)
{
        if (s->state == S_RSET) {
                /* a kept connection that no longer works: nothing was
                 * tried, nothing is lost */
                log_debug("%s: %s", s->job->id, why->text);
                conn_free(&s->conn);
                connect_any(s);
                return;
        }
        s->last = *why;
        conn_free(&s->conn);
        log_info("%s: %s", s->job->id, why->text);
        next_addr(s);
}

void smtp_session_send(struct smtp_session *s, long long timeout_ms,
                       const char *fmt, ...)
{
        struct buf b;
        va_list ap;

        buf_init(&b, 0);
        va_start(ap, fmt);
        buf_vprintf(&b, fmt, ap);
        va_end(ap);
        buf_append(&b, "\r\n", 2);
        conn_write(s->conn, b.data, b.len);
        buf_release(&b);
        conn_set_timeout(s->conn, timeout_ms);
}

static void quit(struct smtp_session *s)
{
        s->state = S_QUIT;
        smtp_session_send(s, smtp_srv.quit_ms, "QUIT");
}

/* release - the transaction is over and the server knows it: keep the
 * connection for what follows to this next hop, or say QUIT */
static void release(struct smtp_session *s)
{
        struct smtp_link l;

        l.conn = s->conn;
        l.ext = s->ext;
        l.addr = *s->addr;
        l.uses = s->uses;
        l.opened_ms = s->opened_ms;
        if (s->reply.code == 421 || !smtp_cache_wanted(s->job, &l)) {
                quit(s);
                return;
        }
        s->conn = NULL;
        s->ext.auth = NULL;             /* the cache's now */
        smtp_cache_put(s->job->nexthop, &l);
        end(s, NULL);
}

/* broken - the connection failed inside the transaction: on a kept
 * connection, before the server could have the message and before any
 * recipient was decided, try again over another; else defer the rest */
static void broken(struct smtp_session *s, const struct status *why)
{
        int decided = 0;

        for (size_t i = 0; i < s->job->nrcpts; i++)
                decided |= s->job->rcpts[i].done;
        if (s->reused && !s->data_started && !decided) {
                log_debug("%s: %s (connection used %lu times); trying "
                          "again", s->job->id, why->text, s->uses);
                conn_free(&s->conn);
                connect_any(s);
                return;
        }
        log_info("%s: %s", s->job->id, why->text);
        end(s, why);
}

/* result - recipient r's outcome from the current reply */
static void reply_result(struct smtp_session *s, struct smtp_rcpt *r,
                         const char *cmd)
{
        struct status st;

        if (r->done)
                return;
        if (s->reply.code / 100 == 2) {
                smtp_job_result(s->job, r, "sent", s->reply.dsn, s->relay,
                                smtp_reply_text(&s->reply));
                return;
        }
        smtp_session_said(s, &st, cmd);
        smtp_job_result(s->job, r, s->reply.code / 100 == 5 ? "bounced" :
                        "deferred", st.code, s->relay, st.text);
}

static void all_result(struct smtp_session *s, const char *cmd, int accepted)
{
        for (size_t i = 0; i < s->job->nrcpts; i++)
                if (!accepted || s->job->rcpts[i].accepted)
                        reply_result(s, &s->job->rcpts[i], cmd);
}

/* add_cmd - one transaction command and the reply it expects */
static void add_cmd(struct smtp_session *s, enum smtp_session_expect e,
                    size_t rcpt, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void add_cmd(struct smtp_session *s, enum smtp_session_expect e,
                    size_t rcpt, const char *fmt, ...)
{
        va_list ap;

        s->expect = xrealloc(s->expect, (s->nexpect + 1) * sizeof(*s->expect));
        s->expect_rcpt = xrealloc(s->expect_rcpt,
                                  (s->nexpect + 1) * sizeof(size_t));
        s->cmd_off = xrealloc(s->cmd_off, (s->nexpect + 2) * sizeof(size_t));
        s->expect[s->nexpect] = e;
        s->expect_rcpt[s->nexpect] = rcpt;
        s->cmd_off[s->nexpect] = s->cmds.len;
        va_start(ap, fmt);
        buf_vprintf(&s->cmds, fmt, ap);
        va_end(ap);
        buf_append(&s->cmds, "\r\n", 2);
        s->nexpect++;
        s->cmd_off[s->nexpect] = s->cmds.len;
}

/* send_upto - send the built commands up to (not including) n */
static void send_upto(struct smtp_session *s, size_t n, long long timeout)
{
        if (n <= s->sent)
                return;
        conn_write(s->conn, s->cmds.data + s->cmd_off[s->sent],
                   s->cmd_off[n] - s->cmd_off[s->sent]);
        s->sent = n;
        conn_set_timeout(s->conn, timeout);
}

static const char *notify_words(unsigned n, char *out, size_t size)
{
        if (n & QUEUE_NOTIFY_NEVER) {
                snprintf(out, size, "NEVER");
                return out;
        }
        snprintf(out, size, "%s%s%s", n & QUEUE_NOTIFY_SUCCESS ? "SUCCESS," : "",
                 n & QUEUE_NOTIFY_FAILURE ? "FAILURE," : "",
                 n & QUEUE_NOTIFY_DELAY ? "DELAY," : "");
        if (*out != '\0')
                out[strlen(out) - 1] = '\0';
        return out;
}

/* transaction - MAIL, RCPT..., DATA for every recipient */
void smtp_session_transaction(struct smtp_session *s)
{
        struct smtp_job *job = s->job;
        const char *body = queue_file_attr(job->qf, "body");
        const char *utf8 = queue_file_attr(job->qf, "smtputf8");
        const char *ret = queue_file_attr(job->qf, "dsn_ret");
        const char *envid = queue_file_attr(job->qf, "dsn_envid");
        long long size = queue_file_size(job->qf);
        char *from = addr_external(queue_file_sender(job->qf));
        struct status st;
        struct buf params;

        if (s->ext.size_max > 0 && size > s->ext.size_max) {
                status_set(&st, STATUS_TOO_BIG, "message size %lld exceeds "
                           "size limit %lld of server %s[%s]", size,
                           s->ext.size_max, s->addr->host, s->addr->ip);
                smtp_job_fail_rest(job, s->relay, &st);
                free(from);
                release(s);
                return;
        }
        if (utf8 != NULL && strcmp(utf8, "1") == 0 && !s->ext.smtputf8) {
                status_set(&st, "5.6.7", "SMTPUTF8 is required, but was not "
                           "offered by host %s[%s]", s->addr->host,
                           s->addr->ip);
                smtp_job_fail_rest(job, s->relay, &st);
                free(from);
                release(s);
                return;
        }
        buf_init(&params, 0);
        if (s->ext.size_max >= 0)
                buf_printf(&params, " SIZE=%lld", size);
        if (s->ext.eightbit && body != NULL &&
            strcasecmp(body, "8BITMIME") == 0)
                buf_puts(&params, " BODY=8BITMIME");
        if (s->ext.smtputf8 && utf8 != NULL && strcmp(utf8, "1") == 0)
                buf_puts(&params, " SMTPUTF8");
        if (s->ext.dsn && ret != NULL)
                buf_printf(&params, " RET=%s", ret);
        if (s->ext.dsn && envid != NULL) {
                char *x = addr_xtext_encode(envid);

                buf_printf(&params, " ENVID=%s", x);
                free(x);
        }
        s->state = S_TRANS;
        s->in_trans = 1;
        add_cmd(s, E_MAIL, 0, "MAIL FROM:<%s>%s", from, buf_cstr(&params));
        for (size_t i = 0; i < job->nrcpts; i++) {
                const struct smtp_rcpt *r = &job->rcpts[i];
                char *to = addr_external(r->addr), words[64];

                buf_reset(&params);
                if (s->ext.dsn && r->qr->notify != 0)
                        buf_printf(&params, " NOTIFY=%s",
                                   notify_words(r->qr->notify, words,
                                                sizeof(words)));
                if (s->ext.dsn && r->qr->orcpt != NULL)
                        buf_printf(&params, " ORCPT=%s", r->qr->orcpt);
                add_cmd(s, E_RCPT, i, "RCPT TO:<%s>%s", to,
                        buf_cstr(&params));
                free(to);
        }
        add_cmd(s, E_DATA, 0, "DATA");
        buf_release(&params);
        free(from);
        send_upto(s, s->ext.pipelining ? s->nexpect : 1, smtp_srv.mail_ms);
}

static void send_body(struct smtp_session *s)
{
        struct buf out;

        buf_init(&out, 0);
        smtp_content_next(&s->content, &out, CHUNK);
        conn_write(s->conn, out.data, out.len);
        buf_release(&out);
        conn_set_timeout(s->conn, s->content.ended ? smtp_srv.data_done_ms :
                         smtp_srv.data_xfer_ms);
}

/* on_trans_reply - one reply inside the transaction */
static void on_trans_reply(struct smtp_session *s)
{
        enum smtp_session_expect e = s->expect[s->head];
        size_t ri = s->expect_rcpt[s->head];
        int ok = s->reply.code / 100 == 2;

        s->head++;
        switch (e) {
        case E_MAIL:
                if (!ok) {
                        s->mail_failed = 1;
                        all_result(s, "MAIL FROM", 0);
                }
                break;
        case E_RCPT:
                if (ok && !s->mail_failed)
                        s->job->rcpts[ri].accepted = 1, s->accepted++;
                else if (!s->mail_failed)
                        reply_result(s, &s->job->rcpts[ri], "RCPT TO");
                break;
        case E_DATA:
                if (s->reply.code == 354) {
                        s->data_started = 1;
                        if (s->accepted == 0 || s->mail_failed) {
                                /* RFC 2920 3.1: an empty message ends it */
                                s->aborting = 1;
                                conn_write(s->conn, ".\r\n", 3);
                        } else {
                                size_t len;
                                const char *d = queue_file_content(
                                        s->job->qf, &len);

                                const char *body = queue_file_attr(
                                        s->job->qf, "body");

                                add_cmd(s, E_DOT, 0, "%s", "");
                                s->sent = s->nexpect;
                                s->state = S_BODY;
                                smtp_content_release(&s->content);
                                smtp_content_init(&s->content, d, len);
                                if (!s->ext.eightbit && body != NULL &&
                                    strcasecmp(body, "8BITMIME") == 0)
                                        smtp_content_downgrade(&s->content);
                                send_body(s);
                                return;
                        }
                        s->state = S_TRANS;
                        add_cmd(s, E_DOT, 0, "%s", "");
                        s->sent = s->nexpect;
                        conn_set_timeout(s->conn, smtp_srv.data_done_ms);
                        return;
                }
                if (s->accepted > 0 && !s->mail_failed)
                        all_result(s, "DATA", 1);
                release(s);
                return;
        case E_DOT:
                if (!s->aborting)
                        all_result(s, "end of DATA", 1);
                release(s);
                return;
        }
        if (s->head < s->nexpect && !s->ext.pipelining) {
                /* one at a time: stop early when nothing can follow */
                if (s->mail_failed || (s->expect[s->head] == E_DATA &&
                                       s->accepted == 0)) {
                        release(s);
                        return;
                }
                send_upto(s, s->head + 1, s->expect[s->head] == E_DATA ?
                          smtp_srv.data_init_ms : smtp_srv.rcpt_ms);
        }
}

/* on_reply - a complete reply in state s->state */
static void on_reply(struct smtp_session *s)
{
        struct status st;
        int cls = s->reply.code / 100;

        switch (s->state) {
        case S_GREETING:
                s->sessions++;
                if (cls != 2) {
                        /* Postfix's words; another host may work */
                        status_set(&st, s->reply.dsn, "host %s[%s] refused "
                                   "to talk to me: %s", s->addr->host,
                                   s->addr->ip, smtp_reply_text(&s->reply));
                        st.code[0] = '4';
                        smtp_session_fail_addr(s, &st);
                        return;
                }
                s->state = smtp_srv.never_ehlo ? S_HELO : S_EHLO;
                smtp_session_send(s, smtp_srv.helo_ms, "%s %s",
                                  smtp_srv.never_ehlo ? "HELO" : "EHLO",
                                  smtp_srv.helo_name);
                return;
        case S_EHLO:
                if (cls != 2) {
                        s->state = S_HELO;
                        smtp_session_send(s, smtp_srv.helo_ms, "HELO %s",
                                 smtp_srv.helo_name);
                        return;
                }
                smtp_ext_parse(&s->ext, &s->reply);
                smtp_auth_after_ehlo(s);
                return;
        case S_HELO:
                if (cls != 2) {
                        smtp_session_said(s, &st, "HELO");
                        smtp_session_fail_addr(s, &st);
                        return;
                }
                smtp_ext_release(&s->ext);
                smtp_auth_after_ehlo(s);
                return;
        case S_STARTTLS:
        case S_AUTH:
                smtp_auth_reply(s);
                return;
        case S_RSET:
                if (cls != 2) {
                        smtp_session_said(s, &st, "RSET");
                        smtp_session_fail_addr(s, &st);
                        return;
                }
                smtp_session_transaction(s);
                return;
        case S_TRANS:
        case S_BODY:
                s->state = S_TRANS;
                if (s->head < s->nexpect)
                        on_trans_reply(s);
                return;
        case S_QUIT:
                end(s, NULL);
                return;
        case S_CONNECT:
        case S_TLS:
                return;
        }
}

/* lost - the connection broke or timed out in the current stage */
static void lost(struct smtp_session *s, const char *how)
{
        struct status st;

        status_set(&st, STATUS_TEMP, "%s with %s[%s] while %s", how,
                   s->addr->host, s->addr->ip, cur_stage(s));
        if (s->state == S_QUIT) {
                end(s, NULL);
                return;
        }
        if (!s->in_trans) {
                smtp_session_fail_addr(s, &st);
                return;
        }
        broken(s, &st);
}

static void on_event(struct conn *c, enum conn_event ev,
                     const struct conn_ev_data *d, void *ctx)
{
        struct smtp_session *s = ctx;
        struct status st;
        const char *why;
        int r;

        switch (ev) {
        case CONN_CONNECTED:
                s->state = S_GREETING;
                conn_set_timeout(c, smtp_srv.helo_ms);
                break;
        case CONN_LINE:
                r = smtp_reply_line(&s->reply, d->data, d->len);
                if (r < 0) {
                        status_set(&st, STATUS_TEMP, "host %s[%s] sent a "
                                   "malformed reply while %s", s->addr->host,
                                   s->addr->ip, cur_stage(s));
                        if (s->in_trans)
                                broken(s, &st);
                        else
                                smtp_session_fail_addr(s, &st);
                } else if (r == 1) {
                        on_reply(s);
                }
                break;
        case CONN_LINE_TOO_LONG:
                break;          /* its code line follows; the rest is lost */
        case CONN_DRAINED:
                if (s->state == S_BODY && !s->content.ended)
                        send_body(s);
                break;
        case CONN_TIMEOUT:
        case CONN_DEADLINE:
                lost(s, "conversation timed out");
                break;
        case CONN_TLS_READY:
                smtp_auth_tls_ready(s);
                break;
        case CONN_ERROR:
                why = d->reason != NULL ? d->reason : "error";
                if (s->state == S_CONNECT) {
                        status_set(&st, STATUS_TEMP, "connect to %s[%s]:%d: "
                                   "%s", s->addr->host, s->addr->ip,
                                   s->addr->port, why);
                        smtp_session_fail_addr(s, &st);
                        break;
                }
                if (s->state == S_TLS) {
                        status_set(&st, STATUS_TEMP, "TLS handshake with "
                                   "%s[%s] failed: %s", s->addr->host,
                                   s->addr->ip, why);
                        /* opportunistic TLS, as Postfix: once more in
                         * plaintext (not for a kept connection, whose
                         * address is not in the job's list) */
                        if (smtp_srv.tls_level == SMTP_TLS_MAY &&
                            !s->reused && s->job->cur > 0) {
                                log_info("%s: %s; trying again without TLS",
                                         s->job->id, st.text);
                                s->last = st;
                                conn_free(&s->conn);
                                s->job->cur--;
                                s->plain_retry = 1;
                                next_addr(s);
                                break;
                        }
                        smtp_session_fail_addr(s, &st);
                        break;
                }
                lost(s, "lost connection");
                break;
        case CONN_EOF:
        case CONN_CLOSED:
                lost(s, "lost connection");
                break;
        default:
                break;
        }
}

/* reset - back to the state before a connection */
static void reset(struct smtp_session *s)
{
        smtp_sasl_free(&s->sasl);
        smtp_ext_release(&s->ext);
        smtp_reply_reset(&s->reply);
        free(s->expect);
        free(s->expect_rcpt);
        free(s->cmd_off);
        s->expect = NULL;
        s->expect_rcpt = NULL;
        s->cmd_off = NULL;
        s->nexpect = s->head = s->sent = 0;
        buf_reset(&s->cmds);
        s->accepted = 0;
        s->mail_failed = s->aborting = s->in_trans = s->tls_tried = 0;
        s->data_started = s->reused = 0;
        for (size_t i = 0; i < s->job->nrcpts; i++)
                s->job->rcpts[i].accepted = 0;
}

static void next_addr(struct smtp_session *s)
{
        static const struct conn_opts base = {
                .line_max = SMTP_REPLY_LINE_MAX,
                .out_high = 4 * CHUNK,
                .out_low = CHUNK,
        };
        struct conn_opts opts = base;
        struct smtp_job *job = s->job;
        struct status st;

        reset(s);
        if (job->cur >= job->naddrs || (smtp_srv.mx_session_limit > 0 &&
                                        s->sessions >=
                                        smtp_srv.mx_session_limit)) {
                s->addr = NULL;
                end(s, NULL);
                return;
        }
        s->addr = &job->addrs[job->cur++];
        s->no_starttls = s->plain_retry;
        s->plain_retry = 0;
        snprintf(s->relay, sizeof(s->relay), "%s[%s]:%d", s->addr->host,
                 s->addr->ip, s->addr->port);
        s->uses = 1;
        s->opened_ms = loop_now_ms();
        job->conn_use = 1;
        s->state = S_CONNECT;
        opts.idle_ms = smtp_srv.helo_ms;
        s->conn = conn_connect((const struct sockaddr *)&s->addr->sa,
                               s->addr->salen, smtp_srv.connect_ms, &opts,
                               on_event, s, &st);
        if (s->conn == NULL)
                smtp_session_fail_addr(s, &st);
}

/* reuse - go on over a connection kept for this next hop, probing it
 * with RSET first; 0 when there is none */
static int reuse(struct smtp_session *s)
{
        struct smtp_link l;

        if (smtp_cache_take(s->job->nexthop, &l) == 0)
                return 0;
        reset(s);
        s->conn = l.conn;
        conn_set_callback(s->conn, on_event, s);
        s->ext = l.ext;
        s->own_addr = l.addr;
        s->addr = &s->own_addr;
        s->uses = l.uses + 1;
        s->opened_ms = l.opened_ms;
        s->reused = 1;
        s->job->conn_use = s->uses;
        snprintf(s->relay, sizeof(s->relay), "%s[%s]:%d", s->addr->host,
                 s->addr->ip, s->addr->port);
        s->state = S_RSET;
        smtp_session_send(s, smtp_srv.rset_ms, "RSET");
        return 1;
}

/* connect_any - a kept connection if there is one, else the next
 * address */
static void connect_any(struct smtp_session *s)
{
        if (!reuse(s))
                next_addr(s);
}

void smtp_session_start(struct smtp_job *job)
{
        struct smtp_session *s = xcalloc(1, sizeof(*s));

        s->job = job;
        job->sess = s;
        smtp_reply_init(&s->reply);
        smtp_ext_release(&s->ext);
        buf_init(&s->cmds, 0);
        status_set(&s->last, STATUS_TEMP, "no address for %s", job->nexthop);
        connect_any(s);
}

int smtp_session_committing(const struct smtp_session *s)
{
        return s->state == S_BODY && s->content.ended && !s->aborting;
}

void smtp_session_free(struct smtp_session **sp)
{
        struct smtp_session *s = *sp;

        if (s == NULL)
                return;
        *sp = NULL;
        conn_free(&s->conn);
        loop_timer_free(&s->kick);
        reset(s);
        smtp_content_release(&s->content);
        smtp_reply_release(&s->reply);
        buf_release(&s->cmds);
        free(s);
}
