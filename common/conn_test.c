/* conn_test.c - conn: lines whole and byte by byte, the line limit, raw
 * byte counts, output high-water pausing, timeouts, closing, connecting,
 * and freeing a conn from inside its own callback */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "conn.h"
#include "loop.h"
#include "mem.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Waiting on the loop. */

struct waiter {
        int (*done)(void *arg);
        void *arg;
        long long end;
        struct loop_timer *t;
        int timed_out;
};

static void wait_tick(void *ctx)
{
        struct waiter *w = ctx;

        if (w->done != NULL && w->done(w->arg)) {
                loop_exit();
                return;
        }
        if (loop_now_ms() >= w->end) {
                w->timed_out = 1;
                loop_exit();
                return;
        }
        loop_timer_start(w->t, 1);
}

/* run_until - run the loop until done(arg) or max_ms passed (done NULL:
 * just run for max_ms); returns 0, or -1 on a timeout */
static int run_until(int (*done)(void *), void *arg, long long max_ms)
{
        struct waiter w = { done, arg, loop_now_ms() + max_ms, NULL, 0 };

        w.t = loop_timer_new(wait_tick, &w);
        loop_timer_start(w.t, 0);
        loop_run();
        loop_timer_free(&w.t);
        return done != NULL && w.timed_out ? -1 : 0;
}

/* Recording what a conn reports. */

struct rec {
        struct conn *c;
        struct buf log;         /* "LINE:a|TOO_LONG|EOF" */
        struct buf data;        /* CONN_DATA chunks being gathered */
        int count[CONN_CLOSED + 1];
        size_t max_chunk;
        int literals;           /* a line ending in {N} announces N bytes */
        int reply_size;         /* write this much for each line */
        size_t max_out;         /* most output ever pending */
        int close_on_line;      /* conn_close() on the first line */
        int pause_on_line;      /* conn_pause() on the first line */
        int free_at;            /* conn_free() on this event; -1 never */
        int freed;
        int after_free;
        long long t_start, t_event;
};

static void rec_init(struct rec *r)
{
        memset(r, 0, sizeof(*r));
        buf_init(&r->log, 0);
        buf_init(&r->data, 0);
        r->free_at = -1;
        r->t_start = loop_now_ms();
}

static void rec_release(struct rec *r)
{
        conn_free(&r->c);
        buf_release(&r->log);
        buf_release(&r->data);
}

static void escape(struct buf *b, const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char)s[i];

                if (ch >= 0x20 && ch < 0x7f)
                        buf_putc(b, ch);
                else
                        buf_printf(b, "\\x%02x", ch);
        }
}

static void note(struct rec *r, const char *what)
{
        if (r->log.len > 0)
                buf_putc(&r->log, '|');
        buf_puts(&r->log, what);
}

static void rec_cb(struct conn *c, enum conn_event ev,
                   const struct conn_ev_data *d, void *ctx)
{
        struct rec *r = ctx;

        if (r->freed) {
                r->after_free++;
                return;
        }
        assert_ptr_equal(c, r->c);
        r->count[ev]++;
        r->t_event = loop_now_ms();
        switch (ev) {
        case CONN_LINE:
                note(r, "LINE:");
                escape(&r->log, d->data, d->len);
                assert_int_equal(d->data[d->len], '\0');
                if (r->literals && d->len > 2 && d->data[d->len - 1] == '}') {
                        const char *open = memchr(d->data, '{', d->len);

                        if (open != NULL)
                                conn_read_bytes(c, strtoul(open + 1, NULL,
                                                           10));
                }
                if (r->reply_size > 0) {
                        char *reply = xmalloc((size_t)r->reply_size);

                        memset(reply, 'r', (size_t)r->reply_size);
                        conn_write(c, reply, (size_t)r->reply_size);
                        free(reply);
                        if (conn_output_pending(c) > r->max_out)
                                r->max_out = conn_output_pending(c);
                }
                if (r->close_on_line && r->count[CONN_LINE] == 1)
                        conn_close(c);
                if (r->pause_on_line && r->count[CONN_LINE] == 1)
                        conn_pause(c);
                break;
        case CONN_DATA:
                buf_append(&r->data, d->data, d->len);
                if (d->len > r->max_chunk)
                        r->max_chunk = d->len;
                if (d->remaining == 0) {
                        note(r, "DATA:");
                        escape(&r->log, r->data.data, r->data.len);
                        buf_reset(&r->data);
                }
                break;
        case CONN_DRAINED:
                break;          /* too frequent to log */
        case CONN_ERROR:
                note(r, "ERROR:");
                buf_puts(&r->log, d->reason);
                break;
        default:
                note(r, conn_event_name(ev));
                break;
        }
        if ((int)ev == r->free_at) {
                conn_free(&r->c);
                assert_null(r->c);
                r->freed = 1;
                /* the event's data stays readable until we return */
                if (d->data != NULL)
                        r->after_free += d->data[d->len] != '\0';
        }
}

