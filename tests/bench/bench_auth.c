/* bench_auth.c - how many PbS checks and password checks authd answers
 *   bench_auth [-s SECONDS] [-c CONNECTIONS] [-d DEPTH] [-k]
 * Starts bin/authd (YUBIN_BIN names the directory) on a throwaway
 * configuration in a temp dir, imports one user per password scheme with
 * `yubinctl user import`, grants 127.0.0.3 PbS relay, then measures over
 * the socket:
 *   socket round trip          a bare socketpair ping-pong between two
 *                              processes: the floor this machine sets for
 *                              any one-at-a-time client
 *   PbS check, one at a time   one connection, each check waits for its
 *                              answer (what one smtpd session sees)
 *   PbS check, N clients       CONNECTIONS processes, each one at a time
 *   PbS check, pipelined       CONNECTIONS connections (default 4), DEPTH
 *                              (default 32) checks in flight on each
 *   verify per scheme          yescrypt, SHA512-crypt, SHA256-crypt,
 *                              bcrypt and a {SHA512-CRYPT} import, 16 in
 *                              flight, for SECONDS or 2,000 logins
 * Each figure runs SECONDS (default 3). Every answer is checked: a check
 * that says NO or a verify that fails makes the exit status 1. -k keeps
 * the temp dir. As root authd runs as mail_owner (yubin), as installed. */
#include <crypt.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "authc.h"
#include "log.h"
#include "loop.h"
#include "mem.h"

#define BENCH_IP "127.0.0.3"
#define BENCH_PASSWORD "bench-secret"
#define BENCH_VERIFY_MAX 2000
#define BENCH_VERIFY_DEPTH 16
#define BENCH_CONNS_MAX 64

struct scheme {
        const char *name;
        const char *prefix;     /* crypt_gensalt prefix */
        const char *tag;        /* Dovecot {SCHEME} written before it */
        const char *user;
};

static const struct scheme schemes[] = {
        { "yescrypt", "$y$", "", "y@bench.test" },
        { "SHA512-crypt", "$6$", "", "s512@bench.test" },
        { "SHA256-crypt", "$5$", "", "s256@bench.test" },
        { "bcrypt", "$2b$", "", "bf@bench.test" },
        { "{SHA512-CRYPT}", "$6$", "{SHA512-CRYPT}", "dove@bench.test" },
};
#define NSCHEMES (sizeof(schemes) / sizeof(schemes[0]))

static int failed;
static double seconds = 3.0;
static char *dir;
static char *bin;
static char *socket_path;

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
        fprintf(stderr, "bench_auth: %s: %s\n", what, strerror(errno));
        exit(1);
}

static void write_file(const char *path, const char *text)
{
        FILE *fp = fopen(path, "w");

        if (fp == NULL || fputs(text, fp) == EOF || fclose(fp) != 0)
                die(path);
}

/* setup - main.cf and a passwd-file with one user per scheme, imported */
static void setup(void)
{
        struct buf users;
        char *path, *cmd;
        struct passwd *pw = NULL;

        if (geteuid() == 0) {
                pw = getpwnam("yubin");
                if (pw == NULL) {
                        fprintf(stderr, "bench_auth: mail_owner yubin "
                                "missing (sh mk/mail-owner.sh)\n");
                        exit(1);
                }
                if (chown(dir, pw->pw_uid, pw->pw_gid) < 0)
                        die(dir);
        }
        path = xasprintf("%s/main.cf", dir);
        cmd = xasprintf("data_directory = %s\n"
                        "queue_directory = %s\n"
                        "maillog_file = %s/maillog\n"
                        "maillog_file_prefixes = %s\n"
                        "mail_owner = %s\n"
                        "virtual_uid_maps = static:%lu\n"
                        "virtual_gid_maps = static:%lu\n"
                        "mail_location = maildir:%s/vmail/%%d/%%n\n"
                        "auth_backends = sqlite\n",
                        dir, dir, dir, dir, pw != NULL ? "yubin" : "nobody",
                        pw != NULL ? (unsigned long)pw->pw_uid : (unsigned long)getuid(),
                        pw != NULL ? (unsigned long)pw->pw_gid : (unsigned long)getgid(), dir);
        write_file(path, cmd);
        free(cmd);
        free(path);

        buf_init(&users, 0);
        for (size_t i = 0; i < NSCHEMES; i++) {
                char *salt = crypt_gensalt_ra(schemes[i].prefix, 0, NULL, 0);
                struct crypt_data cd;
                const char *hash;

                if (salt == NULL)
                        die("crypt_gensalt");
                memset(&cd, 0, sizeof(cd));
                hash = crypt_r(BENCH_PASSWORD, salt, &cd);
                if (hash == NULL || hash[0] == '*')
                        die("crypt_r");
                buf_printf(&users, "%s:%s%s::::::\n", schemes[i].user,
                           schemes[i].tag, hash);
                free(salt);
        }
        path = xasprintf("%s/users.passwd", dir);
        write_file(path, buf_cstr(&users));
        cmd = xasprintf("%s/yubinctl -c %s user import passwd-file:%s",
                        bin, dir, path);
        if (system(cmd) != 0) {
                fprintf(stderr, "bench_auth: failed: %s\n", cmd);
                exit(1);
        }
        free(cmd);
        free(path);
        buf_release(&users);
}

