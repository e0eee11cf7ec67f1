/* plain_conn.c - a connection without TLS for per-user session programs
 * Used by: the imap session (imap_client.c, imap_compress.c), through
 * login_session_plain_conn(). The session never speaks TLS itself (the
 * front end keeps a TLS session and relays plaintext), so it needs none
 * of conn.c's bufferevent and OpenSSL layers, whose libraries alone cost
 * every session process hundreds of KiB of relocated data. Same events
 * and rules as conn.h: lines (CR LF or LF removed, NUL after them),
 * counted raw chunks after plain_conn_read_bytes(), reading paused above
 * the output high-water mark, an idle timeout, events only from the loop
 * and plain_conn_free() allowed inside the callback. Reads and writes the
 * socket it is given; parses nothing beyond line ends. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop.h"
#include "mem.h"
#include "plain_conn.h"

#define PLAIN_CONN_READ_CHUNK   16384   /* bytes per read(2) */

struct plain_conn {
        int fd;
        struct conn_opts opts;
        plain_conn_event_fn *cb;
        void *ctx;
        struct loop_fd *rd, *wr;        /* watchers, present while wanted */
        struct loop_timer *idle;        /* the idle timeout */
        struct loop_timer *soon;        /* delivery from the loop */
        char *in;                       /* input bytes [in_off, in_len) */
        size_t in_off, in_len, in_size;
        char *out;                      /* output bytes [out_off, out_len) */
        size_t out_off, out_len, out_size;
        size_t raw_left;                /* plain_conn_read_bytes() */
        const char *error;              /* CONN_ERROR to report */
        unsigned int paused:1, eof:1, eof_told:1, skipping:1, closing:1,
                     closed:1, above_low:1, in_cb:1, dead:1, timed_out:1,
                     corked:1;
};

/* replies to one batch of input go out together, in one write(2) when
 * they fit in this many bytes */
#define PLAIN_CONN_CORK_MAX     65536

static void update_watch(struct plain_conn *c);

/* emit - one event; 0, or -1 when the callback freed the conn */
static int emit(struct plain_conn *c, enum conn_event ev,
                const struct conn_ev_data *d)
{
        static const struct conn_ev_data none;

        c->in_cb = 1;
        c->cb(c, ev, d != NULL ? d : &none, c->ctx);
        c->in_cb = 0;
        if (c->dead) {
                c->dead = 0;
                plain_conn_free(&c);
                return -1;
        }
        return 0;
}

static void schedule(struct plain_conn *c)
{
        if (!loop_timer_pending(c->soon))
                loop_timer_start(c->soon, 0);
}

static void touch(struct plain_conn *c)
{
        c->timed_out = 0;
        if (c->opts.idle_ms > 0)
                loop_timer_start(c->idle, c->opts.idle_ms);
}

/* deliver - input events while not paused; 0, or -1 when freed */
static int deliver(struct plain_conn *c)
{
        while (!c->paused && !c->closing) {
                size_t avail = c->in_len - c->in_off;
                char *p = c->in + c->in_off;
                struct conn_ev_data d;

                memset(&d, 0, sizeof(d));
                if (c->raw_left > 0 && avail > 0) {
                        size_t n = avail < c->raw_left ? avail : c->raw_left;
                        c->raw_left -= n;
                        c->in_off += n;
                        d.data = p;
                        d.len = n;
                        d.remaining = c->raw_left;
                        if (emit(c, CONN_DATA, &d) < 0)
                                return -1;
                        continue;
                }
                if (c->raw_left > 0)
                        break;
                char *lf = avail > 0 ? memchr(p, '\n', avail) : NULL;
                if (lf == NULL) {
                        if (avail > c->opts.line_max && !c->skipping) {
                                c->skipping = 1;
                                c->in_off = c->in_len;
                                if (emit(c, CONN_LINE_TOO_LONG, NULL) < 0)
                                        return -1;
                                continue;
                        }
                        if (c->skipping)
                                c->in_off = c->in_len;
                        break;
                }
                size_t len = (size_t)(lf - p);
                c->in_off += len + 1;
                if (c->skipping) {
                        c->skipping = 0;
                        continue;
                }
                if (len > 0 && p[len - 1] == '\r')
                        len--;
                if (len > c->opts.line_max) {
                        if (emit(c, CONN_LINE_TOO_LONG, NULL) < 0)
                                return -1;
                        continue;
                }
                p[len] = '\0';
                d.data = p;
                d.len = len;
                if (emit(c, CONN_LINE, &d) < 0)
                        return -1;
        }
        if (c->in_off == c->in_len)
                c->in_off = c->in_len = 0;
        if (c->eof && !c->eof_told && !c->paused && !c->closing &&
            c->in_off == c->in_len) {
                c->eof_told = 1;
                return emit(c, CONN_EOF, NULL);
        }
        return 0;
}

