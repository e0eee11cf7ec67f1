/* auth_proto.c - authd's socket protocol: requests in, replies out
 * Used by: authd's front end (auth_conn.c) and its worker channel
 * (auth_worker.c). Lines are TAB-separated fields ending in LF, escaped as
 * authc_escape() does; each command is one row of cmd_table with the kind
 * of each positional field, checked here for length and form, so that
 * the handlers see only well-formed values. Parses input from authd's
 * clients (mail_owner processes); nothing here trusts a length it did not
 * check. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_proto.h"
#include "auth_user.h"
#include "mem.h"

enum field_kind {
        F_USER,         /* any bytes, up to AUTHC_USER_MAX */
        F_PASSWORD,     /* any bytes, up to AUTHC_PASSWORD_MAX */
        F_SERVICE,      /* [a-z0-9-], 1..AUTHC_SERVICE_MAX */
        F_RIP,          /* an address or "" */
        F_LIP,          /* an address or "" */
        F_IP,           /* an address */
        F_SECURED,      /* "0" or "1" */
        F_MECH,         /* [A-Za-z0-9-_], 1..AUTHC_MECH_MAX */
        F_TOKEN,        /* [A-Za-z0-9], 1..AUTHC_TOKEN_MAX */
        F_DATA,         /* the client's base64, up to AUTHC_SASL_MAX */
};

#define OPT_TOKEN       (1 << 0)        /* "token": issue a login token */
#define OPT_RESP        (1 << 1)        /* "resp=BASE64": initial response */

struct proto_cmd {
        const char *name;
        enum auth_proto_cmd cmd;
        size_t nfields;
        enum field_kind fields[6];
        unsigned options;
};

static const struct proto_cmd cmd_table[] = {
        { "VERIFY", AUTH_PROTO_VERIFY, 6,
          { F_USER, F_PASSWORD, F_SERVICE, F_RIP, F_LIP, F_SECURED },
          OPT_TOKEN },
        { "LOOKUP", AUTH_PROTO_LOOKUP, 1, { F_USER }, 0 },
        { "REDEEM", AUTH_PROTO_REDEEM, 1, { F_TOKEN }, 0 },
        { "PBS-GRANT", AUTH_PROTO_PBS_GRANT, 2, { F_IP, F_USER }, 0 },
        { "PBS-CHECK", AUTH_PROTO_PBS_CHECK, 1, { F_IP }, 0 },
        { "PBS-LIST", AUTH_PROTO_PBS_LIST, 0, { F_USER }, 0 },
        { "MECHS", AUTH_PROTO_MECHS, 2, { F_SERVICE, F_SECURED }, 0 },
        { "AUTH", AUTH_PROTO_AUTH, 5,
          { F_MECH, F_SERVICE, F_RIP, F_LIP, F_SECURED },
          OPT_TOKEN | OPT_RESP },
        { "CONT", AUTH_PROTO_CONT, 1, { F_DATA }, 0 },
        { "ABORT", AUTH_PROTO_ABORT, 0, { F_USER }, 0 },
};

#define CMD_COUNT (sizeof(cmd_table) / sizeof(cmd_table[0]))

const char *auth_proto_cmd_name(enum auth_proto_cmd cmd)
{
        if (cmd == AUTH_PROTO_VERSION)
                return "VERSION";
        for (size_t i = 0; i < CMD_COUNT; i++)
                if (cmd_table[i].cmd == cmd)
                        return cmd_table[i].name;
        return "?";
}

void auth_proto_parser_init(struct auth_proto_parser *p)
{
        memset(p, 0, sizeof(*p));
        buf_init(&p->line, AUTHC_LINE_MAX);
}

void auth_proto_parser_release(struct auth_proto_parser *p)
{
        if (p->line.data != NULL)
                explicit_bzero(p->line.data, p->line.size);
        buf_release(&p->line);
        memset(p, 0, sizeof(*p));
}

