/* authc_int.h - what authc.c and authc_sync.c share: request lines and
 * reply decoding. Not for other modules: they use authc.h. */
#ifndef YUBIN_AUTHC_INT_H
#define YUBIN_AUTHC_INT_H

#include "authc.h"
#include "buf.h"

enum authc_op {
        AUTHC_OP_VERIFY,
        AUTHC_OP_LOOKUP,
        AUTHC_OP_REDEEM,
        AUTHC_OP_PBS_GRANT,
        AUTHC_OP_PBS_CHECK,
        AUTHC_OP_PBS_LIST,
        AUTHC_OP_MECHS,
        AUTHC_OP_AUTH,
        AUTHC_OP_CONT,
        AUTHC_OP_ABORT,
};

/* What a request carries; fields not used by its op are ignored. */
struct authc_args {
        const struct authc_login *login;        /* VERIFY, AUTH */
        const char *user;               /* VERIFY, LOOKUP, PBS-GRANT */
        const char *password;           /* VERIFY */
        const char *token;              /* REDEEM */
        const char *ip;                 /* PBS-GRANT, PBS-CHECK */
        const char *service;            /* MECHS */
        int secured;                    /* MECHS */
        const char *mech;               /* AUTH */
        const char *data;               /* AUTH (NULL: no initial
                                         * response), CONT */
};

/* authc_line_build - append the request line for op with id (LF
 * included) to out; 0, or -1 when it would pass AUTHC_LINE_MAX (out is
 * then left as it was) */
int authc_line_build(struct buf *out, enum authc_op op, unsigned long id,
                     const struct authc_args *args);

/* authc_line_head - split a reply line (modified in place) into fields;
 * *id_r gets the id (0 for "-" or a malformed one). Returns the field
 * count (fields[0] is the reply word), or 0 for an empty line. */
size_t authc_line_head(char *line, size_t len, char **fields,
                       unsigned long *id_r);

/* authc_reply_decode - fill r from the reply fields of a request of kind
 * op; a user record is parsed into *user_r (free with authc_user_free();
 * r->user points to it). Unknown or malformed replies become TEMPFAIL.
 * Returns 1 when the reply is final, 0 for CONT (SASL goes on). */
int authc_reply_decode(enum authc_op op, char **fields, size_t count,
                       struct authc_reply *r, struct authc_user **user_r);

/* authc_version_ok - 1 if fields are a VERSION line this client can
 * speak (same major), else 0 */
int authc_version_ok(char **fields, size_t count);

#endif
