/* conn.c - one network connection on a libevent bufferevent
 * Used by: every network daemon, through conn.h. Turns bufferevent
 * callbacks into named events: input is cut into lines (or counted raw
 * chunks) here, with the line limit enforced while bytes arrive, so a
 * peer sending one byte at a time or never sending LF costs at most
 * line_max bytes. Callbacks may free the conn: every event goes through
 * emit(), which says whether the conn still exists afterwards. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "buf.h"
#include "conn.h"
#include "log.h"
#include "loop.h"
#include "mem.h"
#include "tls.h"

#define CONN_CHUNK_MAX          (16 * 1024)     /* largest CONN_DATA */
#define CONN_READ_AHEAD         (16 * 1024)     /* read past a paused point */
#define CONN_CLOSE_TIMEOUT_MS   30000           /* flush limit, no idle_ms */

enum conn_state {
        ST_CONNECTING,          /* conn_connect() waiting for the socket */
        ST_HANDSHAKE,           /* TLS handshake running */
        ST_OPEN,                /* lines flow */
        ST_TLS_WAIT,            /* conn_starttls(): flushing the clear text */
        ST_CLOSING,             /* conn_close(): flushing */
        ST_CLOSED,              /* CONN_CLOSED delivered */
        ST_BROKEN,              /* CONN_ERROR delivered */
};

/* deferred work, done from the loop (kick_cb) */
#define KICK_INPUT      0x01    /* deliver buffered input */
#define KICK_SWITCH     0x02    /* start TLS now that the output is out */
#define KICK_CLOSE      0x04    /* finish conn_close() */
#define KICK_ERROR      0x08    /* report error_text */

struct conn {
        int fd;                 /* -1 once closed */
        int fd_in_bev;          /* the TLS bufferevent closes fd */
        struct bufferevent *bev;        /* NULL while connecting */
        struct event *connect_ev;       /* the socket, while connecting */
        struct evbuffer_cb_entry *out_cb;
        struct evbuffer *held;  /* output with no bufferevent to take it */
        enum conn_state state;
        conn_event_fn *cb;
        void *ctx;

        size_t line_max, out_high, out_low;
        size_t raw_left;        /* conn_read_bytes() still to deliver */
        size_t scanned;         /* input bytes known to hold no LF */
        char *scratch;          /* the line or chunk being delivered */
        size_t scratch_size;
        unsigned discarding:1;  /* dropping a too-long line up to its LF */
        unsigned paused:1;      /* conn_pause() */
        unsigned out_blocked:1; /* output above out_high: not reading */
        unsigned eof_seen:1;    /* the peer closed; tell after the lines */
        unsigned eof_told:1;
        unsigned tls_on:1;      /* handshake completed */
        unsigned implicit_tls:1;        /* connect: start TLS when up */
        unsigned wrote:1;       /* output queued since the last DRAINED */
        unsigned dead:1;        /* conn_free() inside a callback */
        int busy;               /* callbacks running on this conn */

        struct event *kick;
        int kick_flags;
        char *error_text;       /* for KICK_ERROR */
        struct event *idle_ev, *deadline_ev;
        long long idle_ms;
        long long last_io;      /* loop_now_ms() of the last byte either way */

        const struct tls_ctx *tls;      /* for the coming handshake */
        char *tls_peer_name;

        struct sockaddr_storage peer, local;
        socklen_t peer_len, local_len;
        char peer_addr[CONN_ADDR_MAX], local_addr[CONN_ADDR_MAX];
        int peer_port, local_port;
};

static void read_cb(struct bufferevent *bev, void *arg);
static void write_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);

/* Helpers. */

static struct timeval ms_to_tv(long long ms)
{
        struct timeval tv = { .tv_sec = ms / 1000,
                              .tv_usec = (ms % 1000) * 1000 };

        return tv;
}

/* drop_bev - free the bufferevent (which clears its callbacks; a TLS one
 * also closes the socket and frees its SSL) */
static void drop_bev(struct conn *c)
{
        struct evbuffer *out;

        if (c->bev == NULL)
                return;
        out = bufferevent_get_output(c->bev);
        if (c->out_cb != NULL)
                evbuffer_remove_cb_entry(out, c->out_cb);
        c->out_cb = NULL;
        bufferevent_free(c->bev);
        c->bev = NULL;
}

/* release - free what no callback can still be looking at: the socket,
 * the bufferevent, the events. The struct and the scratch buffer stay. */
static void release(struct conn *c)
{
        drop_bev(c);
        if (c->connect_ev != NULL)
                event_free(c->connect_ev);
        c->connect_ev = NULL;
        if (c->fd >= 0 && !c->fd_in_bev)
                close(c->fd);
        c->fd = -1;
        if (c->kick != NULL)
                event_free(c->kick);
        c->kick = NULL;
        if (c->idle_ev != NULL)
                event_free(c->idle_ev);
        c->idle_ev = NULL;
        if (c->deadline_ev != NULL)
                event_free(c->deadline_ev);
        c->deadline_ev = NULL;
        if (c->held != NULL)
                evbuffer_free(c->held);
        c->held = NULL;
}

