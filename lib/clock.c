/*
 * clock.c: the monotonic clock.  Deadlines, liveness, lease waits, cache
 * ages and timings all measure intervals, so they read CLOCK_MONOTONIC,
 * which never jumps when the wall clock is set; file times and condition
 * variable deadlines on CLOCK_REALTIME stay with their callers.  One home
 * so that every daemon and the library agree on the unit and the clock.
 */
#include <time.h>

#include "clock.h"

/* Milliseconds on a clock that never jumps: timeouts and liveness. */
int64_t
dfs_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Nanoseconds on the same clock: cache ages and fine timings. */
int64_t
dfs_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
