/* tls_test.c - TLS contexts from main.cf and handshakes through conn:
 * certificates are made here with the OpenSSL API (nothing on disk to
 * expire), contexts come from a cfg, and server and client conns talk over
 * a socketpair on one loop. Covers protocol selection, chain files,
 * readable errors for bad files and mismatched keys, client verification
 * levels, and STARTTLS with plaintext pipelined behind the command. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "cfg.h"
#include "conn.h"
#include "loop.h"
#include "mem.h"
#include "tls.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Test certificates, made once per run in a temporary directory. */

static char dir[64];
static char self_crt[128], self_key[128], other_key[128], combined[128];
static char root_crt[128], chain_crt[128], leaf_only_crt[128], leaf_key[128];
static char garbage[128], missing[128];

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
        X509V3_CTX v3;
        X509_EXTENSION *ext;

        X509V3_set_ctx_nodb(&v3);
        X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
        ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
        assert_non_null(ext);
        assert_int_equal(X509_add_ext(x, ext, -1), 1);
        X509_EXTENSION_free(ext);
}

/* make_cert - a certificate for key named cn, signed by issuer (NULL:
 * self-signed) */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
                       EVP_PKEY *issuer_key, int ca, const char *san)
{
        static long serial = 1;
        X509 *x = X509_new();
        X509_NAME *name;

        assert_non_null(x);
        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
        X509_gmtime_adj(X509_getm_notBefore(x), -3600);
        X509_gmtime_adj(X509_getm_notAfter(x), 7 * 86400);
        X509_set_pubkey(x, key);
        name = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   (const unsigned char *)cn, -1, -1, 0);
        X509_set_issuer_name(x, issuer != NULL ?
                             X509_get_subject_name(issuer) : name);
        add_ext(x, issuer != NULL ? issuer : x, NID_basic_constraints,
                ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
        if (ca)
                add_ext(x, issuer != NULL ? issuer : x, NID_key_usage,
                        "critical,keyCertSign,cRLSign");
        if (san != NULL)
                add_ext(x, issuer != NULL ? issuer : x, NID_subject_alt_name,
                        san);
        assert_true(X509_sign(x, issuer_key != NULL ? issuer_key : key,
                              EVP_sha256()) > 0);
        return x;
}

/* write_pem - certificates (NULL-terminated) then key (may be NULL) */
static void write_pem(const char *path, X509 **certs, EVP_PKEY *key)
{
        BIO *b = BIO_new_file(path, "w");

        assert_non_null(b);
        for (; certs != NULL && *certs != NULL; certs++)
                assert_int_equal(PEM_write_bio_X509(b, *certs), 1);
        if (key != NULL)
                assert_int_equal(PEM_write_bio_PrivateKey(b, key, NULL, NULL,
                                                          0, NULL, NULL), 1);
        BIO_free(b);
}

static void path(char *out, const char *name)
{
        snprintf(out, 128, "%s/%s", dir, name);
}

static int make_files(void **state)
{
        EVP_PKEY *self_k = EVP_EC_gen("P-256");
        EVP_PKEY *other_k = EVP_EC_gen("P-256");
        EVP_PKEY *root_k = EVP_EC_gen("P-256");
        EVP_PKEY *inter_k = EVP_EC_gen("P-256");
        EVP_PKEY *leaf_k = EVP_EC_gen("P-256");

        snprintf(dir, sizeof(dir), "/tmp/yubin-tls-test-XXXXXX");
        if (mkdtemp(dir) == NULL)
                return -1;
        path(self_crt, "self.crt");
        path(self_key, "self.key");
        path(other_key, "other.key");
        path(combined, "combined.pem");
        path(root_crt, "root.crt");
        path(chain_crt, "chain.crt");
        path(leaf_only_crt, "leaf.crt");
        path(leaf_key, "leaf.key");
        path(garbage, "garbage.pem");
        path(missing, "missing.pem");

        X509 *self = make_cert(self_k, "localhost", NULL, NULL, 0,
                               "DNS:localhost,IP:127.0.0.1");
        X509 *root = make_cert(root_k, "Yubin Test Root", NULL, NULL, 1,
                               NULL);
        X509 *inter = make_cert(inter_k, "Yubin Test Intermediate", root,
                                root_k, 1, NULL);
        X509 *leaf = make_cert(leaf_k, "mail.example", inter, inter_k, 0,
                               "DNS:mail.example");
        X509 *one[] = { self, NULL };
        X509 *rooted[] = { root, NULL };
        X509 *chain[] = { leaf, inter, NULL };
        X509 *leaf_alone[] = { leaf, NULL };

        write_pem(self_crt, one, NULL);
        write_pem(self_key, NULL, self_k);
        write_pem(other_key, NULL, other_k);
        write_pem(combined, one, self_k);
        write_pem(root_crt, rooted, NULL);
        write_pem(chain_crt, chain, NULL);
        write_pem(leaf_only_crt, leaf_alone, NULL);
        write_pem(leaf_key, NULL, leaf_k);
        FILE *fp = fopen(garbage, "w");
        fputs("this is not a certificate\n", fp);
        fclose(fp);

        X509_free(self);
        X509_free(root);
        X509_free(inter);
        X509_free(leaf);
        EVP_PKEY_free(self_k);
        EVP_PKEY_free(other_k);
        EVP_PKEY_free(root_k);
        EVP_PKEY_free(inter_k);
        EVP_PKEY_free(leaf_k);
        return 0;
}

