/* queue_ctl_test.c - control requests to qmgr: requests and answers
 * parsed whole and cut short, formatted and parsed back, and the client
 * against a fake qmgr socket (answered, wrong sequence number ignored,
 * nobody there, no answer in time) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mem.h"
#include "queue_ctl.h"
#include "queue_file.h"

#define ID "4bW7Lj26FMz1R0ZS"

static const struct {
        const char *name;
        const char *input;
        int ok;
        enum queue_ctl_cmd cmd;
        const char *arg;
        unsigned long seq;
} req_cases[] = {
        { "flush", "QUEUE 1 7 flush ALL", 1, QUEUE_CTL_FLUSH, "ALL", 7 },
        { "site", "QUEUE 1 42 flush-site a.example", 1,
          QUEUE_CTL_FLUSH_SITE, "a.example", 42 },
        { "flush id", "QUEUE 1 0 flush-id " ID, 1, QUEUE_CTL_FLUSH_ID, ID,
          0 },
        { "delete", "QUEUE 1 9999999999 delete " ID, 1, QUEUE_CTL_DELETE,
          ID, 9999999999UL },
        { "hold", "QUEUE 1 3 hold " ID, 1, QUEUE_CTL_HOLD, ID, 3 },
        { "release", "QUEUE 1 3 release " ID, 1, QUEUE_CTL_RELEASE, ID, 3 },
        { "requeue", "QUEUE 1 3 requeue " ID, 1, QUEUE_CTL_REQUEUE, ID, 3 },
        { "wake-up", "n", 0, 0, NULL, 0 },
        { "version", "QUEUE 2 3 hold " ID, 0, 0, NULL, 0 },
        { "seq too long", "QUEUE 1 12345678901 hold " ID, 0, 0, NULL, 0 },
        { "seq sign", "QUEUE 1 +3 hold " ID, 0, 0, NULL, 0 },
        { "no seq", "QUEUE 1  hold " ID, 0, 0, NULL, 0 },
        { "unknown", "QUEUE 1 3 explode " ID, 0, 0, NULL, 0 },
        { "bad id", "QUEUE 1 3 hold ../etc/passwd", 0, 0, NULL, 0 },
        { "site as id", "QUEUE 1 3 hold a.example", 0, 0, NULL, 0 },
        { "flush not ALL", "QUEUE 1 3 flush all", 0, 0, NULL, 0 },
        { "bad site", "QUEUE 1 3 flush-site a..example", 0, 0, NULL, 0 },
        { "site space", "QUEUE 1 3 flush-site a.example b", 0, 0, NULL, 0 },
        { "no arg", "QUEUE 1 3 hold", 0, 0, NULL, 0 },
        { "trailing space", "QUEUE 1 3 hold " ID " ", 0, 0, NULL, 0 },
        { "newline", "QUEUE 1 3 hold " ID "\n", 0, 0, NULL, 0 },
        { "control", "QUEUE 1 3 flush-site a\001b", 0, 0, NULL, 0 },
        { "empty", "", 0, 0, NULL, 0 },
};

static void test_req_parse(void **state)
{
        for (size_t i = 0; i < sizeof(req_cases) / sizeof(*req_cases); i++) {
                struct queue_ctl_req req;
                const char *error = NULL;
                const char *in = req_cases[i].input;
                int r = queue_ctl_req_parse(in, strlen(in), &req, &error);

                if ((r == 0) != req_cases[i].ok)
                        fail_msg("case %s: got %d (%s), want %s",
                                 req_cases[i].name, r, error ? error : "",
                                 req_cases[i].ok ? "ok" : "an error");
                if (r < 0) {
                        assert_non_null(error);
                        continue;
                }
                if (req.cmd != req_cases[i].cmd ||
                    strcmp(req.arg, req_cases[i].arg) != 0 ||
                    req.seq != req_cases[i].seq)
                        fail_msg("case %s: got %s %s %lu, want %s %s %lu",
                                 req_cases[i].name,
                                 queue_ctl_cmd_name(req.cmd), req.arg,
                                 req.seq, queue_ctl_cmd_name(
                                 req_cases[i].cmd), req_cases[i].arg,
                                 req_cases[i].seq);
        }
}

/* every datagram cut short is refused, or is another request */
static void test_req_prefixes(void **state)
{
        for (size_t i = 0; i < sizeof(req_cases) / sizeof(*req_cases); i++) {
                const char *in = req_cases[i].input;

                if (!req_cases[i].ok)
                        continue;
                for (size_t len = 0; len < strlen(in); len++) {
                        struct queue_ctl_req req;
                        const char *error;
                        char *cut = xstrndup(in, len);

                        if (queue_ctl_req_parse(cut, len, &req, &error) == 0 &&
                            req.cmd == req_cases[i].cmd &&
                            strcmp(req.arg, req_cases[i].arg) == 0 &&
                            req.seq == req_cases[i].seq)
                                fail_msg("case %s cut at %zu: got the whole "
                                         "request", req_cases[i].name, len);
                        free(cut);
                }
        }
}

