/* smtpd_cmd.c - the SMTP command table and the session-level commands
 * Used by: smtpd sessions (smtpd_session.c hands each command line here).
 * The table gives each command its handler and flags: allowed before
 * STARTTLS when TLS is required, counted as junk, allowed after a
 * connect-time reject. HELO, EHLO (RFC 5321 4.1.1.1 and the keywords of
 * each extension, advertised only when they work), NOOP, RSET, QUIT,
 * VRFY, HELP and STARTTLS (RFC 3207) live here; MAIL/RCPT in
 * smtpd_mail.c, DATA/BDAT in smtpd_data.c, AUTH in smtpd_auth.c. Replies
 * carry RFC 2034 enhanced codes except the greeting and HELO/EHLO's. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "cfg.h"
#include "log.h"
#include "map.h"
#include "mem.h"
#include "smtpd.h"
#include "smtpd_anvil.h"
#include "smtpd_check.h"
#include "smtpd_log.h"

#define F_PRE_TLS       0x01    /* allowed before STARTTLS when required */
#define F_JUNK          0x02    /* NOOP, RSET, VRFY: smtpd_junk_command_limit */
#define F_DENIED_OK     0x04    /* allowed after a connect-time reject */

struct smtpd_cmd {
        const char *name;
        void (*fn)(struct smtpd_session *s, char *args);
        unsigned flags;
};

static void cmd_helo(struct smtpd_session *s, char *args);
static void cmd_ehlo(struct smtpd_session *s, char *args);
static void cmd_starttls(struct smtpd_session *s, char *args);
static void cmd_rset(struct smtpd_session *s, char *args);
static void cmd_noop(struct smtpd_session *s, char *args);
static void cmd_vrfy(struct smtpd_session *s, char *args);
static void cmd_help(struct smtpd_session *s, char *args);
static void cmd_quit(struct smtpd_session *s, char *args);

/* In the order the "disconnect from" line lists them, as Postfix. */
static const struct smtpd_cmd cmds[] = {
        { "HELO", cmd_helo, F_PRE_TLS },
        { "EHLO", cmd_ehlo, F_PRE_TLS },
        { "STARTTLS", cmd_starttls, F_PRE_TLS },
        { "AUTH", smtpd_cmd_auth, 0 },
        { "MAIL", smtpd_cmd_mail, 0 },
        { "RCPT", smtpd_cmd_rcpt, 0 },
        { "DATA", smtpd_cmd_data, 0 },
        { "BDAT", smtpd_cmd_bdat, 0 },
        { "RSET", cmd_rset, F_PRE_TLS | F_JUNK },
        { "NOOP", cmd_noop, F_PRE_TLS | F_JUNK | F_DENIED_OK },
        { "VRFY", cmd_vrfy, F_JUNK },
        { "HELP", cmd_help, F_PRE_TLS },
        { "QUIT", cmd_quit, F_PRE_TLS | F_DENIED_OK },
};
#define CMD_COUNT ((int)(sizeof(cmds) / sizeof(cmds[0])))
#define CMD_UNKNOWN CMD_COUNT   /* counts[] index of unknown commands */

int smtpd_tls_required(const struct smtpd_session *s)
{
        return s->srv->tls_level == SMTPD_TLS_ENCRYPT && !s->tls;
}

/* --- HELO and EHLO --- */

/* set_helo - keep the name (printable, cut at SMTPD_HELO_MAX) */
static void set_helo(struct smtpd_session *s, const char *name, int esmtp)
{
        size_t n = strcspn(name, " \t");

        if (n > SMTPD_HELO_MAX)
                n = SMTPD_HELO_MAX;
        free(s->helo);
        s->helo = xstrndup(name, n);
        s->esmtp = esmtp;
        smtpd_reset(s);
}

static int discarded(const struct smtpd_session *s, const char *keyword)
{
        for (size_t i = 0; i < s->srv->discard_count; i++)
                if (strcasecmp(s->srv->discard[i], keyword) == 0)
                        return 1;
        return 0;
}

