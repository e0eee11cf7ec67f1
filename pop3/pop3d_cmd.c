/* pop3d_cmd.c - POP3 before login: the login front end's protocol
 * Used by: pop3d (pop3d_cmd.h). One handler per command of the
 * AUTHORIZATION state, dispatched from a table; replies and response
 * codes (RFC 2449 RESP-CODES, RFC 3206 SYS/TEMP and AUTH) as Dovecot
 * words them, so that clients that parse the text keep working. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "login_session.h"
#include "mem.h"
#include "pop3_parse.h"
#include "pop3d_cmd.h"

#define PLAINTEXT_REFUSED "-ERR [AUTH] Plaintext authentication " \
        "disallowed on non-secure (SSL/TLS) connections.\r\n"

struct pop3d_client {
        char *user;             /* from USER, until PASS */
        unsigned bad;           /* bad commands so far */
        int list_mechs;         /* AUTH without arguments: list */
};

static struct {
        const char *greeting;
        const char *implementation;
        long long userip_max;
} conf;

void pop3d_cmd_init(struct cfg *cfg)
{
        conf.greeting = cfg_get(cfg, "login_greeting");
        conf.implementation = cfg_get(cfg, "mail_name");
        conf.userip_max = cfg_get_int(cfg, "mail_max_userip_connections");
}

static void *client_new(struct login_client *lc)
{
        return xcalloc(1, sizeof(struct pop3d_client));
}

static void forget_user(struct pop3d_client *pc)
{
        free(pc->user);
        pc->user = NULL;
}

static void client_free(void *ctx)
{
        struct pop3d_client *pc = ctx;

        forget_user(pc);
        free(pc);
}

static void greet(struct login_client *lc)
{
        login_client_printf(lc, "+OK %s\r\n", conf.greeting);
}

/* bad_command - count it; at the limit say so and close */
static void bad_command(struct login_client *lc, const char *reply)
{
        struct pop3d_client *pc = login_client_ctx(lc);

        if (++pc->bad >= POP3D_BAD_COMMANDS_MAX) {
                login_client_printf(lc, "-ERR Too many invalid commands.\r\n");
                login_client_close(lc, "Too many invalid commands");
                return;
        }
        login_client_printf(lc, "%s\r\n", reply);
}

/* Replies to a login attempt. */

static void auth_result(struct login_client *lc,
                        const struct login_auth_result *r)
{
        switch (r->status) {
        case LOGIN_AUTH_CONTINUE:
                login_client_printf(lc, "+ %s\r\n", r->challenge);
                return;
        case LOGIN_AUTH_TEMPFAIL:
                login_client_printf(lc, "-ERR [SYS/TEMP] Temporary "
                                    "authentication failure.\r\n");
                return;
        case LOGIN_AUTH_FAILED:
                break;
        }
        switch (r->reason) {
        case LOGIN_AUTH_BANNED:
                login_client_printf(lc, "-ERR [LOGIN-DELAY] Too many failed "
                                    "logins; try again later.\r\n");
                break;
        case LOGIN_AUTH_MECH:
                login_client_printf(lc, "-ERR Unsupported authentication "
                                    "mechanism.\r\n");
                break;
        case LOGIN_AUTH_SYNTAX:
                login_client_printf(lc, "-ERR Invalid base64 data in "
                                    "response.\r\n");
                break;
        case LOGIN_AUTH_ABORTED:
                login_client_printf(lc, "-ERR Authentication aborted by "
                                    "client.\r\n");
                break;
        case LOGIN_AUTH_BAD:
                login_client_printf(lc, "-ERR [AUTH] Authentication "
                                    "failed.\r\n");
                break;
        }
}

static void session_failed(struct login_client *lc, enum login_fail fail)
{
        char text[160];

        if (fail == LOGIN_FAIL_LIMIT) {
                login_client_printf(lc, "-ERR [IN-USE] Maximum number of "
                                    "connections from user+IP exceeded "
                                    "(mail_max_userip_connections=%lld)\r\n",
                                    conf.userip_max);
                return;
        }
        login_client_printf(lc, "-ERR [SYS/TEMP] %s\r\n",
                            login_session_internal_error(text, sizeof(text)));
}

/* Commands. */

static void capa_reply(struct login_client *lc, const char *mechs)
{
        login_client_printf(lc, "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
                            "PIPELINING\r\nAUTH-RESP-CODE\r\n");
        if (login_client_tls_available(lc))
                login_client_printf(lc, "STLS\r\n");
        if (login_client_plaintext_ok(lc))
                login_client_printf(lc, "USER\r\n");
        if (mechs != NULL && *mechs != '\0')
                login_client_printf(lc, "SASL %s\r\n", mechs);
        login_client_printf(lc, "IMPLEMENTATION %s\r\n.\r\n",
                            conf.implementation);
}

static void cmd_capa(struct login_client *lc, struct pop3_cmd *cmd)
{
        login_client_mechs(lc, capa_reply);
}

