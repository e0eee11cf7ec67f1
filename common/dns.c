/* dns.c - asynchronous DNS on c-ares, driven by loop.h (see dns.h)
 * Used by: smtpd, smtp. One c-ares channel per struct dns; its sockets are
 * watched with loop_fd and its retransmissions with one loop_timer. A
 * c-ares question cannot be called off alone, so each one carries a small
 * token: a request that is cancelled or runs out of time forgets its
 * token, and the answer that comes later finds nobody to tell. Every
 * callback is delivered from a zero-delay timer of the request, so that
 * none runs inside dns_query() even when c-ares answers at once (from
 * /etc/hosts, or for a malformed name). Parses DNS answers from the
 * network through c-ares' parsers; keeps at most DNS_ANSWERS_MAX records
 * of each. */
#include <arpa/inet.h>
#include <ares.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "dns.h"
#include "dns_int.h"
#include "loop.h"
#include "mem.h"

#define DNS_TIMEOUT_DEFAULT_MS  10000
#define DNS_SERVERS_MAX         8       /* dns_servers items */
#define DNS_TXT_MAX             512     /* bytes kept of one TXT record */

static void sock_state(void *data, ares_socket_t fd, int readable,
                       int writable);

const char *dns_type_name(enum dns_type type)
{
        static const char *const names[] = {
                [DNS_A] = "A", [DNS_AAAA] = "AAAA", [DNS_MX] = "MX",
                [DNS_PTR] = "PTR", [DNS_TXT] = "TXT",
        };

        return (unsigned)type < sizeof(names) / sizeof(names[0]) ?
               names[type] : "?";
}

/* --- the channel and the loop --- */

/* rearm - start the timer for c-ares' next retransmission, if any */
void dns_rearm(struct dns *d)
{
        struct timeval tv, *tvp = ares_timeout(d->ch, NULL, &tv);

        if (tvp == NULL) {
                loop_timer_stop(d->timer);
                return;
        }
        loop_timer_start(d->timer, (long long)tvp->tv_sec * 1000 +
                         tvp->tv_usec / 1000 + 1);
}

static void on_timer(void *ctx)
{
        struct dns *d = ctx;

        ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        dns_rearm(d);
}

static void on_fd(int fd, int events, void *ctx)
{
        struct dns *d = ctx;

        ares_process_fd(d->ch, (events & LOOP_READ) ? fd : ARES_SOCKET_BAD,
                        (events & LOOP_WRITE) ? fd : ARES_SOCKET_BAD);
        dns_rearm(d);
}

static void sock_state(void *data, ares_socket_t fd, int readable,
                       int writable)
{
        struct dns *d = data;
        int events = (readable ? LOOP_READ : 0) | (writable ? LOOP_WRITE : 0);
        size_t i;

        for (i = 0; i < d->sock_count; i++)
                if (d->socks[i].fd == fd)
                        break;
        if (i < d->sock_count) {
                if (d->socks[i].events == events)
                        return;
                loop_fd_free(&d->socks[i].watch);
                if (events == 0) {
                        d->socks[i] = d->socks[--d->sock_count];
                        return;
                }
        } else {
                if (events == 0)
                        return;
                d->socks = xrealloc(d->socks, (d->sock_count + 1) *
                                    sizeof(*d->socks));
                i = d->sock_count++;
                d->socks[i].fd = fd;
        }
        d->socks[i].events = events;
        d->socks[i].watch = loop_fd_new(fd, events, on_fd, d);
}

/* servers_csv - dns_servers as c-ares' "a:port,[v6]:port" list; 0, or
 * -1 with st naming the bad item */
static int servers_csv(const char *servers, struct buf *csv,
                       struct status *st)
{
        const char *p = servers;
        int count = 0;

