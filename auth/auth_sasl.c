/* auth_sasl.c - Cyrus SASL server sessions for SMTP AUTH, IMAP and POP3
 * Used by: authd (workers run sessions; the front end lists mechanisms).
 * Everything Cyrus would read from files comes from callbacks instead:
 * SASL_CB_GETOPT answers mech_list and names an auxprop plug-in that does
 * not exist (so sasldb and friends are never asked), SASL_CB_VERIFYFILE
 * lets only the PLAIN and LOGIN plug-ins load, and no application name is
 * given, so no /etc/sasl2/NAME.conf is opened. When our checkpass says no,
 * Cyrus falls back to its default verifier ("auxprop"), which finds no
 * plug-in and says no too; the session remembers what our check said so
 * that "could not tell" stays a temporary failure. Parses client data
 * (base64 and mechanism messages, inside libsasl2) as mail_owner. */
#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth_sasl.h"
#include "smtp_sasl.h"
#include "cfg.h"
#include "log.h"
#include "mem.h"

/* an auxprop plug-in name no plug-in has: no auxprop look-ups at all */
#define SASL_NO_AUXPROP "yubin-none"
/* how Cyrus words that fallback's "no", at error level */
#define SASL_NO_VERIFIER "unknown password verifier"

struct auth_sasl {
        sasl_conn_t *conn;
        sasl_callback_t callbacks[2];
        auth_sasl_checkpass_fn *checkpass;
        void *ctx;
        int check_result;       /* what checkpass said last; 2: not asked */
};

static int sasl_ready;

/* sasl_log_cb - Cyrus's own messages: trouble as warnings, the rest (a
 * failed password is "FAIL", not trouble) only with -v */
static int sasl_log_cb(void *context, int level, const char *message)
{
        if (message == NULL)
                return SASL_OK;
        /* our check said no and Cyrus's fallback found no auxprop plug-in
         * (on purpose): that is a wrong password, not trouble */
        if (level <= SASL_LOG_ERR &&
            strncmp(message, SASL_NO_VERIFIER,
                    sizeof(SASL_NO_VERIFIER) - 1) != 0)
                log_warn("SASL: %s", message);
        else
                log_debug("SASL: %s", message);
        return SASL_OK;
}

static int sasl_getopt_cb(void *context, const char *plugin_name,
                          const char *option, const char **result,
                          unsigned *len)
{
        const char *value = NULL;

        if (strcmp(option, "mech_list") == 0)
                value = AUTH_SASL_MECH_LIST;
        else if (strcmp(option, "auxprop_plugin") == 0)
                value = SASL_NO_AUXPROP;
        else if (strcmp(option, "log_level") == 0)
                value = log_verbose() > 0 ? "5" : "1";
        if (value == NULL)
                return SASL_FAIL;
        *result = value;
        if (len != NULL)
                *len = (unsigned)strlen(value);
        return SASL_OK;
}

/* sasl_verifyfile_cb - load only the plug-ins of AUTH_SASL_MECH_LIST and
 * read no configuration file */
static int sasl_verifyfile_cb(void *context, const char *file,
                              sasl_verify_type_t type)
{
        const char *base;

        if (type != SASL_VRFY_PLUGIN)
                return SASL_CONTINUE;
        base = strrchr(file, '/');
        base = base != NULL ? base + 1 : file;
        if (strncmp(base, "libplain.", 9) == 0 ||
            strncmp(base, "liblogin.", 9) == 0)
                return SASL_OK;
        return SASL_CONTINUE;
}

typedef int (*sasl_fn)(void);

static sasl_callback_t global_callbacks[] = {
        { SASL_CB_LOG, (sasl_fn)(void (*)(void))sasl_log_cb, NULL },
        { SASL_CB_GETOPT, (sasl_fn)(void (*)(void))sasl_getopt_cb, NULL },
        { SASL_CB_VERIFYFILE, (sasl_fn)(void (*)(void))sasl_verifyfile_cb,
          NULL },
        { SASL_CB_LIST_END, NULL, NULL },
};

int auth_sasl_init(struct status *st)
{
        int rc;

        if (sasl_ready)
                return 0;
        rc = sasl_server_init(global_callbacks, NULL);
        if (rc != SASL_OK)
                return status_set(st, STATUS_CONFIG_TEMP,
                                  "Cyrus SASL: sasl_server_init: %s",
                                  sasl_errstring(rc, NULL, NULL));
        sasl_ready = 1;
        return 0;
}

static int policy_flags(struct cfg *c, const char *param, unsigned *flags_r,
                        struct status *st)
{
        size_t count;
        char **words = cfg_get_list(c, param, &count);
        int ret = smtp_sasl_sec_flags(words, count, flags_r, st);