/* keyword - add one EHLO keyword line to lines unless discarded */
static void keyword(struct smtpd_session *s, struct buf *lines,
                    const char *word, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void keyword(struct smtpd_session *s, struct buf *lines,
                    const char *word, const char *fmt, ...)
{
        va_list ap;

        if (discarded(s, word))
                return;
        va_start(ap, fmt);
        buf_vprintf(lines, fmt, ap);
        va_end(ap);
        buf_putc(lines, '\n');
}

/* ehlo_reply - the EHLO reply, once the SASL mechanisms are known */
static void ehlo_reply(struct smtpd_session *s)
{
        struct smtpd_server *srv = s->srv;
        const char *mechs = "";
        struct buf lines;
        char *line, *next;

        if (smtpd_auth_offered(s)) {
                mechs = smtpd_auth_mechs(s, ehlo_reply);
                if (mechs == NULL)
                        return;         /* back here when they are known */
        }
        buf_init(&lines, 0);
        buf_printf(&lines, "%s\n", srv->myhostname);
        keyword(s, &lines, "PIPELINING", "PIPELINING");
        if (srv->message_size_limit > 0)
                keyword(s, &lines, "SIZE", "SIZE %lld",
                        srv->message_size_limit);
        else
                keyword(s, &lines, "SIZE", "SIZE");
        if (!srv->disable_vrfy)
                keyword(s, &lines, "VRFY", "VRFY");
        if (srv->tls != NULL && srv->tls_level != SMTPD_TLS_NONE && !s->tls)
                keyword(s, &lines, "STARTTLS", "STARTTLS");
        if (*mechs != '\0')
                keyword(s, &lines, "AUTH", "AUTH %s", mechs);
        keyword(s, &lines, "ENHANCEDSTATUSCODES", "ENHANCEDSTATUSCODES");
        keyword(s, &lines, "8BITMIME", "8BITMIME");
        keyword(s, &lines, "DSN", "DSN");
        if (srv->smtputf8)
                keyword(s, &lines, "SMTPUTF8", "SMTPUTF8");
        keyword(s, &lines, "CHUNKING", "CHUNKING");
        for (line = lines.data; (next = strchr(line, '\n')) != NULL;
             line = next + 1) {
                *next = '\0';
                if (next[1] == '\0')
                        smtpd_reply(s, "250 %s", line);
                else
                        smtpd_reply_raw(s, "250-%s", line);
        }
        buf_release(&lines);
        smtpd_resume(s, SMTPD_WAIT_CHECK);
}

/* helo_checked - smtpd_helo_restrictions answered (smtpd_delay_reject
 * = no) */
static void helo_checked(struct smtpd_session *s, int verdict,
                         const char *reply)
{
        if (verdict == SMTPD_REJECTED) {
                smtpd_log_reject(s, s->esmtp ? "EHLO" : "HELO", reply, NULL);
                smtpd_reply(s, "%s", reply);
                smtpd_resume(s, SMTPD_WAIT_CHECK);
                return;
        }
        if (s->esmtp) {
                ehlo_reply(s);
                return;
        }
        smtpd_reply(s, "250 %s", s->srv->myhostname);
        smtpd_resume(s, SMTPD_WAIT_CHECK);
}

static void helo_common(struct smtpd_session *s, char *args, int esmtp)
{
        if (*args == '\0') {
                smtpd_reply(s, "501 Syntax: %s hostname",
                            esmtp ? "EHLO" : "HELO");
                return;
        }
        set_helo(s, args, esmtp);
        smtpd_wait(s, SMTPD_WAIT_CHECK);
        if (!s->srv->delay_reject &&
            !smtpd_check_empty(s->srv->checks, SMTPD_STAGE_HELO)) {
                smtpd_check_start(s, SMTPD_STAGE_HELO, SMTPD_STAGE_HELO,
                                  helo_checked);
                return;
        }
        helo_checked(s, SMTPD_PASSED, NULL);
}

static void cmd_helo(struct smtpd_session *s, char *args)
{
        helo_common(s, args, 0);
}

static void cmd_ehlo(struct smtpd_session *s, char *args)
{
        helo_common(s, args, 1);
}

/* --- the small ones --- */

static void cmd_starttls(struct smtpd_session *s, char *args)
{
        struct smtpd_server *srv = s->srv;

        if (*args != '\0') {
                smtpd_reply(s, "501 5.5.4 Syntax: STARTTLS");
        } else if (s->tls) {
                smtpd_reply(s, "554 5.5.1 Error: TLS already active");
        } else if (srv->tls_level == SMTPD_TLS_NONE) {
                smtpd_reply(s, "502 5.5.1 Error: command not implemented");
        } else if (srv->tls == NULL) {
                smtpd_reply(s, "454 4.7.0 TLS not available due to local "
                            "problem");
        } else if (smtpd_rate_exceeded(s, SMTPD_ANVIL_TLS, srv->tls_rate_limit,
                                       "New TLS session rate")) {
                smtpd_reply(s, "454 4.7.0 Error: too many new TLS sessions "
                            "from %s", s->addr);
        } else {
                smtpd_reply(s, "220 2.0.0 Ready to start TLS");
                smtpd_starttls(s);
        }
}

static void cmd_rset(struct smtpd_session *s, char *args)
{
        if (*args != '\0') {
                smtpd_reply(s, "501 5.5.4 Syntax: RSET");
                return;
        }
        smtpd_reset(s);
        smtpd_reply(s, "250 2.0.0 Ok");
}

static void cmd_noop(struct smtpd_session *s, char *args)
{
        smtpd_reply(s, "250 2.0.0 Ok");
}

static void cmd_vrfy(struct smtpd_session *s, char *args)
{
        if (s->srv->disable_vrfy)
                smtpd_reply(s, "502 5.5.1 VRFY command is disabled");
        else if (*args == '\0')
                smtpd_reply(s, "501 5.5.4 Syntax: VRFY address");
        else
                /* never tell which accounts exist */
                smtpd_reply(s, "252 2.0.0 Cannot VRFY the address, but "
                            "will take a message for it");
}

static void cmd_help(struct smtpd_session *s, char *args)
{
        smtpd_reply(s, "214 2.0.0 Commands: HELO EHLO STARTTLS AUTH MAIL RCPT "
                    "DATA BDAT RSET NOOP VRFY HELP QUIT");
}

static void cmd_quit(struct smtpd_session *s, char *args)
{
        smtpd_reply(s, "221 2.0.0 Bye");
        smtpd_close(s, NULL);
}

/* --- dispatch --- */

/* forbidden - smtpd_forbidden_commands, and header-like lines ("Host:"),
 * the signs of an HTTP or proxy probe */
static int forbidden(const struct smtpd_session *s, const char *verb)
{
        size_t n = strlen(verb);

        if (n > 1 && verb[n - 1] == ':')
                return 1;
        for (size_t i = 0; i < s->srv->forbidden_count; i++)
                if (strcasecmp(s->srv->forbidden[i], verb) == 0)
                        return 1;
        if (n > 0 && s->srv->forbidden_maps != NULL) {
                const char *value;
                struct status st;

                /* any answer forbids; a table that fails does not */
                return maps_lookup(s->srv->forbidden_maps, verb, &value,
                                   &st) == 1;
        }
        return 0;
}

/* bad_bytes - 1 if line holds control characters other than TAB */
static int bad_bytes(const char *line, size_t len)
{
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)line[i];

                if ((c < 0x20 && c != '\t') || c == 0x7f)
                        return 1;
        }
        return 0;
}