static pid_t start_authd(void)
{
        char *prog = xasprintf("%s/authd", bin);
        pid_t pid = fork();

        if (pid < 0)
                die("fork");
        if (pid == 0) {
                execl(prog, "authd", "-c", dir, "-n", "authd", "-t", "unix",
                      (char *)NULL);
                _exit(127);
        }
        free(prog);
        for (int i = 0; i < 200; i++) {
                struct status st;
                struct authc_sync *s = authc_sync_open(socket_path, 1000,
                                                       &st);

                if (s != NULL) {
                        authc_sync_close(&s);
                        return pid;
                }
                usleep(50 * 1000);
        }
        fprintf(stderr, "bench_auth: authd did not come up (see %s/maillog)\n",
                dir);
        kill(pid, SIGTERM);
        exit(1);
}

/* --- PbS checks --- */

/* round_trip - one byte back and forth over a socketpair */
static void round_trip(void)
{
        double start, end;
        long n = 0;
        char c = 'x';
        int sv[2];
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
                die("socketpair");
        pid = fork();
        if (pid < 0)
                die("fork");
        if (pid == 0) {
                close(sv[0]);
                while (read(sv[1], &c, 1) == 1 && write(sv[1], &c, 1) == 1)
                        ;
                _exit(0);
        }
        close(sv[1]);
        start = now_s();
        end = start + seconds;
        do {
                for (int i = 0; i < 256; i++, n++)
                        if (write(sv[0], &c, 1) != 1 || read(sv[0], &c, 1) != 1)
                                die("socketpair");
        } while (now_s() < end);
        end = now_s();
        close(sv[0]);
        waitpid(pid, NULL, 0);
        printf("socket round trip (floor):  %8.0f trips/s   (%.1f us each)\n",
               n / (end - start), (end - start) * 1e6 / n);
}

/* sync_checks - one-at-a-time checks for the bench's time; the count, or
 * -1 when one was not YES */
static long sync_checks(void)
{
        struct status st;
        struct authc_sync *s = authc_sync_open(socket_path, 0, &st);
        double end = now_s() + seconds;
        long n = 0, bad = 0;

        if (s == NULL) {
                fprintf(stderr, "bench_auth: %s\n", st.text);
                return -1;
        }
        do {
                for (int i = 0; i < 256; i++, n++)
                        if (authc_sync_pbs_check(s, BENCH_IP, NULL, NULL,
                                                 &st) != 1)
                                bad++;
        } while (now_s() < end);
        authc_sync_close(&s);
        return bad > 0 ? -1 : n;
}

static void pbs_one_at_a_time(size_t clients)
{
        struct status st;
        struct authc_sync *s = authc_sync_open(socket_path, 0, &st);
        double start, end;
        pid_t pids[BENCH_CONNS_MAX];
        long n, total = 0;
        int fds[2];

        if (s == NULL || authc_sync_pbs_grant(s, BENCH_IP, "y@bench.test",
                                              &st) < 0) {
                fprintf(stderr, "bench_auth: grant: %s\n", st.text);
                exit(1);
        }
        authc_sync_close(&s);
        start = now_s();
        n = sync_checks();
        end = now_s();
        if (n < 0)
                failed = 1;
        else
                printf("PbS check, one at a time:   %8.0f checks/s  (%.1f us "
                       "each, %ld checks)\n", n / (end - start),
                       (end - start) * 1e6 / n, n);

        /* clients processes at once, each one at a time */
        if (pipe(fds) < 0)
                die("pipe");
        start = now_s();
        for (size_t i = 0; i < clients; i++) {
                pid_t pid = fork();

                if (pid < 0)
                        die("fork");
                pids[i] = pid;
                if (pid == 0) {
                        n = sync_checks();
                        _exit(write(fds[1], &n, sizeof(n)) == sizeof(n) ?
                              0 : 1);
                }
        }
        close(fds[1]);
        for (size_t i = 0; i < clients; i++) {
                if (read(fds[0], &n, sizeof(n)) != sizeof(n) || n < 0)
                        failed = 1;
                else
                        total += n;
        }
        end = now_s();
        close(fds[0]);
        for (size_t i = 0; i < clients; i++)
                waitpid(pids[i], NULL, 0);
        printf("PbS check, %2zu clients:     %8.0f checks/s  (each one at a "
               "time, %ld checks)\n", clients, total / (end - start), total);
}

struct pipe_state {
        struct authc *a[BENCH_CONNS_MAX];
        size_t conns;
        double end;
        long done;
        long bad;
};

static struct pipe_state ps;

