/* imap_parser.c - the IMAP command reader: bytes in, one command out
 * Used by: imap (imap_client.c), imapd (imapd_cmd.c), fuzz_imap_parser.
 * A byte-driven state machine (RFC 9051 section 9: tag, atom, quoted,
 * literal, literal8, list); see imap_parser.h. Parses client input: every
 * allocation is bounded by line_max, IMAP_PARSER_ARGS_MAX and the literal
 * sizes the caller accepted. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_parser.h"
#include "mem.h"

static const struct imap_arg eol_arg = { .type = IMAP_ARG_EOL };

/* is_atom_char - ATOM-CHAR of RFC 9051 plus what argument atoms carry:
 * list-wildcards (LIST patterns, "1:*"), '\' (flags) and ']' */
static int is_atom_char(unsigned char c)
{
        if (c <= 0x20 || c >= 0x7f)
                return 0;
        return c != '(' && c != ')' && c != '{' && c != '"';
}

/* is_tag_char - ASTRING-CHAR but '+' (RFC 9051 tag) */
static int is_tag_char(unsigned char c)
{
        return is_atom_char(c) && c != '+' && c != '%' && c != '*' &&
               c != '\\';
}

static void args_free(struct imap_arg *v, size_t n)
{
        if (v == NULL)
                return;
        for (size_t i = 0; i < n; i++) {
                free(v[i].str);
                if (v[i].type == IMAP_ARG_LIST)
                        args_free(v[i].list, v[i].len);
        }
        free(v);
}

void imap_parser_init(struct imap_parser *p, size_t line_max)
{
        memset(p, 0, sizeof(*p));
        p->line_max = line_max;
        buf_init(&p->tag, 0);
        buf_init(&p->name, 0);
        buf_init(&p->tok, 0);
}

static void clear_command(struct imap_parser *p)
{
        for (unsigned int i = 0; i <= p->depth; i++) {
                args_free(p->stack[i].v, p->stack[i].n);
                memset(&p->stack[i], 0, sizeof(p->stack[i]));
        }
        p->depth = 0;
        p->nargs = 0;
        p->bytes = 0;
        p->bracket = 0;
        p->literal_total = 0;
        p->done = 0;
        buf_reset(&p->name);
        buf_reset(&p->tok);
}

void imap_parser_reset(struct imap_parser *p)
{
        clear_command(p);
        buf_reset(&p->tag);
        p->state = IMAP_PS_TAG;
        p->error = NULL;
        p->skip_tail_len = 0;
        p->literal_left = 0;
}

void imap_parser_release(struct imap_parser *p)
{
        clear_command(p);
        buf_release(&p->tag);
        buf_release(&p->name);
        buf_release(&p->tok);
}

/* vec_push - append an argument to the innermost open list */
static struct imap_arg *vec_push(struct imap_parser *p)
{
        struct imap_arg_vec *vec = &p->stack[p->depth];

        if (vec->n + 1 >= vec->cap) {
                vec->cap = vec->cap == 0 ? 8 : vec->cap * 2;
                vec->v = xrealloc(vec->v, vec->cap * sizeof(*vec->v));
        }
        struct imap_arg *a = &vec->v[vec->n++];
        memset(a, 0, sizeof(*a));
        vec->v[vec->n] = eol_arg;
        return a;
}

/* push_tok - the token read so far becomes an argument of type t */
static int push_tok(struct imap_parser *p, enum imap_arg_type t)
{
        if (++p->nargs > IMAP_PARSER_ARGS_MAX) {
                p->error = "Too many arguments";
                return -1;
        }
        struct imap_arg *a = vec_push(p);
        a->type = t;
        a->len = p->tok.len;
        a->literal8 = t == IMAP_ARG_LITERAL && p->literal8;
        a->str = buf_steal(&p->tok);
        return 0;
}

static int list_open(struct imap_parser *p)
{
        if (p->depth == IMAP_PARSER_DEPTH_MAX) {
                p->error = "Too deeply nested lists";
                return -1;
        }
        if (++p->nargs > IMAP_PARSER_ARGS_MAX) {
                p->error = "Too many arguments";
                return -1;
        }
        p->depth++;
        memset(&p->stack[p->depth], 0, sizeof(p->stack[p->depth]));
        return 0;
}

