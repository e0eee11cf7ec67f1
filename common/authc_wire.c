/* authc_wire.c - the authd wire format: escaping, fields, user records,
 * request lines and reply decoding
 * Used by: authc.c and authc_sync.c (authc_int.h), and by every module
 * that parses a user record (login_proto.c). Kept apart from the
 * asynchronous client so that a program that only parses records (the
 * imap session) does not link conn.c and OpenSSL. Parses input from
 * authd only, which runs as mail_owner like its callers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authc.h"
#include "authc_int.h"
#include "log.h"
#include "mem.h"

/* --- wire helpers --- */

int authc_escape(struct buf *out, const char *s, size_t len)
{
        size_t start = out->len;

        for (size_t i = 0; i < len; i++) {
                const char *esc = NULL;

                switch (s[i]) {
                case '\\':
                        esc = "\\\\";
                        break;
                case '\t':
                        esc = "\\t";
                        break;
                case '\n':
                        esc = "\\n";
                        break;
                case '\r':
                        esc = "\\r";
                        break;
                }
                if ((esc != NULL ? buf_append(out, esc, 2)
                                 : buf_putc(out, s[i])) < 0) {
                        buf_truncate(out, start);
                        return -1;
                }
        }
        return 0;
}

long authc_unescape(char *s, size_t len)
{
        size_t o = 0;

        for (size_t i = 0; i < len; i++) {
                char c = s[i];

                if (c == '\0')
                        return -1;
                if (c == '\\') {
                        if (++i >= len)
                                return -1;
                        switch (s[i]) {
                        case '\\':
                                c = '\\';
                                break;
                        case 't':
                                c = '\t';
                                break;
                        case 'n':
                                c = '\n';
                                break;
                        case 'r':
                                c = '\r';
                                break;
                        default:
                                return -1;
                        }
                }
                s[o++] = c;
        }
        s[o] = '\0';
        return (long)o;
}

size_t authc_split(char *line, size_t len, char **fields_r, size_t max)
{
        size_t n = 0;
        char *p = line;
        char *end = line + len;

        for (;;) {
                char *tab = memchr(p, '\t', (size_t)(end - p));

                if (n == max)
                        return max + 1;
                fields_r[n++] = p;
                if (tab == NULL)
                        break;
                *tab = '\0';
                p = tab + 1;
        }
        *end = '\0';
        return n;
}

const char *authc_field_value(const char *field, const char *key)
{
        size_t n = strlen(key);

        if (strncmp(field, key, n) == 0 && field[n] == '=')
                return field + n + 1;
        return NULL;
}

void authc_user_free(struct authc_user **up)
{
        struct authc_user *u;

        if (up == NULL || *up == NULL)
                return;
        u = *up;
        free(u->name);
        free(u->home);
        free(u->mail);
        if (u->token != NULL) {
                explicit_bzero(u->token, strlen(u->token));
                free(u->token);
        }
        free(u);
        *up = NULL;
}

struct authc_user *authc_user_dup(const struct authc_user *u)
{
        struct authc_user *c = xcalloc(1, sizeof(*c));

        c->name = xstrdup(u->name);
        c->uid = u->uid;
        c->gid = u->gid;
        c->home = xstrdup(u->home != NULL ? u->home : "");
        c->mail = xstrdup(u->mail != NULL ? u->mail : "");
        c->quota_bytes = u->quota_bytes;
        c->quota_messages = u->quota_messages;
        c->token = u->token != NULL ? xstrdup(u->token) : NULL;
        return c;
}

/* parse_num - a decimal number in 0..max; 0 or -1 */
static int parse_num(const char *s, long long max, long long *v_r)
{
        long long v = 0;

        if (*s == '\0')
                return -1;
        for (; *s != '\0'; s++) {
                if (*s < '0' || *s > '9')
                        return -1;
                if (v > (max - (*s - '0')) / 10)
                        return -1;
                v = v * 10 + (*s - '0');
        }
        *v_r = v;
        return 0;
}

struct authc_user *authc_user_parse(char **fields, size_t count)
{
        struct authc_user *u = xcalloc(1, sizeof(*u));
        long long v = 0;
        int bad = 0;

