/* imap_fetch_parse.c - FETCH attributes and modifiers
 * Used by: the imap session (imap_fetch.h) and fuzz_imap_parser. A body
 * section arrives as one atom ("BODY.PEEK[1.HEADER.FIELDS (To Cc)]<0.99>",
 * imap_parser.h keeps it whole); its text is read here: RFC 9051 section
 * 9 section-spec, section-binary and partial. Parses client input. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_fetch.h"
#include "imap_parser.h"
#include "maildir.h"
#include "mem.h"

/* header field names in one HEADER.FIELDS list */
#define FETCH_FIELDS_MAX        1000

static struct imap_fetch_item *add(struct imap_fetch_req *req,
                                   enum imap_fetch_kind kind)
{
        req->items = xrealloc(req->items, (req->count + 1) *
                              sizeof(*req->items));
        struct imap_fetch_item *it = &req->items[req->count++];
        memset(it, 0, sizeof(*it));
        it->kind = kind;
        return it;
}

int imap_fetch_has(const struct imap_fetch_req *req, enum imap_fetch_kind k)
{
        for (size_t i = 0; i < req->count; i++)
                if (req->items[i].kind == k)
                        return 1;
        return 0;
}

void imap_fetch_add(struct imap_fetch_req *req, enum imap_fetch_kind k)
{
        if (!imap_fetch_has(req, k))
                (void)add(req, k);
}

void imap_fetch_req_release(struct imap_fetch_req *req)
{
        for (size_t i = 0; i < req->count; i++) {
                struct imap_fetch_item *it = &req->items[i];
                free(it->part);
                free(it->name);
                for (size_t k = 0; k < it->nfields; k++)
                        free(it->fields[k]);
                free(it->fields);
        }
        free(req->items);
        memset(req, 0, sizeof(*req));
}

/* parse_fields - "(From "To" Cc)" at *sp, into it->fields; the names
 * written upper-case into name */
static int parse_fields(const char **sp, struct imap_fetch_item *it,
                        struct buf *name)
{
        const char *s = *sp;

        if (*s++ != '(')
                return -1;
        buf_putc(name, '(');
        for (;;) {
                struct buf f;

                while (*s == ' ')
                        s++;
                if (*s == ')')
                        break;
                buf_init(&f, 0);
                if (*s == '"') {
                        for (s++; *s != '"'; s++) {
                                if (*s == '\\' && s[1] != '\0')
                                        s++;
                                if (*s == '\0') {
                                        buf_release(&f);
                                        return -1;
                                }
                                buf_putc(&f, *s);
                        }
                        s++;
                } else {
                        while (*s > ' ' && *s < 0x7f && *s != ')' &&
                               *s != '(' && *s != '"')
                                buf_putc(&f, *s++);
                }
                if (f.len == 0 || it->nfields == FETCH_FIELDS_MAX ||
                    strpbrk(buf_cstr(&f), ": \t") != NULL) {
                        buf_release(&f);
                        return -1;
                }
                if (it->nfields > 0)
                        buf_putc(name, ' ');
                for (size_t i = 0; i < f.len; i++)
                        buf_putc(name, toupper((unsigned char)f.data[i]));
                it->fields = xrealloc(it->fields, (it->nfields + 1) *
                                      sizeof(*it->fields));
                it->fields[it->nfields++] = buf_steal(&f);
                if (*s != ' ' && *s != ')')
                        return -1;
        }
        if (it->nfields == 0)
                return -1;
        buf_putc(name, ')');
        *sp = s + 1;
        return 0;
}

/* parse_section - the text between '[' and ']' at *sp */
static int parse_section(const char **sp, struct imap_fetch_item *it,
                         struct buf *name, int binary)
{
        const char *s = *sp, *start = s;
        struct buf part;

