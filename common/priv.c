/* priv.c - dropping root, verified
 * Used by: daemons (to mail_owner), and later the per-user processes (to
 * the mailbox owner). The order is fixed: setgroups, setresgid, setresuid,
 * then a check that setuid(0) fails. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "priv.h"

int priv_is_root(void)
{
        return geteuid() == 0 || getuid() == 0;
}

int priv_lookup(const char *param, const char *user, struct priv *p_r,
                struct status *st)
{
        struct passwd *pw;
        char *end;

        if (user == NULL || *user == '\0')
                return status_set(st, STATUS_CONFIG, "%s is empty", param);
        unsigned long num = strtoul(user, &end, 10);
        if (*end == '\0' && end != user)
                pw = getpwuid((uid_t)num);
        else
                pw = getpwnam(user);
        if (pw == NULL)
                return status_set(st, STATUS_CONFIG, "%s = %s: no such user",
                                  param, user);
        if (pw->pw_uid == 0)
                return status_set(st, STATUS_CONFIG,
                                  "%s = %s: must not be a privileged user",
                                  param, user);
        p_r->uid = pw->pw_uid;
        p_r->gid = pw->pw_gid;
        snprintf(p_r->name, sizeof(p_r->name), "%s", pw->pw_name);
        return 0;
}

void priv_self(struct priv *p_r)
{
        struct passwd *pw = getpwuid(getuid());

        p_r->uid = getuid();
        p_r->gid = getgid();
        snprintf(p_r->name, sizeof(p_r->name), "%s",
                 pw != NULL ? pw->pw_name : "unknown");
}

int priv_drop(const struct priv *p, struct status *st)
{
        if (!priv_is_root())
                return 0;
        if (p->uid == 0)
                return status_set(st, STATUS_CONFIG,
                                  "refusing to run as root");
        if (setgroups(0, NULL) < 0)
                return status_set(st, STATUS_LOCAL_IO, "setgroups: %m");
        if (setresgid(p->gid, p->gid, p->gid) < 0)
                return status_set(st, STATUS_LOCAL_IO, "setresgid(%lu): %m",
                                  (unsigned long)p->gid);
        if (setresuid(p->uid, p->uid, p->uid) < 0)
                return status_set(st, STATUS_LOCAL_IO, "setresuid(%lu): %m",
                                  (unsigned long)p->uid);
        if (setuid(0) == 0 || geteuid() == 0)
                return status_set(st, STATUS_LOCAL_IO,
                                  "root privileges could be regained");
        return 0;
}
