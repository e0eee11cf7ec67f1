/* auth_user.c - who a login name is: canonical name, uid, gid, home, mail
 * Used by: authd's workers and yubinctl. Canonical names, Dovecot-style
 * mail_location expansion, the virtual owner (virtual_uid_maps static:N),
 * and the walk over auth_backends that look-ups and password checks share.
 * The rules that keep a name safe inside a path (%n and %d end up in
 * directory names) live in local_check() and domain_check(): no '/', no
 * leading dot, no "..".
 * Root never owns mail: uid 0 from a row or a map is refused, and system
 * user root is not a mailbox. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth_db.h"
#include "auth_pam.h"
#include "auth_pass.h"
#include "auth_user.h"
#include "buf.h"
#include "cfg.h"
#include "mem.h"
#include "priv.h"
#include "status.h"

/* the most a uid or gid from a map or a row may be */
#define USER_ID_MAX 4294967294LL

/* local-part characters besides letters and digits: RFC 5322 atext
 * without '/' (paths) and '%' (old source routes), plus '.' */
static const char user_local_chars[] = "!#$&'*+-=?^_`{|}~.";

/* local_check - NULL if s (n bytes, lower case) is a usable local part,
 * else what is wrong */
static const char *local_check(const char *s, size_t n)
{
        if (n == 0)
                return "empty user name";
        if (n > AUTH_USER_LOCAL_MAX)
                return "user name too long";
        if (s[0] == '.' || s[n - 1] == '.')
                return "user name starts or ends with a dot";
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];

                if (c == '.' && i + 1 < n && s[i + 1] == '.')
                        return "two dots in a row";
                if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') &&
                    (c == '\0' || strchr(user_local_chars, c) == NULL))
                        return "character not allowed in a user name";
        }
        return NULL;
}

/* domain_check - NULL if s (n bytes, lower case) is a usable domain name,
 * else what is wrong */
static const char *domain_check(const char *s, size_t n)
{
        size_t label = 0;

        if (n == 0)
                return "empty domain";
        if (n > 253)
                return "domain too long";
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];

                if (c == '.') {
                        if (label == 0)
                                return "empty label in domain";
                        label = 0;
                        continue;
                }
                if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') &&
                    c != '-' && c != '_')
                        return "character not allowed in a domain";
                if (++label > 63)
                        return "domain label longer than 63";
        }
        if (label == 0)
                return "domain ends with a dot";
        return NULL;
}

/* lower_copy - a lower-case copy of s (ASCII letters only) */
static char *lower_copy(const char *s)
{
        char *t = xstrdup(s);

        for (char *p = t; *p != '\0'; p++)
                *p = (char)tolower((unsigned char)*p);
        return t;
}

int auth_user_canonical(const char *name, const char *local_domain,
                        char **canon_r, struct status *st)
{
        const char *error;
        const char *at;
        char *canon;

        *canon_r = NULL;
        if (strlen(name) > AUTH_USER_NAME_MAX)
                return status_set(st, STATUS_SYNTAX, "name too long");
        canon = lower_copy(name);
        at = strchr(canon, '@');
        if (at == NULL && local_domain != NULL && *local_domain != '\0') {
                char *full = xasprintf("%s@%s", canon, local_domain);

                free(canon);
                canon = lower_copy(full);
                free(full);
                at = strchr(canon, '@');
        }
        if (at == NULL) {
                error = local_check(canon, strlen(canon));
        } else if (strchr(at + 1, '@') != NULL) {
                error = "more than one '@'";
        } else {
                error = local_check(canon, (size_t)(at - canon));
                if (error == NULL)
                        error = domain_check(at + 1, strlen(at + 1));
        }
        if (error == NULL && strlen(canon) > AUTH_USER_NAME_MAX)
                error = "name too long";
        if (error != NULL) {
                free(canon);
                return status_set(st, STATUS_SYNTAX, "%s", error);
        }
        *canon_r = canon;
        return 0;
}

int auth_user_canonical_domain(const char *domain, char **canon_r,
                               struct status *st)
{
        char *canon = lower_copy(domain);
        const char *error = domain_check(canon, strlen(canon));

        *canon_r = NULL;
        if (error != NULL) {
                free(canon);
                return status_set(st, STATUS_SYNTAX, "%s", error);
        }
        *canon_r = canon;
        return 0;
}

int auth_user_system_name(const char *canonical, const char *local_domain,
                          char **name_r)
{
        const char *at = strchr(canonical, '@');

        *name_r = NULL;
        if (at == NULL) {
                *name_r = xstrdup(canonical);
                return 1;
        }
        if (local_domain == NULL || *local_domain == '\0' ||
            strcasecmp(at + 1, local_domain) != 0)
                return 0;
        *name_r = xstrndup(canonical, (size_t)(at - canonical));
        return 1;
}

