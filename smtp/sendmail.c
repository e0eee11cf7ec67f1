/* sendmail.c - the sendmail-compatible command: sendmail, mailq, newaliases
 * Runs as the invoking user; reads the message from stdin. One program,
 * told apart by argv[0] (or -bp / -bi), so that `alternatives --config
 * mta`, cron and scripts find the names they expect. Takes the options
 * Postfix's sendmail takes; the mail queue it hands messages to is built
 * with smtpd and qmgr, and until then submission fails with a temporary
 * error (EX_TEMPFAIL) rather than pretending to accept mail. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"

enum sendmail_mode {
        MODE_SEND,      /* -bm (default) */
        MODE_QUEUE,     /* -bp, mailq */
        MODE_ALIASES,   /* -bi, -I, newaliases */
        MODE_SMTP,      /* -bs */
};

static void usage(void)
{
        fprintf(stderr, "usage: sendmail [-t] [-i] [-f sender] [-F name] "
                "[-bm|-bp|-bi|-bs] [-C config_dir] [recipient...]\n");
        exit(EX_USAGE);
}

int main(int argc, char **argv)
{
        const char *name = basename(argv[0]);
        enum sendmail_mode mode = MODE_SEND;
        int c;

        log_open("yubin", "sendmail", LOG_TO_STDERR, NULL);
        if (strcmp(name, "mailq") == 0)
                mode = MODE_QUEUE;
        else if (strcmp(name, "newaliases") == 0)
                mode = MODE_ALIASES;

        /* sendmail's option letters; those with no effect are accepted
         * and ignored, as every sendmail replacement does */
        opterr = 0;
        while ((c = getopt(argc, argv, "A:B:b:C:F:f:h:IiL:mN:no:p:q:R:r:tV:vX:")) != -1) {
                switch (c) {
                case 'b':
                        if (strcmp(optarg, "p") == 0)
                                mode = MODE_QUEUE;
                        else if (strcmp(optarg, "i") == 0)
                                mode = MODE_ALIASES;
                        else if (strcmp(optarg, "s") == 0)
                                mode = MODE_SMTP;
                        else if (strcmp(optarg, "m") == 0 ||
                                 strcmp(optarg, "d") == 0)
                                mode = MODE_SEND;
                        else
                                usage();
                        break;
                case 'I':
                        mode = MODE_ALIASES;
                        break;
                case '?':
                        usage();
                        break;
                default:
                        break;
                }
        }

        log_error("the mail queue is not part of this build yet; "
                  "nothing was %s", mode == MODE_SEND || mode == MODE_SMTP
                                    ? "accepted" : "done");
        return EX_TEMPFAIL;
}
