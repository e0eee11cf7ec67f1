/* tls.h - TLS contexts for servers and clients, built from main.cf
 * Used by: smtpd, imapd, pop3d (server contexts, for STARTTLS and the
 * implicit-TLS ports) and smtp (client context); conn.c runs the handshakes.
 * tls_cert_file/tls_key_file serve every protocol; a program may pass a
 * prefix ("smtpd_") whose parameters, when set, override the shared ones.
 * TLS 1.2 and 1.3 only unless tls_protocols says otherwise; compression and
 * renegotiation are off; the server's cipher order wins. OpenSSL errors are
 * turned into text here and never printed raw. Errors: -1 or NULL + status
 * (5.3.5, a configuration error). */
#ifndef YUBIN_TLS_H
#define YUBIN_TLS_H

#include <stddef.h>

#include "status.h"

struct cfg;
struct ssl_st;

/* Protocol bits for tls_protocols_parse(). */
#define TLS_PROTO_SSLv2         0x01
#define TLS_PROTO_SSLv3         0x02
#define TLS_PROTO_TLSv1         0x04
#define TLS_PROTO_TLSv1_1       0x08
#define TLS_PROTO_TLSv1_2       0x10
#define TLS_PROTO_TLSv1_3       0x20
#define TLS_PROTO_ALL           0x3f

/* Used when tls_protocols / tls_ciphers are empty or not in the table. */
#define TLS_PROTOCOLS_DEFAULT   ">=TLSv1.2"
#define TLS_CIPHERS_DEFAULT     "medium"

/* What one context is made of. Values are borrowed for the duration of
 * the call; a NULL or empty value means "not set". Each *_name is the
 * main.cf parameter the value came from, used in error messages (NULL: the
 * shared name, e.g. "tls_cert_file"). */
struct tls_params {
        const char *cert_file;  /* PEM: certificate, then intermediates; the
                                 * key may follow in the same file */
        const char *cert_file_name;
        const char *key_file;   /* PEM private key; unset: in cert_file */
        const char *key_file_name;
        const char *protocols;  /* ">=TLSv1.2", "!SSLv3, !TLSv1", ... */
        const char *protocols_name;
        const char *ciphers;    /* "high", "medium", or an OpenSSL list */
        const char *ciphers_name;
        const char *ca_file;    /* client: trust anchors (PEM); with ca_path
                                 * unset too, the system store is used */
        const char *ca_file_name;
        const char *ca_path;    /* client: hashed directory of anchors */
        const char *ca_path_name;
        int prefer_client_ciphers; /* 1: the client's order wins (server
                                 * side; main.cf tls_preempt_cipherlist =
                                 * no, when set) */
};

/* How far a peer's certificate was checked (client side). */
enum tls_trust {
        TLS_TRUST_NONE,         /* no TLS, or the server side */
        TLS_TRUST_ANONYMOUS,    /* the peer sent no certificate */
        TLS_TRUST_UNTRUSTED,    /* the chain did not verify */
        TLS_TRUST_TRUSTED,      /* the chain verified; no host name was
                                 * given, or it did not match */
        TLS_TRUST_VERIFIED,     /* the chain verified and the name matched */
};

struct tls_ctx;

/* tls_server_new - a server context from cfg. prefix (may be NULL or "")
 * names the program's parameters, e.g. "smtpd_": PREFIXtls_cert_file,
 * PREFIXtls_key_file, PREFIXtls_protocols and PREFIXtls_ciphers are used
 * when they exist and are not empty, else tls_cert_file, tls_key_file,
 * tls_protocols, tls_ciphers. A cipher grade ("high", "medium") uses
 * tls_high_cipherlist / tls_medium_cipherlist when main.cf sets them, else
 * our own lists; tls_preempt_cipherlist = no (when set) lets the client's
 * order win. Returns a new context (free with tls_ctx_free()), or NULL
 * with st naming the parameter the administrator set and what is wrong,
 * e.g. "tls_cert_file = /x: cannot read: No such file or directory". */
