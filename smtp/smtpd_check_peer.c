/* smtpd_check_peer.c - the client's name: looked up at connect, and the
 * restrictions on it
 * Used by: smtpd_session.c (smtpd_check_peer() before the greeting) and
 * smtpd_check.c's evaluator (reject_unknown_client_hostname,
 * reject_unknown_reverse_client_hostname). As Postfix's smtpd: the PTR
 * name of the address is the reverse name; when that name's addresses
 * include the client's it is also the verified name, else the verified
 * name is "unknown" (and "hostname X does not resolve to address Y" is
 * logged). The look-up has smtpd_client_lookup_timeout and never holds up
 * another session; a timeout leaves the name unknown with a temporary
 * status, so the restrictions answer 450. With smtpd_peername_lookup = no
 * both names are "unknown". Runs as mail_owner. */
#include <stdio.h>
#include <stdlib.h>

#include "dns.h"
#include "log.h"
#include "mem.h"
#include "smtpd_check_int.h"

enum smtpd_check_status smtpd_check_unknown_client(
        struct smtpd_check_run *run, const struct smtpd_check_item *it)
{
        int status = run->s->name_status;

        if (status == SMTPD_PEER_OK)
                return CHK_DUNNO;
        return smtpd_check_reject(run, status >= SMTPD_PEER_PERM ?
                                  run->c->unknown_client_code : 450,
                                  "4.7.25", "Client host rejected: cannot "
                                  "find your hostname, [%s]", run->s->addr);
}

enum smtpd_check_status smtpd_check_unknown_reverse(
        struct smtpd_check_run *run, const struct smtpd_check_item *it)
{
        int status = run->s->reverse_status;

        if (status == SMTPD_PEER_OK)
                return CHK_DUNNO;
        return smtpd_check_reject(run, status == SMTPD_PEER_PERM ?
                                  run->c->unknown_client_code : 450,
                                  "4.7.1", "Client host rejected: cannot "
                                  "find your reverse hostname, [%s]",
                                  run->s->addr);
}

static int peer_status(enum dns_name_status s)
{
        switch (s) {
        case DNS_NAME_OK:
                return SMTPD_PEER_OK;
        case DNS_NAME_TEMP:
                return SMTPD_PEER_TEMP;
        case DNS_NAME_FORGED:
                return SMTPD_PEER_FORGED;
        default:
                return SMTPD_PEER_PERM;
        }
}

static void peer_set(struct smtpd_session *s, const char *name,
                     const char *reverse, int name_status, int reverse_status)
{
        free(s->name);
        free(s->reverse_name);
        s->name = xstrdup(name);
        s->reverse_name = xstrdup(reverse);
        s->name_status = name_status;
        s->reverse_status = reverse_status;
        snprintf(s->client, sizeof(s->client), "%s[%s]", s->name, s->addr);
}

static void peer_done(const struct dns_client_name *n, void *ctx)
{
        struct smtpd_session *s = ctx;
        struct smtpd_check_sess *c = smtpd_check_sess(s);

        c->peer = NULL;
        if (n->name_status == DNS_NAME_FORGED)
                log_warn("hostname %s does not resolve to address %s",
                         n->reverse, s->addr);
        peer_set(s, n->name, n->reverse, peer_status(n->name_status),
                 peer_status(n->reverse_status));
        c->peer_cb(s);
}

void smtpd_check_peer(struct smtpd_session *s,
                      void (*cb)(struct smtpd_session *s))
{
        struct smtpd_checks *c = s->srv->checks;
        struct smtpd_check_sess *sess = smtpd_check_sess(s);
        char rev[DNS_NAME_MAX + 1];

        peer_set(s, "unknown", "unknown", SMTPD_PEER_PERM, SMTPD_PEER_PERM);
        if (!c->peername_lookup ||
            dns_reverse_name(s->addr, NULL, rev, sizeof(rev)) < 0) {
                cb(s);
                return;
        }
        sess->peer_cb = cb;
        sess->peer = dns_client_name(c->dns, s->addr, c->client_lookup_ms,
                                     peer_done, s);
}
