/* local_pool.h - persistent delivery workers for virtual users
 * Used by: local.c. For a recipient that the main process found in
 * authd (struct local_prefetch), the request goes to a worker kept per
 * (uid, gid) instead of a process forked for it: the worker became that
 * owner once, right after its fork, and serves one request after another
 * (local_request_deliver) from descriptors the main process opened and
 * passed over a socketpair (SCM_RIGHTS: qmgr's connection, the queue file
 * read-only, its mark descriptor). A worker is retired after
 * LOCAL_POOL_REQUESTS requests or LOCAL_POOL_IDLE_MS idle; one that dies
 * leaves its request unanswered, which qmgr defers. */
#ifndef YUBIN_LOCAL_POOL_H
#define YUBIN_LOCAL_POOL_H

#include <sys/types.h>

#include "buf.h"
#include "local.h"

#define LOCAL_POOL_PER_OWNER    16      /* workers for one uid:gid: all
                                         * virtual users often share one */
#define LOCAL_POOL_REQUESTS     100     /* then a worker is replaced */
#define LOCAL_POOL_IDLE_MS      (10 * 1000)

struct local_pool;

/* local_pool_new - an empty pool of at most max workers (borrows srv);
 * in each new worker, child_init() runs first (it closes what the main
 * process has open that the worker must not hold); idle(ctx) is called in
 * the main process each time a worker finishes a request. Free with
 * local_pool_free. */
struct local_pool *local_pool_new(struct local_server *srv, size_t max,
                                  void (*child_init)(void),
                                  void (*idle)(void *ctx), void *ctx);
/* local_pool_free - free *pp and clear it; the workers see their socket
 * close and exit once their request (if any) is answered */
void local_pool_free(struct local_pool **pp);

/* local_pool_send - hand the request on line (borrowed) from fd, for
 * pre's user (pre->found, borrowed), to an idle worker of that uid:gid,
 * forking one when there is none and the limits allow. 1: handed over;
 * fd, qfd and mark_fd were closed here and the worker answers (its
 * finish is reported through idle()). 0: no worker (nothing taken: the
 * caller delivers another way). */
int local_pool_send(struct local_pool *pool, int fd, const struct buf *line,
                    const struct local_prefetch *pre, int qfd, int mark_fd);
/* local_pool_reaped - the main process reaped pid (wait status): 1 when it
 * was a pooled worker (*busy_r 1 when it died with a request, which no
 * one answers), 0 when not the pool's */
int local_pool_reaped(struct local_pool *pool, pid_t pid, int status,
                      int *busy_r);
/* local_pool_close_fds - in a forked child: close the pool's sockets */
void local_pool_close_fds(struct local_pool *pool);

#endif
