/* imap_idle.h - IDLE (RFC 2177): changes pushed as they happen
 * Used by: the imap session (imap_cmd.c's table; imap_client.c hands it
 * the lines that arrive while IDLE runs). The selected folder's new/
 * and cur/ are watched with inotify, so a delivery or another session's
 * change is reported within a fraction of a second; a timer re-checks
 * every IMAP_IDLE_CHECK_MS in case a change escaped the watch, and
 * imap_idle_notify_interval sends "* OK Still here" to keep NAT state
 * alive. Runs as the mailbox owner. */
#ifndef YUBIN_IMAP_IDLE_H
#define YUBIN_IMAP_IDLE_H

#include <stddef.h>

struct imap_client;

/* a backstop check, whatever inotify says */
#define IMAP_IDLE_CHECK_MS      (30 * 1000)
/* inotify events are gathered this long before a sync */
#define IMAP_IDLE_DELAY_MS      50

/* imap_idle_line - a line while IDLE runs: "DONE" ends it */
void imap_idle_line(struct imap_client *c, const char *line, size_t len);
/* imap_idle_stop - stop watching (the connection is going away);
 * accepts a client without IDLE */
void imap_idle_stop(struct imap_client *c);

#endif
