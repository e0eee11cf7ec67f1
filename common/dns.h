/* dns.h - asynchronous DNS on c-ares, driven by the process's event loop
 * Used by: smtpd (the client's name at connect, DNS-based restrictions:
 * reject_unknown_*, DNS blocklists); smtp (MX and address records of next
 * hops). One struct dns per process; every
 * question is a request that answers through a callback from the loop,
 * never from inside the call, so a slow or dead name server stalls only
 * the session that asked. Servers are dns_servers ("address[:port]",
 * IPv6 as "[address]:port"; then only DNS is asked, /etc/hosts is not
 * read) or, when that is empty, /etc/resolv.conf and, for names and
 * addresses of hosts, /etc/hosts. Each request has a deadline of its own;
 * a timeout, SERVFAIL, a refused or malformed answer are DNS_TEMPFAIL:
 * "could not tell", never "does not exist". Parses answers from the
 * network (c-ares does; this module copies out what it needs). */
#ifndef YUBIN_DNS_H
#define YUBIN_DNS_H

#include <stddef.h>

#include "status.h"

#define DNS_ANSWERS_MAX         64      /* records kept from one answer */
#define DNS_NAME_MAX            255     /* a domain name, without the NUL */

enum dns_type {
        DNS_A,
        DNS_AAAA,
        DNS_MX,
        DNS_PTR,
        DNS_TXT,
};

enum dns_result {
        DNS_OK,                 /* one or more records */
        DNS_NOTFOUND,           /* NXDOMAIN, or the name has no record of
                                 * that type (NODATA) */
        DNS_TEMPFAIL,           /* timeout, SERVFAIL, refused, malformed or
                                 * no server reachable */
};

/* What a callback gets; everything is borrowed for the callback only. */
struct dns_answer {
        enum dns_result result;
        const char *reason;     /* DNS_TEMPFAIL, DNS_NOTFOUND: for the log */
        size_t count;           /* DNS_OK: records (at most
                                 * DNS_ANSWERS_MAX) */
        const char *const *values;  /* A/AAAA: the address as text; MX,
                                 * PTR: the host name (no trailing dot);
                                 * TXT: the strings of a record joined */
        const int *prefs;       /* MX: each record's preference, else NULL */
        enum dns_type type;     /* the type that answered */
        int nxdomain;           /* DNS_NOTFOUND: the name does not exist
                                 * at all (NXDOMAIN, or malformed), rather
                                 * than lacking records of the type */
};

typedef void dns_cb(const struct dns_answer *a, void *ctx);

/* The client's name, as Postfix finds it: the PTR name (reverse) and
 * whether that name's addresses include the client's (forward
 * confirmation). */
enum dns_name_status {
        DNS_NAME_OK,            /* found (and, for the verified name,
                                 * confirmed) */
        DNS_NAME_TEMP,          /* the look-up failed for now */
        DNS_NAME_PERM,          /* no PTR record, or the PTR name does not
                                 * exist */
        DNS_NAME_FORGED,        /* PTR found, but its name does not map
                                 * back to the address */
};

struct dns_client_name {
        const char *reverse;    /* the PTR name, or "unknown" */
        enum dns_name_status reverse_status;
        const char *name;       /* the confirmed name, or "unknown" */
        enum dns_name_status name_status;
};

typedef void dns_name_cb(const struct dns_client_name *n, void *ctx);

struct dns;
struct dns_req;

/* dns_open - a resolver for servers (the dns_servers value; "" or NULL:
 * the system's) whose requests each give up after timeout_ms (0: 10 s).
 * Needs loop_init(). Returns 0 with a new resolver in *dns_r (free with
 * dns_free()), or -1 with st (4.3.5 for a malformed server list naming
 * the item, 4.3.0 when c-ares cannot start). */
int dns_open(const char *servers, long long timeout_ms, struct dns **dns_r,
             struct status *st);
/* dns_free - cancel every request without callbacks, free *dp, clear it;
 * accepts NULL */
void dns_free(struct dns **dp);

/* dns_query - ask for name's records of type. Returns a handle; cb runs
 * exactly once, later, unless dns_cancel() comes first. name is borrowed
 * (copied). */
struct dns_req *dns_query(struct dns *d, const char *name, enum dns_type type,
                          dns_cb *cb, void *ctx);
/* dns_query_any - ask for each of types (count of them, at most 4) in
 * turn until one answers DNS_OK (that answer is given); DNS_TEMPFAIL when
 * none answered OK and one of them failed, else DNS_NOTFOUND. Used for
 * "does this host exist" (A, AAAA or MX). */
struct dns_req *dns_query_any(struct dns *d, const char *name,
                              const enum dns_type *types, size_t count,
                              dns_cb *cb, void *ctx);
/* dns_client_name - the names of ip (textual IPv4 or IPv6): PTR, then
 * the addresses of the PTR name (forward confirmation), all within
 * timeout_ms (0: the resolver's). As dns_query(). */
struct dns_req *dns_client_name(struct dns *d, const char *ip,
                                long long timeout_ms, dns_name_cb *cb,
                                void *ctx);
/* dns_cancel - no callback will follow for *reqp; clears it; accepts
 * NULL */
void dns_cancel(struct dns_req **reqp);
/* dns_pending - requests waiting for their callback */
size_t dns_pending(const struct dns *d);

/* dns_reverse_name - the in-addr.arpa / ip6.arpa name of ip, or the DNS
 * blocklist query "d.c.b.a.SUFFIX" when suffix is not NULL, into out
 * (size bytes). Returns 0, or -1 when ip is not an address or out is too
 * small. */
int dns_reverse_name(const char *ip, const char *suffix, char *out,
                     size_t size);
/* dns_type_name - "A", "AAAA", "MX", "PTR", "TXT" */
const char *dns_type_name(enum dns_type type);

#endif
