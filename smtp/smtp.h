/* smtp.h - the outbound smtp client's shared structures
 * Used by: the smtp modules only (smtp.c main: socket, requests from qmgr,
 * answers; smtp_nexthop.c where a domain's mail goes; smtp_dns.c the next
 * hop's MX and address records; smtp_session.c the SMTP conversation;
 * smtp_reply.c reply and EHLO parsing; smtp_content.c the message as it
 * goes over DATA). smtp runs as mail_owner and is event-driven: one
 * process holds every outbound connection and DNS look-up. It parses
 * qmgr's requests and, on the network, DNS answers (through c-ares) and
 * the remote servers' replies. Files: queue files (read; delivered
 * recipients are marked by appending). */
#ifndef YUBIN_SMTP_H
#define YUBIN_SMTP_H

#include <stddef.h>
#include <sys/socket.h>

#include "buf.h"
#include "queue_file.h"
#include "status.h"

struct cfg;
struct conn;
struct dns;
struct maps;
struct smtp_dns;
struct tls_ctx;

#define SMTP_REPLY_MAX          (64 * 1024)     /* one (multi-line) reply */
#define SMTP_REPLY_LINE_MAX     2048
#define SMTP_ADDRS_MAX          16      /* addresses tried per request */
#define SMTP_MX_HOSTS_MAX       16      /* MX hosts whose addresses are
                                         * looked up */
#define SMTP_HOST_MAX           256

enum smtp_tls_level {
        SMTP_TLS_NONE,
        SMTP_TLS_MAY,
        SMTP_TLS_ENCRYPT,
        SMTP_TLS_VERIFY,        /* "verify" and "secure" */
};

/* What the whole process shares. */
struct smtp_server {
        struct cfg *cfg;
        const char *queue_dir;
        const char *helo_name;
        const char *relayhost;
        struct maps *transport;         /* transport_maps or NULL */
        struct maps *sasl_passwords;    /* smtp_sasl_password_maps or NULL */
        int sasl_enable;
        unsigned sasl_flags, sasl_tls_flags;
        char **sasl_filter;
        size_t sasl_filter_count;
        enum smtp_tls_level tls_level;
        struct tls_ctx *tls;            /* NULL: no TLS possible */
        long long connect_ms, helo_ms, mail_ms, rcpt_ms, data_init_ms,
                  data_xfer_ms, data_done_ms, quit_ms, starttls_ms,
                  rset_ms;
        int never_ehlo;
        int tcp_port;                   /* smtp_tcp_port */
        size_t mx_address_limit;        /* smtp_mx_address_limit, 0: none */
        size_t mx_session_limit;        /* smtp_mx_session_limit, 0: none */
        struct dns *dns;                /* next hops' MX and address records */
        size_t busy;                    /* requests in progress */
};

extern struct smtp_server smtp_srv;

/* One next-hop address. */
struct smtp_addr {
        struct sockaddr_storage sa;
        socklen_t salen;
        char host[SMTP_HOST_MAX];       /* name for logs, SNI, SASL */
        char ip[64];
        int port;
};

/* One recipient of a request. */
struct smtp_rcpt {
        size_t idx;                     /* in the queue file */
        char *addr;
        const struct queue_rcpt *qr;    /* borrowed from the queue file */
        int accepted;                   /* RCPT got 2xx this session */
        int done;                       /* has its result */
        const char *status;             /* "sent", "deferred", "bounced" */
        char code[8];
        char *text;
        char relay[SMTP_HOST_MAX + 80];
        unsigned long conn_use;         /* messages over its connection */
};

/* A parsed (maybe multi-line) server reply. */
struct smtp_reply {
        int code;                       /* 250; 0 while incomplete */
        char dsn[8];                    /* "2.1.5" given or made up */
        struct buf text;                /* each line's text after its code,
                                         * joined by "\n" */
        struct buf flat;                /* smtp_reply_text()'s */
        int complete;
};

/* ESMTP extensions the server offers. */
struct smtp_ext {
        int esmtp, pipelining, eightbit, smtputf8, starttls, dsn;
        long long size_max;             /* -1 not offered, 0 no limit */
        char *auth;                     /* mechanisms, or NULL */
};

