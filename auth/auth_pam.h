/* auth_pam.h - system users: PAM for the password, passwd for the rest
 * Used by: authd's PAM worker (runs as root: pam_unix checks only the
 * caller's own password otherwise) through auth_user.c. PAM always gets
 * the bare system user name (auth_user_system_name()). Blocks for as long
 * as the PAM stack takes: never call it from an event loop. */
#ifndef YUBIN_AUTH_PAM_H
#define YUBIN_AUTH_PAM_H

#include <sys/types.h>

#include "status.h"

/* the PAM service name; conf/pam.d/yubin is its configuration */
#define AUTH_PAM_SERVICE "yubin"

/* auth_pam_verify - run the PAM stack of service (NULL: AUTH_PAM_SERVICE)
 * for user with password: pam_authenticate, then pam_acct_mgmt (expired or
 * locked accounts fail). rhost (may be NULL) is the client's IP address,
 * given to PAM as PAM_RHOST. confdir (NULL: /etc/pam.d) is where service's
 * file is looked up. PAM's own failure delay is switched off: the caller
 * owns delays. Returns 1 success, 0 wrong password, unknown user or
 * account refused (st says which), -1 with st (4.3.0) when PAM cannot
 * tell (a module's backend is down, PAM misconfigured). Borrows all. */
int auth_pam_verify(const char *service, const char *confdir,
                    const char *user, const char *password, const char *rhost,
                    struct status *st);

/* auth_pam_getpw - a system user's uid, gid and home from the passwd
 * database (getpwnam_r). Returns 1 with *home_r a new string (free with
 * free()), 0 no such user, -1 with st (4.4.3) when the database cannot
 * tell (an NSS backend is down, a file cannot be read). */
int auth_pam_getpw(const char *user, uid_t *uid_r, gid_t *gid_r,
                   char **home_r, struct status *st);

#endif