static int rec_ended(void *arg)
{
        struct rec *r = arg;

        return r->count[CONN_EOF] > 0 || r->count[CONN_ERROR] > 0 ||
               r->count[CONN_CLOSED] > 0 || r->freed;
}

/* Feeding input, whole or one byte per read. */

struct feeder {
        int fd;                 /* our end */
        int peer_fd;            /* the conn's end: one byte at a time waits
                                 * until it has read the last one */
        const char *data;
        size_t len, off;
        int bytewise;
        int close_at_end;
        int done;
        struct loop_timer *t;
};

static void feed_tick(void *ctx)
{
        struct feeder *f = ctx;
        int unread = 0;

        if (f->bytewise && ioctl(f->peer_fd, FIONREAD, &unread) == 0 &&
            unread > 0) {
                loop_timer_start(f->t, 0);
                return;
        }
        if (f->off < f->len) {
                size_t n = f->bytewise ? 1 : f->len - f->off;
                ssize_t w = write(f->fd, f->data + f->off, n);

                if (w > 0)
                        f->off += (size_t)w;
        }
        if (f->off < f->len) {
                loop_timer_start(f->t, 0);
                return;
        }
        if (f->close_at_end)
                shutdown(f->fd, SHUT_WR);
        f->done = 1;
}

static void feeder_start(struct feeder *f, int fd, int peer_fd,
                         const char *data, size_t len, int bytewise,
                         int close_at_end)
{
        memset(f, 0, sizeof(*f));
        f->fd = fd;
        f->peer_fd = peer_fd;
        f->data = data;
        f->len = len;
        f->bytewise = bytewise;
        f->close_at_end = close_at_end;
        fcntl(fd, F_SETFL, O_NONBLOCK);
        f->t = loop_timer_new(feed_tick, f);
        loop_timer_start(f->t, 0);
}

static void pair(int sv[2])
{
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
                                    sv), 0);
}

/* Lines. */

struct line_case {
        const char *name;
        const char *input;
        size_t len;             /* 0: strlen(input) */
        size_t line_max;
        int literals;
        const char *want;
};

#define BIN(s) s, sizeof(s) - 1

static const struct line_case line_cases[] = {
        { "crlf", "a\r\nbc\r\n", 0, 8, 0, "LINE:a|LINE:bc|EOF" },
        { "bare lf", "a\nbc\n", 0, 8, 0, "LINE:a|LINE:bc|EOF" },
        { "mixed", "a\r\nb\nc\r\n", 0, 8, 0, "LINE:a|LINE:b|LINE:c|EOF" },
        { "empty lines", "\r\n\n\r\n", 0, 8, 0, "LINE:|LINE:|LINE:|EOF" },
        { "lone cr kept", "a\rb\r\n", 0, 8, 0, "LINE:a\\x0db|EOF" },
        { "cr cr lf", "a\r\r\n", 0, 8, 0, "LINE:a\\x0d|EOF" },
        { "nul inside", BIN("a\0b\r\n"), 8, 0, "LINE:a\\x00b|EOF" },
        { "exact max crlf", "12345678\r\nz\r\n", 0, 8, 0,
          "LINE:12345678|LINE:z|EOF" },
        { "exact max lf", "12345678\nz\n", 0, 8, 0,
          "LINE:12345678|LINE:z|EOF" },
        { "one over crlf", "123456789\r\nok\r\n", 0, 8, 0,
          "LINE_TOO_LONG|LINE:ok|EOF" },
        { "one over lf", "123456789\nok\n", 0, 8, 0,
          "LINE_TOO_LONG|LINE:ok|EOF" },
        { "far over, once", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
          "ok\r\n", 0, 8, 0, "LINE_TOO_LONG|LINE:ok|EOF" },
        { "two too long", "xxxxxxxxxxxx\nyyyyyyyyyyyyyyyy\r\nok\n", 0, 8, 0,
          "LINE_TOO_LONG|LINE_TOO_LONG|LINE:ok|EOF" },
        { "max then cr cr lf", "12345678\r\r\nok\n", 0, 8, 0,
          "LINE_TOO_LONG|LINE:ok|EOF" },
        { "partial line at eof", "ab\r\ncd", 0, 8, 0, "LINE:ab|EOF" },
        { "too long at eof", "abcdefghijklmnop", 0, 8, 0,
          "LINE_TOO_LONG|EOF" },
        { "literal", "A {5}\r\nhe\nlo B\r\nC\r\n", 0, 8, 1,
          "LINE:A {5}|DATA:he\\x0alo|LINE: B|LINE:C|EOF" },
        { "literal of crlf", "{2}\r\n\r\n\r\nx\n", 0, 8, 1,
          "LINE:{2}|DATA:\\x0d\\x0a|LINE:|LINE:x|EOF" },
        { "empty literal", "{0}\r\nx\r\n", 0, 8, 1,
          "LINE:{0}|LINE:x|EOF" },
        { "literal longer than line_max", "{12}\r\n123456789012ok\n", 0, 8,
          1, "LINE:{12}|DATA:123456789012|LINE:ok|EOF" },
        { "literal cut by eof", "{9}\r\nabc", 0, 8, 1, "LINE:{9}|EOF" },
        { "two literals", "{1}\r\na{2}\r\nbc\r\n", 0, 8, 1,
          "LINE:{1}|DATA:a|LINE:{2}|DATA:bc|LINE:|EOF" },
};

