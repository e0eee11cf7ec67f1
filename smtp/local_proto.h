/* local_proto.h - what qmgr and local say to each other
 * Used by: qmgr (client, qmgr_deliver.c) and local (server,
 * local_request.c). One delivery request per connection to the UNIX socket
 * $queue_directory/private/local, which local creates, owned by
 * mail_owner, mode 0600 (local also checks the peer's uid). Lines of
 * TAB-separated fields, escaped as authd's protocol escapes them
 * (authc_escape: backslash, TAB, CR, LF):
 *
 *   qmgr:  DELIVER <queue ID> <recipient index> <recipient> <flags>
 *                  flags: "0", or "1" when the recipient came from a
 *                  virtual alias that names itself (RESOLVE_NO_VIRTUAL)
 *   local: RESULT <sent|deferred|bounced> <code> <target> <text>
 *                  one per delivery target of the recipient: the address,
 *                  "|command" or "/file" that got (or failed to get) the
 *                  message; text is the log's status reason
 *          FORWARD <address>
 *                  an address the recipient's aliases or .forward name that
 *                  local does not deliver itself: qmgr adds it to the
 *                  message as a new recipient
 *          DONE    the answer is complete; local closes
 *
 * A connection that ends without DONE (local died) defers the recipient.
 * Parses: local reads qmgr's request (from mail_owner only); qmgr reads
 * local's answer. Neither carries network input. */
#ifndef YUBIN_LOCAL_PROTO_H
#define YUBIN_LOCAL_PROTO_H

#include <stddef.h>

#include "buf.h"

#define LOCAL_SOCKET            "private/local" /* under queue_directory */
#define LOCAL_LINE_MAX          8192
#define LOCAL_FIELDS_MAX        8
#define LOCAL_TIMEOUT_MS        (3600 * 1000)   /* one delivery, at most */

/* local_proto_put - append one line of n fields (borrowed), escaped and
 * TAB-separated, ending in LF */
void local_proto_put(struct buf *out, const char *const *fields, size_t n);

/* local_proto_split - split one line (len bytes, no LF; modified in place)
 * into fields, unescaping each. Returns the number of fields (at most max),
 * or -1 when the line is malformed or has more than max. */
int local_proto_split(char *line, size_t len, char **fields_r, size_t max);

#endif
