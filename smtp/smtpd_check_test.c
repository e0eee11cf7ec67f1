/* smtpd_check_test.c - restriction lists: loading (unknown and
 * unimplemented names, arguments, classes, open relays: configuration
 * errors naming main.cf's file and line) and evaluation, stage by stage,
 * with Postfix's replies: relay control, access tables and their
 * answers, classes, warn_if_reject, defer_if_permit/defer_if_reject,
 * syntax checks, the client's name, sender login maps. DNS and policy
 * services are exercised by tests/proto/test_restrict*.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "authc.h"
#include "cfg.h"
#include "domain_list.h"
#include "loop.h"
#include "resolve.h"
#include "smtpd.h"
#include "smtpd_check.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int verdict_got;
static char reply_got[SMTPD_REPLY_MAX];

static void done(struct smtpd_session *s, int verdict, const char *reply)
{
        verdict_got = verdict;
        snprintf(reply_got, sizeof(reply_got), "%s", reply ? reply : "");
        loop_exit();
}

/* The settings every case starts from (main.cf text). */
static const char base[] =
        "myhostname = mail.example.com\n"
        "mydestination = mail.example.com, localhost\n"
        "virtual_mailbox_domains = example.com\n"
        "relay_domains = relayed.example\n"
        "inet_interfaces = loopback-only\n"
        "alias_maps =\n"
        "smtpd_peername_lookup = no\n"
        "dns_servers = 127.0.0.1:1\n"
        "smtpd_relay_restrictions = permit_mynetworks,\n"
        "    permit_sasl_authenticated, defer_unauth_destination\n";

struct fixture {
        struct smtpd_server srv;
        struct smtpd_session s;
        struct status st;
};

/* setup - main.cf = base + more; 0, or -1 with f->st from the load */
static int setup(struct fixture *f, const char *more)
{
        char *text = NULL;
        int ret;

        memset(f, 0, sizeof(*f));
        f->srv.cfg = cfg_new("/nonexistent");
        if (asprintf(&text, "%s%s", base, more) < 0)
                abort();
        cfg_parse_main(f->srv.cfg, "/etc/yubin/main.cf", text, strlen(text));
        free(text);
        loop_init();
        f->srv.authc = authc_new("/nonexistent/authd.socket");
        domain_list_open(f->srv.cfg, "mydestination", &f->srv.mydestination,
                         &f->st);
        domain_list_open(f->srv.cfg, "virtual_mailbox_domains",
                         &f->srv.virtual_mailbox_domains, &f->st);
        domain_list_open(f->srv.cfg, "relay_domains", &f->srv.relay_domains,
                         &f->st);
        f->srv.recipient_delimiter = "+";
        if (resolve_open(f->srv.cfg, &f->srv.resolve, &f->st) < 0)
                return -1;
        ret = smtpd_checks_load(&f->srv, &f->srv.checks, &f->st);
        f->s.srv = &f->srv;
        snprintf(f->s.client, sizeof(f->s.client), "unknown[192.0.2.9]");
        snprintf(f->s.addr, sizeof(f->s.addr), "192.0.2.9");
        f->s.name = "unknown";
        f->s.reverse_name = "unknown";
        f->s.name_status = f->s.reverse_status = SMTPD_PEER_PERM;
        f->s.cur_cmd = -1;
        return ret;
}

static void teardown(struct fixture *f)
{
        smtpd_check_session_free(&f->s);
        smtpd_checks_free(&f->srv.checks);
        resolve_free(&f->srv.resolve);
        authc_free(&f->srv.authc);
        loop_free();
        domain_list_free(&f->srv.mydestination);
        domain_list_free(&f->srv.virtual_mailbox_domains);
        domain_list_free(&f->srv.relay_domains);
        cfg_free(&f->srv.cfg);
}

struct lcase {
        const char *name;
        const char *more;       /* main.cf lines after base */
        const char *want;       /* a text of the error, or NULL: loads */
};

