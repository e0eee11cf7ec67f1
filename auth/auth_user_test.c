/* auth_user_test.c - canonical names, system names, mail_location
 * expansion, the configuration (virtual owner, backends), records from
 * rows, and look-ups and password checks across the sqlite and PAM
 * backends (PAM's passwd side only: the PAM stack itself is in
 * auth_pam_test.c). The system user used is "nobody" (uid 65534, home
 * /nonexistent on Debian); root stands for the refused uid 0. */
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth_db.h"
#include "auth_pass.h"
#include "auth_user.h"
#include "cfg.h"
#include "status.h"

#define LONG_LOCAL "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void test_canonical(void **state)
{
        static const struct {
                const char *name;
                const char *input;
                const char *local_domain;
                const char *want;       /* NULL: refused */
        } cases[] = {
                { "lower case", "Ann@Example.COM", NULL, "ann@example.com" },
                { "already canonical", "ann@example.com", "example.org",
                  "ann@example.com" },
                { "bare gets local domain", "Ann", "example.com",
                  "ann@example.com" },
                { "bare, no local domain", "Ann", NULL, "ann" },
                { "bare, empty local domain", "ann", "", "ann" },
                { "other domain kept", "ann@other.org", "example.com",
                  "ann@other.org" },
                { "atext", "o'brien+tag=x{1}@sub.example-1.com", NULL,
                  "o'brien+tag=x{1}@sub.example-1.com" },
                { "dots inside", "a.b.c@x_y.example", NULL,
                  "a.b.c@x_y.example" },
                { "64-char local part", LONG_LOCAL "@x.com", NULL,
                  LONG_LOCAL "@x.com" },
                { "empty", "", NULL, NULL },
                { "empty, local domain", "", "example.com", NULL },
                { "no local part", "@example.com", NULL, NULL },
                { "no domain", "ann@", NULL, NULL },
                { "two @", "a@b@example.com", NULL, NULL },
                { "space", "ann smith@example.com", NULL, NULL },
                { "tab", "ann\t@example.com", NULL, NULL },
                { "newline", "ann@example.com\n", NULL, NULL },
                { "slash", "a/b@example.com", NULL, NULL },
                { "dot-dot path", "../etc@example.com", NULL, NULL },
                { "dot-dot bare", "..", "example.com", NULL },
                { "leading dot", ".ann@example.com", NULL, NULL },
                { "trailing dot", "ann.@example.com", NULL, NULL },
                { "double dot", "a..b@example.com", NULL, NULL },
                { "percent", "a%b@example.com", NULL, NULL },
                { "quote", "\"a b\"@example.com", NULL, NULL },
                { "backslash", "a\\b@example.com", NULL, NULL },
                { "8-bit local", "\xc3\xa4nn@example.com", NULL, NULL },
                { "8-bit domain", "ann@ex\xc3\xa4mple.com", NULL, NULL },
                { "empty label", "ann@example..com", NULL, NULL },
                { "domain leading dot", "ann@.example.com", NULL, NULL },
                { "domain trailing dot", "ann@example.com.", NULL, NULL },
                { "domain slash", "ann@exa/mple.com", NULL, NULL },
                { "address literal", "ann@[192.0.2.1]", NULL, NULL },
                { "65-char local part", LONG_LOCAL "a@x.com", NULL, NULL },
                { "bad local domain", "ann", "bad..domain", NULL },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct status st;
                char *got = NULL;
                int ret = auth_user_canonical(cases[i].input,
                                              cases[i].local_domain, &got,
                                              &st);

                if (cases[i].want == NULL) {
                        if (ret != -1 || got != NULL)
                                fail_msg("case %s: got %d \"%s\", want refused",
                                         cases[i].name, ret, got);
                        if (strcmp(st.code, STATUS_SYNTAX) != 0 ||
                            st.text[0] == '\0')
                                fail_msg("case %s: got status %s \"%s\"",
                                         cases[i].name, st.code, st.text);
                } else if (ret != 0 || strcmp(got, cases[i].want) != 0) {
                        fail_msg("case %s: got %d \"%s\", want \"%s\" (%s)",
                                 cases[i].name, ret, got ? got : "(null)",
                                 cases[i].want, ret ? st.text : "");
                }
                free(got);
        }
}