static void destroy(struct conn *c)
{
        release(c);
        free(c->scratch);
        free(c->error_text);
        free(c->tls_peer_name);
        free(c);
}

/* emit - deliver one event; returns -1 if the callback freed the conn (the
 * caller must return without touching it), else 0 */
static int emit(struct conn *c, enum conn_event ev,
                const struct conn_ev_data *d)
{
        static const struct conn_ev_data none;

        c->busy++;
        c->cb(c, ev, d != NULL ? d : &none, c->ctx);
        c->busy--;
        if (!c->dead)
                return 0;
        if (c->busy == 0)
                destroy(c);
        return -1;
}

static int emit_error(struct conn *c, const char *reason)
{
        struct conn_ev_data d = { .reason = reason };

        c->state = ST_BROKEN;
        if (c->bev != NULL)
                bufferevent_disable(c->bev, EV_READ | EV_WRITE);
        if (c->idle_ev != NULL)
                evtimer_del(c->idle_ev);
        if (c->deadline_ev != NULL)
                evtimer_del(c->deadline_ev);
        return emit(c, CONN_ERROR, &d);
}

static void kick(struct conn *c, int flags)
{
        c->kick_flags |= flags;
        if (c->kick != NULL)
                event_active(c->kick, EV_TIMEOUT, 0);
}

static size_t output_len(const struct conn *c)
{
        size_t n = c->held != NULL ? evbuffer_get_length(c->held) : 0;

        if (c->bev != NULL)
                n += evbuffer_get_length(bufferevent_get_output(c->bev));
        return n;
}

/* update_read - let libevent read only when input can go somewhere */
static void update_read(struct conn *c)
{
        int want;

        if (c->bev == NULL)
                return;
        /* the handshake must read whatever is queued behind it */
        want = (c->state == ST_OPEN && !c->out_blocked) ||
               c->state == ST_HANDSHAKE;
        if (want)
                bufferevent_enable(c->bev, EV_READ);
        else
                bufferevent_disable(c->bev, EV_READ);
}

/* check_output - stop reading while too much is unsent: what a command
 * produces stays queued here, not the commands behind it */
static void check_output(struct conn *c)
{
        if (!c->out_blocked && output_len(c) > c->out_high) {
                c->out_blocked = 1;
                update_read(c);
        }
}

static void set_watermarks(struct conn *c)
{
        size_t high = c->line_max + 2 > CONN_READ_AHEAD ?
                c->line_max + 2 : CONN_READ_AHEAD;

        bufferevent_setwatermark(c->bev, EV_READ, 0, high);
        bufferevent_setwatermark(c->bev, EV_WRITE, c->out_low, 0);
}

static void out_progress(struct evbuffer *b,
                         const struct evbuffer_cb_info *info, void *arg)
{
        struct conn *c = arg;

        if (info->n_deleted > 0)
                c->last_io = loop_now_ms();
}

/* attach - make bev the conn's bufferevent and move held output into it */
static void attach(struct conn *c, struct bufferevent *bev)
{
        struct evbuffer *out = bufferevent_get_output(bev);

        c->bev = bev;
        bufferevent_setcb(bev, read_cb, write_cb, event_cb, c);
        set_watermarks(c);
        c->out_cb = evbuffer_add_cb(out, out_progress, c);
        if (c->held != NULL && evbuffer_get_length(c->held) > 0)
                evbuffer_add_buffer(out, c->held);
        update_read(c);
}

/* start_tls - put a TLS bufferevent on the socket; the handshake runs
 * from the loop. Returns -1 with reason in st. */
