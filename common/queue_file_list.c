/* queue_file_list.c - the administrator's view of the queue: mailq and
 * postcat -q
 * Used by: mailq / sendmail -bp (smtp/sendmail_queue.c), yubinctl queue
 * list and show (master/ctl_queue.c). Prints Postfix's mailq layout, so
 * that scripts that read it keep working:
 *   -Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
 *   4Xk2Lq3vZ1*     1234 Thu Nov 28 08:49:51  ann@example.org
 *                                             bob@example.com
 *
 *   4Xk2Lq3vZ2      2345 Thu Nov 28 08:40:12  ann@example.org
 *   (connect to mx.example.net[192.0.2.1]:25: Connection refused)
 *                                             carol@example.net
 *   -- 4 Kbytes in 2 Requests.
 * ('*' marks active mail, '!' held mail; a deferred recipient's last
 * reason, from the file's W records, is shown in parentheses above the
 * recipients it applies to; only recipients still to be delivered are
 * listed; mail still in maildrop/, not yet picked up, is listed by its
 * maildrop file name.) Reads the queue with queue_file.c's reader, so it
 * works whether or not Yubin runs; it needs the right to read the queue
 * (root or mail_owner, or the user of an unprivileged instance). */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "fileio.h"
#include "log.h"
#include "maildrop.h"
#include "mem.h"
#include "queue_file.h"

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

int queue_list(FILE *out, const char *queue_dir)
{
        static const struct {
                const char *dir;
                char flag;
        } dirs[] = {
                { QUEUE_INCOMING, ' ' }, { QUEUE_ACTIVE, '*' },
                { QUEUE_DEFERRED, ' ' }, { QUEUE_HOLD, '!' },
        };
        struct queue_totals t = { 0, 0 };
        char *text = NULL, *path;
        size_t text_len = 0;
        int failed = 0;
        FILE *mem = open_memstream(&text, &text_len);

        if (mem == NULL) {
                log_error("open_memstream: %m");
                return -1;
        }
        path = xasprintf("%s/%s", queue_dir, MAILDROP_DIR);
        if (list_maildrop(mem, path, &t) < 0) {
                log_error("%s: %m", path);
                failed = 1;
        }
        free(path);
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
                if (list_dir(mem, queue_dir, dirs[i].dir, dirs[i].flag,
                             &t) < 0)
                        failed = 1;
        fclose(mem);
        if (t.count == 0) {
                fprintf(out, "Mail queue is empty\n");
        } else {
                fprintf(out, "-Queue ID-  --Size-- ----Arrival Time---- "
                        "-Sender/Recipient-------\n");
                fwrite(text, 1, text_len, out);
                fprintf(out, "-- %lld Kbytes in %zu Request%s.\n",
                        (t.bytes + 1023) / 1024, t.count,
                        t.count == 1 ? "" : "s");
        }
        free(text);
        return failed ? -1 : 0;
}

/* show_time - "Thu Nov 28 08:49:51 2024" */
static void show_time(FILE *out, const char *label, time_t when)
{
        struct tm tm;
        char date[40];

        localtime_r(&when, &tm);
        strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
        fprintf(out, "%s: %s\n", label, date);
}

/* show_rcpt - "recipient: ADDR (STATE...)" */
static void show_rcpt(FILE *out, const struct queue_file *qf, size_t i)
{
        static const char *const states[] = {
                [QUEUE_RCPT_PENDING] = "pending",
                [QUEUE_RCPT_SENT] = "sent",
                [QUEUE_RCPT_BOUNCED] = "bounced",
                [QUEUE_RCPT_DROPPED] = "dropped",
                [QUEUE_RCPT_EXPANDED] = "expanded",
        };
        const struct queue_rcpt *r = queue_file_rcpt(qf, i);
        char *ext = addr_external(r->addr);

        if (r->orcpt != NULL)
                fprintf(out, "original_recipient: %s\n", r->orcpt);
        fprintf(out, "recipient: %s (", ext);
        if (r->state == QUEUE_RCPT_PENDING && r->defer_text != NULL)
                fprintf(out, "deferred: %s %s", r->defer_code != NULL ?
                        r->defer_code : "4.0.0", r->defer_text);
        else
                fputs(states[r->state], out);
        if (r->parent != QUEUE_NO_PARENT) {
                char *p = addr_external(queue_file_rcpt(qf,
                                                        r->parent)->addr);

                fprintf(out, "; expanded from %s", p);
                free(p);
        }
        fputs(")\n", out);
        free(ext);
}

int queue_show(FILE *out, const char *queue_dir, const char *id,
               struct status *st)
{
        struct queue_file *qf = NULL;
        const char *dir, *content;
        char *path, *sender;
        size_t len;
        time_t last;
        unsigned attempts;

        if (!queue_id_valid(id) || !queue_admin_find(queue_dir, id, 1, &dir))
                return 0;
        path = queue_path(queue_dir, dir, id);
        if (queue_file_open(path, 0, &qf, st) < 0) {
                free(path);
                /* moved meanwhile: look once more */
                if (status_class(st) == 4 &&
                    queue_admin_find(queue_dir, id, 1, &dir)) {
                        path = queue_path(queue_dir, dir, id);
                        if (queue_file_open(path, 0, &qf, st) == 0)
                                goto opened;
                        free(path);
                }
                return -1;
        }
opened:
        free(path);
        fprintf(out, "*** ENVELOPE RECORDS %s/%s ***\n", dir, id);
        show_time(out, "message_arrival_time", queue_file_arrival(qf,
                                                                  NULL));
        fprintf(out, "message_size: %lld\n", queue_file_size(qf));
        sender = addr_external(queue_file_sender(qf));
        fprintf(out, "sender: %s\n", *sender != '\0' ? sender : "<>");
        free(sender);
        for (size_t i = 0;; i++) {
                const char *name, *value;

                if (queue_file_attr_at(qf, i, &name, &value) < 0)
                        break;
                fprintf(out, "named_attribute: %s=%s\n", name, value);
        }
        for (size_t i = 0; i < queue_file_rcpt_count(qf); i++)
                show_rcpt(out, qf, i);
        attempts = queue_file_attempts(qf, &last);
        fprintf(out, "delivery_attempts: %u\n", attempts);
        if (attempts > 0)
                show_time(out, "last_attempt_time", last);
        fprintf(out, "*** MESSAGE CONTENTS %s/%s ***\n", dir, id);
        content = queue_file_content(qf, &len);
        fwrite(content, 1, len, out);
        if (len > 0 && content[len - 1] != '\n')
                fputc('\n', out);
        fprintf(out, "*** MESSAGE FILE END %s/%s ***\n", dir, id);
        queue_file_free(&qf);
        return 1;
}
