/* auth_db_test.c - the SQLite user database: create (mode, owner, WAL,
 * schema), migrate, users and domains, a reader beside a writer in another
 * process, and "could not tell" for unreadable or corrupt files. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <sqlite3.h>
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

#include "auth_db.h"
#include "priv.h"
#include "status.h"

struct fixture {
        char dir[64];
        char path[96];
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        if (f == NULL)
                return -1;
        snprintf(f->dir, sizeof(f->dir), "/tmp/auth_db_test.XXXXXX");
        if (mkdtemp(f->dir) == NULL)
                return -1;
        snprintf(f->path, sizeof(f->path), "%s/users.db", f->dir);
        *state = f;
        return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
        return remove(path);
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        chmod(f->dir, 0700);
        nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
        free(f);
        return 0;
}

/* open_new - a fresh database at f->path, or fail the test */
static struct auth_db *open_new(const struct fixture *f)
{
        struct auth_db *db = NULL;
        struct status st;

        if (auth_db_open(f->path, AUTH_DB_CREATE, NULL, &db, &st) < 0)
                fail_msg("open %s: %s %s", f->path, st.code, st.text);
        return db;
}

/* add - add address with a password hash and the given quota */
static int add(struct auth_db *db, const char *address, const char *hash,
               long long quota)
{
        char addr[256];
        char pw[256];
        struct auth_db_user row = { 0 };
        struct status st;
        int ret;

        snprintf(addr, sizeof(addr), "%s", address);
        snprintf(pw, sizeof(pw), "%s", hash);
        row.address = addr;
        row.password = pw;
        row.uid = -1;
        row.gid = -1;
        row.quota_bytes = quota;
        row.enabled = 1;
        ret = auth_db_user_add(db, &row, &st);
        if (ret < 0)
                print_message("add %s: %s %s\n", address, st.code, st.text);
        return ret;
}

/* sql_one - run one query with sqlite directly; its first column as int */
static long long sql_one(const char *path, const char *sql)
{
        sqlite3 *h;
        sqlite3_stmt *stmt;
        long long v = -12345;

        assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &stmt, NULL),
                         SQLITE_OK);
        if (sqlite3_step(stmt) == SQLITE_ROW) {
                if (sqlite3_column_type(stmt, 0) == SQLITE_TEXT)
                        v = strcmp((const char *)sqlite3_column_text(stmt, 0),
                                   "wal") == 0;
                else
                        v = sqlite3_column_int64(stmt, 0);
        }
        sqlite3_finalize(stmt);
        sqlite3_close(h);
        return v;
}

static void test_create_mode_wal_schema(void **state)
{
        struct fixture *f = *state;
        struct auth_db *db;
        struct stat sb;
        mode_t old = umask(0);

        db = open_new(f);
        umask(old);
        assert_int_equal(auth_db_schema_version(db), 0);
        assert_int_equal(stat(f->path, &sb), 0);
        assert_int_equal(sb.st_mode & 07777, 0600);
        assert_int_equal(sql_one(f->path, "PRAGMA journal_mode"), 1);
        assert_int_equal(sql_one(f->path, "PRAGMA user_version"),
                         AUTH_DB_SCHEMA_VERSION);
        assert_int_equal(sql_one(f->path, "SELECT count(*) FROM sqlite_master "
                                 "WHERE name IN ('users', 'domains')"), 2);
        auth_db_close(&db);
        assert_null(db);
        auth_db_close(&db);     /* a cleared pointer is fine */

        /* a second open finds the schema and changes nothing */
        db = open_new(f);
        assert_int_equal(auth_db_schema_version(db), AUTH_DB_SCHEMA_VERSION);
        auth_db_close(&db);
}

static void test_create_chowns_as_root(void **state)
{
        struct fixture *f = *state;
        struct priv owner = { 65534, 65534, "nobody" };
        struct auth_db *db = NULL;
        struct status st;
        struct stat sb;

        if (!priv_is_root()) {
                print_message("skipped: chown needs root\n");
                skip();
        }
        assert_int_equal(auth_db_open(f->path, AUTH_DB_CREATE, &owner, &db,
                                      &st), 0);
        assert_int_equal(add(db, "ann@example.com", "{PLAIN}x", 0), 1);
        assert_int_equal(stat(f->path, &sb), 0);
        assert_int_equal(sb.st_uid, 65534);
        assert_int_equal(sb.st_gid, 65534);
        assert_int_equal(sb.st_mode & 07777, 0600);
        /* SQLite gives the WAL the database's owner too */
        char wal[128];
        snprintf(wal, sizeof(wal), "%s-wal", f->path);
        if (stat(wal, &sb) == 0)
                assert_int_equal(sb.st_uid, 65534);
        auth_db_close(&db);
}