int auth_proto_ip_normalize(const char *in, char *out, size_t size)
{
        unsigned char addr[16];
        char text[INET6_ADDRSTRLEN];

        if (strlen(in) >= AUTHC_IP_MAX)
                return -1;
        if (inet_pton(AF_INET, in, addr) == 1) {
                if (inet_ntop(AF_INET, addr, text, sizeof(text)) == NULL)
                        return -1;
        } else if (inet_pton(AF_INET6, in, addr) == 1) {
                static const unsigned char mapped[12] = {
                        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

                if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
                        if (inet_ntop(AF_INET, addr + 12, text,
                                      sizeof(text)) == NULL)
                                return -1;
                } else if (inet_ntop(AF_INET6, addr, text,
                                     sizeof(text)) == NULL) {
                        return -1;
                }
        } else {
                return -1;
        }
        if (strlen(text) >= size)
                return -1;
        memcpy(out, text, strlen(text) + 1);
        return 0;
}

/* only_chars - 1 if s is 1..max bytes, each in set (ASCII letters and
 * digits always allowed) */
static int only_chars(const char *s, size_t max, const char *set)
{
        size_t n = strlen(s);

        if (n == 0 || n > max)
                return 0;
        for (; *s != '\0'; s++)
                if (!isalnum((unsigned char)*s) &&
                    (*set == '\0' || strchr(set, *s) == NULL))
                        return 0;
        return 1;
}

/* set_ip - normalize an address field into slot; allow_empty for rip and
 * lip, which a front end may not know */
static int set_ip(const char *value, int allow_empty, char *slot,
                  const char **out_r)
{
        if (*value == '\0' && allow_empty) {
                slot[0] = '\0';
        } else if (auth_proto_ip_normalize(value, slot,
                                           AUTH_PROTO_IP_SIZE) < 0) {
                return -1;
        }
        *out_r = slot;
        return 0;
}

/* field_set - check one positional field and store it in req; 0 or -1
 * with st */
static int field_set(struct auth_proto_parser *p, enum field_kind kind,
                     char *value, struct auth_proto_req *req,
                     struct status *st)
{
        switch (kind) {
        case F_USER:
                if (strlen(value) > AUTHC_USER_MAX)
                        return status_set(st, STATUS_SYNTAX,
                                          "user name too long");
                req->user = value;
                return 0;
        case F_PASSWORD:
                if (strlen(value) > AUTHC_PASSWORD_MAX)
                        return status_set(st, STATUS_SYNTAX,
                                          "password too long");
                req->password = value;
                return 0;
        case F_SERVICE:
                for (char *s = value; *s != '\0'; s++)
                        *s = (char)tolower((unsigned char)*s);
                if (!only_chars(value, AUTHC_SERVICE_MAX, "-"))
                        return status_set(st, STATUS_SYNTAX,
                                          "malformed service name");
                req->service = value;
                return 0;
        case F_RIP:
                if (set_ip(value, 1, p->rip, &req->rip) < 0)
                        return status_set(st, STATUS_SYNTAX,
                                          "malformed client address");
                return 0;
        case F_LIP:
                if (set_ip(value, 1, p->lip, &req->lip) < 0)
                        return status_set(st, STATUS_SYNTAX,
                                          "malformed local address");
                return 0;
        case F_IP:
                if (set_ip(value, 0, p->ip, &req->ip) < 0)
                        return status_set(st, STATUS_SYNTAX,
                                          "malformed address");
                return 0;
        case F_SECURED:
                if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0)
                        return status_set(st, STATUS_SYNTAX,
                                          "secured must be 0 or 1");
                req->secured = value[0] == '1';
                return 0;
        case F_MECH:
                for (char *s = value; *s != '\0'; s++)
                        *s = (char)toupper((unsigned char)*s);
                if (!only_chars(value, AUTHC_MECH_MAX, "-_"))
                        return status_set(st, STATUS_SYNTAX,
                                          "malformed mechanism name");
                req->mech = value;
                return 0;
        case F_TOKEN:
                if (!only_chars(value, AUTHC_TOKEN_MAX, ""))
                        return status_set(st, STATUS_SYNTAX,
                                          "malformed token");
                req->token = value;
                return 0;
        case F_DATA:
                /* the client's text: not base64 is the worker's "syntax"
                 * answer, not a protocol error of the front end */
                if (strlen(value) > AUTHC_SASL_MAX)
                        return status_set(st, STATUS_SYNTAX,
                                          "SASL data too long");
                req->data = value;
                return 0;
        }
        return status_set(st, STATUS_SYNTAX, "bad field");
}