static int list_close(struct imap_parser *p)
{
        if (p->depth == 0) {
                p->error = "Unexpected ')'";
                return -1;
        }
        struct imap_arg_vec inner = p->stack[p->depth];
        memset(&p->stack[p->depth], 0, sizeof(p->stack[p->depth]));
        p->depth--;
        struct imap_arg *a = vec_push(p);
        a->type = IMAP_ARG_LIST;
        if (inner.v == NULL) {
                inner.v = xmalloc(sizeof(*inner.v));
                inner.v[0] = eol_arg;
        }
        a->list = inner.v;
        a->len = inner.n;
        return 0;
}

/* bracket_atom - the atom so far opens a FETCH section ("BODY[") */
static int bracket_atom(const struct buf *tok)
{
        static const char *const names[] = {
                "BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE",
        };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcasecmp(buf_cstr(tok), names[i]) == 0)
                        return 1;
        return 0;
}

/* skip_tail_add - remember the last bytes of a line being skipped */
static void skip_tail_add(struct imap_parser *p, char c)
{
        if (p->skip_tail_len == sizeof(p->skip_tail) - 1) {
                memmove(p->skip_tail, p->skip_tail + 1, p->skip_tail_len - 1);
                p->skip_tail_len--;
        }
        p->skip_tail[p->skip_tail_len++] = c;
        p->skip_tail[p->skip_tail_len] = '\0';
}

/* skip_tail_literal - the skipped line ended in "{n+}" or "{n-}": the
 * size, else 0 (a synchronizing one is never sent: no "+" came) */
static uint64_t skip_tail_literal(const struct imap_parser *p)
{
        const char *t = p->skip_tail;
        size_t n = p->skip_tail_len;
        uint64_t size = 0;

        if (n > 0 && t[n - 1] == '\r')
                n--;
        if (n < 4 || t[n - 1] != '}' || (t[n - 2] != '+' && t[n - 2] != '-'))
                return 0;
        size_t end = n - 2, start = end;
        while (start > 0 && t[start - 1] >= '0' && t[start - 1] <= '9')
                start--;
        if (start == end || start == 0 || t[start - 1] != '{' ||
            end - start > 19)
                return 0;
        for (size_t i = start; i < end; i++)
                size = size * 10 + (uint64_t)(t[i] - '0');
        return size;
}

/* fail - an error at byte c: skip the rest of the command, and a
 * non-synchronizing literal announced at the end of its line */
static enum imap_parse_result fail(struct imap_parser *p, char c,
                                   const char *why)
{
        if (why != NULL)
                p->error = why;
        clear_command(p);
        if (c != '\n') {
                p->state = IMAP_PS_SKIP_LINE;
                return IMAP_PARSE_ERROR;
        }
        p->literal_left = skip_tail_literal(p);
        p->skip_tail_len = 0;
        if (p->literal_left > 0) {
                p->state = IMAP_PS_SKIP_DATA;
                return IMAP_PARSE_ERROR;
        }
        p->state = IMAP_PS_TAG;
        /* the tag stays readable until the next feed */
        p->done = 1;
        return IMAP_PARSE_ERROR;
}

static enum imap_parse_result finish(struct imap_parser *p)
{
        if (p->depth > 0)
                return fail(p, '\n', "Missing ')'");
        p->done = 1;
        p->state = IMAP_PS_TAG;
        return IMAP_PARSE_DONE;
}

/* end_of_arg - c follows a complete argument (or starts the arguments):
 * a space, ')' or the end of the line */
static enum imap_parse_result end_of_arg(struct imap_parser *p, char c,
                                         int *stop_r)
{
        *stop_r = 0;
        switch (c) {
        case ' ':
                p->state = IMAP_PS_ARG;
                return IMAP_PARSE_MORE;
        case ')':
                if (list_close(p) < 0)
                        break;
                p->state = IMAP_PS_AFTER;
                return IMAP_PARSE_MORE;
        case '\r':
                p->state = IMAP_PS_CR;
                return IMAP_PARSE_MORE;
        case '\n':
                *stop_r = 1;
                return finish(p);
        default:
                p->error = "Missing space between arguments";
                break;
        }
        *stop_r = 1;
        return fail(p, c, NULL);
}