static int start_tls(struct conn *c, struct status *st)
{
        struct bufferevent *bev;
        int server = tls_ctx_is_server(c->tls);
        SSL *ssl;

        ssl = tls_ssl_new(c->tls, server ? NULL : c->tls_peer_name, st);
        if (ssl == NULL)
                return -1;
        /* the plain one leaves fd open (no BEV_OPT_CLOSE_ON_FREE), and
         * takes any clear text still buffered with it */
        drop_bev(c);
        bev = bufferevent_openssl_socket_new(loop_base(), c->fd, ssl,
                        server ? BUFFEREVENT_SSL_ACCEPTING :
                        BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
        if (bev == NULL) {
                SSL_free(ssl);
                return status_set(st, STATUS_TEMP, "cannot start TLS");
        }
        c->fd_in_bev = 1;
        c->eof_seen = 0;        /* whatever the clear text side saw */
        c->eof_told = 0;
        /* most mail clients just close: that is an end, not an attack */
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
        c->state = ST_HANDSHAKE;
        c->last_io = loop_now_ms();
        attach(c, bev);
        return 0;
}

static void fill_addr(const struct sockaddr_storage *ss, socklen_t len,
                      char *out, int *port_r)
{
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

        *port_r = 0;
        if (len == 0) {
                snprintf(out, CONN_ADDR_MAX, "unknown");
                return;
        }
        switch (ss->ss_family) {
        case AF_INET:
                inet_ntop(AF_INET, &s4->sin_addr, out, CONN_ADDR_MAX);
                *port_r = ntohs(s4->sin_port);
                break;
        case AF_INET6:
                if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
                        inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], out,
                                  CONN_ADDR_MAX);
                else
                        inet_ntop(AF_INET6, &s6->sin6_addr, out,
                                  CONN_ADDR_MAX);
                *port_r = ntohs(s6->sin6_port);
                break;
        case AF_UNIX:
                snprintf(out, CONN_ADDR_MAX, "unix");
                break;
        default:
                snprintf(out, CONN_ADDR_MAX, "unknown");
                break;
        }
}

static void fill_addrs(struct conn *c)
{
        c->peer_len = sizeof(c->peer);
        if (getpeername(c->fd, (struct sockaddr *)&c->peer, &c->peer_len) < 0)
                c->peer_len = 0;
        c->local_len = sizeof(c->local);
        if (getsockname(c->fd, (struct sockaddr *)&c->local,
                        &c->local_len) < 0)
                c->local_len = 0;
        fill_addr(&c->peer, c->peer_len, c->peer_addr, &c->peer_port);
        fill_addr(&c->local, c->local_len, c->local_addr, &c->local_port);
}

/* Input. */

static int can_deliver(const struct conn *c)
{
        return c->state == ST_OPEN && !c->paused && !c->out_blocked &&
               c->bev != NULL;
}

/* scratch_for - room for n bytes and a NUL (grown only between events,
 * so a pointer handed to a callback never moves under it) */
static char *scratch_for(struct conn *c, size_t n)
{
        if (c->scratch_size < n + 1) {
                c->scratch_size = n + 1;
                c->scratch = xrealloc(c->scratch, c->scratch_size);
        }
        return c->scratch;
}

/* deliver_raw - the next CONN_DATA chunk; -1 if the conn is gone */
static int deliver_raw(struct conn *c, struct evbuffer *in, size_t avail)
{
        struct conn_ev_data d = { 0 };
        size_t n = avail < c->raw_left ? avail : c->raw_left;
        char *p;

        if (n > CONN_CHUNK_MAX)
                n = CONN_CHUNK_MAX;
        p = scratch_for(c, n);
        evbuffer_remove(in, p, n);
        p[n] = '\0';
        c->scanned = 0;
        c->raw_left -= n;
        d.data = p;
        d.len = n;
        d.remaining = c->raw_left;
        return emit(c, CONN_DATA, &d);
}

/* deliver_line - the line ending at LF offset lf; -1 if the conn is gone */
static int deliver_line(struct conn *c, struct evbuffer *in, size_t lf)
{
        struct conn_ev_data d = { 0 };
        size_t len;
        char *p;

        c->scanned = 0;
        if (lf > c->line_max + 1) {
                evbuffer_drain(in, lf + 1);
                return emit(c, CONN_LINE_TOO_LONG, NULL);
        }
        p = scratch_for(c, lf + 1);
        evbuffer_remove(in, p, lf + 1);
        len = lf;
        if (len > 0 && p[len - 1] == '\r')
                len--;
        p[len] = '\0';
        if (len > c->line_max)
                return emit(c, CONN_LINE_TOO_LONG, NULL);
        d.data = p;
        d.len = len;
        return emit(c, CONN_LINE, &d);
}

/* find_lf - offset of the first LF in in, or -1; remembers how far it
 * looked so a line arriving byte by byte is not scanned again and again */
static long find_lf(struct conn *c, struct evbuffer *in, size_t avail)
{
        struct evbuffer_ptr start, pos;

        if (c->scanned >= avail)
                return -1;
        if (c->scanned > 0 &&
            evbuffer_ptr_set(in, &start, c->scanned, EVBUFFER_PTR_SET) == 0)
                pos = evbuffer_search(in, "\n", 1, &start);
        else
                pos = evbuffer_search(in, "\n", 1, NULL);
        if (pos.pos < 0) {
                c->scanned = avail;
                return -1;
        }
        return (long)pos.pos;
}