static void test_load(void **state)
{
        static const struct lcase cases[] = {
                { "default", "", NULL },
                { "unknown name, file and line",
                  "smtpd_recipient_restrictions = permit_mynetworks,\n"
                  "  frobnicate\n",
                  "/etc/yubin/main.cf:11: smtpd_recipient_restrictions: "
                  "unknown restriction \"frobnicate\"" },
                { "postfix name not implemented",
                  "smtpd_client_restrictions = permit_mx_backup\n",
                  "main.cf:11: smtpd_client_restrictions: "
                  "\"permit_mx_backup\" is a Postfix restriction that Yubin "
                  "does not implement" },
                { "missing argument",
                  "smtpd_sender_restrictions = check_sender_access\n",
                  "\"check_sender_access\" needs an argument" },
                { "bad argument",
                  "smtpd_client_restrictions = reject_rbl_client hash:/x\n",
                  "needs a DNS list domain" },
                { "missing table names file and line",
                  "smtpd_helo_restrictions = check_helo_access "
                  "hash:/nonexistent/access\n",
                  "main.cf:11: smtpd_helo_restrictions: hash:/nonexistent/"
                  "access: open /nonexistent/access" },
                { "open relay",
                  "smtpd_relay_restrictions = permit_mynetworks\n",
                  "or this server is an open relay" },
                { "recipient list closes",
                  "smtpd_relay_restrictions =\n"
                  "smtpd_recipient_restrictions = permit_mynetworks, "
                  "reject_unauth_destination\n", NULL },
                { "class closes", "smtpd_restriction_classes = c1, c2\n"
                  "c1 = c2\nc2 = reject\nsmtpd_relay_restrictions = c1\n",
                  NULL },
                { "class needs definition",
                  "smtpd_restriction_classes = nothere\n",
                  "restriction class \"nothere\" needs a definition" },
                { "unknown name in a class",
                  "smtpd_restriction_classes = c1\nc1 = permit_all_of_it\n",
                  "main.cf:12: c1: unknown restriction \"permit_all_of_it\"" },
                { "bad dns_servers", "dns_servers = nowhere\n",
                  "dns_servers: bad server \"nowhere\"" },
                { "policy service needs an address",
                  "smtpd_recipient_restrictions = check_policy_service "
                  "inet:127.0.0.1, reject\n", "inet:127.0.0.1" },
        };

        for (size_t i = 0; i < COUNT(cases); i++) {
                struct fixture f;
                int ret = setup(&f, cases[i].more);

                if (cases[i].want == NULL && ret != 0)
                        fail_msg("case %s: got error \"%s\", want none",
                                 cases[i].name, f.st.text);
                if (cases[i].want != NULL &&
                    (ret == 0 || strstr(f.st.text, cases[i].want) == NULL))
                        fail_msg("case %s: got %d \"%s\", want \"%s\"",
                                 cases[i].name, ret, ret ? f.st.text : "",
                                 cases[i].want);
                teardown(&f);
        }
}

#define TEXT_MAX 160

struct ecase {
        const char *name;
        const char *more;       /* main.cf lines after base */
        int mynetworks;         /* 1 in, 0 out, -1 could not tell */
        const char *sasl;       /* the SASL login, or NULL */
        const char *helo;
        const char *sender;     /* NULL: no MAIL yet */
        const char *rcpt;
        int flags;              /* F_* below */
        const char *want;       /* "" passes, else the reply */
};

#define F_PIPELINING    1       /* the client pipelined improperly */
#define F_NAME_OK       2       /* the client's name is known */
#define F_ONE_RCPT      4       /* one recipient was taken already */
#define F_HOLD          8       /* want: a HOLD action was kept */
#define F_DISCARD       16      /* want: a DISCARD action was kept */

