/* auth_worker.c - authd's worker pools, seen from the front end
 * Used by: authd's front end. Owns the worker processes (forked here;
 * their side is auth_worker_child.c), one job in flight per worker, the
 * queues in front of them, and the two things built on jobs: the walk
 * over auth_backends for VERIFY and LOOKUP, and SASL sessions pinned to
 * the worker that holds their Cyrus state. Callbacks always come from the
 * loop: a failure found while submitting (a dead worker) is queued and
 * reported by a zero timer. Runs as mail_owner after the first fork. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth_proto.h"
#include "auth_user.h"
#include "auth_worker.h"
#include "authc.h"
#include "buf.h"
#include "log.h"
#include "loop.h"
#include "mem.h"

#define POOL_COUNT 3
#define WORKER_FIELDS_MAX 24
/* deaths of one pool's workers within DEATH_WINDOW_MS before authd gives
 * up and lets the supervisor start it afresh */
#define DEATH_LIMIT 10
#define DEATH_WINDOW_MS (60 * 1000)

enum job_kind { JOB_BACKEND, JOB_SASL };

struct job {
        struct job *next;
        enum job_kind kind;
        struct buf msg;
        struct auth_wjob *walk;         /* JOB_BACKEND; NULL: canceled */
        struct auth_wsasl *sasl;        /* JOB_SASL; NULL: session freed */
        char op;                        /* JOB_SASL: 'S', 'C' or 'E' */
        struct slot *slot;              /* JOB_SASL: where it must run */
        struct auth_wjob *check;        /* JOB_SASL: its password check */
        const char *fail_why;           /* set when it failed unsent */
};

struct slot {
        struct auth_workers *w;
        enum auth_worker_role role;
        pid_t pid;
        int fd;                         /* -1: dead */
        struct loop_fd *watch;
        struct job *current;
        struct job *qhead, *qtail;      /* SASL: this worker's queue */
        unsigned generation;
        size_t sessions;
};

struct pool {
        enum auth_worker_role role;
        struct slot *slots;
        size_t count;
        struct job *qhead, *qtail;      /* sqlite, pam: the pool's queue */
        size_t deaths;
        long long deaths_since;
};

struct auth_workers {
        struct auth_workers_conf conf;
        struct pool pools[POOL_COUNT];
        void (*hook)(void *ctx);
        void *hook_ctx;
        struct job *failed_head, *failed_tail;
        struct loop_timer *kick;
        struct loop_signal *sigchld;
        unsigned long next_sid;
        char *in;
};

struct auth_wjob {
        struct auth_workers *w;
        int lookup;
        char *user;
        char *password;
        char *rip;
        size_t backend;                 /* index in conf.users->backends */
        const char *last_backend;
        auth_workers_cb *cb;
        void *ctx;
        struct job *job;
        struct job *check_for;          /* a SASL job waiting on this */
};

struct auth_wsasl {
        struct auth_workers *w;
        struct slot *slot;
        unsigned generation;
        char sid[24];
        char *rip;
        auth_workers_sasl_cb *cb;
        void *ctx;
        struct job *job;                /* the job in flight or queued */
        struct auth_user *user;         /* from the password check */
        char *backend;
        char *what;
        char *sasl_user;
        int over;                       /* the worker holds no session */
};

static void slot_next(struct slot *s);
static void walk_step(struct auth_wjob *j);
static void check_done(struct auth_workers_result *r, void *ctx);
static struct auth_wjob *walk_new(struct auth_workers *w, int lookup,
                                  const char *user, const char *password,
                                  const char *rip, auth_workers_cb *cb,
                                  void *ctx);

static const char *const backend_names[] = {
        [AUTH_BACKEND_SQLITE] = "sqlite",
        [AUTH_BACKEND_PAM] = "pam",
};