/* process_input - deliver what is buffered while the session takes it */
static void process_input(struct conn *c)
{
        int starved = 0;

        while (can_deliver(c)) {
                struct evbuffer *in = bufferevent_get_input(c->bev);
                size_t avail = evbuffer_get_length(in);
                long lf;

                if (c->raw_left > 0) {
                        if (avail == 0) {
                                starved = 1;
                                break;
                        }
                        if (deliver_raw(c, in, avail) < 0)
                                return;
                        check_output(c);
                        continue;
                }
                lf = find_lf(c, in, avail);
                if (c->discarding) {
                        evbuffer_drain(in, lf < 0 ? avail : (size_t)lf + 1);
                        c->scanned = 0;
                        if (lf < 0) {
                                starved = 1;
                                break;
                        }
                        c->discarding = 0;
                        continue;
                }
                if (lf >= 0) {
                        if (deliver_line(c, in, (size_t)lf) < 0)
                                return;
                        check_output(c);
                        continue;
                }
                /* no LF yet: line_max bytes and a CR are all a line may
                 * hold before its LF */
                if (avail > c->line_max + 1) {
                        evbuffer_drain(in, avail);
                        c->scanned = 0;
                        c->discarding = 1;
                        if (emit(c, CONN_LINE_TOO_LONG, NULL) < 0)
                                return;
                        continue;
                }
                starved = 1;
                break;
        }
        if (starved && c->eof_seen && !c->eof_told) {
                c->eof_told = 1;
                emit(c, CONN_EOF, NULL);
        }
}

/* Closing. */

/* finish_close - close the socket and say so; flushed says whether the
 * output got out (then TLS says goodbye properly) */
static void finish_close(struct conn *c, int flushed)
{
        if (c->state == ST_CLOSED)
                return;
        if (flushed && c->tls_on && c->bev != NULL) {
                SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

                /* best effort close_notify straight to the socket */
                if (ssl != NULL)
                        SSL_shutdown(ssl);
                ERR_clear_error();
        }
        c->state = ST_CLOSED;
        if (c->connect_ev != NULL)
                event_free(c->connect_ev);
        c->connect_ev = NULL;
        drop_bev(c);
        if (c->fd >= 0 && !c->fd_in_bev)
                close(c->fd);
        c->fd = -1;
        if (c->idle_ev != NULL)
                evtimer_del(c->idle_ev);
        if (c->deadline_ev != NULL)
                evtimer_del(c->deadline_ev);
        emit(c, CONN_CLOSED, NULL);
}

/* Loop callbacks. */

static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
        struct conn *c = arg;
        int flags = c->kick_flags;
        struct status st;

        c->kick_flags = 0;
        /* an error found before the loop ran, unless conn_close() came
         * first: then CONN_CLOSED is all the session waits for */
        if ((flags & KICK_ERROR) && c->state != ST_CLOSING &&
            c->state != ST_CLOSED) {
                char *reason = c->error_text;

                c->error_text = NULL;
                int gone = emit_error(c, reason != NULL ? reason : "error");
                free(reason);
                if (gone < 0)
                        return;
        }
        if ((flags & KICK_CLOSE) && c->state == ST_CLOSING) {
                finish_close(c, output_len(c) == 0);
                return;
        }
        if ((flags & KICK_SWITCH) && c->state == ST_TLS_WAIT) {
                if (c->bev != NULL) {
                        struct evbuffer *in = bufferevent_get_input(c->bev);

                        evbuffer_drain(in, evbuffer_get_length(in));
                }
                if (start_tls(c, &st) < 0) {
                        emit_error(c, st.text);
                        return;
                }
        }
        if (flags & KICK_INPUT)
                process_input(c);
}

static void idle_cb(evutil_socket_t fd, short what, void *arg)
{
        struct conn *c = arg;
        long long limit = c->state == ST_CLOSING && c->idle_ms == 0 ?
                CONN_CLOSE_TIMEOUT_MS : c->idle_ms;
        long long quiet = loop_now_ms() - c->last_io;

        if (c->state == ST_CONNECTING) {
                emit_error(c, strerror(ETIMEDOUT));
                return;
        }
        if (limit <= 0 || c->state == ST_CLOSED || c->state == ST_BROKEN)
                return;
        if (quiet < limit) {
                struct timeval tv = ms_to_tv(limit - quiet);

                evtimer_add(c->idle_ev, &tv);
                return;
        }
        if (c->state == ST_CLOSING) {
                finish_close(c, 0);
                return;
        }
        emit(c, CONN_TIMEOUT, NULL);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
        struct conn *c = arg;

        switch (c->state) {
        case ST_CLOSING:
                finish_close(c, 0);
                break;
        case ST_CLOSED:
        case ST_BROKEN:
                break;
        case ST_CONNECTING:
                emit_error(c, strerror(ETIMEDOUT));
                break;
        default:
                emit(c, CONN_DEADLINE, NULL);
                break;
        }
}

