/* pop3d.c - the POP3 login front end
 *   pop3d -c CONFIG_DIR -n SERVICE -t inet [-o name=value]... [-v] [-s]
 *   (started by yubin for master.cf lines whose command is pop3d)
 * Serves the AUTHORIZATION state of RFC 1939 on the listeners the
 * supervisor bound: greeting, CAPA, STLS (or implicit TLS with
 * -o tls_wrappermode=yes, port 995), USER/PASS and AUTH through authd.
 * After a successful login the supervisor starts a pop3 session process
 * with the mailbox owner's uid and this front end hands the client over
 * (login_server.h). Runs as: root only while it reads the TLS key, then
 * mail_owner (or the invoking user when Yubin runs unprivileged). Parses
 * client command lines. Files: tls_cert_file/tls_key_file (read at start);
 * the sockets $data_directory/authd.socket and login.socket. */
#include "daemon.h"
#include "login_server.h"
#include "loop.h"
#include "pop3d_cmd.h"

int main(int argc, char **argv)
{
        struct daemon d;
        struct login_server *srv;

        daemon_init(&d, "pop3d", argc, argv);
        pop3d_cmd_init(d.cfg);
        srv = login_server_new(&d, &pop3d_hooks);
        loop_init();
        daemon_drop_privileges(&d);
        login_server_run(srv);
        login_server_free(&srv);
        cfg_free(&d.cfg);
        return 0;
}
