/* auth_pbs.c - POP/IMAP-before-SMTP grants, in memory and in pbs.db
 * Used by: authd's front end. The table lives in an auth_map keyed by
 * the normalized address; pbs.db (table grants: ip, user, expires in ms)
 * is written through on each grant and read once at open. A grant is
 * short-lived relay permission, so durability is WAL with
 * synchronous=NORMAL: an OS crash may lose the last grants, a kill -9 of
 * authd loses none. */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth_map.h"
#include "auth_pbs.h"
#include "log.h"
#include "mem.h"

#define PBS_SCHEMA_VERSION 1
#define PBS_BUSY_TIMEOUT_MS 2000

struct pbs_grant {
        char *user;
        long long expires;      /* wall-clock ms */
};

struct auth_pbs {
        struct auth_map *grants;
        sqlite3 *db;            /* NULL: memory only */
        sqlite3_stmt *put;
        sqlite3_stmt *del;
        char *path;
};

static void grant_free(struct pbs_grant *g)
{
        if (g == NULL)
                return;
        free(g->user);
        free(g);
}

static int db_fail(struct auth_pbs *p, const char *what, struct status *st)
{
        return status_set(st, STATUS_LOCAL_IO, "%s: %s: %s", p->path, what,
                          p->db != NULL ? sqlite3_errmsg(p->db)
                                        : "out of memory");
}

static int db_exec(struct auth_pbs *p, const char *sql, struct status *st)
{
        char *err = NULL;

        if (sqlite3_exec(p->db, sql, NULL, NULL, &err) != SQLITE_OK) {
                status_set(st, STATUS_LOCAL_IO, "%s: %s", p->path,
                           err != NULL ? err : "error");
                sqlite3_free(err);
                return -1;
        }
        return 0;
}

