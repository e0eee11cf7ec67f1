/* cfg_lines.c - logical lines of a Postfix-style configuration file
 * Used by: cfg.c (main.cf) and mastercf.c (master.cf), so that both files
 * are cut into lines by the same rules and report the same errors.
 * Works on text read whole: a logical line is known to be complete only
 * when the next line that starts one is seen, and that line is then read
 * again by the following call. Memory: one buffer as long as the longest
 * logical line. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cfg_lines.h"
#include "fileio.h"
#include "mem.h"

static int is_space(int ch)
{
        return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' ||
               ch == '\f' || ch == '\v';
}

void cfg_lines_init(struct cfg_lines *r, const char *text, size_t len,
                    const char *what)
{
        memset(r, 0, sizeof(*r));
        r->p = text;
        r->end = text + len;
        buf_init(&r->logical, 0);
        r->orphan = xasprintf("continuation line without %s before it", what);
}

void cfg_lines_release(struct cfg_lines *r)
{
        buf_release(&r->logical);
        free(r->orphan);
        r->orphan = NULL;
        r->p = r->end = NULL;
}

/* finish - hand out the logical line in r and start afresh */
static int finish(struct cfg_lines *r, const char **text_r, size_t *len_r,
                  int *line_r)
{
        *text_r = buf_cstr(&r->logical);
        *len_r = r->logical.len;
        *line_r = r->start;
        r->have = 0;
        return 1;
}

int cfg_lines_next(struct cfg_lines *r, const char **text_r, size_t *len_r,
                   int *line_r, const char **error_r)
{
        if (r->held) {
                /* the line with the NUL starts a logical line, bad from
                 * the start; the one before it goes out first */
                r->held = 0;
                finish(r, text_r, len_r, line_r);
                r->start = r->line;
                r->have = 1;
                r->bad = 1;
                return 1;
        }
        while (r->p < r->end) {
                const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
                const char *s = r->p, *e = nl != NULL ? nl : r->end;
                const char *next = nl != NULL ? nl + 1 : r->end;

                if (memchr(s, '\0', (size_t)(e - s)) != NULL) {
                        r->p = next;
                        r->line++;
                        *line_r = r->line;
                        *error_r = "NUL character in line";
                        if (!is_space(*s)) {
                                if (r->have && !r->bad) {
                                        r->held = 1;
                                        return -1;
                                }
                                r->start = r->line;
                                r->have = 1;
                        }
                        r->bad = 1;
                        return -1;
                }
                while (e > s && is_space(e[-1]))
                        e--;
                const char *t = s;
                while (t < e && is_space(*t))
                        t++;
                /* Postfix: blank and comment lines are skipped, and they
                 * do not end a logical line */
                if (t == e || *t == '#') {
                        r->p = next;
                        r->line++;
                        continue;
                }
                if (t != s) {
                        r->p = next;
                        r->line++;
                        if (!r->have) {
                                *line_r = r->line;
                                *error_r = r->orphan;
                                return -1;
                        }
                        if (!r->bad) {
                                buf_putc(&r->logical, ' ');
                                buf_append(&r->logical, t, (size_t)(e - t));
                        }
                        continue;
                }
                /* a line that starts a logical line: it ends the one
                 * before, and is read again by the next call */
                if (r->have && !r->bad)
                        return finish(r, text_r, len_r, line_r);
                r->p = next;
                r->line++;
                buf_reset(&r->logical);
                buf_append(&r->logical, t, (size_t)(e - t));
                r->start = r->line;
                r->have = 1;
                r->bad = 0;
        }
        if (r->have && !r->bad)
                return finish(r, text_r, len_r, line_r);
        r->have = 0;
        return 0;
}

int cfg_lines_file(const char *path, const char *param, int depth,
                   int (*fn)(void *ctx, const char *line, const char *where,
                             int depth, struct status *st),
                   void *ctx, struct status *st)
{
        struct cfg_lines r;
        const char *line, *error;
        size_t len;
        int lineno, ret, rc = 0;
        struct buf text;

        if (depth >= CFG_LINES_FILE_DEPTH)
                return status_set(st, STATUS_CONFIG_TEMP,
                                  "%s: %s: files nested too deeply", param,
                                  path);
        buf_init(&text, 0);
        ret = fileio_read(path, CFG_LINES_FILE_MAX, &text, st);
        if (ret <= 0) {
                if (ret == 0)
                        status_set(st, STATUS_CONFIG_TEMP,
                                   "%s: %s: no such file", param, path);
                buf_release(&text);
                return -1;
        }
        cfg_lines_init(&r, buf_cstr(&text), text.len, "an entry");
        while (rc == 0 && (ret = cfg_lines_next(&r, &line, &len, &lineno,
                                                &error)) != 0) {
                char *where;

                if (ret < 0) {
                        rc = status_set(st, STATUS_CONFIG_TEMP, "%s:%d: %s",
                                        path, lineno, error);
                        break;
                }
                where = xasprintf("%s:%d", path, lineno);
                rc = fn(ctx, line, where, depth + 1, st);
                free(where);
        }
        cfg_lines_release(&r);
        buf_release(&text);
        return rc;
}