static void read_cb(struct bufferevent *bev, void *arg)
{
        struct conn *c = arg;

        c->last_io = loop_now_ms();
        if (c->state == ST_CLOSING) {
                /* no more requests; keep the buffer from filling */
                struct evbuffer *in = bufferevent_get_input(bev);

                evbuffer_drain(in, evbuffer_get_length(in));
                return;
        }
        process_input(c);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
        struct conn *c = arg;
        size_t left = output_len(c);

        switch (c->state) {
        case ST_TLS_WAIT:
                if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
                        kick(c, KICK_SWITCH);
                return;
        case ST_CLOSING:
                if (left == 0)
                        finish_close(c, 1);
                return;
        case ST_OPEN:
                break;
        default:
                return;
        }
        /* libevent also calls this when there was nothing to write */
        if (left > c->out_low || (!c->wrote && !c->out_blocked))
                return;
        c->wrote = 0;
        if (c->out_blocked) {
                c->out_blocked = 0;
                update_read(c);
        }
        if (emit(c, CONN_DRAINED, NULL) < 0)
                return;
        process_input(c);
}

/* bev_error_text - why the bufferevent failed, into out */
static const char *bev_error_text(struct conn *c, char *out, size_t size)
{
        int err = EVUTIL_SOCKET_ERROR();
        unsigned long code;
        size_t len = 0;

        out[0] = '\0';
        if (c->fd_in_bev && c->bev != NULL) {
                while ((code = bufferevent_get_openssl_error(c->bev)) != 0) {
                        char one[256];

                        tls_code_text(code, one, sizeof(one));
                        if (len + 1 < size) {
                                int n = snprintf(out + len, size - len,
                                                 "%s%s", len ? "; " : "", one);
                                if (n > 0)
                                        len += (size_t)n;
                                if (len >= size)
                                        len = size - 1;
                        }
                }
                ERR_clear_error();
        }
        if (len > 0)
                return out;
        if (err != 0)
                snprintf(out, size, "%s", strerror(err));
        else if (c->state == ST_HANDSHAKE)
                snprintf(out, size, "TLS handshake failed");
        else
                snprintf(out, size, "connection failed");
        return out;
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
        struct conn *c = arg;
        char reason[512];

        if (what & BEV_EVENT_CONNECTED) {
                if (c->state != ST_HANDSHAKE)
                        return;
                c->state = ST_OPEN;
                c->tls_on = 1;
                c->last_io = loop_now_ms();
                update_read(c);
                if (emit(c, CONN_TLS_READY, NULL) < 0)
                        return;
                process_input(c);
                return;
        }
        if (c->state == ST_CLOSING) {
                if (what & (BEV_EVENT_ERROR | BEV_EVENT_WRITING))
                        finish_close(c, 0);
                return;
        }
        if (c->state == ST_CLOSED || c->state == ST_BROKEN)
                return;
        if (what & BEV_EVENT_ERROR) {
                bev_error_text(c, reason, sizeof(reason));
                emit_error(c, reason);
                return;
        }
        if (what & BEV_EVENT_EOF) {
                if (c->state == ST_HANDSHAKE) {
                        emit_error(c, "connection closed during the TLS "
                                   "handshake");
                        return;
                }
                c->eof_seen = 1;
                if (c->state == ST_OPEN)
                        process_input(c);
        }
}

/* connect_ready - the connecting socket became writable */
static void connect_ready(evutil_socket_t fd, short what, void *arg)
{
        struct conn *c = arg;
        struct status st;
        socklen_t len = sizeof(int);
        int err = 0;

        if (c->state != ST_CONNECTING)
                return;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                err = errno;
        if (err == EINPROGRESS || err == EALREADY)
                return;
        event_free(c->connect_ev);
        c->connect_ev = NULL;
        if (err != 0) {
                emit_error(c, strerror(err));
                return;
        }
        fill_addrs(c);
        c->last_io = loop_now_ms();
        if (c->idle_ev != NULL) {
                evtimer_del(c->idle_ev);
                if (c->idle_ms > 0) {
                        struct timeval tv = ms_to_tv(c->idle_ms);

                        evtimer_add(c->idle_ev, &tv);
                }
        }
        if (c->implicit_tls) {
                if (start_tls(c, &st) < 0)
                        emit_error(c, st.text);
                return;
        }
        struct bufferevent *bev = bufferevent_socket_new(loop_base(), c->fd,
                                                         0);
        if (bev == NULL)
                log_fatal("conn: bufferevent_socket_new failed");
        c->state = ST_OPEN;
        attach(c, bev);
        if (emit(c, CONN_CONNECTED, NULL) < 0)
                return;
        check_output(c);
}

/* Setting up. */

