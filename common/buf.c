/* buf.c - the one growable byte buffer
 * Used by: everything that builds or reads text. Doubling growth; the cap
 * makes "too long" a return value instead of an allocation. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"

struct buf *buf_new(size_t max)
{
        struct buf *b = xmalloc(sizeof(*b));

        buf_init(b, max);
        return b;
}

void buf_free(struct buf **bp)
{
        if (bp == NULL || *bp == NULL)
                return;
        buf_release(*bp);
        free(*bp);
        *bp = NULL;
}

void buf_init(struct buf *b, size_t max)
{
        b->data = NULL;
        b->len = 0;
        b->size = 0;
        b->max = max;
}

void buf_release(struct buf *b)
{
        free(b->data);
        b->data = NULL;
        b->len = 0;
        b->size = 0;
}

/* buf_reserve - make room for n more bytes plus the NUL */
static int buf_reserve(struct buf *b, size_t n)
{
        size_t want;

        if (n > SIZE_MAX / 2 - b->len - 1)
                return -1;
        if (b->max != 0 && b->len + n > b->max)
                return -1;
        want = b->len + n + 1;
        if (want <= b->size)
                return 0;
        size_t size = b->size ? b->size : 64;
        while (size < want)
                size *= 2;
        b->data = xrealloc(b->data, size);
        b->size = size;
        return 0;
}

int buf_append(struct buf *b, const void *data, size_t n)
{
        if (buf_reserve(b, n) < 0)
                return -1;
        if (n > 0)
                memcpy(b->data + b->len, data, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
}

int buf_puts(struct buf *b, const char *s)
{
        return buf_append(b, s, strlen(s));
}

int buf_putc_grow(struct buf *b, int c)
{
        char ch = (char)c;

        return buf_append(b, &ch, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
        va_list ap2;
        char small[256];
        int n;

        va_copy(ap2, ap);
        n = vsnprintf(small, sizeof(small), fmt, ap2);
        va_end(ap2);
        if (n < 0)
                return -1;
        if ((size_t)n < sizeof(small))
                return buf_append(b, small, (size_t)n);
        if (buf_reserve(b, (size_t)n) < 0)
                return -1;
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        b->len += (size_t)n;
        return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
        va_list ap;
        int ret;

        va_start(ap, fmt);
        ret = buf_vprintf(b, fmt, ap);
        va_end(ap);
        return ret;
}

void buf_reset(struct buf *b)
{
        b->len = 0;
        if (b->data != NULL)
                b->data[0] = '\0';
}

void buf_truncate(struct buf *b, size_t len)
{
        if (len >= b->len)
                return;
        b->len = len;
        b->data[len] = '\0';
}

void buf_consume(struct buf *b, size_t n)
{
        if (n >= b->len) {
                buf_reset(b);
                return;
        }
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
        b->data[b->len] = '\0';
}

char *buf_steal(struct buf *b)
{
        char *p = b->data != NULL ? b->data : xstrdup("");

        b->data = NULL;
        b->len = 0;
        b->size = 0;
        return p;
}
