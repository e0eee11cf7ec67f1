/* imap_list.c - LIST (RFC 9051 6.3.9, LIST-EXTENDED RFC 5258, LIST-STATUS
 * RFC 5819, SPECIAL-USE RFC 6154), LSUB, and the special-use folders
 * Used by: the imap session (imap_list.h). Names are UTF-8 inside; on
 * the wire modified UTF-7, or UTF-8 after ENABLE IMAP4rev2 (imap_mbname.h);
 * '.' separates levels. Every listed folder carries \HasChildren or
 * \HasNoChildren (CHILDREN, RFC 3348) and its special-use attribute; the
 * LIST another command owes (SELECT in IMAP4rev2, OLDNAME for a name the
 * server composed) is built the same way. Parses client arguments. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "imap_client.h"
#include "imap_list.h"
#include "imap_mbname.h"
#include "log.h"
#include "mem.h"

#define SEL_SUBSCRIBED          (1u << 0)
#define SEL_REMOTE              (1u << 1)
#define SEL_RECURSIVEMATCH      (1u << 2)
#define SEL_SPECIAL_USE         (1u << 3)
#define RET_SUBSCRIBED          (1u << 0)
#define RET_CHILDREN            (1u << 1)
#define RET_SPECIAL_USE         (1u << 2)
#define RET_STATUS              (1u << 3)

/* a pattern longer than this is refused (matching is O(len * name)) */
#define LIST_PATTERN_MAX        1024

/* ---- special-use folders ---- */

/* special_use_find - the "Name:\Flag" item of mailbox_special_use for
 * name, its flag in *flag_r (borrowed from items) */
static const char *special_use_find(char **items, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++) {
                const char *colon = strrchr(items[i], ':');
                if (colon == NULL || colon[1] != '\\')
                        continue;
                if ((size_t)(colon - items[i]) == strlen(name) &&
                    strncmp(items[i], name, strlen(name)) == 0)
                        return colon + 1;
        }
        return NULL;
}

static void list_free(char **items, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(items[i]);
        free(items);
}

const char *imap_list_special_use(struct imap_client *c, const char *name)
{
        static const char *const flags[] = {
                "\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk",
                "\\Sent", "\\Trash",
        };
        size_t n;
        char **items = cfg_get_list(c->cfg, "mailbox_special_use", &n);
        const char *flag = special_use_find(items, n, name), *ret = NULL;

        for (size_t i = 0; flag != NULL && i < sizeof(flags) / sizeof(flags[0]);
             i++)
                if (strcasecmp(flag, flags[i]) == 0)
                        ret = flags[i];
        list_free(items, n);
        return ret;
}

void imap_list_autocreate(struct imap_client *c)
{
        const char *mode = cfg_get(c->cfg, "mailbox_auto");
        char **items, **subs = NULL;
        size_t n, nsubs = 0;
        struct status st;

        if (strcasecmp(mode, "create") != 0 &&
            strcasecmp(mode, "subscribe") != 0)
                return;
        items = cfg_get_list(c->cfg, "mailbox_special_use", &n);
        if (maildir_subscriptions(c->md, &subs, &nsubs, &st) < 0) {
                log_warn("imap(%s): subscriptions: %s", c->user, st.text);
                subs = NULL;
                nsubs = 0;
        }
        for (size_t i = 0; i < n; i++) {
                const char *colon = strrchr(items[i], ':');
                if (colon == NULL || colon == items[i])
                        continue;
                char *name = xstrndup(items[i], (size_t)(colon - items[i]));
                if (maildir_folder_create(c->md, name, &st) < 0)
                        log_warn("imap(%s): creating %s: %s", c->user, name,
                                 st.text);
                int subscribed = 0;
                for (size_t k = 0; k < nsubs; k++)
                        if (strcmp(subs[k], name) == 0)
                                subscribed = 1;
                if (!subscribed && strcasecmp(mode, "subscribe") == 0 &&
                    maildir_subscribe(c->md, name, 1, &st) < 0)
                        log_warn("imap(%s): subscribing %s: %s", c->user,
                                 name, st.text);
                free(name);
        }
        maildir_subscriptions_free(&subs, nsubs);
        list_free(items, n);
}

/* ---- patterns ---- */

