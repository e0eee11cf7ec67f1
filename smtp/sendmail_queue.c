/* sendmail_queue.c - mailq / sendmail -bp: list the mail queue
 * Used by: mailq, sendmail -bp. Prints Postfix's mailq layout, so scripts
 * that read it keep working:
 *   -Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
 *   4Xk2Lq3vZ1*     1234 Thu Nov 28 08:49:51  ann@example.org
 *                                             bob@example.com
 *   -- 2 Kbytes in 1 Request.
 * ('*' marks active mail, '!' held mail; a deferred message's last reason
 * is shown in parentheses above its recipients; only recipients still to
 * be delivered are listed; mail still in maildrop/, not yet picked up, is
 * listed by its maildrop file name.) Reads the queue with queue_file.h's
 * reader, so it works whether or not Yubin runs; it needs the right to
 * read the queue (root or mail_owner, or the user of an unprivileged
 * instance) and says so otherwise. */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "addr.h"
#include "cfg.h"
#include "fileio.h"
#include "log.h"
#include "maildrop.h"
#include "mem.h"
#include "queue_file.h"
#include "sendmail.h"

#define QUEUE_LIST_FILE_MAX     (64 * 1024 * 1024)

struct queue_totals {
        long long bytes;
        size_t count;
};

/* entry_head - the first line of an entry */
static void entry_head(FILE *out, const char *id, char flag,
                       long long size, time_t when, const char *sender)
{
        struct tm tm;
        char date[32];
        char *ext = addr_external(sender);

        localtime_r(&when, &tm);
        strftime(date, sizeof(date), "%a %b %e %H:%M:%S", &tm);
        fprintf(out, "%-10s%c %8lld %s  %s\n", id, flag, size, date,
               *ext != '\0' ? ext : "MAILER-DAEMON");
        free(ext);
}

static void entry_rcpt(FILE *out, const char *rcpt)
{
        char *ext = addr_external(rcpt);

        fprintf(out, "%42s %s\n", "", ext);
        free(ext);
}

/* list_maildrop - mail not yet picked up */
static int list_maildrop(FILE *out, const char *dir,
                         struct queue_totals *t)
{
        struct dirent *de;
        DIR *d = opendir(dir);

        if (d == NULL)
                return errno == ENOENT ? 0 : -1;
        while ((de = readdir(d)) != NULL) {
                struct maildrop_env env;
                struct status st;
                struct stat sb;
                struct buf b;
                size_t content;
                char *path;

                if (de->d_name[0] == '.' ||
                    strncmp(de->d_name, "tmp.", 4) == 0)
                        continue;
                path = xasprintf("%s/%s", dir, de->d_name);
                buf_init(&b, 0);
                if (stat(path, &sb) == 0 &&
                    fileio_read(path, QUEUE_LIST_FILE_MAX, &b, &st) > 0 &&
                    maildrop_parse(buf_cstr(&b), b.len, &env, &content,
                                   &st) == 0) {
                        entry_head(out, de->d_name, ' ',
                                   (long long)(b.len - content),
                                   sb.st_mtime, env.sender);
                        for (size_t i = 0; i < env.nrcpt; i++)
                                entry_rcpt(out, env.rcpts[i]);
                        fputc('\n', out);
                        t->bytes += (long long)(b.len - content);
                        t->count++;
                        maildrop_env_release(&env);
                }
                buf_release(&b);
                free(path);
        }
        closedir(d);
        return 0;
}

/* list_dir - the messages of one queue directory, with the recipients
 * still to be delivered and, for deferred ones, the last reason */
static int list_dir(FILE *out, const char *queue, const char *dir,
                    char flag, struct queue_totals *t)
{
        struct status st;
        struct stat sb;
        char **ids, *where;
        size_t n;

        /* a queue that was never used has no directories yet */
        where = xasprintf("%s/%s", queue, dir);
        if (stat(where, &sb) < 0 && errno == ENOENT) {
                free(where);
                return 0;
        }
        free(where);
        if (queue_dir_list(queue, dir, &ids, &n, &st) < 0) {
                log_error("%s", st.text);
                return -1;
        }
        for (size_t i = 0; i < n; i++) {
                char *path = queue_path(queue, dir, ids[i]);
                const char *last_reason = NULL;
                struct queue_file *qf;
                long usec;

                if (queue_file_open(path, 0, &qf, &st) < 0) {
                        /* moved meanwhile (ENOENT) is normal; say the rest */
                        if (status_class(&st) == 5)
                                log_warn("%s", st.text);
                        free(path);
                        continue;
                }
                entry_head(out, ids[i], flag, queue_file_size(qf),
                           queue_file_arrival(qf, &usec),
                           queue_file_sender(qf));
                for (size_t r = 0; r < queue_file_rcpt_count(qf); r++) {
                        const struct queue_rcpt *rc = queue_file_rcpt(qf, r);

                        if (rc->state != QUEUE_RCPT_PENDING)
                                continue;
                        if (rc->defer_text != NULL &&
                            (last_reason == NULL ||
                             strcmp(last_reason, rc->defer_text) != 0)) {
                                fprintf(out, "(%s)\n", rc->defer_text);
                                last_reason = rc->defer_text;
                        }
                        entry_rcpt(out, rc->addr);
                }
                fputc('\n', out);
                t->bytes += queue_file_size(qf);
                t->count++;
                queue_file_free(&qf);
                free(path);
        }
        queue_ids_free(&ids);
        return 0;
}

int sendmail_queue_list(struct cfg *cfg)
{
        static const struct {
                const char *dir;
                char flag;
        } dirs[] = {
                { QUEUE_INCOMING, ' ' }, { QUEUE_ACTIVE, '*' },
                { QUEUE_DEFERRED, ' ' }, { QUEUE_HOLD, '!' },
        };
        const char *queue = cfg_get(cfg, "queue_directory");
        struct queue_totals t = { 0, 0 };
        char *path;
        int failed = 0;

        char *text = NULL;
        size_t text_len = 0;
        FILE *out = open_memstream(&text, &text_len);

        if (out == NULL) {
                log_error("open_memstream: %m");
                return EX_OSERR;
        }
        path = xasprintf("%s/%s", queue, MAILDROP_DIR);
        if (list_maildrop(out, path, &t) < 0) {
                log_error("%s: %m", path);
                failed = 1;
        }
        free(path);
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                if (list_dir(out, queue, dirs[i].dir, dirs[i].flag, &t) < 0)
                        failed = 1;
        }
        fclose(out);
        if (t.count == 0) {
                printf("Mail queue is empty\n");
        } else {
                printf("-Queue ID-  --Size-- ----Arrival Time---- "
                       "-Sender/Recipient-------\n");
                fwrite(text, 1, text_len, stdout);
                printf("-- %lld Kbytes in %zu Request%s.\n",
                       (t.bytes + 1023) / 1024, t.count,
                       t.count == 1 ? "" : "s");
        }
        free(text);
        if (fflush(stdout) != 0)
                return EX_IOERR;
        return failed ? EX_NOPERM : 0;
}
