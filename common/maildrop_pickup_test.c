/* maildrop_pickup_test.c - pickup: a maildrop file becomes a queue file
 * (envelope, uid, Received header, log line), hostile files are removed
 * without harm, stale tmp. files go, fresh ones stay; and dsn_write puts a
 * notice into a queue file */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "cfg.h"
#include "dsn.h"
#include "fileio.h"
#include "log.h"
#include "maildrop.h"
#include "mem.h"
#include "queue_file.h"

struct fixture {
        char base[64];
        char *maildrop;
        char *logfile;
        struct cfg *cfg;
};

static int setup(void **state)
{
        struct fixture *f = xcalloc(1, sizeof(*f));
        struct status st;

        snprintf(f->base, sizeof(f->base), "/tmp/maildrop_pickup.XXXXXX");
        if (mkdtemp(f->base) == NULL)
                return -1;
        f->maildrop = xasprintf("%s/maildrop", f->base);
        f->logfile = xasprintf("%s/log", f->base);
        f->cfg = cfg_new("/nonexistent");
        cfg_set(f->cfg, "queue_directory", f->base, NULL);
        cfg_set(f->cfg, "myhostname", "mail.example.com", NULL);
        cfg_set(f->cfg, "message_size_limit", "2000", NULL);
        if (maildrop_init(f->cfg, &st) < 0)
                return -1;
        log_open("yubin", "qmgr", LOG_TO_FILE, f->logfile);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        char *cmd = xasprintf("rm -rf %s", f->base);
        int r = system(cmd);

        free(cmd);
        free(f->maildrop);
        free(f->logfile);
        cfg_free(&f->cfg);
        free(f);
        return r == 0 ? 0 : -1;
}

/* drop - store a maildrop file made of env and content */
static char *drop(const struct fixture *f, const struct maildrop_env *env,
                  const char *content)
{
        struct buf b;
        struct status st;
        char *name;

        buf_init(&b, 0);
        maildrop_format(&b, env);
        buf_puts(&b, content);
        assert_int_equal(maildrop_store(f->base, b.data, b.len, &name, &st),
                         0);
        buf_release(&b);
        return name;
}

/* put_raw - a file in maildrop/ with exactly these bytes */
static void put_raw(const struct fixture *f, const char *name,
                    const char *text)
{
        char *path = xasprintf("%s/%s", f->maildrop, name);
        FILE *fp = fopen(path, "w");

        assert_non_null(fp);
        fputs(text, fp);
        fclose(fp);
        free(path);
}

