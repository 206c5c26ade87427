/*
 * npy.c: the .npy header, parsed from untrusted bytes and written as NumPy
 * writes it.
 *
 * Why it is built this way.  Headers reach us from clients, from disk and
 * from the network, so the parser treats every byte as hostile: it checks
 * HEADER_LEN against a fixed limit before looking at the dict, walks the
 * dict with a cursor that is compared with the end before every read, and
 * allocates nothing but the error message.  It is not a general Python
 * literal evaluator: NumPy's header is one dict with three known keys, so
 * the grammar here is exactly that dict (any key order, either quote,
 * whitespace between tokens, trailing commas) and anything else is an
 * error with a message that says where.  The only open-ended value is a
 * structured descr (a list of tuples), which we do not support but must
 * still recognise as well formed; it is skipped with an explicit bracket
 * stack, so a deeply nested hostile header cannot exhaust the C stack.
 *
 * The writer reproduces numpy/lib/format.py byte for byte (keys sorted,
 * values as Python's repr, 21 - len(repr(growth axis)) spaces of room to
 * grow, then spaces and '\n' so the data starts on a 64-byte boundary),
 * so that a header we write for an array equals the one NumPy writes.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "npy.h"
#include "xmalloc.h"

static const unsigned char npy_magic[6] = { 0x93, 'N', 'U', 'M', 'P', 'Y' };

#define NPY_MAXNEST		32	/* brackets inside a structured descr */
#define NPY_GROWTH_DIGITS	21	/* numpy GROWTH_AXIS_MAX_DIGITS */
#define NPY_V1_MAX_HEADER	65535	/* HEADER_LEN is a u16 in 1.0 */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define NPY_HOST_ORDER	'>'
#else
#define NPY_HOST_ORDER	'<'
#endif

/* A read position inside the header dict, and the first error found. */
struct npy_cur {
	const unsigned char	*start;
	const unsigned char	*p;
	const unsigned char	*end;
	char			 msg[256];
};

/* What the dict held, kept until the whole dict is known to be valid. */
struct npy_found {
	bool			 descr, fortran, shape;
	const unsigned char	*descr_s;	/* string contents, borrowed */
	size_t			 descr_n;
	char			 descr_open;	/* '[' or '(' if not a string */
	bool			 dim_too_big;
};

/* Record why parsing failed and return rc, so callers can "return". */
static int __attribute__((format(printf, 3, 4)))
npy_err(struct npy_cur *c, int rc, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof c->msg, fmt, ap);
	va_end(ap);
	return rc;
}

/* Report a syntax error with its position, as an offset into the dict. */
static int
npy_syntax(struct npy_cur *c, const char *what)
{
	return npy_err(c, -EINVAL, "bad .npy header: %s at byte %zu of the "
	    "header dict", what, (size_t)(c->p - c->start));
}

