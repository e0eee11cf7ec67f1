/* auth_db.c - the SQLite user database (user_database = sqlite:PATH)
 * Used by: authd and yubinctl. The file is created mode 0600 (owned by
 * mail_owner when root creates it), put in WAL mode, and migrated with the
 * ordered list db_migrations[] under PRAGMA user_version, inside one
 * BEGIN IMMEDIATE transaction so that two processes opening a new file at
 * once cannot both migrate it. Every value reaches SQL as a bound
 * parameter. SQLite errors become 4.3.0 (4.3.1 for a full disk): the
 * caller cannot tell whether the user exists. Runs as mail_owner (authd)
 * or as the administrator (yubinctl). */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth_db.h"
#include "mem.h"
#include "priv.h"
#include "status.h"

struct auth_db {
        sqlite3 *sql;
        char *path;
        int found_version;      /* user_version at open */
};

/* The schema, one step per entry; entry i takes version i to i + 1. Never
 * edit a released step: append a new one. */
static const char *const db_migrations[] = {
        /* 1: domains and users */
        "CREATE TABLE domains ("
        " name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE"
        "  CHECK (name = lower(name) COLLATE BINARY AND length(name) > 0),"
        " created INTEGER NOT NULL);"
        "CREATE TABLE users ("
        " address TEXT NOT NULL PRIMARY KEY COLLATE NOCASE"
        "  CHECK (address = lower(address) COLLATE BINARY"
        "   AND instr(address, '@') > 1),"
        " password TEXT NOT NULL,"
        " uid INTEGER,"
        " gid INTEGER,"
        " home TEXT,"
        " mail TEXT,"
        " quota_bytes INTEGER NOT NULL DEFAULT 0 CHECK (quota_bytes >= 0),"
        " quota_messages INTEGER NOT NULL DEFAULT 0"
        "  CHECK (quota_messages >= 0),"
        " enabled INTEGER NOT NULL DEFAULT 1,"
        " created INTEGER NOT NULL);",
};

_Static_assert(sizeof(db_migrations) / sizeof(db_migrations[0]) ==
               AUTH_DB_SCHEMA_VERSION,
               "AUTH_DB_SCHEMA_VERSION must count db_migrations");

#define DB_USER_COLUMNS "address, password, uid, gid, home, mail, " \
                        "quota_bytes, quota_messages, enabled, created"

/* db_fail - st from the connection's last error; returns -1 */
static int db_fail(struct auth_db *db, struct status *st, const char *what)
{
        int code = sqlite3_extended_errcode(db->sql);
        const char *status = STATUS_LOCAL_IO;

        if ((code & 0xff) == SQLITE_FULL)
                status = STATUS_NO_SPACE;
        else if ((code & 0xff) == SQLITE_CONSTRAINT)
                status = STATUS_BAD_ARGS;
        return status_set(st, status, "%s: %s: %s", db->path, what,
                          sqlite3_errmsg(db->sql));
}

/* db_prepare - a statement for sql, or NULL with st */
static sqlite3_stmt *db_prepare(struct auth_db *db, const char *sql,
                                struct status *st)
{
        sqlite3_stmt *stmt = NULL;

        if (sqlite3_prepare_v2(db->sql, sql, -1, &stmt, NULL) != SQLITE_OK) {
                db_fail(db, st, "prepare");
                sqlite3_finalize(stmt);
                return NULL;
        }
        return stmt;
}

/* db_exec - run fixed SQL that takes no parameters */
static int db_exec(struct auth_db *db, const char *sql, struct status *st)
{
        if (sqlite3_exec(db->sql, sql, NULL, NULL, NULL) != SQLITE_OK)
                return db_fail(db, st, sql);
        return 0;
}

/* db_user_version - PRAGMA user_version; also the first read of the file,
 * so a file that is not a database fails here */
static int db_user_version(struct auth_db *db, int *version_r,
                           struct status *st)
{
        sqlite3_stmt *stmt = db_prepare(db, "PRAGMA user_version", st);
        int rc;

