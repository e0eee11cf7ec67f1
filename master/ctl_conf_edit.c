/* ctl_conf_edit.c - yubinctl conf -e / -X: edit main.cf in place
 * Used by: ctl_conf.c. Works as postconf -e / -X do: every assignment of
 * an edited name, with its continuation lines, becomes one "name = value"
 * line or goes; comments, blank lines and the order of other lines stay;
 * new names are appended. An edit that would add an error to main.cf is
 * refused and the file is left byte for byte as it was; otherwise the new
 * text reaches the disk as a whole: DIR/main.cf.tmp (locked against a
 * second editor), fsync, rename, directory fsync, keeping the old file's
 * mode and owner. Runs as the invoking user; writes only those two files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "ctl.h"
#include "mem.h"
#include "status.h"

/* --- main.cf text: logical lines the way Postfix reads them --- */

enum conf_line_kind {
        CONF_LINE_OTHER,        /* blank or comment: belongs to no entry */
        CONF_LINE_MORE,         /* starts with white space: continuation */
        CONF_LINE_START,        /* starts an entry: "name = value" */
};

struct conf_line {
        const char *start;      /* first byte of the physical line */
        size_t len;             /* bytes including the newline, if any */
        enum conf_line_kind kind;
        size_t name_len;        /* CONF_LINE_START: name bytes at start */
};

/* conf_next_line - split off the physical line at *pos; 0 at the end */
static int conf_next_line(const char *text, size_t len, size_t *pos,
                          struct conf_line *l)
{
        const char *p, *nl, *end;

        if (*pos >= len)
                return 0;
        p = text + *pos;
        nl = memchr(p, '\n', len - *pos);
        end = nl != NULL ? nl + 1 : text + len;
        l->start = p;
        l->len = (size_t)(end - p);
        l->name_len = 0;
        *pos += l->len;

        const char *q = p;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' ||
                           *q == '\n' || *q == '\f' || *q == '\v'))
                q++;
        if (q == end || *q == '#')
                l->kind = CONF_LINE_OTHER;
        else if (q > p)
                l->kind = CONF_LINE_MORE;
        else {
                l->kind = CONF_LINE_START;
                while (q < end && *q != ' ' && *q != '\t' && *q != '\r' &&
                       *q != '\n' && *q != '=')
                        q++;
                l->name_len = (size_t)(q - p);
        }
        return 1;
}

/* conf_edit_find - the request for the entry's name, or NULL */
static struct ctl_conf_edit *conf_edit_find(const struct conf_line *l,
                                            struct ctl_conf_edit *edits,
                                            size_t count)
{
        for (size_t i = 0; i < count; i++)
                if (strlen(edits[i].name) == l->name_len &&
                    memcmp(edits[i].name, l->start, l->name_len) == 0)
                        return &edits[i];
        return NULL;
}

static void conf_put_assignment(struct buf *out, const char *name,
                                const char *value)
{
        if (*value == '\0')
                buf_printf(out, "%s =\n", name);
        else
                buf_printf(out, "%s = %s\n", name, value);
}

void ctl_conf_edit_text(const char *text, size_t len,
                        struct ctl_conf_edit *edits, size_t count,
                        struct buf *out)
{
        struct ctl_conf_edit *cur = NULL;       /* entry being replaced */
        struct conf_line l;
        size_t pos = 0;

        for (size_t i = 0; i < count; i++)
                edits[i].found = 0;
        while (conf_next_line(text, len, &pos, &l)) {
                switch (l.kind) {
                case CONF_LINE_OTHER:
                        buf_append(out, l.start, l.len);
                        break;
                case CONF_LINE_MORE:
                        if (cur == NULL)
                                buf_append(out, l.start, l.len);
                        break;
                case CONF_LINE_START:
                        cur = conf_edit_find(&l, edits, count);
                        if (cur == NULL) {
                                buf_append(out, l.start, l.len);
                                break;
                        }
                        cur->found++;
                        if (cur->value != NULL)
                                conf_put_assignment(out, cur->name,
                                                    cur->value);
                        break;
                }
        }
        for (size_t i = 0; i < count; i++) {
                if (edits[i].found > 0 || edits[i].value == NULL)
                        continue;
                if (out->len > 0 && out->data[out->len - 1] != '\n')
                        buf_putc(out, '\n');
                conf_put_assignment(out, edits[i].name, edits[i].value);
        }
}

