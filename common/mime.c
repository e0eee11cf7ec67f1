/* mime.c - parse a message into its MIME part tree
 * Used by: imap, pop3, local. One forward pass over the message in memory;
 * no recursion (the open parts and boundaries live on explicit stacks), so
 * nesting depth costs no C stack. Each byte is counted once into the part
 * that holds it; a finished part adds its sizes to its parent, as Dovecot
 * does (RFC 2046 5.1.1: the [CR]LF before a boundary line belongs to the
 * boundary, not to the part before it). Header fields are not indexed: the
 * look-ups walk a part's header, which keeps memory at one small struct per
 * part. The Content-* and RFC 5322 lexical helpers sit here too, since the
 * parser needs them for Content-Type. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "mem.h"
#include "mime.h"
#include "rfc2047.h"

#define MIME_CHUNK_PARTS        64
/* a boundary line is compared on at most this many bytes when it has no LF */
#define MIME_BOUNDARY_LINE_MAX  (MIME_BOUNDARY_MAX + 4)

struct mime_chunk {
        struct mime_chunk *next;
        size_t used;
        struct mime_part parts[MIME_CHUNK_PARTS];
};

struct mime_boundary {
        char *text;
        size_t len;
        struct mime_part *part;         /* the multipart it separates */
};

struct mime_parser {
        const unsigned char *d;
        size_t len;
        size_t pos;
        struct mime_message *m;
        struct mime_part *part;         /* the part being read */
        struct mime_boundary *bnd;      /* stack, newest last */
        size_t nbnd, bnd_size;
        unsigned int nested;            /* open parts below the root */
        /* the current part's header */
        char *last_boundary;
        int seen_content_type;
        /* the boundary last matched */
        size_t match;
        int match_epilogue;
};

enum mime_state {
        MIME_ST_HEADER,
        MIME_ST_BODY,
        MIME_ST_BODY_FIRST,     /* body whose first line may be a boundary */
        MIME_ST_DONE,
};

/* RFC 5322 atext (1), of which RFC 2045 token chars also (2); 8-bit is
 * taken as text, as mail in the wild needs */
static const unsigned char mime_atext[256] = {
        ['!'] = 3, ['#'] = 3, ['$'] = 3, ['%'] = 3, ['&'] = 3, ['\''] = 3,
        ['*'] = 3, ['+'] = 3, ['-'] = 3, ['/'] = 1, ['='] = 1, ['?'] = 1,
        ['^'] = 3, ['_'] = 3, ['`'] = 3, ['{'] = 3, ['|'] = 3, ['}'] = 3,
        ['~'] = 3,
};

static int is_atext(unsigned char c)
{
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c >= 0x80)
                return 1;
        return mime_atext[c] != 0;
}

static int is_token(unsigned char c)
{
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c >= 0x80)
                return 1;
        return (mime_atext[c] & 2) != 0;
}

int mime_lex_is_atext(unsigned char c)
{
        return is_atext(c);
}

/*
 * Sizes
 */

/* size_add_span - count data[a..b) into sz */
static void size_add_span(struct mime_size *sz, const unsigned char *d,
                          size_t a, size_t b)
{
        const unsigned char *p = d + a, *end = d + b, *nl;
        size_t lines = 0, bare = 0;

        while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
                lines++;
                if (nl == d || nl[-1] != '\r')
                        bare++;
                p = nl + 1;
        }
        sz->physical += b - a;
        sz->virtual += b - a + bare;
        sz->lines += lines;
}

static void size_add(struct mime_size *dst, const struct mime_size *src)
{
        dst->physical += src->physical;
        dst->virtual += src->virtual;
        dst->lines += src->lines;
}

static void part_add_body(struct mime_parser *p, size_t a, size_t b)
{
        if (b <= a)
                return;
        size_add_span(&p->part->body, p->d, a, b);
        if (memchr(p->d + a, '\0', b - a) != NULL)
                p->part->flags |= MIME_PART_HAS_NULS;
}

/*
 * The part tree
 */

static struct mime_part *part_new(struct mime_message *m)
{
        struct mime_chunk *c = m->chunks;

        if (c == NULL || c->used == MIME_CHUNK_PARTS) {
                c = xcalloc(1, sizeof(*c));
                c->next = m->chunks;
                m->chunks = c;
        }
        m->part_count++;
        return &c->parts[c->used++];
}

/* part_append - open a child of the current part at the read position */
static void part_append(struct mime_parser *p)
{
        struct mime_part *parent = p->part;
        struct mime_part *child = part_new(p->m);

        child->parent = parent;
        child->depth = parent->depth + 1;
        child->offset = p->pos;
        if (parent->last_child == NULL)
                parent->children = child;
        else
                parent->last_child->next = child;
        parent->last_child = child;
        p->part = child;
        p->nested++;
}

/* part_finish - close the current part, its sizes going to its parent */
static void part_finish(struct mime_parser *p)
{
        struct mime_part *part = p->part;

        size_add(&part->parent->body, &part->header);
        size_add(&part->parent->body, &part->body);
        p->part = part->parent;
        p->nested--;
}

/*
 * Boundaries
 */

