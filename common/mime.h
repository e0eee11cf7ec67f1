/* mime.h - parse a message into its MIME part tree
 * Used by: imap (FETCH BODY[...], BODYSTRUCTURE, ENVELOPE, SEARCH), pop3
 * (TOP), local (filters). Works on a whole message in memory, as Maildir
 * keeps it (usually LF line endings, mmap'd), in one linear pass. Sizes are
 * kept both as stored and as IMAP counts them (every bare LF as CRLF), the
 * way Dovecot counts them, so Maildirs that Dovecot indexed give the same
 * answers. Hostile mail (no or wrong boundaries, huge lines, NULs, deep
 * nesting, thousands of parts) yields a best-effort tree in bounded time and
 * memory: nesting stops at MIME_DEPTH_MAX, parts at MIME_PARTS_MAX, and what
 * lies beyond a limit is kept as the opaque body of the last part. A
 * multipart whose boundary is missing or never appears has no children and
 * keeps its whole body (IMAP then shows one empty text/plain part, as
 * Dovecot does). */
#ifndef YUBIN_MIME_H
#define YUBIN_MIME_H

#include <stddef.h>

#include "buf.h"

/* nesting limit: a multipart or message/rfc822 this deep is not entered */
#define MIME_DEPTH_MAX          100
/* parts per message; past it boundaries are no longer looked for */
#define MIME_PARTS_MAX          10000
/* boundaries are cut to this length (RFC 2046 allows 70) */
#define MIME_BOUNDARY_MAX       80
/* header field names longer than this are taken as nameless */
#define MIME_HEADER_NAME_MAX    1000

/* part flags */
#define MIME_PART_MULTIPART     (1u << 0) /* children are the body parts */
#define MIME_PART_DIGEST        (1u << 1) /* multipart/digest */
#define MIME_PART_MESSAGE       (1u << 2) /* message/rfc822: one child */
#define MIME_PART_TEXT          (1u << 3) /* text/ (or no Content-Type) */
#define MIME_PART_IS_MIME       (1u << 4) /* Content-* headers count */
#define MIME_PART_HAS_NULS      (1u << 5) /* a NUL byte in header or body */
#define MIME_PART_OVERFLOW      (1u << 6) /* a limit stopped the parse here */

struct mime_chunk;

struct mime_size {
        size_t physical;        /* bytes as stored */
        size_t virtual;         /* bytes with each bare LF counted as CRLF */
        size_t lines;           /* LF count */
};

struct mime_part {
        struct mime_part *parent;
        struct mime_part *next;         /* next sibling */
        struct mime_part *children;     /* first child */
        struct mime_part *last_child;
        unsigned int flags;             /* MIME_PART_* */
        unsigned int depth;             /* 0 for the message itself */
        size_t offset;                  /* header start in the message */
        struct mime_size header;        /* header, with its blank line */
        struct mime_size body;          /* body: starts at offset +
                                           header.physical */
};

struct mime_message {
        const char *data;               /* borrowed: the message */
        size_t len;
        struct mime_part *root;         /* the whole message */
        size_t part_count;
        struct mime_chunk *chunks;      /* part storage */
};

/* mime_parse - parse the message data[0..len) into its part tree. Never
 * fails: broken input gives a best-effort tree. Borrows data, which must
 * outlive the result; returns a new tree, free with mime_free(). */
struct mime_message *mime_parse(const char *data, size_t len);
/* mime_free - free *mp and clear it; accepts NULL */
void mime_free(struct mime_message **mp);

/* mime_part_header - the bytes of part's header; valid as long as the
 * message data */
const char *mime_part_header(const struct mime_message *m,
                             const struct mime_part *part, size_t *len_r);
/* mime_part_body - the bytes of part's body, likewise */
const char *mime_part_body(const struct mime_message *m,
                           const struct mime_part *part, size_t *len_r);
/* mime_part_find - the part an IMAP section number names (RFC 3501 6.4.5:
 * "1", "2.1.3"); a single-part message's body is part 1; the parts of a
 * message/rfc822 part number under it. Returns the part, or NULL when the
 * section names none or is malformed (a multipart without parts has none).
 * For a message/rfc822 part N whose message is not multipart, N.1 is that
 * message (its header is N.1.MIME). */
const struct mime_part *mime_part_find(const struct mime_message *m,
                                       const char *section);