static int remove_files(void **state)
{
        const char *files[] = { self_crt, self_key, other_key, combined,
                                root_crt, chain_crt, leaf_only_crt, leaf_key,
                                garbage };

        for (size_t i = 0; i < NELEM(files); i++)
                unlink(files[i]);
        rmdir(dir);
        return 0;
}

/* Contexts. */

/* server_ctx - a server context from a cfg holding name=value pairs
 * (NULL-terminated), with prefix "smtpd_"; NULL with st on failure */
static struct tls_ctx *server_ctx(const char *const *settings,
                                  struct status *st)
{
        struct cfg *cfg = cfg_new(dir);
        struct tls_ctx *t;

        for (; settings != NULL && settings[0] != NULL; settings += 2)
                cfg_set(cfg, settings[0], settings[1], "test");
        t = tls_server_new(cfg, "smtpd_", st);
        cfg_free(&cfg);
        return t;
}

static struct tls_ctx *self_server(void)
{
        const char *set[] = { "tls_cert_file", self_crt,
                              "tls_key_file", self_key, NULL };
        struct status st;
        struct tls_ctx *t = server_ctx(set, &st);

        if (t == NULL)
                fail_msg("server context: %s", st.text);
        return t;
}

static struct tls_ctx *client_ctx_ciphers(const char *ca_file,
                                          const char *protocols,
                                          const char *ciphers)
{
        struct tls_params p = { .ca_file = ca_file, .protocols = protocols,
                                .ciphers = ciphers };
        struct status st;
        struct tls_ctx *t = tls_client_new_params(&p, &st);

        if (t == NULL)
                fail_msg("client context: %s", st.text);
        return t;
}

static struct tls_ctx *client_ctx(const char *ca_file, const char *protocols)
{
        return client_ctx_ciphers(ca_file, protocols, NULL);
}

static void test_protocols_parse(void **state)
{
        static const struct {
                const char *name, *text;
                int ok;
                unsigned want;
                const char *want_error;
        } cases[] = {
                { "at least 1.2", ">=TLSv1.2", 1,
                  TLS_PROTO_TLSv1_2 | TLS_PROTO_TLSv1_3, NULL },
                { "postfix exclusions", "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1", 1,
                  TLS_PROTO_TLSv1_2 | TLS_PROTO_TLSv1_3, NULL },
                { "exclusions without commas", "!SSLv2 !SSLv3", 1,
                  TLS_PROTO_TLSv1 | TLS_PROTO_TLSv1_1 | TLS_PROTO_TLSv1_2 |
                  TLS_PROTO_TLSv1_3, NULL },
                { "one named", "TLSv1.2", 1, TLS_PROTO_TLSv1_2, NULL },
                { "two named, colon", "TLSv1.2:TLSv1.3", 1,
                  TLS_PROTO_TLSv1_2 | TLS_PROTO_TLSv1_3, NULL },
                { "upper bound", "<=TLSv1.2", 1,
                  TLS_PROTO_ALL & ~TLS_PROTO_TLSv1_3, NULL },
                { "both bounds", ">=TLSv1.2, <=TLSv1.2", 1, TLS_PROTO_TLSv1_2,
                  NULL },
                { "bound and exclusion", ">=TLSv1.1 !TLSv1.2", 1,
                  TLS_PROTO_TLSv1_1 | TLS_PROTO_TLSv1_3, NULL },
                { "any case", "tlsv1.3", 1, TLS_PROTO_TLSv1_3, NULL },
                { "empty", "", 1, TLS_PROTO_ALL, NULL },
                { "unknown", "!SSLv2, TLSv9", 0, 0,
                  "tls_protocols = !SSLv2, TLSv9: unknown protocol "
                  "\"TLSv9\"" },
                { "nothing left", ">=TLSv1.3 !TLSv1.3", 0, 0,
                  "tls_protocols = >=TLSv1.3 !TLSv1.3: no protocol is left" },
        };

        for (size_t i = 0; i < NELEM(cases); i++) {
                struct status st;
                unsigned got = 0;
                int ret = tls_protocols_parse("tls_protocols", cases[i].text,
                                              &got, &st);

                if (cases[i].ok && (ret != 0 || got != cases[i].want))
                        fail_msg("case %s: got %d/0x%x, want 0/0x%x",
                                 cases[i].name, ret, got, cases[i].want);
                if (!cases[i].ok && (ret != -1 ||
                    strcmp(st.text, cases[i].want_error) != 0))
                        fail_msg("case %s: got %d \"%s\", want -1 \"%s\"",
                                 cases[i].name, ret, ret ? st.text : "",
                                 cases[i].want_error);
        }
}

