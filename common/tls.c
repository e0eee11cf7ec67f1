/* tls.c - TLS contexts for servers and clients, built from main.cf
 * Used by: smtpd, imapd, pop3d, smtp, through conn.c. Reads the certificate
 * chain and key itself so that each failure names the file and parameter;
 * everything OpenSSL says is turned into text with tls_strerror(). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cfg.h"
#include "mem.h"
#include "tls.h"

struct tls_ctx {
        SSL_CTX *ssl_ctx;
        int server;
};

/* TLS <= 1.2 suites; TLS 1.3 keeps OpenSSL's own (all AEAD) */
#define CIPHERS_HIGH \
        "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20" \
        ":!aNULL:!eNULL:!PSK:!SRP"
#define CIPHERS_MEDIUM \
        "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20" \
        ":ECDHE+AES:DHE+AES:AES" \
        ":!aNULL:!eNULL:!MD5:!PSK:!SRP:!DSS"

static const struct {
        const char *name;
        unsigned bit;
        int version;            /* OpenSSL's constant; 0: not available */
        uint64_t no_option;     /* SSL_OP_NO_* to leave it out */
} protocols[] = {
        { "SSLv2", TLS_PROTO_SSLv2, 0, 0 },
        { "SSLv3", TLS_PROTO_SSLv3, SSL3_VERSION, SSL_OP_NO_SSLv3 },
        { "TLSv1", TLS_PROTO_TLSv1, TLS1_VERSION, SSL_OP_NO_TLSv1 },
        { "TLSv1.1", TLS_PROTO_TLSv1_1, TLS1_1_VERSION, SSL_OP_NO_TLSv1_1 },
        { "TLSv1.2", TLS_PROTO_TLSv1_2, TLS1_2_VERSION, SSL_OP_NO_TLSv1_2 },
        { "TLSv1.3", TLS_PROTO_TLSv1_3, TLS1_3_VERSION, SSL_OP_NO_TLSv1_3 },
};
#define PROTOCOL_COUNT (sizeof(protocols) / sizeof(protocols[0]))

/* What a client learnt while verifying, kept in an ex_data slot of its
 * SSL as bits: whether a name was asked for, whether it mismatched, and
 * the first chain error (shifted left by 8). */
#define VERIFY_NAME_ASKED       0x01
#define VERIFY_NAME_MISMATCH    0x02
#define VERIFY_ERR_SHIFT        8
static int verify_index = -1;

const char *tls_code_text(unsigned long code, char *out, size_t size)
{
        ERR_error_string_n(code, out, size);
        return out;
}

const char *tls_strerror(char *out, size_t size)
{
        const char *data;
        unsigned long code;
        size_t len = 0;
        int flags;

        if (size == 0)
                return out;
        out[0] = '\0';
        while ((code = ERR_get_error_all(NULL, NULL, NULL, &data,
                                         &flags)) != 0) {
                char one[256], full[512];

                tls_code_text(code, one, sizeof(one));
                if ((flags & ERR_TXT_STRING) && data != NULL && *data != '\0')
                        snprintf(full, sizeof(full), "%s (%s)", one, data);
                else
                        snprintf(full, sizeof(full), "%s", one);
                /* when out is full, keep draining the queue */
                if (len + 1 < size) {
                        int n = snprintf(out + len, size - len, "%s%s",
                                         len > 0 ? "; " : "", full);
                        if (n > 0)
                                len += (size_t)n;
                        if (len >= size)
                                len = size - 1;
                }
        }
        if (len == 0)
                snprintf(out, size, "no detail");
        return out;
}

/* set_error - st = the formatted text + ": " + the OpenSSL error queue;
 * returns -1 */
