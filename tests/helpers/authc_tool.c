/* authc_tool.c - a command line over common/authc for the protocol tests
 *   authc_tool -s SOCKET [--sync] verify USER SERVICE RIP [--token]
 *                                        [--secured]   (password: stdin)
 *   authc_tool -s SOCKET [--sync] lookup USER | redeem TOKEN
 *   authc_tool -s SOCKET [--sync] pbs-grant IP USER | pbs-check IP
 *   authc_tool -s SOCKET pbs-list
 *   authc_tool -s SOCKET [--sync] mechs SERVICE SECURED
 *   authc_tool -s SOCKET sasl MECH SERVICE RIP SECURED [--token]
 *                             [--ir BASE64 | --ir-empty] [RESPONSE...]
 *   authc_tool -s SOCKET bench-pbs COUNT CONNECTIONS DEPTH
 *   authc_tool log FILE SYSLOG_NAME sasl-failed ADDR MECH USER
 *   authc_tool log FILE SYSLOG_NAME login-failed PROTO USER METHOD RIP LIP
 * Prints the answer as one line: OK key=value..., FAIL CODE REASON,
 * NOTFOUND, TEMPFAIL REASON (and CONT CHALLENGE for each SASL step).
 * Exit status: 0 OK, 1 FAIL or NOTFOUND, 75 TEMPFAIL, 64 usage. The
 * asynchronous client is used unless --sync asks for the blocking one.
 * "log" writes a line through the log_auth builders the front ends use,
 * as syslog_name/smtpd (sasl-failed) or syslog_name/PROTOd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "authc.h"
#include "log.h"
#include "log_auth.h"
#include "loop.h"
#include "mem.h"

static int exit_code = EX_SOFTWARE;
static char **responses;
static int response_count;
static struct authc_req *sasl_req;

static void usage(void)
{
        fprintf(stderr, "usage: authc_tool -s SOCKET [--sync] COMMAND ARGS "
                "(see the source's header)\n");
        exit(EX_USAGE);
}

static void print_user(const struct authc_user *u)
{
        printf("OK user=%s uid=%lu gid=%lu home=%s mail=%s quota_bytes=%lld "
               "quota_messages=%lld", u->name, (unsigned long)u->uid,
               (unsigned long)u->gid, u->home, u->mail, u->quota_bytes,
               u->quota_messages);
        if (u->token != NULL)
                printf(" token=%s", u->token);
        printf("\n");
}

static const char *fail_name(enum authc_fail f)
{
        switch (f) {
        case AUTHC_FAIL_AUTH:
                return "auth";
        case AUTHC_FAIL_BANNED:
                return "banned";
        case AUTHC_FAIL_MECH:
                return "mech";
        case AUTHC_FAIL_SYNTAX:
                return "syntax";
        }
        return "?";
}

static void on_reply(const struct authc_reply *r, void *ctx)
{
        switch (r->result) {
        case AUTHC_OK:
                if (r->user != NULL)
                        print_user(r->user);
                else if (r->mechs != NULL)
                        printf("OK mechs=%s\n", r->mechs);
                else if (r->pbs_user != NULL)
                        printf("OK user=%s expires=%lld\n", r->pbs_user,
                               r->pbs_expires);
                else
                        printf("OK\n");
                exit_code = 0;
                break;
        case AUTHC_FAIL:
                printf("FAIL %s %s\n", fail_name(r->fail), r->reason);
                exit_code = 1;
                break;
        case AUTHC_NOTFOUND:
                printf("NOTFOUND\n");
                exit_code = 1;
                break;
        case AUTHC_TEMPFAIL:
                printf("TEMPFAIL %s\n", r->reason);
                exit_code = EX_TEMPFAIL;
                break;
        case AUTHC_CONTINUE:
                printf("CONT %s\n", r->challenge);
                fflush(stdout);
                if (response_count == 0) {
                        printf("NO RESPONSE LEFT\n");
                        authc_cancel(&sasl_req);
                        exit_code = 2;
                        break;
                }
                authc_sasl_continue(sasl_req, responses[0]);
                responses++;
                response_count--;
                return;
        }
        fflush(stdout);
        sasl_req = NULL;
        loop_exit();
}

/* read_password - one line from stdin, newline stripped */
static char *read_password(void)
{
        char line[2048];
        size_t n;

        if (fgets(line, sizeof(line), stdin) == NULL)
                line[0] = '\0';
        n = strlen(line);
        if (n > 0 && line[n - 1] == '\n')
                line[--n] = '\0';
        return xstrdup(line);
}

