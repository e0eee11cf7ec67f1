/* auth_pam_test.c - PAM logins of a real system user
 * Needs root (useradd, chpasswd, pam_unix reading /etc/shadow): as anyone
 * else every test is skipped with that reason. A throwaway user with a
 * known password is created for each test and removed afterwards. The PAM
 * stack is the shipped conf/pam.d/yubin, loaded from a temp confdir beside
 * links to the host's common-auth and common-account; a second service in
 * that dir (the same two stacks plus pam_access) shows that PAM_RHOST
 * reaches the modules.
 * Run from the top of the source tree (as make does), or set
 * YUBIN_SRCDIR. */
#include <errno.h>
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth_pam.h"
#include "auth_user.h"
#include "priv.h"
#include "status.h"

#define TEST_PASSWORD "c0rrect h0rse:battery"
#define DENIED_IP "192.0.2.99"

struct fixture {
        char user[32];
        char dir[64];           /* the PAM confdir */
        uid_t uid;
};

/* run - run a shell command quietly; its exit status */
static int run(const char *fmt, ...)
{
        char cmd[1024];
        va_list ap;
        int status;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        status = system(cmd);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int write_file(const char *path, const char *text)
{
        FILE *fp = fopen(path, "w");

        if (fp == NULL)
                return -1;
        fputs(text, fp);
        return fclose(fp);
}

/* shipped_pam_file - conf/pam.d/yubin of this source tree */
static const char *shipped_pam_file(char *buf, size_t size)
{
        const char *top = getenv("YUBIN_SRCDIR");

        snprintf(buf, size, "%s/conf/pam.d/yubin", top ? top : ".");
        return access(buf, R_OK) == 0 ? buf : NULL;
}

static int setup(void **state)
{
        struct fixture *f;
        struct passwd *pw;
        char path[256], shipped[256];
        FILE *fp;

        if (!priv_is_root())
                return 0;       /* each test skips with the reason */
        f = calloc(1, sizeof(*f));
        if (f == NULL)
                return -1;
        snprintf(f->user, sizeof(f->user), "ybpam%ld", (long)getpid() % 100000);
        snprintf(f->dir, sizeof(f->dir), "/tmp/auth_pam_test.XXXXXX");
        if (mkdtemp(f->dir) == NULL)
                return -1;
        *state = f;
        run("userdel %s >/dev/null 2>&1", f->user);
        if (run("useradd --no-create-home --home-dir /home/%s --shell "
                "/usr/sbin/nologin %s", f->user, f->user) != 0)
                return -1;
        fp = popen("chpasswd", "w");
        if (fp == NULL)
                return -1;
        fprintf(fp, "%s:%s\n", f->user, TEST_PASSWORD);
        if (pclose(fp) != 0)
                return -1;
        pw = getpwnam(f->user);
        if (pw == NULL)
                return -1;
        f->uid = pw->pw_uid;

        if (shipped_pam_file(shipped, sizeof(shipped)) == NULL) {
                print_message("conf/pam.d/yubin not found: run from the "
                              "source tree or set YUBIN_SRCDIR\n");
                return -1;
        }
        snprintf(path, sizeof(path), "%s/yubin", f->dir);
        if (run("cp %s %s", shipped, path) != 0)
                return -1;
        snprintf(path, sizeof(path), "%s/common-auth", f->dir);
        if (symlink("/etc/pam.d/common-auth", path) < 0)
                return -1;
        snprintf(path, sizeof(path), "%s/common-account", f->dir);
        if (symlink("/etc/pam.d/common-account", path) < 0)
                return -1;
        snprintf(path, sizeof(path), "%s/access.conf", f->dir);
        if (write_file(path, "-:ALL:" DENIED_IP "\n+:ALL:ALL\n") < 0)
                return -1;
        snprintf(path, sizeof(path), "%s/yubin-rhost", f->dir);
        char text[512];
        snprintf(text, sizeof(text), "@include common-auth\n"
                 "@include common-account\n"
                 "account required pam_access.so nodefgroup "
                 "accessfile=%s/access.conf\n", f->dir);
        return write_file(path, text) < 0 ? -1 : 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
        return remove(path);
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        if (f == NULL)
                return 0;
        run("userdel %s >/dev/null 2>&1", f->user);
        nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
        free(f);
        return 0;
}

#define NEED_ROOT() do { \
        if (!priv_is_root()) { \
                print_message("skipped: PAM logins of another user need " \
                              "root (pam_unix reads /etc/shadow)\n"); \
                skip(); \
        } \
} while (0)

