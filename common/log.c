/*
 * log: formats lines on the calling thread, writes them on one writer thread.
 *
 * The queue is a bounded ring of bytes guarded by one mutex: each line is a
 * small header and its text, packed, and an empty ring starts again at its
 * first byte, so the memory it touches is what the queued lines need at
 * their peak, not the ring's size (the writer usually keeps up; a ring of
 * fixed slots would make a fresh slot resident per line logged). A full ring
 * drops the line and counts it (reported by the next line that fits), so a
 * stuck stderr pipe or a slow disk costs a loop thread nothing but the
 * formatting. Each line is written with one write(2) to an O_APPEND fd,
 * which keeps lines whole even when several daemons share a file.
 * Before log_open() (startup, config errors) lines go straight to stderr.
 */
#include "triad/log.h"
#include "triad/date.h"
#include "triad/fdio.h"
#include "triad/limits.h"
#include "triad/strlit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

enum target_kind { TARGET_STDERR, TARGET_SYSLOG, TARGET_FILE };

struct log_file {
	int fd;
	char *path;
};

/* A queued line: this header, then LEN bytes of text, in the ring. */
struct rec {
	struct log_file *dest; /* NULL: the main log */
	int level;
	unsigned short len;
};

/* The writer's copy of one line, emitted with the lock released. */
struct slot {
	struct rec h;
	char text[TRIAD_LOG_LINE_MAX];
};

static const char *daemon_name = "triad";
static atomic_int current_level = LOG_LEVEL_INFO;
static _Thread_local int worker_id = -1;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t nonempty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t drained = PTHREAD_COND_INITIALIZER;
static unsigned char *ring;  /* TRIAD_LOG_QUEUE_BYTES */
static size_t head, used;    /* offset of the oldest line; bytes queued */
static size_t count;         /* lines queued */
static unsigned long dropped;
static bool running, stopping, writing; /* writing: a line is being emitted unlocked */
static pthread_t writer;

/* Guarded by lock; read by the writer while it holds no lock only via copies. */
static enum target_kind kind = TARGET_STDERR;
static struct log_file main_file = {.fd = -1};
static atomic_int emergency_fd = -1; /* main_file.fd when the log is a file */

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const int syslog_prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

void log_init(const char *daemon)
{
	daemon_name = daemon;
}

void log_set_level(enum log_level level)
{
	atomic_store(&current_level, (int)level);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load(&current_level);
}

void log_set_worker(int worker)
{
	worker_id = worker;
}

/* A failed write is dropped: there is nowhere left to report a logging failure. */
static void emit(const struct slot *s, enum target_kind k, int fd)
{
	if (s->h.dest) {
		(void)fdio_write_all(s->h.dest->fd, s->text, s->h.len);
	} else if (k == TARGET_SYSLOG) {
		/* syslog adds its own timestamp; skip ours (up to the first space). */
		const char *msg = memchr(s->text, ' ', s->h.len);
		msg = msg ? msg + 1 : s->text;
		syslog(syslog_prio[s->h.level], "%.*s", (int)(s->h.len - (msg - s->text) - 1), msg);
	} else {
		(void)fdio_write_all(fd, s->text, s->h.len);
	}
}

/* Copies N bytes in or out of the ring at offset AT, across its end if need be. */
static void ring_put(size_t at, const void *src, size_t n)
{
	size_t first = TRIAD_LOG_QUEUE_BYTES - at < n ? TRIAD_LOG_QUEUE_BYTES - at : n;
	memcpy(ring + at, src, first);
	memcpy(ring, (const unsigned char *)src + first, n - first);
}

static void ring_get(size_t at, void *dst, size_t n)
{
	size_t first = TRIAD_LOG_QUEUE_BYTES - at < n ? TRIAD_LOG_QUEUE_BYTES - at : n;
	memcpy(dst, ring + at, first);
	memcpy((unsigned char *)dst + first, ring, n - first);
}

