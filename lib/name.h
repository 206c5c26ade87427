/*
 * name.h: names from the namespace made safe to print on one line
 * (name.c states the rule).
 */
#ifndef DFS_NAME_H
#define DFS_NAME_H

#include <stdio.h>

char	*dfs_name_escape(const char *);
char	*dfs_name_escape_word(const char *);
void	 dfs_name_print(FILE *, const char *);

#endif
