/* imapd.c - the IMAP login front end
 *   imapd -c CONFIG_DIR -n SERVICE -t inet [-o name=value]... [-v] [-s]
 *   (started by yubin for master.cf lines whose command is imapd)
 * Serves the not-authenticated state of RFC 9051 on the listeners the
 * supervisor bound: greeting with capabilities, CAPABILITY, ID, NOOP,
 * LOGOUT, STARTTLS (or implicit TLS with -o tls_wrappermode=yes, port
 * 993), LOGIN and AUTHENTICATE (SASL-IR) through authd. After a
 * successful login the supervisor starts an imap session process with the
 * mailbox owner's uid and this front end hands the client over
 * (login_server.h); the session answers the login. Runs as: root only
 * while it reads the TLS key, then mail_owner (or the invoking user when
 * Yubin runs unprivileged). Parses client command lines. Files:
 * tls_cert_file/tls_key_file (read at start); the sockets
 * $data_directory/authd.socket and login.socket. */
#include "daemon.h"
#include "imapd_cmd.h"
#include "login_server.h"
#include "loop.h"

int main(int argc, char **argv)
{
        struct daemon d;
        struct login_server *srv;

        daemon_init(&d, "imapd", argc, argv);
        imapd_cmd_init(d.cfg);
        srv = login_server_new(&d, &imapd_hooks);
        loop_init();
        daemon_drop_privileges(&d);
        login_server_run(srv);
        login_server_free(&srv);
        loop_free();
        cfg_free(&d.cfg);
        return 0;
}
