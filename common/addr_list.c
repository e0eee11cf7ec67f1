/* addr_list.c - the mailboxes of an RFC 5322 address-list
 * Used by: sendmail -t (To:, Cc:, Bcc:) and the command line recipients
 * of sendmail (which may be written "Name <a@b>"). Reads header values a
 * local user wrote, so any bytes: one tokenizer pass (comments skipped,
 * quoted strings unquoted, domain literals kept), then each element
 * between top-level commas becomes one address: the <angle-addr> if there
 * is one (source route dropped), else the words as an addr-spec. Groups
 * ("friends: a@b, c@d;") give their members; display names are dropped.
 * RFC 5322 3.4 and 4.4 (obsolete forms, CFWS anywhere). */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "addr_int.h"
#include "buf.h"
#include "mem.h"

enum tok_kind { TOK_WORD, TOK_LITERAL, TOK_SPECIAL };

struct tok {
        enum tok_kind kind;
        char special;           /* for TOK_SPECIAL */
        size_t start, len;      /* the text, in the scratch buffer */
};

struct list_parse {
        const unsigned char *p;
        struct buf text;        /* unquoted token texts, back to back */
        struct tok *toks;
        size_t ntoks, toks_size;
        int in_angle, angle_seen, angle_done;
        size_t angle_start, angle_end;  /* token range inside <> */
        char **addrs;
        size_t count;
        struct status *st;
};

static void tok_add(struct list_parse *lp, enum tok_kind kind, char special,
                    size_t start)
{
        if (lp->ntoks == lp->toks_size) {
                lp->toks_size = lp->toks_size ? lp->toks_size * 2 : 16;
                lp->toks = xrealloc(lp->toks,
                                    lp->toks_size * sizeof(*lp->toks));
        }
        lp->toks[lp->ntoks].kind = kind;
        lp->toks[lp->ntoks].special = special;
        lp->toks[lp->ntoks].start = start;
        lp->toks[lp->ntoks].len = lp->text.len - start;
        lp->ntoks++;
}

/* skip_comment - past a (possibly nested) comment at lp->p; 0 or -1 */
static int skip_comment(struct list_parse *lp)
{
        unsigned depth = 0;

        do {
                switch (*lp->p) {
                case '\0':
                        return status_set(lp->st, STATUS_SYNTAX,
                                          "unbalanced '(' in address list");
                case '(':
                        depth++;
                        break;
                case ')':
                        depth--;
                        break;
                case '\\':
                        if (lp->p[1] != '\0')
                                lp->p++;
                        break;
                }
                lp->p++;
        } while (depth > 0);
        return 0;
}

/* element_end - the tokens since the last separator make one address (or
 * none); 0 or -1 */
static int element_end(struct list_parse *lp)
{
        size_t from = 0, to = lp->ntoks, i;
        int words = 0, at = 0;
        struct buf a;

        if (lp->in_angle)
                return status_set(lp->st, STATUS_SYNTAX,
                                  "unbalanced '<' in address list");
        if (lp->angle_seen) {
                from = lp->angle_start;
                to = lp->angle_end;
                /* obs-route: "@a,@b:" before the mailbox */
                if (from < to && lp->toks[from].kind == TOK_SPECIAL &&
                    lp->toks[from].special == '@') {
                        while (from < to && !(lp->toks[from].kind ==
                                              TOK_SPECIAL &&
                                              lp->toks[from].special == ':'))
                                from++;
                        if (from == to)
                                return status_set(lp->st, STATUS_SYNTAX,
                                                  "malformed route in "
                                                  "address list");
                        from++;
                }
                if (from == to && lp->angle_start == lp->angle_end) {
                        /* "<>" as a recipient is nothing */
                        goto reset;
                }
        } else if (from == to) {
                goto reset;
        }
        buf_init(&a, 0);
        for (i = from; i < to; i++) {
                const struct tok *t = &lp->toks[i];

                if (t->kind == TOK_SPECIAL) {
                        if (t->special == '.') {
                                words = 0;
                        } else if (t->special == '@' && !at) {
                                at = 1;
                                words = 0;
                        } else {
                                buf_release(&a);
                                return status_set(lp->st, STATUS_SYNTAX,
                                                  "bad '%c' in address list",
                                                  t->special);
                        }
                        buf_putc(&a, t->special);
                        continue;
                }
                if (words++ > 0) {
                        buf_release(&a);
                        return status_set(lp->st, STATUS_SYNTAX,
                                          "missing '@' or '<>' in "
                                          "address list");
                }
                buf_append(&a, lp->text.data + t->start, t->len);
        }
        if (a.len == 0 || a.len > ADDR_MAX || a.data[0] == '@' ||
            a.data[a.len - 1] == '@') {
                buf_release(&a);
                return status_set(lp->st, STATUS_SYNTAX,
                                  a.len > ADDR_MAX ? "address too long" :
                                  "empty local part or domain in address list");
        }
        if (at) {
                const char *d = strrchr(a.data, '@') + 1;

                if (!addr_domain_check(d, strlen(d), ADDR_UTF8)) {
                        buf_release(&a);
                        return status_set(lp->st, STATUS_SYNTAX,
                                          "bad domain in address list");
                }
        }
        lp->addrs = xrealloc(lp->addrs, (lp->count + 2) * sizeof(char *));
        lp->addrs[lp->count++] = buf_steal(&a);
        lp->addrs[lp->count] = NULL;
        buf_release(&a);
reset:
        lp->ntoks = 0;
        buf_reset(&lp->text);
        lp->angle_seen = lp->angle_done = 0;
        return 0;
}

