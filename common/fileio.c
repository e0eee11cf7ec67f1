/* fileio.c - reading a whole (configuration) file into memory
 * Used by: cfg readers, the supervisor and yubinctl. Bounded by the
 * caller's max, so a huge or endless file is an error, not an OOM. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fileio.h"

int fileio_read_fd(int fd, const char *name, size_t max, struct buf *out,
                   struct status *st)
{
        char chunk[65536];
        size_t total = 0;

        for (;;) {
                ssize_t n = pread(fd, chunk, sizeof(chunk), (off_t)total);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return status_set(st, STATUS_LOCAL_IO, "read %s: %m",
                                          name);
                if (n == 0)
                        return 0;
                total += (size_t)n;
                if (total > max || buf_append(out, chunk, (size_t)n) < 0)
                        return status_set(st, STATUS_LOCAL_IO,
                                          "%s: larger than %zu bytes", name,
                                          max);
        }
}

int fileio_read(const char *path, size_t max, struct buf *out,
                struct status *st)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        int ret;

        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return status_set(st, STATUS_LOCAL_IO, "open %s: %m", path);
        }
        ret = fileio_read_fd(fd, path, max, out, st);
        close(fd);
        return ret < 0 ? -1 : 1;
}
