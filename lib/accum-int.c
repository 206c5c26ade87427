/*
 * accum-int.c: exact sums of integer and bool arrays.
 *
 * The total lives in a 256-bit two's complement integer (four 64-bit limbs),
 * far more than 2^64 elements below 2^64 can fill, so it never wraps.  The
 * hot loops never touch it: they sum one buffer at a time in 64-bit lanes,
 * which is what the CPU does fastest (and what the compiler turns into
 * plain SIMD adds through GCC/Clang vector types):
 *
 * - Signed elements are first made unsigned by flipping their sign bit,
 *   which adds 2^(bits-1) to each; the sum of n of them is corrected by
 *   n * 2^(bits-1) at the end.  One unsigned kernel per width serves both.
 * - 64-bit elements are split into 32-bit halves summed in separate 64-bit
 *   lanes (2^31 elements per call to the kernel cannot overflow them);
 *   32-bit elements are summed straight into 64-bit lanes; 16- and 8-bit
 *   elements are summed into 32- and 16-bit fields of a lane (SWAR) and
 *   folded into 64-bit lanes just before those fields could overflow.
 * - bool counts nonzero bytes, as NumPy does: each byte becomes 0 or 1 in
 *   place and 255 rounds of those are added bytewise before a fold.
 *
 * Each kernel is compiled twice, for the baseline ISA and for AVX2, from
 * one always-inline body, and picked at run time (acc_simd).  Big-endian
 * data is byte-swapped into a buffer first: the sum of the fields of a
 * 64-bit word does not care about their order, so one bswap64 per word
 * does for every width.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "accum.h"
#include "accum_i.h"

typedef uint64_t u64x2 __attribute__((vector_size(16)));
typedef unsigned __int128 u128;

#define M32		0xffffffffULL
#define KERNEL		static inline __attribute__((always_inline))
/* Elements per kernel call: every lane and field bound below needs it. */
#define CALL_MAX	((size_t)1 << 31)
/* Bytes of big-endian data swapped at a time. */
#define SWAP_BUF	8192

/*
 * The kernels read 32 bytes a round as two 16-byte vectors: SSE2 has that
 * width everywhere, GCC keeps such vectors in registers on any target (a
 * 32-byte generic vector is spilled to the stack without AVX), and two
 * of them per round already outrun memory.  The helpers are macros
 * because GCC warns about vectors passed to functions.
 */
/* va, vb = the 32 bytes at p, xor flip. */
#define LD2X2(va, vb, p, flip) do {					\
	memcpy(&(va), (p), 16);						\
	memcpy(&(vb), (p) + 16, 16);					\
	(va) ^= (flip);							\
	(vb) ^= (flip);							\
} while (0)
#define HSUM2(v)	((v)[0] + (v)[1])
/* The sum of the four 16-bit fields of each lane of v, into the lane. */
#define FOLD16(v) do {							\
	(v) = ((v) & 0x0000ffff0000ffffULL) +				\
	    (((v) >> 16) & 0x0000ffff0000ffffULL);			\
	(v) = ((v) & M32) + ((v) >> 32);				\
} while (0)

/* n little-endian u64 (xor flip) summed: halves in separate lanes. */
KERNEL u128
k_w8(const uint8_t *p, size_t n, uint64_t flip)
{
	u64x2		lo = { 0 }, hi = { 0 }, va, vb;
	size_t		nv = n / 4, i;
	uint64_t	x;
	u128		s;

	for (i = 0; i < nv; i++) {
		LD2X2(va, vb, p + 32 * i, flip);
		lo += (va & M32) + (vb & M32);
		hi += (va >> 32) + (vb >> 32);
	}
	s = (u128)HSUM2(lo) + ((u128)HSUM2(hi) << 32);
	for (i = 4 * nv; i < n; i++) {
		memcpy(&x, p + 8 * i, 8);
		s += x ^ flip;
	}
	return s;
}

/* n little-endian u32 (xor flip) summed into 64-bit lanes. */
KERNEL u128
k_w4(const uint8_t *p, size_t n, uint64_t flip)
{
	u64x2		acc = { 0 }, va, vb;
	size_t		nv = n / 8, i;
	uint32_t	x;
	u128		s;

	for (i = 0; i < nv; i++) {
		LD2X2(va, vb, p + 32 * i, flip);
		acc += (va & M32) + (va >> 32) + (vb & M32) + (vb >> 32);
	}
	s = HSUM2(acc);
	for (i = 8 * nv; i < n; i++) {
		memcpy(&x, p + 4 * i, 4);
		s += x ^ (uint32_t)flip;
	}
	return s;
}