/* arg_start - the first byte of an argument */
static enum imap_parse_result arg_start(struct imap_parser *p, char c,
                                        int *stop_r)
{
        *stop_r = 0;
        switch (c) {
        case ' ':
                return IMAP_PARSE_MORE;         /* be lenient */
        case '(':
                if (list_open(p) < 0)
                        break;
                return IMAP_PARSE_MORE;
        case '"':
                buf_reset(&p->tok);
                p->state = IMAP_PS_QUOTED;
                return IMAP_PARSE_MORE;
        case '~':
                p->state = IMAP_PS_TILDE;
                return IMAP_PARSE_MORE;
        case '{':
                p->literal8 = 0;
                goto literal;
        case ')':
        case '\r':
        case '\n':
                return end_of_arg(p, c, stop_r);
        default:
                if (!is_atom_char((unsigned char)c)) {
                        p->error = "Invalid characters in atom";
                        break;
                }
                buf_reset(&p->tok);
                buf_putc(&p->tok, c);
                p->bracket = 0;
                p->state = IMAP_PS_ATOM;
                return IMAP_PARSE_MORE;
        }
        *stop_r = 1;
        return fail(p, c, NULL);
literal:
        p->literal_size = 0;
        p->literal_digits = 0;
        p->literal_sync = 1;
        p->literal_minus = 0;
        p->state = IMAP_PS_LITERAL_SIZE;
        return IMAP_PARSE_MORE;
}

/* atom_byte - one byte while reading an atom */
static enum imap_parse_result atom_byte(struct imap_parser *p, char c,
                                        int *stop_r)
{
        unsigned char u = (unsigned char)c;

        *stop_r = 0;
        if (p->bracket) {
                if (c == '\r' || c == '\n') {
                        *stop_r = 1;
                        return fail(p, c, "Missing ']'");
                }
                if (u < 0x20 || u >= 0x7f) {
                        *stop_r = 1;
                        return fail(p, c, "Invalid characters in atom");
                }
                if (c == ']')
                        p->bracket = 0;
                buf_putc(&p->tok, c);
                return IMAP_PARSE_MORE;
        }
        if (c == '[' && bracket_atom(&p->tok)) {
                p->bracket = 1;
                buf_putc(&p->tok, c);
                return IMAP_PARSE_MORE;
        }
        if (is_atom_char(u)) {
                buf_putc(&p->tok, c);
                return IMAP_PARSE_MORE;
        }
        if (c == ' ' || c == ')' || c == '\r' || c == '\n') {
                if (push_tok(p, IMAP_ARG_ATOM) < 0) {
                        *stop_r = 1;
                        return fail(p, c, NULL);
                }
                return end_of_arg(p, c, stop_r);
        }
        *stop_r = 1;
        return fail(p, c, "Invalid characters in atom");
}

static enum imap_parse_result literal_byte(struct imap_parser *p, char c,
                                           int *stop_r)
{
        *stop_r = 0;
        switch (p->state) {
        case IMAP_PS_LITERAL_SIZE:
                if (c >= '0' && c <= '9' && p->literal_digits < 19) {
                        p->literal_size = p->literal_size * 10 +
                                          (uint64_t)(c - '0');
                        p->literal_digits++;
                        return IMAP_PARSE_MORE;
                }
                if (p->literal_digits == 0 || (c >= '0' && c <= '9'))
                        break;
                if (c == '+' || c == '-') {
                        p->literal_sync = 0;
                        p->literal_minus = c == '-';
                        p->state = IMAP_PS_LITERAL_END;
                        return IMAP_PARSE_MORE;
                }
                if (c != '}')
                        break;
                p->state = IMAP_PS_LITERAL_CR;
                return IMAP_PARSE_MORE;
        case IMAP_PS_LITERAL_END:
                if (c != '}')
                        break;
                p->state = IMAP_PS_LITERAL_CR;
                return IMAP_PARSE_MORE;
        case IMAP_PS_LITERAL_CR:
                if (c == '\r') {
                        p->state = IMAP_PS_LITERAL_LF;
                        return IMAP_PARSE_MORE;
                }
                /* fall through */
        case IMAP_PS_LITERAL_LF:
                if (c != '\n')
                        break;
                p->state = IMAP_PS_LITERAL_WAIT;
                *stop_r = 1;
                return IMAP_PARSE_LITERAL;
        default:
                break;
        }
        *stop_r = 1;
        return fail(p, c, "Broken literal");
}

