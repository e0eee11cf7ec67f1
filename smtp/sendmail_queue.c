/* sendmail_queue.c - mailq / sendmail -bp: list the mail queue
 * Used by: mailq, sendmail -bp. The listing itself (Postfix's mailq
 * layout: '*' after the ID of active mail, '!' after held mail, each
 * deferred recipient's last reason in parentheses) is queue_list() in
 * common/queue_file_list.c, shared with yubinctl queue list. Reads the
 * queue directly, so it works whether or not Yubin runs; it needs the
 * right to read the queue (root or mail_owner, or the user of an
 * unprivileged instance) and says so otherwise. */
#include <stdio.h>
#include <sysexits.h>

#include "cfg.h"
#include "queue_file.h"
#include "sendmail.h"

int sendmail_queue_list(struct cfg *cfg)
{
        int r = queue_list(stdout, cfg_get(cfg, "queue_directory"));

        if (fflush(stdout) != 0)
                return EX_IOERR;
        return r < 0 ? EX_NOPERM : 0;
}