/* One request from qmgr: one message, one destination. */
struct smtp_job {
        struct conn *qconn;             /* to qmgr */
        char id[QUEUE_ID_MAX];
        char *domain;
        struct smtp_rcpt *rcpts;
        size_t nrcpts;
        int ended;                      /* END seen */
        struct queue_file *qf;
        int mark_fd;
        struct smtp_addr addrs[SMTP_ADDRS_MAX];
        size_t naddrs, cur;
        char nexthop[SMTP_HOST_MAX + 16];       /* for password lookups
                                                 * and the cache */
        struct smtp_dns *lookup;        /* the next hop's, while under way */
        struct smtp_session *sess;
        int cache;                      /* qmgr: more for this next hop
                                         * follows */
        unsigned long conn_use;         /* the connection's messages */
};

/* An open SMTP connection between transactions: what a session needs to
 * go on with it. */
struct smtp_link {
        struct conn *conn;
        struct smtp_ext ext;            /* what its EHLO offered */
        struct smtp_addr addr;          /* where it goes */
        unsigned long uses;             /* transactions begun on it */
        long long opened_ms;            /* loop_now_ms() at connect */
};

/* smtp.c */
/* smtp_job_result - recipient r of job gets its outcome (status "sent",
 * "deferred" or "bounced"); relay may be NULL ("none"); a sent one is
 * marked in the queue file at once */
void smtp_job_result(struct smtp_job *job, struct smtp_rcpt *r,
                     const char *status, const char *code, const char *relay,
                     const char *text);
/* smtp_job_fail_rest - every recipient without a result gets st (class
 * 4 deferred, 5 bounced) */
void smtp_job_fail_rest(struct smtp_job *job, const char *relay,
                        const struct status *st);
/* smtp_job_done - the session is over: answer qmgr and free the job */
void smtp_job_done(struct smtp_job *job);
/* smtp_exit_if_idle - once draining, end the loop when no request is in
 * progress and no connection is left open */
void smtp_exit_if_idle(void);

/* smtp_nexthop.c */
/* smtp_nexthop_cb - the next hop's addresses are in job->addrs, best
 * first (st NULL), or none was found: st says why (4.x.x defer, 5.x.x
 * bounce) */
typedef void smtp_nexthop_cb(struct smtp_job *job, const struct status *st);
/* smtp_nexthop - where mail for job->domain goes (transport_maps, then
 * relayhost, then the domain itself); its addresses are looked up
 * (smtp_dns.c) and done(job, ...) follows from the loop, unless
 * smtp_dns_free(&job->lookup) comes first. 0, or -1 with st (4.3.5 for a
 * malformed next hop, 4.x.x when transport_maps could not tell) */
int smtp_nexthop(struct smtp_job *job, smtp_nexthop_cb *done,
                 struct status *st);
/* smtp_nexthop_parse - split Postfix's "[host]:port", "host:port", "host"
 * (a "smtp:" transport prefix allowed) into host (size bytes), port (0
 * when none is given: smtp_tcp_port applies) and whether MX records are
 * to be looked up. 0, or -1 when malformed */
int smtp_nexthop_parse(const char *text, char *host, size_t size,
                       int *port_r, int *mx_r);
/* smtp_nexthop_add - append ip (textual IPv4 or IPv6) of host, at port,
 * to job->addrs; 0, or -1 when ip is not an address or the list is full */
int smtp_nexthop_add(struct smtp_job *job, const char *host, const char *ip,
                     int port);

/* smtp_dns.c */
/* smtp_dns_init - the resolver (dns_servers, dns_timeout) and what look-ups
 * need: inet_protocols, smtp_address_preference, and this host's names and
 * addresses for loop detection (myhostname, inet_interfaces,
 * proxy_interfaces). Needs loop_init(). 0, or -1 with st */
int smtp_dns_init(struct cfg *cfg, struct status *st);
/* smtp_dns_shutdown - cancel every look-up (no callbacks), close the
 * resolver */
void smtp_dns_shutdown(void);
/* smtp_dns_lookup - the addresses of next hop host for job, into
 * job->addrs: with mx, by host's MX records (none: host's own addresses);
 * else host's own addresses; a literal address as it is. final says the
 * next hop is the recipients' domain itself: only then do DNS answers
 * that say "never" (NXDOMAIN, null MX, loops back to myself) bounce;
 * a configured relay that does not resolve defers. done runs once, from
 * the loop. Returns the look-up, which the caller keeps in job->lookup and
 * may cancel with smtp_dns_free(); it is gone when done runs. host is
 * borrowed (copied). */
struct smtp_dns *smtp_dns_lookup(struct smtp_job *job, const char *host,
                                 int port, int mx, int final,
                                 smtp_nexthop_cb *done);
