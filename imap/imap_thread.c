/* imap_thread.c - THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256)
 * Used by: the imap session's command table (THREAD, UID THREAD). The
 * REFERENCES algorithm follows RFC 5256 section 3 step by step: build
 * containers from Message-ID, References and In-Reply-To (no loops),
 * prune empty containers, gather root threads by base subject, sort
 * siblings by sent date. Header fields come from the folder cache.
 * Parses client arguments and message headers. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_client.h"
#include "imap_sort.h"
#include "imap_view.h"
#include "mem.h"

struct node {
        struct node *parent, *child, *next;
        int has_msg;
        uint32_t idx;                   /* view index */
        time_t date;
        char *id;                       /* in the table, or NULL */
        char *subject;                  /* base subject (roots only) */
        int reply;
};

struct tree {
        struct node **table;            /* open addressing by id */
        size_t size;
        struct node **all;
        size_t n, cap;
};

static size_t hash(const char *s)
{
        size_t h = 5381;

        while (*s != '\0')
                h = h * 33 + (unsigned char)*s++;
        return h;
}

static struct node *node_new(struct tree *t)
{
        struct node *n = xcalloc(1, sizeof(*n));

        if (t->n == t->cap) {
                t->cap = t->cap == 0 ? 64 : t->cap * 2;
                t->all = xrealloc(t->all, t->cap * sizeof(*t->all));
        }
        t->all[t->n++] = n;
        return n;
}

/* lookup - the container for id, made when missing */
static struct node *lookup(struct tree *t, const char *id, int *created_r)
{
        size_t i = hash(id) & (t->size - 1);

        *created_r = 0;
        while (t->table[i] != NULL) {
                if (strcmp(t->table[i]->id, id) == 0)
                        return t->table[i];
                i = (i + 1) & (t->size - 1);
        }
        struct node *n = node_new(t);
        n->id = xstrdup(id);
        t->table[i] = n;
        *created_r = 1;
        return n;
}

/* ids - the <...> message ids of a header value, in order */
static size_t ids(const char *v, size_t len, char ***out)
{
        size_t n = 0;
        const char *p = v, *end = v + len;

        *out = NULL;
        while (p < end && n < 1000) {
                const char *lt = memchr(p, '<', (size_t)(end - p));
                if (lt == NULL)
                        break;
                const char *gt = memchr(lt, '>', (size_t)(end - lt));
                if (gt == NULL)
                        break;
                if (gt - lt > 1) {
                        *out = xrealloc(*out, (n + 1) * sizeof(**out));
                        (*out)[n++] = xstrndup(lt, (size_t)(gt - lt + 1));
                }
                p = gt + 1;
        }
        return n;
}

