/* local_alias.c - what a local recipient becomes: aliases, :include:,
 * .forward, a system user's Maildir, a virtual user's Maildir
 * Used by: local_request.c. The rules are local(8)'s: the local part,
 * folded to lowercase, is looked up in alias_maps (with, then without its
 * recipient_delimiter extension); an alias expands to addresses (each
 * delivered in turn, an alias naming itself meaning its user's mailbox),
 * |commands, /files and :include: files; a system user's forward_path
 * files (read as the user) do the same; otherwise the user's
 * $home/$home_mailbox gets the message. Commands and files run as the
 * owner of the file that named them (default_privs for a root-owned alias
 * or :include: file, the user for .forward) and only where
 * allow_mail_to_commands / allow_mail_to_files allow that kind of file.
 * Addresses outside the local domains go back to qmgr (FORWARD). Runs in
 * the worker process (root when Yubin is); reads files only through
 * children with the right privileges. */
#include <sys/stat.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "alias_file.h"
#include "authc.h"
#include "cfg.h"
#include "local.h"
#include "log.h"
#include "login_session.h"
#include "map.h"
#include "mem.h"
#include "resolve.h"

static void user_release(struct local_user *u)
{
        free(u->name);
        free(u->home);
        free(u->shell);
}

/* user_get - 1 found, 0 not, -1 with st */
static int user_get(const char *name, struct local_user *u,
                    struct status *st)
{
        struct passwd *pw;

        errno = 0;
        pw = getpwnam(name);
        if (pw == NULL) {
                if (errno != 0 && errno != ENOENT && errno != ESRCH)
                        return status_set(st, STATUS_LOOKUP_TEMP, "passwd "
                                          "lookup of %s: %m", name);
                return 0;
        }
        u->name = xstrdup(pw->pw_name);
        u->home = xstrdup(pw->pw_dir);
        u->shell = xstrdup(pw->pw_shell);
        u->uid = pw->pw_uid;
        u->gid = pw->pw_gid;
        return 1;
}

/* once - 1 the first time key is seen in this request, else 0: the same
 * mailbox, command or file gets one copy however many aliases name it */
static int once(struct local_msg *m, const char *key)
{
        for (size_t i = 0; i < m->nseen; i++)
                if (strcmp(m->seen[i], key) == 0)
                        return 0;
        m->seen = xrealloc(m->seen, (m->nseen + 1) * sizeof(char *));
        m->seen[m->nseen++] = xstrdup(key);
        return 1;
}

/* deliver_mailbox - u's home_mailbox; alone: it is the request's only
 * target (see local_maildir) */
static void deliver_mailbox(struct local_msg *m, const char *addr,
                            const struct local_user *u, int alone)
{
        struct status st;
        char *path, *key;
        const char *box = m->srv->home_mailbox;
        size_t blen;

        while (*box == '/')
                box++;
        blen = strlen(box);
        while (blen > 0 && box[blen - 1] == '/')
                blen--;
        if (blen == 0) {
                box = "Maildir";
                blen = 7;
        }
        path = xasprintf("%s%s%.*s", u->home,
                         u->home[0] != '\0' &&
                         u->home[strlen(u->home) - 1] == '/' ? "" : "/",
                         (int)blen, box);
        key = xasprintf("maildir:%s", path);
        if (once(m, key)) {
                m->in_place = alone;
                if (local_maildir(m, path, u->uid, u->gid, 0, 0, addr,
                                  &st) < 0)
                        local_result_st(m, &st, addr);
                else
                        local_result(m, "sent", STATUS_OK, addr,
                                     "delivered to maildir");
        }
        free(key);
        free(path);
}

/* file_privs - who runs what a file (alias, :include:) names: its owner,
 * or default_privs when root owns it. 0, or -1 with st. */
static int file_privs(struct local_server *srv, const char *path,
                      uid_t owner, enum local_origin origin,
                      struct local_privs *p_r, struct status *st)
{
        memset(p_r, 0, sizeof(*p_r));
        p_r->origin = origin;
        p_r->user = "";
        p_r->home = "";
        if (!srv->privileged) {
                p_r->uid = getuid();
                p_r->gid = getgid();
                return 0;
        }
        if (path == NULL || owner == 0) {
                if (srv->default_privs.uid == 0)
                        return status_set(st, STATUS_CONFIG_TEMP,
                                          "default_privs is not usable");
                p_r->uid = srv->default_privs.uid;
                p_r->gid = srv->default_privs.gid;
                p_r->user = srv->default_privs.name;
                return 0;
        }
        {
                struct passwd *pw = getpwuid(owner);

                p_r->uid = owner;
                p_r->gid = pw != NULL ? pw->pw_gid : (gid_t)owner;
        }
        return 0;
}

