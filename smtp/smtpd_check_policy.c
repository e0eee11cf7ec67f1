/* smtpd_check_policy.c - check_policy_service: Postfix's policy delegation
 * Used by: smtpd_check.c's evaluator. A request is "name=value" lines and
 * an empty line (request=smtpd_access_policy, protocol_state, sender,
 * recipient, client_address, ... as Postfix's SMTPD_POLICY_README
 * lists them); the answer is "action=..." and an empty line, read as an
 * access table's value (smtpd_check_access.c), so postgrey, policyd-spf
 * and the like work unchanged. Services are inet:host:port or
 * unix:pathname (relative to queue_directory), optionally in braces with
 * per-service settings: { inet:127.0.0.1:10023, timeout=10s,
 * default_action=DUNNO, max_idle=..., max_ttl=..., try_limit=...,
 * retry_delay=..., policy_context=... }. Connections are kept and reused
 * (smtpd_policy_service_max_idle, _max_ttl, _request_limit). A service
 * that does not answer within smtpd_policy_service_timeout, refuses the
 * connection or hangs up is asked again (try_limit, retry_delay), then
 * smtpd_policy_service_default_action applies (451 4.3.5 by default):
 * never a permit. Reads the service's answers (network input). */
#include <sys/socket.h>
#include <sys/un.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "conn.h"
#include "log.h"
#include "loop.h"
#include "map.h"
#include "mem.h"
#include "smtpd_check_int.h"

#define POLICY_LINE_MAX         4096
#define POLICY_REPLY_MAX        16384   /* bytes of one answer */

struct policy_conn;

struct smtpd_policy {
        char *spec;                     /* as written */
        char *service;                  /* inet:... or unix:... */
        struct sockaddr_storage sa;
        socklen_t salen;
        long long timeout_ms, idle_ms, ttl_ms, retry_ms, request_limit;
        int try_limit;
        char *default_action, *context;
        struct policy_conn *idle;       /* connections waiting for work */
};

struct policy_conn {
        struct smtpd_policy *p;
        struct conn *conn;
        struct policy_conn *next;
        long long born;
        long long requests;
        int connected;
        struct smtpd_policy_req *req;   /* the request it serves */
        struct loop_timer *idle_timer;
};

struct smtpd_policy_req {
        struct smtpd_policy *p;
        struct smtpd_check_run *run;
        struct policy_conn *pc;
        char *request;
        struct buf action;
        int have_action;
        int tries;
        struct loop_timer *timer;       /* timeout, or the retry delay */
        const char *name, *class;
};

static void send_request(struct smtpd_policy_req *r);

const char *smtpd_policy_spec(const struct smtpd_policy *p)
{
        return p->spec;
}

/* setting - one "name=value" of a braced spec; 0, or -1 with st */
static int setting(struct smtpd_policy *p, const char *item,
                   struct status *st)
{
        const char *eq = strchr(item, '=');
        char name[32];
        long long secs;
        const char *v;

        if (eq == NULL || eq - item >= (long)sizeof(name))
                return status_set(st, STATUS_CONFIG, "check_policy_service: "
                                  "expected name=value, not \"%s\"", item);
        snprintf(name, sizeof(name), "%.*s", (int)(eq - item), item);
        for (char *e = name + strlen(name); e > name && e[-1] == ' '; )
                *--e = '\0';
        v = eq + 1 + strspn(eq + 1, " ");
        if (strcmp(name, "default_action") == 0) {
                free(p->default_action);
                p->default_action = xstrdup(v);
        } else if (strcmp(name, "policy_context") == 0) {
                free(p->context);
                p->context = xstrdup(v);
        } else if (strcmp(name, "try_limit") == 0 ||
                   strcmp(name, "request_limit") == 0) {
                long long n;

                if (cfg_parse_int(v, &n) < 0 || n < 0)
                        goto bad;
                if (name[0] == 't')
                        p->try_limit = n > 0 ? (int)n : 1;
                else
                        p->request_limit = n;
        } else if (cfg_parse_time(v, 's', &secs) == 0) {
                if (strcmp(name, "timeout") == 0)
                        p->timeout_ms = secs * 1000;
                else if (strcmp(name, "max_idle") == 0)
                        p->idle_ms = secs * 1000;
                else if (strcmp(name, "max_ttl") == 0)
                        p->ttl_ms = secs * 1000;
                else if (strcmp(name, "retry_delay") == 0)
                        p->retry_ms = secs * 1000;
                else
                        goto bad;
        } else {
                goto bad;
        }
        return 0;
bad:
        return status_set(st, STATUS_CONFIG, "check_policy_service: bad "
                          "setting \"%s\"", item);
}