static void test_open_missing_without_create(void **state)
{
        struct fixture *f = *state;
        struct auth_db *db = NULL;
        struct status st;

        assert_int_equal(auth_db_open(f->path, 0, NULL, &db, &st), -1);
        assert_null(db);
        assert_int_equal(status_class(&st), 4);
        assert_int_equal(access(f->path, F_OK), -1);
}

static void test_migrates_old_and_refuses_newer(void **state)
{
        struct fixture *f = *state;
        struct auth_db *db = NULL;
        struct status st;
        sqlite3 *h;

        /* a version-0 file that already holds something else */
        assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
        assert_int_equal(sqlite3_exec(h, "CREATE TABLE notes (x)", NULL, NULL,
                                      NULL), SQLITE_OK);
        sqlite3_close(h);
        db = open_new(f);
        assert_int_equal(auth_db_schema_version(db), 0);
        assert_int_equal(add(db, "ann@example.com", "{PLAIN}x", 0), 1);
        auth_db_close(&db);

        /* a file from a newer Yubin: refused, not damaged */
        assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
        assert_int_equal(sqlite3_exec(h, "PRAGMA user_version = 99", NULL,
                                      NULL, NULL), SQLITE_OK);
        sqlite3_close(h);
        assert_int_equal(auth_db_open(f->path, AUTH_DB_CREATE, NULL, &db, &st),
                         -1);
        assert_null(db);
        assert_string_equal(st.code, STATUS_CONFIG_TEMP);
        assert_non_null(strstr(st.text, "99"));
        assert_int_equal(sql_one(f->path, "SELECT count(*) FROM users"), 1);
}

static void test_users(void **state)
{
        struct fixture *f = *state;
        struct auth_db *db = open_new(f);
        struct auth_db_user *row = NULL;
        struct auth_db_user full = { 0 };
        struct status st;
        time_t before = time(NULL);

        assert_int_equal(add(db, "ann@example.com", "$y$old", 1000), 1);
        /* the address is unique, in any case */
        assert_int_equal(add(db, "ann@example.com", "$y$other", 0), 0);
        /* the schema keeps addresses canonical */
        assert_int_equal(add(db, "Bob@example.com", "x", 0), -1);
        assert_int_equal(add(db, "bare", "x", 0), -1);
        assert_int_equal(add(db, "@example.com", "x", 0), -1);

        assert_int_equal(auth_db_user_get(db, "ann@example.com", &row, &st), 1);
        assert_string_equal(row->address, "ann@example.com");
        assert_string_equal(row->password, "$y$old");
        assert_int_equal(row->uid, -1);
        assert_int_equal(row->gid, -1);
        assert_null(row->home);
        assert_null(row->mail);
        assert_int_equal(row->quota_bytes, 1000);
        assert_int_equal(row->quota_messages, 0);
        assert_int_equal(row->enabled, 1);
        assert_true(row->created >= before && row->created <= time(NULL));
        auth_db_user_free(&row);
        assert_null(row);

        /* every optional column round-trips */
        char addr[] = "cy@example.org";
        char pw[] = "{PLAIN}pw";
        char home[] = "/home/cy";
        char mail[] = "maildir:~/Mail";
        full.address = addr;
        full.password = pw;
        full.uid = 5001;
        full.gid = 5002;
        full.home = home;
        full.mail = mail;
        full.quota_bytes = 1LL << 40;
        full.quota_messages = 500;
        full.enabled = 0;
        assert_int_equal(auth_db_user_add(db, &full, &st), 1);
        assert_int_equal(auth_db_user_get(db, "cy@example.org", &row, &st), 1);
        assert_int_equal(row->uid, 5001);
        assert_int_equal(row->gid, 5002);
        assert_string_equal(row->home, "/home/cy");
        assert_string_equal(row->mail, "maildir:~/Mail");
        assert_int_equal(row->quota_bytes, 1LL << 40);
        assert_int_equal(row->quota_messages, 500);
        assert_int_equal(row->enabled, 0);
        auth_db_user_free(&row);

        /* not found is 0, and leaves nothing behind */
        assert_int_equal(auth_db_user_get(db, "nobody@example.com", &row, &st),
                         0);
        assert_null(row);
        /* values are bound, never spliced into SQL */
        assert_int_equal(auth_db_user_get(db, "x' OR '1'='1", &row, &st), 0);
        assert_int_equal(auth_db_user_del(db, "' OR 1=1; --", &st), 0);

        /* passwd, enable */
        assert_int_equal(auth_db_user_set_password(db, "ann@example.com",
                                                   "$y$new", &st), 1);
        assert_int_equal(auth_db_user_set_password(db, "nobody@example.com",
                                                   "$y$new", &st), 0);
        assert_int_equal(auth_db_user_set_enabled(db, "cy@example.org", 1,
                                                  &st), 1);
        assert_int_equal(auth_db_user_get(db, "ann@example.com", &row, &st), 1);
        assert_string_equal(row->password, "$y$new");
        auth_db_user_free(&row);
        assert_int_equal(auth_db_user_get(db, "cy@example.org", &row, &st), 1);
        assert_int_equal(row->enabled, 1);
        auth_db_user_free(&row);

        /* del */
        assert_int_equal(auth_db_user_del(db, "ann@example.com", &st), 1);
        assert_int_equal(auth_db_user_del(db, "ann@example.com", &st), 0);
        assert_int_equal(auth_db_user_get(db, "ann@example.com", &row, &st), 0);
        auth_db_close(&db);
}

