/* imap_search_parse.c - SEARCH keys into a tree
 * Used by: the imap session and fuzz_imap_parser (imap_search.h). RFC
 * 9051 6.4.4 search-key grammar; keys are read without regard to case,
 * a parenthesized list is an AND, sequence sets and "$" stand alone.
 * Parses client input: nesting and key count are bounded. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wctype.h>

#include "imap_date.h"
#include "imap_parser.h"
#include "imap_search.h"
#include "maildir.h"
#include "mem.h"
#include "rfc2047.h"

struct sp {
        const struct imap_arg *a;
        const char *charset;
        uint32_t seq_max, uid_max;
        size_t keys;
        const char *error;
        int badcharset;
};

void imap_search_free(struct imap_search_key **keyp)
{
        struct imap_search_key *k, *next;

        if (keyp == NULL)
                return;
        for (k = *keyp; k != NULL; k = next) {
                next = k->next;
                imap_search_free(&k->child);
                free(k->field);
                free(k->str);
                imap_seqset_release(&k->set);
                free(k);
        }
        *keyp = NULL;
}

int imap_search_uses(const struct imap_search_key *key,
                     enum imap_search_op op)
{
        for (; key != NULL; key = key->next)
                if (key->op == op || imap_search_uses(key->child, op))
                        return 1;
        return 0;
}

void imap_search_fold(const char *s, size_t len, struct buf *out)
{
        const unsigned char *p = (const unsigned char *)s;
        const unsigned char *end = p + len;

        while (p < end) {
                unsigned int cp, n;
                if (*p < 0x80) {
                        buf_putc(out, (*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
                        p++;
                        continue;
                }
                if ((*p & 0xe0) == 0xc0) {
                        cp = *p & 0x1f;
                        n = 1;
                } else if ((*p & 0xf0) == 0xe0) {
                        cp = *p & 0x0f;
                        n = 2;
                } else if ((*p & 0xf8) == 0xf0) {
                        cp = *p & 0x07;
                        n = 3;
                } else {
                        buf_putc(out, *p++);
                        continue;
                }
                if ((size_t)(end - p) <= n) {
                        buf_append(out, p, (size_t)(end - p));
                        break;
                }
                int ok = 1;
                for (unsigned int i = 1; i <= n; i++) {
                        if ((p[i] & 0xc0) != 0x80)
                                ok = 0;
                        cp = (cp << 6) | (p[i] & 0x3f);
                }
                if (!ok) {
                        buf_putc(out, *p++);
                        continue;
                }
                unsigned int low = (unsigned int)towlower((wint_t)cp);
                if (low == cp || low >= 0x110000) {
                        buf_append(out, p, n + 1);
                } else if (low < 0x80) {
                        buf_putc(out, (int)low);
                } else if (low < 0x800) {
                        buf_putc(out, (int)(0xc0 | (low >> 6)));
                        buf_putc(out, (int)(0x80 | (low & 0x3f)));
                } else if (low < 0x10000) {
                        buf_putc(out, (int)(0xe0 | (low >> 12)));
                        buf_putc(out, (int)(0x80 | ((low >> 6) & 0x3f)));
                        buf_putc(out, (int)(0x80 | (low & 0x3f)));
                } else {
                        buf_putc(out, (int)(0xf0 | (low >> 18)));
                        buf_putc(out, (int)(0x80 | ((low >> 12) & 0x3f)));
                        buf_putc(out, (int)(0x80 | ((low >> 6) & 0x3f)));
                        buf_putc(out, (int)(0x80 | (low & 0x3f)));
                }
                p += n + 1;
        }
}

static struct imap_search_key *new_key(struct sp *s, enum imap_search_op op)
{
        struct imap_search_key *k;

        if (++s->keys > IMAP_SEARCH_KEYS_MAX) {
                s->error = "Too many search keys";
                return NULL;
        }
        k = xcalloc(1, sizeof(*k));
        k->op = op;
        imap_seqset_init(&k->set);
        return k;
}

/* string - the next argument as a search string, folded, in *out */
static int string(struct sp *s, char **out)
{
        const char *str = imap_arg_astring(s->a);
        struct buf utf8, folded;

        if (str == NULL) {
                s->error = "Missing string argument";
                return -1;
        }
        buf_init(&utf8, 0);
        if (s->charset == NULL) {
                rfc2047_utf8_clean(&utf8, str, s->a->len);
        } else if (rfc2047_to_utf8(&utf8, s->charset, str, s->a->len) == -2) {
                buf_release(&utf8);
                s->badcharset = 1;
                s->error = "Unknown charset";
                return -1;
        }
        buf_init(&folded, 0);
        imap_search_fold(buf_cstr(&utf8), utf8.len, &folded);
        buf_release(&utf8);
        *out = buf_steal(&folded);
        s->a++;
        return 0;
}

static int date_arg(struct sp *s, long *day_r)
{
        const char *str = imap_arg_astring(s->a);

        if (str == NULL || imap_date_parse(str, day_r) < 0) {
                s->error = "Invalid search date";
                return -1;
        }
        s->a++;
        return 0;
}