/* on_soon - what the loop delivers: errors, closing, buffered input */
static void on_soon(void *ctx)
{
        struct plain_conn *c = ctx;

        if (c->error != NULL) {
                struct conn_ev_data d = { .reason = c->error };
                c->closing = 1;
                update_watch(c);
                (void)emit(c, CONN_ERROR, &d);
                return;
        }
        if (c->closed) {
                (void)emit(c, CONN_CLOSED, NULL);
                return;
        }
        if (deliver(c) < 0)
                return;
        update_watch(c);
}

static void on_idle(void *ctx)
{
        struct plain_conn *c = ctx;

        if (c->timed_out)
                return;
        c->timed_out = 1;
        (void)emit(c, CONN_TIMEOUT, NULL);
}

static void fail(struct plain_conn *c, int err)
{
        if (c->error == NULL)
                c->error = strerror(err);
        schedule(c);
}

/* flush - write what is queued; drained and closed states follow */
static void flush(struct plain_conn *c)
{
        while (c->out_off < c->out_len && c->error == NULL) {
                ssize_t n = write(c->fd, c->out + c->out_off,
                                  c->out_len - c->out_off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN && errno != EWOULDBLOCK)
                                fail(c, errno);
                        break;
                }
                c->out_off += (size_t)n;
                touch(c);
        }
        if (c->out_off == c->out_len)
                c->out_off = c->out_len = 0;
}

static void after_output(struct plain_conn *c)
{
        size_t pending = c->out_len - c->out_off;

        if (c->closing && pending == 0 && !c->closed && c->error == NULL) {
                (void)shutdown(c->fd, SHUT_WR);
                c->closed = 1;
                schedule(c);
        }
        if (c->above_low && pending <= c->opts.out_low) {
                c->above_low = 0;
                if (!c->closing) {
                        update_watch(c);
                        (void)emit(c, CONN_DRAINED, NULL);
                        return;
                }
        }
        update_watch(c);
}

static void on_fd(int fd, int events, void *ctx)
{
        struct plain_conn *c = ctx;

        if (events & LOOP_WRITE) {
                flush(c);
                after_output(c);
                return;
        }
        if (c->in_size - c->in_len < PLAIN_CONN_READ_CHUNK) {
                if (c->in_off > 0) {
                        memmove(c->in, c->in + c->in_off,
                                c->in_len - c->in_off);
                        c->in_len -= c->in_off;
                        c->in_off = 0;
                }
                if (c->in_size - c->in_len < PLAIN_CONN_READ_CHUNK) {
                        c->in_size = c->in_len + PLAIN_CONN_READ_CHUNK + 1;
                        c->in = xrealloc(c->in, c->in_size);
                }
        }
        ssize_t n = read(fd, c->in + c->in_len,
                         c->in_size - c->in_len - 1);
        if (n < 0) {
                if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
                        fail(c, errno);
                return;
        }
        touch(c);
        if (n == 0)
                c->eof = 1;
        c->in_len += (size_t)n;
        c->corked = 1;
        if (deliver(c) < 0)
                return;
        c->corked = 0;
        /* all of it taken: a connection waiting for its client keeps no
         * read buffer (deliver() hands out nothing that outlives it) */
        if (c->in_off == c->in_len && c->in != NULL) {
                free(c->in);
                c->in = NULL;
                c->in_size = c->in_len = c->in_off = 0;
        }
        if (c->wr == NULL && c->out_off < c->out_len) {
                /* the replies, then what follows a write event */
                flush(c);
                after_output(c);
                return;
        }
        update_watch(c);
}

/* update_watch - read while wanted and input is bounded, write while
 * something is queued */
static void update_watch(struct plain_conn *c)
{
        size_t pending_in = c->in_len - c->in_off;
        int want_rd = !c->eof && !c->closing && c->error == NULL &&
                      c->out_len - c->out_off <= c->opts.out_high &&
                      (!c->paused || pending_in <= c->opts.line_max);
        size_t pending_out = c->out_len - c->out_off;
        int want_wr = pending_out > 0 && c->error == NULL &&
                      (!c->corked || pending_out >= PLAIN_CONN_CORK_MAX);

        if (want_rd && c->rd == NULL)
                c->rd = loop_fd_new(c->fd, LOOP_READ, on_fd, c);
        else if (!want_rd && c->rd != NULL)
                loop_fd_free(&c->rd);
        if (want_wr && c->wr == NULL)
                c->wr = loop_fd_new(c->fd, LOOP_WRITE, on_fd, c);
        else if (!want_wr && c->wr != NULL)
                loop_fd_free(&c->wr);
}

