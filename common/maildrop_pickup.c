/* maildrop_pickup.c - move submitted mail from maildrop/ into the queue
 * Used by: qmgr, through maildrop_pickup() (maildrop.h): Postfix's pickup
 * daemon as a function. Runs as mail_owner (or the user of an
 * unprivileged instance). The files were written by local users and are
 * untrusted: each is opened without following links, must be a regular
 * file with one link, is read up to message_size_limit plus the envelope
 * limit, and is parsed by maildrop_parse(); only its owner (st_uid) is
 * believed, as the submitting uid. A message is removed from maildrop/
 * only after its queue file is committed, so a crash in between gives a
 * duplicate, never a loss. Blocking I/O: one fsync per message. */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "cfg.h"
#include "dsn.h"
#include "fileio.h"
#include "log.h"
#include "maildrop.h"
#include "mem.h"
#include "queue_file.h"

/* has_8bit - 1 if a byte >= 0x80 is among the len at d */
static int has_8bit(const char *d, size_t len)
{
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)d[i] >= 0x80)
                        return 1;
        return 0;
}

/* enqueue - one parsed file into a new queue file; 0, or -1 with st */
static int enqueue(struct cfg *cfg, const struct maildrop_env *env,
                   unsigned long uid, const char *content, size_t len,
                   char qid_r[QUEUE_ID_MAX], struct status *st)
{
        struct queue_writer *w;
        struct buf head;
        char num[32];

        if (queue_writer_open(cfg_get(cfg, "queue_directory"), &w, st) < 0)
                return -1;
        queue_writer_sender(w, env->sender);
        for (size_t i = 0; i < env->nrcpt; i++)
                queue_writer_recipient(w, env->rcpts[i], NULL, 0);
        snprintf(num, sizeof(num), "%lu", uid);
        queue_writer_attr(w, "uid", num);
        snprintf(num, sizeof(num), "%lld", (long long)time(NULL));
        queue_writer_attr(w, "arrival", num);
        queue_writer_attr(w, "protocol", "local");
        if (env->dsn_ret != NULL)
                queue_writer_attr(w, "dsn_ret", env->dsn_ret);
        if (env->dsn_envid != NULL)
                queue_writer_attr(w, "dsn_envid", env->dsn_envid);
        if (env->smtputf8)
                queue_writer_attr(w, "smtputf8", "1");
        if (has_8bit(content, len))
                queue_writer_attr(w, "body", "8BITMIME");
        /* Received: as Postfix's pickup writes it for local mail */
        buf_init(&head, 0);
        buf_printf(&head, "Received: by %s (%s, from userid %lu)\n\tid %s; ",
                   cfg_get(cfg, "myhostname"), cfg_get(cfg, "mail_name"),
                   uid, queue_writer_id(w));
        dsn_date(&head, time(NULL));
        buf_putc(&head, '\n');
        if (queue_writer_data(w, head.data, head.len, st) < 0 ||
            queue_writer_data(w, content, len, st) < 0 ||
            queue_writer_commit(w, st) < 0) {
                buf_release(&head);
                queue_writer_free(&w);
                return -1;
        }
        buf_release(&head);
        snprintf(qid_r, QUEUE_ID_MAX, "%s", queue_writer_id(w));
        queue_writer_free(&w);
        return 0;
}

/* pickup_file - 1 queued, 0 dropped (malformed), -1 with st (temporary:
 * the file stays) */
static int pickup_file(struct cfg *cfg, int dfd, const char *name,
                       struct status *st)
{
        size_t limit = (size_t)cfg_get_size(cfg, "message_size_limit");
        struct maildrop_env env;
        struct status fst;
        char qid[QUEUE_ID_MAX];
        struct stat sb;
        struct buf data;
        const char *why;
        size_t content = 0;
        int fd, r;

        fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
                    O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;       /* someone else took it */
                if (errno != ELOOP && errno != EACCES && errno != ENXIO)
                        return status_set(st, STATUS_LOCAL_IO,
                                          "maildrop/%s: open: %m", name);
                log_warn("maildrop/%s: open: %m; removed", name);
                (void)unlinkat(dfd, name, 0);
                return 0;
        }
        memset(&sb, 0, sizeof(sb));
        if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_nlink != 1) {
                int dir = S_ISDIR(sb.st_mode);

                log_warn("maildrop/%s: not a plain file; removed", name);
                close(fd);
                (void)unlinkat(dfd, name, dir ? AT_REMOVEDIR : 0);
                return 0;
        }
        buf_init(&data, 0);
        r = fileio_read_fd(fd, name, limit == 0 ? SIZE_MAX / 2 :
                           limit + MAILDROP_ENVELOPE_MAX, &data, &fst);
        close(fd);
        why = r < 0 ? fst.text : NULL;
        if (why == NULL && maildrop_parse(buf_cstr(&data), data.len, &env,
                                          &content, &fst) < 0)
                why = fst.text;
        else if (why == NULL && limit > 0 && data.len - content > limit) {
                maildrop_env_release(&env);
                why = "message file too big";
        }
        if (why != NULL) {
                log_warn("maildrop/%s: uid=%lu: %s; removed", name,
                         (unsigned long)sb.st_uid, why);
                buf_release(&data);
                (void)unlinkat(dfd, name, 0);
                return 0;
        }
        r = enqueue(cfg, &env, (unsigned long)sb.st_uid, data.data + content,
                    data.len - content, qid, st);
        if (r == 0) {
                char *ext = addr_external(env.sender);

                if (unlinkat(dfd, name, 0) < 0)
                        log_warn("maildrop/%s: remove after queueing as "
                                 "%s: %m", name, qid);
                log_info("%s: uid=%lu from=<%s>", qid,
                         (unsigned long)sb.st_uid, ext);
                free(ext);
        }
        maildrop_env_release(&env);
        buf_release(&data);
        return r < 0 ? -1 : 1;
}

int maildrop_pickup(struct cfg *cfg, size_t *count_r, struct status *st)
{
        char *dir = xasprintf("%s/%s", cfg_get(cfg, "queue_directory"),
                              MAILDROP_DIR);
        time_t now = time(NULL);
        struct dirent *de;
        DIR *d;
        int ret = 0;

        *count_r = 0;
        d = opendir(dir);
        if (d == NULL) {
                if (errno == ENOENT) {
                        free(dir);
                        return 0;
                }
                status_set(st, STATUS_LOCAL_IO, "open %s: %m", dir);
                free(dir);
                return -1;
        }
        while ((de = readdir(d)) != NULL) {
                struct stat sb;
                int r;

                if (de->d_name[0] == '.')
                        continue;
                if (strncmp(de->d_name, "tmp.", 4) == 0) {
                        /* a submission that never finished */
                        if (fstatat(dirfd(d), de->d_name, &sb,
                                    AT_SYMLINK_NOFOLLOW) == 0 &&
                            sb.st_mtime + MAILDROP_TMP_AGE < now)
                                (void)unlinkat(dirfd(d), de->d_name, 0);
                        continue;
                }
                r = pickup_file(cfg, dirfd(d), de->d_name, st);
                if (r < 0) {
                        ret = -1;
                        break;
                }
                *count_r += (size_t)r;
        }
        closedir(d);
        free(dir);
        return ret;
}