struct list_acc {
        char text[512];
};

static void list_user(const struct auth_db_user *row, void *ctx)
{
        struct list_acc *acc = ctx;
        size_t n = strlen(acc->text);

        snprintf(acc->text + n, sizeof(acc->text) - n, "%s:%lld ",
                 row->address, row->quota_bytes);
}

static void list_domain(const char *domain, void *ctx)
{
        struct list_acc *acc = ctx;
        size_t n = strlen(acc->text);

        snprintf(acc->text + n, sizeof(acc->text) - n, "%s ", domain);
}

static void test_list_and_domains(void **state)
{
        static const struct {
                const char *name;
                const char *domain;
                long want_count;
                const char *want;
        } cases[] = {
                { "all", NULL, 4, "a@b.example:1 a@example.com:2 "
                  "b@example.com:3 z@example.net:4 " },
                { "one domain", "example.com", 2,
                  "a@example.com:2 b@example.com:3 " },
                { "domain in any case", "EXAMPLE.net", 1, "z@example.net:4 " },
                { "not a suffix match", "b.example", 1, "a@b.example:1 " },
                { "no users", "example.org", 0, "" },
                { "like wildcard is literal", "example_com", 0, "" },
        };
        struct fixture *f = *state;
        struct auth_db *db = open_new(f);
        struct list_acc acc;
        struct status st;

        assert_int_equal(add(db, "z@example.net", "x", 4), 1);
        assert_int_equal(add(db, "b@example.com", "x", 3), 1);
        assert_int_equal(add(db, "a@example.com", "x", 2), 1);
        assert_int_equal(add(db, "a@b.example", "x", 1), 1);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                long got;

                acc.text[0] = '\0';
                got = auth_db_user_list(db, cases[i].domain, list_user, &acc,
                                        &st);
                if (got != cases[i].want_count ||
                    strcmp(acc.text, cases[i].want) != 0)
                        fail_msg("case %s: got %ld \"%s\", want %ld \"%s\"",
                                 cases[i].name, got, acc.text,
                                 cases[i].want_count, cases[i].want);
        }

        assert_int_equal(auth_db_domain_add(db, "example.org", &st), 1);
        assert_int_equal(auth_db_domain_add(db, "example.com", &st), 1);
        assert_int_equal(auth_db_domain_add(db, "example.com", &st), 0);
        assert_int_equal(auth_db_domain_add(db, "Example.com", &st), -1);
        assert_int_equal(auth_db_domain_exists(db, "example.com", &st), 1);
        assert_int_equal(auth_db_domain_exists(db, "example.net", &st), 0);
        acc.text[0] = '\0';
        assert_int_equal(auth_db_domain_list(db, list_domain, &acc, &st), 2);
        assert_string_equal(acc.text, "example.com example.org ");
        assert_int_equal(auth_db_domain_del(db, "example.com", &st), 1);
        assert_int_equal(auth_db_domain_del(db, "example.com", &st), 0);
        assert_int_equal(auth_db_domain_exists(db, "example.com", &st), 0);
        /* the domain's users stay */
        acc.text[0] = '\0';
        assert_int_equal(auth_db_user_list(db, "example.com", list_user, &acc,
                                           &st), 2);
        auth_db_close(&db);
}