static void boundary_push(struct mime_parser *p, char *text,
                          struct mime_part *part)
{
        if (p->nbnd == p->bnd_size) {
                p->bnd_size = p->bnd_size ? p->bnd_size * 2 : 8;
                p->bnd = xrealloc(p->bnd, p->bnd_size * sizeof(*p->bnd));
        }
        p->bnd[p->nbnd].text = text;
        p->bnd[p->nbnd].len = strlen(text);
        p->bnd[p->nbnd].part = part;
        p->nbnd++;
}

/* boundary_pop_to - keep only the n oldest boundaries */
static void boundary_pop_to(struct mime_parser *p, size_t n)
{
        while (p->nbnd > n) {
                p->nbnd--;
                free(p->bnd[p->nbnd].text);
        }
}

/* boundary_match - is the line at 'at' a boundary line of an open
 * multipart? Any line that starts with "--" plus a known boundary is one
 * (RFC 2046 5.1.1 allows trailing text); the newest boundary wins among
 * those of equal length, the longest among prefixes. Sets p->match. */
static int boundary_match(struct mime_parser *p, size_t at)
{
        const unsigned char *s;
        const unsigned char *lf;
        size_t rest, n, i, best = SIZE_MAX;
        int dashes = 0;

        if (p->nbnd == 0 || p->len - at < 2 || p->d[at] != '-' ||
            p->d[at + 1] != '-')
                return 0;
        if (p->m->part_count >= MIME_PARTS_MAX) {
                /* no room for more parts: the rest stays where it is */
                p->part->flags |= MIME_PART_OVERFLOW;
                return 0;
        }
        s = p->d + at + 2;
        rest = p->len - at - 2;
        lf = memchr(s, '\n', rest);
        if (lf != NULL) {
                n = (size_t)(lf - s);
                if (n > 0 && s[n - 1] == '\r')
                        n--;
                dashes = n > 2 && s[n - 1] == '-' && s[n - 2] == '-';
        } else {
                n = rest < MIME_BOUNDARY_LINE_MAX ? rest :
                        MIME_BOUNDARY_LINE_MAX;
        }
        for (i = p->nbnd; i-- > 0;) {
                const struct mime_boundary *b = &p->bnd[i];

                if (b->len > n || memcmp(b->text, s, b->len) != 0)
                        continue;
                if (best != SIZE_MAX && p->bnd[best].len >= b->len)
                        continue;
                best = i;
                if (b->len == n || (dashes && b->len == n - 2))
                        break;
        }
        if (best == SIZE_MAX)
                return 0;
        p->match = best;
        p->match_epilogue = rest >= p->bnd[best].len + 2 &&
                memcmp(s + p->bnd[best].len, "--", 2) == 0;
        return 1;
}

/* boundary_found - the matched boundary line starts at 'line'; its newline
 * before it starts at 'start' (== line for a body's first line). Closes the
 * parts inside the multipart, skips the boundary line, and says what
 * follows: the header of a new part or more of the multipart's body. */
static enum mime_state boundary_found(struct mime_parser *p, size_t start,
                                      size_t line)
{
        struct mime_boundary *b = &p->bnd[p->match];
        struct mime_part *mp = b->part;
        size_t end, blen = b->len;
        int epilogue = p->match_epilogue;
        const unsigned char *lf;

        while (p->part != mp)
                part_finish(p);
        boundary_pop_to(p, epilogue ? p->match : p->match + 1);

        end = line + 2 + blen + (epilogue ? 2 : 0);
        lf = memchr(p->d + end, '\n', p->len - end);
        end = lf != NULL ? (size_t)(lf - p->d) + 1 : p->len;
        part_add_body(p, start, end);
        p->pos = end;
        /* a boundary line cut by the end of data starts nothing; a whole
         * one starts a part even when nothing follows it */
        if (lf == NULL)
                return MIME_ST_DONE;
        if (p->nbnd > 0 && p->bnd[p->nbnd - 1].part == p->part) {
                part_append(p);
                p->part->flags |= MIME_PART_IS_MIME;
                return MIME_ST_HEADER;
        }
        return MIME_ST_BODY_FIRST;
}

/*
 * Header fields
 */

/* field_next - the field starting at d[pos] (not the blank line); returns
 * the position after it and sets h_r, *newline_r (size of its last
 * newline, 0 at the end of data) */
static size_t field_next(const unsigned char *d, size_t pos, size_t len,
                         struct mime_header *h_r, size_t *newline_r)
{
        const unsigned char *start = d + pos, *end = d + len, *p = start;
        const unsigned char *colon = NULL, *vend, *lf;
        size_t i;