int ctl_conf_edit_name_ok(const char *name)
{
        if (*name == '\0')
                return 0;
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '_'))
                        return 0;
        return 1;
}

/* conf_trim - strip white space at both ends, in place */
static char *conf_trim(char *s)
{
        char *end;

        while (*s == ' ' || *s == '\t')
                s++;
        end = s + strlen(s);
        while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
                *--end = '\0';
        return s;
}

int ctl_conf_edit_split(char *arg, char **name_r, char **value_r,
                        const char **error_r)
{
        char *eq = strchr(arg, '=');

        if (strpbrk(arg, "\r\n") != NULL) {
                *error_r = "multi-line input is not accepted";
                return -1;
        }
        if (eq == NULL) {
                *error_r = "missing \"=\" (expected name=value)";
                return -1;
        }
        *eq = '\0';
        *name_r = conf_trim(arg);
        *value_r = conf_trim(eq + 1);
        if (**name_r == '\0') {
                *error_r = "missing parameter name";
                return -1;
        }
        if (!ctl_conf_edit_name_ok(*name_r)) {
                *error_r = "bad parameter name (letters, digits and _ only)";
                return -1;
        }
        return 0;
}

int ctl_conf_edit_name_at(const char *text, size_t len, size_t line,
                          char *name_r, size_t size)
{
        struct conf_line l;
        size_t pos = 0;
        size_t n = 0;

        while (conf_next_line(text, len, &pos, &l)) {
                if (++n < line)
                        continue;
                if (l.kind != CONF_LINE_START || l.name_len >= size)
                        return -1;
                memcpy(name_r, l.start, l.name_len);
                name_r[l.name_len] = '\0';
                return 0;
        }
        return -1;
}

/* --- writing main.cf --- */

/* conf_diag_split - "path:LINE: message" from a cfg parse of path: the
 * message and the line (0 if the text is not of that shape) */
static const char *conf_diag_split(const char *diag, const char *path,
                                   size_t *line_r)
{
        size_t plen = strlen(path);
        const char *p;
        char *end;

        *line_r = 0;
        if (strncmp(diag, path, plen) != 0 || diag[plen] != ':')
                return diag;
        p = diag + plen + 1;
        if (*p < '0' || *p > '9')
                return diag;
        unsigned long line = strtoul(p, &end, 10);
        if (end[0] != ':')
                return diag;
        *line_r = line;
        return end[1] == ' ' ? end + 2 : end + 1;
}

/* conf_parse - a new cfg holding text as main.cf at path, checked */
static struct cfg *conf_parse(struct ctl *ctl, const char *path,
                              const struct buf *text)
{
        struct cfg *c = cfg_new(ctl->config_dir);

        cfg_parse_main(c, path, buf_cstr(text), text->len);
        cfg_check(c);
        return c;
}

/* conf_diag_in - 1 if old holds a diagnostic of the same kind and message
 * (location aside) */
static int conf_diag_in(const struct cfg *old, const char *path,
                        const char *msg, int error)
{
        for (size_t i = 0; i < cfg_diag_count(old); i++) {
                int old_error;
                size_t line;
                const char *d = cfg_diag(old, i, &old_error);

                if (old_error == error &&
                    strcmp(conf_diag_split(d, path, &line), msg) == 0)
                        return 1;
        }
        return 0;
}

/* conf_validate - report what the edit adds to main.cf's diagnostics;
 * returns the number of errors the edit would introduce. Problems that
 * were there before are shown as warnings: they do not block an edit, so
 * that -e can repair a broken main.cf one parameter at a time. */
