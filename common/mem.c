/* mem.c - allocation that cannot fail
 * Used by: everything. Dies through log_fatal() when the host is out of
 * memory; see mem.h for why that is safe. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mem.h"

static void out_of_memory(size_t size)
{
        log_fatal("out of memory allocating %zu bytes", size);
}

void *xmalloc(size_t size)
{
        void *p = malloc(size ? size : 1);

        if (p == NULL)
                out_of_memory(size);
        return p;
}

void *xcalloc(size_t n, size_t size)
{
        void *p = calloc(n ? n : 1, size ? size : 1);

        if (p == NULL)
                out_of_memory(n * size);
        return p;
}

void *xrealloc(void *ptr, size_t size)
{
        void *p = realloc(ptr, size ? size : 1);

        if (p == NULL)
                out_of_memory(size);
        return p;
}

char *xstrdup(const char *s)
{
        return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
        size_t len = strnlen(s, n);
        char *p = xmalloc(len + 1);

        memcpy(p, s, len);
        p[len] = '\0';
        return p;
}

char *xasprintf(const char *fmt, ...)
{
        va_list ap;
        char *p;

        va_start(ap, fmt);
        if (vasprintf(&p, fmt, ap) < 0)
                out_of_memory(strlen(fmt));
        va_end(ap);
        return p;
}

void xfree_ptr(void *ptrptr)
{
        void **pp = ptrptr;

        if (pp == NULL)
                return;
        free(*pp);
        *pp = NULL;
}
