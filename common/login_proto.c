/* login_proto.c - LOGIN, OK, FAIL and SESSION messages, built and parsed
 * Used by: login_master.c (front ends), master_session.c (supervisor),
 * login_session.c (sessions); login_proto.h describes the channel. Input
 * comes from mail_owner processes; every value is checked here, so the
 * supervisor never acts on a field it has not seen whole and well-formed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authc.h"
#include "login_proto.h"

#define TEXT_MAX        512     /* FAIL's text */
#define SERVICE_MAX     256
#define ADDR_MAX        63

/* Building. */

static void put_head(struct buf *out, const char *word, unsigned long id)
{
        buf_reset(out);
        buf_printf(out, "%s\t%d\t%lu", word, LOGIN_PROTO_MAJOR, id);
}

static void put_kv(struct buf *out, const char *key, const char *value)
{
        buf_printf(out, "\t%s=", key);
        authc_escape(out, value != NULL ? value : "",
                     value != NULL ? strlen(value) : 0);
}

static void put_num(struct buf *out, const char *key, long long value)
{
        buf_printf(out, "\t%s=%lld", key, value);
}

static void put_info(struct buf *out, const struct login_client_info *i)
{
        put_kv(out, "proto", i->proto);
        put_kv(out, "service", i->service);
        put_kv(out, "rip", i->rip);
        put_kv(out, "lip", i->lip);
        put_num(out, "rport", i->rport);
        put_num(out, "lport", i->lport);
        put_num(out, "tls", i->tls ? 1 : 0);
        put_num(out, "secured", i->secured ? 1 : 0);
        put_kv(out, "method", i->method);
        put_kv(out, "data", i->data);
}

/* put_end - the LF and the body; 0, or -1 with st when too long */
static int put_end(struct buf *out, const char *body, size_t len,
                   struct status *st)
{
        if (out->len >= LOGIN_HEADER_MAX)
                return status_set(st, STATUS_TEMP, "login message header "
                                  "too long (%zu bytes)", out->len);
        if (len > LOGIN_PENDING_MAX)
                return status_set(st, STATUS_TEMP, "login message: %zu "
                                  "bytes of pending input", len);
        buf_putc(out, '\n');
        if (len > 0)
                buf_append(out, body, len);
        return 0;
}

int login_request_build(struct buf *out, const struct login_request *r,
                        struct status *st)
{
        put_head(out, "LOGIN", r->id);
        put_info(out, &r->info);
        put_kv(out, "token", r->token);
        return put_end(out, r->pending, r->pending_len, st);
}

void login_reply_build_ok(struct buf *out, unsigned long id, long pid)
{
        struct status st;

        put_head(out, "OK", id);
        put_num(out, "pid", pid);
        put_end(out, NULL, 0, &st);
}

void login_reply_build_fail(struct buf *out, unsigned long id,
                            enum login_fail fail, const char *text)
{
        char cut[TEXT_MAX + 1];
        struct status st;

        snprintf(cut, sizeof(cut), "%s", text != NULL ? text : "");
        put_head(out, "FAIL", id);
        put_kv(out, "code", login_fail_name(fail));
        put_kv(out, "text", cut);
        put_end(out, NULL, 0, &st);
}

int login_session_build(struct buf *out, const struct login_client_info *info,
                        const struct authc_user *u, const char *pending,
                        size_t pending_len, struct status *st)
{
        put_head(out, "SESSION", 0);
        put_info(out, info);
        put_kv(out, "user", u->name);
        put_num(out, "uid", (long long)u->uid);
        put_num(out, "gid", (long long)u->gid);
        put_kv(out, "home", u->home);
        put_kv(out, "mail", u->mail);
        put_num(out, "quota_bytes", u->quota_bytes);
        put_num(out, "quota_messages", u->quota_messages);
        return put_end(out, pending, pending_len, st);
}

const char *login_fail_name(enum login_fail fail)
{
        switch (fail) {
        case LOGIN_FAIL_LIMIT:
                return "limit";
        case LOGIN_FAIL_REFUSED:
                return "refused";
        case LOGIN_FAIL_TEMP:
                break;
        }
        return "temp";
}

/* Parsing. */

struct msg {
        char *fields[LOGIN_FIELDS_MAX];
        size_t count;           /* fields after WORD, MAJOR and ID */
        const char *word;
        unsigned long id;
        const char *body;
        size_t body_len;
};

