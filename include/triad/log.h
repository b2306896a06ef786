/*
 * log: one line per event, "TIME DAEMON[wN] cID LEVEL: message key=value".
 *
 * Loop threads only format a line and queue it (bounded; a full queue drops
 * and counts the drop); one writer thread does the write(2), so a slow pipe
 * or disk never stalls a connection and lines never interleave. Targets:
 * stderr, syslog, or a file opened O_APPEND (one write per line, so several
 * daemons may share it). log_reopen() reopens the file (SIGHUP).
 */
#ifndef TRIAD_LOG_H
#define TRIAD_LOG_H

#include <stddef.h>
#include <stdint.h>
#include "triad/config.h"

/* Before log_open(): lines go synchronously to stderr. */
void log_init(const char *daemon);
/* Starts (or retargets) the writer: "stderr", "syslog" or a file path. */
int log_open(const char *target, enum log_level level, char *err, size_t errlen);
int log_reopen(char *err, size_t errlen);
void log_set_level(enum log_level level);
/* Flushes the queue and stops the writer thread (at exit). */
void log_close(void);
/* The log file's descriptor (-1: the log is not a file), for a last line
 * written straight from a signal handler (sandbox.c's SIGSYS). */
int log_emergency_fd(void);

/* Identity of the calling thread, shown in every line it logs. */
void log_set_worker(int worker);

enum log_level log_get_level(void);
#define log_enabled(lvl) ((lvl) <= log_get_level())

void log_msg(enum log_level level, uint64_t conn_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, 0, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, 0, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...) do { if (log_enabled(LOG_LEVEL_DEBUG)) log_msg(LOG_LEVEL_DEBUG, 0, __VA_ARGS__); } while (0)

/*
 * Escapes untrusted bytes for a log line: printable ASCII is kept except
 * '"' and '\\', everything else becomes \xHH. Always NUL-terminates; returns
 * dst. Truncates (ending in "...") when dst is too small.
 */
char *log_escape(char *dst, size_t dstlen, const void *src, size_t srclen);

/* Writes one already formatted line (with '\n') to a separate log target,
 * e.g. the HTTP access log; same queue, same guarantees. */
struct log_file;
struct log_file *log_file_open(const char *path, char *err, size_t errlen);
void log_file_write(struct log_file *f, const char *line, size_t len);
int log_file_reopen(struct log_file *f, char *err, size_t errlen);
void log_file_close(struct log_file *f);

#endif