static int number_arg(struct sp *s, uint64_t *n_r)
{
        if (!imap_arg_number(s->a, INT64_MAX, n_r)) {
                s->error = "Invalid search number";
                return -1;
        }
        s->a++;
        return 0;
}

static struct imap_search_key *parse_key(struct sp *s, unsigned int depth);

/* parse_list - keys until EOL of the current list into an AND */
static struct imap_search_key *parse_and(struct sp *s, unsigned int depth)
{
        struct imap_search_key *and = new_key(s, IMAP_SEARCH_AND), **tail;

        if (and == NULL)
                return NULL;
        tail = &and->child;
        while (s->a->type != IMAP_ARG_EOL) {
                struct imap_search_key *k = parse_key(s, depth + 1);
                if (k == NULL) {
                        imap_search_free(&and);
                        return NULL;
                }
                *tail = k;
                tail = &k->next;
        }
        if (and->child == NULL) {
                s->error = "Missing search key";
                imap_search_free(&and);
        }
        return and;
}

static const struct {
        const char *name;
        enum imap_search_op op;
        uint32_t flags;
} flag_keys[] = {
        { "ANSWERED", IMAP_SEARCH_FLAG, MAILDIR_FLAG_ANSWERED },
        { "DELETED", IMAP_SEARCH_FLAG, MAILDIR_FLAG_DELETED },
        { "DRAFT", IMAP_SEARCH_FLAG, MAILDIR_FLAG_DRAFT },
        { "FLAGGED", IMAP_SEARCH_FLAG, MAILDIR_FLAG_FLAGGED },
        { "SEEN", IMAP_SEARCH_FLAG, MAILDIR_FLAG_SEEN },
        { "UNANSWERED", IMAP_SEARCH_UNFLAG, MAILDIR_FLAG_ANSWERED },
        { "UNDELETED", IMAP_SEARCH_UNFLAG, MAILDIR_FLAG_DELETED },
        { "UNDRAFT", IMAP_SEARCH_UNFLAG, MAILDIR_FLAG_DRAFT },
        { "UNFLAGGED", IMAP_SEARCH_UNFLAG, MAILDIR_FLAG_FLAGGED },
        { "UNSEEN", IMAP_SEARCH_UNFLAG, MAILDIR_FLAG_SEEN },
        { "ALL", IMAP_SEARCH_ALL, 0 },
        { "NEW", IMAP_SEARCH_NEW, 0 },
        { "OLD", IMAP_SEARCH_OLD, 0 },
        { "RECENT", IMAP_SEARCH_RECENT, 0 },
};

static const struct {
        const char *name;
        enum imap_search_op op;
} date_keys[] = {
        { "BEFORE", IMAP_SEARCH_BEFORE },
        { "ON", IMAP_SEARCH_ON },
        { "SINCE", IMAP_SEARCH_SINCE },
        { "SENTBEFORE", IMAP_SEARCH_SENTBEFORE },
        { "SENTON", IMAP_SEARCH_SENTON },
        { "SENTSINCE", IMAP_SEARCH_SENTSINCE },
};

static const char *const header_keys[] = {
        "BCC", "CC", "FROM", "SUBJECT", "TO",
};

