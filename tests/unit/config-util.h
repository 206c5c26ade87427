/*
 * config-util.h: helpers shared by test-config.c and test-config-file.c,
 * and the tests the second one holds.
 */
#ifndef CONFIG_UTIL_H
#define CONFIG_UTIL_H

#include <stddef.h>

#include <stdint.h>

#include "config.h"

#define KB	INT64_C(1024)
#define MB	(1024 * KB)
#define GB	(1024 * MB)

const char	*tmp_dir(void);
char		*write_temp(const void *, size_t);
void		 remove_temp(char *);
int		 load_bytes(struct dfs_config *, const void *, size_t, char **,
		     char **);
void		 expect_load_error(const char *, unsigned, int, const char *);
void		 expect_set_fails(struct dfs_config *, const char *, const char *,
		     int, const char *);
void		 set_ok(struct dfs_config *, const char *, const char *);

/* In test-config-file.c. */
void		 test_round_trip(void **);
void		 test_bad_lines(void **);
void		 test_nul_byte(void **);
void		 test_garbage_files(void **);
void		 test_getter_misuse_aborts(void **);
void		 test_dump_table(void **);

#endif
