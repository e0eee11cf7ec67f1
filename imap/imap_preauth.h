/* imap_preauth.h - the imap session run by hand: "imap --preauth"
 * Used by: imap.c, for tests, benchmarks and Dovecot's imaptest, like
 * Dovecot's "imap" binary run on a pipe: the client is on stdin and
 * stdout and the user is already authenticated ("* PREAUTH"). */
#ifndef YUBIN_IMAP_PREAUTH_H
#define YUBIN_IMAP_PREAUTH_H

#include "status.h"

/* imap_preauth_socket - a socket for the client on stdin/stdout: stdin
 * itself when it is a socket, else one end of a socketpair whose other
 * end a child process relays to stdin and stdout. The descriptor, or
 * -1 with st. */
int imap_preauth_socket(struct status *st);
/* imap_preauth_drop - as root, become the owner of the Maildir at path
 * (or of its nearest existing parent); refuses root-owned ones. 0, or
 * -1 with st; nothing to do when not root. */
int imap_preauth_drop(const char *path, struct status *st);

#endif