void smtpd_cmd_line(struct smtpd_session *s, char *line, size_t len)
{
        char verb[16];
        char *args;
        size_t n;
        int i;

        n = strcspn(line, " \t");
        args = line + n;
        args += strspn(args, " \t");
        /* trailing white space is not part of the argument */
        for (char *e = line + len; e > args && (e[-1] == ' ' ||
                                               e[-1] == '\t'); e--)
                e[-1] = '\0';
        snprintf(verb, sizeof(verb), "%.*s", (int)(n < 15 ? n : 15), line);
        if (n < sizeof(verb) && forbidden(s, verb)) {
                smtpd_log_non_smtp(s, line);
                s->last_cmd = "UNKNOWN";
                smtpd_close(s, "221 2.7.0 Error: I can break rules, too. "
                            "Goodbye.");
                return;
        }
        for (i = 0; i < CMD_COUNT; i++)
                if (n == strlen(cmds[i].name) &&
                    strncasecmp(line, cmds[i].name, n) == 0)
                        break;
        if (i == CMD_COUNT) {
                s->last_cmd = "UNKNOWN";
                s->counts[CMD_UNKNOWN].total++;
                s->cur_cmd = CMD_UNKNOWN;
                smtpd_reply(s, "502 5.5.2 Error: command not recognized");
                return;
        }
        s->last_cmd = cmds[i].name;
        s->counts[i].total++;
        s->cur_cmd = i;
        if (strlen(line) != len || bad_bytes(line, strlen(line))) {
                smtpd_reply(s, "500 5.5.2 Error: bad syntax");
                return;
        }
        if (s->access_denied != NULL && !(cmds[i].flags & F_DENIED_OK)) {
                smtpd_reply(s, "503 5.7.0 Error: access denied for %s",
                            s->client);
                return;
        }
        if (smtpd_tls_required(s) && !(cmds[i].flags & F_PRE_TLS)) {
                smtpd_reply(s, "530 5.7.0 Must issue a STARTTLS command "
                            "first");
                return;
        }
        if ((cmds[i].flags & F_JUNK) && ++s->junk > s->srv->junk_limit)
                s->errors++;
        if (s->in_off < s->in.len)
                smtpd_check_pipelining(s, cmds[i].name, s->in.data +
                                       s->in_off, s->in.len - s->in_off);
        cmds[i].fn(s, args);
}

void smtpd_cmd_counts(const struct smtpd_session *s, struct buf *out)
{
        unsigned total = 0, ok = 0;

        for (int i = 0; i <= CMD_COUNT; i++) {
                const struct smtpd_count *c = &s->counts[i];
                char name[16];

                if (c->total == 0)
                        continue;
                snprintf(name, sizeof(name), "%s",
                         i == CMD_UNKNOWN ? "unknown" : cmds[i].name);
                for (char *p = name; *p; p++)
                        *p = (char)tolower((unsigned char)*p);
                if (c->ok == c->total)
                        buf_printf(out, " %s=%u", name, c->ok);
                else
                        buf_printf(out, " %s=%u/%u", name, c->ok, c->total);
                total += c->total;
                ok += c->ok;
        }
        if (ok == total)
                buf_printf(out, " commands=%u", ok);
        else
                buf_printf(out, " commands=%u/%u", ok, total);
}
