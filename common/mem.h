/* mem.h - allocation that cannot fail
 * Out of memory is fatal: every size a client controls has a named limit, so
 * running out means the host is in trouble, not that a client was clever. */
#ifndef YUBIN_MEM_H
#define YUBIN_MEM_H

#include <stddef.h>

/* xmalloc - malloc or die; returns new memory, free with free() */
void *xmalloc(size_t size);
/* xcalloc - zeroed array of n items of size bytes, or die */
void *xcalloc(size_t n, size_t size);
/* xrealloc - grow or shrink ptr, or die */
void *xrealloc(void *ptr, size_t size);
/* xstrdup, xstrndup - copies of s; free with free() */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* xasprintf - formatted new string; free with free() */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* xfree - free *ptr and clear it; accepts NULL and a NULL *ptr */
void xfree_ptr(void *ptrptr);
#define xfree(pp) xfree_ptr(pp)

#endif
