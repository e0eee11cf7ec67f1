/* imap_cmd_search.c - SEARCH and UID SEARCH
 * Used by: the imap session's command table (imap_cmd.c); SORT and THREAD
 * (imap_sort.c, imap_thread.c) run their search keys through
 * imap_cmd_search_run(). RFC 9051 6.4.4, ESEARCH (RFC 4731: RETURN MIN,
 * MAX, ALL, COUNT), SEARCHRES (RFC 5182: SAVE and "$"), MODSEQ (RFC 7162
 * 3.1.5). After ENABLE IMAP4rev2 every SEARCH is answered with ESEARCH.
 * Parses client arguments. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_client.h"
#include "imap_mbname.h"
#include "imap_search.h"
#include "imap_sort.h"
#include "imap_view.h"
#include "mem.h"

#define RET_MIN         (1u << 0)
#define RET_MAX         (1u << 1)
#define RET_ALL         (1u << 2)
#define RET_COUNT       (1u << 3)
#define RET_SAVE        (1u << 4)

int imap_cmd_search_run(struct imap_client *c, struct imap_cmd *cmd,
                        const struct imap_arg *args, const char *charset,
                        uint32_t **idx_r, size_t *count_r,
                        uint64_t *modseq_r)
{
        struct imap_view *v = c->view;
        struct imap_search_key *key;
        const char *error;
        uint32_t *idx;
        size_t n = 0;
        int r;

        *idx_r = NULL;
        *count_r = 0;
        r = imap_search_parse(args, charset, (uint32_t)v->count,
                              v->count > 0 ? v->uids[v->count - 1] : 0,
                              &key, &error);
        if (r == -2) {
                imap_cmd_no(cmd, "[BADCHARSET (UTF-8 US-ASCII)] Unsupported "
                            "charset");
                return -1;
        }
        if (r < 0) {
                imap_cmd_bad(cmd, "Error in IMAP command %s: %s", cmd->name,
                             error);
                return -1;
        }
        int modseq = imap_search_uses(key, IMAP_SEARCH_MODSEQ);
        if (modseq)
                imap_client_enable(c, IMAP_FEATURE_CONDSTORE);
        idx = xcalloc(v->count + 1, sizeof(*idx));
        for (size_t i = 0; i < v->count; i++)
                if (imap_search_match(c, key, i) > 0)
                        idx[n++] = (uint32_t)i;
        imap_search_free(&key);
        if (modseq_r != NULL) {
                *modseq_r = 0;
                for (size_t i = 0; modseq && i < n; i++) {
                        uint64_t m;
                        if (maildir_msg_modseq(v->box, v->uids[idx[i]],
                                               &m) > 0 && m > *modseq_r)
                                *modseq_r = m;
                }
        }
        *idx_r = idx;
        *count_r = n;
        return 0;
}

/* save - SEARCHRES: keep the UIDs of the result (or of its MIN/MAX) */
static void save(struct imap_client *c, const uint32_t *idx, size_t n,
                 unsigned int ret)
{
        struct imap_view *v = c->view;

        free(c->saved);
        c->saved = xcalloc(n + 1, sizeof(*c->saved));
        c->saved_count = 0;
        c->saved_valid = 1;
        if (n > 0 && (ret & (RET_ALL | RET_COUNT)) == 0 &&
            (ret & (RET_MIN | RET_MAX)) != 0) {
                if (ret & RET_MIN)
                        c->saved[c->saved_count++] = v->uids[idx[0]];
                if ((ret & RET_MAX) && (n > 1 || !(ret & RET_MIN)))
                        c->saved[c->saved_count++] = v->uids[idx[n - 1]];
                return;
        }
        for (size_t i = 0; i < n; i++)
                c->saved[c->saved_count++] = v->uids[idx[i]];
}

static int parse_return(const struct imap_arg *list, unsigned int *ret_r)
{
        static const struct {
                const char *name;
                unsigned int bit;
        } opts[] = {
                { "MIN", RET_MIN }, { "MAX", RET_MAX }, { "ALL", RET_ALL },
                { "COUNT", RET_COUNT }, { "SAVE", RET_SAVE },
        };

        *ret_r = 0;
        for (size_t i = 0; i < list->len; i++) {
                size_t k;
                for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
                        if (imap_arg_is_atom(&list->list[i], opts[k].name))
                                break;
                if (k == sizeof(opts) / sizeof(opts[0]))
                        return -1;
                *ret_r |= opts[k].bit;
        }
        /* RFC 4731: RETURN () means ALL */
        if (*ret_r == 0)
                *ret_r = RET_ALL;
        return 0;
}

