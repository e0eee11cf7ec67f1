/* bench_maildir.c - how fast a big folder syncs and answers header fetches
 *   bench_maildir [-n MESSAGES] [-k] [-D]
 * Makes a Maildir of MESSAGES (default 10,000) messages in a temp dir, then
 * times, each with a new folder handle as a new IMAP session would open:
 *   sync cold      no dovecot-uidlist, no yubin-cache: new/ -> cur/, UIDs,
 *                  the modseq store made
 *   sync warm      nothing changed; must open no message file (checked)
 *   headers cold   the ENVELOPE fields of every message, from the files
 *                  (and the cache entries made on the way)
 *   headers warm   the same from yubin-cache; must open no message file
 * and prints milliseconds, messages per second and the handle's counters.
 * With -D it does the same with Dovecot's doveadm (force-resync, fetch
 * imap.envelope) on a copy of the folder, under a throwaway configuration
 * in the temp dir, and prints the ratio; skipped with its reason when
 * doveadm cannot run. -k keeps the temp dir. Exit 1 when a check fails. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "maildir.h"
#include "mem.h"

static const char *const envelope_fields[] = {
        "Date", "Subject", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
        "In-Reply-To", "Message-ID",
};
#define NENV (sizeof(envelope_fields) / sizeof(envelope_fields[0]))

static int failed;

static double now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void die(const char *what, const struct status *st)
{
        fprintf(stderr, "bench_maildir: %s: %s %s\n", what, st->code,
                st->text);
        exit(1);
}

static void report(const char *what, double ms, size_t n)
{
        printf("%-14s %9.1f ms  %10.0f messages/s\n", what, ms,
               ms > 0 ? n / (ms / 1000.0) : 0.0);
}

static void print_stats(const char *what, const struct maildir_box *box)
{
        const struct maildir_box_stats *s = maildir_box_stats(box);

        printf("  %s counters: dir_scans=%lu msg_reads=%lu uidlist_reads=%lu "
               "uidlist_writes=%lu cache_hits=%lu cache_misses=%lu "
               "cache_writes=%lu modseq_writes=%lu modseq_fsyncs=%lu\n",
               what, s->dir_scans, s->msg_reads, s->uidlist_reads,
               s->uidlist_writes, s->cache_hits, s->cache_misses,
               s->cache_writes, s->modseq_writes, s->modseq_fsyncs);
}

static void expect(int ok, const char *what)
{
        if (!ok) {
                printf("  FAILED: %s\n", what);
                failed = 1;
        }
}

/* make_folder - n messages written straight into new/, as a delivery
 * agent leaves them (LF line ends, S= and W= in the name) */
static void make_folder(const char *root, size_t n)
{
        char *path;
        struct buf msg;
        time_t base = time(NULL) - (time_t)n - 3600;

        buf_init(&msg, 0);
        for (const char *sub = "cur"; sub != NULL;
             sub = strcmp(sub, "cur") == 0 ? "new" :
                   strcmp(sub, "new") == 0 ? "tmp" : NULL) {
                path = xasprintf("%s/%s", root, sub);
                if (mkdir(path, 0700) < 0 && errno != EEXIST) {
                        perror(path);
                        exit(1);
                }
                free(path);
        }
        for (size_t i = 0; i < n; i++) {
                buf_reset(&msg);
                buf_printf(&msg,
                           "Return-Path: <sender%zu@example.org>\n"
                           "Delivered-To: user@example.com\n"
                           "Received: from mx.example.org (mx.example.org [192.0.2.7])\n"
                           "\tby mail.example.com (Yubin) with ESMTPS id %zuAB\n"
                           "\tfor <user@example.com>; Mon, 1 Jan 2024 10:00:00 +0000\n"
                           "Date: Mon, 1 Jan 2024 10:%02zu:%02zu +0000\n"
                           "From: Sender Number %zu <sender%zu@example.org>\n"
                           "To: User <user@example.com>\n"
                           "Cc: list-%zu@lists.example.org\n"
                           "Subject: Benchmark message %zu about a topic of "
                           "some length\n"
                           "Message-ID: <%zu.bench@example.org>\n"
                           "In-Reply-To: <%zu.bench@example.org>\n"
                           "References: <%zu.bench@example.org> "
                           "<%zu.bench@example.org>\n"
                           "MIME-Version: 1.0\n"
                           "Content-Type: text/plain; charset=utf-8\n"
                           "Content-Transfer-Encoding: 8bit\n"
                           "\n",
                           i % 97, i, (i / 60) % 60, i % 60, i % 97, i % 97,
                           i % 13, i, i, i ? i - 1 : 0, i ? i - 1 : 0, i);
                for (int line = 0; line < 20; line++)
                        buf_printf(&msg, "Line %d of message %zu, some text "
                                   "to make a body of a usual size.\n",
                                   line, i);
                size_t lines = 0;
                for (size_t k = 0; k < msg.len; k++)
                        lines += msg.data[k] == '\n';
                path = xasprintf("%s/new/%lld.M%zuP4242Q%zu.bench,S=%zu,W=%zu",
                                 root, (long long)(base + (time_t)i),
                                 i % 1000000, i, msg.len, msg.len + lines);
                int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
                if (fd < 0 || write(fd, msg.data, msg.len) != (ssize_t)msg.len ||
                    close(fd) < 0) {
                        perror(path);
                        exit(1);
                }
                free(path);
        }
        buf_release(&msg);
}

