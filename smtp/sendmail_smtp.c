/* sendmail_smtp.c - sendmail -bs: SMTP on standard input and output
 * Used by: programs that talk SMTP to a local "sendmail -bs" instead of
 * opening a socket (some MUAs, mutt's $sendmail with -bs, test tools).
 * Runs as the invoking user: each message goes the way of every local
 * submission (sendmail_msg_fix, then sendmail_drop into maildrop/), so
 * pickup records this user's uid. A small RFC 5321 server: HELO, EHLO
 * (PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES), MAIL, RCPT,
 * DATA, RSET, NOOP, VRFY (502, as Yubin's smtpd by default), HELP, QUIT;
 * no TLS or AUTH, which have no meaning on a pipe. Lines end in CR LF or
 * LF; a line longer than SMTP_LINE_MAX gets 500 and the dialogue goes on.
 * The input is the user's own, so this is not a network-facing parser,
 * but it still bounds every size. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "addr.h"
#include "cfg.h"
#include "mem.h"
#include "sendmail.h"

#define SMTP_LINE_MAX   4096

struct smtp_session {
        struct cfg *cfg;
        const struct sendmail_opts *o;
        struct maildrop_env env;
        int in_mail;            /* MAIL given */
        long long size_limit;
        int quit;
};

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void reply(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        fputs("\r\n", stdout);
        fflush(stdout);
}

/* read_line - one line without its [CR]LF into b; 1, 0 at EOF, -1 too
 * long (the rest of the line is read and dropped) */
static int read_line(struct buf *b)
{
        int c, too_long = 0;

        buf_reset(b);
        while ((c = getchar()) != EOF && c != '\n') {
                if (b->len < SMTP_LINE_MAX)
                        buf_putc(b, c);
                else
                        too_long = 1;
        }
        if (c == EOF && b->len == 0)
                return 0;
        if (b->len > 0 && b->data[b->len - 1] == '\r')
                buf_truncate(b, b->len - 1);
        return too_long ? -1 : 1;
}

static void session_reset(struct smtp_session *s)
{
        maildrop_env_release(&s->env);
        s->in_mail = 0;
}

static void cmd_helo(struct smtp_session *s, const char *arg)
{
        reply("250 %s", cfg_get(s->cfg, "myhostname"));
}

static void cmd_ehlo(struct smtp_session *s, const char *arg)
{
        session_reset(s);
        printf("250-%s\r\n250-PIPELINING\r\n", cfg_get(s->cfg, "myhostname"));
        if (s->size_limit > 0)
                printf("250-SIZE %lld\r\n", s->size_limit);
        reply("250-8BITMIME\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES");
}

/* prefix - arg after "FROM:" / "TO:" (any case, blanks allowed), or NULL */
static const char *after(const char *arg, const char *word)
{
        size_t n = strlen(word);

        if (strncasecmp(arg, word, n) != 0)
                return NULL;
        return arg + n;
}

static void cmd_mail(struct smtp_session *s, const char *arg)
{
        struct addr_param *params;
        struct status st;
        size_t used, n;
        const char *p;
        char *addr;

        if (s->in_mail) {
                reply("503 5.5.1 Error: nested MAIL command");
                return;
        }
        if ((p = after(arg, "FROM:")) == NULL) {
                reply("501 5.5.4 Syntax: MAIL FROM:<address>");
                return;
        }
        if (addr_parse_path(p, ADDR_NULL_OK | ADDR_UTF8, &addr, &used,
                            &st) < 0) {
                reply("501 5.1.7 Bad sender address syntax");
                return;
        }
        if (addr_esmtp_params(p + used, &params, &n, &st) < 0) {
                free(addr);
                reply("501 5.5.4 %s", st.text);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                const char *k = params[i].key, *v = params[i].value;
                char *dec;

                if (strcasecmp(k, "SIZE") == 0 && v != NULL) {
                        if (s->size_limit > 0 &&
                            strtoll(v, NULL, 10) > s->size_limit) {
                                reply("552 5.3.4 Message size exceeds fixed "
                                      "limit");
                                goto out;
                        }
                } else if (strcasecmp(k, "RET") == 0 && v != NULL &&
                           (strcasecmp(v, "FULL") == 0 ||
                            strcasecmp(v, "HDRS") == 0)) {
                        free(s->env.dsn_ret);
                        s->env.dsn_ret = xstrdup(toupper((unsigned char)*v) ==
                                                 'H' ? "HDRS" : "FULL");
                } else if (strcasecmp(k, "ENVID") == 0 && v != NULL &&
                           addr_xtext_decode(v, &dec) == 0) {
                        free(s->env.dsn_envid);
                        s->env.dsn_envid = dec;
                } else if (strcasecmp(k, "SMTPUTF8") == 0 && v == NULL) {
                        s->env.smtputf8 = 1;
                } else if (strcasecmp(k, "BODY") != 0 &&
                           strcasecmp(k, "AUTH") != 0) {
                        reply("555 5.5.4 Unsupported option: %s", k);
                        goto out;
                }
        }
        s->env.sender = addr_qualify(addr, cfg_get(s->cfg, "myorigin"));
        s->in_mail = 1;
        reply("250 2.1.0 Ok");
out:
        if (!s->in_mail)
                session_reset(s);
        addr_esmtp_params_free(&params, n);
        free(addr);
}