int auth_user_expand(const char *tmpl, const char *name, const char *home,
                     char **out_r, struct status *st)
{
        const char *at = strchr(name, '@');
        size_t local_len = at != NULL ? (size_t)(at - name) : strlen(name);
        const char *domain = at != NULL ? at + 1 : "";
        const char *p = tmpl;
        struct buf b;
        int full = 0;

        *out_r = NULL;
        if (home == NULL)
                home = "";
        buf_init(&b, AUTH_USER_PATH_MAX);
        /* "type:" prefix (maildir:), then "~" for home as Dovecot has it */
        size_t type_len = strspn(p, "abcdefghijklmnopqrstuvwxyz");
        if (type_len > 0 && p[type_len] == ':') {
                full |= buf_append(&b, p, type_len + 1);
                p += type_len + 1;
        }
        if (p[0] == '~' && (p[1] == '/' || p[1] == '\0' || p[1] == ':')) {
                if (*home == '\0')
                        goto no_home;
                full |= buf_puts(&b, home);
                p++;
        }
        for (; *p != '\0'; p++) {
                if (*p != '%') {
                        full |= buf_putc(&b, *p);
                        continue;
                }
                p++;
                if (*p == 'L')
                        p++;
                switch (*p) {
                case 'u':
                        full |= buf_puts(&b, name);
                        break;
                case 'n':
                        full |= buf_append(&b, name, local_len);
                        break;
                case 'd':
                        full |= buf_puts(&b, domain);
                        break;
                case 'h':
                        if (*home == '\0')
                                goto no_home;
                        full |= buf_puts(&b, home);
                        break;
                case '%':
                        full |= buf_putc(&b, '%');
                        break;
                case '\0':
                        buf_release(&b);
                        return status_set(st, STATUS_CONFIG_TEMP,
                                          "mail location %s ends in %%", tmpl);
                default:
                        buf_release(&b);
                        return status_set(st, STATUS_CONFIG_TEMP,
                                          "mail location %s: unknown "
                                          "variable %%%c", tmpl, *p);
                }
        }
        if (full) {
                buf_release(&b);
                return status_set(st, STATUS_CONFIG_TEMP,
                                  "mail location %s for %s: longer than %d",
                                  tmpl, name, AUTH_USER_PATH_MAX);
        }
        *out_r = buf_steal(&b);
        return 0;
no_home:
        buf_release(&b);
        return status_set(st, STATUS_CONFIG_TEMP,
                          "mail location %s needs a home, and %s has none",
                          tmpl, name);
}

/* user_home_mail - "maildir:HOME/home_mailbox" without a trailing slash */
static int user_home_mail(const struct auth_user_conf *conf, const char *name,
                          const char *home, char **mail_r, struct status *st)
{
        const char *box = conf->home_mailbox != NULL ? conf->home_mailbox : "";
        size_t box_len;

        *mail_r = NULL;
        if (home == NULL || *home == '\0')
                return status_set(st, STATUS_CONFIG_TEMP,
                                  "%s has no home directory for "
                                  "home_mailbox", name);
        while (*box == '/')
                box++;
        box_len = strlen(box);
        while (box_len > 0 && box[box_len - 1] == '/')
                box_len--;
        if (box_len == 0) {
                box = "Maildir";
                box_len = 7;
        }
        *mail_r = xasprintf("maildir:%s%s%.*s", home,
                            home[strlen(home) - 1] == '/' ? "" : "/",
                            (int)box_len, box);
        return 0;
}

void auth_user_free(struct auth_user **up)
{
        struct auth_user *u;

        if (up == NULL || *up == NULL)
                return;
        u = *up;
        free(u->name);
        free(u->home);
        free(u->mail);
        free(u);
        *up = NULL;
}

int auth_user_from_row(const struct auth_user_conf *conf,
                       const struct auth_db_user *row,
                       struct auth_user **user_r, struct status *st)
{
        const char *home = row->home != NULL ? row->home : "";
        struct auth_user *u;
        char *mail = NULL;
        long long uid = row->uid;
        long long gid = row->gid;

