/* auth_db.h - the SQLite user database (user_database = sqlite:PATH)
 * Used by: authd (look-ups, password checks) and yubinctl user|domain (all
 * changes). Holds domains and users; the schema is created and migrated on
 * open. WAL mode: readers never block the writer nor each other, so a
 * change made by yubinctl is seen by authd's next query (nothing is cached
 * here). Addresses passed in must already be canonical (auth_user.h); the
 * schema refuses upper case anyway. Look-ups answer 1 found, 0 not found,
 * -1 could not tell (4.x.x: the database is unreadable, corrupt, locked
 * past busy_timeout) -- never "not found" for trouble. */
#ifndef YUBIN_AUTH_DB_H
#define YUBIN_AUTH_DB_H

#include "priv.h"
#include "status.h"

/* the schema version this program writes (PRAGMA user_version) */
#define AUTH_DB_SCHEMA_VERSION 1
/* how long a statement waits for another process's lock, in ms */
#define AUTH_DB_BUSY_TIMEOUT_MS 5000

/* auth_db_open flags */
#define AUTH_DB_CREATE  (1 << 0)        /* create the file (mode 0600) if
                                         * missing; the directory must exist */

struct auth_db;

/* One row of the users table. In a row from auth_db_user_get() or a list
 * callback the strings belong to the row; in one given to auth_db_user_add()
 * they are borrowed. */
struct auth_db_user {
        char *address;          /* canonical, lower case */
        char *password;         /* hash as stored (auth_pass.h); "" = none */
        long long uid;          /* -1: not set (virtual_uid_maps applies) */
        long long gid;          /* -1: not set */
        char *home;             /* NULL: not set */
        char *mail;             /* mail location; NULL: mail_location */
        long long quota_bytes;  /* 0: no limit */
        long long quota_messages;       /* 0: no limit */
        int enabled;            /* 0: may not log in */
        long long created;      /* Unix time; set by auth_db_user_add() */
};

/* auth_db_parse - the path in a user_database value "sqlite:PATH" (PATH
 * absolute). Returns 0 with *path_r a new string (free with free()), or -1
 * with st (5.3.5) for another type or a relative path. */
int auth_db_parse(const char *user_database, char **path_r,
                  struct status *st);

/* auth_db_open - open the database at path, creating it with AUTH_DB_CREATE
 * (file mode 0600; chowned to owner's uid and gid when running as root and
 * owner is not NULL), switch it to WAL and migrate the schema. Returns 0
 * with *db_r (free with auth_db_close()), or -1 with st: 4.3.0 when the
 * file cannot be opened or is not a database, 4.3.5 when its schema is
 * newer than this program. Borrows path and owner. */
int auth_db_open(const char *path, int flags, const struct priv *owner,
                 struct auth_db **db_r, struct status *st);
/* auth_db_close - close *dbp and clear it; accepts NULL */
void auth_db_close(struct auth_db **dbp);
/* auth_db_schema_version - the schema version found in the file at open,
 * before any migration (0 for a new file) */
int auth_db_schema_version(const struct auth_db *db);

/* auth_db_begin, auth_db_commit - one write transaction around several
 * changes (an import); 0 or -1 with st. auth_db_rollback undoes the open
 * transaction, if any. */
int auth_db_begin(struct auth_db *db, struct status *st);
int auth_db_commit(struct auth_db *db, struct status *st);
void auth_db_rollback(struct auth_db *db);

/* auth_db_user_get - the row for address. Returns 1 with *row_r (free with
 * auth_db_user_free()), 0 no such user, -1 with st (4.3.0) when the
 * database cannot tell. */
int auth_db_user_get(struct auth_db *db, const char *address,
                     struct auth_db_user **row_r, struct status *st);
/* auth_db_user_free - free *rowp (wiping the hash) and clear it; accepts
 * NULL */
void auth_db_user_free(struct auth_db_user **rowp);
/* auth_db_user_add - insert row (its created field is ignored and set to
 * now). Returns 1 added, 0 the address exists already, -1 with st. */
int auth_db_user_add(struct auth_db *db, const struct auth_db_user *row,
                     struct status *st);
/* auth_db_user_del - returns 1 deleted, 0 no such user, -1 with st */
int auth_db_user_del(struct auth_db *db, const char *address,
                     struct status *st);
/* auth_db_user_set_password - store a new hash (borrowed); returns 1
 * changed, 0 no such user, -1 with st */
int auth_db_user_set_password(struct auth_db *db, const char *address,
                              const char *hash, struct status *st);
/* auth_db_user_set_enabled - returns 1 changed, 0 no such user, -1 + st */
int auth_db_user_set_enabled(struct auth_db *db, const char *address,
                             int enabled, struct status *st);
/* auth_db_user_list - call fn for every user, in address order, of domain
 * (NULL: all domains). The row passed to fn is valid during the call only.
 * Returns the number of users listed, or -1 with st. */
long auth_db_user_list(struct auth_db *db, const char *domain,
                       void (*fn)(const struct auth_db_user *row, void *ctx),
                       void *ctx, struct status *st);

/* auth_db_domain_add - returns 1 added, 0 already present, -1 with st */
int auth_db_domain_add(struct auth_db *db, const char *domain,
                       struct status *st);
/* auth_db_domain_del - returns 1 deleted, 0 not present, -1 with st; the
 * domain's users stay (auth_db_user_list() finds them) */
int auth_db_domain_del(struct auth_db *db, const char *domain,
                       struct status *st);
/* auth_db_domain_exists - returns 1, 0, or -1 with st */
int auth_db_domain_exists(struct auth_db *db, const char *domain,
                          struct status *st);
/* auth_db_domain_list - call fn for each domain in name order; returns the
 * number listed or -1 with st */
long auth_db_domain_list(struct auth_db *db,
                         void (*fn)(const char *domain, void *ctx), void *ctx,
                         struct status *st);

#endif
