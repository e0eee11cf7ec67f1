/* smtp.c - the outbound SMTP client
 *   smtp -c CONFIG_DIR -n smtp -t unix [-v] [-s]   (started by yubin)
 * Serves qmgr's delivery requests (smtp_proto.h) on $queue_directory/
 * private/smtp, a UNIX socket it creates (owned by mail_owner, mode 0600;
 * a peer that is neither mail_owner nor root is refused). Each request --
 * one message, some recipients at one destination -- finds its next hop
 * (smtp_nexthop.c) and its addresses in DNS (smtp_dns.c), runs one SMTP
 * transaction (smtp_session.c) over a new connection or one kept from an
 * earlier request (smtp_cache.c), marks what the server accepted in the
 * queue file, and answers qmgr with one RESULT per recipient.
 * Event-driven: every request, DNS look-up and connection lives in one
 * loop, so requests for different destinations proceed in parallel.
 * Runs as: root only to create its socket, then mail_owner; started by an
 * ordinary user, as that user. Parses qmgr's requests, DNS answers and
 * remote servers' replies. Files: queue files (read, marks appended). */
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cfg.h"
#include "conn.h"
#include "daemon.h"
#include "local_proto.h"
#include "log.h"
#include "loop.h"
#include "map.h"
#include "mem.h"
#include "priv.h"
#include "smtp.h"
#include "smtp_proto.h"
#include "smtp_sasl.h"
#include "tls.h"

struct smtp_server smtp_srv;

static struct daemon d;
static int listen_fd = -1;
static struct loop_fd *listen_watch;
static uid_t peer_ok_uid;

static void job_free(struct smtp_job *job)
{
        smtp_dns_free(&job->lookup);
        smtp_session_free(&job->sess);
        conn_free(&job->qconn);
        for (size_t i = 0; i < job->nrcpts; i++) {
                free(job->rcpts[i].addr);
                free(job->rcpts[i].text);
        }
        free(job->rcpts);
        free(job->domain);
        if (job->mark_fd >= 0)
                close(job->mark_fd);
        queue_file_free(&job->qf);
        free(job);
        smtp_srv.busy--;
        smtp_exit_if_idle();
}

void smtp_exit_if_idle(void)
{
        if (daemon_stopping(&d) && smtp_srv.busy == 0 &&
            smtp_cache_count() == 0)
                loop_exit();
}

void smtp_job_result(struct smtp_job *job, struct smtp_rcpt *r,
                     const char *status, const char *code, const char *relay,
                     const char *text)
{
        struct status st;

        if (r->done)
                return;
        r->done = 1;
        r->status = status;
        snprintf(r->code, sizeof(r->code), "%s", code);
        r->text = xstrdup(text);
        snprintf(r->relay, sizeof(r->relay), "%s", relay != NULL ? relay :
                 "none");
        r->conn_use = relay != NULL ? job->conn_use : 0;
        /* recorded now: a qmgr that dies before our answer must not send
         * it again (smtp_proto.h) */
        if (strcmp(status, "sent") == 0 && job->mark_fd >= 0 &&
            queue_file_mark_fd(job->mark_fd, job->id, r->idx,
                               QUEUE_RCPT_SENT, &st) < 0)
                log_warn("%s: %s", job->id, st.text);
}

void smtp_job_fail_rest(struct smtp_job *job, const char *relay,
                        const struct status *st)
{
        for (size_t i = 0; i < job->nrcpts; i++)
                smtp_job_result(job, &job->rcpts[i], status_class(st) == 5 ?
                                "bounced" : "deferred", st->code, relay,
                                st->text);
}

/* answer_closed - qmgr has its answer */
static void on_answer_event(struct conn *c, enum conn_event ev,
                            const struct conn_ev_data *data, void *ctx)
{
        struct smtp_job *job = ctx;

        if (ev == CONN_CLOSED || ev == CONN_ERROR || ev == CONN_TIMEOUT ||
            ev == CONN_DEADLINE || ev == CONN_EOF)
                job_free(job);
}

void smtp_job_done(struct smtp_job *job)
{
        struct buf out;

        smtp_session_free(&job->sess);
        if (job->qconn == NULL) {
                /* qmgr went away: the marks are all it gets */
                job_free(job);
                return;
        }
        buf_init(&out, 0);
        for (size_t i = 0; i < job->nrcpts; i++) {
                struct smtp_rcpt *r = &job->rcpts[i];
                char idx[32], use[32];
                const char *f[7] = { "RESULT", idx, r->status, r->code,
                                     r->relay, r->text, use };

                snprintf(idx, sizeof(idx), "%zu", r->idx);
                snprintf(use, sizeof(use), "%lu", r->conn_use);
                local_proto_put(&out, f, r->conn_use > 1 ? 7 : 6);
        }
        buf_puts(&out, "DONE\n");
        conn_set_callback(job->qconn, on_answer_event, job);
        conn_write(job->qconn, out.data, out.len);
        buf_release(&out);
        conn_close(job->qconn);
}

