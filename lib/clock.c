/*
 * clock.c: the monotonic clock.  Deadlines, liveness, lease waits, cache
 * ages and timings all measure intervals, so they read CLOCK_MONOTONIC,
 * which never jumps when the wall clock is set, and so do the condition
 * variables made by dfs_cond_init, whose deadlines are dfs_now_ms()
 * values; file times stay with their callers.  One home so that every
 * daemon and the library agree on the unit and the clock.
 */
#include <pthread.h>
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

void
dfs_cond_init(pthread_cond_t *c)
{
	pthread_condattr_t	ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(c, &ca);
	pthread_condattr_destroy(&ca);
}

int
dfs_cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m,
    int64_t deadline_ms)
{
	struct timespec	ts;

	if (deadline_ms < 0)
		deadline_ms = 0;
	ts.tv_sec = deadline_ms / 1000;
	ts.tv_nsec = (deadline_ms % 1000) * 1000000;
	return pthread_cond_timedwait(c, m, &ts);
}
