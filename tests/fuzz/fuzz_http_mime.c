/*
 * libFuzzer target for httpd/mime.c: the Content-Type of a file from its
 * name (http_mime_by_name) or extension (http_mime_by_ext), for every path a
 * client can request.
 *
 * Input: the name or path.
 * Checked beyond "no crash": a type comes from the table (pointer-equal to
 * an entry); by_name agrees with by_ext applied to what follows the last '.'
 * of the last segment (none for a dot file or a trailing '.'); the lookup
 * ignores ASCII case; an extension longer than the table's is never found.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../httpd/mime.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static bool in_table(const char *type)
{
	for (size_t i = 0; i < http_mime_count(); i++) {
		const char *e, *t;
		http_mime_entry(i, &e, &t);
		if (t == type)
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	const char *name = (const char *)data;
	const char *t = http_mime_by_name(name, size);
	CHECK(!t || in_table(t));
	/* The extension, computed apart. */
	size_t seg = 0;
	for (size_t i = 0; i < size; i++)
		if (name[i] == '/')
			seg = i + 1;
	const char *dot = NULL;
	for (size_t i = seg; i < size; i++)
		if (name[i] == '.')
			dot = name + i;
	const char *want = NULL;
	if (dot && dot != name + seg && (size_t)(dot - name) + 1 < size)
		want = http_mime_by_ext(dot + 1, size - (size_t)(dot - name) - 1);
	CHECK(t == want);
	/* Case: the same bytes upper-cased find the same type. */
	char up[4096];
	for (size_t i = 0; i < size; i++)
		up[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
	CHECK(http_mime_by_name(up, size) == t);
	const char *e = http_mime_by_ext(name, size);
	CHECK(!e || (in_table(e) && size <= 16 && !memchr(name, '\0', size)));
	return 0;
}