/* write_esearch - RFC 4731 3.1 */
static void write_esearch(struct imap_client *c, struct imap_cmd *cmd,
                          const uint32_t *idx, size_t n, unsigned int ret,
                          uint64_t modseq)
{
        struct imap_view *v = c->view;
        struct buf b;

        buf_init(&b, 0);
        buf_puts(&b, "* ESEARCH (TAG ");
        imap_write_string(&b, cmd->tag, strlen(cmd->tag), 0);
        buf_putc(&b, ')');
        if (cmd->uid)
                buf_puts(&b, " UID");
#define NUM(k) (cmd->uid ? v->uids[idx[k]] : idx[k] + 1)
        if ((ret & RET_MIN) && n > 0)
                buf_printf(&b, " MIN %u", NUM(0));
        if ((ret & RET_MAX) && n > 0)
                buf_printf(&b, " MAX %u", NUM(n - 1));
        if (ret & RET_COUNT)
                buf_printf(&b, " COUNT %zu", n);
        if ((ret & RET_ALL) && n > 0) {
                uint32_t *vals = xcalloc(n, sizeof(*vals));
                for (size_t i = 0; i < n; i++)
                        vals[i] = NUM(i);
                buf_puts(&b, " ALL ");
                imap_seqset_write_list(&b, vals, n);
                free(vals);
        }
#undef NUM
        if (modseq > 0 && n > 0 && (ret & (RET_ALL | RET_COUNT)) == 0 &&
            (ret & (RET_MIN | RET_MAX)) != 0) {
                /* RFC 7162 3.1.5: with only MIN and/or MAX, the highest
                 * mod-sequence of the messages returned */
                uint64_t m;

                modseq = 0;
                if ((ret & RET_MIN) &&
                    maildir_msg_modseq(v->box, v->uids[idx[0]], &m) > 0)
                        modseq = m;
                if ((ret & RET_MAX) &&
                    maildir_msg_modseq(v->box, v->uids[idx[n - 1]], &m) > 0 &&
                    m > modseq)
                        modseq = m;
        }
        if (modseq > 0 && n > 0)
                buf_printf(&b, " MODSEQ %llu", (unsigned long long)modseq);
        buf_puts(&b, "\r\n");
        imap_client_send_buf(c, &b);
        buf_release(&b);
}

void imap_cmd_search(struct imap_client *c, struct imap_cmd *cmd)
{
        const struct imap_arg *a = cmd->args;
        const char *charset = NULL;
        unsigned int ret = 0;
        int esearch = 0;
        uint32_t *idx = NULL;
        size_t n = 0;
        uint64_t modseq = 0;

        if (imap_arg_is_atom(a, "RETURN") && a[1].type == IMAP_ARG_LIST) {
                if (parse_return(&a[1], &ret) < 0) {
                        imap_cmd_bad(cmd, "Error in IMAP command %s: Invalid "
                                     "RETURN options", cmd->name);
                        return;
                }
                esearch = 1;
                a += 2;
        } else if (imap_client_feature(c, IMAP_FEATURE_REV2)) {
                /* RFC 9051 6.4.4: no RETURN is RETURN (ALL), answered
                 * with ESEARCH */
                ret = RET_ALL;
                esearch = 1;
        }
        if (imap_arg_is_atom(a, "CHARSET")) {
                if ((charset = imap_arg_astring(&a[1])) == NULL) {
                        imap_cmd_bad(cmd, "Error in IMAP command %s: Invalid "
                                     "charset", cmd->name);
                        return;
                }
                a += 2;
        }
        if (imap_cmd_search_run(c, cmd, a, charset, &idx, &n, &modseq) < 0) {
                if (ret & RET_SAVE)
                        save(c, NULL, 0, RET_ALL);
                return;
        }
        if (ret & RET_SAVE)
                save(c, idx, n, ret);
        if (esearch) {
                if (ret != RET_SAVE)
                        write_esearch(c, cmd, idx, n, ret, modseq);
        } else {
                struct buf b;
                buf_init(&b, 0);
                buf_puts(&b, "* SEARCH");
                for (size_t i = 0; i < n; i++) {
                        buf_printf(&b, " %u", cmd->uid ?
                                   c->view->uids[idx[i]] : idx[i] + 1);
                        if (b.len > 16384) {
                                imap_client_send_buf(c, &b);
                                buf_reset(&b);
                        }
                }
                if (modseq > 0 && n > 0)
                        buf_printf(&b, " (MODSEQ %llu)",
                                   (unsigned long long)modseq);
                buf_puts(&b, "\r\n");
                imap_client_send_buf(c, &b);
                buf_release(&b);
        }
        free(idx);
        imap_cmd_ok(cmd, "Search completed.");
}
