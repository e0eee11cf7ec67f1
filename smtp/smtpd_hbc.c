/* smtpd_hbc.c - header_checks and body_checks on a message being received
 * Used by: smtpd_data.c, which passes every content byte through here on
 * its way to the queue file when a header_checks, mime_header_checks,
 * nested_header_checks or body_checks table is set. Each logical header
 * (with its continuation lines, newlines kept, as Postfix matches them)
 * is looked up as Postfix's cleanup does: MIME headers (Content-*,
 * MIME-Version) at any depth in mime_header_checks, the message's other
 * headers in header_checks, those of MIME parts and attached messages
 * in nested_header_checks; each body line (not part headers), within the
 * first body_checks_size_limit bytes of the body, in body_checks. The
 * multipart boundaries are followed as the headers announce them (at
 * most mime_nesting_limit deep), unless disable_mime_input_processing;
 * then everything after the message's headers is body. Usually regexp:
 * or pcre: tables. Answers: REJECT [text]
 * (550 5.7.1 at the end of DATA, "message content rejected" unless the
 * text says otherwise), DISCARD (250, then thrown away), HOLD (queued on
 * hold), WARN, INFO, IGNORE (the line is dropped), PREPEND text (a line
 * before it), REPLACE text (instead of it), DUNNO and OK; others are
 * logged and ignored. Each action is logged in Postfix's cleanup shape.
 * At most one header (bounded by header_size_limit upstream) and one line
 * are held in memory. Reads client input. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "log.h"
#include "map.h"
#include "mem.h"
#include "mime.h"
#include "smtpd.h"
#include "smtpd_check.h"
#include "smtpd_check_int.h"
#include "smtpd_log.h"

#define HBC_LINE_MAX    8192    /* longer body lines are checked in parts */
#define HBC_DEPTH_MAX   100     /* multipart nesting followed, at most */

/* whose headers are being read */
enum hbc_class {
        HBC_PRIMARY,            /* the message's own */
        HBC_PART,               /* a MIME part's */
        HBC_NESTED,             /* an attached message's */
};

struct smtpd_hbc {
        struct maps *hmaps, *mime, *nested, *body;      /* borrowed */
        long long body_limit;
        int in_header;
        enum hbc_class class;
        int follow_mime;        /* not disable_mime_input_processing */
        char **bounds;          /* open multipart boundaries, innermost
                                 * last */
        size_t nbounds, max_bounds, bound_max;
        char *next_bound;       /* the header block being read opens it */
        int next_rfc822;        /* ... or is a message/rfc822 part */
        struct buf line;        /* the line being read */
        struct buf header;      /* the logical header being read */
        long long body_bytes;
        int stopped;            /* rejected or discarded: write no more */
        char reply[SMTPD_REPLY_MAX];
};

struct smtpd_hbc *smtpd_hbc_new(struct smtpd_session *s)
{
        const struct smtpd_checks *c = s->srv->checks;
        struct smtpd_hbc *h;

        if (maps_count(c->header_checks) == 0 &&
            maps_count(c->mime_header_checks) == 0 &&
            maps_count(c->nested_header_checks) == 0 &&
            maps_count(c->body_checks) == 0)
                return NULL;
        h = xcalloc(1, sizeof(*h));
        h->hmaps = c->header_checks;
        h->mime = c->mime_header_checks;
        h->nested = c->nested_header_checks;
        h->body = c->body_checks;
        h->body_limit = c->body_checks_limit;
        h->in_header = 1;
        h->follow_mime = c->mime_depth > 0;
        h->max_bounds = c->mime_depth < HBC_DEPTH_MAX ? c->mime_depth :
                        HBC_DEPTH_MAX;
        h->bound_max = c->mime_boundary_max;
        buf_init(&h->line, 0);
        buf_init(&h->header, 0);
        return h;
}

void smtpd_hbc_free(struct smtpd_hbc **hp)
{
        struct smtpd_hbc *h = *hp;

        if (h == NULL)
                return;
        buf_release(&h->line);
        buf_release(&h->header);
        for (size_t i = 0; i < h->nbounds; i++)
                free(h->bounds[i]);
        free(h->bounds);
        free(h->next_bound);
        free(h);
        *hp = NULL;
}

/* act - what the table said about text (a header or a body line); 1 to
 * write the text, 0 to drop it */