        while (*p != '\0') {
                size_t n;
                char item[80], host[80], orig[80];
                unsigned char bin[16];
                const char *port = NULL;

                p += strspn(p, ", \t\r\n");
                n = strcspn(p, ", \t\r\n");
                if (n == 0)
                        break;
                if (n >= sizeof(item) || ++count > DNS_SERVERS_MAX)
                        return status_set(st, STATUS_CONFIG_TEMP,
                                          "dns_servers: too long or too many "
                                          "items: \"%.*s\"", (int)n, p);
                memcpy(item, p, n);
                item[n] = '\0';
                memcpy(orig, item, n + 1);
                p += n;
                if (item[0] == '[') {
                        char *close = strchr(item, ']');

                        if (close == NULL || (close[1] != '\0' &&
                                              close[1] != ':'))
                                goto bad;
                        snprintf(host, sizeof(host), "%.*s",
                                 (int)(close - item - 1), item + 1);
                        if (close[1] == ':')
                                port = close + 2;
                } else if (strchr(item, ':') != strrchr(item, ':')) {
                        snprintf(host, sizeof(host), "%s", item);   /* v6 */
                } else {
                        char *colon = strchr(item, ':');

                        if (colon != NULL) {
                                *colon = '\0';
                                port = colon + 1;
                        }
                        snprintf(host, sizeof(host), "%s", item);
                }
                int v6 = strchr(host, ':') != NULL;
                if (inet_pton(v6 ? AF_INET6 : AF_INET, host, bin) != 1)
                        goto bad;
                if (port != NULL) {
                        char *end;
                        long v = strtol(port, &end, 10);

                        if (*port == '\0' || *end != '\0' || v < 1 ||
                            v > 65535)
                                goto bad;
                }
                /* c-ares: brackets only around an IPv6 address with a
                 * port */
                buf_printf(csv, "%s%s%s%s%s%s", csv->len ? "," : "",
                           v6 && port ? "[" : "", host,
                           v6 && port ? "]" : "", port ? ":" : "",
                           port ? port : "");
                continue;
bad:
                return status_set(st, STATUS_CONFIG_TEMP, "dns_servers: bad "
                                  "server \"%s\": expected address[:port] "
                                  "or [IPv6 address][:port]", orig);
        }
        return 0;
}

int dns_open(const char *servers, long long timeout_ms, struct dns **dns_r,
             struct status *st)
{
        struct ares_options o;
        struct dns *d;
        struct buf csv;
        int r, own = servers != NULL && servers[strspn(servers,
                                                       ", \t\r\n")] != '\0';

        *dns_r = NULL;
        buf_init(&csv, 0);
        if (own && servers_csv(servers, &csv, st) < 0) {
                buf_release(&csv);
                return -1;
        }
        r = ares_library_init(ARES_LIB_INIT_ALL);
        if (r != ARES_SUCCESS) {
                buf_release(&csv);
                return status_set(st, STATUS_LOCAL_IO, "c-ares: %s",
                                  ares_strerror(r));
        }
        d = xcalloc(1, sizeof(*d));
        d->timeout_ms = timeout_ms > 0 ? timeout_ms : DNS_TIMEOUT_DEFAULT_MS;
        memset(&o, 0, sizeof(o));
        o.sock_state_cb = sock_state;
        o.sock_state_cb_data = d;
        /* our own servers: DNS only, so tests and split set-ups see
         * exactly what those servers say */
        o.lookups = own ? (char *)"b" : (char *)"fb";
        o.timeout = (int)(d->timeout_ms / 3 > 100 ? d->timeout_ms / 3 : 100);
        o.tries = 2;
        o.flags = ARES_FLAG_NOSEARCH;
        r = ares_init_options(&d->ch, &o, ARES_OPT_SOCK_STATE_CB |
                              ARES_OPT_LOOKUPS | ARES_OPT_TIMEOUTMS |
                              ARES_OPT_TRIES | ARES_OPT_FLAGS);
        if (r == ARES_SUCCESS && own)
                r = ares_set_servers_ports_csv(d->ch, buf_cstr(&csv));
        buf_release(&csv);
        if (r != ARES_SUCCESS) {
                status_set(st, STATUS_LOCAL_IO, "c-ares: %s",
                           ares_strerror(r));
                if (d->ch != NULL)
                        ares_destroy(d->ch);
                free(d);
                ares_library_cleanup();
                return -1;
        }
        d->timer = loop_timer_new(on_timer, d);
        *dns_r = d;
        return 0;
}