int imap_list_match(const char *pattern, const char *name)
{
        size_t pl = strlen(pattern), nl = strlen(name);
        unsigned char *row, *next;
        int ret;

        /* "INBOX" in any case names INBOX */
        if (strncasecmp(pattern, "INBOX", 5) == 0 &&
            strncmp(name, "INBOX", 5) == 0 &&
            (name[5] == '\0' || name[5] == MAILDIR_SEP)) {
                if (strncmp(pattern, "INBOX", 5) != 0) {
                        char *copy = xstrdup(pattern);
                        memcpy(copy, "INBOX", 5);
                        ret = imap_list_match(copy, name);
                        free(copy);
                        return ret;
                }
        }
        /* row[j]: pattern[0..i) matches name[0..j) */
        row = xcalloc(nl + 1, 1);
        next = xcalloc(nl + 1, 1);
        row[0] = 1;
        for (size_t i = 0; i < pl; i++) {
                char p = pattern[i];
                memset(next, 0, nl + 1);
                if (p == '*' || p == '%') {
                        int on = 0;
                        for (size_t j = 0; j <= nl; j++) {
                                /* '%' does not reach over a separator */
                                if (p == '%' && j > 0 &&
                                    name[j - 1] == MAILDIR_SEP)
                                        on = 0;
                                if (row[j])
                                        on = 1;
                                next[j] = (unsigned char)on;
                        }
                } else {
                        for (size_t j = 1; j <= nl; j++)
                                next[j] = row[j - 1] && name[j - 1] == p;
                }
                unsigned char *t = row;
                row = next;
                next = t;
        }
        ret = row[nl];
        free(row);
        free(next);
        return ret;
}

/* ---- LIST and LSUB ---- */

struct list_req {
        unsigned int sel, ret, status_items;
        int extended, lsub;
        char **patterns;
        size_t npatterns;
        const char *oldname;    /* the OLDNAME extended data item */
};

static int matches(const struct list_req *r, const char *name)
{
        for (size_t i = 0; i < r->npatterns; i++)
                if (imap_list_match(r->patterns[i], name))
                        return 1;
        return 0;
}

/* pattern_add - reference + pattern, as the client's names are sent */
static void pattern_add(struct imap_client *c, struct list_req *r,
                        const char *ref, const char *pat)
{
        struct buf raw, utf8;

        buf_init(&raw, 0);
        buf_init(&utf8, 0);
        buf_puts(&raw, ref);
        buf_puts(&raw, pat);
        imap_mbname_pattern(buf_cstr(&raw),
                            imap_client_feature(c, IMAP_FEATURE_REV2), &utf8);
        r->patterns = xrealloc(r->patterns, (r->npatterns + 1) *
                               sizeof(*r->patterns));
        r->patterns[r->npatterns++] = buf_steal(&utf8);
        buf_release(&raw);
}

static void send_line(struct imap_client *c, const struct list_req *r,
                      const char *name, const char *attrs,
                      const char *childinfo)
{
        struct buf b;

        buf_init(&b, 0);
        buf_printf(&b, "* %s (%s) \".\" ", r->lsub ? "LSUB" : "LIST", attrs);
        imap_cmd_write_mailbox(c, &b, name);
        if (childinfo != NULL)
                buf_printf(&b, " (\"CHILDINFO\" (\"%s\"))", childinfo);
        if (r->oldname != NULL) {
                buf_puts(&b, " (\"OLDNAME\" (");
                imap_cmd_write_mailbox(c, &b, r->oldname);
                buf_puts(&b, "))");
        }
        buf_puts(&b, "\r\n");
        imap_client_send_buf(c, &b);
        buf_release(&b);
}

static void attr_add(struct buf *b, const char *attr)
{
        if (b->len > 0)
                buf_putc(b, ' ');
        buf_puts(b, attr);
}

/* subscribed_child - 1 if a subscription lies below name */
static int subscribed_child(char **subs, size_t n, const char *name)
{
        size_t len = strlen(name);

        for (size_t i = 0; i < n; i++)
                if (strncmp(subs[i], name, len) == 0 &&
                    subs[i][len] == MAILDIR_SEP)
                        return 1;
        return 0;
}

/* unlisted_subscribed_child - some subscribed descendant of name that
 * no pattern matches: RFC 5258 3.5's CHILDINFO is for a parent whose
 * matching descendants would otherwise go unseen */
static int unlisted_subscribed_child(const struct list_req *r, char **subs,
                                     size_t n, const char *name)
{
        size_t len = strlen(name);

        for (size_t i = 0; i < n; i++)
                if (strncmp(subs[i], name, len) == 0 &&
                    subs[i][len] == MAILDIR_SEP && !matches(r, subs[i]))
                        return 1;
        return 0;
}

static int is_subscribed(char **subs, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(subs[i], name) == 0)
                        return 1;
        return 0;
}