static void test_req_round_trip(void **state)
{
        static const struct {
                enum queue_ctl_cmd cmd;
                const char *arg;
                int ok;
        } cases[] = {
                { QUEUE_CTL_FLUSH, "ALL", 1 },
                { QUEUE_CTL_FLUSH_SITE, "mx-1.Example.ORG", 1 },
                { QUEUE_CTL_HOLD, ID, 1 },
                { QUEUE_CTL_HOLD, "a b", 0 },
                { QUEUE_CTL_FLUSH_SITE, "a b", 0 },
                { QUEUE_CTL_FLUSH, ID, 0 },
        };
        char out[QUEUE_CTL_DATAGRAM_MAX];

        for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
                struct queue_ctl_req req, back;
                const char *error;
                size_t n;

                memset(&req, 0, sizeof(req));
                req.seq = 100 + i;
                req.cmd = cases[i].cmd;
                snprintf(req.arg, sizeof(req.arg), "%s", cases[i].arg);
                n = queue_ctl_req_format(&req, out, sizeof(out));
                if ((n > 0) != cases[i].ok)
                        fail_msg("case %s %s: got length %zu, want %s",
                                 queue_ctl_cmd_name(cases[i].cmd),
                                 cases[i].arg, n, cases[i].ok ? "> 0" : "0");
                if (n == 0)
                        continue;
                assert_int_equal(strlen(out), n);
                assert_int_equal(queue_ctl_req_parse(out, n, &back, &error),
                                 0);
                assert_int_equal(back.cmd, req.cmd);
                assert_int_equal(back.seq, req.seq);
                assert_string_equal(back.arg, req.arg);
        }
        /* too small a buffer is no datagram */
        {
                struct queue_ctl_req req = { 1, QUEUE_CTL_HOLD, ID };

                assert_int_equal(queue_ctl_req_format(&req, out, 10), 0);
        }
}

static void test_reply(void **state)
{
        static const struct {
                const char *name;
                const char *input;
                int ok;
                enum queue_ctl_result result;
                unsigned long count;
                const char *code, *text;
        } cases[] = {
                { "ok", "QUEUE 1 5 ok 3", 1, QUEUE_CTL_OK, 3, "2.0.0", "" },
                { "skip", "QUEUE 1 5 skip already on hold", 1,
                  QUEUE_CTL_SKIP, 0, "2.0.0", "already on hold" },
                { "error", "QUEUE 1 5 error 5.0.0 " ID ": no such message",
                  1, QUEUE_CTL_ERROR, 0, "5.0.0", ID ": no such message" },
                { "error 4", "QUEUE 1 5 error 4.3.0 rename a b: No space",
                  1, QUEUE_CTL_ERROR, 0, "4.3.0", "rename a b: No space" },
                { "ok words", "QUEUE 1 5 ok 3 more", 0, 0, 0, NULL, NULL },
                { "ok none", "QUEUE 1 5 ok", 0, 0, 0, NULL, NULL },
                { "skip none", "QUEUE 1 5 skip", 0, 0, 0, NULL, NULL },
                { "error code", "QUEUE 1 5 error 2.0.0 fine", 0, 0, 0, NULL,
                  NULL },
                { "error short", "QUEUE 1 5 error 5.0 x", 0, 0, 0, NULL,
                  NULL },
                { "error no text", "QUEUE 1 5 error 5.0.0", 0, 0, 0, NULL,
                  NULL },
                { "what", "QUEUE 1 5 maybe 1", 0, 0, 0, NULL, NULL },
                { "version", "QUEUE 9 5 ok 1", 0, 0, 0, NULL, NULL },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
                struct queue_ctl_reply rep;
                const char *in = cases[i].input;
                int r = queue_ctl_reply_parse(in, strlen(in), &rep);

                if ((r == 0) != cases[i].ok)
                        fail_msg("case %s: got %d, want %s", cases[i].name,
                                 r, cases[i].ok ? "ok" : "an error");
                if (r < 0)
                        continue;
                if (rep.result != cases[i].result ||
                    rep.count != cases[i].count || rep.seq != 5 ||
                    strcmp(rep.st.code, cases[i].code) != 0 ||
                    strcmp(rep.st.text, cases[i].text) != 0)
                        fail_msg("case %s: got %d %lu %s \"%s\"",
                                 cases[i].name, rep.result, rep.count,
                                 rep.st.code, rep.st.text);
                /* and back again, the same datagram */
                {
                        char out[QUEUE_CTL_DATAGRAM_MAX];
                        size_t n = queue_ctl_reply_format(&rep, out,
                                                          sizeof(out));

                        if (n != strlen(in) || memcmp(out, in, n) != 0)
                                fail_msg("case %s: formatted \"%s\"",
                                         cases[i].name, out);
                }
        }
        /* a text with a line end is sent without it */
        {
                struct queue_ctl_reply rep;
                char out[64];

                memset(&rep, 0, sizeof(rep));
                rep.result = QUEUE_CTL_ERROR;
                status_set(&rep.st, STATUS_LOCAL_IO, "bad\nthing");
                queue_ctl_reply_format(&rep, out, sizeof(out));
                assert_string_equal(out, "QUEUE 1 0 error 4.3.0 bad?thing");
                assert_int_equal(queue_ctl_reply_format(&rep, out, 12), 11);
        }
}

