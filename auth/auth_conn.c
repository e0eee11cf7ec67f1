/* auth_conn.c - one client connection of authd
 * Used by: authd's front end. Each line goes through the resumable
 * parser (auth_proto.c), then the handler of its command from cmd_table.
 * Fast answers (PbS, tokens, mechanisms) are written at once; VERIFY,
 * LOOKUP and SASL steps go to the workers and answer later, by id. A
 * failed login's answer is held back auth_failure_delay by a timer (the
 * front end never waits in a blocking call: it just gets the FAIL
 * later), counted against the client address, and logged in Dovecot's
 * shape so that fail2ban sees it. Runs as mail_owner. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth_conn.h"
#include "auth_map.h"
#include "auth_pbs.h"
#include "auth_proto.h"
#include "auth_throttle.h"
#include "auth_token.h"
#include "auth_user.h"
#include "auth_worker.h"
#include "conn.h"
#include "log.h"
#include "log_auth.h"
#include "loop.h"
#include "mem.h"

struct auth_conn {
        struct auth_service *svc;
        struct conn *conn;
        struct auth_conn *prev, *next;
        struct auth_proto_parser parser;
        char who[48];                   /* "client pid 123" for the log */
        int version_ok;
        unsigned errors;
        struct auth_map *open;          /* id -> struct areq */
        size_t inflight;
        int paused;
        int closing;
        struct buf out;
};

/* One open id: a request waiting for a worker or a delay, or a SASL
 * exchange. */
struct areq {
        struct auth_conn *ac;
        char id[AUTH_PROTO_ID_MAX + 1];
        enum auth_proto_cmd cmd;
        struct auth_wjob *job;          /* VERIFY, LOOKUP */
        struct auth_wsasl *sasl;        /* AUTH */
        struct loop_timer *timer;       /* held FAIL, or SASL idleness */
        struct buf held;                /* the held reply */
        char *user;                     /* VERIFY: the name as given */
        char *service;
        char *rip;
        char *mech;
        int want_token;
        int busy;                       /* counted in inflight */
};

static struct auth_conn *conns;
static size_t conn_count;

static void ac_free(struct auth_conn *ac);

size_t auth_conn_count(void)
{
        return conn_count;
}

/* wall_ms - the wall clock in ms: PbS expiry must survive restarts */
static long long wall_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* flush - write what the handlers appended to ac->out */
static void flush(struct auth_conn *ac)
{
        if (ac->out.len == 0)
                return;
        if (!ac->closing)
                conn_write(ac->conn, ac->out.data, ac->out.len);
        explicit_bzero(ac->out.data, ac->out.len);
        buf_reset(&ac->out);
}

/* busy, idle - count a request in or out of inflight; reading pauses
 * while too many wait */
static void busy(struct areq *r)
{
        struct auth_conn *ac = r->ac;

        if (r->busy)
                return;
        r->busy = 1;
        if (++ac->inflight >= AUTH_CONN_INFLIGHT_MAX && !ac->paused) {
                ac->paused = 1;
                conn_pause(ac->conn);
        }
}

static void idle(struct areq *r)
{
        struct auth_conn *ac = r->ac;

        if (!r->busy)
                return;
        r->busy = 0;
        ac->inflight--;
        if (ac->paused && ac->inflight < AUTH_CONN_INFLIGHT_MAX / 2) {
                ac->paused = 0;
                conn_resume(ac->conn);
        }
}

static struct areq *areq_new(struct auth_conn *ac,
                             const struct auth_proto_req *req)
{
        struct areq *r = xcalloc(1, sizeof(*r));

        r->ac = ac;
        r->cmd = req->cmd;
        memcpy(r->id, req->id, sizeof(r->id));
        buf_init(&r->held, 0);
        auth_map_put(ac->open, r->id, r);
        return r;
}

/* areq_free - forget r (its id may be used again) */
/* areq_destroy - free r and what it holds; its id stays in the map */
static void areq_destroy(struct areq *r)
{
        auth_workers_cancel(&r->job);
        auth_workers_sasl_free(&r->sasl);
        loop_timer_free(&r->timer);
        buf_release(&r->held);
        free(r->user);
        free(r->service);
        free(r->rip);
        free(r->mech);
        free(r);
}

static void areq_free(struct areq *r)
{
        idle(r);
        auth_map_del(r->ac->open, r->id);
        areq_destroy(r);
}