static int parse_ulong(const char *s, unsigned long max, unsigned long *v_r)
{
        unsigned long v = 0;

        if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
                return -1;
        for (; *s != '\0'; s++) {
                unsigned long d = (unsigned long)(*s - '0');

                if (*s < '0' || *s > '9' || d > max || v > (max - d) / 10)
                        return -1;
                v = v * 10 + d;
        }
        *v_r = v;
        return 0;
}

/* split - header fields, unescaped, and the body; 0 or -1 with st */
static int split(char *data, size_t len, struct msg *m, struct status *st)
{
        char *all[LOGIN_FIELDS_MAX + 3];
        char *lf = memchr(data, '\n', len < LOGIN_HEADER_MAX + 1 ? len :
                          LOGIN_HEADER_MAX + 1);
        size_t hlen, n;
        unsigned long major;

        if (lf == NULL)
                return status_set(st, STATUS_SYNTAX, "no header line");
        hlen = (size_t)(lf - data);
        if (memchr(data, '\0', hlen) != NULL)
                return status_set(st, STATUS_SYNTAX, "NUL in header");
        *lf = '\0';
        m->body = lf + 1;
        m->body_len = len - hlen - 1;
        if (m->body_len > LOGIN_PENDING_MAX)
                return status_set(st, STATUS_SYNTAX, "body too long");
        n = authc_split(data, hlen, all, LOGIN_FIELDS_MAX + 3);
        if (n > LOGIN_FIELDS_MAX + 3)
                return status_set(st, STATUS_SYNTAX, "too many fields");
        if (n < 3)
                return status_set(st, STATUS_SYNTAX, "short header");
        m->word = all[0];
        if (parse_ulong(all[1], 1000, &major) < 0)
                return status_set(st, STATUS_SYNTAX, "bad version");
        if (major != LOGIN_PROTO_MAJOR)
                return status_set(st, STATUS_SYNTAX, "version %lu, not %d",
                                  major, LOGIN_PROTO_MAJOR);
        if (parse_ulong(all[2], 4294967295UL, &m->id) < 0)
                return status_set(st, STATUS_SYNTAX, "bad id");
        m->count = 0;
        for (size_t i = 3; i < n; i++) {
                if (authc_unescape(all[i], strlen(all[i])) < 0)
                        return status_set(st, STATUS_SYNTAX, "bad escape");
                if (strchr(all[i], '=') == NULL)
                        return status_set(st, STATUS_SYNTAX, "field without "
                                          "'='");
                m->fields[m->count++] = all[i];
        }
        return 0;
}

/* get - the value of key, or NULL */
static const char *get(const struct msg *m, const char *key)
{
        for (size_t i = 0; i < m->count; i++) {
                const char *v = authc_field_value(m->fields[i], key);

                if (v != NULL)
                        return v;
        }
        return NULL;
}

/* text_ok - 1 if s is 1..max bytes of printable ASCII without blanks */
static int text_ok(const char *s, size_t max)
{
        size_t n = 0;

        for (; *s != '\0'; s++, n++)
                if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
                        return 0;
        return n > 0 && n <= max;
}

static int charset_ok(const char *s, const char *set, size_t max)
{
        size_t n = strlen(s);

        return n > 0 && n <= max && strspn(s, set) == n;
}

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGIT "0123456789"

/* get_info - the connection facts; 0 or -1 with st */
static int get_info(const struct msg *m, struct login_client_info *i,
                    struct status *st)
{
        const char *v;
        unsigned long n;

