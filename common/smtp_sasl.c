/* smtp_sasl.c - Cyrus SASL client sessions for the outbound smtp client
 * Used by: smtp. The library is set up once per process with callbacks
 * only (no application name, so no configuration file; plug-ins limited
 * to password mechanisms by SASL_CB_VERIFYFILE); each session carries its
 * own user and password callbacks. Nothing here blocks: the mechanisms
 * loaded compute their answers from the password alone. */
#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "mem.h"
#include "smtp_sasl.h"

/* the most bytes a decoded challenge may have */
#define SMTP_SASL_MAX 16384

struct smtp_sasl {
        sasl_conn_t *conn;
        sasl_callback_t callbacks[4];
        char *user;
        sasl_secret_t *secret;
        size_t secret_size;
};

static int client_ready;

typedef int (*sasl_fn)(void);

static int log_cb(void *context, int level, const char *message)
{
        if (message == NULL)
                return SASL_OK;
        if (level <= SASL_LOG_ERR)
                log_warn("SASL client: %s", message);
        else
                log_debug("SASL client: %s", message);
        return SASL_OK;
}

/* verifyfile_cb - password mechanisms only; no configuration file */
static int verifyfile_cb(void *context, const char *file,
                         sasl_verify_type_t type)
{
        static const char *const ok[] = {
                "libplain.", "liblogin.", "libcrammd5.", "libdigestmd5.",
                "libscram.",
        };
        const char *base;

        if (type != SASL_VRFY_PLUGIN)
                return SASL_CONTINUE;
        base = strrchr(file, '/');
        base = base != NULL ? base + 1 : file;
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
                if (strncmp(base, ok[i], strlen(ok[i])) == 0)
                        return SASL_OK;
        return SASL_CONTINUE;
}

static sasl_callback_t global_callbacks[] = {
        { SASL_CB_LOG, (sasl_fn)(void (*)(void))log_cb, NULL },
        { SASL_CB_VERIFYFILE, (sasl_fn)(void (*)(void))verifyfile_cb, NULL },
        { SASL_CB_LIST_END, NULL, NULL },
};

static int client_init(struct status *st)
{
        int rc;

        if (client_ready)
                return 0;
        rc = sasl_client_init(global_callbacks);
        if (rc != SASL_OK)
                return status_set(st, STATUS_LOCAL_IO,
                                  "Cyrus SASL: sasl_client_init: %s",
                                  sasl_errstring(rc, NULL, NULL));
        client_ready = 1;
        return 0;
}

int smtp_sasl_credentials(const char *value, char **user_r,
                            char **password_r, struct status *st)
{
        const char *colon = strchr(value, ':');

        *user_r = NULL;
        *password_r = NULL;
        if (colon == NULL || colon == value)
                return status_set(st, STATUS_CONFIG,
                                  "SASL credentials must be user:password");
        *user_r = xstrndup(value, (size_t)(colon - value));
        *password_r = xstrdup(colon + 1);
        return 0;
}

char *smtp_sasl_filter(const char *server_mechs, char **filter,
                         size_t count)
{
        char *copy = xstrdup(server_mechs);
        char *out = xcalloc(1, strlen(server_mechs) + 1);
        char *save = NULL;

        for (char *m = strtok_r(copy, " \t", &save); m != NULL;
             m = strtok_r(NULL, " \t", &save)) {
                int keep = count == 0;

                for (size_t i = 0; i < count && !keep; i++)
                        keep = strcasecmp(m, filter[i]) == 0;
                if (!keep)
                        continue;
                if (*out != '\0')
                        strcat(out, " ");
                strcat(out, m);
        }
        free(copy);
        return out;
}

static int simple_cb(void *context, int id, const char **result,
                     unsigned *len)
{
        struct smtp_sasl *c = context;

        if (id != SASL_CB_USER && id != SASL_CB_AUTHNAME)
                return SASL_BADPARAM;
        /* no separate authorization identity: the login names itself */
        *result = c->user;
        if (len != NULL)
                *len = (unsigned)strlen(c->user);
        return SASL_OK;
}

static int secret_cb(sasl_conn_t *conn, void *context, int id,
                     sasl_secret_t **psecret)
{
        struct smtp_sasl *c = context;

        if (id != SASL_CB_PASS)
                return SASL_BADPARAM;
        *psecret = c->secret;
        return SASL_OK;
}

struct smtp_sasl *smtp_sasl_new(const char *service, const char *host,
                                    const char *user, const char *password,
                                    unsigned flags, struct status *st)
{
        struct smtp_sasl *c;
        sasl_security_properties_t props;
        size_t plen = strlen(password);
        int rc;

        if (client_init(st) < 0)
                return NULL;
        c = xcalloc(1, sizeof(*c));
        c->user = xstrdup(user);
        c->secret_size = sizeof(sasl_secret_t) + plen + 1;
        c->secret = xcalloc(1, c->secret_size);
        c->secret->len = (unsigned long)plen;
        memcpy(c->secret->data, password, plen);
        c->callbacks[0] = (sasl_callback_t){ SASL_CB_USER,
                (sasl_fn)(void (*)(void))simple_cb, c };
        c->callbacks[1] = (sasl_callback_t){ SASL_CB_AUTHNAME,
                (sasl_fn)(void (*)(void))simple_cb, c };
        c->callbacks[2] = (sasl_callback_t){ SASL_CB_PASS,
                (sasl_fn)(void (*)(void))secret_cb, c };
        c->callbacks[3] = (sasl_callback_t){ SASL_CB_LIST_END, NULL, NULL };
        rc = sasl_client_new(service, host, NULL, NULL, c->callbacks, 0,
                             &c->conn);
        if (rc == SASL_OK) {
                memset(&props, 0, sizeof(props));
                props.security_flags = flags;
                rc = sasl_setprop(c->conn, SASL_SEC_PROPS, &props);
        }
        if (rc != SASL_OK) {
                status_set(st, STATUS_LOCAL_IO, "Cyrus SASL: new client: %s",
                           sasl_errstring(rc, NULL, NULL));
                smtp_sasl_free(&c);
                return NULL;
        }
        return c;
}

