/*
 * test-name.c: the escape every name printed by dfs goes through
 * (lib/name.c), held to the rule dfs(1) states.
 *
 * Hostile names first: control characters, a terminal escape sequence,
 * backslashes that could fake an escape.  UTF-8 validity is checked
 * against glibc's iconv, a decoder nobody here wrote: over random byte
 * strings, a byte >= 0x80 is kept raw exactly when iconv accepts the
 * sequence it belongs to (C1 controls aside, which we escape on purpose).
 * Every output is one printable line, and undoing the escapes gives the
 * name back, so two names never print the same.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <iconv.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "name.h"

static void
expect(const char *in, const char *want)
{
	char	*got = dfs_name_escape(in);

	if (strcmp(got, want) != 0)
		fail_msg("escape of '%s': got '%s', want '%s'", in, got, want);
	free(got);
}

static void
test_name_controls(void **state)
{
	(void)state;
	expect("", "");
	expect("plain.npy", "plain.npy");
	expect("a\nb", "a\\nb");
	expect("a\tb", "a\\tb");
	expect("\x1b[2J", "\\x1b[2J");
	expect("bad\nname\x1b[2J", "bad\\nname\\x1b[2J");
	expect("\r\x01\x1f\x7f", "\\x0d\\x01\\x1f\\x7f");
	expect(" ~!", " ~!");
	/* A backslash in a name cannot pass for an escape. */
	expect("a\\nb", "a\\\\nb");
	expect("\\x1b", "\\\\x1b");
}

/* The audit log's form: one word, so a path cannot fake a KEY=VALUE
 * field or a line. */
static void
test_name_word(void **state)
{
	char	*got;

	(void)state;
	got = dfs_name_escape_word("/a b\n cmd=delete\nx");
	assert_string_equal(got, "/a\\x20b\\n\\x20cmd=delete\\nx");
	free(got);
	got = dfs_name_escape_word("/a b\ncmd=x\x1b[2J");
	assert_string_equal(got, "/a\\x20b\\ncmd=x\\x1b[2J");
	assert_null(strpbrk(got, " \n"));
	free(got);
}

static void
test_name_utf8(void **state)
{
	(void)state;
	expect("caf\xc3\xa9", "caf\xc3\xa9");			/* é */
	expect("\xe2\x82\xac", "\xe2\x82\xac");			/* € */
	expect("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");		/* U+1F600 */
	expect("\xc2\xa0", "\xc2\xa0");				/* U+00A0 */
	expect("\xc2\x9b" "2J", "\\xc2\\x9b2J");		/* C1 CSI */
	expect("\xc2\x80", "\\xc2\\x80");
	expect("\xff", "\\xff");
	expect("\x80z", "\\x80z");				/* stray */
	expect("ab\xc3", "ab\\xc3");				/* truncated */
	expect("\xe2\x82", "\\xe2\\x82");
	expect("\xc0\xaf", "\\xc0\\xaf");			/* overlong */
	expect("\xe0\x80\xaf", "\\xe0\\x80\\xaf");
	expect("\xed\xa0\x80", "\\xed\\xa0\\x80");		/* surrogate */
	expect("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");	/* > 10FFFF */
	expect("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80");
	/* A bad lead does not swallow the good sequence after it. */
	expect("\xe2\xc3\xa9", "\\xe2\xc3\xa9");
}

/* Undo the escapes: the name back, or NULL for malformed input. */
static char *
unescape(const char *s)
{
	char		*out = malloc(strlen(s) + 1), *o = out;
	unsigned	 v;

	while (*s != '\0') {
		if (*s != '\\') {
			*o++ = *s++;
			continue;
		}
		s++;
		if (*s == 'n' || *s == 't' || *s == '\\') {
			*o++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : '\\';
			s++;
		} else if (*s == 'x' && sscanf(s + 1, "%2x", &v) == 1) {
			*o++ = (char)v;
			s += 3;
		} else {
			free(out);
			return NULL;
		}
	}
	*o = '\0';
	return out;
}

static uint64_t	rng = 0x9E3779B97F4A7C15ull;

static uint8_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint8_t)rng;
}

/* Whether iconv takes n bytes as UTF-8. */
static bool
iconv_valid(iconv_t cd, const char *s, size_t n)
{
	char	 out[64], *ip = (char *)s, *op = out;
	size_t	 il = n, ol = sizeof out;

	iconv(cd, NULL, NULL, NULL, NULL);
	return iconv(cd, &ip, &il, &op, &ol) != (size_t)-1 && il == 0;
}

static void
test_name_random(void **state)
{
	iconv_t	cd = iconv_open("UTF-32LE", "UTF-8");
	char	name[16], *e, *back;

	(void)state;
	assert_true(cd != (iconv_t)-1);
	for (int t = 0; t < 200000; t++) {
		size_t n = 1 + rnd() % 12;
		for (size_t i = 0; i < n; i++) {
			uint8_t c = rnd();
			/* Mostly high bytes, to reach the UTF-8 cases. */
			name[i] = (char)(c == 0 ? 'a' : t % 4 == 0 ? c :
			    (c | 0x80));
		}
		name[n] = '\0';
		e = dfs_name_escape(name);
		for (const char *p = e; *p != '\0'; p++)
			if ((uint8_t)*p < 0x20 || *p == 0x7f)
				fail_msg("a control byte in an escape");
		back = unescape(e);
		assert_non_null(back);
		assert_string_equal(back, name);
		/* No escaped high byte and no C1: iconv must accept it all;
		 * iconv accepts it all and no C1: nothing high escaped. */
		bool escaped = false, c1 = false;
		for (const char *p = e; *p != '\0'; p++)
			if (*p == '\\' && *++p == 'x' && p[1] >= '8')
				escaped = true;
		for (size_t i = 0; i + 1 < n; i++)
			if ((uint8_t)name[i] == 0xc2 &&
			    (uint8_t)name[i + 1] >= 0x80 &&
			    (uint8_t)name[i + 1] < 0xa0)
				c1 = true;
		if (!c1 && escaped == iconv_valid(cd, name, n))
			fail_msg("escape and iconv disagree on a %zu-byte name "
			    "(escaped as '%s')", n, e);
		free(back);
		free(e);
	}
	iconv_close(cd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_controls),
		cmocka_unit_test(test_name_word),
		cmocka_unit_test(test_name_utf8),
		cmocka_unit_test(test_name_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
