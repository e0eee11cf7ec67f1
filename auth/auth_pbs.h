/* auth_pbs.h - POP/IMAP-before-SMTP grants: client address -> user, expiry
 * Used by: authd's front end (PBS-GRANT after an IMAP or POP3 login,
 * PBS-CHECK from smtpd's permit_pop_before_smtp, PBS-LIST for yubinctl).
 * Checks are answered from memory (every SMTP RCPT may ask); each grant is
 * also written to a small SQLite file ($data_directory/pbs.db, WAL,
 * synchronous=NORMAL) so that grants survive an authd restart. Expiry
 * times are wall-clock milliseconds (they must mean the same after a
 * restart); lapsed grants are purged from both. Runs as mail_owner. */
#ifndef YUBIN_AUTH_PBS_H
#define YUBIN_AUTH_PBS_H

#include <stddef.h>

#include "status.h"

/* the file under data_directory */
#define AUTH_PBS_FILE "pbs.db"
/* the most grants kept; a grant beyond it is refused (and logged) */
#define AUTH_PBS_MAX 1000000

struct auth_pbs;

/* auth_pbs_open - grants persisted at path (created mode 0600 if missing;
 * NULL: memory only), loading those still live at now_ms and deleting the
 * rest. Returns 0 with *p_r (free with auth_pbs_close()), or -1 with st
 * (4.3.0) when the file cannot be opened or read. Borrows path. */
int auth_pbs_open(const char *path, long long now_ms, struct auth_pbs **p_r,
                  struct status *st);
/* auth_pbs_close - close and free *pp; clears it; accepts NULL */
void auth_pbs_close(struct auth_pbs **pp);

/* auth_pbs_grant - ip (normalized) may relay as user until now_ms +
 * ttl_ms, replacing an older grant of ip. Returns 0, or -1 with st: 4.3.0
 * when the file could not be written (the grant holds in memory until
 * authd restarts), 4.3.1 when AUTH_PBS_MAX grants are live (no grant). */
int auth_pbs_grant(struct auth_pbs *p, const char *ip, const char *user,
                   long long now_ms, long long ttl_ms, struct status *st);
/* auth_pbs_check - 1 if ip holds a grant live at now_ms, with *user_r
 * (borrowed, valid until the next change) and *expires_r (ms) when not
 * NULL; else 0 */
int auth_pbs_check(struct auth_pbs *p, const char *ip, long long now_ms,
                   const char **user_r, long long *expires_r);
/* auth_pbs_list - call fn for every grant live at now_ms (strings valid
 * during the call); returns how many */
size_t auth_pbs_list(struct auth_pbs *p, long long now_ms,
                     void (*fn)(const char *ip, const char *user,
                                long long expires_ms, void *ctx),
                     void *ctx);
/* auth_pbs_purge - drop grants lapsed at now_ms from memory and the file;
 * returns how many are left */
size_t auth_pbs_purge(struct auth_pbs *p, long long now_ms);

#endif
