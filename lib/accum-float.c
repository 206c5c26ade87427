/*
 * accum-float.c: the exact float sum behind dfs-sum.
 *
 * Every finite double is an integer multiple of 2^-1074 below 2^2098, so a
 * sum of doubles is an integer in those units, and 2^64 of them stay below
 * 2^2162.  A struct dfs_acc_fp holds that integer as 68 signed 64-bit
 * "chunks", chunk i weighing 2^(32 i): the digits of a radix-2^32 number
 * that are allowed to run over.  Adding into a chunk never carries; the
 * carries are propagated ("normalization") only when the headroom runs out
 * or the value is read, so an addition is one or two integer adds.
 * `pending` bounds every |chunk| in units of 2^32 and triggers that
 * normalization before any chunk could reach 2^62.  The normalized form
 * (chunks 0..66 in [0, 2^32), chunk 67 signed) is unique, which is what
 * makes the wire encoding canonical.
 *
 * The simple way to add a double (fp_scalar_block) splits its 53-bit
 * significand at the chunk boundary its exponent falls on and adds the two
 * pieces to two chunks.  That is exact, but a dozen dependent integer
 * operations and two read-modify-writes of memory per element, about four
 * times the cost of a plain floating-point loop.  The windowed kernels
 * (fp_block_avx2, and fp_block_window in plain C) do better on real data,
 * whose elements mostly lie within a few powers of two of each other.
 * They take a block of 1024 elements at a time:
 *
 * 1. one pass finds the largest exponent in the block (and any NaN/inf);
 * 2. that fixes a 64-bit window, aligned to a chunk, holding the top of the
 *    largest element: every element whose lowest bit falls inside the
 *    window is m * 2^s with 0 <= s < 64, a 117-bit two's complement value
 *    that three 64-bit accumulators take as 32 + 32 + 53 bits.  A second
 *    pass (from L1, the next block being prefetched meanwhile) adds those
 *    pieces up: no memory traffic, no branches, four lanes at a time with
 *    AVX2's variable shifts;
 * 3. the three sums (below 2^62, which is what bounds the block at 1024)
 *    are carried into four chunks at the end of the block.
 *
 * Elements more than 32 to 64 bits below the block's largest (in practice
 * none, or subnormals) are flagged in the second pass and then added one
 * by one, as is a block holding a NaN or an infinity, and the tail of a
 * buffer.  Data spread so wide that this happens a lot goes one by one
 * for a while without trying the window.  Every path computes the same
 * exact integer, so every path gives identical bits.
 *
 * Half and single precision are widened to double bit patterns exactly
 * (by integer code, independent of the FPU's denormal modes), big-endian
 * data is byte-swapped into a block buffer first, and complex parts are
 * gathered with a stride.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ACC_X86	1
#endif

#include "accum.h"
#include "accum_i.h"

#define M32		0xffffffffULL
#define MANT		((1ULL << 52) - 1)
#define IMPL		(1ULL << 52)
#define TOP		(DFS_ACC_NCHUNK - 1)
/* Elements per block: three lanes of 2^52 per element stay below 2^62. */
#define BLOCK		1024
/* |chunk| <= pending * 2^32 <= 2^62. */
#define PENDING_MAX	(1U << 30)

bool	acc_simd;

/* Chooses the kernel once, before main (and so before any thread). */
__attribute__((constructor)) static void
acc_fp_pick(void)
{
	acc_simd = acc_fp_avx2_ok();
}

/* Whether this CPU can run the AVX2 kernels. */
bool
acc_fp_avx2_ok(void)
{
#ifdef ACC_X86
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2");
#else
	return false;
#endif
}

/* Zero; pending 1 (a normalized value); "all negative" of nothing. */
void
acc_fp_init(struct dfs_acc_fp *f)
{
	memset(f, 0, sizeof *f);
	f->pending = 1;
	f->all_neg = 1;
}

/*
 * Propagate every carry so chunks 0..66 are digits in [0, 2^32) and chunk
 * 67 carries the sign.  Also puts the flags in canonical form: once a NaN
 * or an infinity is in, the finite part can no longer matter and is
 * dropped; "every element was negative" only matters for a zero sum.
 */
