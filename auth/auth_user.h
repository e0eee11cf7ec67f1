/* auth_user.h - who a login name is: canonical name, uid, gid, home, mail
 * Used by: authd (password checks and look-ups for delivery and session
 * start, in its workers), yubinctl (canonical names). One canonical form
 * everywhere: the address in lower case; a bare name gets
 * smtpd_sasl_local_domain's domain when that is set; PAM gets the bare
 * system user name. The backends of auth_backends are tried in order. A
 * look-up answers 1 found, 0 not found, -1 could not tell (4.x.x) -- a
 * database outage is never "not found". Virtual mail is owned by
 * virtual_uid_maps/virtual_gid_maps (static:N) when Yubin runs as root, by
 * the invoking user (mail_owner's stand-in) when it runs unprivileged. */
#ifndef YUBIN_AUTH_USER_H
#define YUBIN_AUTH_USER_H

#include <sys/types.h>

#include "priv.h"
#include "status.h"

/* the longest canonical name: an RFC 5321 path less its brackets */
#define AUTH_USER_NAME_MAX 254
#define AUTH_USER_LOCAL_MAX 64
/* the longest expanded mail location */
#define AUTH_USER_PATH_MAX 4096
#define AUTH_USER_BACKENDS_MAX 4

struct cfg;
struct auth_db;
struct auth_db_user;

enum auth_backend {
        AUTH_BACKEND_SQLITE = 1,        /* user_database */
        AUTH_BACKEND_PAM,               /* PAM + the passwd database */
};

/* The user record every caller gets. */
struct auth_user {
        char *name;             /* canonical name */
        enum auth_backend backend;      /* where it was found */
        uid_t uid;              /* owner of the mail */
        gid_t gid;
        char *home;             /* "" when there is none */
        char *mail;             /* expanded: "maildir:/var/vmail/e.com/ann" */
        long long quota_bytes;  /* 0: no limit */
        long long quota_messages;       /* 0: no limit */
        int enabled;            /* 0: disabled in the user database */
};

/* What the backends need from main.cf, read once by auth_user_conf_load(). */
struct auth_user_conf {
        enum auth_backend backends[AUTH_USER_BACKENDS_MAX];
        size_t backend_count;
        char *db_path;          /* user_database's path; NULL without sqlite */
        char *local_domain;     /* smtpd_sasl_local_domain, lower case; "" */
        char *mail_location;    /* with %u %n %d %h; "" when unset */
        char *home_mailbox;     /* system users' Maildir under home */
        int virtual_ids;        /* 1: virtual_uid and virtual_gid are known */
        uid_t virtual_uid;
        gid_t virtual_gid;
        char virtual_ids_error[160];    /* why not, when virtual_ids is 0 */
        const char *pam_service;        /* AUTH_PAM_SERVICE (static) */
        char *pam_confdir;      /* NULL: /etc/pam.d */
};

/* auth_user_conf_load - read auth_backends, user_database,
 * smtpd_sasl_local_domain, mail_location, home_mailbox and the virtual
 * ownership. privileged is 1 when Yubin was started as root; owner is
 * mail_owner then, else the invoking user (both borrowed). Returns 0, or -1
 * with st (5.3.5) for a value that cannot work. Release conf_r with
 * auth_user_conf_release(). */
int auth_user_conf_load(struct cfg *c, int privileged,
                        const struct priv *owner,
                        struct auth_user_conf *conf_r, struct status *st);
/* auth_user_conf_release - free what conf holds and zero it */
void auth_user_conf_release(struct auth_user_conf *conf);

/* auth_user_canonical - the canonical form of a login or recipient name:
 * lower case, local part and domain checked (no '/', no leading or
 * doubled dot, no white space or control characters, domain labels of
 * letters, digits, '-' and '_'); a bare name gets "@local_domain" when
 * local_domain (may be NULL) is not empty. Returns 0 with *canon_r a new
 * string (free with free()), or -1 with st (5.5.2) saying what is wrong. */
int auth_user_canonical(const char *name, const char *local_domain,
                        char **canon_r, struct status *st);
/* auth_user_canonical_domain - a domain name in canonical form, checked as
 * in auth_user_canonical(); 0 with *canon_r (free with free()) or -1 + st */
int auth_user_canonical_domain(const char *domain, char **canon_r,
                               struct status *st);
/* auth_user_system_name - the bare system user name for a canonical name:
 * the name itself when it has no domain, its local part when the domain is
 * local_domain. Returns 1 with *name_r (free with free()), or 0 when the
 * name belongs to another domain and so cannot be a system user. */
int auth_user_system_name(const char *canonical, const char *local_domain,
                          char **name_r);

/* auth_user_expand - expand Dovecot's variables in a mail location: %u the
 * whole name, %n its local part, %d its domain, %h home, %% a percent sign
 * (an L between % and the letter is accepted: values are lower case
 * already); "~" right after the "type:" prefix is home. Returns 0 with
 * *out_r (free with free()), or -1 with st (4.3.5) for an unknown
 * variable, a home that is needed but empty, or a result longer than
 * AUTH_USER_PATH_MAX. Borrows all. */
int auth_user_expand(const char *tmpl, const char *name, const char *home,
                     char **out_r, struct status *st);

/* auth_user_from_row - the record for a user database row: its own uid,
 * gid, home and mail where set, else the virtual owner and mail_location.
 * Returns 0 with *user_r (free with auth_user_free()), or -1 with st
 * (4.3.5) when the row or the configuration leaves a value undecided or
 * would make root the mail's owner. */
int auth_user_from_row(const struct auth_user_conf *conf,
                       const struct auth_db_user *row,
                       struct auth_user **user_r, struct status *st);

/* auth_user_lookup - find name (any case, bare or not) without a password,
 * for delivery and session start, trying conf's backends in order. db may
 * be NULL when sqlite is not among them. Returns 1 with *user_r (free with
 * auth_user_free()), 0 not found (a system user with uid 0 is not found:
 * root's mail goes through aliases), -1 with st (4.x.x) could not tell. A
 * malformed name is not found. */
int auth_user_lookup(const struct auth_user_conf *conf, struct auth_db *db,
                     const char *name, struct auth_user **user_r,
                     struct status *st);

/* auth_user_verify - check name's password, trying conf's backends in
 * order until one knows the name; that backend's answer is final. rhost
 * (may be NULL) is the client's IP address, for PAM. Returns 1 with
 * *user_r (free with auth_user_free()), 0 failed (unknown user, wrong
 * password, disabled user; st says which, for the log only), or -1 with st
 * (4.x.x) could not tell. Blocks (crypt, PAM). */
int auth_user_verify(const struct auth_user_conf *conf, struct auth_db *db,
                     const char *name, const char *password,
                     const char *rhost, struct auth_user **user_r,
                     struct status *st);

/* auth_user_free - free *up and clear it; accepts NULL */
void auth_user_free(struct auth_user **up);

#endif
