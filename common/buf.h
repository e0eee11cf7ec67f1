/* buf.h - the one growable byte buffer
 * Binary-safe; a NUL is always kept past the end so data can be used as a C
 * string. An optional cap bounds the size: an append past it returns -1 and
 * leaves the buffer as it was, so the caller can answer "line too long". */
#ifndef YUBIN_BUF_H
#define YUBIN_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
        char *data;     /* len bytes, then a NUL */
        size_t len;
        size_t size;    /* allocated bytes, including room for the NUL */
        size_t max;     /* cap on len; 0 = none */
};

/* buf_new - returns a new empty buffer capped at max bytes (0 = no cap);
 * free with buf_free() */
struct buf *buf_new(size_t max);
/* buf_free - free *bp and clear it; accepts NULL */
void buf_free(struct buf **bp);
/* buf_init - make an embedded buffer empty; release with buf_release() */
void buf_init(struct buf *b, size_t max);
/* buf_release - free an embedded buffer's storage and leave it empty */
void buf_release(struct buf *b);

/* buf_append - add n bytes; 0, or -1 (buffer unchanged) past the cap */
int buf_append(struct buf *b, const void *data, size_t n);
/* buf_puts - add a C string; as buf_append */
int buf_puts(struct buf *b, const char *s);
/* buf_putc - add one byte; as buf_append (inline while there is room:
 * output is often built a byte at a time) */
int buf_putc_grow(struct buf *b, int c);
static inline int buf_putc(struct buf *b, int c)
{
        if (b->len + 1 < b->size && (b->max == 0 || b->len < b->max)) {
                b->data[b->len++] = (char)c;
                b->data[b->len] = '\0';
                return 0;
        }
        return buf_putc_grow(b, c);
}
/* buf_printf - add formatted text; as buf_append */
int buf_printf(struct buf *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));
/* buf_reset - make empty, keeping the storage */
void buf_reset(struct buf *b);
/* buf_truncate - shorten to len bytes (no-op if already shorter) */
void buf_truncate(struct buf *b, size_t len);
/* buf_consume - drop the first n bytes */
void buf_consume(struct buf *b, size_t n);
/* buf_steal - returns the NUL-terminated data, which the caller now owns
 * (free with free()); the buffer is left empty */
char *buf_steal(struct buf *b);

static inline const char *buf_cstr(const struct buf *b)
{
        return b->data != NULL ? b->data : "";
}

#endif
