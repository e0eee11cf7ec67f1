/* sendmail_msg.c - the message and envelope of a sendmail submission
 * Used by: sendmail (stdin), sendmail -bs (each DATA). Reads what the
 * invoking user gives, as that user: the limits are those of main.cf
 * (message_size_limit), and pickup checks everything again on the
 * trusted side. Header handling follows Postfix's for locally submitted
 * mail: -t takes recipients from To:, Cc: and Bcc: (the Resent- fields
 * instead, when there are any), Bcc: fields are removed, and From:,
 * Date: and Message-ID: are added when missing (RFC 5322 3.6). */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "cfg.h"
#include "dsn.h"
#include "mem.h"
#include "sendmail.h"

#define SENDMAIL_FIELDS_MAX     10000   /* header fields looked at */

int sendmail_msg_read(int fd, int dot_ends, size_t max, struct buf *msg,
                      struct status *st)
{
        char chunk[65536];
        size_t line_start = msg->len;
        int cr = 0;

        for (;;) {
                ssize_t n = read(fd, chunk, sizeof(chunk));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return status_set(st, STATUS_LOCAL_IO,
                                          "read standard input: %m");
                if (n == 0)
                        break;
                for (ssize_t i = 0; i < n; i++) {
                        char c = chunk[i];

                        if (cr && c != '\n')
                                buf_putc(msg, '\r');    /* a lone CR */
                        cr = 0;
                        if (c == '\r') {
                                cr = 1;
                                continue;
                        }
                        buf_putc(msg, c);
                        if (c != '\n')
                                continue;
                        if (dot_ends && msg->len - line_start == 2 &&
                            msg->data[line_start] == '.') {
                                buf_truncate(msg, line_start);
                                return 0;
                        }
                        line_start = msg->len;
                }
                if (max > 0 && msg->len > max)
                        return status_set(st, STATUS_TOO_BIG,
                                          "message file too big");
        }
        if (cr)
                buf_putc(msg, '\r');
        if (dot_ends && msg->len - line_start == 1 &&
            msg->data[line_start] == '.')
                buf_truncate(msg, line_start);
        else if (msg->len > line_start)
                buf_putc(msg, '\n');
        if (max > 0 && msg->len > max)
                return status_set(st, STATUS_TOO_BIG,
                                  "message file too big");
        return 0;
}

/* origin - the domain bare names get */
static const char *origin(struct cfg *cfg)
{
        return cfg_get(cfg, "myorigin");
}

char *sendmail_sender(struct cfg *cfg, const char *given, struct status *st)
{
        struct passwd *pw;
        char *addr, *q;
        size_t used;

        if (given != NULL) {
                while (*given == ' ' || *given == '\t')
                        given++;
                if (*given == '\0')
                        return xstrdup("");
                if (addr_parse_path(given, ADDR_NULL_OK | ADDR_UTF8 |
                                    (*given == '<' ? 0 : ADDR_NO_BRACKETS),
                                    &addr, &used, st) < 0)
                        return NULL;
                if (given[used] != '\0') {
                        free(addr);
                        status_set(st, STATUS_SYNTAX, "garbage after the "
                                   "sender address");
                        return NULL;
                }
                q = addr_qualify(addr, origin(cfg));
                free(addr);
                return q;
        }
        pw = getpwuid(getuid());
        if (pw == NULL) {
                /* Postfix's sendmail refuses too: no name to send as */
                status_set(st, STATUS_PERM, "no login name for uid %lu",
                           (unsigned long)getuid());
                return NULL;
        }
        return addr_qualify(pw->pw_name, origin(cfg));
}

/* has_utf8 - 1 if s has a byte >= 0x80 */
static int has_utf8(const char *s)
{
        for (; *s != '\0'; s++)
                if ((unsigned char)*s >= 0x80)
                        return 1;
        return 0;
}