static void test_too_long(void **state)
{
        char name[AUTH_USER_NAME_MAX + 2];
        struct status st;
        char *got = NULL;

        /* 64 + '@' + labels up to 254 in all is fine; one more is not */
        memset(name, 'a', sizeof(name));
        memcpy(name, LONG_LOCAL "@", 65);
        for (size_t i = 65 + 63; i < AUTH_USER_NAME_MAX; i += 64)
                name[i] = '.';
        name[AUTH_USER_NAME_MAX] = '\0';
        assert_int_equal(auth_user_canonical(name, NULL, &got, &st), 0);
        assert_int_equal(strlen(got), AUTH_USER_NAME_MAX);
        free(got);
        name[AUTH_USER_NAME_MAX] = 'a';
        name[AUTH_USER_NAME_MAX + 1] = '\0';
        assert_int_equal(auth_user_canonical(name, NULL, &got, &st), -1);
        /* a bare name that only the local domain makes too long */
        char domain[201];
        memset(domain, 'd', sizeof(domain) - 1);
        for (size_t i = 50; i < sizeof(domain) - 1; i += 50)
                domain[i] = '.';
        domain[sizeof(domain) - 1] = '\0';
        assert_int_equal(auth_user_canonical("short", domain, &got, &st), 0);
        free(got);
        memset(name, 'b', 60);
        name[60] = '\0';
        assert_int_equal(auth_user_canonical(name, domain, &got, &st), -1);
        assert_null(got);
}

static void test_canonical_domain(void **state)
{
        struct status st;
        char *got = NULL;

        assert_int_equal(auth_user_canonical_domain("Example.COM", &got, &st),
                         0);
        assert_string_equal(got, "example.com");
        free(got);
        assert_int_equal(auth_user_canonical_domain("a@b", &got, &st), -1);
        assert_null(got);
        assert_int_equal(auth_user_canonical_domain("", &got, &st), -1);
        assert_int_equal(auth_user_canonical_domain("x..y", &got, &st), -1);
}

static void test_system_name(void **state)
{
        static const struct {
                const char *canonical;
                const char *local_domain;
                const char *want;       /* NULL: not a system user */
        } cases[] = {
                { "ann", NULL, "ann" },
                { "ann", "example.com", "ann" },
                { "ann@example.com", "example.com", "ann" },
                { "ann@example.com", "EXAMPLE.com", "ann" },
                { "ann@other.org", "example.com", NULL },
                { "ann@example.com", NULL, NULL },
                { "ann@example.com", "", NULL },
                { "ann@sub.example.com", "example.com", NULL },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *got = NULL;
                int ret = auth_user_system_name(cases[i].canonical,
                                                cases[i].local_domain, &got);

                if (cases[i].want == NULL ? ret != 0 || got != NULL
                                          : ret != 1 ||
                                            strcmp(got, cases[i].want) != 0)
                        fail_msg("case %s in %s: got %d %s, want %s",
                                 cases[i].canonical,
                                 cases[i].local_domain ?: "(none)", ret,
                                 got ? got : "(null)",
                                 cases[i].want ? cases[i].want : "none");
                free(got);
        }
}