/* smtp_dns_free - cancel *lp without a callback and clear it; accepts
 * NULL */
void smtp_dns_free(struct smtp_dns **lp);

/* smtp_session.c */
/* smtp_session_start - deliver job's recipients over SMTP to its next
 * addresses in order (at most smtp_mx_session_limit of them greeting);
 * calls smtp_job_done() when finished (never from inside) */
void smtp_session_start(struct smtp_job *job);
/* smtp_session_committing - 1 while the end of DATA is out and its
 * reply awaited: the server may have the message */
int smtp_session_committing(const struct smtp_session *s);
/* smtp_session_free - abandon the conversation (the job is going) */
void smtp_session_free(struct smtp_session **sp);

/* smtp_cache.c */
/* smtp_cache_init - read smtp_connection_cache_*, smtp_connection_reuse_*
 * (smtp_srv.cfg); fatal when smtp_connection_cache_destinations is bad */
void smtp_cache_init(void);
/* smtp_cache_take - the most recently idle connection to nexthop into
 * *link_r, which then owns it (set the conn's callback before the loop
 * runs again); 1, or 0 when there is none */
int smtp_cache_take(const char *nexthop, struct smtp_link *link_r);
/* smtp_cache_wanted - whether the connection of job, after a transaction
 * that left it usable, should be kept: qmgr asked for it on demand
 * (smtp_connection_cache_on_demand) or the next hop is listed in
 * smtp_connection_cache_destinations, and neither the reuse limits nor a
 * drain say no */
int smtp_cache_wanted(const struct smtp_job *job, const struct smtp_link *l);
/* smtp_cache_put - keep link (ownership of its conn and ext moves to the
 * cache; *link is cleared) idle for nexthop, for at most
 * smtp_connection_cache_time_limit */
void smtp_cache_put(const char *nexthop, struct smtp_link *link);
/* smtp_cache_drain - keep nothing more; close every idle connection:
 * with QUIT, or at once when now */
void smtp_cache_drain(int now);
/* smtp_cache_count - connections the cache holds (idle or closing) */
size_t smtp_cache_count(void);

/* smtp_reply.c */
void smtp_reply_init(struct smtp_reply *r);
void smtp_reply_release(struct smtp_reply *r);
/* smtp_reply_line - feed one reply line (no CR LF); 1 when the reply is
 * complete, 0 when more lines follow, -1 when the line is malformed or
 * the reply too long */
int smtp_reply_line(struct smtp_reply *r, const char *line, size_t len);
/* smtp_reply_reset - ready for the next reply */
void smtp_reply_reset(struct smtp_reply *r);
/* smtp_reply_text - the reply as one line for logs and bounces
 * ("250 2.0.0 Ok: queued as X"); valid until the next reset */
const char *smtp_reply_text(struct smtp_reply *r);
/* smtp_ext_parse - the EHLO reply's keywords into ext (cleared first;
 * free with smtp_ext_release) */
void smtp_ext_parse(struct smtp_ext *ext, const struct smtp_reply *r);
void smtp_ext_release(struct smtp_ext *ext);

/* smtp_content.c */
struct smtp_content {
        const char *data;               /* borrowed: the queue file's, or
                                         * own's */
        size_t len, off;
        int bol;                        /* at the start of a line */
        int ended;                      /* "." sent */
        struct buf own;                 /* a 7-bit copy, when made */
};
/* smtp_content_init - start sending data[0..len) (borrowed); an earlier
 * 7-bit copy must have been released */
void smtp_content_init(struct smtp_content *c, const char *data, size_t len);
/* smtp_content_downgrade - for a server without 8BITMIME (RFC 6152):
 * each MIME part with 8-bit bytes in its body (encoded 8bit, binary or
 * not at all) is sent quoted-printable instead, as Postfix converts it;
 * 1 when c now sends such a copy, 0 when there was nothing to convert
 * (8-bit headers or a message without MIME go as they are, as with
 * Postfix). Call right after smtp_content_init(). */
int smtp_content_downgrade(struct smtp_content *c);
/* smtp_content_release - free the 7-bit copy, if any */
void smtp_content_release(struct smtp_content *c);
/* smtp_content_next - append up to about max bytes of the message as
 * DATA carries it (CR LF line ends, dot-stuffed, ending with CR LF . CR
 * LF) to out; 1 when more follows, 0 after the end */
int smtp_content_next(struct smtp_content *c, struct buf *out, size_t max);

#endif
