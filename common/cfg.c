/* cfg.c - main.cf: reading, $name expansion, typed getters, cfg_check()
 * Used by: every program, through cfg.h. Keeps main.cf as read and the -o
 * overrides as raw text with the file:line they came from, expands values
 * on demand (cached until the next change, loops detected) and has each
 * checked against its row in cfg_defaults.c by cfg_value.c. Problems
 * become diagnostics, never output, so that the supervisor and yubinctl
 * decide how to show them.
 * Memory stays proportional to the input: a file is read whole up to
 * CFG_FILE_MAX, each value is held once, and an expansion may not grow
 * past CFG_EXPAND_MAX. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "cfg_int.h"
#include "cfg_lines.h"
#include "fileio.h"
#include "log.h"
#include "mem.h"

#define CFG_FILE_MAX            (64 * 1024 * 1024)
#define CFG_EXPAND_MAX          (8 * 1024 * 1024)
#define CFG_EXPAND_DEPTH        64      /* nested $name references */
#define CFG_ERROR_MAX           512

struct cfg_entry {
        char *name;
        size_t name_len;
        const struct cfg_param *param;  /* NULL: not in the table */
        char *value;                    /* main.cf or cfg_set(); NULL: unset */
        char *where;                    /* "path:line" of value, or NULL */
        char *ovalue;                   /* -o override; NULL: none */
        char *owhere;
        char *expanded;                 /* cached expansion ... */
        unsigned long gen;              /* ... valid while gen == cfg's */
        int expanding;                  /* on the expansion stack now */
        int used;                       /* a value refers to it ($name) */
        int in_order;                   /* listed in cfg->order */
        struct cfg_entry *next;         /* hash chain */
};

struct cfg_diag {
        char *text;
        int error;
        int from_check;         /* made by cfg_check(), redone each time */
};

struct cfg {
        char *config_dir;
        char *def_myhostname;
        char *def_mydomain;
        struct cfg_entry **table;       /* hash of entries by name */
        size_t table_size;              /* a power of two */
        struct cfg_entry **entries;     /* in the order they were made */
        size_t count, alloc;
        struct cfg_entry **order;       /* set by main.cf, first-set order */
        size_t order_count, order_alloc;
        struct cfg_diag *diags;
        size_t diag_count, diag_alloc;
        unsigned long gen;              /* bumped by every change */
        struct cfg_entry *stack[CFG_EXPAND_DEPTH + 1];
        size_t depth;
        char error[CFG_ERROR_MAX];      /* last expansion error */
};

/* Parameters whose $names are filled per use by the program (Postfix keeps
 * these unexpanded too). */
static const char *const raw_params[] = {
        "debugger_command", "default_rbl_reply", "forward_path",
        "luser_relay", "mailbox_command", "smtpd_reject_footer",
};

/* grow - make room for need items in *arrp */
static void grow(void *arrp, size_t *alloc, size_t need, size_t size)
{
        void **arr = arrp;

        if (need <= *alloc)
                return;
        size_t n = *alloc ? *alloc * 2 : 16;
        while (n < need)
                n *= 2;
        *arr = xrealloc(*arr, n * size);
        *alloc = n;
}

static int is_name_char(int ch)
{
        return isalnum((unsigned char)ch) || ch == '_';
}

static int is_space(int ch)
{
        return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' ||
               ch == '\f' || ch == '\v';
}

/* cfg_quote - s (len bytes) cut to fit a message, "..." marking a cut */
const char *cfg_quote(char tmp[CFG_QUOTE_MAX + 4], const char *s, size_t len)
{
        if (len <= CFG_QUOTE_MAX) {
                memcpy(tmp, s, len);
                tmp[len] = '\0';
        } else {
                memcpy(tmp, s, CFG_QUOTE_MAX);
                memcpy(tmp + CFG_QUOTE_MAX, "...", 4);
        }
        return tmp;
}

/* --- the table --- */

static const struct cfg_param *param_find_n(const char *name, size_t len)
{
        size_t lo = 0, hi = cfg_params_count;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const char *pn = cfg_params[mid].name;
                int cmp = strncmp(pn, name, len);

                if (cmp == 0 && pn[len] != '\0')
                        cmp = 1;        /* pn is longer, so it sorts later */
                if (cmp == 0)
                        return &cfg_params[mid];
                if (cmp < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

const struct cfg_param *cfg_param_find(const char *name)
{
        return param_find_n(name, strlen(name));
}

int cfg_param_is_raw(const struct cfg_param *p)
{
        if (p == NULL)
                return 0;
        for (size_t i = 0; i < sizeof(raw_params) / sizeof(raw_params[0]); i++)
                if (strcmp(p->name, raw_params[i]) == 0)
                        return 1;
        return 0;
}

char cfg_param_time_unit(const struct cfg_param *p)
{
        for (int hops = 0; p != NULL && hops < CFG_EXPAND_DEPTH; hops++) {
                const char *d = p->def;
                size_t n = strlen(d);

                if (d[0] == '$') {
                        /* only "$name" or "${name}": follow the reference */
                        const char *name = d + 1;
                        size_t len = n - 1;

                        if (len >= 2 && name[0] == '{' &&
                            name[len - 1] == '}') {
                                name++;
                                len -= 2;
                        }
                        size_t k = 0;
                        while (k < len && is_name_char(name[k]))
                                k++;
                        if (k == len && len > 0) {
                                p = param_find_n(name, len);
                                continue;
                        }
                }
                if (n > 0 && strchr("smhdw", d[n - 1]) != NULL)
                        return d[n - 1];
                return 's';
        }
        return 's';
}

/* --- entries --- */

static size_t name_hash(const char *s, size_t len)
{
        uint64_t h = 1469598103934665603ULL;    /* FNV-1a */

        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char)s[i];
                h *= 1099511628211ULL;
        }
        return (size_t)h;
}

