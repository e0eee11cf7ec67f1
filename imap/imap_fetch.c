/* imap_fetch.c - FETCH and UID FETCH (RFC 9051 6.4.5, 7.5.2)
 * Used by: the imap session's command table (imap_cmd.c). Runs in steps
 * (imap_client.h): one message's response at a time, and a large body
 * section as a stream of slices, so the output queued for a client that
 * reads slowly (or never) stays near IMAP_OUT_HIGH. Message files are
 * opened only when an item needs them: FLAGS, UID, sizes, dates and
 * the cached header fields (ENVELOPE, most HEADER.FIELDS) come from the
 * Maildir's uidlist, file names and yubin-cache. A message that vanished
 * or cannot be read is left out and named in the tagged reply; the
 * session goes on. Reads message files. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_binary.h"
#include "imap_client.h"
#include "imap_date.h"
#include "imap_envelope.h"
#include "imap_fetch.h"
#include "imap_view.h"
#include "log.h"
#include "mem.h"
#include "mime.h"

/* sections at least this long are streamed, not built in memory */
#define FETCH_STREAM_MIN        (128 * 1024)
#define FETCH_SLICE             (64 * 1024)

static const char *const envelope_fields[] = {
        "Date", "Subject", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
        "In-Reply-To", "Message-ID",
};

struct fetch_ctx {
        struct imap_fetch_req req;
        uint32_t *idx;
        size_t n, pos;
        int set_seen;
        /* the message being answered */
        int in_msg;
        size_t item;
        uint32_t uid;
        struct maildir_msg_info info;
        int seen_added, first;
        struct imap_msg map;
        int mapped;
        struct mime_message *mime;
        struct buf out, tmp, readbuf;
        /* a section being streamed */
        int streaming;
        struct imap_crlf crlf;
        /* outcome */
        int gone, failed, seen_changed;
};

static void ctx_free(void *p)
{
        struct fetch_ctx *f = p;

        mime_free(&f->mime);
        if (f->mapped)
                imap_msg_unload(&f->map);
        imap_fetch_req_release(&f->req);
        buf_release(&f->out);
        buf_release(&f->tmp);
        buf_release(&f->readbuf);
        free(f->idx);
        free(f);
}

/* put_uint - append a decimal number (buf_printf is slow for the
 * 10,000 lines of a FETCH 1:*) */
static void put_uint(struct buf *out, uint64_t n)
{
        char tmp[24];
        size_t i = sizeof(tmp);

        do {
                tmp[--i] = (char)('0' + n % 10);
                n /= 10;
        } while (n > 0);
        buf_append(out, tmp + i, sizeof(tmp) - i);
}

/* vsize - length of data with every bare LF counted as CRLF */
static uint64_t vsize(const char *data, size_t len)
{
        uint64_t n = len;
        const char *p = data, *end = data + len;

        while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
                if (p == data || p[-1] != '\r')
                        n++;
                p++;
        }
        return n;
}

/* clean_7bit - no NUL and no 8-bit byte: BINARY content that can go
 * out as an ordinary literal; else literal8 (RFC 3516 4.3) */
static int clean_7bit(const char *p, size_t len)
{
        for (size_t i = 0; i < len; i++)
                if (p[i] == '\0' || (unsigned char)p[i] >= 0x80)
                        return 0;
        return 1;
}

static void msg_end(struct fetch_ctx *f)
{
        mime_free(&f->mime);
        if (f->mapped)
                imap_msg_unload(&f->map);
        f->mapped = 0;
        f->in_msg = 0;
        f->pos++;
}

static void sep(struct fetch_ctx *f)
{
        if (!f->first)
                buf_putc(&f->out, ' ');
        f->first = 0;
}