/* proto_error - answer ERROR, log, and drop a client that keeps at it */
static void proto_error(struct auth_conn *ac, const char *id,
                        const char *text)
{
        log_warn("authd: %s: %s", ac->who, text);
        auth_proto_put_text(&ac->out, "ERROR", id, text);
        flush(ac);
        if (++ac->errors >= AUTH_CONN_ERRORS_MAX && !ac->closing) {
                log_warn("authd: %s: %u protocol errors; disconnecting",
                         ac->who, ac->errors);
                ac->closing = 1;
                conn_close(ac->conn);
        }
}

/* --- held failures --- */

static void held_fire(void *ctx)
{
        struct areq *r = ctx;
        struct auth_conn *ac = r->ac;

        buf_append(&ac->out, r->held.data, r->held.len);
        areq_free(r);
        flush(ac);
}

/* fail_login - a failed login: count it against rip, log it, answer FAIL
 * after the delay. backend/what name the check for the log. */
static void fail_login(struct areq *r, const char *code, const char *text,
                       const char *backend, const char *user,
                       const char *what)
{
        struct auth_conn *ac = r->ac;
        struct auth_throttle *t = ac->svc->throttle;
        long long delay = auth_throttle_delay(t, r->rip);

        if (strcmp(code, "banned") != 0) {
                log_auth_failed(backend, user, r->rip, r->service, what);
                if (auth_throttle_failed(t, r->rip, loop_now_ms()))
                        log_warn("auth: %s: too many failed logins; refused "
                                 "for %lld s", r->rip,
                                 auth_throttle_banned(t, r->rip,
                                                      loop_now_ms()) / 1000);
        }
        auth_workers_sasl_free(&r->sasl);
        auth_proto_put_fail(&r->held, r->id, code, text);
        if (delay <= 0) {
                held_fire(r);
                return;
        }
        busy(r);
        loop_timer_free(&r->timer);
        r->timer = loop_timer_new(held_fire, r);
        loop_timer_start(r->timer, delay);
}

/* banned - 1 (FAIL on its way) if r's client is refused for now */
static int banned(struct areq *r, const char *user)
{
        struct auth_conn *ac = r->ac;
        long long left = auth_throttle_banned(ac->svc->throttle, r->rip,
                                              loop_now_ms());

        if (left <= 0)
                return 0;
        log_auth_failed("ban", user, r->rip, r->service,
                        "refused: too many failed logins");
        fail_login(r, "banned", "too many failed logins", "ban", user, "");
        return 1;
}

/* user_ok - OK with u's record, and a token when asked */
static void user_ok(struct areq *r, const struct auth_user *u)
{
        struct auth_conn *ac = r->ac;
        char token[AUTH_TOKEN_LEN + 1];
        struct status st;

        if (r->want_token &&
            auth_tokens_issue(ac->svc->tokens, u, loop_now_ms(),
                              ac->svc->token_ttl_ms, token, &st) < 0) {
                log_warn("auth: %s", st.text);
                auth_proto_put_text(&ac->out, "TEMPFAIL", r->id, st.text);
                return;
        }
        auth_proto_put_user(&ac->out, r->id, u,
                            r->want_token ? token : NULL);
        explicit_bzero(token, sizeof(token));
}

/* --- VERIFY and LOOKUP --- */

static void verify_done(struct auth_workers_result *res, void *ctx)
{
        struct areq *r = ctx;
        struct auth_conn *ac = r->ac;

        r->job = NULL;
        if (res->ret == 1) {
                user_ok(r, res->user);
                areq_free(r);
                flush(ac);
        } else if (res->ret == 0) {
                idle(r);
                fail_login(r, "auth", "authentication failed", res->backend,
                           r->user, res->what);
        } else {
                log_warn("auth: %s(%s): %s", res->backend, r->user,
                         res->what);
                auth_proto_put_text(&ac->out, "TEMPFAIL", r->id,
                                    "temporary authentication failure");
                areq_free(r);
                flush(ac);
        }
}

static void cmd_verify(struct auth_conn *ac, const struct auth_proto_req *q)
{
        struct areq *r = areq_new(ac, q);

        r->user = xstrdup(q->user);
        r->service = xstrdup(q->service);
        r->rip = xstrdup(q->rip);
        r->want_token = q->want_token;
        if (banned(r, q->user))
                return;
        busy(r);
        r->job = auth_workers_verify(ac->svc->workers, q->user, q->password,
                                     q->rip, verify_done, r);
}