/* Copy untrusted text into dst for a message: printable and short. */
static void
npy_printable(char *dst, size_t cap, const unsigned char *s, size_t n)
{
	size_t	i, o = 0;

	for (i = 0; i < n && i < 32 && o + 4 < cap; i++)
		dst[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
	if (i < n && o + 4 <= cap) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

/* Whether a kind and item size make a type we support. */
static bool
npy_valid_type(enum dfs_npy_kind kind, unsigned size)
{
	switch (kind) {
	case DFS_NPY_BOOL:
		return size == 1;
	case DFS_NPY_INT:
	case DFS_NPY_UINT:
		return size == 1 || size == 2 || size == 4 || size == 8;
	case DFS_NPY_FLOAT:
		return size == 2 || size == 4 || size == 8;
	case DFS_NPY_COMPLEX:
		return size == 8 || size == 16;
	}
	return false;
}

/* NumPy's type character for a kind; the kind must be valid. */
static char
npy_kind_char(enum dfs_npy_kind kind)
{
	switch (kind) {
	case DFS_NPY_BOOL:
		return 'b';
	case DFS_NPY_INT:
		return 'i';
	case DFS_NPY_UINT:
		return 'u';
	case DFS_NPY_FLOAT:
		return 'f';
	case DFS_NPY_COMPLEX:
		return 'c';
	}
	return '?';
}

/*
 * Fill the type fields with byte order normalized as NumPy reads it: one
 * byte has no order ('|'); '=', '|' or none on a wider type is native.
 */
static void
npy_set_type(struct dfs_npy_header *h, enum dfs_npy_kind kind, unsigned size,
    char bo)
{
	h->kind = kind;
	h->itemsize = size;
	if (size == 1)
		bo = '|';
	else if (bo != '<' && bo != '>')
		bo = NPY_HOST_ORDER;
	h->byteorder = bo;
	h->little = bo != '>';
	snprintf(h->descr, sizeof h->descr, "%c%c%u", bo, npy_kind_char(kind),
	    size);
}

/* Why a dtype we recognise is not supported, for the message. */
static const char *
npy_descr_hint(const unsigned char *s, size_t n)
{
	size_t	i = 0;

	if (n > 0 && memchr("<>|=", s[0], 4) != NULL)
		i = 1;
	if (i >= n)
		return "";
	switch (s[i]) {
	case 'O':
		return " (Python objects)";
	case 'S':
	case 'a':
		return " (byte strings)";
	case 'U':
		return " (unicode strings)";
	case 'V':
		return " (raw records)";
	case 'M':
		return " (datetimes)";
	case 'm':
		return " (timedeltas)";
	case 'f':
	case 'c':
		if (n - i > 2)
			return " (long double)";
		break;
	}
	return "";
}

/* Classify a descr string; 0 and h's type fields set, or -ENOTSUP. */
static int
npy_descr(struct npy_cur *c, struct dfs_npy_header *h, const unsigned char *s,
    size_t n)
{
	enum dfs_npy_kind kind;
	char		 bo = 0, shown[48];
	unsigned	 size = 0;
	size_t		 i = 0, j;

	if (n > 0 && memchr("<>|=", s[0], 4) != NULL)
		bo = (char)s[i++];
	if (n - i < 2 || n - i > 3 || s[i + 1] == '0')
		goto unsupported;
	switch (s[i]) {
	case 'b':
		kind = DFS_NPY_BOOL;
		break;
	case 'i':
		kind = DFS_NPY_INT;
		break;
	case 'u':
		kind = DFS_NPY_UINT;
		break;
	case 'f':
		kind = DFS_NPY_FLOAT;
		break;
	case 'c':
		kind = DFS_NPY_COMPLEX;
		break;
	default:
		goto unsupported;
	}
	for (j = i + 1; j < n; j++) {
		if (s[j] < '0' || s[j] > '9')
			goto unsupported;
		size = size * 10 + (unsigned)(s[j] - '0');
	}
	if (!npy_valid_type(kind, size))
		goto unsupported;
	npy_set_type(h, kind, size, bo);
	return 0;

unsupported:
	npy_printable(shown, sizeof shown, s, n);
	return npy_err(c, -ENOTSUP, "unsupported dtype '%s'%s: only bool, "
	    "integer, float and complex arrays", shown, npy_descr_hint(s, n));
}

/* Skip Python whitespace between tokens. */
static void
npy_skip_ws(struct npy_cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' ||
	    *c->p == '\n' || *c->p == '\r' || *c->p == '\f'))
		c->p++;
}

/* Whether ch can continue a Python name or number token. */
static bool
npy_is_word(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '_' || ch >= 0x80;
}

/* Length of the name or number token at the cursor. */
static size_t
npy_word_len(const struct npy_cur *c)
{
	size_t	n = 0;

	while (c->p + n < c->end && npy_is_word(c->p[n]))
		n++;
	return n;
}

/*
 * A string literal in either quote; the cursor is on the quote.  *s and *n
 * are the raw contents, borrowed from the buffer (escapes not decoded:
 * *escaped says whether there were any).
 */
static int
npy_string(struct npy_cur *c, const unsigned char **s, size_t *n,
    bool *escaped)
{
	const unsigned char	*begin;
	unsigned char		 q = *c->p;

	*escaped = false;
	begin = ++c->p;
	while (c->p < c->end) {
		if (*c->p == q) {
			*s = begin;
			*n = (size_t)(c->p - begin);
			c->p++;
			return 0;
		}
		if (*c->p == '\n' || *c->p == '\r')
			break;
		if (*c->p == '\0')
			return npy_syntax(c, "NUL byte in a string");
		if (*c->p == '\\') {
			*escaped = true;
			if (c->end - c->p < 2)
				break;
			c->p++;
		}
		c->p++;
	}
	return npy_syntax(c, "unterminated string");
}