/* n little-endian u16 (xor flip) summed, through 32-bit fields. */
KERNEL u128
k_w2(const uint8_t *p, size_t n, uint64_t flip)
{
	const uint64_t	m16 = 0x0000ffff0000ffffULL;
	u64x2		acc, tot = { 0 }, va, vb;
	size_t		nv = n / 16, i = 0, end;
	uint16_t	x;
	u128		s;

	while (i < nv) {
		/* 32-bit fields take 4 * 16383 * 65535 < 2^32. */
		end = nv - i < 16383 ? nv : i + 16383;
		acc = (u64x2){ 0 };
		for (; i < end; i++) {
			LD2X2(va, vb, p + 32 * i, flip);
			acc += (va & m16) + ((va >> 16) & m16) +
			    (vb & m16) + ((vb >> 16) & m16);
		}
		tot += (acc & M32) + (acc >> 32);
	}
	s = HSUM2(tot);
	for (i = 16 * nv; i < n; i++) {
		memcpy(&x, p + 2 * i, 2);
		s += (uint16_t)(x ^ (uint16_t)flip);
	}
	return s;
}

/* n u8 (xor flip) summed, through 16-bit fields. */
KERNEL u128
k_w1(const uint8_t *p, size_t n, uint64_t flip)
{
	const uint64_t	m8 = 0x00ff00ff00ff00ffULL;
	u64x2		acc, tot = { 0 }, va, vb;
	size_t		nv = n / 32, i = 0, end;
	u128		s;

	while (i < nv) {
		/* 16-bit fields take 4 * 64 * 255 < 2^16. */
		end = nv - i < 64 ? nv : i + 64;
		acc = (u64x2){ 0 };
		for (; i < end; i++) {
			LD2X2(va, vb, p + 32 * i, flip);
			acc += (va & m8) + ((va >> 8) & m8) +
			    (vb & m8) + ((vb >> 8) & m8);
		}
		FOLD16(acc);
		tot += acc;
	}
	s = HSUM2(tot);
	for (i = 32 * nv; i < n; i++)
		s += (uint8_t)(p[i] ^ (uint8_t)flip);
	return s;
}

/* The number of nonzero bytes among n. */
KERNEL u128
k_bool(const uint8_t *p, size_t n, uint64_t flip)
{
	const uint64_t	m7 = 0x7f7f7f7f7f7f7f7fULL, m1 = 0x0101010101010101ULL;
	const uint64_t	m8 = 0x00ff00ff00ff00ffULL;
	u64x2		acc, tot = { 0 }, va, vb;
	size_t		nv = n / 32, i = 0, end;
	u128		s;

	(void)flip;
	while (i < nv) {
		/* Byte fields take 2 * 127 ones. */
		end = nv - i < 127 ? nv : i + 127;
		acc = (u64x2){ 0 };
		for (; i < end; i++) {
			LD2X2(va, vb, p + 32 * i, 0);
			/* Bit 7 of each byte: set iff the byte is nonzero. */
			va = (((va & m7) + m7) | va) >> 7;
			vb = (((vb & m7) + m7) | vb) >> 7;
			acc += (va & m1) + (vb & m1);
		}
		acc = (acc & m8) + ((acc >> 8) & m8);
		FOLD16(acc);
		tot += acc;
	}
	s = HSUM2(tot);
	for (i = 32 * nv; i < n; i++)
		s += p[i] != 0;
	return s;
}

typedef u128 (*int_kernel)(const uint8_t *, size_t, uint64_t);

/* Each kernel twice: for the baseline ISA and for AVX2. */
#define KERNEL_PAIR(k)							\
static u128								\
k##_base(const uint8_t *p, size_t n, uint64_t flip)			\
{									\
	return k(p, n, flip);						\
}									\
ACC_AVX2_FN(k)

#if defined(__x86_64__) || defined(__i386__)
#define ACC_AVX2_FN(k)							\
__attribute__((target("avx2"))) static u128				\
k##_avx2(const uint8_t *p, size_t n, uint64_t flip)			\
{									\
	return k(p, n, flip);						\
}
#define PICK(k)		(acc_simd ? k##_avx2 : k##_base)
#else
#define ACC_AVX2_FN(k)
#define PICK(k)		(k##_base)
#endif

KERNEL_PAIR(k_w8)
KERNEL_PAIR(k_w4)
KERNEL_PAIR(k_w2)
KERNEL_PAIR(k_w1)
KERNEL_PAIR(k_bool)

/* limb += x, x sign-extended to 256 bits. */
static void
add_s128(uint64_t limb[4], __int128 x)
{
	uint64_t	ext = x < 0 ? ~0ULL : 0;
	uint64_t	src[4] = { (uint64_t)x, (uint64_t)((u128)x >> 64),
			    ext, ext };

	acc_int_add256(limb, src);
}

