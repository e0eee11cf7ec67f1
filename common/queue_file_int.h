/* queue_file_int.h - what the queue file modules share (not public)
 * Used by: queue_file.c (format, reading), queue_file_mark.c (progress
 * records, I/O helpers), queue_file_write.c (the writer),
 * queue_file_dir.c (IDs, directories). */
#ifndef YUBIN_QUEUE_FILE_INT_H
#define YUBIN_QUEUE_FILE_INT_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"
#include "queue_file.h"
#include "status.h"

#define QUEUE_MAGIC             "YUBINQ 1\n"
#define QUEUE_SIZE_DIGITS       20      /* fixed width of the C length */

struct queue_attr {
        char *name, *value;
};

/* An open queue file (queue_file_open). */
struct queue_file {
        char *path;
        char *id;
        int fd;
        int writable;
        char *map;              /* the file as it was opened */
        size_t map_len;
        char *sender;
        time_t arrival;
        long arrival_usec;
        struct queue_attr *attrs;
        size_t nattr;
        struct queue_rcpt *rcpts;
        size_t nrcpt, rcpt_size;
        size_t pending;
        long long content_off, content_len;
        unsigned attempts;
        time_t last_attempt;
        struct buf out;         /* progress records not yet written */
        off_t end;              /* end of the good records on disk */
};

/* queue_state_names - the D record's words, by enum queue_rcpt_state */
extern const char *const queue_state_names[];

/* queue_file_rcpt_append - add a recipient to qf's list (takes *orcpt
 * and clears it); 0, or -1 when there are too many or addr holds a NUL */
int queue_file_rcpt_append(struct queue_file *qf, const char *addr,
                           size_t alen, char **orcpt,
                           unsigned long long notify, size_t parent);
/* queue_file_set_state - set recipient i's state, counting pending ones */
void queue_file_set_state(struct queue_file *qf, size_t i,
                          enum queue_rcpt_state state);

/* queue_file_attr_put - set attribute name (nlen bytes) to value (vlen
 * bytes), replacing an earlier value */
void queue_file_attr_put(struct queue_file *qf, const char *name,
                         size_t nlen, const char *value, size_t vlen);
/* queue_file_forget - a requeue: every recipient's deferral reason and
 * the attempts are forgotten */
void queue_file_forget(struct queue_file *qf);

/* queue_record_put - append one record "<type><len>:<data>\n" to out */
void queue_record_put(struct buf *out, char type, const void *data,
                      size_t len);
/* queue_record_putf - the same with printf-formatted data */
void queue_record_putf(struct buf *out, char type, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* queue_write_all - write len bytes to fd (retrying short writes and
 * EINTR); 0, or -1 with st naming what (4.3.1 on ENOSPC/EDQUOT) */
int queue_write_all(int fd, const void *data, size_t len, const char *what,
                    struct status *st);
/* queue_fsync_dir - open and fsync a directory; 0, or -1 with st */
int queue_fsync_dir(const char *path, struct status *st);
/* queue_io_code - the status code for an I/O errno */
const char *queue_io_code(int err);

#endif
