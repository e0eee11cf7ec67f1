/* imapd_cmd.c - IMAP before login: the login front end's protocol
 * Used by: imapd (imapd_cmd.h), on the shared login machinery
 * (login_server.h). The not-authenticated state of RFC 9051 (6.1, 6.2):
 * CAPABILITY, NOOP, LOGOUT, ID (RFC 2971), STARTTLS, LOGIN, AUTHENTICATE
 * with SASL-IR (RFC 4959); LOGINDISABLED and [PRIVACYREQUIRED] when
 * disable_plaintext_auth forbids plaintext here. Command lines go through
 * the same resumable parser as the session's (imap_parser.h), so quoted
 * and literal user names and passwords work; the session answers a
 * successful login with the command's tag. Parses client input; runs as
 * mail_owner. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "imap_parser.h"
#include "imapd_cmd.h"
#include "login_session.h"
#include "mem.h"

#define PLAINTEXT_REFUSED "NO [PRIVACYREQUIRED] Plaintext authentication " \
        "disallowed on non-secure (SSL/TLS) connections."

struct imapd_client {
        struct imap_parser parser;
        char tag[IMAP_PARSER_TAG_MAX + 1];      /* of the login running */
        unsigned bad;
        int greeted;
};

static struct {
        const char *greeting;
        const char *name, *version;
        long long userip_max;
} conf;

void imapd_cmd_init(struct cfg *cfg)
{
        conf.greeting = cfg_get(cfg, "login_greeting");
        conf.name = cfg_get(cfg, "mail_name");
        conf.version = cfg_get(cfg, "mail_version");
        conf.userip_max = cfg_get_int(cfg, "mail_max_userip_connections");
}

static void *client_new(struct login_client *lc)
{
        struct imapd_client *ic = xcalloc(1, sizeof(*ic));

        imap_parser_init(&ic->parser, IMAPD_LINE_MAX);
        return ic;
}

static void client_free(void *ctx)
{
        struct imapd_client *ic = ctx;

        imap_parser_release(&ic->parser);
        free(ic);
}

/* capabilities - the pre-login list, as it stands on this connection */
static void capabilities(struct login_client *lc, const char *mechs,
                         struct buf *out)
{
        buf_puts(out, "IMAP4rev1 IMAP4rev2 SASL-IR LOGIN-REFERRALS ID ENABLE "
                 "IDLE LITERAL+");
        if (login_client_tls_available(lc))
                buf_puts(out, " STARTTLS");
        if (!login_client_plaintext_ok(lc))
                buf_puts(out, " LOGINDISABLED");
        for (const char *p = mechs != NULL ? mechs : ""; *p != '\0';) {
                size_t n = strcspn(p, " ");
                int plain = (n == 5 && strncasecmp(p, "PLAIN", 5) == 0) ||
                            (n == 5 && strncasecmp(p, "LOGIN", 5) == 0);
                if (n > 0 && (!plain || login_client_plaintext_ok(lc)))
                        buf_printf(out, " AUTH=%.*s", (int)n, p);
                p += n;
                p += strspn(p, " ");
        }
}

static void greet_reply(struct login_client *lc, const char *mechs)
{
        struct buf b;

        buf_init(&b, 0);
        buf_puts(&b, "* OK [CAPABILITY ");
        capabilities(lc, mechs, &b);
        buf_printf(&b, "] %s\r\n", conf.greeting);
        login_client_write(lc, b.data, b.len);
        buf_release(&b);
}

static void greet(struct login_client *lc)
{
        login_client_mechs(lc, greet_reply);
}

static void bad(struct login_client *lc, const char *tag, const char *text)
{
        struct imapd_client *ic = login_client_ctx(lc);

        login_client_printf(lc, "%s BAD %s\r\n", *tag != '\0' ? tag : "*",
                            text);
        if (++ic->bad >= IMAPD_BAD_COMMANDS_MAX) {
                login_client_printf(lc, "* BYE Too many invalid IMAP "
                                    "commands.\r\n");
                login_client_close(lc, "Too many invalid commands");
        }
}

/* ---- replies to a login attempt ---- */