static const struct ecase ecases[] = {
        /* relay control */
        { "mynetworks relays", "", 1, NULL, NULL, "a@b.example",
          "x@remote.example", 0, "" },
        { "relay denied", "", 0, NULL, NULL, "a@b.example",
          "x@remote.example", 0,
          "454 4.7.1 <x@remote.example>: Relay access denied" },
        { "reject_unauth_destination",
          "smtpd_relay_restrictions = reject_unauth_destination\n", 0, NULL,
          NULL, "a@b.example", "x@remote.example", 0,
          "554 5.7.1 <x@remote.example>: Relay access denied" },
        { "sasl relays", "", 0, "ann", NULL, "a@b.example",
          "x@remote.example", 0, "" },
        { "virtual domain", "", 0, NULL, NULL, "a@b.example",
          "ann@Example.COM", 0, "" },
        { "relay_domains", "", 0, NULL, NULL, "a@b.example",
          "x@relayed.example", 0, "" },
        { "bare postmaster before anything",
          "smtpd_client_restrictions = reject\n", 0, NULL, NULL,
          "a@b.example", "postmaster", 0, "" },
        { "percent hack through a local domain", "", 0, NULL, NULL,
          "a@b.example", "x%remote.example@mail.example.com", 0,
          "454 4.7.1 <x%remote.example@mail.example.com>: Relay access "
          "denied" },
        { "percent in a virtual domain is routed", "", 0, NULL, NULL,
          "a@b.example", "x%remote.example@example.com", 0,
          "454 4.7.1 <x%remote.example@example.com>: Relay access denied" },
        { "allow_untrusted_routing",
          "allow_untrusted_routing = yes\n", 0, NULL, NULL, "a@b.example",
          "x%remote.example@example.com", 0, "" },
        { "our own address literal", "", 0, NULL, NULL, "a@b.example",
          "root@[127.0.0.1]", 0, "" },
        { "another host's literal", "", 0, NULL, NULL, "a@b.example",
          "root@[192.0.2.1]", 0,
          "454 4.7.1 <root@[192.0.2.1]>: Relay access denied" },
        /* the core items */
        { "client reject (delayed to RCPT)",
          "smtpd_client_restrictions = permit_mynetworks, reject\n", 0, NULL,
          NULL, "a@b.example", "ann@example.com", 0,
          "554 5.7.1 <unknown[192.0.2.9]>: Client host rejected: Access "
          "denied" },
        { "permit ends only its own list",
          "smtpd_client_restrictions = permit\n"
          "smtpd_recipient_restrictions = permit_mynetworks, reject\n", 0,
          NULL, NULL, "a@b.example", "ann@example.com", 0,
          "554 5.7.1 <ann@example.com>: Recipient address rejected: Access "
          "denied" },
        { "defer", "smtpd_recipient_restrictions = defer\n", 0, NULL, NULL,
          "a@b.example", "ann@example.com", 0,
          "450 4.3.2 <ann@example.com>: Recipient address rejected: Try "
          "again later" },
        { "sender reject names the sender",
          "smtpd_sender_restrictions = reject\n", 0, NULL, NULL,
          "a@b.example", "ann@example.com", 0,
          "554 5.7.1 <a@b.example>: Sender address rejected: Access "
          "denied" },
        { "pbs: authd down is no permit",
          "smtpd_relay_restrictions = permit_pop_before_smtp, "
          "reject_unauth_destination\n", 0, NULL, NULL, "a@b.example",
          "x@remote.example", 0,
          "451 4.3.0 <x@remote.example>: Recipient address rejected: "
          "Temporary lookup failure" },
        { "mynetworks unsure", "", -1, NULL, NULL, "a@b.example",
          "x@remote.example", 0,
          "451 4.3.0 <x@remote.example>: Temporary lookup failure" },
        { "soft_bounce", "soft_bounce = yes\n"
          "smtpd_recipient_restrictions = reject\n", 0, NULL, NULL,
          "a@b.example", "ann@example.com", 0,
          "454 4.7.1 <ann@example.com>: Recipient address rejected: Access "
          "denied" },
        { "reject_code", "reject_code = 550\n"
          "smtpd_recipient_restrictions = reject\n", 0, NULL, NULL,
          "a@b.example", "ann@example.com", 0,
          "550 5.7.1 <ann@example.com>: Recipient address rejected: Access "
          "denied" },
        /* access tables */
        { "recipient REJECT", "smtpd_recipient_restrictions = "
          "check_recipient_access inline:{ann@example.com=REJECT}\n", 0,
          NULL, NULL, "a@b.example", "ann@example.com", 0,
          "554 5.7.1 <ann@example.com>: Recipient address rejected: Access "
          "denied" },
        { "REJECT with DSN and text", "smtpd_recipient_restrictions = "
          "check_recipient_access inline:{{ann@example.com=REJECT 5.7.0 no "
          "mail}}\n", 0, NULL, NULL, "a@b.example", "ann@example.com", 0,
          "554 5.7.0 <ann@example.com>: Recipient address rejected: no "
          "mail" },
        { "NNN text, extension stripped", "smtpd_recipient_restrictions = "
          "check_recipient_access inline:{{ann@example.com=550 gone}}\n", 0,
          NULL, NULL, "a@b.example", "ann+tag@example.com", 0,
          "550 5.7.1 <ann+tag@example.com>: Recipient address rejected: "
          "gone" },
        { "4NN with an address DSN", "smtpd_recipient_restrictions = "
          "check_recipient_access inline:{{example.com=450 4.1.8 later}}\n",
          0, NULL, NULL, "a@b.example", "ann@example.com", 0,
          "450 4.1.2 <ann@example.com>: Recipient address rejected: "
          "later" },
        { "DEFER", "access_map_defer_code = 451\n"
          "smtpd_recipient_restrictions = check_recipient_access "
          "inline:{ann@=DEFER}\n", 0, NULL, NULL, "a@b.example",
          "ann@example.com", 0,
          "451 4.7.1 <ann@example.com>: Recipient address rejected: Access "
          "denied" },
        { "parent domain", "smtpd_sender_restrictions = check_sender_access "
          "inline:{example.net=REJECT}\n", 0, NULL, NULL,
          "a@mx.sub.example.net", "ann@example.com", 0,
          "554 5.7.1 <a@mx.sub.example.net>: Sender address rejected: "
          "Access denied" },
        { ".parent without parent matching",
          "parent_domain_matches_subdomains =\n"
          "smtpd_sender_restrictions = check_sender_access "
          "inline:{.example.net=REJECT}\n", 0, NULL, NULL,
          "a@mx.sub.example.net", "ann@example.com", 0,
          "554 5.7.1 <a@mx.sub.example.net>: Sender address rejected: "
          "Access denied" },
        { "OK relays", "smtpd_relay_restrictions = check_recipient_access "
          "inline:{x@remote.example=OK}, reject_unauth_destination\n", 0,
          NULL, NULL, "a@b.example", "x@remote.example", 0, "" },
        { "OK for a routed address does not relay",
          "smtpd_relay_restrictions = check_recipient_access "
          "inline:{example.com=OK}, reject_unauth_destination\n", 0, NULL,
          NULL, "a@b.example", "x%remote.example@example.com", 0,
          "554 5.7.1 <x%remote.example@example.com>: Relay access denied" },
        { "client network prefix", "smtpd_client_restrictions = "
          "check_client_access inline:{192.0.2=REJECT}\n", 0, NULL, NULL,
          "a@b.example", "ann@example.com", 0,
          "554 5.7.1 <unknown[192.0.2.9]>: Client host rejected: Access "
          "denied" },
        { "DUNNO ends the look-up", "smtpd_client_restrictions = "
          "check_client_access inline:{192.0.2.9=DUNNO}, reject\n", 0, NULL,
          NULL, "a@b.example", "ann@example.com", 0,
          "554 5.7.1 <unknown[192.0.2.9]>: Client host rejected: Access "
          "denied" },
        { "helo parent domain with text", "smtpd_helo_restrictions = "
          "check_helo_access inline:{{example.net=REJECT bad helo}}\n", 0,
          NULL, "pc.example.net", "a@b.example", "ann@example.com", 0,
          "554 5.7.1 <pc.example.net>: Helo command rejected: bad helo" },
        { "null sender key", "smtpd_sender_restrictions = "
          "check_sender_access inline:{<>=REJECT}\n", 0, NULL, NULL, "",
          "ann@example.com", 0,
          "554 5.7.1 <>: Sender address rejected: Access denied" },
        { "bare table is the stage's check", "smtpd_sender_restrictions = "
          "inline:{a@b.example=REJECT}\n", 0, NULL, NULL, "a@b.example",
          "ann@example.com", 0,
          "554 5.7.1 <a@b.example>: Sender address rejected: Access "
          "denied" },
        { "answer is a restriction", "smtpd_recipient_restrictions = "
          "check_client_access inline:{192.0.2.9=reject}\n", 0, NULL, NULL,
          "a@b.example", "ann@example.com", 0,
          "554 5.7.1 <unknown[192.0.2.9]>: Client host rejected: Access "
          "denied" },
        { "answer is a class", "smtpd_restriction_classes = strict\n"
          "strict = reject_non_fqdn_sender, permit\n"
          "smtpd_recipient_restrictions = check_recipient_access "
          "inline:{ann@example.com=strict}, reject\n", 0, NULL, NULL,
          "a@localhost", "ann@example.com", 0,
          "504 5.5.2 <a@localhost>: Sender address rejected: need "
          "fully-qualified address" },
        { "class permit ends the list", "smtpd_restriction_classes = ok\n"
          "ok = permit\nsmtpd_recipient_restrictions = check_recipient_access"
          " inline:{ann@example.com=ok}, reject\n", 0, NULL, NULL,
          "a@b.example", "ann@example.com", 0, "" },
        { "a table in an answer", "smtpd_recipient_restrictions = "
          "check_recipient_access inline:{{ann@example.com=check_client_"
          "access hash:/x}}\n", 0, NULL, NULL, "a@b.example",
          "ann@example.com", 0, "451 4.3.5 Server configuration error" },
        { "WARN goes on", "smtpd_recipient_restrictions = "
          "check_recipient_access inline:{{ann@example.com=WARN hm}}\n", 0,
          NULL, NULL, "a@b.example", "ann@example.com", 0, "" },
        { "HOLD is kept", "smtpd_recipient_restrictions = "
          "check_recipient_access inline:{ann@example.com=HOLD}\n", 0, NULL,
          NULL, "a@b.example", "ann@example.com", F_HOLD, "" },
        { "FILTER is never skipped silently", "smtpd_recipient_restrictions"
          " = check_recipient_access inline:{{ann@example.com=FILTER "
          "smtp:[127.0.0.1]:10024}}\n", 0, NULL, NULL, "a@b.example",
          "ann@example.com", 0, "451 4.3.5 Server configuration error" },
        { "DISCARD ends the checks", "smtpd_recipient_restrictions = "
          "check_recipient_access inline:{ann@example.com=DISCARD}, reject\n",
          0, NULL, NULL, "a@b.example", "ann@example.com", F_DISCARD, "" },
        /* warn_if_reject, defer_if_permit, defer_if_reject */
        { "warn_if_reject", "smtpd_recipient_restrictions = warn_if_reject,"
          " reject\n", 0, NULL, NULL, "a@b.example", "ann@example.com", 0,
          "" },
        { "warn_if_reject is for one item", "smtpd_recipient_restrictions ="
          " warn_if_reject, reject_non_fqdn_sender, reject\n", 0, NULL, NULL,
          "a@localhost", "ann@example.com", 0,
          "554 5.7.1 <ann@example.com>: Recipient address rejected: Access "
          "denied" },
        { "defer_if_permit", "smtpd_recipient_restrictions = "
          "defer_if_permit, permit\n", 0, NULL, NULL, "a@b.example",
          "ann@example.com", 0,
          "450 4.7.0 <ann@example.com>: Recipient address rejected: "
          "defer_if_permit requested" },
        { "defer_if_permit, then reject", "smtpd_recipient_restrictions = "
          "defer_if_permit, reject\n", 0, NULL, NULL, "a@b.example",
          "ann@example.com", 0,
          "554 5.7.1 <ann@example.com>: Recipient address rejected: Access "
          "denied" },
        { "defer_if_reject", "smtpd_recipient_restrictions = "
          "defer_if_reject, reject\n", 0, NULL, NULL, "a@b.example",
          "ann@example.com", 0,
          "450 4.7.0 <ann@example.com>: Recipient address rejected: "
          "defer_if_reject requested" },
        /* syntax and names */
        { "non-fqdn recipient", "smtpd_recipient_restrictions = "
          "reject_non_fqdn_recipient\n", 0, NULL, NULL, "a@b.example",
          "ann@localhost", 0,
          "504 5.5.2 <ann@localhost>: Recipient address rejected: need "
          "fully-qualified address" },
        { "invalid helo", "smtpd_helo_restrictions = "
          "reject_invalid_helo_hostname\n", 0, NULL, "a..b", "a@b.example",
          "ann@example.com", 0,
          "501 5.5.2 <a..b>: Helo command rejected: Invalid name" },
        { "invalid helo literal", "smtpd_helo_restrictions = "
          "reject_invalid_hostname\n", 0, NULL, "[192.0.2.999]",
          "a@b.example", "ann@example.com", 0,
          "501 5.5.2 <[192.0.2.999]>: Helo command rejected: invalid ip "
          "address" },
        { "non-fqdn helo", "smtpd_helo_restrictions = "
          "reject_non_fqdn_helo_hostname\n", 0, NULL, "pc", "a@b.example",
          "ann@example.com", 0,
          "504 5.5.2 <pc>: Helo command rejected: need fully-qualified "
          "hostname" },
        { "unknown client", "smtpd_client_restrictions = "
          "reject_unknown_client_hostname\n", 0, NULL, NULL, "a@b.example",
          "ann@example.com", 0,
          "450 4.7.25 Client host rejected: cannot find your hostname, "
          "[192.0.2.9]" },
        { "known client", "smtpd_client_restrictions = "
          "reject_unknown_reverse_client_hostname\n", 0, NULL, NULL,
          "a@b.example", "ann@example.com", F_NAME_OK, "" },
        { "unauth pipelining",
          "smtpd_recipient_restrictions = reject_unauth_pipelining\n", 0,
          NULL, NULL, "a@b.example", "ann@example.com", F_PIPELINING,
          "503 5.5.0 <ann@example.com>: Recipient address rejected: "
          "Improper use of SMTP command pipelining" },
        { "multi-recipient bounce", "smtpd_recipient_restrictions = "
          "reject_multi_recipient_bounce\n", 0, NULL, NULL, "",
          "ann@example.com", F_ONE_RCPT,
          "550 5.5.3 <ann@example.com>: Recipient address rejected: "
          "Multi-recipient bounce" },
        /* unlisted senders and recipients */
        { "reject_unlisted_recipient", "smtpd_recipient_restrictions = "
          "reject_unlisted_recipient, reject\n", 0, NULL, NULL,
          "a@b.example", "nosuchuser@localhost", 0,
          "550 5.1.1 <nosuchuser@localhost>: Recipient address rejected: "
          "User unknown in local recipient table" },
        { "listed recipient", "smtpd_recipient_restrictions = "
          "reject_unlisted_recipient\n", 0, NULL, NULL, "a@b.example",
          "root%localhost@mail.example.com", 0, "" },
        { "smtpd_reject_unlisted_sender", "smtpd_reject_unlisted_sender = "
          "yes\n", 0, NULL, NULL, "nosuchuser@mail.example.com",
          "ann@example.com", 0,
          "550 5.1.0 <nosuchuser@mail.example.com>: Sender address "
          "rejected: User unknown in local recipient table" },
        /* sender login maps */
        { "login mismatch: not owned", "smtpd_sasl_auth_enable = yes\n"
          "smtpd_sender_login_maps = inline:{ann@example.com=ann}\n"
          "smtpd_sender_restrictions = reject_sender_login_mismatch\n", 0,
          "bob", NULL, "ann@example.com", "ann@example.com", 0,
          "553 5.7.1 <ann@example.com>: Sender address rejected: not owned "
          "by user bob" },
        { "login mismatch: not logged in", "smtpd_sasl_auth_enable = yes\n"
          "smtpd_sender_login_maps = inline:{@example.com=ann}\n"
          "smtpd_sender_restrictions = reject_sender_login_mismatch\n", 0,
          NULL, NULL, "zed@example.com", "ann@example.com", 0,
          "553 5.7.1 <zed@example.com>: Sender address rejected: not logged "
          "in" },
        { "login mismatch: owner", "smtpd_sasl_auth_enable = yes\n"
          "smtpd_sender_login_maps = inline:{{ann@example.com=bob, ANN}}\n"
          "smtpd_sender_restrictions = reject_sender_login_mismatch\n", 0,
          "ann", NULL, "ann@example.com", "x@remote.example", 0, "" },
};