static int set_error(struct status *st, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static int set_error(struct status *st, const char *fmt, ...)
{
        char what[STATUS_TEXT_MAX];
        char err[STATUS_TEXT_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        tls_strerror(err, sizeof(err));
        return status_set(st, STATUS_CONFIG, "%s: %s", what, err);
}

static int is_set(const char *s)
{
        return s != NULL && *s != '\0';
}

static const char *name_or(const char *name, const char *dflt)
{
        return name != NULL ? name : dflt;
}

/* Protocols. */

/* protocol_find - the table index of the name at s (n bytes), or -1 */
static int protocol_find(const char *s, size_t n)
{
        for (size_t i = 0; i < PROTOCOL_COUNT; i++)
                if (strlen(protocols[i].name) == n &&
                    strncasecmp(protocols[i].name, s, n) == 0)
                        return (int)i;
        return -1;
}

int tls_protocols_parse(const char *name, const char *text,
                        unsigned *mask_r, struct status *st)
{
        unsigned include = 0, exclude = 0, bounds = TLS_PROTO_ALL;
        const char *p = text != NULL ? text : "";

        for (;;) {
                p += strspn(p, ", :\t\r\n");
                if (*p == '\0')
                        break;
                size_t n = strcspn(p, ", :\t\r\n");
                const char *word = p;
                int op = 0;     /* 0 include, '!' exclude, '>' >=, '<' <= */

                p += n;
                if (word[0] == '!') {
                        op = '!';
                        word++;
                        n--;
                } else if (n >= 2 && (word[0] == '>' || word[0] == '<') &&
                           word[1] == '=') {
                        op = word[0];
                        word += 2;
                        n -= 2;
                }
                int i = protocol_find(word, n);
                if (i < 0)
                        return status_set(st, STATUS_CONFIG,
                                          "%s = %s: unknown protocol \"%.*s\"",
                                          name, text, (int)n, word);
                switch (op) {
                case 0:
                        include |= protocols[i].bit;
                        break;
                case '!':
                        exclude |= protocols[i].bit;
                        break;
                case '>':
                        /* this protocol and every later one */
                        bounds &= ~(protocols[i].bit - 1);
                        break;
                case '<':
                        bounds &= (protocols[i].bit << 1) - 1;
                        break;
                }
        }
        unsigned mask = (include != 0 ? include : TLS_PROTO_ALL) & ~exclude &
                        bounds;
        if (mask == 0)
                return status_set(st, STATUS_CONFIG,
                                  "%s = %s: no protocol is left", name, text);
        *mask_r = mask;
        return 0;
}

/* apply_protocols - restrict ctx to the protocols in text */
static int apply_protocols(SSL_CTX *ctx, const char *name, const char *text,
                           struct status *st)
{
        unsigned mask;
        int min = 0, max = 0;

        if (tls_protocols_parse(name, text, &mask, st) < 0)
                return -1;
        for (size_t i = 0; i < PROTOCOL_COUNT; i++) {
                if (!(mask & protocols[i].bit) || protocols[i].version == 0)
                        continue;
                if (min == 0)
                        min = protocols[i].version;
                max = protocols[i].version;
        }
        if (min == 0)
                return status_set(st, STATUS_CONFIG,
                                  "%s = %s: none of these protocols is "
                                  "supported", name, text);
        if (!SSL_CTX_set_min_proto_version(ctx, min) ||
            !SSL_CTX_set_max_proto_version(ctx, max))
                return set_error(st, "%s = %s", name, text);
        /* holes between the bounds, e.g. "TLSv1, TLSv1.2" */
        for (size_t i = 0; i < PROTOCOL_COUNT; i++)
                if (!(mask & protocols[i].bit))
                        SSL_CTX_set_options(ctx, protocols[i].no_option);
        return 0;
}

const char *tls_cipher_list(const char *text)
{
        if (!is_set(text))
                text = TLS_CIPHERS_DEFAULT;
        if (strcasecmp(text, "high") == 0)
                return CIPHERS_HIGH;
        if (strcasecmp(text, "medium") == 0 || strcasecmp(text, "low") == 0 ||
            strcasecmp(text, "export") == 0)
                return CIPHERS_MEDIUM;
        return text;
}

/* Certificates and keys. */

/* no_passphrase - keys must not be encrypted: never prompt */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
        return -1;
}

/* open_pem - a BIO on path, or NULL with "NAME = PATH: cannot read: ..." */
static BIO *open_pem(const char *name, const char *path, struct status *st)
{
        FILE *fp = fopen(path, "r");
        BIO *bio;

        if (fp == NULL) {
                status_set(st, STATUS_CONFIG, "%s = %s: cannot read: %m",
                           name, path);
                return NULL;
        }
        bio = BIO_new_fp(fp, BIO_CLOSE);
        if (bio == NULL) {
                fclose(fp);
                set_error(st, "%s = %s: cannot read", name, path);
        }
        return bio;
}

/* load_identity - certificate chain and key into ctx, checking that they
 * belong together */
static int load_identity(SSL_CTX *ctx, const struct tls_params *p,
                         struct status *st)
{
        const char *cert_name = name_or(p->cert_file_name, "tls_cert_file");
        const char *key_name = is_set(p->key_file) ?
                name_or(p->key_file_name, "tls_key_file") : cert_name;
        const char *key_path = is_set(p->key_file) ? p->key_file :
                p->cert_file;
        X509 *cert = NULL, *extra;
        EVP_PKEY *key = NULL;
        BIO *bio;
        int ret = -1;

        ERR_clear_error();
        if ((bio = open_pem(cert_name, p->cert_file, st)) == NULL)
                return -1;
        cert = PEM_read_bio_X509_AUX(bio, NULL, no_passphrase, NULL);
        if (cert == NULL) {
                set_error(st, "%s = %s: no certificate found", cert_name,
                          p->cert_file);
                BIO_free(bio);
                return -1;
        }
        if (SSL_CTX_use_certificate(ctx, cert) != 1) {
                set_error(st, "%s = %s: unusable certificate", cert_name,
                          p->cert_file);
                goto out;
        }
        /* the rest of the file: intermediates, in order */
        SSL_CTX_clear_chain_certs(ctx);
        while ((extra = PEM_read_bio_X509(bio, NULL, no_passphrase,
                                          NULL)) != NULL) {
                if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
                        X509_free(extra);
                        set_error(st, "%s = %s: unusable chain certificate",
                                  cert_name, p->cert_file);
                        goto out;
                }
        }
        unsigned long last = ERR_peek_last_error();
        if (ERR_GET_LIB(last) == ERR_LIB_PEM &&
            ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
                ERR_clear_error();      /* the normal end of the file */
        } else if (last != 0) {
                set_error(st, "%s = %s: bad chain certificate", cert_name,
                          p->cert_file);
                goto out;
        }
        BIO_free(bio);
        if ((bio = open_pem(key_name, key_path, st)) == NULL)
                goto out;
        key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
        if (key == NULL) {
                set_error(st, "%s = %s: no usable private key (keys must "
                          "not be encrypted)", key_name, key_path);
                goto out;
        }
        if (X509_check_private_key(cert, key) != 1) {
                ERR_clear_error();
                status_set(st, STATUS_CONFIG,
                           "%s %s does not match certificate %s", key_name,
                           key_path, p->cert_file);
                goto out;
        }
        if (SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
                set_error(st, "%s %s does not match certificate %s",
                          key_name, key_path, p->cert_file);
                goto out;
        }
        ret = 0;
out:
        BIO_free(bio);
        X509_free(cert);
        EVP_PKEY_free(key);
        return ret;
}

