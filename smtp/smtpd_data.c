/* smtpd_data.c - DATA and BDAT: the message into the queue file
 * Used by: smtpd's command table and input pump. Content arrives from the
 * parser in pieces with LF line ends, dot-unstuffed, and is streamed into
 * the queue_writer behind a Received: header in Postfix's shape; nothing
 * of it is kept in memory. On the way: header_size_limit (the rest of an
 * oversized header is dropped), Received: headers are counted against
 * hopcount_limit, message_size_limit stops the writing (the rest is read
 * and thrown away, then 552), and for authenticated submission a missing
 * Message-ID or Date is added at the end of the header; with
 * header_checks or body_checks every line passes smtpd_hbc.c. The
 * recipients (resolved, or the one a REDIRECT names) and the actions the
 * restrictions kept (hold, PREPEND headers) go in when the
 * content starts. At the end come smtpd_end_of_data_restrictions, then
 * the file is committed (written, fsynced, renamed) on the worker pool,
 * and only then does the client get 250; a HOLD moves it to hold/ before
 * qmgr hears of it, a DISCARD gets 250 and keeps nothing. Runs as
 * mail_owner. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>
#include <time.h>

#include "conn.h"
#include "log.h"
#include "mem.h"
#include "queue_file.h"
#include "smtpd.h"
#include "smtpd_check.h"
#include "smtpd_log.h"
#include "workq.h"

int smtpd_space_ok(struct smtpd_session *s, long long size)
{
        struct smtpd_server *srv = s->srv;
        struct statvfs fs;
        long long need, avail;

        if (statvfs(srv->queue_dir, &fs) < 0)
                return 0;       /* the queue file itself will tell */
        avail = (long long)fs.f_bavail * (long long)fs.f_frsize;
        need = srv->queue_minfree;
        if (need < srv->message_size_limit + srv->message_size_limit / 2)
                need = srv->message_size_limit + srv->message_size_limit / 2;
        return avail < need + (size > 0 ? size : 0) ? -1 : 0;
}

/* rfc5322_date - now as "Mon,  1 Jan 2024 12:00:00 +0100 (CET)" */
static void rfc5322_date(char *out, size_t size)
{
        time_t now = time(NULL);
        struct tm tm;

        localtime_r(&now, &tm);
        strftime(out, size, "%a, %e %b %Y %H:%M:%S %z (%Z)", &tm);
}

void smtpd_data_write(struct smtpd_session *s, const char *data, size_t len)
{
        struct smtpd_content *c = &s->content;

        if (c->failed || c->too_big || s->qw == NULL || len == 0)
                return;
        if (queue_writer_data(s->qw, data, len, &c->st) < 0)
                c->failed = 1;
}

/* put - content on its way to the queue file: through the header and
 * body checks when there are any */
static void put(struct smtpd_session *s, const char *data, size_t len)
{
        if (s->hbc != NULL && !s->content.failed && !s->content.too_big)
                smtpd_hbc_put(s, data, len);
        else
                smtpd_data_write(s, data, len);
}

