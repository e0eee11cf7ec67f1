/* mastercf.c - master.cf: the service table, in Postfix syntax
 * Used by: the supervisor and yubinctl. Turns each logical line into a
 * struct mastercf_service, checking every column; a line with any error is
 * reported as "file:line: message" and left out, so that the caller can
 * refuse to start rather than run half the services. -o name=value pairs
 * are collected but not judged here: their values are main.cf values, and
 * cfg_override() + cfg_check() validate them with this entry's file:line.
 * The file is read whole, up to MASTERCF_FILE_MAX. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cfg_lines.h"
#include "mastercf.h"
#include "mem.h"

#define MASTERCF_FILE_MAX       (16 * 1024 * 1024)
#define MASTERCF_QUOTE_MAX      100     /* bytes of a field in a message */
#define MASTERCF_FIELDS         8       /* service ... command */

struct parser {
        const char *path;
        struct mastercf *m;
        size_t service_alloc;
        size_t error_count, error_alloc;
        int line;               /* start of the logical line */
        int failed;             /* this line had an error */
};

/* a field of a logical line; braced is 1 for a "{ ... }" field */
struct field {
        char *text;
        int braced;
};

static void grow(void *arrp, size_t *alloc, size_t need, size_t size)
{
        void **arr = arrp;

        if (need <= *alloc)
                return;
        size_t n = *alloc ? *alloc * 2 : 8;
        while (n < need)
                n *= 2;
        *arr = xrealloc(*arr, n * size);
        *alloc = n;
}

static int is_space(int ch)
{
        return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' ||
               ch == '\f' || ch == '\v';
}

static const char *quote(char tmp[MASTERCF_QUOTE_MAX + 4], const char *s)
{
        size_t len = strlen(s);

        if (len <= MASTERCF_QUOTE_MAX)
                return s;
        memcpy(tmp, s, MASTERCF_QUOTE_MAX);
        memcpy(tmp + MASTERCF_QUOTE_MAX, "...", 4);
        return tmp;
}

/* add_error - "path:line: message" (line 0: "path: message") */
__attribute__((format(printf, 3, 4)))
static void add_error(struct parser *ps, int line, const char *fmt, ...)
{
        struct buf b;
        va_list ap;

        buf_init(&b, 0);
        if (line > 0)
                buf_printf(&b, "%s:%d: ", ps->path, line);
        else
                buf_printf(&b, "%s: ", ps->path);
        va_start(ap, fmt);
        buf_vprintf(&b, fmt, ap);
        va_end(ap);
        grow(&ps->m->errors, &ps->error_alloc, ps->error_count + 2,
             sizeof(*ps->m->errors));
        ps->m->errors[ps->error_count++] = buf_steal(&b);
        ps->m->errors[ps->error_count] = NULL;
        ps->failed = 1;
}

static void free_strv(char ***vp)
{
        if (*vp == NULL)
                return;
        for (char **p = *vp; *p != NULL; p++)
                free(*p);
        free(*vp);
        *vp = NULL;
}

static void service_release(struct mastercf_service *s)
{
        free(s->service);
        free(s->host);
        free(s->port);
        free(s->type);
        free(s->wakeup);
        free(s->command);
        free_strv(&s->args);
        free_strv(&s->overrides);
        free(s->file);
        memset(s, 0, sizeof(*s));
}

/* split_fields - the white-space separated fields of text; a field that
 * starts with '{' runs to its matching '}' and loses the braces and the
 * white space just inside them (Postfix 3 master.cf) */
static struct field *split_fields(struct parser *ps, const char *text,
                                  size_t *count_r)
{
        struct field *f = NULL;
        size_t n = 0, alloc = 0;
        const char *s = text;
        char q[MASTERCF_QUOTE_MAX + 4];

        for (;;) {
                while (is_space(*s))
                        s++;
                if (*s == '\0')
                        break;
                grow(&f, &alloc, n + 1, sizeof(*f));
                if (*s != '{') {
                        const char *start = s;

                        while (*s != '\0' && !is_space(*s))
                                s++;
                        f[n].text = xstrndup(start, (size_t)(s - start));
                        f[n++].braced = 0;
                        continue;
                }
                const char *start = ++s;
                int nest = 1;
                while (*s != '\0') {
                        if (*s == '{')
                                nest++;
                        else if (*s == '}' && --nest == 0)
                                break;
                        s++;
                }
                if (*s == '\0') {
                        add_error(ps, ps->line, "missing '}' after \"{%s\"",
                                  quote(q, start));
                        break;
                }
                const char *end = s++;
                if (*s != '\0' && !is_space(*s)) {
                        add_error(ps, ps->line, "text after '}': \"%s\"",
                                  quote(q, s));
                        break;
                }
                while (start < end && is_space(*start))
                        start++;
                while (end > start && is_space(end[-1]))
                        end--;
                f[n].text = xstrndup(start, (size_t)(end - start));
                f[n++].braced = 1;
        }
        *count_r = n;
        return f;
}

