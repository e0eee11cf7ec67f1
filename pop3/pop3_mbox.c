/* pop3_mbox.c - a POP3 session's view of INBOX: the snapshot at login
 * Used by: pop3_session.c (pop3_mbox.h). The Maildir library does the
 * work (sync, sizes, expunge, flags); this keeps the numbering and the
 * marks. UIDLs follow Dovecot's pop3_uidl_format, so that a client moving
 * from Dovecot sees the same UIDLs and downloads nothing twice. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "pop3_mbox.h"

/* Formatting UIDLs. */

int pop3_uidl_needs_base(const char *fmt)
{
        for (const char *p = fmt; *p != '\0'; p++) {
                if (*p != '%')
                        continue;
                p++;
                while (*p != '\0' && (isdigit((unsigned char)*p) ||
                                      strchr("XLU", *p) != NULL))
                        p++;
                if (*p == 'f' || *p == 'g')
                        return 1;
                if (*p == '\0')
                        break;
        }
        return 0;
}

/* put_value - one variable's text with width and modifiers applied */
static void put_value(struct buf *out, const char *text, int is_num,
                      unsigned long num, int hex, int upper, int lower,
                      int zero, size_t width)
{
        char tmp[32];
        size_t start = out->len;

        if (is_num) {
                snprintf(tmp, sizeof(tmp), hex ? "%lx" : "%lu", num);
                text = tmp;
        }
        size_t len = strlen(text);
        if (zero) {
                for (size_t i = len; i < width; i++)
                        buf_putc(out, '0');
        } else if (width > 0 && len > width) {
                len = width;    /* Dovecot: the first width characters */
        }
        buf_append(out, text, len);
        for (size_t i = start; i < out->len; i++) {
                if (upper)
                        out->data[i] = (char)toupper((unsigned char)out->data[i]);
                else if (lower)
                        out->data[i] = (char)tolower((unsigned char)out->data[i]);
        }
}

int pop3_uidl_format(const char *fmt, uint32_t uid, uint32_t uidvalidity,
                     const char *base, char *out, size_t size,
                     struct status *st)
{
        struct buf b;

        buf_init(&b, 0);
        for (const char *p = fmt; *p != '\0'; p++) {
                int hex = 0, upper = 0, lower = 0, zero = 0;
                size_t width = 0;

                if (*p != '%') {
                        buf_putc(&b, *p);
                        continue;
                }
                p++;
                if (*p == '0')
                        zero = 1;
                while (isdigit((unsigned char)*p) && width < 1000)
                        width = width * 10 + (size_t)(*p++ - '0');
                for (; *p != '\0' && strchr("XLU", *p) != NULL; p++) {
                        hex |= *p == 'X';
                        upper |= *p == 'U';
                        lower |= *p == 'L';
                }
                switch (*p) {
                case '%':
                        buf_putc(&b, '%');
                        break;
                case 'u':
                        put_value(&b, NULL, 1, uid, hex, upper, lower, zero,
                                  width);
                        break;
                case 'v':
                        put_value(&b, NULL, 1, uidvalidity, hex, upper, lower,
                                  zero, width);
                        break;
                case 'f':
                case 'g':
                        put_value(&b, base != NULL ? base : "", 0, 0, 0,
                                  upper, lower, 0, width);
                        break;
                default:
                        buf_release(&b);
                        return status_set(st, STATUS_CONFIG,
                                          "pop3_uidl_format = %s: unknown "
                                          "variable %%%c", fmt,
                                          *p != '\0' ? *p : '?');
                }
                if (*p == '\0')
                        break;
        }
        for (size_t i = 0; i < b.len; i++) {
                unsigned char c = (unsigned char)b.data[i];

                if (c < 0x21 || c > 0x7e) {
                        buf_release(&b);
                        return status_set(st, STATUS_CONFIG,
                                          "pop3_uidl_format = %s: a UIDL "
                                          "may not hold byte 0x%02x", fmt, c);
                }
        }
        if (b.len == 0 || b.len > POP3_UIDL_MAX || b.len >= size) {
                buf_release(&b);
                return status_set(st, STATUS_CONFIG, "pop3_uidl_format = "
                                  "%s: UIDL of %zu characters", fmt, b.len);
        }
        memcpy(out, b.data, b.len + 1);
        buf_release(&b);
        return 0;
}

/* The mailbox. */

/* take_lock - 0 locked, 1 held by another session, -1 with st */
static int take_lock(struct pop3_mbox *mb, const char *path,
                     struct status *st)
{
        char *name = xasprintf("%s/%s", path, POP3_LOCK_NAME);
        struct flock fl;

