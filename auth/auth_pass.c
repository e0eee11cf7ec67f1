/* auth_pass.c - password hashes: make new ones, verify stored ones
 * Used by: authd's workers (verify) and yubinctl (hash new passwords, check
 * imported ones). Everything goes through libxcrypt: crypt_gensalt_rn() for
 * a fresh setting from the kernel's random source, crypt_rn() to compute.
 * A stored hash is either a bare crypt(3) string or one behind a Dovecot
 * {SCHEME} prefix; only the schemes listed in auth_pass.h are accepted, so
 * a weak legacy hash (DES, MD5) cannot sneak in through {CRYPT}. Secrets
 * (crypt's work area, which holds a copy of the password) are wiped. */
#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth_pass.h"
#include "mem.h"
#include "status.h"

/* Dovecot's scheme prefixes we understand. AUTH_PASS_UNKNOWN in want
 * means "any crypt(3) hash we support" ({CRYPT}). */
static const struct {
        const char *name;
        enum auth_pass_scheme want;
} pass_prefixes[] = {
        { "SHA512-CRYPT", AUTH_PASS_SHA512_CRYPT },
        { "SHA256-CRYPT", AUTH_PASS_SHA256_CRYPT },
        { "BLF-CRYPT", AUTH_PASS_BCRYPT },
        { "CRYPT", AUTH_PASS_UNKNOWN },
        { "PLAIN", AUTH_PASS_PLAIN },
        { "CLEARTEXT", AUTH_PASS_PLAIN },
};

#define PASS_PREFIX_NAME_MAX 32

/* pass_crypt_kind - which supported crypt(3) method hash is (no prefix);
 * AUTH_PASS_UNKNOWN if none or if it holds characters no setting has */
static enum auth_pass_scheme pass_crypt_kind(const char *hash)
{
        enum auth_pass_scheme kind;
        size_t len = strlen(hash);

        if (strncmp(hash, "$y$", 3) == 0)
                kind = AUTH_PASS_YESCRYPT;
        else if (strncmp(hash, "$6$", 3) == 0)
                kind = AUTH_PASS_SHA512_CRYPT;
        else if (strncmp(hash, "$5$", 3) == 0)
                kind = AUTH_PASS_SHA256_CRYPT;
        else if (strncmp(hash, "$2a$", 4) == 0 ||
                 strncmp(hash, "$2b$", 4) == 0 ||
                 strncmp(hash, "$2y$", 4) == 0)
                kind = AUTH_PASS_BCRYPT;
        else
                return AUTH_PASS_UNKNOWN;
        if (len >= CRYPT_OUTPUT_SIZE)
                return AUTH_PASS_UNKNOWN;
        /* the salt and hash alphabet, '$' between fields, '=' in rounds= */
        if (strspn(hash, "$./=0123456789"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
            != len)
                return AUTH_PASS_UNKNOWN;
        /* bcrypt: "$2b$" two cost digits "$" then 53 characters */
        if (kind == AUTH_PASS_BCRYPT &&
            (len != 60 || hash[4] < '0' || hash[4] > '9' || hash[5] < '0' ||
             hash[5] > '9' || hash[6] != '$'))
                return AUTH_PASS_UNKNOWN;
        return kind;
}

/* pass_classify - the scheme of stored; *hash_r points past any prefix */
static enum auth_pass_scheme pass_classify(const char *stored,
                                           const char **hash_r)
{
        enum auth_pass_scheme kind;
        const char *close;
        size_t n;

        *hash_r = stored;
        if (stored == NULL || stored[0] == '\0' || stored[0] == '!' ||
            stored[0] == '*')
                return AUTH_PASS_LOCKED;
        if (stored[0] != '{')
                return pass_crypt_kind(stored);
        close = strchr(stored, '}');
        if (close == NULL)
                return AUTH_PASS_UNKNOWN;
        n = (size_t)(close - stored - 1);
        for (size_t i = 0; i < sizeof(pass_prefixes) / sizeof(pass_prefixes[0]);
             i++) {
                if (strlen(pass_prefixes[i].name) != n ||
                    strncasecmp(stored + 1, pass_prefixes[i].name, n) != 0)
                        continue;
                *hash_r = close + 1;
                if (pass_prefixes[i].want == AUTH_PASS_PLAIN)
                        return AUTH_PASS_PLAIN;
                kind = pass_crypt_kind(close + 1);
                if (pass_prefixes[i].want != AUTH_PASS_UNKNOWN &&
                    kind != pass_prefixes[i].want)
                        return AUTH_PASS_UNKNOWN;
                return kind;
        }
        return AUTH_PASS_UNKNOWN;
}

enum auth_pass_scheme auth_pass_scheme(const char *stored)
{
        const char *hash;