        /* the name ends at the first ':' of the first line */
        for (; p < end && *p != '\n'; p++) {
                if (*p == ':') {
                        colon = p;
                        break;
                }
        }
        /* the field ends at the LF not followed by a blank */
        p = start;
        for (;;) {
                lf = memchr(p, '\n', (size_t)(end - p));
                if (lf == NULL) {
                        p = end;
                        vend = end;
                        *newline_r = 0;
                        break;
                }
                p = lf + 1;
                if (p < end && (*p == ' ' || *p == '\t'))
                        continue;
                vend = lf > start && lf[-1] == '\r' ? lf - 1 : lf;
                *newline_r = (size_t)(p - vend);
                break;
        }
        h_r->line = (const char *)start;
        h_r->line_len = (size_t)(p - start);
        if (colon == NULL || colon > vend) {
                h_r->name = "";
                h_r->name_len = 0;
                h_r->value = (const char *)start;
                h_r->value_len = (size_t)(vend - start);
                return (size_t)(p - d);
        }
        i = (size_t)(colon - start);
        while (i > 0 && (start[i - 1] == ' ' || start[i - 1] == '\t'))
                i--;
        if (i > MIME_HEADER_NAME_MAX) {
                h_r->name = "";
                h_r->name_len = 0;
                h_r->value = (const char *)start;
                h_r->value_len = (size_t)(vend - start);
                return (size_t)(p - d);
        }
        h_r->name = (const char *)start;
        h_r->name_len = i;
        /* skip the blanks after ':', but keep one if that is all there is
         * on the line */
        p = colon + 1;
        lf = memchr(p, '\n', (size_t)(vend - p));
        if (lf == NULL)
                lf = vend;
        else if (lf > p && lf[-1] == '\r')
                lf--;
        {
                const unsigned char *q = p;

                while (q < lf && (*q == ' ' || *q == '\t'))
                        q++;
                if (q == lf && q > p)
                        q = p + 1;
                p = q;
        }
        h_r->value = (const char *)p;
        h_r->value_len = (size_t)(vend - p);
        return (size_t)(h_r->line + h_r->line_len - (const char *)d);
}

/* at_blank_line - the header's closing empty line at pos: its size, or 0 */
static size_t at_blank_line(const unsigned char *d, size_t pos, size_t len)
{
        if (pos < len && d[pos] == '\n')
                return 1;
        if (pos + 1 < len && d[pos] == '\r' && d[pos + 1] == '\n')
                return 2;
        return 0;
}

static int name_is(const struct mime_header *h, const char *name)
{
        size_t n = strlen(name);

        return h->name_len == n && strncasecmp(h->name, name, n) == 0;
}

void mime_header_iter_init(struct mime_header_iter *it, const char *hdr,
                           size_t len)
{
        it->p = hdr;
        it->end = hdr + len;
}

int mime_header_next(struct mime_header_iter *it, struct mime_header *h_r)
{
        const unsigned char *d = (const unsigned char *)it->p;
        size_t len = (size_t)(it->end - it->p), nl, next;

        if (len == 0 || at_blank_line(d, 0, len) != 0)
                return 0;
        next = field_next(d, 0, len, h_r, &nl);
        it->p += next;
        return 1;
}

int mime_header_unfold(struct buf *out, const char *value, size_t len)
{
        size_t i, start = 0;
        int ret = 0;

        for (i = 0; i < len; i++) {
                if (value[i] == '\n') {
                        size_t e = i;

                        if (e > start && value[e - 1] == '\r')
                                e--;
                        ret |= buf_append(out, value + start, e - start);
                        start = i + 1;
                } else if (value[i] == '\0') {
                        ret |= buf_append(out, value + start, i - start);
                        ret |= buf_puts(out, "\xef\xbf\xbd");
                        start = i + 1;
                }
        }
        ret |= buf_append(out, value + start, len - start);
        return ret < 0 ? -1 : 0;
}

const char *mime_part_header(const struct mime_message *m,
                             const struct mime_part *part, size_t *len_r)
{
        *len_r = part->header.physical;
        return m->data + part->offset;
}

const char *mime_part_body(const struct mime_message *m,
                           const struct mime_part *part, size_t *len_r)
{
        size_t off = part->offset + part->header.physical;

        *len_r = part->body.physical;
        if (off > m->len) {
                *len_r = 0;
                off = m->len;
        }
        return m->data + off;
}

int mime_header_get(const struct mime_message *m,
                    const struct mime_part *part, const char *name,
                    struct buf *value_r)
{
        struct mime_header_iter it;
        struct mime_header h;
        size_t len;
        const char *hdr = mime_part_header(m, part, &len);

        mime_header_iter_init(&it, hdr, len);
        while (mime_header_next(&it, &h) > 0) {
                if (name_is(&h, name)) {
                        (void)mime_header_unfold(value_r, h.value,
                                                 h.value_len);
                        return 1;
                }
        }
        return 0;
}

int mime_header_get_utf8(const struct mime_message *m,
                         const struct mime_part *part, const char *name,
                         struct buf *value_r)
{
        struct buf raw;
        int found;

        buf_init(&raw, 0);
        found = mime_header_get(m, part, name, &raw);
        if (found)
                (void)rfc2047_decode(value_r, buf_cstr(&raw), raw.len);
        buf_release(&raw);
        return found;
}

/*
 * Lexical scanner (RFC 5322 3.2, RFC 2045 5.1)
 */

void mime_lex_init(struct mime_lex *lx, const char *s, size_t len,
                   struct buf *comment)
{
        lx->p = (const unsigned char *)s;
        lx->end = lx->p + len;
        lx->comment = comment;
}

