/* smtpd.c - the SMTP server: mail in from the network
 *   smtpd -c CONFIG_DIR -n SERVICE -t inet [-o name=value]... [-v] [-s]
 * One event-driven process per master.cf service (smtp, submission,
 * submissions: each with its own -o overrides) serves every client of
 * that service: RFC 5321 with PIPELINING, SIZE, 8BITMIME, SMTPUTF8, DSN,
 * CHUNKING, ENHANCEDSTATUSCODES, STARTTLS and AUTH. Mail is streamed into
 * a queue file and acknowledged only after queue_writer_commit() made it
 * durable (on a small worker pool, so concurrent sessions share fsyncs).
 * Runs as: root only to read main.cf, the TLS key and the tables, then
 * mail_owner before the first client byte is read. Parses network input
 * (smtpd_parse.c, smtpd_cmd.c, smtpd_mail.c). Files: queue_directory
 * (writes new queue files), $data_directory/authd.socket, the TLS
 * certificate and key, the lookup tables of mydestination & co. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "authc.h"
#include "cfg.h"
#include "daemon.h"
#include "domain_list.h"
#include "inet_list.h"
#include "log.h"
#include "loop.h"
#include "map.h"
#include "mem.h"
#include "priv.h"
#include "queue_file.h"
#include "resolve.h"
#include "smtpd.h"
#include "smtpd_anvil.h"
#include "smtpd_check.h"
#include "tls.h"
#include "workq.h"

/* connections accepted per wake-up */
#define SMTPD_ACCEPT_BATCH 64

static struct daemon d;
static struct smtpd_server srv;
static struct loop_fd *watches[DAEMON_LISTEN_MAX];