        if (stmt == NULL)
                return -1;
        rc = sqlite3_step(stmt);
        if (rc != SQLITE_ROW) {
                db_fail(db, st, "read schema version");
                sqlite3_finalize(stmt);
                return -1;
        }
        *version_r = sqlite3_column_int(stmt, 0);
        sqlite3_finalize(stmt);
        return 0;
}

/* db_migrate - bring the schema to AUTH_DB_SCHEMA_VERSION */
static int db_migrate(struct auth_db *db, struct status *st)
{
        char sql[64];
        int version;

        if (db_exec(db, "BEGIN IMMEDIATE", st) < 0)
                return -1;
        /* read again under the write lock: another process may have
         * migrated since we looked */
        if (db_user_version(db, &version, st) < 0)
                goto fail;
        if (version > AUTH_DB_SCHEMA_VERSION) {
                status_set(st, STATUS_CONFIG_TEMP,
                           "%s: schema version %d is newer than this "
                           "program's %d", db->path, version,
                           AUTH_DB_SCHEMA_VERSION);
                goto fail;
        }
        for (int i = version; i < AUTH_DB_SCHEMA_VERSION; i++)
                if (db_exec(db, db_migrations[i], st) < 0)
                        goto fail;
        /* a pragma takes no parameters; the value is our own constant */
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
                 AUTH_DB_SCHEMA_VERSION);
        if (db_exec(db, sql, st) < 0 || db_exec(db, "COMMIT", st) < 0)
                goto fail;
        return 0;
fail:
        auth_db_rollback(db);
        return -1;
}

/* db_create - create path mode 0600 (owner's when root); an existing file
 * is left alone */
static int db_create(const char *path, const struct priv *owner,
                     struct status *st)
{
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                      0600);

        if (fd < 0) {
                if (errno == EEXIST)
                        return 0;
                return status_set(st, STATUS_LOCAL_IO, "create %s: %m", path);
        }
        /* exactly 0600 whatever the umask; SQLite gives its -wal and -shm
         * files the database's mode and, as root, its owner */
        if (fchmod(fd, 0600) < 0 ||
            (owner != NULL && priv_is_root() &&
             fchown(fd, owner->uid, owner->gid) < 0)) {
                status_set(st, STATUS_LOCAL_IO, "set owner and mode of %s: %m",
                           path);
                close(fd);
                unlink(path);
                return -1;
        }
        if (close(fd) < 0)
                return status_set(st, STATUS_LOCAL_IO, "close %s: %m", path);
        return 0;
}

int auth_db_parse(const char *user_database, char **path_r,
                  struct status *st)
{
        const char *path;

        *path_r = NULL;
        if (strncmp(user_database, "sqlite:", 7) != 0)
                return status_set(st, STATUS_CONFIG,
                                  "user_database = %s: unsupported type "
                                  "(expected sqlite:PATH)", user_database);
        path = user_database + 7;
        if (path[0] != '/')
                return status_set(st, STATUS_CONFIG,
                                  "user_database = %s: the path must be "
                                  "absolute", user_database);
        *path_r = xstrdup(path);
        return 0;
}

int auth_db_open(const char *path, int flags, const struct priv *owner,
                 struct auth_db **db_r, struct status *st)
{
        struct auth_db *db;
        int rc;

        *db_r = NULL;
        if ((flags & AUTH_DB_CREATE) && db_create(path, owner, st) < 0)
                return -1;
        db = xcalloc(1, sizeof(*db));
        db->path = xstrdup(path);
        rc = sqlite3_open_v2(path, &db->sql,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                             NULL);
        if (rc != SQLITE_OK) {
                if (db->sql != NULL)
                        db_fail(db, st, "open");
                else
                        status_set(st, STATUS_LOCAL_IO, "%s: open: %s", path,
                                   sqlite3_errstr(rc));
                goto fail;
        }
        sqlite3_extended_result_codes(db->sql, 1);
        sqlite3_busy_timeout(db->sql, AUTH_DB_BUSY_TIMEOUT_MS);
        if (db_user_version(db, &db->found_version, st) < 0)
                goto fail;
        if (db->found_version > AUTH_DB_SCHEMA_VERSION) {
                status_set(st, STATUS_CONFIG_TEMP,
                           "%s: schema version %d is newer than this "
                           "program's %d", path, db->found_version,
                           AUTH_DB_SCHEMA_VERSION);
                goto fail;
        }
        if (sqlite3_db_readonly(db->sql, "main") == 1) {
                /* a reader without write access: fine if nothing to do */
                if (db->found_version < AUTH_DB_SCHEMA_VERSION) {
                        status_set(st, STATUS_LOCAL_IO,
                                   "%s: read-only, cannot create the schema",
                                   path);
                        goto fail;
                }
                *db_r = db;
                return 0;
        }
        /* persistent in the file; a no-op once set */
        if (db_exec(db, "PRAGMA journal_mode = WAL", st) < 0)
                goto fail;
        if (db->found_version < AUTH_DB_SCHEMA_VERSION &&
            db_migrate(db, st) < 0)
                goto fail;
        *db_r = db;
        return 0;
fail:
        auth_db_close(&db);
        return -1;
}

