/* maildrop.h - local submission without the network: the maildrop queue
 * Used by: sendmail (and its setgid helper postdrop) to hand a message
 * over; qmgr to pick it up into the queue proper. Postfix's design:
 *
 *   user's sendmail --(file)--> queue_directory/maildrop/ --> pickup
 *        (or, when it cannot write there, through postdrop)    (in qmgr,
 *                                                               as mail_owner)
 *
 * maildrop/ is owned by mail_owner, group setgid_group ("postdrop"), mode
 * 1730: members of the group may create files but not list or read the
 * directory, and the sticky bit keeps them from removing each other's
 * files. postdrop is installed setgid setgid_group (root:postdrop 2755),
 * so any local user can submit; sendmail itself needs no privileges. When
 * the submitter can write maildrop/ itself (root, or mail_owner, or the
 * invoking user of an unprivileged instance where everything runs as one
 * user and maildrop/ is 0700) sendmail writes the file directly and no
 * postdrop runs.
 *
 * A maildrop file is written under a "tmp." name, fsynced, made
 * readable (0644) and renamed to its final name, so pickup never sees half
 * a file. Its owner (st_uid, set by the kernel) is the submitting user:
 * that, not anything in the file, is the uid pickup records (attribute
 * "uid", logged as "uid=N" in Postfix's pickup line). The file's contents
 * are untrusted: pickup checks every field and limit again.
 *
 * File format (text, LF line ends):
 *   YUBIN-MAILDROP 1
 *   S<sender, xtext>            once; empty for the null sender
 *   R<recipient, xtext>         one or more
 *   A<name>=<value, xtext>      optional: dsn_ret, dsn_envid, smtputf8
 *   E                           end of the envelope
 *   <the message, LF line ends, to the end of the file>
 * Addresses are in addr.h's internal form, already qualified. */
#ifndef YUBIN_MAILDROP_H
#define YUBIN_MAILDROP_H

#include <stddef.h>

#include "buf.h"
#include "status.h"

struct cfg;

#define MAILDROP_DIR            "maildrop"
#define MAILDROP_MAGIC          "YUBIN-MAILDROP 1\n"
#define MAILDROP_RCPT_MAX       10000           /* recipients in one file */
#define MAILDROP_ENVELOPE_MAX   (16 * 1024 * 1024)      /* bytes before E */
#define MAILDROP_TMP_AGE        (24 * 3600)     /* stale tmp. files go */

/* One submission's envelope. */
struct maildrop_env {
        char *sender;           /* "" = <> */
        char **rcpts;           /* NULL-terminated */
        size_t nrcpt;
        char *dsn_ret;          /* "FULL" / "HDRS" or NULL */
        char *dsn_envid;        /* or NULL */
        int smtputf8;           /* 1: the message needs SMTPUTF8 */
};

/* maildrop_env_release - free what env holds and clear it */
void maildrop_env_release(struct maildrop_env *env);

/* maildrop_format - the file's envelope part for env, appended to out;
 * the caller appends the message after it. Borrows env. */
void maildrop_format(struct buf *out, const struct maildrop_env *env);

/* maildrop_parse - check a whole maildrop file (len bytes at data) and
 * fill *env_r (release with maildrop_env_release()) and *content_r, the
 * offset of the message. Every address must parse as an RFC 5321 path
 * (UTF-8 allowed only with smtputf8); at least one and at most
 * MAILDROP_RCPT_MAX recipients. Returns 0, or -1 with st (5.x.x: the
 * file is malformed and will never be good). */
int maildrop_parse(const char *data, size_t len, struct maildrop_env *env_r,
                   size_t *content_r, struct status *st);

/* maildrop_store - write len bytes at data as a new file in
 * queue_dir/maildrop (tmp. name, fsync, chmod 0644, rename, fsync of the
 * directory). Returns 0 with its name in *name_r (new string; may be NULL
 * if not wanted), or -1 with st (4.3.x; errno is kept, so EACCES tells the
 * caller to go through postdrop). */
int maildrop_store(const char *queue_dir, const void *data, size_t len,
                   char **name_r, struct status *st);

/* maildrop_init - create queue_directory/maildrop if needed and, as root,
 * give it to mail_owner:setgid_group with mode 1730 (0700 and a warning
 * when setgid_group does not exist: then only root and mail_owner can
 * submit). As an ordinary user (unprivileged instance): mode 0700, owned
 * by that user. Call where the queue directories are made, before
 * privileges are dropped. Returns 0, or -1 with st. */
int maildrop_init(struct cfg *cfg, struct status *st);

/* maildrop_pickup - move every complete file in maildrop/ into the queue
 * (incoming/, through queue_writer: Received header, attributes uid and
 * arrival, fsync), remove it, and log "QUEUEID: uid=N from=<sender>".
 * A malformed or oversized file is logged ("warning: maildrop/NAME:
 * uid=N: ...") and removed, as Postfix's pickup does; tmp. files older
 * than MAILDROP_TMP_AGE are removed. Runs as mail_owner (or the instance's
 * user); blocking file I/O (one fsync per message). *count_r gets the
 * number of messages queued. Returns 0, or -1 with st on a temporary
 * failure (queue full, I/O error): what is left stays for the next call. */
int maildrop_pickup(struct cfg *cfg, size_t *count_r, struct status *st);

#endif