/*
 * Skip a structured or subarray descr, a nest of lists, tuples and
 * scalars, checking only that brackets and strings are well formed.
 */
static int
npy_skip_value(struct npy_cur *c)
{
	unsigned char		 stack[NPY_MAXNEST], ch;
	const unsigned char	*s;
	size_t			 n;
	bool			 esc;
	int			 depth = 0, rc;

	for (;;) {
		npy_skip_ws(c);
		if (c->p == c->end)
			return npy_syntax(c, "header ends inside the descr");
		ch = *c->p;
		if (ch == '(' || ch == '[' || ch == '{') {
			if (depth == NPY_MAXNEST)
				return npy_syntax(c, "descr nested too deeply");
			stack[depth++] = ch == '(' ? ')' :
			    ch == '[' ? ']' : '}';
			c->p++;
			continue;
		}
		if (ch == ')' || ch == ']' || ch == '}') {
			if (depth == 0 || stack[depth - 1] != ch)
				return npy_syntax(c, "unbalanced bracket");
			depth--;
			c->p++;
		} else if (ch == '\'' || ch == '"') {
			if ((rc = npy_string(c, &s, &n, &esc)) != 0)
				return rc;
		} else if (ch == '-' || npy_is_word(ch)) {
			c->p++;
			c->p += npy_word_len(c);
		} else
			return npy_syntax(c, "unexpected character in descr");
		if (depth == 0)
			return 0;
		npy_skip_ws(c);
		if (c->p == c->end)
			return npy_syntax(c, "header ends inside the descr");
		if (*c->p == ',' || *c->p == ':')
			c->p++;
		else if (*c->p != ')' && *c->p != ']' && *c->p != '}')
			return npy_syntax(c, "expected ',' in descr");
	}
}

/* The value of 'descr': a string, or a list/tuple we recognise only. */
static int
npy_descr_value(struct npy_cur *c, struct npy_found *f)
{
	bool	esc;

	if (*c->p == '\'' || *c->p == '"')
		return npy_string(c, &f->descr_s, &f->descr_n, &esc);
	if (*c->p == '[' || *c->p == '(') {
		f->descr_open = (char)*c->p;
		return npy_skip_value(c);
	}
	return npy_syntax(c, "descr is not a string or a list");
}

/* The value of 'fortran_order': exactly True or False. */
static int
npy_bool(struct npy_cur *c, bool *v)
{
	size_t	n = npy_word_len(c);

	if (n == 4 && memcmp(c->p, "True", 4) == 0)
		*v = true;
	else if (n == 5 && memcmp(c->p, "False", 5) == 0)
		*v = false;
	else
		return npy_syntax(c, "fortran_order is not True or False");
	c->p += n;
	return 0;
}

/*
 * One dimension: plain decimal digits, as Python writes an int.  Values
 * above INT64_MAX saturate and set *big (reported once the header is
 * known to be well formed).
 */
static int
npy_dim(struct npy_cur *c, uint64_t *v, bool *big)
{
	const unsigned char	*begin = c->p;
	uint64_t		 x = 0;
	unsigned		 d;

	if (c->p == c->end)
		return npy_syntax(c, "header ends inside the shape");
	if (*c->p == '-')
		return npy_syntax(c, "negative dimension in shape");
	if (*c->p < '0' || *c->p > '9')
		return npy_syntax(c, "dimension is not an integer");
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		d = (unsigned)(*c->p++ - '0');
		if (x > (UINT64_MAX - d) / 10)
			x = UINT64_MAX;
		else
			x = x * 10 + d;
	}
	if (c->p < c->end && (npy_is_word(*c->p) || *c->p == '.'))
		return npy_syntax(c, "dimension is not a plain integer");
	if (*begin == '0' && x != 0)
		return npy_syntax(c, "dimension has a leading zero");
	if (x > INT64_MAX)
		*big = true;
	*v = x;
	return 0;
}

