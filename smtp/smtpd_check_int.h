/* smtpd_check_int.h - what the smtpd_check*.c modules share
 * Used by: smtpd_check.c (the evaluator and the simple restrictions),
 * smtpd_check_load.c (the restriction table, parsing, classes, tables),
 * smtpd_check_access.c (check_*_access and table results),
 * smtpd_check_simple.c (permit, reject, permit_mynetworks ...),
 * smtpd_check_addr.c (relay control and address checks),
 * smtpd_check_dns.c (DNS-based checks), smtpd_check_peer.c (the client's
 * name), smtpd_check_route.c (Postfix's address resolver),
 * smtpd_check_policy.c (check_policy_service), smtpd_hbc.c (header and
 * body checks). Not for the rest of smtpd: it uses smtpd_check.h. */
#ifndef YUBIN_SMTPD_CHECK_INT_H
#define YUBIN_SMTPD_CHECK_INT_H

#include <stddef.h>

#include "smtpd.h"
#include "smtpd_check.h"

struct authc_req;
struct dns;
struct dns_req;
struct inet_list;
struct loop_timer;
struct maps;
struct smtpd_check_item;
struct smtpd_policy;
struct smtpd_policy_req;
struct smtpd_route;

#define SMTPD_CHECK_DEPTH       32      /* nested classes and table answers */
#define SMTPD_CHECK_TABLES_MAX  256     /* distinct tables in the lists */

/* What one restriction answers. */
enum smtpd_check_status {
        CHK_DUNNO,              /* no opinion: the next one decides */
        CHK_OK,                 /* permit: this list is done */
        CHK_REJECT,             /* run->reply holds the reply */
        CHK_PENDING,            /* it asked someone; smtpd_check_resume()
                                 * follows */
        CHK_NESTED,             /* it pushed a list to run first */
};

/* Names and classes in replies, as Postfix's (SMTPD_NAME_*). */
#define CHK_CLIENT      "Client host"
#define CHK_REV_CLIENT  "Unverified Client host"
#define CHK_HELO        "Helo command"
#define CHK_SENDER      "Sender address"
#define CHK_RECIPIENT   "Recipient address"
#define CHK_DATA        "Data command"
#define CHK_EOD         "End-of-data"
#define CHK_SASL        "SASL login name"

/* The kinds of argument a restriction takes. */
enum smtpd_check_arg {
        CHK_ARG_NONE,
        CHK_ARG_TABLE,          /* type:name */
        CHK_ARG_DOMAIN,         /* a DNS list domain[=d.d.d.d] */
        CHK_ARG_POLICY,         /* inet:host:port, unix:path, or { ... } */
        CHK_ARG_SECONDS,        /* sleep */
};

struct smtpd_check_run;
typedef enum smtpd_check_status smtpd_check_fn(struct smtpd_check_run *run,
        const struct smtpd_check_item *it);

/* One row of the restriction table (smtpd_check_load.c). */
struct smtpd_check_def {
        const char *name;
        smtpd_check_fn *fn;
        enum smtpd_check_arg arg;
        int closes_relay;       /* can refuse a foreign recipient */
};

struct smtpd_check_list;

/* One item of a list: a restriction with its argument, or a class. */
struct smtpd_check_item {
        const struct smtpd_check_def *def;      /* NULL for a class */
        const struct smtpd_check_list *cls;     /* the class's list */
        char *word;                             /* as written */
        char *arg;                              /* argument or NULL */
        struct maps *table;                     /* CHK_ARG_TABLE (shared) */
        int pattern;                            /* table of patterns:
                                                 * full keys only */
        struct smtpd_policy *policy;            /* CHK_ARG_POLICY (shared) */
};

struct smtpd_check_list {
        char *name;             /* parameter or class name */
        char *where;            /* "main.cf:12" or NULL */
        struct smtpd_check_item *items;
        size_t count;
};

/* A table opened once for every list that names it. */
struct smtpd_check_table {
        char *spec;
        struct maps *maps;
};

