/* ctl_alias.c - yubinctl newaliases: check the alias_database files
 *   newaliases          every hash:/btree:/texthash: file of alias_database
 * Used by: administrators after editing /etc/aliases, as Postfix's
 * newaliases and sendmail -bi (which do the same through
 * alias_file_rebuild()). Yubin reads alias files as text and its daemons
 * notice a changed file by themselves, so nothing is compiled: the command
 * reports each problem as "file:line: text" and exits 1 if there was any.
 * Works whether Yubin runs or not. Runs as the invoking user; reads main.cf
 * and the alias files, writes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "alias_file.h"
#include "cfg.h"
#include "ctl.h"

static void alias_diag(void *ctx, const char *text)
{
        if (strncmp(text, "warning: ", 9) == 0)
                ctl_warn("%s", text + 9);
        else
                ctl_error("%s", text);
}

int ctl_alias_newaliases_run(struct ctl *ctl, int argc, char **argv)
{
        struct status st;
        struct cfg *c;
        size_t errors;
        int r;

        if (argc != 1) {
                fputs("usage: " CTL_PROGNAME " [-c DIR] newaliases\n"
                      "  check every file alias_database names "
                      "(aliases(5) format);\n"
                      "  exit status 1 when any has a problem\n", stderr);
                return EX_USAGE;
        }
        c = ctl_cfg_load(ctl, &errors);
        if (errors > 0) {
                ctl_error("the configuration in %s has errors: fix them "
                          "first", ctl->config_dir);
                cfg_free(&c);
                return 1;
        }
        r = alias_file_rebuild(c, alias_diag, NULL, &st);
        if (r < 0)
                ctl_error("%s", st.text);
        else
                ctl_debug(ctl, "alias_database = %s: %d problem%s",
                          cfg_get(c, "alias_database"), r, r == 1 ? "" : "s");
        cfg_free(&c);
        return r == 0 ? 0 : 1;
}