static struct cfg_entry *entry_find(const struct cfg *c, const char *name,
                                    size_t len)
{
        struct cfg_entry *e;

        for (e = c->table[name_hash(name, len) & (c->table_size - 1)];
             e != NULL; e = e->next)
                if (e->name_len == len && memcmp(e->name, name, len) == 0)
                        return e;
        return NULL;
}

/* table_build - the hash table over the entries, of size slots */
static void table_build(struct cfg *c, size_t size)
{
        struct cfg_entry **t = xcalloc(size, sizeof(*t));

        for (size_t i = 0; i < c->count; i++) {
                struct cfg_entry *e = c->entries[i];
                size_t h = name_hash(e->name, e->name_len) & (size - 1);

                e->next = t[h];
                t[h] = e;
        }
        free(c->table);
        c->table = t;
        c->table_size = size;
}

static void table_rehash(struct cfg *c)
{
        table_build(c, c->table_size * 2);
}

/* entry_get - the entry for name, made if there is none */
static struct cfg_entry *entry_get(struct cfg *c, const char *name,
                                   size_t len)
{
        struct cfg_entry *e = entry_find(c, name, len);

        if (e != NULL)
                return e;
        e = xcalloc(1, sizeof(*e));
        e->name = xstrndup(name, len);
        e->name_len = len;
        e->param = param_find_n(name, len);
        grow(&c->entries, &c->alloc, c->count + 1, sizeof(*c->entries));
        c->entries[c->count++] = e;
        if (c->count > c->table_size)
                table_rehash(c);        /* also links e in */
        else {
                size_t h = name_hash(name, len) & (c->table_size - 1);

                e->next = c->table[h];
                c->table[h] = e;
        }
        return e;
}

static int entry_is_set(const struct cfg_entry *e)
{
        return e->value != NULL || e->ovalue != NULL;
}

static const char *default_text(const struct cfg *c,
                                const struct cfg_param *p)
{
        if (p == NULL)
                return NULL;
        if (strcmp(p->name, "myhostname") == 0)
                return c->def_myhostname;
        if (strcmp(p->name, "mydomain") == 0)
                return c->def_mydomain;
        if (strcmp(p->name, "config_directory") == 0)
                return c->config_dir;
        return p->def;
}

/* entry_raw - the value in force as written: override, main.cf, default */
static const char *entry_raw(const struct cfg *c, const struct cfg_entry *e,
                             const char **where_r)
{
        const char *where = NULL, *v;

        if (e->ovalue != NULL) {
                v = e->ovalue;
                where = e->owhere;
        } else if (e->value != NULL) {
                v = e->value;
                where = e->where;
        } else {
                v = default_text(c, e->param);
        }
        if (where_r != NULL)
                *where_r = where;
        return v;
}

/* --- diagnostics --- */

static void diag_vadd(struct cfg *c, int error, int from_check,
                      const char *fmt, va_list ap)
{
        struct buf b;

        buf_init(&b, 0);
        buf_vprintf(&b, fmt, ap);
        grow(&c->diags, &c->diag_alloc, c->diag_count + 1, sizeof(*c->diags));
        c->diags[c->diag_count].text = buf_steal(&b);
        c->diags[c->diag_count].error = error;
        c->diags[c->diag_count].from_check = from_check;
        c->diag_count++;
}

/* diag_add - record a reading problem (kept until c is freed) */
__attribute__((format(printf, 3, 4)))
static void diag_add(struct cfg *c, int error, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        diag_vadd(c, error, 0, fmt, ap);
        va_end(ap);
}

size_t cfg_diag_count(const struct cfg *c)
{
        return c->diag_count;
}

const char *cfg_diag(const struct cfg *c, size_t i, int *error_r)
{
        if (i >= c->diag_count)
                return NULL;
        if (error_r != NULL)
                *error_r = c->diags[i].error;
        return c->diags[i].text;
}

size_t cfg_log_diags(const struct cfg *c)
{
        size_t errors = 0;

        for (size_t i = 0; i < c->diag_count; i++) {
                if (c->diags[i].error) {
                        log_error("%s", c->diags[i].text);
                        errors++;
                } else {
                        log_warn("%s", c->diags[i].text);
                }
        }
        return errors;
}