/* parse_word - a key that starts with an atom */
static struct imap_search_key *parse_word(struct sp *s, const char *w,
                                          unsigned int depth)
{
        struct imap_search_key *k = NULL;
        size_t i;

        for (i = 0; i < sizeof(flag_keys) / sizeof(flag_keys[0]); i++)
                if (strcasecmp(w, flag_keys[i].name) == 0) {
                        if ((k = new_key(s, flag_keys[i].op)) != NULL)
                                k->flags = flag_keys[i].flags;
                        return k;
                }
        for (i = 0; i < sizeof(date_keys) / sizeof(date_keys[0]); i++)
                if (strcasecmp(w, date_keys[i].name) == 0) {
                        if ((k = new_key(s, date_keys[i].op)) != NULL &&
                            date_arg(s, &k->day) < 0)
                                imap_search_free(&k);
                        return k;
                }
        for (i = 0; i < sizeof(header_keys) / sizeof(header_keys[0]); i++)
                if (strcasecmp(w, header_keys[i]) == 0) {
                        if ((k = new_key(s, IMAP_SEARCH_HEADER)) == NULL)
                                return NULL;
                        k->field = xstrdup(header_keys[i]);
                        if (string(s, &k->str) < 0)
                                imap_search_free(&k);
                        return k;
                }
        if (strcasecmp(w, "HEADER") == 0) {
                const char *field = imap_arg_astring(s->a);
                if (field == NULL || *field == '\0' ||
                    (k = new_key(s, IMAP_SEARCH_HEADER)) == NULL) {
                        s->error = s->error != NULL ? s->error :
                                   "Invalid HEADER";
                        return NULL;
                }
                k->field = xstrdup(field);
                s->a++;
                if (string(s, &k->str) < 0)
                        imap_search_free(&k);
                return k;
        }
        if (strcasecmp(w, "BODY") == 0 || strcasecmp(w, "TEXT") == 0) {
                k = new_key(s, strcasecmp(w, "BODY") == 0 ?
                            IMAP_SEARCH_BODY : IMAP_SEARCH_TEXT);
                if (k != NULL && string(s, &k->str) < 0)
                        imap_search_free(&k);
                return k;
        }
        if (strcasecmp(w, "KEYWORD") == 0 || strcasecmp(w, "UNKEYWORD") == 0) {
                const char *kw = imap_arg_atom(s->a);
                if (kw == NULL) {
                        s->error = "Invalid keyword";
                        return NULL;
                }
                k = new_key(s, strcasecmp(w, "KEYWORD") == 0 ?
                            IMAP_SEARCH_KEYWORD : IMAP_SEARCH_UNKEYWORD);
                if (k != NULL)
                        k->str = xstrdup(kw);
                s->a++;
                return k;
        }
        if (strcasecmp(w, "LARGER") == 0 || strcasecmp(w, "SMALLER") == 0) {
                k = new_key(s, strcasecmp(w, "LARGER") == 0 ?
                            IMAP_SEARCH_LARGER : IMAP_SEARCH_SMALLER);
                if (k != NULL && number_arg(s, &k->num) < 0)
                        imap_search_free(&k);
                return k;
        }
        if (strcasecmp(w, "UID") == 0) {
                const char *set = imap_arg_atom(s->a);
                if (set == NULL || (k = new_key(s, IMAP_SEARCH_UIDSET)) == NULL)
                        goto badset;
                if (imap_seqset_parse(set, s->uid_max, &k->set,
                                      &k->dollar) < 0) {
                        imap_search_free(&k);
                        goto badset;
                }
                s->a++;
                return k;
        }
        if (strcasecmp(w, "MODSEQ") == 0) {
                /* MODSEQ ["entry-name" entry-type] mod-sequence */
                if (imap_arg_string(s->a) != NULL &&
                    s->a[1].type == IMAP_ARG_ATOM)
                        s->a += 2;
                k = new_key(s, IMAP_SEARCH_MODSEQ);
                if (k != NULL && number_arg(s, &k->num) < 0)
                        imap_search_free(&k);
                return k;
        }
        if (strcasecmp(w, "NOT") == 0) {
                struct imap_search_key *child = parse_key(s, depth + 1);
                if (child == NULL || (k = new_key(s, IMAP_SEARCH_NOT)) == NULL) {
                        imap_search_free(&child);
                        return NULL;
                }
                k->child = child;
                return k;
        }
        if (strcasecmp(w, "OR") == 0) {
                struct imap_search_key *a = parse_key(s, depth + 1), *b;
                if (a == NULL)
                        return NULL;
                if ((b = parse_key(s, depth + 1)) == NULL ||
                    (k = new_key(s, IMAP_SEARCH_OR)) == NULL) {
                        imap_search_free(&a);
                        imap_search_free(&b);
                        return NULL;
                }
                a->next = b;
                k->child = a;
                return k;
        }
        /* a sequence set */
        if ((k = new_key(s, IMAP_SEARCH_SEQSET)) == NULL)
                return NULL;
        if (imap_seqset_parse(w, s->seq_max, &k->set, &k->dollar) < 0) {
                imap_search_free(&k);
                s->error = "Unknown argument";
                return NULL;
        }
        return k;
badset:
        s->error = "Invalid UID set";
        return NULL;
}

static struct imap_search_key *parse_key(struct sp *s, unsigned int depth)
{
        const struct imap_arg *a = s->a;

        if (depth > IMAP_SEARCH_DEPTH_MAX) {
                s->error = "Too deep search program";
                return NULL;
        }
        if (a->type == IMAP_ARG_EOL) {
                s->error = "Missing search key";
                return NULL;
        }
        if (a->type == IMAP_ARG_LIST) {
                struct sp inner = *s;
                struct imap_search_key *k;

                inner.a = a->list;
                k = parse_and(&inner, depth);
                s->keys = inner.keys;
                s->error = inner.error;
                s->badcharset = inner.badcharset;
                if (k != NULL)
                        s->a++;
                return k;
        }
        if (a->type != IMAP_ARG_ATOM) {
                s->error = "Unknown argument";
                return NULL;
        }
        s->a++;
        return parse_word(s, a->str, depth);
}

int imap_search_parse(const struct imap_arg *args, const char *charset,
                      uint32_t seq_max, uint32_t uid_max,
                      struct imap_search_key **key_r, const char **error_r)
{
        struct sp s;

        memset(&s, 0, sizeof(s));
        s.a = args;
        s.seq_max = seq_max;
        s.uid_max = uid_max;
        if (charset != NULL && (strcasecmp(charset, "UTF-8") == 0 ||
                                strcasecmp(charset, "US-ASCII") == 0))
                charset = NULL;
        s.charset = charset;
        *key_r = parse_and(&s, 0);
        if (*key_r == NULL || s.error != NULL) {
                imap_search_free(key_r);
                *error_r = s.error != NULL ? s.error : "Invalid search";
                return s.badcharset ? -2 : -1;
        }
        return 0;
}
