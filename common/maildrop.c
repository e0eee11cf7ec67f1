/* maildrop.c - maildrop files: format, parse, store; the directory
 * Used by: sendmail and postdrop (format, store), maildrop_pickup.c
 * (parse), the start of the mail system (init). See maildrop.h for the
 * design. maildrop_parse() reads files any local user may have written:
 * every line and limit is checked, nothing is trusted. maildrop_store()
 * runs as the submitting user (or setgid postdrop). */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "cfg.h"
#include "log.h"
#include "maildrop.h"
#include "mem.h"
#include "priv.h"

void maildrop_env_release(struct maildrop_env *env)
{
        free(env->sender);
        if (env->rcpts != NULL)
                for (size_t i = 0; i < env->nrcpt; i++)
                        free(env->rcpts[i]);
        free(env->rcpts);
        free(env->dsn_ret);
        free(env->dsn_envid);
        memset(env, 0, sizeof(*env));
}

static void put_field(struct buf *out, char type, const char *name,
                      const char *value)
{
        char *x = addr_xtext_encode(value);

        buf_putc(out, type);
        if (name != NULL)
                buf_printf(out, "%s=", name);
        buf_printf(out, "%s\n", x);
        free(x);
}

void maildrop_format(struct buf *out, const struct maildrop_env *env)
{
        buf_puts(out, MAILDROP_MAGIC);
        put_field(out, 'S', NULL, env->sender);
        for (size_t i = 0; i < env->nrcpt; i++)
                put_field(out, 'R', NULL, env->rcpts[i]);
        if (env->dsn_ret != NULL)
                put_field(out, 'A', "dsn_ret", env->dsn_ret);
        if (env->dsn_envid != NULL)
                put_field(out, 'A', "dsn_envid", env->dsn_envid);
        if (env->smtputf8)
                put_field(out, 'A', "smtputf8", "1");
        buf_puts(out, "E\n");
}

/* address_ok - 1 if addr (internal form) is what addr_parse_path() gives
 * for its own external form */
static int address_ok(const char *addr, int utf8, int null_ok)
{
        struct status st;
        char *ext, *path, *back;
        size_t used;
        int ok;

        if (*addr == '\0')
                return null_ok;
        ext = addr_external(addr);
        path = xasprintf("<%s>", ext);
        ok = addr_parse_path(path, utf8 ? ADDR_UTF8 : 0, &back, &used,
                             &st) == 0 && strcmp(back, addr) == 0 &&
             strchr(back, '@') != NULL;
        free(back);
        free(path);
        free(ext);
        return ok;
}

int maildrop_parse(const char *data, size_t len, struct maildrop_env *env_r,
                   size_t *content_r, struct status *st)
{
        size_t pos = strlen(MAILDROP_MAGIC), rcpt_size = 0;
        int have_sender = 0, ended = 0;

        memset(env_r, 0, sizeof(*env_r));
        if (len < pos || memcmp(data, MAILDROP_MAGIC, pos) != 0)
                return status_set(st, STATUS_PERM, "not a maildrop file");
        while (!ended) {
                const char *line = data + pos, *nl;
                char *text, *value;
                size_t n;

                nl = memchr(line, '\n', len - pos);
                if (nl == NULL || pos > MAILDROP_ENVELOPE_MAX) {
                        status_set(st, STATUS_PERM, "envelope not ended");
                        goto fail;
                }
                n = (size_t)(nl - line);
                pos += n + 1;
                if (memchr(line, '\0', n) != NULL) {
                        status_set(st, STATUS_PERM, "NUL in envelope");
                        goto fail;
                }
                text = xstrndup(line, n);
                value = NULL;
                if (n == 0 || (*text != 'E' &&
                               addr_xtext_decode(*text == 'A' ?
                                                 text + strcspn(text, "=") +
                                                 (strchr(text, '=') != NULL) :
                                                 text + 1, &value) < 0)) {
                        free(text);
                        status_set(st, STATUS_PERM, "malformed envelope "
                                   "record");
                        goto fail;
                }
                switch (*text) {
                case 'S':
                        if (have_sender++) {
                                status_set(st, STATUS_PERM, "two senders");
                                goto fail_line;
                        }
                        env_r->sender = value;
                        value = NULL;
                        break;
                case 'R':
                        if (env_r->nrcpt == MAILDROP_RCPT_MAX) {
                                status_set(st, STATUS_PERM, "more than %d "
                                           "recipients", MAILDROP_RCPT_MAX);
                                goto fail_line;
                        }
                        if (env_r->nrcpt + 2 > rcpt_size) {
                                rcpt_size = rcpt_size ? rcpt_size * 2 : 8;
                                env_r->rcpts = xrealloc(env_r->rcpts,
                                                        rcpt_size *
                                                        sizeof(char *));
                        }
                        env_r->rcpts[env_r->nrcpt++] = value;
                        env_r->rcpts[env_r->nrcpt] = NULL;
                        value = NULL;
                        break;
                case 'A':
                        if (strncmp(text, "Adsn_ret=", 9) == 0 &&
                            env_r->dsn_ret == NULL &&
                            (strcmp(value, "FULL") == 0 ||
                             strcmp(value, "HDRS") == 0)) {
                                env_r->dsn_ret = value;
                        } else if (strncmp(text, "Adsn_envid=", 11) == 0 &&
                                   env_r->dsn_envid == NULL &&
                                   strlen(value) <= 100) {
                                env_r->dsn_envid = value;
                        } else if (strcmp(text, "Asmtputf8=1") == 0) {
                                env_r->smtputf8 = 1;
                                free(value);
                        } else {
                                status_set(st, STATUS_PERM, "bad attribute");
                                goto fail_line;
                        }
                        value = NULL;
                        break;
                case 'E':
                        if (n != 1) {
                                status_set(st, STATUS_PERM, "malformed end "
                                           "of envelope");
                                goto fail_line;
                        }
                        ended = 1;
                        break;
                default:
                        status_set(st, STATUS_PERM, "unknown envelope "
                                   "record");
                        goto fail_line;
                }
                free(text);
                continue;
fail_line:
                free(value);
                free(text);
                goto fail;
        }
        if (!have_sender || env_r->nrcpt == 0) {
                status_set(st, STATUS_PERM, !have_sender ? "no sender" :
                           "no recipients");
                goto fail;
        }
        if (!address_ok(env_r->sender, env_r->smtputf8, 1)) {
                status_set(st, STATUS_PERM, "bad sender address");
                goto fail;
        }
        for (size_t i = 0; i < env_r->nrcpt; i++)
                if (!address_ok(env_r->rcpts[i], env_r->smtputf8, 0)) {
                        status_set(st, STATUS_PERM, "bad recipient address");
                        goto fail;
                }
        *content_r = pos;
        return 0;
fail:
        maildrop_env_release(env_r);
        return -1;
}