void smtp_sasl_free(struct smtp_sasl **cp)
{
        struct smtp_sasl *c;

        if (cp == NULL || *cp == NULL)
                return;
        c = *cp;
        if (c->conn != NULL)
                sasl_dispose(&c->conn);
        if (c->secret != NULL) {
                explicit_bzero(c->secret, c->secret_size);
                free(c->secret);
        }
        free(c->user);
        free(c);
        *cp = NULL;
}

/* encode - out (len bytes) as new base64 text */
static char *encode(const char *out, unsigned len)
{
        unsigned max = (len + 2) / 3 * 4 + 1;
        char *b64 = xmalloc(max);
        unsigned got = 0;

        if (sasl_encode64(out, len, b64, max, &got) != SASL_OK)
                got = 0;
        b64[got] = '\0';
        return b64;
}

int smtp_sasl_start(struct smtp_sasl *c, const char *mechs,
                      const char **mech_r, char **initial_r,
                      struct status *st)
{
        sasl_interact_t *prompts = NULL;
        const char *out = NULL;
        unsigned outlen = 0;
        int rc;

        *initial_r = NULL;
        *mech_r = NULL;
        rc = sasl_client_start(c->conn, mechs, &prompts, &out, &outlen,
                               mech_r);
        if (rc == SASL_NOMECH || rc == SASL_TOOWEAK)
                return status_set(st, "5.7.0", "no SASL mechanism of %s "
                                  "fits smtp_sasl_security_options and "
                                  "smtp_sasl_mechanism_filter", mechs);
        if (rc != SASL_OK && rc != SASL_CONTINUE)
                return status_set(st, STATUS_LOCAL_IO, "Cyrus SASL: %s",
                                  sasl_errdetail(c->conn));
        if (out != NULL)
                *initial_r = encode(out, outlen);
        return 0;
}

int smtp_sasl_step(struct smtp_sasl *c, const char *challenge,
                     char **response_r, struct status *st)
{
        sasl_interact_t *prompts = NULL;
        size_t inlen = strlen(challenge);
        unsigned max = (unsigned)(inlen / 4 * 3 + 4);
        const char *out = NULL;
        unsigned outlen = 0, len = 0;
        char *in;
        int rc;

        *response_r = NULL;
        if (inlen > SMTP_SASL_MAX * 2)
                return status_set(st, STATUS_SYNTAX, "SASL challenge too "
                                  "long");
        in = xmalloc(max);
        if (sasl_decode64(challenge, (unsigned)inlen, in, max, &len) !=
            SASL_OK) {
                free(in);
                return status_set(st, STATUS_SYNTAX, "SASL challenge is not "
                                  "base64");
        }
        rc = sasl_client_step(c->conn, in, len, &prompts, &out, &outlen);
        free(in);
        if (rc != SASL_OK && rc != SASL_CONTINUE)
                return status_set(st, STATUS_LOCAL_IO, "Cyrus SASL: %s",
                                  sasl_errdetail(c->conn));
        *response_r = encode(out != NULL ? out : "", out != NULL ? outlen
                                                                 : 0);
        return 0;
}

int smtp_sasl_sec_flags(char **words, size_t count, unsigned *flags_r,
                        struct status *st)
{
        static const struct {
                const char *name;
                unsigned flag;
        } opts[] = {
                { "noanonymous", SASL_SEC_NOANONYMOUS },
                { "noplaintext", SASL_SEC_NOPLAINTEXT },
                { "noactive", SASL_SEC_NOACTIVE },
                { "nodictionary", SASL_SEC_NODICTIONARY },
                { "mutual_auth", SASL_SEC_MUTUAL_AUTH },
                { "forward_secrecy", SASL_SEC_FORWARD_SECRECY },
        };
        unsigned flags = 0;

        for (size_t i = 0; i < count; i++) {
                size_t j;

                for (j = 0; j < sizeof(opts) / sizeof(opts[0]); j++)
                        if (strcasecmp(words[i], opts[j].name) == 0)
                                break;
                if (j == sizeof(opts) / sizeof(opts[0]))
                        return status_set(st, STATUS_CONFIG,
                                          "unknown SASL security option %s "
                                          "(known: noanonymous, noplaintext, "
                                          "noactive, nodictionary, "
                                          "mutual_auth, forward_secrecy)",
                                          words[i]);
                flags |= opts[j].flag;
        }
        *flags_r = flags;
        return 0;
}