enum imap_parse_result imap_parser_feed(struct imap_parser *p,
                                        const char *data, size_t len,
                                        size_t *used_r)
{
        enum imap_parse_result r = IMAP_PARSE_MORE;
        size_t i = 0;
        int stop = 0;

        if (p->done)
                imap_parser_reset(p);
        while (i < len && !stop) {
                char c = data[i];

                if (p->state == IMAP_PS_LITERAL_WAIT) {
                        *used_r = i;
                        return IMAP_PARSE_LITERAL;
                }
                if (p->state == IMAP_PS_LITERAL_DATA ||
                    p->state == IMAP_PS_SKIP_DATA) {
                        size_t n = len - i;
                        if (n > p->literal_left)
                                n = (size_t)p->literal_left;
                        if (p->state == IMAP_PS_LITERAL_DATA)
                                buf_append(&p->tok, data + i, n);
                        p->literal_left -= n;
                        i += n;
                        if (p->literal_left > 0)
                                continue;
                        p->skip_tail_len = 0;
                        if (p->state == IMAP_PS_SKIP_DATA) {
                                p->state = IMAP_PS_SKIP_LINE;
                        } else if (push_tok(p, IMAP_ARG_LITERAL) < 0) {
                                r = fail(p, 'x', NULL);
                                stop = 1;
                        } else {
                                p->state = IMAP_PS_AFTER;
                        }
                        continue;
                }
                i++;
                /* the line's last bytes, to find a literal announced at
                 * its end should the command have to be skipped */
                if (c != '\n')
                        skip_tail_add(p, c);
                if (p->state == IMAP_PS_SKIP_LINE) {
                        if (c != '\n')
                                continue;
                        p->literal_left = skip_tail_literal(p);
                        p->skip_tail_len = 0;
                        p->state = p->literal_left > 0 ? IMAP_PS_SKIP_DATA :
                                   IMAP_PS_TAG;
                        if (p->state == IMAP_PS_TAG)
                                buf_reset(&p->tag);
                        continue;
                }
                if (++p->bytes > p->line_max) {
                        r = fail(p, c, "Too long command line");
                        break;
                }
                switch (p->state) {
                case IMAP_PS_TAG:
                        if (p->tag.len == 0 && (c == '\r' || c == '\n')) {
                                p->bytes = 0;   /* empty lines are ignored */
                                continue;
                        }
                        if (c == ' ') {
                                if (p->tag.len == 0) {
                                        r = fail(p, c, "Missing tag");
                                        stop = 1;
                                } else {
                                        p->state = IMAP_PS_NAME;
                                }
                        } else if (is_tag_char((unsigned char)c) &&
                                   p->tag.len < IMAP_PARSER_TAG_MAX) {
                                buf_putc(&p->tag, c);
                        } else {
                                if (c != '\r' && c != '\n')
                                        buf_reset(&p->tag);
                                r = fail(p, c, c == '\r' || c == '\n' ?
                                         "Missing command" : "Invalid tag");
                                stop = 1;
                        }
                        break;
                case IMAP_PS_NAME:
                        if (is_atom_char((unsigned char)c) && c != '%' &&
                            c != '*' && c != ']' &&
                            p->name.len < IMAP_PARSER_NAME_MAX) {
                                buf_putc(&p->name, c);
                        } else if (p->name.len == 0) {
                                r = fail(p, c, "Missing command");
                                stop = 1;
                        } else if (c == ' ') {
                                p->state = IMAP_PS_ARG;
                        } else if (c == '\r') {
                                p->state = IMAP_PS_CR;
                        } else if (c == '\n') {
                                r = finish(p);
                                stop = 1;
                        } else {
                                r = fail(p, c, "Invalid command name");
                                stop = 1;
                        }
                        break;
                case IMAP_PS_SP:
                case IMAP_PS_ARG:
                        r = arg_start(p, c, &stop);
                        break;
                case IMAP_PS_AFTER:
                        r = end_of_arg(p, c, &stop);
                        break;
                case IMAP_PS_ATOM:
                        r = atom_byte(p, c, &stop);
                        break;
                case IMAP_PS_QUOTED:
                        if (c == '"') {
                                if (push_tok(p, IMAP_ARG_QUOTED) < 0) {
                                        r = fail(p, c, NULL);
                                        stop = 1;
                                } else {
                                        p->state = IMAP_PS_AFTER;
                                }
                        } else if (c == '\\') {
                                p->state = IMAP_PS_QUOTED_ESC;
                        } else if (c == '\r' || c == '\n' || c == '\0') {
                                r = fail(p, c, "Missing '\"'");
                                stop = 1;
                        } else {
                                buf_putc(&p->tok, c);
                        }
                        break;
                case IMAP_PS_QUOTED_ESC:
                        if (c == '\r' || c == '\n' || c == '\0') {
                                r = fail(p, c, "Missing '\"'");
                                stop = 1;
                        } else {
                                buf_putc(&p->tok, c);
                                p->state = IMAP_PS_QUOTED;
                        }
                        break;
                case IMAP_PS_TILDE:
                        if (c != '{') {
                                /* "~foo" is an atom: '~' is an ATOM-CHAR
                                 * unless a literal8 follows (RFC 3516) */
                                buf_reset(&p->tok);
                                buf_putc(&p->tok, '~');
                                p->bracket = 0;
                                p->state = IMAP_PS_ATOM;
                                r = atom_byte(p, c, &stop);
                                break;
                        }
                        p->literal8 = 1;
                        p->literal_size = 0;
                        p->literal_digits = 0;
                        p->literal_sync = 1;
                        p->literal_minus = 0;
                        p->state = IMAP_PS_LITERAL_SIZE;
                        break;
                case IMAP_PS_LITERAL_SIZE:
                case IMAP_PS_LITERAL_END:
                case IMAP_PS_LITERAL_CR:
                case IMAP_PS_LITERAL_LF:
                        r = literal_byte(p, c, &stop);
                        break;
                case IMAP_PS_CR:
                        if (c == '\n')
                                r = finish(p);
                        else
                                r = fail(p, c, "CR without LF");
                        stop = 1;
                        break;
                default:
                        r = fail(p, c, "Internal parser state");
                        stop = 1;
                        break;
                }
                if (c == '\n' && p->state != IMAP_PS_SKIP_DATA)
                        p->skip_tail_len = 0;
        }
        *used_r = i;
        if (!stop && p->state == IMAP_PS_LITERAL_WAIT)
                return IMAP_PARSE_LITERAL;
        return r;
}