        *user_r = NULL;
        if ((uid < 0 || gid < 0) && !conf->virtual_ids)
                return status_set(st, STATUS_CONFIG_TEMP, "%s: %s",
                                  row->address, conf->virtual_ids_error);
        if (uid < 0)
                uid = conf->virtual_uid;
        if (gid < 0)
                gid = conf->virtual_gid;
        if (uid == 0 || gid == 0 || uid > USER_ID_MAX || gid > USER_ID_MAX)
                return status_set(st, STATUS_CONFIG_TEMP,
                                  "%s: uid %lld gid %lld: root may not own "
                                  "mail", row->address, uid, gid);
        if (row->mail != NULL && *row->mail != '\0') {
                if (auth_user_expand(row->mail, row->address, home, &mail,
                                     st) < 0)
                        return -1;
        } else if (conf->mail_location != NULL &&
                   *conf->mail_location != '\0') {
                if (auth_user_expand(conf->mail_location, row->address, home,
                                     &mail, st) < 0)
                        return -1;
        } else if (*home != '\0') {
                if (user_home_mail(conf, row->address, home, &mail, st) < 0)
                        return -1;
        } else {
                return status_set(st, STATUS_CONFIG_TEMP,
                                  "%s: mail_location is not set and the "
                                  "user has no home", row->address);
        }
        u = xcalloc(1, sizeof(*u));
        u->name = xstrdup(row->address);
        u->backend = AUTH_BACKEND_SQLITE;
        u->uid = (uid_t)uid;
        u->gid = (gid_t)gid;
        u->home = xstrdup(home);
        u->mail = mail;
        u->quota_bytes = row->quota_bytes;
        u->quota_messages = row->quota_messages;
        u->enabled = row->enabled;
        *user_r = u;
        return 0;
}

/* user_from_system - the record for a system user found by getpwnam */
static int user_from_system(const struct auth_user_conf *conf,
                            const char *canonical, uid_t uid, gid_t gid,
                            const char *home, struct auth_user **user_r,
                            struct status *st)
{
        struct auth_user *u;
        char *mail;

        *user_r = NULL;
        if (user_home_mail(conf, canonical, home, &mail, st) < 0)
                return -1;
        u = xcalloc(1, sizeof(*u));
        u->name = xstrdup(canonical);
        u->backend = AUTH_BACKEND_PAM;
        u->uid = uid;
        u->gid = gid;
        u->home = xstrdup(home);
        u->mail = mail;
        u->enabled = 1;
        *user_r = u;
        return 0;
}

/* user_system - getpwnam for canonical's system name: 1 with uid, gid,
 * home (new string) and sysname (new string), 0 not a system user (other
 * domain, unknown, or root), -1 with st */
static int user_system(const struct auth_user_conf *conf,
                       const char *canonical, char **sysname_r, uid_t *uid_r,
                       gid_t *gid_r, char **home_r, struct status *st)
{
        int ret;

        *home_r = NULL;
        if (!auth_user_system_name(canonical, conf->local_domain, sysname_r))
                return 0;
        ret = auth_pam_getpw(*sysname_r, uid_r, gid_r, home_r, st);
        if (ret == 1 && *uid_r == 0) {
                status_set(st, STATUS_BAD_MAILBOX,
                           "%s: system user with uid 0", *sysname_r);
                xfree(home_r);
                ret = 0;
        }
        if (ret != 1)
                xfree(sysname_r);
        return ret;
}

int auth_user_lookup(const struct auth_user_conf *conf, struct auth_db *db,
                     const char *name, struct auth_user **user_r,
                     struct status *st)
{
        struct auth_db_user *row;
        char *canon;
        int ret = 0;

        *user_r = NULL;
        if (auth_user_canonical(name, conf->local_domain, &canon, st) < 0)
                return 0;
        for (size_t i = 0; i < conf->backend_count && ret == 0; i++) {
                if (conf->backends[i] == AUTH_BACKEND_SQLITE) {
                        if (db == NULL) {
                                ret = status_set(st, STATUS_LOCAL_IO,
                                                 "user database not open");
                                break;
                        }
                        if (strchr(canon, '@') == NULL)
                                continue;       /* addresses only */
                        ret = auth_db_user_get(db, canon, &row, st);
                        if (ret == 1) {
                                if (auth_user_from_row(conf, row, user_r,
                                                       st) < 0)
                                        ret = -1;
                                auth_db_user_free(&row);
                        }
                } else {
                        char *sysname;
                        char *home;
                        uid_t uid;
                        gid_t gid;

                        ret = user_system(conf, canon, &sysname, &uid, &gid,
                                          &home, st);
                        if (ret == 1) {
                                if (user_from_system(conf, canon, uid, gid,
                                                     home, user_r, st) < 0)
                                        ret = -1;
                                free(sysname);
                                free(home);
                        }
                }
        }
        free(canon);
        return ret;
}