static struct conn *conn_alloc(int fd, const struct conn_opts *opts,
                               conn_event_fn *cb, void *ctx)
{
        static const struct conn_opts defaults;
        struct conn *c = xcalloc(1, sizeof(*c));

        if (opts == NULL)
                opts = &defaults;
        c->fd = fd;
        c->cb = cb;
        c->ctx = ctx;
        c->line_max = opts->line_max ? opts->line_max : CONN_LINE_MAX_DEFAULT;
        c->out_high = opts->out_high ? opts->out_high : CONN_OUT_HIGH_DEFAULT;
        c->out_low = opts->out_low ? opts->out_low :
                (opts->out_high ? opts->out_high / 4 : CONN_OUT_LOW_DEFAULT);
        if (c->out_low >= c->out_high)
                c->out_low = c->out_high / 2;
        c->idle_ms = opts->idle_ms;
        c->last_io = loop_now_ms();
        c->tls = opts->tls;
        if (opts->tls_peer_name != NULL)
                c->tls_peer_name = xstrdup(opts->tls_peer_name);
        c->held = evbuffer_new();
        c->kick = event_new(loop_base(), -1, 0, kick_cb, c);
        c->idle_ev = evtimer_new(loop_base(), idle_cb, c);
        c->deadline_ev = evtimer_new(loop_base(), deadline_cb, c);
        if (c->held == NULL || c->kick == NULL || c->idle_ev == NULL ||
            c->deadline_ev == NULL)
                log_fatal("conn: cannot allocate events");
        snprintf(c->peer_addr, sizeof(c->peer_addr), "unknown");
        snprintf(c->local_addr, sizeof(c->local_addr), "unknown");
        if (c->idle_ms > 0) {
                struct timeval tv = ms_to_tv(c->idle_ms);

                evtimer_add(c->idle_ev, &tv);
        }
        if (opts->deadline_ms > 0) {
                struct timeval tv = ms_to_tv(opts->deadline_ms);

                evtimer_add(c->deadline_ev, &tv);
        }
        return c;
}

struct conn *conn_new(int fd, const struct conn_opts *opts, conn_event_fn *cb,
                      void *ctx)
{
        struct conn *c = conn_alloc(fd, opts, cb, ctx);
        struct status st;

        evutil_make_socket_nonblocking(fd);
        fill_addrs(c);
        if (c->tls != NULL) {
                if (start_tls(c, &st) < 0) {
                        c->state = ST_BROKEN;
                        c->error_text = xstrdup(st.text);
                        kick(c, KICK_ERROR);
                }
                return c;
        }
        struct bufferevent *bev = bufferevent_socket_new(loop_base(), fd, 0);
        if (bev == NULL)
                log_fatal("conn: bufferevent_socket_new failed");
        c->state = ST_OPEN;
        attach(c, bev);
        return c;
}

struct conn *conn_connect(const struct sockaddr *sa, socklen_t salen,
                          long long timeout_ms, const struct conn_opts *opts,
                          conn_event_fn *cb, void *ctx, struct status *st)
{
        struct conn *c;
        int fd;

        fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
        if (fd < 0) {
                status_set(st, STATUS_LOCAL_IO, "socket: %m");
                return NULL;
        }
        c = conn_alloc(fd, opts, cb, ctx);
        c->state = ST_CONNECTING;
        c->implicit_tls = c->tls != NULL;
        if (timeout_ms > 0) {
                struct timeval tv = ms_to_tv(timeout_ms);

                evtimer_add(c->idle_ev, &tv);
        } else {
                evtimer_del(c->idle_ev);
        }
        if (connect(fd, sa, salen) < 0 && errno != EINPROGRESS) {
                c->error_text = xstrdup(strerror(errno));
                kick(c, KICK_ERROR);
                return c;
        }
        /* writable means connected or failed (SO_ERROR tells) */
        c->connect_ev = event_new(loop_base(), fd, EV_WRITE, connect_ready, c);
        if (c->connect_ev == NULL || event_add(c->connect_ev, NULL) < 0)
                log_fatal("conn: cannot watch a connecting socket");
        return c;
}

void conn_free(struct conn **cp)
{
        struct conn *c;

        if (cp == NULL || *cp == NULL)
                return;
        c = *cp;
        *cp = NULL;
        if (c->dead)
                return;
        /* no event can come after this; the memory waits for the callback
         * that is running, if any, to return */
        release(c);
        if (c->busy > 0)
                c->dead = 1;
        else
                destroy(c);
}

void conn_set_callback(struct conn *c, conn_event_fn *cb, void *ctx)
{
        c->cb = cb;
        c->ctx = ctx;
}

int conn_write(struct conn *c, const void *data, size_t len)
{
        switch (c->state) {
        case ST_CLOSING:
        case ST_CLOSED:
        case ST_BROKEN:
                return -1;
        default:
                break;
        }
        if (len == 0)
                return 0;
        c->wrote = 1;
        if (c->bev == NULL || c->state == ST_TLS_WAIT) {
                if (evbuffer_add(c->held, data, len) < 0)
                        log_fatal("conn: out of memory queueing %zu bytes",
                                  len);
        } else if (bufferevent_write(c->bev, data, len) < 0) {
                log_fatal("conn: out of memory queueing %zu bytes", len);
        }
        check_output(c);
        return 0;
}