void auth_db_close(struct auth_db **dbp)
{
        struct auth_db *db;

        if (dbp == NULL || *dbp == NULL)
                return;
        db = *dbp;
        sqlite3_close_v2(db->sql);
        free(db->path);
        free(db);
        *dbp = NULL;
}

int auth_db_schema_version(const struct auth_db *db)
{
        return db->found_version;
}

int auth_db_begin(struct auth_db *db, struct status *st)
{
        return db_exec(db, "BEGIN IMMEDIATE", st);
}

int auth_db_commit(struct auth_db *db, struct status *st)
{
        return db_exec(db, "COMMIT", st);
}

void auth_db_rollback(struct auth_db *db)
{
        if (!sqlite3_get_autocommit(db->sql))
                sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
}

/* db_text - a column's text as a new string, or NULL for SQL NULL */
static char *db_text(sqlite3_stmt *stmt, int col)
{
        const unsigned char *t = sqlite3_column_text(stmt, col);

        return t != NULL ? xstrdup((const char *)t) : NULL;
}

/* db_int_or - a column's integer, or def for SQL NULL */
static long long db_int_or(sqlite3_stmt *stmt, int col, long long def)
{
        if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
                return def;
        return sqlite3_column_int64(stmt, col);
}

/* db_row_view - a row whose strings point into stmt (valid until the next
 * step); columns in DB_USER_COLUMNS order */
static void db_row_view(sqlite3_stmt *stmt, struct auth_db_user *row)
{
        const unsigned char *pw = sqlite3_column_text(stmt, 1);

        row->address = (char *)sqlite3_column_text(stmt, 0);
        row->password = pw != NULL ? (char *)pw : (char *)"";
        row->uid = db_int_or(stmt, 2, -1);
        row->gid = db_int_or(stmt, 3, -1);
        row->home = (char *)sqlite3_column_text(stmt, 4);
        row->mail = (char *)sqlite3_column_text(stmt, 5);
        row->quota_bytes = db_int_or(stmt, 6, 0);
        row->quota_messages = db_int_or(stmt, 7, 0);
        row->enabled = (int)db_int_or(stmt, 8, 1) != 0;
        row->created = db_int_or(stmt, 9, 0);
}

/* db_bind_text - bind s, or NULL for a NULL s */
static int db_bind_text(sqlite3_stmt *stmt, int col, const char *s)
{
        if (s == NULL)
                return sqlite3_bind_null(stmt, col);
        return sqlite3_bind_text(stmt, col, s, -1, SQLITE_TRANSIENT);
}

/* db_bind_id - bind a uid or gid; negative means NULL */
static int db_bind_id(sqlite3_stmt *stmt, int col, long long id)
{
        if (id < 0)
                return sqlite3_bind_null(stmt, col);
        return sqlite3_bind_int64(stmt, col, id);
}

/* db_change - run a one-row change whose ?1 is the key; returns 1 if a row
 * changed, 0 if none matched, -1 with st */
static int db_change(struct auth_db *db, sqlite3_stmt *stmt, const char *what,
                     struct status *st)
{
        int rc = sqlite3_step(stmt);

        if (rc != SQLITE_DONE) {
                db_fail(db, st, what);
                sqlite3_finalize(stmt);
                return -1;
        }
        sqlite3_finalize(stmt);
        return sqlite3_changes(db->sql) > 0 ? 1 : 0;
}

