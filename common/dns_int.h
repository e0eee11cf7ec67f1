/* dns_int.h - what dns.c and dns_name.c share: the resolver, requests and
 * the tokens that outlive cancelled requests. Not for other modules: they
 * use dns.h. */
#ifndef YUBIN_DNS_INT_H
#define YUBIN_DNS_INT_H

#include <ares.h>

#include "buf.h"
#include "dns.h"

struct loop_fd;
struct loop_timer;

struct dns_sock {
        int fd;
        int events;             /* LOOP_READ | LOOP_WRITE */
        struct loop_fd *watch;
};

struct dns {
        ares_channel ch;
        struct loop_timer *timer;       /* c-ares' retransmissions */
        struct dns_sock *socks;
        size_t sock_count;
        long long timeout_ms;
        struct dns_req *reqs;           /* every live request */
        size_t pending;
};

/* The link between one c-ares question and its request; freed by the
 * c-ares callback, req NULL once the request is gone. */
struct dns_token {
        struct dns_req *req;
};

enum dns_req_kind {
        DNS_REQ_QUERY,          /* dns_query, dns_query_any */
        DNS_REQ_NAME,           /* dns_client_name */
};

struct dns_req {
        struct dns *d;
        struct dns_req *prev, *next;
        enum dns_req_kind kind;
        dns_cb *cb;
        dns_name_cb *name_cb;
        void *ctx;
        char name[DNS_NAME_MAX + 2];    /* the name asked about (or the IP) */
        enum dns_type types[4];
        size_t ntypes, at;
        int any_temp;
        int nxdomain;                   /* the last answer was NXDOMAIN */
        struct loop_timer *timer;       /* the deadline, then the delivery */
        struct dns_token *token;        /* the question under way, or NULL */
        enum dns_result result;
        const char *reason;
        char *values[DNS_ANSWERS_MAX];
        int prefs[DNS_ANSWERS_MAX];
        size_t count;
        /* DNS_REQ_NAME */
        char *reverse;
        enum dns_name_status reverse_status, name_status;
};

/* dns_req_new - a linked request whose deadline is timeout_ms (0: the
 * resolver's) from now */
struct dns_req *dns_req_new(struct dns *d, enum dns_req_kind kind,
                            const char *name, long long timeout_ms);
/* dns_req_done - the answer in r is complete: deliver it from the loop */
void dns_req_done(struct dns_req *r);
/* dns_token_new - a token for r's next c-ares question */
struct dns_token *dns_token_new(struct dns_req *r);
/* dns_rearm - schedule c-ares' retransmission timer */
void dns_rearm(struct dns *d);
/* dns_status_result - a c-ares status as a result, with its text */
enum dns_result dns_status_result(int status, const char **reason_r);
/* dns_values_clear, dns_value_add - r's answer records */
void dns_values_clear(struct dns_req *r);
void dns_value_add(struct dns_req *r, const char *value, int pref);
/* dns_name_timeout - a client name request ran out of time */
void dns_name_timeout(struct dns_req *r);

#endif