int conn_printf(struct conn *c, const char *fmt, ...)
{
        struct buf b;
        va_list ap;
        int ret;

        buf_init(&b, 0);
        va_start(ap, fmt);
        ret = buf_vprintf(&b, fmt, ap);
        va_end(ap);
        if (ret == 0)
                ret = conn_write(c, b.data, b.len);
        buf_release(&b);
        return ret;
}

void conn_close(struct conn *c)
{
        switch (c->state) {
        case ST_CLOSING:
        case ST_CLOSED:
                return;
        case ST_OPEN:
        case ST_HANDSHAKE:
                break;
        default:
                /* nothing worth flushing: connecting, broken, or the clear
                 * text before a TLS switch that will not happen */
                if (c->held != NULL)
                        evbuffer_drain(c->held,
                                       evbuffer_get_length(c->held));
                if (c->bev != NULL) {
                        struct evbuffer *out = bufferevent_get_output(c->bev);

                        evbuffer_drain(out, evbuffer_get_length(out));
                }
                break;
        }
        c->state = ST_CLOSING;
        c->paused = 1;
        if (c->bev != NULL) {
                struct evbuffer *in = bufferevent_get_input(c->bev);

                evbuffer_drain(in, evbuffer_get_length(in));
                update_read(c);
        }
        c->last_io = loop_now_ms();
        if (c->idle_ev != NULL) {
                long long limit = c->idle_ms > 0 ? c->idle_ms :
                        CONN_CLOSE_TIMEOUT_MS;
                struct timeval tv = ms_to_tv(limit);

                evtimer_add(c->idle_ev, &tv);
        }
        if (c->bev == NULL || output_len(c) == 0)
                kick(c, KICK_CLOSE);
}

void conn_read_bytes(struct conn *c, size_t n)
{
        c->raw_left = n;
        c->discarding = 0;
        c->scanned = 0;
        /* bytes may be buffered already; called outside a callback,
         * nothing else would deliver them */
        if (c->busy == 0 && c->state == ST_OPEN)
                kick(c, KICK_INPUT);
}

void conn_pause(struct conn *c)
{
        if (c->state == ST_CLOSING || c->state == ST_CLOSED)
                return;
        c->paused = 1;
}

void conn_resume(struct conn *c)
{
        if (c->state == ST_CLOSING || c->state == ST_CLOSED || !c->paused)
                return;
        c->paused = 0;
        kick(c, KICK_INPUT);
}

void conn_set_timeout(struct conn *c, long long idle_ms)
{
        c->idle_ms = idle_ms > 0 ? idle_ms : 0;
        c->last_io = loop_now_ms();
        if (c->idle_ev == NULL || c->state == ST_CONNECTING)
                return;
        if (c->idle_ms > 0) {
                struct timeval tv = ms_to_tv(c->idle_ms);

                evtimer_add(c->idle_ev, &tv);
        } else if (c->state != ST_CLOSING) {
                evtimer_del(c->idle_ev);
        }
}

void conn_set_deadline(struct conn *c, long long msecs)
{
        if (c->deadline_ev == NULL)
                return;
        if (msecs > 0) {
                struct timeval tv = ms_to_tv(msecs);

                evtimer_add(c->deadline_ev, &tv);
        } else {
                evtimer_del(c->deadline_ev);
        }
}

void conn_set_line_max(struct conn *c, size_t line_max)
{
        c->line_max = line_max > 0 ? line_max : CONN_LINE_MAX_DEFAULT;
        if (c->bev != NULL)
                set_watermarks(c);
}

int conn_starttls(struct conn *c, const struct tls_ctx *ctx,
                  const char *peer_name, size_t *discarded_r,
                  struct status *st)
{
        size_t n = 0;

        if (discarded_r != NULL)
                *discarded_r = 0;
        if (c->state != ST_OPEN || c->fd_in_bev || c->bev == NULL)
                return status_set(st, STATUS_PERM, "%s",
                                  c->fd_in_bev ? "TLS is already active" :
                                  "connection is not open");
        if (tls_ctx_is_server(ctx) && peer_name != NULL)
                log_panic("conn_starttls: a peer name with a server context");
        /* RFC 3207 section 4.2 / RFC 2595 section 3.1: nothing sent before
         * the switch may count as sent after it */
        struct evbuffer *in = bufferevent_get_input(c->bev);
        n = evbuffer_get_length(in);
        evbuffer_drain(in, n);
        if (discarded_r != NULL)
                *discarded_r = n;
        c->raw_left = 0;
        c->discarding = 0;
        c->scanned = 0;
        c->eof_seen = 0;
        c->tls = ctx;
        free(c->tls_peer_name);
        c->tls_peer_name = peer_name != NULL ? xstrdup(peer_name) : NULL;
        c->state = ST_TLS_WAIT;
        c->last_io = loop_now_ms();
        update_read(c);
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
                kick(c, KICK_SWITCH);
        return 0;
}

