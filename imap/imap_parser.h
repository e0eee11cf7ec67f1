/* imap_parser.h - the IMAP command reader: bytes in, one command out
 * Used by: the imap session (imap_client.c) and the imapd login front end
 * (imapd_cmd.c); the fuzz target fuzz_imap_parser. Resumable: input may
 * arrive in any slices (a byte at a time, or a whole pipeline at once)
 * and the state lives in struct imap_parser. Reads RFC 9051 section 9
 * syntax: "tag SP command [SP arguments] CRLF" where arguments are atoms,
 * quoted strings, literals ({n}, {n+}, {n-}, ~{n} for BINARY), NIL and
 * parenthesized lists. FETCH's section specifiers ("BODY[HEADER.FIELDS
 * (From To)]<0.100>") are read as one atom. Every size a client controls
 * has a limit: the command's bytes outside literals, list depth and
 * argument count; literal sizes are judged by the caller, who knows the
 * command, when the parser announces one. Parses client input. */
#ifndef YUBIN_IMAP_PARSER_H
#define YUBIN_IMAP_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* nesting of parenthesized lists */
#define IMAP_PARSER_DEPTH_MAX   64
/* arguments in one command, counting those inside lists */
#define IMAP_PARSER_ARGS_MAX    20000
/* longest tag and command name */
#define IMAP_PARSER_TAG_MAX     128
#define IMAP_PARSER_NAME_MAX    64

enum imap_arg_type {
        IMAP_ARG_EOL,           /* ends every argument list */
        IMAP_ARG_ATOM,          /* includes NIL, numbers, flags, sets */
        IMAP_ARG_QUOTED,
        IMAP_ARG_LITERAL,
        IMAP_ARG_LIST,
};

struct imap_arg {
        enum imap_arg_type type;
        int literal8;           /* LITERAL: sent as ~{n} */
        size_t len;             /* bytes of str, or items of list */
        char *str;              /* ATOM, QUOTED, LITERAL: NUL-terminated
                                 * (a literal may hold NULs too) */
        struct imap_arg *list;  /* LIST: len items, then an EOL */
};

enum imap_parse_result {
        IMAP_PARSE_MORE,        /* all input used; the command goes on */
        IMAP_PARSE_DONE,        /* a command is complete, CRLF included */
        IMAP_PARSE_LITERAL,     /* a literal was announced (its CRLF
                                 * read): call imap_parser_literal_accept
                                 * or _reject before feeding more */
        IMAP_PARSE_ERROR,       /* syntax error or limit: error says which;
                                 * what remains of the command is skipped
                                 * as input arrives (a non-synchronizing
                                 * literal on it included), then the next
                                 * command is read */
};

enum imap_parser_state {
        IMAP_PS_TAG, IMAP_PS_NAME, IMAP_PS_SP, IMAP_PS_ARG, IMAP_PS_ATOM,
        IMAP_PS_QUOTED, IMAP_PS_QUOTED_ESC, IMAP_PS_LITERAL_SIZE,
        IMAP_PS_LITERAL_END, IMAP_PS_LITERAL_CR, IMAP_PS_LITERAL_LF,
        IMAP_PS_LITERAL_WAIT, IMAP_PS_LITERAL_DATA, IMAP_PS_AFTER,
        IMAP_PS_CR, IMAP_PS_TILDE, IMAP_PS_SKIP_LINE, IMAP_PS_SKIP_DATA,
};

struct imap_arg_vec {
        struct imap_arg *v;
        size_t n, cap;
};

struct imap_parser {
        size_t line_max;        /* command bytes outside literals */
        enum imap_parser_state state;
        struct buf tag, name, tok;
        struct imap_arg_vec stack[IMAP_PARSER_DEPTH_MAX + 1];
        unsigned int depth;     /* open lists */
        size_t bytes;           /* counted against line_max */
        size_t nargs;
        int bracket;            /* inside [ ] of a FETCH atom */
        /* the literal being announced or read */
        uint64_t literal_size;
        uint64_t literal_left;
        int literal_sync;       /* {n}: the client waits for "+" */
        int literal_minus;      /* {n-} */
        int literal8;
        int literal_digits;
        uint64_t literal_total; /* literal bytes in this command */
        /* skipping a broken command: the last bytes of the line, to see
         * a literal announced at its end */
        char skip_tail[24];
        size_t skip_tail_len;
        const char *error;      /* IMAP_PARSE_ERROR: for the BAD reply */
        int done;               /* IMAP_PARSE_DONE returned; reset next */
};

/* imap_parser_init - an empty parser; line_max bounds a command's bytes
 * outside literals. Release with imap_parser_release(). */
void imap_parser_init(struct imap_parser *p, size_t line_max);
/* imap_parser_release - free what the parser holds */
void imap_parser_release(struct imap_parser *p);
/* imap_parser_reset - forget the command read so far (after DONE, or to
 * start over after an error was answered and its line skipped) */
void imap_parser_reset(struct imap_parser *p);

/* imap_parser_feed - read up to len bytes of data; *used_r gets how many
 * were used (all of them for MORE; the rest belong to what follows). */
enum imap_parse_result imap_parser_feed(struct imap_parser *p,
                                        const char *data, size_t len,
                                        size_t *used_r);

/* imap_parser_literal_accept - read the announced literal's bytes (for
 * {n} the caller first sends "+ ...") */
void imap_parser_literal_accept(struct imap_parser *p);
/* imap_parser_literal_reject - refuse it: the command is skipped like a
 * broken one (error set to why), including the bytes of a
 * non-synchronizing literal, which the client sends anyway */
void imap_parser_literal_reject(struct imap_parser *p, const char *why);
/* imap_parser_raw_pending - literal bytes the parser expects next (being
 * read or skipped), so that a line-based reader can switch to raw input;
 * 0 when lines come next */
uint64_t imap_parser_raw_pending(const struct imap_parser *p);
/* imap_parser_skipping - 1 while the rest of a broken command is being
 * skipped */
int imap_parser_skipping(const struct imap_parser *p);

/* After IMAP_PARSE_DONE (and before the next feed or reset): the tag, the
 * command name (as sent), and the arguments, borrowed from p. The tag is
 * also kept after an ERROR when it was read whole ("" otherwise). */
const char *imap_parser_tag(const struct imap_parser *p);
const char *imap_parser_name(const struct imap_parser *p);
const struct imap_arg *imap_parser_args(const struct imap_parser *p,
                                        size_t *count_r);

/* ---- reading arguments (imap_arg.c) ---- */

/* imap_arg_atom - the text of an atom, or NULL for anything else */
const char *imap_arg_atom(const struct imap_arg *a);
/* imap_arg_astring - the text of an atom, quoted string or literal (not
 * NIL's meaning: "NIL" is an atom), or NULL */
const char *imap_arg_astring(const struct imap_arg *a);
/* imap_arg_string - the text of a quoted string or literal, or NULL */
const char *imap_arg_string(const struct imap_arg *a);
/* imap_arg_nstring - as imap_arg_astring, but 1 with *s_r = NULL for NIL;
 * 0 when a is none of those */
int imap_arg_nstring(const struct imap_arg *a, const char **s_r);
/* imap_arg_is_atom - 1 if a is the atom word (any case) */
int imap_arg_is_atom(const struct imap_arg *a, const char *word);
/* imap_arg_number - a number atom (RFC 9051 number64 when max allows):
 * 1 with *n_r, 0 when a is not one or is above max */
int imap_arg_number(const struct imap_arg *a, uint64_t max, uint64_t *n_r);

#endif