static size_t entries(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        if (d == NULL)
                return 0;
        while ((de = readdir(d)) != NULL)
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

static void test_pickup(void **state)
{
        struct fixture *f = *state;
        char *rcpts[] = { "bob@example.com", "carol@example.org", NULL };
        struct maildrop_env env = { "ann@example.org", rcpts, 2, "HDRS",
                                    "env1", 0 };
        struct queue_file *qf;
        struct status st;
        size_t count, n;
        char **ids, *path, uid[32], want[256];
        char content[512];
        ssize_t got;
        struct buf log;

        free(drop(f, &env, "Subject: hi\n\nbody\n"));
        assert_int_equal(maildrop_pickup(f->cfg, &count, &st), 0);
        assert_int_equal(count, 1);
        assert_int_equal(entries(f->maildrop), 0);
        assert_int_equal(queue_dir_list(f->base, QUEUE_INCOMING, &ids, &n,
                                        &st), 0);
        assert_int_equal(n, 1);
        path = queue_path(f->base, QUEUE_INCOMING, ids[0]);
        assert_int_equal(queue_file_open(path, 0, &qf, &st), 0);
        assert_string_equal(queue_file_sender(qf), "ann@example.org");
        assert_int_equal(queue_file_rcpt_count(qf), 2);
        assert_string_equal(queue_file_rcpt(qf, 1)->addr,
                            "carol@example.org");
        snprintf(uid, sizeof(uid), "%lu", (unsigned long)geteuid());
        assert_string_equal(queue_file_attr(qf, "uid"), uid);
        assert_string_equal(queue_file_attr(qf, "dsn_ret"), "HDRS");
        assert_string_equal(queue_file_attr(qf, "dsn_envid"), "env1");
        got = queue_file_read(qf, 0, content, sizeof(content) - 1, &st);
        assert_true(got > 0);
        content[got] = '\0';
        snprintf(want, sizeof(want), "Received: by mail.example.com (Yubin, "
                 "from userid %s)\n\tid %s; ", uid, ids[0]);
        assert_memory_equal(content, want, strlen(want));
        assert_non_null(strstr(content, "\nSubject: hi\n\nbody\n"));
        queue_file_free(&qf);
        /* the log line pflogsumm and people read */
        buf_init(&log, 0);
        assert_int_equal(fileio_read(f->logfile, 100000, &log, &st), 1);
        snprintf(want, sizeof(want), "yubin/qmgr[%ld]: %s: uid=%s "
                 "from=<ann@example.org>", (long)getpid(), ids[0], uid);
        if (strstr(buf_cstr(&log), want) == NULL)
                fail_msg("case log: got \"%s\", want \"%s\"", buf_cstr(&log),
                         want);
        buf_release(&log);
        free(path);
        queue_ids_free(&ids);
}

static void test_hostile_files(void **state)
{
        struct fixture *f = *state;
        char *rcpts[] = { "bob@example.com", NULL };
        struct maildrop_env env = { "ann@example.org", rcpts, 1, NULL, NULL,
                                    0 };
        char *big = xcalloc(1, 3000), *name, *a, *b;
        struct timeval old[2];
        struct status st;
        size_t count;

        put_raw(f, "garbage", "From: me\n\nnot a maildrop file\n");
        put_raw(f, "badrcpt", "YUBIN-MAILDROP 1\nSa@b.c\nRroot\nE\nx\n");
        memset(big, 'x', 2999);
        free(drop(f, &env, big));                       /* too big */
        a = xasprintf("%s/symlink", f->maildrop);
        assert_int_equal(symlink("/etc/passwd", a), 0);
        name = drop(f, &env, "Subject: linked\n\nx\n");  /* two links */
        b = xasprintf("%s/%s", f->maildrop, name);
        free(a);
        a = xasprintf("%s/hardlink", f->base);
        assert_int_equal(link(b, a), 0);
        put_raw(f, "tmp.fresh", "partial");
        put_raw(f, "tmp.stale", "partial");
        free(b);
        b = xasprintf("%s/tmp.stale", f->maildrop);
        gettimeofday(&old[0], NULL);
        old[0].tv_sec -= 2 * MAILDROP_TMP_AGE;
        old[1] = old[0];
        assert_int_equal(utimes(b, old), 0);
        assert_int_equal(maildrop_pickup(f->cfg, &count, &st), 0);
        assert_int_equal(count, 0);
        /* only the fresh partial file is left; nothing was queued */
        assert_int_equal(entries(f->maildrop), 1);
        assert_int_equal(access(b, F_OK), -1);
        free(b);
        b = xasprintf("%s/incoming", f->base);
        assert_int_equal(entries(b), 0);
        unlink(a);
        free(a);
        free(b);
        free(name);
        free(big);
}

static int read_all(void *ctx, int first, const char **data_r,
                    size_t *len_r, struct status *st)
{
        int *done = ctx;

        if (first)
                *done = 0;
        if (*done)
                return 0;
        *done = 1;
        *data_r = "Subject: original\n\nbody\n";
        *len_r = strlen(*data_r);
        return 1;
}

static void test_dsn_write(void **state)
{
        struct fixture *f = *state;
        int done = 0;
        struct dsn_rcpt r = { "bob@example.com", NULL, DSN_ACTION_FAILED,
                              "5.1.1", "unknown user: \"bob\"", NULL, NULL,
                              0, 0 };
        struct dsn_msg m = { "ORIGQID", "ann@example.org", NULL, 0, 0,
                             "mail.example.com", "Yubin", 50000,
                             "postmaster", read_all, &done };
        struct queue_writer *w;
        struct queue_file *qf;
        struct status st;
        char *path, buf[4096];
        ssize_t got;

        assert_int_equal(queue_writer_open(f->base, &w, &st), 0);
        assert_int_equal(dsn_write(&m, &r, 1, w, &st), 0);
        path = queue_path(f->base, QUEUE_INCOMING, queue_writer_id(w));
        assert_int_equal(queue_writer_commit(w, &st), 0);
        queue_writer_free(&w);
        assert_int_equal(queue_file_open(path, 0, &qf, &st), 0);
        assert_string_equal(queue_file_sender(qf), "");
        assert_int_equal(queue_file_rcpt_count(qf), 1);
        assert_string_equal(queue_file_rcpt(qf, 0)->addr, "ann@example.org");
        assert_int_equal(queue_file_rcpt(qf, 0)->notify, QUEUE_NOTIFY_NEVER);
        assert_string_equal(queue_file_attr(qf, "log_ident"), "ORIGQID");
        got = queue_file_read(qf, 0, buf, sizeof(buf) - 1, &st);
        assert_true(got > 0);
        buf[got] = '\0';
        assert_non_null(strstr(buf, "Subject: Undelivered Mail Returned to "
                               "Sender\n"));
        assert_non_null(strstr(buf, "Subject: original\n"));
        queue_file_free(&qf);
        free(path);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_pickup, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_hostile_files, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_dsn_write, setup,
                                                teardown),
        };

        return cmocka_run_group_tests_name("maildrop_pickup", tests, NULL,
                                           NULL);
}
