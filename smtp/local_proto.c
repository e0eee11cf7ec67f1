/* local_proto.c - the qmgr <-> local line format (see local_proto.h)
 * Used by: qmgr_deliver.c, local_request.c. */
#include <string.h>

#include "authc.h"
#include "local_proto.h"

void local_proto_put(struct buf *out, const char *const *fields, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        buf_putc(out, '\t');
                authc_escape(out, fields[i], strlen(fields[i]));
        }
        buf_putc(out, '\n');
}

int local_proto_split(char *line, size_t len, char **fields_r, size_t max)
{
        size_t n;

        if (memchr(line, '\0', len) != NULL)
                return -1;
        n = authc_split(line, len, fields_r, max);
        if (n == 0 || n > max)
                return -1;
        for (size_t i = 0; i < n; i++)
                if (authc_unescape(fields_r[i], strlen(fields_r[i])) < 0)
                        return -1;
        return (int)n;
}