/* address - p->service as a socket address; 0, or -1 with st */
static int address(struct smtpd_policy *p, struct cfg *cfg, struct status *st)
{
        const char *s = p->service;

        if (strncmp(s, "unix:", 5) == 0) {
                struct sockaddr_un *un = (struct sockaddr_un *)&p->sa;
                int n = s[5] == '/' ?
                        snprintf(un->sun_path, sizeof(un->sun_path), "%s",
                                 s + 5) :
                        snprintf(un->sun_path, sizeof(un->sun_path), "%s/%s",
                                 cfg_get(cfg, "queue_directory"), s + 5);

                if (n < 0 || (size_t)n >= sizeof(un->sun_path))
                        return status_set(st, STATUS_CONFIG, "%s: path too "
                                          "long", s);
                un->sun_family = AF_UNIX;
                p->salen = sizeof(*un);
                return 0;
        }
        if (strncmp(s, "inet:", 5) == 0) {
                const char *colon = strrchr(s + 5, ':');
                struct addrinfo hints, *res = NULL;
                char host[256];
                int r;

                if (colon == NULL || colon[1] == '\0' ||
                    colon - (s + 5) >= (long)sizeof(host))
                        return status_set(st, STATUS_CONFIG, "%s: expected "
                                          "inet:host:port", s);
                snprintf(host, sizeof(host), "%.*s", (int)(colon - s - 5),
                         s + 5);
                if (host[0] == '[' && host[strlen(host) - 1] == ']') {
                        memmove(host, host + 1, strlen(host));
                        host[strlen(host) - 1] = '\0';
                }
                memset(&hints, 0, sizeof(hints));
                hints.ai_socktype = SOCK_STREAM;
                r = getaddrinfo(host, colon + 1, &hints, &res);
                if (r != 0)
                        return status_set(st, STATUS_CONFIG, "%s: %s", s,
                                          gai_strerror(r));
                memcpy(&p->sa, res->ai_addr, res->ai_addrlen);
                p->salen = res->ai_addrlen;
                freeaddrinfo(res);
                return 0;
        }
        return status_set(st, STATUS_CONFIG, "check_policy_service: \"%s\": "
                          "expected inet:host:port or unix:pathname", s);
}

struct smtpd_policy *smtpd_policy_new(struct smtpd_server *srv,
                                      const char *spec, struct status *st)
{
        struct smtpd_policy *p = xcalloc(1, sizeof(*p));
        struct cfg *cfg = srv->cfg;
        size_t n = strlen(spec);

        p->spec = xstrdup(spec);
        p->timeout_ms = cfg_get_time(cfg, "smtpd_policy_service_timeout") *
                        1000;
        p->idle_ms = cfg_get_time(cfg, "smtpd_policy_service_max_idle") * 1000;
        p->ttl_ms = cfg_get_time(cfg, "smtpd_policy_service_max_ttl") * 1000;
        p->retry_ms = cfg_get_time(cfg, "smtpd_policy_service_retry_delay") *
                      1000;
        p->try_limit = (int)cfg_get_int(cfg, "smtpd_policy_service_try_limit");
        p->request_limit = cfg_get_int(cfg,
                                       "smtpd_policy_service_request_limit");
        p->default_action = xstrdup(cfg_get(cfg,
                                "smtpd_policy_service_default_action"));
        p->context = xstrdup(cfg_get(cfg,
                                     "smtpd_policy_service_policy_context"));
        if (n >= 2 && spec[0] == '{' && spec[n - 1] == '}') {
                char *inner = xstrndup(spec + 1, n - 2);
                const char *q = inner, *item;
                size_t len;
                int r, first = 1;

                while ((r = map_list_next(&q, &item, &len)) > 0) {
                        char *one = xstrndup(item, len);

                        if (first)
                                p->service = one;
                        else if (setting(p, one, st) < 0) {
                                free(one);
                                free(inner);
                                smtpd_policy_free(&p);
                                return NULL;
                        }
                        if (!first)
                                free(one);
                        first = 0;
                }
                free(inner);
        } else {
                p->service = xstrdup(spec);
        }
        if (p->service == NULL || address(p, cfg, st) < 0) {
                if (p->service == NULL)
                        status_set(st, STATUS_CONFIG, "check_policy_service: "
                                   "empty \"%s\"", spec);
                smtpd_policy_free(&p);
                return NULL;
        }
        return p;
}

static void conn_drop(struct policy_conn **pcp)
{
        struct policy_conn *pc = *pcp;

        if (pc == NULL)
                return;
        conn_free(&pc->conn);
        loop_timer_free(&pc->idle_timer);
        free(pc);
        *pcp = NULL;
}

