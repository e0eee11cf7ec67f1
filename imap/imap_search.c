/* imap_search.c - does a message match SEARCH keys
 * Used by: SEARCH, SORT and THREAD (imap_cmd_search.c). What each key
 * needs is loaded on first use: flags from the uidlist and file name,
 * sizes and dates from the cache, header fields the cache keeps without
 * opening the file, anything else from the mapped message and its MIME
 * tree. Reads message files. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_client.h"
#include "imap_date.h"
#include "imap_envelope.h"
#include "imap_fetch.h"
#include "imap_search.h"
#include "imap_view.h"
#include "mem.h"
#include "mime.h"
#include "rfc2047.h"

struct msg {
        struct imap_client *c;
        size_t i;
        uint32_t uid;
        int info_state;                 /* 0 not read, 1 ok, -1 gone */
        struct maildir_msg_info info;
        int map_state;
        struct imap_msg map;
        struct buf *readbuf;
        struct mime_message *mime;
};

static int load_info(struct msg *m)
{
        if (m->info_state == 0)
                m->info_state = maildir_msg_info(m->c->view->box, m->uid,
                                                 &m->info) > 0 ? 1 : -1;
        return m->info_state;
}

static int load_map(struct msg *m)
{
        struct status st;

        if (m->map_state == 0) {
                m->map_state = imap_msg_load(m->c->view->box, m->uid,
                                             m->readbuf, &m->map, &st) > 0 ?
                               1 : -1;
                if (m->map_state > 0)
                        m->mime = mime_parse(m->map.data, m->map.len);
        }
        return m->map_state;
}

/* contains - folded haystack contains folded needle */
static int contains(const char *hay, size_t len, const char *needle)
{
        size_t n = strlen(needle);

        if (n == 0)
                return 1;
        return n <= len && memmem(hay, len, needle, n) != NULL;
}

/* text_contains - s (raw bytes) decoded as a header value, folded */
static int header_value_contains(const char *value, size_t len,
                                 const char *needle)
{
        struct buf dec, folded;
        int r;

        buf_init(&dec, 0);
        buf_init(&folded, 0);
        rfc2047_decode(&dec, value, len);
        imap_search_fold(buf_cstr(&dec), dec.len, &folded);
        r = contains(buf_cstr(&folded), folded.len, needle);
        buf_release(&dec);
        buf_release(&folded);
        return r;
}

static int is_address_field(const char *name)
{
        static const char *const fields[] = {
                "From", "To", "Cc", "Bcc", "Sender", "Reply-To",
        };

        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
                if (strcasecmp(name, fields[i]) == 0)
                        return 1;
        return 0;
}

/* address_contains - the field's addresses, parsed and written plainly
 * ("user@domain" without comments or spaces), contain needle */
static int address_contains(const char *value, size_t len, const char *needle)
{
        struct buf text;
        int r = 0;

        if (needle[0] == '\0')
                return 1;
        buf_init(&text, 0);
        if (imap_envelope_addresses_text(value, len, &text) > 0)
                r = header_value_contains(text.data, text.len, needle);
        buf_release(&text);
        return r;
}

/* header_match - some field called name contains needle ("": exists) */
static int header_match(const char *hdr, size_t len, const char *name,
                        const char *needle)
{
        struct mime_header_iter it;
        struct mime_header h;

        mime_header_iter_init(&it, hdr, len);
        while (mime_header_next(&it, &h) > 0) {
                if (h.name_len != strlen(name) ||
                    strncasecmp(h.name, name, h.name_len) != 0)
                        continue;
                if (header_value_contains(h.value, h.value_len, needle))
                        return 1;
                if (is_address_field(name) &&
                    address_contains(h.value, h.value_len, needle))
                        return 1;
        }
        return 0;
}

static int match_header(struct msg *m, const char *field, const char *needle)
{
        struct status st;

        if (maildir_cache_field(field) && m->map_state <= 0) {
                struct buf raw;
                const char *names[1] = { field };
                int r;

                buf_init(&raw, 0);
                if (maildir_msg_cached_header(m->c->view->box, m->uid, names,
                                              1, &raw, &st) <= 0) {
                        buf_release(&raw);
                        return -1;
                }
                r = header_match(buf_cstr(&raw), raw.len, field, needle);
                buf_release(&raw);
                return r;
        }
        if (load_map(m) < 0)
                return -1;
        const char *hdr;
        size_t len;
        hdr = mime_part_header(m->mime, m->mime->root, &len);
        return header_match(hdr, len, field, needle);
}

