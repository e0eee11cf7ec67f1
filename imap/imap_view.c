/* imap_view.c - the selected mailbox as the client sees it
 * Used by: the imap session (imap_view.h). Turns maildir_sync()'s report
 * into untagged responses (RFC 9051 7.3.1 EXISTS, 7.5.1 EXPUNGE, 7.5.2
 * FETCH; RFC 7162 3.2.10 VANISHED) and keeps the message numbers the
 * client was told. Runs as the mailbox owner. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap_client.h"
#include "imap_view.h"
#include "log.h"
#include "mem.h"

static const struct {
        uint32_t flag;
        const char *name;
} system_flags[] = {
        { MAILDIR_FLAG_ANSWERED, "\\Answered" },
        { MAILDIR_FLAG_FLAGGED, "\\Flagged" },
        { MAILDIR_FLAG_DELETED, "\\Deleted" },
        { MAILDIR_FLAG_SEEN, "\\Seen" },
        { MAILDIR_FLAG_DRAFT, "\\Draft" },
};

/* uids_push - append to an increasing array */
static void uids_push(uint32_t **v, size_t *n, size_t *cap, uint32_t uid)
{
        if (*n == *cap) {
                *cap = *cap == 0 ? 64 : *cap * 2;
                *v = xrealloc(*v, *cap * sizeof(**v));
        }
        (*v)[(*n)++] = uid;
}

static long bsearch_uid(const uint32_t *v, size_t n, uint32_t uid)
{
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (v[mid] < uid)
                        lo = mid + 1;
                else if (v[mid] > uid)
                        hi = mid;
                else
                        return (long)mid;
        }
        return -1;
}

/* uids_remove - drop uid from an increasing array, if there */
static void uids_remove(uint32_t *v, size_t *n, uint32_t uid)
{
        long i = bsearch_uid(v, *n, uid);

        if (i < 0)
                return;
        memmove(v + i, v + i + 1, (*n - (size_t)i - 1) * sizeof(*v));
        (*n)--;
}

/* uids_insert - add uid to an increasing array, keeping the order */
static void uids_insert(uint32_t **v, size_t *n, size_t *cap, uint32_t uid)
{
        size_t lo = 0, hi = *n;

        if (*n > 0 && (*v)[*n - 1] < uid) {
                uids_push(v, n, cap, uid);
                return;
        }
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if ((*v)[mid] < uid)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo < *n && (*v)[lo] == uid)
                return;
        uids_push(v, n, cap, 0);
        memmove(*v + lo + 1, *v + lo, (*n - lo - 1) * sizeof(**v));
        (*v)[lo] = uid;
}

long imap_view_find(const struct imap_view *v, uint32_t uid)
{
        return bsearch_uid(v->uids, v->count, uid);
}

int imap_view_gone(const struct imap_view *v, uint32_t uid)
{
        return bsearch_uid(v->gone, v->gone_count, uid) >= 0;
}

int imap_view_is_recent(const struct imap_view *v, uint32_t uid)
{
        return bsearch_uid(v->recent, v->recent_count, uid) >= 0;
}

static unsigned int keyword_count(const struct imap_view *v)
{
        unsigned int n = 0;

        for (unsigned int i = 0; i < 26; i++)
                if (maildir_box_keyword(v->box, i) != NULL)
                        n = i + 1;
        return n;
}

int imap_view_keywords_full(const struct imap_view *v)
{
        for (unsigned int i = 0; i < 26; i++)
                if (maildir_box_keyword(v->box, i) == NULL)
                        return 0;
        return 1;
}

int imap_view_open(struct imap_client *c, const char *name, int readonly,
                   struct imap_view **v_r, struct status *st)
{
        struct maildir_changes ch;
        struct imap_view *v;
        struct maildir_box *box;
        int flags = MAILDIR_BOX_CACHE | MAILDIR_BOX_MODSEQ | MAILDIR_BOX_WATCH;