static size_t error_count(const struct cfg *c)
{
        size_t n = 0;

        for (size_t i = 0; i < c->diag_count; i++)
                n += c->diags[i].error != 0;
        return n;
}

/* --- life cycle --- */

struct cfg *cfg_new(const char *config_dir)
{
        struct cfg *c = xcalloc(1, sizeof(*c));
        char host[256];

        c->config_dir = xstrdup(config_dir != NULL ? config_dir :
                                cfg_param_find("config_directory")->def);
        c->table_size = 512;
        c->table = xcalloc(c->table_size, sizeof(*c->table));
        c->gen = 1;

        /* Postfix's rule: the host name, made to look like a domain name
         * without asking the DNS */
        if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
                snprintf(host, sizeof(host), "localhost");
        host[sizeof(host) - 1] = '\0';
        if (strchr(host, '.') == NULL)
                c->def_myhostname = xasprintf("%s.localdomain", host);
        else
                c->def_myhostname = xstrdup(host);
        const char *dot = strchr(c->def_myhostname, '.');
        c->def_mydomain = xstrdup(dot != NULL && dot[1] != '\0' ? dot + 1 :
                                  "localdomain");
        return c;
}

static void entry_free(struct cfg_entry *e)
{
        free(e->name);
        free(e->value);
        free(e->where);
        free(e->ovalue);
        free(e->owhere);
        free(e->expanded);
        free(e);
}

void cfg_free(struct cfg **cp)
{
        struct cfg *c;

        if (cp == NULL || *cp == NULL)
                return;
        c = *cp;
        for (size_t i = 0; i < c->count; i++)
                entry_free(c->entries[i]);
        for (size_t i = 0; i < c->diag_count; i++)
                free(c->diags[i].text);
        free(c->diags);
        free(c->entries);
        free(c->order);
        free(c->table);
        free(c->config_dir);
        free(c->def_myhostname);
        free(c->def_mydomain);
        free(c);
        *cp = NULL;
}

const char *cfg_config_dir(const struct cfg *c)
{
        return c->config_dir;
}

/* --- setting values --- */

/* set_main - name = value as main.cf says it; takes ownership of where */
static void set_main(struct cfg *c, const char *name, size_t name_len,
                     const char *value, size_t value_len, char *where)
{
        struct cfg_entry *e = entry_get(c, name, name_len);

        free(e->value);
        free(e->where);
        e->value = xstrndup(value, value_len);
        e->where = where;
        if (!e->in_order) {
                grow(&c->order, &c->order_alloc, c->order_count + 1,
                     sizeof(*c->order));
                c->order[c->order_count++] = e;
                e->in_order = 1;
        }
        c->gen++;
}

void cfg_set(struct cfg *c, const char *name, const char *value,
             const char *where)
{
        set_main(c, name, strlen(name), value != NULL ? value : "",
                 value != NULL ? strlen(value) : 0,
                 where != NULL ? xstrdup(where) : NULL);
}

int cfg_override(struct cfg *c, const char *name_eq_value, const char *where)
{
        const char *s = name_eq_value;
        const char *eq = strchr(s, '=');
        const char *ns, *ne, *vs, *ve;
        char q[CFG_QUOTE_MAX + 4];

        for (ns = s; is_space(*ns); ns++)
                ;
        ne = eq != NULL ? eq : ns;
        while (ne > ns && is_space(ne[-1]))
                ne--;
        if (eq == NULL || ne == ns) {
                diag_add(c, 1, "%s: -o \"%s\": expected name=value",
                         where != NULL ? where : "-o",
                         cfg_quote(q, s, strlen(s)));
                return -1;
        }
        for (vs = eq + 1; is_space(*vs); vs++)
                ;
        ve = vs + strlen(vs);
        while (ve > vs && is_space(ve[-1]))
                ve--;

        struct cfg_entry *e = entry_get(c, ns, (size_t)(ne - ns));
        free(e->ovalue);
        free(e->owhere);
        e->ovalue = xstrndup(vs, (size_t)(ve - vs));
        e->owhere = where != NULL ? xstrdup(where) : NULL;
        c->gen++;
        return 0;
}

/* --- reading main.cf --- */

/* parse_assignment - one logical line "name = value" */
static void parse_assignment(struct cfg *c, const char *path, int line,
                             const char *text, size_t len)
{
        const char *end = text + len;
        const char *p = text;
        char q[CFG_QUOTE_MAX + 4];

        while (p < end && *p != '=' && !is_space(*p))
                p++;
        const char *name_end = p;
        while (p < end && is_space(*p))
                p++;
        if (name_end == text) {
                diag_add(c, 1, "%s:%d: missing parameter name before '=': "
                         "\"%s\"", path, line, cfg_quote(q, text, len));
                return;
        }
        if (p == end || *p != '=') {
                diag_add(c, 1, "%s:%d: missing '=' after parameter name: "
                         "\"%s\"", path, line, cfg_quote(q, text, len));
                return;
        }
        p++;
        while (p < end && is_space(*p))
                p++;
        const char *vend = end;
        while (vend > p && is_space(vend[-1]))
                vend--;
        set_main(c, text, (size_t)(name_end - text), p, (size_t)(vend - p),
                 xasprintf("%s:%d", path, line));
}

