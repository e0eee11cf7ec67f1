/* yubinctl.c - Yubin's administration command
 *   yubinctl [-v] [-c DIR] COMMAND [ARGS...]
 * Used by: administrators and scripts, as postconf, postqueue and doveadm
 * are used with Postfix and Dovecot. main() reads the global options and
 * dispatches through a table of commands, each in its own master/ctl_*.c
 * module. Runs as the invoking user; reads no network input. Exit status:
 * what the command returns, EX_USAGE (64) for a bad command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"

#ifndef DEF_CONFIG_DIRECTORY
#define DEF_CONFIG_DIRECTORY "/etc/yubin"
#endif

static int ctl_help_run(struct ctl *ctl, int argc, char **argv);


/* The commands; later modules add their rows here. */
static const struct ctl_command ctl_commands[] = {
        { "conf", ctl_conf_run,
          "show or edit main.cf; list master.cf services, SASL mechanisms" },
        { "log", ctl_log_run,
          "log reopen: make the running supervisor reopen maillog_file" },
        { "user", ctl_user_run,
          "users: add, del, passwd, enable, disable, list, import" },
        { "domain", ctl_domain_run,
          "the user database's domains: add, del, list" },
        { "pbs", ctl_pbs_run,
          "POP/IMAP-before-SMTP grants: list, check ADDRESS" },
        { "map", ctl_map_run,
          "map check TYPE:NAME [KEY]: check a table, or query it (postmap -q)" },
        { "queue", ctl_queue_run,
          "the mail queue: list, show, flush, delete, hold, release, "
          "requeue" },
        { "newaliases", ctl_alias_newaliases_run,
          "check the alias_database files (as newaliases, sendmail -bi)" },
        { "help", ctl_help_run, "this text" },
};

static void ctl_usage(FILE *fp)
{
        fprintf(fp,
                "usage: %s [-v] [-c DIR] COMMAND [ARGS...]\n"
                "  -c DIR  configuration directory (default: %s)\n"
                "  -v      more detail; repeat for more\n"
                "commands (\"%s COMMAND -?\" shows a command's usage):\n",
                CTL_PROGNAME, DEF_CONFIG_DIRECTORY, CTL_PROGNAME);
        for (size_t i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]);
             i++)
                fprintf(fp, "  %-8s %s\n", ctl_commands[i].name,
                        ctl_commands[i].help);
}

static int ctl_help_run(struct ctl *ctl, int argc, char **argv)
{
        ctl_usage(stdout);
        return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
        struct ctl ctl = { DEF_CONFIG_DIRECTORY, 0 };
        int ch;

        /* messages from common/ code (cfg, mem) go to stderr only */
        log_open(NULL, CTL_PROGNAME, LOG_TO_STDERR, NULL);
        opterr = 0;
        while ((ch = getopt(argc, argv, "+c:hv")) != -1) {
                switch (ch) {
                case 'c':
                        if (*optarg == '\0') {
                                ctl_error("-c needs a directory");
                                return EX_USAGE;
                        }
                        ctl.config_dir = optarg;
                        break;
                case 'h':
                        ctl_usage(stdout);
                        return 0;
                case 'v':
                        ctl.verbose++;
                        break;
                default:
                        if (optopt == 'c')
                                ctl_error("-c needs a directory");
                        else if (optopt != '?')
                                ctl_error("unknown option -%c", optopt);
                        ctl_usage(stderr);
                        return EX_USAGE;
                }
        }
        log_set_verbose(ctl.verbose);
        if (optind >= argc) {
                ctl_usage(stderr);
                return EX_USAGE;
        }
        for (size_t i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]);
             i++)
                if (strcmp(ctl_commands[i].name, argv[optind]) == 0)
                        return ctl_commands[i].run(&ctl, argc - optind,
                                                   argv + optind);
        ctl_error("%s: unknown command", argv[optind]);
        ctl_usage(stderr);
        return EX_USAGE;
}
