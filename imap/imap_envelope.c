/* imap_envelope.c - ENVELOPE, BODY and BODYSTRUCTURE from the MIME tree
 * Used by: the IMAP session (FETCH). Header values are read again from each
 * part's header (mime.c keeps no copies). Which header wins and how broken
 * values come out follow Dovecot, so answers match what clients cached
 * from a Dovecot server: Content-* take the first field, Date/Subject/
 * Message-ID/In-Reply-To the last, address fields are merged (RFC 3501
 * 7.4.2; RFC 5322 3.4 for the address syntax, with its obsolete forms).
 * Output is built in a private buffer and appended once, so a capped out
 * either gets the whole item or nothing. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "imap_envelope.h"
#include "mem.h"
#include "mime.h"

/* a string with more quoted-specials than this goes out as a literal */
#define IMAP_QUOTED_ESCAPES_MAX 4
#define UTF8_REPLACEMENT        "\xef\xbf\xbd"

/*
 * IMAP strings
 */

static void append_literal(struct buf *out, const char *s, size_t len)
{
        buf_printf(out, "{%zu}\r\n", len);
        buf_append(out, s, len);
}

static void append_nstring(struct buf *out, const char *s)
{
        unsigned int escapes = 0;
        const char *p;

        if (s == NULL) {
                buf_puts(out, "NIL");
                return;
        }
        for (p = s; *p != '\0'; p++) {
                unsigned char c = (unsigned char)*p;

                if (c == '"' || c == '\\') {
                        if (escapes++ < IMAP_QUOTED_ESCAPES_MAX)
                                continue;
                        append_literal(out, s, strlen(s));
                        return;
                }
                if (c == '\r' || c == '\n' || c >= 0x80) {
                        append_literal(out, s, strlen(s));
                        return;
                }
        }
        buf_putc(out, '"');
        if (escapes == 0) {
                buf_append(out, s, (size_t)(p - s));
        } else {
                for (p = s; *p != '\0'; p++) {
                        if (*p == '"' || *p == '\\')
                                buf_putc(out, '\\');
                        buf_putc(out, *p);
                }
        }
        buf_putc(out, '"');
}

static void append_nstring_nolf(struct buf *out, const char *s)
{
        struct buf tmp;
        size_t i, len;

        if (s == NULL || strpbrk(s, "\r\n") == NULL) {
                append_nstring(out, s);
                return;
        }
        buf_init(&tmp, 0);
        len = strlen(s);
        for (i = 0; i < len; i++) {
                char c = s[i], n = s[i + 1];

                if (c != '\r' && c != '\n')
                        buf_putc(&tmp, c);
                else if (n != ' ' && n != '\t' && n != '\r' && n != '\n' &&
                         n != '\0')
                        buf_putc(&tmp, ' ');
        }
        append_nstring(out, buf_cstr(&tmp));
        buf_release(&tmp);
}