void dns_free(struct dns **dp)
{
        struct dns *d = *dp;

        if (d == NULL)
                return;
        while (d->reqs != NULL) {
                struct dns_req *r = d->reqs;

                dns_cancel(&r);
        }
        /* answers still under way come back with ARES_EDESTRUCTION and
         * free their tokens */
        ares_destroy(d->ch);
        for (size_t i = 0; i < d->sock_count; i++)
                loop_fd_free(&d->socks[i].watch);
        free(d->socks);
        loop_timer_free(&d->timer);
        free(d);
        ares_library_cleanup();
        *dp = NULL;
}

size_t dns_pending(const struct dns *d)
{
        return d->pending;
}

/* --- requests --- */

static void deliver(void *ctx);
static void deadline(void *ctx);

struct dns_req *dns_req_new(struct dns *d, enum dns_req_kind kind,
                            const char *name, long long timeout_ms)
{
        struct dns_req *r = xcalloc(1, sizeof(*r));

        r->d = d;
        r->kind = kind;
        snprintf(r->name, sizeof(r->name), "%s", name);
        r->next = d->reqs;
        if (r->next != NULL)
                r->next->prev = r;
        d->reqs = r;
        d->pending++;
        r->timer = loop_timer_new(deadline, r);
        loop_timer_start(r->timer, timeout_ms > 0 ? timeout_ms :
                         d->timeout_ms);
        return r;
}

/* forget - unlink r and free it (its token, if any, is orphaned) */
static void forget(struct dns_req *r)
{
        struct dns *d = r->d;

        if (r->prev != NULL)
                r->prev->next = r->next;
        else
                d->reqs = r->next;
        if (r->next != NULL)
                r->next->prev = r->prev;
        d->pending--;
        if (r->token != NULL)
                r->token->req = NULL;
        loop_timer_free(&r->timer);
        dns_values_clear(r);
        free(r->reverse);
        free(r);
}

void dns_cancel(struct dns_req **reqp)
{
        if (reqp == NULL || *reqp == NULL)
                return;
        forget(*reqp);
        *reqp = NULL;
}

void dns_values_clear(struct dns_req *r)
{
        for (size_t i = 0; i < r->count; i++)
                free(r->values[i]);
        r->count = 0;
}

void dns_value_add(struct dns_req *r, const char *value, int pref)
{
        if (r->count >= DNS_ANSWERS_MAX)
                return;
        r->prefs[r->count] = pref;
        r->values[r->count++] = xstrdup(value);
}

/* deliver - the request is answered: tell its owner, then forget it */
static void deliver(void *ctx)
{
        struct dns_req *r = ctx;

        if (r->kind == DNS_REQ_NAME) {
                struct dns_client_name n;

                n.reverse = r->reverse != NULL ? r->reverse : "unknown";
                n.reverse_status = r->reverse_status;
                n.name = r->name_status == DNS_NAME_OK ? n.reverse :
                         "unknown";
                n.name_status = r->name_status;
                r->name_cb(&n, r->ctx);
        } else {
                struct dns_answer a;

                memset(&a, 0, sizeof(a));
                a.result = r->result;
                a.reason = r->reason;
                a.type = r->types[r->at < r->ntypes ? r->at : 0];
                a.count = r->result == DNS_OK ? r->count : 0;
                a.values = (const char *const *)r->values;
                a.prefs = a.type == DNS_MX ? r->prefs : NULL;
                a.nxdomain = r->result == DNS_NOTFOUND && r->nxdomain;
                r->cb(&a, r->ctx);
        }
        forget(r);
}

/* dns_req_done - the answer is ready: deliver it from the loop */
void dns_req_done(struct dns_req *r)
{
        r->token = NULL;
        loop_timer_free(&r->timer);
        r->timer = loop_timer_new(deliver, r);
        loop_timer_start(r->timer, 0);
}

