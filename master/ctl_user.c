/* ctl_user.c - yubinctl user|domain: the user database from the shell
 *   user add ADDRESS [--quota BYTES] [--quota-messages N] [--uid N]
 *            [--gid N] [--home DIR] [--mail LOCATION]
 *   user del|passwd|enable|disable ADDRESS
 *   user list [DOMAIN]
 *   user import passwd-file:PATH
 *   domain add|del DOMAIN
 *   domain list
 * Used by: administrators and scripts, as doveadm is used with Dovecot.
 * Works on user_database (sqlite:PATH) directly, so it needs no running
 * Yubin: a missing database and its directory are created (owned by
 * mail_owner when run as root); authd reads the file on every query, so a
 * change counts at once. Passwords come only from standard input -- one
 * line, newline stripped; asked twice without echo when that is a
 * terminal -- never from the command line, where ps(1) would show them.
 * Runs as the invoking user (root on a real install). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include "auth_db.h"
#include "auth_pass.h"
#include "auth_user.h"
#include "buf.h"
#include "cfg.h"
#include "ctl.h"
#include "mem.h"
#include "priv.h"
#include "status.h"

/* The handlers in yubinctl.c's command table. */
int ctl_user_run(struct ctl *ctl, int argc, char **argv);
int ctl_domain_run(struct ctl *ctl, int argc, char **argv);

/* room for the longest password, its newline and one byte to notice more */
#define USER_PASS_BUF (AUTH_PASS_MAX + 3)

static const char user_usage_text[] =
        "usage: " CTL_PROGNAME " [-c DIR] user add ADDRESS [--quota BYTES]"
        " [--quota-messages N]\n"
        "                 [--uid N] [--gid N] [--home DIR]"
        " [--mail LOCATION]\n"
        "       " CTL_PROGNAME " [-c DIR] user del|passwd|enable|disable"
        " ADDRESS\n"
        "       " CTL_PROGNAME " [-c DIR] user list [DOMAIN]\n"
        "       " CTL_PROGNAME " [-c DIR] user import passwd-file:PATH\n"
        "  add      add a user; the password is read from standard input\n"
        "           (one line; asked twice when that is a terminal)\n"
        "  del      remove a user (the mail stays on disk)\n"
        "  passwd   set a new password, read as for add\n"
        "  enable, disable  allow or refuse the user's logins\n"
        "  list     one line per user: address, enabled|disabled,\n"
        "           quota=BYTES|none, messages=N|none, then flags:\n"
        "           PLAIN (clear-text password), NOPASS, LOCKED, BADHASH\n"
        "  import   users of a Dovecot passwd-file with their hashes\n"
        "           (user:{SCHEME}hash:uid:gid:gecos:home:shell:extra)\n"
        "  BYTES may end in k, M, G or T (powers of 1024); a bare name\n"
        "  gets smtpd_sasl_local_domain's domain.\n";

static const char domain_usage_text[] =
        "usage: " CTL_PROGNAME " [-c DIR] domain add|del DOMAIN\n"
        "       " CTL_PROGNAME " [-c DIR] domain list\n"
        "  the user database's list of domains; virtual_mailbox_domains\n"
        "  decides which domains are delivered here\n";

static int user_usage(void)
{
        fputs(user_usage_text, stderr);
        return EX_USAGE;
}

static int domain_usage(void)
{
        fputs(domain_usage_text, stderr);
        return EX_USAGE;
}

/* What every subcommand opens. */
struct user_session {
        const struct ctl *ctl;
        struct cfg *cfg;
        char *local_domain;     /* canonical, or "" */
        struct auth_db *db;
};

static void user_session_close(struct user_session *s)
{
        auth_db_close(&s->db);
        cfg_free(&s->cfg);
        xfree(&s->local_domain);
}