void
acc_fp_normalize(struct dfs_acc_fp *f)
{
	int64_t	carry = 0, c;
	bool	zero = true;

	for (int i = 0; i < TOP; i++) {
		c = f->chunk[i] + carry;
		f->chunk[i] = (int64_t)((uint64_t)c & M32);
		carry = c >> 32;
		zero = zero && f->chunk[i] == 0;
	}
	c = f->chunk[TOP] + carry;
	/* Only a flood of hostile merged partials gets here; stay defined. */
	if (c >= ACC_TOP_MAX)
		c = ACC_TOP_MAX - 1;
	else if (c <= -ACC_TOP_MAX)
		c = -ACC_TOP_MAX + 1;
	f->chunk[TOP] = c;
	zero = zero && c == 0;
	f->pending = 1;
	if (f->nan || f->pinf || f->ninf) {
		memset(f->chunk, 0, sizeof f->chunk);
		zero = true;
		f->all_neg = 0;
	}
	if (!zero)
		f->all_neg = 0;
}

/* Make room for an addition of weight w (units of 2^32 per chunk). */
static inline void
fp_room(struct dfs_acc_fp *f, uint32_t w)
{
	if (f->pending > PENDING_MAX - w)
		acc_fp_normalize(f);
	f->pending += w;
}

/*
 * Up to BLOCK doubles at p (little-endian here, any alignment), one at a
 * time: the portable path, the tail of a buffer, blocks with a NaN or an
 * infinity, and the elements the AVX2 window left out.  Only elements
 * whose biased exponent is at most `emax` are taken (0x7ff: all of them,
 * and only then is `all_neg` updated).
 *
 * Each element splits its significand at the 32-bit chunk boundary its
 * exponent falls on and adds the two pieces (below 2^32 and 2^52) to two
 * chunks.  Neighbouring elements tend to hit the same chunks, and a chain
 * of read-modify-writes to one address runs at the latency of a store
 * forwarded to a load; four private chunk arrays, one per element mod 4,
 * give four chains that overlap.  256 pieces below 2^52 each keep them
 * below 2^60, their sum below 2^62; it is carried into 32-bit digits
 * once per block and added to f.
 */
static inline __attribute__((always_inline)) unsigned
fp_scalar1(struct dfs_acc_fp *f, int64_t *t, uint64_t b, unsigned emax)
{
	unsigned	e = (unsigned)(b >> 52) & 0x7ff, pos, s;
	uint64_t	m = b & MANT;
	int64_t		sg, lo, hi;

	if (e > emax)
		return 0;
	if (e == 0x7ff) {
		if (m != 0)
			f->nan = 1;
		else if (b >> 63)
			f->ninf = 1;
		else
			f->pinf = 1;
		return 1;
	}
	/* Subnormals (e = 0) have no hidden bit and exponent 1's scale. */
	m |= (uint64_t)(e != 0) << 52;
	pos = e - (e != 0);		/* weight of m's bit 0, above 2^-1074 */
	s = pos & 31;
	/* Negate without a branch: the sign is a coin toss. */
	sg = -(int64_t)(b >> 63);
	lo = ((int64_t)((m << s) & M32) ^ sg) - sg;
	hi = ((int64_t)(m >> (32 - s)) ^ sg) - sg;
	t[pos >> 5] += lo;
	t[(pos >> 5) + 1] += hi;
	return 1;
}

/* Returns how many elements it took. */
static size_t
fp_scalar_block(struct dfs_acc_fp *f, const uint8_t *p, size_t n,
    unsigned emax)
{
	int64_t		t[4][DFS_ACC_NCHUNK - 1], c, carry = 0;
	uint64_t	b[4], and = ~0ULL;
	size_t		i, took = 0;

	memset(t, 0, sizeof t);
	for (i = 0; i + 4 <= n; i += 4) {
		memcpy(b, p + 8 * i, sizeof b);
		and &= b[0] & b[1] & b[2] & b[3];
		took += fp_scalar1(f, t[0], b[0], emax);
		took += fp_scalar1(f, t[1], b[1], emax);
		took += fp_scalar1(f, t[2], b[2], emax);
		took += fp_scalar1(f, t[3], b[3], emax);
	}
	for (; i < n; i++) {
		memcpy(b, p + 8 * i, 8);
		and &= b[0];
		took += fp_scalar1(f, t[0], b[0], emax);
	}
	fp_room(f, 1);
	for (int k = 0; k < DFS_ACC_NCHUNK - 1; k++) {
		c = t[0][k] + t[1][k] + t[2][k] + t[3][k] + carry;
		f->chunk[k] += (int64_t)((uint64_t)c & M32);
		carry = c >> 32;
	}
	f->chunk[TOP] += carry;
	if (emax == 0x7ff)
		f->all_neg &= (uint8_t)(and >> 63);
	return took;
}