/* deadline - the request ran out of time */
static void deadline(void *ctx)
{
        struct dns_req *r = ctx;

        if (r->kind == DNS_REQ_NAME) {
                dns_name_timeout(r);
        } else {
                dns_values_clear(r);
                r->result = DNS_TEMPFAIL;
                r->reason = "timed out";
        }
        if (r->token != NULL)
                r->token->req = NULL;
        dns_req_done(r);
}

struct dns_token *dns_token_new(struct dns_req *r)
{
        struct dns_token *t = xcalloc(1, sizeof(*t));

        t->req = r;
        r->token = t;
        return t;
}

enum dns_result dns_status_result(int status, const char **reason_r)
{
        *reason_r = ares_strerror(status);
        switch (status) {
        case ARES_SUCCESS:
                return DNS_OK;
        case ARES_ENODATA:
        case ARES_ENOTFOUND:
        case ARES_EBADNAME:
                return DNS_NOTFOUND;
        default:
                return DNS_TEMPFAIL;
        }
}

/* --- answers --- */

static void parse_addrs(struct dns_req *r, const unsigned char *abuf,
                        int alen, int v6, int *status_r)
{
        char text[INET6_ADDRSTRLEN];

        if (!v6) {
                struct ares_addrttl a[DNS_ANSWERS_MAX];
                int n = DNS_ANSWERS_MAX;

                *status_r = ares_parse_a_reply(abuf, alen, NULL, a, &n);
                for (int i = 0; *status_r == ARES_SUCCESS && i < n; i++)
                        if (inet_ntop(AF_INET, &a[i].ipaddr, text,
                                      sizeof(text)) != NULL)
                                dns_value_add(r, text, 0);
        } else {
                struct ares_addr6ttl a[DNS_ANSWERS_MAX];
                int n = DNS_ANSWERS_MAX;

                *status_r = ares_parse_aaaa_reply(abuf, alen, NULL, a, &n);
                for (int i = 0; *status_r == ARES_SUCCESS && i < n; i++)
                        if (inet_ntop(AF_INET6, &a[i].ip6addr, text,
                                      sizeof(text)) != NULL)
                                dns_value_add(r, text, 0);
        }
}

static void parse_mx(struct dns_req *r, const unsigned char *abuf, int alen,
                     int *status_r)
{
        struct ares_mx_reply *mx = NULL;

        *status_r = ares_parse_mx_reply(abuf, alen, &mx);
        for (struct ares_mx_reply *m = mx; m != NULL; m = m->next)
                dns_value_add(r, m->host, m->priority);
        if (mx != NULL)
                ares_free_data(mx);
}

static void parse_ptr(struct dns_req *r, const unsigned char *abuf, int alen,
                      int *status_r)
{
        struct hostent *h = NULL;

        *status_r = ares_parse_ptr_reply(abuf, alen, NULL, 0, AF_INET, &h);
        if (*status_r == ARES_SUCCESS && h != NULL) {
                dns_value_add(r, h->h_name, 0);
                for (char **a = h->h_aliases; a != NULL && *a != NULL; a++)
                        dns_value_add(r, *a, 0);
        }
        if (h != NULL)
                ares_free_hostent(h);
}

static void parse_txt(struct dns_req *r, const unsigned char *abuf, int alen,
                      int *status_r)
{
        struct ares_txt_ext *txt = NULL;
        struct buf b;

        *status_r = ares_parse_txt_reply_ext(abuf, alen, &txt);
        buf_init(&b, DNS_TXT_MAX);
        for (struct ares_txt_ext *t = txt; t != NULL; t = t->next) {
                if (t->record_start && b.len > 0) {
                        dns_value_add(r, buf_cstr(&b), 0);
                        buf_reset(&b);
                }
                (void)buf_append(&b, t->txt, t->length);
        }
        if (*status_r == ARES_SUCCESS)
                dns_value_add(r, buf_cstr(&b), 0);
        buf_release(&b);
        if (txt != NULL)
                ares_free_data(txt);
}

static void ask(struct dns_req *r);