/* parse_id - "1".."4294967295" without leading zeros into req->id */
static int parse_id(const char *s, struct auth_proto_req *req)
{
        size_t n = strlen(s);

        if (n == 0 || n > AUTH_PROTO_ID_MAX || s[0] == '0')
                return -1;
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return -1;
        if (n == AUTH_PROTO_ID_MAX && strcmp(s, "4294967295") > 0)
                return -1;
        memcpy(req->id, s, n + 1);
        return 0;
}

static int parse_version(char **f, size_t n, struct auth_proto_req *req,
                         struct status *st)
{
        char *end;

        req->cmd = AUTH_PROTO_VERSION;
        req->id[0] = '\0';
        if (n != 3)
                return status_set(st, STATUS_SYNTAX,
                                  "VERSION wants a major and a minor number");
        for (size_t i = 1; i < 3; i++)
                if (f[i][0] < '0' || f[i][0] > '9' || strlen(f[i]) > 5)
                        return status_set(st, STATUS_SYNTAX,
                                          "malformed version");
        req->major = strtoul(f[1], &end, 10);
        if (*end != '\0')
                return status_set(st, STATUS_SYNTAX, "malformed version");
        req->minor = strtoul(f[2], &end, 10);
        if (*end != '\0')
                return status_set(st, STATUS_SYNTAX, "malformed version");
        return 0;
}

/* id_prefix - the id of a line that is cut short: "WORD\tID\t..." */
static void id_prefix(const char *data, size_t len, struct auth_proto_req *req)
{
        const char *tab = memchr(data, '\t', len);
        char id[AUTH_PROTO_ID_MAX + 1];
        size_t i = 0;

        if (tab == NULL)
                return;
        for (tab++; tab < data + len && *tab != '\t' && i < sizeof(id) - 1;
             tab++)
                id[i++] = *tab;
        id[i] = '\0';
        if (tab < data + len && *tab == '\t')
                (void)parse_id(id, req);
}

/* parse_line - one whole line (NUL-terminated at len, modified in place) */
static int parse_line(struct auth_proto_parser *p, char *line, size_t len,
                      struct auth_proto_req *req, struct status *st)
{
        char *f[AUTHC_FIELDS_MAX];
        const struct proto_cmd *c = NULL;
        size_t n;

        if (len > 0 && line[len - 1] == '\r')
                line[--len] = '\0';
        if (len == 0)
                return status_set(st, STATUS_SYNTAX, "empty line");
        if (memchr(line, '\0', len) != NULL) {
                id_prefix(line, len, req);
                return status_set(st, STATUS_SYNTAX, "NUL in line");
        }
        n = authc_split(line, len, f, AUTHC_FIELDS_MAX);
        /* the id first, so that every later error can name it */
        if (n >= 2)
                (void)parse_id(f[1], req);
        if (n > AUTHC_FIELDS_MAX)
                return status_set(st, STATUS_SYNTAX, "too many fields");
        for (size_t i = 0; i < n; i++)
                if (authc_unescape(f[i], strlen(f[i])) < 0)
                        return status_set(st, STATUS_SYNTAX,
                                          "bad escape or NUL in field %zu",
                                          i + 1);
        if (strcmp(f[0], "VERSION") == 0)
                return parse_version(f, n, req, st);
        for (size_t i = 0; i < CMD_COUNT; i++)
                if (strcmp(f[0], cmd_table[i].name) == 0)
                        c = &cmd_table[i];
        if (c == NULL)
                return status_set(st, STATUS_SYNTAX, "unknown command %.32s",
                                  f[0]);
        req->cmd = c->cmd;
        if (n < 2 || req->id[0] == '\0')
                return status_set(st, STATUS_SYNTAX,
                                  "%s: missing or malformed id", c->name);
        if (n < 2 + c->nfields)
                return status_set(st, STATUS_SYNTAX,
                                  "%s: %zu field%s missing", c->name,
                                  2 + c->nfields - n,
                                  2 + c->nfields - n == 1 ? "" : "s");
        for (size_t i = 0; i < c->nfields; i++)
                if (field_set(p, c->fields[i], f[2 + i], req, st) < 0)
                        return -1;
        for (size_t i = 2 + c->nfields; i < n; i++) {
                const char *v;

                if ((c->options & OPT_TOKEN) && strcmp(f[i], "token") == 0) {
                        req->want_token = 1;
                } else if ((c->options & OPT_RESP) &&
                           (v = authc_field_value(f[i], "resp")) != NULL) {
                        if (field_set(p, F_DATA, f[i] + 5, req, st) < 0)
                                return -1;
                        req->has_data = 1;
                } else {
                        return status_set(st, STATUS_SYNTAX,
                                          "%s: unexpected field %zu",
                                          c->name, i + 1);
                }
        }
        return 0;
}

