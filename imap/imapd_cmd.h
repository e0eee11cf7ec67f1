/* imapd_cmd.h - IMAP before login: the hooks imapd gives login_server
 * Used by: imapd.c. Parses client input; runs as mail_owner. */
#ifndef YUBIN_IMAPD_CMD_H
#define YUBIN_IMAPD_CMD_H

#include "login_server.h"

struct cfg;

/* the longest pre-login command (an AUTHENTICATE initial response or
 * SASL answer included), outside literals */
#define IMAPD_LINE_MAX          (64 * 1024)
/* literal bytes in one pre-login command (user name and password) */
#define IMAPD_LITERAL_MAX       8192
#define IMAPD_BAD_COMMANDS_MAX  20

/* imapd_cmd_init - read the settings the replies use */
void imapd_cmd_init(struct cfg *cfg);

extern const struct login_hooks imapd_hooks;

#endif