        /* RFC 3501 6.3.2: EXAMINE shows \Recent but takes it from no one */
        flags |= readonly ? MAILDIR_BOX_READONLY : MAILDIR_BOX_RECENT;
        if (maildir_box_open(c->md, name, flags, &box, st) < 0)
                return -1;
        if (maildir_sync(box, &ch, st) < 0) {
                maildir_box_close(&box);
                return -1;
        }
        v = xcalloc(1, sizeof(*v));
        v->box = box;
        v->name = xstrdup(maildir_box_name(box));
        v->readonly = readonly;
        v->count = maildir_box_count(box);
        v->cap = v->count + 64;
        v->uids = xmalloc(v->cap * sizeof(*v->uids));
        for (size_t i = 0; i < v->count; i++)
                v->uids[i] = maildir_box_uid(box, i);
        for (size_t i = 0; i < ch.recent_count; i++)
                uids_insert(&v->recent, &v->recent_count, &v->recent_cap,
                            ch.recent_uids[i]);
        maildir_changes_release(&ch);
        v->keywords_told = keyword_count(v);
        v->exists_told = v->count;
        v->recent_told = v->recent_count;
        v->no_recent = imap_client_feature(c, IMAP_FEATURE_REV2);
        *v_r = v;
        return 0;
}

void imap_view_close(struct imap_view **vp)
{
        struct imap_view *v;
        struct status st;

        if (vp == NULL || *vp == NULL)
                return;
        v = *vp;
        *vp = NULL;
        if (maildir_cache_flush(v->box, &st) < 0)
                log_warn("%s: cache: %s", v->name, st.text);
        maildir_box_close(&v->box);
        free(v->name);
        free(v->uids);
        free(v->gone);
        free(v->recent);
        free(v);
}

void imap_view_write_flags(const struct imap_view *v, struct buf *out,
                           uint32_t uid, uint32_t flags, uint32_t keywords)
{
        int first = 1;

        buf_putc(out, '(');
        for (size_t i = 0; i < sizeof(system_flags) / sizeof(system_flags[0]);
             i++) {
                if ((flags & system_flags[i].flag) == 0)
                        continue;
                if (!first)
                        buf_putc(out, ' ');
                buf_puts(out, system_flags[i].name);
                first = 0;
        }
        if (!v->no_recent && imap_view_is_recent(v, uid)) {
                if (!first)
                        buf_putc(out, ' ');
                buf_puts(out, "\\Recent");
                first = 0;
        }
        for (unsigned int i = 0; i < 26; i++) {
                const char *kw;

                if ((keywords & (1u << i)) == 0 ||
                    (kw = maildir_box_keyword(v->box, i)) == NULL)
                        continue;
                if (!first)
                        buf_putc(out, ' ');
                buf_puts(out, kw);
                first = 0;
        }
        buf_putc(out, ')');
}

void imap_view_write_flag_list(const struct imap_view *v, struct buf *out)
{
        buf_puts(out, "\\Answered \\Flagged \\Deleted \\Seen \\Draft");
        for (unsigned int i = 0; i < 26; i++) {
                const char *kw = maildir_box_keyword(v->box, i);
                if (kw != NULL) {
                        buf_putc(out, ' ');
                        buf_puts(out, kw);
                }
        }
}

void imap_view_send_flags(struct imap_client *c)
{
        struct imap_view *v = c->view;
        struct buf b;

        buf_init(&b, 0);
        buf_puts(&b, "* FLAGS (");
        imap_view_write_flag_list(v, &b);
        buf_puts(&b, ")\r\n");
        if (v->readonly) {
                buf_puts(&b, "* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n");
        } else {
                buf_puts(&b, "* OK [PERMANENTFLAGS (");
                imap_view_write_flag_list(v, &b);
                if (!imap_view_keywords_full(v))
                        buf_puts(&b, " \\*");
                buf_puts(&b, ")] Flags permitted.\r\n");
        }
        imap_client_send_buf(c, &b);
        buf_release(&b);
        v->keywords_told = keyword_count(v);
}

