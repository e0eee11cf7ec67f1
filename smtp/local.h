/* local.h - local delivery's shared structures
 * Used by: the local modules only (local.c main and the socket,
 * local_request.c one delivery request in a worker process, local_alias.c
 * aliases and :include:, local_forward.c .forward, local_mailbox.c
 * Maildir delivery and reading files as their owners,
 * local_command.c |command and /file targets). local runs as root when
 * Yubin does (so that it can become each mailbox's owner) and never writes
 * a message as root: every write happens in a process that has become the
 * owner (mailbox: a child of the worker, or the worker itself when that
 * Maildir is the request's only target), the alias or :include: file's
 * owner or default_privs (commands and files), or the user (.forward); the
 * one exception is root's own Maildir (see local_mailbox.c). It reads
 * requests from qmgr (mail_owner) and the queue file; it never parses
 * network input beyond finding the Delivered-To: header fields of the
 * message. */
#ifndef YUBIN_LOCAL_H
#define YUBIN_LOCAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "priv.h"
#include "status.h"

struct authc_sync;
struct authc_user;
struct cfg;
struct maps;
struct resolve;
struct queue_file;

#define LOCAL_DEPTH_MAX         20      /* nested aliases / .forward */
#define LOCAL_TARGETS_MAX       1000    /* deliveries for one recipient */
#define LOCAL_INCLUDE_MAX       (1024 * 1024)   /* :include:, .forward */
#define LOCAL_OUTPUT_MAX        1024    /* command output kept for a bounce */

/* Where a |command or /file target came from: decides whether it is
 * allowed (allow_mail_to_commands, allow_mail_to_files) and whose
 * privileges it gets. */
enum local_origin {
        LOCAL_ORIGIN_ALIAS = 1,
        LOCAL_ORIGIN_FORWARD = 2,
        LOCAL_ORIGIN_INCLUDE = 4,
};

/* What every worker inherits from the main process. */
struct local_server {
        struct cfg *cfg;
        const char *queue_dir;
        const char *data_dir;
        const char *myhostname;
        const char *home_mailbox;
        const char *shell;              /* local_command_shell or /bin/sh */
        struct resolve *resolve;        /* NULL: configuration trouble */
        struct maps *aliases;
        struct status config_st;        /* why resolve is NULL */
        int privileged;                 /* started as root */
        struct priv default_privs;
        int allow_commands;             /* LOCAL_ORIGIN_* bits */
        int allow_files;
        long long command_time_limit;   /* seconds */
        int quota_tempfail;             /* quota_full_tempfail */
        char **forward_path;
        size_t forward_count;
        int dropped;                    /* this worker became a mailbox's
                                         * owner: no further delivery */
        int pooled;                     /* a pooled worker (local_pool.c):
                                         * it runs as pool_uid:pool_gid and
                                         * writes only their Maildirs */
        uid_t pool_uid;
        gid_t pool_gid;
};

/* A system user, copied out of getpwnam's static storage. */
struct local_user {
        char *name, *home, *shell;
        uid_t uid;
        gid_t gid;
};

/* The privileges of a command or file target, and its origin. */
struct local_privs {
        enum local_origin origin;
        uid_t uid;
        gid_t gid;
        const char *user;               /* for the environment; may be "" */
        const char *home;               /* working directory; may be "" */
};

/* A virtual (userdb) recipient's record, looked up by the main process
 * over its one authd connection before forking the worker. */
struct local_prefetch {
        char *lookup;                   /* the name looked up; NULL: none,
                                         * the worker asks authd itself */
        int found;                      /* 1 user set, 0 no such user */
        struct authc_user *user;
};

/* One delivery request: a recipient of one queued message. */
struct local_msg {
        struct local_server *srv;
        struct queue_file *qf;
        const char *id;
        const char *sender;
        const char *content;            /* mapped queue file content */
        size_t len;
        size_t header_len;              /* bytes up to the blank line */
        const char *rcpt;               /* the recipient qmgr handed over */
        struct buf out;                 /* the answer being built */
        size_t targets;                 /* RESULT lines so far */
        size_t sent;                    /* ... of which "sent" */
        int no_virtual;                 /* RESOLVE_NO_VIRTUAL for rcpt */
        char **seen;                    /* targets delivered (duplicates
                                         * are dropped, as in Postfix) */
        size_t nseen;
        struct authc_sync *authd;       /* opened on first need */
        const struct local_prefetch *pre;       /* for rcpt; may be NULL */
        int in_place;                   /* the Maildir delivery under way
                                         * is the request's only target:
                                         * the worker may become the owner
                                         * itself instead of forking */
};

/* local_request.c */
/* local_request_serve - in a worker process: the request line (no LF;
 * modified) came from fd, pre (may be NULL) holds its recipient's record
 * when it is a virtual user; local_request_open, then
 * local_request_deliver; returns the exit code for the worker */