int maildrop_store(const char *queue_dir, const void *data, size_t len,
                   char **name_r, struct status *st)
{
        char *dir = xasprintf("%s/%s", queue_dir, MAILDROP_DIR);
        char *tmp = NULL, *dst = NULL, name[128];
        const char *p = data;
        struct timespec now;
        unsigned rnd;
        int fd = -1, dfd, saved;

        if (name_r != NULL)
                *name_r = NULL;
        clock_gettime(CLOCK_REALTIME, &now);
        if (getentropy(&rnd, sizeof(rnd)) < 0)
                rnd = (unsigned)now.tv_nsec;
        snprintf(name, sizeof(name), "%lld.%09ld.%ld.%08x",
                 (long long)now.tv_sec, now.tv_nsec, (long)getpid(), rnd);
        tmp = xasprintf("%s/tmp.%s", dir, name);
        dst = xasprintf("%s/%s", dir, name);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                  0600);
        if (fd < 0) {
                status_set(st, STATUS_LOCAL_IO, "create %s: %m", tmp);
                goto fail;
        }
        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        status_set(st, errno == ENOSPC || errno == EDQUOT ?
                                   STATUS_NO_SPACE : STATUS_LOCAL_IO,
                                   "write %s: %m", tmp);
                        goto fail_unlink;
                }
                p += n;
                len -= (size_t)n;
        }
        if (fsync(fd) < 0 || fchmod(fd, 0644) < 0) {
                status_set(st, STATUS_LOCAL_IO, "fsync %s: %m", tmp);
                goto fail_unlink;
        }
        if (close(fd) < 0) {
                fd = -1;
                status_set(st, STATUS_LOCAL_IO, "close %s: %m", tmp);
                goto fail_unlink;
        }
        fd = -1;
        if (rename(tmp, dst) < 0) {
                status_set(st, STATUS_LOCAL_IO, "rename %s: %m", tmp);
                goto fail_unlink;
        }
        /* the rename itself must survive a crash; a directory we may
         * write but not read (mode 1730) still opens with O_PATH only,
         * which cannot fsync: then the rename is left to the kernel */
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
                if (fsync(dfd) < 0) {
                        status_set(st, STATUS_LOCAL_IO, "fsync %s: %m", dir);
                        close(dfd);
                        unlink(dst);
                        goto fail;
                }
                close(dfd);
        }
        if (name_r != NULL)
                *name_r = xstrdup(name);
        free(tmp);
        free(dst);
        free(dir);
        return 0;
fail_unlink:
        saved = errno;
        if (fd >= 0)
                close(fd);
        unlink(tmp);
        errno = saved;
fail:
        free(tmp);
        free(dst);
        free(dir);
        return -1;
}

int maildrop_init(struct cfg *cfg, struct status *st)
{
        char *dir = xasprintf("%s/%s", cfg_get(cfg, "queue_directory"),
                              MAILDROP_DIR);
        struct priv owner;
        struct group *gr;
        struct stat sb;
        mode_t mode = 0700;
        gid_t gid;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                status_set(st, STATUS_LOCAL_IO, "mkdir %s: %m", dir);
                goto fail;
        }
        if (lstat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
                status_set(st, STATUS_LOCAL_IO, "%s: not a directory", dir);
                goto fail;
        }
        if (!priv_is_root()) {
                free(dir);
                return 0;
        }
        if (priv_lookup("mail_owner", cfg_get(cfg, "mail_owner"), &owner,
                        st) < 0)
                goto fail;
        gid = owner.gid;
        gr = getgrnam(cfg_get(cfg, "setgid_group"));
        if (gr != NULL) {
                gid = gr->gr_gid;
                mode = 01730;
        } else {
                log_warn("setgid_group = %s: no such group; only root and "
                         "mail_owner can submit mail with sendmail",
                         cfg_get(cfg, "setgid_group"));
        }
        if ((sb.st_uid != owner.uid || sb.st_gid != gid) &&
            chown(dir, owner.uid, gid) < 0) {
                status_set(st, STATUS_LOCAL_IO, "chown %s: %m", dir);
                goto fail;
        }
        if ((sb.st_mode & 07777) != mode && chmod(dir, mode) < 0) {
                status_set(st, STATUS_LOCAL_IO, "chmod %s: %m", dir);
                goto fail;
        }
        free(dir);
        return 0;
fail:
        free(dir);
        return -1;
}