/* user_load - main.cf and smtpd_sasl_local_domain; 0 or -1 (reported) */
static int user_load(const struct ctl *ctl, struct user_session *s)
{
        struct status st;
        const char *local;
        size_t errors;

        memset(s, 0, sizeof(*s));
        s->ctl = ctl;
        s->cfg = ctl_cfg_load(ctl, &errors);
        if (errors > 0) {
                ctl_error("the configuration in %s has errors: fix them "
                          "first", ctl->config_dir);
                return -1;
        }
        local = cfg_get(s->cfg, "smtpd_sasl_local_domain");
        local += strspn(local, " \t");
        if (*local == '\0') {
                s->local_domain = xstrdup("");
        } else if (auth_user_canonical_domain(local, &s->local_domain,
                                              &st) < 0) {
                ctl_error("smtpd_sasl_local_domain = %s: %s", local, st.text);
                return -1;
        }
        return 0;
}

/* user_make_dir - create the database's directory (and missing parents)
 * the way the supervisor makes data_directory: mode 0700, mail_owner's */
static int user_make_dir(const char *db_path, const struct priv *owner)
{
        char *dir = xstrdup(db_path);
        char *slash = strrchr(dir, '/');
        struct stat sb;
        int ret = -1;

        if (slash == NULL || slash == dir) {
                free(dir);
                return 0;               /* the database lives in "/" */
        }
        *slash = '\0';
        if (stat(dir, &sb) == 0) {
                if (S_ISDIR(sb.st_mode))
                        ret = 0;
                else
                        ctl_error("%s: not a directory", dir);
                free(dir);
                return ret;
        }
        for (char *p = dir + 1;; p++) {
                char c = *p;

                if (c != '/' && c != '\0')
                        continue;
                *p = '\0';
                if (mkdir(dir, c == '\0' ? 0700 : 0755) < 0 &&
                    errno != EEXIST) {
                        ctl_error("create %s: %m", dir);
                        goto out;
                }
                *p = c;
                if (c == '\0')
                        break;
        }
        if (chmod(dir, 0700) < 0 ||
            (priv_is_root() && chown(dir, owner->uid, owner->gid) < 0)) {
                ctl_error("set owner and mode of %s: %m", dir);
                goto out;
        }
        ret = 0;
out:
        free(dir);
        return ret;
}

/* user_open_db - user_database, created if missing; 0 or -1 (reported) */
static int user_open_db(struct user_session *s)
{
        struct status st;
        struct priv owner;
        char *path = NULL;
        int ret = -1;

        if (auth_db_parse(cfg_get(s->cfg, "user_database"), &path, &st) < 0) {
                ctl_error("%s", st.text);
                return -1;
        }
        if (priv_is_root()) {
                if (priv_lookup("mail_owner", cfg_get(s->cfg, "mail_owner"),
                                &owner, &st) < 0) {
                        ctl_error("%s", st.text);
                        goto out;
                }
        } else {
                priv_self(&owner);
        }
        if (user_make_dir(path, &owner) < 0)
                goto out;
        if (auth_db_open(path, AUTH_DB_CREATE, &owner, &s->db, &st) < 0) {
                ctl_error("%s", st.text);
                goto out;
        }
        ctl_debug(s->ctl, "user database %s", path);
        ret = 0;
out:
        free(path);
        return ret;
}

/* user_address - the canonical form of a command-line address; NULL
 * (reported) if it is not a usable address */
static char *user_address(const struct user_session *s, const char *arg)
{
        struct status st;
        char *canon;

        if (auth_user_canonical(arg, s->local_domain, &canon, &st) < 0) {
                ctl_error("bad address \"%s\": %s", arg, st.text);
                return NULL;
        }
        if (strchr(canon, '@') == NULL) {
                ctl_error("bad address \"%s\": no domain, and "
                          "smtpd_sasl_local_domain is not set", arg);
                free(canon);
                return NULL;
        }
        return canon;
}

/* --- passwords from standard input --- */

static volatile sig_atomic_t user_signal;

static void user_on_signal(int sig)
{
        user_signal = sig;
}

/* user_read_line - one line from fd into buf (size bytes), without the
 * newline or a CR before it. Returns its length, -1 on EOF before any
 * byte or a read error, -2 if too long or holding a NUL (the rest of the
 * line is read and dropped). */