static int act(struct smtpd_session *s, struct smtpd_hbc *h,
               const char *where, const char *text, const char *value)
{
        size_t n = strcspn(value, " \t");
        const char *arg = value + n;
        char cmd[16];

        arg += strspn(arg, " \t");
        snprintf(cmd, sizeof(cmd), "%.*s", (int)(n < 15 ? n : 15), value);
        if (strcasecmp(cmd, "REJECT") == 0) {
                const char *reason = *arg ? arg : "message content rejected";
                int has_dsn = strspn(reason, "0123456789.") >= 5 &&
                              reason[1] == '.' &&
                              (reason[0] == '4' || reason[0] == '5');

                snprintf(h->reply, sizeof(h->reply), "%d %s%s",
                         has_dsn && reason[0] == '4' ? 450 : 550,
                         has_dsn ? "" : "5.7.1 ", reason);
                smtpd_log_content(s, "reject", where, text, h->reply + 4);
                h->stopped = 1;
                return 0;
        }
        if (strcasecmp(cmd, "DISCARD") == 0) {
                smtpd_log_content(s, "discard", where, text, arg);
                smtpd_check_discard(s);
                h->stopped = 1;
                return 0;
        }
        if (strcasecmp(cmd, "HOLD") == 0) {
                smtpd_log_content(s, "hold", where, text, arg);
                smtpd_check_hold(s, *arg ? arg : "header or body check");
                return 1;
        }
        if (strcasecmp(cmd, "WARN") == 0 || strcasecmp(cmd, "INFO") == 0) {
                smtpd_log_content(s, toupper((unsigned char)cmd[0]) == 'W' ?
                                  "warning" : "info", where, text, arg);
                return 1;
        }
        if (strcasecmp(cmd, "IGNORE") == 0)
                return 0;
        if (strcasecmp(cmd, "PREPEND") == 0 || strcasecmp(cmd, "REPLACE") == 0) {
                if (*arg == '\0') {
                        log_warn("%s_checks: %s needs text", where, cmd);
                        return 1;
                }
                smtpd_data_write(s, arg, strlen(arg));
                smtpd_data_write(s, "\n", 1);
                return toupper((unsigned char)cmd[0]) == 'P';
        }
        if (strcasecmp(cmd, "DUNNO") != 0 && strcasecmp(cmd, "OK") != 0)
                log_warn("%s_checks: unsupported action \"%s\" ignored",
                         where, cmd);
        return 1;
}

/* check - look text up in m; 1 to write it */
static int check(struct smtpd_session *s, struct smtpd_hbc *h,
                 struct maps *m, const char *where, const char *text)
{
        const char *value;
        struct status st;
        int r;

        if (maps_count(m) == 0)
                return 1;
        r = maps_lookup(m, text, &value, &st);
        if (r < 0) {
                log_warn("%s_checks: %s", where, st.text);
                return 1;
        }
        return r == 0 || act(s, h, where, text, value);
}

/* content_type - note what a Content-Type header opens: a multipart
 * with its boundary, or an attached message */
static void content_type(struct smtpd_hbc *h, const char *text)
{
        const char *value = strchr(text, ':') + 1;
        struct mime_content ct;

        if (mime_content_type_parse(value, strlen(value), &ct) == 0 &&
            ct.type != NULL) {
                const char *b = mime_param_get(&ct, "boundary");

                if (strcasecmp(ct.type, "multipart") == 0 && b != NULL &&
                    *b != '\0' && strlen(b) <= h->bound_max) {
                        free(h->next_bound);
                        h->next_bound = xstrdup(b);
                } else if (strcasecmp(ct.type, "message") == 0 &&
                           strcasecmp(ct.subtype, "rfc822") == 0) {
                        h->next_rfc822 = 1;
                }
        }
        mime_content_release(&ct);
}

/* header_done - the logical header in h->header is complete */
static void header_done(struct smtpd_session *s, struct smtpd_hbc *h)
{
        struct buf *b = &h->header;
        struct maps *m;
        char *text;

        if (b->len == 0)
                return;
        text = xstrndup(b->data, b->len - (b->data[b->len - 1] == '\n'));
        if (strncasecmp(text, "Content-", 8) == 0 ||
            strncasecmp(text, "MIME-Version", 12) == 0)
                m = h->mime;
        else
                m = h->class == HBC_PRIMARY ? h->hmaps : h->nested;
        if (h->follow_mime && strncasecmp(text, "Content-Type", 12) == 0 &&
            strchr(" \t:", text[12]) != NULL)
                content_type(h, text);
        if (check(s, h, m, "header", text) && !h->stopped)
                smtpd_data_write(s, b->data, b->len);
        free(text);
        buf_reset(b);
}

