/* conn_detach_test.c - handing a connection's socket on: conn_detach()
 * keeps the socket open and gives back the input read but not delivered
 * (also a partial line), conn_unread() puts it in front of what the new
 * owner reads, so the lines come out whole and in order; a conn with
 * output still queued is not detached. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "conn.h"
#include "loop.h"

struct rec {
        struct buf lines;       /* "A|B|" */
        int pause_after;        /* conn_pause() after this many lines */
        int count;
};

static void on_event(struct conn *c, enum conn_event ev,
                     const struct conn_ev_data *d, void *ctx)
{
        struct rec *r = ctx;

        if (ev != CONN_LINE)
                return;
        buf_append(&r->lines, d->data, d->len);
        buf_putc(&r->lines, '|');
        if (++r->count == r->pause_after)
                conn_pause(c);
}

static void stop(void *ctx)
{
        loop_exit();
}

/* spin - run the loop for ms milliseconds */
static void spin(long long ms)
{
        struct loop_timer *t = loop_timer_new(stop, NULL);

        loop_timer_start(t, ms);
        loop_run();
        loop_timer_free(&t);
}

static void test_detach_and_unread(void **state)
{
        struct rec first = { .pause_after = 1 }, second = { 0 };
        struct status st;
        struct buf pending;
        struct conn *c;
        int sv[2], fd;

        loop_init();
        buf_init(&first.lines, 0);
        buf_init(&second.lines, 0);
        buf_init(&pending, 1024);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        c = conn_new(sv[0], NULL, on_event, &first);
        assert_int_equal(write(sv[1], "ONE\r\nTWO\r\nTH", 12), 12);
        spin(50);
        assert_string_equal(buf_cstr(&first.lines), "ONE|");
        assert_true(conn_input_pending(c) > 0);

        fd = conn_detach(&c, &pending, &st);
        assert_true(fd >= 0);
        assert_null(c);
        assert_string_equal(buf_cstr(&pending), "TWO\r\nTH");
        /* the socket is still open and still ours */
        assert_int_equal(write(sv[1], "REE\r\nFOUR\r\n", 11), 11);

        c = conn_new(fd, NULL, on_event, &second);
        conn_unread(c, pending.data, pending.len);
        spin(50);
        assert_string_equal(buf_cstr(&second.lines), "TWO|THREE|FOUR|");
        /* output goes out on the same socket */
        conn_write(c, "hi\n", 3);
        spin(20);
        char got[8] = "";
        assert_int_equal(read(sv[1], got, sizeof(got)), 3);
        assert_memory_equal(got, "hi\n", 3);

        /* queued output: no detach, the conn stays as it was */
        conn_write(c, "more\n", 5);
        buf_reset(&pending);
        assert_int_equal(conn_detach(&c, &pending, &st), -1);
        assert_non_null(c);
        conn_free(&c);
        close(sv[1]);
        buf_release(&first.lines);
        buf_release(&second.lines);
        buf_release(&pending);
        loop_free();
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_detach_and_unread),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