static long user_read_line(int fd, char *buf, size_t size)
{
        size_t len = 0;
        int bad = 0;
        int any = 0;
        char c;

        for (;;) {
                ssize_t n = read(fd, &c, 1);

                if (n < 0) {
                        if (errno == EINTR && user_signal == 0)
                                continue;
                        return -1;
                }
                if (n == 0) {
                        if (!any)
                                return -1;
                        break;
                }
                any = 1;
                if (c == '\n')
                        break;
                if (c == '\0' || len + 1 >= size) {
                        bad = 1;
                        continue;
                }
                buf[len++] = c;
        }
        if (len > 0 && buf[len - 1] == '\r')
                len--;
        buf[len] = '\0';
        if (bad) {
                explicit_bzero(buf, size);
                return -2;
        }
        return (long)len;
}

/* user_tty_read - prompt on stderr and read a line from the terminal on
 * standard input with echo off; a signal restores the terminal first */
static long user_tty_read(const char *prompt, char *buf, size_t size)
{
        static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
                                    SIGTSTP };
        struct sigaction saved[sizeof(sigs) / sizeof(sigs[0])];
        struct sigaction sa;
        struct termios old, quiet;
        long n;

        if (tcgetattr(STDIN_FILENO, &old) < 0)
                return -1;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = user_on_signal;         /* no SA_RESTART */
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
                sigaction(sigs[i], &sa, &saved[i]);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
        quiet.c_lflag |= ECHONL;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        fputs(prompt, stderr);
        fflush(stderr);
        n = user_read_line(STDIN_FILENO, buf, size);
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
                sigaction(sigs[i], &saved[i], NULL);
        if (user_signal != 0) {
                explicit_bzero(buf, size);
                fputc('\n', stderr);
                raise(user_signal);     /* the usual handler, now */
                return -1;
        }
        return n;
}

/* user_read_password - the new password into pw (USER_PASS_BUF bytes);
 * 0, or -1 (reported). pw is wiped on failure. */
static int user_read_password(char *pw)
{
        char again[USER_PASS_BUF];
        long n;

        if (isatty(STDIN_FILENO)) {
                n = user_tty_read("New password: ", pw, USER_PASS_BUF);
                if (n > 0) {
                        long m = user_tty_read("Retype new password: ", again,
                                               sizeof(again));

                        if (m != n || !auth_pass_equal(again, (size_t)m, pw,
                                                       (size_t)n)) {
                                explicit_bzero(again, sizeof(again));
                                explicit_bzero(pw, USER_PASS_BUF);
                                ctl_error("the passwords do not match");
                                return -1;
                        }
                        explicit_bzero(again, sizeof(again));
                }
        } else {
                n = user_read_line(STDIN_FILENO, pw, USER_PASS_BUF);
        }
        if (n == -1) {
                ctl_error("no password on standard input");
                return -1;
        }
        if (n == -2 || n > AUTH_PASS_MAX) {
                explicit_bzero(pw, USER_PASS_BUF);
                ctl_error("password too long (at most %d bytes) or "
                          "holding a NUL byte", AUTH_PASS_MAX);
                return -1;
        }
        if (n == 0) {
                ctl_error("empty password refused");
                return -1;
        }
        return 0;
}

/* user_new_hash - read a password and hash it; a new string or NULL
 * (reported) */
static char *user_new_hash(void)
{
        char pw[USER_PASS_BUF];
        struct status st;
        char *hash;

        if (user_read_password(pw) < 0)
                return NULL;
        if (auth_pass_hash(pw, NULL, &hash, &st) < 0) {
                ctl_error("%s", st.text);
                hash = NULL;
        }
        explicit_bzero(pw, sizeof(pw));
        return hash;
}

/* --- numbers --- */

/* user_parse_size - "123", "10k", "1G" (powers of 1024; a bare number is
 * in units of def_unit, 1 for bytes); 0 or -1 */
static int user_parse_size(const char *s, long long def_unit,
                           long long *value_r)
{
        long long v = 0;
        long long unit = def_unit;
        const char *p = s;

        if (*p < '0' || *p > '9')
                return -1;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (v > (INT64_MAX - 9) / 10)
                        return -1;
                v = v * 10 + (*p - '0');
        }
        if (*p != '\0') {
                const char *units = "bkmgt";
                const char *u = strchr(units, (char)(*p | 0x20));

                if (u == NULL || p[1] != '\0')
                        return -1;
                unit = 1;
                for (const char *q = units; q < u; q++)
                        unit *= 1024;
        }
        if (v != 0 && unit > INT64_MAX / v)
                return -1;
        *value_r = v * unit;
        return 0;
}