/* lex_skip_comment - at '(': skip a nested comment, keeping its text */
static int lex_skip_comment(struct mime_lex *lx)
{
        const unsigned char *start;
        int level = 1;

        if (lx->comment != NULL)
                buf_reset(lx->comment);
        start = ++lx->p;
        for (; lx->p < lx->end; lx->p++) {
                switch (*lx->p) {
                case '\0':
                        if (lx->comment != NULL) {
                                buf_append(lx->comment, start,
                                           (size_t)(lx->p - start));
                                buf_puts(lx->comment, "\xef\xbf\xbd");
                                start = lx->p + 1;
                        }
                        break;
                case '(':
                        level++;
                        break;
                case ')':
                        if (--level == 0) {
                                if (lx->comment != NULL)
                                        buf_append(lx->comment, start,
                                                   (size_t)(lx->p - start));
                                lx->p++;
                                return lx->p < lx->end ? 1 : 0;
                        }
                        break;
                case '\n':
                        if (lx->comment != NULL) {
                                size_t n = (size_t)(lx->p - start);

                                if (n > 0 && start[n - 1] == '\r')
                                        n--;
                                buf_append(lx->comment, start, n);
                                start = lx->p + 1;
                        }
                        break;
                case '\\':
                        lx->p++;
                        if (lx->p >= lx->end)
                                return -1;
                        if (*lx->p == '\r' || *lx->p == '\n' ||
                            *lx->p == '\0') {
                                lx->p--;
                                break;
                        }
                        if (lx->comment != NULL)
                                buf_append(lx->comment, start,
                                           (size_t)(lx->p - start - 1));
                        start = lx->p;
                        break;
                }
        }
        return -1;
}

int mime_lex_skip_cfws(struct mime_lex *lx)
{
        while (lx->p < lx->end) {
                unsigned char c = *lx->p;

                if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                        lx->p++;
                        continue;
                }
                if (c != '(')
                        break;
                if (lex_skip_comment(lx) < 0)
                        return -1;
        }
        return lx->p < lx->end ? 1 : 0;
}

int mime_lex_atom(struct mime_lex *lx, struct buf *out)
{
        const unsigned char *start = lx->p;

        if (lx->p >= lx->end || !is_atext(*lx->p))
                return -1;
        while (lx->p < lx->end && is_atext(*lx->p))
                lx->p++;
        buf_append(out, start, (size_t)(lx->p - start));
        if (lx->p >= lx->end)
                return 0;
        return mime_lex_skip_cfws(lx);
}

int mime_lex_dot_atom(struct mime_lex *lx, struct buf *out)
{
        const unsigned char *start;
        int ret;

        if (lx->p >= lx->end || !is_atext(*lx->p))
                return -1;
        for (start = lx->p++; lx->p < lx->end;) {
                if (is_atext(*lx->p)) {
                        lx->p++;
                        continue;
                }
                if (start == lx->p)
                        return -1;
                buf_append(out, start, (size_t)(lx->p - start));
                if ((ret = mime_lex_skip_cfws(lx)) <= 0)
                        return ret;
                if (*lx->p != '.')
                        return 1;
                lx->p++;
                buf_putc(out, '.');
                if (mime_lex_skip_cfws(lx) <= 0)
                        return -1;
                start = lx->p;
        }
        buf_append(out, start, (size_t)(lx->p - start));
        return 0;
}

int mime_lex_token(struct mime_lex *lx, struct buf *out)
{
        const unsigned char *start = lx->p;

        while (lx->p < lx->end && (is_token(*lx->p) || *lx->p == '.'))
                lx->p++;
        buf_append(out, start, (size_t)(lx->p - start));
        if (lx->p >= lx->end)
                return 0;
        return mime_lex_skip_cfws(lx);
}

int mime_lex_quoted(struct mime_lex *lx, struct buf *out)
{
        const unsigned char *start;

        lx->p++;
        for (start = lx->p; lx->p < lx->end; lx->p++) {
                switch (*lx->p) {
                case '\0':
                        buf_append(out, start, (size_t)(lx->p - start));
                        buf_puts(out, "\xef\xbf\xbd");
                        start = lx->p + 1;
                        break;
                case '"':
                        buf_append(out, start, (size_t)(lx->p - start));
                        lx->p++;
                        return mime_lex_skip_cfws(lx);
                case '\n': {
                        size_t n = (size_t)(lx->p - start);

                        if (n > 0 && start[n - 1] == '\r')
                                n--;
                        buf_append(out, start, n);
                        start = lx->p + 1;
                        break;
                }
                case '\\':
                        lx->p++;
                        if (lx->p >= lx->end)
                                return -1;
                        if (*lx->p == '\r' || *lx->p == '\n' ||
                            *lx->p == '\0') {
                                lx->p--;
                                break;
                        }
                        buf_append(out, start, (size_t)(lx->p - start - 1));
                        start = lx->p;
                        break;
                }
        }
        return -1;
}

/* lex_atom_or_dot - an obs-phrase word: atext and dots, maybe empty */
static int lex_atom_or_dot(struct mime_lex *lx, struct buf *out)
{
        const unsigned char *start = lx->p;

        while (lx->p < lx->end && (is_atext(*lx->p) || *lx->p == '.'))
                lx->p++;
        buf_append(out, start, (size_t)(lx->p - start));
        if (lx->p >= lx->end)
                return 0;
        return mime_lex_skip_cfws(lx);
}