struct smtpd_checks {
        struct smtpd_server *srv;
        struct smtpd_check_list lists[SMTPD_STAGE_COUNT];
        struct smtpd_check_list *classes;
        size_t class_count;
        struct smtpd_check_list implicit_sender;  /* reject_unlisted_sender
                                                   * when the parameter
                                                   * asks for it */
        struct smtpd_check_table *tables;
        size_t table_count;
        struct smtpd_policy **policies;
        size_t policy_count;
        struct smtpd_route *route;
        struct dns *dns;
        struct maps *rbl_reply_maps;
        struct maps *sender_login_maps;
        const char *default_rbl_reply;
        const char *null_key;           /* smtpd_null_access_lookup_key */
        char **permit_log;              /* smtpd_log_access_permit_actions */
        size_t permit_log_count;
        long long reject_code, defer_code, relay_code;
        long long map_reject_code, map_defer_code;
        long long unknown_client_code, unknown_name_code, unknown_addr_code;
        long long bad_name_code, non_fqdn_code, rbl_code, plaintext_code;
        long long mul_rcpt_code, local_rcpt_code, virt_alias_code;
        long long virt_mailbox_code;
        long long client_lookup_ms;     /* smtpd_client_lookup_timeout */
        int name_tf_defer;      /* unknown_helo_hostname_tempfail_action is
                                 * defer_if_permit */
        int addr_tf_defer;      /* likewise unknown_address_tempfail_action */
        int parent_match;       /* smtpd_access_maps in
                                 * parent_domain_matches_subdomains */
        int allow_untrusted_routing, soft_bounce, peername_lookup;
        int sasl_enable, show_table;
        struct maps *header_checks, *mime_header_checks, *body_checks;
        struct maps *nested_header_checks;
        long long body_checks_limit;
        size_t mime_depth;              /* multipart levels followed; 0:
                                         * disable_mime_input_processing */
        size_t mime_boundary_max;       /* longest boundary followed */
};

/* defer_if_permit / defer_if_reject: the reply kept for later */
struct smtpd_check_defer {
        int active;
        char reply[SMTPD_REPLY_MAX];
};

/* One list being walked. */
struct smtpd_check_frame {
        const struct smtpd_check_list *list;
        size_t pos;
        struct smtpd_check_list *owned;         /* parsed from a table's
                                                 * answer; freed on pop */
        const char *reply_name, *reply_class;   /* for "reject" & co. */
        const char *def_acl;                    /* what a bare table means */
        int suspicious;                         /* OK counts as DUNNO (a
                                                 * source-routed recipient) */
};

struct smtpd_check_run {
        struct smtpd_session *s;
        struct smtpd_checks *c;
        enum smtpd_stage stage, last;
        int phase;                      /* 0: stage list, 1: implicit */
        smtpd_check_done_fn *done;
        struct smtpd_check_frame frames[SMTPD_CHECK_DEPTH];
        int depth;
        int warn;                       /* warn_if_reject: the depth that
                                         * set it, 0 none */
        struct smtpd_check_defer dip, dir;
        const char *rcpt;               /* the recipient in question */
        /* a step under way */
        struct authc_req *authc;
        struct dns_req *dns;
        struct smtpd_policy_req *policy;
        struct loop_timer *timer;
        const struct smtpd_check_item *item;    /* the pending item */
        void *step;                             /* its state */
        char reply[SMTPD_REPLY_MAX];
};

/* Per-session state (s->chk), made when first needed. */
struct smtpd_check_sess {
        struct dns_req *peer;           /* the name look-up under way */
        void (*peer_cb)(struct smtpd_session *s);
        struct smtpd_check_defer dip_saved;     /* from client/helo/sender
                                                 * runs at their command */
        int rcpt_listed;                /* reject_unlisted_recipient ran */
        int sender_listed;
        unsigned long txn;              /* transactions so far (the
                                         * policy "instance") */
        char *hold, *redirect;
        int discard;
        char **prepend;
        size_t prepend_count;
        struct smtpd_check_actions view;
};

/* --- smtpd_check.c --- */

/* smtpd_check_reject - a reply "CODE DSN TEXT" as Postfix forms it (bad
 * codes replaced, the DSN's class made the code's, soft_bounce, an
 * earlier defer_if_reject, warn_if_reject logging instead); returns
 * CHK_REJECT (reply in run->reply) or CHK_DUNNO */
