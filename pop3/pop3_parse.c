/* pop3_parse.c - POP3 command lines: keyword, arguments, message numbers
 * Used by: pop3d and pop3 (pop3_parse.h). The one command table: each
 * command's states and argument counts are here, the handlers in
 * pop3d_cmd.c (before login) and pop3_cmd.c (after). */
#include <string.h>
#include <strings.h>

#include "pop3_parse.h"

static const struct pop3_cmd_def table[] = {
        { "APOP", POP3_CMD_APOP, POP3_AUTHORIZATION, 2, 2, 0 },
        { "AUTH", POP3_CMD_AUTH, POP3_AUTHORIZATION, 0, 2, 0 },
        { "CAPA", POP3_CMD_CAPA, POP3_AUTHORIZATION | POP3_TRANSACTION,
          0, 0, 0 },
        { "DELE", POP3_CMD_DELE, POP3_TRANSACTION, 1, 1, 0 },
        { "LIST", POP3_CMD_LIST, POP3_TRANSACTION, 0, 1, 0 },
        { "NOOP", POP3_CMD_NOOP, POP3_TRANSACTION, 0, 0, 0 },
        { "PASS", POP3_CMD_PASS, POP3_AUTHORIZATION, 1, 1, 1 },
        { "QUIT", POP3_CMD_QUIT, POP3_AUTHORIZATION | POP3_TRANSACTION,
          0, 0, 0 },
        { "RETR", POP3_CMD_RETR, POP3_TRANSACTION, 1, 1, 0 },
        { "RSET", POP3_CMD_RSET, POP3_TRANSACTION, 0, 0, 0 },
        { "STAT", POP3_CMD_STAT, POP3_TRANSACTION, 0, 0, 0 },
        { "STLS", POP3_CMD_STLS, POP3_AUTHORIZATION, 0, 0, 0 },
        { "TOP", POP3_CMD_TOP, POP3_TRANSACTION, 2, 2, 0 },
        { "UIDL", POP3_CMD_UIDL, POP3_TRANSACTION, 0, 1, 0 },
        { "USER", POP3_CMD_USER, POP3_AUTHORIZATION, 1, 1, 1 },
};

const struct pop3_cmd_def *pop3_cmd_table(size_t *count_r)
{
        *count_r = sizeof(table) / sizeof(table[0]);
        return table;
}

static const struct pop3_cmd_def *lookup(const char *word)
{
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
                if (strcasecmp(word, table[i].name) == 0)
                        return &table[i];
        return NULL;
}

enum pop3_parse_error pop3_parse(char *line, size_t len,
                                 struct pop3_cmd *cmd_r)
{
        const struct pop3_cmd_def *def;
        char *sp, *p, *end = line + len;
        size_t wlen;

        memset(cmd_r, 0, sizeof(*cmd_r));
        cmd_r->id = POP3_CMD_UNKNOWN;
        if (strspn(line, " \t") == len)
                return POP3_PARSE_EMPTY;
        /* a NUL would cut the line short: no command may hold one */
        if (memchr(line, '\0', len) != NULL)
                return POP3_PARSE_UNKNOWN;
        sp = memchr(line, ' ', len);
        wlen = sp != NULL ? (size_t)(sp - line) : len;
        if (wlen == 0 || wlen > 4)
                return POP3_PARSE_UNKNOWN;
        line[wlen] = '\0';
        def = lookup(line);
        if (def == NULL)
                return POP3_PARSE_UNKNOWN;
        cmd_r->def = def;
        cmd_r->id = def->id;
        p = sp != NULL ? sp + 1 : end;
        if (def->rest) {
                /* one argument: the rest of the line, spaces and all */
                if (p < end)
                        cmd_r->args[cmd_r->argc++] = p;
        } else {
                /* clients that end a line with a space are forgiven */
                while (end > p && end[-1] == ' ')
                        *--end = '\0';
                while (p < end) {
                        char *arg = p;

                        sp = memchr(p, ' ', (size_t)(end - p));
                        if (sp == arg || cmd_r->argc == POP3_ARGS_MAX)
                                return POP3_PARSE_ARGS;
                        if (sp != NULL) {
                                *sp = '\0';
                                p = sp + 1;
                        } else {
                                p = end;
                        }
                        cmd_r->args[cmd_r->argc++] = arg;
                }
        }
        if (cmd_r->argc < def->min_args || cmd_r->argc > def->max_args)
                return POP3_PARSE_ARGS;
        for (size_t i = 0; i < cmd_r->argc; i++) {
                size_t max = POP3_ARG_MAX;

                if (def->id == POP3_CMD_AUTH && i == 1)
                        max = POP3_SASL_ARG_MAX;
                else if (def->id == POP3_CMD_PASS)
                        max = POP3_PASS_MAX;
                if (strlen(cmd_r->args[i]) > max)
                        return POP3_PARSE_ARGS;
        }
        return POP3_PARSE_OK;
}

int pop3_parse_number(const char *s, unsigned long max, unsigned long *n_r)
{
        unsigned long n = 0;

        if (s == NULL || *s == '\0')
                return -1;
        for (; *s != '\0'; s++) {
                unsigned long d = (unsigned long)(*s - '0');

                if (*s < '0' || *s > '9' || d > max || n > (max - d) / 10)
                        return -1;
                n = n * 10 + d;
        }
        *n_r = n;
        return 0;
}
