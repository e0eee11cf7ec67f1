/* imap.c - one user's IMAP session, after the login
 *   imap -c CONFIG_DIR -n SERVICE -t TYPE [-o name=value]... [-v] [-s]
 *      (started by yubin's master_session.c for an imapd login)
 *   imap -c CONFIG_DIR [-o name=value]... --preauth USER MAIL_LOCATION
 *      (by hand, for tests and imaptest: the client on stdin/stdout)
 * The supervisor starts it when an imapd front end reports a login authd
 * vouched for: with the mailbox owner's uid and gid, the client at
 * descriptor 3 (the socket, or the front end's plaintext relay when the
 * client uses TLS), the login's facts at 4 and main.cf at 5
 * (login_session.h), and the front end's master.cf arguments. The
 * session answers the LOGIN or AUTHENTICATE tag itself, serves the
 * authenticated and selected states of RFC 9051 (imap_client.h) and
 * exits when the client goes. In preauth mode it greets with
 * "* PREAUTH" for USER, whose Maildir MAIL_LOCATION names
 * ("maildir:PATH" or PATH), and logs to stderr (unless maillog_file is
 * set); started as root it first becomes the Maildir's owner.
 * Runs as: the mailbox owner, never root. Parses client commands.
 * Files: the user's Maildir (every folder: cur/, new/, tmp/,
 * dovecot-uidlist, dovecot-keywords, subscriptions, maildirsize,
 * yubin-cache, yubin-modseq). */
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "imap_client.h"
#include "imap_preauth.h"
#include "log.h"
#include "login_session.h"
#include "loop.h"
#include "mem.h"

static struct imap_client *client;

/* on_signal - SIGTERM, SIGINT or SIGUSR1 from the supervisor: the
 * server stops; SIGUSR2: reopen maillog_file. The handles are kept here
 * (not daemon_watch_signals') so that they are freed at the end. */
static void on_signal(int signo, void *ctx)
{
        if (signo == SIGUSR2) {
                log_reopen();
                return;
        }
        if (client != NULL)
                imap_client_stop(client);
}

/* preauth_args - take "--preauth USER LOCATION" out of argv */
static int preauth_args(int *argc, char **argv, char **user_r, char **loc_r)
{
        for (int i = 1; i < *argc; i++) {
                if (strcmp(argv[i], "--preauth") != 0)
                        continue;
                if (i + 2 >= *argc) {
                        fprintf(stderr, "usage: imap -c config_dir "
                                "[-o name=value]... --preauth user "
                                "mail_location\n");
                        exit(64);
                }
                *user_r = argv[i + 1];
                *loc_r = argv[i + 2];
                for (int k = i; k + 3 <= *argc; k++)
                        argv[k] = argv[k + 3];
                *argc -= 3;
                return 1;
        }
        return 0;
}

int main(int argc, char **argv)
{
        struct login_session *ls = NULL;
        char *user = NULL, *location = NULL, *path = NULL;
        struct daemon d;
        struct status st;
        int preauth, fd = -1;

        /* SEARCH folds case with towlower(): Unicode, not just ASCII */
        if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
                (void)setlocale(LC_CTYPE, "en_US.UTF-8");
        preauth = preauth_args(&argc, argv, &user, &location);
        daemon_init(&d, "imap", argc, argv);
        if (preauth) {
                /* run by hand: log where the caller sees it */
                if (*cfg_get(d.cfg, "maillog_file") == '\0')
                        log_open(cfg_get(d.cfg, "syslog_name"), "imap",
                                 LOG_TO_STDERR, NULL);
                if (login_session_mail_path(location, &path, &st) < 0 ||
                    imap_preauth_drop(path, &st) < 0 ||
                    (fd = imap_preauth_socket(&st)) < 0)
                        log_fatal("preauth: %s", st.text);
        } else {
                if (login_session_read(LOGIN_SESSION_INFO_FD, &ls, &st) < 0)
                        log_fatal("session: %s", st.text);
                close(LOGIN_SESSION_INFO_FD);
                user = ls->user->name;
                path = xstrdup(ls->maildir);
        }
        loop_init();
        static const int signals[] = { SIGTERM, SIGINT, SIGUSR1, SIGUSR2 };
        struct loop_signal *sigs[4];
        for (size_t i = 0; i < 4; i++)
                sigs[i] = loop_signal_new(signals[i], on_signal, NULL);
        client = imap_client_new(d.cfg, fd, user, path, ls,
                                 ls != NULL ? ls->data : NULL);
        free(path);
        loop_run();
        imap_client_free(&client);
        for (size_t i = 0; i < 4; i++)
                loop_signal_free(&sigs[i]);
        loop_free();
        cfg_free(&d.cfg);
        return 0;
}