int auth_proto_parse(struct auth_proto_parser *p, const char *data,
                     size_t len, size_t *used_r, struct auth_proto_req *req,
                     struct status *st)
{
        size_t used = 0;

        memset(req, 0, sizeof(*req));
        if (p->returned) {
                explicit_bzero(p->line.data, p->line.len);
                buf_reset(&p->line);
                p->returned = 0;
        }
        while (used < len) {
                const char *lf = memchr(data + used, '\n', len - used);
                size_t take = lf != NULL ? (size_t)(lf - (data + used))
                                         : len - used;

                if (p->skipping) {
                        used += take;
                        if (lf == NULL)
                                break;
                        used++;
                        p->skipping = 0;
                        continue;
                }
                if (buf_append(&p->line, data + used, take) < 0) {
                        /* past the limit: report now (naming the id the
                         * line starts with), drop the rest to the LF */
                        size_t room = AUTHC_LINE_MAX - p->line.len;

                        (void)buf_append(&p->line, data + used,
                                         room < take ? room : take);
                        id_prefix(p->line.data, p->line.len, req);
                        explicit_bzero(p->line.data, p->line.len);
                        buf_reset(&p->line);
                        p->skipping = 1;
                        used += take;
                        if (lf != NULL) {
                                used++;
                                p->skipping = 0;
                        }
                        *used_r = used;
                        return status_set(st, STATUS_SYNTAX,
                                          "line longer than %d bytes",
                                          AUTHC_LINE_MAX);
                }
                used += take;
                if (lf == NULL)
                        break;
                used++;
                *used_r = used;
                p->returned = 1;
                if (parse_line(p, p->line.data, p->line.len, req, st) < 0)
                        return AUTH_PROTO_ERROR;
                return AUTH_PROTO_REQUEST;
        }
        *used_r = used;
        return AUTH_PROTO_MORE;
}

/* --- replies --- */