int local_request_serve(struct local_server *srv, int fd, struct buf *line,
                        const struct local_prefetch *pre);
/* local_request_open - open the queue file the request line names
 * (borrowed, not modified) read-only into *qfd_r, and for appending its
 * D mark into *mark_r (-1 when that failed: logged, qmgr marks it); both
 * are new descriptors (O_CLOEXEC), -1 on failure. 0, or -1 with st (the
 * line is malformed, or the file could not be opened). */
int local_request_open(struct local_server *srv, const struct buf *line,
                       int *qfd_r, int *mark_r, struct status *st);
/* local_request_deliver - deliver the request on line (modified), asked
 * on fd, from the queue file open on qfd (-1: open_st says why) with
 * mark_fd (may be -1) for its D mark; answers on fd. Takes fd, qfd and
 * mark_fd: all closed when it returns. 0, or EX_PROTOCOL for a malformed
 * line (no answer). */
int local_request_deliver(struct local_server *srv, int fd,
                          struct buf *line, const struct local_prefetch *pre,
                          int qfd, int mark_fd, const struct status *open_st);
/* local_result - record one target's outcome ("sent", "deferred",
 * "bounced") with its code and text */
void local_result(struct local_msg *m, const char *status, const char *code,
                  const char *target, const char *text);
/* local_result_st - the same from a status (class 4 deferred, 5 bounced) */
void local_result_st(struct local_msg *m, const struct status *st,
                     const char *target);
/* local_forward - hand addr back to qmgr as a new recipient */
void local_forward(struct local_msg *m, const char *addr);
/* local_looped - 1 when the message already has "Delivered-To: addr" */
int local_looped(const struct local_msg *m, const char *addr);

/* local_alias.c */
/* local_deliver_addr - deliver to addr (internal form), depth levels of
 * aliases deep; privs are those of the file it came from (NULL at the
 * top). Results go to m. */
void local_deliver_addr(struct local_msg *m, const char *addr, int depth,
                        const struct local_privs *privs);

/* local_deliver_targets - an alias's, :include:'s or .forward's targets
 * (addr is the address that had them; self is the user whose own name
 * means "my mailbox", or NULL) */
void local_deliver_targets(struct local_msg *m, const char *addr,
                           const char *self, char **targets, size_t n,
                           int depth, const struct local_privs *privs);
/* local_split_lines - the targets of a :include: or .forward file (new
 * array, alias_targets_free()); 0, or -1 with st */
int local_split_lines(const struct buf *text, char ***targets_r,
                      size_t *n_r, struct status *st);

/* local_forward.c */
/* local_forward_file - deliver as u's forward_path file says: 1 done
 * (results recorded), 0 when u has none */
int local_forward_file(struct local_msg *m, const char *addr,
                       const struct local_user *u, int depth);

/* local_mailbox.c */
/* local_maildir - deliver the message into the Maildir at path as
 * uid:gid (quota limits 0 = none, or the maildirsize file's), with
 * Return-Path and Delivered-To: delivered_to, in a child that becomes
 * uid:gid -- or, when m->in_place is set, in the worker itself, which
 * then can deliver nothing else (srv->dropped); a pooled worker
 * (srv->pooled) writes in place when uid:gid are its own and refuses
 * otherwise. 0, or -1 with st. */
int local_maildir(struct local_msg *m, const char *path, uid_t uid,
                  gid_t gid, uint64_t quota_bytes, uint64_t quota_count,
                  const char *delivered_to, struct status *st);
/* local_read_file - read the file at path (at most LOCAL_INCLUDE_MAX
 * bytes) in a child running as uid:gid; 1 with the contents appended to
 * out, 0 when it does not exist, -1 with st. *owner_r (may be NULL) gets
 * the file's owner. */
int local_read_file(struct local_server *srv, const char *path, uid_t uid,
                    gid_t gid, struct buf *out, uid_t *owner_r,
                    struct status *st);
/* local_run_as - in a child: become uid:gid (nothing when not root; uid
 * 0 only drops supplementary groups, for root's own Maildir); refused once
 * the worker has given up its privileges (srv->dropped). 0, or -1 with
 * st. */
int local_run_as(struct local_server *srv, uid_t uid, gid_t gid,
                 struct status *st);

/* local_command.c */
/* local_command - pipe the message into "shell -c cmd" run with privs;
 * 0, or -1 with st (exit status mapped as sysexits: EX_TEMPFAIL and
 * signals defer) */
int local_command(struct local_msg *m, const char *cmd,
                  const struct local_privs *privs, const char *delivered_to,
                  struct status *st);
/* local_file - append the message in mbox form to path with privs */
int local_file(struct local_msg *m, const char *path,
               const struct local_privs *privs, const char *delivered_to,
               struct status *st);

#endif
