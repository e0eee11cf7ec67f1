/* sendmail.h - what the modules of the sendmail command share
 * Used by: sendmail.c (options, modes), sendmail_msg.c (the message and
 * its envelope), sendmail_drop.c (handing it to maildrop/, directly or
 * through postdrop), sendmail_smtp.c (-bs), sendmail_queue.c (mailq).
 * All of it runs as the invoking user, unprivileged. */
#ifndef YUBIN_SENDMAIL_H
#define YUBIN_SENDMAIL_H

#include <stddef.h>

#include "buf.h"
#include "maildrop.h"
#include "status.h"

struct cfg;

#define SENDMAIL_PROGNAME       "sendmail"

/* The options that shape one submission. */
struct sendmail_opts {
        const char *config_dir;         /* -C, MAIL_CONFIG or the default */
        int config_dir_given;           /* not the built-in default */
        const char *sender;             /* -f / -r, or NULL */
        const char *fullname;           /* -F, or NULL */
        int extract;                    /* -t */
        int dot_ends;                   /* a "." line ends input (no -i) */
        const char *dsn_ret;            /* -R full|hdrs */
        const char *dsn_envid;          /* -V */
        int verbose;
};

/* --- sendmail_msg.c --- */

/* sendmail_msg_read - the message on fd into msg, CR LF turned into LF,
 * a last line without LF ended, and (with dot_ends) input ending at a
 * line of one "."; at most max bytes (0: no limit). Returns 0, or -1 with
 * st (5.3.4 too big, 4.3.0 read error). */
int sendmail_msg_read(int fd, int dot_ends, size_t max, struct buf *msg,
                      struct status *st);

/* sendmail_sender - the envelope sender: -f's address (written with or
 * without <>, "" or <> for the null sender) or the login name of the real
 * uid, qualified with @$myorigin. Returns a new string, or NULL with st. */
char *sendmail_sender(struct cfg *cfg, const char *given, struct status *st);

/* sendmail_rcpt_add - the addresses of list (one command line argument
 * or a header value: an RFC 5322 address list), qualified with
 * @$myorigin, appended to env. Returns 0, or -1 with st. */
int sendmail_rcpt_add(struct cfg *cfg, struct maildrop_env *env,
                      const char *list, struct status *st);

/* sendmail_msg_fix - make msg ready to queue: with extract, add the To:,
 * Cc: and Bcc: recipients (Resent- ones when the message has any) to env;
 * remove Bcc: fields; add From: (env's sender, with fullname), Date: and
 * Message-ID: when missing; set env->smtputf8 when an address needs it.
 * Returns 0, or -1 with st. */
int sendmail_msg_fix(struct cfg *cfg, struct buf *msg,
                     struct maildrop_env *env, int extract,
                     const char *fullname, struct status *st);

/* --- sendmail_drop.c --- */

/* sendmail_drop - format env and msg as a maildrop file and store it:
 * directly when this user may write maildrop/ (creating it when the
 * queue is ours and it is missing), else through postdrop. Returns 0, or
 * -1 with st (4.x.x: try later; 5.x.x: refused). */
int sendmail_drop(struct cfg *cfg, const struct sendmail_opts *o,
                  const struct maildrop_env *env, const struct buf *msg,
                  struct status *st);

/* --- sendmail_smtp.c --- */

/* sendmail_smtp - -bs: an SMTP dialogue on stdin/stdout; each accepted
 * message goes through sendmail_msg_fix and sendmail_drop. Returns the
 * exit status. */
int sendmail_smtp(struct cfg *cfg, const struct sendmail_opts *o);

/* --- sendmail_queue.c --- */

/* sendmail_queue_list - mailq / -bp: the queue in Postfix's mailq shape
 * on stdout. Returns the exit status. */
int sendmail_queue_list(struct cfg *cfg);

#endif
