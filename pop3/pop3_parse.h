/* pop3_parse.h - POP3 command lines: keyword, arguments, message numbers
 * Used by: pop3d (the login front end, AUTHORIZATION state) and pop3 (the
 * session, TRANSACTION state), and the fuzz target. A line (CR LF already
 * removed) is cut in place into a keyword, matched without regard to case
 * against the one table of commands (RFC 1939, 2449, 2595, 5034), and
 * arguments separated by single spaces; PASS keeps the rest of the line
 * whole, as passwords may hold spaces. Limits: keyword 4 characters,
 * POP3_ARGS_MAX arguments, POP3_ARG_MAX bytes each (RFC 2449 says 40;
 * SASL initial responses are allowed POP3_SASL_ARG_MAX). Parses client
 * input: runs in the front end (mail_owner) and the session (the mailbox
 * owner). */
#ifndef YUBIN_POP3_PARSE_H
#define YUBIN_POP3_PARSE_H

#include <stddef.h>

#define POP3_ARGS_MAX           2
#define POP3_ARG_MAX            255
#define POP3_SASL_ARG_MAX       16000
/* the longest password PASS takes (authd's limit) */
#define POP3_PASS_MAX           1024
/* the longest command line the session takes (RFC 2449: 255 octets;
 * kept generous for clients that send long user names) */
#define POP3_LINE_MAX           1024
/* before login: room for a SASL response */
#define POP3_LOGIN_LINE_MAX     16384

enum pop3_cmd_id {
        POP3_CMD_UNKNOWN,
        POP3_CMD_APOP,
        POP3_CMD_AUTH,
        POP3_CMD_CAPA,
        POP3_CMD_DELE,
        POP3_CMD_LIST,
        POP3_CMD_NOOP,
        POP3_CMD_PASS,
        POP3_CMD_QUIT,
        POP3_CMD_RETR,
        POP3_CMD_RSET,
        POP3_CMD_STAT,
        POP3_CMD_STLS,
        POP3_CMD_TOP,
        POP3_CMD_UIDL,
        POP3_CMD_USER,
};

/* Where a command is allowed (RFC 1939 states). */
#define POP3_AUTHORIZATION      0x01
#define POP3_TRANSACTION        0x02

struct pop3_cmd_def {
        const char *name;
        enum pop3_cmd_id id;
        unsigned states;        /* POP3_AUTHORIZATION | POP3_TRANSACTION */
        unsigned min_args, max_args;
        int rest;               /* 1: one argument, the rest of the line */
};

struct pop3_cmd {
        const struct pop3_cmd_def *def; /* NULL: unknown keyword */
        enum pop3_cmd_id id;
        char *args[POP3_ARGS_MAX];      /* point into the line */
        size_t argc;
};

enum pop3_parse_error {
        POP3_PARSE_OK,
        POP3_PARSE_EMPTY,       /* nothing but blanks */
        POP3_PARSE_UNKNOWN,     /* keyword not in the table (or has a NUL) */
        POP3_PARSE_ARGS,        /* too few, too many, empty or too long */
};

/* pop3_parse - cut line (len bytes, NUL-terminated, modified in place)
 * into *cmd_r. Returns POP3_PARSE_OK, or what is wrong (cmd_r->def is set
 * for POP3_PARSE_ARGS so that the reply can name the command). */
enum pop3_parse_error pop3_parse(char *line, size_t len,
                                 struct pop3_cmd *cmd_r);

/* pop3_parse_number - a message number or count: decimal digits only, no
 * sign, at most max; 0 with *n_r, or -1 */
int pop3_parse_number(const char *s, unsigned long max, unsigned long *n_r);

/* pop3_cmd_table - the command table, for tests; *count_r entries */
const struct pop3_cmd_def *pop3_cmd_table(size_t *count_r);

#endif
