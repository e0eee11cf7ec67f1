/* smtpd_parse.h - the SMTP server's input parser: command lines, DATA, BDAT
 * Used by: smtpd's sessions (smtpd_session.c), its unit test and the fuzz
 * target. Parses client input, byte by byte, and is resumable: all state
 * lives in struct smtpd_parser, input may be cut anywhere, and "need more"
 * is a return value. One parser turns the raw stream into command lines,
 * and into message content for DATA (dot-unstuffed, RFC 5321 4.5.2) and
 * BDAT (counted, RFC 3030), with every line end stored as a bare LF.
 *
 * Line ends, as Postfix 3.9's smtpd_forbid_bare_newline has them: CR LF
 * ends a line; a bare LF ends one too, except that in "reject" mode it is
 * reported (the session refuses it); a bare CR never ends a line and stays
 * content. DATA ends only at CR LF "." CR LF (the line before the dot
 * ended in CR LF too, or was the DATA command ending in CR LF): <LF>.<LF>,
 * <LF>.<CR><LF>, <CR><LF>.<LF> and bare-CR variants are content, so SMTP
 * smuggling (CVE-2023-51764) cannot end a message early. Mode "allow" (for
 * smtpd_forbid_bare_newline_exclusions clients, Postfix's "no") also ends
 * DATA at a "." line ending in a bare LF. */
#ifndef YUBIN_SMTPD_PARSE_H
#define YUBIN_SMTPD_PARSE_H

#include <stddef.h>

#include "buf.h"

/* the largest content piece handed out; longer lines come in pieces */
#define SMTPD_PARSE_PIECE_MAX   4096

/* smtpd_forbid_bare_newline */
enum smtpd_newline {
        SMTPD_NL_NORMALIZE,     /* bare LF ends a line, never DATA */
        SMTPD_NL_REJECT,        /* bare LF is reported (out.bare_lf) */
        SMTPD_NL_ALLOW,         /* bare LF ends lines and DATA ("no") */
};

enum smtpd_parse_mode {
        SMTPD_MODE_CMD,         /* command lines */
        SMTPD_MODE_DATA,        /* after 354: content up to "." */
        SMTPD_MODE_BDAT,        /* a counted chunk */
};

enum smtpd_parse_ev {
        SMTPD_EV_MORE,          /* all input used; nothing complete yet */
        SMTPD_EV_LINE,          /* a command line: out.data (NUL-terminated,
                                 * no line end; may hold NULs: out.len) */
        SMTPD_EV_LONG,          /* a command line over line_max ended; its
                                 * bytes were dropped */
        SMTPD_EV_TEXT,          /* content: out.data/len, dot-unstuffed;
                                 * with out.eol it ends a line and its last
                                 * byte is LF */
        SMTPD_EV_END,           /* DATA's "." line or a BDAT chunk's last
                                 * byte was read; back in command mode */
};

/* What an event carries; borrowed from the parser until the next call. */
struct smtpd_parse_out {
        const char *data;
        size_t len;
        int eol;                /* TEXT: the piece ends a line */
        int bare_lf;            /* LINE, TEXT with eol: the line ended in a
                                 * bare LF */
};

struct smtpd_parser {
        enum smtpd_parse_mode mode;
        enum smtpd_newline newline;
        size_t line_max;        /* command lines, without the line end */
        unsigned cr:1;          /* a CR waits for the next byte */
        unsigned too_long:1;    /* dropping a command line to its end */
        unsigned bol:1;         /* DATA: at the start of a line */
        unsigned dot:1;         /* DATA: the line so far is one '.' */
        unsigned last_crlf:1;   /* the last line ended in CR LF */
        unsigned bdat_last:1;   /* BDAT: this chunk ends the message */
        unsigned end_due:1;     /* BDAT: END follows the piece handed out */
        unsigned bdat_cr:1;     /* BDAT: the last chunk ended in a CR */
        unsigned handed:1;      /* line was handed out: empty it first */
        unsigned long long bdat_left;   /* BDAT: bytes still to read */
        struct buf line;        /* the line or piece being built */
};

/* smtpd_parser_init - command mode, lines up to line_max bytes; release
 * with smtpd_parser_release() */
void smtpd_parser_init(struct smtpd_parser *p, size_t line_max,
                       enum smtpd_newline newline);
void smtpd_parser_release(struct smtpd_parser *p);
/* smtpd_parser_reset - forget any partial line and go to command mode
 * (STARTTLS: nothing read before the handshake counts after it) */
void smtpd_parser_reset(struct smtpd_parser *p);
/* smtpd_parser_data - read DATA content next (after the 354 reply) */
void smtpd_parser_data(struct smtpd_parser *p);
/* smtpd_parser_bdat - read a chunk of size bytes next (size > 0); last says
 * it is the message's last, so a CR at its very end is content */
void smtpd_parser_bdat(struct smtpd_parser *p, unsigned long long size,
                       int last);

/* smtpd_parse - parse from in (len bytes). Returns the next event and in
 * *used_r how many bytes it took (all of them for SMTPD_EV_MORE); call
 * again with the rest. out is filled as the event says. */
enum smtpd_parse_ev smtpd_parse(struct smtpd_parser *p, const char *in,
                                size_t len, size_t *used_r,
                                struct smtpd_parse_out *out);

#endif
