/* pop3d_cmd.h - POP3 before login: the login front end's protocol
 * Used by: pop3d.c, which gives pop3d_hooks to login_server. Implements
 * the AUTHORIZATION state: CAPA, USER/PASS, AUTH (RFC 5034, with initial
 * response and "*" to cancel), STLS (RFC 2595), QUIT; every other command
 * is unknown here. A successful login is answered by the session. Parses
 * client lines (pop3_parse.c); runs as mail_owner. */
#ifndef YUBIN_POP3D_CMD_H
#define YUBIN_POP3D_CMD_H

#include "login_server.h"

struct cfg;

/* bad commands before the connection is closed */
#define POP3D_BAD_COMMANDS_MAX 10

extern const struct login_hooks pop3d_hooks;

/* pop3d_cmd_init - read login_greeting, mail_name and
 * mail_max_userip_connections from cfg (borrowed for the process's life) */
void pop3d_cmd_init(struct cfg *cfg);

#endif