int cfg_parse_main(struct cfg *c, const char *path, const char *text,
                   size_t len)
{
        size_t errors = error_count(c);
        struct cfg_lines r;
        const char *logical, *error;
        size_t logical_len;
        int line, ret;

        cfg_lines_init(&r, text, len, "a parameter");
        while ((ret = cfg_lines_next(&r, &logical, &logical_len, &line,
                                     &error)) != 0) {
                if (ret > 0)
                        parse_assignment(c, path, line, logical, logical_len);
                else
                        diag_add(c, 1, "%s:%d: %s", path, line, error);
        }
        cfg_lines_release(&r);
        return error_count(c) > errors ? -1 : 0;
}

int cfg_read_main(struct cfg *c, const char *path)
{
        struct buf text;
        struct status st;
        struct stat sb;
        int ret;

        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
                diag_add(c, 1, "%s: is a directory", path);
                return -1;
        }
        buf_init(&text, 0);
        ret = fileio_read(path, CFG_FILE_MAX, &text, &st);
        if (ret <= 0) {
                if (ret == 0)
                        diag_add(c, 1, "%s: cannot open: %s", path,
                                 strerror(ENOENT));
                else
                        diag_add(c, 1, "%s", st.text);
                buf_release(&text);
                return -1;
        }
        ret = cfg_parse_main(c, path, buf_cstr(&text), text.len);
        buf_release(&text);
        return ret;
}

/* --- expansion --- */

__attribute__((format(printf, 2, 3)))
static int expand_fail(struct cfg *c, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(c->error, sizeof(c->error), fmt, ap);
        va_end(ap);
        return -1;
}

/* expand_loop - the error for a reference back to e: names the cycle */
static int expand_loop(struct cfg *c, const struct cfg_entry *e)
{
        struct buf b;
        size_t i = 0;

        while (i < c->depth && c->stack[i] != e)
                i++;
        buf_init(&b, sizeof(c->error) - 1);
        buf_puts(&b, "expansion loop: ");
        for (; i < c->depth; i++)
                if (buf_printf(&b, "$%.64s -> ", c->stack[i]->name) < 0)
                        break;
        buf_printf(&b, "$%.64s", e->name);
        snprintf(c->error, sizeof(c->error), "%s", buf_cstr(&b));
        buf_release(&b);
        return -1;
}

static int out_append(struct cfg *c, struct buf *out, const char *s,
                      size_t n)
{
        if (buf_append(out, s, n) < 0)
                return expand_fail(c, "value longer than %d bytes after "
                                   "expansion", CFG_EXPAND_MAX);
        return 0;
}

static int expand_text(struct cfg *c, const char *s, size_t len,
                       struct buf *out, int depth);
static int expand_name(struct cfg *c, const char *name, size_t len,
                       int depth, const char **value_r);

/* expand_entry - e's value, expanded (cached until the next change) */
static int expand_entry(struct cfg *c, struct cfg_entry *e, int depth,
                        const char **value_r)
{
        const char *raw;
        struct buf out;
        int ret;

        if (e->expanded != NULL && e->gen == c->gen) {
                *value_r = e->expanded;
                return 0;
        }
        raw = entry_raw(c, e, NULL);
        if (raw == NULL) {
                *value_r = "";
                return 0;
        }
        if (cfg_param_is_raw(e->param)) {
                *value_r = raw;
                return 0;
        }
        if (e->expanding)
                return expand_loop(c, e);
        if (depth >= CFG_EXPAND_DEPTH || c->depth >= CFG_EXPAND_DEPTH)
                return expand_fail(c, "$%.64s: references nested more than "
                                   "%d deep", e->name, CFG_EXPAND_DEPTH);
        e->expanding = 1;
        c->stack[c->depth++] = e;
        buf_init(&out, CFG_EXPAND_MAX);
        if (!entry_is_set(e) && e->param != NULL &&
            strcmp(e->name, "mydomain") == 0) {
                /* Postfix: $myhostname without its first label */
                const char *host;

                ret = expand_name(c, "myhostname", 10, depth + 1, &host);
                if (ret == 0) {
                        const char *dot = strchr(host, '.');

                        if (dot == NULL || dot[1] == '\0')
                                dot = ".localdomain";
                        ret = out_append(c, &out, dot + 1, strlen(dot + 1));
                }
        } else {
                ret = expand_text(c, raw, strlen(raw), &out, depth + 1);
        }
        c->depth--;
        e->expanding = 0;
        if (ret < 0) {
                buf_release(&out);
                return -1;
        }
        free(e->expanded);
        e->expanded = buf_steal(&out);
        e->gen = c->gen;
        *value_r = e->expanded;
        return 0;
}