static const char *origin_name(enum local_origin o)
{
        return o == LOCAL_ORIGIN_ALIAS ? "alias" :
               o == LOCAL_ORIGIN_FORWARD ? "forward" : "include";
}


/* local_split_lines - the targets of a :include: or .forward file: one or
 * more a line, separated by commas, lines starting with # skipped */
int local_split_lines(const struct buf *text, char ***targets_r,
                      size_t *n_r, struct status *st)
{
        struct buf joined;
        const char *p = buf_cstr(text), *end = p + text->len;
        int r;

        buf_init(&joined, 0);
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
                size_t blank = strspn(p, " \t");

                if (blank < len && p[blank] != '#') {
                        buf_append(&joined, p, len);
                        buf_putc(&joined, ',');
                }
                p += len + 1;
        }
        r = alias_targets_split(buf_cstr(&joined), targets_r, n_r, st);
        buf_release(&joined);
        return r;
}

/* include - the targets of a :include: file read with privs */
static void include(struct local_msg *m, const char *addr, const char *path,
                    int depth, const struct local_privs *privs)
{
        struct local_privs inc;
        struct status st;
        struct buf text;
        char **targets = NULL;
        size_t n = 0;
        uid_t owner = 0;
        int r;

        buf_init(&text, 0);
        r = local_read_file(m->srv, path, privs->uid, privs->gid, &text,
                            &owner, &st);
        if (r == 0)
                status_set(&st, STATUS_CONFIG_TEMP, ":include: %s: no such "
                           "file", path);
        if (r <= 0) {
                log_warn("%s: %s", m->id, st.text);
                local_result_st(m, &st, addr);
                goto out;
        }
        r = local_split_lines(&text, &targets, &n, &st);
        if (r < 0) {
                log_warn("%s: :include: %s: %s", m->id, path, st.text);
                status_set(&st, STATUS_CONFIG_TEMP, ":include: %s: %s", path,
                           st.text);
                local_result_st(m, &st, addr);
                goto out;
        }
        if (file_privs(m->srv, path, owner, LOCAL_ORIGIN_INCLUDE, &inc,
                       &st) < 0) {
                local_result_st(m, &st, addr);
                goto out;
        }
        local_deliver_targets(m, addr, NULL, targets, n, depth + 1, &inc);
out:
        alias_targets_free(&targets);
        buf_release(&text);
}

/* qualify - a target without a domain is in the domain of addr */
static char *qualify(const char *target, const char *addr)
{
        const char *at = strrchr(addr, '@');

        if (strchr(target, '@') != NULL || at == NULL)
                return xstrdup(target);
        return xasprintf("%s%s", target, at);
}

/* local_deliver_targets - an alias's, :include:'s or .forward's targets;
 * self is the user whose own name means "my mailbox" (or NULL) */
