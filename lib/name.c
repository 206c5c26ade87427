/*
 * name.c: names as dfs prints them, and as the namenode writes them in
 * its audit log.
 *
 * A name in the namespace may hold any byte but '/' and NUL, as POSIX
 * says: a newline, a terminal's escape sequence (ESC [ 2 J clears the
 * screen), bytes that are not UTF-8.  Printed raw, such a name could
 * forge lines of a listing or drive the terminal of whoever lists the
 * directory.  So everything dfs prints that came from the namespace (and
 * every error message, which may quote a path) goes through one function,
 * always, terminal or not, and the rule is simple enough to state in
 * dfs(1) and to undo:
 *
 *   - a backslash becomes \\, a tab \t, a newline \n;
 *   - any other byte below 0x20, and 0x7f, becomes \xHH (two lower-case
 *     hex digits);
 *   - a byte that does not belong to a valid UTF-8 sequence (a stray
 *     continuation, a truncated, overlong or surrogate sequence, a byte
 *     0xf5 to 0xff) becomes \xHH, and so do the two bytes of a C1
 *     control character (U+0080 to U+009F, which some terminals obey);
 *   - every other byte is printed as it is.
 *
 * The output is one line, and different names never print the same.
 *
 * The namenode's audit log (namenode/nn-audit.c) writes KEY=VALUE fields
 * separated by spaces, so there a value also has its spaces escaped, as
 * \x20 (dfs_name_escape_word): a path cannot fake a field either.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "name.h"
#include "xmalloc.h"

/* How many bytes the valid UTF-8 sequence at s is (1 to 4), or 0 when
 * the byte at s starts no valid sequence.  ASCII is 1. */
static size_t
dfs_name_utf8_len(const uint8_t *s)
{
	uint8_t	c = s[0], lo = 0x80, hi = 0xbf;
	size_t	n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* beyond U+10FFFF */
	} else
		return 0;
	/* The string's NUL stops this loop: it is no continuation byte. */
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* Append byte c to out as \xHH. */
static char *
dfs_name_hex(char *out, uint8_t c)
{
	static const char hex[] = "0123456789abcdef";

	*out++ = '\\';
	*out++ = 'x';
	*out++ = hex[c >> 4];
	*out++ = hex[c & 15];
	return out;
}

/* name escaped by the rule above, and its spaces too when word is set.
 * Caller frees. */
static char *
dfs_name_do_escape(const char *name, bool word)
{
	const uint8_t	*s = (const uint8_t *)name;
	size_t		 len = strlen(name), n;
	char		*buf = xmalloc(len * 4 + 1), *out = buf;

	while (*s != '\0') {
		if (*s == '\\' || *s == '\t' || *s == '\n') {
			*out++ = '\\';
			*out++ = *s == '\\' ? '\\' : *s == '\t' ? 't' : 'n';
			s++;
		} else if (*s < 0x20 || *s == 0x7f || (word && *s == ' '))
			out = dfs_name_hex(out, *s++);
		else if ((n = dfs_name_utf8_len(s)) == 0)
			out = dfs_name_hex(out, *s++);
		else if (n == 2 && s[0] == 0xc2 && s[1] < 0xa0) {
			out = dfs_name_hex(out, *s++);	/* C1 control */
			out = dfs_name_hex(out, *s++);
		} else {
			memcpy(out, s, n);
			out += n;
			s += n;
		}
	}
	*out = '\0';
	return buf;
}

/* name escaped by the rule above, safe to print on a line.  Caller
 * frees. */
char *
dfs_name_escape(const char *name)
{
	return dfs_name_do_escape(name, false);
}

/* name escaped as one space-free word (a KEY=VALUE field).  Caller
 * frees. */
char *
dfs_name_escape_word(const char *name)
{
	return dfs_name_do_escape(name, true);
}

/* fputs of name escaped: for names printed without a format. */
void
dfs_name_print(FILE *f, const char *name)
{
	char	*e = dfs_name_escape(name);

	fputs(e, f);
	free(e);
}