/* One header field, as it stands in the message (pointers into it). */
struct mime_header {
        const char *name;       /* "" when the line has no ':' */
        size_t name_len;
        const char *value;      /* after the ':' and leading blanks, folds
                                   kept, final newline dropped */
        size_t value_len;
        const char *line;       /* the whole field with its newline(s) */
        size_t line_len;
};

struct mime_header_iter {
        const char *p, *end;
};

/* mime_header_iter_init - walk the fields of hdr[0..len) (a part header,
 * as given by mime_part_header); borrows hdr */
void mime_header_iter_init(struct mime_header_iter *it, const char *hdr,
                           size_t len);
/* mime_header_next - the next field: 1, or 0 after the last one (the blank
 * line ends the walk) */
int mime_header_next(struct mime_header_iter *it, struct mime_header *h_r);
/* mime_header_unfold - append value with folding removed (each [CR]LF
 * dropped) and each NUL as U+FFFD; returns 0, or -1 at out's cap */
int mime_header_unfold(struct buf *out, const char *value, size_t len);
/* mime_header_get - append to value_r the unfolded value of the first field
 * called name (any case) in part's header; 1 found, 0 not found */
int mime_header_get(const struct mime_message *m,
                    const struct mime_part *part, const char *name,
                    struct buf *value_r);
/* mime_header_get_utf8 - as mime_header_get, with RFC 2047 encoded words
 * decoded and the result made valid UTF-8 (for SEARCH) */
int mime_header_get_utf8(const struct mime_message *m,
                         const struct mime_part *part, const char *name,
                         struct buf *value_r);

/* RFC 5322 / 2045 lexical scanner over one unfolded or folded header
 * value, shared by the Content-* and address parsers. Comments are skipped
 * as white space; the text of the last one is kept in comment if set. */
struct mime_lex {
        const unsigned char *p, *end;
        struct buf *comment;    /* optional: the last comment's text */
};

void mime_lex_init(struct mime_lex *lx, const char *s, size_t len,
                   struct buf *comment);
/* Each returns 1 when input remains after the item (and the white space
 * and comments after it), 0 at the end of input, -1 on a syntax error;
 * items are appended to out. */
int mime_lex_skip_cfws(struct mime_lex *lx);
int mime_lex_atom(struct mime_lex *lx, struct buf *out);
int mime_lex_dot_atom(struct mime_lex *lx, struct buf *out);
int mime_lex_token(struct mime_lex *lx, struct buf *out);       /* RFC 2045 */
int mime_lex_quoted(struct mime_lex *lx, struct buf *out);      /* at '"' */
int mime_lex_phrase(struct mime_lex *lx, struct buf *out);
int mime_lex_domain(struct mime_lex *lx, struct buf *out);      /* at '@' */
/* mime_lex_is_atext - c may appear in an atom (8-bit bytes may) */
int mime_lex_is_atext(unsigned char c);

struct mime_param {
        char *name;
        char *value;
};

/* A parsed Content-Type or Content-Disposition. */
struct mime_content {
        char *type;             /* as written; NULL when absent or broken */
        char *subtype;          /* Content-Type only; "" when missing */
        struct mime_param *params;
        size_t nparams;
};

/* mime_content_type_parse - parse a Content-Type value into ct_r. RFC 2231
 * continuations are joined (name*0*, name*1* -> name*), charsets are left
 * encoded as IMAP shows them. Returns 0 (broken parameters are skipped), or
 * -1 when type/subtype is broken (ct_r then holds what could be read and no
 * parameters). Release ct_r with mime_content_release() either way. */
int mime_content_type_parse(const char *value, size_t len,
                            struct mime_content *ct_r);
/* mime_content_disposition_parse - the same for Content-Disposition */
int mime_content_disposition_parse(const char *value, size_t len,
                                   struct mime_content *ct_r);
void mime_content_release(struct mime_content *ct);
/* mime_param_get - the raw value of parameter name (any case), or NULL;
 * borrowed from ct */
const char *mime_param_get(const struct mime_content *ct, const char *name);
/* mime_param_get_utf8 - append parameter name's value as UTF-8: an RFC 2231
 * "name*" value (charset'lang'%XX) is decoded, a plain one has its RFC 2047
 * words decoded; 1 found, 0 not found */
int mime_param_get_utf8(const struct mime_content *ct, const char *name,
                        struct buf *out);

#endif