int sendmail_rcpt_add(struct cfg *cfg, struct maildrop_env *env,
                      const char *list, struct status *st)
{
        char **addrs;
        size_t n;

        if (addr_header_list(list, &addrs, &n, st) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                char *q = addr_qualify(addrs[i], origin(cfg));

                if (env->nrcpt == MAILDROP_RCPT_MAX) {
                        free(q);
                        addr_list_free(&addrs);
                        return status_set(st, STATUS_PERM,
                                          "more than %d recipients",
                                          MAILDROP_RCPT_MAX);
                }
                if (has_utf8(q))
                        env->smtputf8 = 1;
                env->rcpts = xrealloc(env->rcpts,
                                      (env->nrcpt + 2) * sizeof(char *));
                env->rcpts[env->nrcpt++] = q;
                env->rcpts[env->nrcpt] = NULL;
        }
        addr_list_free(&addrs);
        return 0;
}

struct field {
        size_t start, len;      /* the whole field, continuation lines and
                                 * final LF included */
        size_t name_len;
};

/* field_name_len - length of the field name if the line at s (n bytes)
 * starts a header field ("Name:"), else 0 */
static size_t field_name_len(const char *s, size_t n)
{
        size_t i = 0;

        while (i < n && s[i] > ' ' && s[i] < 127 && s[i] != ':')
                i++;
        return i > 0 && i < n && s[i] == ':' ? i : 0;
}

/* header_fields - the fields of msg's header; returns the header's length
 * (where the blank line or the body starts) and the fields in *f_r (new
 * array, free()) */
static size_t header_fields(const struct buf *msg, struct field **f_r,
                            size_t *n_r)
{
        const char *d = buf_cstr(msg);
        size_t pos = 0, n = 0;
        struct field *f = NULL;

        while (pos < msg->len && n < SENDMAIL_FIELDS_MAX) {
                const char *nl = memchr(d + pos, '\n', msg->len - pos);
                size_t line_len = (nl != NULL ? (size_t)(nl - d) + 1 :
                                   msg->len) - pos;
                size_t name;

                if ((d[pos] == ' ' || d[pos] == '\t') && n > 0) {
                        f[n - 1].len += line_len;       /* continuation */
                        pos += line_len;
                        continue;
                }
                name = field_name_len(d + pos, line_len);
                if (name == 0)
                        break;
                f = xrealloc(f, (n + 1) * sizeof(*f));
                f[n].start = pos;
                f[n].len = line_len;
                f[n].name_len = name;
                n++;
                pos += line_len;
        }
        *f_r = f;
        *n_r = n;
        return pos;
}

static int field_is(const char *d, const struct field *f, const char *name)
{
        return f->name_len == strlen(name) &&
               strncasecmp(d + f->start, name, f->name_len) == 0;
}

/* field_value - the unfolded value of f, as a new string */
static char *field_value(const char *d, const struct field *f)
{
        struct buf v;

        buf_init(&v, 0);
        for (size_t i = f->start + f->name_len + 1; i < f->start + f->len;
             i++)
                if (d[i] != '\n')
                        buf_putc(&v, d[i]);
        return v.data != NULL ? buf_steal(&v) : xstrdup("");
}

/* extract - the recipients of the To:, Cc:, Bcc: (or Resent-) fields */
static int extract(struct cfg *cfg, const char *d, const struct field *f,
                   size_t n, struct maildrop_env *env, struct status *st)
{
        static const char *const plain[] = { "To", "Cc", "Bcc" };
        static const char *const resent[] = { "Resent-To", "Resent-Cc",
                                              "Resent-Bcc" };
        const char *const *names = plain;

        for (size_t i = 0; i < n; i++)
                if (f[i].name_len > 7 &&
                    strncasecmp(d + f[i].start, "Resent-", 7) == 0)
                        names = resent;
        for (size_t i = 0; i < n; i++) {
                for (int k = 0; k < 3; k++) {
                        char *v;
                        int r;

                        if (!field_is(d, &f[i], names[k]))
                                continue;
                        v = field_value(d, &f[i]);
                        r = sendmail_rcpt_add(cfg, env, v, st);
                        free(v);
                        if (r < 0) {
                                char text[STATUS_TEXT_MAX];

                                snprintf(text, sizeof(text), "%s", st->text);
                                return status_set(st, STATUS_SYNTAX,
                                                  "%s: header: %s",
                                                  names[k], text);
                        }
                }
        }
        return 0;
}

