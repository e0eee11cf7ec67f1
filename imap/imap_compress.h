/* imap_compress.h - COMPRESS=DEFLATE (RFC 4978)
 * Used by: the imap session (imap_cmd.c's table: COMPRESS; imap_client.c
 * routes input and output through it once it is active). After the
 * tagged "OK DEFLATE active" every byte to and from the client is raw
 * deflate (zlib, RFC 1951): the connection is switched to raw input for
 * good, each chunk is inflated and fed to the command parser (or, during
 * IDLE, split into lines), and each write is deflated with a sync flush
 * so that the client can act on every response at once. Inflated input
 * waits, compressed, while a command runs in steps, so a small
 * compressed input cannot make the session hold much memory. Runs as the
 * mailbox owner; inflates client input. */
#ifndef YUBIN_IMAP_COMPRESS_H
#define YUBIN_IMAP_COMPRESS_H

#include <stddef.h>

struct imap_client;
struct imap_compress;

/* inflated bytes produced at a time */
#define IMAP_COMPRESS_SLICE     (64 * 1024)
/* an IDLE line ("DONE") longer than this ends IDLE with BAD */
#define IMAP_COMPRESS_LINE_MAX  1024

/* imap_compress_active - 1 once compression is on */
int imap_compress_active(const struct imap_client *c);
/* imap_compress_available - 1 if COMPRESS=DEFLATE can be advertised */
int imap_compress_available(const struct imap_client *c);
/* imap_compress_start_pending - after a tagged reply: if COMPRESS was
 * accepted, switch the connection over now */
void imap_compress_start_pending(struct imap_client *c);
/* imap_compress_input - compressed bytes from the client */
void imap_compress_input(struct imap_client *c, const char *data,
                         size_t len);
/* imap_compress_pump - feed inflated input while no command runs */
void imap_compress_pump(struct imap_client *c);
/* imap_compress_write - deflate and queue output */
void imap_compress_write(struct imap_client *c, const void *data,
                         size_t len);
/* imap_compress_free - free *zp and clear it; accepts NULL */
void imap_compress_free(struct imap_compress **zp);

#endif
