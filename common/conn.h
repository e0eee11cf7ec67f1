/* conn.h - one network connection: lines in, bytes out, named events
 * Used by: smtpd, imapd, pop3d, the smtp client and authd's socket. Wraps a
 * libevent bufferevent (plain, or OpenSSL for TLS) and reports everything
 * through one callback as a named event, so a session is a switch on
 * enum conn_event. Input arrives as whole lines (CR LF or bare LF removed,
 * binary-safe, each no longer than line_max) or, after conn_read_bytes(),
 * as counted raw chunks. Reading pauses while unsent output is above a
 * high-water mark and resumes when it drains, so a client that pipelines
 * and never reads cannot make us buffer without bound. Each connection has
 * an idle timeout and a session deadline.
 *
 * Events are only ever delivered from the loop, never from inside a conn_*
 * call, and the callback may call conn_free() on its own conn at any time:
 * nothing touches the conn afterwards. The process must ignore SIGPIPE
 * (daemon_init() does); write failures arrive as CONN_ERROR. */
#ifndef YUBIN_CONN_H
#define YUBIN_CONN_H

#include <stddef.h>
#include <sys/socket.h>

#include "buf.h"
#include "status.h"
#include "tls.h"

/* Defaults for struct conn_opts fields left 0. */
#define CONN_LINE_MAX_DEFAULT   2048            /* bytes, without CR LF */
#define CONN_OUT_HIGH_DEFAULT   (64 * 1024)     /* pause reading above */
#define CONN_OUT_LOW_DEFAULT    (16 * 1024)     /* resume at or below */
#define CONN_ADDR_MAX           64              /* longest address text */

enum conn_event {
        CONN_LINE,              /* data/len: one line without its ending;
                                 * NUL-terminated at len (it may hold NULs) */
        CONN_LINE_TOO_LONG,     /* a line grew past line_max: reported once,
                                 * its bytes are dropped up to and including
                                 * the next LF, then lines flow again */
        CONN_DATA,              /* after conn_read_bytes(): data/len is the
                                 * next chunk, remaining what is still to
                                 * come; after the last, lines flow again */
        CONN_DRAINED,           /* unsent output fell to the low-water mark
                                 * (out_low; with out_low 0: all sent) */
        CONN_TIMEOUT,           /* idle_ms passed without a byte either way;
                                 * fires once (I/O or conn_set_timeout()
                                 * arms it again) */
        CONN_DEADLINE,          /* the session deadline passed */
        CONN_EOF,               /* the peer closed its side; complete lines
                                 * read before are delivered first */
        CONN_ERROR,             /* reason: e.g. "Connection reset by peer",
                                 * a TLS handshake failure, or for
                                 * conn_connect() "Connection refused" /
                                 * "Connection timed out" */
        CONN_CONNECTED,         /* conn_connect(): the connection is up */
        CONN_TLS_READY,         /* the TLS handshake completed (after
                                 * conn_starttls(), on an implicit-TLS
                                 * accept, or an implicit-TLS connect) */
        CONN_CLOSED,            /* conn_close() finished (flushed, or gave up
                                 * on a timeout or error); the descriptor is
                                 * closed; call conn_free() */
};

/* What comes with an event; fields not named for it are 0/NULL. Borrowed:
 * valid until the callback returns. */
struct conn_ev_data {
        const char *data;       /* CONN_LINE, CONN_DATA */
        size_t len;
        size_t remaining;       /* CONN_DATA: bytes still to come after this
                                 * chunk (0 on the last) */
        const char *reason;     /* CONN_ERROR */
};

/* Options; a zeroed struct (or NULL) gives the defaults. */
struct conn_opts {
        size_t line_max;        /* longest line, without CR LF */
        size_t out_high;        /* pause reading while more is unsent */
        size_t out_low;         /* resume reading and report CONN_DRAINED at
                                 * or below this; must be < out_high */
        long long idle_ms;      /* 0: no idle timeout */
        long long deadline_ms;  /* from creation; 0: none */
        /* Implicit TLS: with a server context the handshake starts at once
         * (ports 465, 993, 995); with a client context likewise, sending
         * tls_peer_name as SNI and checking the certificate against it.
         * CONN_TLS_READY says when it is done. Borrowed; the context must
         * outlive the conn. */
        const struct tls_ctx *tls;
        const char *tls_peer_name;
};

