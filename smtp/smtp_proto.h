/* smtp_proto.h - what qmgr and the smtp client say to each other
 * Used by: qmgr (client, qmgr_smtp.c) and smtp (server, smtp.c). One
 * request per connection to the UNIX socket $queue_directory/private/smtp,
 * which smtp creates, owned by mail_owner, mode 0600 (smtp also checks the
 * peer's uid). Lines are escaped and TAB-separated as local_proto.h says:
 *
 *   qmgr:  DELIVER <queue ID> <destination domain> [cache]
 *                 "cache": more mail for this destination follows, so
 *                 keep the connection open after the transaction
 *                 (smtp_connection_cache_on_demand)
 *          RCPT <recipient index> <recipient>      (one or more)
 *          END
 *   smtp:  RESULT <recipient index> <sent|deferred|bounced> <code>
 *                 <relay> <text> [<conn_use>]
 *                 one per recipient; relay is "host[addr]:port" or
 *                 "none"; text is the log's status reason; conn_use,
 *                 given when above 1, counts the messages the
 *                 connection has carried, this one included
 *          DONE   the answer is complete; smtp closes
 *
 * All recipients of one request go to one destination in one SMTP
 * transaction, over a new connection or one kept from an earlier request
 * to the same next hop (smtp_cache.c). smtp records a recipient the
 * server accepted in the queue file itself (queue_file_mark_fd) the
 * moment the server's 250 arrives, so a qmgr that dies before hearing of
 * it does not send it again; a transaction whose end of DATA is out when
 * qmgr goes away is seen through for that reason. A connection that ends
 * without DONE defers what has no RESULT. Parses: smtp reads qmgr's
 * request (from mail_owner only); qmgr reads the answer.
 * Neither carries network input. */
#ifndef YUBIN_SMTP_PROTO_H
#define YUBIN_SMTP_PROTO_H

#define SMTP_SOCKET             "private/smtp"  /* under queue_directory */
#define SMTP_PROTO_LINE_MAX     8192
#define SMTP_PROTO_FIELDS_MAX   8
#define SMTP_PROTO_RCPT_MAX     1000    /* recipients in one request */
#define SMTP_PROTO_TIMEOUT_MS   (3600 * 1000)   /* one delivery, at most */

#endif