static void test_expand(void **state)
{
        static const struct {
                const char *name;
                const char *tmpl;
                const char *user;
                const char *home;
                const char *want;       /* NULL: error */
        } cases[] = {
                { "domain and local part", "maildir:/var/vmail/%d/%n",
                  "ann@example.com", NULL,
                  "maildir:/var/vmail/example.com/ann" },
                { "whole address", "maildir:/srv/%u", "ann@example.com", "",
                  "maildir:/srv/ann@example.com" },
                { "home", "maildir:%h/Maildir", "ann@example.com",
                  "/home/ann", "maildir:/home/ann/Maildir" },
                { "tilde", "maildir:~/Maildir", "ann@example.com",
                  "/home/ann", "maildir:/home/ann/Maildir" },
                { "tilde alone", "maildir:~", "ann@example.com", "/h",
                  "maildir:/h" },
                { "tilde without type", "~/Mail", "ann@example.com", "/h",
                  "/h/Mail" },
                { "tilde inside is literal", "maildir:/x/~y", "a@b.c", "/h",
                  "maildir:/x/~y" },
                { "L modifier", "maildir:/v/%Ld/%Ln", "ann@example.com", NULL,
                  "maildir:/v/example.com/ann" },
                { "percent", "maildir:/v/100%%/%n", "ann@example.com", NULL,
                  "maildir:/v/100%/ann" },
                { "bare name", "maildir:/v/%d/%n", "ann", NULL,
                  "maildir:/v//ann" },
                { "options kept", "maildir:/v/%d/%n:INDEX=/idx/%u",
                  "a@b.c", NULL, "maildir:/v/b.c/a:INDEX=/idx/a@b.c" },
                { "no variables", "maildir:/fixed", "a@b.c", NULL,
                  "maildir:/fixed" },
                { "unknown variable", "maildir:/v/%x", "a@b.c", NULL, NULL },
                { "trailing percent", "maildir:/v/%", "a@b.c", NULL, NULL },
                { "trailing L", "maildir:/v/%L", "a@b.c", NULL, NULL },
                { "home needed", "maildir:%h/Maildir", "a@b.c", "", NULL },
                { "home needed, NULL", "maildir:%h", "a@b.c", NULL, NULL },
                { "tilde needs home", "maildir:~/Maildir", "a@b.c", "", NULL },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct status st;
                char *got = NULL;
                int ret = auth_user_expand(cases[i].tmpl, cases[i].user,
                                           cases[i].home, &got, &st);

                if (cases[i].want == NULL) {
                        if (ret != -1 || got != NULL ||
                            strcmp(st.code, STATUS_CONFIG_TEMP) != 0)
                                fail_msg("case %s: got %d %s, want error",
                                         cases[i].name, ret, got);
                } else if (ret != 0 || strcmp(got, cases[i].want) != 0) {
                        fail_msg("case %s: got %d \"%s\", want \"%s\"",
                                 cases[i].name, ret, got ? got : st.text,
                                 cases[i].want);
                }
                free(got);
        }
}

static void test_expand_too_long(void **state)
{
        char home[AUTH_USER_PATH_MAX];
        struct status st;
        char *got = NULL;

        memset(home, 'h', sizeof(home) - 1);
        home[0] = '/';
        home[sizeof(home) - 1] = '\0';
        assert_int_equal(auth_user_expand("%h", "a@b.c", home, &got, &st), 0);
        free(got);
        assert_int_equal(auth_user_expand("maildir:%h", "a@b.c", home, &got,
                                          &st), -1);
        assert_null(got);
}

/* conf_case - one configuration and what auth_user_conf_load makes of it */
struct conf_case {
        const char *name;
        int privileged;
        const char *backends;
        const char *database;
        const char *local_domain;
        const char *uid_map;
        const char *gid_map;
        int want;               /* 0 or -1 */
        int want_ids;
        long want_uid, want_gid;
        const char *want_backends;      /* "sqlite,pam" */
};