static void run_line_case(const struct line_case *lc, int bytewise)
{
        struct conn_opts opts = { .line_max = lc->line_max };
        struct feeder f;
        struct rec r;
        int sv[2];

        pair(sv);
        rec_init(&r);
        r.literals = lc->literals;
        r.c = conn_new(sv[0], &opts, rec_cb, &r);
        feeder_start(&f, sv[1], sv[0], lc->input,
                     lc->len ? lc->len : strlen(lc->input), bytewise, 1);
        if (run_until(rec_ended, &r, 3000) < 0)
                fail_msg("case %s (%s): timed out; got \"%s\"", lc->name,
                         bytewise ? "bytewise" : "whole", buf_cstr(&r.log));
        if (strcmp(buf_cstr(&r.log), lc->want) != 0)
                fail_msg("case %s (%s): got \"%s\", want \"%s\"", lc->name,
                         bytewise ? "bytewise" : "whole", buf_cstr(&r.log),
                         lc->want);
        if (bytewise && r.max_chunk > 1)
                fail_msg("case %s: a chunk of %zu bytes arrived bytewise",
                         lc->name, r.max_chunk);
        loop_timer_free(&f.t);
        rec_release(&r);
        close(sv[1]);
}

static void test_lines_whole(void **state)
{
        for (size_t i = 0; i < NELEM(line_cases); i++)
                run_line_case(&line_cases[i], 0);
}

static void test_lines_bytewise(void **state)
{
        for (size_t i = 0; i < NELEM(line_cases); i++)
                run_line_case(&line_cases[i], 1);
}

/* many lines in one burst, CRLF and LF alternating, and again bytewise */
static void test_many_lines(void **state)
{
        struct buf in, want;

        buf_init(&in, 0);
        buf_init(&want, 0);
        for (int i = 0; i < 2000; i++) {
                buf_printf(&in, "line %d%s", i, i % 2 ? "\r\n" : "\n");
                buf_printf(&want, "%sLINE:line %d", i ? "|" : "", i);
        }
        buf_puts(&want, "|EOF");
        for (int bytewise = 0; bytewise <= 1; bytewise++) {
                struct feeder f;
                struct rec r;
                int sv[2];

                pair(sv);
                rec_init(&r);
                r.c = conn_new(sv[0], NULL, rec_cb, &r);
                feeder_start(&f, sv[1], sv[0], in.data,
                             bytewise ? 2000 : in.len, bytewise, 1);
                assert_int_equal(run_until(rec_ended, &r, 5000), 0);
                if (!bytewise) {
                        assert_string_equal(buf_cstr(&r.log),
                                            buf_cstr(&want));
                } else {
                        /* the first 2000 bytes, one at a time */
                        assert_int_equal(strncmp(buf_cstr(&r.log),
                                                 buf_cstr(&want), 40), 0);
                        assert_true(r.count[CONN_LINE] > 200);
                }
                loop_timer_free(&f.t);
                rec_release(&r);
                close(sv[1]);
        }
        buf_release(&in);
        buf_release(&want);
}

/* a literal far larger than one chunk comes in pieces of bounded size and
 * exactly the announced count */