/* The value of 'shape': a tuple of ints, "()", "(n,)", "(n, m)". */
static int
npy_shape(struct npy_cur *c, struct dfs_npy_header *h, bool *big)
{
	int	rc;

	h->ndim = 0;
	if (*c->p != '(')
		return npy_syntax(c, "shape is not a tuple");
	c->p++;
	npy_skip_ws(c);
	if (c->p < c->end && *c->p == ')') {
		c->p++;
		return 0;
	}
	for (;;) {
		if (h->ndim == DFS_NPY_MAXDIM) {
			return npy_err(c, -EINVAL, "bad .npy header: more than "
			    "%d dimensions", DFS_NPY_MAXDIM);
		}
		if ((rc = npy_dim(c, &h->shape[h->ndim], big)) != 0)
			return rc;
		h->ndim++;
		npy_skip_ws(c);
		if (c->p == c->end)
			return npy_syntax(c, "header ends inside the shape");
		if (*c->p == ')') {
			if (h->ndim == 1) {
				return npy_syntax(c, "shape (n) is not a "
				    "tuple");
			}
			c->p++;
			return 0;
		}
		if (*c->p != ',')
			return npy_syntax(c, "expected ',' or ')' in shape");
		c->p++;
		npy_skip_ws(c);
		if (c->p < c->end && *c->p == ')') {
			c->p++;
			return 0;
		}
	}
}

/* One "'key': value" entry of the dict; the cursor is on the key. */
static int
npy_entry(struct npy_cur *c, struct dfs_npy_header *h, struct npy_found *f)
{
	const unsigned char	*key;
	size_t			 n;
	bool			 esc, *seen;
	char			 shown[48];
	int			 rc;

	if (*c->p != '\'' && *c->p != '"')
		return npy_syntax(c, "dict key is not a string");
	if ((rc = npy_string(c, &key, &n, &esc)) != 0)
		return rc;
	npy_skip_ws(c);
	if (c->p == c->end || *c->p != ':')
		return npy_syntax(c, "expected ':' after a key");
	c->p++;
	npy_skip_ws(c);
	if (c->p == c->end)
		return npy_syntax(c, "header ends before a value");

	if (!esc && n == 5 && memcmp(key, "descr", 5) == 0)
		seen = &f->descr;
	else if (!esc && n == 13 && memcmp(key, "fortran_order", 13) == 0)
		seen = &f->fortran;
	else if (!esc && n == 5 && memcmp(key, "shape", 5) == 0)
		seen = &f->shape;
	else {
		npy_printable(shown, sizeof shown, key, n);
		return npy_err(c, -EINVAL, "bad .npy header: unexpected key "
		    "'%s' (only descr, fortran_order and shape)", shown);
	}
	if (*seen) {
		npy_printable(shown, sizeof shown, key, n);
		return npy_err(c, -EINVAL, "bad .npy header: key '%s' appears "
		    "twice", shown);
	}
	*seen = true;
	if (seen == &f->descr)
		return npy_descr_value(c, f);
	if (seen == &f->fortran)
		return npy_bool(c, &h->fortran_order);
	return npy_shape(c, h, &f->dim_too_big);
}

/* The whole header dict, up to the end of the header. */
static int
npy_dict(struct npy_cur *c, struct dfs_npy_header *h, struct npy_found *f)
{
	int	rc;

	npy_skip_ws(c);
	if (c->p == c->end || *c->p != '{')
		return npy_syntax(c, "header is not a dict");
	c->p++;
	for (;;) {
		npy_skip_ws(c);
		if (c->p == c->end)
			return npy_syntax(c, "unterminated dict");
		if (*c->p == '}')
			break;
		if ((rc = npy_entry(c, h, f)) != 0)
			return rc;
		npy_skip_ws(c);
		if (c->p == c->end)
			return npy_syntax(c, "unterminated dict");
		if (*c->p == '}')
			break;
		if (*c->p != ',')
			return npy_syntax(c, "expected ',' or '}' in dict");
		c->p++;
	}
	c->p++;
	npy_skip_ws(c);
	if (c->p != c->end)
		return npy_syntax(c, "unexpected text after the dict");
	if (!f->descr || !f->fortran || !f->shape) {
		return npy_err(c, -EINVAL, "bad .npy header: missing key '%s'",
		    !f->descr ? "descr" : !f->fortran ? "fortran_order" :
		    "shape");
	}
	return 0;
}

