/* priv.h - dropping root, verified
 * Used by: every daemon's main(), after it has opened what needs root and
 * before it reads anything from the network. Started as an ordinary user,
 * a process is already unprivileged and these calls do nothing. */
#ifndef YUBIN_PRIV_H
#define YUBIN_PRIV_H

#include <sys/types.h>

#include "status.h"

struct priv {
        uid_t uid;
        gid_t gid;
        char name[64];
};

/* priv_is_root - 1 if this process has root privileges to give up */
int priv_is_root(void);
/* priv_lookup - the uid and gid of user (a name or a number); param names
 * the setting it came from, for the message ("mail_owner = vmail: no such
 * user"). 0, or -1 with st (5.3.5) if unknown or root. */
int priv_lookup(const char *param, const char *user, struct priv *p_r,
                struct status *st);
/* priv_self - the invoking user as a struct priv (unprivileged mode) */
void priv_self(struct priv *p_r);
/* priv_drop - clear supplementary groups, set gid, then uid, then check
 * that root cannot be regained; does nothing when not root. 0 or -1 + st */
int priv_drop(const struct priv *p, struct status *st);

#endif
