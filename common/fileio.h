/* fileio.h - reading a whole (configuration) file into memory
 * Used by: the configuration readers (main.cf, master.cf), the supervisor
 * (which hands main.cf's text to the daemons) and yubinctl. */
#ifndef YUBIN_FILEIO_H
#define YUBIN_FILEIO_H

#include <stddef.h>

#include "buf.h"
#include "status.h"

/* fileio_read_fd - append everything fd holds from offset 0 (pread, so a
 * shared descriptor's offset is left alone) to out; name is used in
 * messages. Returns 0, or -1 with st (read error, larger than max). */
int fileio_read_fd(int fd, const char *name, size_t max, struct buf *out,
                   struct status *st);
/* fileio_read - as fileio_read_fd for the file at path: 1 read, 0 the
 * file does not exist, -1 with st */
int fileio_read(const char *path, size_t max, struct buf *out,
                struct status *st);

#endif