/* on_nexthop - the next hop's addresses are known, or why not */
static void on_nexthop(struct smtp_job *job, const struct status *st)
{
        if (st != NULL) {
                smtp_job_fail_rest(job, NULL, st);
                smtp_job_done(job);
                return;
        }
        smtp_session_start(job);
}

/* start - the request is complete: check it against the file, go */
static void start(struct smtp_job *job)
{
        struct status st;
        char *path = queue_path(smtp_srv.queue_dir, QUEUE_ACTIVE, job->id);

        if (queue_file_open(path, 0, &job->qf, &st) < 0) {
                status_set(&st, STATUS_LOCAL_IO, "%s", st.text);
                goto fail;
        }
        for (size_t i = 0; i < job->nrcpts; i++) {
                struct smtp_rcpt *r = &job->rcpts[i];

                if (r->idx >= queue_file_rcpt_count(job->qf) ||
                    strcmp(queue_file_rcpt(job->qf, r->idx)->addr,
                           r->addr) != 0) {
                        status_set(&st, STATUS_LOCAL_IO, "recipient %zu of "
                                   "%s is not %s", r->idx, job->id, r->addr);
                        log_warn("%s", st.text);
                        goto fail;
                }
                r->qr = queue_file_rcpt(job->qf, r->idx);
        }
        /* opened now: the descriptor follows the file wherever qmgr
         * moves it meanwhile */
        job->mark_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC |
                            O_NOFOLLOW);
        if (job->mark_fd < 0)
                log_warn("%s: open %s: %m", job->id, path);
        free(path);
        if (smtp_nexthop(job, on_nexthop, &st) < 0) {
                smtp_job_fail_rest(job, NULL, &st);
                smtp_job_done(job);
        }
        return;
fail:
        free(path);
        smtp_job_fail_rest(job, NULL, &st);
        smtp_job_done(job);
}

/* on_request_line - one line of qmgr's request; -1 when malformed */
static int on_request_line(struct smtp_job *job, const char *data, size_t len)
{
        char *line = xstrndup(data, len), *f[SMTP_PROTO_FIELDS_MAX], *end;
        int n = local_proto_split(line, len, f, SMTP_PROTO_FIELDS_MAX);
        int ret = -1;

        if ((n == 3 || n == 4) && strcmp(f[0], "DELIVER") == 0 &&
            job->domain == NULL && queue_id_valid(f[1]) && *f[2] != '\0') {
                snprintf(job->id, sizeof(job->id), "%s", f[1]);
                job->domain = xstrdup(f[2]);
                job->cache = n == 4 && strcmp(f[3], "cache") == 0;
                ret = 0;
        } else if (n == 3 && strcmp(f[0], "RCPT") == 0 &&
                   job->domain != NULL && *f[2] != '\0' &&
                   job->nrcpts < SMTP_PROTO_RCPT_MAX &&
                   *f[1] >= '0' && *f[1] <= '9') {
                unsigned long idx = strtoul(f[1], &end, 10);
                struct smtp_rcpt *r;

                if (*end == '\0') {
                        job->rcpts = xrealloc(job->rcpts, (job->nrcpts + 1) *
                                              sizeof(*job->rcpts));
                        r = &job->rcpts[job->nrcpts++];
                        memset(r, 0, sizeof(*r));
                        r->idx = idx;
                        r->addr = xstrdup(f[2]);
                        ret = 0;
                }
        } else if (n == 1 && strcmp(f[0], "END") == 0 && job->nrcpts > 0) {
                job->ended = 1;
                ret = 0;
        }
        free(line);
        return ret;
}

static void on_request_event(struct conn *c, enum conn_event ev,
                             const struct conn_ev_data *data, void *ctx)
{
        struct smtp_job *job = ctx;

        switch (ev) {
        case CONN_LINE:
                if (job->ended)
                        break;
                if (on_request_line(job, data->data, data->len) < 0) {
                        log_warn("malformed delivery request");
                        job_free(job);
                        break;
                }
                if (job->ended) {
                        conn_set_timeout(c, 0);
                        start(job);
                }
                break;
        case CONN_LINE_TOO_LONG:
        case CONN_TIMEOUT:
        case CONN_DEADLINE:
        case CONN_EOF:
        case CONN_ERROR:
        case CONN_CLOSED:
                /* qmgr went away: it defers what it asked for. A message
                 * whose end of DATA is out is seen through, so that what
                 * the server took is marked, not sent again */
                if (job->sess != NULL &&
                    smtp_session_committing(job->sess)) {
                        conn_free(&job->qconn);
                        break;
                }
                job_free(job);
                break;
        default:
                break;
        }
}

