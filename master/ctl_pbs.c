/* ctl_pbs.c - yubinctl pbs: POP/IMAP-before-SMTP grants of the running authd
 *   pbs list            one line per live grant: ADDRESS USER EXPIRES
 *                       (EXPIRES as local time, YYYY-MM-DD HH:MM:SS)
 *   pbs check ADDRESS   the grant of one address, exit 1 when none
 * Used by: administrators, as DRAC's or pop-before-smtp's listings were.
 * Asks authd over $data_directory/authd.socket with the blocking authd
 * client, so it needs a running Yubin and a user who may open the socket
 * (root or mail_owner). Reads no network input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "authc.h"
#include "cfg.h"
#include "ctl.h"
#include "mem.h"

/* how long to wait for authd */
#define PBS_TIMEOUT_MS 10000

static int pbs_usage(void)
{
        fputs("usage: " CTL_PROGNAME " [-c DIR] pbs list\n"
              "       " CTL_PROGNAME " [-c DIR] pbs check ADDRESS\n"
              "  list   the client addresses that may relay after an IMAP "
              "or POP3\n"
              "         login: ADDRESS USER EXPIRES\n"
              "  check  one address's grant; exit status 1 when it has "
              "none\n", stderr);
        return EX_USAGE;
}

static void pbs_print(const char *ip, const char *user, long long expires,
                      void *ctx)
{
        time_t t = (time_t)expires;
        struct tm tm;
        char when[32];

        localtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        printf("%s %s %s\n", ip, user, when);
}

/* pbs_open - the authd client for DIR's data_directory; NULL (reported) */
static struct authc_sync *pbs_open(const struct ctl *ctl)
{
        struct authc_sync *s = NULL;
        struct status st;
        size_t errors;
        struct cfg *c = ctl_cfg_load(ctl, &errors);
        char *path;

        if (errors > 0) {
                ctl_error("the configuration in %s has errors: fix them "
                          "first", ctl->config_dir);
                cfg_free(&c);
                return NULL;
        }
        path = xasprintf("%s/%s", cfg_get(c, "data_directory"),
                         AUTHC_SOCKET_NAME);
        s = authc_sync_open(path, PBS_TIMEOUT_MS, &st);
        if (s == NULL)
                ctl_error("%s (is Yubin running?)", st.text);
        free(path);
        cfg_free(&c);
        return s;
}

int ctl_pbs_run(struct ctl *ctl, int argc, char **argv)
{
        struct authc_sync *s;
        struct status st;
        int ret = 1;

        if (argc == 2 && strcmp(argv[1], "list") == 0) {
                if ((s = pbs_open(ctl)) == NULL)
                        return 1;
                if (authc_sync_pbs_list(s, pbs_print, NULL, &st) < 0)
                        ctl_error("%s", st.text);
                else
                        ret = 0;
        } else if (argc == 3 && strcmp(argv[1], "check") == 0) {
                char *user = NULL;
                long long expires = 0;

                if ((s = pbs_open(ctl)) == NULL)
                        return 1;
                switch (authc_sync_pbs_check(s, argv[2], &user, &expires,
                                             &st)) {
                case 1:
                        pbs_print(argv[2], user, expires, NULL);
                        ret = 0;
                        break;
                case 0:
                        printf("%s: no grant\n", argv[2]);
                        break;
                default:
                        ctl_error("%s", st.text);
                        ret = EX_TEMPFAIL;
                }
                free(user);
        } else {
                return pbs_usage();
        }
        authc_sync_close(&s);
        if (fflush(stdout) != 0)
                ret = 1;
        return ret;
}