static void test_cipher_list(void **state)
{
        assert_string_equal(tls_cipher_list(NULL), tls_cipher_list("medium"));
        assert_string_equal(tls_cipher_list("HIGH"), tls_cipher_list("high"));
        assert_string_not_equal(tls_cipher_list("high"),
                                tls_cipher_list("medium"));
        assert_string_equal(tls_cipher_list("ECDHE+AESGCM"), "ECDHE+AESGCM");
        /* "high" means forward secrecy and AEAD only */
        assert_null(strstr(tls_cipher_list("high"), ":AES:"));
}

static void test_server_ctx_errors(void **state)
{
        char want[3][512];

        snprintf(want[0], sizeof(want[0]),
                 "tls_cert_file = %s: cannot read: No such file or directory",
                 missing);
        snprintf(want[1], sizeof(want[1]),
                 "tls_key_file %s does not match certificate %s", other_key,
                 self_crt);
        snprintf(want[2], sizeof(want[2]),
                 "smtpd_tls_key_file = %s: cannot read: No such file or "
                 "directory", missing);
        const struct {
                const char *name;
                const char *set[9];
                const char *want;       /* NULL: success */
                int prefix;             /* 1: exact match, 0: prefix */
        } cases[] = {
                { "good", { "tls_cert_file", self_crt, "tls_key_file",
                            self_key }, NULL, 1 },
                { "key in the cert file", { "tls_cert_file", combined },
                  NULL, 1 },
                { "chain file", { "tls_cert_file", chain_crt, "tls_key_file",
                                  leaf_key }, NULL, 1 },
                { "missing cert", { "tls_cert_file", missing, "tls_key_file",
                                    self_key }, want[0], 1 },
                { "mismatched key", { "tls_cert_file", self_crt,
                                      "tls_key_file", other_key }, want[1],
                  1 },
                { "not a certificate", { "tls_cert_file", garbage,
                                         "tls_key_file", self_key },
                  "tls_cert_file = ", 0 },
                { "not a key", { "tls_cert_file", self_crt, "tls_key_file",
                                 garbage }, "tls_key_file = ", 0 },
                { "no cert at all", { NULL },
                  "tls_cert_file is not set: a TLS server needs a "
                  "certificate", 1 },
                { "smtpd_ overrides", { "tls_cert_file", self_crt,
                                        "tls_key_file", self_key,
                                        "smtpd_tls_key_file", missing },
                  want[2], 1 },
                { "smtpd_ alone", { "smtpd_tls_cert_file", self_crt,
                                    "smtpd_tls_key_file", self_key }, NULL,
                  1 },
                { "bad protocols", { "tls_cert_file", combined,
                                     "tls_protocols", "TLSv1.9" },
                  "tls_protocols = TLSv1.9: unknown protocol \"TLSv1.9\"",
                  1 },
                { "bad ciphers", { "tls_cert_file", combined, "tls_ciphers",
                                   "NO-SUCH-CIPHER" },
                  "tls_ciphers = NO-SUCH-CIPHER: no usable cipher: error:",
                  0 },
                { "smtpd_ ciphers win", { "tls_cert_file", combined,
                                          "tls_ciphers", "high",
                                          "smtpd_tls_ciphers", "BAD-ONE" },
                  "smtpd_tls_ciphers = BAD-ONE: no usable cipher: error:",
                  0 },
                { "a grade's own list", { "tls_cert_file", combined,
                                          "tls_ciphers", "high",
                                          "tls_high_cipherlist", "BAD-TWO" },
                  "tls_high_cipherlist = BAD-TWO: no usable cipher: error:",
                  0 },
        };

        for (size_t i = 0; i < NELEM(cases); i++) {
                struct status st;
                struct tls_ctx *t;
                int known = 1;

                for (size_t j = 0; cases[i].set[j] != NULL; j += 2)
                        known &= cfg_param_find(cases[i].set[j]) != NULL;
                if (!known) {
                        print_message("case %s: skipped (parameter not in "
                                      "the table)\n", cases[i].name);
                        continue;
                }
                status_clear(&st);
                t = server_ctx(cases[i].set, &st);
                if (cases[i].want == NULL) {
                        if (t == NULL)
                                fail_msg("case %s: got \"%s\", want success",
                                         cases[i].name, st.text);
                        assert_int_equal(tls_ctx_is_server(t), 1);
                        tls_ctx_free(&t);
                        assert_null(t);
                        continue;
                }
                if (t != NULL)
                        fail_msg("case %s: succeeded, want \"%s\"",
                                 cases[i].name, cases[i].want);
                int match = cases[i].prefix ?
                        strcmp(st.text, cases[i].want) == 0 :
                        strncmp(st.text, cases[i].want,
                                strlen(cases[i].want)) == 0;
                if (!match || strcmp(st.code, STATUS_CONFIG) != 0)
                        fail_msg("case %s: got %s \"%s\", want \"%s\"",
                                 cases[i].name, st.code, st.text,
                                 cases[i].want);
        }
        assert_int_equal(ERR_peek_error(), 0);  /* nothing left queued */
}