static const struct conf_case conf_cases[] = {
        { "unprivileged: the invoking user", 0, "sqlite, pam",
          "sqlite:/x/users.db", "", "static:5000", "static:5000", 0, 1,
          1234, 4321, "sqlite,pam" },
        { "root with static maps", 1, "sqlite", "sqlite:/x/users.db", "",
          "static:5000", "static:5001", 0, 1, 5000, 5001, "sqlite" },
        { "root without maps", 1, "pam, sqlite", "sqlite:/x/users.db", "",
          "", "", 0, 0, 0, 0, "pam,sqlite" },
        { "map of another type", 1, "sqlite", "sqlite:/x/users.db", "",
          "hash:/etc/uids", "static:5000", -1, 0, 0, 0, "" },
        { "uid 0", 1, "sqlite", "sqlite:/x/users.db", "", "static:0",
          "static:5000", -1, 0, 0, 0, "" },
        { "gid not a number", 1, "sqlite", "sqlite:/x/users.db", "",
          "static:5000", "static:vmail", -1, 0, 0, 0, "" },
        { "unknown backend", 0, "sqlite, ldap", "sqlite:/x/users.db", "",
          "", "", -1, 0, 0, 0, "" },
        { "backend twice", 0, "pam pam", "sqlite:/x/users.db", "", "", "",
          -1, 0, 0, 0, "" },
        { "no backends", 0, "", "sqlite:/x/users.db", "", "", "", -1, 0, 0, 0,
          "" },
        { "relative database", 0, "sqlite", "sqlite:users.db", "", "", "",
          -1, 0, 0, 0, "" },
        { "pam needs no database", 0, "pam", "pgsql:whatever", "", "", "", 0,
          1, 1234, 4321, "pam" },
        { "bad local domain", 0, "pam", "sqlite:/x", "bad domain", "", "",
          -1, 0, 0, 0, "" },
};

static void test_conf_load(void **state)
{
        struct priv owner = { 1234, 4321, "tester" };

        for (size_t i = 0; i < sizeof(conf_cases) / sizeof(conf_cases[0]);
             i++) {
                const struct conf_case *k = &conf_cases[i];
                struct cfg *c = cfg_new("/nonexistent");
                struct auth_user_conf conf;
                struct status st;
                char names[64] = "";
                int ret;

                cfg_set(c, "auth_backends", k->backends, NULL);
                cfg_set(c, "user_database", k->database, NULL);
                cfg_set(c, "smtpd_sasl_local_domain", k->local_domain, NULL);
                cfg_set(c, "virtual_uid_maps", k->uid_map, NULL);
                cfg_set(c, "virtual_gid_maps", k->gid_map, NULL);
                cfg_set(c, "mail_location", "maildir:/v/%d/%n", NULL);
                cfg_set(c, "home_mailbox", "Maildir/", NULL);
                ret = auth_user_conf_load(c, k->privileged, &owner, &conf, &st);
                if (ret != k->want)
                        fail_msg("case %s: got %d (%s), want %d", k->name, ret,
                                 ret ? st.text : "", k->want);
                if (ret == 0) {
                        for (size_t j = 0; j < conf.backend_count; j++)
                                snprintf(names + strlen(names),
                                         sizeof(names) - strlen(names), "%s%s",
                                         j ? "," : "",
                                         conf.backends[j] == AUTH_BACKEND_SQLITE
                                         ? "sqlite" : "pam");
                        if (strcmp(names, k->want_backends) != 0 ||
                            conf.virtual_ids != k->want_ids ||
                            (k->want_ids &&
                             ((long)conf.virtual_uid != k->want_uid ||
                              (long)conf.virtual_gid != k->want_gid)))
                                fail_msg("case %s: got %s ids=%d %ld:%ld, "
                                         "want %s ids=%d %ld:%ld", k->name,
                                         names, conf.virtual_ids,
                                         (long)conf.virtual_uid,
                                         (long)conf.virtual_gid,
                                         k->want_backends, k->want_ids,
                                         k->want_uid, k->want_gid);
                        if (!conf.virtual_ids &&
                            strstr(conf.virtual_ids_error, "virtual_uid_maps")
                            == NULL)
                                fail_msg("case %s: no reason for the missing "
                                         "owner", k->name);
                        assert_string_equal(conf.mail_location,
                                            "maildir:/v/%d/%n");
                        assert_string_equal(conf.pam_service, "yubin");
                } else if (strcmp(st.code, STATUS_CONFIG) != 0) {
                        fail_msg("case %s: got code %s, want %s", k->name,
                                 st.code, STATUS_CONFIG);
                }
                auth_user_conf_release(&conf);
                cfg_free(&c);
        }
}

