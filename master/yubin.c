/* yubin.c - the supervisor: yubin -c DIR start|start-fg|stop|reload|status|check
 * Runs as root when installed: binds the ports master.cf names, starts
 * every daemon (which drop to mail_owner themselves), restarts those that
 * die, re-reads the configuration on SIGHUP (reload) without closing
 * listeners, and on SIGTERM stops every child and waits for it. Parses no
 * network input. Touches main.cf, master.cf, data_directory/master.pid and
 * creates queue_directory and data_directory. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"
#include "loop.h"
#include "master.h"
#include "mem.h"
#include "priv.h"

#ifndef DEF_CONFIG_DIRECTORY
#define DEF_CONFIG_DIRECTORY "/etc/yubin"
#endif

#define STOP_GRACE_MS 10000     /* then SIGKILL what is left */
#define STOP_WAIT_MS 30000      /* yubin stop waits this long */

static struct {
        const char *config_dir;
        struct master_conf *conf;
        int gen;
        int foreground;
        int verbose;
        int stopping;
        struct loop_timer *kill_timer;
} sup;

static void usage(void)
{
        fprintf(stderr,
                "usage: yubin [-v] [-c config_dir] command\n"
                "commands:\n"
                "  start     check the configuration, then run in the background\n"
                "  start-fg  run in the foreground, logging to stderr\n"
                "  stop      stop a running instance and wait for it\n"
                "  reload    re-read the configuration (SIGHUP)\n"
                "  status    say whether an instance is running\n"
                "  check     report every configuration and permission problem\n");
        exit(EX_USAGE);
}

/* open_log - log as syslog_name/master per main.cf; also to stderr
 * while `start` still has the terminal (with_stderr) */
static void open_log(struct cfg *cfg, int with_stderr)
{
        const char *file = cfg_get(cfg, "maillog_file");
        int dests = with_stderr ? LOG_TO_STDERR : 0;

        if (*file != '\0')
                dests |= LOG_TO_FILE;
        else if (!sup.foreground)
                dests |= LOG_TO_SYSLOG;
        if (sup.foreground)
                dests |= LOG_TO_STDERR;
        log_open(cfg_get(cfg, "syslog_name"), "master", dests, file);
}

static void reap(int signo, void *ctx)
{
        int wstatus;
        pid_t pid;

        while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0)
                if (!master_spawn_reaped(pid, wstatus))
                        master_proc_reaped(pid, wstatus);
        if (sup.stopping && master_proc_count() + master_spawn_count() == 0)
                loop_exit();
}

static void kill_stragglers(void *ctx)
{
        log_warn("children still running after %d s; killing them",
                 STOP_GRACE_MS / 1000);
        master_proc_signal_all(SIGKILL);
        master_spawn_signal_all(SIGKILL);
}

static void stop(int signo, void *ctx)
{
        if (sup.stopping)
                return;
        sup.stopping = 1;
        log_info("terminating on signal %d", signo);
        master_proc_set_current(NULL, 0, sup.foreground, sup.verbose);
        master_session_set_current(NULL, sup.foreground, sup.verbose);
        master_proc_signal_all(SIGTERM);
        master_spawn_signal_all(SIGTERM);
        if (master_proc_count() + master_spawn_count() == 0) {
                loop_exit();
                return;
        }
        sup.kill_timer = loop_timer_new(kill_stragglers, NULL);
        loop_timer_start(sup.kill_timer, STOP_GRACE_MS);
}

static void reload(int signo, void *ctx)
{
        struct master_conf *conf;

        if (sup.stopping)
                return;
        log_info("reload -- configuration %s", sup.config_dir);
        conf = master_conf_load(sup.config_dir, 1);
        if (conf != NULL && master_check_tls(conf->cfg) > 0)
                master_conf_free(&conf);
        if (conf == NULL) {
                log_error("reload failed; still running the old configuration");
                return;
        }
        if (master_listen_all(conf, sup.conf) < 0) {
                log_error("reload failed; still running the old configuration");
                master_conf_free(&conf);
                return;
        }
        open_log(conf->cfg, 0);
        master_proc_retire(sup.conf);
        master_conf_free(&sup.conf);
        sup.conf = conf;
        sup.gen++;
        master_proc_set_current(conf, sup.gen, sup.foreground, sup.verbose);
        master_session_set_current(conf, sup.foreground, sup.verbose);
        master_proc_start_all(conf, sup.gen);
}

static void reopen_logs(int signo, void *ctx)
{
        log_reopen();
        master_proc_signal_all(SIGUSR2);
}

/* daemonize - detach; the parent exits once the child holds the pid
 * lock, so `yubin start; yubin status` never races */
static void daemonize(void)
{
        int ready[2];
        char c;

        if (pipe2(ready, O_CLOEXEC) < 0)
                log_fatal("pipe: %m");
        pid_t pid = fork();
        if (pid < 0)
                log_fatal("fork: %m");
        if (pid > 0) {
                close(ready[1]);
                ssize_t n = read(ready[0], &c, 1);
                _exit(n == 1 && c == 'y' ? 0 : 1);
        }
        close(ready[0]);
        setsid();
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
                dup2(null, STDIN_FILENO);
                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
                if (null > STDERR_FILENO)
                        close(null);
        }
        /* keep ready[1]: written by run() once the pid file is ours */
        sup.kill_timer = NULL;
        fcntl(ready[1], F_SETFD, FD_CLOEXEC);
        if (dup2(ready[1], 9) < 0)
                _exit(1);
        close(ready[1]);
}