static void cmd_user(struct login_client *lc, struct pop3_cmd *cmd)
{
        struct pop3d_client *pc = login_client_ctx(lc);

        if (!login_client_plaintext_ok(lc)) {
                login_client_printf(lc, PLAINTEXT_REFUSED);
                return;
        }
        forget_user(pc);
        pc->user = xstrdup(cmd->args[0]);
        login_client_printf(lc, "+OK\r\n");
}

static void cmd_pass(struct login_client *lc, struct pop3_cmd *cmd)
{
        struct pop3d_client *pc = login_client_ctx(lc);
        char *password = cmd->args[0];

        if (!login_client_plaintext_ok(lc)) {
                login_client_printf(lc, PLAINTEXT_REFUSED);
        } else if (pc->user == NULL) {
                login_client_printf(lc, "-ERR No username given.\r\n");
        } else {
                login_client_verify(lc, pc->user, password, auth_result);
                forget_user(pc);
        }
        explicit_bzero(password, strlen(password));
}

static void mechs_list(struct login_client *lc, const char *mechs)
{
        const char *p = mechs != NULL ? mechs : "";

        login_client_printf(lc, "+OK\r\n");
        while (*p != '\0') {
                size_t n = strcspn(p, " ");

                if (n > 0)
                        login_client_printf(lc, "%.*s\r\n", (int)n, p);
                p += n;
                p += strspn(p, " ");
        }
        login_client_printf(lc, ".\r\n");
}

static int is_plaintext_mech(const char *mech)
{
        return strcasecmp(mech, "PLAIN") == 0 ||
               strcasecmp(mech, "LOGIN") == 0;
}

static void cmd_auth(struct login_client *lc, struct pop3_cmd *cmd)
{
        if (cmd->argc == 0) {
                login_client_mechs(lc, mechs_list);
                return;
        }
        if (!login_client_plaintext_ok(lc) &&
            is_plaintext_mech(cmd->args[0])) {
                login_client_printf(lc, PLAINTEXT_REFUSED);
                return;
        }
        /* RFC 5034 section 4: "=" is an empty initial response */
        const char *initial = NULL;
        if (cmd->argc == 2)
                initial = strcmp(cmd->args[1], "=") == 0 ? "" : cmd->args[1];
        login_client_sasl(lc, cmd->args[0], initial, auth_result);
        if (cmd->argc == 2)
                explicit_bzero(cmd->args[1], strlen(cmd->args[1]));
}

static void cmd_stls(struct login_client *lc, struct pop3_cmd *cmd)
{
        struct pop3d_client *pc = login_client_ctx(lc);

        if (login_client_tls(lc)) {
                login_client_printf(lc, "-ERR TLS is already active.\r\n");
                return;
        }
        if (!login_client_tls_available(lc)) {
                login_client_printf(lc, "-ERR TLS support isn't enabled.\r\n");
                return;
        }
        login_client_printf(lc, "+OK Begin TLS negotiation now.\r\n");
        /* RFC 2595 section 4: forget what came before */
        forget_user(pc);
        if (login_client_starttls(lc) < 0)
                login_client_close(lc, "TLS initialization failed");
}

static void cmd_quit(struct login_client *lc, struct pop3_cmd *cmd)
{
        login_client_printf(lc, "+OK Logging out\r\n");
        login_client_close(lc, "Logged out");
}

static const struct {
        enum pop3_cmd_id id;
        void (*handler)(struct login_client *lc, struct pop3_cmd *cmd);
} handlers[] = {
        { POP3_CMD_AUTH, cmd_auth },
        { POP3_CMD_CAPA, cmd_capa },
        { POP3_CMD_PASS, cmd_pass },
        { POP3_CMD_QUIT, cmd_quit },
        { POP3_CMD_STLS, cmd_stls },
        { POP3_CMD_USER, cmd_user },
};

static void line(struct login_client *lc, const char *text, size_t len)
{
        struct pop3_cmd cmd;
        char *copy = xstrndup(text, len);
        enum pop3_parse_error err = pop3_parse(copy, len, &cmd);

        if (err == POP3_PARSE_EMPTY || err == POP3_PARSE_UNKNOWN ||
            (cmd.def->states & POP3_AUTHORIZATION) == 0) {
                bad_command(lc, "-ERR Unknown command.");
        } else if (err == POP3_PARSE_ARGS) {
                bad_command(lc, "-ERR Invalid arguments.");
        } else {
                size_t i;

                for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
                        if (handlers[i].id == cmd.id)
                                break;
                if (i == sizeof(handlers) / sizeof(handlers[0]))
                        bad_command(lc, "-ERR Unknown command.");
                else
                        handlers[i].handler(lc, &cmd);
        }
        explicit_bzero(copy, len);
        free(copy);
}

static void line_too_long(struct login_client *lc)
{
        bad_command(lc, "-ERR Input line too long.");
}

static void idle(struct login_client *lc)
{
        login_client_printf(lc, "-ERR Disconnected for inactivity.\r\n");
}

const struct login_hooks pop3d_hooks = {
        .proto = "pop3",
        .line_max = POP3_LOGIN_LINE_MAX,
        .greet = greet,
        .line = line,
        .line_too_long = line_too_long,
        .idle = idle,
        .session_failed = session_failed,
        .client_new = client_new,
        .client_free = client_free,
};