static double now_seconds(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_verify(void **state)
{
        NEED_ROOT();
        struct fixture *f = *state;
        const struct {
                const char *name;
                const char *service;
                const char *user;
                const char *password;
                const char *rhost;
                int want;
        } cases[] = {
                { "right password", "yubin", f->user, TEST_PASSWORD,
                  "192.0.2.1", 1 },
                { "no rhost", "yubin", f->user, TEST_PASSWORD, NULL, 1 },
                { "wrong password", "yubin", f->user, TEST_PASSWORD "x",
                  "192.0.2.1", 0 },
                { "empty password", "yubin", f->user, "", "192.0.2.1", 0 },
                { "unknown user", "yubin", "ybpam-nosuchuser", TEST_PASSWORD,
                  "192.0.2.1", 0 },
                { "rhost allowed", "yubin-rhost", f->user, TEST_PASSWORD,
                  "192.0.2.1", 1 },
                { "rhost denied by pam_access", "yubin-rhost", f->user,
                  TEST_PASSWORD, DENIED_IP, 0 },
                { "service without a file", "yubin-none", f->user,
                  TEST_PASSWORD, NULL, -1 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct status st;
                double t0 = now_seconds();
                int got;

                status_clear(&st);
                got = auth_pam_verify(cases[i].service, f->dir, cases[i].user,
                                      cases[i].password, cases[i].rhost, &st);
                if (got != cases[i].want)
                        fail_msg("case %s: got %d (%s), want %d",
                                 cases[i].name, got, st.text, cases[i].want);
                if (got == 0 && status_class(&st) != 5)
                        fail_msg("case %s: got code %s, want 5.x.x",
                                 cases[i].name, st.code);
                if (got < 0 && status_class(&st) != 4)
                        fail_msg("case %s: got code %s, want 4.x.x",
                                 cases[i].name, st.code);
                /* pam_unix would sleep 2 s on a failure; authd delays */
                if (now_seconds() - t0 > 1.5)
                        fail_msg("case %s: took %.2fs: PAM's failure delay "
                                 "is still on", cases[i].name,
                                 now_seconds() - t0);
        }
}

static void test_account_checks(void **state)
{
        NEED_ROOT();
        struct fixture *f = *state;
        struct status st;

        /* an expired account fails in pam_acct_mgmt */
        assert_int_equal(run("usermod --expiredate 1970-01-02 %s", f->user), 0);
        assert_int_equal(auth_pam_verify("yubin", f->dir,
                                         f->user, TEST_PASSWORD, NULL, &st), 0);
        assert_int_equal(run("usermod --expiredate '' %s", f->user), 0);
        assert_int_equal(auth_pam_verify("yubin", f->dir, f->user,
                                         TEST_PASSWORD, NULL, &st), 1);
        /* a locked password fails in pam_authenticate */
        assert_int_equal(run("usermod --lock %s", f->user), 0);
        assert_int_equal(auth_pam_verify("yubin", f->dir, f->user,
                                         TEST_PASSWORD, NULL, &st), 0);
}

static void test_getpw(void **state)
{
        NEED_ROOT();
        struct fixture *f = *state;
        struct status st;
        char *home = NULL;
        uid_t uid;
        gid_t gid;

        assert_int_equal(auth_pam_getpw(f->user, &uid, &gid, &home, &st), 1);
        assert_int_equal(uid, f->uid);
        assert_non_null(home);
        assert_true(strncmp(home, "/home/", 6) == 0);
        free(home);
        assert_int_equal(auth_pam_getpw("ybpam-nosuchuser", &uid, &gid, &home,
                                        &st), 0);
        assert_null(home);
}

/* the whole path authd takes: backends "pam", canonical names */
static void test_through_auth_user(void **state)
{
        NEED_ROOT();
        struct fixture *f = *state;
        struct auth_user_conf conf;
        struct auth_user *u = NULL;
        struct status st;
        char name[64];
        char want_mail[96];

        memset(&conf, 0, sizeof(conf));
        conf.backends[conf.backend_count++] = AUTH_BACKEND_PAM;
        conf.local_domain = strdup("example.com");
        conf.mail_location = strdup("maildir:/var/vmail/%d/%n");
        conf.home_mailbox = strdup("Maildir/");
        conf.pam_service = AUTH_PAM_SERVICE;
        conf.pam_confdir = strdup(f->dir);

        /* PAM gets the bare name whatever the login name's form */
        snprintf(name, sizeof(name), "%s@EXAMPLE.com", f->user);
        assert_int_equal(auth_user_verify(&conf, NULL, name, TEST_PASSWORD,
                                          "192.0.2.1", &u, &st), 1);
        snprintf(name, sizeof(name), "%s@example.com", f->user);
        assert_string_equal(u->name, name);
        assert_int_equal(u->uid, f->uid);
        assert_int_equal(u->backend, AUTH_BACKEND_PAM);
        snprintf(want_mail, sizeof(want_mail), "maildir:/home/%s/Maildir",
                 f->user);
        assert_string_equal(u->mail, want_mail);
        auth_user_free(&u);

        assert_int_equal(auth_user_verify(&conf, NULL, f->user, "nope",
                                          "192.0.2.1", &u, &st), 0);
        assert_null(u);
        /* another domain is never a system user */
        snprintf(name, sizeof(name), "%s@other.org", f->user);
        assert_int_equal(auth_user_verify(&conf, NULL, name, TEST_PASSWORD,
                                          "192.0.2.1", &u, &st), 0);
        assert_null(u);
        auth_user_conf_release(&conf);
}

/* Linux-PAM 1.5 leaks a little when pam_start finds no file for a
 * service (the "service without a file" case); not ours to free. Read by
 * LeakSanitizer in SANITIZE=1 builds, ignored otherwise. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
        return "leak:libpam.so\n";
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
                cmocka_unit_test_setup_teardown(test_account_checks, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_getpw, setup, teardown),
                cmocka_unit_test_setup_teardown(test_through_auth_user, setup,
                                                teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