/* parse_yn - a y/n column; "-" gives the default (y) */
static void parse_yn(struct parser *ps, const char *column, const char *text,
                     int *value_r)
{
        char q[MASTERCF_QUOTE_MAX + 4];

        if (strcmp(text, "-") == 0 || strcmp(text, "y") == 0)
                *value_r = 1;
        else if (strcmp(text, "n") == 0)
                *value_r = 0;
        else
                add_error(ps, ps->line, "%s column: \"%s\": expected y, n "
                          "or -", column, quote(q, text));
}

/* small_number - all digits and at most INT_MAX */
static int small_number(const char *s, size_t len, int *value_r)
{
        long long v = 0;

        if (len == 0)
                return -1;
        for (size_t i = 0; i < len; i++) {
                if (!isdigit((unsigned char)s[i]))
                        return -1;
                v = v * 10 + (s[i] - '0');
                if (v > INT_MAX)
                        return -1;
        }
        *value_r = (int)v;
        return 0;
}

static int is_port(const char *s)
{
        int v;

        if (*s == '\0')
                return 0;
        if (isdigit((unsigned char)*s))
                return small_number(s, strlen(s), &v) == 0 && v >= 1 &&
                       v <= 65535;
        for (; *s != '\0'; s++)
                if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' &&
                    *s != '.')
                        return 0;
        return 1;
}

static int is_host_name(const char *s)
{
        if (*s == '\0')
                return 0;
        for (; *s != '\0'; s++)
                if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' &&
                    *s != '.')
                        return 0;
        return 1;
}

/* parse_inet - an inet service: port, host:port or [ipv6]:port; "*:" and
 * ":" mean every address */
static void parse_inet(struct parser *ps, struct mastercf_service *sv)
{
        const char *s = sv->service, *colon;
        char q[MASTERCF_QUOTE_MAX + 4];
        unsigned char bytes[16];

        if (s[0] == '[') {
                const char *close = strchr(s, ']');

                if (close == NULL || close[1] != ':') {
                        add_error(ps, ps->line, "service \"%s\": expected "
                                  "[address]:port", quote(q, s));
                        return;
                }
                sv->host = xstrndup(s + 1, (size_t)(close - s - 1));
                if (inet_pton(AF_INET6, sv->host, bytes) != 1) {
                        add_error(ps, ps->line, "service \"%s\": bad IPv6 "
                                  "address", quote(q, s));
                        return;
                }
                sv->port = xstrdup(close + 2);
        } else if ((colon = strrchr(s, ':')) != NULL) {
                if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
                        add_error(ps, ps->line, "service \"%s\": write an "
                                  "IPv6 address in brackets, as "
                                  "[address]:port", quote(q, s));
                        return;
                }
                size_t hlen = (size_t)(colon - s);
                if (hlen > 0 && !(hlen == 1 && s[0] == '*')) {
                        sv->host = xstrndup(s, hlen);
                        if (!is_host_name(sv->host)) {
                                add_error(ps, ps->line, "service \"%s\": bad "
                                          "host name", quote(q, s));
                                return;
                        }
                }
                sv->port = xstrdup(colon + 1);
        } else {
                sv->port = xstrdup(s);
        }
        if (!is_port(sv->port))
                add_error(ps, ps->line, "service \"%s\": bad port \"%s\" "
                          "(a number 1-65535 or a service name)", quote(q, s),
                          sv->port);
}

static void strv_push(char ***vp, size_t *count, size_t *alloc, char *s)
{
        grow(vp, alloc, *count + 2, sizeof(**vp));
        (*vp)[(*count)++] = s;
        (*vp)[*count] = NULL;
}

