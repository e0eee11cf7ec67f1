/* qmgr_backoff.c - when to try a deferred message again, and when to give
 * up on it
 * Used by: qmgr_message.c. Postfix's rule: the next attempt waits as long
 * as the message has already been queued, but at least
 * minimal_backoff_time and at most maximal_backoff_time, so attempts
 * spread out exponentially; after maximal_queue_lifetime (bounce_queue_
 * lifetime for the null sender) the message is returned. queue_run_delay
 * decides how often qmgr looks for messages whose time has come. */
#include "qmgr.h"

long long qmgr_backoff(long long age, long long min, long long max)
{
        long long wait = age;

        if (max < min)
                max = min;
        if (wait > max)
                wait = max;
        if (wait < min)
                wait = min;
        return wait;
}

int qmgr_expired(long long age, long long lifetime)
{
        return age >= lifetime;
}