static void test_big_literal(void **state)
{
        const size_t n = 300000;
        struct buf in, want;
        struct feeder f;
        struct rec r;
        int sv[2];

        buf_init(&in, 0);
        buf_printf(&in, "{%zu}\r\n", n);
        for (size_t i = 0; i < n; i++)
                buf_putc(&in, 'a' + (int)(i % 26));
        buf_puts(&in, "after\r\n");
        pair(sv);
        rec_init(&r);
        r.literals = 1;
        r.c = conn_new(sv[0], NULL, rec_cb, &r);
        feeder_start(&f, sv[1], sv[0], in.data, in.len, 0, 1);
        assert_int_equal(run_until(rec_ended, &r, 5000), 0);
        buf_init(&want, 0);
        buf_printf(&want, "LINE:{%zu}|DATA:", n);
        buf_append(&want, in.data + in.len - 7 - n, n);
        buf_puts(&want, "|LINE:after|EOF");
        assert_string_equal(buf_cstr(&r.log), buf_cstr(&want));
        assert_true(r.count[CONN_DATA] > 1);
        assert_true(r.max_chunk <= 16 * 1024);
        loop_timer_free(&f.t);
        rec_release(&r);
        close(sv[1]);
        buf_release(&in);
        buf_release(&want);
}

/* Output high-water mark. */

struct sink {
        int fd;
        int reading;
        size_t got;
        struct loop_fd *watch;
};

static void sink_ready(int fd, int events, void *ctx)
{
        struct sink *s = ctx;
        char b[65536];
        ssize_t n;

        while ((n = read(fd, b, sizeof(b))) > 0)
                s->got += (size_t)n;
}

struct pusher {
        int fd;
        const char *data;
        size_t len, off;
        struct loop_timer *t;
};

static void push_tick(void *ctx)
{
        struct pusher *p = ctx;

        while (p->off < p->len) {
                ssize_t w = write(p->fd, p->data + p->off, p->len - p->off);

                if (w <= 0)
                        break;
                p->off += (size_t)w;
        }
        if (p->off < p->len)
                loop_timer_start(p->t, 1);
}

static int all_lines(void *arg)
{
        struct rec *r = arg;

        return r->count[CONN_LINE] == 5000;
}

static void test_output_high_water(void **state)
{
        struct conn_opts opts = { .line_max = 64, .out_high = 8192,
                                  .out_low = 2048 };
        const int lines = 5000, reply = 1000;
        int small = 4096;
        struct pusher p = { 0 };
        struct sink s = { 0 };
        struct rec r;
        int sv[2];

        pair(sv);
        setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
        setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
        assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
        rec_init(&r);
        r.reply_size = reply;
        r.c = conn_new(sv[0], &opts, rec_cb, &r);
        /* a client that pipelines 5000 commands and reads nothing */
        p.fd = sv[1];
        p.len = (size_t)lines * 20;
        char *in = xmalloc(p.len);
        for (int i = 0; i < lines; i++)
                memcpy(in + 20 * i, "NOOP xxxxxxxxxxxxx\r\n", 20);
        p.data = in;
        p.t = loop_timer_new(push_tick, &p);
        loop_timer_start(p.t, 0);
        run_until(NULL, NULL, 300);

        /* the conn stopped reading: few commands ran, output is bounded,
         * input is bounded, and the client could not send everything */
        if (r.count[CONN_LINE] >= lines / 10)
                fail_msg("got %d lines while the client read nothing",
                         r.count[CONN_LINE]);
        assert_true(r.count[CONN_LINE] > 0);
        assert_true(r.max_out <= opts.out_high + (size_t)reply);
        assert_true(conn_output_pending(r.c) > opts.out_low);
        assert_true(conn_input_pending(r.c) <= 16 * 1024 + 64);
        assert_true(p.off < p.len);
        int drained = r.count[CONN_DRAINED];

        /* the client starts reading: everything flows, memory stays
         * bounded all along */
        s.fd = sv[1];
        s.watch = loop_fd_new(sv[1], LOOP_READ, sink_ready, &s);
        assert_int_equal(run_until(all_lines, &r, 8000), 0);
        assert_true(r.max_out <= opts.out_high + (size_t)reply);
        assert_true(r.count[CONN_DRAINED] > drained);
        assert_int_equal(p.off, p.len);

        loop_fd_free(&s.watch);
        loop_timer_free(&p.t);
        free(in);
        rec_release(&r);
        close(sv[1]);
}

/* Pausing. */