        mb->lock_fd = open(name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                           0600);
        if (mb->lock_fd < 0) {
                status_set(st, STATUS_LOCAL_IO, "open %s: %m", name);
                free(name);
                return -1;
        }
        memset(&fl, 0, sizeof(fl));
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        /* an open file description lock: held by this handle alone, and
         * gone with the process */
        if (fcntl(mb->lock_fd, F_OFD_SETLK, &fl) < 0) {
                int busy = errno == EAGAIN || errno == EACCES;

                if (!busy)
                        status_set(st, STATUS_LOCAL_IO, "lock %s: %m", name);
                free(name);
                return busy ? 1 : -1;
        }
        free(name);
        return 0;
}

/* base_name - the message's file name up to its ":2," info, into out */
static void base_name(struct maildir_box *box, uint32_t uid, char *out,
                      size_t size)
{
        char *path = maildir_msg_path(box, uid);
        const char *slash;

        out[0] = '\0';
        if (path == NULL)
                return;
        slash = strrchr(path, '/');
        slash = slash != NULL ? slash + 1 : path;
        snprintf(out, size, "%.*s", (int)maildir_filename_base_len(slash),
                 slash);
        free(path);
}

int pop3_mbox_open(const char *path, int lock_session,
                   const char *uidl_format, struct pop3_mbox **mb_r,
                   struct status *st)
{
        struct pop3_mbox *mb = xcalloc(1, sizeof(*mb));
        int need_base = pop3_uidl_needs_base(uidl_format);
        size_t n;

        mb->lock_fd = -1;
        if (maildir_open(path, MAILDIR_CREATE, &mb->md, st) < 0)
                goto fail;
        if (lock_session) {
                int r = take_lock(mb, path, st);

                if (r != 0) {
                        pop3_mbox_close(&mb);
                        return r > 0 ? 1 : -1;
                }
        }
        if (maildir_box_open(mb->md, "INBOX", MAILDIR_BOX_CACHE, &mb->box,
                             st) < 0 ||
            maildir_sync(mb->box, NULL, st) < 0)
                goto fail;
        n = maildir_box_count(mb->box);
        mb->msgs = xcalloc(n > 0 ? n : 1, sizeof(*mb->msgs));
        for (size_t i = 0; i < n; i++) {
                struct pop3_msg *m = &mb->msgs[mb->count];
                char base[256];
                int r;

                m->uid = maildir_box_uid(mb->box, i);
                r = maildir_msg_vsize(mb->box, m->uid, &m->size, st);
                if (r < 0)
                        goto fail;
                if (r == 0)
                        continue;       /* gone since the sync */
                if (need_base)
                        base_name(mb->box, m->uid, base, sizeof(base));
                if (pop3_uidl_format(uidl_format, m->uid,
                                     maildir_box_uidvalidity(mb->box),
                                     need_base ? base : NULL, m->uidl,
                                     sizeof(m->uidl), st) < 0)
                        goto fail;
                mb->total += m->size;
                mb->count++;
        }
        *mb_r = mb;
        return 0;
fail:
        pop3_mbox_close(&mb);
        return -1;
}

void pop3_mbox_close(struct pop3_mbox **mbp)
{
        struct pop3_mbox *mb;

        if (mbp == NULL || *mbp == NULL)
                return;
        mb = *mbp;
        *mbp = NULL;
        maildir_box_close(&mb->box);
        maildir_close(&mb->md);
        if (mb->lock_fd >= 0)
                close(mb->lock_fd);
        free(mb->msgs);
        free(mb);
}

int pop3_mbox_update(struct pop3_mbox *mb, int no_flag_updates,
                     size_t *deleted_r, struct status *st)
{
        struct status one;
        int ret = 0;

        *deleted_r = 0;
        for (size_t i = 0; i < mb->count; i++) {
                struct pop3_msg *m = &mb->msgs[i];
                int r;

                if (m->deleted) {
                        r = maildir_msg_expunge(mb->box, m->uid, &one);
                        if (r > 0)
                                (*deleted_r)++;
                } else if (m->retrieved && !no_flag_updates) {
                        struct maildir_msg_info info;

                        r = maildir_msg_info(mb->box, m->uid, &info);
                        if (r > 0 && (info.flags & MAILDIR_FLAG_SEEN) == 0)
                                r = maildir_msg_store(mb->box, m->uid,
                                                      MAILDIR_STORE_ADD,
                                                      MAILDIR_FLAG_SEEN, NULL,
                                                      0, &one);
                } else {
                        continue;
                }
                if (r < 0 && ret == 0) {
                        *st = one;
                        ret = -1;
                }
        }
        return ret;
}
