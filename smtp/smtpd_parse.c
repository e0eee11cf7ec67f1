/* smtpd_parse.c - the SMTP server's resumable input parser
 * Used by: smtpd sessions (see smtpd_parse.h for the line-end rules). Parses
 * client input one byte at a time; every size it keeps is bounded: a
 * command line by line_max (longer ones are dropped to their end), a
 * content piece by SMTPD_PARSE_PIECE_MAX. */
#include <string.h>

#include "smtpd_parse.h"

void smtpd_parser_init(struct smtpd_parser *p, size_t line_max,
                       enum smtpd_newline newline)
{
        memset(p, 0, sizeof(*p));
        p->line_max = line_max;
        p->newline = newline;
        p->last_crlf = 1;
        buf_init(&p->line, 0);
}

void smtpd_parser_release(struct smtpd_parser *p)
{
        buf_release(&p->line);
}

void smtpd_parser_reset(struct smtpd_parser *p)
{
        p->mode = SMTPD_MODE_CMD;
        p->cr = 0;
        p->too_long = 0;
        p->end_due = 0;
        p->handed = 0;
        p->bdat_cr = 0;
        p->last_crlf = 1;
        buf_reset(&p->line);
}

void smtpd_parser_data(struct smtpd_parser *p)
{
        p->mode = SMTPD_MODE_DATA;
        p->cr = 0;
        p->bol = 1;
        p->dot = 0;
        p->handed = 0;
        p->bdat_cr = 0;
        buf_reset(&p->line);
}

void smtpd_parser_bdat(struct smtpd_parser *p, unsigned long long size,
                       int last)
{
        p->mode = SMTPD_MODE_BDAT;
        p->bdat_left = size;
        p->bdat_last = last ? 1 : 0;
        p->end_due = 0;
        buf_reset(&p->line);
        /* a CR that ended the previous chunk still waits: a CR LF may be
         * split between chunks */
        p->cr = p->bdat_cr;
        p->bdat_cr = 0;
}

/* content - add one content byte to the piece */
static void content(struct smtpd_parser *p, char c)
{
        p->dot = 0;
        buf_putc(&p->line, c);
}

/* piece - hand out the piece built so far */
static enum smtpd_parse_ev piece(struct smtpd_parser *p,
                                 struct smtpd_parse_out *out, int eol,
                                 int bare_lf)
{
        if (eol)
                buf_putc(&p->line, '\n');
        p->handed = 1;
        out->data = p->line.data;
        out->len = p->line.len;
        out->eol = eol;
        out->bare_lf = bare_lf;
        return SMTPD_EV_TEXT;
}

/* cmd_byte - one byte in command mode; an event or SMTPD_EV_MORE */
static enum smtpd_parse_ev cmd_byte(struct smtpd_parser *p, char c,
                                    struct smtpd_parse_out *out)
{
        int crlf;

        if (p->cr && c != '\n') {
                /* a bare CR: just a byte of the line */
                p->cr = 0;
                if (!p->too_long) {
                        if (p->line.len >= p->line_max) {
                                p->too_long = 1;
                                buf_reset(&p->line);
                        } else {
                                buf_putc(&p->line, '\r');
                        }
                }
        }
        if (c == '\r') {
                p->cr = 1;
                return SMTPD_EV_MORE;
        }
        if (c != '\n') {
                if (p->too_long)
                        return SMTPD_EV_MORE;
                if (p->line.len >= p->line_max) {
                        p->too_long = 1;
                        buf_reset(&p->line);
                        return SMTPD_EV_MORE;
                }
                buf_putc(&p->line, c);
                return SMTPD_EV_MORE;
        }
        crlf = p->cr;
        p->cr = 0;
        p->last_crlf = crlf;
        if (p->too_long) {
                p->too_long = 0;
                buf_reset(&p->line);
                out->bare_lf = !crlf;
                return SMTPD_EV_LONG;
        }
        /* the line stays in p->line until the next call */
        p->handed = 1;
        out->data = buf_cstr(&p->line);
        out->len = p->line.len;
        out->bare_lf = !crlf;
        out->eol = 1;
        return SMTPD_EV_LINE;
}

/* data_eol - a DATA line ended (in CR LF when crlf) */
static enum smtpd_parse_ev data_eol(struct smtpd_parser *p, int crlf,
                                    struct smtpd_parse_out *out)
{
        int dot_line = p->dot;
        int ends;