static void ids_free(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

static int is_ancestor(const struct node *a, const struct node *b)
{
        for (; b != NULL; b = b->parent)
                if (a == b)
                        return 1;
        return 0;
}

static void unlink_node(struct node *n)
{
        struct node **pp;

        if (n->parent == NULL)
                return;
        for (pp = &n->parent->child; *pp != NULL; pp = &(*pp)->next)
                if (*pp == n) {
                        *pp = n->next;
                        break;
                }
        n->parent = NULL;
        n->next = NULL;
}

static void add_child(struct node *parent, struct node *n)
{
        struct node **pp = &parent->child;

        while (*pp != NULL)
                pp = &(*pp)->next;
        *pp = n;
        n->parent = parent;
        n->next = NULL;
}

/* link - RFC 5256 3 (1)(B)/(C): make child a child of parent unless that
 * makes a loop; force: move it even if it has a parent */
static void link_nodes(struct node *parent, struct node *child, int force)
{
        if (child->parent != NULL && !force)
                return;
        if (child->parent == parent || is_ancestor(child, parent))
                return;
        unlink_node(child);
        add_child(parent, child);
}

static void add_message(struct imap_client *c, struct tree *t, uint32_t idx)
{
        struct buf v;
        char **refs = NULL, **mid = NULL;
        size_t nrefs, nmid;
        struct node *msg = NULL, *prev = NULL;
        int created;

        buf_init(&v, 0);
        imap_sort_header(c, idx, "Message-ID", &v);
        nmid = ids(buf_cstr(&v), v.len, &mid);
        if (nmid > 0) {
                msg = lookup(t, mid[0], &created);
                if (msg->has_msg)
                        msg = NULL;     /* a duplicate id: a new one */
        }
        if (msg == NULL)
                msg = node_new(t);
        msg->has_msg = 1;
        msg->idx = idx;
        msg->date = imap_sort_sent_date(c, idx);
        buf_reset(&v);
        imap_sort_header(c, idx, "References", &v);
        nrefs = ids(buf_cstr(&v), v.len, &refs);
        if (nrefs == 0) {
                buf_reset(&v);
                imap_sort_header(c, idx, "In-Reply-To", &v);
                nrefs = ids(buf_cstr(&v), v.len, &refs);
                if (nrefs > 1) {
                        for (size_t i = 1; i < nrefs; i++)
                                free(refs[i]);
                        nrefs = 1;
                }
        }
        for (size_t i = 0; i < nrefs; i++) {
                struct node *r = lookup(t, refs[i], &created);
                if (r == msg)
                        continue;
                if (prev != NULL)
                        link_nodes(prev, r, 0);
                prev = r;
        }
        if (msg->parent != NULL)
                unlink_node(msg);
        if (prev != NULL && prev != msg)
                link_nodes(prev, msg, 1);
        ids_free(refs, nrefs);
        ids_free(mid, nmid);
        buf_release(&v);
}

/* prune - RFC 5256 3 (3), over a sibling list; returns the new list */
static struct node *prune(struct node *list, int root)
{
        struct node *out = NULL, **tail = &out, *n, *next;

        for (n = list; n != NULL; n = next) {
                next = n->next;
                n->child = prune(n->child, 0);
                for (struct node *k = n->child; k != NULL; k = k->next)
                        k->parent = n;
                if (!n->has_msg && n->child == NULL)
                        continue;
                if (!n->has_msg && (!root || n->child->next == NULL)) {
                        /* promote the children */
                        struct node *k = n->child;
                        while (k != NULL) {
                                struct node *kn = k->next;
                                k->parent = root ? NULL : n->parent;
                                k->next = NULL;
                                *tail = k;
                                tail = &k->next;
                                k = kn;
                        }
                        n->child = NULL;
                        continue;
                }
                n->next = NULL;
                *tail = n;
                tail = &n->next;
        }
        return out;
}

static time_t node_date(const struct node *n)
{
        return n->has_msg || n->child == NULL ? n->date : n->child->date;
}

static uint32_t node_idx(const struct node *n)
{
        return n->has_msg || n->child == NULL ? n->idx : n->child->idx;
}

static int cmp_nodes(const void *a, const void *b)
{
        const struct node *x = *(struct node *const *)a;
        const struct node *y = *(struct node *const *)b;
        time_t dx = node_date(x), dy = node_date(y);

        if (dx != dy)
                return dx < dy ? -1 : 1;
        return node_idx(x) < node_idx(y) ? -1 : node_idx(x) > node_idx(y);
}

/* sort_siblings - RFC 5256 3 (6), children first */
static struct node *sort_siblings(struct node *list)
{
        struct node **v = NULL, *n;
        size_t count = 0;

        for (n = list; n != NULL; n = n->next) {
                n->child = sort_siblings(n->child);
                v = xrealloc(v, (count + 1) * sizeof(*v));
                v[count++] = n;
        }
        if (count == 0)
                return NULL;
        qsort(v, count, sizeof(*v), cmp_nodes);
        for (size_t i = 0; i + 1 < count; i++)
                v[i]->next = v[i + 1];
        v[count - 1]->next = NULL;
        list = v[0];
        free(v);
        return list;
}

/* gather - RFC 5256 3 (5): root threads with one base subject meet */
static struct node *gather(struct imap_client *c, struct tree *t,
                           struct node *roots)
{
        struct node **table, *n, *next;
        size_t size = 64;

        for (n = roots; n != NULL; n = n->next)
                size *= 2, size = size > (1u << 20) ? (1u << 20) : size;
        table = xcalloc(size, sizeof(*table));
        for (n = roots; n != NULL; n = n->next) {
                struct node *m = n->has_msg ? n : n->child;
                struct buf raw, base;
                buf_init(&raw, 0);
                buf_init(&base, 0);
                imap_sort_header(c, m->idx, "Subject", &raw);
                n->reply = imap_sort_base_subject(buf_cstr(&raw), raw.len,
                                                  &base);
                n->subject = buf_steal(&base);
                buf_release(&raw);
                if (*n->subject == '\0')
                        continue;
                size_t i = hash(n->subject) & (size - 1);
                while (table[i] != NULL &&
                       strcmp(table[i]->subject, n->subject) != 0)
                        i = (i + 1) & (size - 1);
                struct node *old = table[i];
                if (old == NULL || (old->has_msg && !n->has_msg) ||
                    (old->reply && !n->reply && old->has_msg && n->has_msg))
                        table[i] = n;
        }
        struct node *out = NULL, **tail = &out;
        for (n = roots; n != NULL; n = next) {
                next = n->next;
                n->next = NULL;
                struct node *e = NULL;
                if (*n->subject != '\0') {
                        size_t i = hash(n->subject) & (size - 1);
                        while (strcmp(table[i]->subject, n->subject) != 0)
                                i = (i + 1) & (size - 1);
                        e = table[i];
                        if (e == n)
                                e = NULL;
                }
                if (e == NULL) {
                        *tail = n;
                        tail = &n->next;
                        continue;
                }
                if (!e->has_msg && !n->has_msg) {
                        while (n->child != NULL) {
                                struct node *k = n->child;
                                n->child = k->next;
                                add_child(e, k);
                        }
                } else if (!e->has_msg) {
                        add_child(e, n);
                } else if (n->reply && !e->reply) {
                        add_child(e, n);
                } else {
                        /* e becomes a dummy holding its old self and n:
                         * it keeps its place in the list and the table */
                        struct node *m = node_new(t);
                        m->has_msg = 1;
                        m->idx = e->idx;
                        m->date = e->date;
                        m->child = e->child;
                        for (struct node *k = m->child; k != NULL;
                             k = k->next)
                                k->parent = m;
                        e->has_msg = 0;
                        e->child = NULL;
                        add_child(e, m);
                        add_child(e, n);
                }
        }
        free(table);
        for (n = out; n != NULL; n = n->next)
                n->parent = NULL;
        return out;
}

static void write_thread(struct imap_client *c, struct imap_cmd *cmd,
                         const struct node *n, struct buf *out)
{
        if (n->has_msg) {
                buf_printf(out, "%u", cmd->uid ? c->view->uids[n->idx] :
                           n->idx + 1);
                if (n->child == NULL)
                        return;
                buf_putc(out, ' ');
                if (n->child->next == NULL) {
                        write_thread(c, cmd, n->child, out);
                        return;
                }
        }
        for (const struct node *k = n->child; k != NULL; k = k->next) {
                buf_putc(out, '(');
                write_thread(c, cmd, k, out);
                buf_putc(out, ')');
        }
}

static struct node *references(struct imap_client *c, struct tree *t,
                               const uint32_t *idx, size_t n)
{
        struct node *roots = NULL, **tail = &roots;

        t->size = 64;
        while (t->size < n * 4)
                t->size *= 2;
        t->table = xcalloc(t->size, sizeof(*t->table));
        for (size_t i = 0; i < n; i++)
                add_message(c, t, idx[i]);
        for (size_t i = 0; i < t->n; i++) {
                if (t->all[i]->parent != NULL)
                        continue;
                *tail = t->all[i];
                tail = &t->all[i]->next;
        }
        *tail = NULL;
        roots = prune(roots, 1);
        roots = gather(c, t, roots);
        return sort_siblings(roots);
}

/* ordered_subject - RFC 5256 ORDEREDSUBJECT */
static struct node *ordered_subject(struct imap_client *c, struct tree *t,
                                    const uint32_t *idx, size_t n)
{
        struct node **v = xcalloc(n + 1, sizeof(*v)), *roots = NULL;
        struct node **tail = &roots, *head = NULL;

        for (size_t i = 0; i < n; i++) {
                struct buf raw, base;
                v[i] = node_new(t);
                v[i]->has_msg = 1;
                v[i]->idx = idx[i];
                v[i]->date = imap_sort_sent_date(c, idx[i]);
                buf_init(&raw, 0);
                buf_init(&base, 0);
                imap_sort_header(c, idx[i], "Subject", &raw);
                (void)imap_sort_base_subject(buf_cstr(&raw), raw.len, &base);
                v[i]->subject = buf_steal(&base);
                buf_release(&raw);
        }
        qsort(v, n, sizeof(*v), cmp_nodes);
        /* stable grouping: walk in date order, group by subject */
        for (size_t i = 0; i < n; i++) {
                if (v[i]->parent != NULL)
                        continue;
                head = v[i];
                *tail = head;
                tail = &head->next;
                for (size_t k = i + 1; k < n; k++)
                        if (v[k]->parent == NULL &&
                            strcmp(v[k]->subject, head->subject) == 0)
                                add_child(head, v[k]);
        }
        *tail = NULL;
        free(v);
        return roots;
}

void imap_cmd_thread(struct imap_client *c, struct imap_cmd *cmd)
{
        const char *alg = imap_arg_atom(&cmd->args[0]);
        const char *charset = cmd->argc > 1 ? imap_arg_astring(&cmd->args[1]) :
                              NULL;
        struct tree t;
        uint32_t *idx = NULL;
        size_t n = 0;
        struct node *roots;
        struct buf b;

        if (cmd->argc < 3 || alg == NULL || charset == NULL) {
                imap_cmd_bad(cmd, "Error in IMAP command THREAD: Invalid "
                             "arguments.");
                return;
        }
        if (strcasecmp(alg, "REFERENCES") != 0 &&
            strcasecmp(alg, "ORDEREDSUBJECT") != 0) {
                imap_cmd_bad(cmd, "Error in IMAP command THREAD: Unknown "
                             "thread algorithm");
                return;
        }
        if (imap_cmd_search_run(c, cmd, &cmd->args[2], charset, &idx, &n,
                                NULL) < 0)
                return;
        memset(&t, 0, sizeof(t));
        if (strcasecmp(alg, "REFERENCES") == 0)
                roots = references(c, &t, idx, n);
        else
                roots = ordered_subject(c, &t, idx, n);
        buf_init(&b, 0);
        buf_puts(&b, "* THREAD ");
        for (struct node *r = roots; r != NULL; r = r->next) {
                buf_putc(&b, '(');
                write_thread(c, cmd, r, &b);
                buf_putc(&b, ')');
        }
        buf_puts(&b, "\r\n");
        imap_client_send_buf(c, &b);
        buf_release(&b);
        for (size_t i = 0; i < t.n; i++) {
                free(t.all[i]->id);
                free(t.all[i]->subject);
                free(t.all[i]);
        }
        free(t.all);
        free(t.table);
        free(idx);
        imap_cmd_ok(cmd, "Thread completed.");
}