void smtpd_policy_free(struct smtpd_policy **pp)
{
        struct smtpd_policy *p = *pp;

        if (p == NULL)
                return;
        while (p->idle != NULL) {
                struct policy_conn *pc = p->idle;

                p->idle = pc->next;
                conn_drop(&pc);
        }
        free(p->spec);
        free(p->service);
        free(p->default_action);
        free(p->context);
        free(p);
        *pp = NULL;
}

/* --- the request --- */

static void attr(struct buf *b, const char *name, const char *value)
{
        buf_printf(b, "%s=", name);
        for (const char *v = value != NULL ? value : ""; *v != '\0'; v++)
                buf_putc(b, (unsigned char)*v < ' ' ? ' ' : *v);
        buf_putc(b, '\n');
}

static char *request_text(struct smtpd_check_run *run, struct smtpd_policy *p)
{
        struct smtpd_session *s = run->s;
        struct buf b;
        char num[32], port[16], lport[16], instance[64];
        int at_data = run->last >= SMTPD_STAGE_DATA;
        long long size = run->last == SMTPD_STAGE_EOD ? s->content.size :
                         s->size_param;

        snprintf(port, sizeof(port), "%d", s->port);
        snprintf(lport, sizeof(lport), "%d", s->conn ?
                 conn_local_port(s->conn) : 0);
        snprintf(instance, sizeof(instance), "%lx.%lx.%lx",
                 (unsigned long)getpid(), (unsigned long)(uintptr_t)s,
                 smtpd_check_sess(s)->txn);
        buf_init(&b, 0);
        attr(&b, "request", "smtpd_access_policy");
        attr(&b, "protocol_state", smtpd_check_where(run));
        attr(&b, "protocol_name", s->esmtp ? "ESMTP" : "SMTP");
        attr(&b, "client_address", s->addr);
        attr(&b, "client_name", s->name);
        attr(&b, "client_port", port);
        attr(&b, "reverse_client_name", s->reverse_name);
        attr(&b, "server_address", s->laddr);
        attr(&b, "server_port", lport);
        attr(&b, "helo_name", s->helo);
        attr(&b, "sender", s->mail_given ? s->sender : "");
        attr(&b, "recipient", run->rcpt);
        snprintf(num, sizeof(num), "%zu", at_data ? s->rcpt_count : 0);
        attr(&b, "recipient_count", num);
        attr(&b, "queue_id", s->queue_id);
        attr(&b, "instance", instance);
        snprintf(num, sizeof(num), "%lld", size > 0 ? size : 0);
        attr(&b, "size", num);
        attr(&b, "etrn_domain", "");
        attr(&b, "stress", "");
        attr(&b, "sasl_method", s->sasl_method);
        attr(&b, "sasl_username", s->sasl_user);
        attr(&b, "sasl_sender", "");
        attr(&b, "ccert_subject", "");
        attr(&b, "ccert_issuer", "");
        attr(&b, "ccert_fingerprint", "");
        attr(&b, "ccert_pubkey_fingerprint", "");
        attr(&b, "encryption_protocol", "");
        attr(&b, "encryption_cipher", "");
        attr(&b, "encryption_keysize", "0");
        attr(&b, "policy_context", p->context);
        attr(&b, "compatibility_level", "3.6");
        attr(&b, "mail_version", s->srv->mail_name);
        buf_putc(&b, '\n');
        return buf_steal(&b);
}

static void req_free(struct smtpd_policy_req **rp)
{
        struct smtpd_policy_req *r = *rp;

        if (r == NULL)
                return;
        if (r->pc != NULL) {
                r->pc->req = NULL;
                conn_drop(&r->pc);      /* in an unknown state */
        }
        loop_timer_free(&r->timer);
        buf_release(&r->action);
        free(r->request);
        free(r);
        *rp = NULL;
}

void smtpd_policy_cancel(struct smtpd_policy_req **rp)
{
        req_free(rp);
}

/* answer - the service answered action (or failed: NULL) */
static void answer(struct smtpd_policy_req *r, const char *action)
{
        struct smtpd_check_run *run = r->run;
        enum smtpd_check_status st;
        char *value = xstrdup(action != NULL ? action :
                              r->p->default_action);
        const char *name = r->name, *class = r->class, *spec = r->p->spec;

        run->policy = NULL;
        req_free(&r);
        st = smtpd_check_table_result(run, spec, value, "policy query", name,
                                      class, 0);
        free(value);
        smtpd_check_resume(run, st);
}

static void retry_now(void *ctx)
{
        send_request(ctx);
}

static void give_up(void *ctx)
{
        answer(ctx, NULL);
}

/* failed - this try failed: try again after retry_delay, or give the
 * default action; either from the loop, never inside the caller */