/* headers_end - a header block ends: a multipart's boundary opens, an
 * attached message's headers follow */
static void headers_end(struct smtpd_hbc *h)
{
        h->in_header = 0;
        if (h->next_bound != NULL) {
                if (h->nbounds < h->max_bounds) {
                        h->bounds = xrealloc(h->bounds, (h->nbounds + 1) *
                                             sizeof(char *));
                        h->bounds[h->nbounds++] = h->next_bound;
                } else {
                        free(h->next_bound);
                }
                h->next_bound = NULL;
        } else if (h->next_rfc822) {
                h->in_header = 1;
                h->class = HBC_NESTED;
        }
        h->next_rfc822 = 0;
}

/* boundary - a body line "--boundary" or "--boundary--" of an open
 * multipart: the next part's headers follow, or the multipart ends */
static void boundary(struct smtpd_hbc *h, const char *p, size_t n)
{
        while (n > 2 && (p[n - 1] == '\n' || p[n - 1] == '\r' ||
                         p[n - 1] == ' ' || p[n - 1] == '\t'))
                n--;
        for (size_t i = h->nbounds; i-- > 0;) {
                size_t len = strlen(h->bounds[i]);
                int close;

                if (n < len + 2 || memcmp(p + 2, h->bounds[i], len) != 0)
                        continue;
                close = n == len + 4 && p[len + 2] == '-' &&
                        p[len + 3] == '-';
                if (n != len + 2 && !close)
                        continue;
                while (h->nbounds > i + 1)
                        free(h->bounds[--h->nbounds]);
                if (close) {
                        free(h->bounds[--h->nbounds]);
                } else {
                        h->in_header = 1;
                        h->class = HBC_PART;
                }
                return;
        }
}

static int is_header_line(const char *p, size_t n)
{
        size_t i = 0;

        while (i < n && (unsigned char)p[i] > ' ' &&
               (unsigned char)p[i] < 127 && p[i] != ':')
                i++;
        while (i > 0 && i < n && (p[i] == ' ' || p[i] == '\t'))
                i++;
        return i > 0 && i < n && p[i] == ':';
}

/* line_done - one line (with its LF, when eol) */
static void line_done(struct smtpd_session *s, struct smtpd_hbc *h,
                      const char *p, size_t n, int eol)
{
        if (h->in_header) {
                if ((p[0] == ' ' || p[0] == '\t') && h->header.len > 0) {
                        buf_append(&h->header, p, n);
                        return;
                }
                header_done(s, h);
                if (h->stopped)
                        return;
                if (is_header_line(p, n)) {
                        buf_append(&h->header, p, n);
                        return;
                }
                headers_end(h);
                if ((n == 1 && p[0] == '\n') ||
                    (n == 2 && p[0] == '\r' && p[1] == '\n')) {
                        smtpd_data_write(s, p, n);
                        return;
                }
                if (h->in_header) {     /* no headers: line_done again */
                        line_done(s, h, p, n, eol);
                        return;
                }
        }
        if (h->nbounds > 0 && n > 2 && p[0] == '-' && p[1] == '-')
                boundary(h, p, n);
        h->body_bytes += (long long)n;
        if (h->body_bytes - (long long)n < h->body_limit) {
                char *text = xstrndup(p, n - (eol ? 1 : 0));
                int keep = check(s, h, h->body, "body", text);

                free(text);
                if (!keep || h->stopped)
                        return;
        }
        smtpd_data_write(s, p, n);
}

void smtpd_hbc_put(struct smtpd_session *s, const char *data, size_t len)
{
        struct smtpd_hbc *h = s->hbc;

        while (len > 0 && !h->stopped) {
                const char *nl = memchr(data, '\n', len);
                size_t n = nl != NULL ? (size_t)(nl - data) + 1 : len;

                buf_append(&h->line, data, n);
                data += n;
                len -= n;
                if (nl != NULL || h->line.len >= HBC_LINE_MAX) {
                        line_done(s, h, h->line.data, h->line.len,
                                  nl != NULL);
                        buf_reset(&h->line);
                }
        }
}

const char *smtpd_hbc_end(struct smtpd_session *s)
{
        struct smtpd_hbc *h = s->hbc;

        if (h == NULL)
                return NULL;
        if (!h->stopped && h->line.len > 0) {
                line_done(s, h, h->line.data, h->line.len, 0);
                buf_reset(&h->line);
        }
        if (!h->stopped)
                header_done(s, h);
        return h->reply[0] != '\0' ? h->reply : NULL;
}