static void auth_result(struct login_client *lc,
                        const struct login_auth_result *r)
{
        struct imapd_client *ic = login_client_ctx(lc);
        const char *tag = ic->tag;

        switch (r->status) {
        case LOGIN_AUTH_CONTINUE:
                login_client_printf(lc, "+ %s\r\n", r->challenge);
                return;
        case LOGIN_AUTH_TEMPFAIL:
                login_client_printf(lc, "%s NO [UNAVAILABLE] Temporary "
                                    "authentication failure.\r\n", tag);
                return;
        case LOGIN_AUTH_FAILED:
                break;
        }
        switch (r->reason) {
        case LOGIN_AUTH_BANNED:
                login_client_printf(lc, "%s NO [UNAVAILABLE] Too many failed "
                                    "logins; try again later.\r\n", tag);
                break;
        case LOGIN_AUTH_MECH:
                login_client_printf(lc, "%s NO [CANNOT] Unsupported "
                                    "authentication mechanism.\r\n", tag);
                break;
        case LOGIN_AUTH_SYNTAX:
                login_client_printf(lc, "%s BAD Invalid base64 data in "
                                    "response.\r\n", tag);
                break;
        case LOGIN_AUTH_ABORTED:
                login_client_printf(lc, "%s BAD Authentication aborted by "
                                    "client.\r\n", tag);
                break;
        case LOGIN_AUTH_BAD:
                login_client_printf(lc, "%s NO [AUTHENTICATIONFAILED] "
                                    "Authentication failed.\r\n", tag);
                break;
        }
        if (r->closing)
                login_client_printf(lc, "* BYE Too many authentication "
                                    "failures.\r\n");
}

static void session_failed(struct login_client *lc, enum login_fail fail)
{
        struct imapd_client *ic = login_client_ctx(lc);
        char text[160];

        if (fail == LOGIN_FAIL_LIMIT) {
                login_client_printf(lc, "%s NO [LIMIT] Maximum number of "
                                    "connections from user+IP exceeded "
                                    "(mail_max_userip_connections=%lld)\r\n",
                                    ic->tag, conf.userip_max);
                return;
        }
        login_client_printf(lc, "%s NO [UNAVAILABLE] %s\r\n", ic->tag,
                            login_session_internal_error(text, sizeof(text)));
}

/* ---- commands ---- */

struct cmd {
        const char *tag;
        const struct imap_arg *args;
        size_t argc;
};

static void capa_reply(struct login_client *lc, const char *mechs)
{
        struct imapd_client *ic = login_client_ctx(lc);
        struct buf b;

        buf_init(&b, 0);
        buf_puts(&b, "* CAPABILITY ");
        capabilities(lc, mechs, &b);
        buf_printf(&b, "\r\n%s OK Pre-login capabilities listed, post-login "
                   "capabilities have more.\r\n", ic->tag);
        login_client_write(lc, b.data, b.len);
        buf_release(&b);
}

static void cmd_capability(struct login_client *lc, struct cmd *cmd)
{
        login_client_mechs(lc, capa_reply);
}

static void cmd_noop(struct login_client *lc, struct cmd *cmd)
{
        login_client_printf(lc, "%s OK NOOP completed.\r\n", cmd->tag);
}

static void cmd_logout(struct login_client *lc, struct cmd *cmd)
{
        login_client_printf(lc, "* BYE Logging out\r\n%s OK Logout "
                            "completed.\r\n", cmd->tag);
        login_client_close(lc, "Aborted login");
}

static void cmd_id(struct login_client *lc, struct cmd *cmd)
{
        const struct imap_arg *a = &cmd->args[0];

        if (cmd->argc != 1 || (a->type != IMAP_ARG_LIST &&
                               !imap_arg_is_atom(a, "NIL"))) {
                bad(lc, cmd->tag, "Error in IMAP command ID: Invalid "
                    "parameters.");
                return;
        }
        login_client_printf(lc, "* ID (\"name\" \"%s\" \"version\" \"%s\")\r\n"
                            "%s OK ID completed.\r\n", conf.name, conf.version,
                            cmd->tag);
}

static void cmd_starttls(struct login_client *lc, struct cmd *cmd)
{
        if (login_client_tls(lc)) {
                bad(lc, cmd->tag, "TLS is already active.");
                return;
        }
        if (!login_client_tls_available(lc)) {
                bad(lc, cmd->tag, "TLS support isn't enabled.");
                return;
        }
        login_client_printf(lc, "%s OK Begin TLS negotiation now.\r\n",
                            cmd->tag);
        if (login_client_starttls(lc) < 0)
                login_client_close(lc, "TLS initialization failed");
}

static void cmd_login(struct login_client *lc, struct cmd *cmd)
{
        struct imapd_client *ic = login_client_ctx(lc);
        const char *user, *pass;

        if (cmd->argc != 2 ||
            (user = imap_arg_astring(&cmd->args[0])) == NULL ||
            (pass = imap_arg_astring(&cmd->args[1])) == NULL) {
                bad(lc, cmd->tag, "Error in IMAP command LOGIN: Invalid "
                    "arguments.");
                return;
        }
        if (!login_client_plaintext_ok(lc)) {
                login_client_printf(lc, "%s %s\r\n", cmd->tag,
                                    PLAINTEXT_REFUSED);
                return;
        }
        snprintf(ic->tag, sizeof(ic->tag), "%s", cmd->tag);
        login_client_set_data(lc, cmd->tag);
        login_client_verify(lc, user, pass, auth_result);
}