/* part_text_contains - a text part's decoded, converted content */
static int part_contains(const struct mime_message *mm,
                         const struct mime_part *p, const char *needle)
{
        struct buf cte, ctype, dec, utf8, folded;
        struct mime_content ct;
        const char *body, *charset = NULL;
        size_t len;
        int r;

        buf_init(&cte, 0);
        buf_init(&ctype, 0);
        buf_init(&dec, 0);
        buf_init(&utf8, 0);
        buf_init(&folded, 0);
        memset(&ct, 0, sizeof(ct));
        (void)mime_header_get(mm, p, "Content-Transfer-Encoding", &cte);
        body = mime_part_body(mm, p, &len);
        if (imap_decode_cte(cte.len > 0 ? buf_cstr(&cte) : NULL, body, len,
                            &dec) < 0)
                buf_append(&dec, body, len);
        if (mime_header_get(mm, p, "Content-Type", &ctype) > 0) {
                (void)mime_content_type_parse(ctype.data, ctype.len, &ct);
                charset = mime_param_get(&ct, "charset");
        }
        if (charset == NULL ||
            rfc2047_to_utf8(&utf8, charset, buf_cstr(&dec), dec.len) != 0) {
                buf_reset(&utf8);
                rfc2047_utf8_clean(&utf8, buf_cstr(&dec), dec.len);
        }
        imap_search_fold(buf_cstr(&utf8), utf8.len, &folded);
        r = contains(buf_cstr(&folded), folded.len, needle);
        mime_content_release(&ct);
        buf_release(&cte);
        buf_release(&ctype);
        buf_release(&dec);
        buf_release(&utf8);
        buf_release(&folded);
        return r;
}

/* body_contains - any text part (or any part's header, with headers) */
static int body_contains(const struct mime_message *mm,
                         const struct mime_part *p, const char *needle,
                         int headers)
{
        for (; p != NULL; p = p->next) {
                const char *hdr;
                size_t len;

                if (headers && p->depth > 0) {
                        hdr = mime_part_header(mm, p, &len);
                        if (header_value_contains(hdr, len, needle))
                                return 1;
                }
                if (p->children != NULL) {
                        if (body_contains(mm, p->children, needle, headers))
                                return 1;
                        continue;
                }
                if ((p->flags & MIME_PART_MULTIPART) == 0 &&
                    part_contains(mm, p, needle))
                        return 1;
        }
        return 0;
}

static int match_text(struct msg *m, const char *needle, int text)
{
        const char *hdr;
        size_t len;

        if (load_map(m) < 0)
                return -1;
        if (text) {
                hdr = mime_part_header(m->mime, m->mime->root, &len);
                if (header_value_contains(hdr, len, needle))
                        return 1;
        }
        const struct mime_part *root = m->mime->root;
        if (root->children != NULL)
                return body_contains(m->mime, root->children, needle, text);
        return part_contains(m->mime, root, needle);
}

static int keyword_set(struct msg *m, const char *name)
{
        for (unsigned int i = 0; i < 26; i++) {
                const char *kw = maildir_box_keyword(m->c->view->box, i);
                if (kw != NULL && strcasecmp(kw, name) == 0)
                        return (m->info.keywords & (1u << i)) != 0;
        }
        return 0;
}

static int sent_day(struct msg *m, long *day_r)
{
        const char *names[1] = { "Date" };
        struct buf raw, val;
        struct status st;
        int r = -1;

        buf_init(&raw, 0);
        buf_init(&val, 0);
        if (maildir_msg_cached_header(m->c->view->box, m->uid, names, 1,
                                      &raw, &st) > 0) {
                struct mime_header_iter it;
                struct mime_header h;
                mime_header_iter_init(&it, buf_cstr(&raw), raw.len);
                while (mime_header_next(&it, &h) > 0)
                        if (imap_date_parse_822(h.value, h.value_len, NULL,
                                                day_r) == 0)
                                r = 0;
        }
        buf_release(&raw);
        buf_release(&val);
        return r;
}

static int eval(struct msg *m, const struct imap_search_key *k);

static int eval_all(struct msg *m, const struct imap_search_key *k)
{
        for (; k != NULL; k = k->next) {
                int r = eval(m, k);
                if (r <= 0)
                        return r;
        }
        return 1;
}