/* expand_name - the expanded value of $name: a set or known parameter,
 * else empty (Postfix expands an unknown name to nothing) */
static int expand_name(struct cfg *c, const char *name, size_t len,
                       int depth, const char **value_r)
{
        struct cfg_entry *e = entry_find(c, name, len);

        if (e == NULL) {
                if (param_find_n(name, len) == NULL) {
                        *value_r = "";
                        return 0;
                }
                e = entry_get(c, name, len);
        }
        if (e->param == NULL)
                e->used = 1;
        return expand_entry(c, e, depth, value_r);
}

/* braced - Postfix 3 "{text}" or "{text1}:{text2}" after ? or :; returns
 * the number of texts found (1 or 2), or 0 if s is not of that form */
static int braced(const char *s, size_t len, const char **a, size_t *alen,
                  const char **b, size_t *blen)
{
        const char *end = s + len;
        const char *texts[2];
        size_t lens[2];
        int n = 0;

        for (;;) {
                while (s < end && is_space(*s))
                        s++;
                if (s == end || *s != '{' || n == 2)
                        return 0;
                const char *start = ++s;
                int nest = 1;
                while (s < end) {
                        if (*s == '{')
                                nest++;
                        else if (*s == '}' && --nest == 0)
                                break;
                        s++;
                }
                if (s == end)
                        return 0;
                texts[n] = start;
                lens[n++] = (size_t)(s - start);
                s++;
                while (s < end && is_space(*s))
                        s++;
                if (s == end)
                        break;
                if (*s != ':')
                        return 0;
                s++;
        }
        *a = texts[0];
        *alen = lens[0];
        if (n == 2) {
                *b = texts[1];
                *blen = lens[1];
        }
        return n;
}

/* expand_text - append text with its $references expanded to out */
static int expand_text(struct cfg *c, const char *s, size_t len,
                       struct buf *out, int depth)
{
        const char *end = s + len;

        if (depth > CFG_EXPAND_DEPTH)
                return expand_fail(c, "references nested more than %d deep",
                                   CFG_EXPAND_DEPTH);
        while (s < end) {
                const char *d = memchr(s, '$', (size_t)(end - s));
                const char *value;

                if (d == NULL)
                        return out_append(c, out, s, (size_t)(end - s));
                if (out_append(c, out, s, (size_t)(d - s)) < 0)
                        return -1;
                s = d + 1;
                if (s < end && *s == '$') {                     /* $$ */
                        if (out_append(c, out, "$", 1) < 0)
                                return -1;
                        s++;
                        continue;
                }
                if (s < end && is_name_char(*s)) {             /* $name */
                        const char *n = s;

                        while (s < end && is_name_char(*s))
                                s++;
                        if (expand_name(c, n, (size_t)(s - n), depth,
                                        &value) < 0 ||
                            out_append(c, out, value, strlen(value)) < 0)
                                return -1;
                        continue;
                }
                if (s == end || (*s != '{' && *s != '(')) {
                        /* a lone $ stays as it is */
                        if (out_append(c, out, "$", 1) < 0)
                                return -1;
                        continue;
                }

                /* ${name}, $(name), ${name?text}, ${name:text} */
                char open = *s, close = open == '{' ? '}' : ')';
                const char *body = s + 1, *q = body;
                int nest = 1;
                while (q < end) {
                        if (*q == open)
                                nest++;
                        else if (*q == close && --nest == 0)
                                break;
                        q++;
                }
                if (q == end)
                        return expand_fail(c, "missing '%c' after \"$%c\"",
                                           close, open);
                const char *n = body;
                while (n < q && is_name_char(*n))
                        n++;
                if (n == body)
                        return expand_fail(c, "missing parameter name after "
                                           "\"$%c\"", open);
                s = q + 1;
                if (n != q && *n != '?' && *n != ':')
                        return expand_fail(c, "unexpected '%c' after \"$%c"
                                           "%.*s\"", *n, open,
                                           (int)(n - body > 64 ? 64 :
                                                 n - body), body);
                if (expand_name(c, body, (size_t)(n - body), depth,
                                &value) < 0)
                        return -1;
                if (n == q) {
                        if (out_append(c, out, value, strlen(value)) < 0)
                                return -1;
                        continue;
                }

                int nonempty = *value != '\0';
                const char *t = n + 1, *a = NULL, *b = NULL, *pick = NULL;
                size_t tlen = (size_t)(q - t), alen = 0, blen = 0, plen = 0;
                int form = braced(t, tlen, &a, &alen, &b, &blen);

                if (*n == '?') {
                        if (form == 2) {
                                pick = nonempty ? a : b;
                                plen = nonempty ? alen : blen;
                        } else if (form == 1) {
                                pick = nonempty ? a : NULL;
                                plen = alen;
                        } else {
                                pick = nonempty ? t : NULL;
                                plen = tlen;
                        }
                } else {
                        if (form == 1) {
                                pick = nonempty ? NULL : a;
                                plen = alen;
                        } else {
                                pick = nonempty ? NULL : t;
                                plen = tlen;
                        }
                }
                if (pick != NULL &&
                    expand_text(c, pick, plen, out, depth + 1) < 0)
                        return -1;
        }
        return 0;
}