/* msg_start - load what the items need; 0 to answer, -1 to skip */
static int msg_start(struct imap_client *c, struct fetch_ctx *f)
{
        struct imap_view *v = c->view;
        struct status st;
        int r;

        f->uid = v->uids[f->idx[f->pos]];
        f->seen_added = 0;
        if (f->req.changedsince > 0) {
                uint64_t modseq;
                if (maildir_msg_modseq(v->box, f->uid, &modseq) <= 0 ||
                    modseq <= f->req.changedsince)
                        return -1;
        }
        if (maildir_msg_info(v->box, f->uid, &f->info) <= 0) {
                f->gone = 1;
                return -1;
        }
        if (f->req.need & (IMAP_FETCH_NEED_MAP | IMAP_FETCH_NEED_MIME)) {
                r = imap_msg_load(v->box, f->uid, &f->readbuf, &f->map, &st);
                if (r <= 0) {
                        if (r < 0) {
                                log_error("imap(%s): %s: UID %u: %s", c->user,
                                          v->name, f->uid, st.text);
                                f->failed = 1;
                        } else {
                                f->gone = 1;
                        }
                        return -1;
                }
                f->mapped = 1;
                if (f->req.need & IMAP_FETCH_NEED_MIME)
                        f->mime = mime_parse(f->map.data, f->map.len);
        }
        if (f->set_seen && (f->info.flags & MAILDIR_FLAG_SEEN) == 0) {
                r = maildir_msg_store(v->box, f->uid, MAILDIR_STORE_ADD,
                                      MAILDIR_FLAG_SEEN, NULL, 0, &st);
                if (r > 0) {
                        f->info.flags |= MAILDIR_FLAG_SEEN;
                        f->seen_added = 1;
                        f->seen_changed = 1;
                } else if (r < 0) {
                        log_warn("imap(%s): %s: UID %u: %s", c->user,
                                 v->name, f->uid, st.text);
                }
        }
        buf_reset(&f->out);
        buf_puts(&f->out, "* ");
        put_uint(&f->out, f->idx[f->pos] + 1);
        buf_puts(&f->out, " FETCH (");
        f->first = 1;
        if (imap_fetch_has(&f->req, IMAP_FETCH_UID)) {
                sep(f);
                buf_puts(&f->out, "UID ");
                put_uint(&f->out, f->uid);
        }
        f->in_msg = 1;
        f->item = 0;
        return 0;
}

static void write_flags(struct imap_client *c, struct fetch_ctx *f)
{
        sep(f);
        buf_puts(&f->out, "FLAGS ");
        imap_view_write_flags(c->view, &f->out, f->uid, f->info.flags,
                              f->info.keywords);
}

/* write_envelope - from the cached header fields when the file is not
 * open anyway */
static int write_envelope(struct imap_client *c, struct fetch_ctx *f)
{
        struct status st;

        sep(f);
        buf_puts(&f->out, "ENVELOPE ");
        if (f->mime != NULL)
                return imap_envelope_write(&f->out, f->mime, f->mime->root);
        buf_reset(&f->tmp);
        int r = maildir_msg_cached_header(c->view->box, f->uid,
                                          envelope_fields,
                                          sizeof(envelope_fields) /
                                          sizeof(envelope_fields[0]),
                                          &f->tmp, &st);
        if (r < 0)
                log_warn("imap(%s): UID %u: %s", c->user, f->uid, st.text);
        buf_puts(&f->tmp, "\n");
        struct mime_message *m = mime_parse(f->tmp.data, f->tmp.len);
        imap_envelope_write(&f->out, m, m->root);
        mime_free(&m);
        return 0;
}

/* part_cte - the Content-Transfer-Encoding of a part, trimmed */
static void part_cte(const struct mime_message *m, const struct mime_part *p,
                     struct buf *out)
{
        buf_reset(out);
        if (mime_header_get(m, p, "Content-Transfer-Encoding", out) <= 0)
                return;
        size_t s = 0, e = out->len;
        while (s < e && (out->data[s] == ' ' || out->data[s] == '\t'))
                s++;
        while (e > s && (out->data[e - 1] == ' ' || out->data[e - 1] == '\t'))
                e--;
        memmove(out->data, out->data + s, e - s);
        buf_truncate(out, e - s);
}

/* The content of a section: a range of the message (CRLF-converted on
 * the way) or bytes already final in f->tmp. */
struct content {
        int nil;
        int unknown_cte;
        int in_tmp;
        const char *data;
        size_t len;
        uint64_t vlen;
};

