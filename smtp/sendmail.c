/* sendmail.c - the sendmail-compatible command: sendmail, mailq, newaliases
 *   sendmail [-t] [-i|-oi] [-f sender] [-F name] [-R ret] [-V envid]
 *            [-C config_dir] [-bm|-bp|-bi|-bs] [recipient...]
 * Runs as the invoking user, with no privileges; reads the message from
 * stdin. One program, told apart by argv[0] (mailq = -bp, newaliases =
 * -bi), so that `alternatives --config mta`, cron and scripts find the
 * names they expect. Options Postfix's sendmail accepts without effect
 * are accepted and ignored (-B, -h, -L, -m, -n, -N, -o... other than -oi,
 * -q, -v is more detail).
 *
 * Submission (-bm, the default) goes through the maildrop queue, as with
 * Postfix's postdrop: sendmail_msg.c builds the envelope and fixes the
 * header, sendmail_drop.c stores the file in queue_directory/maildrop/
 * (directly, or through the setgid postdrop helper when this user may not
 * write there); qmgr's pickup (maildrop_pickup) moves it into the queue,
 * records the submitting uid and logs "uid=N from=<...>". Install modes:
 *   installed as root: sendmail and its aliases root:root 0755; postdrop
 *     root:$setgid_group 2755; maildrop/ mail_owner:$setgid_group 1730
 *     (made at start by maildrop_init()); any local user can submit.
 *   unprivileged (tests, make run): everything belongs to one user,
 *     maildrop/ is 0700, sendmail writes it directly, postdrop is unused.
 * Mail submitted while Yubin is stopped waits in maildrop/ until qmgr
 * runs. The envelope sender is -f's (any user may set it, as Postfix
 * allows by default) or the login name of the real uid; bare names get
 * @$myorigin. Exit status: 0, or a sysexits code (EX_TEMPFAIL: try later;
 * EX_DATAERR, EX_USAGE, EX_NOUSER: the message or command line is wrong). */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "alias_file.h"
#include "cfg.h"
#include "log.h"
#include "maildrop.h"
#include "mem.h"
#include "sendmail.h"

#ifndef DEF_CONFIG_DIRECTORY
#define DEF_CONFIG_DIRECTORY "/etc/yubin"
#endif

enum sendmail_mode {
        MODE_SEND,      /* -bm (default) */
        MODE_QUEUE,     /* -bp, mailq */
        MODE_ALIASES,   /* -bi, -I, newaliases */
        MODE_SMTP,      /* -bs */
};

static void usage(void)
{
        fprintf(stderr, "usage: sendmail [-t] [-i] [-f sender] [-F name] "
                "[-R full|hdrs] [-V envid]\n"
                "                [-bm|-bp|-bi|-bs] [-C config_dir] "
                "[recipient...]\n");
        exit(EX_USAGE);
}

/* load_cfg - main.cf of dir, checked; fatal (EX_CONFIG) when broken */
static struct cfg *load_cfg(const char *dir)
{
        struct cfg *cfg = cfg_new(dir);
        char *path = xasprintf("%s/main.cf", dir);

        if (cfg_read_main(cfg, path) < 0 || cfg_check(cfg) < 0) {
                cfg_log_diags(cfg);
                log_error("%s: the configuration has errors", path);
                exit(EX_CONFIG);
        }
        free(path);
        return cfg;
}

/* exit_for - the sysexits code for a failure's status */
static int exit_for(const struct status *st)
{
        if (status_class(st) == 4)
                return EX_TEMPFAIL;
        if (strcmp(st->code, STATUS_TOO_BIG) == 0 ||
            strcmp(st->code, STATUS_SYNTAX) == 0)
                return EX_DATAERR;
        return EX_UNAVAILABLE;
}

static int send_mail(struct cfg *cfg, const struct sendmail_opts *o,
                     int argc, char **argv)
{
        struct maildrop_env env;
        struct status st;
        struct buf msg;
        int ret = 0;

        memset(&env, 0, sizeof(env));
        if (!o->extract && argc == 0) {
                log_error("recipient addresses must be given on the command "
                          "line or with -t");
                return EX_USAGE;
        }
        env.sender = sendmail_sender(cfg, o->sender, &st);
        if (env.sender == NULL) {
                log_error("bad sender address \"%s\": %s",
                          o->sender != NULL ? o->sender : "", st.text);
                return EX_USAGE;
        }
        for (int i = 0; i < argc; i++)
                if (sendmail_rcpt_add(cfg, &env, argv[i], &st) < 0) {
                        log_error("bad recipient address \"%s\": %s",
                                  argv[i], st.text);
                        maildrop_env_release(&env);
                        return EX_NOUSER;
                }
        if (o->dsn_ret != NULL)
                env.dsn_ret = strcasecmp(o->dsn_ret, "hdrs") == 0 ?
                        xstrdup("HDRS") : xstrdup("FULL");
        if (o->dsn_envid != NULL)
                env.dsn_envid = xstrdup(o->dsn_envid);
        buf_init(&msg, 0);
        if (sendmail_msg_read(0, o->dot_ends,
                              (size_t)cfg_get_size(cfg, "message_size_limit"),
                              &msg, &st) < 0 ||
            sendmail_msg_fix(cfg, &msg, &env, o->extract, o->fullname,
                             &st) < 0) {
                log_error("%s", st.text);
                ret = exit_for(&st);
        } else if (env.nrcpt == 0) {
                log_error("no recipient addresses found in message header");
                ret = EX_USAGE;
        } else if (sendmail_drop(cfg, o, &env, &msg, &st) < 0) {
                log_error("%s", st.text);
                ret = exit_for(&st);
        }
        buf_release(&msg);
        maildrop_env_release(&env);
        return ret;
}