/* override_text - "name=value" from a -o argument */
static char *override_text(struct parser *ps, const struct field *f)
{
        const char *eq = strchr(f->text, '=');
        char q[MASTERCF_QUOTE_MAX + 4];

        if (eq == NULL || eq == f->text) {
                add_error(ps, ps->line, "-o \"%s\": expected name=value",
                          quote(q, f->text));
                return NULL;
        }
        if (!f->braced)
                return xstrdup(f->text);
        /* { name = value } */
        const char *ne = eq, *vs = eq + 1;
        while (ne > f->text && is_space(ne[-1]))
                ne--;
        while (is_space(*vs))
                vs++;
        if (ne == f->text) {
                add_error(ps, ps->line, "-o \"{%s}\": expected name=value",
                          quote(q, f->text));
                return NULL;
        }
        for (const char *p = f->text; p < ne; p++)
                if (is_space(*p)) {
                        add_error(ps, ps->line, "-o \"{%s}\": white space "
                                  "in the parameter name", quote(q, f->text));
                        return NULL;
                }
        return xasprintf("%.*s=%s", (int)(ne - f->text), f->text, vs);
}

static const char *const types[] = {
        "inet", "unix", "unix-dgram", "fifo", "pass",
};

/* parse_entry - one logical line, already split */
static void parse_entry(struct parser *ps, struct field *f, size_t n)
{
        struct mastercf_service sv;
        char q[MASTERCF_QUOTE_MAX + 4];
        size_t nargs = 0, aargs = 0, novr = 0, aovr = 0;
        int known = 0, argv_seen = 0;

        memset(&sv, 0, sizeof(sv));
        if (n < MASTERCF_FIELDS) {
                add_error(ps, ps->line, "expected at least %d fields (service "
                          "type private unpriv chroot wakeup maxproc "
                          "command), found %zu", MASTERCF_FIELDS, n);
                return;
        }
        for (size_t i = 0; i < MASTERCF_FIELDS; i++)
                if (f[i].braced) {
                        add_error(ps, ps->line, "field %zu: { } is allowed "
                                  "only in command arguments", i + 1);
                        return;
                }
        sv.service = xstrdup(f[0].text);
        sv.type = xstrdup(f[1].text);
        sv.file = xstrdup(ps->path);
        sv.line = ps->line;
        sv.private_ = sv.unpriv = sv.chroot = 1;
        sv.maxproc = -1;
        sv.args = xcalloc(1, sizeof(*sv.args));
        sv.overrides = xcalloc(1, sizeof(*sv.overrides));

        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
                known |= strcmp(sv.type, types[i]) == 0;
        if (!known)
                add_error(ps, ps->line, "type \"%s\": expected inet, unix, "
                          "unix-dgram, fifo or pass", quote(q, sv.type));
        else if (strcmp(sv.type, "inet") == 0)
                parse_inet(ps, &sv);
        else if (strchr(sv.service, '/') != NULL)
                add_error(ps, ps->line, "service \"%s\": a %s service name "
                          "may not contain '/'", quote(q, sv.service),
                          sv.type);

        parse_yn(ps, "private", f[2].text, &sv.private_);
        parse_yn(ps, "unpriv", f[3].text, &sv.unpriv);
        parse_yn(ps, "chroot", f[4].text, &sv.chroot);

        /* wakeup: -, N or N? (N seconds; ? = only when in use) */
        const char *w = f[5].text;
        size_t wlen = strlen(w);
        int v;
        if (wlen > 0 && w[wlen - 1] == '?')
                wlen--;
        if (strcmp(w, "-") != 0 && small_number(w, wlen, &v) < 0)
                add_error(ps, ps->line, "wakeup column: \"%s\": expected -, "
                          "a number of seconds, or seconds followed by ?",
                          quote(q, w));
        sv.wakeup = xstrdup(w);

        if (strcmp(f[6].text, "-") != 0 &&
            small_number(f[6].text, strlen(f[6].text), &sv.maxproc) < 0)
                add_error(ps, ps->line, "maxproc column: \"%s\": expected - "
                          "or a number", quote(q, f[6].text));

        sv.command = xstrdup(f[7].text);
        for (size_t i = MASTERCF_FIELDS; i < n; i++) {
                /* after a pipe-style argv=, every word is the command's */
                if (!argv_seen && !f[i].braced &&
                    strcmp(f[i].text, "-o") == 0) {
                        if (i + 1 == n) {
                                add_error(ps, ps->line, "-o at the end of "
                                          "the entry: expected name=value");
                                break;
                        }
                        char *o = override_text(ps, &f[++i]);
                        if (o != NULL)
                                strv_push(&sv.overrides, &novr, &aovr, o);
                        continue;
                }
                if (!f[i].braced && strncmp(f[i].text, "argv=", 5) == 0)
                        argv_seen = 1;
                strv_push(&sv.args, &nargs, &aargs, xstrdup(f[i].text));
        }

        if (ps->failed) {
                service_release(&sv);
                return;
        }
        grow(&ps->m->services, &ps->service_alloc, ps->m->count + 1,
             sizeof(*ps->m->services));
        ps->m->services[ps->m->count++] = sv;
}