        buf_init(&part, 0);
        /* section-part: nz-number *("." nz-number) */
        while (*s >= '1' && *s <= '9') {
                const char *d = s;
                while (isdigit((unsigned char)*s))
                        s++;
                if (s - d > 9)
                        goto bad;
                buf_append(&part, d, (size_t)(s - d));
                if (*s != '.' || !isdigit((unsigned char)s[1]))
                        break;
                buf_putc(&part, *s++);
        }
        it->part = buf_steal(&part);
        buf_append(name, start, (size_t)(s - start));
        if (*s == ']') {
                *sp = s + 1;
                return 0;
        }
        if (binary)
                goto bad;
        if (*it->part != '\0') {
                if (*s != '.')
                        goto bad;
                buf_putc(name, *s++);
        }
        if (strncasecmp(s, "HEADER.FIELDS.NOT", 17) == 0 && s[17] == ' ') {
                it->text = IMAP_SECTION_FIELDS_NOT;
                buf_puts(name, "HEADER.FIELDS.NOT ");
                s += 18;
                if (parse_fields(&s, it, name) < 0)
                        goto bad;
        } else if (strncasecmp(s, "HEADER.FIELDS", 13) == 0 && s[13] == ' ') {
                it->text = IMAP_SECTION_FIELDS;
                buf_puts(name, "HEADER.FIELDS ");
                s += 14;
                if (parse_fields(&s, it, name) < 0)
                        goto bad;
        } else if (strncasecmp(s, "HEADER", 6) == 0) {
                it->text = IMAP_SECTION_HEADER;
                buf_puts(name, "HEADER");
                s += 6;
        } else if (strncasecmp(s, "TEXT", 4) == 0) {
                it->text = IMAP_SECTION_TEXT;
                buf_puts(name, "TEXT");
                s += 4;
        } else if (strncasecmp(s, "MIME", 4) == 0 && *it->part != '\0') {
                it->text = IMAP_SECTION_MIME;
                buf_puts(name, "MIME");
                s += 4;
        } else {
                goto bad;
        }
        if (*s != ']')
                goto bad;
        *sp = s + 1;
        return 0;
bad:
        buf_release(&part);
        return -1;
}

/* parse_partial - "<offset.length>" at *sp, or nothing */
static int parse_partial(const char **sp, struct imap_fetch_item *it)
{
        const char *s = *sp;
        uint64_t v[2] = { 0, 0 };

        if (*s != '<')
                return 0;
        s++;
        for (int k = 0; k < 2; k++) {
                int n = 0;
                while (isdigit((unsigned char)*s) && n < 19) {
                        v[k] = v[k] * 10 + (uint64_t)(*s++ - '0');
                        n++;
                }
                if (n == 0 || isdigit((unsigned char)*s))
                        return -1;
                if (*s++ != (k == 0 ? '.' : '>'))
                        return -1;
        }
        /* RFC 9051: the length is a nz-number */
        if (v[1] == 0)
                return -1;
        it->partial = 1;
        it->offset = v[0];
        it->length = v[1];
        *sp = s;
        return 0;
}

/* cached_fields - HEADER.FIELDS of the message whose every field the
 * folder cache keeps: no need to read the file */
static int cached_fields(const struct imap_fetch_item *it)
{
        if (it->text != IMAP_SECTION_FIELDS || *it->part != '\0' ||
            it->binary)
                return 0;
        for (size_t i = 0; i < it->nfields; i++)
                if (!maildir_cache_field(it->fields[i]))
                        return 0;
        return 1;
}

/* parse_body_att - BODY[...], BODY.PEEK[...], BINARY*[...] */
static int parse_body_att(struct imap_fetch_req *req, const char *att)
{
        static const struct {
                const char *prefix;
                int peek, binary, size;
        } kinds[] = {
                { "BODY.PEEK[", 1, 0, 0 },
                { "BODY[", 0, 0, 0 },
                { "BINARY.PEEK[", 1, 1, 0 },
                { "BINARY.SIZE[", 1, 1, 1 },
                { "BINARY[", 0, 1, 0 },
        };
        struct buf name;
        size_t k;

        for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
                if (strncasecmp(att, kinds[k].prefix,
                                strlen(kinds[k].prefix)) == 0)
                        break;
        if (k == sizeof(kinds) / sizeof(kinds[0]))
                return -1;
        struct imap_fetch_item *it = add(req, kinds[k].size ?
                                         IMAP_FETCH_BINARY_SIZE :
                                         IMAP_FETCH_SECTION);
        const char *s = att + strlen(kinds[k].prefix);
        it->peek = kinds[k].peek;
        it->binary = kinds[k].binary;
        buf_init(&name, 0);
        buf_puts(&name, kinds[k].binary ? (kinds[k].size ? "BINARY.SIZE[" :
                                           "BINARY[") : "BODY[");
        if (parse_section(&s, it, &name, it->binary) < 0) {
                buf_release(&name);
                return -1;
        }
        buf_putc(&name, ']');
        if (!kinds[k].size && parse_partial(&s, it) < 0) {
                buf_release(&name);
                return -1;
        }
        if (*s != '\0') {
                buf_release(&name);
                return -1;
        }
        if (it->partial)
                buf_printf(&name, "<%llu>", (unsigned long long)it->offset);
        it->name = buf_steal(&name);
        if (it->kind == IMAP_FETCH_SECTION) {
                if (!cached_fields(it))
                        req->need |= IMAP_FETCH_NEED_MAP;
                if (*it->part != '\0' || it->binary)
                        req->need |= IMAP_FETCH_NEED_MIME;
                if (!it->peek)
                        req->need |= IMAP_FETCH_SETS_SEEN;
        } else {
                req->need |= IMAP_FETCH_NEED_MAP | IMAP_FETCH_NEED_MIME;
        }
        return 0;
}