/* user_status_prefix - put "who: " in front of st's text; returns -1 */
static int user_status_prefix(struct status *st, const char *who)
{
        char code[sizeof(st->code)];
        char text[STATUS_TEXT_MAX];

        memcpy(code, st->code, sizeof(code));
        memcpy(text, st->text, sizeof(text));
        return status_set(st, code, "%s: %s", who, text);
}

/* user_verify_sqlite - the sqlite backend's part of a password check:
 * 2 not here (try the next backend), else verify's 1, 0 or -1 */
static int user_verify_sqlite(const struct auth_user_conf *conf,
                              struct auth_db *db, const char *canon,
                              const char *password, struct auth_user **user_r,
                              struct status *st)
{
        struct auth_db_user *row;
        int ret;

        if (db == NULL)
                return status_set(st, STATUS_LOCAL_IO,
                                  "user database not open");
        if (strchr(canon, '@') == NULL)
                return 2;               /* addresses only */
        ret = auth_db_user_get(db, canon, &row, st);
        if (ret <= 0)
                return ret == 0 ? 2 : -1;
        if (!row->enabled) {
                status_set(st, STATUS_POLICY, "%s: account disabled", canon);
                ret = 0;
        } else {
                ret = auth_pass_verify(password, row->password, st);
                if (ret == 0)
                        status_set(st, STATUS_POLICY, "%s: wrong password",
                                   canon);
                else if (ret < 0)
                        user_status_prefix(st, canon);
        }
        if (ret == 1 && auth_user_from_row(conf, row, user_r, st) < 0)
                ret = -1;
        auth_db_user_free(&row);
        return ret;
}

/* user_verify_pam - the PAM backend's part: 2 not a system user, else
 * verify's 1, 0 or -1 */
static int user_verify_pam(const struct auth_user_conf *conf,
                           const char *canon, const char *password,
                           const char *rhost, struct auth_user **user_r,
                           struct status *st)
{
        char *sysname;
        char *home;
        uid_t uid;
        gid_t gid;
        int ret;

        /* ask the passwd database first: pam_unix answers "wrong
         * password" for unknown users, which would end the walk */
        ret = user_system(conf, canon, &sysname, &uid, &gid, &home, st);
        if (ret <= 0)
                return ret == 0 ? 2 : -1;
        ret = auth_pam_verify(conf->pam_service, conf->pam_confdir, sysname,
                              password, rhost, st);
        if (ret == 1 &&
            user_from_system(conf, canon, uid, gid, home, user_r, st) < 0)
                ret = -1;
        free(sysname);
        free(home);
        return ret;
}

int auth_user_verify(const struct auth_user_conf *conf, struct auth_db *db,
                     const char *name, const char *password,
                     const char *rhost, struct auth_user **user_r,
                     struct status *st)
{
        char *canon;
        int ret = 2;

        *user_r = NULL;
        if (auth_user_canonical(name, conf->local_domain, &canon, st) < 0) {
                status_set(st, STATUS_POLICY, "malformed user name");
                return 0;
        }
        for (size_t i = 0; i < conf->backend_count && ret == 2; i++) {
                if (conf->backends[i] == AUTH_BACKEND_SQLITE)
                        ret = user_verify_sqlite(conf, db, canon, password,
                                                 user_r, st);
                else
                        ret = user_verify_pam(conf, canon, password, rhost,
                                              user_r, st);
        }
        if (ret == 2) {
                status_set(st, STATUS_POLICY, "%s: unknown user", canon);
                ret = 0;
        }
        free(canon);
        return ret;
}

/* conf_static_id - the number in a virtual_*_maps value "static:N" */
static int conf_static_id(const char *param, const char *value,
                          long long *id_r, struct status *st)
{
        long long id;

        if (strncmp(value, "static:", 7) != 0 ||
            cfg_parse_int(value + 7, &id) < 0)
                return status_set(st, STATUS_CONFIG,
                                  "%s = %s: only static:NUMBER is supported",
                                  param, value);
        if (id <= 0 || id > USER_ID_MAX)
                return status_set(st, STATUS_CONFIG,
                                  "%s = %s: %s", param, value,
                                  id == 0 ? "root may not own mail"
                                          : "out of range");
        *id_r = id;
        return 0;
}

/* conf_trimmed - value with surrounding white space removed, new string */
static char *conf_trimmed(const char *value)
{
        size_t n;

        while (isspace((unsigned char)*value))
                value++;
        n = strlen(value);
        while (n > 0 && isspace((unsigned char)value[n - 1]))
                n--;
        return xstrndup(value, n);
}