void imap_parser_literal_accept(struct imap_parser *p)
{
        if (p->state != IMAP_PS_LITERAL_WAIT)
                return;
        p->literal_total += p->literal_size;
        buf_reset(&p->tok);
        p->literal_left = p->literal_size;
        p->state = IMAP_PS_LITERAL_DATA;
        if (p->literal_left == 0) {
                if (push_tok(p, IMAP_ARG_LITERAL) < 0)
                        (void)fail(p, 'x', NULL);
                else
                        p->state = IMAP_PS_AFTER;
        }
}

void imap_parser_literal_reject(struct imap_parser *p, const char *why)
{
        int sync = p->literal_sync;
        uint64_t size = p->literal_size;

        if (p->state != IMAP_PS_LITERAL_WAIT)
                return;
        p->error = why;
        clear_command(p);
        p->skip_tail_len = 0;
        if (sync || size == 0) {
                /* the client sends nothing more of this command; a
                 * non-synchronizing {0+} goes on with the line */
                p->state = sync ? IMAP_PS_TAG : IMAP_PS_SKIP_LINE;
                p->done = sync;
                return;
        }
        p->literal_left = size;
        p->state = IMAP_PS_SKIP_DATA;
}

uint64_t imap_parser_raw_pending(const struct imap_parser *p)
{
        if (p->state == IMAP_PS_LITERAL_DATA ||
            p->state == IMAP_PS_SKIP_DATA)
                return p->literal_left;
        return 0;
}

int imap_parser_skipping(const struct imap_parser *p)
{
        return p->state == IMAP_PS_SKIP_LINE ||
               p->state == IMAP_PS_SKIP_DATA;
}

const char *imap_parser_tag(const struct imap_parser *p)
{
        return buf_cstr(&p->tag);
}

const char *imap_parser_name(const struct imap_parser *p)
{
        return buf_cstr(&p->name);
}

const struct imap_arg *imap_parser_args(const struct imap_parser *p,
                                        size_t *count_r)
{
        if (count_r != NULL)
                *count_r = p->stack[0].n;
        return p->stack[0].v != NULL ? p->stack[0].v : &eol_arg;
}