        memset(i, 0, sizeof(*i));
        i->proto = get(m, "proto");
        i->service = get(m, "service");
        i->rip = get(m, "rip");
        i->lip = get(m, "lip");
        i->method = get(m, "method");
        if (i->proto == NULL || !charset_ok(i->proto, LOWER DIGIT, 15))
                return status_set(st, STATUS_SYNTAX, "bad proto");
        if (i->service == NULL || !text_ok(i->service, SERVICE_MAX))
                return status_set(st, STATUS_SYNTAX, "bad service");
        if (i->rip == NULL || !text_ok(i->rip, ADDR_MAX) ||
            i->lip == NULL || !text_ok(i->lip, ADDR_MAX))
                return status_set(st, STATUS_SYNTAX, "bad address");
        if (i->method == NULL ||
            !charset_ok(i->method, UPPER DIGIT "_-", AUTHC_MECH_MAX))
                return status_set(st, STATUS_SYNTAX, "bad method");
        i->data = get(m, "data");
        if (i->data == NULL)
                i->data = "";
        if (strlen(i->data) > LOGIN_DATA_VALUE_MAX)
                return status_set(st, STATUS_SYNTAX, "data too long");
        if ((v = get(m, "rport")) == NULL || parse_ulong(v, 65535, &n) < 0)
                return status_set(st, STATUS_SYNTAX, "bad rport");
        i->rport = (int)n;
        if ((v = get(m, "lport")) == NULL || parse_ulong(v, 65535, &n) < 0)
                return status_set(st, STATUS_SYNTAX, "bad lport");
        i->lport = (int)n;
        if ((v = get(m, "tls")) == NULL || parse_ulong(v, 1, &n) < 0)
                return status_set(st, STATUS_SYNTAX, "bad tls");
        i->tls = (int)n;
        if ((v = get(m, "secured")) == NULL || parse_ulong(v, 1, &n) < 0)
                return status_set(st, STATUS_SYNTAX, "bad secured");
        i->secured = (int)n;
        return 0;
}

int login_request_parse(char *data, size_t len, struct login_request *r_r,
                        struct status *st)
{
        struct msg m;

        memset(r_r, 0, sizeof(*r_r));
        if (split(data, len, &m, st) < 0)
                return -1;
        if (strcmp(m.word, "LOGIN") != 0)
                return status_set(st, STATUS_SYNTAX, "not a LOGIN message");
        if (m.id == 0)
                return status_set(st, STATUS_SYNTAX, "id 0");
        if (get_info(&m, &r_r->info, st) < 0)
                return -1;
        r_r->token = get(&m, "token");
        if (r_r->token == NULL ||
            !charset_ok(r_r->token, LOWER UPPER DIGIT, AUTHC_TOKEN_MAX))
                return status_set(st, STATUS_SYNTAX, "bad token");
        r_r->id = m.id;
        r_r->pending = m.body;
        r_r->pending_len = m.body_len;
        return 0;
}

int login_reply_parse(char *data, size_t len, struct login_reply *r_r,
                      struct status *st)
{
        struct msg m;
        const char *v;
        unsigned long n;

        memset(r_r, 0, sizeof(*r_r));
        r_r->text = "";
        if (split(data, len, &m, st) < 0)
                return -1;
        r_r->id = m.id;
        if (strcmp(m.word, "OK") == 0) {
                if ((v = get(&m, "pid")) == NULL ||
                    parse_ulong(v, 0x7fffffffUL, &n) < 0 || n == 0)
                        return status_set(st, STATUS_SYNTAX, "bad pid");
                r_r->ok = 1;
                r_r->pid = (long)n;
                return 0;
        }
        if (strcmp(m.word, "FAIL") != 0)
                return status_set(st, STATUS_SYNTAX, "not OK or FAIL");
        v = get(&m, "code");
        if (v != NULL && strcmp(v, "limit") == 0)
                r_r->fail = LOGIN_FAIL_LIMIT;
        else if (v != NULL && strcmp(v, "refused") == 0)
                r_r->fail = LOGIN_FAIL_REFUSED;
        else
                r_r->fail = LOGIN_FAIL_TEMP;    /* unknown: not a "no" */
        if ((v = get(&m, "text")) != NULL)
                r_r->text = v;
        return 0;
}

int login_session_parse(char *data, size_t len,
                        struct login_session_info *s_r, struct status *st)
{
        struct msg m;

        memset(s_r, 0, sizeof(*s_r));
        if (split(data, len, &m, st) < 0)
                return -1;
        if (strcmp(m.word, "SESSION") != 0)
                return status_set(st, STATUS_SYNTAX, "not a SESSION message");
        if (get_info(&m, &s_r->info, st) < 0)
                return -1;
        s_r->user = authc_user_parse(m.fields, m.count);
        if (s_r->user == NULL)
                return status_set(st, STATUS_SYNTAX, "bad user record");
        if (s_r->user->mail == NULL || s_r->user->mail[0] == '\0') {
                authc_user_free(&s_r->user);
                return status_set(st, STATUS_SYNTAX, "no mail location");
        }
        s_r->pending = m.body;
        s_r->pending_len = m.body_len;
        return 0;
}