static int eval(struct msg *m, const struct imap_search_key *k)
{
        struct imap_view *v = m->c->view;
        struct status st;
        uint64_t n;
        time_t t;
        long day;
        int r;

        switch (k->op) {
        case IMAP_SEARCH_ALL:
                return 1;
        case IMAP_SEARCH_AND:
                return eval_all(m, k->child);
        case IMAP_SEARCH_OR:
                if ((r = eval(m, k->child)) != 0)
                        return r;
                return eval(m, k->child->next);
        case IMAP_SEARCH_NOT:
                r = eval(m, k->child);
                return r < 0 ? r : !r;
        case IMAP_SEARCH_SEQSET:
                if (k->dollar)
                        goto saved;
                return imap_seqset_contains(&k->set, (uint32_t)(m->i + 1));
        case IMAP_SEARCH_UIDSET:
                if (k->dollar)
                        goto saved;
                return imap_seqset_contains(&k->set, m->uid);
        case IMAP_SEARCH_RECENT:
                return imap_view_is_recent(v, m->uid);
        case IMAP_SEARCH_OLD:
                return !imap_view_is_recent(v, m->uid);
        default:
                break;
        }
        if (load_info(m) < 0)
                return -1;
        switch (k->op) {
        case IMAP_SEARCH_FLAG:
                return (m->info.flags & k->flags) == k->flags;
        case IMAP_SEARCH_UNFLAG:
                return (m->info.flags & k->flags) == 0;
        case IMAP_SEARCH_NEW:
                return imap_view_is_recent(v, m->uid) &&
                       (m->info.flags & MAILDIR_FLAG_SEEN) == 0;
        case IMAP_SEARCH_KEYWORD:
                return keyword_set(m, k->str);
        case IMAP_SEARCH_UNKEYWORD:
                return !keyword_set(m, k->str);
        case IMAP_SEARCH_LARGER:
        case IMAP_SEARCH_SMALLER:
                if (maildir_msg_vsize(v->box, m->uid, &n, &st) <= 0)
                        return -1;
                return k->op == IMAP_SEARCH_LARGER ? n > k->num : n < k->num;
        case IMAP_SEARCH_BEFORE:
        case IMAP_SEARCH_ON:
        case IMAP_SEARCH_SINCE:
                if (maildir_msg_date(v->box, m->uid, &t, &st) <= 0)
                        return -1;
                day = imap_date_local_day(t);
                goto compare;
        case IMAP_SEARCH_SENTBEFORE:
        case IMAP_SEARCH_SENTON:
        case IMAP_SEARCH_SENTSINCE:
                if (sent_day(m, &day) < 0)
                        return 0;
                goto compare;
        case IMAP_SEARCH_MODSEQ:
                return maildir_msg_modseq(v->box, m->uid, &n) > 0 &&
                       n >= k->num;
        case IMAP_SEARCH_HEADER:
                return match_header(m, k->field, k->str);
        case IMAP_SEARCH_BODY:
                return match_text(m, k->str, 0);
        case IMAP_SEARCH_TEXT:
                return match_text(m, k->str, 1);
        default:
                return 0;
        }
compare:
        switch (k->op) {
        case IMAP_SEARCH_BEFORE:
        case IMAP_SEARCH_SENTBEFORE:
                return day < k->day;
        case IMAP_SEARCH_ON:
        case IMAP_SEARCH_SENTON:
                return day == k->day;
        default:
                return day >= k->day;
        }
saved:
        /* the saved result is in increasing UID order */
        if (!m->c->saved_valid)
                return 0;
        size_t lo = 0, hi = m->c->saved_count;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (m->c->saved[mid] < m->uid)
                        lo = mid + 1;
                else if (m->c->saved[mid] > m->uid)
                        hi = mid;
                else
                        return 1;
        }
        return 0;
}

int imap_search_match(struct imap_client *c, const struct imap_search_key *key,
                      size_t i)
{
        struct msg m;
        int r;

        static struct buf readbuf;

        memset(&m, 0, sizeof(m));
        m.c = c;
        m.i = i;
        m.uid = c->view->uids[i];
        m.readbuf = &readbuf;
        if (imap_view_gone(c->view, m.uid))
                return -1;
        r = eval(&m, key);
        if (m.map_state > 0) {
                mime_free(&m.mime);
                imap_msg_unload(&m.map);
        }
        /* one buffer serves every message; a big one is not kept */
        if (readbuf.size > 4 * IMAP_MSG_READ_MAX)
                buf_release(&readbuf);
        return r;
}