/*
 * Set count and data_bytes, failing if the data could not be addressed.
 * As NumPy does, zero dims are left out of the overflow check, so (0, n)
 * is as valid as (n,).
 */
static int
npy_sizes(struct dfs_npy_header *h)
{
	uint64_t	nz = 1;
	bool		zero = false;
	int		i;

	for (i = 0; i < h->ndim; i++) {
		if (h->shape[i] > INT64_MAX)
			return -EOVERFLOW;
		if (h->shape[i] == 0) {
			zero = true;
			continue;
		}
		if (nz > INT64_MAX / h->shape[i])
			return -EOVERFLOW;
		nz *= h->shape[i];
	}
	if (h->data_offset > INT64_MAX ||
	    nz > (INT64_MAX - h->data_offset) / h->itemsize)
		return -EOVERFLOW;
	h->count = zero ? 0 : nz;
	h->data_bytes = h->count * h->itemsize;
	return 0;
}

/* Prefix, then HEADER_LEN bound, then the dict; see npy.h for codes. */
int
dfs_npy_parse(const void *buf, size_t len, struct dfs_npy_header *h,
    size_t *need, char **cause)
{
	const unsigned char	*b = buf;
	struct npy_cur		 c;
	struct npy_found	 f;
	size_t			 i, prefix, want = DFS_NPY_PREFIX_V1;
	int			 rc;

	memset(h, 0, sizeof *h);
	memset(&f, 0, sizeof f);
	c.msg[0] = '\0';

	for (i = 0; i < len && i < sizeof npy_magic; i++) {
		if (b[i] != npy_magic[i]) {
			rc = npy_err(&c, -EINVAL, "not a .npy file: bad magic");
			goto out;
		}
	}
	if (len < 8)
		goto short_buf;
	h->major = b[6];
	h->minor = b[7];
	if (h->minor != 0 || h->major < 1 || h->major > 3) {
		rc = npy_err(&c, -EINVAL, "unsupported .npy format version "
		    "%d.%d (1.0, 2.0 and 3.0 are known)", h->major, h->minor);
		goto out;
	}
	prefix = h->major == 1 ? DFS_NPY_PREFIX_V1 : DFS_NPY_PREFIX_V2;
	want = prefix;
	if (len < prefix)
		goto short_buf;
	h->header_len = (uint64_t)b[8] | (uint64_t)b[9] << 8;
	if (h->major > 1)
		h->header_len |= (uint64_t)b[10] << 16 | (uint64_t)b[11] << 24;
	if (h->header_len > DFS_NPY_MAX_HEADER) {
		rc = npy_err(&c, -EINVAL, "bad .npy header: header length "
		    "%" PRIu64 " exceeds the %d-byte limit", h->header_len,
		    DFS_NPY_MAX_HEADER);
		goto out;
	}
	h->data_offset = prefix + h->header_len;
	want = (size_t)h->data_offset;
	if (len < want)
		goto short_buf;

	c.start = c.p = b + prefix;
	c.end = b + h->data_offset;
	if ((rc = npy_dict(&c, h, &f)) != 0)
		goto out;
	if (f.descr_open != 0) {
		rc = npy_err(&c, -ENOTSUP, "unsupported dtype: %s arrays are "
		    "not supported, only bool, integer, float and complex "
		    "arrays", f.descr_open == '[' ? "structured" : "subarray");
		goto out;
	}
	if ((rc = npy_descr(&c, h, f.descr_s, f.descr_n)) != 0)
		goto out;
	if (f.dim_too_big || npy_sizes(h) != 0) {
		rc = npy_err(&c, -EOVERFLOW, "array too large: its shape "
		    "and item size give more than 2^63 bytes");
		goto out;
	}
	rc = 0;
	goto out;

short_buf:
	rc = npy_err(&c, -EAGAIN, "short .npy header: %zu of %zu bytes",
	    len, want);
out:
	if (need != NULL && (rc == 0 || rc == -EAGAIN))
		*need = want;
	if (rc != 0 && cause != NULL)
		*cause = xstrdup(c.msg);
	return rc;
}

