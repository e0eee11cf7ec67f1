/* auth_pass.h - password hashes: make new ones, verify stored ones
 * Used by: authd's workers (verify), yubinctl user add|passwd|import (hash,
 * check what an import brings). Hashing goes through libxcrypt's crypt(3)
 * family; Dovecot's {SCHEME} prefixes are understood so that imported users
 * keep their hashes. Deliberately slow (yescrypt): never call it from an
 * event loop. */
#ifndef YUBIN_AUTH_PASS_H
#define YUBIN_AUTH_PASS_H

#include <stddef.h>

#include "status.h"

/* The longest password accepted, in bytes (crypt(3)'s own limit is 512
 * including the NUL). */
#define AUTH_PASS_MAX 511

/* What a stored hash is, as far as verification goes. */
enum auth_pass_scheme {
        AUTH_PASS_UNKNOWN = 0,  /* malformed or unsupported: never matches */
        AUTH_PASS_LOCKED,       /* "", "!..." or "*...": no login, on purpose */
        AUTH_PASS_YESCRYPT,     /* $y$ */
        AUTH_PASS_SHA512_CRYPT, /* $6$ */
        AUTH_PASS_SHA256_CRYPT, /* $5$ */
        AUTH_PASS_BCRYPT,       /* $2a$, $2b$, $2y$ */
        AUTH_PASS_PLAIN,        /* {PLAIN} or {CLEARTEXT}: imported only */
};

/* auth_pass_scheme - the scheme of a stored hash, with or without a
 * Dovecot prefix ({SHA512-CRYPT}, {SHA256-CRYPT}, {BLF-CRYPT}, {CRYPT},
 * {PLAIN}, {CLEARTEXT}; names in any case). A prefix must agree with the
 * hash behind it ({SHA512-CRYPT}$5$... is AUTH_PASS_UNKNOWN). */
enum auth_pass_scheme auth_pass_scheme(const char *stored);

/* auth_pass_scheme_name - a scheme's name for messages, e.g. "SHA512-CRYPT"
 * (static text) */
const char *auth_pass_scheme_name(enum auth_pass_scheme scheme);

/* auth_pass_hash - hash password for storage. prefix picks the method
 * ("$y$", "$6$", "$5$", "$2b$"); NULL means the default: yescrypt, or
 * SHA512-crypt where libxcrypt lacks it. The salt comes from the kernel's
 * random source. Returns 0 with *hash_r a new string (free with free()), or
 * -1 with st: 5.5.4 for an empty or overlong password, 4.3.0 if crypt
 * fails. Borrows password. */
int auth_pass_hash(const char *password, const char *prefix, char **hash_r,
                   struct status *st);

/* auth_pass_verify - does password match the stored hash? Returns 1 yes,
 * 0 no (also for an empty password and a locked hash), or -1 with st when
 * the hash cannot be checked: 5.3.5 for a malformed or unsupported hash,
 * 4.3.0 when crypt(3) fails for want of resources. Never 1 for a hash it
 * does not understand. Comparison is in constant time; the computed hash
 * is wiped before returning. Borrows both strings. */
int auth_pass_verify(const char *password, const char *stored,
                     struct status *st);

/* auth_pass_equal - 1 if the alen bytes at a equal the blen bytes at b,
 * else 0. Takes the same time whatever the contents and wherever they
 * differ: every one of b's bytes is examined (b is the expected value). */
int auth_pass_equal(const void *a, size_t alen, const void *b, size_t blen);

/* auth_pass_is_plain - 1 if stored keeps the password in clear
 * ({PLAIN}/{CLEARTEXT}), else 0 */
int auth_pass_is_plain(const char *stored);

#endif
