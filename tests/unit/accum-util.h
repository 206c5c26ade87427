/*
 * accum-util.h: what test-accum.c and test-accum-int.c share: seeded
 * random numbers, the slow reference sum (struct ref), arrays as raw
 * element bytes (struct arr), and checks that run a partial through
 * splits, merges and the wire.
 */
#ifndef ACCUM_UTIL_H
#define ACCUM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accum.h"
#include "wire.h"

#define UNUSED		__attribute__((unused))
#define NELEM(a)	(sizeof (a) / sizeof (a)[0])
#define REF_DIG		72		/* 2304-bit reference integer */

/* The exact sum of the elements so far, as a big integer. */
struct ref {
	uint32_t	d[REF_DIG];	/* two's complement, LE digits */
	bool		nan, pinf, ninf;
	bool		negzero;	/* every element so far was -0.0 */
	uint64_t	n;
};

/* An array of one dtype. */
struct arr {
	char		order;		/* '<', '>' or '|' */
	char		kind;		/* 'b' 'i' 'u' 'f' 'c' */
	unsigned	size;		/* itemsize */
	size_t		n;
	uint8_t		*data;		/* n * size bytes; owned */
};

/* Kinds of random doubles (rnd_double). */
enum dist {
	D_UNIFORM, D_WIDE, D_BITS, D_SUBNORMAL, D_MIXED, D_INTS, D_ZEROS,
	D_EXTREME, D_SPECIALS, D_NDIST
};

void		 rng_seed(uint64_t);
uint64_t	 rnd(void);
size_t		 rnd_below(size_t);
double		 rnd_unit(void);
double		 from_bits(uint64_t);
uint64_t	 to_bits(double);
double		 rnd_double(enum dist, uint64_t);

void		 ref_init(struct ref *);
void		 ref_addsub(struct ref *, uint64_t, unsigned, bool);
void		 ref_add(struct ref *, double);
bool		 bit_of(const uint32_t *, int);
double		 ref_result(const struct ref *);
double		 ref_half(uint16_t);
void		 i128_dec(__int128, char *);

bool		 host_little(void);
void		 elem_bytes(const struct arr *, size_t, unsigned, uint8_t *);
double		 elem_float(const struct arr *, size_t, unsigned);
__int128	 elem_int(const struct arr *, size_t);
void		 arr_free(struct arr *);
struct arr	 arr_of_doubles(const double *, size_t, char, unsigned);

enum dfs_acc_kind acc_kind_of(char);
void		 acc_range(struct dfs_acc *, const struct arr *, size_t,
		     size_t);
void		 acc_str(const struct dfs_acc *, char *, size_t);
void		 acc_enc(const struct dfs_acc *, struct dfs_wbuf *);
void		 acc_wire(const struct dfs_acc *, struct dfs_acc *);
void		 assert_same_enc(const struct dfs_acc *, const struct dfs_acc *,
		     const char *);
void		 assert_same_double(double, double, const char *);
void		 check_split_merge(const struct arr *, const struct dfs_acc *,
		     const char *);
void		 check_float_arr(const struct arr *, const char *);

/* The integer, merge and wire tests (test-accum-int.c). */
void		 test_int_exact(void **);
void		 test_int_long_runs(void **);
void		 test_int_wide(void **);
void		 test_merge_orders(void **);
void		 test_layout(void **);
void		 test_roundtrip(void **);
void		 test_decode_hostile(void **);
void		 test_counts(void **);
void		 test_add_einval(void **);
void		 test_kernels_agree(void **);
void		 test_fmt_basic(void **);

#endif