/* Contexts. */

static SSL_CTX *ctx_common(int server, const struct tls_params *p,
                           struct status *st)
{
        SSL_CTX *ctx;
        const char *ciphers_name = name_or(p->ciphers_name, "tls_ciphers");

        ERR_clear_error();
        ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
        if (ctx == NULL) {
                set_error(st, "cannot create a TLS context");
                return NULL;
        }
        SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
                            SSL_OP_NO_RENEGOTIATION);
        if (!p->prefer_client_ciphers)
                SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
#ifdef SSL_OP_NO_CLIENT_RENEGOTIATION
        SSL_CTX_set_options(ctx, SSL_OP_NO_CLIENT_RENEGOTIATION);
#endif
        /* conn.c writes from an evbuffer that may move between retries */
        SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                         SSL_MODE_ENABLE_PARTIAL_WRITE);
        if (apply_protocols(ctx, name_or(p->protocols_name, "tls_protocols"),
                            is_set(p->protocols) ? p->protocols :
                            TLS_PROTOCOLS_DEFAULT, st) < 0)
                goto fail;
        if (SSL_CTX_set_cipher_list(ctx, tls_cipher_list(p->ciphers)) != 1) {
                set_error(st, "%s = %s: no usable cipher", ciphers_name,
                          is_set(p->ciphers) ? p->ciphers :
                          TLS_CIPHERS_DEFAULT);
                goto fail;
        }
        return ctx;
