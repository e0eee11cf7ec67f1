/* workq.c - worker threads whose completions come back to the loop
 * Used by: smtpd (queue file commits). A mutex-guarded job list feeds the
 * threads; finished jobs go on a second list, and an eventfd watched by
 * the loop says there is something on it. The loop side runs the done
 * functions; the threads never call into libevent. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "mem.h"
#include "workq.h"

struct workq_job {
        workq_work_fn *work;
        workq_done_fn *done;
        void *ctx;
        struct workq_job *next;
};

struct workq {
        pthread_mutex_t lock;
        pthread_cond_t wake;            /* a job waits, or stopping */
        pthread_cond_t idle;            /* a job finished its work */
        struct workq_job *todo, *todo_tail;
        struct workq_job *finished, *finished_tail;
        pthread_t *threads;
        unsigned nthreads;
        int stopping;
        size_t running;                 /* jobs taken by a thread */
        size_t pending;                 /* loop side: done not yet run */
        int efd;
        struct loop_fd *watch;
};

static void push(struct workq_job **head, struct workq_job **tail,
                 struct workq_job *j)
{
        j->next = NULL;
        if (*tail != NULL)
                (*tail)->next = j;
        else
                *head = j;
        *tail = j;
}

static void *worker(void *arg)
{
        struct workq *q = arg;
        uint64_t one = 1;

        pthread_mutex_lock(&q->lock);
        for (;;) {
                struct workq_job *j;

                while (q->todo == NULL && !q->stopping)
                        pthread_cond_wait(&q->wake, &q->lock);
                if (q->todo == NULL)
                        break;
                j = q->todo;
                q->todo = j->next;
                if (q->todo == NULL)
                        q->todo_tail = NULL;
                q->running++;
                pthread_mutex_unlock(&q->lock);

                j->work(j->ctx);

                pthread_mutex_lock(&q->lock);
                q->running--;
                push(&q->finished, &q->finished_tail, j);
                pthread_cond_broadcast(&q->idle);
                /* a failed write can only mean the counter is full, and
                 * then the loop is being woken anyway */
                if (write(q->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
                        abort();
        }
        pthread_mutex_unlock(&q->lock);
        return NULL;
}

/* run_finished - the done functions of finished jobs, in the loop */
static void run_finished(struct workq *q)
{
        struct workq_job *list;

        pthread_mutex_lock(&q->lock);
        list = q->finished;
        q->finished = q->finished_tail = NULL;
        pthread_mutex_unlock(&q->lock);
        while (list != NULL) {
                struct workq_job *j = list;

                list = j->next;
                q->pending--;
                j->done(j->ctx);
                free(j);
        }
}

static void on_event(int fd, int events, void *ctx)
{
        uint64_t n;

        if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN && errno != EINTR)
                log_warn("workq: read eventfd: %m");
        run_finished(ctx);
}

struct workq *workq_new(unsigned threads)
{
        struct workq *q = xcalloc(1, sizeof(*q));
        int err;

        if (threads == 0)
                threads = 1;
        pthread_mutex_init(&q->lock, NULL);
        pthread_cond_init(&q->wake, NULL);
        pthread_cond_init(&q->idle, NULL);
        q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (q->efd < 0)
                log_fatal("workq: eventfd: %m");
        q->watch = loop_fd_new(q->efd, LOOP_READ, on_event, q);
        q->threads = xcalloc(threads, sizeof(*q->threads));
        for (unsigned i = 0; i < threads; i++) {
                err = pthread_create(&q->threads[i], NULL, worker, q);
                if (err != 0) {
                        errno = err;
                        log_fatal("workq: cannot start a thread: %m");
                }
                q->nthreads++;
        }
        return q;
}

void workq_submit(struct workq *q, workq_work_fn *work, workq_done_fn *done,
                  void *ctx)
{
        struct workq_job *j = xmalloc(sizeof(*j));

        j->work = work;
        j->done = done;
        j->ctx = ctx;
        q->pending++;
        pthread_mutex_lock(&q->lock);
        push(&q->todo, &q->todo_tail, j);
        pthread_cond_signal(&q->wake);
        pthread_mutex_unlock(&q->lock);
}

size_t workq_pending(const struct workq *q)
{
        return q->pending;
}

void workq_free(struct workq **qp)
{
        struct workq *q;

        if (qp == NULL || *qp == NULL)
                return;
        q = *qp;
        *qp = NULL;
        pthread_mutex_lock(&q->lock);
        while (q->todo != NULL || q->running > 0)
                pthread_cond_wait(&q->idle, &q->lock);
        q->stopping = 1;
        pthread_cond_broadcast(&q->wake);
        pthread_mutex_unlock(&q->lock);
        for (unsigned i = 0; i < q->nthreads; i++)
                pthread_join(q->threads[i], NULL);
        run_finished(q);
        loop_fd_free(&q->watch);
        close(q->efd);
        pthread_cond_destroy(&q->idle);
        pthread_cond_destroy(&q->wake);
        pthread_mutex_destroy(&q->lock);
        free(q->threads);
        free(q);
}
