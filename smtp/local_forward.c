/* local_forward.c - a system user's .forward (forward_path)
 * Used by: local_alias.c, before a system user's mailbox delivery. Each
 * forward_path entry is filled in ($home, $user, $shell, $recipient,
 * $extension, $domain, $local, $recipient_delimiter, with ${name},
 * ${name?text} and ${name:text}) and read as the user, in a child with
 * the user's privileges; the first file found is used: its targets are
 * delivered like an alias's, |commands and /files run as the user (if
 * allow_mail_to_commands / _files name "forward"), and the user's own
 * name ("\user" or "user") means the mailbox. Runs in local's worker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "alias_file.h"
#include "local.h"
#include "log.h"
#include "mem.h"
#include "resolve.h"

/* expand_forward - a forward_path entry with $name, ${name},
 * ${name?text} and ${name:text} filled in; new string */
static char *expand_forward(const char *tmpl, const char *const *names,
                            const char *const *values, size_t count)
{
        struct buf out;

        buf_init(&out, 0);
        for (const char *p = tmpl; *p != '\0'; p++) {
                const char *name, *alt = NULL, *end;
                size_t nlen;
                char op = 0;
                const char *val = "";

                if (*p != '$') {
                        buf_putc(&out, *p);
                        continue;
                }
                p++;
                if (*p == '{') {
                        name = p + 1;
                        end = strchr(name, '}');
                        if (end == NULL)
                                break;
                        nlen = strcspn(name, "?:}");
                        if (name[nlen] == '?' || name[nlen] == ':') {
                                op = name[nlen];
                                alt = name + nlen + 1;
                        }
                        p = end;
                } else {
                        name = p;
                        nlen = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
                        end = NULL;
                        p += nlen - (nlen > 0);
                        if (nlen == 0) {
                                buf_putc(&out, '$');
                                p--;
                                continue;
                        }
                }
                for (size_t i = 0; i < count; i++)
                        if (strlen(names[i]) == nlen &&
                            strncmp(names[i], name, nlen) == 0)
                                val = values[i];
                if (op == '?')
                        buf_append(&out, alt, *val != '\0' ?
                                   (size_t)(end - alt) : 0);
                else if (op == ':')
                        buf_append(&out, alt, *val == '\0' ?
                                   (size_t)(end - alt) : 0);
                else
                        buf_puts(&out, val);
        }
        return buf_steal(&out);
}

int local_forward_file(struct local_msg *m, const char *addr,
                       const struct local_user *u, int depth)
{
        struct local_server *srv = m->srv;
        char *local = NULL, *domain = NULL, *ext;
        const char *delim = resolve_delimiter(srv->resolve);
        int handled = 0;

        if (addr_split(addr, &local, &domain) < 0)
                return 0;
        ext = addr_extension(addr, delim);
        for (size_t i = 0; i < srv->forward_count && !handled; i++) {
                const char *names[] = { "home", "user", "shell", "recipient",
                                        "extension", "domain", "local",
                                        "recipient_delimiter" };
                const char *values[] = { u->home, u->name, u->shell, addr,
                                         ext != NULL ? ext : "", domain,
                                         local, delim };
                char *path = expand_forward(srv->forward_path[i], names,
                                            values, 8);
                struct local_privs privs;
                struct status st;
                struct buf text;
                char **targets = NULL;
                size_t n;
                int r;

                buf_init(&text, 0);
                r = local_read_file(srv, path, u->uid, u->gid, &text, NULL,
                                    &st);
                if (r < 0) {
                        local_result_st(m, &st, addr);
                        handled = 1;
                } else if (r > 0) {
                        if (local_split_lines(&text, &targets, &n, &st) == 0) {
                                memset(&privs, 0, sizeof(privs));
                                privs.origin = LOCAL_ORIGIN_FORWARD;
                                privs.uid = u->uid;
                                privs.gid = u->gid;
                                privs.user = u->name;
                                privs.home = u->home;
                                if (u->uid == 0 && srv->privileged) {
                                        /* root's .forward: its commands
                                         * and files never run as root */
                                        privs.uid = srv->default_privs.uid;
                                        privs.gid = srv->default_privs.gid;
                                }
                                local_deliver_targets(m, addr, u->name,
                                                      targets, n, depth,
                                                      &privs);
                                alias_targets_free(&targets);
                                handled = 1;
                        } else {
                                log_warn("%s: %s: %s (ignored)", m->id, path,
                                         st.text);
                        }
                }
                buf_release(&text);
                free(path);
        }
        free(ext);
        free(local);
        free(domain);
        return handled;
}