/* fake_qmgr - a child bound at queue/private/qmgr that answers the first
 * request with each of answers in turn (%lu: the request's seq) */
static pid_t fake_qmgr(const char *queue, const char *const *answers,
                       size_t n)
{
        struct sockaddr_un sun;
        int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
        pid_t pid;

        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", queue,
                 QUEUE_NOTIFY_SOCKET);
        unlink(sun.sun_path);
        assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char buf[QUEUE_CTL_DATAGRAM_MAX];
                struct sockaddr_un from;
                socklen_t fromlen = sizeof(from);
                struct queue_ctl_req req;
                const char *error;
                ssize_t got = recvfrom(fd, buf, sizeof(buf), 0,
                                       (struct sockaddr *)&from, &fromlen);

                if (got < 0 || queue_ctl_req_parse(buf, (size_t)got, &req,
                                                   &error) < 0)
                        _exit(2);
                for (size_t i = 0; i < n; i++) {
                        char out[QUEUE_CTL_DATAGRAM_MAX];
                        int len = snprintf(out, sizeof(out), answers[i],
                                           req.seq);

                        sendto(fd, out, (size_t)len, 0,
                               (struct sockaddr *)&from, fromlen);
                }
                _exit(0);
        }
        close(fd);
        return pid;
}

static void test_call(void **state)
{
        char tmpl[] = "/tmp/queue_ctl_test.XXXXXX";
        char *dir = mkdtemp(tmpl);
        struct queue_ctl_req req = { 77, QUEUE_CTL_HOLD, ID };
        struct queue_ctl_reply rep;
        struct status st;
        int wstatus;
        pid_t pid;

        assert_non_null(dir);
        /* no queue, no socket: qmgr is not running */
        assert_int_equal(queue_ctl_call(dir, &req, 1000, &rep, &st), 0);
        assert_int_equal(queue_dirs_make(dir, (uid_t)-1, (gid_t)-1, &st), 0);
        assert_int_equal(queue_ctl_call(dir, &req, 1000, &rep, &st), 0);
        {
                /* an answer to an older request is passed over */
                static const char *const answers[] = {
                        "QUEUE 1 1 skip stale",
                        "QUEUE 1 %lu ok 1",
                };

                pid = fake_qmgr(dir, answers, 2);
                assert_int_equal(queue_ctl_call(dir, &req, 5000, &rep, &st),
                                 1);
                assert_int_equal(rep.result, QUEUE_CTL_OK);
                assert_int_equal(rep.count, 1);
                assert_int_equal(waitpid(pid, &wstatus, 0), pid);
                assert_int_equal(WEXITSTATUS(wstatus), 0);
        }
        {
                /* a socket left behind with nobody bound: not running */
                assert_int_equal(queue_ctl_call(dir, &req, 1000, &rep, &st),
                                 0);
        }
        {
                /* a qmgr that never answers */
                static const char *const none[] = { NULL };

                pid = fake_qmgr(dir, none, 0);
                assert_int_equal(queue_ctl_call(dir, &req, 300, &rep, &st),
                                 -1);
                assert_int_equal(status_class(&st), 4);
                assert_non_null(strstr(st.text, "did not answer"));
                waitpid(pid, &wstatus, 0);
        }
        {
                /* a malformed answer */
                static const char *const bad[] = { "QUEUE 1 %lu ok x" };

                pid = fake_qmgr(dir, bad, 1);
                assert_int_equal(queue_ctl_call(dir, &req, 5000, &rep, &st),
                                 -1);
                assert_non_null(strstr(st.text, "malformed"));
                waitpid(pid, &wstatus, 0);
        }
        /* a request that cannot be formatted is not sent */
        snprintf(req.arg, sizeof(req.arg), "not an id");
        assert_int_equal(queue_ctl_call(dir, &req, 1000, &rep, &st), -1);
        {
                char *cmd = xasprintf("rm -rf '%s'", dir);

                assert_int_equal(system(cmd), 0);
                free(cmd);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_req_parse),
                cmocka_unit_test(test_req_prefixes),
                cmocka_unit_test(test_req_round_trip),
                cmocka_unit_test(test_reply),
                cmocka_unit_test(test_call),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
