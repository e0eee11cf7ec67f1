/* status.c - why something failed, in mail terms
 * Used by: every module that can fail for a reason a client or the queue
 * must hear about. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "status.h"

int status_set(struct status *st, const char *code, const char *fmt, ...)
{
        int saved_errno = errno;
        va_list ap;

        if (st == NULL)
                return -1;
        snprintf(st->code, sizeof(st->code), "%s", code);
        errno = saved_errno;    /* so %m names the caller's error */
        va_start(ap, fmt);
        vsnprintf(st->text, sizeof(st->text), fmt, ap);
        va_end(ap);
        errno = saved_errno;
        return -1;
}

void status_clear(struct status *st)
{
        snprintf(st->code, sizeof(st->code), "%s", STATUS_OK);
        st->text[0] = '\0';
}

int status_class(const struct status *st)
{
        switch (st->code[0]) {
        case '2':
                return 2;
        case '5':
                return 5;
        default:
                return 4;
        }
}
