/* smtpd_anvil.h - per-client connection counts and rates
 * Used by: smtpd, for smtpd_client_connection_count_limit, the
 * smtpd_client_*_rate_limit settings (Postfix's anvil(8), kept inside the
 * smtpd process: limits hold per master.cf service). Keys are client IP
 * addresses; entries go when a client has no connection and its rate
 * window has passed. */
#ifndef YUBIN_SMTPD_ANVIL_H
#define YUBIN_SMTPD_ANVIL_H

struct smtpd_anvil;

/* smtpd_anvil_new - rates count per window_ms (anvil_rate_time_unit);
 * free with smtpd_anvil_free() */
struct smtpd_anvil *smtpd_anvil_new(long long window_ms);
void smtpd_anvil_free(struct smtpd_anvil **ap);
/* smtpd_anvil_connect - a new connection from ip at now_ms: *count_r gets
 * the simultaneous connections, *rate_r the connections in this window
 * (both including this one) */
void smtpd_anvil_connect(struct smtpd_anvil *a, const char *ip,
                         long long now_ms, long long *count_r,
                         long long *rate_r);
/* smtpd_anvil_disconnect - one connection from ip ended */
void smtpd_anvil_disconnect(struct smtpd_anvil *a, const char *ip);
/* Other per-client events, each counted in its own window. */
enum smtpd_anvil_kind {
        SMTPD_ANVIL_AUTH,       /* smtpd_client_auth_rate_limit */
        SMTPD_ANVIL_MESSAGE,    /* smtpd_client_message_rate_limit */
        SMTPD_ANVIL_RCPT,       /* smtpd_client_recipient_rate_limit */
        SMTPD_ANVIL_TLS,        /* smtpd_client_new_tls_session_rate_limit */
        SMTPD_ANVIL_KINDS
};

/* smtpd_anvil_event - another event of kind from ip at now_ms; returns
 * its count in the current window, this one included */
long long smtpd_anvil_event(struct smtpd_anvil *a, const char *ip,
                            enum smtpd_anvil_kind kind, long long now_ms);

#endif
