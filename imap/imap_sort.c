/* imap_sort.c - SORT (RFC 5256 3) and the base subject
 * Used by: the imap session's command table (SORT, UID SORT) and THREAD
 * (imap_thread.c: base subject, sent date). Sort keys come from the
 * folder cache (dates, sizes, the header fields it keeps), so sorting a
 * large folder opens no message file. Ties are broken by message number,
 * as the RFC asks. Parses client arguments. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_client.h"
#include "imap_date.h"
#include "imap_envelope.h"
#include "imap_sort.h"
#include "imap_view.h"
#include "mem.h"
#include "mime.h"
#include "rfc2047.h"

enum sort_key {
        SORT_ARRIVAL, SORT_CC, SORT_DATE, SORT_FROM, SORT_SIZE, SORT_SUBJECT,
        SORT_TO,
};

#define SORT_CRITERIA_MAX 16

struct criterion {
        enum sort_key key;
        int reverse;
};

struct sort_item {
        uint32_t idx;
        uint64_t num[SORT_CRITERIA_MAX];
        char *str[SORT_CRITERIA_MAX];
};

struct sort_ctx {
        const struct criterion *crit;
        size_t ncrit;
};

void imap_sort_header(struct imap_client *c, size_t i, const char *name,
                      struct buf *out)
{
        const char *names[1] = { name };
        struct mime_header_iter it;
        struct mime_header h;
        struct status st;
        struct buf raw;

        buf_init(&raw, 0);
        if (maildir_msg_cached_header(c->view->box, c->view->uids[i], names, 1,
                                      &raw, &st) > 0) {
                mime_header_iter_init(&it, buf_cstr(&raw), raw.len);
                if (mime_header_next(&it, &h) > 0)
                        (void)mime_header_unfold(out, h.value, h.value_len);
        }
        buf_release(&raw);
}

time_t imap_sort_sent_date(struct imap_client *c, size_t i)
{
        struct status st;
        struct buf v;
        time_t t = 0;

        buf_init(&v, 0);
        imap_sort_header(c, i, "Date", &v);
        if (v.len == 0 || imap_date_parse_822(v.data, v.len, &t, NULL) < 0) {
                if (maildir_msg_date(c->view->box, c->view->uids[i], &t,
                                     &st) <= 0)
                        t = 0;
        }
        buf_release(&v);
        return t;
}

/* strip_blob - "[...]" and white space at *sp, if something follows */
static int strip_blob(const char **sp, const char *end)
{
        const char *s = *sp;

        if (s >= end || *s != '[')
                return 0;
        while (s < end && *s != ']') {
                if (*s == '[' && s != *sp)
                        return 0;
                s++;
        }
        if (s >= end)
                return 0;
        s++;
        while (s < end && *s == ' ')
                s++;
        if (s >= end)
                return 0;
        *sp = s;
        return 1;
}

/* strip_leader - "re:", "fw:", "fwd:" (with an optional blob before the
 * colon) and white space */
static int strip_leader(const char **sp, const char *end)
{
        static const char *const words[] = { "re", "fwd", "fw" };
        const char *s = *sp;

        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
                size_t n = strlen(words[i]);
                if ((size_t)(end - s) < n || strncasecmp(s, words[i], n) != 0)
                        continue;
                const char *t = s + n;
                while (t < end && *t == ' ')
                        t++;
                (void)strip_blob(&t, end);
                if (t < end && *t == ':') {
                        t++;
                        while (t < end && *t == ' ')
                                t++;
                        *sp = t;
                        return 1;
                }
        }
        return 0;
}

int imap_sort_base_subject(const char *value, size_t len, struct buf *out)
{
        struct buf dec, norm;
        const char *s, *end;
        int reply = 0;

        buf_init(&dec, 0);
        buf_init(&norm, 0);
        rfc2047_decode(&dec, value, len);
        /* white space runs become one space */
        for (size_t i = 0; i < dec.len; i++) {
                char ch = dec.data[i];
                if (ch == '\t' || ch == '\r' || ch == '\n')
                        ch = ' ';
                if (ch == ' ' && (norm.len == 0 ||
                                  norm.data[norm.len - 1] == ' '))
                        continue;
                buf_putc(&norm, ch);
        }
        s = buf_cstr(&norm);
        end = s + norm.len;
        for (;;) {
                /* trailing "(fwd)" and spaces */
                for (;;) {
                        while (end > s && end[-1] == ' ')
                                end--;
                        if (end - s >= 5 &&
                            strncasecmp(end - 5, "(fwd)", 5) == 0) {
                                end -= 5;
                                reply = 1;
                        } else
                                break;
                }
                /* leading blobs and leaders */
                for (;;) {
                        while (s < end && *s == ' ')
                                s++;
                        if (strip_leader(&s, end)) {
                                reply = 1;
                                continue;
                        }
                        if (strip_blob(&s, end))
                                continue;
                        break;
                }
                /* "[fwd: ...]" */
                if (end - s > 6 && strncasecmp(s, "[fwd:", 5) == 0 &&
                    end[-1] == ']') {
                        s += 5;
                        end--;
                        reply = 1;
                        continue;
                }
                break;
        }
        for (; s < end; s++)
                buf_putc(out, toupper((unsigned char)*s));
        buf_release(&dec);
        buf_release(&norm);
        return reply;
}