static void test_evaluate(void **state)
{
        for (size_t i = 0; i < COUNT(ecases); i++) {
                const struct ecase *c = &ecases[i];
                struct smtpd_rcpt one = { (char *)"bob@example.com", NULL,
                                          0 };
                const struct smtpd_check_actions *a;
                struct fixture f;

                if (setup(&f, c->more) < 0)
                        fail_msg("case %s: load: %s", c->name, f.st.text);
                f.s.in_mynetworks = c->mynetworks;
                f.s.sasl_user = (char *)c->sasl;
                f.s.helo = (char *)c->helo;
                f.s.mail_given = c->sender != NULL;
                f.s.sender = (char *)c->sender;
                f.s.pending.addr = (char *)c->rcpt;
                f.s.ill_pipelining = (c->flags & F_PIPELINING) != 0;
                if (c->flags & F_NAME_OK) {
                        f.s.name = f.s.reverse_name = "client.example.net";
                        f.s.name_status = f.s.reverse_status = SMTPD_PEER_OK;
                }
                if (c->flags & F_ONE_RCPT) {
                        f.s.rcpts = &one;
                        f.s.rcpt_count = 1;
                }
                verdict_got = -1;
                smtpd_check_start(&f.s, SMTPD_STAGE_CLIENT,
                                  SMTPD_STAGE_RECIPIENT, done);
                if (f.s.check != NULL)
                        loop_run();     /* it asked authd */
                assert_null(f.s.check);
                if (verdict_got != (*c->want ? SMTPD_REJECTED : SMTPD_PASSED)
                    || strcmp(reply_got, c->want) != 0)
                        fail_msg("case %s: got %d \"%s\", want \"%s\"",
                                 c->name, verdict_got, reply_got, c->want);
                a = smtpd_check_actions(&f.s);
                if ((a->hold != NULL) != ((c->flags & F_HOLD) != 0) ||
                    a->discard != ((c->flags & F_DISCARD) != 0))
                        fail_msg("case %s: got hold %s discard %d", c->name,
                                 a->hold ? a->hold : "-", a->discard);
                f.s.rcpts = NULL;
                teardown(&f);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_load),
                cmocka_unit_test(test_evaluate),
        };

        return cmocka_run_group_tests_name("smtpd_check", tests, NULL, NULL);
}