static void put(struct buf *out, const char *s)
{
        buf_putc(out, '\t');
        authc_escape(out, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

void auth_proto_put_version(struct buf *out)
{
        buf_printf(out, "VERSION\t%d\t%d\n", AUTHC_PROTO_MAJOR,
                   AUTHC_PROTO_MINOR);
}

void auth_proto_put_word(struct buf *out, const char *word, const char *id)
{
        buf_printf(out, "%s\t%s\n", word, *id != '\0' ? id : "-");
}

void auth_proto_put_text(struct buf *out, const char *word, const char *id,
                         const char *text)
{
        buf_printf(out, "%s\t%s", word, *id != '\0' ? id : "-");
        put(out, text);
        buf_putc(out, '\n');
}

void auth_proto_put_kv(struct buf *out, const char *word, const char *id,
                       const char *key, const char *value)
{
        buf_printf(out, "%s\t%s\t%s=", word, id, key);
        authc_escape(out, value, strlen(value));
        buf_putc(out, '\n');
}

void auth_proto_put_fail(struct buf *out, const char *id, const char *code,
                         const char *text)
{
        buf_printf(out, "FAIL\t%s\t%s", id, code);
        put(out, text);
        buf_putc(out, '\n');
}

void auth_proto_put_cont(struct buf *out, const char *id,
                         const char *challenge)
{
        buf_printf(out, "CONT\t%s", id);
        put(out, challenge);
        buf_putc(out, '\n');
}

/* put_kv - TAB key=value, escaped */
static void put_kv(struct buf *out, const char *key, const char *value)
{
        buf_printf(out, "\t%s=", key);
        authc_escape(out, value, strlen(value));
}

void auth_proto_user_fields(struct buf *out, const struct auth_user *u)
{
        put_kv(out, "user", u->name);
        buf_printf(out, "\tuid=%lu\tgid=%lu", (unsigned long)u->uid,
                   (unsigned long)u->gid);
        put_kv(out, "home", u->home != NULL ? u->home : "");
        put_kv(out, "mail", u->mail != NULL ? u->mail : "");
        buf_printf(out, "\tquota_bytes=%lld\tquota_messages=%lld"
                   "\tbackend=%s\tenabled=%d", u->quota_bytes,
                   u->quota_messages,
                   u->backend == AUTH_BACKEND_PAM ? "pam" : "sqlite",
                   u->enabled ? 1 : 0);
}

void auth_proto_put_user(struct buf *out, const char *id,
                         const struct auth_user *u, const char *token)
{
        buf_printf(out, "OK\t%s", id);
        auth_proto_user_fields(out, u);
        if (token != NULL)
                put_kv(out, "token", token);
        buf_putc(out, '\n');
}

void auth_proto_put_pbs(struct buf *out, const char *word, const char *id,
                        const char *ip, const char *user, long long expires)
{
        buf_printf(out, "%s\t%s", word, id);
        put_kv(out, "ip", ip);
        put_kv(out, "user", user);
        buf_printf(out, "\texpires=%lld\n", expires);
}

/* user_num - a decimal number up to max; 0 or -1 */
static int user_num(const char *s, long long max, long long *v_r)
{
        char *end;
        long long v;

        if (*s < '0' || *s > '9')
                return -1;
        v = strtoll(s, &end, 10);
        if (*end != '\0' || v < 0 || v > max)
                return -1;
        *v_r = v;
        return 0;
}

struct auth_user *auth_proto_user_parse(char **f, size_t n)
{
        struct auth_user *u = xcalloc(1, sizeof(*u));
        long long v = 0;
        int bad = 0;

        u->backend = AUTH_BACKEND_SQLITE;
        u->enabled = 1;
        for (size_t i = 0; i < n && !bad; i++) {
                const char *val;

                if ((val = authc_field_value(f[i], "user")) != NULL) {
                        free(u->name);
                        u->name = xstrdup(val);
                } else if ((val = authc_field_value(f[i], "uid")) != NULL) {
                        bad = user_num(val, 4294967295LL, &v) < 0;
                        u->uid = (uid_t)v;
                } else if ((val = authc_field_value(f[i], "gid")) != NULL) {
                        bad = user_num(val, 4294967295LL, &v) < 0;
                        u->gid = (gid_t)v;
                } else if ((val = authc_field_value(f[i], "home")) != NULL) {
                        free(u->home);
                        u->home = xstrdup(val);
                } else if ((val = authc_field_value(f[i], "mail")) != NULL) {
                        free(u->mail);
                        u->mail = xstrdup(val);
                } else if ((val = authc_field_value(f[i], "quota_bytes"))
                           != NULL) {
                        bad = user_num(val, 0x7fffffffffffffffLL,
                                       &u->quota_bytes) < 0;
                } else if ((val = authc_field_value(f[i], "quota_messages"))
                           != NULL) {
                        bad = user_num(val, 0x7fffffffffffffffLL,
                                       &u->quota_messages) < 0;
                } else if ((val = authc_field_value(f[i], "backend"))
                           != NULL) {
                        u->backend = strcmp(val, "pam") == 0 ?
                                     AUTH_BACKEND_PAM : AUTH_BACKEND_SQLITE;
                } else if ((val = authc_field_value(f[i], "enabled"))
                           != NULL) {
                        u->enabled = strcmp(val, "0") != 0;
                }
        }
        if (bad || u->name == NULL || *u->name == '\0') {
                auth_user_free(&u);
                return NULL;
        }
        if (u->home == NULL)
                u->home = xstrdup("");
        if (u->mail == NULL)
                u->mail = xstrdup("");
        return u;
}
