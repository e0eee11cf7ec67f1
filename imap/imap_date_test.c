/* imap_date_test.c - unit tests for imap_date.c
 * IMAP date and date-time strings (strict) and RFC 5322 Date: values
 * (lenient), as tables of input and the instant or day they give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "buf.h"
#include "imap_date.h"

static void test_imap_dates(void **state)
{
        static const struct {
                const char *in;
                long want;              /* day number, -1: refused */
        } dates[] = {
                { "1-Jan-1970", 0 }, { "01-Jan-1970", 0 },
                { "2-Jan-2024", 19724 }, { "29-Feb-2024", 19782 },
                { "29-Feb-2023", -1 }, { "31-Apr-2024", -1 },
                { "1-Foo-2024", -1 }, { "1-Jan-24", -1 }, { "", -1 },
                { "1-jan-2024", 19723 }, { "1-Jan-2024x", -1 },
        };

        for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
                long day = -2;
                int r = imap_date_parse(dates[i].in, &day);
                if (dates[i].want < 0 ? r == 0 : (r < 0 ||
                                                  day != dates[i].want))
                        fail_msg("case %s: got %d/%ld, want %ld", dates[i].in,
                                 r, day, dates[i].want);
        }
}

static void test_date_times(void **state)
{
        static const struct {
                const char *in;
                long long want;         /* -1: refused */
        } times[] = {
                { "01-Jan-1970 00:00:00 +0000", 0 },
                { " 1-Jan-1970 01:00:00 +0100", 0 },
                { "05-Mar-2024 10:11:12 -0130", 1709638872 },
                { "05-Mar-2024 24:00:00 +0000", -1 },
                { "05-Mar-2024 10:11 +0000", -1 },
                { "05-Mar-2024 10:11:12", -1 },
        };

        for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
                time_t t = 0;
                int r = imap_date_parse_time(times[i].in, &t);
                if (times[i].want < 0 ? r == 0 : (r < 0 ||
                                                  t != times[i].want))
                        fail_msg("case %s: got %d/%lld, want %lld",
                                 times[i].in, r, (long long)t,
                                 times[i].want);
        }
}

static void test_rfc822(void **state)
{
        static const struct {
                const char *in;
                long long want;
                long day;
        } vals[] = {
                { "Mon, 1 Jan 2024 12:00:00 +0000", 1704110400, 19723 },
                { "1 Jan 2024 12:00 +0100", 1704106800, 19723 },
                { "Tue, 2 Jan 2024 01:00:00 +0900", 1704124800, 19724 },
                { "  Mon (comment) ,  1 Jan 24 12:00:00 GMT", 1704110400,
                  19723 },
                { "Mon, 1 Jan 2024 12:00:00 EST", 1704128400, 19723 },
                { "Mon, 1 Jan 2024 12:00:00", 1704110400, 19723 },
                { "garbage", -1, 0 },
                { "Mon, 32 Jan 2024 12:00:00 +0000", -1, 0 },
        };

        for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
                time_t t = 0;
                long day = 0;
                int r = imap_date_parse_822(vals[i].in, strlen(vals[i].in),
                                            &t, &day);
                if (vals[i].want < 0 ? r == 0 :
                    (r < 0 || t != vals[i].want || day != vals[i].day))
                        fail_msg("case %s: got %d/%lld/%ld, want %lld/%ld",
                                 vals[i].in, r, (long long)t, day,
                                 vals[i].want, vals[i].day);
        }
}

static void test_write(void **state)
{
        struct buf b;

        setenv("TZ", "UTC", 1);
        tzset();
        buf_init(&b, 0);
        imap_date_write(&b, 1709633472);
        assert_string_equal(buf_cstr(&b), "\"05-Mar-2024 10:11:12 +0000\"");
        assert_int_equal(imap_date_local_day(1709633472), 19787);
        buf_release(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_imap_dates),
                cmocka_unit_test(test_date_times),
                cmocka_unit_test(test_rfc822),
                cmocka_unit_test(test_write),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
