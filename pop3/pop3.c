/* pop3.c - one user's POP3 session, after the login
 *   pop3 -c CONFIG_DIR -n SERVICE -t TYPE [-o name=value]... [-v] [-s]
 *   (started by yubin's master_session.c, never by hand)
 * The supervisor starts it when a pop3d front end reports a login authd
 * vouched for: with the mailbox owner's uid and gid, the client at
 * descriptor 3, the login's facts at 4 and main.cf at 5 (login_session.h),
 * and the front end's master.cf arguments, so that a service's -o
 * settings apply to its sessions too. Serves the TRANSACTION and UPDATE
 * states of RFC 1939 on the user's INBOX (pop3_session.h) and exits.
 * Runs as: the mailbox owner, never root. Parses client command lines.
 * Files: the user's Maildir (INBOX: cur/, new/, tmp/, dovecot-uidlist,
 * yubin-cache; yubin-pop3.lock with pop3_lock_session). */
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "login_session.h"
#include "loop.h"
#include "pop3_session.h"

static struct pop3_session session;

/* stop - SIGTERM from the supervisor: the server is stopping */
static void stop(struct daemon *d, int now)
{
        pop3_session_stop(&session);
}

int main(int argc, char **argv)
{
        struct login_session *ls;
        struct daemon d;
        struct status st;

        daemon_init(&d, "pop3", argc, argv);
        if (login_session_read(LOGIN_SESSION_INFO_FD, &ls, &st) < 0)
                log_fatal("session: %s", st.text);
        close(LOGIN_SESSION_INFO_FD);
        loop_init();
        d.drain = stop;
        daemon_watch_signals(&d);
        pop3_session_start(&session, ls, d.cfg);
        loop_run();
        pop3_session_release(&session);
        cfg_free(&d.cfg);
        return 0;
}