static void cmd_rcpt(struct smtp_session *s, const char *arg)
{
        struct status st;
        size_t used;
        const char *p;
        char *addr;

        if (!s->in_mail) {
                reply("503 5.5.1 Error: need MAIL command");
                return;
        }
        if ((p = after(arg, "TO:")) == NULL) {
                reply("501 5.5.4 Syntax: RCPT TO:<address>");
                return;
        }
        if (addr_parse_path(p, ADDR_UTF8, &addr, &used, &st) < 0) {
                reply("501 5.1.3 Bad recipient address syntax");
                return;
        }
        if (s->env.nrcpt >= MAILDROP_RCPT_MAX) {
                free(addr);
                reply("452 4.5.3 Error: too many recipients");
                return;
        }
        /* NOTIFY= and ORCPT= are accepted and not kept: the maildrop
         * file has no room for them yet */
        s->env.rcpts = xrealloc(s->env.rcpts,
                                (s->env.nrcpt + 2) * sizeof(char *));
        for (const char *c = addr; *c != '\0'; c++)
                if ((unsigned char)*c >= 0x80)
                        s->env.smtputf8 = 1;
        s->env.rcpts[s->env.nrcpt++] =
                addr_qualify(addr, cfg_get(s->cfg, "myorigin"));
        s->env.rcpts[s->env.nrcpt] = NULL;
        free(addr);
        reply("250 2.1.5 Ok");
}

/* read_data - the message up to the "." line, dot-stuffing undone; 0, or
 * -1 at EOF (the session ends); *too_big_r when it passed the limit */
static int read_data(struct smtp_session *s, struct buf *msg, int *too_big_r)
{
        struct buf line;
        int r;

        buf_init(&line, 0);
        *too_big_r = 0;
        while ((r = read_line(&line)) != 0) {
                const char *d = buf_cstr(&line);

                if (r > 0 && line.len == 1 && d[0] == '.') {
                        buf_release(&line);
                        return 0;
                }
                if (d[0] == '.')
                        d++;
                if (s->size_limit > 0 &&
                    (long long)(msg->len + line.len) > s->size_limit)
                        *too_big_r = 1;
                if (!*too_big_r) {
                        buf_puts(msg, d);
                        buf_putc(msg, '\n');
                }
        }
        buf_release(&line);
        return -1;
}

static void cmd_data(struct smtp_session *s, const char *arg)
{
        struct status st;
        struct buf msg;
        int too_big;

        if (!s->in_mail || s->env.nrcpt == 0) {
                reply(s->in_mail ? "554 5.5.1 Error: no valid recipients" :
                      "503 5.5.1 Error: need RCPT command");
                return;
        }
        reply("354 End data with <CR><LF>.<CR><LF>");
        buf_init(&msg, 0);
        if (read_data(s, &msg, &too_big) < 0) {
                s->quit = 1;
        } else if (too_big) {
                reply("552 5.3.4 Error: message file too big");
        } else if (sendmail_msg_fix(s->cfg, &msg, &s->env, 0, NULL,
                                    &st) < 0 ||
                   sendmail_drop(s->cfg, s->o, &s->env, &msg, &st) < 0) {
                if (status_class(&st) == 4)
                        reply("451 4.3.0 Error: queue file write error");
                else
                        reply("554 5.3.0 Error: %s", st.text);
        } else {
                reply("250 2.0.0 Ok: queued");
        }
        buf_release(&msg);
        session_reset(s);
}

static void cmd_rset(struct smtp_session *s, const char *arg)
{
        session_reset(s);
        reply("250 2.0.0 Ok");
}

static void cmd_noop(struct smtp_session *s, const char *arg)
{
        reply("250 2.0.0 Ok");
}

static void cmd_vrfy(struct smtp_session *s, const char *arg)
{
        reply("502 5.5.1 VRFY command is disabled");
}

static void cmd_help(struct smtp_session *s, const char *arg)
{
        reply("214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP VRFY "
              "QUIT");
}

static void cmd_quit(struct smtp_session *s, const char *arg)
{
        reply("221 2.0.0 Bye");
        s->quit = 1;
}

static const struct {
        const char *name;
        void (*run)(struct smtp_session *s, const char *arg);
} smtp_commands[] = {
        { "HELO", cmd_helo },
        { "EHLO", cmd_ehlo },
        { "MAIL", cmd_mail },
        { "RCPT", cmd_rcpt },
        { "DATA", cmd_data },
        { "RSET", cmd_rset },
        { "NOOP", cmd_noop },
        { "VRFY", cmd_vrfy },
        { "HELP", cmd_help },
        { "QUIT", cmd_quit },
};

int sendmail_smtp(struct cfg *cfg, const struct sendmail_opts *o)
{
        struct smtp_session s;
        struct buf line;
        int r;

        memset(&s, 0, sizeof(s));
        s.cfg = cfg;
        s.o = o;
        s.size_limit = cfg_get_size(cfg, "message_size_limit");
        buf_init(&line, 0);
        reply("220 %s", cfg_get(cfg, "smtpd_banner"));
        while (!s.quit && (r = read_line(&line)) != 0) {
                const char *cmd = buf_cstr(&line), *arg;
                size_t n = strcspn(cmd, " ");
                size_t i;

                if (r < 0) {
                        reply("500 5.5.0 Error: line too long");
                        continue;
                }
                arg = cmd + n;
                while (*arg == ' ')
                        arg++;
                for (i = 0; i < sizeof(smtp_commands) /
                     sizeof(smtp_commands[0]); i++)
                        if (strlen(smtp_commands[i].name) == n &&
                            strncasecmp(cmd, smtp_commands[i].name, n) == 0)
                                break;
                if (i == sizeof(smtp_commands) / sizeof(smtp_commands[0]))
                        reply("502 5.5.2 Error: command not recognized");
                else
                        smtp_commands[i].run(&s, arg);
        }
        session_reset(&s);
        buf_release(&line);
        return 0;
}
