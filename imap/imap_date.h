/* imap_date.h - IMAP dates and RFC 5322 Date: fields
 * Used by: the imap session: APPEND's date-time, FETCH INTERNALDATE,
 * SEARCH BEFORE/ON/SINCE and SENT*, SORT DATE. IMAP dates (RFC 9051
 * date, date-time) are read strictly; Date: header values leniently
 * (RFC 5322 3.3 with its obsolete forms: two-digit years, zone names,
 * no seconds, no day name). Parses client input and message headers. */
#ifndef YUBIN_IMAP_DATE_H
#define YUBIN_IMAP_DATE_H

#include <stddef.h>
#include <time.h>

#include "buf.h"

/* imap_date_parse - an IMAP date "d-Mon-yyyy" (day of one or two
 * digits): 0 with the day's number (days since 1970-01-01) in *day_r,
 * or -1 */
int imap_date_parse(const char *s, long *day_r);
/* imap_date_parse_time - an IMAP date-time "dd-Mon-yyyy hh:mm:ss
 * +hhmm" (the day may start with a space): 0 with *t_r, or -1 */
int imap_date_parse_time(const char *s, time_t *t_r);
/* imap_date_write - append t as a quoted IMAP date-time in the local
 * time zone: "\"01-Jan-2024 12:00:00 +0100\"" */
void imap_date_write(struct buf *out, time_t t);
/* imap_date_local_day - the local calendar day of t, as a day number */
long imap_date_local_day(time_t t);

/* imap_date_parse_822 - a Date: value (len bytes): 0 with the instant
 * in *t_r and the day number in the field's own zone in *day_r (either
 * may be NULL), or -1 when it cannot be read */
int imap_date_parse_822(const char *s, size_t len, time_t *t_r,
                        long *day_r);

/* imap_date_days - the day number of a civil date (month 1-12) */
long imap_date_days(int year, int month, int day);

#endif