        cfg_list_free(&words);
        if (ret < 0) {
                char why[STATUS_TEXT_MAX];

                memcpy(why, st->text, sizeof(why));
                return status_set(st, STATUS_CONFIG, "%s: %s", param, why);
        }
        return 0;
}

int auth_sasl_policy_load(struct cfg *c, struct auth_sasl_policy *p,
                          struct status *st)
{
        memset(p, 0, sizeof(*p));
        if (policy_flags(c, "smtpd_sasl_security_options", &p->smtp_flags,
                         st) < 0 ||
            policy_flags(c, "smtpd_sasl_tls_security_options",
                         &p->smtp_tls_flags, st) < 0)
                return -1;
        p->smtp_service = xstrdup(cfg_get(c, "smtpd_sasl_service"));
        p->tls_auth_only = cfg_get_bool(c, "smtpd_tls_auth_only");
        p->disable_plaintext = cfg_get_bool(c, "disable_plaintext_auth");
        p->hostname = xstrdup(cfg_get(c, "myhostname"));
        return 0;
}

void auth_sasl_policy_release(struct auth_sasl_policy *p)
{
        free(p->smtp_service);
        free(p->hostname);
        memset(p, 0, sizeof(*p));
}

int auth_sasl_flags_for(const struct auth_sasl_policy *p, const char *service,
                        int secured, unsigned *flags_r)
{
        if (strcmp(service, p->smtp_service) == 0) {
                if (!secured && p->tls_auth_only)
                        return -1;
                *flags_r = secured ? p->smtp_tls_flags : p->smtp_flags;
                return 0;
        }
        /* IMAP and POP3: Dovecot's disable_plaintext_auth */
        *flags_r = SASL_SEC_NOANONYMOUS;
        if (!secured && p->disable_plaintext)
                *flags_r |= SASL_SEC_NOPLAINTEXT;
        return 0;
}

/* set_props - no security layer; flags as given */
static int set_props(sasl_conn_t *conn, unsigned flags)
{
        sasl_security_properties_t props;

        memset(&props, 0, sizeof(props));
        props.min_ssf = 0;
        props.max_ssf = 0;
        props.maxbufsize = 0;
        props.security_flags = flags;
        return sasl_setprop(conn, SASL_SEC_PROPS, &props);
}

int auth_sasl_mechs(const char *service, const char *hostname,
                    unsigned flags, char **mechs_r, struct status *st)
{
        sasl_conn_t *conn = NULL;
        const char *list = NULL;
        unsigned len = 0;
        int count = 0;
        int rc;

        *mechs_r = NULL;
        if (auth_sasl_init(st) < 0)
                return -1;
        rc = sasl_server_new(service, hostname, NULL, NULL, NULL, NULL, 0,
                             &conn);
        if (rc == SASL_OK)
                rc = set_props(conn, flags);
        if (rc == SASL_OK)
                rc = sasl_listmech(conn, NULL, "", " ", "", &list, &len,
                                   &count);
        if (rc == SASL_NOMECH) {
                *mechs_r = xstrdup("");
                sasl_dispose(&conn);
                return 0;
        }
        if (rc != SASL_OK) {
                status_set(st, STATUS_LOCAL_IO, "Cyrus SASL: %s",
                           conn != NULL ? sasl_errdetail(conn)
                                        : sasl_errstring(rc, NULL, NULL));
                sasl_dispose(&conn);
                return -1;
        }
        *mechs_r = xstrndup(list, len);
        sasl_dispose(&conn);
        return 0;
}

static int checkpass_cb(sasl_conn_t *conn, void *context, const char *user,
                        const char *pass, unsigned passlen,
                        struct propctx *propctx)
{
        struct auth_sasl *s = context;

        s->check_result = s->checkpass(s->ctx, user, pass, passlen);
        return s->check_result == 1 ? SASL_OK : SASL_BADAUTH;
}

struct auth_sasl *auth_sasl_new(const char *service, const char *hostname,
                                unsigned flags,
                                auth_sasl_checkpass_fn *checkpass, void *ctx,
                                struct status *st)
{
        struct auth_sasl *s;
        int rc;

        if (auth_sasl_init(st) < 0)
                return NULL;
        s = xcalloc(1, sizeof(*s));
        s->checkpass = checkpass;
        s->ctx = ctx;
        s->check_result = 2;
        s->callbacks[0].id = SASL_CB_SERVER_USERDB_CHECKPASS;
        s->callbacks[0].proc = (sasl_fn)(void (*)(void))checkpass_cb;
        s->callbacks[0].context = s;
        s->callbacks[1].id = SASL_CB_LIST_END;
        rc = sasl_server_new(service, hostname, NULL, NULL, NULL,
                             s->callbacks, 0, &s->conn);
        if (rc == SASL_OK)
                rc = set_props(s->conn, flags);
        if (rc != SASL_OK) {
                status_set(st, STATUS_LOCAL_IO, "Cyrus SASL: new session: %s",
                           sasl_errstring(rc, NULL, NULL));
                auth_sasl_free(&s);
                return NULL;
        }
        return s;
}

