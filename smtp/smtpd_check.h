/* smtpd_check.h - smtpd's restriction lists and their evaluation
 * Used by: smtpd (connect, HELO, MAIL, RCPT, DATA, end of DATA). Holds
 * Postfix's smtpd_client/helo/sender/relay/recipient/data/
 * end_of_data_restrictions and smtpd_restriction_classes, each parsed at
 * start against one table of restriction names -> handlers (an unknown
 * name, or a Postfix name Yubin does not implement, is a configuration
 * error naming main.cf's file and line), and runs them as Postfix does:
 * each list in order, first decisive item wins, "permit" ends only its
 * own list, a reject ends everything; access tables may answer with
 * actions (HOLD, DISCARD, REDIRECT, PREPEND, FILTER) kept for the
 * transaction, or with more restrictions. Handlers may be asynchronous
 * (authd, DNS, a policy service): a run is an object that resumes where
 * it stopped. Could-not-tell is a 4xx, never a permit. Also the client's
 * name at connect (reverse DNS, forward-confirmed) and the recipient's
 * resolved form (percent hack, bang paths, source routes, as Postfix's
 * trivial-rewrite resolves them). Runs as mail_owner. */
#ifndef YUBIN_SMTPD_CHECK_H
#define YUBIN_SMTPD_CHECK_H

#include <stddef.h>

#include "status.h"

struct cfg;
struct smtpd_server;
struct smtpd_session;
struct smtpd_checks;
struct smtpd_check_run;

enum smtpd_stage {
        SMTPD_STAGE_CLIENT,
        SMTPD_STAGE_HELO,
        SMTPD_STAGE_SENDER,
        SMTPD_STAGE_RELAY,
        SMTPD_STAGE_RECIPIENT,
        SMTPD_STAGE_DATA,
        SMTPD_STAGE_EOD,        /* smtpd_end_of_data_restrictions */
        SMTPD_STAGE_COUNT
};

/* verdicts of a whole run */
#define SMTPD_PASSED    0
#define SMTPD_REJECTED  1

/* What the client's name look-up found (Postfix's name status codes). */
#define SMTPD_PEER_OK           2
#define SMTPD_PEER_TEMP         4
#define SMTPD_PEER_PERM         5
#define SMTPD_PEER_FORGED       6

/* done - the run's verdict; reply is the full reply ("554 5.7.1 ...")
 * when rejected (borrowed for the call), else NULL */
typedef void smtpd_check_done_fn(struct smtpd_session *s, int verdict,
                                 const char *reply);

/* smtpd_checks_load - parse the restriction lists and classes of
 * srv->cfg, open their tables, the DNS resolver (dns_servers) and the
 * header/body check tables. Returns 0 with a new set in *c_r (free with
 * smtpd_checks_free()), or -1 with st (5.3.5) naming the file and line of
 * the parameter: an unknown or unimplemented name, a missing argument, a
 * table that cannot be opened, or relay and recipient lists that would
 * make an open relay. */
int smtpd_checks_load(struct smtpd_server *srv, struct smtpd_checks **c_r,
                      struct status *st);
void smtpd_checks_free(struct smtpd_checks **cp);
/* smtpd_check_empty - 1 if the list of stage has no items */
int smtpd_check_empty(const struct smtpd_checks *c, enum smtpd_stage stage);

/* smtpd_check_start - evaluate the lists from first to last for s (the
 * recipient in question is s->pending.addr at RCPT, the only recipient at
 * DATA) and call done exactly once: maybe before this returns, maybe
 * later from the loop. s->check holds the run meanwhile. */
void smtpd_check_start(struct smtpd_session *s, enum smtpd_stage first,
                       enum smtpd_stage last, smtpd_check_done_fn *done);
/* smtpd_check_cancel - stop a run without calling done; clears *runp;
 * accepts NULL */
void smtpd_check_cancel(struct smtpd_check_run **runp);

/* smtpd_check_destination - is addr one this server may receive from
 * anyone (Postfix's permit_auth_destination: a local, virtual or
 * relay_domains destination, not source-routed)? 1 yes, 0 no, -1 could
 * not tell */
int smtpd_check_destination(const struct smtpd_session *s, const char *addr);

/* smtpd_check_resolved - addr as Postfix's resolver rewrites it before
 * routing (a local domain's "user%host" or "host!user" becomes
 * user@host, trailing dots and local source routes go); the form to
 * queue and to look up. Returns a new string (free with free()). */
char *smtpd_check_resolved(const struct smtpd_session *s, const char *addr);

/* smtpd_check_addr_ok - 0 when addr resolves to a malformed domain
 * (Postfix's smtpd_check_addr(): "501 5.1.3 Bad recipient address
 * syntax" before any restriction), else 1; "" is fine */
int smtpd_check_addr_ok(const struct smtpd_session *s, const char *addr);

/* smtpd_check_default_mynetworks - mynetworks as Postfix computes when
 * main.cf does not set it, from mynetworks_style: host (this host's
 * addresses), subnet (their networks), class (their class A/B/C networks;
 * IPv6 as subnet). Returns a new string (free with free()). */
char *smtpd_check_default_mynetworks(struct cfg *cfg);

/* smtpd_check_rcpt_listed - 1 when the recipient restrictions already
 * ran reject_unlisted_recipient for the pending recipient */
int smtpd_check_rcpt_listed(const struct smtpd_session *s);

/* smtpd_check_peer - look up the client's name (smtpd_peername_lookup,
 * within smtpd_client_lookup_timeout), fill s->name, s->reverse_name,
 * their statuses and s->client, then call cb(s): later from the loop, or
 * at once when look-ups are off */
void smtpd_check_peer(struct smtpd_session *s,
                      void (*cb)(struct smtpd_session *s));

/* smtpd_check_pipelining - the command verb was read while more input
 * was already waiting: remember improper pipelining (for
 * reject_unauth_pipelining) and log it once, as Postfix does */
void smtpd_check_pipelining(struct smtpd_session *s, const char *verb,
                            const char *next, size_t next_len);

/* What access tables, a policy service or header/body checks asked for
 * the current transaction; borrowed from the session. */
struct smtpd_check_actions {
        const char *hold;       /* HOLD: the reason logged, or NULL */
        const char *redirect;   /* REDIRECT: the one recipient, or NULL */
        int discard;            /* DISCARD: accept, then throw away */
        char *const *prepend;   /* PREPEND header lines, in order */
        size_t prepend_count;
};

/* smtpd_check_actions - the transaction's actions (never NULL) */
const struct smtpd_check_actions *
smtpd_check_actions(const struct smtpd_session *s);
/* smtpd_check_hold, smtpd_check_discard - set an action from the content
 * checks (text borrowed, copied) */
void smtpd_check_hold(struct smtpd_session *s, const char *why);
void smtpd_check_discard(struct smtpd_session *s);
/* smtpd_check_reset - forget the transaction's actions (RSET, the end of
 * a message, a new MAIL) */
void smtpd_check_reset(struct smtpd_session *s);
/* smtpd_check_session_free - cancel the name look-up and free what the
 * restrictions kept for s */
void smtpd_check_session_free(struct smtpd_session *s);

#endif