        return pass_classify(stored, &hash);
}

const char *auth_pass_scheme_name(enum auth_pass_scheme scheme)
{
        switch (scheme) {
        case AUTH_PASS_LOCKED:
                return "LOCKED";
        case AUTH_PASS_YESCRYPT:
                return "YESCRYPT";
        case AUTH_PASS_SHA512_CRYPT:
                return "SHA512-CRYPT";
        case AUTH_PASS_SHA256_CRYPT:
                return "SHA256-CRYPT";
        case AUTH_PASS_BCRYPT:
                return "BLF-CRYPT";
        case AUTH_PASS_PLAIN:
                return "PLAIN";
        case AUTH_PASS_UNKNOWN:
                break;
        }
        return "UNKNOWN";
}

int auth_pass_is_plain(const char *stored)
{
        return auth_pass_scheme(stored) == AUTH_PASS_PLAIN;
}

int auth_pass_equal(const void *a, size_t alen, const void *b, size_t blen)
{
        const volatile unsigned char *x = a;
        const volatile unsigned char *y = b;
        unsigned int diff = alen != blen;

        /* no early exit: the loop runs over all of b whatever a holds */
        for (size_t i = 0; i < blen; i++) {
                unsigned char c = i < alen ? x[i] : 0;

                diff |= (unsigned int)(c ^ y[i]);
        }
        return diff == 0;
}

int auth_pass_hash(const char *password, const char *prefix, char **hash_r,
                   struct status *st)
{
        char setting[CRYPT_GENSALT_OUTPUT_SIZE];
        struct crypt_data *data;
        const char *out;
        size_t len = strlen(password);
        int ret = -1;

        *hash_r = NULL;
        if (len == 0)
                return status_set(st, STATUS_BAD_ARGS, "empty password");
        if (len > AUTH_PASS_MAX)
                return status_set(st, STATUS_BAD_ARGS,
                                  "password longer than %d bytes",
                                  AUTH_PASS_MAX);
        if (prefix != NULL) {
                if (crypt_gensalt_rn(prefix, 0, NULL, 0, setting,
                                     sizeof(setting)) == NULL)
                        return status_set(st, STATUS_LOCAL_IO,
                                          "crypt_gensalt %s: %m", prefix);
        } else if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting,
                                    sizeof(setting)) == NULL &&
                   crypt_gensalt_rn("$6$", 0, NULL, 0, setting,
                                    sizeof(setting)) == NULL) {
                return status_set(st, STATUS_LOCAL_IO,
                                  "crypt_gensalt: neither yescrypt nor "
                                  "SHA512-crypt works: %m");
        }
        data = xcalloc(1, sizeof(*data));
        out = crypt_rn(password, setting, data, sizeof(*data));
        if (out == NULL || out[0] == '*' ||
            pass_crypt_kind(out) == AUTH_PASS_UNKNOWN) {
                status_set(st, STATUS_LOCAL_IO, "crypt %s: %m", setting);
        } else {
                *hash_r = xstrdup(out);
                ret = 0;
        }
        explicit_bzero(data, sizeof(*data));
        free(data);
        return ret;
}

int auth_pass_verify(const char *password, const char *stored,
                     struct status *st)
{
        struct crypt_data *data;
        enum auth_pass_scheme kind;
        const char *hash;
        const char *out;
        size_t len = strlen(password);
        size_t hlen;
        int ret;

        kind = pass_classify(stored, &hash);
        switch (kind) {
        case AUTH_PASS_LOCKED:
                return 0;
        case AUTH_PASS_UNKNOWN:
                return status_set(st, STATUS_CONFIG,
                                  "malformed or unsupported password hash");
        default:
                break;
        }
        /* an empty password never logs anybody in; an overlong one cannot
         * have been hashed by us or by crypt(3) */
        if (len == 0 || len > AUTH_PASS_MAX)
                return 0;
        hlen = strlen(hash);
        if (kind == AUTH_PASS_PLAIN)
                return auth_pass_equal(password, len, hash, hlen);

        data = xcalloc(1, sizeof(*data));
        errno = 0;
        out = crypt_rn(password, hash, data, sizeof(*data));
        if (out == NULL || out[0] == '*') {
                if (errno == ENOMEM)
                        ret = status_set(st, STATUS_LOCAL_IO, "crypt: %m");
                else
                        ret = status_set(st, STATUS_CONFIG,
                                         "%s hash refused by crypt(3)",
                                         auth_pass_scheme_name(kind));
        } else if (strlen(out) != hlen) {
                /* a well-formed hash always comes back at its own length:
                 * this one is a bare setting or has junk at the end */
                ret = status_set(st, STATUS_CONFIG, "malformed %s hash",
                                 auth_pass_scheme_name(kind));
        } else {
                ret = auth_pass_equal(out, hlen, hash, hlen);
        }
        explicit_bzero(data, sizeof(*data));
        free(data);
        return ret;
}