static size_t conf_validate(struct ctl *ctl, const char *path,
                            const struct buf *old_text,
                            const struct buf *new_text,
                            const struct ctl_conf_edit *edits, size_t count)
{
        struct cfg *before = conf_parse(ctl, path, old_text);
        struct cfg *after = conf_parse(ctl, path, new_text);
        size_t errors = 0;

        for (size_t i = 0; i < cfg_diag_count(after); i++) {
                int error;
                size_t line;
                const char *d = cfg_diag(after, i, &error);
                const char *msg = conf_diag_split(d, path, &line);
                const struct ctl_conf_edit *e = NULL;
                char name[256];

                if (conf_diag_in(before, path, msg, error)) {
                        ctl_warn("%s", d);
                        continue;
                }
                if (!error) {
                        ctl_warn("%s", d);
                        continue;
                }
                errors++;
                if (line > 0 &&
                    ctl_conf_edit_name_at(buf_cstr(new_text), new_text->len,
                                          line, name, sizeof(name)) == 0)
                        for (size_t j = 0; j < count && e == NULL; j++)
                                if (strcmp(edits[j].name, name) == 0 &&
                                    edits[j].value != NULL)
                                        e = &edits[j];
                if (e != NULL && strstr(msg, e->name) != NULL)
                        ctl_error("%s", msg);
                else if (e != NULL)
                        ctl_error("%s = %s: %s", e->name, e->value, msg);
                else
                        ctl_error("after this edit, %s", d);
        }
        cfg_free(&before);
        cfg_free(&after);
        return errors;
}

/* conf_lock_tmp - open and lock DIR/main.cf.tmp. The lock is taken on the
 * temp file, which keeps its name until the rename: a second editor waits
 * here, and finds after the wait that the name now means another file. */
static int conf_lock_tmp(const char *tmp)
{
        for (int tries = 0; tries < 100; tries++) {
                struct stat fs, ps;
                int fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

                if (fd < 0) {
                        ctl_error("open %s: %m", tmp);
                        return -1;
                }
                if (flock(fd, LOCK_EX) < 0) {
                        ctl_error("lock %s: %m", tmp);
                        close(fd);
                        return -1;
                }
                if (fstat(fd, &fs) == 0 && stat(tmp, &ps) == 0 &&
                    fs.st_dev == ps.st_dev && fs.st_ino == ps.st_ino)
                        return fd;
                close(fd);      /* renamed or removed while we waited */
        }
        ctl_error("lock %s: the file keeps changing", tmp);
        return -1;
}

/* conf_sync_dir - make the rename durable */
static int conf_sync_dir(const char *path)
{
        char *dir = xstrdup(path);
        char *slash = strrchr(dir, '/');
        int fd, rc = 0;

        if (slash == dir)
                slash[1] = '\0';
        else if (slash != NULL)
                *slash = '\0';
        else
                strcpy(dir, ".");
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0) {
                ctl_error("fsync %s: %m", dir);
                rc = -1;
        }
        if (fd >= 0)
                close(fd);
        free(dir);
        return rc;
}

/* conf_write - replace path with text through tmp (open as fd, locked);
 * mode, owner and group come from the old file when there was one */
static int conf_write(const char *path, const char *tmp, int fd,
                      const struct buf *text, const struct stat *old)
{
        size_t off = 0;

        if (ftruncate(fd, 0) < 0) {
                ctl_error("truncate %s: %m", tmp);
                return -1;
        }
        while (off < text->len) {
                ssize_t n = write(fd, text->data + off, text->len - off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        ctl_error("write %s: %m", tmp);
                        return -1;
                }
                off += (size_t)n;
        }
        if (old != NULL && geteuid() == 0 &&
            fchown(fd, old->st_uid, old->st_gid) < 0) {
                ctl_error("chown %s: %m", tmp);
                return -1;
        }
        if (fchmod(fd, old != NULL ? old->st_mode & 07777 : 0644) < 0) {
                ctl_error("chmod %s: %m", tmp);
                return -1;
        }
        if (fsync(fd) < 0) {
                ctl_error("fsync %s: %m", tmp);
                return -1;
        }
        if (rename(tmp, path) < 0) {
                ctl_error("rename %s to %s: %m", tmp, path);
                return -1;
        }
        return conf_sync_dir(path);
}

