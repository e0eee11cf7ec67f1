/* status.h - why something failed, in mail terms
 * An RFC 3463 enhanced status code plus a text, filled by the function that
 * knows. The code's first digit is the class: 4 is temporary (defer, retry),
 * 5 is permanent (bounce, refuse). Front ends map classes to replies once. */
#ifndef YUBIN_STATUS_H
#define YUBIN_STATUS_H

#include <stddef.h>

#define STATUS_TEXT_MAX 512

/* Codes; never digits at the call site. */
#define STATUS_OK               "2.0.0"
#define STATUS_TEMP             "4.0.0" /* temporary, no better code */
#define STATUS_LOCAL_IO         "4.3.0" /* local disk or system trouble */
#define STATUS_NO_SPACE         "4.3.1" /* mail system full */
#define STATUS_CONFIG_TEMP      "4.3.5" /* configuration error, try later */
#define STATUS_LOOKUP_TEMP      "4.4.3" /* directory / DNS / map outage */
#define STATUS_OVER_QUOTA_TEMP  "4.2.2"
#define STATUS_PERM             "5.0.0"
#define STATUS_BAD_MAILBOX      "5.1.1"
#define STATUS_OVER_QUOTA       "5.2.2"
#define STATUS_TOO_BIG          "5.3.4"
#define STATUS_ROUTING_LOOP     "5.4.6" /* mail loop (Delivered-To, hops) */
#define STATUS_SYNTAX           "5.5.2"
#define STATUS_BAD_ARGS         "5.5.4"
#define STATUS_POLICY           "5.7.1"
#define STATUS_CONFIG           "5.3.5"

struct status {
        char code[8];
        char text[STATUS_TEXT_MAX];
};

/* status_set - record code and text (printf format, %m allowed);
 * always returns -1 so a failing function can end with it */
int status_set(struct status *st, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* status_clear - no failure recorded */
void status_clear(struct status *st);
/* status_class - 2, 4 or 5 from the code's first digit (4 if unset) */
int status_class(const struct status *st);

#endif
