/* imap_date.c - IMAP dates and RFC 5322 Date: fields
 * Used by: the imap session (imap_date.h). Day numbers are counted from
 * 1970-01-01 in the proleptic Gregorian calendar, so comparisons need no
 * time zone. Parses client input and message headers. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_date.h"

static const char *const months[] = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun",
        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static int month_of(const char *s)
{
        for (int i = 0; i < 12; i++)
                if (strncasecmp(s, months[i], 3) == 0)
                        return i + 1;
        return 0;
}

long imap_date_days(int year, int month, int day)
{
        /* days from civil, after H. Hinnant's algorithm */
        long y = year - (month <= 2);
        long era = (y >= 0 ? y : y - 399) / 400;
        long yoe = y - era * 400;
        long mp = (month + 9) % 12;
        long doy = (153 * mp + 2) / 5 + day - 1;
        long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

        return era * 146097 + doe - 719468;
}

static int valid_day(int year, int month, int day)
{
        static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
                                     30, 31 };

        if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 ||
            day > mdays[month - 1])
                return 0;
        if (month == 2 && day == 29 &&
            !((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
                return 0;
        return 1;
}

/* digits - n digits at *sp (exactly n, or 1..n when !exact) */
static int digits(const char **sp, int n, int exact, int *v_r)
{
        const char *s = *sp;
        int v = 0, i;

        for (i = 0; i < n && isdigit((unsigned char)s[i]); i++)
                v = v * 10 + (s[i] - '0');
        if (i == 0 || (exact && i != n))
                return -1;
        *sp = s + i;
        *v_r = v;
        return 0;
}

int imap_date_parse(const char *s, long *day_r)
{
        int d, m, y;

        if (digits(&s, 2, 0, &d) < 0 || *s++ != '-' ||
            (m = month_of(s)) == 0)
                return -1;
        s += 3;
        if (*s++ != '-' || digits(&s, 4, 1, &y) < 0 || *s != '\0' ||
            !valid_day(y, m, d))
                return -1;
        *day_r = imap_date_days(y, m, d);
        return 0;
}

int imap_date_parse_time(const char *s, time_t *t_r)
{
        int d, m, y, hh, mm, ss, zh, zm, sign;

        if (*s == ' ')
                s++;
        if (digits(&s, 2, 0, &d) < 0 || *s++ != '-' ||
            (m = month_of(s)) == 0)
                return -1;
        s += 3;
        if (*s++ != '-' || digits(&s, 4, 1, &y) < 0 || *s++ != ' ' ||
            digits(&s, 2, 1, &hh) < 0 || *s++ != ':' ||
            digits(&s, 2, 1, &mm) < 0 || *s++ != ':' ||
            digits(&s, 2, 1, &ss) < 0 || *s++ != ' ')
                return -1;
        if (*s != '+' && *s != '-')
                return -1;
        sign = *s++ == '-' ? -1 : 1;
        if (digits(&s, 2, 1, &zh) < 0 || digits(&s, 2, 1, &zm) < 0 ||
            *s != '\0' || !valid_day(y, m, d) || hh > 23 || mm > 59 ||
            ss > 60 || zm > 59)
                return -1;
        *t_r = (time_t)imap_date_days(y, m, d) * 86400 + hh * 3600 + mm * 60 +
               ss - sign * (zh * 3600 + zm * 60);
        return 0;
}

void imap_date_write(struct buf *out, time_t t)
{
        struct tm tm;
        long off;

        localtime_r(&t, &tm);
        off = tm.tm_gmtoff / 60;
        buf_printf(out, "\"%02d-%s-%04d %02d:%02d:%02d %c%02ld%02ld\"",
                   tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
                   tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
                   labs(off) / 60, labs(off) % 60);
}

long imap_date_local_day(time_t t)
{
        struct tm tm;

        localtime_r(&t, &tm);
        return imap_date_days(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* ---- RFC 5322 3.3 ---- */

static void skip_cfws(const char **sp, const char *end)
{
        const char *s = *sp;
        int depth = 0;

        while (s < end) {
                if (*s == '(')
                        depth++;
                else if (*s == ')' && depth > 0)
                        depth--;
                else if (depth == 0 && !isspace((unsigned char)*s))
                        break;
                s++;
        }
        *sp = s;
}

static int num(const char **sp, const char *end, int max_digits, int *v_r)
{
        const char *s = *sp;
        int v = 0, n = 0;

        while (s < end && isdigit((unsigned char)*s) && n < max_digits) {
                v = v * 10 + (*s - '0');
                s++;
                n++;
        }
        if (n == 0)
                return -1;
        *sp = s;
        *v_r = v;
        return n;
}

/* zone - the offset in minutes of a zone: +hhmm or an obsolete name */
static int zone(const char *s, const char *end, int *min_r)
{
        static const struct {
                const char *name;
                int min;
        } names[] = {
                { "UT", 0 }, { "GMT", 0 }, { "Z", 0 }, { "EST", -300 },
                { "EDT", -240 }, { "CST", -360 }, { "CDT", -300 },
                { "MST", -420 }, { "MDT", -360 }, { "PST", -480 },
                { "PDT", -420 },
        };
        int h, m, sign;

        *min_r = 0;
        if (s >= end)
                return 0;
        if (*s == '+' || *s == '-') {
                sign = *s == '-' ? -1 : 1;
                if (end - s < 5)
                        return -1;
                s++;
                if (!isdigit((unsigned char)s[0]) ||
                    !isdigit((unsigned char)s[1]) ||
                    !isdigit((unsigned char)s[2]) ||
                    !isdigit((unsigned char)s[3]))
                        return -1;
                h = (s[0] - '0') * 10 + (s[1] - '0');
                m = (s[2] - '0') * 10 + (s[3] - '0');
                *min_r = sign * (h * 60 + m);
                return 0;
        }
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                size_t n = strlen(names[i].name);
                if ((size_t)(end - s) >= n &&
                    strncasecmp(s, names[i].name, n) == 0 &&
                    ((size_t)(end - s) == n ||
                     !isalpha((unsigned char)s[n]))) {
                        *min_r = names[i].min;
                        return 0;
                }
        }
        return 0;       /* unknown zones count as +0000 (RFC 5322 4.3) */
}

int imap_date_parse_822(const char *s, size_t len, time_t *t_r,
                        long *day_r)
{
        const char *end = s + len;
        int d, m, y, hh = 0, mm = 0, ss = 0, z, n;

        skip_cfws(&s, end);
        /* an optional day name and comma */
        if (s < end && isalpha((unsigned char)*s)) {
                while (s < end && isalpha((unsigned char)*s))
                        s++;
                skip_cfws(&s, end);
                if (s < end && *s == ',')
                        s++;
                skip_cfws(&s, end);
        }
        if (num(&s, end, 2, &d) < 0)
                return -1;
        skip_cfws(&s, end);
        if (end - s < 3 || (m = month_of(s)) == 0)
                return -1;
        while (s < end && isalpha((unsigned char)*s))
                s++;
        skip_cfws(&s, end);
        if ((n = num(&s, end, 4, &y)) < 0)
                return -1;
        if (n <= 2)
                y += y < 50 ? 2000 : 1900;
        else if (n == 3)
                y += 1900;
        skip_cfws(&s, end);
        if (num(&s, end, 2, &hh) > 0) {
                skip_cfws(&s, end);
                if (s < end && *s == ':')
                        s++;
                skip_cfws(&s, end);
                if (num(&s, end, 2, &mm) < 0)
                        return -1;
                skip_cfws(&s, end);
                if (s < end && *s == ':') {
                        s++;
                        skip_cfws(&s, end);
                        if (num(&s, end, 2, &ss) < 0)
                                return -1;
                }
                skip_cfws(&s, end);
        }
        if (zone(s, end, &z) < 0 || !valid_day(y, m, d) || hh > 23 ||
            mm > 59 || ss > 60)
                return -1;
        if (day_r != NULL)
                *day_r = imap_date_days(y, m, d);
        if (t_r != NULL)
                *t_r = (time_t)imap_date_days(y, m, d) * 86400 + hh * 3600 +
                       mm * 60 + ss - (time_t)z * 60;
        return 0;
}