/* conf_edit_args - turn -e / -X arguments into requests; a later request
 * for the same name wins, as with postconf. 0, or -1 (reported). */
static int conf_edit_args(int remove, int argc, char **argv,
                          struct ctl_conf_edit *edits, size_t *count_r)
{
        size_t count = 0;

        for (int i = 0; i < argc; i++) {
                char *name = argv[i];
                char *value = NULL;
                const char *error;

                if (!remove) {
                        if (ctl_conf_edit_split(argv[i], &name, &value,
                                                &error) < 0) {
                                ctl_error("-e \"%s\": %s", argv[i], error);
                                return -1;
                        }
                } else {
                        name = conf_trim(name);
                        if (strchr(name, '=') != NULL ||
                            !ctl_conf_edit_name_ok(name)) {
                                ctl_error("-X \"%s\": expected a parameter "
                                          "name", name);
                                return -1;
                        }
                }
                size_t j;
                for (j = 0; j < count; j++)
                        if (strcmp(edits[j].name, name) == 0)
                                break;
                if (j < count) {
                        ctl_warn("ignoring earlier request for %s", name);
                } else {
                        j = count++;
                        if (cfg_param_find(name) == NULL)
                                ctl_warn("%s: unknown parameter", name);
                }
                edits[j].name = name;
                edits[j].value = value;
                edits[j].found = 0;
        }
        *count_r = count;
        return 0;
}

int ctl_conf_edit_run(struct ctl *ctl, int remove, int argc, char **argv)
{
        struct ctl_conf_edit *edits;
        struct buf old_text, new_text;
        struct status st;
        struct stat old_st;
        size_t count = 0;
        int fd = -1, exists, rc = 1;
        char *path = ctl_path(ctl, "main.cf");
        char *tmp = ctl_path(ctl, "main.cf.tmp");

        buf_init(&old_text, 0);
        buf_init(&new_text, 0);
        edits = xcalloc((size_t)argc, sizeof(*edits));
        if (conf_edit_args(remove, argc, argv, edits, &count) < 0) {
                rc = EX_USAGE;
                goto out;
        }
        if ((fd = conf_lock_tmp(tmp)) < 0)
                goto out;
        /* read under the lock, so that no other edit slips in between */
        exists = ctl_read_file(path, &old_text, &st);
        if (exists < 0) {
                ctl_error("%s", st.text);
                goto out_unlink;
        }
        if (exists && stat(path, &old_st) < 0) {
                ctl_error("stat %s: %m", path);
                goto out_unlink;
        }
        ctl_conf_edit_text(buf_cstr(&old_text), old_text.len, edits, count,
                           &new_text);
        for (size_t i = 0; i < count; i++)
                if (edits[i].found > 1)
                        ctl_warn("%s: multiple entries for \"%s\"", path,
                                 edits[i].name);
        if (conf_validate(ctl, path, &old_text, &new_text, edits,
                          count) > 0) {
                ctl_error("%s not changed", path);
                goto out_unlink;
        }
        if (new_text.len == old_text.len &&
            memcmp(buf_cstr(&new_text), buf_cstr(&old_text),
                   old_text.len) == 0) {
                ctl_debug(ctl, "%s: nothing to change", path);
                rc = 0;
                goto out_unlink;
        }
        if (conf_write(path, tmp, fd, &new_text,
                       exists ? &old_st : NULL) < 0)
                goto out_unlink;
        ctl_debug(ctl, "%s: updated", path);
        rc = 0;
        goto out;
out_unlink:
        /* a waiting editor sees the name gone and takes a fresh file */
        unlink(tmp);
out:
        if (fd >= 0)
                close(fd);
        buf_release(&old_text);
        buf_release(&new_text);
        free(edits);
        free(path);
        free(tmp);
        return rc;
}