/* user_parse_id - a uid or gid: a number from 1 on */
static int user_parse_id(const char *s, long long *id_r)
{
        long long v;

        if (user_parse_size(s, 1, &v) < 0 || strspn(s, "0123456789") !=
            strlen(s) || v < 1 || v > 4294967294LL)
                return -1;
        *id_r = v;
        return 0;
}

/* user_text_ok - a value for home or mail: no control characters */
static int user_text_ok(const char *s)
{
        for (; *s != '\0'; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return 0;
        return 1;
}

/* --- user add --- */

static int user_add(const struct ctl *ctl, int argc, char **argv)
{
        static const struct option options[] = {
                { "quota", required_argument, NULL, 'q' },
                { "quota-messages", required_argument, NULL, 'm' },
                { "uid", required_argument, NULL, 'u' },
                { "gid", required_argument, NULL, 'g' },
                { "home", required_argument, NULL, 'H' },
                { "mail", required_argument, NULL, 'M' },
                { NULL, 0, NULL, 0 },
        };
        struct auth_db_user row = { 0 };
        struct user_session s;
        struct auth_db_user *old = NULL;
        struct status st;
        int ch, ret = 1;

        row.uid = -1;
        row.gid = -1;
        row.enabled = 1;
        optind = 0;
        opterr = 0;
        while ((ch = getopt_long(argc, argv, ":", options, NULL)) != -1) {
                switch (ch) {
                case 'q':
                        if (user_parse_size(optarg, 1, &row.quota_bytes) < 0) {
                                ctl_error("user add: --quota %s: not a size",
                                          optarg);
                                return EX_USAGE;
                        }
                        break;
                case 'm':
                        if (user_parse_size(optarg, 1, &row.quota_messages) <
                            0 || strspn(optarg, "0123456789") !=
                            strlen(optarg)) {
                                ctl_error("user add: --quota-messages %s: not "
                                          "a number", optarg);
                                return EX_USAGE;
                        }
                        break;
                case 'u':
                case 'g':
                        if (user_parse_id(optarg, ch == 'u' ? &row.uid
                                                            : &row.gid) < 0) {
                                ctl_error("user add: --%s %s: a number from 1 "
                                          "on (root may not own mail)",
                                          ch == 'u' ? "uid" : "gid", optarg);
                                return EX_USAGE;
                        }
                        break;
                case 'H':
                        if (optarg[0] != '/' || !user_text_ok(optarg)) {
                                ctl_error("user add: --home %s: an absolute "
                                          "path", optarg);
                                return EX_USAGE;
                        }
                        row.home = optarg;
                        break;
                case 'M':
                        if (optarg[0] == '\0' || !user_text_ok(optarg)) {
                                ctl_error("user add: --mail: a mail location "
                                          "such as maildir:/srv/mail/ann");
                                return EX_USAGE;
                        }
                        row.mail = optarg;
                        break;
                case ':':
                        ctl_error("user add: %s needs a value",
                                  argv[optind - 1]);
                        return user_usage();
                default:
                        if (optopt == '?')
                                return user_usage();
                        ctl_error("user add: unknown option %s (passwords "
                                  "are read from standard input)",
                                  argv[optind - 1]);
                        return user_usage();
                }
        }
        if (optind >= argc) {
                ctl_error("user add: which address?");
                return user_usage();
        }
        if (optind + 1 < argc) {
                ctl_error("user add: unexpected argument after the address "
                          "(passwords are read from standard input, never "
                          "from the command line)");
                return user_usage();
        }
        if (user_load(ctl, &s) < 0)
                goto out;
        row.address = user_address(&s, argv[optind]);
        if (row.address == NULL || user_open_db(&s) < 0)
                goto out;
        /* ask before the password is typed, not after */
        switch (auth_db_user_get(s.db, row.address, &old, &st)) {
        case 1:
                ctl_error("%s: the user exists already", row.address);
                goto out;
        case -1:
                ctl_error("%s", st.text);
                goto out;
        }
        row.password = user_new_hash();
        if (row.password == NULL)
                goto out;
        switch (auth_db_user_add(s.db, &row, &st)) {
        case 1:
                ctl_debug(ctl, "%s: added", row.address);
                ret = 0;
                break;
        case 0:
                ctl_error("%s: the user exists already", row.address);
                break;
        default:
                ctl_error("%s", st.text);
        }
out:
        auth_db_user_free(&old);
        free(row.address);
        if (row.password != NULL) {
                explicit_bzero(row.password, strlen(row.password));
                free(row.password);
        }
        user_session_close(&s);
        return ret;
}

/* --- user del, passwd, enable, disable --- */

static int user_change(const struct ctl *ctl, const char *cmd, int argc,
                       char **argv)
{
        struct user_session s;
        struct auth_db_user *row = NULL;
        struct status st;
        char *address = NULL;
        char *hash = NULL;
        int got = -1;

        if (argc != 2) {
                ctl_error("user %s: %s", cmd, argc < 2 ? "which address?" :
                          "one address only (passwords are read from "
                          "standard input)");
                return user_usage();
        }
        if (argv[1][0] == '-') {
                ctl_error("user %s: unknown option %s", cmd, argv[1]);
                return user_usage();
        }
        if (user_load(ctl, &s) < 0 ||
            (address = user_address(&s, argv[1])) == NULL ||
            user_open_db(&s) < 0)
                goto out;
        if (strcmp(cmd, "del") == 0) {
                got = auth_db_user_del(s.db, address, &st);
        } else if (strcmp(cmd, "passwd") == 0) {
                /* no typing a password for a user that is not there */
                got = auth_db_user_get(s.db, address, &row, &st);
                if (got == 1) {
                        hash = user_new_hash();
                        if (hash == NULL) {
                                got = -2;
                                goto out;
                        }
                        got = auth_db_user_set_password(s.db, address, hash,
                                                        &st);
                }
        } else {
                got = auth_db_user_set_enabled(s.db, address,
                                               strcmp(cmd, "enable") == 0,
                                               &st);
        }
        if (got == 0)
                ctl_error("%s: no such user", address);
        else if (got < 0)
                ctl_error("%s", st.text);
out:
        auth_db_user_free(&row);
        if (hash != NULL)
                explicit_bzero(hash, strlen(hash));
        free(hash);
        free(address);
        user_session_close(&s);
        return got == 1 ? 0 : 1;
}

/* --- user list --- */

static void user_list_row(const struct auth_db_user *row, void *ctx)
{
        const char *flag = "";

        switch (auth_pass_scheme(row->password)) {
        case AUTH_PASS_PLAIN:
                flag = " PLAIN";
                break;
        case AUTH_PASS_LOCKED:
                flag = row->password[0] == '\0' ? " NOPASS" : " LOCKED";
                break;
        case AUTH_PASS_UNKNOWN:
                flag = " BADHASH";
                break;
        default:
                break;
        }
        printf("%s %s", row->address, row->enabled ? "enabled" : "disabled");
        if (row->quota_bytes > 0)
                printf(" quota=%lld", row->quota_bytes);
        else
                printf(" quota=none");
        if (row->quota_messages > 0)
                printf(" messages=%lld", row->quota_messages);
        else
                printf(" messages=none");
        printf("%s\n", flag);
}

static int user_list(const struct ctl *ctl, int argc, char **argv)
{
        struct user_session s;
        struct status st;
        char *domain = NULL;
        int ret = 1;

        if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
                ctl_error("user list: at most one domain");
                return user_usage();
        }
        if (user_load(ctl, &s) < 0)
                goto out;
        if (argc == 2 && auth_user_canonical_domain(argv[1], &domain, &st) <
            0) {
                ctl_error("bad domain \"%s\": %s", argv[1], st.text);
                goto out;
        }
        if (user_open_db(&s) < 0)
                goto out;
        if (auth_db_user_list(s.db, domain, user_list_row, NULL, &st) < 0) {
                ctl_error("%s", st.text);
                goto out;
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
                ctl_error("write standard output: %m");
                goto out;
        }
        ret = 0;
out:
        free(domain);
        user_session_close(&s);
        return ret;
}