struct figures {
        double sync_cold, sync_warm, hdr_cold, hdr_warm;
        int have;
};

static struct maildir_box *open_box(struct maildir *md, int flags)
{
        struct maildir_box *box;
        struct status st;

        if (maildir_box_open(md, NULL, flags, &box, &st) < 0)
                die("open INBOX", &st);
        return box;
}

static double sync_box(struct maildir_box *box)
{
        struct status st;
        double t = now_ms();

        if (maildir_sync(box, NULL, &st) < 0)
                die("sync", &st);
        return now_ms() - t;
}

/* read_headers - the ENVELOPE fields of every message; the bytes read */
static double read_headers(struct maildir_box *box, size_t *bytes_r)
{
        struct status st;
        struct buf out;
        size_t n = maildir_box_count(box);
        double t = now_ms();

        buf_init(&out, 0);
        *bytes_r = 0;
        for (size_t i = 0; i < n; i++) {
                buf_reset(&out);
                if (maildir_msg_cached_header(box, maildir_box_uid(box, i),
                                              envelope_fields, NENV, &out,
                                              &st) < 0)
                        die("header fields", &st);
                *bytes_r += out.len;
        }
        buf_release(&out);
        return now_ms() - t;
}

static void bench_yubin(const char *root, size_t n, struct figures *f)
{
        const int flags = MAILDIR_BOX_CACHE | MAILDIR_BOX_MODSEQ;
        struct maildir *md;
        struct maildir_box *box;
        struct status st;
        size_t bytes_cold, bytes_warm;

        if (maildir_open(root, 0, &md, &st) < 0)
                die("open", &st);
        printf("Yubin, %zu messages in %s\n", n, root);

        box = open_box(md, flags);
        f->sync_cold = sync_box(box);
        report("sync cold", f->sync_cold, n);
        print_stats("sync cold", box);
        expect(maildir_box_count(box) == n, "every message has a UID");
        expect(maildir_box_stats(box)->msg_reads == 0,
               "cold sync opens no message");
        maildir_box_close(&box);

        box = open_box(md, flags);
        f->sync_warm = sync_box(box);
        report("sync warm", f->sync_warm, n);
        print_stats("sync warm", box);
        expect(maildir_box_stats(box)->msg_reads == 0,
               "warm sync opens no message");
        expect(maildir_box_stats(box)->uidlist_writes == 0 &&
               maildir_box_stats(box)->modseq_writes == 0,
               "warm sync writes nothing");
        /* a directory changed within the last second is read again at
         * the next sync (its mtime cannot tell yet); once it has settled,
         * a sync of the same handle reads no directory at all */
        sleep(2);
        sync_box(box);
        unsigned long scans = maildir_box_stats(box)->dir_scans;
        double again = sync_box(box);
        report("sync again", again, n);
        expect(maildir_box_stats(box)->dir_scans == scans,
               "a sync of the same handle with nothing new scans nothing");
        maildir_box_close(&box);

        box = open_box(md, 0);
        sync_box(box);
        double nocache = read_headers(box, &bytes_cold);
        report("headers, no cache", nocache, n);
        maildir_box_close(&box);

        box = open_box(md, flags);
        sync_box(box);
        f->hdr_cold = read_headers(box, &bytes_cold);
        double t = now_ms();
        if (maildir_cache_flush(box, &st) < 0)
                die("cache flush", &st);
        double flush = now_ms() - t;
        report("headers cold", f->hdr_cold, n);
        printf("  (yubin-cache written in %.1f ms)\n", flush);
        print_stats("headers cold", box);
        expect(maildir_box_stats(box)->msg_reads == n,
               "cold header read opens each message once");
        maildir_box_close(&box);

        box = open_box(md, flags);
        sync_box(box);
        f->hdr_warm = read_headers(box, &bytes_warm);
        report("headers warm", f->hdr_warm, n);
        print_stats("headers warm", box);
        expect(maildir_box_stats(box)->msg_reads == 0,
               "warm header read opens no message");
        expect(maildir_box_stats(box)->cache_hits == n,
               "every warm answer from the cache");
        expect(bytes_warm == bytes_cold, "cache and files agree");
        maildir_box_close(&box);
        maildir_close(&md);
        f->have = 1;
}

