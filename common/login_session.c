/* login_session.c - the start of a per-user IMAP/POP3 session process
 * Used by: imap and pop3 (login_session.h). Reads the SESSION message the
 * supervisor left in a memfd and checks it (the client connection is
 * login_session_conn.c's, so that a session using its own socket layer
 * does not link conn.c). Runs as the mailbox owner; parses only what the
 * supervisor wrote. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "log_auth.h"
#include "login_session.h"
#include "loop.h"
#include "mem.h"
#include "priv.h"

int login_session_mail_path(const char *mail, char **path_r,
                            struct status *st)
{
        struct buf path;
        const char *p = mail;

        if (strncmp(p, "maildir:", 8) == 0)
                p += 8;
        else if (p[0] != '/')
                return status_set(st, STATUS_CONFIG, "mail location %s: "
                                  "only maildir:PATH is served", mail);
        buf_init(&path, 0);
        for (; *p != '\0'; p++) {
                if (*p == ':') {
                        if (p[1] != ':')
                                break;  /* options follow */
                        p++;
                }
                buf_putc(&path, *p);
        }
        if (path.len == 0 || path.data[0] != '/') {
                buf_release(&path);
                return status_set(st, STATUS_CONFIG, "mail location %s: "
                                  "the Maildir path must be absolute", mail);
        }
        while (path.len > 1 && path.data[path.len - 1] == '/')
                buf_truncate(&path, path.len - 1);
        *path_r = buf_steal(&path);
        return 0;
}

void login_session_free(struct login_session **sp)
{
        struct login_session *s;

        if (sp == NULL || *sp == NULL)
                return;
        s = *sp;
        *sp = NULL;
        authc_user_free(&s->user);
        free(s->proto);
        free(s->service);
        free(s->rip);
        free(s->lip);
        free(s->method);
        free(s->data);
        free(s->maildir);
        buf_release(&s->pending);
        free(s);
}

int login_session_read(int fd, struct login_session **s_r, struct status *st)
{
        struct login_session_info info;
        struct login_session *s;
        struct buf text;

        if (geteuid() == 0 || getuid() == 0)
                return status_set(st, STATUS_CONFIG, "a session never runs "
                                  "as root");
        buf_init(&text, 0);
        if (fileio_read_fd(fd, "session info", LOGIN_MSG_MAX, &text, st) < 0) {
                buf_release(&text);
                return -1;
        }
        if (login_session_parse(text.data != NULL ? text.data : "", text.len,
                                &info, st) < 0) {
                buf_release(&text);
                return -1;
        }
        s = xcalloc(1, sizeof(*s));
        s->user = info.user;
        s->proto = xstrdup(info.info.proto);
        s->service = xstrdup(info.info.service);
        s->rip = xstrdup(info.info.rip);
        s->lip = xstrdup(info.info.lip);
        s->method = xstrdup(info.info.method);
        s->data = xstrdup(info.info.data);
        s->rport = info.info.rport;
        s->lport = info.info.lport;
        s->tls = info.info.tls;
        s->secured = info.info.secured;
        s->started_ms = loop_now_ms();
        buf_init(&s->pending, 0);
        buf_append(&s->pending, info.pending, info.pending_len);
        buf_release(&text);
        if (login_session_mail_path(s->user->mail, &s->maildir, st) < 0) {
                login_session_free(&s);
                return -1;
        }
        *s_r = s;
        return 0;
}

void login_session_log_end(const struct login_session *s, const char *reason,
                           const char *stats)
{
        char p[32], u[LOG_AUTH_FIELD_MAX];

        log_info("%s(%s): Disconnected: %s%s%s",
                 log_auth_safe(s->proto, p, sizeof(p)),
                 log_auth_safe(s->user->name, u, sizeof(u)), reason,
                 stats != NULL && *stats != '\0' ? " " : "",
                 stats != NULL ? stats : "");
}

const char *login_session_internal_error(char *out, size_t size)
{
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;

        localtime_r(&now, &tm);
        strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(out, size, "Internal error occurred. Refer to server log "
                 "for more information. [%s]", stamp);
        return out;
}