static void parse_logical(struct parser *ps, const char *text)
{
        size_t n;
        struct field *f;

        ps->failed = 0;
        f = split_fields(ps, text, &n);
        if (!ps->failed)
                parse_entry(ps, f, n);
        for (size_t i = 0; i < n; i++)
                free(f[i].text);
        free(f);
}

static int service_cmp(const void *a, const void *b)
{
        const struct mastercf_service *const *pa = a, *const *pb = b;
        const struct mastercf_service *x = *pa, *y = *pb;
        int cmp = strcmp(x->service, y->service);

        if (cmp == 0)
                cmp = strcmp(x->type, y->type);
        if (cmp == 0)
                cmp = x->line < y->line ? -1 : x->line > y->line;
        return cmp;
}

/* drop_duplicates - one entry per service name and type: later ones are
 * errors (Postfix would silently keep the last; a supervisor that binds
 * ports should not guess) */
static void drop_duplicates(struct parser *ps)
{
        struct mastercf *m = ps->m;
        struct mastercf_service **sorted;
        size_t i, j;

        if (m->count < 2)
                return;
        sorted = xcalloc(m->count, sizeof(*sorted));
        for (i = 0; i < m->count; i++)
                sorted[i] = &m->services[i];
        qsort(sorted, m->count, sizeof(*sorted), service_cmp);
        for (i = 1; i < m->count; i++) {
                struct mastercf_service *prev = sorted[i - 1];

                if (strcmp(prev->service, sorted[i]->service) != 0 ||
                    strcmp(prev->type, sorted[i]->type) != 0)
                        continue;
                add_error(ps, sorted[i]->line, "duplicate service %s/%s "
                          "(first defined at line %d)", sorted[i]->service,
                          sorted[i]->type, sorted[i - 1]->line);
                sorted[i]->line = -sorted[i]->line;     /* mark */
                sorted[i] = prev;       /* a triple compares with the first */
        }
        free(sorted);
        for (i = j = 0; i < m->count; i++) {
                if (m->services[i].line < 0)
                        service_release(&m->services[i]);
                else
                        m->services[j++] = m->services[i];
        }
        m->count = j;
}

struct mastercf *mastercf_parse(const char *path, const char *text, size_t len)
{
        struct parser ps;
        struct cfg_lines r;
        const char *logical, *error;
        size_t logical_len;
        int line, ret;

        memset(&ps, 0, sizeof(ps));
        ps.path = path;
        ps.m = xcalloc(1, sizeof(*ps.m));
        ps.m->errors = xcalloc(1, sizeof(*ps.m->errors));
        cfg_lines_init(&r, text, len, "a service line");
        while ((ret = cfg_lines_next(&r, &logical, &logical_len, &line,
                                     &error)) != 0) {
                if (ret > 0) {
                        ps.line = line;
                        parse_logical(&ps, logical);
                } else {
                        add_error(&ps, line, "%s", error);
                }
        }
        cfg_lines_release(&r);
        drop_duplicates(&ps);
        return ps.m;
}

struct mastercf *mastercf_read(const char *path)
{
        struct buf text;
        char chunk[65536];
        struct mastercf *m;
        const char *problem = NULL;
        int fd, saved = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                saved = errno;
                problem = "cannot open";
        }
        buf_init(&text, MASTERCF_FILE_MAX);
        while (problem == NULL) {
                ssize_t n = read(fd, chunk, sizeof(chunk));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        saved = errno;
                        problem = "read error";
                } else if (n == 0) {
                        break;
                } else if (buf_append(&text, chunk, (size_t)n) < 0) {
                        saved = EFBIG;
                        problem = "cannot read";
                }
        }
        if (fd >= 0)
                close(fd);
        if (problem != NULL) {
                struct parser ps;

                memset(&ps, 0, sizeof(ps));
                ps.path = path;
                ps.m = xcalloc(1, sizeof(*ps.m));
                ps.m->errors = xcalloc(1, sizeof(*ps.m->errors));
                add_error(&ps, 0, "%s: %s", problem, strerror(saved));
                buf_release(&text);
                return ps.m;
        }
        m = mastercf_parse(path, buf_cstr(&text), text.len);
        buf_release(&text);
        return m;
}

void mastercf_free(struct mastercf **mp)
{
        struct mastercf *m;

        if (mp == NULL || *mp == NULL)
                return;
        m = *mp;
        for (size_t i = 0; i < m->count; i++)
                service_release(&m->services[i]);
        free(m->services);
        free_strv(&m->errors);
        free(m);
        *mp = NULL;
}