static char *addr_key(struct imap_client *c, size_t i, const char *field)
{
        struct buf v, m;

        buf_init(&v, 0);
        buf_init(&m, 0);
        imap_sort_header(c, i, field, &v);
        if (v.len > 0)
                (void)imap_envelope_first_mailbox(v.data, v.len, &m);
        for (size_t k = 0; k < m.len; k++)
                m.data[k] = (char)toupper((unsigned char)m.data[k]);
        buf_release(&v);
        return buf_steal(&m);
}

static void fill(struct imap_client *c, struct sort_item *it,
                 const struct criterion *crit, size_t ncrit)
{
        struct imap_view *v = c->view;
        struct status st;

        for (size_t k = 0; k < ncrit; k++) {
                uint64_t n = 0;
                time_t t = 0;
                struct buf b;

                switch (crit[k].key) {
                case SORT_ARRIVAL:
                        if (maildir_msg_date(v->box, v->uids[it->idx], &t,
                                             &st) > 0)
                                n = (uint64_t)t;
                        it->num[k] = n;
                        break;
                case SORT_DATE:
                        it->num[k] = (uint64_t)imap_sort_sent_date(c, it->idx);
                        break;
                case SORT_SIZE:
                        if (maildir_msg_vsize(v->box, v->uids[it->idx], &n,
                                              &st) <= 0)
                                n = 0;
                        it->num[k] = n;
                        break;
                case SORT_SUBJECT:
                        buf_init(&b, 0);
                        struct buf raw;
                        buf_init(&raw, 0);
                        imap_sort_header(c, it->idx, "Subject", &raw);
                        imap_sort_base_subject(buf_cstr(&raw), raw.len, &b);
                        buf_release(&raw);
                        it->str[k] = buf_steal(&b);
                        break;
                case SORT_FROM:
                        it->str[k] = addr_key(c, it->idx, "From");
                        break;
                case SORT_TO:
                        it->str[k] = addr_key(c, it->idx, "To");
                        break;
                case SORT_CC:
                        it->str[k] = addr_key(c, it->idx, "Cc");
                        break;
                }
        }
}

static int compare(const void *a, const void *b, void *arg)
{
        const struct sort_item *x = a, *y = b;
        const struct sort_ctx *ctx = arg;

        for (size_t k = 0; k < ctx->ncrit; k++) {
                int r;
                if (x->str[k] != NULL || y->str[k] != NULL)
                        r = strcmp(x->str[k] != NULL ? x->str[k] : "",
                                   y->str[k] != NULL ? y->str[k] : "");
                else
                        r = x->num[k] < y->num[k] ? -1 : x->num[k] > y->num[k];
                if (ctx->crit[k].reverse)
                        r = -r;
                if (r != 0)
                        return r;
        }
        return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int parse_criteria(const struct imap_arg *list, struct criterion *crit,
                          size_t *n_r)
{
        static const struct {
                const char *name;
                enum sort_key key;
        } names[] = {
                { "ARRIVAL", SORT_ARRIVAL }, { "CC", SORT_CC },
                { "DATE", SORT_DATE }, { "FROM", SORT_FROM },
                { "SIZE", SORT_SIZE }, { "SUBJECT", SORT_SUBJECT },
                { "TO", SORT_TO },
        };
        int reverse = 0;

        *n_r = 0;
        if (list->type != IMAP_ARG_LIST || list->len == 0)
                return -1;
        for (size_t i = 0; i < list->len; i++) {
                const struct imap_arg *a = &list->list[i];
                size_t k;
                if (imap_arg_is_atom(a, "REVERSE")) {
                        reverse = 1;
                        continue;
                }
                for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
                        if (imap_arg_is_atom(a, names[k].name))
                                break;
                if (k == sizeof(names) / sizeof(names[0]) ||
                    *n_r == SORT_CRITERIA_MAX)
                        return -1;
                crit[*n_r].key = names[k].key;
                crit[*n_r].reverse = reverse;
                (*n_r)++;
                reverse = 0;
        }
        return reverse || *n_r == 0 ? -1 : 0;
}

void imap_cmd_sort(struct imap_client *c, struct imap_cmd *cmd)
{
        struct criterion crit[SORT_CRITERIA_MAX];
        size_t ncrit, n = 0;
        const char *charset;
        uint32_t *idx = NULL;
        struct sort_item *items;
        struct sort_ctx ctx;
        struct buf b;

        if (cmd->argc < 3 || parse_criteria(&cmd->args[0], crit, &ncrit) < 0 ||
            (charset = imap_arg_astring(&cmd->args[1])) == NULL) {
                imap_cmd_bad(cmd, "Error in IMAP command SORT: Invalid "
                             "arguments.");
                return;
        }
        if (imap_cmd_search_run(c, cmd, &cmd->args[2], charset, &idx, &n,
                                NULL) < 0)
                return;
        items = xcalloc(n + 1, sizeof(*items));
        for (size_t i = 0; i < n; i++) {
                items[i].idx = idx[i];
                fill(c, &items[i], crit, ncrit);
        }
        ctx.crit = crit;
        ctx.ncrit = ncrit;
        qsort_r(items, n, sizeof(*items), compare, &ctx);
        buf_init(&b, 0);
        buf_puts(&b, "* SORT");
        for (size_t i = 0; i < n; i++) {
                buf_printf(&b, " %u", cmd->uid ?
                           c->view->uids[items[i].idx] : items[i].idx + 1);
                for (size_t k = 0; k < ncrit; k++)
                        free(items[i].str[k]);
        }
        buf_puts(&b, "\r\n");
        imap_client_send_buf(c, &b);
        buf_release(&b);
        free(items);
        free(idx);
        imap_cmd_ok(cmd, "Sort completed.");
}
