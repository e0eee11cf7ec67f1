/* login_relay.c - plaintext relay between a TLS client and its session
 * Used by: login_handoff.c (login_relay.h). Two conns in raw mode: the
 * client's, with TLS, and the front end's end of the socketpair whose
 * other end the session process holds. Flow control is ours, across the
 * pair: a side's reading pauses while the other side has more than
 * LOGIN_RELAY_HIGH bytes unsent, and resumes on that side's CONN_DRAINED.
 * Each conn's own high-water mark is set far above, so that output queued
 * towards one side never stops the other direction (which could deadlock
 * a session that streams while its client pipelines). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "login_relay.h"
#include "mem.h"

#define SIDE_OUT_HIGH   (8 * 1024 * 1024)
#define SIDE_OUT_LOW    (64 * 1024)

struct relay;

struct relay_end {
        struct relay *r;
        int i;                  /* 0: client, 1: session */
};

struct relay {
        struct relay *prev, *next;
        struct conn *side[2];
        struct relay_end end[2];
        int closing[2];
        int paused[2];          /* side's reading paused by us */
};

static struct {
        struct relay *list;
        size_t count;
        void (*done)(void *ctx);
        void *ctx;
} relays;

size_t login_relay_count(void)
{
        return relays.count;
}

void login_relay_set_done(void (*done)(void *ctx), void *ctx)
{
        relays.done = done;
        relays.ctx = ctx;
}

static void relay_free(struct relay *r)
{
        conn_free(&r->side[0]);
        conn_free(&r->side[1]);
        if (r->prev != NULL)
                r->prev->next = r->next;
        else
                relays.list = r->next;
        if (r->next != NULL)
                r->next->prev = r->prev;
        relays.count--;
        free(r);
        if (relays.done != NULL)
                relays.done(relays.ctx);
}

void login_relay_stop_all(void)
{
        while (relays.list != NULL)
                relay_free(relays.list);
}

/* close_side - flush what side i has queued, then close it */
static void close_side(struct relay *r, int i)
{
        if (r->side[i] == NULL || r->closing[i])
                return;
        r->closing[i] = 1;
        conn_close(r->side[i]);
}

static void on_event(struct conn *c, enum conn_event ev,
                     const struct conn_ev_data *d, void *ctx)
{
        struct relay_end *e = ctx;
        struct relay *r = e->r;
        int i = e->i, o = 1 - i;

        switch (ev) {
        case CONN_DATA:
                if (r->side[o] == NULL || r->closing[o])
                        return;
                conn_write(r->side[o], d->data, d->len);
                if (conn_output_pending(r->side[o]) > LOGIN_RELAY_HIGH &&
                    !r->paused[i]) {
                        r->paused[i] = 1;
                        conn_pause(c);
                }
                return;
        case CONN_LINE:
                /* cannot happen in raw mode; pass it on whole anyway */
                if (r->side[o] != NULL && !r->closing[o]) {
                        conn_write(r->side[o], d->data, d->len);
                        conn_write(r->side[o], "\r\n", 2);
                }
                return;
        case CONN_DRAINED:
                if (r->paused[o] && r->side[o] != NULL && !r->closing[o]) {
                        r->paused[o] = 0;
                        conn_resume(r->side[o]);
                }
                return;
        case CONN_EOF:
                close_side(r, i);
                close_side(r, o);
                return;
        case CONN_ERROR:
                conn_free(&r->side[i]);
                if (r->side[o] == NULL) {
                        relay_free(r);
                        return;
                }
                close_side(r, o);
                return;
        case CONN_CLOSED:
                conn_free(&r->side[i]);
                if (r->side[o] == NULL) {
                        relay_free(r);
                        return;
                }
                close_side(r, o);
                return;
        default:
                return;
        }
}

void login_relay_start(struct conn *client, int fd)
{
        struct relay *r = xcalloc(1, sizeof(*r));
        struct conn_opts opts;

        memset(&opts, 0, sizeof(opts));
        opts.out_high = SIDE_OUT_HIGH;
        opts.out_low = SIDE_OUT_LOW;
        for (int i = 0; i < 2; i++) {
                r->end[i].r = r;
                r->end[i].i = i;
        }
        r->side[0] = client;
        r->side[1] = conn_new(fd, &opts, on_event, &r->end[1]);
        conn_set_callback(client, on_event, &r->end[0]);
        conn_set_timeout(client, 0);
        conn_set_deadline(client, 0);
        r->next = relays.list;
        if (relays.list != NULL)
                relays.list->prev = r;
        relays.list = r;
        relays.count++;
        for (int i = 0; i < 2; i++) {
                conn_read_bytes(r->side[i], SIZE_MAX);
                conn_resume(r->side[i]);
        }
}