static void test_pause_resume(void **state)
{
        struct feeder f;
        struct rec r;
        int sv[2];

        pair(sv);
        rec_init(&r);
        r.pause_on_line = 1;
        r.c = conn_new(sv[0], NULL, rec_cb, &r);
        feeder_start(&f, sv[1], sv[0], "a\r\nb\r\nc\r\n", 9, 0, 1);
        run_until(NULL, NULL, 50);
        assert_string_equal(buf_cstr(&r.log), "LINE:a");
        assert_int_equal(conn_input_pending(r.c), 6);
        conn_resume(r.c);
        assert_string_equal(buf_cstr(&r.log), "LINE:a"); /* not inside */
        assert_int_equal(run_until(rec_ended, &r, 2000), 0);
        assert_string_equal(buf_cstr(&r.log), "LINE:a|LINE:b|LINE:c|EOF");
        loop_timer_free(&f.t);
        rec_release(&r);
        close(sv[1]);
}

/* Timeouts. */

static int got_timeout(void *arg)
{
        struct rec *r = arg;

        return r->count[CONN_TIMEOUT] > 0 || r->count[CONN_DEADLINE] > 0;
}

static void test_idle_timeout(void **state)
{
        struct conn_opts opts = { .idle_ms = 60 };
        struct rec r;
        int sv[2];

        pair(sv);
        rec_init(&r);
        r.c = conn_new(sv[0], &opts, rec_cb, &r);
        assert_int_equal(run_until(got_timeout, &r, 3000), 0);
        assert_string_equal(buf_cstr(&r.log), "TIMEOUT");
        long long took = r.t_event - r.t_start;
        if (took < 50 || took > 2000)
                fail_msg("timeout after %lld ms, want about 60", took);
        /* once only, until something happens */
        run_until(NULL, NULL, 150);
        assert_int_equal(r.count[CONN_TIMEOUT], 1);
        rec_release(&r);
        close(sv[1]);
}

struct dribble {
        int fd;
        int left;
        struct loop_timer *t;
};

static void dribble_tick(void *ctx)
{
        struct dribble *d = ctx;

        if (d->left-- <= 0)
                return;
        if (write(d->fd, "x", 1) != 1)
                return;
        loop_timer_start(d->t, 20);
}

static void test_activity_postpones_timeout(void **state)
{
        struct conn_opts opts = { .idle_ms = 100 };
        struct dribble d;
        struct rec r;
        int sv[2];

        pair(sv);
        rec_init(&r);
        r.c = conn_new(sv[0], &opts, rec_cb, &r);
        d.fd = sv[1];
        d.left = 15;    /* a byte every 20 ms for 300 ms */
        d.t = loop_timer_new(dribble_tick, &d);
        loop_timer_start(d.t, 0);
        assert_int_equal(run_until(got_timeout, &r, 3000), 0);
        long long took = r.t_event - r.t_start;
        if (took < 300)
                fail_msg("timeout after %lld ms despite input", took);
        loop_timer_free(&d.t);
        rec_release(&r);
        close(sv[1]);
}

static void test_deadline(void **state)
{
        struct conn_opts opts = { .idle_ms = 1000, .deadline_ms = 80 };
        struct dribble d;
        struct rec r;
        int sv[2];

        pair(sv);
        rec_init(&r);
        r.c = conn_new(sv[0], &opts, rec_cb, &r);
        d.fd = sv[1];
        d.left = 100;
        d.t = loop_timer_new(dribble_tick, &d);
        loop_timer_start(d.t, 0);
        assert_int_equal(run_until(got_timeout, &r, 3000), 0);
        assert_string_equal(buf_cstr(&r.log), "DEADLINE");
        long long took = r.t_event - r.t_start;
        assert_true(took >= 70 && took < 2000);
        loop_timer_free(&d.t);
        rec_release(&r);
        close(sv[1]);
}

/* Closing. */

static int sink_eof(void *arg)
{
        struct sink *s = arg;
        char b[65536];
        ssize_t n;

        while ((n = read(s->fd, b, sizeof(b))) > 0)
                s->got += (size_t)n;
        return n == 0;
}

static void test_close_flushes(void **state)
{
        const size_t big = 500000;
        struct sink s = { 0 };
        struct rec r;
        int sv[2];

        pair(sv);
        assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
        rec_init(&r);
        r.c = conn_new(sv[0], NULL, rec_cb, &r);
        char *out = xmalloc(big);
        memset(out, 'z', big);
        assert_int_equal(conn_write(r.c, out, big), 0);
        free(out);
        conn_close(r.c);
        assert_int_equal(r.count[CONN_CLOSED], 0);      /* not inside */
        assert_int_equal(conn_write(r.c, "late", 4), -1);
        s.fd = sv[1];
        assert_int_equal(run_until(sink_eof, &s, 5000), 0);
        assert_int_equal(s.got, big);
        run_until(NULL, NULL, 20);
        assert_string_equal(buf_cstr(&r.log), "CLOSED");
        assert_int_equal(conn_fd(r.c), -1);
        rec_release(&r);
        close(sv[1]);
}