/* What the TLS layer can say about a connection (conn_tls_info()). */
struct conn_tls_info {
        const char *protocol;   /* "TLSv1.3" */
        const char *cipher;     /* "TLS_AES_256_GCM_SHA384" */
        int bits;               /* secret bits used, 256 */
        int alg_bits;           /* bits of the algorithm, 256 */
        enum tls_trust trust;   /* client side: how far the server's
                                 * certificate was checked */
        const char *verify_error; /* client side: why it is not Verified,
                                 * e.g. "certificate has expired"; or NULL */
        const char *sni;        /* server side: the host name the client
                                 * asked for (RFC 6066 SNI), or NULL */
};

struct conn;

/* The one callback: ev says what happened, d carries its data (never
 * NULL), ctx is what the conn was given. */
typedef void conn_event_fn(struct conn *c, enum conn_event ev,
                           const struct conn_ev_data *d, void *ctx);

/* conn_new - wrap an accepted (or otherwise connected) socket. Takes
 * ownership of fd (made non-blocking; closed by conn_free()); opts is
 * borrowed; ctx is passed to cb unchanged. Returns a new conn, free with
 * conn_free(). Reading starts when the loop runs. */
struct conn *conn_new(int fd, const struct conn_opts *opts, conn_event_fn *cb,
                      void *ctx);
/* conn_connect - start a non-blocking TCP connect to sa (borrowed; name
 * resolution is the caller's), giving up after timeout_ms (0: the kernel's
 * limit). Returns a new conn (free with conn_free()), then CONN_CONNECTED
 * or CONN_ERROR arrives; with opts->tls, CONN_TLS_READY instead of
 * CONN_CONNECTED. Returns NULL with st set if no socket can be made. */
struct conn *conn_connect(const struct sockaddr *sa, socklen_t salen,
                          long long timeout_ms, const struct conn_opts *opts,
                          conn_event_fn *cb, void *ctx, struct status *st);
/* conn_free - close at once (unsent output is lost) and free *cp; clears
 * *cp; accepts NULL. Safe inside the conn's own callback: no event follows
 * and the memory goes when the callback returns. */
void conn_free(struct conn **cp);
/* conn_set_callback - deliver future events to cb with ctx */
void conn_set_callback(struct conn *c, conn_event_fn *cb, void *ctx);

/* conn_write - queue len bytes of data (copied). Returns 0, or -1 if the
 * conn can no longer send (closing, or after CONN_ERROR). */