char *cfg_expand(struct cfg *c, const char *text, const char **error_r)
{
        struct buf out;

        if (text == NULL)
                text = "";
        buf_init(&out, CFG_EXPAND_MAX);
        c->depth = 0;
        if (expand_text(c, text, strlen(text), &out, 0) < 0) {
                buf_release(&out);
                if (error_r != NULL)
                        *error_r = c->error;
                return NULL;
        }
        return buf_steal(&out);
}

/* --- getting values --- */

/* entry_for_get - the entry of a name a program reads: a table row, or a
 * name that main.cf or an override sets; anything else is a bug */
static struct cfg_entry *entry_for_get(struct cfg *c, const char *name,
                                       const char *fn)
{
        size_t len = strlen(name);
        struct cfg_entry *e = entry_find(c, name, len);

        if (e != NULL && (e->param != NULL || entry_is_set(e)))
                return e;
        if (param_find_n(name, len) == NULL)
                log_panic("%s: unknown parameter \"%s\"", fn, name);
        return entry_get(c, name, len);
}

const char *cfg_get(struct cfg *c, const char *name)
{
        struct cfg_entry *e = entry_for_get(c, name, "cfg_get");
        const char *v;

        c->depth = 0;
        if (expand_entry(c, e, 0, &v) < 0) {
                /* cfg_check() reported it; show the text as written */
                v = entry_raw(c, e, NULL);
                return v != NULL ? v : "";
        }
        return v;
}

const char *cfg_get_raw(const struct cfg *c, const char *name,
                        const char **where_r)
{
        size_t len = strlen(name);
        const struct cfg_entry *e = entry_find(c, name, len);

        if (where_r != NULL)
                *where_r = NULL;
        if (e != NULL)
                return entry_raw(c, e, where_r);
        return default_text(c, param_find_n(name, len));
}

const char *cfg_get_default(const struct cfg *c, const char *name)
{
        return default_text(c, cfg_param_find(name));
}

int cfg_is_set(const struct cfg *c, const char *name)
{
        const struct cfg_entry *e = entry_find(c, name, strlen(name));

        return e != NULL && entry_is_set(e);
}

const char *cfg_set_name(const struct cfg *c, size_t i)
{
        return i < c->order_count ? c->order[i]->name : NULL;
}

/* typed_value - name's expanded value; name must be a row of type want */
static const char *typed_value(struct cfg *c, const char *name,
                               enum cfg_type want, const char *fn,
                               const struct cfg_param **p_r)
{
        const struct cfg_param *p = cfg_param_find(name);

        if (p == NULL)
                log_panic("%s: unknown parameter \"%s\"", fn, name);
        if (p->type != want)
                log_panic("%s: parameter %s has another type", fn, name);
        *p_r = p;
        return cfg_get(c, name);
}

int cfg_get_bool(struct cfg *c, const char *name)
{
        const struct cfg_param *p;
        const char *v = typed_value(c, name, CFG_BOOL, "cfg_get_bool", &p);
        int b;

        if (cfg_parse_bool(v, &b) < 0)
                log_panic("cfg_get_bool: %s = %s: not yes or no (was "
                          "cfg_check() run?)", name, v);
        return b;
}

long long cfg_get_int(struct cfg *c, const char *name)
{
        const struct cfg_param *p;
        const char *v = typed_value(c, name, CFG_INT, "cfg_get_int", &p);
        long long n;

        if (cfg_parse_int(v, &n) < 0)
                log_panic("cfg_get_int: %s = %s: not an integer (was "
                          "cfg_check() run?)", name, v);
        return n;
}

long long cfg_get_time(struct cfg *c, const char *name)
{
        const struct cfg_param *p;
        const char *v = typed_value(c, name, CFG_TIME, "cfg_get_time", &p);
        long long n;

        if (cfg_parse_time(v, cfg_param_time_unit(p), &n) < 0)
                log_panic("cfg_get_time: %s = %s: not a time (was "
                          "cfg_check() run?)", name, v);
        return n;
}

long long cfg_get_size(struct cfg *c, const char *name)
{
        const struct cfg_param *p;
        const char *v = typed_value(c, name, CFG_SIZE, "cfg_get_size", &p);
        long long n;

        if (cfg_parse_size(v, &n) < 0)
                log_panic("cfg_get_size: %s = %s: not a size (was "
                          "cfg_check() run?)", name, v);
        return n;
}

int cfg_list_next(const char **cpp, const char **item_r, size_t *len_r,
                     const char **error_r)
{
        const char *s = *cpp;
        int depth = 0;

        s += strspn(s, CFG_LIST_SEP);
        if (*s == '\0') {
                *cpp = s;
                return 0;
        }
        const char *start = s;
        for (; *s != '\0'; s++) {
                if (*s == '{') {
                        depth++;
                } else if (*s == '}') {
                        if (depth == 0) {
                                *error_r = "unbalanced '}'";
                                *cpp = s + strlen(s);
                                return -1;
                        }
                        depth--;
                } else if (depth == 0 && strchr(CFG_LIST_SEP, *s) != NULL) {
                        break;
                }
        }
        if (depth > 0) {
                *error_r = "missing '}'";
                *cpp = s;
                return -1;
        }
        *item_r = start;
        *len_r = (size_t)(s - start);
        *cpp = s;
        return 1;
}