/* --- user import passwd-file:PATH --- */

/* One parsed line of a passwd-file. */
struct user_import {
        struct auth_db_user row;        /* strings owned here */
        size_t line;
};

/* import_extra - one extra field "key=value" (userdb_ prefix optional);
 * 0, or -1 with *error_r for a value that cannot be right; unknown keys
 * are warned about and skipped */
static int import_extra(const char *where, char *field,
                        struct auth_db_user *row, const char **error_r)
{
        char *eq = strchr(field, '=');
        char *key = field;
        char *value;

        if (strncmp(key, "userdb_", 7) == 0)
                key += 7;
        if (eq == NULL) {
                ctl_warn("%s: ignoring extra field \"%s\"", where, field);
                return 0;
        }
        *eq = '\0';
        value = eq + 1;
        if (strcmp(key, "mail") == 0) {
                if (*value == '\0' || !user_text_ok(value))
                        return *error_r = "bad mail field", -1;
                free(row->mail);
                row->mail = xstrdup(value);
        } else if (strcmp(key, "home") == 0) {
                if (value[0] != '/' || !user_text_ok(value))
                        return *error_r = "home is not an absolute path", -1;
                free(row->home);
                row->home = xstrdup(value);
        } else if (strcmp(key, "uid") == 0 || strcmp(key, "gid") == 0) {
                if (user_parse_id(value, key[0] == 'u' ? &row->uid
                                                       : &row->gid) < 0)
                        return *error_r = "uid/gid must be a number from 1 on",
                               -1;
        } else if (strncmp(key, "quota_rule", 10) == 0 &&
                   strncmp(value, "*:", 2) == 0) {
                /* Dovecot's limits: storage in kilobytes unless a unit is
                 * given, bytes in bytes, messages a count */
                char *limit = value + 2;

                if (strncmp(limit, "storage=", 8) == 0) {
                        if (user_parse_size(limit + 8, 1024,
                                            &row->quota_bytes) < 0)
                                return *error_r = "bad quota_rule storage",
                                       -1;
                } else if (strncmp(limit, "bytes=", 6) == 0) {
                        if (user_parse_size(limit + 6, 1, &row->quota_bytes) <
                            0)
                                return *error_r = "bad quota_rule bytes", -1;
                } else if (strncmp(limit, "messages=", 9) == 0) {
                        if (user_parse_size(limit + 9, 1,
                                            &row->quota_messages) < 0)
                                return *error_r = "bad quota_rule messages",
                                       -1;
                } else {
                        ctl_warn("%s: ignoring quota rule \"%s\"", where,
                                 value);
                }
        } else {
                ctl_warn("%s: ignoring extra field \"%s\"", where, key);
        }
        return 0;
}

