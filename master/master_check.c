/* master_check.c - `yubin check` and the directories a start needs
 * Used by: yubin. Reports every problem it can see, as `postfix check`
 * does: configuration, the mail_owner account, directories and their
 * owners, config file permissions, daemons, and the files lookup tables
 * name. Creates queue_directory and data_directory at start. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "mem.h"
#include "priv.h"
#include "tls.h"

/* Lookup-table types that read a file, and what the file may be called. */
static const struct {
        const char *type;
        const char *suffix;     /* compiled form, or NULL */
} file_maps[] = {
        { "hash", ".db" }, { "btree", ".db" }, { "dbm", ".dir" },
        { "lmdb", ".lmdb" }, { "cdb", ".cdb" }, { "texthash", NULL },
        { "regexp", NULL }, { "pcre", NULL }, { "cidr", NULL },
        { "sqlite", NULL },
};

/* owner - who should own data_directory: mail_owner as root, else us */
static int owner(struct cfg *cfg, struct priv *p, int quiet)
{
        struct status st;

        if (!priv_is_root()) {
                priv_self(p);
                return 0;
        }
        if (priv_lookup("mail_owner", cfg_get(cfg, "mail_owner"), p, &st) < 0) {
                if (!quiet)
                        log_error("%s", st.text);
                return -1;
        }
        return 0;
}

static int make_dir(const char *param, const char *path, mode_t mode,
                    uid_t uid, gid_t gid)
{
        struct stat sb;

        if (mkdir(path, mode) < 0 && errno != EEXIST) {
                log_error("%s = %s: cannot create: %m", param, path);
                return -1;
        }
        if (stat(path, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
                log_error("%s = %s: not a directory", param, path);
                return -1;
        }
        if (priv_is_root() && (sb.st_uid != uid || sb.st_gid != gid)) {
                if (chown(path, uid, gid) < 0) {
                        log_error("%s = %s: chown: %m", param, path);
                        return -1;
                }
        }
        if (sb.st_uid == geteuid() && (sb.st_mode & 07777) != mode)
                chmod(path, mode);
        return 0;
}

int master_dirs(struct cfg *cfg)
{
        struct priv mail;

        if (owner(cfg, &mail, 0) < 0)
                return -1;
        if (make_dir("queue_directory", cfg_get(cfg, "queue_directory"), 0755,
                     geteuid(), getegid()) < 0)
                return -1;
        if (make_dir("data_directory", cfg_get(cfg, "data_directory"), 0700,
                     mail.uid, mail.gid) < 0)
                return -1;
        return 0;
}

/* check_dir - an existing directory's owner and mode; a missing one is
 * created at start if its parent exists */
static int check_dir(const char *param, const char *path, uid_t want_uid)
{
        struct stat sb;

        if (stat(path, &sb) < 0) {
                char *parent = xstrdup(path);
                char *slash = strrchr(parent, '/');
                int errors = 0;

                if (slash != NULL && slash != parent)
                        *slash = '\0';
                if (errno != ENOENT || stat(parent, &sb) < 0) {
                        log_error("%s = %s: %m", param, path);
                        errors = 1;
                }
                free(parent);
                return errors;
        }
        if (!S_ISDIR(sb.st_mode)) {
                log_error("%s = %s: not a directory", param, path);
                return 1;
        }
        if (sb.st_uid != want_uid) {
                log_warn("%s = %s: owned by uid %lu, not %lu; fixed at start",
                         param, path, (unsigned long)sb.st_uid,
                         (unsigned long)want_uid);
        }
        if (sb.st_mode & S_IWOTH) {
                log_error("%s = %s: world-writable", param, path);
                return 1;
        }
        return 0;
}

static int check_config_file(const char *path, const struct priv *mail)
{
        struct stat sb;

        if (stat(path, &sb) < 0) {
                log_error("%s: %m", path);
                return 1;
        }
        if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
                log_error("%s: writable by group or others", path);
                return 1;
        }
        if (priv_is_root() && sb.st_uid != 0) {
                if (sb.st_uid == mail->uid)
                        log_warn("%s: owned by mail_owner %s; root should "
                                 "own configuration files", path, mail->name);
                else
                        log_warn("%s: owned by uid %lu; root should own "
                                 "configuration files", path,
                                 (unsigned long)sb.st_uid);
        }
        return 0;
}

