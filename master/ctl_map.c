/* ctl_map.c - yubinctl map: check a lookup table, query it as postmap -q
 *   map check TYPE:NAME          read the whole table and report every
 *                                problem as "file:line: text"; exit 1 when
 *                                there is one
 *   map check TYPE:NAME KEY...   look each KEY up, as postmap -q: the value
 *                                is printed (one line per key found); exit
 *                                0 when all were found, 1 when one was not
 *   map check TYPE:NAME -        keys from standard input, one a line;
 *                                prints "KEY VALUE" for each one found
 * Used by: administrators, after editing an access table, header_checks,
 * a sqlite: query file... Yubin reads hash: and btree: tables from their
 * text and its daemons reload them when they change, so there is nothing
 * to compile: this is the check (and the postmap -q) step. The table is
 * opened in this process with the same code the daemons use; main.cf is
 * not needed. Exit status 75 when a look-up could not tell, 78 when the
 * table cannot be opened. Runs as the invoking user; reads the table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "buf.h"
#include "ctl.h"
#include "map.h"

#define MAP_STDIN_LINE_MAX      4096

static int map_usage(void)
{
        fputs("usage: " CTL_PROGNAME " [-c DIR] map check TYPE:NAME "
              "[KEY... | -]\n"
              "  without KEY: report every problem of the table, exit 1 "
              "when any\n"
              "  with KEY: print its value (as postmap -q), exit 1 when "
              "not found\n"
              "  with -: keys from standard input, \"KEY VALUE\" for "
              "each one found\n", stderr);
        return EX_USAGE;
}

static void map_diag(void *ctx, const char *text)
{
        int *problems = ctx;

        ctl_error("%s", text);
        (*problems)++;
}

/* lookup - one key: 1 found (printed), 0 not, -1 could not tell */
static int lookup(struct maps *m, const char *key, int with_key)
{
        const char *value;
        struct status st;
        int r = maps_lookup(m, key, &value, &st);

        if (r < 0)
                ctl_error("%s: %s", key, st.text);
        else if (r > 0 && with_key)
                printf("%s %s\n", key, value);
        else if (r > 0)
                printf("%s\n", value);
        return r;
}

static int query(const char *spec, int argc, char **argv)
{
        struct maps *m;
        struct status st;
        int missing = 0, failed = 0;

        if (maps_open(spec, "map", 0, &m, &st) < 0) {
                ctl_error("%s", st.text);
                return EX_CONFIG;
        }
        if (argc == 1 && strcmp(argv[0], "-") == 0) {
                char line[MAP_STDIN_LINE_MAX];

                while (fgets(line, sizeof(line), stdin) != NULL) {
                        line[strcspn(line, "\r\n")] = '\0';
                        if (line[0] == '\0')
                                continue;
                        int r = lookup(m, line, 1);

                        missing |= r == 0;
                        failed |= r < 0;
                }
        } else {
                for (int i = 0; i < argc; i++) {
                        int r = lookup(m, argv[i], 0);

                        missing |= r == 0;
                        failed |= r < 0;
                }
        }
        maps_free(&m);
        if (fflush(stdout) != 0)
                return 1;
        return failed ? EX_TEMPFAIL : missing ? 1 : 0;
}

int ctl_map_run(struct ctl *ctl, int argc, char **argv)
{
        struct status st;
        int problems = 0, r;

        if (argc < 3 || strcmp(argv[1], "check") != 0 ||
            strchr(argv[2], ':') == NULL)
                return map_usage();
        if (argc > 3)
                return query(argv[2], argc - 3, argv + 3);
        r = map_check(argv[2], 0, map_diag, &problems, &st);
        if (r < 0) {
                ctl_error("%s", st.text);
                return EX_CONFIG;
        }
        ctl_debug(ctl, "%s: %d problem%s", argv[2], r, r == 1 ? "" : "s");
        return r == 0 ? 0 : 1;
}