/* special - one of RFC 5322's specials at lp->p; 0 or -1 */
static int special(struct list_parse *lp, char c)
{
        switch (c) {
        case '<':
                if (lp->in_angle || lp->angle_seen)
                        return status_set(lp->st, STATUS_SYNTAX,
                                          "unexpected '<' in address list");
                lp->in_angle = lp->angle_seen = 1;
                lp->angle_start = lp->ntoks;
                return 0;
        case '>':
                if (!lp->in_angle)
                        return status_set(lp->st, STATUS_SYNTAX,
                                          "unbalanced '>' in address list");
                lp->in_angle = 0;
                lp->angle_end = lp->ntoks;
                return 0;
        case ',':
                if (lp->in_angle) {
                        tok_add(lp, TOK_SPECIAL, c, lp->text.len);
                        return 0;
                }
                return element_end(lp);
        case ';':
                return element_end(lp);
        case ':':
                if (lp->in_angle) {
                        tok_add(lp, TOK_SPECIAL, c, lp->text.len);
                        return 0;
                }
                if (lp->angle_seen)
                        return status_set(lp->st, STATUS_SYNTAX,
                                          "unexpected ':' in address list");
                /* group start: what came before is the group's name */
                lp->ntoks = 0;
                buf_reset(&lp->text);
                return 0;
        case '@':
        case '.':
                if (lp->angle_seen && !lp->in_angle)
                        return status_set(lp->st, STATUS_SYNTAX,
                                          "text after '>' in address list");
                tok_add(lp, TOK_SPECIAL, c, lp->text.len);
                return 0;
        default:
                return status_set(lp->st, STATUS_SYNTAX,
                                  "unexpected '%c' in address list", c);
        }
}

/* word - an atom, quoted string or domain literal at lp->p; 0 or -1 */
static int word(struct list_parse *lp)
{
        size_t start = lp->text.len;
        const unsigned char *p = lp->p;
        enum tok_kind kind = TOK_WORD;

        if (lp->angle_seen && !lp->in_angle)
                return status_set(lp->st, STATUS_SYNTAX,
                                  "text after '>' in address list");
        if (*p == '"') {
                for (p++; *p != '"'; p++) {
                        if (*p == '\\' && p[1] != '\0')
                                p++;
                        else if (*p == '\r' || *p == '\n')
                                continue;       /* folding */
                        if (*p == '\0')
                                return status_set(lp->st, STATUS_SYNTAX,
                                                  "unbalanced quote in "
                                                  "address list");
                        buf_putc(&lp->text, *p);
                }
                p++;
        } else if (*p == '[') {
                kind = TOK_LITERAL;
                for (; *p != ']'; p++) {
                        if (*p == '\0' || (*p == '[' && p != lp->p) ||
                            *p == '\\')
                                return status_set(lp->st, STATUS_SYNTAX,
                                                  "bad domain literal in "
                                                  "address list");
                        if (*p > ' ')
                                buf_putc(&lp->text, *p);
                }
                buf_putc(&lp->text, *p++);
        } else {
                while (*p >= 0x80 || addr_is_atext(*p))
                        buf_putc(&lp->text, *p++);
        }
        if (lp->text.len - start > ADDR_MAX)
                return status_set(lp->st, STATUS_SYNTAX,
                                  "address too long");
        lp->p = p;
        tok_add(lp, kind, 0, start);
        return 0;
}

int addr_header_list(const char *value, char ***addrs_r, size_t *count_r,
                     struct status *st)
{
        struct list_parse lp;
        int ret = 0;

        memset(&lp, 0, sizeof(lp));
        lp.p = (const unsigned char *)value;
        lp.st = st;
        buf_init(&lp.text, 0);
        *addrs_r = NULL;
        *count_r = 0;
        while (ret == 0) {
                unsigned char c = *lp.p;

                if (c == '\0') {
                        ret = element_end(&lp);
                        break;
                }
                if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                        lp.p++;
                } else if (c == '(') {
                        ret = skip_comment(&lp);
                } else if (c == '"' || c == '[' || c >= 0x80 ||
                           addr_is_atext(c)) {
                        ret = word(&lp);
                } else if (c < 32 || c == 127) {
                        ret = status_set(st, STATUS_SYNTAX,
                                         "control character in address list");
                } else {
                        lp.p++;
                        ret = special(&lp, (char)c);
                }
        }
        buf_release(&lp.text);
        free(lp.toks);
        if (ret < 0) {
                addr_list_free(&lp.addrs);
                return -1;
        }
        if (lp.addrs == NULL)
                lp.addrs = xcalloc(1, sizeof(char *));
        *addrs_r = lp.addrs;
        *count_r = lp.count;
        return 0;
}

void addr_list_free(char ***list)
{
        if (*list == NULL)
                return;
        for (char **p = *list; *p != NULL; p++)
                free(*p);
        free(*list);
        *list = NULL;
}