/* import_line - parse one passwd-file line into imp; 0, or -1 reported.
 * Dovecot's layout is user:password:uid:gid:gecos:home:shell:extra; a
 * line whose seventh field looks like extra fields (has '=' or a space:
 * a shell never does) is read as user:password:uid:gid:gecos:home:extra. */
static int import_line(const struct user_session *s, const char *where,
                       char *line, struct user_import *imp)
{
        char *field[7] = { 0 };
        char *rest = line;
        const char *error = NULL;
        struct status st;
        size_t n = 0;

        imp->row.uid = -1;
        imp->row.gid = -1;
        imp->row.enabled = 1;
        while (n < 6) {
                char *colon = strchr(rest, ':');

                field[n++] = rest;
                if (colon == NULL) {
                        rest = NULL;
                        break;
                }
                *colon = '\0';
                rest = colon + 1;
        }
        if (n < 2) {
                ctl_error("%s: no password field", where);
                return -1;
        }
        if (rest != NULL) {
                /* the shell, unless the rest is already the extra fields */
                size_t len = strcspn(rest, ":");

                if (memchr(rest, '=', len) == NULL &&
                    memchr(rest, ' ', len) == NULL) {
                        rest = rest[len] == ':' ? rest + len + 1 : NULL;
                }
        }

        if (auth_user_canonical(field[0], s->local_domain, &imp->row.address,
                                &st) < 0) {
                ctl_error("%s: bad user name \"%s\": %s", where, field[0],
                          st.text);
                return -1;
        }
        if (strchr(imp->row.address, '@') == NULL) {
                ctl_error("%s: bad user name \"%s\": no domain, and "
                          "smtpd_sasl_local_domain is not set", where,
                          field[0]);
                return -1;
        }
        switch (auth_pass_scheme(field[1])) {
        case AUTH_PASS_UNKNOWN:
                ctl_error("%s: %s: password scheme not supported (known: "
                          "yescrypt, SHA512-CRYPT, SHA256-CRYPT, BLF-CRYPT, "
                          "CRYPT with those, PLAIN)", where,
                          imp->row.address);
                return -1;
        case AUTH_PASS_LOCKED:
                if (field[1][0] == '\0')
                        ctl_warn("%s: %s: no password: the user cannot log "
                                 "in", where, imp->row.address);
                break;
        default:
                break;
        }
        imp->row.password = xstrdup(field[1]);
        if ((field[2] != NULL && *field[2] != '\0' &&
             user_parse_id(field[2], &imp->row.uid) < 0) ||
            (field[3] != NULL && *field[3] != '\0' &&
             user_parse_id(field[3], &imp->row.gid) < 0)) {
                ctl_error("%s: %s: uid and gid must be numbers from 1 on",
                          where, imp->row.address);
                return -1;
        }
        if (field[5] != NULL && *field[5] != '\0') {
                if (field[5][0] != '/' || !user_text_ok(field[5])) {
                        ctl_error("%s: %s: home is not an absolute path",
                                  where, imp->row.address);
                        return -1;
                }
                imp->row.home = xstrdup(field[5]);
        }
        for (char *save = NULL, *f = rest != NULL ?
             strtok_r(rest, " \t", &save) : NULL; f != NULL;
             f = strtok_r(NULL, " \t", &save)) {
                if (import_extra(where, f, &imp->row, &error) < 0) {
                        ctl_error("%s: %s: %s", where, imp->row.address,
                                  error);
                        return -1;
                }
        }
        return 0;
}

