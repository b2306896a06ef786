/*
 * Unit tests for httpd/mime.c: the extension -> Content-Type table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../httpd/mime.h"

struct row {
	int line;
	const char *name;
	const char *type; /* NULL: not in the table */
};

#define R(name, type) {__LINE__, name, type}
#define U "; charset=utf-8"

/* clang-format off */
static const struct row rows[] = {
	/* every extension the issue names */
	R("a.html", "text/html" U), R("a.htm", "text/html" U), R("a.css", "text/css" U),
	R("a.js", "text/javascript" U), R("a.mjs", "text/javascript" U),
	R("a.json", "application/json" U), R("a.js.map", "application/json" U),
	R("a.xml", "application/xml" U), R("a.txt", "text/plain" U),
	R("a.md", "text/markdown" U), R("a.svg", "image/svg+xml" U), R("a.png", "image/png"),
	R("a.jpg", "image/jpeg"), R("a.jpeg", "image/jpeg"), R("a.gif", "image/gif"),
	R("a.webp", "image/webp"), R("a.avif", "image/avif"), R("favicon.ico", "image/x-icon"),
	R("a.woff", "font/woff"), R("a.woff2", "font/woff2"), R("a.ttf", "font/ttf"),
	R("a.otf", "font/otf"), R("a.wasm", "application/wasm"), R("a.pdf", "application/pdf"),
	R("a.zip", "application/zip"), R("a.gz", "application/gzip"), R("a.mp3", "audio/mpeg"),
	R("a.mp4", "video/mp4"), R("a.webm", "video/webm"), R("a.ogg", "audio/ogg"),
	R("a.csv", "text/csv" U), R("a.ics", "text/calendar" U),
	R("site.webmanifest", "application/manifest+json" U),
	/* and the rest of the built-in set */
	R("a.apng", "image/apng"), R("a.bmp", "image/bmp"), R("a.tif", "image/tiff"),
	R("a.tiff", "image/tiff"), R("a.jxl", "image/jxl"), R("a.m4a", "audio/mp4"),
	R("a.m4v", "video/mp4"), R("a.mov", "video/quicktime"), R("a.wav", "audio/wav"),
	R("a.flac", "audio/flac"), R("a.aac", "audio/aac"), R("a.opus", "audio/ogg"),
	R("a.oga", "audio/ogg"), R("a.ogv", "video/ogg"), R("a.mkv", "video/x-matroska"),
	R("a.7z", "application/x-7z-compressed"), R("a.tar", "application/x-tar"),
	R("a.bz2", "application/x-bzip2"), R("a.xz", "application/x-xz"),
	R("a.zst", "application/zstd"), R("a.rss", "application/rss+xml" U),
	R("a.atom", "application/atom+xml" U), R("a.xhtml", "application/xhtml+xml" U),
	R("a.jsonld", "application/ld+json" U), R("a.yaml", "application/yaml" U),
	R("a.yml", "application/yaml" U), R("a.toml", "application/toml" U),
	R("a.tar.gz", "application/gzip"), R("a.tgz", "application/gzip"),
	/* case-insensitive */
	R("INDEX.HTML", "text/html" U), R("Photo.JpG", "image/jpeg"),
	R("A.WEBMANIFEST", "application/manifest+json" U),
	/* paths: only the last segment's extension counts */
	R("/a/b.c/d.css", "text/css" U), R("a.d/file", NULL), R("dir.html/", NULL),
	R("a/b.c/.htaccess", NULL),
	/* no extension, dot files, unknown */
	R("README", NULL), R(".htaccess", NULL), R(".css", NULL), R("archive.", NULL),
	R("", NULL), R(".", NULL), R("..", NULL), R("a..", NULL), R("a.unknownext", NULL),
	R("a.xyz", NULL), R("a.c", NULL), R("a.htmlx", NULL), R("a.averyveryverylongextension", NULL),
	R("x..css", "text/css" U), R("..css", "text/css" U),
};
/* clang-format on */

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *t = http_mime_by_name(rows[i].name, strlen(rows[i].name));
		if ((t == NULL) != (rows[i].type == NULL) ||
		    (t && strcmp(t, rows[i].type) != 0))
			fail_msg("row at line %d: %s -> %s, want %s", rows[i].line, rows[i].name,
			         t ? t : "NULL", rows[i].type ? rows[i].type : "NULL");
	}
}

static void test_by_ext(void **state)
{
	(void)state;
	assert_string_equal(http_mime_by_ext("css", 3), "text/css; charset=utf-8");
	assert_string_equal(http_mime_by_ext("cssx", 3), "text/css; charset=utf-8");
	assert_null(http_mime_by_ext("", 0));
	assert_null(http_mime_by_ext("c\0s", 3));
	assert_null(http_mime_by_ext(".css", 4));
}

/* Sorted (bsearch depends on it), lower case, unique; text types carry a charset. */
static void test_table(void **state)
{
	size_t n = http_mime_count();
	const char *prev = NULL;

	(void)state;
	assert_true(n >= 80);
	for (size_t i = 0; i < n; i++) {
		const char *ext, *type;
		http_mime_entry(i, &ext, &type);
		if (prev && strcmp(prev, ext) >= 0)
			fail_msg("table not sorted or duplicated at %s after %s", ext, prev);
		for (const char *c = ext; *c; c++)
			assert_true((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9'));
		assert_true(strlen(ext) <= 16);
		size_t tl = strcspn(type, ";");
		bool textual = !strncmp(type, "text/", 5) ||
		               (tl >= 4 && !strncmp(type + tl - 4, "json", 4)) ||
		               (tl >= 3 && !strncmp(type + tl - 3, "xml", 3)) ||
		               !strncmp(type, "application/yaml", tl) ||
		               !strncmp(type, "application/toml", tl);
		bool charset = strstr(type, "; charset=utf-8") != NULL;
		if (textual != charset)
			fail_msg("%s: %s", ext, type);
		assert_ptr_equal(http_mime_by_ext(ext, strlen(ext)), type);
		prev = ext;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_by_ext),
		cmocka_unit_test(test_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