void auth_sasl_free(struct auth_sasl **sp)
{
        if (sp == NULL || *sp == NULL)
                return;
        if ((*sp)->conn != NULL)
                sasl_dispose(&(*sp)->conn);
        free(*sp);
        *sp = NULL;
}

const char *auth_sasl_user(const struct auth_sasl *s)
{
        const void *user = NULL;

        if (sasl_getprop(s->conn, SASL_USERNAME, &user) != SASL_OK ||
            user == NULL)
                return "";
        return user;
}

/* decode - base64 text into a new buffer of *len_r bytes; NULL if it is
 * not base64 */
static char *decode(const char *b64, unsigned *len_r)
{
        size_t in = strlen(b64);
        unsigned max = (unsigned)(in / 4 * 3 + 4);
        char *out = xmalloc(max);

        if (sasl_decode64(b64, (unsigned)in, out, max, len_r) != SASL_OK) {
                free(out);
                return NULL;
        }
        return out;
}

/* finish - classify a Cyrus result; *out_r gets the challenge */
static enum auth_sasl_result finish(struct auth_sasl *s, int rc,
                                    const char *out, unsigned outlen,
                                    char **out_r, struct status *st)
{
        switch (rc) {
        case SASL_CONTINUE: {
                unsigned max = (outlen + 2) / 3 * 4 + 1;
                unsigned len = 0;

                *out_r = xmalloc(max);
                if (sasl_encode64(out, outlen, *out_r, max, &len) !=
                    SASL_OK) {
                        xfree(out_r);
                        status_set(st, STATUS_LOCAL_IO,
                                   "Cyrus SASL: cannot encode a challenge");
                        return AUTH_SASL_TEMPFAIL;
                }
                (*out_r)[len] = '\0';
                return AUTH_SASL_CONTINUE;
        }
        case SASL_OK:
                if (s->check_result != 1) {
                        /* only our check may say yes */
                        status_set(st, STATUS_POLICY,
                                   "mechanism succeeded without a password "
                                   "check");
                        return AUTH_SASL_FAIL;
                }
                return AUTH_SASL_OK;
        case SASL_NOMECH:
        case SASL_TOOWEAK:
        case SASL_ENCRYPT:
                if (s->check_result == 2) {
                        status_set(st, STATUS_BAD_ARGS,
                                   "mechanism not available");
                        return AUTH_SASL_BADMECH;
                }
                break;
        case SASL_NOMEM:
        case SASL_FAIL:
        case SASL_TRYAGAIN:
        case SASL_UNAVAIL:
                if (s->check_result != 0) {
                        status_set(st, STATUS_LOCAL_IO, "Cyrus SASL: %s",
                                   sasl_errstring(rc, NULL, NULL));
                        return AUTH_SASL_TEMPFAIL;
                }
                break;
        }
        if (s->check_result == -1) {
                status_set(st, STATUS_LOOKUP_TEMP,
                           "password check could not tell");
                return AUTH_SASL_TEMPFAIL;
        }
        status_set(st, STATUS_POLICY, "%s",
                   s->check_result == 0 ? "authentication failure"
                                        : sasl_errdetail(s->conn));
        return AUTH_SASL_FAIL;
}

enum auth_sasl_result auth_sasl_start(struct auth_sasl *s, const char *mech,
                                      const char *initial, char **out_r,
                                      struct status *st)
{
        const char *out = NULL;
        unsigned outlen = 0;
        unsigned inlen = 0;
        char *in = NULL;
        int rc;

        *out_r = NULL;
        if (initial != NULL && (in = decode(initial, &inlen)) == NULL) {
                status_set(st, STATUS_SYNTAX, "initial response is not "
                           "base64");
                return AUTH_SASL_SYNTAX;
        }
        rc = sasl_server_start(s->conn, mech, in, inlen, &out, &outlen);
        if (in != NULL) {
                explicit_bzero(in, inlen);
                free(in);
        }
        return finish(s, rc, out, outlen, out_r, st);
}

enum auth_sasl_result auth_sasl_step(struct auth_sasl *s,
                                     const char *response, char **out_r,
                                     struct status *st)
{
        const char *out = NULL;
        unsigned outlen = 0;
        unsigned inlen = 0;
        char *in;
        int rc;

        *out_r = NULL;
        if ((in = decode(response, &inlen)) == NULL) {
                status_set(st, STATUS_SYNTAX, "response is not base64");
                return AUTH_SASL_SYNTAX;
        }
        rc = sasl_server_step(s->conn, in, inlen, &out, &outlen);
        explicit_bzero(in, inlen);
        free(in);
        return finish(s, rc, out, outlen, out_r, st);
}