static void test_close_on_line_drops_pipelined(void **state)
{
        struct sink s = { 0 };
        struct feeder f;
        struct rec r;
        int sv[2];

        pair(sv);
        assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
        rec_init(&r);
        r.close_on_line = 1;
        r.reply_size = 10;
        r.c = conn_new(sv[0], NULL, rec_cb, &r);
        feeder_start(&f, sv[1], sv[0], "QUIT\r\nNOOP\r\nNOOP\r\n", 18, 0, 0);
        s.fd = sv[1];
        assert_int_equal(run_until(sink_eof, &s, 3000), 0);
        run_until(NULL, NULL, 20);
        assert_string_equal(buf_cstr(&r.log), "LINE:QUIT|CLOSED");
        assert_int_equal(s.got, 10);
        loop_timer_free(&f.t);
        rec_release(&r);
        close(sv[1]);
}

/* Freeing from inside the callback. */

struct free_case {
        const char *name;
        enum conn_event at;
        const char *input;      /* NULL: send nothing */
        int shut;               /* 1: shutdown after input; 2: close */
        struct conn_opts opts;
        int literals, reply, close_on_line;
        const char *want;
};

static const struct free_case free_cases[] = {
        { "line, more buffered", CONN_LINE, "a\r\nb\r\nc\r\n", 0, { 0 }, 0, 0,
          0, "LINE:a" },
        { "too long", CONN_LINE_TOO_LONG, "xxxxxxxxxx\r\nb\r\n", 0,
          { .line_max = 4 }, 0, 0, 0, "LINE_TOO_LONG" },
        { "data", CONN_DATA, "{3}\r\nabcdef\r\n", 0, { 0 }, 1, 0, 0,
          "LINE:{3}|DATA:abc" },
        { "eof", CONN_EOF, "a\r\n", 1, { 0 }, 0, 0, 0, "LINE:a|EOF" },
        { "timeout", CONN_TIMEOUT, NULL, 0, { .idle_ms = 20 }, 0, 0, 0,
          "TIMEOUT" },
        { "deadline", CONN_DEADLINE, NULL, 0, { .deadline_ms = 20 }, 0, 0, 0,
          "DEADLINE" },
        { "drained", CONN_DRAINED, "a\r\nb\r\n", 0, { 0 }, 0, 100, 0,
          "LINE:a|LINE:b" },
        { "closed", CONN_CLOSED, "a\r\nb\r\n", 0, { 0 }, 0, 100, 1,
          "LINE:a|CLOSED" },
};

static int rec_freed(void *arg)
{
        return ((struct rec *)arg)->freed;
}

static void test_free_inside_callback(void **state)
{
        for (size_t i = 0; i < NELEM(free_cases); i++) {
                const struct free_case *fc = &free_cases[i];
                struct feeder f = { 0 };
                struct rec r;
                int sv[2];

                pair(sv);
                rec_init(&r);
                r.free_at = (int)fc->at;
                r.literals = fc->literals;
                r.reply_size = fc->reply;
                r.close_on_line = fc->close_on_line;
                r.c = conn_new(sv[0], &fc->opts, rec_cb, &r);
                if (fc->input != NULL)
                        feeder_start(&f, sv[1], sv[0], fc->input,
                                     strlen(fc->input), 0, fc->shut == 1);
                if (run_until(rec_freed, &r, 3000) < 0)
                        fail_msg("case %s: not freed; got \"%s\"", fc->name,
                                 buf_cstr(&r.log));
                run_until(NULL, NULL, 40);      /* nothing may follow */
                if (strcmp(buf_cstr(&r.log), fc->want) != 0 ||
                    r.after_free != 0)
                        fail_msg("case %s: got \"%s\" (%d after free), "
                                 "want \"%s\"", fc->name, buf_cstr(&r.log),
                                 r.after_free, fc->want);
                assert_null(r.c);
                loop_timer_free(&f.t);
                rec_release(&r);
                close(sv[1]);
        }
}

/* a write to a peer that has gone away is an error, and freeing there is
 * safe too */