static void lookup_done(struct auth_workers_result *res, void *ctx)
{
        struct areq *r = ctx;
        struct auth_conn *ac = r->ac;

        r->job = NULL;
        if (res->ret == 1) {
                auth_proto_put_user(&ac->out, r->id, res->user, NULL);
        } else if (res->ret == 0) {
                auth_proto_put_word(&ac->out, "NOTFOUND", r->id);
        } else {
                log_warn("auth: lookup %s: %s: %s", r->user, res->backend,
                         res->what);
                auth_proto_put_text(&ac->out, "TEMPFAIL", r->id, res->what);
        }
        areq_free(r);
        flush(ac);
}

static void cmd_lookup(struct auth_conn *ac, const struct auth_proto_req *q)
{
        struct areq *r = areq_new(ac, q);

        r->user = xstrdup(q->user);
        busy(r);
        r->job = auth_workers_lookup(ac->svc->workers, q->user, lookup_done,
                                     r);
}

static void cmd_redeem(struct auth_conn *ac, const struct auth_proto_req *q)
{
        struct auth_user *u = NULL;

        if (auth_tokens_redeem(ac->svc->tokens, q->token, loop_now_ms(),
                               &u) == 1) {
                log_debug("auth: token redeemed for %s", u->name);
                auth_proto_put_user(&ac->out, q->id, u, NULL);
                auth_user_free(&u);
        } else {
                auth_proto_put_word(&ac->out, "NOTFOUND", q->id);
        }
}

/* --- PbS --- */

static void cmd_pbs_grant(struct auth_conn *ac,
                          const struct auth_proto_req *q)
{
        struct status st;

        if (ac->svc->pbs_ttl_ms > 0 &&
            auth_pbs_grant(ac->svc->pbs, q->ip, q->user, wall_ms(),
                           ac->svc->pbs_ttl_ms, &st) < 0) {
                log_warn("PbS: grant %s to %s: %s", q->ip, q->user, st.text);
                if (status_class(&st) == 4 &&
                    strcmp(st.code, STATUS_NO_SPACE) == 0) {
                        auth_proto_put_text(&ac->out, "TEMPFAIL", q->id,
                                            st.text);
                        return;
                }
        }
        log_debug("PbS: %s may relay as %s", q->ip, q->user);
        auth_proto_put_word(&ac->out, "OK", q->id);
}

static void cmd_pbs_check(struct auth_conn *ac,
                          const struct auth_proto_req *q)
{
        const char *user;
        long long expires;

        if (ac->svc->pbs_ttl_ms > 0 &&
            auth_pbs_check(ac->svc->pbs, q->ip, wall_ms(), &user,
                           &expires) == 1)
                auth_proto_put_pbs(&ac->out, "YES", q->id, q->ip, user,
                                   expires / 1000);
        else
                auth_proto_put_word(&ac->out, "NO", q->id);
}

struct list_ctx {
        struct auth_conn *ac;
        const char *id;
};

static void list_one(const char *ip, const char *user, long long expires_ms,
                     void *ctx)
{
        struct list_ctx *lc = ctx;

        auth_proto_put_pbs(&lc->ac->out, "ITEM", lc->id, ip, user,
                           expires_ms / 1000);
}

static void cmd_pbs_list(struct auth_conn *ac, const struct auth_proto_req *q)
{
        struct list_ctx lc = { ac, q->id };
        char count[32];
        size_t n = 0;

        if (ac->svc->pbs_ttl_ms > 0)
                n = auth_pbs_list(ac->svc->pbs, wall_ms(), list_one, &lc);
        snprintf(count, sizeof(count), "%zu", n);
        auth_proto_put_kv(&ac->out, "OK", q->id, "count", count);
}

/* --- SASL --- */

static void cmd_mechs(struct auth_conn *ac, const struct auth_proto_req *q)
{
        const struct auth_sasl_policy *p = &ac->svc->policy;
        struct status st;
        unsigned flags;
        char *mechs;

        if (auth_sasl_flags_for(p, q->service, q->secured, &flags) < 0) {
                auth_proto_put_kv(&ac->out, "OK", q->id, "mechs", "");
                return;
        }
        if (auth_sasl_mechs(q->service, p->hostname, flags, &mechs,
                            &st) < 0) {
                log_warn("auth: %s", st.text);
                auth_proto_put_text(&ac->out, "TEMPFAIL", q->id, st.text);
                return;
        }
        auth_proto_put_kv(&ac->out, "OK", q->id, "mechs", mechs);
        free(mechs);
}

static void sasl_idle(void *ctx)
{
        struct areq *r = ctx;
        struct auth_conn *ac = r->ac;

        log_info("auth: %s: SASL exchange %s timed out", ac->who, r->id);
        auth_proto_put_text(&ac->out, "TEMPFAIL", r->id,
                            "SASL exchange timed out");
        areq_free(r);
        flush(ac);
}