int auth_db_user_get(struct auth_db *db, const char *address,
                     struct auth_db_user **row_r, struct status *st)
{
        struct auth_db_user view;
        struct auth_db_user *row;
        sqlite3_stmt *stmt;
        int rc;

        *row_r = NULL;
        stmt = db_prepare(db, "SELECT " DB_USER_COLUMNS
                          " FROM users WHERE address = ?1", st);
        if (stmt == NULL)
                return -1;
        if (db_bind_text(stmt, 1, address) != SQLITE_OK) {
                db_fail(db, st, "bind");
                sqlite3_finalize(stmt);
                return -1;
        }
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_DONE) {
                sqlite3_finalize(stmt);
                return 0;
        }
        if (rc != SQLITE_ROW) {
                db_fail(db, st, "look up user");
                sqlite3_finalize(stmt);
                return -1;
        }
        db_row_view(stmt, &view);
        row = xcalloc(1, sizeof(*row));
        *row = view;
        row->address = db_text(stmt, 0);
        row->password = xstrdup(view.password);
        row->home = db_text(stmt, 4);
        row->mail = db_text(stmt, 5);
        sqlite3_finalize(stmt);
        *row_r = row;
        return 1;
}

void auth_db_user_free(struct auth_db_user **rowp)
{
        struct auth_db_user *row;

        if (rowp == NULL || *rowp == NULL)
                return;
        row = *rowp;
        if (row->password != NULL)
                explicit_bzero(row->password, strlen(row->password));
        free(row->password);
        free(row->address);
        free(row->home);
        free(row->mail);
        free(row);
        *rowp = NULL;
}

int auth_db_user_add(struct auth_db *db, const struct auth_db_user *row,
                     struct status *st)
{
        sqlite3_stmt *stmt;

        stmt = db_prepare(db, "INSERT INTO users (" DB_USER_COLUMNS ")"
                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                          " ON CONFLICT (address) DO NOTHING", st);
        if (stmt == NULL)
                return -1;
        if (db_bind_text(stmt, 1, row->address) != SQLITE_OK ||
            db_bind_text(stmt, 2, row->password != NULL ? row->password : "")
                    != SQLITE_OK ||
            db_bind_id(stmt, 3, row->uid) != SQLITE_OK ||
            db_bind_id(stmt, 4, row->gid) != SQLITE_OK ||
            db_bind_text(stmt, 5, row->home) != SQLITE_OK ||
            db_bind_text(stmt, 6, row->mail) != SQLITE_OK ||
            sqlite3_bind_int64(stmt, 7, row->quota_bytes) != SQLITE_OK ||
            sqlite3_bind_int64(stmt, 8, row->quota_messages) != SQLITE_OK ||
            sqlite3_bind_int(stmt, 9, row->enabled ? 1 : 0) != SQLITE_OK ||
            sqlite3_bind_int64(stmt, 10, (long long)time(NULL)) != SQLITE_OK) {
                db_fail(db, st, "bind");
                sqlite3_finalize(stmt);
                return -1;
        }
        return db_change(db, stmt, "add user", st);
}

/* db_keyed - prepare sql and bind key as ?1 */
static sqlite3_stmt *db_keyed(struct auth_db *db, const char *sql,
                              const char *key, struct status *st)
{
        sqlite3_stmt *stmt = db_prepare(db, sql, st);

        if (stmt == NULL)
                return NULL;
        if (db_bind_text(stmt, 1, key) != SQLITE_OK) {
                db_fail(db, st, "bind");
                sqlite3_finalize(stmt);
                return NULL;
        }
        return stmt;
}

int auth_db_user_del(struct auth_db *db, const char *address,
                     struct status *st)
{
        sqlite3_stmt *stmt = db_keyed(db, "DELETE FROM users WHERE "
                                      "address = ?1", address, st);

        return stmt != NULL ? db_change(db, stmt, "delete user", st) : -1;
}