        for (size_t i = 0; i < count && !bad; i++) {
                const char *f = fields[i];
                const char *val;

                if ((val = authc_field_value(f, "user")) != NULL) {
                        free(u->name);
                        u->name = xstrdup(val);
                } else if ((val = authc_field_value(f, "uid")) != NULL) {
                        bad = parse_num(val, 4294967295LL, &v) < 0;
                        u->uid = (uid_t)v;
                } else if ((val = authc_field_value(f, "gid")) != NULL) {
                        bad = parse_num(val, 4294967295LL, &v) < 0;
                        u->gid = (gid_t)v;
                } else if ((val = authc_field_value(f, "home")) != NULL) {
                        free(u->home);
                        u->home = xstrdup(val);
                } else if ((val = authc_field_value(f, "mail")) != NULL) {
                        free(u->mail);
                        u->mail = xstrdup(val);
                } else if ((val = authc_field_value(f, "quota_bytes"))
                           != NULL) {
                        bad = parse_num(val, 0x7fffffffffffffffLL,
                                        &u->quota_bytes) < 0;
                } else if ((val = authc_field_value(f, "quota_messages"))
                           != NULL) {
                        bad = parse_num(val, 0x7fffffffffffffffLL,
                                        &u->quota_messages) < 0;
                } else if ((val = authc_field_value(f, "token")) != NULL) {
                        free(u->token);
                        u->token = xstrdup(val);
                }
        }
        if (bad || u->name == NULL || *u->name == '\0') {
                authc_user_free(&u);
                return NULL;
        }
        if (u->home == NULL)
                u->home = xstrdup("");
        if (u->mail == NULL)
                u->mail = xstrdup("");
        return u;
}

/* --- request lines and replies (authc_int.h) --- */

/* put_max - TAB then s escaped, if s (NULL counts as "") is at most max
 * bytes long; 0 or -1 */
static int put_max(struct buf *out, const char *s, size_t max)
{
        size_t len;

        if (s == NULL)
                s = "";
        len = strlen(s);
        if (len > max || buf_putc(out, '\t') < 0)
                return -1;
        return authc_escape(out, s, len);
}

static int put_field(struct buf *out, const char *s)
{
        return put_max(out, s, AUTHC_LINE_MAX);
}

static int put_login(struct buf *out, const struct authc_login *l)
{
        int bad = 0;

        bad |= put_max(out, l->service, AUTHC_SERVICE_MAX);
        bad |= put_max(out, l->rip, AUTHC_IP_MAX);
        bad |= put_max(out, l->lip, AUTHC_IP_MAX);
        bad |= put_field(out, l->secured ? "1" : "0");
        return bad ? -1 : 0;
}

int authc_line_build(struct buf *out, enum authc_op op, unsigned long id,
                     const struct authc_args *a)
{
        static const char *const words[] = {
                [AUTHC_OP_VERIFY] = "VERIFY",
                [AUTHC_OP_LOOKUP] = "LOOKUP",
                [AUTHC_OP_REDEEM] = "REDEEM",
                [AUTHC_OP_PBS_GRANT] = "PBS-GRANT",
                [AUTHC_OP_PBS_CHECK] = "PBS-CHECK",
                [AUTHC_OP_PBS_LIST] = "PBS-LIST",
                [AUTHC_OP_MECHS] = "MECHS",
                [AUTHC_OP_AUTH] = "AUTH",
                [AUTHC_OP_CONT] = "CONT",
                [AUTHC_OP_ABORT] = "ABORT",
        };
        size_t start = out->len;
        int bad = 0;

        bad |= buf_printf(out, "%s\t%lu", words[op], id);
        switch (op) {
        case AUTHC_OP_VERIFY:
                bad |= put_max(out, a->user, AUTHC_USER_MAX);
                bad |= put_max(out, a->password, AUTHC_PASSWORD_MAX);
                bad |= put_login(out, a->login);
                if (a->login->want_token)
                        bad |= put_field(out, "token");
                break;
        case AUTHC_OP_LOOKUP:
                bad |= put_max(out, a->user, AUTHC_USER_MAX);
                break;
        case AUTHC_OP_REDEEM:
                bad |= put_max(out, a->token, AUTHC_TOKEN_MAX);
                break;
        case AUTHC_OP_PBS_GRANT:
                bad |= put_max(out, a->ip, AUTHC_IP_MAX);
                bad |= put_max(out, a->user, AUTHC_USER_MAX);
                break;
        case AUTHC_OP_PBS_CHECK:
                bad |= put_max(out, a->ip, AUTHC_IP_MAX);
                break;
        case AUTHC_OP_PBS_LIST:
        case AUTHC_OP_ABORT:
                break;
        case AUTHC_OP_MECHS:
                bad |= put_max(out, a->service, AUTHC_SERVICE_MAX);
                bad |= put_field(out, a->secured ? "1" : "0");
                break;
        case AUTHC_OP_AUTH:
                bad |= put_max(out, a->mech, AUTHC_MECH_MAX);
                bad |= put_login(out, a->login);
                if (a->data != NULL) {
                        if (strlen(a->data) > AUTHC_SASL_MAX)
                                bad = 1;
                        bad |= buf_puts(out, "\tresp=");
                        bad |= authc_escape(out, a->data, strlen(a->data));
                }
                if (a->login->want_token)
                        bad |= put_field(out, "token");
                break;
        case AUTHC_OP_CONT:
                bad |= put_max(out, a->data, AUTHC_SASL_MAX);
                break;
        }
        if (!bad && out->len - start > AUTHC_LINE_MAX)
                bad = 1;
        bad |= buf_putc(out, '\n');
        if (bad) {
                buf_truncate(out, start);
                return -1;
        }
        return 0;
}