static void test_conf_local_domain_and_path(void **state)
{
        struct priv owner = { 1234, 4321, "tester" };
        struct cfg *c = cfg_new("/nonexistent");
        struct auth_user_conf conf;
        struct status st;

        cfg_set(c, "auth_backends", "sqlite,pam", NULL);
        cfg_set(c, "user_database", "sqlite:/srv/yubin/users.db", NULL);
        cfg_set(c, "smtpd_sasl_local_domain", "  Example.COM ", NULL);
        cfg_set(c, "mail_location", "", NULL);
        cfg_set(c, "home_mailbox", "Maildir/", NULL);
        cfg_set(c, "virtual_uid_maps", "", NULL);
        cfg_set(c, "virtual_gid_maps", "", NULL);
        assert_int_equal(auth_user_conf_load(c, 0, &owner, &conf, &st), 0);
        assert_string_equal(conf.local_domain, "example.com");
        assert_string_equal(conf.db_path, "/srv/yubin/users.db");
        assert_string_equal(conf.mail_location, "");
        auth_user_conf_release(&conf);
        assert_null(conf.db_path);
        cfg_free(&c);
}

/* test_conf - a configuration for the record and backend tests */
static void test_conf(struct auth_user_conf *conf, const char *backends)
{
        memset(conf, 0, sizeof(*conf));
        for (const char *p = backends; *p != '\0'; p++)
                conf->backends[conf->backend_count++] =
                        *p == 's' ? AUTH_BACKEND_SQLITE : AUTH_BACKEND_PAM;
        conf->local_domain = strdup("example.com");
        conf->mail_location = strdup("maildir:/var/vmail/%d/%n");
        conf->home_mailbox = strdup("Maildir/");
        conf->virtual_ids = 1;
        conf->virtual_uid = 5000;
        conf->virtual_gid = 5001;
        conf->pam_service = "yubin";
}