static void test_client_ctx_errors(void **state)
{
        struct status st;
        struct tls_ctx *t;
        char want[512];

        struct tls_params p = { .ca_file = missing,
                                .ca_file_name = "smtp_tls_CAfile" };
        assert_null(tls_client_new_params(&p, &st));
        snprintf(want, sizeof(want), "smtp_tls_CAfile = %s: cannot read: "
                 "No such file or directory", missing);
        assert_string_equal(st.text, want);

        if (cfg_param_find("smtp_tls_CAfile") != NULL) {
                struct cfg *cfg = cfg_new(dir);

                cfg_set(cfg, "smtp_tls_CAfile", root_crt, "test");
                t = tls_client_new(cfg, "smtp_", &st);
                if (t == NULL)
                        fail_msg("client from cfg: %s", st.text);
                assert_int_equal(tls_ctx_is_server(t), 0);
                tls_ctx_free(&t);
                cfg_free(&cfg);
        }
        /* the system store */
        t = client_ctx(NULL, NULL);
        tls_ctx_free(&t);
        tls_ctx_free(&t);       /* cleared: a no-op */
}

static void test_strerror(void **state)
{
        char out[256];
        BIO *b = BIO_new_mem_buf("junk", 4);

        ERR_clear_error();
        assert_string_equal(tls_strerror(out, sizeof(out)), "no detail");
        assert_null(PEM_read_bio_X509(b, NULL, NULL, NULL));
        BIO_free(b);
        tls_strerror(out, sizeof(out));
        assert_true(strncmp(out, "error:", 6) == 0);
        assert_non_null(strstr(out, "no start line"));
        assert_int_equal(ERR_peek_error(), 0);
        /* a small buffer is cut, never overrun */
        b = BIO_new_mem_buf("junk", 4);
        PEM_read_bio_X509(b, NULL, NULL, NULL);
        BIO_free(b);
        tls_strerror(out, 10);
        assert_int_equal(strlen(out), 9);
        assert_int_equal(ERR_peek_error(), 0);
}

/* Conversations. */

struct peer {
        struct conn *c;
        struct buf log;
        int count[CONN_CLOSED + 1];
        const char *reason;
        char reason_copy[512];
        int literals;
        size_t data_len;
        /* STARTTLS play */
        struct tls_ctx *starttls;       /* switch on "STARTTLS" / "220 go" */
        const char *peer_name;
        size_t pending_at_starttls, discarded;
        int free_on_tls;
};

static void peer_init(struct peer *p)
{
        memset(p, 0, sizeof(*p));
        buf_init(&p->log, 0);
}

static void peer_release(struct peer *p)
{
        conn_free(&p->c);
        buf_release(&p->log);
}

static void note(struct peer *p, const char *what, const char *data,
                 size_t len)
{
        if (p->log.len > 0)
                buf_putc(&p->log, '|');
        buf_puts(&p->log, what);
        if (data != NULL)
                buf_append(&p->log, data, len);
}

static void peer_cb(struct conn *c, enum conn_event ev,
                    const struct conn_ev_data *d, void *ctx)
{
        struct peer *p = ctx;
        struct status st;

        p->count[ev]++;
        switch (ev) {
        case CONN_LINE:
                note(p, "LINE:", d->data, d->len);
                if (p->starttls != NULL &&
                    (strcmp(d->data, "STARTTLS") == 0 ||
                     strcmp(d->data, "220 go") == 0)) {
                        int server = tls_ctx_is_server(p->starttls);

                        p->pending_at_starttls = conn_input_pending(c);
                        if (server)
                                conn_printf(c, "220 go\r\n");
                        if (conn_starttls(c, p->starttls,
                                          server ? NULL : p->peer_name,
                                          &p->discarded, &st) < 0)
                                fail_msg("conn_starttls: %s", st.text);
                        /* output now waits for the handshake */
                        if (!server)
                                conn_printf(c, "EHLO after\r\n");
                }
                if (p->literals && d->len > 2 && d->data[d->len - 1] == '}')
                        conn_read_bytes(c, strtoul(strchr(d->data, '{') + 1,
                                                   NULL, 10));
                break;
        case CONN_DATA:
                p->data_len += d->len;
                if (d->remaining == 0) {
                        char n[32];

                        snprintf(n, sizeof(n), "%zu", p->data_len);
                        note(p, "DATA:", n, strlen(n));
                        p->data_len = 0;
                }
                break;
        case CONN_DRAINED:
                break;
        case CONN_ERROR:
                snprintf(p->reason_copy, sizeof(p->reason_copy), "%s",
                         d->reason);
                p->reason = p->reason_copy;
                note(p, "ERROR", NULL, 0);
                break;
        default:
                note(p, conn_event_name(ev), NULL, 0);
                break;
        }
        if (ev == CONN_TLS_READY && p->free_on_tls)
                conn_free(&p->c);
}

