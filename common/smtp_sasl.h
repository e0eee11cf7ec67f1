/* smtp_sasl.h - Cyrus SASL client sessions for the outbound smtp client
 * Used by: smtp (relayhost authentication: smtp_sasl_auth_enable,
 * smtp_sasl_password_maps, smtp_sasl_mechanism_filter,
 * smtp_sasl_security_options). The caller looks the next hop up in
 * smtp_sasl_password_maps and passes "user:password" through
 * smtp_sasl_credentials(); Cyrus gets them from SASL_CB_USER,
 * SASL_CB_AUTHNAME and SASL_CB_PASS callbacks, reads no /etc/sasl2 file,
 * and loads only password mechanisms (PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5,
 * SCRAM). Challenges and responses are base64 as they go over SMTP. Runs
 * as mail_owner; parses the server's challenges (inside libsasl2). */
#ifndef YUBIN_SMTP_SASL_H
#define YUBIN_SMTP_SASL_H

#include <stddef.h>

#include "status.h"

struct smtp_sasl;

/* smtp_sasl_credentials - split a password map value "user:password"
 * at the first ':' (the password may hold more). Returns 0 with *user_r
 * and *password_r (free with free(); wipe the password), or -1 with st
 * (5.3.5) when there is no ':' or the user is empty. */
int smtp_sasl_credentials(const char *value, char **user_r,
                            char **password_r, struct status *st);
/* smtp_sasl_filter - the server's mechanisms (space-separated, as in
 * EHLO AUTH) that are in filter (count words, any case; count 0: all),
 * as a new space-separated string (free with free()) */
char *smtp_sasl_filter(const char *server_mechs, char **filter,
                         size_t count);

/* smtp_sasl_sec_flags - Cyrus SASL_SEC_* flags for Postfix's option words
 * (noanonymous, noplaintext, noactive, nodictionary, mutual_auth,
 * forward_secrecy), for smtp_sasl_new() here and for authd's server
 * side; 0, or -1 with st naming an unknown word */
int smtp_sasl_sec_flags(char **words, size_t count, unsigned *flags_r,
                        struct status *st);

/* smtp_sasl_new - a session for service ("smtp") with the server
 * host (borrowed), as user with password (copied), under Cyrus
 * SASL_SEC_* flags (smtp_sasl_sec_flags()).
 * Returns a new session (free with smtp_sasl_free()), or NULL with st
 * (4.3.0). */
struct smtp_sasl *smtp_sasl_new(const char *service, const char *host,
                                    const char *user, const char *password,
                                    unsigned flags, struct status *st);
/* smtp_sasl_start - pick a mechanism from mechs (space-separated) and
 * begin: *mech_r gets its name (borrowed from c), *initial_r the initial
 * response in base64 (free with free(); "" for an empty one, which SMTP
 * sends as "="), or NULL when the mechanism starts without one. Returns
 * 0, or -1 with st: 5.7.0 when no mechanism fits, 4.3.0 for trouble. */
int smtp_sasl_start(struct smtp_sasl *c, const char *mechs,
                      const char **mech_r, char **initial_r,
                      struct status *st);
/* smtp_sasl_step - answer the server's challenge (base64, borrowed):
 * *response_r gets the reply in base64 (free with free()). 0, or -1 with
 * st (5.5.2 for a challenge that is not base64). */
int smtp_sasl_step(struct smtp_sasl *c, const char *challenge,
                     char **response_r, struct status *st);
/* smtp_sasl_free - end *cp (wiping the password); clears it; accepts
 * NULL */
void smtp_sasl_free(struct smtp_sasl **cp);

#endif