static void test_from_row(void **state)
{
        static const struct {
                const char *name;
                long long uid, gid;
                const char *home, *mail;
                int virtual_ids;
                const char *mail_location;
                int want;
                long want_uid, want_gid;
                const char *want_home, *want_mail;
        } cases[] = {
                { "defaults", -1, -1, NULL, NULL, 1, "maildir:/v/%d/%n", 0,
                  5000, 5001, "", "maildir:/v/example.com/ann" },
                { "own ids", 6000, 6001, NULL, NULL, 1, "maildir:/v/%d/%n", 0,
                  6000, 6001, "", "maildir:/v/example.com/ann" },
                { "own uid only", 6000, -1, NULL, NULL, 1, "maildir:/v/%n", 0,
                  6000, 5001, "", "maildir:/v/ann" },
                { "own ids, no maps", 6000, 6001, NULL, NULL, 0,
                  "maildir:/v/%n", 0, 6000, 6001, "", "maildir:/v/ann" },
                { "own mail with variables", -1, -1, "/home/ann",
                  "maildir:%h/Mail", 1, "maildir:/v/%n", 0, 5000, 5001,
                  "/home/ann", "maildir:/home/ann/Mail" },
                { "mail_location with home", -1, -1, "/h/ann", NULL, 1,
                  "maildir:~/Maildir", 0, 5000, 5001, "/h/ann",
                  "maildir:/h/ann/Maildir" },
                { "no mail_location, home", -1, -1, "/h/ann", NULL, 1, "", 0,
                  5000, 5001, "/h/ann", "maildir:/h/ann/Maildir" },
                { "no mail_location, no home", -1, -1, NULL, NULL, 1, "", -1,
                  0, 0, NULL, NULL },
                { "no owner known", -1, -1, NULL, NULL, 0, "maildir:/v/%n", -1,
                  0, 0, NULL, NULL },
                { "uid 0", 0, 6001, NULL, NULL, 1, "maildir:/v/%n", -1, 0, 0,
                  NULL, NULL },
                { "gid 0", 6000, 0, NULL, NULL, 1, "maildir:/v/%n", -1, 0, 0,
                  NULL, NULL },
                { "bad mail", -1, -1, NULL, "maildir:/v/%q", 1, "", -1, 0, 0,
                  NULL, NULL },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct auth_user_conf conf;
                struct auth_db_user row = { 0 };
                struct auth_user *u = NULL;
                struct status st;
                char addr[] = "ann@example.com";
                char pw[] = "";
                int ret;

                test_conf(&conf, "s");
                conf.virtual_ids = cases[i].virtual_ids;
                snprintf(conf.virtual_ids_error,
                         sizeof(conf.virtual_ids_error), "virtual_uid_maps "
                         "unset");
                free(conf.mail_location);
                conf.mail_location = strdup(cases[i].mail_location);
                row.address = addr;
                row.password = pw;
                row.uid = cases[i].uid;
                row.gid = cases[i].gid;
                row.home = (char *)cases[i].home;
                row.mail = (char *)cases[i].mail;
                row.quota_bytes = 100;
                row.quota_messages = 7;
                row.enabled = 1;
                ret = auth_user_from_row(&conf, &row, &u, &st);
                if (ret != cases[i].want)
                        fail_msg("case %s: got %d (%s), want %d",
                                 cases[i].name, ret, ret ? st.text : "",
                                 cases[i].want);
                if (ret < 0 && status_class(&st) != 4)
                        fail_msg("case %s: got %s, want 4.x.x", cases[i].name,
                                 st.code);
                if (ret == 0 &&
                    ((long)u->uid != cases[i].want_uid ||
                     (long)u->gid != cases[i].want_gid ||
                     strcmp(u->home, cases[i].want_home) != 0 ||
                     strcmp(u->mail, cases[i].want_mail) != 0 ||
                     strcmp(u->name, "ann@example.com") != 0 ||
                     u->quota_bytes != 100 || u->quota_messages != 7 ||
                     u->backend != AUTH_BACKEND_SQLITE))
                        fail_msg("case %s: got %ld:%ld %s %s, want %ld:%ld %s "
                                 "%s", cases[i].name, (long)u->uid,
                                 (long)u->gid, u->home, u->mail,
                                 cases[i].want_uid, cases[i].want_gid,
                                 cases[i].want_home, cases[i].want_mail);
                auth_user_free(&u);
                assert_null(u);
                auth_user_conf_release(&conf);
        }
}

/* --- backends, with a real database in a temp dir ------------------- */

struct fixture {
        char dir[64];
        char path[96];
        struct auth_db *db;
};

static int db_setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        struct auth_db_user row = { 0 };
        struct status st;
        char addr[64], pw[256];
        char *hash;

        if (f == NULL)
                return -1;
        snprintf(f->dir, sizeof(f->dir), "/tmp/auth_user_test.XXXXXX");
        if (mkdtemp(f->dir) == NULL)
                return -1;
        snprintf(f->path, sizeof(f->path), "%s/users.db", f->dir);
        if (auth_db_open(f->path, AUTH_DB_CREATE, NULL, &f->db, &st) < 0)
                return -1;
        /* ann: a yescrypt password; off: disabled; bad: a broken hash;
         * nobody@example.com: shadows the system user of that name */
        if (auth_pass_hash("ann's password", NULL, &hash, &st) < 0)
                return -1;
        row.uid = row.gid = -1;
        row.enabled = 1;
        row.address = addr;
        row.password = pw;
        snprintf(addr, sizeof(addr), "ann@example.com");
        snprintf(pw, sizeof(pw), "%s", hash);
        free(hash);
        if (auth_db_user_add(f->db, &row, &st) != 1)
                return -1;
        snprintf(addr, sizeof(addr), "off@example.com");
        row.enabled = 0;
        if (auth_db_user_add(f->db, &row, &st) != 1)
                return -1;
        row.enabled = 1;
        snprintf(addr, sizeof(addr), "bad@example.com");
        snprintf(pw, sizeof(pw), "$6$broken");
        if (auth_db_user_add(f->db, &row, &st) != 1)
                return -1;
        snprintf(addr, sizeof(addr), "plain@other.org");
        snprintf(pw, sizeof(pw), "{PLAIN}open sesame");
        if (auth_db_user_add(f->db, &row, &st) != 1)
                return -1;
        *state = f;
        return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
        return remove(path);
}