static void pbs_answer(const struct authc_reply *r, void *ctx)
{
        struct authc *a = ctx;

        ps.done++;
        if (r->result != AUTHC_OK)
                ps.bad++;
        /* the clock is read every 1,024 answers: cheap enough */
        if ((ps.done & 1023) == 0 && now_s() >= ps.end)
                ps.end = 0;
        if (ps.end > 0) {
                authc_pbs_check(a, BENCH_IP, pbs_answer, a);
        } else {
                size_t pending = 0;

                for (size_t i = 0; i < ps.conns; i++)
                        pending += authc_pending(ps.a[i]);
                if (pending <= 1)
                        loop_exit();
        }
}

static void pbs_pipelined(size_t conns, int depth)
{
        double start, end;

        memset(&ps, 0, sizeof(ps));
        ps.conns = conns;
        for (size_t i = 0; i < conns; i++) {
                ps.a[i] = authc_new(socket_path);
                for (int j = 0; j < depth; j++)
                        authc_pbs_check(ps.a[i], BENCH_IP, pbs_answer,
                                        ps.a[i]);
        }
        start = now_s();
        ps.end = start + seconds;
        loop_run();
        end = now_s();
        if (ps.bad > 0)
                failed = 1;
        printf("PbS check, pipelined:       %8.0f checks/s  (%zu connections"
               " x %d in flight, %ld checks, %ld not YES)\n",
               ps.done / (end - start), conns, depth, ps.done, ps.bad);
        for (size_t i = 0; i < conns; i++)
                authc_free(&ps.a[i]);
}

/* --- password checks --- */

struct verify_state {
        struct authc *a;
        const char *user;
        double end;
        long started, done, bad;
};

static struct verify_state vs;

static void verify_next(void);

static void verify_answer(const struct authc_reply *r, void *ctx)
{
        vs.done++;
        if (r->result != AUTHC_OK) {
                if (vs.bad++ == 0)
                        fprintf(stderr, "bench_auth: %s: not verified: %s\n",
                                vs.user, r->reason);
        }
        if (now_s() < vs.end && vs.started < BENCH_VERIFY_MAX)
                verify_next();
        else if (vs.done == vs.started)
                loop_exit();
}

static void verify_next(void)
{
        static const struct authc_login login = {
                "imap", "127.0.0.1", "127.0.0.1", 1, 0
        };

        vs.started++;
        authc_verify(vs.a, &login, vs.user, BENCH_PASSWORD, verify_answer,
                     NULL);
}

static void verify_scheme(const struct scheme *sc)
{
        double start, end;

        memset(&vs, 0, sizeof(vs));
        vs.a = authc_new(socket_path);
        vs.user = sc->user;
        start = now_s();
        vs.end = start + seconds;
        for (int i = 0; i < BENCH_VERIFY_DEPTH; i++)
                verify_next();
        loop_run();
        end = now_s();
        if (vs.bad > 0)
                failed = 1;
        printf("verify %-16s %8.1f logins/s (%ld logins, %ld failed)\n",
               sc->name, vs.done / (end - start), vs.done, vs.bad);
        authc_free(&vs.a);
}

int main(int argc, char **argv)
{
        char template[] = "/tmp/bench_auth.XXXXXX";
        const char *env = getenv("YUBIN_BIN");
        size_t conns = 4;
        int depth = 32, keep = 0, opt, status;
        pid_t pid;

        while ((opt = getopt(argc, argv, "s:c:d:k")) != -1) {
                switch (opt) {
                case 's':
                        seconds = atof(optarg);
                        break;
                case 'c':
                        conns = strtoul(optarg, NULL, 10);
                        break;
                case 'd':
                        depth = atoi(optarg);
                        break;
                case 'k':
                        keep = 1;
                        break;
                default:
                        fprintf(stderr, "usage: bench_auth [-s SECONDS] "
                                "[-c CONNECTIONS] [-d DEPTH] [-k]\n");
                        return 2;
                }
        }
        if (seconds <= 0 || conns < 1 || conns > BENCH_CONNS_MAX ||
            depth < 1 || depth > 1024) {
                fprintf(stderr, "bench_auth: bad -s, -c or -d\n");
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        setvbuf(stdout, NULL, _IOLBF, 0);
        log_open("yubin", "bench_auth", LOG_TO_STDERR, NULL);
        bin = xstrdup(env != NULL ? env : "bin");
        if (mkdtemp(template) == NULL)
                die("mkdtemp");
        dir = template;
        socket_path = xasprintf("%s/%s", dir, AUTHC_SOCKET_NAME);
        setup();
        pid = start_authd();
        loop_init();

        round_trip();
        pbs_one_at_a_time(conns);
        pbs_pipelined(conns, depth);
        for (size_t i = 0; i < NSCHEMES; i++)
                verify_scheme(&schemes[i]);

        kill(pid, SIGTERM);
        waitpid(pid, &status, 0);
        if (keep) {
                printf("kept %s\n", dir);
        } else {
                char *cmd = xasprintf("rm -rf %s", dir);

                if (system(cmd) != 0)
                        fprintf(stderr, "bench_auth: cannot remove %s\n",
                                dir);
                free(cmd);
        }
        free(socket_path);
        free(bin);
        return failed;
}