static void range(struct content *ct, const char *data, size_t len,
                  uint64_t vlen)
{
        ct->data = data;
        ct->len = len;
        ct->vlen = vlen;
}

static void section_content(struct imap_client *c, struct fetch_ctx *f,
                            const struct imap_fetch_item *it,
                            struct content *ct)
{
        const struct mime_message *m = f->mime;
        const struct mime_part *p = NULL;
        struct status st;
        size_t len;
        const char *d;

        memset(ct, 0, sizeof(*ct));
        buf_reset(&f->tmp);
        /* RFC 3516 4.2: the whole message with its encoded parts decoded;
         * one without any is its own BINARY[] */
        if (*it->part == '\0' && it->binary && m != NULL &&
            it->text == IMAP_SECTION_ALL &&
            imap_binary_decode(m, &f->tmp) > 0) {
                ct->in_tmp = 1;
                return;
        }
        if (*it->part == '\0') {
                size_t hlen = f->mapped ?
                              maildir_msg_header_end(f->map.data, f->map.len) :
                              0;
                switch (it->text) {
                case IMAP_SECTION_ALL:
                        range(ct, f->map.data, f->map.len,
                              m != NULL ? m->root->header.virtual +
                              m->root->body.virtual :
                              vsize(f->map.data, f->map.len));
                        return;
                case IMAP_SECTION_HEADER:
                        range(ct, f->map.data, hlen, vsize(f->map.data, hlen));
                        return;
                case IMAP_SECTION_TEXT:
                        range(ct, f->map.data + hlen, f->map.len - hlen,
                              vsize(f->map.data + hlen, f->map.len - hlen));
                        return;
                case IMAP_SECTION_FIELDS:
                        if (!f->mapped) {
                                struct buf raw;
                                buf_init(&raw, 0);
                                if (maildir_msg_cached_header(
                                            c->view->box, f->uid,
                                            (const char *const *)it->fields,
                                            it->nfields, &raw, &st) < 0)
                                        log_warn("imap(%s): UID %u: %s",
                                                 c->user, f->uid, st.text);
                                imap_fetch_header_lines(raw.data != NULL ?
                                                        raw.data : "",
                                                        raw.len, NULL, 0, 1,
                                                        &f->tmp);
                                /* nearly every message has its blank line */
                                if (f->tmp.len == 0)
                                        buf_puts(&f->tmp, "\r\n");
                                buf_release(&raw);
                                ct->in_tmp = 1;
                                return;
                        }
                        /* fall through */
                case IMAP_SECTION_FIELDS_NOT:
                        imap_fetch_header_lines(f->map.data, hlen, it->fields,
                                                it->nfields, it->text ==
                                                IMAP_SECTION_FIELDS_NOT,
                                                &f->tmp);
                        ct->in_tmp = 1;
                        return;
                case IMAP_SECTION_MIME:
                        break;
                }
                ct->nil = 1;
                return;
        }
        if (m == NULL || (p = mime_part_find(m, it->part)) == NULL) {
                ct->nil = 1;
                return;
        }
        if (it->binary) {
                /* a message/rfc822 part is its whole message, decoded
                 * like any leaf (RFC 3516 4.2) */
                if (p->flags & MIME_PART_MULTIPART) {
                        ct->nil = 1;
                        return;
                }
                struct buf cte;
                buf_init(&cte, 0);
                part_cte(m, p, &cte);
                d = mime_part_body(m, p, &len);
                if (imap_decode_cte(cte.len > 0 ? cte.data : NULL, d, len,
                                    &f->tmp) < 0)
                        ct->unknown_cte = 1;
                buf_release(&cte);
                ct->in_tmp = 1;
                return;
        }
        if (it->text == IMAP_SECTION_ALL) {
                d = mime_part_body(m, p, &len);
                range(ct, d, len, p->body.virtual);
                return;
        }
        if (it->text == IMAP_SECTION_MIME) {
                d = mime_part_header(m, p, &len);
                range(ct, d, len, p->header.virtual);
                return;
        }
        /* HEADER, TEXT, HEADER.FIELDS of an attached message */
        if ((p->flags & MIME_PART_MESSAGE) == 0 || p->children == NULL) {
                ct->nil = 1;
                return;
        }
        p = p->children;
        if (it->text == IMAP_SECTION_TEXT) {
                d = mime_part_body(m, p, &len);
                range(ct, d, len, p->body.virtual);
                return;
        }
        d = mime_part_header(m, p, &len);
        if (it->text == IMAP_SECTION_HEADER) {
                range(ct, d, len, p->header.virtual);
                return;
        }
        imap_fetch_header_lines(d, len, it->fields, it->nfields,
                                it->text == IMAP_SECTION_FIELDS_NOT, &f->tmp);
        ct->in_tmp = 1;
}

