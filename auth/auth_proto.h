/* auth_proto.h - authd's socket protocol: requests in, replies out
 * Used by: auth_conn.c (each client connection), auth_worker.c (user
 * records between processes) and the unit tests. PROTOCOL.md is the
 * reference. The parser is resumable: feed it any slice of the input
 * stream; state lives in struct auth_proto_parser and "need more input" is
 * a return value. Every line and every field has a limit (authc.h's
 * AUTHC_*_MAX); a malformed, oversized or unknown request is reported as
 * an error with the request id when one could be read, and parsing goes
 * on at the next line. Parses input from authd's clients, which run as
 * mail_owner. */
#ifndef YUBIN_AUTH_PROTO_H
#define YUBIN_AUTH_PROTO_H

#include <stddef.h>

#include "authc.h"
#include "buf.h"
#include "status.h"

/* the longest request id: a decimal number below 2^32 */
#define AUTH_PROTO_ID_MAX 10
/* room for an address in text form */
#define AUTH_PROTO_IP_SIZE 64

enum auth_proto_cmd {
        AUTH_PROTO_VERSION,
        AUTH_PROTO_VERIFY,
        AUTH_PROTO_LOOKUP,
        AUTH_PROTO_REDEEM,
        AUTH_PROTO_PBS_GRANT,
        AUTH_PROTO_PBS_CHECK,
        AUTH_PROTO_PBS_LIST,
        AUTH_PROTO_MECHS,
        AUTH_PROTO_AUTH,
        AUTH_PROTO_CONT,
        AUTH_PROTO_ABORT,
};

/* One parsed request. Strings are borrowed from the parser: valid until
 * the next auth_proto_parse() call. Fields a command does not have are
 * NULL (strings) or 0. */
struct auth_proto_req {
        enum auth_proto_cmd cmd;
        char id[AUTH_PROTO_ID_MAX + 1];  /* "" for VERSION, or when an
                                          * error came before the id */
        unsigned long major, minor;     /* VERSION */
        const char *user;               /* VERIFY, LOOKUP, PBS-GRANT */
        const char *password;           /* VERIFY */
        const char *service;            /* VERIFY, MECHS, AUTH */
        const char *rip;                /* VERIFY, AUTH; normalized, or "" */
        const char *lip;                /* VERIFY, AUTH; normalized, or "" */
        const char *ip;                 /* PBS-GRANT, PBS-CHECK; normalized */
        const char *mech;               /* AUTH; upper case */
        const char *token;              /* REDEEM */
        const char *data;               /* AUTH (when has_data), CONT */
        int secured;                    /* VERIFY, MECHS, AUTH */
        int has_data;                   /* AUTH: an initial response came */
        int want_token;                 /* VERIFY, AUTH */
};

enum auth_proto_status {
        AUTH_PROTO_ERROR = -1,          /* bad request: st says why, req.id
                                         * names it when it could be read */
        AUTH_PROTO_MORE = 0,            /* all input used; no whole line */
        AUTH_PROTO_REQUEST = 1,         /* *req_r is filled */
};

struct auth_proto_parser {
        struct buf line;                /* the line so far */
        int skipping;                   /* dropping an overlong line */
        int returned;                   /* line holds the last request */
        char rip[AUTH_PROTO_IP_SIZE];
        char lip[AUTH_PROTO_IP_SIZE];
        char ip[AUTH_PROTO_IP_SIZE];
};

/* auth_proto_parser_init - ready p for a new stream; release with
 * auth_proto_parser_release() */
void auth_proto_parser_init(struct auth_proto_parser *p);
/* auth_proto_parser_release - free p's storage (wiping it: requests carry
 * passwords) */
void auth_proto_parser_release(struct auth_proto_parser *p);

/* auth_proto_parse - take input from data (len bytes, borrowed) up to and
 * including the end of the next request line. *used_r gets the bytes
 * taken; call again with the rest. Returns AUTH_PROTO_REQUEST with *req_r
 * filled, AUTH_PROTO_MORE when the input ran out first, or
 * AUTH_PROTO_ERROR with st (the line was malformed, or has grown past
 * AUTHC_LINE_MAX: then the rest of it is dropped silently). */
int auth_proto_parse(struct auth_proto_parser *p, const char *data,
                     size_t len, size_t *used_r, struct auth_proto_req *req_r,
                     struct status *st);

/* auth_proto_cmd_name - "VERIFY", ... for log lines */
const char *auth_proto_cmd_name(enum auth_proto_cmd cmd);

/* auth_proto_ip_normalize - the canonical text of an IPv4 or IPv6
 * address (IPv4-mapped IPv6 shown as IPv4) into out (size bytes);
 * 0, or -1 when in is not an address */
int auth_proto_ip_normalize(const char *in, char *out, size_t size);

/* --- replies: each appends one line, LF included, to out --- */

struct auth_user;

/* auth_proto_put_version - "VERSION\t1\t0" */
void auth_proto_put_version(struct buf *out);
/* auth_proto_put_word - "WORD\tid" (OK, NO, NOTFOUND) */
void auth_proto_put_word(struct buf *out, const char *word, const char *id);
/* auth_proto_put_text - "WORD\tid\ttext" (TEMPFAIL, ERROR); an empty id
 * is sent as "-" */
void auth_proto_put_text(struct buf *out, const char *word, const char *id,
                         const char *text);
/* auth_proto_put_kv - "WORD\tid\tkey=value" (OK with mechs= or count=) */
void auth_proto_put_kv(struct buf *out, const char *word, const char *id,
                       const char *key, const char *value);
/* auth_proto_put_fail - "FAIL\tid\tcode\ttext"; code is auth, banned,
 * mech or syntax */
void auth_proto_put_fail(struct buf *out, const char *id, const char *code,
                         const char *text);
/* auth_proto_put_cont - "CONT\tid\tbase64" */
void auth_proto_put_cont(struct buf *out, const char *id,
                         const char *challenge);
/* auth_proto_put_user - "OK\tid" and u's record (user= uid= gid= home=
 * mail= quota_bytes= quota_messages= backend=), then token= when token is
 * not NULL */
void auth_proto_put_user(struct buf *out, const char *id,
                         const struct auth_user *u, const char *token);
/* auth_proto_put_pbs - "WORD\tid\tip=..\tuser=..\texpires=.." (YES, ITEM);
 * expires in Unix seconds */
void auth_proto_put_pbs(struct buf *out, const char *word, const char *id,
                        const char *ip, const char *user, long long expires);

/* auth_proto_user_fields - append u's record as TAB-led key=value fields
 * (as in auth_proto_put_user, with enabled= too) */
void auth_proto_user_fields(struct buf *out, const struct auth_user *u);
/* auth_proto_user_parse - a record from such fields (unescaped). Returns
 * a new record (free with auth_user_free()), or NULL when user= is
 * missing or a number is malformed. */
struct auth_user *auth_proto_user_parse(char **fields, size_t count);

#endif