enum smtpd_check_status smtpd_check_reject(struct smtpd_check_run *run,
                                           long long code, const char *dsn,
                                           const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* smtpd_check_defer_if - remember a reply in d (the first one wins);
 * CHK_DUNNO */
enum smtpd_check_status smtpd_check_defer_if(struct smtpd_check_run *run,
                                             struct smtpd_check_defer *d,
                                             long long code, const char *dsn,
                                             const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
/* smtpd_check_defer_if_permit - Postfix's DEFER_IF_PERMIT: remember for
 * later when defer_action is set and warn_if_reject is not, else reject */
enum smtpd_check_status smtpd_check_defer_if_permit(
        struct smtpd_check_run *run, int defer_action, long long code,
        const char *dsn, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
/* smtpd_check_dsn_fix - an X.1.Y address status for what is rejected */
const char *smtpd_check_dsn_fix(const char *status, const char *class);
/* smtpd_check_tempfail - "451 4.3.0 <name>: Temporary lookup failure" */
enum smtpd_check_status smtpd_check_tempfail(struct smtpd_check_run *run,
                                             const char *name);
/* smtpd_check_server_error - "451 4.3.5 Server configuration error" */
enum smtpd_check_status smtpd_check_server_error(struct smtpd_check_run *run);
/* smtpd_check_push - run list next (nested in the current item); list
 * may be owned (freed when done). Returns CHK_NESTED, or a server error
 * when the nesting is too deep. */
enum smtpd_check_status smtpd_check_push(struct smtpd_check_run *run,
                                         const struct smtpd_check_list *l,
                                         struct smtpd_check_list *owned,
                                         const char *reply_name,
                                         const char *reply_class,
                                         int suspicious);
/* smtpd_check_resume - the pending item answered status: go on */
void smtpd_check_resume(struct smtpd_check_run *run,
                        enum smtpd_check_status status);
/* smtpd_check_frame - the innermost list being walked */
struct smtpd_check_frame *smtpd_check_frame(struct smtpd_check_run *run);
/* smtpd_check_sess - s->chk, made when missing */
struct smtpd_check_sess *smtpd_check_sess(struct smtpd_session *s);
/* smtpd_check_where - "RCPT", "MAIL", ... for log lines of this run */
const char *smtpd_check_where(const struct smtpd_check_run *run);
/* smtpd_check_log - "ID: ACTION: WHERE from CLIENT: TEXT; from=<> ..." */
void smtpd_check_log(struct smtpd_check_run *run, const char *action,
                     const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* smtpd_check_permit - an OK, logged when the action is in
 * smtpd_log_access_permit_actions */
enum smtpd_check_status smtpd_check_permit(struct smtpd_check_run *run,
                                           const char *action,
                                           const char *class,
                                           const char *name);

/* --- smtpd_check_load.c --- */

/* smtpd_check_parse - items of value (a list's text) into *l; tables
 * opened through c unless runtime (an access table's answer, where a
 * table is a server error). Returns 0, or -1 with st naming what, at
 * where ("main.cf:12" or NULL). */
int smtpd_check_parse(struct smtpd_checks *c, const char *value,
                      const char *name, const char *where, int runtime,
                      struct smtpd_check_list *l, struct status *st);
void smtpd_check_list_free(struct smtpd_check_list *l);
/* smtpd_check_find_class - the class called name, or NULL */
const struct smtpd_check_list *smtpd_check_find_class(
        const struct smtpd_checks *c, const char *name);

/* --- the restrictions, by module --- */

smtpd_check_fn smtpd_check_permit_all, smtpd_check_reject_all,
        smtpd_check_defer_all, smtpd_check_dip, smtpd_check_dir,
        smtpd_check_sleep, smtpd_check_plaintext, smtpd_check_unauth_pipe,
        smtpd_check_mynetworks, smtpd_check_interfaces, smtpd_check_sasl,
        smtpd_check_pbs, smtpd_check_mul_bounce;

smtpd_check_fn smtpd_check_client_access, smtpd_check_reverse_access,
        smtpd_check_helo_access, smtpd_check_sender_access,
        smtpd_check_rcpt_access, smtpd_check_sasl_access;
smtpd_check_fn smtpd_check_permit_auth_dest, smtpd_check_reject_unauth_dest,
        smtpd_check_defer_unauth_dest, smtpd_check_non_fqdn_helo,
        smtpd_check_invalid_helo, smtpd_check_non_fqdn_sender,
        smtpd_check_non_fqdn_rcpt, smtpd_check_unlisted_sender,
        smtpd_check_unlisted_rcpt, smtpd_check_login_mismatch,
        smtpd_check_auth_login_mismatch, smtpd_check_known_login_mismatch,
        smtpd_check_unauth_login_mismatch;
smtpd_check_fn smtpd_check_unknown_helo, smtpd_check_unknown_sender,
        smtpd_check_unknown_rcpt, smtpd_check_unknown_client,
        smtpd_check_unknown_reverse,
        smtpd_check_rbl_client, smtpd_check_rhsbl_client,
        smtpd_check_rhsbl_reverse, smtpd_check_rhsbl_helo,
        smtpd_check_rhsbl_sender, smtpd_check_rhsbl_rcpt,
        smtpd_check_dnswl_client, smtpd_check_rhswl_client;
smtpd_check_fn smtpd_check_policy_service;

/* smtpd_check_invalid_literal - a HELO "[address]" must hold a valid
 * address (Postfix's reject_invalid_hostaddr) */
enum smtpd_check_status smtpd_check_invalid_literal(
        struct smtpd_check_run *run, const char *helo);

/* smtpd_check_table_result - what an access table's value means (OK,
 * REJECT text, actions, restrictions, ...); datum names the key for
 * messages */
enum smtpd_check_status smtpd_check_table_result(struct smtpd_check_run *run,
        const char *table, const char *value, const char *datum,
        const char *reply_name, const char *reply_class, int suspicious);

/* --- smtpd_check_policy.c --- */

/* smtpd_policy_new - a client for the service spec (inet:host:port,
 * unix:path, or "{ address, name = value ... }"), with defaults from
 * cfg; NULL with st for a malformed spec */
struct smtpd_policy *smtpd_policy_new(struct smtpd_server *srv,
                                      const char *spec, struct status *st);
void smtpd_policy_free(struct smtpd_policy **pp);
/* smtpd_policy_spec - the spec it was made from (borrowed) */
const char *smtpd_policy_spec(const struct smtpd_policy *p);
/* smtpd_policy_cancel - forget the request; no callback follows */
void smtpd_policy_cancel(struct smtpd_policy_req **rp);

/* --- smtpd_check_route.c --- */

/* What Postfix's resolver says about an address. */
#define ROUTE_LOCAL     1       /* mydestination, our addresses */
#define ROUTE_ALIAS     2       /* virtual_alias_domains */
#define ROUTE_VIRTUAL   4       /* virtual_mailbox_domains */
#define ROUTE_RELAY     8       /* relay_domains */
#define ROUTE_DEFAULT   16      /* anywhere else */
#define ROUTE_FINAL     (ROUTE_LOCAL | ROUTE_ALIAS | ROUTE_VIRTUAL)
#define ROUTE_ROUTED    32      /* routing operators left in the local part */
#define ROUTE_ERROR     64      /* the domain is malformed */
#define ROUTE_FAIL      128     /* a table could not tell */

/* smtpd_route_open - the resolver's settings from srv's cfg and lists;
 * NULL with st */
struct smtpd_route *smtpd_route_open(struct smtpd_server *srv,
                                     struct status *st);
void smtpd_route_free(struct smtpd_route **rp);
/* smtpd_route_resolve - addr (internal form) as Postfix's resolver sees
 * it: ROUTE_* flags, and the resolved address in *addr_r (new string;
 * free with free()) */
int smtpd_route_resolve(const struct smtpd_route *r, const char *addr,
                        char **addr_r);
/* smtpd_route_local_name - $myhostname when it is a local domain, else
 * NULL (borrowed) */
char *smtpd_route_local_name(const struct smtpd_route *r);
/* smtpd_route_own_addr - 1 if ip (textual) is one of this host's
 * inet_interfaces/proxy_interfaces addresses */
int smtpd_route_own_addr(const struct smtpd_route *r, const char *ip);

#endif