/* conf_virtual_ids - who owns virtual mail */
static int conf_virtual_ids(struct cfg *c, int privileged,
                            const struct priv *owner,
                            struct auth_user_conf *conf, struct status *st)
{
        char *uid_map = conf_trimmed(cfg_get(c, "virtual_uid_maps"));
        char *gid_map = conf_trimmed(cfg_get(c, "virtual_gid_maps"));
        long long uid, gid;
        int ret = -1;

        if (!privileged) {
                /* everything runs as the invoking user */
                conf->virtual_ids = 1;
                conf->virtual_uid = owner->uid;
                conf->virtual_gid = owner->gid;
                ret = 0;
        } else if (*uid_map == '\0' || *gid_map == '\0') {
                snprintf(conf->virtual_ids_error,
                         sizeof(conf->virtual_ids_error),
                         "virtual_uid_maps and virtual_gid_maps must be "
                         "set (static:NUMBER) to own virtual mail");
                ret = 0;
        } else if (conf_static_id("virtual_uid_maps", uid_map, &uid, st) == 0 &&
                   conf_static_id("virtual_gid_maps", gid_map, &gid, st) == 0) {
                conf->virtual_ids = 1;
                conf->virtual_uid = (uid_t)uid;
                conf->virtual_gid = (gid_t)gid;
                ret = 0;
        }
        free(uid_map);
        free(gid_map);
        return ret;
}

/* conf_backends - auth_backends into conf->backends */
static int conf_backends(struct cfg *c, struct auth_user_conf *conf,
                         struct status *st)
{
        size_t count;
        char **list = cfg_get_list(c, "auth_backends", &count);
        int ret = 0;

        for (size_t i = 0; i < count && ret == 0; i++) {
                enum auth_backend b;

                if (strcasecmp(list[i], "sqlite") == 0)
                        b = AUTH_BACKEND_SQLITE;
                else if (strcasecmp(list[i], "pam") == 0)
                        b = AUTH_BACKEND_PAM;
                else {
                        ret = status_set(st, STATUS_CONFIG,
                                         "auth_backends: unknown backend "
                                         "%s (known: sqlite, pam)", list[i]);
                        break;
                }
                for (size_t j = 0; j < conf->backend_count; j++)
                        if (conf->backends[j] == b)
                                ret = status_set(st, STATUS_CONFIG,
                                                 "auth_backends: %s given "
                                                 "twice", list[i]);
                if (ret == 0)
                        conf->backends[conf->backend_count++] = b;
        }
        if (ret == 0 && conf->backend_count == 0)
                ret = status_set(st, STATUS_CONFIG, "auth_backends is empty");
        cfg_list_free(&list);
        return ret;
}

int auth_user_conf_load(struct cfg *c, int privileged,
                        const struct priv *owner,
                        struct auth_user_conf *conf_r, struct status *st)
{
        struct auth_user_conf *conf = conf_r;
        char *local;

        memset(conf, 0, sizeof(*conf));
        conf->pam_service = AUTH_PAM_SERVICE;
        if (conf_backends(c, conf, st) < 0)
                goto fail;
        for (size_t i = 0; i < conf->backend_count; i++)
                if (conf->backends[i] == AUTH_BACKEND_SQLITE &&
                    auth_db_parse(cfg_get(c, "user_database"), &conf->db_path,
                                  st) < 0)
                        goto fail;
        local = conf_trimmed(cfg_get(c, "smtpd_sasl_local_domain"));
        if (*local == '\0') {
                conf->local_domain = local;
        } else {
                if (auth_user_canonical_domain(local, &conf->local_domain,
                                               st) < 0) {
                        char why[STATUS_TEXT_MAX];

                        memcpy(why, st->text, sizeof(why));
                        status_set(st, STATUS_CONFIG,
                                   "smtpd_sasl_local_domain = %s: %s", local,
                                   why);
                        free(local);
                        goto fail;
                }
                free(local);
        }
        conf->mail_location = conf_trimmed(cfg_get(c, "mail_location"));
        conf->home_mailbox = conf_trimmed(cfg_get(c, "home_mailbox"));
        if (conf_virtual_ids(c, privileged, owner, conf, st) < 0)
                goto fail;
        return 0;
fail:
        auth_user_conf_release(conf);
        return -1;
}

void auth_user_conf_release(struct auth_user_conf *conf)
{
        free(conf->db_path);
        free(conf->local_domain);
        free(conf->mail_location);
        free(conf->home_mailbox);
        free(conf->pam_confdir);
        memset(conf, 0, sizeof(*conf));
}