/*
 * The window of a block whose largest biased exponent is emax: the chunk
 * c0 where it starts, so that chunks c0 .. c0+2 hold every bit of the
 * largest element.
 */
static inline unsigned
fp_window(unsigned emax)
{
	unsigned	c0 = ((emax != 0 ? emax : 1) - 1) >> 5;

	return c0 != 0 ? c0 - 1 : 0;
}

/*
 * Add the three window sums (t0, t1 below 2^43, |t2| below 2^62) to chunks
 * c0 .. c0+3 as pieces below 2^32.
 */
static inline void
fp_window_flush(struct dfs_acc_fp *f, unsigned c0, int64_t t0, int64_t t1,
    int64_t t2)
{
	int64_t	t3;

	t1 += t0 >> 32;
	t0 &= (int64_t)M32;
	t2 += t1 >> 32;
	t1 &= (int64_t)M32;
	t3 = t2 >> 32;
	t2 &= (int64_t)M32;
	fp_room(f, 1);
	f->chunk[c0] += t0;
	f->chunk[c0 + 1] += t1;
	f->chunk[c0 + 2] += t2;
	f->chunk[c0 + 3] += t3;
}

/*
 * The windowed kernel in plain C, for CPUs without AVX2: the same
 * algorithm as fp_block_avx2 one element at a time, all in registers.
 * Returns true if many elements fell below the window (wide data).
 */
static bool
fp_block_window(struct dfs_acc_fp *f, const uint8_t *p, size_t n)
{
	uint64_t	b, and = ~0ULL, below_any = 0, m, keep;
	unsigned	emax = 0, e, c0;
	int64_t		s, sg, ms, t0 = 0, t1 = 0, t2 = 0;
	size_t		i;

	for (i = 0; i < n; i++) {
		memcpy(&b, p + 8 * i, 8);
		e = (unsigned)(b >> 52) & 0x7ff;
		emax = e > emax ? e : emax;
		and &= b;
	}
	if (emax == 0x7ff) {
		fp_scalar_block(f, p, n, 0x7ff);
		return false;
	}
	c0 = fp_window(emax);
	for (i = 0; i < n; i++) {
		/* Pull the next block towards L1 while this one computes. */
		if ((i & 7) == 0)
			__builtin_prefetch(p + 8 * (i + BLOCK));
		memcpy(&b, p + 8 * i, 8);
		s = (int64_t)((b >> 52) & 0x7ff) - (32 * (int64_t)c0 + 1);
		keep = (uint64_t)~(s >> 63);	/* 0 below the window */
		below_any |= ~keep & (b << 1);
		m = ((b & MANT) | IMPL) & keep;
		s &= (int64_t)keep;
		sg = -(int64_t)(b >> 63);
		ms = ((int64_t)m ^ sg) - sg;
		/* ms * 2^s as 128 bits: ms >> (64 - s), valid for s = 0 too. */
		t0 += (int64_t)(((uint64_t)ms << s) & M32);
		t1 += (int64_t)((uint64_t)ms << s >> 32);
		t2 += (ms >> 1) >> (63 - s);
	}
	fp_window_flush(f, c0, t0, t1, t2);
	f->all_neg &= (uint8_t)(and >> 63);
	if (below_any == 0)
		return false;
	return fp_scalar_block(f, p, n, 32 * c0) > n / 8;
}

#ifdef ACC_X86
#define AVX2	__attribute__((target("avx2")))

/* The largest of the eight 32-bit lanes. */
AVX2 static inline uint32_t
hmax_epu32(__m256i v)
{
	__m128i	x = _mm_max_epu32(_mm256_castsi256_si128(v),
		    _mm256_extracti128_si256(v, 1));

	x = _mm_max_epu32(x, _mm_shuffle_epi32(x, 0x4e));
	x = _mm_max_epu32(x, _mm_shuffle_epi32(x, 0xb1));
	return (uint32_t)_mm_cvtsi128_si32(x);
}

/* The sum of the four 64-bit lanes (each below 2^60: no overflow). */
AVX2 static inline int64_t
hsum_epi64(__m256i v)
{
	__m128i	x = _mm_add_epi64(_mm256_castsi256_si128(v),
		    _mm256_extracti128_si256(v, 1));

	x = _mm_add_epi64(x, _mm_unpackhi_epi64(x, x));
	return _mm_cvtsi128_si64(x);
}

