/* workq.h - a small pool of worker threads whose results return to the loop
 * Used by: smtpd (queue_writer_commit()'s fsyncs run here, so concurrent
 * sessions' commits overlap and share journal commits: group commit).
 * A job's work function runs in a worker thread; its done function then
 * runs from the process's loop (woken through an eventfd), never from a
 * worker and never from inside workq_submit(). Work functions must touch
 * only what their job owns: no logging through the loop, no conn_*. */
#ifndef YUBIN_WORKQ_H
#define YUBIN_WORKQ_H

#include <stddef.h>

struct workq;

typedef void workq_work_fn(void *ctx);  /* in a worker thread */
typedef void workq_done_fn(void *ctx);  /* from the loop, afterwards */

/* workq_new - start threads workers (at least 1); needs loop_init().
 * Returns a new pool; free with workq_free(). Failing to start a thread is
 * fatal (log_fatal). */
struct workq *workq_new(unsigned threads);
/* workq_submit - queue work(ctx), then done(ctx) from the loop; ctx is
 * borrowed and must live until done runs. Jobs start in submission order. */
void workq_submit(struct workq *q, workq_work_fn *work, workq_done_fn *done,
                  void *ctx);
/* workq_pending - jobs submitted whose done function has not run yet */
size_t workq_pending(const struct workq *q);
/* workq_free - wait for every submitted job's work to finish, run the done
 * functions still due, stop the threads, free *qp and clear it; accepts
 * NULL */
void workq_free(struct workq **qp);

#endif