void imap_view_send_fetch_flags(struct imap_client *c, size_t i, int uid)
{
        struct imap_view *v = c->view;
        struct maildir_msg_info info;
        uint64_t modseq;
        struct buf b;

        if (maildir_msg_info(v->box, v->uids[i], &info) <= 0)
                return;
        buf_init(&b, 0);
        buf_printf(&b, "* %zu FETCH (", i + 1);
        /* RFC 9051 7.5.2: an IMAP4rev2 unsolicited FETCH has UID */
        if (uid || imap_client_feature(c, IMAP_FEATURE_QRESYNC |
                                       IMAP_FEATURE_REV2))
                buf_printf(&b, "UID %u ", v->uids[i]);
        buf_puts(&b, "FLAGS ");
        imap_view_write_flags(v, &b, v->uids[i], info.flags, info.keywords);
        if (imap_client_feature(c, IMAP_FEATURE_CONDSTORE) &&
            maildir_msg_modseq(v->box, v->uids[i], &modseq) > 0)
                buf_printf(&b, " MODSEQ (%llu)", (unsigned long long)modseq);
        buf_puts(&b, ")\r\n");
        imap_client_send_buf(c, &b);
        buf_release(&b);
}

/* tell_expunges - report and drop the messages in v->gone */
static void tell_expunges(struct imap_client *c)
{
        struct imap_view *v = c->view;
        struct buf b;
        size_t i, j;

        if (v->gone_count == 0)
                return;
        buf_init(&b, 0);
        if (imap_client_feature(c, IMAP_FEATURE_QRESYNC)) {
                buf_puts(&b, "* VANISHED ");
                imap_seqset_write_list(&b, v->gone, v->gone_count);
                buf_puts(&b, "\r\n");
        } else {
                /* highest first: each number stays right as we go */
                size_t g = v->gone_count;
                for (i = v->count; i > 0 && g > 0; i--) {
                        while (g > 0 && v->gone[g - 1] > v->uids[i - 1])
                                g--;
                        if (g > 0 && v->gone[g - 1] == v->uids[i - 1]) {
                                buf_printf(&b, "* %zu EXPUNGE\r\n", i);
                                g--;
                                if (b.len > 16384) {
                                        imap_client_send_buf(c, &b);
                                        buf_reset(&b);
                                }
                        }
                }
        }
        imap_client_send_buf(c, &b);
        buf_release(&b);
        for (i = 0, j = 0; i < v->count; i++) {
                if (bsearch_uid(v->gone, v->gone_count, v->uids[i]) >= 0) {
                        uids_remove(v->recent, &v->recent_count, v->uids[i]);
                        continue;
                }
                v->uids[j++] = v->uids[i];
        }
        /* each EXPUNGE counts the message out: no EXISTS needed */
        v->exists_told -= v->count - j;
        v->count = j;
        v->gone_count = 0;
}