static void failed(struct smtpd_policy_req *r, const char *why)
{
        int last = ++r->tries >= r->p->try_limit;

        log_warn("%s: problem talking to server %s: %s", r->run->s->client,
                 r->p->service, why);
        if (r->pc != NULL) {
                r->pc->req = NULL;
                conn_drop(&r->pc);
        }
        loop_timer_free(&r->timer);
        r->timer = loop_timer_new(last ? give_up : retry_now, r);
        loop_timer_start(r->timer, last ? 0 : r->p->retry_ms);
}

static void timed_out(void *ctx)
{
        failed(ctx, "timeout");
}

static void idle_expired(void *ctx)
{
        struct policy_conn *pc = ctx, **pp;

        for (pp = &pc->p->idle; *pp != NULL; pp = &(*pp)->next)
                if (*pp == pc) {
                        *pp = pc->next;
                        break;
                }
        conn_drop(&pc);
}

/* done - the answer is complete: keep the connection, report */
static void done(struct smtpd_policy_req *r)
{
        struct policy_conn *pc = r->pc;
        struct smtpd_policy *p = r->p;
        char *action = buf_steal(&r->action);

        r->pc = NULL;
        pc->req = NULL;
        pc->requests++;
        if ((p->request_limit > 0 && pc->requests >= p->request_limit) ||
            loop_now_ms() - pc->born >= p->ttl_ms) {
                conn_drop(&pc);
        } else {
                pc->next = p->idle;
                p->idle = pc;
                if (pc->idle_timer == NULL)
                        pc->idle_timer = loop_timer_new(idle_expired, pc);
                loop_timer_start(pc->idle_timer, p->idle_ms);
        }
        answer(r, r->have_action ? action : "");
        free(action);
}

static void on_conn(struct conn *c, enum conn_event ev,
                    const struct conn_ev_data *d, void *ctx)
{
        struct policy_conn *pc = ctx;
        struct smtpd_policy_req *r = pc->req;

        if (r == NULL) {
                /* idle: anything but silence ends it */
                if (ev == CONN_LINE || ev == CONN_EOF || ev == CONN_ERROR ||
                    ev == CONN_CLOSED || ev == CONN_TIMEOUT)
                        idle_expired(pc);
                return;
        }
        switch (ev) {
        case CONN_CONNECTED:
                pc->connected = 1;
                conn_write(c, r->request, strlen(r->request));
                break;
        case CONN_LINE:
                if (d->len == 0) {
                        done(r);
                        return;
                }
                if (d->len > 7 && strncmp(d->data, "action=", 7) == 0 &&
                    !r->have_action && d->len < POLICY_REPLY_MAX) {
                        buf_append(&r->action, d->data + 7, d->len - 7);
                        r->have_action = 1;
                }
                break;
        case CONN_LINE_TOO_LONG:
                failed(r, "answer too long");
                break;
        case CONN_EOF:
        case CONN_CLOSED:
                failed(r, "lost connection");
                break;
        case CONN_ERROR:
                failed(r, d->reason != NULL ? d->reason : "error");
                break;
        default:
                break;
        }
}

static void send_request(struct smtpd_policy_req *r)
{
        struct smtpd_policy *p = r->p;
        struct policy_conn *pc;
        struct conn_opts o;
        struct status st;

        loop_timer_free(&r->timer);
        r->timer = loop_timer_new(timed_out, r);
        loop_timer_start(r->timer, p->timeout_ms);
        buf_reset(&r->action);
        r->have_action = 0;
        while ((pc = p->idle) != NULL) {
                p->idle = pc->next;
                if (loop_now_ms() - pc->born < p->ttl_ms)
                        break;
                conn_drop(&pc);
        }
        if (pc != NULL) {
                loop_timer_stop(pc->idle_timer);
                pc->req = r;
                r->pc = pc;
                conn_write(pc->conn, r->request, strlen(r->request));
                return;
        }
        pc = xcalloc(1, sizeof(*pc));
        pc->p = p;
        pc->born = loop_now_ms();
        pc->req = r;
        memset(&o, 0, sizeof(o));
        o.line_max = POLICY_LINE_MAX;
        pc->conn = conn_connect((struct sockaddr *)&p->sa, p->salen,
                                p->timeout_ms, &o, on_conn, pc, &st);
        if (pc->conn == NULL) {
                free(pc);
                failed(r, st.text);
                return;
        }
        r->pc = pc;
}

enum smtpd_check_status smtpd_check_policy_service(
        struct smtpd_check_run *run, const struct smtpd_check_item *it)
{
        struct smtpd_policy_req *r = xcalloc(1, sizeof(*r));
        struct smtpd_check_frame *f = smtpd_check_frame(run);

        r->p = it->policy;
        r->run = run;
        r->name = f->reply_name;
        r->class = f->reply_class;
        r->request = request_text(run, it->policy);
        buf_init(&r->action, 0);
        run->policy = r;
        send_request(r);
        return CHK_PENDING;
}