static int parse_att(struct imap_fetch_req *req, const char *att)
{
        static const struct {
                const char *name;
                enum imap_fetch_kind kind;
                unsigned int need;
        } simple[] = {
                { "FLAGS", IMAP_FETCH_FLAGS, 0 },
                { "UID", IMAP_FETCH_UID, 0 },
                { "INTERNALDATE", IMAP_FETCH_INTERNALDATE, 0 },
                { "RFC822.SIZE", IMAP_FETCH_SIZE, 0 },
                { "ENVELOPE", IMAP_FETCH_ENVELOPE, 0 },
                { "BODY", IMAP_FETCH_BODY,
                  IMAP_FETCH_NEED_MAP | IMAP_FETCH_NEED_MIME },
                { "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE,
                  IMAP_FETCH_NEED_MAP | IMAP_FETCH_NEED_MIME },
                { "MODSEQ", IMAP_FETCH_MODSEQ, 0 },
        };
        static const struct {
                const char *name;
                enum imap_section_text text;
                int peek;
        } rfc822[] = {
                { "RFC822", IMAP_SECTION_ALL, 0 },
                { "RFC822.HEADER", IMAP_SECTION_HEADER, 1 },
                { "RFC822.TEXT", IMAP_SECTION_TEXT, 0 },
        };

        for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
                if (strcasecmp(att, simple[i].name) == 0) {
                        imap_fetch_add(req, simple[i].kind);
                        req->need |= simple[i].need;
                        return 0;
                }
        }
        for (size_t i = 0; i < sizeof(rfc822) / sizeof(rfc822[0]); i++) {
                if (strcasecmp(att, rfc822[i].name) != 0)
                        continue;
                struct imap_fetch_item *it = add(req, IMAP_FETCH_SECTION);
                it->part = xstrdup("");
                it->text = rfc822[i].text;
                it->peek = rfc822[i].peek;
                it->name = xstrdup(rfc822[i].name);
                req->need |= IMAP_FETCH_NEED_MAP;
                if (!it->peek)
                        req->need |= IMAP_FETCH_SETS_SEEN;
                return 0;
        }
        return parse_body_att(req, att);
}

/* macro - ALL, FAST, FULL (RFC 3501 6.4.5) */
static int macro(struct imap_fetch_req *req, const char *att)
{
        static const char *const all[] = { "FLAGS", "INTERNALDATE",
                                           "RFC822.SIZE", "ENVELOPE", "BODY" };
        size_t n;

        if (strcasecmp(att, "ALL") == 0)
                n = 4;
        else if (strcasecmp(att, "FAST") == 0)
                n = 3;
        else if (strcasecmp(att, "FULL") == 0)
                n = 5;
        else
                return 0;
        for (size_t i = 0; i < n; i++)
                (void)parse_att(req, all[i]);
        return 1;
}

static int parse_modifiers(const struct imap_arg *list,
                           struct imap_fetch_req *req)
{
        for (size_t i = 0; i < list->len; i++) {
                const struct imap_arg *a = &list->list[i];
                if (imap_arg_is_atom(a, "CHANGEDSINCE") &&
                    imap_arg_number(&a[1], INT64_MAX, &req->changedsince)) {
                        i++;
                        continue;
                }
                if (imap_arg_is_atom(a, "VANISHED")) {
                        req->vanished = 1;
                        continue;
                }
                return -1;
        }
        /* RFC 7162 3.2.6: VANISHED needs CHANGEDSINCE */
        if (req->vanished && req->changedsince == 0)
                return -1;
        return 0;
}

int imap_fetch_parse(const struct imap_arg *args, struct imap_fetch_req *req,
                     const char **error_r)
{
        memset(req, 0, sizeof(*req));
        *error_r = "Invalid arguments.";
        if (args[0].type == IMAP_ARG_ATOM) {
                if (!macro(req, args[0].str) &&
                    parse_att(req, args[0].str) < 0) {
                        *error_r = "Unknown parameter";
                        goto bad;
                }
        } else if (args[0].type == IMAP_ARG_LIST && args[0].len > 0) {
                for (size_t i = 0; i < args[0].len; i++) {
                        const char *att = imap_arg_atom(&args[0].list[i]);
                        if (att == NULL || parse_att(req, att) < 0) {
                                *error_r = "Unknown parameter";
                                goto bad;
                        }
                }
        } else {
                goto bad;
        }
        if (args[1].type == IMAP_ARG_LIST) {
                if (parse_modifiers(&args[1], req) < 0) {
                        *error_r = "Invalid modifiers";
                        goto bad;
                }
                if (args[2].type != IMAP_ARG_EOL)
                        goto bad;
        } else if (args[1].type != IMAP_ARG_EOL) {
                goto bad;
        }
        return 0;
bad:
        imap_fetch_req_release(req);
        return -1;
}