int conn_write(struct conn *c, const void *data, size_t len);
/* conn_printf - queue formatted text; as conn_write() */
int conn_printf(struct conn *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* conn_close - stop reading, send what is queued, then close the socket
 * (TLS: with a close_notify) and deliver CONN_CLOSED, the last event.
 * The idle timeout and the deadline still apply while it flushes. */
void conn_close(struct conn *c);

/* conn_read_bytes - deliver the next n input bytes as CONN_DATA chunks
 * instead of lines (an IMAP literal, an SMTP BDAT chunk), then go back to
 * lines. Usually called from the CONN_LINE that announced them. */
void conn_read_bytes(struct conn *c, size_t n);
/* conn_pause - deliver no input events (CONN_LINE, CONN_DATA,
 * CONN_LINE_TOO_LONG, CONN_EOF) until conn_resume(), e.g. while a command
 * waits for a lookup; at most a bounded amount is read ahead meanwhile */
void conn_pause(struct conn *c);
/* conn_resume - undo conn_pause(); buffered input is delivered from the
 * loop, not from inside this call */
void conn_resume(struct conn *c);

/* conn_set_timeout - idle timeout in milliseconds from now (0: none) */
void conn_set_timeout(struct conn *c, long long idle_ms);
/* conn_set_deadline - the session must end within msecs from now
 * (0: none) */
void conn_set_deadline(struct conn *c, long long msecs);
/* conn_set_line_max - change the longest line accepted, e.g. after AUTH */
void conn_set_line_max(struct conn *c, size_t line_max);

/* conn_starttls - switch to TLS with ctx (borrowed; must outlive the conn),
 * after what is already queued for output has been sent in the clear.
 * Input read but not yet delivered is discarded, so that commands a client
 * pipelined after STARTTLS are never run as if they came over TLS
 * (CVE-2011-0411); *discarded_r (may be NULL) gets their byte count.
 * Output written before CONN_TLS_READY is held and sent encrypted. For a
 * server context peer_name must be NULL; for a client one it is the name
 * sent as SNI and checked against the certificate (borrowed; NULL: none).
 * Returns 0 (then CONN_TLS_READY or CONN_ERROR follows), or -1 with st
 * set (TLS already active, conn closing or broken). */
int conn_starttls(struct conn *c, const struct tls_ctx *ctx,
                  const char *peer_name, size_t *discarded_r,
                  struct status *st);
/* conn_tls_active - 1 once the handshake completed, else 0 */
int conn_tls_active(const struct conn *c);
/* conn_tls_info - fill *info_r (strings borrowed from c, valid while TLS
 * is active); returns 0, or -1 if TLS is not active */
int conn_tls_info(const struct conn *c, struct conn_tls_info *info_r);
/* conn_tls_describe - Postfix's words for the session, e.g. "TLSv1.3 with
 * cipher TLS_AES_256_GCM_SHA384 (256/256 bits)", into out (size bytes);
 * returns out, or "" when TLS is not active */
const char *conn_tls_describe(const struct conn *c, char *out, size_t size);

/* conn_input_pending - bytes read from the peer but not yet delivered;
 * asked inside the STARTTLS line's callback it tells whether the client
 * pipelined after the command */
size_t conn_input_pending(const struct conn *c);
/* conn_output_pending - bytes queued but not yet sent */
size_t conn_output_pending(const struct conn *c);

/* conn_peer_addr, conn_local_addr - the address as text: "192.0.2.7",
 * "2001:db8::1" (IPv4-mapped IPv6 shown as IPv4), "unix" for AF_UNIX,
 * "unknown" if the socket could not tell; borrowed from c */
const char *conn_peer_addr(const struct conn *c);
const char *conn_local_addr(const struct conn *c);
/* conn_peer_port, conn_local_port - the TCP port, 0 for AF_UNIX */
int conn_peer_port(const struct conn *c);
int conn_local_port(const struct conn *c);
/* conn_peer_sockaddr - the peer's address (borrowed from c) and its
 * length in *len_r; length 0 if unknown */
const struct sockaddr *conn_peer_sockaddr(const struct conn *c,
                                          socklen_t *len_r);
/* conn_fd - the socket, for getsockopt() and the like; the conn owns it */
int conn_fd(const struct conn *c);

/* conn_detach - end c without closing its socket, to hand the socket to
 * another process (a login front end passing a client to its session):
 * input read but not yet delivered is appended to pending (borrowed; a
 * cap on it is respected). Only for a plain (no TLS) open conn with no
 * unsent output. Returns the socket, now the caller's, and frees *cp and
 * clears it; or -1 with st, c left as it was (TLS, output queued,
 * closing, or pending's cap too small). May be called from c's own
 * callback. */
int conn_detach(struct conn **cp, struct buf *pending, struct status *st);
/* conn_unread - put len bytes (copied) in front of the input not yet
 * delivered, as if the peer had sent them first: what a login front end
 * had read before it handed the socket over. They are delivered from the
 * loop, as lines or CONN_DATA like any input. */
void conn_unread(struct conn *c, const void *data, size_t len);

/* conn_event_name - "LINE", "EOF", ... for log and test messages */
const char *conn_event_name(enum conn_event ev);

#endif
