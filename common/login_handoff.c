/* login_handoff.c - from a successful login to a running session
 * Used by: login_auth.c in imapd and pop3d. In order: record the PbS
 * grant for the client address with authd (a failed login never gets
 * here, so never grants); take the client off the loop -- a plain socket
 * is detached with the input read but not used, a TLS connection stays
 * and gets a socketpair -- and send LOGIN to the supervisor with the
 * descriptor and authd's login token; on OK log Dovecot's "Login:" line
 * and either close our copy of the socket or start relaying plaintext
 * (login_relay.c); on FAIL tell the client through the protocol's hook.
 * Runs as mail_owner. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "log_auth.h"
#include "login_int.h"
#include "login_master.h"
#include "login_relay.h"
#include "loop.h"
#include "mem.h"

/* how often, and how many times, a detach waits for output to drain */
#define DETACH_RETRY_MS 5
#define DETACH_RETRIES  2000

void login_handoff_cancel(struct login_client *lc)
{
        login_master_cancel(&lc->mreq);
        loop_timer_free(&lc->retry);
        authc_user_free(&lc->account);
        if (lc->client_fd >= 0)
                close(lc->client_fd);
        lc->client_fd = -1;
        if (lc->relay_fd >= 0)
                close(lc->relay_fd);
        lc->relay_fd = -1;
        buf_release(&lc->pending);
}

/* fail - no session: the client hears it from the protocol, then goes */
static void fail(struct login_client *lc, enum login_fail why)
{
        struct conn_opts opts;

        login_master_cancel(&lc->mreq);
        if (lc->relay_fd >= 0)
                close(lc->relay_fd);
        lc->relay_fd = -1;
        if (lc->conn == NULL && lc->client_fd >= 0) {
                /* detached: wrap the socket again to say goodbye */
                login_client_conn_opts(lc, &opts);
                lc->conn = conn_new(lc->client_fd, &opts,
                                    login_client_conn_event, lc);
                lc->client_fd = -1;
        }
        lc->state = LC_PREAUTH;
        if (lc->srv->hooks->session_failed != NULL)
                lc->srv->hooks->session_failed(lc, why);
        login_client_close(lc, NULL);
}

static void on_session(const struct login_reply *r, void *ctx)
{
        struct login_client *lc = ctx;
        int tls = lc->relay_fd >= 0;

        lc->mreq = NULL;
        if (!r->ok) {
                if (r->fail == LOGIN_FAIL_LIMIT)
                        log_info("%s: Disconnected: Maximum number of "
                                 "connections from user+IP exceeded: "
                                 "user=<%s>, rip=%s", lc->srv->log_prefix,
                                 lc->account->name, lc->rip);
                else
                        log_error("%s: session for %s not started: %s (%s)",
                                  lc->srv->log_prefix, lc->account->name,
                                  login_fail_name(r->fail), r->text);
                fail(lc, r->fail);
                return;
        }
        log_auth_login(lc->srv->hooks->proto, lc->account->name, lc->method,
                       lc->rip, lc->lip, r->pid, tls);
        if (tls) {
                struct conn *c = lc->conn;

                lc->conn = NULL;
                login_relay_start(c, lc->relay_fd);
                lc->relay_fd = -1;
        }
        /* the session has the client now; the login is over */
        login_client_free(lc);
}

/* send_login - hand the client to the supervisor; 0, or -1 to try again
 * once the output has drained */
static int send_login(struct login_client *lc)
{
        struct login_request req;
        struct status st;
        int fd, tls = login_client_tls(lc);

        if (tls) {
                int sv[2];

                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
                               sv) < 0) {
                        log_error("%s: socketpair: %m", lc->srv->log_prefix);
                        fail(lc, LOGIN_FAIL_TEMP);
                        return 0;
                }
                lc->relay_fd = sv[0];
                fd = sv[1];
        } else {
                fd = conn_detach(&lc->conn, &lc->pending, &st);
                if (fd < 0) {
                        if (conn_output_pending(lc->conn) > 0)
                                return -1;
                        log_error("%s: %s", lc->srv->log_prefix, st.text);
                        fail(lc, LOGIN_FAIL_TEMP);
                        return 0;
                }
                lc->client_fd = fd;
                fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (fd < 0) {
                        log_error("%s: dup: %m", lc->srv->log_prefix);
                        fail(lc, LOGIN_FAIL_TEMP);
                        return 0;
                }
        }
        memset(&req, 0, sizeof(req));
        req.info.proto = lc->srv->hooks->proto;
        req.info.service = lc->srv->d->service;
        req.info.rip = lc->rip;
        req.info.lip = lc->lip;
        req.info.rport = lc->rport;
        req.info.lport = lc->lport;
        req.info.tls = tls;
        req.info.secured = lc->secured;
        req.info.method = lc->method;
        req.info.data = lc->data != NULL ? lc->data : "";
        req.token = lc->account->token;
        req.pending = lc->pending.data;
        req.pending_len = lc->pending.len;
        lc->mreq = login_master_request(lc->srv->master, &req, fd,
                                        on_session, lc);
        buf_release(&lc->pending);
        return 0;
}

static void retry_send(void *ctx)
{
        struct login_client *lc = ctx;

        if (send_login(lc) == 0)
                return;
        if (++lc->retries >= DETACH_RETRIES) {
                log_error("%s: client output does not drain; login of %s "
                          "given up", lc->srv->log_prefix, lc->account->name);
                fail(lc, LOGIN_FAIL_TEMP);
                return;
        }
        loop_timer_start(lc->retry, DETACH_RETRY_MS);
}

static void on_grant(const struct authc_reply *reply, void *ctx)
{
        struct login_client *lc = ctx;

        lc->areq = NULL;
        if (reply->result != AUTHC_OK)
                log_warn("%s: PbS grant for %s not recorded: %s",
                         lc->srv->log_prefix, lc->rip,
                         reply->reason != NULL ? reply->reason : "");
        if (send_login(lc) == 0)
                return;
        lc->retry = loop_timer_new(retry_send, lc);
        loop_timer_start(lc->retry, DETACH_RETRY_MS);
}

void login_handoff_start(struct login_client *lc)
{
        lc->state = LC_HANDOFF;
        lc->areq = authc_pbs_grant(lc->srv->authc, lc->rip, lc->account->name,
                                   on_grant, lc);
}