static void test_transaction(void **state)
{
        struct fixture *f = *state;
        struct auth_db *db = open_new(f);
        struct auth_db_user *row = NULL;
        struct status st;

        assert_int_equal(auth_db_begin(db, &st), 0);
        assert_int_equal(add(db, "t1@example.com", "x", 0), 1);
        auth_db_rollback(db);
        assert_int_equal(auth_db_user_get(db, "t1@example.com", &row, &st), 0);
        assert_int_equal(auth_db_begin(db, &st), 0);
        assert_int_equal(add(db, "t2@example.com", "x", 0), 1);
        assert_int_equal(auth_db_commit(db, &st), 0);
        assert_int_equal(auth_db_user_get(db, "t2@example.com", &row, &st), 1);
        auth_db_user_free(&row);
        auth_db_rollback(db);   /* nothing open: harmless */
        auth_db_close(&db);
}

/* writer - the child: its own connection, changes for `seconds` */
static void writer(const char *path, double seconds)
{
        struct auth_db *db = NULL;
        struct status st;
        struct timespec t0, t;
        int n = 0;

        if (auth_db_open(path, AUTH_DB_CREATE, NULL, &db, &st) < 0)
                _exit(2);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        do {
                char addr[64];

                snprintf(addr, sizeof(addr), "w%d@example.com", n++ % 20);
                if (add(db, addr, "{PLAIN}one", 0) < 0 ||
                    auth_db_user_set_password(db, addr, "{PLAIN}two",
                                              &st) < 0 ||
                    auth_db_user_set_password(db, "stable@example.com",
                                              n % 2 ? "{PLAIN}odd" :
                                              "{PLAIN}even", &st) < 0 ||
                    auth_db_user_del(db, addr, &st) < 0)
                        _exit(3);
                clock_gettime(CLOCK_MONOTONIC, &t);
        } while ((double)(t.tv_sec - t0.tv_sec) +
                 (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
        if (add(db, "last@example.com", "{PLAIN}x", 0) != 1)
                _exit(4);
        auth_db_close(&db);
        _exit(n > 10 ? 0 : 5);
}

static void test_reader_beside_writer(void **state)
{
        struct fixture *f = *state;
        struct auth_db *db = open_new(f);
        struct auth_db_user *row = NULL;
        struct status st;
        int status;
        long reads = 0;
        pid_t pid;

        assert_int_equal(add(db, "stable@example.com", "{PLAIN}even", 0), 1);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                writer(f->path, 0.7);
        /* the reader never sees trouble and never loses the stable user */
        while (waitpid(pid, &status, WNOHANG) == 0) {
                int got = auth_db_user_get(db, "stable@example.com", &row,
                                           &st);
                if (got != 1)
                        fail_msg("read %ld: got %d (%s), want 1", reads, got,
                                 st.text);
                if (strcmp(row->password, "{PLAIN}odd") != 0 &&
                    strcmp(row->password, "{PLAIN}even") != 0)
                        fail_msg("read %ld: torn value %s", reads,
                                 row->password);
                auth_db_user_free(&row);
                reads++;
        }
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_true(reads > 10);
        /* the writer's last change is visible at once: nothing cached */
        assert_int_equal(auth_db_user_get(db, "last@example.com", &row, &st),
                         1);
        auth_db_user_free(&row);
        auth_db_close(&db);
}

static void test_not_a_database(void **state)
{
        struct fixture *f = *state;
        struct auth_db *db = NULL;
        struct status st;
        char junk[8192];
        int fd;

        memset(junk, 'J', sizeof(junk));
        fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
        close(fd);
        assert_int_equal(auth_db_open(f->path, AUTH_DB_CREATE, NULL, &db, &st),
                         -1);
        assert_null(db);
        assert_int_equal(status_class(&st), 4);
        /* the file is left as it was for someone to look at */
        assert_int_equal(sql_one(f->path, "PRAGMA user_version"), -12345);
}

static void test_path_is_a_directory(void **state)
{
        struct fixture *f = *state;
        struct auth_db *db = NULL;
        struct status st;

        assert_int_equal(mkdir(f->path, 0700), 0);
        assert_int_equal(auth_db_open(f->path, AUTH_DB_CREATE, NULL, &db, &st),
                         -1);
        assert_int_equal(status_class(&st), 4);
        assert_int_equal(auth_db_open(f->path, 0, NULL, &db, &st), -1);
        assert_int_equal(status_class(&st), 4);
        assert_null(db);
}

/* test_unreadable - in a child, open the file as uid 65534 (we are root) or
 * as ourselves after chmod 000 (we are not): -1 with 4.x.x wanted */
static void test_unreadable(void **state)
{
        struct fixture *f = *state;
        struct auth_db *db = open_new(f);
        int status;
        pid_t pid;

        assert_int_equal(add(db, "ann@example.com", "x", 0), 1);
        auth_db_close(&db);
        if (!priv_is_root())
                assert_int_equal(chmod(f->path, 0), 0);
        else
                assert_int_equal(chmod(f->dir, 0755), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct status st;

                if (priv_is_root() && (setgid(65534) < 0 || setuid(65534) < 0))
                        _exit(2);
                if (auth_db_open(f->path, 0, NULL, &db, &st) == 0)
                        _exit(3);
                _exit(status_class(&st) == 4 ? 0 : 4);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

/* smash_page - overwrite page `page` (1-based) of path with junk */
static void smash_page(const char *path, long long page, long long size)
{
        char junk[65536];
        int fd = open(path, O_WRONLY);

        assert_true(fd >= 0);
        assert_true(size <= (long long)sizeof(junk));
        memset(junk, 0xa5, (size_t)size);
        assert_int_equal(pwrite(fd, junk, (size_t)size,
                                (off_t)((page - 1) * size)), (ssize_t)size);
        close(fd);
}

static void test_corrupt_table_is_could_not_tell(void **state)
{
        struct fixture *f = *state;
        struct auth_db *db = open_new(f);
        struct auth_db_user *row = NULL;
        struct status st;
        long long table, index, size;

        for (int i = 0; i < 50; i++) {
                char addr[64];

                snprintf(addr, sizeof(addr), "user%d@example.com", i);
                assert_int_equal(add(db, addr, "{PLAIN}x", 0), 1);
        }
        auth_db_close(&db);     /* the last close checkpoints the WAL */
        table = sql_one(f->path, "SELECT rootpage FROM sqlite_master "
                        "WHERE name = 'users'");
        index = sql_one(f->path, "SELECT rootpage FROM sqlite_master "
                        "WHERE tbl_name = 'users' AND type = 'index'");
        size = sql_one(f->path, "PRAGMA page_size");
        assert_true(table > 1 && index > 1);
        smash_page(f->path, table, size);
        smash_page(f->path, index, size);

        /* the header is intact, so the open works ... */
        db = open_new(f);
        /* ... but no look-up may say "not found" */
        assert_int_equal(auth_db_user_get(db, "user7@example.com", &row, &st),
                         -1);
        assert_null(row);
        assert_int_equal(status_class(&st), 4);
        assert_int_equal(auth_db_user_get(db, "absent@example.com", &row, &st),
                         -1);
        assert_int_equal(status_class(&st), 4);
        assert_int_equal(auth_db_user_list(db, NULL, list_user,
                                           &(struct list_acc){ "" }, &st), -1);
        auth_db_close(&db);
}

static void test_parse(void **state)
{
        static const struct {
                const char *value;
                const char *want;       /* NULL: an error */
        } cases[] = {
                { "sqlite:/var/lib/yubin/users.db", "/var/lib/yubin/users.db" },
                { "sqlite:/x", "/x" },
                { "sqlite:users.db", NULL },
                { "sqlite:", NULL },
                { "pgsql:host=db", NULL },
                { "/var/lib/yubin/users.db", NULL },
                { "", NULL },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct status st;
                char *path = NULL;
                int got = auth_db_parse(cases[i].value, &path, &st);

                if (cases[i].want == NULL ? got != -1 || path != NULL
                                          : got != 0 ||
                                            strcmp(path, cases[i].want) != 0)
                        fail_msg("case %s: got %d %s, want %s", cases[i].value,
                                 got, path ? path : "(null)",
                                 cases[i].want ? cases[i].want : "error");
                if (got < 0 && strcmp(st.code, STATUS_CONFIG) != 0)
                        fail_msg("case %s: got code %s, want %s",
                                 cases[i].value, st.code, STATUS_CONFIG);
                free(path);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_create_mode_wal_schema,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_create_chowns_as_root,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_open_missing_without_create, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_migrates_old_and_refuses_newer, setup, teardown),
                cmocka_unit_test_setup_teardown(test_users, setup, teardown),
                cmocka_unit_test_setup_teardown(test_list_and_domains, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_transaction, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_reader_beside_writer,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_not_a_database, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_path_is_a_directory,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_unreadable, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(
                        test_corrupt_table_is_could_not_tell, setup, teardown),
                cmocka_unit_test(test_parse),
        };

        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