/* run - run argv with its output in the file out; the wall time, or -1 */
static double run(char *const argv[], const char *out)
{
        double t = now_ms();
        pid_t pid = fork();
        int status;

        if (pid < 0)
                return -1;
        if (pid == 0) {
                int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
                dup2(fd, 1);
                execvp(argv[0], argv);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
                return -1;
        return now_ms() - t;
}

static void bench_dovecot(const char *dir, const char *yubin_root, size_t n,
                          struct figures *f)
{
        struct figures d;
        char *maildir = xasprintf("%s/dovecot-maildir", dir);
        char *conf = xasprintf("%s/dovecot.conf", dir);
        char *cmd;

        printf("Dovecot (doveadm), %zu messages\n", n);
        if (access("/usr/bin/doveadm", X_OK) != 0) {
                printf("  skipped: /usr/bin/doveadm is not installed\n");
                goto out;
        }
        cmd = xasprintf("mkdir -p %s/run %s && cp -r %s/new %s/cur %s/tmp %s/",
                        dir, maildir, yubin_root, yubin_root, yubin_root,
                        maildir);
        int r = system(cmd);
        free(cmd);
        if (r != 0) {
                printf("  skipped: could not copy the folder\n");
                goto out;
        }
        FILE *cf = fopen(conf, "w");
        if (cf == NULL) {
                printf("  skipped: cannot write %s\n", conf);
                goto out;
        }
        /* doveadm refuses mail access as root: as root the copy is
         * given to nobody, and doveadm works as that user */
        unsigned int uid = getuid() == 0 ? 65534 : getuid();
        unsigned int gid = getuid() == 0 ? 65534 : getgid();
        fprintf(cf, "base_dir = %s/run\n"
                "log_path = %s/run/dovecot.log\n"
                "state_dir = %s/run\n"
                "mail_location = maildir:%s\n"
                "mail_uid = %u\nmail_gid = %u\n",
                dir, dir, dir, maildir, uid, gid);
        fclose(cf);
        if (getuid() == 0) {
                cmd = xasprintf("chown -R %u:%u %s", uid, gid, maildir);
                r = system(cmd);
                free(cmd);
                if (r != 0) {
                        printf("  skipped: could not chown the copy\n");
                        goto out;
                }
        }
        /* without -u doveadm takes the user from the environment */
        setenv("HOME", dir, 1);
        if (getenv("USER") == NULL)
                setenv("USER", "bench", 1);
        char *sync[] = { "doveadm", "-c", conf, "force-resync", "INBOX",
                         NULL };
        char *fetch[] = { "doveadm", "-c", conf, "fetch", "imap.envelope",
                          "all", NULL };
        char *out_file = xasprintf("%s/doveadm.out", dir);
        d.sync_cold = run(sync, out_file);
        d.sync_warm = run(sync, out_file);
        d.hdr_cold = run(fetch, out_file);
        d.hdr_warm = run(fetch, out_file);
        /* doveadm may exit 0 after errors: count what it fetched */
        size_t got = 0;
        FILE *of = fopen(out_file, "r");
        char line[8192];
        while (of != NULL && fgets(line, sizeof(line), of) != NULL)
                got += strncmp(line, "imap.envelope:", 14) == 0;
        if (of != NULL)
                fclose(of);
        free(out_file);
        if (got != n) {
                printf("  skipped: doveadm fetched %zu envelopes, not %zu "
                       "(see %s/run/dovecot.log)\n", got, n, dir);
                goto out;
        }
        if (d.sync_cold < 0 || d.sync_warm < 0 || d.hdr_cold < 0 ||
            d.hdr_warm < 0) {
                printf("  skipped: doveadm failed (see %s/run/dovecot.log)\n",
                       dir);
                goto out;
        }
        report("sync cold", d.sync_cold, n);
        report("sync warm", d.sync_warm, n);
        report("headers cold", d.hdr_cold, n);
        report("headers warm", d.hdr_warm, n);
        printf("  (each a doveadm process: its start-up is in the time)\n");
        if (f->have) {
                printf("Dovecot time / Yubin time:\n");
                printf("  sync cold %.2f, sync warm %.2f, headers cold %.2f, "
                       "headers warm %.2f\n", d.sync_cold / f->sync_cold,
                       d.sync_warm / f->sync_warm, d.hdr_cold / f->hdr_cold,
                       d.hdr_warm / f->hdr_warm);
        }
out:
        free(maildir);
        free(conf);
}

int main(int argc, char **argv)
{
        size_t n = 10000;
        int keep = 0, dovecot = 0, c;
        char dir[] = "/tmp/bench_maildir.XXXXXX";
        char root[4096];
        struct figures f;

        while ((c = getopt(argc, argv, "n:kD")) != -1) {
                switch (c) {
                case 'n':
                        n = (size_t)strtoul(optarg, NULL, 10);
                        break;
                case 'k':
                        keep = 1;
                        break;
                case 'D':
                        dovecot = 1;
                        break;
                default:
                        fprintf(stderr, "usage: bench_maildir [-n MESSAGES] "
                                "[-k] [-D]\n");
                        return 2;
                }
        }
        log_open("yubin", "bench_maildir", LOG_TO_STDERR, NULL);
        /* 0711: doveadm, working as another user, must pass through */
        if (mkdtemp(dir) == NULL || chmod(dir, 0711) < 0) {
                perror("mkdtemp");
                return 1;
        }
        snprintf(root, sizeof(root), "%s/Maildir", dir);
        if (mkdir(root, 0700) < 0) {
                perror(root);
                return 1;
        }
        double t = now_ms();
        make_folder(root, n);
        printf("made %zu messages in %.0f ms\n", n, now_ms() - t);
        if (dovecot) {
                /* a pristine copy for Dovecot before Yubin moves files */
                char *cmd = xasprintf("cp -r %s %s/pristine", root, dir);
                if (system(cmd) != 0)
                        dovecot = 0;
                free(cmd);
        }
        memset(&f, 0, sizeof(f));
        bench_yubin(root, n, &f);
        if (dovecot) {
                char *pristine = xasprintf("%s/pristine", dir);
                bench_dovecot(dir, pristine, n, &f);
                free(pristine);
        }
        if (!keep) {
                char cmd[4200];
                snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
                if (system(cmd) != 0)
                        fprintf(stderr, "bench_maildir: could not remove %s\n",
                                dir);
        } else {
                printf("kept %s\n", dir);
        }
        printf("%s\n", failed ? "bench_maildir: a check FAILED" :
                                "bench_maildir: all checks passed");
        return failed;
}