static int run(void)
{
        pid_t other;
        int r;

        if (priv_is_root()) {
                struct priv mail;
                struct status st;

                if (priv_lookup("mail_owner", cfg_get(sup.conf->cfg,
                                                      "mail_owner"),
                                &mail, &st) < 0) {
                        log_error("%s", st.text);
                        return EX_CONFIG;
                }
                log_set_file_owner(mail.uid, mail.gid);
        }
        open_log(sup.conf->cfg, 1);
        if (master_check_tls(sup.conf->cfg) > 0)
                return EX_CONFIG;
        if (master_dirs(sup.conf->cfg) < 0)
                return EX_CANTCREAT;
        r = master_pid_lock(sup.conf->cfg, &other);
        if (r == 1) {
                log_error("the Yubin mail system is already running (pid %ld)",
                          (long)other);
                return 1;
        }
        if (r < 0)
                return EX_CANTCREAT;
        if (master_listen_all(sup.conf, NULL) < 0) {
                master_pid_remove();
                return 1;
        }
        if (!sup.foreground) {
                daemonize();
                /* the lock is held by this (child) process's descriptor */
                open_log(sup.conf->cfg, 0);
        }
        master_pid_write();
        if (!sup.foreground) {
                if (write(9, "y", 1) != 1)
                        log_warn("cannot tell the parent that start is done");
                close(9);
        }

        loop_init();
        signal(SIGPIPE, SIG_IGN);
        loop_signal_new(SIGCHLD, reap, NULL);
        loop_signal_new(SIGTERM, stop, NULL);
        loop_signal_new(SIGINT, stop, NULL);
        loop_signal_new(SIGHUP, reload, NULL);
        loop_signal_new(SIGUSR2, reopen_logs, NULL);
        log_info("daemon started -- version %s, configuration %s",
                 YUBIN_VERSION, sup.config_dir);
        if (master_session_open(sup.conf) < 0) {
                master_pid_remove();
                return 1;
        }
        sup.gen = 1;
        master_proc_set_current(sup.conf, sup.gen, sup.foreground,
                                sup.verbose);
        master_session_set_current(sup.conf, sup.foreground, sup.verbose);
        master_proc_start_all(sup.conf, sup.gen);
        loop_run();
        master_session_close();
        loop_timer_free(&sup.kill_timer);
        master_conf_free(&sup.conf);
        log_info("stopped");
        master_pid_remove();
        return 0;
}

static struct cfg *load_cfg_only(void)
{
        struct cfg *cfg = cfg_new(sup.config_dir);
        char *main_cf = xasprintf("%s/main.cf", sup.config_dir);

        cfg_read_main(cfg, main_cf);
        cfg_check(cfg);
        free(main_cf);
        return cfg;
}

static int cmd_signal(const char *what, int signo)
{
        struct cfg *cfg = load_cfg_only();
        pid_t pid = master_pid_running(cfg);

        if (pid == 0) {
                log_error("the Yubin mail system is not running");
                cfg_free(&cfg);
                return 1;
        }
        if (kill(pid, signo) < 0) {
                log_error("%s: signal pid %ld: %m", what, (long)pid);
                cfg_free(&cfg);
                return 1;
        }
        if (signo == SIGTERM) {
                /* the lock goes when the supervisor closes its pid file,
                 * just before it exits: wait for both */
                for (int waited = 0; waited < STOP_WAIT_MS; waited += 50) {
                        if (master_pid_running(cfg) == 0 &&
                            (kill(pid, 0) < 0 || waited >= STOP_WAIT_MS / 2))
                                break;
                        usleep(50 * 1000);
                }
                if (master_pid_running(cfg) != 0) {
                        log_error("stop: pid %ld is still running", (long)pid);
                        cfg_free(&cfg);
                        return 1;
                }
        }
        log_info("%s: signalled pid %ld", what, (long)pid);
        cfg_free(&cfg);
        return 0;
}

static int cmd_status(void)
{
        struct cfg *cfg = load_cfg_only();
        pid_t pid = master_pid_running(cfg);

        if (pid != 0)
                printf("yubin: the Yubin mail system is running: PID: %ld\n",
                       (long)pid);
        else
                printf("yubin: the Yubin mail system is not running\n");
        cfg_free(&cfg);
        return pid != 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
        const char *cmd;
        int c;

        sup.config_dir = DEF_CONFIG_DIRECTORY;
        log_open("yubin", "master", LOG_TO_STDERR, NULL);
        while ((c = getopt(argc, argv, "c:v")) != -1) {
                switch (c) {
                case 'c':
                        sup.config_dir = optarg;
                        break;
                case 'v':
                        sup.verbose++;
                        break;
                default:
                        usage();
                }
        }
        if (optind + 1 != argc)
                usage();
        cmd = argv[optind];
        log_set_verbose(sup.verbose);
        umask(022);

        if (strcmp(cmd, "check") == 0) {
                int errors = master_check(sup.config_dir);
                if (errors > 0)
                        fprintf(stderr, "yubin: %d problem%s found\n", errors,
                                errors == 1 ? "" : "s");
                return errors > 0 ? 1 : 0;
        }
        if (strcmp(cmd, "stop") == 0)
                return cmd_signal("stop", SIGTERM);
        if (strcmp(cmd, "reload") == 0)
                return cmd_signal("reload", SIGHUP);
        if (strcmp(cmd, "status") == 0)
                return cmd_status();
        if (strcmp(cmd, "start") != 0 && strcmp(cmd, "start-fg") != 0)
                usage();

        sup.foreground = strcmp(cmd, "start-fg") == 0;
        sup.conf = master_conf_load(sup.config_dir, 1);
        if (sup.conf == NULL) {
                log_error("fatal configuration errors; not started");
                return EX_CONFIG;
        }
        return run();
}