static void sasl_done(struct auth_workers_sasl_result *res, void *ctx)
{
        struct areq *r = ctx;
        struct auth_conn *ac = r->ac;
        const char *user = res->sasl_user != NULL ? res->sasl_user : "";

        idle(r);
        switch (res->result) {
        case AUTH_SASL_CONTINUE:
                auth_proto_put_cont(&ac->out, r->id, res->challenge);
                loop_timer_start(r->timer, AUTH_CONN_SASL_IDLE_MS);
                flush(ac);
                return;
        case AUTH_SASL_OK:
                user_ok(r, res->user);
                break;
        case AUTH_SASL_FAIL:
                if (res->backend != NULL)
                        fail_login(r, "auth", "authentication failed",
                                   res->backend, user, res->what);
                else    /* refused before any password check */
                        fail_login(r, "auth", "authentication failed",
                                   "sasl", user, "Invalid credentials");
                return;
        case AUTH_SASL_BADMECH:
                auth_proto_put_fail(&ac->out, r->id, "mech",
                                    "mechanism not available");
                break;
        case AUTH_SASL_SYNTAX:
                auth_proto_put_fail(&ac->out, r->id, "syntax",
                                    res->reason);
                break;
        case AUTH_SASL_TEMPFAIL:
                log_warn("auth: SASL %s from %s: %s", r->mech, r->rip,
                         res->reason);
                auth_proto_put_text(&ac->out, "TEMPFAIL", r->id,
                                    "temporary authentication failure");
                break;
        }
        areq_free(r);
        flush(ac);
}

static void cmd_auth(struct auth_conn *ac, const struct auth_proto_req *q)
{
        struct areq *r = areq_new(ac, q);
        unsigned flags;

        r->service = xstrdup(q->service);
        r->rip = xstrdup(q->rip);
        r->mech = xstrdup(q->mech);
        r->want_token = q->want_token;
        if (auth_sasl_flags_for(&ac->svc->policy, q->service, q->secured,
                                &flags) < 0) {
                auth_proto_put_fail(&ac->out, r->id, "mech",
                                    "authentication needs TLS here");
                areq_free(r);
                return;
        }
        if (banned(r, ""))
                return;
        r->timer = loop_timer_new(sasl_idle, r);
        busy(r);
        r->sasl = auth_workers_sasl_start(ac->svc->workers, q->mech,
                                          q->service, q->rip, flags,
                                          q->has_data ? q->data : NULL,
                                          sasl_done, r);
}

static void cmd_cont(struct auth_conn *ac, const struct auth_proto_req *q)
{
        struct areq *r = auth_map_get(ac->open, q->id);

        if (r == NULL || r->cmd != AUTH_PROTO_AUTH || r->sasl == NULL ||
            r->busy) {
                proto_error(ac, q->id, "CONT: no SASL exchange waits for "
                            "this id");
                return;
        }
        loop_timer_stop(r->timer);
        busy(r);
        auth_workers_sasl_step(r->sasl, q->data);
}

static void cmd_abort(struct auth_conn *ac, const struct auth_proto_req *q)
{
        struct areq *r = auth_map_get(ac->open, q->id);

        /* an exchange that just ended is no error: the answers crossed */
        if (r != NULL && r->cmd == AUTH_PROTO_AUTH && r->sasl != NULL)
                areq_free(r);
}

/* --- dispatch --- */

#define CMD_NEW_ID (1 << 0)     /* opens an id: it must not be open yet */

static const struct {
        enum auth_proto_cmd cmd;
        void (*run)(struct auth_conn *ac, const struct auth_proto_req *q);
        unsigned flags;
} cmd_table[] = {
        { AUTH_PROTO_VERIFY, cmd_verify, CMD_NEW_ID },
        { AUTH_PROTO_LOOKUP, cmd_lookup, CMD_NEW_ID },
        { AUTH_PROTO_REDEEM, cmd_redeem, 0 },
        { AUTH_PROTO_PBS_GRANT, cmd_pbs_grant, 0 },
        { AUTH_PROTO_PBS_CHECK, cmd_pbs_check, 0 },
        { AUTH_PROTO_PBS_LIST, cmd_pbs_list, 0 },
        { AUTH_PROTO_MECHS, cmd_mechs, 0 },
        { AUTH_PROTO_AUTH, cmd_auth, CMD_NEW_ID },
        { AUTH_PROTO_CONT, cmd_cont, 0 },
        { AUTH_PROTO_ABORT, cmd_abort, 0 },
};