fail:
        SSL_CTX_free(ctx);
        return NULL;
}

static struct tls_ctx *wrap(SSL_CTX *ctx, int server)
{
        struct tls_ctx *t = xcalloc(1, sizeof(*t));

        t->ssl_ctx = ctx;
        t->server = server;
        return t;
}

struct tls_ctx *tls_server_new_params(const struct tls_params *p,
                                      struct status *st)
{
        static const unsigned char sid_ctx[] = "yubin";
        SSL_CTX *ctx;

        if (!is_set(p->cert_file)) {
                status_set(st, STATUS_CONFIG,
                           "%s is not set: a TLS server needs a certificate",
                           name_or(p->cert_file_name, "tls_cert_file"));
                return NULL;
        }
        if ((ctx = ctx_common(1, p, st)) == NULL)
                return NULL;
        if (load_identity(ctx, p, st) < 0) {
                SSL_CTX_free(ctx);
                return NULL;
        }
        SSL_CTX_set_dh_auto(ctx, 1);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
        return wrap(ctx, 1);
}

/* verify_note - record each verification error and go on, so that the
 * trust level can tell a bad chain from a wrong name */
static int verify_note(int ok, X509_STORE_CTX *xs)
{
        SSL *ssl;
        uintptr_t bits;
        int err;

        if (ok)
                return 1;
        ssl = X509_STORE_CTX_get_ex_data(xs,
                        SSL_get_ex_data_X509_STORE_CTX_idx());
        if (ssl == NULL || verify_index < 0)
                return 1;
        bits = (uintptr_t)SSL_get_ex_data(ssl, verify_index);
        err = X509_STORE_CTX_get_error(xs);
        if (err == X509_V_ERR_HOSTNAME_MISMATCH ||
            err == X509_V_ERR_IP_ADDRESS_MISMATCH)
                bits |= VERIFY_NAME_MISMATCH;
        else if ((bits >> VERIFY_ERR_SHIFT) == 0 && err > 0)
                bits |= (uintptr_t)err << VERIFY_ERR_SHIFT;
        SSL_set_ex_data(ssl, verify_index, (void *)bits);
        return 1;
}

struct tls_ctx *tls_client_new_params(const struct tls_params *p,
                                      struct status *st)
{
        SSL_CTX *ctx;

        if ((ctx = ctx_common(0, p, st)) == NULL)
                return NULL;
        if (is_set(p->cert_file) && load_identity(ctx, p, st) < 0)
                goto fail;
        if (is_set(p->ca_file) || is_set(p->ca_path)) {
                /* name the unreadable one before OpenSSL's vaguer words */
                if (is_set(p->ca_file)) {
                        FILE *fp = fopen(p->ca_file, "r");

                        if (fp == NULL) {
                                status_set(st, STATUS_CONFIG,
                                           "%s = %s: cannot read: %m",
                                           name_or(p->ca_file_name,
                                                   "tls_CAfile"),
                                           p->ca_file);
                                goto fail;
                        }
                        fclose(fp);
                }
                if (SSL_CTX_load_verify_locations(ctx,
                                is_set(p->ca_file) ? p->ca_file : NULL,
                                is_set(p->ca_path) ? p->ca_path : NULL) != 1) {
                        set_error(st, "%s = %s: cannot load trust anchors",
                                  is_set(p->ca_file) ?
                                  name_or(p->ca_file_name, "tls_CAfile") :
                                  name_or(p->ca_path_name, "tls_CApath"),
                                  is_set(p->ca_file) ? p->ca_file :
                                  p->ca_path);
                        goto fail;
                }
        } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
                set_error(st, "cannot load the system trust store");
                goto fail;
        }
        /* verify, but let the caller decide what an unverified peer means
         * (opportunistic TLS must still encrypt) */
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, verify_note);
        return wrap(ctx, 0);
fail:
        SSL_CTX_free(ctx);
        return NULL;
}

/* Parameters from cfg. */

/* refers_to - 1 if raw is just "$base" or "${base}" */
static int refers_to(const char *raw, const char *base)
{
        size_t n = strlen(base);

        if (raw == NULL || raw[0] != '$')
                return 0;
        if (raw[1] == '{')
                return strncmp(raw + 2, base, n) == 0 && raw[2 + n] == '}' &&
                       raw[3 + n] == '\0';
        return strcmp(raw + 1, base) == 0;
}