void local_deliver_targets(struct local_msg *m, const char *addr,
                           const char *self, char **targets, size_t n,
                           int depth, const struct local_privs *privs)
{
        struct local_server *srv = m->srv;
        struct status st;

        for (size_t i = 0; i < n && m->targets < LOCAL_TARGETS_MAX; i++) {
                const char *arg;
                enum alias_target_kind kind = alias_target_kind(targets[i],
                                                                &arg);
                int allowed;

                if (kind == ALIAS_TARGET_INCLUDE) {
                        include(m, addr, arg, depth, privs);
                        continue;
                }
                if (kind == ALIAS_TARGET_COMMAND ||
                    kind == ALIAS_TARGET_FILE) {
                        allowed = kind == ALIAS_TARGET_COMMAND ?
                                  srv->allow_commands & privs->origin :
                                  srv->allow_files & privs->origin;
                        if (!allowed) {
                                log_warn("%s: mail to %s %s from %s is "
                                         "not allowed (allow_mail_to_%s)",
                                         m->id, kind == ALIAS_TARGET_COMMAND ?
                                         "command" : "file", targets[i],
                                         origin_name(privs->origin),
                                         kind == ALIAS_TARGET_COMMAND ?
                                         "commands" : "files");
                                local_result(m, "bounced", STATUS_POLICY,
                                             targets[i], kind ==
                                             ALIAS_TARGET_COMMAND ?
                                             "mail to command is restricted" :
                                             "mail to file is restricted");
                                continue;
                        }
                        if (!once(m, targets[i]))
                                continue;
                        if ((kind == ALIAS_TARGET_COMMAND ?
                             local_command(m, arg, privs, addr, &st) :
                             local_file(m, arg, privs, addr, &st)) < 0) {
                                local_result_st(m, &st, targets[i]);
                        } else {
                                char *text = xasprintf("delivered to %s: "
                                        "%s", kind == ALIAS_TARGET_COMMAND ?
                                        "command" : "file", arg);

                                local_result(m, "sent", STATUS_OK,
                                             targets[i], text);
                                free(text);
                        }
                        continue;
                }
                /* an address; "\user" is user's mailbox, no more aliases */
                {
                        const char *t = targets[i];
                        int escaped = *t == '\\';
                        char *full;

                        if (escaped)
                                t++;
                        full = qualify(t, addr);
                        if (self != NULL && (escaped ||
                                             (strchr(t, '@') == NULL &&
                                              strcasecmp(t, self) == 0))) {
                                struct local_user u;
                                int r = user_get(self, &u, &st);

                                if (r > 0) {
                                        deliver_mailbox(m, full, &u, 0);
                                        user_release(&u);
                                } else {
                                        if (r == 0)
                                                status_set(&st,
                                                        STATUS_BAD_MAILBOX,
                                                        "unknown user: "
                                                        "\"%s\"", self);
                                        local_result_st(m, &st, full);
                                }
                        } else {
                                local_deliver_addr(m, full, depth + 1, NULL);
                        }
                        free(full);
                }
        }
}

static void deliver_alias(struct local_msg *m, const char *addr,
                          const char *name, int depth)
{
        struct local_privs privs;
        struct status st;
        const char *value, *source;
        char **targets = NULL, *self;
        size_t n;
        struct stat sb;
        int r;

        r = maps_lookup_source(m->srv->aliases, name, &value, &source, &st);
        if (r < 0) {
                local_result_st(m, &st, addr);
                return;
        }
        if (r == 0) {
                /* postmaster without an alias (RFC 5321 4.5.1): root */
                value = "root";
                source = NULL;
        }
        if (alias_targets_split(value, &targets, &n, &st) < 0) {
                log_warn("%s: alias %s: %s", m->id, name, st.text);
                status_set(&st, STATUS_CONFIG_TEMP, "alias %s: %s", name,
                           st.text);
                local_result_st(m, &st, addr);
                return;
        }
        if (file_privs(m->srv, source, source != NULL &&
                       stat(source, &sb) == 0 ? sb.st_uid : 0,
                       LOCAL_ORIGIN_ALIAS, &privs, &st) < 0) {
                local_result_st(m, &st, addr);
                alias_targets_free(&targets);
                return;
        }
        /* "name: name, other": the name itself is name's mailbox */
        self = xstrndup(name, strcspn(name, resolve_delimiter(
                                              m->srv->resolve)));
        local_deliver_targets(m, addr, self, targets, n, depth, &privs);
        free(self);
        alias_targets_free(&targets);
}

static void deliver_user(struct local_msg *m, const char *addr,
                         const char *name, int depth)
{
        struct local_user u;
        struct status st;
        int r = user_get(name, &u, &st);

        if (r <= 0) {
                if (r == 0)
                        status_set(&st, STATUS_BAD_MAILBOX, "unknown user: "
                                   "\"%s\"", name);
                local_result_st(m, &st, addr);
                return;
        }
        if (!local_forward_file(m, addr, &u, depth))
                deliver_mailbox(m, addr, &u, depth == 0);
        user_release(&u);
}

/* deliver_virtual - a userdb user's Maildir; alone as for
 * deliver_mailbox */