static void alias_diag(void *ctx, const char *text)
{
        if (strncmp(text, "warning: ", 9) == 0)
                log_warn("%s", text + 9);
        else
                log_error("%s", text);
}

/* newaliases - sendmail -bi: check the alias_database files */
static int newaliases(struct cfg *cfg)
{
        struct status st;
        int r = alias_file_rebuild(cfg, alias_diag, NULL, &st);

        if (r < 0) {
                log_error("%s", st.text);
                return EX_NOINPUT;
        }
        return r == 0 ? 0 : EX_DATAERR;
}

int main(int argc, char **argv)
{
        const char *name = basename(argv[0]);
        enum sendmail_mode mode = MODE_SEND;
        struct sendmail_opts o;
        struct cfg *cfg;
        int c, ret;

        memset(&o, 0, sizeof(o));
        o.config_dir = DEF_CONFIG_DIRECTORY;
        o.dot_ends = 1;
        if (getenv("MAIL_CONFIG") != NULL && *getenv("MAIL_CONFIG") != '\0') {
                o.config_dir = getenv("MAIL_CONFIG");
                o.config_dir_given = 1;
        }
        log_open("yubin", SENDMAIL_PROGNAME, LOG_TO_STDERR, NULL);
        if (strcmp(name, "mailq") == 0)
                mode = MODE_QUEUE;
        else if (strcmp(name, "newaliases") == 0)
                mode = MODE_ALIASES;

        /* sendmail's option letters; those with no effect are accepted
         * and ignored, as every sendmail replacement does */
        opterr = 0;
        while ((c = getopt(argc, argv,
                           "A:B:b:C:F:f:h:IiL:mN:no:p:q:R:r:tV:vX:")) != -1) {
                switch (c) {
                case 'b':
                        if (strcmp(optarg, "p") == 0)
                                mode = MODE_QUEUE;
                        else if (strcmp(optarg, "i") == 0)
                                mode = MODE_ALIASES;
                        else if (strcmp(optarg, "s") == 0)
                                mode = MODE_SMTP;
                        else if (strcmp(optarg, "m") == 0 ||
                                 strcmp(optarg, "d") == 0)
                                mode = MODE_SEND;
                        else
                                usage();
                        break;
                case 'C':
                        /* Postfix takes a directory or its main.cf */
                        o.config_dir = optarg;
                        o.config_dir_given = 1;
                        if (strlen(optarg) > 8 &&
                            strcmp(optarg + strlen(optarg) - 8,
                                   "/main.cf") == 0)
                                o.config_dir = xstrndup(optarg,
                                                        strlen(optarg) - 8);
                        break;
                case 'F':
                        o.fullname = optarg;
                        break;
                case 'f':
                case 'r':
                        o.sender = optarg;
                        break;
                case 'I':
                        mode = MODE_ALIASES;
                        break;
                case 'i':
                        o.dot_ends = 0;
                        break;
                case 'o':
                        if (strcmp(optarg, "i") == 0)
                                o.dot_ends = 0;
                        break;
                case 'R':
                        if (strcasecmp(optarg, "full") != 0 &&
                            strcasecmp(optarg, "hdrs") != 0)
                                usage();
                        o.dsn_ret = optarg;
                        break;
                case 't':
                        o.extract = 1;
                        break;
                case 'V':
                        o.dsn_envid = optarg;
                        break;
                case 'v':
                        o.verbose++;
                        break;
                case '?':
                        usage();
                        break;
                default:
                        break;
                }
        }

        cfg = load_cfg(o.config_dir);
        log_open(cfg_get(cfg, "syslog_name"), SENDMAIL_PROGNAME,
                 LOG_TO_STDERR | LOG_TO_SYSLOG, NULL);
        log_set_verbose(o.verbose);
        switch (mode) {
        case MODE_QUEUE:
                ret = sendmail_queue_list(cfg);
                break;
        case MODE_ALIASES:
                ret = newaliases(cfg);
                break;
        case MODE_SMTP:
                ret = sendmail_smtp(cfg, &o);
                break;
        default:
                ret = send_mail(cfg, &o, argc - optind, argv + optind);
                break;
        }
        cfg_free(&cfg);
        return ret;
}