/* param - the value to use for base under prefix, in this order: PREFIXbase
 * if main.cf sets it; base if main.cf sets it (with fallback); PREFIXbase's
 * default if not empty (it may refer to base); base's default (with
 * fallback). Names missing from the table are skipped. Returns the value
 * (borrowed from cfg; NULL if none) and, in *name_r, the parameter to name
 * in messages (new string, free with free()). */
static const char *param(struct cfg *cfg, const char *prefix,
                         const char *base, int fallback, char **name_r)
{
        char *name = is_set(prefix) ? xasprintf("%s%s", prefix, base) : NULL;
        int own = name != NULL && cfg_param_find(name) != NULL;
        int shared = fallback && cfg_param_find(base) != NULL;
        const char *v;

        if (own && cfg_is_set(cfg, name)) {
                *name_r = name;
                return cfg_get(cfg, name);
        }
        if (shared && cfg_is_set(cfg, base)) {
                free(name);
                *name_r = xstrdup(base);
                return cfg_get(cfg, base);
        }
        if (own && is_set(v = cfg_get(cfg, name))) {
                if (refers_to(cfg_get_raw(cfg, name, NULL), base)) {
                        free(name);
                        name = xstrdup(base);
                }
                *name_r = name;
                return v;
        }
        if (!shared) {
                *name_r = name != NULL ? name : xstrdup(base);
                return NULL;
        }
        free(name);
        *name_r = xstrdup(base);
        return cfg_get(cfg, base);
}

enum { P_CERT, P_KEY, P_PROTOCOLS, P_CIPHERS, P_CAFILE, P_CAPATH, P_COUNT };

static struct tls_ctx *from_cfg(struct cfg *cfg, const char *prefix,
                                int server, struct status *st)
{
        char *names[P_COUNT];
        struct tls_params p;
        struct tls_ctx *t;

        memset(&p, 0, sizeof(p));
        /* a client certificate is the client's own: no fallback to the
         * server's */
        p.cert_file = param(cfg, prefix, "tls_cert_file", server,
                            &names[P_CERT]);
        p.key_file = param(cfg, prefix, "tls_key_file", server,
                           &names[P_KEY]);
        p.protocols = param(cfg, prefix, "tls_protocols", 1,
                            &names[P_PROTOCOLS]);
        p.ciphers = param(cfg, prefix, "tls_ciphers", 1, &names[P_CIPHERS]);
        p.ca_file = param(cfg, prefix, "tls_CAfile", 1, &names[P_CAFILE]);
        p.ca_path = param(cfg, prefix, "tls_CApath", 1, &names[P_CAPATH]);
        p.cert_file_name = names[P_CERT];
        p.key_file_name = names[P_KEY];
        p.protocols_name = names[P_PROTOCOLS];
        p.ciphers_name = names[P_CIPHERS];
        p.ca_file_name = names[P_CAFILE];
        p.ca_path_name = names[P_CAPATH];
        /* a grade's list, when the administrator wrote one (Postfix's
         * tls_high_cipherlist, tls_medium_cipherlist) */
        if (is_set(p.ciphers) && (strcasecmp(p.ciphers, "high") == 0 ||
                                  strcasecmp(p.ciphers, "medium") == 0)) {
                char *list = xasprintf("tls_%s_cipherlist",
                                       strcasecmp(p.ciphers, "high") == 0 ?
                                       "high" : "medium");

                if (cfg_param_find(list) != NULL && cfg_is_set(cfg, list)) {
                        p.ciphers = cfg_get(cfg, list);
                        free(names[P_CIPHERS]);
                        names[P_CIPHERS] = list;
                        p.ciphers_name = list;
                } else {
                        free(list);
                }
        }
        if (cfg_param_find("tls_preempt_cipherlist") != NULL &&
            cfg_is_set(cfg, "tls_preempt_cipherlist") &&
            !cfg_get_bool(cfg, "tls_preempt_cipherlist"))
                p.prefer_client_ciphers = 1;
        t = server ? tls_server_new_params(&p, st) :
                tls_client_new_params(&p, st);
        for (int i = 0; i < P_COUNT; i++)
                free(names[i]);
        return t;
}