static int has_flag(int argc, char **argv, const char *flag)
{
        for (int i = 0; i < argc; i++)
                if (strcmp(argv[i], flag) == 0)
                        return 1;
        return 0;
}

static void list_one(const char *ip, const char *user, long long expires,
                     void *ctx)
{
        printf("%s %s %lld\n", ip, user, expires);
}

/* run_sync - the blocking client */
static int run_sync(const char *path, int argc, char **argv)
{
        struct authc_user *u = NULL;
        struct authc_sync *s;
        struct status st;
        const char *cmd = argv[0];
        int ret = -1;

        if ((s = authc_sync_open(path, 10000, &st)) == NULL) {
                printf("TEMPFAIL %s\n", st.text);
                return EX_TEMPFAIL;
        }
        if (strcmp(cmd, "verify") == 0 && argc >= 4) {
                struct authc_login l = { argv[2], argv[3], "127.0.0.1",
                                         has_flag(argc, argv, "--secured"),
                                         has_flag(argc, argv, "--token") };
                enum authc_fail fail = AUTHC_FAIL_AUTH;
                char *pw = read_password();

                ret = authc_sync_verify(s, &l, argv[1], pw, &u, &fail, &st);
                free(pw);
                if (ret == 0)
                        printf("FAIL %s %s\n", fail_name(fail), st.text);
        } else if (strcmp(cmd, "lookup") == 0 && argc >= 2) {
                ret = authc_sync_lookup(s, argv[1], &u, &st);
        } else if (strcmp(cmd, "redeem") == 0 && argc >= 2) {
                ret = authc_sync_redeem(s, argv[1], &u, &st);
        } else if (strcmp(cmd, "pbs-grant") == 0 && argc >= 3) {
                ret = authc_sync_pbs_grant(s, argv[1], argv[2], &st) == 0 ?
                      2 : -1;
        } else if (strcmp(cmd, "pbs-check") == 0 && argc >= 2) {
                char *user = NULL;
                long long exp = 0;

                ret = authc_sync_pbs_check(s, argv[1], &user, &exp, &st);
                if (ret == 1)
                        printf("OK user=%s expires=%lld\n", user, exp);
                free(user);
                if (ret == 1)
                        ret = 3;
        } else if (strcmp(cmd, "pbs-list") == 0) {
                long n = authc_sync_pbs_list(s, list_one, NULL, &st);

                ret = n < 0 ? -1 : 3;
        } else if (strcmp(cmd, "mechs") == 0 && argc >= 3) {
                char *mechs = NULL;

                ret = authc_sync_mechs(s, argv[1], atoi(argv[2]), &mechs,
                                       &st);
                if (ret == 0)
                        printf("OK mechs=%s\n", mechs);
                free(mechs);
                ret = ret == 0 ? 3 : -1;
        } else {
                usage();
        }
        authc_sync_close(&s);
        switch (ret) {
        case 1:
                print_user(u);
                authc_user_free(&u);
                return 0;
        case 2:
                printf("OK\n");
                return 0;
        case 3:
                return 0;
        case 0:
                if (strcmp(cmd, "verify") != 0)
                        printf("NOTFOUND\n");
                return 1;
        default:
                printf("TEMPFAIL %s\n", st.text);
                return EX_TEMPFAIL;
        }
}

/* --- bench-pbs: checks per second, pipelined over several connections */

struct bench {
        struct authc **clients;
        int conns;
        long left;              /* checks still to start */
        long running;
        long yes;
};

static struct bench bench;

static void bench_start(int c);

static void bench_done(const struct authc_reply *r, void *ctx)
{
        int c = (int)(long)ctx;

        if (r->result == AUTHC_OK)
                bench.yes++;
        else if (r->result == AUTHC_TEMPFAIL)
                fprintf(stderr, "TEMPFAIL %s\n", r->reason);
        bench.running--;
        if (bench.left > 0)
                bench_start(c);
        else if (bench.running == 0)
                loop_exit();
}

static void bench_start(int c)
{
        static const char *const ips[] = { "192.0.2.1", "192.0.2.2" };

        bench.left--;
        bench.running++;
        authc_pbs_check(bench.clients[c], ips[bench.left & 1], bench_done,
                        (void *)(long)c);
}