static void on_accept(int fd, int events, void *ctx)
{
        for (int i = 0; i < SMTPD_ACCEPT_BATCH && !srv.draining; i++) {
                int client = accept4(fd, NULL, NULL,
                                     SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (client < 0) {
                        if (errno != EAGAIN && errno != EWOULDBLOCK &&
                            errno != EINTR && errno != ECONNABORTED)
                                log_warn("accept: %m");
                        return;
                }
                smtpd_session_new(&srv, client);
        }
}

/* drain - SIGUSR1 (reload): stop accepting, let sessions finish; SIGTERM:
 * also end idle sessions now. Mail being committed is finished first. */
static void drain(struct daemon *dm, int now)
{
        for (size_t i = 0; i < dm->listen_count; i++) {
                loop_fd_free(&watches[i]);
                if (dm->listen_fds[i] >= 0)
                        close(dm->listen_fds[i]);
                dm->listen_fds[i] = -1;
        }
        smtpd_drain(&srv, now);
}

/* tls_level - smtpd_tls_security_level, with Postfix's older switches */
static enum smtpd_tls_level tls_level(struct cfg *cfg)
{
        const char *level = cfg_get(cfg, "smtpd_tls_security_level");

        if (strcmp(level, "encrypt") == 0)
                return SMTPD_TLS_ENCRYPT;
        if (strcmp(level, "may") == 0)
                return SMTPD_TLS_MAY;
        if (strcmp(level, "none") == 0)
                return SMTPD_TLS_NONE;
        if (cfg_get_bool(cfg, "smtpd_enforce_tls"))
                return SMTPD_TLS_ENCRYPT;
        return cfg_get_bool(cfg, "smtpd_use_tls") ? SMTPD_TLS_MAY :
                SMTPD_TLS_NONE;
}

static void inet_list(struct cfg *cfg, const char *param,
                      struct inet_list **l_r)
{
        struct status st;

        if (inet_list_open(cfg_get(cfg, param), param, l_r, &st) < 0)
                log_fatal_config("%s", st.text);
}

static void domain_list(struct cfg *cfg, const char *param,
                        struct domain_list **l_r)
{
        struct status st;

        if (domain_list_open(cfg, param, l_r, &st) < 0)
                log_fatal_config("%s", st.text);
}

/* sasl_options - noplaintext / noanonymous of one options parameter */
static void sasl_options(struct cfg *cfg, const char *param, int *noplain_r,
                         int *noanon_r)
{
        size_t count = 0;
        char **words = cfg_get_list(cfg, param, &count);

        *noplain_r = *noanon_r = 0;
        for (size_t i = 0; i < count; i++) {
                if (strcasecmp(words[i], "noplaintext") == 0)
                        *noplain_r = 1;
                else if (strcasecmp(words[i], "noanonymous") == 0)
                        *noanon_r = 1;
        }
        cfg_list_free(&words);
}

/* newline_mode - smtpd_forbid_bare_newline */
static enum smtpd_newline newline_mode(struct cfg *cfg)
{
        const char *v = cfg_get(cfg, "smtpd_forbid_bare_newline");

        if (strcasecmp(v, "normalize") == 0 || strcasecmp(v, "yes") == 0)
                return SMTPD_NL_NORMALIZE;
        if (strcasecmp(v, "reject") == 0)
                return SMTPD_NL_REJECT;
        if (strcasecmp(v, "no") == 0)
                return SMTPD_NL_ALLOW;
        log_fatal_config("smtpd_forbid_bare_newline = %s: expected "
                         "normalize, reject, yes or no", v);
}

/* forbidden - smtpd_forbidden_commands: command words, and tables (the
 * default's regexp:{{/^[^A-Z]/ Thrash}}) that find the words to refuse */
static void forbidden(struct cfg *cfg)
{
        size_t count = 0;
        char **words = cfg_get_list(cfg, "smtpd_forbidden_commands", &count);
        struct status st;
        struct buf tables;

        buf_init(&tables, 0);
        srv.forbidden = xcalloc(count + 1, sizeof(char *));
        for (size_t i = 0; i < count; i++) {
                if (strchr(words[i], ':') == NULL)
                        srv.forbidden[srv.forbidden_count++] =
                                xstrdup(words[i]);
                else
                        buf_printf(&tables, "%s%s", tables.len ? ", " : "",
                                   words[i]);
        }
        cfg_list_free(&words);
        if (maps_open(buf_cstr(&tables), "smtpd_forbidden_commands", 0,
                      &srv.forbidden_maps, &st) < 0)
                log_fatal_config("%s", st.text);
        buf_release(&tables);
        srv.discard = cfg_get_list(cfg, "smtpd_discard_ehlo_keywords",
                                   &srv.discard_count);
}

static void server_init(void)
{
        struct cfg *cfg = d.cfg;
        struct status st;
        char *path;

        srv.d = &d;
        srv.cfg = cfg;
        srv.service = d.service;
        srv.myhostname = cfg_get(cfg, "myhostname");
        srv.banner = cfg_get(cfg, "smtpd_banner");
        srv.mail_name = cfg_get(cfg, "mail_name");
        srv.queue_dir = cfg_get(cfg, "queue_directory");
        srv.sasl_service = cfg_get(cfg, "smtpd_sasl_service");
        srv.recipient_delimiter = cfg_get(cfg, "recipient_delimiter");
        srv.message_size_limit = cfg_get_size(cfg, "message_size_limit");
        srv.queue_minfree = cfg_get_size(cfg, "queue_minfree");
        srv.header_size_limit = cfg_get_size(cfg, "header_size_limit");
        srv.line_max = cfg_get_int(cfg, "line_length_limit");
        srv.sasl_response_limit = cfg_get_int(cfg,
                                              "smtpd_sasl_response_limit");
        srv.recipient_limit = cfg_get_int(cfg, "smtpd_recipient_limit");
        srv.hard_error_limit = cfg_get_int(cfg, "smtpd_hard_error_limit");
        srv.soft_error_limit = cfg_get_int(cfg, "smtpd_soft_error_limit");
        srv.junk_limit = cfg_get_int(cfg, "smtpd_junk_command_limit");
        srv.hopcount_limit = cfg_get_int(cfg, "hopcount_limit");
        srv.bare_lf_code = cfg_get_int(cfg,
                                       "smtpd_forbid_bare_newline_reject_code");
        srv.timeout_ms = cfg_get_time(cfg, "smtpd_timeout") * 1000;
        srv.starttls_timeout_ms = cfg_get_time(cfg, "smtpd_starttls_timeout") *
                1000;
        srv.error_sleep_ms = cfg_get_time(cfg, "smtpd_error_sleep_time") * 1000;
        srv.conn_count_limit = cfg_get_int(cfg,
                                           "smtpd_client_connection_count_limit");
        srv.conn_rate_limit = cfg_get_int(cfg,
                                          "smtpd_client_connection_rate_limit");
        srv.auth_rate_limit = cfg_get_int(cfg, "smtpd_client_auth_rate_limit");
        srv.message_rate_limit = cfg_get_int(cfg,
                                             "smtpd_client_message_rate_limit");
        srv.rcpt_rate_limit = cfg_get_int(cfg,
                                          "smtpd_client_recipient_rate_limit");
        srv.tls_rate_limit = cfg_get_int(cfg,
                                 "smtpd_client_new_tls_session_rate_limit");
        srv.rate_unit_ms = cfg_get_time(cfg, "anvil_rate_time_unit") * 1000;
        srv.helo_required = cfg_get_bool(cfg, "smtpd_helo_required");
        srv.disable_vrfy = cfg_get_bool(cfg, "disable_vrfy_command");
        srv.smtputf8 = cfg_get_bool(cfg, "smtputf8_enable");
        srv.delay_reject = cfg_get_bool(cfg, "smtpd_delay_reject");
        srv.reject_unlisted_rcpt = cfg_get_bool(cfg,
                                                "smtpd_reject_unlisted_recipient");
        srv.strict_rfc821 = cfg_get_bool(cfg, "strict_rfc821_envelopes");
        srv.sasl_enable = cfg_get_bool(cfg, "smtpd_sasl_auth_enable");
        srv.tls_auth_only = cfg_get_bool(cfg, "smtpd_tls_auth_only");
        srv.sasl_auth_header = cfg_get_bool(cfg,
                                            "smtpd_sasl_authenticated_header");
        srv.tls_received_header = cfg_get_bool(cfg,
                                               "smtpd_tls_received_header");
        srv.tls_loglevel = (int)cfg_get_int(cfg, "smtpd_tls_loglevel");
        sasl_options(cfg, "smtpd_sasl_security_options", &srv.sasl_noplain,
                     &srv.sasl_noanon);
        sasl_options(cfg, "smtpd_sasl_tls_security_options",
                     &srv.sasl_tls_noplain, &srv.sasl_tls_noanon);
        srv.newline = newline_mode(cfg);
        srv.tls_level = tls_level(cfg);
        srv.wrappermode = cfg_get_bool(cfg, "smtpd_tls_wrappermode");
        if (srv.tls_level != SMTPD_TLS_NONE || srv.wrappermode) {
                /* as root: the key is often readable by root only */
                srv.tls = tls_server_new(cfg, "smtpd_", &st);
                if (srv.tls == NULL)
                        log_warn("TLS is not available: %s", st.text);
        }
        if (cfg_is_set(cfg, "mynetworks")) {
                inet_list(cfg, "mynetworks", &srv.mynetworks);
        } else {
                /* as Postfix: mynetworks_style says whom to trust */
                char *nets = smtpd_check_default_mynetworks(cfg);

                if (inet_list_open(nets, "mynetworks", &srv.mynetworks,
                                   &st) < 0)
                        log_fatal_config("%s", st.text);
                free(nets);
        }
        inet_list(cfg, "smtpd_forbid_bare_newline_exclusions",
                  &srv.newline_exclusions);
        inet_list(cfg, "smtpd_client_event_limit_exceptions",
                  &srv.event_exceptions);
        inet_list(cfg, "smtpd_sasl_exceptions_networks",
                  &srv.sasl_exceptions);
        domain_list(cfg, "mydestination", &srv.mydestination);
        domain_list(cfg, "relay_domains", &srv.relay_domains);
        domain_list(cfg, "virtual_alias_domains", &srv.virtual_alias_domains);
        domain_list(cfg, "virtual_mailbox_domains",
                    &srv.virtual_mailbox_domains);
        /* a table that cannot be read now (a missing /etc/aliases) defers
         * local mail until it can, as Postfix does; smtpd_mail.c tries
         * again */
        srv.resolve_tried = loop_now_ms();
        if (resolve_open(cfg, &srv.resolve, &st) < 0)
                log_warn("%s; mail for local recipients is deferred until "
                         "it can be read", st.text);
        if (smtpd_checks_load(&srv, &srv.checks, &st) < 0)
                log_fatal_config("%s", st.text);
        forbidden(cfg);
        srv.anvil = smtpd_anvil_new(srv.rate_unit_ms);
        path = xasprintf("%s/%s", cfg_get(cfg, "data_directory"),
                         AUTHC_SOCKET_NAME);
        srv.authc = authc_new(path);
        free(path);
}

/* queue_dirs - as root, make sure the queue directories exist and belong
 * to mail_owner, so the first message after an install can be taken
 * (qmgr may do the same; either is enough) */
static void queue_dirs(struct cfg *cfg)
{
        struct status st;
        struct priv owner;
        uid_t uid = (uid_t)-1;
        gid_t gid = (gid_t)-1;

        if (priv_is_root()) {
                if (priv_lookup("mail_owner", cfg_get(cfg, "mail_owner"),
                                &owner, &st) < 0)
                        log_fatal_config("%s", st.text);
                uid = owner.uid;
                gid = owner.gid;
        }
        if (queue_dirs_make(srv.queue_dir, uid, gid, &st) < 0)
                log_fatal("queue_directory = %s: %s", srv.queue_dir, st.text);
}

static void server_free(void)
{
        workq_free(&srv.workq);
        authc_free(&srv.authc);
        smtpd_anvil_free(&srv.anvil);
        smtpd_checks_free(&srv.checks);
        resolve_free(&srv.resolve);
        domain_list_free(&srv.mydestination);
        domain_list_free(&srv.relay_domains);
        domain_list_free(&srv.virtual_alias_domains);
        domain_list_free(&srv.virtual_mailbox_domains);
        inet_list_free(&srv.mynetworks);
        inet_list_free(&srv.newline_exclusions);
        inet_list_free(&srv.event_exceptions);
        inet_list_free(&srv.sasl_exceptions);
        tls_ctx_free(&srv.tls);
        for (size_t i = 0; i < srv.forbidden_count; i++)
                free(srv.forbidden[i]);
        free(srv.forbidden);
        maps_free(&srv.forbidden_maps);
        cfg_list_free(&srv.discard);
        free(srv.mechs[0]);
        free(srv.mechs[1]);
}

int main(int argc, char **argv)
{
        daemon_init(&d, "smtpd", argc, argv);
        tzset();                /* Received: dates, before /etc is out of
                                 * reach */
        loop_init();
        server_init();
        queue_dirs(d.cfg);
        daemon_drop_privileges(&d);

        srv.workq = workq_new(SMTPD_COMMIT_THREADS);
        d.drain = drain;
        daemon_watch_signals(&d);
        for (size_t i = 0; i < d.listen_count; i++)
                watches[i] = loop_fd_new(d.listen_fds[i], LOOP_READ,
                                         on_accept, NULL);
        if (d.listen_count == 0)
                log_warn("no listening socket: nothing to serve");
        log_debug("ready: service %s", srv.service);
        loop_run();

        server_free();
        cfg_free(&d.cfg);
        return 0;
}
