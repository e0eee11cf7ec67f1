/* testd.c - a stand-in network daemon for the supervisor's tests
 * Started by yubin like any daemon (daemon.h): takes its listeners, drops
 * to mail_owner, and answers each connection with one line,
 *   "220 <smtpd_banner> testd service=<name> pid=<pid> uid=<uid>"
 * then closes it. Tests see from it that a service runs, as whom, with
 * which configuration, and that a restarted one listens again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cfg.h"
#include "daemon.h"
#include "log.h"
#include "loop.h"

static struct daemon d;
static struct loop_fd *watch[DAEMON_LISTEN_MAX];

static void on_accept(int fd, int events, void *ctx)
{
        char line[1024];
        int client = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

        if (client < 0)
                return;
        log_info("connect on service %s", d.service);
        int n = snprintf(line, sizeof(line),
                         "220 %s testd service=%s pid=%ld uid=%lu\r\n",
                         cfg_get(d.cfg, "smtpd_banner"), d.service,
                         (long)getpid(), (unsigned long)geteuid());
        if (write(client, line, (size_t)n) != n)
                log_warn("short write to client");
        close(client);
}

static void drain(struct daemon *dm, int now)
{
        for (size_t i = 0; i < dm->listen_count; i++)
                loop_fd_free(&watch[i]);
        loop_exit();
}

int main(int argc, char **argv)
{
        daemon_init(&d, "testd", argc, argv);
        daemon_drop_privileges(&d);
        loop_init();
        d.drain = drain;
        daemon_watch_signals(&d);
        for (size_t i = 0; i < d.listen_count; i++)
                watch[i] = loop_fd_new(d.listen_fds[i], LOOP_READ, on_accept,
                                       NULL);
        log_info("testd ready: service %s, %zu listener%s", d.service,
                 d.listen_count, d.listen_count == 1 ? "" : "s");
        loop_run();
        cfg_free(&d.cfg);
        return 0;
}
