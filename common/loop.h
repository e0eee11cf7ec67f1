/* loop.h - the event loop: timers, signals and raw descriptors
 * Used by: every daemon. The one place besides conn.c and tls.c that touches
 * libevent; programs see only these names. One loop per process. */
#ifndef YUBIN_LOOP_H
#define YUBIN_LOOP_H

struct event_base;

#define LOOP_READ  0x01
#define LOOP_WRITE 0x02

struct loop_timer;
struct loop_signal;
struct loop_fd;

/* loop_init - create the process's loop (again after fork, in the child) */
void loop_init(void);
/* loop_free - free the process's loop and whatever libevent still holds
 * for it (deferred frees of closed connections); for the end of a test or
 * program. loop_init() may follow. */
void loop_free(void);
/* loop_base - the libevent base, for conn.c and tls.c only */
struct event_base *loop_base(void);
/* loop_run - dispatch until loop_exit() or nothing is left; 0 or -1 */
int loop_run(void);
/* loop_exit - make loop_run() return after the current callback */
void loop_exit(void);
/* loop_now_ms - a monotonic clock in milliseconds */
long long loop_now_ms(void);

/* loop_timer_new - a stopped timer calling cb(ctx); free with
 * loop_timer_free() */
struct loop_timer *loop_timer_new(void (*cb)(void *ctx), void *ctx);
/* loop_timer_start - fire once after msecs (restarts a running timer) */
void loop_timer_start(struct loop_timer *t, long long msecs);
void loop_timer_stop(struct loop_timer *t);
int loop_timer_pending(const struct loop_timer *t);
void loop_timer_free(struct loop_timer **tp);

/* loop_signal_new - call cb(signo, ctx) from the loop whenever signo
 * arrives; free with loop_signal_free() */
struct loop_signal *loop_signal_new(int signo,
                                    void (*cb)(int signo, void *ctx),
                                    void *ctx);
void loop_signal_free(struct loop_signal **sp);

/* loop_fd_new - call cb(fd, events, ctx) whenever fd is ready for any of
 * events (LOOP_READ | LOOP_WRITE), until freed; borrows fd (the caller
 * closes it after loop_fd_free()) */
struct loop_fd *loop_fd_new(int fd, int events,
                            void (*cb)(int fd, int events, void *ctx),
                            void *ctx);
void loop_fd_free(struct loop_fd **fp);

#endif