int mime_lex_phrase(struct mime_lex *lx, struct buf *out)
{
        int ret;

        if (lx->p >= lx->end)
                return 0;
        if (*lx->p == '.')
                return -1;
        for (;;) {
                if (*lx->p == '"')
                        ret = mime_lex_quoted(lx, out);
                else
                        ret = lex_atom_or_dot(lx, out);
                if (ret <= 0)
                        return ret;
                if (!is_atext(*lx->p) && *lx->p != '"' && *lx->p != '.')
                        break;
                buf_putc(out, ' ');
        }
        return mime_lex_skip_cfws(lx);
}

/* lex_domain_literal - at '[': "[...]" kept as written, folds removed */
static int lex_domain_literal(struct mime_lex *lx, struct buf *out)
{
        const unsigned char *start;

        for (start = lx->p++; lx->p < lx->end; lx->p++) {
                switch (*lx->p) {
                case '\0':
                        buf_append(out, start, (size_t)(lx->p - start));
                        buf_puts(out, "\xef\xbf\xbd");
                        start = lx->p + 1;
                        break;
                case '[':
                        return -1;
                case ']':
                        buf_append(out, start, (size_t)(lx->p - start + 1));
                        lx->p++;
                        return mime_lex_skip_cfws(lx);
                case '\n': {
                        size_t n = (size_t)(lx->p - start);

                        if (n > 0 && start[n - 1] == '\r')
                                n--;
                        buf_append(out, start, n);
                        start = lx->p + 1;
                        break;
                }
                case '\\':
                        lx->p++;
                        if (lx->p >= lx->end)
                                return -1;
                        if (*lx->p == '\r' || *lx->p == '\n' ||
                            *lx->p == '\0') {
                                buf_append(out, start,
                                           (size_t)(lx->p - start));
                                start = lx->p;
                                lx->p--;
                        }
                        break;
                }
        }
        return -1;
}

int mime_lex_domain(struct mime_lex *lx, struct buf *out)
{
        lx->p++;
        if (mime_lex_skip_cfws(lx) <= 0)
                return -1;
        if (*lx->p == '[')
                return lex_domain_literal(lx, out);
        return mime_lex_dot_atom(lx, out);
}

/*
 * Content-Type, Content-Disposition (RFC 2045 5.1, RFC 2183, RFC 2231)
 */

struct mime_ext_param {
        char *key;
        char *value;
        unsigned int idx;
        int extended;
};

static void params_add(struct mime_content *ct, size_t *size, char *name,
                       char *value)
{
        if (ct->nparams == *size) {
                *size = *size ? *size * 2 : 4;
                ct->params = xrealloc(ct->params,
                                      *size * sizeof(*ct->params));
        }
        ct->params[ct->nparams].name = name;
        ct->params[ct->nparams].value = value;
        ct->nparams++;
}

static int ext_param_cmp(const void *a, const void *b)
{
        const struct mime_ext_param *x = a, *y = b;
        int ret = strcmp(x->key, y->key);

        if (ret != 0)
                return ret;
        return x->idx < y->idx ? -1 : x->idx > y->idx ? 1 : 0;
}

/* content_param - one ";" attribute "=" value; 1 got one, 0 end, -1 bad */
static int content_param(struct mime_lex *lx, struct buf *key,
                         struct buf *value)
{
        int ret;

        buf_reset(key);
        buf_reset(value);
        if (lx->p >= lx->end)
                return 0;
        if (*lx->p != ';')
                return -1;
        lx->p++;
        if (mime_lex_skip_cfws(lx) <= 0)
                return -1;
        if (mime_lex_token(lx, key) <= 0)
                return -1;
        if (*lx->p != '=')
                return -1;
        lx->p++;
        if ((ret = mime_lex_skip_cfws(lx)) <= 0) {
                /* no value */
        } else if (*lx->p == '"') {
                ret = mime_lex_quoted(lx, value);
        } else if (*lx->p == '=') {
                /* broken senders write name==?utf-8?b?...?= unquoted */
                const unsigned char *s = lx->p;

                while (lx->p < lx->end && *lx->p != ';' && *lx->p != ' ' &&
                       *lx->p != '\t' && *lx->p != '\r' && *lx->p != '\n')
                        lx->p++;
                buf_append(value, s, (size_t)(lx->p - s));
        } else {
                ret = mime_lex_token(lx, value);
        }
        return ret < 0 ? -1 : 1;
}

/* parse_params - the parameter list; RFC 2231 "key*N[*]" pieces are joined
 * into "key" or "key*" after the plain ones; pieces with a gap in their
 * numbers are kept apart */