/* write_section - the item, or start streaming it (returns 1) */
static int write_section(struct imap_client *c, struct fetch_ctx *f,
                         const struct imap_fetch_item *it, struct imap_cmd *cmd)
{
        struct content ct;
        uint64_t total, off = 0, len;

        section_content(c, f, it, &ct);
        sep(f);
        buf_puts(&f->out, it->name);
        buf_putc(&f->out, ' ');
        if (ct.unknown_cte) {
                buf_puts(&f->out, "NIL");
                imap_cmd_no(cmd, "[UNKNOWN-CTE] Unknown Content-Transfer-"
                            "Encoding");
                return 0;
        }
        if (ct.nil) {
                /* a section the message does not have is empty, as
                 * Dovecot answers it */
                buf_puts(&f->out, "{0}\r\n");
                return 0;
        }
        total = ct.in_tmp ? f->tmp.len : ct.vlen;
        len = total;
        if (it->partial) {
                off = it->offset < total ? it->offset : total;
                len = total - off;
                if (len > it->length)
                        len = it->length;
        }
        if (*it->part == '\0' && (it->text == IMAP_SECTION_HEADER ||
                                  it->text == IMAP_SECTION_FIELDS ||
                                  it->text == IMAP_SECTION_FIELDS_NOT)) {
                c->stats.fetch_hdr_count++;
                c->stats.fetch_hdr_bytes += len;
        } else {
                c->stats.fetch_body_count++;
                c->stats.fetch_body_bytes += len;
        }
        if (ct.in_tmp) {
                const char *d = f->tmp.data != NULL ? f->tmp.data : "";
                buf_printf(&f->out, "%s{%llu}\r\n",
                           it->binary && !clean_7bit(d + off, (size_t)len) ?
                           "~" : "", (unsigned long long)len);
                buf_append(&f->out, d + off, (size_t)len);
                return 0;
        }
        /* RFC 3516: binary content with NULs goes out as literal8 */
        buf_printf(&f->out, "%s{%llu}\r\n", it->binary &&
                   !clean_7bit(ct.data, ct.len) ? "~" : "",
                   (unsigned long long)len);
        imap_crlf_init(&f->crlf, ct.data, ct.len, off, len);
        if (len < FETCH_STREAM_MIN) {
                while (!imap_crlf_fill(&f->crlf, &f->out, SIZE_MAX))
                        ;
                return 0;
        }
        imap_client_send_buf(c, &f->out);
        buf_reset(&f->out);
        f->streaming = 1;
        return 1;
}

static void write_binary_size(struct fetch_ctx *f,
                              const struct imap_fetch_item *it)
{
        const struct mime_message *m = f->mime;
        const struct mime_part *p;
        struct buf cte;
        const char *d;
        size_t len;

        sep(f);
        buf_puts(&f->out, it->name);
        if (*it->part == '\0') {
                buf_reset(&f->tmp);
                if (imap_binary_decode(m, &f->tmp) > 0)
                        buf_printf(&f->out, " %zu", f->tmp.len);
                else
                        buf_printf(&f->out, " %llu", (unsigned long long)
                                   (m->root->header.virtual +
                                    m->root->body.virtual));
                return;
        }
        if ((p = mime_part_find(m, it->part)) == NULL ||
            (p->flags & MIME_PART_MULTIPART)) {
                buf_puts(&f->out, " NIL");
                return;
        }
        buf_init(&cte, 0);
        part_cte(m, p, &cte);
        d = mime_part_body(m, p, &len);
        buf_reset(&f->tmp);
        if (imap_decode_cte(cte.len > 0 ? cte.data : NULL, d, len,
                            &f->tmp) < 0)
                buf_puts(&f->out, " NIL");
        else
                buf_printf(&f->out, " %zu", f->tmp.len);
        buf_release(&cte);
}