static void test_error_and_free(void **state)
{
        struct rec r;
        int sv[2];

        pair(sv);
        rec_init(&r);
        r.free_at = CONN_ERROR;
        r.c = conn_new(sv[0], NULL, rec_cb, &r);
        close(sv[1]);
        char big[100000];
        memset(big, 'q', sizeof(big));
        conn_write(r.c, big, sizeof(big));
        assert_int_equal(run_until(rec_freed, &r, 3000), 0);
        run_until(NULL, NULL, 20);
        assert_int_equal(r.count[CONN_ERROR], 1);
        assert_non_null(strstr(buf_cstr(&r.log), "ERROR:"));
        assert_int_equal(r.after_free, 0);
        rec_release(&r);
}

/* Connecting, and addresses. */

struct acceptor {
        int lfd;
        struct loop_fd *watch;
        struct rec *server;
};

static void accept_ready(int fd, int events, void *ctx)
{
        struct acceptor *a = ctx;
        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

        if (cfd < 0)
                return;
        a->server->c = conn_new(cfd, NULL, rec_cb, a->server);
}

static int listen_on(int family, const char *addr, int v6only, int *port_r)
{
        struct sockaddr_storage ss;
        socklen_t len;
        int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;

        if (fd < 0)
                return -1;
        memset(&ss, 0, sizeof(ss));
        if (family == AF_INET) {
                struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

                s4->sin_family = AF_INET;
                inet_pton(AF_INET, addr, &s4->sin_addr);
                len = sizeof(*s4);
        } else {
                struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

                s6->sin6_family = AF_INET6;
                inet_pton(AF_INET6, addr, &s6->sin6_addr);
                setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
                           sizeof(v6only));
                len = sizeof(*s6);
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 8) < 0) {
                close(fd);
                return -1;
        }
        len = sizeof(ss);
        getsockname(fd, (struct sockaddr *)&ss, &len);
        *port_r = ntohs(family == AF_INET ?
                        ((struct sockaddr_in *)&ss)->sin_port :
                        ((struct sockaddr_in6 *)&ss)->sin6_port);
        return fd;
}

static socklen_t make_addr(struct sockaddr_storage *ss, const char *addr,
                           int port)
{
        memset(ss, 0, sizeof(*ss));
        if (strchr(addr, ':') == NULL) {
                struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

                s4->sin_family = AF_INET;
                s4->sin_port = htons((uint16_t)port);
                inet_pton(AF_INET, addr, &s4->sin_addr);
                return sizeof(*s4);
        }
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, addr, &s6->sin6_addr);
        return sizeof(*s6);
}

static int server_got_line(void *arg)
{
        struct rec **rr = arg;

        return rr[0]->count[CONN_LINE] > 0 && rr[1]->count[CONN_LINE] > 0;
}

static void test_connect(void **state)
{
        static const struct {
                const char *name;
                int family;
                const char *listen_addr;
                int v6only;
                const char *connect_addr;
                const char *want_peer;  /* as the server sees the client */
        } cases[] = {
                { "ipv4", AF_INET, "127.0.0.1", 0, "127.0.0.1",
                  "127.0.0.1" },
                { "ipv6", AF_INET6, "::1", 1, "::1", "::1" },
                { "ipv4-mapped", AF_INET6, "::", 0, "127.0.0.1",
                  "127.0.0.1" },
        };

        for (size_t i = 0; i < NELEM(cases); i++) {
                struct rec client, server;
                struct acceptor a = { 0 };
                struct sockaddr_storage ss;
                struct status st;
                int port;

                a.lfd = listen_on(cases[i].family, cases[i].listen_addr,
                                  cases[i].v6only, &port);
                if (a.lfd < 0) {
                        print_message("case %s: skipped (no such family)\n",
                                      cases[i].name);
                        continue;
                }
                rec_init(&client);
                rec_init(&server);
                a.server = &server;
                a.watch = loop_fd_new(a.lfd, LOOP_READ, accept_ready, &a);
                socklen_t len = make_addr(&ss, cases[i].connect_addr, port);
                client.c = conn_connect((struct sockaddr *)&ss, len, 2000,
                                        NULL, rec_cb, &client, &st);
                assert_non_null(client.c);
                /* written before the connection is up: held, then sent */
                conn_printf(client.c, "HELO %s\r\n", cases[i].name);
                assert_int_equal(client.count[CONN_CONNECTED], 0);
                struct rec *both[2] = { &server, &server };
                assert_int_equal(run_until(server_got_line, both, 3000), 0);
                conn_printf(server.c, "250 ok\r\n");
                both[1] = &client;
                assert_int_equal(run_until(server_got_line, both, 3000), 0);

                char want[128];
                snprintf(want, sizeof(want), "LINE:HELO %s", cases[i].name);
                if (strcmp(buf_cstr(&server.log), want) != 0 ||
                    strcmp(buf_cstr(&client.log), "CONNECTED|LINE:250 ok")
                    != 0)
                        fail_msg("case %s: server got \"%s\", client \"%s\"",
                                 cases[i].name, buf_cstr(&server.log),
                                 buf_cstr(&client.log));
                if (strcmp(conn_peer_addr(server.c), cases[i].want_peer) != 0)
                        fail_msg("case %s: peer %s, want %s", cases[i].name,
                                 conn_peer_addr(server.c),
                                 cases[i].want_peer);
                assert_int_equal(conn_peer_port(client.c), port);
                assert_int_equal(conn_local_port(server.c), port);
                assert_int_equal(conn_peer_port(server.c),
                                 conn_local_port(client.c));
                assert_string_equal(conn_peer_addr(client.c),
                                    cases[i].connect_addr);
                socklen_t plen;
                conn_peer_sockaddr(server.c, &plen);
                assert_true(plen > 0);
                assert_int_equal(conn_tls_active(client.c), 0);

                loop_fd_free(&a.watch);
                close(a.lfd);
                rec_release(&client);
                rec_release(&server);
        }
}