/* answered - c-ares' callback for one question */
static void answered(void *arg, int status, int timeouts,
                     unsigned char *abuf, int alen)
{
        struct dns_token *t = arg;
        struct dns_req *r = t->req;
        enum dns_type type;

        free(t);
        if (r == NULL)
                return;         /* cancelled or timed out meanwhile */
        r->token = NULL;
        type = r->types[r->at];
        if (status == ARES_SUCCESS) {
                switch (type) {
                case DNS_A:
                case DNS_AAAA:
                        parse_addrs(r, abuf, alen, type == DNS_AAAA, &status);
                        break;
                case DNS_MX:
                        parse_mx(r, abuf, alen, &status);
                        break;
                case DNS_PTR:
                        parse_ptr(r, abuf, alen, &status);
                        break;
                case DNS_TXT:
                        parse_txt(r, abuf, alen, &status);
                        break;
                }
                if (status == ARES_SUCCESS && r->count == 0)
                        status = ARES_ENODATA;
        }
        r->result = dns_status_result(status, &r->reason);
        r->nxdomain = status == ARES_ENOTFOUND || status == ARES_EBADNAME;
        if (r->result != DNS_OK)
                dns_values_clear(r);
        if (r->result == DNS_TEMPFAIL)
                r->any_temp = 1;
        if (r->result != DNS_OK && r->at + 1 < r->ntypes) {
                r->at++;
                ask(r);
                return;
        }
        if (r->result == DNS_NOTFOUND && r->any_temp) {
                r->result = DNS_TEMPFAIL;
                r->reason = "temporary failure of an earlier question";
        }
        dns_req_done(r);
}

/* ask - send the question for r->types[r->at] */
static void ask(struct dns_req *r)
{
        static const int qtypes[] = {
                [DNS_A] = 1, [DNS_AAAA] = 28, [DNS_MX] = 15, [DNS_PTR] = 12,
                [DNS_TXT] = 16,
        };

        ares_query(r->d->ch, r->name, 1 /* C_IN */, qtypes[r->types[r->at]],
                   answered, dns_token_new(r));
        dns_rearm(r->d);
}

struct dns_req *dns_query_any(struct dns *d, const char *name,
                              const enum dns_type *types, size_t count,
                              dns_cb *cb, void *ctx)
{
        struct dns_req *r = dns_req_new(d, DNS_REQ_QUERY, name, 0);

        r->cb = cb;
        r->ctx = ctx;
        if (count > sizeof(r->types) / sizeof(r->types[0]))
                count = sizeof(r->types) / sizeof(r->types[0]);
        memcpy(r->types, types, count * sizeof(*types));
        r->ntypes = count;
        if (strlen(name) > DNS_NAME_MAX || *name == '\0') {
                r->result = DNS_NOTFOUND;
                r->nxdomain = 1;
                r->reason = "malformed name";
                dns_req_done(r);
                return r;
        }
        ask(r);
        return r;
}

struct dns_req *dns_query(struct dns *d, const char *name, enum dns_type type,
                          dns_cb *cb, void *ctx)
{
        return dns_query_any(d, name, &type, 1, cb, ctx);
}

int dns_reverse_name(const char *ip, const char *suffix, char *out,
                     size_t size)
{
        unsigned char a[16];
        size_t used = 0;
        int n;

        if (inet_pton(AF_INET, ip, a) == 1) {
                n = snprintf(out, size, "%u.%u.%u.%u.%s", a[3], a[2], a[1],
                             a[0], suffix != NULL ? suffix : "in-addr.arpa");
                return n > 0 && (size_t)n < size ? 0 : -1;
        }
        if (inet_pton(AF_INET6, ip, a) != 1)
                return -1;
        for (int i = 15; i >= 0; i--) {
                n = snprintf(out + used, size - used, "%x.%x.", a[i] & 0xf,
                             a[i] >> 4);
                if (n < 0 || (size_t)n >= size - used)
                        return -1;
                used += (size_t)n;
        }
        n = snprintf(out + used, size - used, "%s",
                     suffix != NULL ? suffix : "ip6.arpa");
        return n > 0 && (size_t)n < size - used ? 0 : -1;
}
