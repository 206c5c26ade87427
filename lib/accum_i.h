/* accum_i.h: what lib/accum.c, accum-float.c and accum-int.c share. */
#ifndef DFS_ACCUM_I_H
#define DFS_ACCUM_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accum.h"

/* Digits of an int partial's magnitude on the wire (2^64 * 2^64 < 2^192). */
#define ACC_INT_MAXLIMB		3
/* |top chunk| is kept below this (honest sums stay below 2^18). */
#define ACC_TOP_MAX		((int64_t)1 << 31)

/* true while dfs_acc_add may use the AVX2 kernels. */
extern bool	acc_simd;

/* A float sum as sign and magnitude digits (the canonical, wire form). */
struct acc_fp_mag {
	bool		neg;
	uint32_t	d[DFS_ACC_NCHUNK];	/* 32-bit digits, LE */
};

/* accum-float.c */
void	acc_fp_init(struct dfs_acc_fp *);
void	acc_fp_add(struct dfs_acc_fp *, unsigned itemsize, bool little,
	    const uint8_t *p, size_t stride, size_t n);
void	acc_fp_normalize(struct dfs_acc_fp *);
void	acc_fp_merge(struct dfs_acc_fp *, const struct dfs_acc_fp *);
void	acc_fp_to_mag(const struct dfs_acc_fp *, struct acc_fp_mag *);
void	acc_fp_from_mag(struct dfs_acc_fp *, const struct acc_fp_mag *);
uint64_t acc_mag_bits64(const uint32_t *d, unsigned lo);
bool	acc_mag_sticky(const uint32_t *d, unsigned lo);
double	acc_fp_result(const struct dfs_acc_fp *, uint64_t count);
bool	acc_fp_avx2_ok(void);

/* accum-int.c */
int	acc_int_add(uint64_t limb[4], char kind, unsigned itemsize,
	    bool little, const uint8_t *p, size_t n);
void	acc_int_add256(uint64_t dst[4], const uint64_t src[4]);
int	acc_int_dec(const uint64_t limb[4], char *out, size_t cap);

#endif