static void deliver_virtual(struct local_msg *m, const char *addr,
                            const char *lookup, int alone)
{
        struct local_server *srv = m->srv;
        struct authc_user *user = NULL;
        struct status st;
        char *path = NULL, *key;
        int r;

        if (alone && m->pre != NULL && m->pre->lookup != NULL &&
            strcmp(m->pre->lookup, lookup) == 0) {
                /* the main process asked authd already */
                r = m->pre->found;
                if (r > 0)
                        user = authc_user_dup(m->pre->user);
        } else {
                if (m->authd == NULL) {
                        char *sock = xasprintf("%s/%s", srv->data_dir,
                                               AUTHC_SOCKET_NAME);

                        m->authd = authc_sync_open(sock, 0, &st);
                        free(sock);
                        if (m->authd == NULL) {
                                local_result_st(m, &st, addr);
                                return;
                        }
                }
                r = authc_sync_lookup(m->authd, lookup, &user, &st);
        }
        if (r < 0) {
                status_set(&st, STATUS_LOOKUP_TEMP, "user lookup: %s",
                           st.text);
                authc_sync_close(&m->authd);
        } else if (r == 0) {
                status_set(&st, STATUS_BAD_MAILBOX, "unknown user: \"%s\"",
                           lookup);
        } else if (user->mail == NULL || *user->mail == '\0') {
                r = -1;
                status_set(&st, STATUS_CONFIG_TEMP, "%s has no mail "
                           "location (mail_location)", lookup);
        } else if (login_session_mail_path(user->mail, &path, &st) < 0) {
                r = -1;
                status_set(&st, STATUS_CONFIG_TEMP, "%s", st.text);
        } else if (srv->privileged && user->uid == 0) {
                r = -1;
                status_set(&st, STATUS_CONFIG_TEMP, "%s: refusing to "
                           "deliver as root (virtual_uid_maps)", lookup);
        }
        if (r <= 0) {
                local_result_st(m, &st, addr);
        } else {
                key = xasprintf("maildir:%s", path);
                if (once(m, key)) {
                        m->in_place = alone;
                        if (local_maildir(m, path, user->uid, user->gid,
                                          (uint64_t)user->quota_bytes,
                                          (uint64_t)user->quota_messages,
                                          addr, &st) < 0)
                                local_result_st(m, &st, addr);
                        else
                                local_result(m, "sent", STATUS_OK, addr,
                                             "delivered to maildir");
                }
                free(key);
        }
        free(path);
        authc_user_free(&user);
}

void local_deliver_addr(struct local_msg *m, const char *addr, int depth,
                        const struct local_privs *privs)
{
        enum resolve_class cls;
        struct status st;
        char *lookup = NULL, *folded = addr_fold(addr);

        if (depth > LOCAL_DEPTH_MAX) {
                local_result(m, "bounced", STATUS_ROUTING_LOOP, addr, "mail forwarding "
                             "loop: aliases nested too deep");
                goto out;
        }
        if (local_looped(m, folded)) {
                char *text = xasprintf("mail forwarding loop for %s", folded);

                local_result(m, "bounced", STATUS_ROUTING_LOOP, addr, text);
                free(text);
                goto out;
        }
        if (resolve_rcpt_flags(m->srv->resolve, addr, depth == 0 &&
                               m->no_virtual ? RESOLVE_NO_VIRTUAL : 0,
                               &cls, &lookup, &st) < 0) {
                local_result_st(m, &st, addr);
                goto out;
        }
        switch (cls) {
        case RESOLVE_LOCAL_ALIAS:
                deliver_alias(m, folded, lookup, depth);
                break;
        case RESOLVE_LOCAL_USER:
                deliver_user(m, folded, lookup, depth);
                break;
        case RESOLVE_USERDB:
                deliver_virtual(m, folded, lookup, depth == 0);
                break;
        case RESOLVE_UNKNOWN:
                local_result_st(m, &st, addr);
                break;
        case RESOLVE_VIRTUAL_ALIAS:
        case RESOLVE_REMOTE:
                if (depth > 0) {
                        local_forward(m, addr);
                        break;
                }
                local_result(m, "deferred", STATUS_CONFIG_TEMP, addr,
                             "not a local recipient");
                break;
        case RESOLVE_TEMPFAIL:
                local_result_st(m, &st, addr);
                break;
        }
out:
        free(lookup);
        free(folded);
}