/* list_one - the LIST line (and STATUS) for one folder */
static void list_one(struct imap_client *c, const struct list_req *r,
                     const char *name, unsigned int flags, int subscribed,
                     const char *childinfo)
{
        const char *use = imap_list_special_use(c, name);
        int nonexistent = (flags & MAILDIR_LIST_NONEXISTENT) != 0;
        struct buf attrs;

        if ((r->sel & SEL_SPECIAL_USE) && use == NULL)
                return;
        buf_init(&attrs, 0);
        if (nonexistent)
                attr_add(&attrs, r->extended ? "\\NonExistent" :
                         "\\Noselect");
        if (subscribed && ((r->ret & RET_SUBSCRIBED) ||
                           (r->sel & SEL_SUBSCRIBED)))
                attr_add(&attrs, "\\Subscribed");
        if (!nonexistent || (flags & MAILDIR_LIST_CHILDREN))
                attr_add(&attrs, (flags & MAILDIR_LIST_CHILDREN) ?
                         "\\HasChildren" : "\\HasNoChildren");
        if (use != NULL)
                attr_add(&attrs, use);
        send_line(c, r, name, buf_cstr(&attrs), childinfo);
        buf_release(&attrs);
        if ((r->ret & RET_STATUS) && !nonexistent) {
                struct status st;
                struct buf b;

                buf_init(&b, 0);
                if (imap_status_write(c, name, r->status_items, &b, &st) == 0)
                        imap_client_send_buf(c, &b);
                buf_release(&b);
        }
}

static void list_run(struct imap_client *c, struct imap_cmd *cmd,
                     const struct list_req *r)
{
        struct maildir_folder *folders = NULL;
        size_t nfolders = 0, nsubs = 0;
        char **subs = NULL;
        struct status st;

        if (maildir_folder_list(c->md, &folders, &nfolders, &st) < 0 ||
            maildir_subscriptions(c->md, &subs, &nsubs, &st) < 0) {
                maildir_folder_list_free(&folders, nfolders);
                imap_cmd_fail(c, cmd, &st, "list");
                return;
        }
        if (r->lsub || (r->sel & SEL_SUBSCRIBED)) {
                /* subscriptions, existing or not */
                for (size_t i = 0; i < nsubs; i++) {
                        unsigned int flags = MAILDIR_LIST_NONEXISTENT;
                        for (size_t k = 0; k < nfolders; k++)
                                if (strcmp(folders[k].name, subs[i]) == 0)
                                        flags = folders[k].flags;
                        if (!matches(r, subs[i]))
                                continue;
                        if (r->lsub) {
                                send_line(c, r, subs[i], (flags &
                                          MAILDIR_LIST_NONEXISTENT) ?
                                          "\\Noselect" : "", NULL);
                                continue;
                        }
                        if ((flags & MAILDIR_LIST_NONEXISTENT) &&
                            subscribed_child(subs, nsubs, subs[i]))
                                flags |= MAILDIR_LIST_CHILDREN;
                        list_one(c, r, subs[i], flags, 1, NULL);
                }
                /* parents of subscriptions: LSUB's "%", RECURSIVEMATCH */
                for (size_t i = 0; i < nfolders; i++) {
                        const char *name = folders[i].name;
                        if (is_subscribed(subs, nsubs, name) ||
                            !subscribed_child(subs, nsubs, name) ||
                            !matches(r, name))
                                continue;
                        if (r->lsub)
                                send_line(c, r, name, "\\Noselect", NULL);
                        else if ((r->sel & SEL_RECURSIVEMATCH) &&
                                 unlisted_subscribed_child(r, subs, nsubs,
                                                           name))
                                list_one(c, r, name, folders[i].flags, 0,
                                         "SUBSCRIBED");
                }
        } else {
                for (size_t i = 0; i < nfolders; i++) {
                        if (!matches(r, folders[i].name))
                                continue;
                        list_one(c, r, folders[i].name, folders[i].flags,
                                 is_subscribed(subs, nsubs, folders[i].name),
                                 NULL);
                }
        }
        maildir_folder_list_free(&folders, nfolders);
        maildir_subscriptions_free(&subs, nsubs);
        imap_cmd_ok(cmd, "%s completed.", r->lsub ? "Lsub" : "List");
}

void imap_list_tell(struct imap_client *c, const char *name,
                    const char *oldname)
{
        struct maildir_folder *folders = NULL;
        size_t nfolders = 0;
        unsigned int flags = MAILDIR_LIST_NONEXISTENT;
        struct list_req r;
        struct status st;

        if (maildir_folder_list(c->md, &folders, &nfolders, &st) < 0) {
                log_warn("imap(%s): list: %s", c->user, st.text);
                maildir_folder_list_free(&folders, nfolders);
                nfolders = 0;
        }
        for (size_t i = 0; i < nfolders; i++)
                if (strcmp(folders[i].name, name) == 0)
                        flags = folders[i].flags;
        maildir_folder_list_free(&folders, nfolders);
        memset(&r, 0, sizeof(r));
        r.extended = 1;
        r.oldname = oldname;
        list_one(c, &r, name, flags, 0, NULL);
}