struct tls_ctx *tls_server_new(struct cfg *cfg, const char *prefix,
                               struct status *st)
{
        return from_cfg(cfg, prefix, 1, st);
}

struct tls_ctx *tls_client_new(struct cfg *cfg, const char *prefix,
                               struct status *st)
{
        return from_cfg(cfg, prefix, 0, st);
}

void tls_ctx_free(struct tls_ctx **tp)
{
        if (tp == NULL || *tp == NULL)
                return;
        SSL_CTX_free((*tp)->ssl_ctx);   /* reference counted by each SSL */
        free(*tp);
        *tp = NULL;
}

int tls_ctx_is_server(const struct tls_ctx *t)
{
        return t->server;
}

/* Connections. */

static int is_ip_address(const char *s)
{
        unsigned char a[16];

        return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

SSL *tls_ssl_new(const struct tls_ctx *t, const char *peer_name,
                 struct status *st)
{
        SSL *ssl;

        ERR_clear_error();
        if (verify_index < 0)
                verify_index = SSL_get_ex_new_index(0, NULL, NULL, NULL,
                                                    NULL);
        if ((ssl = SSL_new(t->ssl_ctx)) == NULL) {
                set_error(st, "cannot start TLS");
                return NULL;
        }
        if (t->server || !is_set(peer_name))
                return ssl;
        X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
        int ok;
        if (is_ip_address(peer_name)) {
                ok = X509_VERIFY_PARAM_set1_ip_asc(vp, peer_name);
        } else {
                /* RFC 6066 section 3: SNI carries host names only */
                X509_VERIFY_PARAM_set_hostflags(vp,
                                X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
                ok = SSL_set_tlsext_host_name(ssl, peer_name) == 1 &&
                     SSL_set1_host(ssl, peer_name) == 1;
        }
        if (!ok) {
                set_error(st, "TLS peer name %s", peer_name);
                SSL_free(ssl);
                return NULL;
        }
        SSL_set_ex_data(ssl, verify_index,
                        (void *)(uintptr_t)VERIFY_NAME_ASKED);
        return ssl;
}

enum tls_trust tls_ssl_trust(SSL *ssl, const char **reason_r)
{
        const char *reason = NULL;
        enum tls_trust trust;
        uintptr_t bits = 0;
        long err;

        if (ssl == NULL || SSL_is_server(ssl)) {
                trust = TLS_TRUST_NONE;
                goto out;
        }
        if (SSL_get0_peer_certificate(ssl) == NULL) {
                trust = TLS_TRUST_ANONYMOUS;
                goto out;
        }
        if (verify_index >= 0)
                bits = (uintptr_t)SSL_get_ex_data(ssl, verify_index);
        err = (long)(bits >> VERIFY_ERR_SHIFT);
        if (err == 0 && !(bits & VERIFY_NAME_MISMATCH))
                err = SSL_get_verify_result(ssl);   /* e.g. a resumption */
        if (err != X509_V_OK && err != X509_V_ERR_HOSTNAME_MISMATCH &&
            err != X509_V_ERR_IP_ADDRESS_MISMATCH) {
                trust = TLS_TRUST_UNTRUSTED;
                reason = X509_verify_cert_error_string(err);
        } else if ((bits & VERIFY_NAME_MISMATCH) || err != X509_V_OK) {
                trust = TLS_TRUST_TRUSTED;
                reason = X509_verify_cert_error_string(
                                X509_V_ERR_HOSTNAME_MISMATCH);
        } else {
                trust = (bits & VERIFY_NAME_ASKED) ? TLS_TRUST_VERIFIED :
                        TLS_TRUST_TRUSTED;
        }
out:
        if (reason_r != NULL)
                *reason_r = reason;
        return trust;
}

const char *tls_trust_name(enum tls_trust trust)
{
        switch (trust) {
        case TLS_TRUST_ANONYMOUS:
                return "Anonymous";
        case TLS_TRUST_UNTRUSTED:
                return "Untrusted";
        case TLS_TRUST_TRUSTED:
                return "Trusted";
        case TLS_TRUST_VERIFIED:
                return "Verified";
        case TLS_TRUST_NONE:
                break;
        }
        return "none";
}