/* write_item - one item into f->out; 1 when a stream started */
static int write_item(struct imap_client *c, struct fetch_ctx *f,
                      const struct imap_fetch_item *it, struct imap_cmd *cmd)
{
        struct imap_view *v = c->view;
        struct status st;
        uint64_t n;
        time_t t;

        switch (it->kind) {
        case IMAP_FETCH_UID:
                break;
        case IMAP_FETCH_FLAGS:
                write_flags(c, f);
                break;
        case IMAP_FETCH_INTERNALDATE:
                if (maildir_msg_date(v->box, f->uid, &t, &st) <= 0)
                        t = 0;
                sep(f);
                buf_puts(&f->out, "INTERNALDATE ");
                imap_date_write(&f->out, t);
                break;
        case IMAP_FETCH_SIZE:
                if (f->mime != NULL)
                        n = f->mime->root->header.virtual +
                            f->mime->root->body.virtual;
                else if (maildir_msg_vsize(v->box, f->uid, &n, &st) <= 0)
                        n = 0;
                sep(f);
                buf_puts(&f->out, "RFC822.SIZE ");
                put_uint(&f->out, n);
                break;
        case IMAP_FETCH_MODSEQ:
                /* RFC 7162: a mod-sequence is positive; a message just
                 * expunged elsewhere gets the mailbox's highest */
                if (maildir_msg_modseq(v->box, f->uid, &n) <= 0 || n == 0)
                        n = maildir_box_highestmodseq(v->box);
                if (n == 0)
                        n = 1;
                sep(f);
                buf_printf(&f->out, "MODSEQ (%llu)", (unsigned long long)n);
                break;
        case IMAP_FETCH_ENVELOPE:
                write_envelope(c, f);
                break;
        case IMAP_FETCH_BODY:
        case IMAP_FETCH_BODYSTRUCTURE:
                sep(f);
                buf_puts(&f->out, it->kind == IMAP_FETCH_BODY ? "BODY " :
                         "BODYSTRUCTURE ");
                imap_envelope_write_body(&f->out, f->mime, f->mime->root,
                                         it->kind == IMAP_FETCH_BODYSTRUCTURE);
                break;
        case IMAP_FETCH_SECTION:
                return write_section(c, f, it, cmd);
        case IMAP_FETCH_BINARY_SIZE:
                write_binary_size(f, it);
                break;
        }
        return 0;
}

static void reply(struct imap_client *c, struct imap_cmd *cmd,
                  struct fetch_ctx *f)
{
        struct status st;

        if (f->seen_changed && maildir_modseq_commit(c->view->box, &st) < 0)
                log_warn("imap(%s): %s: %s", c->user, c->view->name, st.text);
        if (cmd->reply != IMAP_REPLY_NONE)
                return;
        if (f->failed) {
                char text[200];
                imap_cmd_no(cmd, "[SERVERBUG] %s",
                            imap_cmd_internal_error(c, "FETCH failed for "
                                                    "some messages", text,
                                                    sizeof(text)));
        } else if (f->gone && !cmd->uid) {
                imap_cmd_no(cmd, "[EXPUNGEISSUED] Some of the requested "
                            "messages no longer exist.");
        } else {
                imap_cmd_ok(cmd, "Fetch completed.");
        }
}

static int step(struct imap_client *c, struct imap_cmd *cmd)
{
        struct fetch_ctx *f = cmd->ctx;

        while (!imap_client_output_full(c)) {
                if (f->streaming) {
                        buf_reset(&f->out);
                        if (imap_crlf_fill(&f->crlf, &f->out, FETCH_SLICE))
                                f->streaming = 0;
                        imap_client_send_buf(c, &f->out);
                        buf_reset(&f->out);
                        continue;
                }
                if (!f->in_msg) {
                        if (f->pos == f->n) {
                                reply(c, cmd, f);
                                return 1;
                        }
                        if (msg_start(c, f) < 0) {
                                msg_end(f);
                                continue;
                        }
                }
                while (f->item < f->req.count) {
                        const struct imap_fetch_item *it =
                                &f->req.items[f->item++];
                        if (write_item(c, f, it, cmd))
                                break;
                }
                if (f->streaming)
                        continue;
                if (f->seen_added && !imap_fetch_has(&f->req,
                                                     IMAP_FETCH_FLAGS))
                        write_flags(c, f);
                buf_puts(&f->out, ")\r\n");
                imap_client_send_buf(c, &f->out);
                buf_reset(&f->out);
                msg_end(f);
        }
        return 0;
}