static void import_free(struct user_import *imps, size_t count)
{
        for (size_t i = 0; i < count; i++) {
                struct auth_db_user *r = &imps[i].row;

                if (r->password != NULL)
                        explicit_bzero(r->password, strlen(r->password));
                free(r->password);
                free(r->address);
                free(r->home);
                free(r->mail);
        }
        free(imps);
}

static int user_import(const struct ctl *ctl, int argc, char **argv)
{
        struct user_import *imps = NULL;
        struct user_session s;
        struct status st;
        struct buf text;
        size_t count = 0, errors = 0, added = 0, skipped = 0, plain = 0;
        const char *path;
        int ret = 1;

        if (argc != 2 || strncmp(argv[1], "passwd-file:", 12) != 0 ||
            argv[1][12] == '\0') {
                ctl_error("user import: give passwd-file:PATH");
                return user_usage();
        }
        path = argv[1] + 12;
        buf_init(&text, 0);
        if (user_load(ctl, &s) < 0)
                goto out;
        switch (ctl_read_file(path, &text, &st)) {
        case 0:
                ctl_error("%s: no such file", path);
                goto out;
        case -1:
                ctl_error("%s", st.text);
                goto out;
        }
        /* parse everything first: a bad line imports nothing */
        size_t lineno = 0;
        char *next = text.data;
        char *line;
        while (next != NULL && (line = strsep(&next, "\n")) != NULL) {
                char where[512];

                lineno++;
                line[strcspn(line, "\r")] = '\0';
                if (line[strspn(line, " \t")] == '\0' ||
                    line[strspn(line, " \t")] == '#')
                        continue;
                snprintf(where, sizeof(where), "%s:%zu", path, lineno);
                imps = xrealloc(imps, (count + 1) * sizeof(*imps));
                memset(&imps[count], 0, sizeof(imps[count]));
                imps[count].line = lineno;
                if (import_line(&s, where, line, &imps[count]) < 0)
                        errors++;
                count++;
        }
        if (errors > 0) {
                ctl_error("%s: %zu bad line%s; nothing imported", path, errors,
                          errors == 1 ? "" : "s");
                goto out;
        }
        if (user_open_db(&s) < 0)
                goto out;
        if (auth_db_begin(s.db, &st) < 0) {
                ctl_error("%s", st.text);
                goto out;
        }
        for (size_t i = 0; i < count; i++) {
                switch (auth_db_user_add(s.db, &imps[i].row, &st)) {
                case 1:
                        added++;
                        plain += auth_pass_is_plain(imps[i].row.password);
                        break;
                case 0:
                        ctl_warn("%s:%zu: %s exists already: skipped", path,
                                 imps[i].line, imps[i].row.address);
                        skipped++;
                        break;
                default:
                        ctl_error("%s", st.text);
                        auth_db_rollback(s.db);
                        goto out;
                }
        }
        if (auth_db_commit(s.db, &st) < 0) {
                ctl_error("%s", st.text);
                auth_db_rollback(s.db);
                goto out;
        }
        printf("imported %zu user%s from %s", added, added == 1 ? "" : "s",
               path);
        if (skipped > 0)
                printf(", skipped %zu already present", skipped);
        printf("\n");
        if (plain > 0)
                ctl_warn("%zu imported user%s keep a clear-text password "
                         "(flagged PLAIN by \"user list\"); set new ones with "
                         "\"user passwd\"", plain, plain == 1 ? "" : "s");
        ret = fflush(stdout) == 0 ? 0 : 1;
out:
        import_free(imps, count);
        if (text.data != NULL)
                explicit_bzero(text.data, text.len);
        buf_release(&text);
        user_session_close(&s);
        return ret;
}

