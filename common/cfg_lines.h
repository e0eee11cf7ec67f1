/* cfg_lines.h - logical lines of a Postfix-style configuration file
 * Used by: cfg.c (main.cf) and mastercf.c (master.cf). Splits text read
 * whole into physical lines and joins them into logical ones: a line that
 * starts with white space continues the one before it; blank lines and
 * lines whose first non-blank byte is '#' are skipped and do not end a
 * logical line. A line holding a NUL byte is an error, and the logical line
 * it starts or continues is dropped. */
#ifndef YUBIN_CFG_LINES_H
#define YUBIN_CFG_LINES_H

#include <stddef.h>

#include "buf.h"
#include "status.h"

/* Reading state; the fields are private to cfg_lines.c. */
struct cfg_lines {
        const char *p, *end;    /* text not read yet */
        int line;               /* physical lines read so far */
        int start;              /* first line of the logical line being built */
        int have;               /* a logical line has begun ... */
        int bad;                /* ... and had a NUL, so it is dropped */
        int held;               /* the logical line before the NUL line just
                                 * reported is complete and comes next */
        struct buf logical;
        char *orphan;           /* "continuation line without WHAT ..." */
};

/* cfg_lines_init - read the len bytes at text (borrowed: keep them until
 * cfg_lines_release()). what names the thing a continuation line needs
 * before it, e.g. "a parameter", for the error about one that has none.
 * Release with cfg_lines_release(). */
void cfg_lines_init(struct cfg_lines *r, const char *text, size_t len,
                    const char *what);
/* cfg_lines_release - free what r holds; r may be initialised again */
void cfg_lines_release(struct cfg_lines *r);

/* cfg_lines_next - the next logical line or error, in file order.
 * Returns 1 with the logical line in *text_r (*len_r bytes, NUL-terminated,
 * outer white space removed, each continuation joined with one space) and
 * its first physical line in *line_r; 0 at the end of the text; -1 with a
 * message in *error_r ("NUL character in line", "continuation line without
 * WHAT before it") and the physical line in *line_r, after which reading
 * goes on. *text_r and *error_r are borrowed from r, valid until the next
 * call. */
int cfg_lines_next(struct cfg_lines *r, const char **text_r, size_t *len_r,
                   int *line_r, const char **error_r);

/* list files (mydestination-, mynetworks-style "/file/name" entries):
 * their largest size, and how deep files naming files may go */
#define CFG_LINES_FILE_MAX      (16 * 1024 * 1024)
#define CFG_LINES_FILE_DEPTH    4

/* cfg_lines_file - read the list file at path, which a list depth files
 * deep names (0: main.cf itself), and call fn(ctx, line, where, depth +
 * 1, st) for each logical line, where being "path:line". Its absence, or
 * depth at CFG_LINES_FILE_DEPTH, is an error naming param. Stops at the
 * first line fn fails; 0, or -1 with st (4.3.5, naming path and line). */
int cfg_lines_file(const char *path, const char *param, int depth,
                   int (*fn)(void *ctx, const char *line, const char *where,
                             int depth, struct status *st),
                   void *ctx, struct status *st);

#endif