int conn_tls_active(const struct conn *c)
{
        return c->tls_on && c->bev != NULL;
}

int conn_tls_info(const struct conn *c, struct conn_tls_info *info_r)
{
        const SSL_CIPHER *cipher;
        SSL *ssl;

        memset(info_r, 0, sizeof(*info_r));
        if (!conn_tls_active(c) ||
            (ssl = bufferevent_openssl_get_ssl(c->bev)) == NULL)
                return -1;
        cipher = SSL_get_current_cipher(ssl);
        info_r->protocol = SSL_get_version(ssl);
        info_r->cipher = cipher != NULL ? SSL_CIPHER_get_name(cipher) :
                "unknown";
        info_r->bits = cipher != NULL ?
                SSL_CIPHER_get_bits(cipher, &info_r->alg_bits) : 0;
        info_r->trust = tls_ssl_trust(ssl, &info_r->verify_error);
        if (SSL_is_server(ssl))
                info_r->sni = SSL_get_servername(ssl,
                                                 TLSEXT_NAMETYPE_host_name);
        return 0;
}

const char *conn_tls_describe(const struct conn *c, char *out, size_t size)
{
        struct conn_tls_info info;

        if (size == 0)
                return out;
        if (conn_tls_info(c, &info) < 0)
                out[0] = '\0';
        else
                snprintf(out, size, "%s with cipher %s (%d/%d bits)",
                         info.protocol, info.cipher, info.bits,
                         info.alg_bits);
        return out;
}

size_t conn_input_pending(const struct conn *c)
{
        if (c->bev == NULL)
                return 0;
        return evbuffer_get_length(bufferevent_get_input(c->bev));
}

size_t conn_output_pending(const struct conn *c)
{
        return output_len(c);
}

const char *conn_peer_addr(const struct conn *c)
{
        return c->peer_addr;
}

const char *conn_local_addr(const struct conn *c)
{
        return c->local_addr;
}

int conn_peer_port(const struct conn *c)
{
        return c->peer_port;
}

int conn_local_port(const struct conn *c)
{
        return c->local_port;
}

const struct sockaddr *conn_peer_sockaddr(const struct conn *c,
                                          socklen_t *len_r)
{
        *len_r = c->peer_len;
        return (const struct sockaddr *)&c->peer;
}

int conn_fd(const struct conn *c)
{
        return c->fd;
}

int conn_detach(struct conn **cp, struct buf *pending, struct status *st)
{
        struct conn *c = *cp;
        struct evbuffer *in;
        size_t n;
        int fd;

        if (c->state != ST_OPEN || c->fd_in_bev || c->bev == NULL)
                return status_set(st, STATUS_PERM, "conn_detach: not a "
                                  "plain open connection");
        if (output_len(c) > 0)
                return status_set(st, STATUS_TEMP, "conn_detach: output "
                                  "still queued");
        in = bufferevent_get_input(c->bev);
        n = evbuffer_get_length(in);
        if (n > 0 && buf_append(pending, evbuffer_pullup(in, (ssize_t)n),
                                n) < 0)
                return status_set(st, STATUS_TEMP, "conn_detach: %zu bytes "
                                  "of input do not fit", n);
        /* the plain bufferevent does not own the socket: freeing the conn
         * without it leaves the socket open */
        fd = c->fd;
        c->fd = -1;
        conn_free(cp);
        return fd;
}

void conn_unread(struct conn *c, const void *data, size_t len)
{
        if (len == 0 || c->bev == NULL)
                return;
        if (evbuffer_prepend(bufferevent_get_input(c->bev), data, len) < 0)
                log_fatal("conn: out of memory unreading %zu bytes", len);
        c->scanned = 0;
        kick(c, KICK_INPUT);
}

const char *conn_event_name(enum conn_event ev)
{
        switch (ev) {
        case CONN_LINE:
                return "LINE";
        case CONN_LINE_TOO_LONG:
                return "LINE_TOO_LONG";
        case CONN_DATA:
                return "DATA";
        case CONN_DRAINED:
                return "DRAINED";
        case CONN_TIMEOUT:
                return "TIMEOUT";
        case CONN_DEADLINE:
                return "DEADLINE";
        case CONN_EOF:
                return "EOF";
        case CONN_ERROR:
                return "ERROR";
        case CONN_CONNECTED:
                return "CONNECTED";
        case CONN_TLS_READY:
                return "TLS_READY";
        case CONN_CLOSED:
                return "CLOSED";
        }
        return "?";
}