        p->bol = 1;
        p->dot = 0;
        if (dot_line) {
                if (p->newline == SMTPD_NL_ALLOW)
                        ends = 1;
                else
                        ends = crlf && p->last_crlf;
                if (ends) {
                        p->mode = SMTPD_MODE_CMD;
                        p->last_crlf = crlf;
                        buf_reset(&p->line);
                        return SMTPD_EV_END;
                }
        }
        p->last_crlf = crlf;
        return piece(p, out, 1, !crlf);
}

/* data_byte - one byte of DATA content */
static enum smtpd_parse_ev data_byte(struct smtpd_parser *p, char c,
                                     struct smtpd_parse_out *out)
{
        if (p->cr) {
                p->cr = 0;
                if (c == '\n')
                        return data_eol(p, 1, out);
                /* a bare CR is content, never a line end */
                p->bol = 0;
                content(p, '\r');
        }
        if (c == '\r') {
                p->cr = 1;
                return SMTPD_EV_MORE;
        }
        if (c == '\n')
                return data_eol(p, 0, out);
        if (p->bol) {
                p->bol = 0;
                if (c == '.') {
                        /* RFC 5321 4.5.2: drop the first of a line's
                         * dots; a line of just "." may end DATA */
                        p->dot = 1;
                        return SMTPD_EV_MORE;
                }
        }
        content(p, c);
        if (p->line.len >= SMTPD_PARSE_PIECE_MAX)
                return piece(p, out, 0, 0);
        return SMTPD_EV_MORE;
}

/* bdat_byte - one byte of a BDAT chunk (bdat_left already counted down) */
static enum smtpd_parse_ev bdat_byte(struct smtpd_parser *p, char c,
                                     struct smtpd_parse_out *out)
{
        enum smtpd_parse_ev ev = SMTPD_EV_MORE;

        if (p->cr) {
                p->cr = 0;
                if (c == '\n')
                        return piece(p, out, 1, 0);
                content(p, '\r');
        }
        if (c == '\r')
                p->cr = 1;
        else if (c == '\n')
                return piece(p, out, 1, 1);
        else
                content(p, c);
        if (p->line.len >= SMTPD_PARSE_PIECE_MAX)
                ev = piece(p, out, 0, 0);
        return ev;
}

/* bdat_finish - the chunk's last byte was read: hand out what is left,
 * then END */
static enum smtpd_parse_ev bdat_finish(struct smtpd_parser *p,
                                       struct smtpd_parse_out *out)
{
        if (p->cr) {
                p->cr = 0;
                if (p->bdat_last)
                        content(p, '\r');
                else
                        p->bdat_cr = 1;
        }
        if (p->line.len > 0) {
                p->end_due = 1;
                return piece(p, out, 0, 0);
        }
        p->end_due = 0;
        p->mode = SMTPD_MODE_CMD;
        buf_reset(&p->line);
        return SMTPD_EV_END;
}

enum smtpd_parse_ev smtpd_parse(struct smtpd_parser *p, const char *in,
                                size_t len, size_t *used_r,
                                struct smtpd_parse_out *out)
{
        enum smtpd_parse_ev ev;
        size_t i = 0;

        memset(out, 0, sizeof(*out));
        /* the last event's line or piece is gone now */
        if (p->handed) {
                p->handed = 0;
                buf_reset(&p->line);
        }
        if (p->mode == SMTPD_MODE_BDAT && p->end_due) {
                *used_r = 0;
                return bdat_finish(p, out);
        }
        while (i < len) {
                char c = in[i++];

                switch (p->mode) {
                case SMTPD_MODE_CMD:
                        ev = cmd_byte(p, c, out);
                        break;
                case SMTPD_MODE_DATA:
                        ev = data_byte(p, c, out);
                        break;
                default:
                        p->bdat_left--;
                        ev = bdat_byte(p, c, out);
                        if (p->bdat_left == 0) {
                                if (ev == SMTPD_EV_TEXT) {
                                        p->end_due = 1;
                                        break;
                                }
                                ev = bdat_finish(p, out);
                        }
                        break;
                }
                if (ev != SMTPD_EV_MORE) {
                        *used_r = i;
                        return ev;
                }
        }
        *used_r = i;
        return SMTPD_EV_MORE;
}