static int is_lwsp_char(unsigned char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void append_human(struct buf *out, const unsigned char *s,
                         size_t len)
{
        struct buf tmp;
        size_t i;
        int changed = 0, last_blank = 1, only_blank = 1;

        /* does anything need changing? */
        for (i = 0; i < len; i++) {
                unsigned char c = s[i];

                if (c == ' ' || (c != '\0' && is_lwsp_char(c))) {
                        if (c != ' ')
                                changed = 1;
                        if (last_blank)
                                changed = 1;
                        last_blank = 1;
                        continue;
                }
                if (c == '\0' || c == '"' || c == '\\' || c >= 0x80)
                        changed = 1;
                last_blank = 0;
                only_blank = 0;
        }
        if (last_blank && len > 0 && !only_blank)
                changed = 1;
        if (!changed) {
                buf_putc(out, '"');
                buf_append(out, s, len);
                buf_putc(out, '"');
                return;
        }
        buf_init(&tmp, 0);
        last_blank = 1;
        for (i = 0; i < len; i++) {
                unsigned char c = s[i];

                if (c == '\0') {
                        buf_putc(&tmp, 0x80);
                        last_blank = 0;
                } else if (is_lwsp_char(c)) {
                        if (!last_blank)
                                buf_putc(&tmp, ' ');
                        last_blank = 1;
                } else {
                        buf_putc(&tmp, c);
                        last_blank = 0;
                }
        }
        if (tmp.len > 0 && last_blank)
                buf_truncate(&tmp, tmp.len - 1);
        if (tmp.len == 0)
                buf_puts(out, "\"\"");
        else
                append_literal(out, buf_cstr(&tmp), tmp.len);
        buf_release(&tmp);
}

static int flush(struct buf *out, struct buf *tmp)
{
        int ret = buf_append(out, buf_cstr(tmp), tmp->len);

        buf_release(tmp);
        return ret;
}

int imap_envelope_append_nstring(struct buf *out, const char *s)
{
        struct buf tmp;

        buf_init(&tmp, 0);
        append_nstring(&tmp, s);
        return flush(out, &tmp);
}

int imap_envelope_append_nstring_nolf(struct buf *out, const char *s)
{
        struct buf tmp;

        buf_init(&tmp, 0);
        append_nstring_nolf(&tmp, s);
        return flush(out, &tmp);
}

int imap_envelope_append_human(struct buf *out, const char *s, size_t len)
{
        struct buf tmp;

        buf_init(&tmp, 0);
        append_human(&tmp, (const unsigned char *)s, len);
        return flush(out, &tmp);
}

/* header_strdup - a field's value as Dovecot keeps it: lines joined by a
 * bare LF (the CR before it dropped), NULs as U+FFFD; the writers then
 * remove the LFs (nstring_nolf) or fold them into spaces (human) */
static char *header_strdup(const struct mime_header *h)
{
        struct buf v;
        size_t i;

        buf_init(&v, 0);
        for (i = 0; i < h->value_len; i++) {
                char c = h->value[i];

                if (c == '\r' && i + 1 < h->value_len &&
                    h->value[i + 1] == '\n')
                        continue;
                if (c == '\0')
                        buf_puts(&v, UTF8_REPLACEMENT);
                else
                        buf_putc(&v, c);
        }
        return buf_steal(&v);
}

static int name_is(const struct mime_header *h, const char *name)
{
        size_t n = strlen(name);

        return h->name_len == n && strncasecmp(h->name, name, n) == 0;
}

/*
 * Addresses (RFC 5322 3.4), into IMAP's (name adl mailbox host)
 */

struct imap_addr {
        struct imap_addr *next;
        char *name, *route, *mailbox, *domain;
};

struct addr_parser {
        struct mime_lex lx;
        struct buf str, comment;
        struct imap_addr cur;           /* being filled */
        struct imap_addr **tail;
};

static void addr_set(char **field, const char *value)
{
        free(*field);
        *field = value != NULL ? xstrdup(value) : NULL;
}

static void addr_add(struct addr_parser *ap)
{
        struct imap_addr *a = xmalloc(sizeof(*a));

        *a = ap->cur;
        a->next = NULL;
        memset(&ap->cur, 0, sizeof(ap->cur));
        *ap->tail = a;
        ap->tail = &a->next;
}

static void addr_add_fixed(struct addr_parser *ap)
{
        if (ap->cur.mailbox == NULL)
                addr_set(&ap->cur.mailbox, "MISSING_MAILBOX");
        if (ap->cur.domain == NULL || ap->cur.domain[0] == '\0')
                addr_set(&ap->cur.domain, "MISSING_DOMAIN");
        addr_add(ap);
}

static int at(const struct addr_parser *ap, char c)
{
        return ap->lx.p < ap->lx.end && *ap->lx.p == (unsigned char)c;
}

/* local-part, dots taken loosely ("a..b", "a.") as mail in the wild has */
static int addr_local_part(struct addr_parser *ap)
{
        int ret = -1;

        buf_reset(&ap->str);
        if (at(ap, '"')) {
                ret = mime_lex_quoted(&ap->lx, &ap->str);
        } else {
                do {
                        while (at(ap, '.')) {
                                buf_putc(&ap->str, '.');
                                ap->lx.p++;
                                if (ap->lx.p == ap->lx.end) {
                                        ret = 0;
                                        goto done;
                                }
                                ret = 1;
                        }
                        if (at(ap, '@'))
                                break;
                        ret = mime_lex_atom(&ap->lx, &ap->str);
                } while (ret > 0 && at(ap, '.'));
        }
done:
        if (ret < 0)
                return -1;
        addr_set(&ap->cur.mailbox, buf_cstr(&ap->str));
        return ret;
}

static int addr_domain(struct addr_parser *ap)
{
        int ret;

        buf_reset(&ap->str);
        if ((ret = mime_lex_domain(&ap->lx, &ap->str)) < 0)
                return -1;
        addr_set(&ap->cur.domain, buf_cstr(&ap->str));
        return ret;
}

/* obs-domain-list: "@a,@b" before the ':' of a source route */
static int addr_domain_list(struct addr_parser *ap)
{
        int ret;

        buf_reset(&ap->str);
        for (;;) {
                if (ap->lx.p >= ap->lx.end)
                        return 0;
                if (*ap->lx.p != '@')
                        break;
                if (ap->str.len > 0)
                        buf_putc(&ap->str, ',');
                buf_putc(&ap->str, '@');
                if ((ret = mime_lex_domain(&ap->lx, &ap->str)) <= 0)
                        return ret;
                while (mime_lex_skip_cfws(&ap->lx) > 0 && at(ap, ','))
                        ap->lx.p++;
        }
        addr_set(&ap->cur.route, buf_cstr(&ap->str));
        return 1;
}

static int addr_angle(struct addr_parser *ap)
{
        ap->lx.p++;
        if (mime_lex_skip_cfws(&ap->lx) <= 0)
                return -1;
        if (at(ap, '@')) {
                if (addr_domain_list(ap) > 0 && at(ap, ':')) {
                        ap->lx.p++;
                } else {
                        addr_set(&ap->cur.route, "INVALID_ROUTE");
                        if (ap->lx.p >= ap->lx.end)
                                return -1;
                }
                if (mime_lex_skip_cfws(&ap->lx) <= 0)
                        return -1;
        }
        if (!at(ap, '>')) {
                if (addr_local_part(ap) <= 0)
                        return -1;
                if (at(ap, '@') && addr_domain(ap) <= 0)
                        return -1;
        }
        if (!at(ap, '>'))
                return -1;
        ap->lx.p++;
        return mime_lex_skip_cfws(&ap->lx);
}

static int addr_name_addr(struct addr_parser *ap)
{
        buf_reset(&ap->str);
        if (mime_lex_phrase(&ap->lx, &ap->str) <= 0 || !at(ap, '<'))
                return -1;
        addr_set(&ap->cur.name, ap->str.len > 0 ? buf_cstr(&ap->str) : NULL);
        if (addr_angle(ap) < 0)
                addr_set(&ap->cur.domain, "SYNTAX_ERROR");
        return ap->lx.p < ap->lx.end ? 1 : 0;
}

/* addr_spec - local-part "@" domain; *odd_r says the local part itself
 * was bad or stood alone */
static int addr_spec(struct addr_parser *ap, int *odd_r)
{
        int ret, ret2 = -2, quoted;

        buf_reset(&ap->comment);
        quoted = at(ap, '"');
        ret = addr_local_part(ap);
        *odd_r = ret <= 0;
        if (ret != 0 && at(ap, '@')) {
                ret2 = addr_domain(ap);
                if (ret2 <= 0)
                        ret = ret2;
        }
        if (ap->comment.len > 0) {
                addr_set(&ap->cur.name, buf_cstr(&ap->comment));
        } else if (ret2 == -2) {
                /* "user" alone is a mailbox; "user more words" a name */
                size_t before;

                buf_putc(&ap->str, ' ');
                before = ap->str.len;
                (void)mime_lex_phrase(&ap->lx, &ap->str);
                if (ap->str.len != before) {
                        addr_set(&ap->cur.mailbox, NULL);
                        addr_set(&ap->cur.name, buf_cstr(&ap->str));
                } else if (!quoted) {
                        addr_set(&ap->cur.domain, "");
                }
                *odd_r = 1;
                ret = -1;
        }
        return ret;
}

static int addr_mailbox(struct addr_parser *ap)
{
        const unsigned char *start = ap->lx.p;
        int ret, odd;

        if ((ret = addr_name_addr(ap)) < 0) {
                ap->lx.p = start;
                ret = addr_spec(ap, &odd);
                /* a lone word is a name, not a mailbox */
                if (odd && ap->cur.name == NULL &&
                    ap->cur.mailbox != NULL && ap->cur.domain == NULL) {
                        ap->cur.name = ap->cur.mailbox;
                        ap->cur.mailbox = NULL;
                }
        }
        addr_add_fixed(ap);
        return ret;
}

/* group: the name as (NIL NIL name NIL), members, then (NIL NIL NIL NIL)
 * (RFC 3501 7.4.2) */
static int addr_group(struct addr_parser *ap)
{
        int ret;

        buf_reset(&ap->str);
        if (mime_lex_phrase(&ap->lx, &ap->str) <= 0 || !at(ap, ':'))
                return -1;
        ap->lx.p++;
        ret = mime_lex_skip_cfws(&ap->lx);
        addr_set(&ap->cur.mailbox, buf_cstr(&ap->str));
        addr_add(ap);
        if (ret > 0 && !at(ap, ';')) {
                for (;;) {
                        (void)addr_mailbox(ap);
                        if (!at(ap, ','))
                                break;
                        ap->lx.p++;
                        if (mime_lex_skip_cfws(&ap->lx) <= 0) {
                                ret = -1;
                                break;
                        }
                }
        }
        if (ret >= 0) {
                if (!at(ap, ';')) {
                        ret = -1;
                } else {
                        ap->lx.p++;
                        ret = mime_lex_skip_cfws(&ap->lx);
                }
        }
        addr_add(ap);
        return ret == 0 ? 0 : 1;
}

/* addr_parse - append the addresses in value[0..len) to *tail */
static struct imap_addr **addr_parse(const char *value, size_t len,
                                     struct imap_addr **tail)
{
        struct addr_parser ap;
        int ret;

        memset(&ap, 0, sizeof(ap));
        buf_init(&ap.str, 0);
        buf_init(&ap.comment, 0);
        mime_lex_init(&ap.lx, value, len, &ap.comment);
        ap.tail = tail;
        if (mime_lex_skip_cfws(&ap.lx) > 0) {
                for (;;) {
                        const unsigned char *start = ap.lx.p;

                        if ((ret = addr_group(&ap)) < 0) {
                                ap.lx.p = start;
                                ret = addr_mailbox(&ap);
                        }
                        if (ret == 0)
                                break;
                        if (!at(&ap, ','))
                                break;
                        ap.lx.p++;
                        if ((ret = mime_lex_skip_cfws(&ap.lx)) <= 0) {
                                if (ret < 0)
                                        addr_add_fixed(&ap);
                                break;
                        }
                }
        }
        free(ap.cur.name);
        free(ap.cur.route);
        free(ap.cur.mailbox);
        free(ap.cur.domain);
        buf_release(&ap.str);
        buf_release(&ap.comment);
        return ap.tail;
}

static void addr_free(struct imap_addr **ap)
{
        struct imap_addr *a = *ap, *next;

        for (; a != NULL; a = next) {
                next = a->next;
                free(a->name);
                free(a->route);
                free(a->mailbox);
                free(a->domain);
                free(a);
        }
        *ap = NULL;
}

int imap_envelope_first_mailbox(const char *value, size_t len,
                                struct buf *out)
{
        struct imap_addr *list = NULL, *a;
        int found = 0;

        (void)addr_parse(value, len, &list);
        /* the first address of the envelope list: a group's start
         * marker counts, its mailbox being the group name (RFC 5256
         * section 2.3 works on the ENVELOPE's addresses) */
        for (a = list; a != NULL; a = a->next) {
                if (a->mailbox != NULL) {
                        buf_puts(out, a->mailbox);
                        found = 1;
                        break;
                }
        }
        addr_free(&list);
        return found;
}

int imap_envelope_addresses_text(const char *value, size_t len,
                                 struct buf *out)
{
        struct imap_addr *list = NULL, *a;
        int n = 0;

        (void)addr_parse(value, len, &list);
        for (a = list; a != NULL; a = a->next) {
                if (a->mailbox == NULL || a->domain == NULL)
                        continue;       /* group markers */
                if (n++ > 0)
                        buf_puts(out, ", ");
                if (a->name != NULL)
                        buf_printf(out, "%s <%s@%s>", a->name, a->mailbox,
                                   a->domain);
                else
                        buf_printf(out, "%s@%s", a->mailbox, a->domain);
        }
        addr_free(&list);
        return n > 0;
}

static void write_addrs(struct buf *out, const struct imap_addr *a)
{
        if (a == NULL) {
                buf_puts(out, "NIL");
                return;
        }
        buf_putc(out, '(');
        for (; a != NULL; a = a->next) {
                buf_putc(out, '(');
                if (a->name == NULL)
                        buf_puts(out, "NIL");
                else
                        append_human(out, (const unsigned char *)a->name,
                                     strlen(a->name));
                buf_putc(out, ' ');
                append_nstring(out, a->route);
                buf_putc(out, ' ');
                append_nstring(out, a->mailbox);
                buf_putc(out, ' ');
                append_nstring(out, a->domain);
                buf_putc(out, ')');
        }
        buf_putc(out, ')');
}

/*
 * ENVELOPE
 */

enum env_field {
        ENV_DATE, ENV_SUBJECT, ENV_IN_REPLY_TO, ENV_MESSAGE_ID,
        ENV_STRINGS,
};

enum env_addr {
        ENV_FROM, ENV_SENDER, ENV_REPLY_TO, ENV_TO, ENV_CC, ENV_BCC,
        ENV_ADDRS,
};

static const char *const env_string_names[ENV_STRINGS] = {
        "Date", "Subject", "In-Reply-To", "Message-ID",
};
static const char *const env_addr_names[ENV_ADDRS] = {
        "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
};

static void write_envelope(struct buf *out, const struct mime_message *m,
                           const struct mime_part *part)
{
        char *str[ENV_STRINGS] = { NULL };
        struct imap_addr *addr[ENV_ADDRS] = { NULL };
        struct imap_addr **tail[ENV_ADDRS];
        struct mime_header_iter it;
        struct mime_header h;
        const char *hdr;
        size_t len;
        int i;

        for (i = 0; i < ENV_ADDRS; i++)
                tail[i] = &addr[i];
        hdr = mime_part_header(m, part, &len);
        mime_header_iter_init(&it, hdr, len);
        while (mime_header_next(&it, &h) > 0) {
                for (i = 0; i < ENV_STRINGS; i++) {
                        if (name_is(&h, env_string_names[i])) {
                                /* the last one counts */
                                free(str[i]);
                                str[i] = header_strdup(&h);
                        }
                }
                for (i = 0; i < ENV_ADDRS; i++) {
                        if (name_is(&h, env_addr_names[i]))
                                tail[i] = addr_parse(h.value, h.value_len,
                                                     tail[i]);
                }
        }
        append_nstring_nolf(out, str[ENV_DATE]);
        buf_putc(out, ' ');
        if (str[ENV_SUBJECT] == NULL)
                buf_puts(out, "NIL");
        else
                append_human(out, (const unsigned char *)str[ENV_SUBJECT],
                             strlen(str[ENV_SUBJECT]));
        for (i = 0; i < ENV_ADDRS; i++) {
                const struct imap_addr *a = addr[i];

                if (a == NULL && (i == ENV_SENDER || i == ENV_REPLY_TO))
                        a = addr[ENV_FROM];
                buf_putc(out, ' ');
                write_addrs(out, a);
        }
        buf_putc(out, ' ');
        append_nstring_nolf(out, str[ENV_IN_REPLY_TO]);
        buf_putc(out, ' ');
        append_nstring_nolf(out, str[ENV_MESSAGE_ID]);
        for (i = 0; i < ENV_STRINGS; i++)
                free(str[i]);
        for (i = 0; i < ENV_ADDRS; i++)
                addr_free(&addr[i]);
}

int imap_envelope_write(struct buf *out, const struct mime_message *m,
                        const struct mime_part *part)
{
        struct buf tmp;

        buf_init(&tmp, 0);
        buf_putc(&tmp, '(');
        write_envelope(&tmp, m, part);
        buf_putc(&tmp, ')');
        return flush(out, &tmp);
}

/*
 * BODY, BODYSTRUCTURE
 */

struct part_data {
        struct mime_content type;       /* type NULL: no Content-Type */
        struct mime_content disp;       /* type NULL: none */
        char *encoding, *id, *description, *md5, *location;
        char **language;                /* NULL-terminated, or NULL */
};

static void parse_language(struct part_data *pd, const struct mime_header *h)
{
        struct mime_lex lx;
        struct buf atom;
        char **list = NULL;
        size_t n = 0;

        buf_init(&atom, 0);
        mime_lex_init(&lx, h->value, h->value_len, NULL);
        mime_lex_skip_cfws(&lx);
        while (mime_lex_atom(&lx, &atom) >= 0) {
                list = xrealloc(list, (n + 2) * sizeof(*list));
                list[n++] = xstrdup(buf_cstr(&atom));
                list[n] = NULL;
                buf_reset(&atom);
                if (lx.p >= lx.end || *lx.p != ',')
                        break;
                lx.p++;
                mime_lex_skip_cfws(&lx);
        }
        buf_release(&atom);
        pd->language = list;
}

static void parse_encoding(struct part_data *pd, const struct mime_header *h)
{
        struct mime_lex lx;
        struct buf tok;

        buf_init(&tok, 0);
        mime_lex_init(&lx, h->value, h->value_len, NULL);
        mime_lex_skip_cfws(&lx);
        if (mime_lex_token(&lx, &tok) >= 0 && mime_lex_skip_cfws(&lx) == 0 &&
            tok.len > 0)
                pd->encoding = buf_steal(&tok);
        buf_release(&tok);
}

static void part_data_read(struct part_data *pd, const struct mime_message *m,
                           const struct mime_part *part)
{
        struct mime_header_iter it;
        struct mime_header h;
        const char *hdr;
        size_t len;

        memset(pd, 0, sizeof(*pd));
        if ((part->flags & MIME_PART_IS_MIME) == 0)
                return;         /* no MIME-Version: Content-* mean nothing */
        hdr = mime_part_header(m, part, &len);
        mime_header_iter_init(&it, hdr, len);
        while (mime_header_next(&it, &h) > 0) {
                if (h.name_len < 8 || strncasecmp(h.name, "Content-", 8) != 0)
                        continue;
                if (name_is(&h, "Content-Type")) {
                        if (pd->type.type == NULL)
                                mime_content_type_parse(h.value, h.value_len,
                                                        &pd->type);
                } else if (name_is(&h, "Content-Transfer-Encoding")) {
                        if (pd->encoding == NULL)
                                parse_encoding(pd, &h);
                } else if (name_is(&h, "Content-ID")) {
                        if (pd->id == NULL)
                                pd->id = header_strdup(&h);
                } else if (name_is(&h, "Content-MD5")) {
                        if (pd->md5 == NULL)
                                pd->md5 = header_strdup(&h);
                } else if (name_is(&h, "Content-Description")) {
                        if (pd->description == NULL)
                                pd->description = header_strdup(&h);
                } else if (name_is(&h, "Content-Location")) {
                        if (pd->location == NULL)
                                pd->location = header_strdup(&h);
                } else if (name_is(&h, "Content-Language")) {
                        if (pd->language == NULL)
                                parse_language(pd, &h);
                } else if (name_is(&h, "Content-Disposition")) {
                        /* a later one may replace one without parameters */
                        if (pd->disp.nparams == 0) {
                                struct mime_content d;

                                if (mime_content_disposition_parse(
                                            h.value, h.value_len, &d) == 0) {
                                        mime_content_release(&pd->disp);
                                        pd->disp = d;
                                } else {
                                        mime_content_release(&d);
                                }
                        }
                }
        }
}

static void part_data_release(struct part_data *pd)
{
        mime_content_release(&pd->type);
        mime_content_release(&pd->disp);
        free(pd->encoding);
        free(pd->id);
        free(pd->description);
        free(pd->md5);
        free(pd->location);
        if (pd->language != NULL) {
                for (char **l = pd->language; *l != NULL; l++)
                        free(*l);
                free(pd->language);
        }
}

static void write_params(struct buf *out, const struct mime_content *ct,
                         int default_charset)
{
        size_t i;
        int seen_charset = 0;

        if (!default_charset && ct->nparams == 0) {
                buf_puts(out, "NIL");
                return;
        }
        buf_putc(out, '(');
        for (i = 0; i < ct->nparams; i++) {
                if (i > 0)
                        buf_putc(out, ' ');
                if (strcasecmp(ct->params[i].name, "charset") == 0)
                        seen_charset = 1;
                append_nstring(out, ct->params[i].name);
                buf_putc(out, ' ');
                append_nstring(out, ct->params[i].value);
        }
        if (default_charset && !seen_charset) {
                if (i > 0)
                        buf_putc(out, ' ');
                buf_puts(out, "\"charset\" \"us-ascii\"");
        }
        buf_putc(out, ')');
}

/* write_ext_common - disposition, language, location */
static void write_ext_common(struct buf *out, const struct part_data *pd)
{
        buf_putc(out, ' ');
        if (pd->disp.type == NULL) {
                buf_puts(out, "NIL");
        } else {
                buf_putc(out, '(');
                append_nstring(out, pd->disp.type);
                buf_putc(out, ' ');
                write_params(out, &pd->disp, 0);
                buf_putc(out, ')');
        }
        buf_putc(out, ' ');
        if (pd->language == NULL) {
                buf_puts(out, "NIL");
        } else {
                buf_putc(out, '(');
                for (char **l = pd->language; *l != NULL; l++) {
                        if (l != pd->language)
                                buf_putc(out, ' ');
                        append_nstring(out, *l);
                }
                buf_putc(out, ')');
        }
        buf_putc(out, ' ');
        append_nstring_nolf(out, pd->location);
}

#define EMPTY_BODY "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL " \
        "\"7bit\" 0 0"

static void write_part(struct buf *out, const struct mime_message *m,
                       const struct mime_part *part, int extended);

static void write_children(struct buf *out, const struct mime_message *m,
                           const struct mime_part *part, int extended)
{
        const struct mime_part *c;

        for (c = part->children; c != NULL; c = c->next) {
                buf_putc(out, '(');
                write_part(out, m, c, extended);
                buf_putc(out, ')');
        }
}

/* is_truncated - a part a limit kept from being parsed as what its
 * Content-Type says; shown as application/octet-stream */
static int is_truncated(const struct part_data *pd,
                        const struct mime_part *part)
{
        const char *t = pd->type.type, *s = pd->type.subtype;

        if (t != NULL)
                return (strcasecmp(t, "message") == 0 &&
                        strcasecmp(s, "rfc822") == 0) ||
                        strcasecmp(t, "multipart") == 0;
        return part->parent != NULL &&
                (part->parent->flags & MIME_PART_DIGEST) != 0;
}

/* is_plain_7bit - a single-part message that is plain 7-bit US-ASCII text
 * by any spelling: shown with the default Content-* values */
static int is_plain_7bit(const struct part_data *pd,
                         const struct mime_part *part)
{
        const struct mime_content *t = &pd->type;

        if (part->parent != NULL || part->children != NULL ||
            (part->flags & MIME_PART_TEXT) == 0)
                return 0;
        if (t->subtype != NULL && strcasecmp(t->subtype, "plain") != 0)
                return 0;
        if (t->nparams > 1 || (t->nparams == 1 &&
            (strcasecmp(t->params[0].name, "charset") != 0 ||
             strcasecmp(t->params[0].value, "us-ascii") != 0)))
                return 0;
        if (pd->id != NULL || pd->description != NULL || pd->md5 != NULL ||
            pd->disp.type != NULL || pd->language != NULL ||
            pd->location != NULL)
                return 0;
        return pd->encoding == NULL || strcasecmp(pd->encoding, "7bit") == 0;
}

static void write_part(struct buf *out, const struct mime_message *m,
                       const struct mime_part *part, int extended)
{
        struct part_data pd;
        int text = 0;

        part_data_read(&pd, m, part);
        if ((part->flags & MIME_PART_MULTIPART) != 0) {
                if (part->children != NULL) {
                        write_children(out, m, part, extended);
                } else {
                        /* a multipart without parts: RFC 3501 wants one */
                        buf_puts(out, EMPTY_BODY);
                        buf_puts(out, extended ? " NIL NIL NIL NIL)" : ")");
                }
                buf_putc(out, ' ');
                append_nstring(out, pd.type.subtype != NULL ?
                               pd.type.subtype : "");
                if (extended) {
                        buf_putc(out, ' ');
                        write_params(out, &pd.type, 0);
                        write_ext_common(out, &pd);
                }
                part_data_release(&pd);
                return;
        }

        if (is_plain_7bit(&pd, part)) {
                /* Dovecot keeps only a flag for such a message and writes
                 * the defaults, whatever case the header used */
                part_data_release(&pd);
                memset(&pd, 0, sizeof(pd));
        }
        if ((part->flags & MIME_PART_MESSAGE) != 0) {
                buf_puts(out, "\"message\" \"rfc822\"");
        } else if (is_truncated(&pd, part)) {
                buf_puts(out, "\"application\" \"octet-stream\"");
        } else if (pd.type.type == NULL) {
                text = 1;
                buf_puts(out, "\"text\" \"plain\"");
        } else {
                text = strcasecmp(pd.type.type, "text") == 0;
                append_nstring(out, pd.type.type);
                buf_putc(out, ' ');
                append_nstring(out, pd.type.subtype);
        }
        buf_putc(out, ' ');
        write_params(out, &pd.type, text);
        buf_putc(out, ' ');
        append_nstring_nolf(out, pd.id);
        buf_putc(out, ' ');
        append_nstring_nolf(out, pd.description);
        buf_putc(out, ' ');
        if (pd.encoding != NULL)
                append_nstring(out, pd.encoding);
        else
                buf_puts(out, "\"7bit\"");
        buf_printf(out, " %zu", part->body.virtual);
        if (text) {
                buf_printf(out, " %zu", part->body.lines);
        } else if ((part->flags & MIME_PART_MESSAGE) != 0 &&
                   part->children != NULL) {
                buf_puts(out, " (");
                write_envelope(out, m, part->children);
                buf_puts(out, ") ");
                write_children(out, m, part, extended);
                buf_printf(out, " %zu", part->body.lines);
        }
        if (extended) {
                buf_putc(out, ' ');
                append_nstring_nolf(out, pd.md5);
                write_ext_common(out, &pd);
        }
        part_data_release(&pd);
}

int imap_envelope_write_body(struct buf *out, const struct mime_message *m,
                             const struct mime_part *part, int extended)
{
        struct buf tmp;

        buf_init(&tmp, 0);
        buf_putc(&tmp, '(');
        write_part(&tmp, m, part, extended);
        buf_putc(&tmp, ')');
        return flush(out, &tmp);
}