static int db_teardown(void **state)
{
        struct fixture *f = *state;

        auth_db_close(&f->db);
        nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
        free(f);
        return 0;
}

static void test_lookup(void **state)
{
        static const struct {
                const char *name;
                const char *backends;
                const char *input;
                int want;
                const char *want_name;
                long want_uid;
                const char *want_mail;
        } cases[] = {
                { "virtual user", "sp", "ann@example.com", 1,
                  "ann@example.com", 5000,
                  "maildir:/var/vmail/example.com/ann" },
                { "any case", "sp", "ANN@Example.Com", 1, "ann@example.com",
                  5000, "maildir:/var/vmail/example.com/ann" },
                { "bare name, local domain", "s", "Ann", 1, "ann@example.com",
                  5000, "maildir:/var/vmail/example.com/ann" },
                { "disabled still found", "s", "off@example.com", 1,
                  "off@example.com", 5000,
                  "maildir:/var/vmail/example.com/off" },
                { "other domain", "s", "plain@other.org", 1,
                  "plain@other.org", 5000,
                  "maildir:/var/vmail/other.org/plain" },
                { "unknown", "sp", "zed@example.com", 0, NULL, 0, NULL },
                { "unknown elsewhere", "sp", "ann@example.net", 0, NULL, 0,
                  NULL },
                { "system user", "sp", "nobody", 1, "nobody@example.com",
                  65534, "maildir:/nonexistent/Maildir" },
                { "system user, full address", "p", "Nobody@example.com", 1,
                  "nobody@example.com", 65534,
                  "maildir:/nonexistent/Maildir" },
                { "system user, other domain", "p", "nobody@other.org", 0,
                  NULL, 0, NULL },
                { "root has no mailbox", "sp", "root", 0, NULL, 0, NULL },
                { "sqlite only", "s", "nobody", 0, NULL, 0, NULL },
                { "pam only", "p", "ann@example.com", 0, NULL, 0, NULL },
                { "malformed name", "sp", "../x", 0, NULL, 0, NULL },
        };
        struct fixture *f = *state;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct auth_user_conf conf;
                struct auth_user *u = NULL;
                struct status st;
                int ret;

                test_conf(&conf, cases[i].backends);
                ret = auth_user_lookup(&conf, f->db, cases[i].input, &u, &st);
                if (ret != cases[i].want)
                        fail_msg("case %s: got %d (%s), want %d",
                                 cases[i].name, ret, ret < 0 ? st.text : "",
                                 cases[i].want);
                if (ret == 1 &&
                    (strcmp(u->name, cases[i].want_name) != 0 ||
                     (long)u->uid != cases[i].want_uid ||
                     strcmp(u->mail, cases[i].want_mail) != 0))
                        fail_msg("case %s: got %s %ld %s, want %s %ld %s",
                                 cases[i].name, u->name, (long)u->uid, u->mail,
                                 cases[i].want_name, cases[i].want_uid,
                                 cases[i].want_mail);
                if (ret != 1 && u != NULL)
                        fail_msg("case %s: record left behind", cases[i].name);
                auth_user_free(&u);
                auth_user_conf_release(&conf);
        }
}