static int run_bench(const char *path, long count, int conns, int depth)
{
        long long t0, t1;

        bench.clients = xcalloc((size_t)conns, sizeof(*bench.clients));
        bench.conns = conns;
        bench.left = count;
        for (int c = 0; c < conns; c++)
                bench.clients[c] = authc_new(path);
        t0 = loop_now_ms();
        for (int c = 0; c < conns; c++)
                for (int i = 0; i < depth && bench.left > 0; i++)
                        bench_start(c);
        loop_run();
        t1 = loop_now_ms();
        printf("pbs checks: %ld in %.3f s over %d connections, %d deep: "
               "%.0f/s (%ld yes)\n", count, (double)(t1 - t0) / 1000.0,
               conns, depth,
               t1 > t0 ? (double)count * 1000.0 / (double)(t1 - t0) : 0.0,
               bench.yes);
        for (int c = 0; c < conns; c++)
                authc_free(&bench.clients[c]);
        free(bench.clients);
        return 0;
}

/* run_log - a line through the log_auth builders */
static int run_log(int argc, char **argv)
{
        if (argc >= 6 && strcmp(argv[2], "sasl-failed") == 0) {
                log_open(argv[1], "smtpd", LOG_TO_FILE, argv[0]);
                log_auth_sasl_failed("unknown", argv[3], argv[4],
                                     "authentication failure", argv[5]);
                return 0;
        }
        if (argc >= 8 && strcmp(argv[2], "login-failed") == 0) {
                char daemon[32];

                snprintf(daemon, sizeof(daemon), "%sd", argv[3]);
                log_open(argv[1], daemon, LOG_TO_FILE, argv[0]);
                log_auth_login_failed(argv[3], argv[4], argv[5], argv[6],
                                      argv[7], 1, 2, 0);
                return 0;
        }
        usage();
        return EX_USAGE;
}

int main(int argc, char **argv)
{
        const char *path = NULL;
        int sync = 0;
        int i = 1;
        const char *cmd;

        log_open("yubin", "authc_tool", LOG_TO_STDERR, NULL);
        if (argc >= 2 && strcmp(argv[1], "log") == 0)
                return run_log(argc - 2, argv + 2);
        for (; i < argc; i++) {
                if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
                        path = argv[++i];
                else if (strcmp(argv[i], "--sync") == 0)
                        sync = 1;
                else
                        break;
        }
        if (path == NULL || i >= argc)
                usage();
        argc -= i;
        argv += i;
        cmd = argv[0];
        if (sync)
                return run_sync(path, argc, argv);
        loop_init();
        if (strcmp(cmd, "bench-pbs") == 0 && argc >= 4)
                return run_bench(path, atol(argv[1]), atoi(argv[2]),
                                 atoi(argv[3]));

        struct authc *a = authc_new(path);
        char *pw = NULL;

        if (strcmp(cmd, "verify") == 0 && argc >= 4) {
                struct authc_login l = { argv[2], argv[3], "127.0.0.1",
                                         has_flag(argc, argv, "--secured"),
                                         has_flag(argc, argv, "--token") };

                pw = read_password();
                authc_verify(a, &l, argv[1], pw, on_reply, NULL);
        } else if (strcmp(cmd, "lookup") == 0 && argc >= 2) {
                authc_lookup(a, argv[1], on_reply, NULL);
        } else if (strcmp(cmd, "redeem") == 0 && argc >= 2) {
                authc_redeem(a, argv[1], on_reply, NULL);
        } else if (strcmp(cmd, "pbs-grant") == 0 && argc >= 3) {
                authc_pbs_grant(a, argv[1], argv[2], on_reply, NULL);
        } else if (strcmp(cmd, "pbs-check") == 0 && argc >= 2) {
                authc_pbs_check(a, argv[1], on_reply, NULL);
        } else if (strcmp(cmd, "mechs") == 0 && argc >= 3) {
                authc_mechs(a, argv[1], atoi(argv[2]), on_reply, NULL);
        } else if (strcmp(cmd, "sasl") == 0 && argc >= 5) {
                struct authc_login l = { argv[2], argv[3], "127.0.0.1",
                                         atoi(argv[4]), 0 };
                const char *initial = NULL;
                int j = 5;

                for (; j < argc; j++) {
                        if (strcmp(argv[j], "--token") == 0)
                                l.want_token = 1;
                        else if (strcmp(argv[j], "--ir") == 0 && j + 1 < argc)
                                initial = argv[++j];
                        else if (strcmp(argv[j], "--ir-empty") == 0)
                                initial = "";
                        else
                                break;
                }
                responses = argv + j;
                response_count = argc - j;
                sasl_req = authc_sasl_start(a, &l, argv[1], initial,
                                            on_reply, NULL);
        } else {
                usage();
        }
        loop_run();
        if (pw != NULL) {
                explicit_bzero(pw, strlen(pw));
                free(pw);
        }
        authc_free(&a);
        return exit_code;
}