/*
 * Up to BLOCK doubles at p (little-endian, any alignment): the windowed
 * kernel described at the top of the file.
 */
AVX2 static bool
fp_block_avx2(struct dfs_acc_fp *f, const uint8_t *p, size_t n)
{
	const __m256i	zero = _mm256_setzero_si256();
	const __m256i	emask = _mm256_set1_epi64x(0x7ff0000000000000LL);
	const __m256i	mmask = _mm256_set1_epi64x((int64_t)MANT);
	const __m256i	impl = _mm256_set1_epi64x((int64_t)IMPL);
	const __m256i	lmask = _mm256_set1_epi64x((int64_t)M32);
	const __m256i	c64 = _mm256_set1_epi64x(64);
	__m256i		vmax = zero, vand = _mm256_set1_epi64x(-1);
	__m256i		a0 = zero, a1 = zero, a2 = zero, below_any = zero;
	__m256i		base;
	size_t		nv = n & ~(size_t)3, i;
	unsigned	emax, c0;
	int64_t		lanes[4], t0, t1, t2;
	bool		left_out;
	uint64_t	and = ~0ULL;

	for (i = 0; i < nv; i += 4) {
		__m256i	x = _mm256_loadu_si256((const void *)(p + 8 * i));

		vmax = _mm256_max_epu32(vmax, _mm256_and_si256(x, emask));
		vand = _mm256_and_si256(vand, x);
	}
	emax = hmax_epu32(vmax) >> 20;
	_mm256_storeu_si256((void *)lanes, vand);
	if (nv == 0 || emax == 0x7ff) {
		_mm256_zeroupper();
		/* A NaN or an infinity: rare, and the sum is settled. */
		fp_scalar_block(f, p, n, 0x7ff);
		return false;
	}
	for (i = 0; i < 4; i++)
		and &= (uint64_t)lanes[i];

	/* The window: chunks c0 .. c0+2 hold bits pos - 32 c0 in [0, 64). */
	c0 = fp_window(emax);
	base = _mm256_set1_epi64x(32 * (int64_t)c0 + 1);

	for (i = 0; i < nv; i += 4) {
		__m256i	x = _mm256_loadu_si256((const void *)(p + 8 * i));
		__m256i	x2, m, s, below, sg, ms, lo, hi;

		/* Pull the next block towards L1 while this one computes. */
		if ((i & 7) == 0)
			__builtin_prefetch(p + 8 * (i + BLOCK));
		x2 = _mm256_slli_epi64(x, 1);
		m = _mm256_or_si256(_mm256_and_si256(x, mmask), impl);
		/* s = pos - 32 c0 (subnormals and zeros: always below). */
		s = _mm256_sub_epi64(_mm256_srli_epi64(x2, 53), base);
		below = _mm256_cmpgt_epi64(zero, s);
		below_any = _mm256_or_si256(below_any,
		    _mm256_and_si256(below, x2));
		/*
		 * The signed significand ms shifted by s as a 128-bit number:
		 * lo = ms << s, hi = ms >> (64 - s) arithmetic, which is the
		 * logical shift plus -2^s for a negative ms.  For s < 0 (below
		 * the window) every variable shift gives 0, so the lane adds
		 * nothing and fp_add1 takes it later.
		 */
		sg = _mm256_cmpgt_epi64(zero, x);
		ms = _mm256_sub_epi64(_mm256_xor_si256(m, sg), sg);
		lo = _mm256_sllv_epi64(ms, s);
		hi = _mm256_add_epi64(_mm256_srlv_epi64(ms,
		    _mm256_sub_epi64(c64, s)), _mm256_sllv_epi64(sg, s));
		a0 = _mm256_add_epi64(a0, _mm256_and_si256(lo, lmask));
		a1 = _mm256_add_epi64(a1, _mm256_srli_epi64(lo, 32));
		a2 = _mm256_add_epi64(a2, hi);
	}
	t0 = hsum_epi64(a0);
	t1 = hsum_epi64(a1);
	t2 = hsum_epi64(a2);
	left_out = !_mm256_testz_si256(below_any, below_any);
	/*
	 * Leave the upper halves of the registers clean before any plain
	 * code runs: GCC does not always, and dirty ones slow down every
	 * SSE instruction after them, in this process, for good.
	 */
	_mm256_zeroupper();
	fp_window_flush(f, c0, t0, t1, t2);
	if (nv < n)
		fp_scalar_block(f, p + 8 * nv, n - nv, 0x7ff);
	f->all_neg &= (uint8_t)(and >> 63);
	/* The elements the window left out. */
	if (!left_out)
		return false;
	return fp_scalar_block(f, p, nv, 32 * c0) > nv / 8;
}
#endif