int auth_db_user_set_password(struct auth_db *db, const char *address,
                              const char *hash, struct status *st)
{
        sqlite3_stmt *stmt = db_keyed(db, "UPDATE users SET password = ?2 "
                                      "WHERE address = ?1", address, st);

        if (stmt == NULL)
                return -1;
        if (db_bind_text(stmt, 2, hash) != SQLITE_OK) {
                db_fail(db, st, "bind");
                sqlite3_finalize(stmt);
                return -1;
        }
        return db_change(db, stmt, "set password", st);
}

int auth_db_user_set_enabled(struct auth_db *db, const char *address,
                             int enabled, struct status *st)
{
        sqlite3_stmt *stmt = db_keyed(db, "UPDATE users SET enabled = ?2 "
                                      "WHERE address = ?1", address, st);

        if (stmt == NULL)
                return -1;
        if (sqlite3_bind_int(stmt, 2, enabled ? 1 : 0) != SQLITE_OK) {
                db_fail(db, st, "bind");
                sqlite3_finalize(stmt);
                return -1;
        }
        return db_change(db, stmt, "set enabled", st);
}

long auth_db_user_list(struct auth_db *db, const char *domain,
                       void (*fn)(const struct auth_db_user *row, void *ctx),
                       void *ctx, struct status *st)
{
        struct auth_db_user view;
        sqlite3_stmt *stmt;
        long count = 0;
        int rc;

        if (domain == NULL)
                stmt = db_prepare(db, "SELECT " DB_USER_COLUMNS " FROM users"
                                  " ORDER BY address", st);
        else
                stmt = db_keyed(db, "SELECT " DB_USER_COLUMNS " FROM users"
                                " WHERE substr(address, instr(address, '@')"
                                " + 1) = ?1 COLLATE NOCASE ORDER BY address",
                                domain, st);
        if (stmt == NULL)
                return -1;
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
                db_row_view(stmt, &view);
                fn(&view, ctx);
                count++;
        }
        if (rc != SQLITE_DONE) {
                db_fail(db, st, "list users");
                sqlite3_finalize(stmt);
                return -1;
        }
        sqlite3_finalize(stmt);
        return count;
}

int auth_db_domain_add(struct auth_db *db, const char *domain,
                       struct status *st)
{
        sqlite3_stmt *stmt = db_keyed(db, "INSERT INTO domains (name, created)"
                                      " VALUES (?1, ?2)"
                                      " ON CONFLICT (name) DO NOTHING",
                                      domain, st);

        if (stmt == NULL)
                return -1;
        if (sqlite3_bind_int64(stmt, 2, (long long)time(NULL)) != SQLITE_OK) {
                db_fail(db, st, "bind");
                sqlite3_finalize(stmt);
                return -1;
        }
        return db_change(db, stmt, "add domain", st);
}

int auth_db_domain_del(struct auth_db *db, const char *domain,
                       struct status *st)
{
        sqlite3_stmt *stmt = db_keyed(db, "DELETE FROM domains WHERE "
                                      "name = ?1", domain, st);

        return stmt != NULL ? db_change(db, stmt, "delete domain", st) : -1;
}

int auth_db_domain_exists(struct auth_db *db, const char *domain,
                          struct status *st)
{
        sqlite3_stmt *stmt = db_keyed(db, "SELECT 1 FROM domains WHERE "
                                      "name = ?1", domain, st);
        int rc;

        if (stmt == NULL)
                return -1;
        rc = sqlite3_step(stmt);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                db_fail(db, st, "look up domain");
                sqlite3_finalize(stmt);
                return -1;
        }
        sqlite3_finalize(stmt);
        return rc == SQLITE_ROW;
}

long auth_db_domain_list(struct auth_db *db,
                         void (*fn)(const char *domain, void *ctx), void *ctx,
                         struct status *st)
{
        sqlite3_stmt *stmt = db_prepare(db, "SELECT name FROM domains "
                                        "ORDER BY name", st);
        long count = 0;
        int rc;

        if (stmt == NULL)
                return -1;
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
                fn((const char *)sqlite3_column_text(stmt, 0), ctx);
                count++;
        }
        if (rc != SQLITE_DONE) {
                db_fail(db, st, "list domains");
                sqlite3_finalize(stmt);
                return -1;
        }
        sqlite3_finalize(stmt);
        return count;
}