static void test_verify(void **state)
{
        static const struct {
                const char *name;
                const char *backends;
                const char *user;
                const char *password;
                int want;
        } cases[] = {
                { "right password", "sp", "ann@example.com", "ann's password",
                  1 },
                { "any case, bare", "s", "ANN", "ann's password", 1 },
                { "wrong password", "sp", "ann@example.com", "ann's Password",
                  0 },
                { "empty password", "sp", "ann@example.com", "", 0 },
                { "disabled", "s", "off@example.com", "ann's password", 0 },
                { "plain", "s", "plain@other.org", "open sesame", 1 },
                { "plain wrong", "s", "plain@other.org", "open sesame ", 0 },
                { "unknown", "s", "zed@example.com", "x", 0 },
                { "unknown everywhere", "sp", "zed@example.com", "x", 0 },
                { "root refused before PAM", "p", "root", "x", 0 },
                { "malformed name", "sp", "a b", "x", 0 },
                { "broken hash: could not tell", "s", "bad@example.com", "x",
                  -1 },
        };
        struct fixture *f = *state;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct auth_user_conf conf;
                struct auth_user *u = NULL;
                struct status st;
                int ret;

                test_conf(&conf, cases[i].backends);
                status_clear(&st);
                ret = auth_user_verify(&conf, f->db, cases[i].user,
                                       cases[i].password, "192.0.2.1", &u,
                                       &st);
                if (ret != cases[i].want)
                        fail_msg("case %s: got %d (%s), want %d",
                                 cases[i].name, ret, st.text, cases[i].want);
                if ((ret == 1) != (u != NULL))
                        fail_msg("case %s: record %p with %d", cases[i].name,
                                 (void *)u, ret);
                if (ret == 0 && st.text[0] == '\0')
                        fail_msg("case %s: no reason given", cases[i].name);
                auth_user_free(&u);
                auth_user_conf_release(&conf);
        }
}

static void test_database_trouble_is_not_not_found(void **state)
{
        struct fixture *f = *state;
        struct auth_user_conf conf;
        struct auth_user *u = NULL;
        struct status st;
        char junk[4096];
        int fd;

        /* a database that was fine at open and is junk now: a fresh open
         * of it fails, and no backend list makes that a "not found" */
        auth_db_close(&f->db);
        memset(junk, 'J', sizeof(junk));
        fd = open(f->path, O_WRONLY | O_TRUNC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
        close(fd);
        assert_int_equal(auth_db_open(f->path, 0, NULL, &f->db, &st), -1);
        assert_int_equal(status_class(&st), 4);

        test_conf(&conf, "sp");
        /* no database handle at all: could not tell, even for a name PAM
         * would know */
        assert_int_equal(auth_user_lookup(&conf, NULL, "nobody@example.com",
                                          &u, &st), -1);
        assert_int_equal(status_class(&st), 4);
        assert_int_equal(auth_user_verify(&conf, NULL, "ann@example.com", "x",
                                          NULL, &u, &st), -1);
        assert_int_equal(status_class(&st), 4);
        assert_null(u);
        /* PAM first: a system user is answered before sqlite is asked */
        auth_user_conf_release(&conf);
        test_conf(&conf, "ps");
        assert_int_equal(auth_user_lookup(&conf, NULL, "nobody", &u, &st), 1);
        auth_user_free(&u);
        auth_user_conf_release(&conf);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_canonical),
                cmocka_unit_test(test_too_long),
                cmocka_unit_test(test_canonical_domain),
                cmocka_unit_test(test_system_name),
                cmocka_unit_test(test_expand),
                cmocka_unit_test(test_expand_too_long),
                cmocka_unit_test(test_conf_load),
                cmocka_unit_test(test_conf_local_domain_and_path),
                cmocka_unit_test(test_from_row),
                cmocka_unit_test_setup_teardown(test_lookup, db_setup,
                                                db_teardown),
                cmocka_unit_test_setup_teardown(test_verify, db_setup,
                                                db_teardown),
                cmocka_unit_test_setup_teardown(
                        test_database_trouble_is_not_not_found, db_setup,
                        db_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