static int parse_params(struct mime_lex *lx, struct mime_content *ct)
{
        struct buf key, value;
        struct mime_ext_param *ext = NULL;
        size_t next = 0, size = 0, ext_size = 0, i, j;
        unsigned int idx = 0;
        int ret, broken = 0;

        buf_init(&key, 0);
        buf_init(&value, 0);
        while ((ret = content_param(lx, &key, &value)) != 0) {
                const char *k, *star;
                int extended = 0, ok = 0;

                if (ret < 0) {
                        broken = 1;
                        if (lx->p >= lx->end)
                                break;
                        lx->p++;
                        continue;
                }
                k = buf_cstr(&key);
                star = strchr(k, '*');
                if (star != NULL) {
                        const char *q = star;

                        if (q[1] != '\0') {
                                /* the index carries over when absent */
                                q++;
                                idx = 0;
                                for (; *q >= '0' && *q <= '9'; q++)
                                        idx = idx * 10 + (unsigned int)
                                                (*q - '0');
                        }
                        if (*q == '*') {
                                extended = 1;
                                q++;
                        }
                        ok = *q == '\0';
                }
                if (ok) {
                        if (next == ext_size) {
                                ext_size = ext_size ? ext_size * 2 : 4;
                                ext = xrealloc(ext, ext_size * sizeof(*ext));
                        }
                        ext[next].key = xstrndup(k, (size_t)(star - k));
                        ext[next].value = xstrdup(buf_cstr(&value));
                        ext[next].idx = idx;
                        ext[next].extended = extended;
                        next++;
                } else {
                        params_add(ct, &size, xstrdup(k),
                                   xstrdup(buf_cstr(&value)));
                }
        }
        if (next > 0)
                qsort(ext, next, sizeof(*ext), ext_param_cmp);
        for (i = 0; i < next; i = j) {
                int gap = 0, have_ext = 0;
                unsigned int want = 0;

                for (j = i; j < next; j++) {
                        if (strcasecmp(ext[i].key, ext[j].key) != 0)
                                break;
                        if (ext[j].idx != want)
                                gap = 1;
                        if (ext[j].extended)
                                have_ext = 1;
                        want++;
                }
                if (gap) {
                        for (size_t n = i; n < j; n++)
                                params_add(ct, &size, xasprintf(
                                        ext[n].extended ? "%s*%u*" : "%s*%u",
                                        ext[n].key, ext[n].idx),
                                           xstrdup(ext[n].value));
                        continue;
                }
                buf_reset(&value);
                if (!ext[i].extended && have_ext)
                        buf_puts(&value, "''");
                for (size_t n = i; n < j; n++) {
                        const char *v = ext[n].value;

                        if (ext[n].extended || !have_ext) {
                                buf_puts(&value, v);
                                continue;
                        }
                        for (; *v != '\0'; v++) {
                                if (*v == '%')
                                        buf_puts(&value, "%25");
                                else
                                        buf_putc(&value, *v);
                        }
                }
                params_add(ct, &size, have_ext ?
                           xasprintf("%s*", ext[i].key) : xstrdup(ext[i].key),
                           xstrdup(buf_cstr(&value)));
        }
        for (i = 0; i < next; i++) {
                free(ext[i].key);
                free(ext[i].value);
        }
        free(ext);
        buf_release(&key);
        buf_release(&value);
        return broken ? -1 : 0;
}

int mime_content_type_parse(const char *value, size_t len,
                            struct mime_content *ct_r)
{
        struct mime_lex lx;
        struct buf type;
        size_t slash;
        int ret;

        memset(ct_r, 0, sizeof(*ct_r));
        mime_lex_init(&lx, value, len, NULL);
        buf_init(&type, 0);
        ret = -1;
        if (mime_lex_skip_cfws(&lx) <= 0)
                goto out;
        if (mime_lex_token(&lx, &type) <= 0 || type.len == 0)
                goto out;
        if (*lx.p != '/') {
                buf_reset(&type);
                goto out;
        }
        lx.p++;
        if (mime_lex_skip_cfws(&lx) <= 0) {
                buf_reset(&type);
                goto out;
        }
        buf_putc(&type, '/');
        slash = type.len;
        if ((ret = mime_lex_token(&lx, &type)) < 0 || type.len == slash ||
            (lx.p != lx.end && *lx.p != ';')) {
                buf_reset(&type);
                ret = -1;
                goto out;
        }
        ret = 0;
out:
        {
                const char *t = buf_cstr(&type);
                const char *s = strchr(t, '/');

                ct_r->type = xstrndup(t, s != NULL ? (size_t)(s - t) :
                                      strlen(t));
                ct_r->subtype = xstrdup(s != NULL ? s + 1 : "");
        }
        buf_release(&type);
        if (ret < 0)
                return -1;
        (void)parse_params(&lx, ct_r);
        return 0;
}

int mime_content_disposition_parse(const char *value, size_t len,
                                   struct mime_content *ct_r)
{
        struct mime_lex lx;
        struct buf type;

        memset(ct_r, 0, sizeof(*ct_r));
        mime_lex_init(&lx, value, len, NULL);
        buf_init(&type, 0);
        mime_lex_skip_cfws(&lx);
        if (mime_lex_token(&lx, &type) < 0) {
                buf_release(&type);
                return -1;
        }
        ct_r->type = xstrdup(buf_cstr(&type));
        buf_release(&type);
        (void)parse_params(&lx, ct_r);
        return 0;
}

void mime_content_release(struct mime_content *ct)
{
        size_t i;

        for (i = 0; i < ct->nparams; i++) {
                free(ct->params[i].name);
                free(ct->params[i].value);
        }
        free(ct->params);
        free(ct->type);
        free(ct->subtype);
        memset(ct, 0, sizeof(*ct));
}

const char *mime_param_get(const struct mime_content *ct, const char *name)
{
        size_t i;

        for (i = 0; i < ct->nparams; i++)
                if (strcasecmp(ct->params[i].name, name) == 0)
                        return ct->params[i].value;
        return NULL;
}