/*
 * Up to BLOCK doubles at p, little-endian (on this host), any alignment.
 * After a block of wide data (many elements far below its largest), the
 * window kernels would mostly waste their work: the next blocks go one
 * element at a time, and every 16th tries the window again.
 */
static void
fp_block(struct dfs_acc_fp *f, const uint8_t *p, size_t n, unsigned *skip)
{
	bool	wide;

	if (*skip > 0) {
		(*skip)--;
		fp_scalar_block(f, p, n, 0x7ff);
		return;
	}
#ifdef ACC_X86
	if (acc_simd)
		wide = fp_block_avx2(f, p, n);
	else
#endif
		wide = fp_block_window(f, p, n);
	if (wide)
		*skip = 15;
}

/* A binary32 as the binary64 of the same value, NaN payload kept. */
static inline uint64_t
f32_to_f64(uint32_t h)
{
	uint64_t	s = (uint64_t)(h >> 31) << 63, m = h & 0x7fffff;
	unsigned	e = (h >> 23) & 0xff, b;

	if (e == 0xff)
		return s | 0x7ff0000000000000ULL | m << 29;
	if (e != 0)
		return s | (uint64_t)(e + 1023 - 127) << 52 | m << 29;
	if (m == 0)
		return s;
	b = 64 - (unsigned)__builtin_clzll(m);	/* m = 1.f * 2^(b-1) */
	return s | (uint64_t)(b - 1 - 149 + 1023) << 52 |
	    ((m << (53 - b)) & MANT);
}

/* A binary16 as the binary64 of the same value, NaN payload kept. */
static inline uint64_t
f16_to_f64(uint16_t h)
{
	uint64_t	s = (uint64_t)(h >> 15) << 63, m = h & 0x3ff;
	unsigned	e = (h >> 10) & 0x1f, b;

	if (e == 0x1f)
		return s | 0x7ff0000000000000ULL | m << 42;
	if (e != 0)
		return s | (uint64_t)(e + 1023 - 15) << 52 | m << 42;
	if (m == 0)
		return s;
	b = 64 - (unsigned)__builtin_clzll(m);
	return s | (uint64_t)(b - 1 - 24 + 1023) << 52 |
	    ((m << (53 - b)) & MANT);
}

/* Unaligned loads, byte-swapped when the data's order is not ours. */
static inline uint64_t
ld_u64(const uint8_t *p, bool swap)
{
	uint64_t	v;

	memcpy(&v, p, 8);
	return swap ? __builtin_bswap64(v) : v;
}

