/* smtpd_check.h - smtpd's restriction lists and their evaluation
 * Used by: smtpd (connect, HELO, MAIL, RCPT, DATA). Holds Postfix's
 * smtpd_client/helo/sender/relay/recipient/data_restrictions, each parsed
 * at start against one table of restriction names -> handlers (a name the
 * table lacks is a configuration error naming the parameter), and runs
 * them as Postfix does: each list in order, first decisive item wins,
 * "permit" ends only its own list, a reject ends everything. Handlers may
 * be asynchronous (permit_pop_before_smtp asks authd): a run is an object
 * that resumes where it stopped. Could-not-tell is a 4xx, never a permit.
 * The restriction issue adds the rest of the language as more rows. */
#ifndef YUBIN_SMTPD_CHECK_H
#define YUBIN_SMTPD_CHECK_H

#include "status.h"

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
        SMTPD_STAGE_COUNT
};

/* verdicts of a whole run */
#define SMTPD_PASSED    0
#define SMTPD_REJECTED  1

/* done - the run's verdict; reply is the full reply ("554 5.7.1 ...")
 * when rejected (borrowed for the call), else NULL */
typedef void smtpd_check_done_fn(struct smtpd_session *s, int verdict,
                                 const char *reply);

/* smtpd_checks_load - parse the restriction lists of srv->cfg. Returns 0
 * with a new set in *c_r (free with smtpd_checks_free()), or -1 with st
 * (5.3.5) naming the parameter: an unsupported name, a missing argument,
 * or relay and recipient lists that would make an open relay. */
int smtpd_checks_load(struct smtpd_server *srv, struct smtpd_checks **c_r,
                      struct status *st);
void smtpd_checks_free(struct smtpd_checks **cp);
/* smtpd_check_empty - 1 if the list of stage has no items */
int smtpd_check_empty(const struct smtpd_checks *c, enum smtpd_stage stage);

/* smtpd_check_start - evaluate the lists from first to last for s (the
 * recipient in question is s->pending.addr) and call done exactly once:
 * maybe before this returns, maybe later from the loop. s->check holds
 * the run meanwhile. */
void smtpd_check_start(struct smtpd_session *s, enum smtpd_stage first,
                       enum smtpd_stage last, smtpd_check_done_fn *done);
/* smtpd_check_cancel - stop a run without calling done; clears *runp;
 * accepts NULL */
void smtpd_check_cancel(struct smtpd_check_run **runp);

/* smtpd_check_destination - is addr's domain one this server takes mail
 * for (mydestination, virtual alias and mailbox domains, relay_domains,
 * our own address literal)? 1 yes, 0 no, -1 could not tell */
int smtpd_check_destination(const struct smtpd_session *s, const char *addr);

#endif