struct plain_conn *plain_conn_new(int fd, const struct conn_opts *opts,
                                  plain_conn_event_fn *cb, void *ctx)
{
        struct plain_conn *c = xcalloc(1, sizeof(*c));
        int fl = fcntl(fd, F_GETFL);

        if (fl >= 0)
                (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        c->fd = fd;
        if (opts != NULL)
                c->opts = *opts;
        if (c->opts.line_max == 0)
                c->opts.line_max = CONN_LINE_MAX_DEFAULT;
        if (c->opts.out_high == 0)
                c->opts.out_high = CONN_OUT_HIGH_DEFAULT;
        if (c->opts.out_low == 0 && opts == NULL)
                c->opts.out_low = CONN_OUT_LOW_DEFAULT;
        c->cb = cb;
        c->ctx = ctx;
        c->idle = loop_timer_new(on_idle, c);
        c->soon = loop_timer_new(on_soon, c);
        touch(c);
        update_watch(c);
        return c;
}

void plain_conn_free(struct plain_conn **cp)
{
        struct plain_conn *c;

        if (cp == NULL || *cp == NULL)
                return;
        c = *cp;
        *cp = NULL;
        if (c->in_cb) {
                /* freed by emit() once the callback returns */
                c->dead = 1;
                c->cb = NULL;
                loop_fd_free(&c->rd);
                loop_fd_free(&c->wr);
                return;
        }
        loop_fd_free(&c->rd);
        loop_fd_free(&c->wr);
        loop_timer_free(&c->idle);
        loop_timer_free(&c->soon);
        if (c->fd >= 0)
                close(c->fd);
        free(c->in);
        free(c->out);
        free(c);
}

int plain_conn_write(struct plain_conn *c, const void *data, size_t len)
{
        if (c->closing || c->error != NULL || c->dead)
                return -1;
        if (len == 0)
                return 0;
        if (c->out_size - c->out_len < len) {
                /* move what is unsent to the front only when that frees
                 * at least as much as it moves: else every small reply
                 * behind a slow reader would move the whole buffer */
                if (c->out_off > 0 &&
                    c->out_off >= c->out_len - c->out_off) {
                        memmove(c->out, c->out + c->out_off,
                                c->out_len - c->out_off);
                        c->out_len -= c->out_off;
                        c->out_off = 0;
                }
                if (c->out_size - c->out_len < len) {
                        size_t want = c->out_size > 0 ? c->out_size : 4096;
                        while (want - c->out_len < len)
                                want *= 2;
                        c->out = xrealloc(c->out, want);
                        c->out_size = want;
                }
        }
        memcpy(c->out + c->out_len, data, len);
        c->out_len += len;
        /* no event: only bytes go out; while input is being answered,
         * only once enough has gathered */
        if (c->wr == NULL && (!c->corked ||
                              c->out_len - c->out_off >= PLAIN_CONN_CORK_MAX))
                flush(c);
        if (c->out_len - c->out_off > c->opts.out_low)
                c->above_low = 1;
        if (c->out_len == 0 && c->out_size > 65536) {
                /* a large reply went out: give the memory back */
                free(c->out);
                c->out = NULL;
                c->out_size = 0;
        }
        update_watch(c);
        return 0;
}

void plain_conn_close(struct plain_conn *c)
{
        if (c->closing)
                return;
        c->closing = 1;
        touch(c);       /* the idle timeout bounds the flush too */
        if (c->error == NULL && c->out_off == c->out_len) {
                (void)shutdown(c->fd, SHUT_WR);
                c->closed = 1;
                schedule(c);
        }
        update_watch(c);
}

void plain_conn_read_bytes(struct plain_conn *c, size_t n)
{
        c->raw_left = n;
        schedule(c);
}

void plain_conn_pause(struct plain_conn *c)
{
        c->paused = 1;
        update_watch(c);
}

void plain_conn_resume(struct plain_conn *c)
{
        c->paused = 0;
        schedule(c);
        update_watch(c);
}

size_t plain_conn_output_pending(const struct plain_conn *c)
{
        return c->out_len - c->out_off;
}

void plain_conn_unread(struct plain_conn *c, const void *data, size_t len)
{
        size_t have = c->in_len - c->in_off;
        char *in;

        if (len == 0)
                return;
        in = xmalloc(have + len + 1);
        memcpy(in, data, len);
        if (have > 0)
                memcpy(in + len, c->in + c->in_off, have);
        free(c->in);
        c->in = in;
        c->in_off = 0;
        c->in_len = have + len;
        c->in_size = have + len + 1;
        schedule(c);
}