struct waiter {
        int (*done)(void *arg);
        void *arg;
        long long end;
        struct loop_timer *t;
        int timed_out;
};

static void wait_tick(void *ctx)
{
        struct waiter *w = ctx;

        if ((w->done != NULL && w->done(w->arg)) || loop_now_ms() >= w->end) {
                w->timed_out = w->done != NULL && !w->done(w->arg);
                loop_exit();
                return;
        }
        loop_timer_start(w->t, 1);
}

static int run_until(int (*done)(void *), void *arg, long long max_ms)
{
        struct waiter w = { done, arg, loop_now_ms() + max_ms, NULL, 0 };

        w.t = loop_timer_new(wait_tick, &w);
        loop_timer_start(w.t, 0);
        loop_run();
        loop_timer_free(&w.t);
        return w.timed_out ? -1 : 0;
}

static int both_ready(void *arg)
{
        struct peer **pp = arg;

        for (int i = 0; i < 2; i++)
                if (pp[i]->count[CONN_TLS_READY] == 0 &&
                    pp[i]->count[CONN_ERROR] == 0)
                        return 0;
        return 1;
}

static int both_failed(void *arg)
{
        struct peer **pp = arg;

        return pp[0]->count[CONN_ERROR] > 0 && pp[1]->count[CONN_ERROR] > 0;
}

static int lines_at_least(void *arg)
{
        struct peer **pp = arg;

        return pp[0]->count[CONN_LINE] >= 2 && pp[1]->count[CONN_LINE] >= 2;
}

/* start_pair - a server conn with implicit TLS on sctx and a client conn
 * with cctx checking peer_name, over a socketpair */
static void start_pair(struct peer *server, struct peer *client,
                       const struct tls_ctx *sctx, const struct tls_ctx *cctx,
                       const char *peer_name)
{
        struct conn_opts so = { .tls = sctx };
        struct conn_opts co = { .tls = cctx, .tls_peer_name = peer_name };
        int sv[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
                                    sv), 0);
        server->c = conn_new(sv[0], &so, peer_cb, server);
        client->c = conn_new(sv[1], &co, peer_cb, client);
}

static void test_handshake_and_lines(void **state)
{
        struct tls_ctx *sctx = self_server();
        struct tls_ctx *cctx = client_ctx(self_crt, NULL);
        struct peer server, client;
        struct peer *both[2] = { &server, &client };
        struct conn_tls_info info;
        char desc[256];

        peer_init(&server);
        peer_init(&client);
        server.literals = 1;
        start_pair(&server, &client, sctx, cctx, "localhost");
        assert_int_equal(conn_tls_active(server.c), 0);
        /* queued before the handshake: sent encrypted after it */
        conn_printf(client.c, "EHLO client\r\n");
        assert_int_equal(run_until(both_ready, both, 5000), 0);
        assert_string_equal(buf_cstr(&client.log), "TLS_READY");
        assert_int_equal(conn_tls_active(server.c), 1);
        assert_int_equal(conn_tls_active(client.c), 1);

        assert_int_equal(conn_tls_info(server.c, &info), 0);
        if (strcmp(info.protocol, "TLSv1.3") != 0 &&
            strcmp(info.protocol, "TLSv1.2") != 0)
                fail_msg("protocol %s", info.protocol);
        assert_true(info.bits >= 128);
        assert_int_equal(info.trust, TLS_TRUST_NONE);
        assert_string_equal(info.sni, "localhost");
        conn_tls_describe(server.c, desc, sizeof(desc));
        char want[256];
        snprintf(want, sizeof(want), "%s with cipher %s (%d/%d bits)",
                 info.protocol, info.cipher, info.bits, info.alg_bits);
        assert_string_equal(desc, want);
        assert_true(strncmp(desc, "TLSv1.3 with cipher TLS_", 24) == 0);

        assert_int_equal(conn_tls_info(client.c, &info), 0);
        assert_int_equal(info.trust, TLS_TRUST_VERIFIED);
        assert_null(info.verify_error);

        /* lines both ways, a literal across TLS records */
        char *big = xmalloc(100000);
        memset(big, 'b', 100000);
        conn_printf(client.c, "DATA {100000}\r\n");
        conn_write(client.c, big, 100000);
        conn_printf(client.c, "\r\n");
        conn_printf(server.c, "250 hello\r\n250 more\r\n");
        free(big);
        assert_int_equal(run_until(lines_at_least, both, 5000), 0);
        assert_int_equal(run_until(NULL, NULL, 30), 0);
        assert_string_equal(buf_cstr(&server.log),
                            "TLS_READY|LINE:EHLO client|LINE:DATA {100000}|"
                            "DATA:100000|LINE:");
        assert_string_equal(buf_cstr(&client.log),
                            "TLS_READY|LINE:250 hello|LINE:250 more");

        /* a clean close: the client sees the end of the stream */
        conn_printf(server.c, "221 bye\r\n");
        conn_close(server.c);
        assert_int_equal(run_until(NULL, NULL, 100), 0);
        assert_string_equal(buf_cstr(&client.log),
                            "TLS_READY|LINE:250 hello|LINE:250 more|"
                            "LINE:221 bye|EOF");
        assert_int_equal(server.count[CONN_CLOSED], 1);

        peer_release(&server);
        peer_release(&client);
        tls_ctx_free(&sctx);
        tls_ctx_free(&cctx);
}

