/*
 * unit-gen.h: a private temp dir filled by one of the Python generators
 * (tests/unit/gen-*.py), shared by the unit tests whose oracle is NumPy
 * or Python's own arithmetic.
 */
#ifndef UNIT_GEN_H
#define UNIT_GEN_H

#include <limits.h>

struct unit_gen {
	char	dir[PATH_MAX];
};

struct unit_gen	*unit_gen_create(const char *, const char *);
void		 unit_gen_free(struct unit_gen *);

#endif
