/* master.h - the supervisor's pieces
 * yubin binds the listeners named by master.cf, starts every daemon with
 * its sockets, restarts those that die, reloads on SIGHUP and stops them
 * all on SIGTERM. Runs as root when installed; parses no network input. */
#ifndef YUBIN_MASTER_H
#define YUBIN_MASTER_H

#include <stddef.h>
#include <sys/types.h>

#include "authc.h"
#include "buf.h"
#include "cfg.h"
#include "login_proto.h"
#include "mastercf.h"

struct loop_timer;

/* One listening address of a service, e.g. 127.0.0.1 port 2525. */
struct master_listener {
        char *key;              /* "host|port", for reuse across reloads */
        int fd;
};

/* One program the supervisor keeps running. */
struct master_service {
        char *name;             /* master.cf service, or the internal name */
        char *program;          /* program name in daemon_directory */
        char *path;             /* daemon_directory/program */
        char *type;             /* inet or unix */
        char **argv;            /* NULL-terminated, for execv() */
        char *host, *port;      /* inet: what master.cf asked for */
        struct master_listener *listeners;
        size_t listener_count;
        char *where;            /* "master.cf:12" or "internal" */

        pid_t pid;              /* 0 when not running */
        long long started_ms;
        long long backoff_ms;   /* delay before the next restart */
        struct loop_timer *restart;
        int generation;
};

/* The whole configuration the supervisor runs from. */
struct master_conf {
        struct cfg *cfg;
        char *main_cf;          /* path, for messages */
        struct buf main_text;   /* main.cf as read at load time */
        int main_fd;            /* the same text in a sealed memfd that
                                 * every daemon of this generation reads,
                                 * so an edit takes effect only at reload */
        struct master_service *services;
        size_t count;
};

/* master_conf_load - read main.cf and master.cf from config_dir and build
 * the service list: master.cf's inet services whose program Yubin has,
 * plus the internal services. Problems are logged (errors with file:line);
 * returns a new conf (free with master_conf_free()), or NULL if any error
 * means nothing may start. warn = 0 keeps warnings quiet (on reload
 * repeats they were already shown at start). */
struct master_conf *master_conf_load(const char *config_dir, int warn);
void master_conf_free(struct master_conf **cp);

/* master_listen_all - bind every inet listener of conf, sharing old's open
 * sockets (may be NULL) where address and port match. 0, or -1 after
 * logging the first failure, with nothing new left open. */
int master_listen_all(struct master_conf *conf, struct master_conf *old);

/* master_proc_start_all - start every service of conf (generation gen) */
void master_proc_start_all(struct master_conf *conf, int gen);
/* master_proc_reaped - a child exited; restart it if it is current */
void master_proc_reaped(pid_t pid, int wstatus);
/* master_proc_retire - old services: tell them to finish and exit
 * (SIGUSR1); they are waited for but not restarted */
void master_proc_retire(struct master_conf *old);
/* master_proc_signal_all - send signo to every child, current or retiring */
void master_proc_signal_all(int signo);
/* master_proc_count - how many children are alive */
size_t master_proc_count(void);
/* master_proc_set_current - which conf and generation restarts use */
void master_proc_set_current(struct master_conf *conf, int gen,
                             int foreground, int verbose);

/* master_session_open - listen on $data_directory/login.socket for the
 * login front ends' LOGIN requests and start the per-user sessions they
 * ask for (master_session.c); after loop_init(). 0, or -1 (logged). */
int master_session_open(struct master_conf *conf);
/* master_session_set_current - the conf new sessions are started from */
void master_session_set_current(struct master_conf *conf, int foreground,
                                int verbose);
/* master_session_close - stop listening, drop pending requests */
void master_session_close(void);

/* What it takes to start one session (master_spawn.c). Borrowed. */
struct master_spawn {
        const struct master_conf *conf;
        const struct master_service *service;   /* the front end's */
        const char *program;            /* session program: "pop3" */
        struct login_client_info info;
        const struct authc_user *user;  /* as authd redeemed the token */
        int client_fd;                  /* dup'ed into the child */
        const char *input;              /* the front end's unused input */
        size_t input_len;
        int privileged, foreground, verbose;
};
/* master_spawn_session - fork the session program as sp->user (never
 * root) and count it; returns its pid, or -1 (logged) */
pid_t master_spawn_session(const struct master_spawn *sp);
/* master_spawn_count_of - running sessions of proto, user and client
 * address rip */
size_t master_spawn_count_of(const char *proto, const char *user,
                             const char *rip);
/* master_spawn_reaped - 1 if pid was a session (now forgotten), else 0 */
int master_spawn_reaped(pid_t pid, int wstatus);
/* master_spawn_signal_all - send signo to every session */
void master_spawn_signal_all(int signo);
/* master_spawn_count - sessions alive */
size_t master_spawn_count(void);
/* master_spawn_forget_all - drop the table (at exit) */
void master_spawn_forget_all(void);

/* master_check - everything `yubin check` looks at; logs each problem and
 * returns how many errors were found */
int master_check(const char *config_dir);

/* master_check_tls - build the TLS server contexts main.cf describes, so
 * that an unreadable certificate or a key that does not match it stops a
 * start; returns the number of errors, each logged */
int master_check_tls(struct cfg *cfg);

/* master_dirs - create queue_directory and data_directory with the right
 * owner and mode; 0 or -1 (logged) */
int master_dirs(struct cfg *cfg);

/* master_pid_lock - take data_directory/master.pid for this process;
 * 0, 1 if another supervisor holds it (its pid in *pid_r), -1 on error */
int master_pid_lock(struct cfg *cfg, pid_t *pid_r);
/* master_pid_write - record our pid in the locked file */
void master_pid_write(void);
void master_pid_remove(void);
/* master_pid_running - the live supervisor's pid for this config, or 0 */
pid_t master_pid_running(struct cfg *cfg);

#endif