static int peer_allowed(int fd)
{
        struct ucred cred;
        socklen_t len = sizeof(cred);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return 0;
        return cred.uid == peer_ok_uid || cred.uid == 0;
}

static void on_accept(int fd, int events, void *ctx)
{
        static const struct conn_opts opts = {
                .line_max = SMTP_PROTO_LINE_MAX,
                .idle_ms = 30 * 1000,
                .deadline_ms = SMTP_PROTO_TIMEOUT_MS,
        };
        int client = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        struct smtp_job *job;

        if (client < 0) {
                if (errno != EAGAIN && errno != EINTR &&
                    errno != ECONNABORTED)
                        log_warn("accept: %m");
                return;
        }
        if (!peer_allowed(client)) {
                log_warn("refusing a delivery request from a process that "
                         "is not mail_owner's");
                close(client);
                return;
        }
        job = xcalloc(1, sizeof(*job));
        job->mark_fd = -1;
        smtp_srv.busy++;
        job->qconn = conn_new(client, &opts, on_request_event, job);
}

static void drain(struct daemon *dm, int now)
{
        loop_fd_free(&listen_watch);
        if (listen_fd >= 0)
                close(listen_fd);
        listen_fd = -1;
        smtp_cache_drain(now);
        if (now)
                loop_exit();
        else
                smtp_exit_if_idle();
}

/* sasl_flags - Cyrus SASL_SEC_* bits of an options parameter; an unknown
 * word is a configuration error */
static unsigned sasl_flags(const char *param)
{
        size_t n;
        char **words = cfg_get_list(smtp_srv.cfg, param, &n);
        unsigned flags = 0;
        struct status st;

        if (smtp_sasl_sec_flags(words, n, &flags, &st) < 0)
                log_fatal_config("%s: %s", param, st.text);
        cfg_list_free(&words);
        return flags;
}

static enum smtp_tls_level tls_level(void)
{
        const char *v = cfg_get(smtp_srv.cfg, "smtp_tls_security_level");

        if (*v == '\0')
                return cfg_get_bool(smtp_srv.cfg, "smtp_enforce_tls") ?
                       SMTP_TLS_ENCRYPT : cfg_get_bool(smtp_srv.cfg,
                       "smtp_use_tls") ? SMTP_TLS_MAY : SMTP_TLS_NONE;
        if (strcasecmp(v, "none") == 0)
                return SMTP_TLS_NONE;
        if (strcasecmp(v, "may") == 0 || strcasecmp(v, "dane") == 0)
                return SMTP_TLS_MAY;
        if (strcasecmp(v, "encrypt") == 0 ||
            strcasecmp(v, "dane-only") == 0)
                return SMTP_TLS_ENCRYPT;
        if (strcasecmp(v, "verify") == 0 || strcasecmp(v, "secure") == 0)
                return SMTP_TLS_VERIFY;
        log_fatal_config("smtp_tls_security_level = %s: unknown level", v);
}

/* host_lookup - smtp_host_lookup: DNS is what the client does; say so
 * when main.cf asks for the system resolver too */
static void host_lookup(struct cfg *c)
{
        size_t n;
        char **words = cfg_get_list(c, "smtp_host_lookup", &n);

        for (size_t i = 0; i < n; i++)
                if (strcasecmp(words[i], "native") == 0)
                        log_warn("smtp_host_lookup: \"native\" is not "
                                 "supported; next hops are looked up in DNS "
                                 "only (/etc/hosts is not consulted)");
        cfg_list_free(&words);
}