static void cmd_authenticate(struct login_client *lc, struct cmd *cmd)
{
        struct imapd_client *ic = login_client_ctx(lc);
        const char *mech = cmd->argc >= 1 ? imap_arg_atom(&cmd->args[0]) :
                           NULL;
        const char *initial = NULL;

        if (mech == NULL || cmd->argc > 2 ||
            (cmd->argc == 2 &&
             (initial = imap_arg_astring(&cmd->args[1])) == NULL)) {
                bad(lc, cmd->tag, "Error in IMAP command AUTHENTICATE: "
                    "Invalid arguments.");
                return;
        }
        if (!login_client_plaintext_ok(lc) &&
            (strcasecmp(mech, "PLAIN") == 0 ||
             strcasecmp(mech, "LOGIN") == 0)) {
                login_client_printf(lc, "%s %s\r\n", cmd->tag,
                                    PLAINTEXT_REFUSED);
                return;
        }
        /* RFC 4959: "=" is an empty initial response */
        if (initial != NULL && strcmp(initial, "=") == 0)
                initial = "";
        snprintf(ic->tag, sizeof(ic->tag), "%s", cmd->tag);
        login_client_set_data(lc, cmd->tag);
        login_client_sasl(lc, mech, initial, auth_result);
}

static const struct {
        const char *name;
        void (*run)(struct login_client *lc, struct cmd *cmd);
} commands[] = {
        { "AUTHENTICATE", cmd_authenticate },
        { "CAPABILITY", cmd_capability },
        { "ID", cmd_id },
        { "LOGIN", cmd_login },
        { "LOGOUT", cmd_logout },
        { "NOOP", cmd_noop },
        { "STARTTLS", cmd_starttls },
};

/* scrub - wipe the strings of a command that may hold a password */
static void scrub(struct imap_parser *p)
{
        size_t n;
        const struct imap_arg *a = imap_parser_args(p, &n);

        for (size_t i = 0; i < n; i++)
                if (a[i].str != NULL)
                        explicit_bzero(a[i].str, a[i].len);
}

static void run(struct login_client *lc)
{
        struct imapd_client *ic = login_client_ctx(lc);
        struct cmd cmd;
        const char *name = imap_parser_name(&ic->parser);

        cmd.tag = imap_parser_tag(&ic->parser);
        cmd.args = imap_parser_args(&ic->parser, &cmd.argc);
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                if (strcasecmp(commands[i].name, name) == 0) {
                        snprintf(ic->tag, sizeof(ic->tag), "%s", cmd.tag);
                        commands[i].run(lc, &cmd);
                        scrub(&ic->parser);
                        return;
                }
        }
        bad(lc, cmd.tag, "Error in IMAP command received by server.");
}

/* feed - one slice of input through the parser */
static void feed(struct login_client *lc, const char *data, size_t len)
{
        struct imapd_client *ic = login_client_ctx(lc);

        while (len > 0) {
                size_t used = 0;
                enum imap_parse_result r;

                r = imap_parser_feed(&ic->parser, data, len, &used);
                data += used;
                len -= used;
                switch (r) {
                case IMAP_PARSE_MORE:
                        break;
                case IMAP_PARSE_LITERAL:
                        if (ic->parser.literal_total +
                            ic->parser.literal_size > IMAPD_LITERAL_MAX) {
                                login_client_printf(lc, "%s BAD Literal too "
                                                    "large.\r\n",
                                                    imap_parser_tag(
                                                            &ic->parser));
                                imap_parser_literal_reject(&ic->parser,
                                                           "too large");
                                break;
                        }
                        imap_parser_literal_accept(&ic->parser);
                        if (ic->parser.literal_sync)
                                login_client_printf(lc, "+ OK\r\n");
                        break;
                case IMAP_PARSE_ERROR:
                        bad(lc, imap_parser_tag(&ic->parser),
                            ic->parser.error);
                        break;
                case IMAP_PARSE_DONE:
                        run(lc);
                        break;
                }
        }
}

/* line - lines come without their CR LF: put them back, so literals
 * (which the front end sees inside lines) read as sent */
static void line(struct login_client *lc, const char *text, size_t len)
{
        feed(lc, text, len);
        feed(lc, "\r\n", 2);
}

static void line_too_long(struct login_client *lc)
{
        struct imapd_client *ic = login_client_ctx(lc);

        imap_parser_reset(&ic->parser);
        bad(lc, "*", "Input line too long.");
}

static void idle(struct login_client *lc)
{
        login_client_printf(lc, "* BYE Disconnected for inactivity.\r\n");
}

const struct login_hooks imapd_hooks = {
        .proto = "imap",
        .line_max = IMAPD_LINE_MAX,
        .greet = greet,
        .line = line,
        .line_too_long = line_too_long,
        .idle = idle,
        .session_failed = session_failed,
        .client_new = client_new,
        .client_free = client_free,
};