void imap_view_sync(struct imap_client *c, int expunge, int uid)
{
        struct imap_view *v = c->view;
        struct maildir_changes ch;
        struct status st;
        size_t i;

        if (v == NULL || v->broken)
                return;
        /* another session deleted or renamed the selected folder */
        if (access(maildir_box_path(v->box), F_OK) < 0 && errno == ENOENT) {
                v->broken = 1;
                imap_client_send(c, "* BYE Mailbox was deleted.\r\n");
                imap_client_end(c, "Mailbox was deleted");
                return;
        }
        if (maildir_sync(v->box, &ch, &st) < 0) {
                log_warn("imap(%s): %s: sync: %s", c->user, v->name, st.text);
                return;
        }
        if (ch.uidvalidity_changed) {
                maildir_changes_release(&ch);
                v->broken = 1;
                imap_client_send(c, "* BYE Mailbox UIDVALIDITY changed\r\n");
                imap_client_end(c, "Mailbox UIDVALIDITY changed");
                return;
        }
        for (i = 0; i < ch.expunged_count; i++)
                if (imap_view_find(v, ch.expunged_uids[i]) >= 0)
                        uids_insert(&v->gone, &v->gone_count, &v->gone_cap,
                                    ch.expunged_uids[i]);
        if (expunge)
                tell_expunges(c);
        for (i = 0; i < ch.new_count; i++) {
                if (v->count > 0 && ch.new_uids[i] <= v->uids[v->count - 1])
                        continue;
                uids_push(&v->uids, &v->count, &v->cap, ch.new_uids[i]);
        }
        for (i = 0; i < ch.recent_count; i++)
                uids_insert(&v->recent, &v->recent_count, &v->recent_cap,
                            ch.recent_uids[i]);
        if (v->count != v->exists_told) {
                imap_client_send(c, "* %zu EXISTS\r\n", v->count);
                v->exists_told = v->count;
                v->recent_told = SIZE_MAX;      /* goes with EXISTS */
        }
        /* RFC 3501 7.3.2: RECENT when the number changes */
        if (v->recent_count != v->recent_told &&
            !imap_client_feature(c, IMAP_FEATURE_REV2)) {
                imap_client_send(c, "* %zu RECENT\r\n", v->recent_count);
                v->recent_told = v->recent_count;
        }
        if (keyword_count(v) != v->keywords_told)
                imap_view_send_flags(c);
        for (i = 0; i < ch.changed_count; i++) {
                long idx = imap_view_find(v, ch.changed_uids[i]);
                if (idx >= 0 && !imap_view_gone(v, ch.changed_uids[i]))
                        imap_view_send_fetch_flags(c, (size_t)idx, uid);
        }
        maildir_changes_release(&ch);
}

int imap_view_resolve(struct imap_client *c, struct imap_cmd *cmd,
                      const char *set, int uid, uint32_t **idx_r,
                      size_t *count_r)
{
        struct imap_view *v = c->view;
        struct imap_seqset ss;
        uint32_t *idx = NULL;
        size_t n = 0, cap = 0;
        int dollar;
        uint32_t star;

        *idx_r = NULL;
        *count_r = 0;
        if (uid)
                star = v->count > 0 ? v->uids[v->count - 1] : 0;
        else
                star = (uint32_t)v->count;
        imap_seqset_init(&ss);
        if (imap_seqset_parse(set, star == 0 && !uid ? UINT32_MAX : star,
                              &ss, &dollar) < 0) {
                imap_seqset_release(&ss);
                imap_cmd_bad(cmd, "Error in IMAP command %s: Invalid "
                             "messageset", cmd->name);
                return -1;
        }
        if (dollar) {
                /* RFC 5182: the saved UIDs, whichever kind the command */
                for (size_t i = 0; c->saved_valid && i < c->saved_count; i++) {
                        long k = imap_view_find(v, c->saved[i]);
                        if (k >= 0)
                                uids_push(&idx, &n, &cap, (uint32_t)k);
                }
        } else if (uid) {
                size_t i = 0;
                for (size_t r = 0; r < ss.n && i < v->count; r++) {
                        /* skip to the range, by halves */
                        size_t lo = i, hi = v->count;
                        while (lo < hi) {
                                size_t mid = lo + (hi - lo) / 2;
                                if (v->uids[mid] < ss.v[r].lo)
                                        lo = mid + 1;
                                else
                                        hi = mid;
                        }
                        for (i = lo; i < v->count && v->uids[i] <= ss.v[r].hi;
                             i++)
                                uids_push(&idx, &n, &cap, (uint32_t)i);
                }
        } else {
                if (ss.n > 0 && (ss.v[ss.n - 1].hi > v->count)) {
                        free(idx);
                        imap_seqset_release(&ss);
                        imap_cmd_bad(cmd, "Error in IMAP command %s: "
                                     "Invalid messageset", cmd->name);
                        return -1;
                }
                for (size_t r = 0; r < ss.n; r++)
                        for (uint64_t s = ss.v[r].lo; s <= ss.v[r].hi; s++)
                                uids_push(&idx, &n, &cap, (uint32_t)(s - 1));
        }
        imap_seqset_release(&ss);
        *idx_r = idx;
        *count_r = n;
        return 0;
}