static void test_protocol_choice(void **state)
{
        static const struct {
                const char *name;
                const char *server, *client;    /* tls_protocols */
                const char *ciphers;            /* both sides */
                const char *want;               /* NULL: must fail */
        } cases[] = {
                { "default", NULL, NULL, NULL, "TLSv1.3" },
                { "server 1.2 only", "TLSv1.2", NULL, NULL, "TLSv1.2" },
                { "client at most 1.2", NULL, "<=TLSv1.2", NULL, "TLSv1.2" },
                { "postfix style", "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1, "
                  "!TLSv1.3", NULL, NULL, "TLSv1.2" },
                { "no overlap", ">=TLSv1.3", "<=TLSv1.2", NULL, NULL },
                /* security level 0 lets OpenSSL speak TLS 1.1 at all, so
                 * that only tls_protocols stands in the way */
                { "1.1 when asked for", "TLSv1.1 TLSv1.2", "<=TLSv1.1",
                  "DEFAULT:@SECLEVEL=0", "TLSv1.1" },
                { "1.1 refused by default", NULL, "<=TLSv1.1",
                  "DEFAULT:@SECLEVEL=0", NULL },
        };

        for (size_t i = 0; i < NELEM(cases); i++) {
                const char *set[] = { "tls_cert_file", combined,
                                      "tls_ciphers", cases[i].ciphers,
                                      "tls_protocols", cases[i].server,
                                      NULL };
                struct peer server, client;
                struct peer *both[2] = { &server, &client };
                struct conn_tls_info info;
                struct status st;

                if (cases[i].server == NULL)
                        set[4] = NULL;
                if (cases[i].ciphers == NULL) {
                        set[2] = set[4];
                        set[3] = set[5];
                }
                struct tls_ctx *sctx = server_ctx(set, &st);
                if (sctx == NULL)
                        fail_msg("case %s: %s", cases[i].name, st.text);
                struct tls_ctx *cctx = client_ctx_ciphers(self_crt,
                                cases[i].client, cases[i].ciphers);
                peer_init(&server);
                peer_init(&client);
                start_pair(&server, &client, sctx, cctx, "localhost");
                if (cases[i].want != NULL) {
                        assert_int_equal(run_until(both_ready, both, 5000), 0);
                        if (conn_tls_info(client.c, &info) < 0 ||
                            strcmp(info.protocol, cases[i].want) != 0)
                                fail_msg("case %s: got %s (%s), want %s",
                                         cases[i].name, buf_cstr(&client.log),
                                         client.reason ? client.reason : "",
                                         cases[i].want);
                } else {
                        if (run_until(both_failed, both, 5000) < 0)
                                fail_msg("case %s: server \"%s\", client "
                                         "\"%s\", want errors", cases[i].name,
                                         buf_cstr(&server.log),
                                         buf_cstr(&client.log));
                        /* readable OpenSSL text, not a bare code */
                        assert_non_null(strstr(client.reason, "error:"));
                        assert_int_equal(conn_tls_active(client.c), 0);
                }
                peer_release(&server);
                peer_release(&client);
                tls_ctx_free(&sctx);
                tls_ctx_free(&cctx);
        }
}