/* Append to a bounded buffer; false if it did not fit. */
static bool __attribute__((format(printf, 4, 5)))
npy_append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (*len >= cap)
		return false;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *len)
		return false;
	*len += (size_t)n;
	return true;
}

/* Lay the header out as numpy/lib/format.py _write_array_header does. */
ssize_t
dfs_npy_write_header(struct dfs_npy_header *h, void *out, size_t cap)
{
	unsigned char	*o = out;
	char		 dict[2048], digits[24];
	size_t		 dn = 0, grow = 0, prefix, hlen, pad;
	uint64_t	 total;
	int		 i;

	if (!npy_valid_type(h->kind, h->itemsize))
		return -EINVAL;
	if (h->byteorder != 0 && memchr("<>|=", h->byteorder, 4) == NULL)
		return -EINVAL;
	if (h->ndim < 0 || h->ndim > DFS_NPY_MAXDIM)
		return -EINVAL;
	npy_set_type(h, h->kind, h->itemsize, h->byteorder);

	if (!npy_append(dict, sizeof dict, &dn, "{'descr': '%s', "
	    "'fortran_order': %s, 'shape': (", h->descr,
	    h->fortran_order ? "True" : "False"))
		return -EINVAL;
	for (i = 0; i < h->ndim; i++) {
		if (!npy_append(dict, sizeof dict, &dn, "%s%" PRIu64,
		    i > 0 ? ", " : "", h->shape[i]))
			return -EINVAL;
	}
	if (!npy_append(dict, sizeof dict, &dn, "%s), }",
	    h->ndim == 1 ? "," : ""))
		return -EINVAL;
	if (h->ndim > 0) {
		grow = (size_t)snprintf(digits, sizeof digits, "%" PRIu64,
		    h->shape[h->fortran_order ? h->ndim - 1 : 0]);
		grow = grow < NPY_GROWTH_DIGITS ? NPY_GROWTH_DIGITS - grow : 0;
	}

	/* The dict, growth room and '\n'; then pad to the alignment. */
	hlen = dn + grow + 1;
	prefix = DFS_NPY_PREFIX_V1;
	pad = DFS_NPY_ALIGN - (prefix + hlen) % DFS_NPY_ALIGN;
	h->major = 1;
	if (hlen + pad > NPY_V1_MAX_HEADER) {
		prefix = DFS_NPY_PREFIX_V2;
		pad = DFS_NPY_ALIGN - (prefix + hlen) % DFS_NPY_ALIGN;
		h->major = 2;
	}
	h->minor = 0;
	h->header_len = hlen + pad;
	h->data_offset = prefix + h->header_len;
	if (npy_sizes(h) != 0)
		return -EOVERFLOW;
	total = h->data_offset;
	if (cap < total)
		return -ENOSPC;

	memcpy(o, npy_magic, sizeof npy_magic);
	o[6] = (unsigned char)h->major;
	o[7] = 0;
	o[8] = (unsigned char)(h->header_len & 0xff);
	o[9] = (unsigned char)(h->header_len >> 8 & 0xff);
	if (prefix == DFS_NPY_PREFIX_V2) {
		o[10] = (unsigned char)(h->header_len >> 16 & 0xff);
		o[11] = (unsigned char)(h->header_len >> 24 & 0xff);
	}
	memcpy(o + prefix, dict, dn);
	memset(o + prefix + dn, ' ', grow + pad);
	o[total - 1] = '\n';
	return (ssize_t)total;
}

/* NumPy's dtype.name, so messages match what users see in Python. */
const char *
dfs_npy_kind_name(const struct dfs_npy_header *h, char *buf, size_t cap)
{
	const char	*base;

	switch (npy_valid_type(h->kind, h->itemsize) ? h->kind : 0) {
	case DFS_NPY_BOOL:
		snprintf(buf, cap, "bool");
		return buf;
	case DFS_NPY_INT:
		base = "int";
		break;
	case DFS_NPY_UINT:
		base = "uint";
		break;
	case DFS_NPY_FLOAT:
		base = "float";
		break;
	case DFS_NPY_COMPLEX:
		base = "complex";
		break;
	default:
		snprintf(buf, cap, "unknown");
		return buf;
	}
	snprintf(buf, cap, "%s%u", base, h->itemsize * 8);
	return buf;
}
