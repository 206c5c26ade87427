/* clock.h: the one monotonic clock every timeout and age is read from. */
#ifndef DFS_CLOCK_H
#define DFS_CLOCK_H

#include <pthread.h>
#include <stdint.h>

int64_t	 dfs_now_ms(void);
int64_t	 dfs_now_ns(void);
/* A condition variable whose timed waits read the same clock, and a wait
 * on it (mutex held) until signalled or dfs_now_ms() reaches deadline_ms:
 * pthread_cond_timedwait's result, ETIMEDOUT at the deadline. */
void	 dfs_cond_init(pthread_cond_t *);
int	 dfs_cond_wait_until(pthread_cond_t *, pthread_mutex_t *,
	     int64_t deadline_ms);

#endif