/* db_open - open or create path and its schema; load live grants */
static int db_open(struct auth_pbs *p, long long now_ms, struct status *st)
{
        sqlite3_stmt *sel = NULL;
        int fd, rc;

        /* create with mode 0600 ourselves: sqlite would use the umask */
        fd = open(p->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return status_set(st, STATUS_LOCAL_IO, "open %s: %m",
                                  p->path);
        close(fd);
        if (sqlite3_open_v2(p->path, &p->db, SQLITE_OPEN_READWRITE |
                            SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
                return db_fail(p, "open", st);
        sqlite3_busy_timeout(p->db, PBS_BUSY_TIMEOUT_MS);
        if (db_exec(p, "PRAGMA journal_mode=WAL", st) < 0 ||
            db_exec(p, "PRAGMA synchronous=NORMAL", st) < 0 ||
            db_exec(p, "CREATE TABLE IF NOT EXISTS grants ("
                       " ip TEXT PRIMARY KEY NOT NULL,"
                       " user TEXT NOT NULL,"
                       " expires INTEGER NOT NULL)", st) < 0 ||
            db_exec(p, "PRAGMA user_version=1", st) < 0)
                return -1;
        if (sqlite3_prepare_v2(p->db, "INSERT OR REPLACE INTO grants "
                               "(ip, user, expires) VALUES (?, ?, ?)", -1,
                               &p->put, NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(p->db, "DELETE FROM grants WHERE "
                               "expires <= ?", -1, &p->del,
                               NULL) != SQLITE_OK)
                return db_fail(p, "prepare", st);
        sqlite3_bind_int64(p->del, 1, now_ms);
        rc = sqlite3_step(p->del);
        sqlite3_reset(p->del);
        if (rc != SQLITE_DONE)
                return db_fail(p, "purge", st);
        if (sqlite3_prepare_v2(p->db, "SELECT ip, user, expires FROM grants",
                               -1, &sel, NULL) != SQLITE_OK)
                return db_fail(p, "prepare", st);
        while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
                const char *ip = (const char *)sqlite3_column_text(sel, 0);
                const char *user = (const char *)sqlite3_column_text(sel, 1);
                struct pbs_grant *g;

                if (ip == NULL || user == NULL)
                        continue;
                g = xcalloc(1, sizeof(*g));
                g->user = xstrdup(user);
                g->expires = sqlite3_column_int64(sel, 2);
                grant_free(auth_map_put(p->grants, ip, g));
        }
        sqlite3_finalize(sel);
        if (rc != SQLITE_DONE)
                return db_fail(p, "read", st);
        return 0;
}

int auth_pbs_open(const char *path, long long now_ms, struct auth_pbs **p_r,
                  struct status *st)
{
        struct auth_pbs *p = xcalloc(1, sizeof(*p));

        *p_r = NULL;
        p->grants = auth_map_new();
        if (path != NULL) {
                p->path = xstrdup(path);
                if (db_open(p, now_ms, st) < 0) {
                        auth_pbs_close(&p);
                        return -1;
                }
        }
        *p_r = p;
        return 0;
}

static int free_one(const char *key, void *value, void *ctx)
{
        grant_free(value);
        return 1;
}

void auth_pbs_close(struct auth_pbs **pp)
{
        struct auth_pbs *p;

        if (pp == NULL || *pp == NULL)
                return;
        p = *pp;
        auth_map_each(p->grants, free_one, NULL);
        auth_map_free(&p->grants);
        sqlite3_finalize(p->put);
        sqlite3_finalize(p->del);
        if (p->db != NULL)
                sqlite3_close(p->db);
        free(p->path);
        free(p);
        *pp = NULL;
}

int auth_pbs_grant(struct auth_pbs *p, const char *ip, const char *user,
                   long long now_ms, long long ttl_ms, struct status *st)
{
        struct pbs_grant *g = auth_map_get(p->grants, ip);
        int rc;

        if (g == NULL) {
                if (auth_map_count(p->grants) >= AUTH_PBS_MAX &&
                    auth_pbs_purge(p, now_ms) >= AUTH_PBS_MAX)
                        return status_set(st, STATUS_NO_SPACE,
                                          "%d grants are live already",
                                          AUTH_PBS_MAX);
                g = xcalloc(1, sizeof(*g));
                auth_map_put(p->grants, ip, g);
        } else {
                free(g->user);
        }
        g->user = xstrdup(user);
        g->expires = now_ms + ttl_ms;
        if (p->db == NULL)
                return 0;
        sqlite3_bind_text(p->put, 1, ip, -1, SQLITE_STATIC);
        sqlite3_bind_text(p->put, 2, user, -1, SQLITE_STATIC);
        sqlite3_bind_int64(p->put, 3, g->expires);
        rc = sqlite3_step(p->put);
        sqlite3_reset(p->put);
        sqlite3_clear_bindings(p->put);
        if (rc != SQLITE_DONE)
                return db_fail(p, "write", st);
        return 0;
}

int auth_pbs_check(struct auth_pbs *p, const char *ip, long long now_ms,
                   const char **user_r, long long *expires_r)
{
        struct pbs_grant *g = auth_map_get(p->grants, ip);

        if (g == NULL || g->expires <= now_ms)
                return 0;
        if (user_r != NULL)
                *user_r = g->user;
        if (expires_r != NULL)
                *expires_r = g->expires;
        return 1;
}

struct list_ctx {
        long long now;
        void (*fn)(const char *ip, const char *user, long long expires_ms,
                   void *ctx);
        void *ctx;
        size_t count;
};

static int list_one(const char *key, void *value, void *ctx)
{
        struct list_ctx *lc = ctx;
        struct pbs_grant *g = value;

        if (g->expires > lc->now) {
                lc->fn(key, g->user, g->expires, lc->ctx);
                lc->count++;
        }
        return 0;
}

size_t auth_pbs_list(struct auth_pbs *p, long long now_ms,
                     void (*fn)(const char *ip, const char *user,
                                long long expires_ms, void *ctx),
                     void *ctx)
{
        struct list_ctx lc = { now_ms, fn, ctx, 0 };

        auth_map_each(p->grants, list_one, &lc);
        return lc.count;
}

static int purge_one(const char *key, void *value, void *ctx)
{
        struct pbs_grant *g = value;

        if (g->expires > *(const long long *)ctx)
                return 0;
        grant_free(g);
        return 1;
}

size_t auth_pbs_purge(struct auth_pbs *p, long long now_ms)
{
        auth_map_each(p->grants, purge_one, &now_ms);
        if (p->db != NULL) {
                int rc;

                sqlite3_bind_int64(p->del, 1, now_ms);
                rc = sqlite3_step(p->del);
                sqlite3_reset(p->del);
                if (rc != SQLITE_DONE)
                        log_warn("PbS: %s: purge: %s", p->path,
                                 sqlite3_errmsg(p->db));
        }
        return auth_map_count(p->grants);
}