/* dst += src modulo 2^256. */
void
acc_int_add256(uint64_t dst[4], const uint64_t src[4])
{
	u128	c = 0;

	for (int i = 0; i < 4; i++) {
		c += (u128)dst[i] + src[i];
		dst[i] = (uint64_t)c;
		c >>= 64;
	}
}

/* Byte-swap n elements of w bytes from p into out. */
static void
swap_into(uint8_t *out, const uint8_t *p, size_t n, unsigned w)
{
	uint64_t	x64;
	uint32_t	x32;
	uint16_t	x16;

	for (size_t i = 0; i < n; i++, p += w, out += w) {
		switch (w) {
		case 8:
			memcpy(&x64, p, 8);
			x64 = __builtin_bswap64(x64);
			memcpy(out, &x64, 8);
			break;
		case 4:
			memcpy(&x32, p, 4);
			x32 = __builtin_bswap32(x32);
			memcpy(out, &x32, 4);
			break;
		default:
			memcpy(&x16, p, 2);
			x16 = __builtin_bswap16(x16);
			memcpy(out, &x16, 2);
			break;
		}
	}
}

/*
 * Add n elements of NumPy kind 'b', 'i' or 'u' and the given itemsize and
 * byte order into the 256-bit total.  -EINVAL for another combination.
 */
int
acc_int_add(uint64_t limb[4], char kind, unsigned itemsize, bool little,
    const uint8_t *p, size_t n)
{
	static const uint64_t	flips[9] = { 0, 0x8080808080808080ULL,
				    0x8000800080008000ULL, 0,
				    0x8000000080000000ULL, 0, 0, 0,
				    0x8000000000000000ULL };
	uint8_t		buf[SWAP_BUF] __attribute__((aligned(32)));
	bool		swap = itemsize > 1 && little != (__BYTE_ORDER__ ==
			    __ORDER_LITTLE_ENDIAN__);
	uint64_t	flip;
	int_kernel	fn;
	size_t		k, max;
	u128		s;

	if (kind == 'b' && itemsize != 1)
		return -EINVAL;
	if (kind != 'b' && kind != 'i' && kind != 'u')
		return -EINVAL;
	switch (itemsize) {
	case 1:
		fn = kind == 'b' ? PICK(k_bool) : PICK(k_w1);
		break;
	case 2:
		fn = PICK(k_w2);
		break;
	case 4:
		fn = PICK(k_w4);
		break;
	case 8:
		fn = PICK(k_w8);
		break;
	default:
		return -EINVAL;
	}
	flip = kind == 'i' ? flips[itemsize] : 0;
	max = swap ? SWAP_BUF / itemsize : CALL_MAX;
	while (n > 0) {
		k = n < max ? n : max;
		if (swap) {
			swap_into(buf, p, k, itemsize);
			s = fn(buf, k, flip);
		} else
			s = fn(p, k, flip);
		add_s128(limb, (__int128)s);
		if (flip != 0)		/* undo the 2^(bits-1) per element */
			add_s128(limb, -((__int128)k << (8 * itemsize - 1)));
		p += k * itemsize;
		n -= k;
	}
	return 0;
}

/* The 256-bit total in decimal. */
int
acc_int_dec(const uint64_t limb[4], char *out, size_t cap)
{
	const uint64_t	e19 = 10000000000000000000ULL;
	uint64_t	mag[4], group[5];
	bool		neg = limb[3] >> 63;
	char		digits[DFS_ACC_DEC_MAX], *d = digits;
	int		ng = 0, nz = 4;
	u128		c = 1;

	for (int i = 0; i < 4; i++) {
		mag[i] = limb[i];
		if (neg) {
			c += ~limb[i];
			mag[i] = (uint64_t)c;
			c >>= 64;
		}
	}
	/* 19 decimal digits at a time, least significant group first. */
	do {
		u128	rem = 0;

		while (nz > 0 && mag[nz - 1] == 0)
			nz--;
		for (int i = nz - 1; i >= 0; i--) {
			rem = rem << 64 | mag[i];
			mag[i] = (uint64_t)(rem / e19);
			rem %= e19;
		}
		group[ng++] = (uint64_t)rem;
		while (nz > 0 && mag[nz - 1] == 0)
			nz--;
	} while (nz > 0);
	if (neg)
		*d++ = '-';
	d += sprintf(d, "%" PRIu64, group[--ng]);
	while (ng > 0)
		d += sprintf(d, "%019" PRIu64, group[--ng]);
	if ((size_t)(d - digits) >= cap)
		return -ENOSPC;
	memcpy(out, digits, (size_t)(d - digits) + 1);
	return 0;
}
