/* loop.c - the event loop on libevent 2
 * Used by: every daemon. Thin on purpose: timers, signals and descriptors
 * with typed callbacks, so that programs never include event2/. */
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "log.h"
#include "loop.h"
#include "mem.h"

static struct event_base *base;

struct loop_timer {
        struct event *ev;
        void (*cb)(void *ctx);
        void *ctx;
};

struct loop_signal {
        struct event *ev;
        void (*cb)(int signo, void *ctx);
        void *ctx;
};

struct loop_fd {
        struct event *ev;
        void (*cb)(int fd, int events, void *ctx);
        void *ctx;
};

void loop_init(void)
{
        if (base != NULL) {
                /* after fork the parent's base is unusable in the child;
                 * leak it rather than touch the parent's descriptors */
                base = NULL;
        }
        base = event_base_new();
        if (base == NULL)
                log_fatal("event_base_new failed");
}

void loop_free(void)
{
        if (base != NULL)
                event_base_free(base);
        base = NULL;
}

struct event_base *loop_base(void)
{
        if (base == NULL)
                loop_init();
        return base;
}

int loop_run(void)
{
        return event_base_dispatch(loop_base()) < 0 ? -1 : 0;
}

void loop_exit(void)
{
        event_base_loopbreak(loop_base());
}

long long loop_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void timer_fired(evutil_socket_t fd, short what, void *arg)
{
        struct loop_timer *t = arg;

        t->cb(t->ctx);
}

struct loop_timer *loop_timer_new(void (*cb)(void *ctx), void *ctx)
{
        struct loop_timer *t = xcalloc(1, sizeof(*t));

        t->cb = cb;
        t->ctx = ctx;
        t->ev = evtimer_new(loop_base(), timer_fired, t);
        if (t->ev == NULL)
                log_fatal("evtimer_new failed");
        return t;
}

void loop_timer_start(struct loop_timer *t, long long msecs)
{
        struct timeval tv = { .tv_sec = msecs / 1000,
                              .tv_usec = (msecs % 1000) * 1000 };

        evtimer_add(t->ev, &tv);
}

void loop_timer_stop(struct loop_timer *t)
{
        evtimer_del(t->ev);
}

int loop_timer_pending(const struct loop_timer *t)
{
        return evtimer_pending(t->ev, NULL) ? 1 : 0;
}

void loop_timer_free(struct loop_timer **tp)
{
        if (tp == NULL || *tp == NULL)
                return;
        event_free((*tp)->ev);
        free(*tp);
        *tp = NULL;
}

static void signal_fired(evutil_socket_t signo, short what, void *arg)
{
        struct loop_signal *s = arg;

        s->cb((int)signo, s->ctx);
}

struct loop_signal *loop_signal_new(int signo,
                                    void (*cb)(int signo, void *ctx),
                                    void *ctx)
{
        struct loop_signal *s = xcalloc(1, sizeof(*s));

        s->cb = cb;
        s->ctx = ctx;
        s->ev = evsignal_new(loop_base(), signo, signal_fired, s);
        if (s->ev == NULL || evsignal_add(s->ev, NULL) < 0)
                log_fatal("cannot watch signal %d", signo);
        return s;
}

void loop_signal_free(struct loop_signal **sp)
{
        if (sp == NULL || *sp == NULL)
                return;
        event_free((*sp)->ev);
        free(*sp);
        *sp = NULL;
}

static void fd_ready(evutil_socket_t fd, short what, void *arg)
{
        struct loop_fd *f = arg;
        int events = 0;

        if (what & EV_READ)
                events |= LOOP_READ;
        if (what & EV_WRITE)
                events |= LOOP_WRITE;
        f->cb((int)fd, events, f->ctx);
}

struct loop_fd *loop_fd_new(int fd, int events,
                            void (*cb)(int fd, int events, void *ctx),
                            void *ctx)
{
        struct loop_fd *f = xcalloc(1, sizeof(*f));
        short what = EV_PERSIST;

        if (events & LOOP_READ)
                what |= EV_READ;
        if (events & LOOP_WRITE)
                what |= EV_WRITE;
        f->cb = cb;
        f->ctx = ctx;
        f->ev = event_new(loop_base(), fd, what, fd_ready, f);
        if (f->ev == NULL || event_add(f->ev, NULL) < 0)
                log_fatal("cannot watch descriptor %d", fd);
        return f;
}

void loop_fd_free(struct loop_fd **fp)
{
        if (fp == NULL || *fp == NULL)
                return;
        event_free((*fp)->ev);
        free(*fp);
        *fp = NULL;
}