static void test_client_verification(void **state)
{
        const struct {
                const char *name;
                const char *cert, *key;         /* the server's */
                const char *ca_file;            /* NULL: system store */
                const char *peer_name;
                enum tls_trust want;
                const char *want_error;         /* NULL: none */
        } cases[] = {
                { "verified", self_crt, self_key, self_crt, "localhost",
                  TLS_TRUST_VERIFIED, NULL },
                { "by ip address", self_crt, self_key, self_crt, "127.0.0.1",
                  TLS_TRUST_VERIFIED, NULL },
                { "name mismatch", self_crt, self_key, self_crt,
                  "mx.example.org", TLS_TRUST_TRUSTED, "hostname mismatch" },
                { "no name asked", self_crt, self_key, self_crt, NULL,
                  TLS_TRUST_TRUSTED, NULL },
                { "unknown issuer", self_crt, self_key, root_crt, "localhost",
                  TLS_TRUST_UNTRUSTED, "self-signed certificate" },
                { "system store", self_crt, self_key, NULL, "localhost",
                  TLS_TRUST_UNTRUSTED, "self-signed certificate" },
                { "chain file", chain_crt, leaf_key, root_crt, "mail.example",
                  TLS_TRUST_VERIFIED, NULL },
                { "chain missing its intermediate", leaf_only_crt, leaf_key,
                  root_crt, "mail.example", TLS_TRUST_UNTRUSTED,
                  "unable to get local issuer certificate" },
                { "chain and wrong name", chain_crt, leaf_key, root_crt,
                  "localhost", TLS_TRUST_TRUSTED, "hostname mismatch" },
        };

        for (size_t i = 0; i < NELEM(cases); i++) {
                const char *set[] = { "tls_cert_file", cases[i].cert,
                                      "tls_key_file", cases[i].key, NULL };
                struct peer server, client;
                struct peer *both[2] = { &server, &client };
                struct conn_tls_info info;
                struct status st;
                struct tls_ctx *sctx = server_ctx(set, &st);

                if (sctx == NULL)
                        fail_msg("case %s: %s", cases[i].name, st.text);
                struct tls_ctx *cctx = client_ctx(cases[i].ca_file, NULL);
                peer_init(&server);
                peer_init(&client);
                start_pair(&server, &client, sctx, cctx, cases[i].peer_name);
                assert_int_equal(run_until(both_ready, both, 5000), 0);
                if (conn_tls_info(client.c, &info) < 0)
                        fail_msg("case %s: no TLS: %s", cases[i].name,
                                 client.reason ? client.reason : "");
                const char *got_error = info.verify_error != NULL ?
                        info.verify_error : "(none)";
                const char *want_error = cases[i].want_error != NULL ?
                        cases[i].want_error : "(none)";
                if (info.trust != cases[i].want ||
                    strcmp(got_error, want_error) != 0)
                        fail_msg("case %s: got %s \"%s\", want %s \"%s\"",
                                 cases[i].name, tls_trust_name(info.trust),
                                 got_error, tls_trust_name(cases[i].want),
                                 want_error);
                peer_release(&server);
                peer_release(&client);
                tls_ctx_free(&sctx);
                tls_ctx_free(&cctx);
        }
}

static int starttls_done(void *arg)
{
        struct peer **pp = arg;

        return pp[0]->count[CONN_LINE] >= 2 || pp[0]->count[CONN_ERROR] > 0 ||
               pp[1]->count[CONN_ERROR] > 0;
}

/* A client sends STARTTLS and, in the same packet, a command that must not
 * be run as if it had come over TLS (CVE-2011-0411). */
static void test_starttls_discards_pipelined(void **state)
{
        struct tls_ctx *sctx = self_server();
        struct tls_ctx *cctx = client_ctx(self_crt, NULL);
        struct peer server, client;
        struct peer *both[2] = { &server, &client };
        const char *evil = "MAIL FROM:<evil@example.org>\r\n";
        struct status st;
        int sv[2];

        peer_init(&server);
        peer_init(&client);
        server.starttls = sctx;
        client.starttls = cctx;
        client.peer_name = "localhost";
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
                                    sv), 0);
        server.c = conn_new(sv[0], NULL, peer_cb, &server);
        client.c = conn_new(sv[1], NULL, peer_cb, &client);
        conn_printf(client.c, "STARTTLS\r\n%s", evil);
        assert_int_equal(run_until(starttls_done, both, 5000), 0);
        run_until(NULL, NULL, 30);

        assert_string_equal(buf_cstr(&server.log),
                            "LINE:STARTTLS|TLS_READY|LINE:EHLO after");
        assert_string_equal(buf_cstr(&client.log), "LINE:220 go|TLS_READY");
        assert_int_equal(server.pending_at_starttls, strlen(evil));
        assert_int_equal(server.discarded, strlen(evil));
        assert_int_equal(client.discarded, 0);
        assert_int_equal(conn_tls_active(server.c), 1);
        struct conn_tls_info info;
        assert_int_equal(conn_tls_info(client.c, &info), 0);
        assert_int_equal(info.trust, TLS_TRUST_VERIFIED);
        /* only once */
        assert_int_equal(conn_starttls(server.c, sctx, NULL, NULL, &st), -1);
        assert_string_equal(st.text, "TLS is already active");

        peer_release(&server);
        peer_release(&client);
        tls_ctx_free(&sctx);
        tls_ctx_free(&cctx);
}

/* Plaintext sent after the server switched is taken as TLS and fails the
 * handshake: it is never delivered as a line. */