static int parse_selection(const struct imap_arg *list, unsigned int *sel_r)
{
        for (size_t i = 0; i < list->len; i++) {
                const struct imap_arg *a = &list->list[i];
                if (imap_arg_is_atom(a, "SUBSCRIBED"))
                        *sel_r |= SEL_SUBSCRIBED;
                else if (imap_arg_is_atom(a, "REMOTE"))
                        *sel_r |= SEL_REMOTE;
                else if (imap_arg_is_atom(a, "RECURSIVEMATCH"))
                        *sel_r |= SEL_RECURSIVEMATCH;
                else if (imap_arg_is_atom(a, "SPECIAL-USE"))
                        *sel_r |= SEL_SPECIAL_USE;
                else
                        return -1;
        }
        /* RFC 5258 3.1: RECURSIVEMATCH needs another option */
        if ((*sel_r & SEL_RECURSIVEMATCH) &&
            (*sel_r & (SEL_SUBSCRIBED | SEL_SPECIAL_USE)) == 0)
                return -1;
        return 0;
}

static int parse_return(const struct imap_arg *list, struct list_req *r)
{
        for (size_t i = 0; i < list->len; i++) {
                const struct imap_arg *a = &list->list[i];
                if (imap_arg_is_atom(a, "SUBSCRIBED")) {
                        r->ret |= RET_SUBSCRIBED;
                } else if (imap_arg_is_atom(a, "CHILDREN")) {
                        r->ret |= RET_CHILDREN;
                } else if (imap_arg_is_atom(a, "SPECIAL-USE")) {
                        r->ret |= RET_SPECIAL_USE;
                } else if (imap_arg_is_atom(a, "STATUS") &&
                           a[1].type == IMAP_ARG_LIST) {
                        if (imap_status_items(&a[1], &r->status_items) < 0)
                                return -1;
                        r->ret |= RET_STATUS;
                        i++;
                } else {
                        return -1;
                }
        }
        return 0;
}

static void list_cmd(struct imap_client *c, struct imap_cmd *cmd, int lsub)
{
        const struct imap_arg *a = cmd->args;
        struct list_req r;
        const char *ref;
        int root = 0;

        memset(&r, 0, sizeof(r));
        r.lsub = lsub;
        if (!lsub && a->type == IMAP_ARG_LIST) {
                r.extended = 1;
                if (parse_selection(a, &r.sel) < 0)
                        goto bad;
                a++;
        }
        if ((ref = imap_arg_astring(a)) == NULL)
                goto bad;
        a++;
        if (a->type == IMAP_ARG_LIST && !lsub) {
                r.extended = 1;
                for (size_t i = 0; i < a->len; i++) {
                        const char *p = imap_arg_astring(&a->list[i]);
                        if (p == NULL || strlen(p) > LIST_PATTERN_MAX)
                                goto bad;
                        pattern_add(c, &r, ref, p);
                }
        } else {
                const char *p = imap_arg_astring(a);
                if (p == NULL || strlen(p) > LIST_PATTERN_MAX)
                        goto bad;
                if (*p == '\0' && !lsub)
                        root = 1;
                else
                        pattern_add(c, &r, ref, p);
        }
        a++;
        if (!lsub && imap_arg_is_atom(a, "RETURN") &&
            a[1].type == IMAP_ARG_LIST) {
                r.extended = 1;
                if (parse_return(&a[1], &r) < 0)
                        goto bad;
                a += 2;
        }
        if (a->type != IMAP_ARG_EOL)
                goto bad;
        if (root) {
                /* RFC 9051 6.3.9: the separator and root */
                imap_client_send(c, "* LIST (\\Noselect) \".\" \"\"\r\n");
                imap_cmd_ok(cmd, "List completed.");
                return;
        }
        list_run(c, cmd, &r);
        list_free(r.patterns, r.npatterns);
        return;
bad:
        list_free(r.patterns, r.npatterns);
        imap_cmd_bad(cmd, "Error in IMAP command %s: Invalid arguments.",
                     cmd->name);
}

void imap_cmd_list(struct imap_client *c, struct imap_cmd *cmd)
{
        list_cmd(c, cmd, 0);
}

void imap_cmd_lsub(struct imap_client *c, struct imap_cmd *cmd)
{
        list_cmd(c, cmd, 1);
}