int ctl_user_run(struct ctl *ctl, int argc, char **argv)
{
        const char *cmd;

        if (argc < 2)
                return user_usage();
        cmd = argv[1];
        if (strcmp(cmd, "add") == 0)
                return user_add(ctl, argc - 1, argv + 1);
        if (strcmp(cmd, "del") == 0 || strcmp(cmd, "passwd") == 0 ||
            strcmp(cmd, "enable") == 0 || strcmp(cmd, "disable") == 0)
                return user_change(ctl, cmd, argc - 1, argv + 1);
        if (strcmp(cmd, "list") == 0)
                return user_list(ctl, argc - 1, argv + 1);
        if (strcmp(cmd, "import") == 0)
                return user_import(ctl, argc - 1, argv + 1);
        if (strcmp(cmd, "-?") != 0 && strcmp(cmd, "-h") != 0 &&
            strcmp(cmd, "--help") != 0)
                ctl_error("user: unknown subcommand %s", cmd);
        return user_usage();
}

/* --- domain --- */

static void domain_list_row(const char *domain, void *ctx)
{
        printf("%s\n", domain);
}

int ctl_domain_run(struct ctl *ctl, int argc, char **argv)
{
        struct user_session s;
        struct status st;
        const char *cmd = argc >= 2 ? argv[1] : "";
        char *domain = NULL;
        int got = -1;
        int ret = 1;

        if (strcmp(cmd, "list") == 0) {
                if (argc != 2)
                        return domain_usage();
        } else if (strcmp(cmd, "add") == 0 || strcmp(cmd, "del") == 0) {
                if (argc != 3 || argv[2][0] == '-')
                        return domain_usage();
        } else {
                if (*cmd != '\0' && strcmp(cmd, "-?") != 0 &&
                    strcmp(cmd, "-h") != 0 && strcmp(cmd, "--help") != 0)
                        ctl_error("domain: unknown subcommand %s", cmd);
                return domain_usage();
        }
        if (user_load(ctl, &s) < 0)
                goto out;
        if (argc == 3 && auth_user_canonical_domain(argv[2], &domain, &st) <
            0) {
                ctl_error("bad domain \"%s\": %s", argv[2], st.text);
                goto out;
        }
        if (user_open_db(&s) < 0)
                goto out;
        if (strcmp(cmd, "list") == 0) {
                if (auth_db_domain_list(s.db, domain_list_row, NULL, &st) < 0)
                        ctl_error("%s", st.text);
                else
                        ret = fflush(stdout) == 0 ? 0 : 1;
                goto out;
        }
        if (strcmp(cmd, "add") == 0)
                got = auth_db_domain_add(s.db, domain, &st);
        else
                got = auth_db_domain_del(s.db, domain, &st);
        if (got < 0)
                ctl_error("%s", st.text);
        else if (got == 0)
                ctl_error("%s: %s", domain, strcmp(cmd, "add") == 0 ?
                          "the domain exists already" : "no such domain");
        else
                ret = 0;
out:
        free(domain);
        user_session_close(&s);
        return ret;
}
