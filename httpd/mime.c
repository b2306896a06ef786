/*
 * httpd/mime.c: extension -> Content-Type (contract in mime.h).
 *
 * One sorted table searched with bsearch(); the unit test checks that it
 * stays sorted, lower-case and free of duplicates.
 */
#include "mime.h"

#include <stdlib.h>
#include <string.h>

#define UTF8 "; charset=utf-8"

struct mime {
	const char *ext; /* lower case, sorted by strcmp */
	const char *type;
};

/* clang-format off */
static const struct mime table[] = {
	{"7z", "application/x-7z-compressed"},
	{"aac", "audio/aac"},
	{"apng", "image/apng"},
	{"atom", "application/atom+xml" UTF8},
	{"avi", "video/x-msvideo"},
	{"avif", "image/avif"},
	{"bmp", "image/bmp"},
	{"br", "application/x-brotli"},
	{"bz2", "application/x-bzip2"},
	{"cjs", "text/javascript" UTF8},
	{"css", "text/css" UTF8},
	{"csv", "text/csv" UTF8},
	{"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
	{"eot", "application/vnd.ms-fontobject"},
	{"epub", "application/epub+zip"},
	{"flac", "audio/flac"},
	{"geojson", "application/geo+json" UTF8},
	{"gif", "image/gif"},
	{"gz", "application/gzip"},
	{"heic", "image/heic"},
	{"heif", "image/heif"},
	{"htm", "text/html" UTF8},
	{"html", "text/html" UTF8},
	{"ico", "image/x-icon"},
	{"ics", "text/calendar" UTF8},
	{"jar", "application/java-archive"},
	{"jpeg", "image/jpeg"},
	{"jpg", "image/jpeg"},
	{"js", "text/javascript" UTF8},
	{"json", "application/json" UTF8},
	{"jsonld", "application/ld+json" UTF8},
	{"jxl", "image/jxl"},
	{"m3u8", "application/vnd.apple.mpegurl"},
	{"m4a", "audio/mp4"},
	{"m4v", "video/mp4"},
	{"map", "application/json" UTF8},
	{"markdown", "text/markdown" UTF8},
	{"md", "text/markdown" UTF8},
	{"mid", "audio/midi"},
	{"midi", "audio/midi"},
	{"mjs", "text/javascript" UTF8},
	{"mkv", "video/x-matroska"},
	{"mov", "video/quicktime"},
	{"mp3", "audio/mpeg"},
	{"mp4", "video/mp4"},
	{"mpd", "application/dash+xml" UTF8},
	{"mpeg", "video/mpeg"},
	{"mpg", "video/mpeg"},
	{"odp", "application/vnd.oasis.opendocument.presentation"},
	{"ods", "application/vnd.oasis.opendocument.spreadsheet"},
	{"odt", "application/vnd.oasis.opendocument.text"},
	{"oga", "audio/ogg"},
	{"ogg", "audio/ogg"},
	{"ogv", "video/ogg"},
	{"opus", "audio/ogg"},
	{"otf", "font/otf"},
	{"pdf", "application/pdf"},
	{"png", "image/png"},
	{"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
	{"rss", "application/rss+xml" UTF8},
	{"rtf", "application/rtf"},
	{"svg", "image/svg+xml" UTF8},
	{"tar", "application/x-tar"},
	{"tgz", "application/gzip"},
	{"tif", "image/tiff"},
	{"tiff", "image/tiff"},
	{"toml", "application/toml" UTF8},
	{"tsv", "text/tab-separated-values" UTF8},
	{"ttf", "font/ttf"},
	{"txt", "text/plain" UTF8},
	{"vcf", "text/vcard" UTF8},
	{"vtt", "text/vtt" UTF8},
	{"wasm", "application/wasm"},
	{"wav", "audio/wav"},
	{"weba", "audio/webm"},
	{"webm", "video/webm"},
	{"webmanifest", "application/manifest+json" UTF8},
	{"webp", "image/webp"},
	{"woff", "font/woff"},
	{"woff2", "font/woff2"},
	{"xhtml", "application/xhtml+xml" UTF8},
	{"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
	{"xml", "application/xml" UTF8},
	{"xz", "application/x-xz"},
	{"yaml", "application/yaml" UTF8},
	{"yml", "application/yaml" UTF8},
	{"zip", "application/zip"},
	{"zst", "application/zstd"},
};
/* clang-format on */

#define EXT_MAX 16 /* longer than any extension in the table */

static int cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct mime *)elem)->ext);
}

const char *http_mime_by_ext(const char *ext, size_t len)
{
	char lower[EXT_MAX + 1];

	if (len == 0 || len > EXT_MAX)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)ext[i];
		if (c == '\0')
			return NULL;
		lower[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	lower[len] = '\0';
	const struct mime *m =
	    bsearch(lower, table, sizeof(table) / sizeof(table[0]), sizeof(table[0]), cmp);
	return m ? m->type : NULL;
}

const char *http_mime_by_name(const char *name, size_t len)
{
	size_t i = len;

	while (i > 0 && name[i - 1] != '.' && name[i - 1] != '/')
		i--;
	/* no '.', or it starts the segment (a dot file), or nothing follows it */
	if (i < 2 || name[i - 1] != '.' || name[i - 2] == '/')
		return NULL;
	return http_mime_by_ext(name + i, len - i);
}

size_t http_mime_count(void)
{
	return sizeof(table) / sizeof(table[0]);
}

void http_mime_entry(size_t i, const char **ext, const char **type)
{
	*ext = table[i].ext;
	*type = table[i].type;
}
