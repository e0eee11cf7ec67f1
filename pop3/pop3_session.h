/* pop3_session.h - one logged-in POP3 client: the TRANSACTION state
 * Used by: the pop3 program (pop3.c), which the supervisor starts for a
 * user after a login; pop3_cmd.c holds the command handlers. Opens the
 * user's Maildir (pop3_mbox.h), answers the login ("+OK Logged in.", or
 * "-ERR [IN-USE]" when pop3_lock_session finds another session), runs
 * the commands, and on QUIT enters UPDATE (deletions happen there only;
 * a dropped connection deletes nothing). Logs Dovecot's "pop3(USER):
 * Disconnected: Logged out top=.../..., retr=.../..., del=.../...,
 * size=..." per pop3_logout_format. Runs as the mailbox owner; parses
 * client command lines. */
#ifndef YUBIN_POP3_SESSION_H
#define YUBIN_POP3_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "conn.h"
#include "login_session.h"
#include "maildir.h"
#include "pop3_mbox.h"
#include "pop3_parse.h"
#include "pop3_retr.h"

struct cfg;

/* RFC 1939 section 3: an autologout timer of at least 10 minutes */
#define POP3_IDLE_MS            (10 * 60 * 1000)
/* output queued while streaming a message before waiting for the client */
#define POP3_STREAM_HIGH        (256 * 1024)
#define POP3_STREAM_LOW         (64 * 1024)
#define POP3_BAD_COMMANDS_MAX   20

struct pop3_session {
        struct login_session *ls;
        struct cfg *cfg;
        struct conn *conn;
        struct pop3_mbox *mb;
        int no_flag_updates;
        int ending;             /* the reply is queued; close follows */
        unsigned bad;
        /* a RETR or TOP on its way out */
        int streaming;
        int stream_is_top;
        struct maildir_map map;
        struct pop3_retr retr;
        struct buf out;
        /* for the logout line */
        unsigned long top_count, retr_count;
        uint64_t top_bytes, retr_bytes;
        size_t deleted;
};

/* pop3_session_start - open the mailbox for ls (taken) and greet: the
 * session runs from the loop and ends the process's loop when it is over
 * (loop_exit). cfg is borrowed. */
void pop3_session_start(struct pop3_session *s, struct login_session *ls,
                        struct cfg *cfg);
/* pop3_session_stop - the server stops: log and close at once */
void pop3_session_stop(struct pop3_session *s);
/* pop3_session_release - free what s holds */
void pop3_session_release(struct pop3_session *s);

/* pop3_session_end - queue nothing more, close after the output is out,
 * and log "Disconnected: REASON" with the counters */
void pop3_session_end(struct pop3_session *s, const char *reason);
/* pop3_session_stream - begin sending message i (0-based) of the
 * snapshot, whole (top_lines < 0: RETR) or TOP's part; answers -ERR
 * itself when the message is gone or unreadable */
void pop3_session_stream(struct pop3_session *s, size_t i, long top_lines);

/* pop3_cmd_run - one command line in the TRANSACTION state */
void pop3_cmd_run(struct pop3_session *s, char *line, size_t len);

#endif