struct tls_ctx *tls_server_new(struct cfg *cfg, const char *prefix,
                               struct status *st);
/* tls_client_new - a client context from cfg, e.g. prefix "smtp_":
 * PREFIXtls_CAfile and PREFIXtls_CApath (falling back to tls_CAfile and
 * tls_CApath, then to the system store), PREFIXtls_protocols and
 * PREFIXtls_ciphers as for the server, and an optional client certificate
 * from PREFIXtls_cert_file/PREFIXtls_key_file (no fallback). The handshake
 * does not fail on an unverified server: conn reports the trust level and
 * the caller decides. Returns as tls_server_new(). */
struct tls_ctx *tls_client_new(struct cfg *cfg, const char *prefix,
                               struct status *st);
/* tls_server_new_params, tls_client_new_params - the same from explicit
 * values (p is borrowed) */
struct tls_ctx *tls_server_new_params(const struct tls_params *p,
                                      struct status *st);
struct tls_ctx *tls_client_new_params(const struct tls_params *p,
                                      struct status *st);
/* tls_ctx_free - free *tp and clear it; accepts NULL. Connections that
 * already use the context keep it alive until they are freed. */
void tls_ctx_free(struct tls_ctx **tp);
/* tls_ctx_is_server - 1 for a server context, 0 for a client one */
int tls_ctx_is_server(const struct tls_ctx *t);

/* tls_protocols_parse - the protocols a tls_protocols value allows, as
 * TLS_PROTO_* bits in *mask_r. Accepts Postfix's forms, separated by
 * commas, colons or white space: names to include ("TLSv1.2 TLSv1.3"),
 * names to exclude ("!SSLv3, !TLSv1"), and bounds (">=TLSv1.2",
 * "<=TLSv1.3"); exclusions and bounds apply to the included names, or to
 * every protocol when none is named. name is the parameter for messages.
 * Returns 0, or -1 with st set (unknown name, nothing left). */
int tls_protocols_parse(const char *name, const char *text,
                        unsigned *mask_r, struct status *st);
/* tls_cipher_list - the OpenSSL cipher list for a tls_ciphers value:
 * "high" (forward-secret AEAD only), "medium" (also CBC suites, for old
 * mail clients and servers; "low" and "export" mean the same, as they do
 * not exist in OpenSSL 3), anything else is passed to OpenSSL as is.
 * Returns a static string or text. */
const char *tls_cipher_list(const char *text);

/* tls_strerror - the OpenSSL errors queued in this thread, oldest first,
 * joined with "; ", with their detail text; clears the queue. Writes into
 * out (size bytes) and returns it; "no detail" when the queue is empty. */
const char *tls_strerror(char *out, size_t size);
/* tls_code_text - the text for one OpenSSL error code, into out;
 * returns out */
const char *tls_code_text(unsigned long code, char *out, size_t size);

/* For conn.c. */

/* tls_ssl_new - a new SSL object for one connection on t, or NULL with
 * st set. For a client context, peer_name (borrowed, may be NULL) is sent
 * as SNI (unless it is an IP address) and checked against the server's
 * certificate. Free with SSL_free(). */
struct ssl_st *tls_ssl_new(const struct tls_ctx *t, const char *peer_name,
                           struct status *st);
/* tls_ssl_trust - after the handshake, how far the peer's certificate was
 * checked; *reason_r (may be NULL) gets a static text such as "certificate
 * has expired" or "hostname mismatch", or NULL when there is nothing to
 * say */
enum tls_trust tls_ssl_trust(struct ssl_st *ssl, const char **reason_r);
/* tls_trust_name - "Anonymous", "Untrusted", "Trusted", "Verified" (the
 * words Postfix logs), or "none" */
const char *tls_trust_name(enum tls_trust trust);

#endif
