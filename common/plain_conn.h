/* plain_conn.h - a connection without TLS for per-user session programs
 * Used by: the imap session (imap_client.c, imap_compress.c). The same
 * events, options and rules as conn.h (enum conn_event, struct
 * conn_opts, struct conn_ev_data) for a socket that never carries TLS,
 * built on loop.h's descriptors and timers alone, so that a session
 * program links neither libevent_openssl nor OpenSSL. CONN_DEADLINE,
 * CONN_CONNECTED and CONN_TLS_READY never occur; opts->tls is ignored. */
#ifndef YUBIN_PLAIN_CONN_H
#define YUBIN_PLAIN_CONN_H

#include <stddef.h>

#include "conn.h"

struct plain_conn;

typedef void plain_conn_event_fn(struct plain_conn *c, enum conn_event ev,
                                 const struct conn_ev_data *d, void *ctx);

/* plain_conn_new - wrap a connected socket: takes fd (made non-blocking,
 * closed by plain_conn_free()), borrows opts (NULL: defaults); returns a
 * new plain_conn, free with plain_conn_free() */
struct plain_conn *plain_conn_new(int fd, const struct conn_opts *opts,
                                  plain_conn_event_fn *cb, void *ctx);
/* plain_conn_free - close at once and free *cp; clears it; accepts NULL;
 * safe inside the conn's own callback */
void plain_conn_free(struct plain_conn **cp);
/* plain_conn_write - queue len bytes (copied); 0, or -1 once closing or
 * broken */
int plain_conn_write(struct plain_conn *c, const void *data, size_t len);
/* plain_conn_close - stop reading, send what is queued, then deliver
 * CONN_CLOSED (or CONN_ERROR) */
void plain_conn_close(struct plain_conn *c);
/* plain_conn_read_bytes - the next n input bytes as CONN_DATA chunks,
 * then lines again */
void plain_conn_read_bytes(struct plain_conn *c, size_t n);
/* plain_conn_pause, plain_conn_resume - hold input events; a bounded
 * amount is read ahead meanwhile */
void plain_conn_pause(struct plain_conn *c);
void plain_conn_resume(struct plain_conn *c);
/* plain_conn_output_pending - bytes queued but not yet sent */
size_t plain_conn_output_pending(const struct plain_conn *c);
/* plain_conn_unread - put len bytes (copied) in front of the input, as
 * if the peer had sent them first */
void plain_conn_unread(struct plain_conn *c, const void *data, size_t len);

#endif