static void *writer_main(void *arg)
{
	(void)arg;
	struct slot *local = malloc(sizeof(*local));
	if (!local)
		return NULL;
	pthread_mutex_lock(&lock);
	for (;;) {
		while (count == 0 && !stopping)
			pthread_cond_wait(&nonempty, &lock);
		if (count == 0 && stopping)
			break;
		ring_get(head, &local->h, sizeof(local->h));
		ring_get((head + sizeof(local->h)) % TRIAD_LOG_QUEUE_BYTES, local->text, local->h.len);
		head = (head + sizeof(local->h) + local->h.len) % TRIAD_LOG_QUEUE_BYTES;
		used -= sizeof(local->h) + local->h.len;
		count--;
		if (used == 0)
			head = 0; /* the next lines reuse the ring's first, warm pages */
		enum target_kind k = kind;
		int fd = k == TARGET_FILE ? main_file.fd : STDERR_FILENO;
		/* The fd stays valid while we write unlocked: reopen swaps with dup2. */
		writing = true;
		pthread_mutex_unlock(&lock);
		emit(local, k, fd);
		pthread_mutex_lock(&lock);
		writing = false;
		if (count == 0)
			pthread_cond_broadcast(&drained);
	}
	pthread_cond_broadcast(&drained);
	pthread_mutex_unlock(&lock);
	free(local);
	return NULL;
}

static int open_append(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		snprintf(err, errlen, "%s: cannot open log: %s", path, strerror(errno));
	return fd;
}

int log_open(const char *target, enum log_level level, char *err, size_t errlen)
{
	enum target_kind k = TARGET_FILE;
	int fd = -1;

	if (!target || strcmp(target, "stderr") == 0)
		k = TARGET_STDERR;
	else if (strcmp(target, "syslog") == 0)
		k = TARGET_SYSLOG;
	else if ((fd = open_append(target, err, errlen)) < 0)
		return -1;

	if (k == TARGET_SYSLOG)
		openlog(daemon_name, LOG_PID | LOG_NDELAY, LOG_DAEMON);

	pthread_mutex_lock(&lock);
	if (!ring) {
		ring = malloc(TRIAD_LOG_QUEUE_BYTES);
		if (!ring) {
			pthread_mutex_unlock(&lock);
			if (fd >= 0)
				close(fd);
			snprintf(err, errlen, "log: out of memory");
			return -1;
		}
	}
	/* Let queued lines reach the target they were written for. */
	while (running && (count > 0 || writing))
		pthread_cond_wait(&drained, &lock);
	if (kind == TARGET_FILE && main_file.fd >= 0)
		close(main_file.fd);
	free(main_file.path);
	main_file.path = fd >= 0 ? strdup(target) : NULL;
	main_file.fd = fd;
	kind = k;
	atomic_store(&emergency_fd, k == TARGET_FILE ? fd : -1);
	if (!running) {
		stopping = false;
		if (pthread_create(&writer, NULL, writer_main, NULL) == 0)
			running = true;
	}
	pthread_mutex_unlock(&lock);
	log_set_level(level);
	return 0;
}