/* check_map - a file-based lookup table's file must exist */
static int check_map(const char *param, const char *spec)
{
        while (strncmp(spec, "proxy:", 6) == 0)
                spec += 6;
        const char *colon = strchr(spec, ':');
        if (colon == NULL)
                return 0;
        for (size_t i = 0; i < sizeof(file_maps) / sizeof(file_maps[0]); i++) {
                size_t tlen = strlen(file_maps[i].type);
                if ((size_t)(colon - spec) != tlen ||
                    strncmp(spec, file_maps[i].type, tlen) != 0)
                        continue;
                const char *file = colon + 1;
                if (access(file, R_OK) == 0)
                        return 0;
                if (file_maps[i].suffix != NULL) {
                        char *compiled = xasprintf("%s%s", file,
                                                   file_maps[i].suffix);
                        int ok = access(compiled, R_OK) == 0;
                        free(compiled);
                        if (ok)
                                return 0;
                }
                log_warn("%s: lookup table %s: cannot read %s: %m", param,
                         spec, file);
                return 1;
        }
        return 0;
}

static void check_maps(struct cfg *cfg)
{
        for (size_t i = 0; i < cfg_params_count; i++) {
                const struct cfg_param *p = &cfg_params[i];
                size_t n;

                if (p->type != CFG_MAPS && p->type != CFG_RESTRICT)
                        continue;
                char **items = cfg_get_list(cfg, p->name, &n);
                for (size_t j = 0; j < n; j++)
                        check_map(p->name, items[j]);
                cfg_list_free(&items);
        }
}

static void check_daemons(struct master_conf *conf)
{
        static const char *const daemons[] = { "authd", "qmgr", "local",
                                               "smtp" };
        const char *dir = cfg_get(conf->cfg, "daemon_directory");

        for (size_t i = 0; i < sizeof(daemons) / sizeof(daemons[0]); i++) {
                char *path = xasprintf("%s/%s", dir, daemons[i]);
                if (access(path, X_OK) < 0)
                        log_warn("daemon_directory = %s: no %s program; "
                                 "that service will not run", dir, daemons[i]);
                free(path);
        }
}

int master_check_tls(struct cfg *cfg)
{
        static const char *const prefixes[] = { NULL, "smtpd_" };
        static const char *const certs[] = { "tls_cert_file",
                                             "smtpd_tls_cert_file" };
        int errors = 0;

        for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
                struct status st;
                struct tls_ctx *t;

                if (*cfg_get(cfg, certs[i]) == '\0')
                        continue;
                t = tls_server_new(cfg, prefixes[i], &st);
                if (t == NULL) {
                        log_error("%s", st.text);
                        errors++;
                }
                tls_ctx_free(&t);
                /* smtpd's parameters default to the shared ones: the
                 * same files need not be read twice */
                if (i == 0 && strcmp(cfg_get(cfg, "smtpd_tls_cert_file"),
                                     cfg_get(cfg, "tls_cert_file")) == 0 &&
                    strcmp(cfg_get(cfg, "smtpd_tls_key_file"),
                           cfg_get(cfg, "tls_key_file")) == 0)
                        break;
        }
        return errors;
}

int master_check(const char *config_dir)
{
        struct master_conf *conf = master_conf_load(config_dir, 1);
        struct priv mail;
        int errors = 0;

        if (conf == NULL)
                return 1;
        if (owner(conf->cfg, &mail, 0) < 0) {
                errors++;
                priv_self(&mail);
        }
        char *main_cf = xasprintf("%s/main.cf", config_dir);
        char *master_cf = xasprintf("%s/master.cf", config_dir);
        errors += check_config_file(main_cf, &mail);
        errors += check_config_file(master_cf, &mail);
        free(main_cf);
        free(master_cf);
        errors += check_dir("queue_directory",
                            cfg_get(conf->cfg, "queue_directory"), geteuid());
        errors += check_dir("data_directory",
                            cfg_get(conf->cfg, "data_directory"), mail.uid);
        check_daemons(conf);
        check_maps(conf->cfg);
        errors += master_check_tls(conf->cfg);
        master_conf_free(&conf);
        return errors;
}