size_t authc_line_head(char *line, size_t len, char **fields,
                       unsigned long *id_r)
{
        size_t n;
        long long id;

        *id_r = 0;
        if (len == 0)
                return 0;
        n = authc_split(line, len, fields, AUTHC_FIELDS_MAX);
        if (n > AUTHC_FIELDS_MAX)
                n = AUTHC_FIELDS_MAX;
        for (size_t i = 0; i < n; i++)
                if (authc_unescape(fields[i], strlen(fields[i])) < 0)
                        fields[i][0] = '\0';
        if (n >= 2 && parse_num(fields[1], 4294967295LL, &id) == 0)
                *id_r = (unsigned long)id;
        return n;
}

int authc_version_ok(char **fields, size_t count)
{
        long long major;

        return count >= 3 && strcmp(fields[0], "VERSION") == 0 &&
               parse_num(fields[1], 1000, &major) == 0 &&
               major == AUTHC_PROTO_MAJOR;
}

/* fail_code - FAIL's code word */
static enum authc_fail fail_code(const char *word)
{
        if (strcmp(word, "banned") == 0)
                return AUTHC_FAIL_BANNED;
        if (strcmp(word, "mech") == 0)
                return AUTHC_FAIL_MECH;
        if (strcmp(word, "syntax") == 0)
                return AUTHC_FAIL_SYNTAX;
        return AUTHC_FAIL_AUTH;
}

int authc_reply_decode(enum authc_op op, char **f, size_t n,
                       struct authc_reply *r, struct authc_user **user_r)
{
        const char *word = n > 0 ? f[0] : "";
        int user_op = op == AUTHC_OP_VERIFY || op == AUTHC_OP_LOOKUP ||
                      op == AUTHC_OP_REDEEM || op == AUTHC_OP_AUTH;

        memset(r, 0, sizeof(*r));
        *user_r = NULL;
        r->reason = "";
        r->result = AUTHC_TEMPFAIL;
        if (strcmp(word, "OK") == 0) {
                if (user_op) {
                        *user_r = authc_user_parse(f + 2, n - 2);
                        if (*user_r == NULL) {
                                r->reason = "malformed user record from authd";
                                return 1;
                        }
                        r->user = *user_r;
                } else if (op == AUTHC_OP_MECHS) {
                        r->mechs = "";
                        for (size_t i = 2; i < n; i++)
                                if (authc_field_value(f[i], "mechs") != NULL)
                                        r->mechs = authc_field_value(f[i],
                                                                     "mechs");
                }
                r->result = AUTHC_OK;
        } else if (strcmp(word, "YES") == 0 && op == AUTHC_OP_PBS_CHECK) {
                long long exp = 0;

                r->pbs_user = "";
                for (size_t i = 2; i < n; i++) {
                        if (authc_field_value(f[i], "user") != NULL)
                                r->pbs_user = authc_field_value(f[i], "user");
                        else if (authc_field_value(f[i], "expires") != NULL)
                                (void)parse_num(authc_field_value(f[i],
                                                                  "expires"),
                                                0x7fffffffffffffffLL, &exp);
                }
                r->pbs_expires = exp;
                r->result = AUTHC_OK;
        } else if ((strcmp(word, "NO") == 0 && op == AUTHC_OP_PBS_CHECK) ||
                   (strcmp(word, "NOTFOUND") == 0 &&
                    (op == AUTHC_OP_LOOKUP || op == AUTHC_OP_REDEEM))) {
                r->result = AUTHC_NOTFOUND;
        } else if (strcmp(word, "FAIL") == 0 &&
                   (op == AUTHC_OP_VERIFY || op == AUTHC_OP_AUTH)) {
                r->result = AUTHC_FAIL;
                r->fail = fail_code(n > 2 ? f[2] : "");
                r->reason = n > 3 ? f[3] : "";
        } else if (strcmp(word, "CONT") == 0 && op == AUTHC_OP_AUTH) {
                r->result = AUTHC_CONTINUE;
                r->challenge = n > 2 ? f[2] : "";
                return 0;
        } else if (strcmp(word, "TEMPFAIL") == 0) {
                r->reason = n > 2 ? f[2] : "";
        } else if (strcmp(word, "ERROR") == 0) {
                r->reason = n > 2 ? f[2] : "protocol error";
        } else {
                r->reason = "unexpected reply from authd";
        }
        return 1;
}