static int hexval(int c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int mime_param_get_utf8(const struct mime_content *ct, const char *name,
                        struct buf *out)
{
        struct buf raw;
        char *ename = xasprintf("%s*", name);
        const char *v = mime_param_get(ct, ename);
        const char *q1, *q2;

        free(ename);
        if (v == NULL) {
                v = mime_param_get(ct, name);
                if (v == NULL)
                        return 0;
                (void)rfc2047_decode(out, v, strlen(v));
                return 1;
        }
        /* RFC 2231 4: charset'language'percent-encoded */
        q1 = strchr(v, '\'');
        q2 = q1 != NULL ? strchr(q1 + 1, '\'') : NULL;
        if (q2 == NULL) {
                (void)rfc2047_utf8_clean(out, v, strlen(v));
                return 1;
        }
        buf_init(&raw, 0);
        for (const char *s = q2 + 1; *s != '\0'; s++) {
                int hi, lo;

                if (*s == '%' && (hi = hexval(s[1])) >= 0 &&
                    (lo = hexval(s[2])) >= 0) {
                        buf_putc(&raw, hi * 16 + lo);
                        s += 2;
                } else {
                        buf_putc(&raw, *s);
                }
        }
        {
                char *cs = xstrndup(v, (size_t)(q1 - v));

                if (cs[0] == '\0' ||
                    rfc2047_to_utf8(out, cs, buf_cstr(&raw), raw.len) == -2)
                        (void)rfc2047_utf8_clean(out, buf_cstr(&raw),
                                                 raw.len);
                free(cs);
        }
        buf_release(&raw);
        return 1;
}

/*
 * The parser
 */

/* header_field_seen - note what a header field says about the part */
static void header_field_seen(struct mime_parser *p,
                              const struct mime_header *h)
{
        struct mime_part *part = p->part;
        struct mime_content ct;
        struct buf v;
        const char *boundary;
        int ret;

        if (h->name_len == 0)
                return;
        if (name_is(h, "MIME-Version")) {
                part->flags |= MIME_PART_IS_MIME;
                return;
        }
        if (!name_is(h, "Content-Type"))
                return;
        part->flags |= MIME_PART_IS_MIME;
        if (p->seen_content_type)
                return;
        p->seen_content_type = 1;

        buf_init(&v, 0);
        mime_header_unfold(&v, h->value, h->value_len);
        ret = mime_content_type_parse(buf_cstr(&v), v.len, &ct);
        buf_release(&v);
        if (strcasecmp(ct.type, "message") == 0 &&
            strcasecmp(ct.subtype, "rfc822") == 0 && ct.subtype[0] != '\0')
                part->flags |= MIME_PART_MESSAGE;
        else if (strcasecmp(ct.type, "text") == 0)
                part->flags |= MIME_PART_TEXT;
        else if (strcasecmp(ct.type, "multipart") == 0 &&
                 (ct.subtype[0] != '\0' || ret == 0)) {
                part->flags |= MIME_PART_MULTIPART;
                if (strcasecmp(ct.subtype, "digest") == 0)
                        part->flags |= MIME_PART_DIGEST;
        }
        if (ret == 0 && (part->flags & MIME_PART_MULTIPART) != 0 &&
            (boundary = mime_param_get(&ct, "boundary")) != NULL) {
                free(p->last_boundary);
                p->last_boundary = xstrndup(boundary, MIME_BOUNDARY_MAX);
        }
        mime_content_release(&ct);
}

/* header_give_newline - move the header's last newline (nl bytes) to the
 * parent's body, where the boundary line that follows claims it */
static void header_give_newline(struct mime_part *part, size_t nl)
{
        if (nl == 0 || part->parent == NULL)
                return;
        part->header.lines--;
        part->header.physical -= nl;
        part->header.virtual -= 2;
        part->parent->body.lines++;
        part->parent->body.physical += nl;
        part->parent->body.virtual += 2;
}

/* parse_header - read the current part's header from p->pos */
static enum mime_state parse_header(struct mime_parser *p)
{
        struct mime_part *part = p->part;
        struct mime_header h;
        size_t next, nl = 0, blank;
        int eoh = 0, multipart = 0;

        p->seen_content_type = 0;
        free(p->last_boundary);
        p->last_boundary = NULL;
        for (;;) {
                if (p->pos >= p->len)
                        break;
                if (boundary_match(p, p->pos)) {
                        /* a boundary ends the header; the newline before
                         * it belongs to the boundary */
                        header_give_newline(part, nl);
                        break;
                }
                blank = at_blank_line(p->d, p->pos, p->len);
                if (blank > 0) {
                        size_add_span(&part->header, p->d, p->pos,
                                      p->pos + blank);
                        p->pos += blank;
                        nl = blank;
                        eoh = 1;
                        break;
                }
                next = field_next(p->d, p->pos, p->len, &h, &nl);
                size_add_span(&part->header, p->d, p->pos, next);
                if (memchr(p->d + p->pos, '\0', next - p->pos) != NULL)
                        part->flags |= MIME_PART_HAS_NULS;
                header_field_seen(p, &h);
                p->pos = next;
        }

        /* end of header */
        if (eoh && p->last_boundary != NULL &&
            (part->flags & MIME_PART_IS_MIME) != 0) {
                if (p->nested + 1 >= MIME_DEPTH_MAX) {
                        part->flags |= MIME_PART_OVERFLOW;
                        part->flags &= ~MIME_PART_MULTIPART;
                } else {
                        boundary_push(p, p->last_boundary, part);
                        p->last_boundary = NULL;
                        multipart = 1;
                }
        }
        /* a boundary right after the blank line takes the blank line's
         * newline too, unless it is the part's own first boundary */
        if (eoh && p->pos < p->len && boundary_match(p, p->pos) &&
            p->bnd[p->match].part != part)
                header_give_newline(part, nl);
        if ((part->flags & MIME_PART_IS_MIME) == 0)
                part->flags &= MIME_PART_HAS_NULS;
        free(p->last_boundary);
        p->last_boundary = NULL;
        if (!p->seen_content_type || (part->flags & MIME_PART_IS_MIME) == 0) {
                if (part->parent != NULL &&
                    (part->parent->flags & MIME_PART_DIGEST) != 0)
                        part->flags |= MIME_PART_MESSAGE;
                else
                        part->flags |= MIME_PART_TEXT;
        }
        if (multipart || (part->flags & MIME_PART_MESSAGE) == 0)
                return p->pos >= p->len ? MIME_ST_DONE : MIME_ST_BODY_FIRST;
        if (p->nested + 1 < MIME_DEPTH_MAX &&
            p->m->part_count < MIME_PARTS_MAX) {
                part_append(p);
                return MIME_ST_HEADER;
        }
        part->flags |= MIME_PART_OVERFLOW;
        part->flags &= ~MIME_PART_MESSAGE;
        return MIME_ST_BODY_FIRST;
}

/* parse_body - read body from p->pos to the next boundary line or the end */
static enum mime_state parse_body(struct mime_parser *p, int first_line)
{
        const unsigned char *nl;
        size_t q;

        if (p->nbnd == 0) {
                part_add_body(p, p->pos, p->len);
                p->pos = p->len;
                return MIME_ST_DONE;
        }
        if (first_line && boundary_match(p, p->pos))
                return boundary_found(p, p->pos, p->pos);
        for (q = p->pos;
             (nl = memchr(p->d + q, '\n', p->len - q)) != NULL;) {
                size_t at = (size_t)(nl - p->d), line = at + 1, start;

                if (boundary_match(p, line)) {
                        start = at > p->pos && p->d[at - 1] == '\r' ?
                                at - 1 : at;
                        part_add_body(p, p->pos, start);
                        p->pos = start;
                        return boundary_found(p, start, line);
                }
                q = line;
        }
        part_add_body(p, p->pos, p->len);
        p->pos = p->len;
        return MIME_ST_DONE;
}

struct mime_message *mime_parse(const char *data, size_t len)
{
        struct mime_message *m = xcalloc(1, sizeof(*m));
        struct mime_parser p;
        enum mime_state st = MIME_ST_HEADER;

        m->data = data;
        m->len = len;
        m->root = part_new(m);
        memset(&p, 0, sizeof(p));
        p.d = (const unsigned char *)data;
        p.len = len;
        p.m = m;
        p.part = m->root;

        while (st != MIME_ST_DONE) {
                switch (st) {
                case MIME_ST_HEADER:
                        st = parse_header(&p);
                        break;
                case MIME_ST_BODY:
                        st = parse_body(&p, 0);
                        break;
                case MIME_ST_BODY_FIRST:
                        st = parse_body(&p, 1);
                        break;
                case MIME_ST_DONE:
                        break;
                }
        }
        while (p.part->parent != NULL)
                part_finish(&p);
        boundary_pop_to(&p, 0);
        free(p.bnd);
        free(p.last_boundary);
        return m;
}

void mime_free(struct mime_message **mp)
{
        struct mime_message *m;
        struct mime_chunk *c, *next;

        if (mp == NULL || *mp == NULL)
                return;
        m = *mp;
        for (c = m->chunks; c != NULL; c = next) {
                next = c->next;
                free(c);
        }
        free(m);
        *mp = NULL;
}

const struct mime_part *mime_part_find(const struct mime_message *m,
                                       const char *section)
{
        const struct mime_part *part = m->root;
        const char *s = section;

        if (*s == '\0')
                return NULL;
        for (;;) {
                unsigned long n = 0;

                if (*s < '1' || *s > '9')
                        return NULL;
                for (; *s >= '0' && *s <= '9'; s++) {
                        n = n * 10 + (unsigned long)(*s - '0');
                        if (n > MIME_PARTS_MAX)
                                return NULL;
                }
                if ((part->flags & MIME_PART_MULTIPART) != 0) {
                        part = part->children;
                        for (; n > 1 && part != NULL; n--)
                                part = part->next;
                        if (part == NULL)
                                return NULL;
                } else if (n != 1) {
                        return NULL;
                }
                if (*s == '\0')
                        return part;
                if (*s != '.' || *++s == '\0')
                        return NULL;
                /* going deeper into a message/rfc822 part enters its
                 * message */
                if ((part->flags & MIME_PART_MESSAGE) != 0 &&
                    part->children != NULL)
                        part = part->children;
        }
}