int log_reopen(char *err, size_t errlen)
{
	pthread_mutex_lock(&lock);
	int rc = 0;
	if (kind == TARGET_FILE && main_file.path) {
		int fd = open_append(main_file.path, err, errlen);
		if (fd < 0) {
			rc = -1;
		} else {
			/* dup2 keeps the number the writer may be using right now. */
			dup2(fd, main_file.fd);
			close(fd);
		}
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

void log_close(void)
{
	pthread_mutex_lock(&lock);
	if (!running) {
		pthread_mutex_unlock(&lock);
		return;
	}
	stopping = true;
	pthread_cond_signal(&nonempty);
	pthread_mutex_unlock(&lock);
	pthread_join(writer, NULL);
	pthread_mutex_lock(&lock);
	running = false;
	pthread_mutex_unlock(&lock);
}

/* Queues a formatted line; synchronous to stderr before log_open(). */
static void enqueue(struct log_file *dest, int level, const char *text, size_t len)
{
	pthread_mutex_lock(&lock);
	if (!running) {
		pthread_mutex_unlock(&lock);
		(void)fdio_write_all(dest ? dest->fd : STDERR_FILENO, text, len);
		return;
	}
	struct rec h = {.dest = dest, .level = level, .len = (unsigned short)len};
	if (used + sizeof(h) + len > TRIAD_LOG_QUEUE_BYTES) {
		dropped++;
		pthread_mutex_unlock(&lock);
		return;
	}
	size_t tail = (head + used) % TRIAD_LOG_QUEUE_BYTES;
	ring_put(tail, &h, sizeof(h));
	ring_put((tail + sizeof(h)) % TRIAD_LOG_QUEUE_BYTES, text, len);
	used += sizeof(h) + len;
	count++;
	unsigned long lost = dropped;
	dropped = 0;
	pthread_cond_signal(&nonempty);
	pthread_mutex_unlock(&lock);
	if (lost)
		log_msg(LOG_LEVEL_WARN, 0, "log queue full: %lu lines dropped", lost);
}

void log_msg(enum log_level level, uint64_t conn_id, const char *fmt, ...)
{
	if ((int)level > atomic_load(&current_level))
		return;

	char line[TRIAD_LOG_LINE_MAX];
	struct timespec ts;
	struct date_tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	date_utc(ts.tv_sec, &tm);

	char who[16] = "main";
	if (worker_id >= 0)
		snprintf(who, sizeof(who), "w%d", worker_id);
	int n = snprintf(line, sizeof(line),
	                 "%04lld-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%s] c%06llu %s: ",
	                 (long long)tm.year, tm.mon, tm.mday, tm.hour, tm.min, tm.sec,
	                 ts.tv_nsec / 1000000, daemon_name, who,
	                 (unsigned long long)conn_id, level_names[level]);
	if (n < 0)
		return;
	size_t used = (size_t)n;

	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + used, sizeof(line) - used - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	used += (size_t)m;
	if (used > sizeof(line) - 2) {
		used = sizeof(line) - 2;
		memcpy(line + used - 3, STRLIT("..."));
	}
	/* A newline inside the message would forge a line: flatten control bytes. */
	for (size_t i = (size_t)n; i < used; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[used++] = '\n';
	enqueue(NULL, level, line, used);
}

char *log_escape(char *dst, size_t dstlen, const void *src, size_t srclen)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = src;
	size_t o = 0;

	if (dstlen == 0)
		return dst;
	for (size_t i = 0; i < srclen; i++) {
		unsigned char ch = s[i];
		bool plain = ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\';
		size_t need = plain ? 1 : 4;
		if (o + need + 4 > dstlen) { /* keep room for "..." and NUL */
			if (dstlen >= 4) {
				o = o < dstlen - 4 ? o : dstlen - 4;
				memcpy(dst + o, STRLIT("..."));
				o += 3;
			}
			break;
		}
		if (plain) {
			dst[o++] = (char)ch;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[ch >> 4];
			dst[o++] = hex[ch & 15];
		}
	}
	dst[o < dstlen ? o : dstlen - 1] = '\0';
	return dst;
}

struct log_file *log_file_open(const char *path, char *err, size_t errlen)
{
	struct log_file *f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(path))) {
		free(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	if ((f->fd = open_append(path, err, errlen)) < 0) {
		free(f->path);
		free(f);
		return NULL;
	}
	return f;
}

void log_file_write(struct log_file *f, const char *line, size_t len)
{
	if (len > TRIAD_LOG_LINE_MAX)
		len = TRIAD_LOG_LINE_MAX; /* callers format bounded lines; the writer's copy holds this */
	enqueue(f, LOG_LEVEL_INFO, line, len);
}

int log_file_reopen(struct log_file *f, char *err, size_t errlen)
{
	int fd = open_append(f->path, err, errlen);
	if (fd < 0)
		return -1;
	pthread_mutex_lock(&lock);
	dup2(fd, f->fd);
	pthread_mutex_unlock(&lock);
	close(fd);
	return 0;
}

void log_file_close(struct log_file *f)
{
	if (!f)
		return;
	/* Lines for f may still be queued: wait until the writer is past them. */
	pthread_mutex_lock(&lock);
	while (running && (count > 0 || writing))
		pthread_cond_wait(&drained, &lock);
	pthread_mutex_unlock(&lock);
	close(f->fd);
	free(f->path);
	free(f);
}

int log_emergency_fd(void)
{
	return atomic_load(&emergency_fd);
}
