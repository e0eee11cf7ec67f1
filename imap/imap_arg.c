/* imap_arg.c - reading the arguments of a parsed IMAP command
 * Used by: every IMAP command handler (imap_cmd*.c, imapd_cmd.c) and the
 * argument parsers (FETCH, SEARCH, LIST); the types are imap_parser.h's.
 * Parses client input. */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "imap_parser.h"

const char *imap_arg_atom(const struct imap_arg *a)
{
        return a->type == IMAP_ARG_ATOM ? a->str : NULL;
}

const char *imap_arg_astring(const struct imap_arg *a)
{
        switch (a->type) {
        case IMAP_ARG_ATOM:
        case IMAP_ARG_QUOTED:
        case IMAP_ARG_LITERAL:
                return a->str;
        default:
                return NULL;
        }
}

const char *imap_arg_string(const struct imap_arg *a)
{
        if (a->type == IMAP_ARG_QUOTED || a->type == IMAP_ARG_LITERAL)
                return a->str;
        return NULL;
}

int imap_arg_nstring(const struct imap_arg *a, const char **s_r)
{
        if (a->type == IMAP_ARG_ATOM) {
                if (strcasecmp(a->str, "NIL") != 0)
                        return 0;
                *s_r = NULL;
                return 1;
        }
        *s_r = imap_arg_string(a);
        return *s_r != NULL;
}

int imap_arg_is_atom(const struct imap_arg *a, const char *word)
{
        return a->type == IMAP_ARG_ATOM && strcasecmp(a->str, word) == 0;
}

int imap_arg_number(const struct imap_arg *a, uint64_t max, uint64_t *n_r)
{
        uint64_t n = 0;

        if (a->type != IMAP_ARG_ATOM || a->str[0] == '\0' || a->len > 20)
                return 0;
        for (const char *s = a->str; *s != '\0'; s++) {
                if (*s < '0' || *s > '9')
                        return 0;
                if (n > (UINT64_MAX - 9) / 10)
                        return 0;
                n = n * 10 + (uint64_t)(*s - '0');
        }
        if (n > max)
                return 0;
        *n_r = n;
        return 1;
}
