/* imap_list.h - LIST, LSUB, STATUS items and special-use folders
 * Used by: the imap session: imap_cmd.c's table (LIST, LSUB), STATUS
 * (imap_cmd_mbox.c) and LIST-STATUS share the STATUS item code; the
 * client start creates the configured special-use folders
 * (mailbox_special_use, mailbox_auto). Runs as the mailbox owner. */
#ifndef YUBIN_IMAP_LIST_H
#define YUBIN_IMAP_LIST_H

#include <stddef.h>

#include "buf.h"
#include "status.h"

struct imap_arg;
struct imap_client;
struct imap_cmd;

/* STATUS items (RFC 9051 6.3.11, RFC 7162, RFC 8438, RFC 7889) */
#define IMAP_STATUS_MESSAGES    (1u << 0)
#define IMAP_STATUS_RECENT      (1u << 1)
#define IMAP_STATUS_UIDNEXT     (1u << 2)
#define IMAP_STATUS_UIDVALIDITY (1u << 3)
#define IMAP_STATUS_UNSEEN      (1u << 4)
#define IMAP_STATUS_DELETED     (1u << 5)
#define IMAP_STATUS_SIZE        (1u << 6)
#define IMAP_STATUS_HIGHESTMODSEQ (1u << 7)
#define IMAP_STATUS_APPENDLIMIT (1u << 8)

/* imap_status_items - parse a STATUS item list into *items_r; 0, or -1
 * when an item is unknown */
int imap_status_items(const struct imap_arg *list, unsigned int *items_r);
/* imap_status_write - append "* STATUS name (...)\r\n" for the folder
 * (UTF-8 name); 0, or -1 with st (5.1.1: no such folder) */
int imap_status_write(struct imap_client *c, const char *name,
                      unsigned int items, struct buf *out, struct status *st);

/* imap_list_special_use - the special-use attribute configured for a
 * folder ("\Sent"), or NULL */
const char *imap_list_special_use(struct imap_client *c, const char *name);
/* imap_list_autocreate - create (and subscribe) the special-use folders
 * as mailbox_auto says; trouble is logged */
void imap_list_autocreate(struct imap_client *c);
/* imap_list_tell - an untagged LIST for one folder (UTF-8 name) with
 * the attributes LIST shows, \NonExistent when there is no such folder,
 * and ("OLDNAME" (oldname)) when oldname is not NULL: what RFC 9051
 * 6.3.2 asks of SELECT and EXAMINE, and 6.3.9.7 of a command whose
 * mailbox name the server normalized */
void imap_list_tell(struct imap_client *c, const char *name,
                    const char *oldname);
/* imap_list_match - 1 if the UTF-8 name matches pattern (RFC 9051 6.3.9:
 * '*' matches anything, '%' anything but the separator; "INBOX" in any
 * case), else 0 */
int imap_list_match(const char *pattern, const char *name);

#endif
