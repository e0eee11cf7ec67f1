/* imap_compress.c - COMPRESS=DEFLATE (RFC 4978)
 * Used by: the imap session (imap_compress.h). Raw deflate both ways
 * (windowBits -15, as RFC 4978 section 4 asks). Runs as the mailbox
 * owner; inflates client input, whose size it bounds per step. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "imap_client.h"
#include "imap_compress.h"
#include "imap_idle.h"
#include "log.h"
#include "mem.h"
#include "plain_conn.h"

struct imap_compress {
        int active;             /* 0: accepted, starts after the reply */
        int pumping;
        z_stream zi, zo;
        struct buf zin;         /* compressed input not yet inflated */
        struct buf plain;       /* inflated input not yet used */
};

int imap_compress_active(const struct imap_client *c)
{
        return c->compress != NULL && c->compress->active;
}

int imap_compress_available(const struct imap_client *c)
{
        return c->compress == NULL;
}

void imap_compress_free(struct imap_compress **zp)
{
        struct imap_compress *z;

        if (zp == NULL || *zp == NULL)
                return;
        z = *zp;
        *zp = NULL;
        if (z->active) {
                inflateEnd(&z->zi);
                deflateEnd(&z->zo);
        }
        buf_release(&z->zin);
        buf_release(&z->plain);
        free(z);
}

void imap_cmd_compress(struct imap_client *c, struct imap_cmd *cmd)
{
        if (cmd->argc != 1 || !imap_arg_is_atom(&cmd->args[0], "DEFLATE")) {
                imap_cmd_bad(cmd, "Error in IMAP command COMPRESS: Unknown "
                             "compression mechanism.");
                return;
        }
        if (c->compress != NULL) {
                imap_cmd_no(cmd, "[COMPRESSIONACTIVE] Compression already "
                            "enabled.");
                return;
        }
        c->compress = xcalloc(1, sizeof(*c->compress));
        buf_init(&c->compress->zin, 0);
        buf_init(&c->compress->plain, 0);
        imap_cmd_ok(cmd, "DEFLATE active");
}

void imap_compress_start_pending(struct imap_client *c)
{
        struct imap_compress *z = c->compress;

        if (z == NULL || z->active || c->conn == NULL)
                return;
        if (inflateInit2(&z->zi, -15) != Z_OK)
                log_fatal("imap(%s): inflateInit2 failed", c->user);
        if (deflateInit2(&z->zo, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK)
                log_fatal("imap(%s): deflateInit2 failed", c->user);
        z->active = 1;
        /* from here on the input is a byte stream, never lines */
        plain_conn_read_bytes(c->conn, SIZE_MAX);
}

void imap_compress_write(struct imap_client *c, const void *data, size_t len)
{
        struct imap_compress *z = c->compress;
        unsigned char out[16384];

        z->zo.next_in = (unsigned char *)(uintptr_t)data;
        z->zo.avail_in = (uInt)len;
        do {
                z->zo.next_out = out;
                z->zo.avail_out = sizeof(out);
                if (deflate(&z->zo, Z_SYNC_FLUSH) == Z_STREAM_ERROR)
                        log_panic("imap(%s): deflate stream error", c->user);
                (void)plain_conn_write(c->conn, out, sizeof(out) - z->zo.avail_out);
        } while (z->zo.avail_out == 0);
}

/* inflate_some - up to a slice of plain input from zin; -1 on bad data */
static int inflate_some(struct imap_client *c)
{
        struct imap_compress *z = c->compress;
        unsigned char out[IMAP_COMPRESS_SLICE];
        int r;

        if (z->zin.len == 0)
                return 0;
        z->zi.next_in = (unsigned char *)z->zin.data;
        z->zi.avail_in = (uInt)z->zin.len;
        z->zi.next_out = out;
        z->zi.avail_out = sizeof(out);
        r = inflate(&z->zi, Z_SYNC_FLUSH);
        if (r != Z_OK && r != Z_BUF_ERROR && r != Z_STREAM_END)
                return -1;
        buf_consume(&z->zin, z->zin.len - z->zi.avail_in);
        buf_append(&z->plain, out, sizeof(out) - z->zi.avail_out);
        c->stats.in += sizeof(out) - z->zi.avail_out;
        return 0;
}

/* idle_line - a line for IDLE from the plain input; 1 done, 0 need more */
static int idle_line(struct imap_client *c)
{
        struct imap_compress *z = c->compress;
        char *lf = memchr(z->plain.data, '\n', z->plain.len);
        size_t n;

        if (lf == NULL) {
                if (z->plain.len <= IMAP_COMPRESS_LINE_MAX)
                        return 0;
                n = z->plain.len;
        } else {
                n = (size_t)(lf - z->plain.data);
        }
        size_t len = n > 0 && z->plain.data[n - 1] == '\r' ? n - 1 : n;
        char *line = xstrndup(z->plain.data, len);
        buf_consume(&z->plain, lf != NULL ? n + 1 : n);
        imap_idle_line(c, line, len);
        free(line);
        return 1;
}

void imap_compress_pump(struct imap_client *c)
{
        struct imap_compress *z = c->compress;

        if (z == NULL || !z->active || z->pumping)
                return;
        z->pumping = 1;
        while (!c->ending && (!c->running || c->idle != NULL)) {
                if (z->plain.len == 0) {
                        if (inflate_some(c) < 0) {
                                imap_client_send(c, "* BYE Invalid "
                                                 "compressed data.\r\n");
                                imap_client_end(c, "Invalid compressed data");
                                break;
                        }
                        if (z->plain.len == 0)
                                break;
                }
                if (c->idle != NULL) {
                        if (!idle_line(c))
                                break;
                        continue;
                }
                size_t used = imap_client_input(c, z->plain.data,
                                                z->plain.len);
                buf_consume(&z->plain, used);
        }
        z->pumping = 0;
}

void imap_compress_input(struct imap_client *c, const char *data, size_t len)
{
        buf_append(&c->compress->zin, data, len);
        imap_compress_pump(c);
}