static void test_connect_refused(void **state)
{
        struct sockaddr_storage ss;
        struct status st;
        struct rec r;
        int port;
        int fd = listen_on(AF_INET, "127.0.0.1", 0, &port);

        assert_true(fd >= 0);
        close(fd);              /* nobody listens there now */
        rec_init(&r);
        socklen_t len = make_addr(&ss, "127.0.0.1", port);
        r.c = conn_connect((struct sockaddr *)&ss, len, 2000, NULL, rec_cb,
                           &r, &st);
        assert_non_null(r.c);
        assert_int_equal(r.count[CONN_ERROR], 0);       /* not inside */
        assert_int_equal(run_until(rec_ended, &r, 3000), 0);
        assert_string_equal(buf_cstr(&r.log), "ERROR:Connection refused");
        /* closing a broken conn still ends in CLOSED */
        conn_close(r.c);
        run_until(NULL, NULL, 20);
        assert_string_equal(buf_cstr(&r.log),
                            "ERROR:Connection refused|CLOSED");
        rec_release(&r);

        /* closed before the loop ran: CLOSED only, never the error */
        rec_init(&r);
        r.c = conn_connect((struct sockaddr *)&ss, len, 2000, NULL, rec_cb,
                           &r, &st);
        assert_non_null(r.c);
        assert_int_equal(conn_write(r.c, "held\r\n", 6), 0);
        conn_close(r.c);
        run_until(NULL, NULL, 50);
        assert_string_equal(buf_cstr(&r.log), "CLOSED");
        rec_release(&r);
}

static void test_unix_addresses(void **state)
{
        struct rec r;
        int sv[2];

        pair(sv);
        rec_init(&r);
        r.c = conn_new(sv[0], NULL, rec_cb, &r);
        assert_string_equal(conn_peer_addr(r.c), "unix");
        assert_string_equal(conn_local_addr(r.c), "unix");
        assert_int_equal(conn_peer_port(r.c), 0);
        assert_int_equal(conn_fd(r.c), sv[0]);
        char d[64];
        assert_string_equal(conn_tls_describe(r.c, d, sizeof(d)), "");
        struct conn_tls_info info;
        assert_int_equal(conn_tls_info(r.c, &info), -1);
        rec_release(&r);
        close(sv[1]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lines_whole),
                cmocka_unit_test(test_lines_bytewise),
                cmocka_unit_test(test_many_lines),
                cmocka_unit_test(test_big_literal),
                cmocka_unit_test(test_output_high_water),
                cmocka_unit_test(test_pause_resume),
                cmocka_unit_test(test_idle_timeout),
                cmocka_unit_test(test_activity_postpones_timeout),
                cmocka_unit_test(test_deadline),
                cmocka_unit_test(test_close_flushes),
                cmocka_unit_test(test_close_on_line_drops_pipelined),
                cmocka_unit_test(test_free_inside_callback),
                cmocka_unit_test(test_error_and_free),
                cmocka_unit_test(test_connect),
                cmocka_unit_test(test_connect_refused),
                cmocka_unit_test(test_unix_addresses),
        };

        signal(SIGPIPE, SIG_IGN);
        loop_init();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
