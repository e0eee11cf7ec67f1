/* workq_test.c - jobs run on the workers, concurrently, and their done
 * functions run from the loop thread, each exactly once */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "loop.h"
#include "workq.h"

#define JOBS 16

struct job {
        pthread_t worker;       /* set by work */
        int done;               /* set by done */
        int done_in_loop;
};

static pthread_t loop_thread;
static int remaining;

static void work(void *ctx)
{
        struct job *j = ctx;
        struct timespec ts = { 0, 50 * 1000 * 1000 };

        j->worker = pthread_self();
        nanosleep(&ts, NULL);
}

static void done(void *ctx)
{
        struct job *j = ctx;

        j->done++;
        j->done_in_loop = pthread_equal(pthread_self(), loop_thread);
        if (--remaining == 0)
                loop_exit();
}

static void test_jobs(void **state)
{
        struct job jobs[JOBS] = { 0 };
        struct workq *q;
        long long t0;

        loop_init();
        loop_thread = pthread_self();
        q = workq_new(8);
        remaining = JOBS;
        t0 = loop_now_ms();
        for (int i = 0; i < JOBS; i++)
                workq_submit(q, work, done, &jobs[i]);
        assert_int_equal(workq_pending(q), JOBS);
        /* nothing is done from inside workq_submit() */
        for (int i = 0; i < JOBS; i++)
                assert_int_equal(jobs[i].done, 0);
        loop_run();
        /* 16 jobs of 50 ms on 8 threads: about 100 ms, far from 800 */
        if (loop_now_ms() - t0 > 600)
                fail_msg("case concurrency: took %lld ms", loop_now_ms() - t0);
        for (int i = 0; i < JOBS; i++) {
                if (jobs[i].done != 1 || !jobs[i].done_in_loop)
                        fail_msg("case job %d: done %d times, in loop %d", i,
                                 jobs[i].done, jobs[i].done_in_loop);
                assert_false(pthread_equal(jobs[i].worker, loop_thread));
        }
        assert_int_equal(workq_pending(q), 0);
        workq_free(&q);
        assert_null(q);
        loop_free();
}

/* workq_free waits for work in progress and runs what is due */
static void test_free_waits(void **state)
{
        struct job jobs[3] = { 0 };
        struct workq *q;

        loop_init();
        loop_thread = pthread_self();
        q = workq_new(2);
        remaining = 100;
        for (int i = 0; i < 3; i++)
                workq_submit(q, work, done, &jobs[i]);
        workq_free(&q);
        for (int i = 0; i < 3; i++)
                assert_int_equal(jobs[i].done, 1);
        workq_free(&q);
        loop_free();
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_jobs),
                cmocka_unit_test(test_free_waits),
        };

        return cmocka_run_group_tests_name("workq", tests, NULL, NULL);
}