static void handle(struct auth_conn *ac, const struct auth_proto_req *q)
{
        if (q->cmd == AUTH_PROTO_VERSION) {
                if (ac->version_ok) {
                        proto_error(ac, "", "VERSION given twice");
                        return;
                }
                if (q->major != AUTHC_PROTO_MAJOR) {
                        proto_error(ac, "", "unsupported protocol version");
                        if (!ac->closing) {
                                ac->closing = 1;
                                conn_close(ac->conn);
                        }
                        return;
                }
                ac->version_ok = 1;
                return;
        }
        if (!ac->version_ok) {
                proto_error(ac, q->id, "out of order: VERSION comes first");
                return;
        }
        for (size_t i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]);
             i++) {
                if (cmd_table[i].cmd != q->cmd)
                        continue;
                if (cmd_table[i].flags & CMD_NEW_ID) {
                        if (auth_map_get(ac->open, q->id) != NULL) {
                                proto_error(ac, q->id, "id in use");
                                return;
                        }
                        if (auth_map_count(ac->open) >= AUTH_CONN_OPEN_MAX) {
                                auth_proto_put_text(&ac->out, "TEMPFAIL",
                                                    q->id,
                                                    "too many open requests");
                                return;
                        }
                }
                cmd_table[i].run(ac, q);
                return;
        }
}

/* feed - run the parser over data, handling each request */
static void feed(struct auth_conn *ac, const char *data, size_t len)
{
        struct auth_proto_req q;
        struct status st;

        while (len > 0 && !ac->closing) {
                size_t used = 0;
                int ret = auth_proto_parse(&ac->parser, data, len, &used, &q,
                                           &st);

                data += used;
                len -= used;
                if (ret == AUTH_PROTO_REQUEST)
                        handle(ac, &q);
                else if (ret == AUTH_PROTO_ERROR)
                        proto_error(ac, q.id, st.text);
                flush(ac);
                if (ret == AUTH_PROTO_MORE)
                        break;
        }
}

static void on_event(struct conn *c, enum conn_event ev,
                     const struct conn_ev_data *d, void *ctx)
{
        struct auth_conn *ac = ctx;

        switch (ev) {
        case CONN_LINE:
                feed(ac, d->data, d->len);
                feed(ac, "\n", 1);
                return;
        case CONN_LINE_TOO_LONG:
                proto_error(ac, "", "line too long");
                return;
        case CONN_EOF:
        case CONN_ERROR:
        case CONN_CLOSED:
        case CONN_TIMEOUT:
        case CONN_DEADLINE:
                ac_free(ac);
                return;
        default:
                return;
        }
}

void auth_conn_accept(struct auth_service *svc, int fd)
{
        struct auth_conn *ac = xcalloc(1, sizeof(*ac));
        struct conn_opts opts;
        struct ucred cred;
        socklen_t len = sizeof(cred);

        memset(&opts, 0, sizeof(opts));
        opts.line_max = AUTHC_LINE_MAX;
        ac->svc = svc;
        ac->open = auth_map_new();
        buf_init(&ac->out, 0);
        auth_proto_parser_init(&ac->parser);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
                snprintf(ac->who, sizeof(ac->who), "client pid %ld uid %lu",
                         (long)cred.pid, (unsigned long)cred.uid);
        else
                snprintf(ac->who, sizeof(ac->who), "client fd %d", fd);
        ac->conn = conn_new(fd, &opts, on_event, ac);
        ac->next = conns;
        if (conns != NULL)
                conns->prev = ac;
        conns = ac;
        conn_count++;
        auth_proto_put_version(&ac->out);
        flush(ac);
}

static int free_areq(const char *key, void *value, void *ctx)
{
        struct areq *r = value;

        /* areq_free() would delete from the map we are walking */
        r->busy = 0;
        areq_destroy(r);
        return 1;
}

static void ac_free(struct auth_conn *ac)
{
        if (ac->prev != NULL)
                ac->prev->next = ac->next;
        else
                conns = ac->next;
        if (ac->next != NULL)
                ac->next->prev = ac->prev;
        conn_count--;
        auth_map_each(ac->open, free_areq, NULL);
        auth_map_free(&ac->open);
        conn_free(&ac->conn);
        auth_proto_parser_release(&ac->parser);
        if (ac->out.data != NULL)
                explicit_bzero(ac->out.data, ac->out.len);
        buf_release(&ac->out);
        free(ac);
}

void auth_conn_close_fds(void)
{
        for (struct auth_conn *ac = conns; ac != NULL; ac = ac->next)
                close(conn_fd(ac->conn));
}

void auth_conn_free_all(void)
{
        while (conns != NULL)
                ac_free(conns);
}
