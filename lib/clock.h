/* clock.h: the one monotonic clock every timeout and age is read from. */
#ifndef DFS_CLOCK_H
#define DFS_CLOCK_H

#include <stdint.h>

int64_t	 dfs_now_ms(void);
int64_t	 dfs_now_ns(void);

#endif