/* add_missing - From:, Date:, Message-ID: for a header that lacks them */
static void add_missing(struct cfg *cfg, struct buf *out, const char *d,
                        const struct field *f, size_t n,
                        const struct maildrop_env *env, const char *fullname)
{
        int from = 0, date = 0, msgid = 0;
        time_t now = time(NULL);

        for (size_t i = 0; i < n; i++) {
                from |= field_is(d, &f[i], "From");
                date |= field_is(d, &f[i], "Date");
                msgid |= field_is(d, &f[i], "Message-ID");
        }
        if (!from && *env->sender != '\0') {
                char *ext = addr_external(env->sender);

                buf_puts(out, "From: ");
                if (fullname != NULL && *fullname != '\0') {
                        /* a quoted-string, so any text is safe in it */
                        buf_putc(out, '"');
                        for (const char *p = fullname; *p != '\0'; p++) {
                                if (*p == '\n' || *p == '\r')
                                        continue;
                                if (*p == '"' || *p == '\\')
                                        buf_putc(out, '\\');
                                buf_putc(out, *p);
                        }
                        buf_printf(out, "\" <%s>\n", ext);
                } else {
                        buf_printf(out, "%s\n", ext);
                }
                free(ext);
        }
        if (!date) {
                buf_puts(out, "Date: ");
                dsn_date(out, now);
                buf_putc(out, '\n');
        }
        if (!msgid) {
                struct tm tm;
                uint64_t rnd;
                char stamp[32];

                if (getentropy(&rnd, sizeof(rnd)) < 0)
                        rnd = (uint64_t)now ^ ((uint64_t)getpid() << 32);
                gmtime_r(&now, &tm);
                strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
                buf_printf(out, "Message-ID: <%s.%016llx@%s>\n", stamp,
                           (unsigned long long)rnd,
                           cfg_get(cfg, "myhostname"));
        }
}

int sendmail_msg_fix(struct cfg *cfg, struct buf *msg,
                     struct maildrop_env *env, int do_extract,
                     const char *fullname, struct status *st)
{
        const char *d;
        struct field *f;
        struct buf out;
        size_t n, header_len, skip = 0;

        /* an mbox "From " line first is not part of the message */
        if (msg->len >= 5 && memcmp(msg->data, "From ", 5) == 0) {
                const char *nl = memchr(msg->data, '\n', msg->len);

                skip = nl != NULL ? (size_t)(nl - msg->data) + 1 : msg->len;
                buf_consume(msg, skip);
        }
        d = buf_cstr(msg);
        header_len = header_fields(msg, &f, &n);
        if (do_extract && extract(cfg, d, f, n, env, st) < 0) {
                free(f);
                return -1;
        }
        if (has_utf8(env->sender))
                env->smtputf8 = 1;
        buf_init(&out, 0);
        for (size_t i = 0; i < n; i++) {
                if (field_is(d, &f[i], "Bcc") ||
                    field_is(d, &f[i], "Resent-Bcc"))
                        continue;
                buf_append(&out, d + f[i].start, f[i].len);
                if (d[f[i].start + f[i].len - 1] != '\n')
                        buf_putc(&out, '\n');
        }
        add_missing(cfg, &out, d, f, n, env, fullname);
        /* the body, with the blank line that separates it */
        if (header_len < msg->len && d[header_len] != '\n')
                buf_putc(&out, '\n');
        else if (header_len == msg->len)
                buf_putc(&out, '\n');
        buf_append(&out, d + header_len, msg->len - header_len);
        free(f);
        buf_release(msg);
        *msg = out;
        return 0;
}