static void putf(struct smtpd_session *s, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static void putf(struct smtpd_session *s, const char *fmt, ...)
{
        struct buf b;
        va_list ap;

        buf_init(&b, 0);
        va_start(ap, fmt);
        buf_vprintf(&b, fmt, ap);
        va_end(ap);
        put(s, b.data, b.len);
        buf_release(&b);
}

/* received - the Received: header, as Postfix writes it */
static void received(struct smtpd_session *s)
{
        struct smtpd_server *srv = s->srv;
        char helo[SMTPD_HELO_MAX + 1], date[64], tls[256], user[256];
        int v6 = strchr(s->addr, ':') != NULL;

        smtpd_log_safe(s->helo != NULL ? s->helo : "unknown", helo,
                       sizeof(helo));
        rfc5322_date(date, sizeof(date));
        putf(s, "Received: from %s (%s [%s%s])\n", helo,
             s->name != NULL ? s->name : "unknown", v6 ? "IPv6:" : "",
             s->addr);
        if (s->tls && srv->tls_received_header) {
                putf(s, "\t(using %s)\n", conn_tls_describe(s->conn, tls,
                                                            sizeof(tls)));
                putf(s, "\t(No client certificate requested)\n");
        }
        if (s->sasl_user != NULL && srv->sasl_auth_header)
                putf(s, "\t(Authenticated sender: %s)\n",
                     smtpd_log_safe(s->sasl_user, user, sizeof(user)));
        putf(s, "\tby %s (%s) with %s id %s", srv->myhostname,
             srv->mail_name, smtpd_protocol(s), s->queue_id);
        if (s->rcpt_count == 1) {
                char addr[512];

                putf(s, "\n\tfor <%s>; %s\n",
                     smtpd_log_safe(s->rcpts[0].addr, addr, sizeof(addr)),
                     date);
        } else {
                putf(s, ";\n\t%s\n", date);
        }
}

/* header_end - the header section ends: add what submission lacks */
static void header_end(struct smtpd_session *s)
{
        struct smtpd_content *c = &s->content;

        c->in_header = 0;
        if (s->sasl_user == NULL)
                return;
        if (!c->have_msgid) {
                char stamp[32];
                time_t now = time(NULL);
                struct tm tm;

                gmtime_r(&now, &tm);
                strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
                snprintf(c->msgid, sizeof(c->msgid), "<%s.%s@%s>", stamp,
                         s->queue_id, s->srv->myhostname);
                putf(s, "Message-ID: %s\n", c->msgid);
                c->have_msgid = 1;
        }
        if (!c->have_date) {
                char date[64];

                rfc5322_date(date, sizeof(date));
                putf(s, "Date: %s\n", date);
                c->have_date = 1;
        }
}

/* header_name - the length of a header name at the start of a line
 * ("Name:"), or 0 if the line is no header */
static size_t header_name(const char *data, size_t len)
{
        size_t i = 0;

        while (i < len && (unsigned char)data[i] > 32 &&
               (unsigned char)data[i] < 127 && data[i] != ':')
                i++;
        if (i == 0)
                return 0;
        size_t j = i;
        while (j < len && (data[j] == ' ' || data[j] == '\t'))
                j++;
        return j < len && data[j] == ':' ? i : 0;
}

/* msgid_add - collect the Message-ID value for the log */
static void msgid_add(struct smtpd_content *c, const char *data, size_t len)
{
        size_t have = strlen(c->msgid);

        for (size_t i = 0; i < len && have + 1 < sizeof(c->msgid); i++) {
                unsigned char ch = (unsigned char)data[i];

                if (ch == '\n' || ch == '\r')
                        continue;
                if ((ch == ' ' || ch == '\t') && have == 0)
                        continue;
                c->msgid[have++] = (char)ch;
        }
        c->msgid[have] = '\0';
}

/* line_start - a line begins while in the header; returns 1 if the piece
 * is still header */
static int line_start(struct smtpd_session *s, const char *data, size_t len)
{
        struct smtpd_content *c = &s->content;
        size_t name;

        if (data[0] == ' ' || data[0] == '\t')
                return 1;       /* a continuation of the same header */
        c->msgid_line = 0;
        name = header_name(data, len);
        if (name == 0 || (len == 1 && data[0] == '\n')) {
                header_end(s);
                return 0;
        }
        c->header_len = 0;
        c->header_dropped = 0;
        if (name == 8 && strncasecmp(data, "Received", 8) == 0)
                c->hops++;
        else if (name == 4 && strncasecmp(data, "Date", 4) == 0)
                c->have_date = 1;
        else if (name == 10 && strncasecmp(data, "Message-ID", 10) == 0 &&
                 !c->have_msgid) {
                c->have_msgid = 1;
                c->msgid_line = 1;
                msgid_add(c, memchr(data, ':', len) + 1,
                          len - (size_t)((const char *)memchr(data, ':', len) +
                                         1 - data));
                return 2;
        }
        return 1;
}

void smtpd_data_text(struct smtpd_session *s, const char *data, size_t len,
                     int eol)
{
        struct smtpd_server *srv = s->srv;
        struct smtpd_content *c = &s->content;
        int at_bol = c->at_bol;
        int r = 1;

        c->at_bol = eol;
        c->size += (long long)len;
        if (srv->message_size_limit > 0 && c->size > srv->message_size_limit)
                c->too_big = 1;
        if (c->too_big || c->failed || s->bdat_failed)
                return;
        if (c->in_header) {
                if (at_bol)
                        r = line_start(s, data, len);
                else if (c->msgid_line)
                        msgid_add(c, data, len);
                if (c->in_header) {
                        if (at_bol && r == 1 && c->msgid_line &&
                            (data[0] == ' ' || data[0] == '\t'))
                                msgid_add(c, data, len);
                        if (c->header_dropped)
                                return;
                        if (c->header_len + (long long)len >
                            srv->header_size_limit) {
                                /* keep what fits, drop the rest of this
                                 * header, end the line begun */
                                size_t fits = (size_t)(srv->header_size_limit -
                                                       c->header_len);

                                c->header_dropped = 1;
                                put(s, data, fits);
                                if (fits > 0 || !at_bol)
                                        put(s, "\n", 1);
                                return;
                        }
                        c->header_len += (long long)len;
                }
        }
        put(s, data, len);
}

/* refuse - the end of a message that is not taken */
static void refuse(struct smtpd_session *s, const char *reply)
{
        smtpd_log_reject(s, "END-OF-MESSAGE", reply, NULL);
        smtpd_reply(s, "%s", reply);
        smtpd_reset(s);
}

static void commit_work(void *ctx)
{
        struct smtpd_session *s = ctx;

        /* in a worker thread: only the queue file is touched */
        s->commit_ret = queue_writer_commit(s->qw, &s->commit_st);
}

/* hold - put a committed message on hold before qmgr is told of it (the
 * "hold" attribute says so too, when it was known before the content) */
static void hold(struct smtpd_session *s)
{
        struct status st;

        if (queue_move(s->srv->queue_dir, s->queue_id, QUEUE_INCOMING,
                       QUEUE_HOLD, 0, &st) < 0)
                log_warn("%s: cannot put on hold: %s", s->queue_id, st.text);
}

static void commit_done(void *ctx)
{
        struct smtpd_session *s = ctx;
        struct smtpd_server *srv = s->srv;

        if (s->commit_ret == 0) {
                if (s->content.msgid[0] != '\0')
                        smtpd_log_message_id(s, s->content.msgid);
                if (smtpd_check_actions(s)->hold != NULL)
                        hold(s);
                queue_notify(srv->queue_dir);
                if (!s->gone) {
                        smtpd_reply(s, "250 2.0.0 Ok: queued as %s",
                                    s->queue_id);
                        s->errors = 0;
                }
        } else {
                log_warn("%s: %s: cannot commit the queue file: %s",
                         s->queue_id, s->client, s->commit_st.text);
                if (!s->gone)
                        smtpd_reply(s, "451 4.3.0 Error: queue file write "
                                    "error");
        }
        smtpd_reset(s);
        smtpd_resume(s, SMTPD_WAIT_COMMIT);
}

/* commit - the message is taken: discard it, or make it durable */
static void commit(struct smtpd_session *s)
{
        if (smtpd_check_actions(s)->discard) {
                /* Postfix's DISCARD: claim success, keep nothing */
                smtpd_reply(s, "250 2.0.0 Ok: queued as %s", s->queue_id);
                s->errors = 0;
                smtpd_reset(s);
                return;
        }
        smtpd_wait(s, SMTPD_WAIT_COMMIT);
        workq_submit(s->srv->workq, commit_work, commit_done, s);
}

static void eod_checked(struct smtpd_session *s, int verdict,
                        const char *reply)
{
        if (verdict == SMTPD_REJECTED)
                refuse(s, reply);
        else
                commit(s);
        smtpd_resume(s, SMTPD_WAIT_CHECK);
}

/* finish - the whole message is in: refuse it or commit it */
static void finish(struct smtpd_session *s)
{
        struct smtpd_server *srv = s->srv;
        struct smtpd_content *c = &s->content;
        const char *rejected;

        s->in_data = 0;
        if (c->in_header && !c->too_big)
                header_end(s);
        rejected = c->too_big ? NULL : smtpd_hbc_end(s);
        if (c->too_big) {
                refuse(s, "552 5.3.4 Message size exceeds fixed limit");
        } else if (c->hops > srv->hopcount_limit) {
                refuse(s, "554 5.4.6 Too many hops");
        } else if (c->failed) {
                log_warn("%s: %s: queue file write error: %s", s->queue_id,
                         s->client, c->st.text);
                smtpd_reply(s, "451 %s Error: queue file write error",
                            status_class(&c->st) == 4 ? c->st.code :
                            "4.3.0");
                smtpd_reset(s);
        } else if (rejected != NULL) {
                /* header/body checks logged it already */
                smtpd_reply(s, "%s", rejected);
                smtpd_reset(s);
        } else if (!smtpd_check_empty(srv->checks, SMTPD_STAGE_EOD) &&
                   !smtpd_check_actions(s)->discard) {
                smtpd_wait(s, SMTPD_WAIT_CHECK);
                smtpd_check_start(s, SMTPD_STAGE_EOD, SMTPD_STAGE_EOD,
                                  eod_checked);
        } else {
                commit(s);
        }
}

/* envelope - the recipients (or the one a REDIRECT names, keeping the
 * first original as ORCPT) in their resolved form, and the actions the
 * queue manager must know of */
static void envelope(struct smtpd_session *s)
{
        const struct smtpd_check_actions *a = smtpd_check_actions(s);

        if (a->hold != NULL)
                queue_writer_attr(s->qw, "hold", a->hold);
        for (size_t i = 0; i < s->rcpt_count; i++) {
                const struct smtpd_rcpt *r = &s->rcpts[i];
                char *addr = smtpd_check_resolved(s, r->addr);

                if (a->redirect != NULL) {
                        char *orcpt = r->orcpt != NULL ? xstrdup(r->orcpt) :
                                      xasprintf("rfc822;%s", r->addr);

                        queue_writer_recipient(s->qw, a->redirect, orcpt,
                                               r->notify);
                        free(orcpt);
                        free(addr);
                        break;
                }
                queue_writer_recipient(s->qw, addr, r->orcpt, r->notify);
                free(addr);
        }
}

/* begin - the content starts: PREPEND headers, the Received: header */
static void begin(struct smtpd_session *s)
{
        const struct smtpd_check_actions *a = smtpd_check_actions(s);

        memset(&s->content, 0, sizeof(s->content));
        s->content.in_header = 1;
        s->content.at_bol = 1;
        s->in_data = 1;
        if (s->qw != NULL)
                envelope(s);
        smtpd_hbc_free(&s->hbc);
        s->hbc = smtpd_hbc_new(s);
        for (size_t i = 0; i < a->prepend_count; i++)
                putf(s, "%s\n", a->prepend[i]);
        received(s);
}

static void data_checked(struct smtpd_session *s, int verdict,
                         const char *reply)
{
        if (verdict == SMTPD_REJECTED) {
                smtpd_log_reject(s, "DATA", reply, NULL);
                smtpd_reply(s, "%s", reply);
        } else {
                begin(s);
                smtpd_reply(s, "354 End data with <CR><LF>.<CR><LF>");
                smtpd_parser_data(&s->parser);
        }
        smtpd_resume(s, SMTPD_WAIT_CHECK);
}

void smtpd_cmd_data(struct smtpd_session *s, char *args)
{
        if (*args != '\0') {
                smtpd_reply(s, "501 5.5.4 Syntax: DATA");
        } else if (!s->mail_given) {
                smtpd_reply(s, "503 5.5.1 Error: need MAIL command");
        } else if (s->bdat) {
                smtpd_reply(s, "503 5.5.1 Error: DATA during a BDAT "
                            "transfer");
        } else if (s->rcpt_count == 0) {
                if (s->rcpt_tried)
                        smtpd_reply(s, "554 5.5.1 Error: no valid "
                                    "recipients");
                else
                        smtpd_reply(s, "503 5.5.1 Error: need RCPT command");
        } else {
                smtpd_wait(s, SMTPD_WAIT_CHECK);
                smtpd_check_start(s, SMTPD_STAGE_DATA, SMTPD_STAGE_DATA,
                                  data_checked);
        }
}

/* --- BDAT (RFC 3030) --- */

/* chunk_go - read the chunk (or, if empty, act on its end at once) */
static void chunk_go(struct smtpd_session *s)
{
        if (s->bdat_size > 0)
                smtpd_parser_bdat(&s->parser, s->bdat_size, s->bdat_last);
        else
                smtpd_data_end(s);
}

static void bdat_checked(struct smtpd_session *s, int verdict,
                         const char *reply)
{
        if (verdict == SMTPD_REJECTED) {
                smtpd_log_reject(s, "BDAT", reply, NULL);
                s->bdat_failed = 1;
                snprintf(s->bdat_error, sizeof(s->bdat_error), "%s", reply);
        } else {
                begin(s);
        }
        chunk_go(s);
        smtpd_resume(s, SMTPD_WAIT_CHECK);
}

void smtpd_cmd_bdat(struct smtpd_session *s, char *args)
{
        unsigned long long size;
        char *end;
        int last = 0;

        if (!isdigit((unsigned char)*args) ||
            (errno = 0, size = strtoull(args, &end, 10), errno != 0) ||
            (*end != '\0' && *end != ' ') ||
            (*end == ' ' && strcasecmp(end + strspn(end, " "), "LAST") != 0)) {
                /* the chunk's length is unknown: its bytes would be read
                 * as commands */
                smtpd_reply(s, "501 5.5.4 Syntax: BDAT count [LAST]");
                smtpd_close(s, NULL);
                return;
        }
        last = *end == ' ';
        s->bdat_size = size;
        s->bdat_last = last;
        if (s->bdat) {
                chunk_go(s);
                return;
        }
        s->bdat = 1;
        if (!s->mail_given || s->rcpt_count == 0) {
                s->bdat_failed = 1;
                snprintf(s->bdat_error, sizeof(s->bdat_error), "%s",
                         !s->mail_given ? "503 5.5.1 Error: need MAIL "
                         "command" : "554 5.5.1 Error: no valid recipients");
                chunk_go(s);
                return;
        }
        smtpd_wait(s, SMTPD_WAIT_CHECK);
        smtpd_check_start(s, SMTPD_STAGE_DATA, SMTPD_STAGE_DATA,
                          bdat_checked);
}

void smtpd_data_end(struct smtpd_session *s)
{
        if (!s->bdat) {
                finish(s);
                return;
        }
        if (s->bdat_failed) {
                smtpd_reply(s, "%s", s->bdat_error);
                if (s->bdat_last || !s->mail_given)
                        smtpd_reset(s);
                return;
        }
        if (!s->bdat_last) {
                smtpd_reply(s, "250 2.0.0 Ok: %llu bytes", s->bdat_size);
                return;
        }
        finish(s);
}