static void read_config(void)
{
        struct cfg *c = smtp_srv.cfg;
        struct status st;

        host_lookup(c);
        smtp_srv.queue_dir = cfg_get(c, "queue_directory");
        smtp_srv.helo_name = cfg_get(c, "smtp_helo_name");
        smtp_srv.relayhost = cfg_get(c, "relayhost");
        smtp_srv.sasl_enable = cfg_get_bool(c, "smtp_sasl_auth_enable");
        smtp_srv.sasl_flags = sasl_flags("smtp_sasl_security_options");
        smtp_srv.sasl_tls_flags = sasl_flags("smtp_sasl_tls_security_options");
        smtp_srv.sasl_filter = cfg_get_list(c, "smtp_sasl_mechanism_filter",
                                            &smtp_srv.sasl_filter_count);
        smtp_srv.never_ehlo = cfg_get_bool(c, "smtp_never_send_ehlo");
        smtp_srv.tcp_port = (int)cfg_get_int(c, "smtp_tcp_port");
        smtp_srv.mx_address_limit = (size_t)cfg_get_int(c,
                                                "smtp_mx_address_limit");
        smtp_srv.mx_session_limit = (size_t)cfg_get_int(c,
                                                "smtp_mx_session_limit");
        smtp_srv.connect_ms = cfg_get_time(c, "smtp_connect_timeout") * 1000;
        smtp_srv.helo_ms = cfg_get_time(c, "smtp_helo_timeout") * 1000;
        smtp_srv.mail_ms = cfg_get_time(c, "smtp_mail_timeout") * 1000;
        smtp_srv.rcpt_ms = cfg_get_time(c, "smtp_rcpt_timeout") * 1000;
        smtp_srv.data_init_ms = cfg_get_time(c, "smtp_data_init_timeout") *
                                1000;
        smtp_srv.data_xfer_ms = cfg_get_time(c, "smtp_data_xfer_timeout") *
                                1000;
        smtp_srv.data_done_ms = cfg_get_time(c, "smtp_data_done_timeout") *
                                1000;
        smtp_srv.quit_ms = cfg_get_time(c, "smtp_quit_timeout") * 1000;
        smtp_srv.starttls_ms = cfg_get_time(c, "smtp_starttls_timeout") *
                               1000;
        smtp_srv.rset_ms = cfg_get_time(c, "smtp_rset_timeout") * 1000;
        smtp_cache_init();
        smtp_srv.tls_level = tls_level();
        if (smtp_srv.tls_level != SMTP_TLS_NONE) {
                smtp_srv.tls = tls_client_new(c, "smtp_", &st);
                if (smtp_srv.tls == NULL) {
                        if (smtp_srv.tls_level >= SMTP_TLS_ENCRYPT)
                                log_fatal_config("%s", st.text);
                        log_warn("%s; mail goes out without TLS", st.text);
                }
        }
        if (*cfg_get(c, "transport_maps") != '\0' &&
            maps_open(cfg_get(c, "transport_maps"), "transport_maps", 0,
                      &smtp_srv.transport, &st) < 0)
                log_fatal_config("%s", st.text);
        if (*cfg_get(c, "smtp_sasl_password_maps") != '\0' &&
            maps_open(cfg_get(c, "smtp_sasl_password_maps"),
                      "smtp_sasl_password_maps", 0, &smtp_srv.sasl_passwords,
                      &st) < 0)
                log_fatal_config("%s", st.text);
}

int main(int argc, char **argv)
{
        struct priv owner;
        struct status st;
        char *path;

        daemon_init(&d, "smtp", argc, argv);
        smtp_srv.cfg = d.cfg;
        if (priv_is_root()) {
                if (priv_lookup("mail_owner", cfg_get(d.cfg, "mail_owner"),
                                &owner, &st) < 0)
                        log_fatal_config("%s", st.text);
        } else {
                priv_self(&owner);
        }
        peer_ok_uid = owner.uid;
        read_config();
        if (queue_dirs_make(smtp_srv.queue_dir, owner.uid, owner.gid,
                            &st) < 0)
                log_fatal("queue_directory: %s", st.text);
        loop_init();
        if (smtp_dns_init(d.cfg, &st) < 0)
                log_fatal_config("%s", st.text);
        path = xasprintf("%s/%s", smtp_srv.queue_dir, SMTP_SOCKET);
        listen_fd = daemon_unix_socket(path, SOCK_STREAM, 0600, &owner);
        daemon_drop_privileges(&d);
        d.drain = drain;
        daemon_watch_signals(&d);
        listen_watch = loop_fd_new(listen_fd, LOOP_READ, on_accept, NULL);
        log_info("ready: %s", path);
        free(path);
        loop_run();

        smtp_cache_drain(1);
        loop_fd_free(&listen_watch);
        smtp_dns_shutdown();
        maps_free(&smtp_srv.transport);
        maps_free(&smtp_srv.sasl_passwords);
        tls_ctx_free(&smtp_srv.tls);
        cfg_list_free(&smtp_srv.sasl_filter);
        cfg_free(&d.cfg);
        return 0;
}