char **cfg_get_list(struct cfg *c, const char *name, size_t *count_r)
{
        const char *v = cfg_get(c, name);
        const char *item, *error;
        size_t len, n = 0, alloc = 0;
        char **list = NULL;

        grow(&list, &alloc, 1, sizeof(*list));
        while (cfg_list_next(&v, &item, &len, &error) > 0) {
                grow(&list, &alloc, n + 2, sizeof(*list));
                list[n++] = xstrndup(item, len);
        }
        list[n] = NULL;
        if (count_r != NULL)
                *count_r = n;
        return list;
}

void cfg_list_free(char ***listp)
{
        if (listp == NULL || *listp == NULL)
                return;
        for (char **p = *listp; *p != NULL; p++)
                free(*p);
        free(*listp);
        *listp = NULL;
}

/* --- value parsers --- */

int cfg_digits(const char **sp, unsigned long long limit,
                        unsigned long long *value_r)
{
        const char *s = *sp;
        unsigned long long v = 0;

        if (*s < '0' || *s > '9')
                return -1;
        for (; *s >= '0' && *s <= '9'; s++) {
                unsigned d = (unsigned)(*s - '0');

                if (v > (limit - d) / 10)
                        return -1;
                v = v * 10 + d;
        }
        *sp = s;
        *value_r = v;
        return 0;
}

int cfg_parse_int(const char *text, long long *value_r)
{
        const char *s = text;
        unsigned long long v;
        int neg = 0;

        if (*s == '-' || *s == '+')
                neg = *s++ == '-';
        if (cfg_digits(&s, neg ? (unsigned long long)LLONG_MAX + 1 :
                       (unsigned long long)LLONG_MAX, &v) < 0 ||
            *s != '\0')
                return -1;
        if (neg)
                *value_r = v == (unsigned long long)LLONG_MAX + 1 ?
                        LLONG_MIN : -(long long)v;
        else
                *value_r = (long long)v;
        return 0;
}

int cfg_parse_size(const char *text, long long *value_r)
{
        const char *s = text;
        unsigned long long v;

        if (cfg_digits(&s, (unsigned long long)LLONG_MAX, &v) < 0 ||
            *s != '\0')
                return -1;
        *value_r = (long long)v;
        return 0;
}

static long long unit_seconds(char unit)
{
        switch (unit) {
        case 's':
                return 1;
        case 'm':
                return 60;
        case 'h':
                return 3600;
        case 'd':
                return 86400;
        case 'w':
                return 604800;
        default:
                return 0;
        }
}

int cfg_parse_time(const char *text, char def_unit, long long *secs_r)
{
        const char *s = text;
        unsigned long long v;
        long long mul;

        if (cfg_digits(&s, (unsigned long long)LLONG_MAX, &v) < 0)
                return -1;
        if (*s != '\0') {
                if (s[1] != '\0' || (mul = unit_seconds(*s)) == 0)
                        return -1;
        } else if ((mul = unit_seconds(def_unit)) == 0) {
                mul = 1;
        }
        if (v > (unsigned long long)(LLONG_MAX / mul))
                return -1;
        *secs_r = (long long)v * mul;
        return 0;
}

int cfg_parse_bool(const char *text, int *value_r)
{
        if (strcasecmp(text, "yes") == 0)
                *value_r = 1;
        else if (strcasecmp(text, "no") == 0)
                *value_r = 0;
        else
                return -1;
        return 0;
}

/* --- checking --- */

/* cfg_value_error - record "WHERE: NAME: message" for the value k is
 * checking; past CFG_ITEM_ERRORS_MAX, one line says that more were cut */
void cfg_value_error(struct cfg_value_ctx *k, const char *fmt, ...)
{
        va_list ap;
        struct buf b;

        k->errors++;
        if (k->errors > CFG_ITEM_ERRORS_MAX + 1)
                return;
        buf_init(&b, 0);
        if (k->errors == CFG_ITEM_ERRORS_MAX + 1) {
                buf_puts(&b, "more errors in this value are not shown");
        } else {
                va_start(ap, fmt);
                buf_vprintf(&b, fmt, ap);
                va_end(ap);
        }
        grow(&k->c->diags, &k->c->diag_alloc, k->c->diag_count + 1,
             sizeof(*k->c->diags));
        k->c->diags[k->c->diag_count].text =
                xasprintf("%s: %s: %s", k->where, k->name, buf_cstr(&b));
        k->c->diags[k->c->diag_count].error = 1;
        k->c->diags[k->c->diag_count].from_check = 1;
        k->c->diag_count++;
        buf_release(&b);
}