/* send_vanished - UID FETCH (CHANGEDSINCE m VANISHED): RFC 7162 3.2.6 */
static void send_vanished(struct imap_client *c, const char *set,
                          uint64_t modseq)
{
        struct maildir_uid_range *ranges = NULL;
        struct imap_seqset req, out;
        struct status st;
        size_t n = 0;
        int dollar;

        imap_seqset_init(&req);
        imap_seqset_init(&out);
        if (imap_seqset_parse(set, maildir_box_uidnext(c->view->box) - 1,
                              &req, &dollar) == 0 && !dollar &&
            maildir_expunged_since(c->view->box, modseq, &ranges, &n,
                                   &st) == 0) {
                for (size_t i = 0; i < n; i++)
                        for (size_t k = 0; k < req.n; k++) {
                                uint32_t lo = req.v[k].lo > ranges[i].first ?
                                              req.v[k].lo : ranges[i].first;
                                uint32_t hi = req.v[k].hi < ranges[i].last ?
                                              req.v[k].hi : ranges[i].last;
                                if (lo <= hi)
                                        imap_seqset_add_range(&out, lo, hi);
                        }
                imap_seqset_normalize(&out);
                if (out.n > 0) {
                        struct buf b;
                        buf_init(&b, 0);
                        buf_puts(&b, "* VANISHED (EARLIER) ");
                        imap_seqset_write(&b, &out);
                        buf_puts(&b, "\r\n");
                        imap_client_send_buf(c, &b);
                        buf_release(&b);
                }
        }
        free(ranges);
        imap_seqset_release(&req);
        imap_seqset_release(&out);
}

void imap_cmd_fetch(struct imap_client *c, struct imap_cmd *cmd)
{
        struct fetch_ctx *f;
        const char *set = imap_arg_atom(&cmd->args[0]);
        const char *error;

        if (cmd->argc < 2 || set == NULL) {
                imap_cmd_bad(cmd, "Error in IMAP command %s: Invalid "
                             "arguments.", cmd->name);
                return;
        }
        f = xcalloc(1, sizeof(*f));
        buf_init(&f->out, 0);
        buf_init(&f->tmp, 0);
        buf_init(&f->readbuf, 0);
        cmd->ctx = f;
        cmd->ctx_free = ctx_free;
        if (imap_fetch_parse(&cmd->args[1], &f->req, &error) < 0) {
                imap_cmd_bad(cmd, "Error in IMAP command %s: %s",
                             cmd->name, error);
                return;
        }
        if (f->req.vanished &&
            (!cmd->uid || !imap_client_feature(c, IMAP_FEATURE_QRESYNC))) {
                imap_cmd_bad(cmd, "Error in IMAP command %s: VANISHED "
                             "needs UID FETCH and QRESYNC", cmd->name);
                return;
        }
        if (f->req.changedsince > 0 ||
            imap_fetch_has(&f->req, IMAP_FETCH_MODSEQ)) {
                imap_client_enable(c, IMAP_FEATURE_CONDSTORE);
                imap_fetch_add(&f->req, IMAP_FETCH_MODSEQ);
        }
        if (cmd->uid)
                imap_fetch_add(&f->req, IMAP_FETCH_UID);
        if (imap_view_resolve(c, cmd, set, cmd->uid, &f->idx, &f->n) < 0)
                return;
        f->set_seen = (f->req.need & IMAP_FETCH_SETS_SEEN) &&
                      !c->view->readonly;
        if (f->req.vanished)
                send_vanished(c, set, f->req.changedsince);
        cmd->cont = step;
}