static void test_starttls_late_plaintext(void **state)
{
        struct tls_ctx *sctx = self_server();
        struct peer server;
        char reply[64];
        int sv[2];

        peer_init(&server);
        server.starttls = sctx;
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
                                    sv), 0);
        server.c = conn_new(sv[0], NULL, peer_cb, &server);
        assert_int_equal(write(sv[1], "STARTTLS\r\n", 10), 10);
        run_until(NULL, NULL, 50);
        ssize_t n = read(sv[1], reply, sizeof(reply));
        assert_int_equal(n, 8);
        assert_memory_equal(reply, "220 go\r\n", 8);
        const char *evil = "RCPT TO:<victim@example.org>\r\n";
        assert_int_equal(write(sv[1], evil, strlen(evil)),
                         (ssize_t)strlen(evil));
        run_until(NULL, NULL, 100);
        assert_string_equal(buf_cstr(&server.log), "LINE:STARTTLS|ERROR");
        assert_int_equal(server.count[CONN_LINE], 1);
        peer_release(&server);
        close(sv[1]);
        tls_ctx_free(&sctx);
}

static void test_free_on_tls_ready(void **state)
{
        struct tls_ctx *sctx = self_server();
        struct tls_ctx *cctx = client_ctx(self_crt, NULL);
        struct peer server, client;

        peer_init(&server);
        peer_init(&client);
        server.free_on_tls = 1;
        start_pair(&server, &client, sctx, cctx, "localhost");
        conn_printf(client.c, "NOOP\r\nNOOP\r\n");
        run_until(NULL, NULL, 200);
        assert_null(server.c);
        assert_string_equal(buf_cstr(&server.log), "TLS_READY");
        /* the client learns the server went away */
        assert_true(client.count[CONN_EOF] + client.count[CONN_ERROR] == 1);
        peer_release(&server);
        peer_release(&client);
        tls_ctx_free(&sctx);
        tls_ctx_free(&cctx);
}

struct acceptor {
        struct tls_ctx *sctx;
        struct peer *server;
};

static void accept_ready(int fd, int events, void *ctx)
{
        struct acceptor *a = ctx;
        struct conn_opts so = { .tls = a->sctx };
        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

        if (cfd >= 0)
                a->server->c = conn_new(cfd, &so, peer_cb, a->server);
}

/* conn_connect with a client context: TLS from the first byte (smtps) */
static void test_connect_implicit_tls(void **state)
{
        struct tls_ctx *sctx = self_server();
        struct tls_ctx *cctx = client_ctx(self_crt, NULL);
        struct peer server, client;
        struct peer *both[2] = { &server, &client };
        struct sockaddr_in sin = { .sin_family = AF_INET };
        socklen_t len = sizeof(sin);
        struct acceptor a = { sctx, &server };
        struct status st;
        int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
        assert_int_equal(listen(lfd, 4), 0);
        getsockname(lfd, (struct sockaddr *)&sin, &len);
        struct loop_fd *w = loop_fd_new(lfd, LOOP_READ, accept_ready, &a);
        peer_init(&server);
        peer_init(&client);
        struct conn_opts co = { .tls = cctx, .tls_peer_name = "127.0.0.1" };
        client.c = conn_connect((struct sockaddr *)&sin, len, 3000, &co,
                                peer_cb, &client, &st);
        assert_non_null(client.c);
        conn_printf(client.c, "a\r\nb\r\n");
        assert_int_equal(run_until(lines_at_least, (struct peer *[]){
                                           &server, &server }, 5000), 0);
        assert_string_equal(buf_cstr(&client.log), "TLS_READY");
        assert_string_equal(buf_cstr(&server.log), "TLS_READY|LINE:a|LINE:b");
        struct conn_tls_info info;
        assert_int_equal(conn_tls_info(client.c, &info), 0);
        assert_int_equal(info.trust, TLS_TRUST_VERIFIED);
        assert_null(info.sni);
        assert_int_equal(conn_tls_info(server.c, &info), 0);
        assert_null(info.sni);          /* never an IP address */
        assert_string_equal(conn_peer_addr(server.c), "127.0.0.1");
        (void)both;
        loop_fd_free(&w);
        close(lfd);
        peer_release(&server);
        peer_release(&client);
        tls_ctx_free(&sctx);
        tls_ctx_free(&cctx);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_protocols_parse),
                cmocka_unit_test(test_cipher_list),
                cmocka_unit_test(test_server_ctx_errors),
                cmocka_unit_test(test_client_ctx_errors),
                cmocka_unit_test(test_strerror),
                cmocka_unit_test(test_handshake_and_lines),
                cmocka_unit_test(test_protocol_choice),
                cmocka_unit_test(test_client_verification),
                cmocka_unit_test(test_starttls_discards_pipelined),
                cmocka_unit_test(test_starttls_late_plaintext),
                cmocka_unit_test(test_free_on_tls_ready),
                cmocka_unit_test(test_connect_implicit_tls),
        };

        signal(SIGPIPE, SIG_IGN);
        loop_init();
        return cmocka_run_group_tests(tests, make_files, remove_files);
}