/* prune_defaults - drop the entries checking made for parameters left at
 * their defaults: a getter makes one again when asked, and a process
 * reads few of the several hundred (a session process would otherwise
 * keep some 80 KiB of them) */
static void prune_defaults(struct cfg *c)
{
        size_t j = 0;

        for (size_t i = 0; i < c->count; i++) {
                struct cfg_entry *e = c->entries[i];

                if (e->param != NULL && !entry_is_set(e) && !e->in_order)
                        entry_free(e);
                else
                        c->entries[j++] = e;
        }
        c->count = j;
        table_build(c, c->table_size);
}

/* check_entry - one parameter in force: expand, type-check, or warn */
static void check_entry(struct cfg_value_ctx *k, struct cfg_entry *e)
{
        struct cfg *c = k->c;
        const char *where, *raw = entry_raw(c, e, &where), *value;
        char q[CFG_QUOTE_MAX + 4];

        k->name = e->name;
        k->errors = 0;
        k->where = where != NULL ? where :
                   entry_is_set(e) ? "(set)" : "(default)";
        if (e->param == NULL && !cfg_value_is_class(k, e->name, e->name_len)) {
                if (e->used)
                        return;
                grow(&c->diags, &c->diag_alloc, c->diag_count + 1,
                     sizeof(*c->diags));
                c->diags[c->diag_count].text =
                        xasprintf("%s: unused parameter: %s=%s", k->where,
                                  e->name, cfg_quote(q, raw, strlen(raw)));
                c->diags[c->diag_count].error = 0;
                c->diags[c->diag_count].from_check = 1;
                c->diag_count++;
                return;
        }
        c->depth = 0;
        if (expand_entry(c, e, 0, &value) < 0) {
                cfg_value_error(k, "%s", c->error);
                return;
        }
        if (e->param == NULL) {
                /* a restriction class */
                cfg_value_check_restrictions(k, value);
                return;
        }
        cfg_value_check(k, e->param, value);
}

/* mark_refs - note which names text refers to with $name */
static void mark_refs(struct cfg *c, const char *s)
{
        while ((s = strchr(s, '$')) != NULL) {
                s++;
                if (*s == '$') {
                        s++;
                        continue;
                }
                if (*s == '{' || *s == '(')
                        s++;
                const char *n = s;
                while (is_name_char(*s))
                        s++;
                if (s > n) {
                        struct cfg_entry *e = entry_find(c, n, (size_t)(s - n));

                        if (e != NULL)
                                e->used = 1;
                }
        }
}

int cfg_check(struct cfg *c)
{
        struct cfg_value_ctx k = { .c = c };
        size_t i, j, n = c->count;

        /* what an earlier check said is redone from scratch */
        for (i = j = 0; i < c->diag_count; i++) {
                if (c->diags[i].from_check)
                        free(c->diags[i].text);
                else
                        c->diags[j++] = c->diags[i];
        }
        c->diag_count = j;

        /* a name that a value mentions is in use even if Yubin has no row
         * for it (Postfix does the same) */
        for (i = 0; i < n; i++)
                c->entries[i]->used = 0;
        for (i = 0; i < n; i++) {
                if (c->entries[i]->value != NULL)
                        mark_refs(c, c->entries[i]->value);
                if (c->entries[i]->ovalue != NULL)
                        mark_refs(c, c->entries[i]->ovalue);
        }
        for (i = 0; i < cfg_params_count; i++)  /* e.g. a Postfix 2 name */
                mark_refs(c, cfg_params[i].def);
        k.classes = cfg_get_list(c, "smtpd_restriction_classes",
                                 &k.class_count);

        /* main.cf order first, then what only overrides set, then the
         * defaults of the rest */
        for (i = 0; i < c->order_count; i++)
                check_entry(&k, c->order[i]);
        for (i = 0; i < c->count; i++)
                if (!c->entries[i]->in_order && c->entries[i]->ovalue != NULL)
                        check_entry(&k, c->entries[i]);
        for (i = 0; i < cfg_params_count; i++) {
                const char *name = cfg_params[i].name;
                struct cfg_entry *e = entry_get(c, name, strlen(name));

                if (!entry_is_set(e))
                        check_entry(&k, e);
        }
        for (i = 0; i < k.class_count; i++) {
                const char *cl = k.classes[i];
                struct cfg_entry *e = entry_find(c, cl, strlen(cl));

                if (e != NULL && entry_is_set(e))
                        continue;
                if (param_find_n(cl, strlen(cl)) != NULL)
                        continue;
                e = entry_find(c, "smtpd_restriction_classes", 25);
                entry_raw(c, e, &k.where);
                if (k.where == NULL)
                        k.where = "(set)";
                k.name = "smtpd_restriction_classes";
                k.errors = 0;
                cfg_value_error(&k, "restriction class \"%.64s\" needs a "
                                "definition", cl);
        }
        cfg_list_free(&k.classes);
        prune_defaults(c);
        return error_count(c) > 0 ? -1 : 0;
}