static void put(struct buf *out, const char *s)
{
        buf_putc(out, '\t');
        authc_escape(out, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

static struct job *job_new(enum job_kind kind)
{
        struct job *job = xcalloc(1, sizeof(*job));

        job->kind = kind;
        buf_init(&job->msg, 0);
        return job;
}

void auth_workers_cancel(struct auth_wjob **jp);

static void job_free(struct job *job)
{
        auth_workers_cancel(&job->check);
        if (job->msg.data != NULL)
                explicit_bzero(job->msg.data, job->msg.len);
        buf_release(&job->msg);
        free(job);
}

static void queue_add(struct job **head, struct job **tail, struct job *job)
{
        job->next = NULL;
        if (*tail != NULL)
                (*tail)->next = job;
        else
                *head = job;
        *tail = job;
}

static struct job *queue_pop(struct job **head, struct job **tail)
{
        struct job *job = *head;

        if (job != NULL) {
                *head = job->next;
                if (*head == NULL)
                        *tail = NULL;
                job->next = NULL;
        }
        return job;
}

static struct pool *pool_of(struct auth_workers *w, enum auth_worker_role r)
{
        return &w->pools[r];
}

/* fail_later - job could not run: its owner hears so from the loop */
static void fail_later(struct auth_workers *w, struct job *job,
                       const char *why)
{
        job->fail_why = why;
        queue_add(&w->failed_head, &w->failed_tail, job);
        loop_timer_start(w->kick, 0);
}

/* --- processes --- */

static void on_readable(int fd, int events, void *ctx);

/* slot_spawn - fork the worker of slot s; 0 or -1 with st */
static int slot_spawn(struct auth_workers *w, struct slot *s,
                      struct status *st)
{
        int sv[2];
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return status_set(st, STATUS_LOCAL_IO, "socketpair: %m");
        pid = fork();
        if (pid < 0) {
                close(sv[0]);
                close(sv[1]);
                return status_set(st, STATUS_LOCAL_IO, "fork: %m");
        }
        if (pid == 0) {
                close(sv[0]);
                for (size_t p = 0; p < POOL_COUNT; p++)
                        for (size_t i = 0; i < w->pools[p].count; i++)
                                if (w->pools[p].slots[i].fd >= 0)
                                        close(w->pools[p].slots[i].fd);
                if (w->hook != NULL)
                        w->hook(w->hook_ctx);
                auth_worker_child_run(s->role, sv[1], &w->conf);
        }
        close(sv[1]);
        fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
        s->fd = sv[0];
        s->pid = pid;
        s->generation++;
        s->sessions = 0;
        s->watch = loop_fd_new(s->fd, LOOP_READ, on_readable, s);
        return 0;
}

/* slot_died - the worker of s is gone: fail its work, replace it */
static void slot_died(struct slot *s, const char *why)
{
        struct auth_workers *w = s->w;
        struct pool *p = pool_of(w, s->role);
        long long now = loop_now_ms();
        struct status st;
        struct job *job;

        if (s->fd < 0)
                return;
        log_warn("auth: %s worker pid %ld: %s", s->role == AUTH_WORKER_PAM ?
                 "pam" : s->role == AUTH_WORKER_SASL ? "sasl" : "sqlite",
                 (long)s->pid, why);
        loop_fd_free(&s->watch);
        close(s->fd);
        s->fd = -1;
        if (s->current != NULL) {
                fail_later(w, s->current, "auth worker died");
                s->current = NULL;
        }
        while ((job = queue_pop(&s->qhead, &s->qtail)) != NULL)
                fail_later(w, job, "auth worker died");
        if (now - p->deaths_since > DEATH_WINDOW_MS) {
                p->deaths_since = now;
                p->deaths = 0;
        }
        if (++p->deaths > DEATH_LIMIT)
                log_fatal("auth: %zu workers died within %d s; restarting",
                          p->deaths, DEATH_WINDOW_MS / 1000);
        if (s->role == AUTH_WORKER_PAM && w->conf.privileged)
                log_fatal("auth: the PAM worker cannot be replaced without "
                          "root; restarting");
        if (slot_spawn(w, s, &st) < 0)
                log_fatal("auth: cannot replace a worker: %s", st.text);
        slot_next(s);
}

/* slot_send - send job on s, making it current */
static void slot_send(struct slot *s, struct job *job)
{
        ssize_t n;

        s->current = job;
        n = send(s->fd, job->msg.data, job->msg.len,
                 MSG_DONTWAIT | MSG_NOSIGNAL);
        explicit_bzero(job->msg.data, job->msg.len);
        if (n < 0 || (size_t)n != job->msg.len)
                slot_died(s, "cannot write to it");
}

/* slot_next - give an idle s its next job */
static void slot_next(struct slot *s)
{
        struct pool *p = pool_of(s->w, s->role);
        struct job *job;

        while (s->fd >= 0 && s->current == NULL) {
                if (s->role == AUTH_WORKER_SASL)
                        job = queue_pop(&s->qhead, &s->qtail);
                else
                        job = queue_pop(&p->qhead, &p->qtail);
                if (job == NULL)
                        return;
                if (job->kind == JOB_BACKEND && job->walk == NULL) {
                        job_free(job);  /* canceled while queued */
                        continue;
                }
                slot_send(s, job);
        }
}

static void pool_submit(struct auth_workers *w, enum auth_worker_role role,
                        struct job *job)
{
        struct pool *p = pool_of(w, role);

        queue_add(&p->qhead, &p->qtail, job);
        for (size_t i = 0; i < p->count && p->qhead != NULL; i++)
                slot_next(&p->slots[i]);
}

static void reap(int signo, void *ctx)
{
        int status;
        pid_t pid;

        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
                if (WIFSIGNALED(status))
                        log_warn("auth: worker pid %ld killed by signal %d",
                                 (long)pid, WTERMSIG(status));
                else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
                        log_warn("auth: worker pid %ld exit status %d",
                                 (long)pid, WEXITSTATUS(status));
        }
}

/* --- walks: VERIFY and LOOKUP over auth_backends --- */

static void walk_free(struct auth_wjob *j)
{
        if (j->password != NULL) {
                explicit_bzero(j->password, strlen(j->password));
                free(j->password);
        }
        free(j->user);
        free(j->rip);
        free(j);
}

/* walk_finish - tell the owner and free the walk */
static void walk_finish(struct auth_wjob *j, int ret, struct auth_user *u,
                        const char *what)
{
        struct auth_workers_result r;

        r.ret = ret;
        r.user = u;
        r.backend = j->last_backend != NULL ? j->last_backend : "none";
        r.what = what;
        j->cb(&r, j->ctx);
        auth_user_free(&r.user);
        walk_free(j);
}

static void walk_step(struct auth_wjob *j)
{
        const struct auth_user_conf *uc = j->w->conf.users;
        enum auth_backend b;
        struct job *job;

        if (j->backend >= uc->backend_count) {
                walk_finish(j, 0, NULL, "unknown user");
                return;
        }
        b = uc->backends[j->backend];
        j->last_backend = backend_names[b];
        job = job_new(JOB_BACKEND);
        job->walk = j;
        j->job = job;
        if (j->lookup) {
                buf_puts(&job->msg, "L");
                put(&job->msg, j->user);
        } else {
                buf_puts(&job->msg, "V");
                put(&job->msg, j->user);
                put(&job->msg, j->password);
                put(&job->msg, j->rip);
        }
        pool_submit(j->w, b == AUTH_BACKEND_PAM ? AUTH_WORKER_PAM
                                                : AUTH_WORKER_SQLITE, job);
}

/* backend_reply - "R ret what [record]" for the current job of s */
static void backend_reply(struct slot *s, char **f, size_t n)
{
        struct job *job = s->current;
        struct auth_wjob *j = job->walk;
        struct auth_user *u = NULL;
        int ret;

        s->current = NULL;
        job_free(job);
        if (j == NULL) {
                slot_next(s);
                return;                 /* canceled */
        }
        j->job = NULL;
        ret = n >= 3 && f[0][0] == 'R' ? (int)strtol(f[1], NULL, 10) : -1;
        if (ret == 1 && (u = auth_proto_user_parse(f + 3, n - 3)) == NULL)
                ret = -1;
        /* hand out the next job first: the callback may queue more */
        slot_next(s);
        if (ret == 2) {
                j->backend++;
                walk_step(j);
                return;
        }
        walk_finish(j, ret == 1 ? 1 : ret == 0 ? 0 : -1, u,
                    ret == 1 ? "" : n >= 3 ? f[2] : "bad worker reply");
}

static struct auth_wjob *walk_new(struct auth_workers *w, int lookup,
                                  const char *user, const char *password,
                                  const char *rip, auth_workers_cb *cb,
                                  void *ctx)
{
        struct auth_wjob *j = xcalloc(1, sizeof(*j));

        j->w = w;
        j->lookup = lookup;
        j->user = xstrdup(user);
        j->password = password != NULL ? xstrdup(password) : NULL;
        j->rip = xstrdup(rip != NULL ? rip : "");
        j->cb = cb;
        j->ctx = ctx;
        walk_step(j);
        return j;
}

struct auth_wjob *auth_workers_verify(struct auth_workers *w,
                                      const char *user, const char *password,
                                      const char *rip, auth_workers_cb *cb,
                                      void *ctx)
{
        return walk_new(w, 0, user, password, rip, cb, ctx);
}

struct auth_wjob *auth_workers_lookup(struct auth_workers *w,
                                      const char *user, auth_workers_cb *cb,
                                      void *ctx)
{
        return walk_new(w, 1, user, NULL, "", cb, ctx);
}

void auth_workers_cancel(struct auth_wjob **jp)
{
        struct auth_wjob *j;

        if (jp == NULL || *jp == NULL)
                return;
        j = *jp;
        *jp = NULL;
        if (j->job != NULL)
                j->job->walk = NULL;    /* its reply is dropped */
        walk_free(j);
}

/* --- SASL sessions --- */

static void sasl_deliver(struct auth_wsasl *s, enum auth_sasl_result result,
                         const char *challenge, const char *reason)
{
        struct auth_workers_sasl_result r;

        memset(&r, 0, sizeof(r));
        r.result = result;
        r.challenge = challenge != NULL ? challenge : "";
        r.reason = reason != NULL ? reason : "";
        r.sasl_user = s->sasl_user;
        r.backend = s->backend;
        r.what = s->what;
        if (result == AUTH_SASL_OK) {
                r.user = s->user;
                s->user = NULL;
        }
        s->cb(&r, s->ctx);
        auth_user_free(&r.user);
}

/* sasl_submit - queue a job of session s (or, with s NULL, an end
 * message for slot) on its worker */
static void sasl_submit(struct auth_workers *w, struct slot *slot,
                        unsigned generation, struct job *job)
{
        job->slot = slot;
        if (slot == NULL || slot->fd < 0 || slot->generation != generation) {
                if (job->sasl == NULL) {
                        job_free(job);  /* the session died with it */
                        return;
                }
                fail_later(w, job, "auth worker died");
                return;
        }
        queue_add(&slot->qhead, &slot->qtail, job);
        slot_next(slot);
}

static struct slot *sasl_pick(struct auth_workers *w)
{
        struct pool *p = pool_of(w, AUTH_WORKER_SASL);
        struct slot *best = NULL;

        for (size_t i = 0; i < p->count; i++) {
                struct slot *s = &p->slots[i];

                if (s->fd >= 0 && (best == NULL || s->sessions < best->sessions))
                        best = s;
        }
        return best;
}

struct auth_wsasl *auth_workers_sasl_start(struct auth_workers *w,
                                           const char *mech,
                                           const char *service,
                                           const char *rip, unsigned flags,
                                           const char *initial,
                                           auth_workers_sasl_cb *cb,
                                           void *ctx)
{
        struct auth_wsasl *s = xcalloc(1, sizeof(*s));
        struct job *job = job_new(JOB_SASL);

        s->w = w;
        s->cb = cb;
        s->ctx = ctx;
        s->rip = xstrdup(rip != NULL ? rip : "");
        snprintf(s->sid, sizeof(s->sid), "%lu", ++w->next_sid);
        s->slot = sasl_pick(w);
        if (s->slot != NULL) {
                s->generation = s->slot->generation;
                s->slot->sessions++;
        }
        job->sasl = s;
        job->op = 'S';
        s->job = job;
        buf_printf(&job->msg, "S\t%s", s->sid);
        put(&job->msg, mech);
        put(&job->msg, service);
        buf_printf(&job->msg, "\t%u\t%d", flags, initial != NULL);
        put(&job->msg, initial != NULL ? initial : "");
        sasl_submit(w, s->slot, s->generation, job);
        return s;
}

void auth_workers_sasl_step(struct auth_wsasl *s, const char *response)
{
        struct job *job;

        if (s->job != NULL || s->over)
                log_panic("auth: SASL step out of turn");
        job = job_new(JOB_SASL);
        job->sasl = s;
        job->op = 'C';
        s->job = job;
        buf_printf(&job->msg, "C\t%s", s->sid);
        put(&job->msg, response);
        sasl_submit(s->w, s->slot, s->generation, job);
}

static void sasl_end_at_worker(struct auth_workers *w, struct slot *slot,
                               unsigned generation, const char *sid)
{
        struct job *job = job_new(JOB_SASL);

        job->op = 'E';
        buf_printf(&job->msg, "E\t%s", sid);
        sasl_submit(w, slot, generation, job);
}

static void sasl_session_free(struct auth_wsasl *s)
{
        if (s->slot != NULL && s->slot->generation == s->generation &&
            s->slot->sessions > 0)
                s->slot->sessions--;
        auth_user_free(&s->user);
        free(s->rip);
        free(s->backend);
        free(s->what);
        free(s->sasl_user);
        free(s);
}

void auth_workers_sasl_free(struct auth_wsasl **sp)
{
        struct auth_wsasl *s;

        if (sp == NULL || *sp == NULL)
                return;
        s = *sp;
        *sp = NULL;
        if (s->job != NULL) {
                /* its reply says whether the worker still holds it */
                s->job->sasl = NULL;
                s->job->slot = s->slot;
        } else if (!s->over) {
                sasl_end_at_worker(s->w, s->slot, s->generation, s->sid);
        }
        sasl_session_free(s);
}

/* sasl_check - "P sid user password": the worker's Cyrus wants a
 * password checked; the walk answers it */
static void sasl_check(struct slot *slot, char **f, size_t n)
{
        struct job *job = slot->current;
        struct auth_wsasl *s;
        struct auth_wjob *walk;

        if (job == NULL || job->kind != JOB_SASL || n < 4) {
                slot_died(slot, "unexpected password check request");
                return;
        }
        s = job->sasl;
        if (s != NULL) {
                free(s->sasl_user);
                s->sasl_user = xstrdup(f[2]);
        }
        auth_workers_cancel(&job->check);
        walk = walk_new(slot->w, 0, f[2], f[3], s != NULL ? s->rip : "",
                        check_done, job);
        explicit_bzero(f[3], strlen(f[3]));
        job->check = walk;
}

/* check_done - the walk for a SASL password check ended: answer the
 * waiting worker */
static void check_done(struct auth_workers_result *r, void *ctx)
{
        struct job *job = ctx;
        struct auth_wsasl *s = job->sasl;
        struct slot *slot = job->slot;
        char msg[16];
        int len;

        job->check = NULL;              /* the walk frees itself */
        if (s != NULL) {
                free(s->backend);
                free(s->what);
                s->backend = xstrdup(r->backend);
                s->what = xstrdup(r->what);
                if (r->ret == 1) {
                        auth_user_free(&s->user);
                        s->user = r->user;
                        r->user = NULL;
                }
        }
        if (slot == NULL || slot->current != job || slot->fd < 0)
                return;         /* the worker died meanwhile */
        len = snprintf(msg, sizeof(msg), "P\t%d", r->ret);
        if (send(slot->fd, msg, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL) !=
            len)
                slot_died(slot, "cannot write to it");
}

/* sasl_reply - the final message of the current SASL job of slot */
static void sasl_reply(struct slot *slot, char **f, size_t n)
{
        struct job *job = slot->current;
        struct auth_wsasl *s = job->sasl;
        char kind = f[0][0];

        slot->current = NULL;
        if (s == NULL) {
                /* the owner is gone; end a session the worker still has */
                if (kind == 'K' && n >= 2)
                        sasl_end_at_worker(slot->w, slot, slot->generation,
                                           f[1]);
                job_free(job);
                slot_next(slot);
                return;
        }
        s->job = NULL;
        job_free(job);
        slot_next(slot);
        switch (kind) {
        case 'K':
                sasl_deliver(s, AUTH_SASL_CONTINUE, n >= 3 ? f[2] : "", NULL);
                return;
        case 'O':
                s->over = 1;
                if (n >= 3 && s->sasl_user == NULL)
                        s->sasl_user = xstrdup(f[2]);
                if (s->user == NULL)
                        sasl_deliver(s, AUTH_SASL_TEMPFAIL, NULL,
                                     "no user record from the password "
                                     "check");
                else
                        sasl_deliver(s, AUTH_SASL_OK, NULL, NULL);
                return;
        case 'F': {
                const char *k = n >= 3 ? f[2] : "temp";
                enum auth_sasl_result r =
                        strcmp(k, "fail") == 0 ? AUTH_SASL_FAIL :
                        strcmp(k, "mech") == 0 ? AUTH_SASL_BADMECH :
                        strcmp(k, "syntax") == 0 ? AUTH_SASL_SYNTAX :
                        AUTH_SASL_TEMPFAIL;

                s->over = 1;
                sasl_deliver(s, r, NULL, n >= 4 ? f[3] : "");
                return;
        }
        default:        /* 'D' */
                s->over = 1;
                return;
        }
}

/* --- the channel --- */

static void on_readable(int fd, int events, void *ctx)
{
        struct slot *s = ctx;
        struct auth_workers *w = s->w;
        char *f[WORKER_FIELDS_MAX];

        for (;;) {
                ssize_t n = recv(s->fd, w->in, AUTH_WORKER_MSG_MAX,
                                 MSG_DONTWAIT | MSG_TRUNC);
                size_t count;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return;
                if (n <= 0) {
                        slot_died(s, n == 0 ? "exited" : "read error");
                        return;
                }
                if (n > AUTH_WORKER_MSG_MAX) {
                        slot_died(s, "message too long");
                        return;
                }
                count = authc_split(w->in, (size_t)n, f, WORKER_FIELDS_MAX);
                if (count > WORKER_FIELDS_MAX)
                        count = WORKER_FIELDS_MAX;
                for (size_t i = 0; i < count; i++)
                        if (authc_unescape(f[i], strlen(f[i])) < 0)
                                f[i][0] = '\0';
                if (s->current == NULL) {
                        slot_died(s, "message out of turn");
                        return;
                }
                if (s->role != AUTH_WORKER_SASL)
                        backend_reply(s, f, count);
                else if (f[0][0] == 'P')
                        sasl_check(s, f, count);
                else
                        sasl_reply(s, f, count);
                explicit_bzero(w->in, (size_t)n);
                if (s->fd < 0)
                        return;
        }
}

/* kick - report the jobs that failed before they could run */
static void kick(void *ctx)
{
        struct auth_workers *w = ctx;
        struct job *job;

        while ((job = queue_pop(&w->failed_head, &w->failed_tail)) != NULL) {
                if (job->kind == JOB_BACKEND) {
                        struct auth_wjob *j = job->walk;

                        if (j != NULL) {
                                j->job = NULL;
                                walk_finish(j, -1, NULL, job->fail_why);
                        }
                } else if (job->sasl != NULL) {
                        struct auth_wsasl *s = job->sasl;

                        s->job = NULL;
                        s->over = 1;
                        sasl_deliver(s, AUTH_SASL_TEMPFAIL, NULL,
                                     job->fail_why);
                }
                job_free(job);
        }
}

/* --- life cycle --- */

static size_t cpu_count(void)
{
        long n = sysconf(_SC_NPROCESSORS_ONLN);

        return n < 2 ? 2 : n > 16 ? 16 : (size_t)n;
}

int auth_workers_start(const struct auth_workers_conf *conf,
                       struct auth_workers **w_r, struct status *st)
{
        struct auth_workers *w = xcalloc(1, sizeof(*w));
        size_t counts[POOL_COUNT];
        int has_pam = 0;

        *w_r = NULL;
        w->conf = *conf;
        w->in = xmalloc(AUTH_WORKER_MSG_MAX + 1);
        for (size_t i = 0; i < conf->users->backend_count; i++)
                if (conf->users->backends[i] == AUTH_BACKEND_PAM)
                        has_pam = 1;
        counts[AUTH_WORKER_SQLITE] = conf->sqlite_count > 0 ?
                                     conf->sqlite_count : cpu_count();
        counts[AUTH_WORKER_PAM] = !has_pam ? 0 : conf->pam_count > 0 ?
                                  conf->pam_count : 2;
        counts[AUTH_WORKER_SASL] = conf->sasl_count > 0 ?
                                   conf->sasl_count : 2;
        w->kick = loop_timer_new(kick, w);
        w->sigchld = loop_signal_new(SIGCHLD, reap, w);
        for (int p = 0; p < POOL_COUNT; p++) {
                struct pool *pool = &w->pools[p];

                pool->role = (enum auth_worker_role)p;
                pool->slots = xcalloc(counts[p] > 0 ? counts[p] : 1,
                                      sizeof(*pool->slots));
                for (size_t i = 0; i < counts[p]; i++) {
                        pool->slots[i].w = w;
                        pool->slots[i].role = pool->role;
                        pool->slots[i].fd = -1;
                }
        }
        for (int p = 0; p < POOL_COUNT; p++) {
                for (size_t i = 0; i < counts[p]; i++) {
                        if (slot_spawn(w, &w->pools[p].slots[i], st) < 0) {
                                auth_workers_free(&w);
                                return -1;
                        }
                        w->pools[p].count++;
                }
        }
        *w_r = w;
        return 0;
}

void auth_workers_fork_hook(struct auth_workers *w, void (*fn)(void *ctx),
                            void *ctx)
{
        w->hook = fn;
        w->hook_ctx = ctx;
}

static void free_queue(struct job **head, struct job **tail)
{
        struct job *job;

        while ((job = queue_pop(head, tail)) != NULL)
                job_free(job);
}

void auth_workers_free(struct auth_workers **wp)
{
        struct auth_workers *w;

        if (wp == NULL || *wp == NULL)
                return;
        w = *wp;
        for (int p = 0; p < POOL_COUNT; p++) {
                struct pool *pool = &w->pools[p];

                for (size_t i = 0; i < pool->count; i++) {
                        struct slot *s = &pool->slots[i];

                        loop_fd_free(&s->watch);
                        if (s->fd >= 0)
                                close(s->fd);
                        if (s->current != NULL)
                                job_free(s->current);
                        free_queue(&s->qhead, &s->qtail);
                }
                free_queue(&pool->qhead, &pool->qtail);
                free(pool->slots);
        }
        free_queue(&w->failed_head, &w->failed_tail);
        loop_timer_free(&w->kick);
        loop_signal_free(&w->sigchld);
        free(w->in);
        free(w);
        *wp = NULL;
}
