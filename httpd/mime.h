/*
 * httpd/mime.h: the built-in extension -> Content-Type table.
 *
 * Lookups are ASCII case-insensitive ("INDEX.HTML" is text/html). Text
 * types carry "; charset=utf-8": every text/ type, JavaScript (served as
 * text/javascript, RFC 9239), JSON and its +json relatives (source maps,
 * web app manifests, JSON-LD, GeoJSON), XML and +xml (SVG, XHTML, RSS,
 * Atom), YAML and TOML. A sibling .gz/.br/.zst is typed by the name without
 * that suffix by the caller; these lookups see only the name given.
 * NULL means "not in the table": the caller sniffs the content (libmagic).
 */
#ifndef TRIAD_HTTPD_MIME_H
#define TRIAD_HTTPD_MIME_H

#include <stddef.h>

/* EXT is the extension without its dot. */
const char *http_mime_by_ext(const char *ext, size_t len);

/*
 * NAME is a file name or a path: its extension is what follows the last '.'
 * of the last segment, unless that '.' starts the segment (".htaccess" and
 * "archive." have none).
 */
const char *http_mime_by_name(const char *name, size_t len);

/* The table itself (for tests and documentation): entry I < http_mime_count(). */
size_t http_mime_count(void);
void http_mime_entry(size_t i, const char **ext, const char **type);

#endif