static inline uint32_t
ld_u32(const uint8_t *p, bool swap)
{
	uint32_t	v;

	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

static inline uint16_t
ld_u16(const uint8_t *p, bool swap)
{
	uint16_t	v;

	memcpy(&v, p, 2);
	return swap ? __builtin_bswap16(v) : v;
}

/*
 * Add n floats of itemsize 2, 4 or 8 bytes, `stride` bytes apart from p
 * (stride > itemsize for the parts of complex numbers).
 */
void
acc_fp_add(struct dfs_acc_fp *f, unsigned itemsize, bool little,
    const uint8_t *p, size_t stride, size_t n)
{
	uint64_t	buf[BLOCK] __attribute__((aligned(32)));
	bool		swap = little != (__BYTE_ORDER__ ==
			    __ORDER_LITTLE_ENDIAN__);
	size_t		k, i;
	unsigned	skip = 0;

	while (n > 0) {
		k = n < BLOCK ? n : BLOCK;
		if (itemsize == 8 && stride == 8 && !swap) {
			fp_block(f, p, k, &skip);
		} else {
			switch (itemsize) {
			case 8:
				for (i = 0; i < k; i++)
					buf[i] = ld_u64(p + i * stride, swap);
				break;
			case 4:
				for (i = 0; i < k; i++)
					buf[i] = f32_to_f64(ld_u32(
					    p + i * stride, swap));
				break;
			default:
				for (i = 0; i < k; i++)
					buf[i] = f16_to_f64(ld_u16(
					    p + i * stride, swap));
				break;
			}
			fp_block(f, (const uint8_t *)buf, k, &skip);
		}
		p += k * stride;
		n -= k;
	}
}

/* dst += src, exactly. */
void
acc_fp_merge(struct dfs_acc_fp *dst, const struct dfs_acc_fp *src)
{
	struct dfs_acc_fp	t = *src;

	acc_fp_normalize(&t);		/* every |chunk| now below 2^32 */
	fp_room(dst, 1);
	for (int i = 0; i < DFS_ACC_NCHUNK; i++)
		dst->chunk[i] += t.chunk[i];
	dst->nan |= t.nan;
	dst->pinf |= t.pinf;
	dst->ninf |= t.ninf;
	dst->all_neg &= t.all_neg;
}

/* The exact value as sign and magnitude digits. */
void
acc_fp_to_mag(const struct dfs_acc_fp *src, struct acc_fp_mag *mg)
{
	struct dfs_acc_fp	t = *src;
	uint64_t		c = 1;

	acc_fp_normalize(&t);
	mg->neg = t.chunk[TOP] < 0;
	for (int i = 0; i < DFS_ACC_NCHUNK; i++) {
		uint32_t	d = (uint32_t)t.chunk[i];

		if (mg->neg) {
			/* Two's complement negation, digit by digit. */
			c += (uint32_t)~d;
			d = (uint32_t)c;
			c >>= 32;
		}
		mg->d[i] = d;
	}
}

/* Set f (flags untouched) to the value of mg. */
void
acc_fp_from_mag(struct dfs_acc_fp *f, const struct acc_fp_mag *mg)
{
	for (int i = 0; i < DFS_ACC_NCHUNK; i++)
		f->chunk[i] = mg->neg ? -(int64_t)mg->d[i] : mg->d[i];
	acc_fp_normalize(f);
}

/* Bits [lo, lo + 64) of the magnitude (bits past the top read as 0). */
uint64_t
acc_mag_bits64(const uint32_t *d, unsigned lo)
{
	unsigned __int128	x = 0;
	unsigned		w = lo >> 5;

	for (unsigned k = 0; k < 3 && w + k < DFS_ACC_NCHUNK; k++)
		x |= (unsigned __int128)d[w + k] << (32 * k);
	return (uint64_t)(x >> (lo & 31));
}

/* Whether any bit below bit `lo` of the magnitude is set. */
bool
acc_mag_sticky(const uint32_t *d, unsigned lo)
{
	unsigned	w = lo >> 5;

	for (unsigned i = 0; i < w; i++)
		if (d[i] != 0)
			return true;
	return (lo & 31) != 0 && (d[w] & ((1U << (lo & 31)) - 1)) != 0;
}

/*
 * The exact sum rounded once to the nearest double, ties to even, with
 * the IEEE rules for NaN and infinities.
 */
double
acc_fp_result(const struct dfs_acc_fp *f, uint64_t count)
{
	struct acc_fp_mag	mg;
	uint64_t		top, q, r;
	unsigned		b;
	int			h;
	double			x;

	if (f->nan || (f->pinf && f->ninf))
		return NAN;
	if (f->pinf)
		return INFINITY;
	if (f->ninf)
		return -INFINITY;
	acc_fp_to_mag(f, &mg);
	for (h = DFS_ACC_NCHUNK - 1; h >= 0 && mg.d[h] == 0; h--)
		;
	if (h < 0)
		return count > 0 && f->all_neg ? -0.0 : 0.0;
	b = 32 * (unsigned)h + 32 - (unsigned)__builtin_clz(mg.d[h]);
	if (b <= 64) {
		top = acc_mag_bits64(mg.d, 0) << (64 - b);
		q = top >> 11;
		r = top & 0x7ff;
	} else {
		top = acc_mag_bits64(mg.d, b - 64);
		q = top >> 11;
		r = top & 0x7ff;
		if (r == 0x400 && acc_mag_sticky(mg.d, b - 64))
			r++;			/* just above the half */
	}
	if (r > 0x400 || (r == 0x400 && (q & 1)))
		q++;
	/* q * 2^(b - 53 - 1074): exact below 2^1024, inf from there up. */
	x = ldexp((double)q, (int)b - 53 - 1074);
	return mg.neg ? -x : x;
}
