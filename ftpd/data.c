/*
 * data: data connections and transfers (RFC 959 §3.2-3.3, RFC 2428, RFC 4217).
 *
 * Setup: PASV/EPSV open a listener on a port of passive_ports, bound to the
 * control connection's local address, which accepts one connection and only
 * from the control peer's address (port theft, RFC 2577 §5); PORT/EPRT
 * record a target that must be the control peer's address and a port >= 1024
 * (bounce, RFC 2577 §3), connected to when a transfer command arrives.
 * With PROT P the data connection is TLS with the control's SSL_CTX, and
 * (tls_session_reuse) must resume a session, as vsftpd requires, so that a
 * stranger cannot take the data connection with a fresh handshake.
 *
 * A transfer (struct ftp_transfer) runs on the loop: RETR in binary mode on
 * a plain connection is one sendfile segment; TLS or TYPE A is read in
 * chunks as the output drains. STOR, APPE, STOU and REST+STOR write a hidden
 * fsroot temp file in the target's directory (binary: straight from the
 * input's chains), which is renamed over the target once the client closed
 * the data connection cleanly: with sync_uploads fsynced first, its
 * writeback started every few MiB meanwhile, and renamed on the workq;
 * without, renamed on the loop when the target is new. Anything else (ABOR,
 * reset, timeout, TLS without close_notify) unlinks it, so the target only
 * ever holds a complete file. The reply pair
 * 150 ... 226/4xx frames every transfer; one log line records it.
 *
 * LIST and NLST take a wildcard (fnmatch) in the last component of a path
 * that does not exist, and NLST names entries as `ls ARG` would print them.
 */
#include "session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/listener.h>

#include "list.h"
#include "reply.h"
#include "triad/log.h"
#include "triad/workq.h"

#define DATA_CHUNK (64 * 1024)
/* Input an upload's data connection may buffer. Each read is written out at
 * once, so this only has to stay above what one read brings: at the conn's
 * default (TRIAD_CONN_READ_MAX, 64 KiB, as much as one read) reading paused
 * and resumed around every read, two epoll_ctl calls per 64 KiB. */
#define UPLOAD_READ_MAX (1024 * 1024)
/* sync_uploads: writeback of an upload starts every this many bytes. */
#define UPLOAD_WRITEBACK (8 * 1024 * 1024)
/* STOU: names tried (stem, stem.1 ... stem.999) before 450. */
#define STOU_ATTEMPTS 1000

enum xfer_kind { XFER_RETR, XFER_STOR, XFER_LIST };

struct ftp_transfer {
	enum xfer_kind kind;
	enum ftp_verb verb;
	struct ftp_vpath path;
	int fd;                 /* RETR: the file, until handed to sendfile */
	struct fsroot_temp tmp; /* STOR: the hidden file */
	bool have_tmp;
	uint64_t offset, end; /* RETR: the bytes [offset, end) */
	uint64_t bytes;       /* data bytes moved (RETR: queued) */
	uint64_t limit;       /* STOR: max_upload_size, 0: none */
	uint64_t kept;        /* STOR: old bytes the file starts with (REST, APPE) */
	uint64_t flushed;     /* STOR, sync_uploads: bytes whose writeback was started */
	bool ascii;
	struct ftp_ascii conv;
	bool started; /* 150 sent */
	bool streaming;
	bool flushing; /* everything queued: waiting for the output to drain */
	bool committing;
	bool fresh; /* STOR: the target did not exist when the upload began */
	unsigned stou_seq;                 /* STOU: the name is stem, stem.1, stem.2 ... */
	char stou_stem[TRIAD_NAME_MAX + 1]; /* STOU: "" for the other uploads */
	bool tls; /* the data connection is TLS (PROT P) */
	struct timespec t0;
	struct event *rate_ev; /* data_min_rate: checks progress every data_timeout */
	uint64_t rate_mark;    /* bytes moved at the last check */
	/* listings */
	DIR *dir;
	char dirrel[TRIAD_PATH_MAX];
	size_t dirlen;
	bool single, single_done;
	struct stat st;
	char name[TRIAD_NAME_MAX + 1];
	char pattern[TRIAD_NAME_MAX + 1];  /* "": every entry; else an fnmatch pattern */
	char prefix[FTP_COMMAND_LINE_MAX]; /* NLST: put before each name (as given) */
	size_t prefixlen;
	struct ftp_list_opts lo;
};

/* Blocking file work of an upload, done on the workq: copying the old content
 * into the temp file before REST+STOR or APPE (prefix), and the fsync + rename
 * after it (commit). The session waits for it (in_transfer). */
struct ftp_commit {
	struct ftp_session *s; /* NULL once the session is gone */
	bool prefix;
	struct fsroot_temp tmp; /* commit: the file to rename into place */
	bool durable;           /* commit: fsync file and directory (sync_uploads) */
	bool unique;            /* commit (STOU): never replace, try stem.N on a clash */
	unsigned seq;           /* STOU: N of the name tried; changed when it clashed */
	char stem[TRIAD_NAME_MAX + 1];
	int src, dst;           /* prefix: copy src[0, len) to dst (a dup of the temp fd) */
	uint64_t len;
	int rc;
};

static const struct conn_ops data_ops;

/* ---- addresses ---------------------------------------------------------- */

/* IPv4 as v4-mapped IPv6, so the two families compare. */
static void ip_key(const struct sockaddr_storage *ss, unsigned char key[16])
{
	memset(key, 0, 16);
	if (ss->ss_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	}
}

static bool same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	unsigned char ka[16], kb[16];
	ip_key(a, ka);
	ip_key(b, kb);
	return memcmp(ka, kb, 16) == 0;
}

static uint16_t sa_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void sa_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* Whether the control connection's local address is IPv4 (or v4-mapped). */
static bool local_is_v4(const struct ftp_session *s)
{
	const struct sockaddr_storage local = conn_addr_storage(&s->c->local);
	const struct sockaddr_storage *l = &local;
	return l->ss_family == AF_INET ||
	       (l->ss_family == AF_INET6 &&
	        IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)l)->sin6_addr));
}

static const char *user_name(const struct ftp_session *s)
{
	return s->user[0] ? s->user : "-";
}

/* ---- the end of a transfer ------------------------------------------------ */

static void log_transfer(struct ftp_session *s, struct ftp_transfer *x, bool ok)
{
	if (x->kind == XFER_LIST || !x->started)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double secs = x->streaming ? (double)(now.tv_sec - x->t0.tv_sec) +
	                                 (double)(now.tv_nsec - x->t0.tv_nsec) / 1e9
	                           : 0.0;
	uint64_t bytes = x->bytes;
	if (x->kind == XFER_RETR && s->data && !ok) {
		size_t pending = conn_output_pending(s->data);
		bytes = pending < bytes ? bytes - pending : 0;
	}
	char user[TRIAD_AUTH_FIELD_MAX * 4 + 8], path[TRIAD_PATH_MAX * 4 + 8];
	log_escape(user, sizeof(user), user_name(s), strlen(user_name(s)));
	log_escape(path, sizeof(path), x->path.path, x->path.len);
	log_msg(LOG_LEVEL_INFO, s->c->id,
	        "transfer user=\"%s\" ip=%s dir=%s cmd=%s bytes=%llu secs=%.3f "
	        "type=%s tls=%s path=\"%s\" result=%s",
	        user, s->c->peer_ip, x->kind == XFER_RETR ? "out" : "in",
	        ftp_cmd_info(x->verb)->name, (unsigned long long)bytes, secs, x->ascii ? "A" : "I",
	        x->tls ? "yes" : "no", path, ok ? "complete" : "aborted");
}

static void close_run(void *arg)
{
	close((int)(intptr_t)arg);
}

void ftp_close_later(struct ftp_session *s, int fd)
{
	if (fd < 0)
		return;
	if (workq_submit(s->c->base, close_run, NULL, (void *)(intptr_t)fd) < 0)
		close(fd);
}

static void xfer_free(struct ftp_session *s, struct ftp_transfer *x)
{
	if (x->rate_ev)
		event_free(x->rate_ev);
	if (x->fd >= 0)
		close(x->fd);
	if (x->have_tmp) {
		/* Unlinked here while our fd keeps the inode: only the name goes;
		 * the blocks are freed by the last close, on the workq. */
		int fd = x->tmp.fd;
		x->tmp.fd = -1;
		fsroot_temp_abort(&x->tmp);
		ftp_close_later(s, fd);
	}
	if (x->dir)
		closedir(x->dir);
	free(x);
}

static void accept_timer_stop(struct ftp_session *s)
{
	if (s->accept_timer)
		event_del(s->accept_timer);
}

/* Closes everything of the data setup but the transfer itself. */
static void data_setup_close(struct ftp_session *s, bool graceful)
{
	if (s->data) {
		struct conn *d = s->data;
		d->proto = NULL;
		s->data = NULL;
		if (graceful)
			conn_close(d);
		else
			conn_abort(d);
	}
	if (s->pasv) {
		evconnlistener_free(s->pasv);
		s->pasv = NULL;
	}
	if (s->connect_ev) {
		event_free(s->connect_ev);
		s->connect_ev = NULL;
	}
	if (s->connect_fd >= 0) {
		close(s->connect_fd);
		s->connect_fd = -1;
	}
	accept_timer_stop(s);
	s->dmode = FTP_DATA_NONE;
	s->data_tls_done = s->data_tls_ok = false;
}

/* Ends the transfer: logs it, releases it, closes the data connection and
 * sends the final reply. The caller resumes the session. */
static void xfer_end(struct ftp_session *s, bool ok, int code, const char *text)
{
	struct ftp_transfer *x = s->xfer;
	if (x) {
		log_transfer(s, x, ok);
		s->xfer = NULL;
		xfer_free(s, x);
	}
	data_setup_close(s, ok);
	ftp_reply(s, code, "%s", text);
}

static void xfer_fail(struct ftp_session *s, int code, const char *text)
{
	xfer_end(s, false, code, text);
	ftp_resume(s);
}

static void xfer_fail_errno(struct ftp_session *s, int err)
{
	const char *text;
	int code = ftp_reply_errno(err, &text);
	/* A transfer that began is answered with a 4xx/5xx after its 150 either way. */
	xfer_fail(s, code, text);
}

void ftp_data_reset(struct ftp_session *s)
{
	bool received = false;
	if (s->commit) {
		/* Runs on: a commit still renames the complete upload, a prefix copy
		 * only writes into the temp file that xfer_free unlinks. */
		received = !s->commit->prefix;
		s->commit->s = NULL;
		s->commit = NULL;
	}
	if (s->xfer) {
		/* A received upload whose rename is under way counts as complete
		 * (commit_done logs it should the rename fail). */
		log_transfer(s, s->xfer, received);
		xfer_free(s, s->xfer);
		s->xfer = NULL;
	}
	data_setup_close(s, false);
}

bool ftp_data_drop_unstarted(struct ftp_session *s)
{
	if (!s->xfer || s->xfer->started || s->commit)
		return false;
	xfer_end(s, false, 425, "Cannot open data connection: none arrived");
	return true;
}

void ftp_data_free(struct ftp_session *s)
{
	if (s->commit)
		s->commit->s = NULL; /* the upload completed: the job still renames it */
	s->commit = NULL;
	if (s->accept_timer)
		event_free(s->accept_timer);
	s->accept_timer = NULL;
}

void ftp_data_status(struct ftp_session *s, char *buf, size_t len)
{
	struct ftp_transfer *x = s->xfer;
	buf[0] = '\0';
	if (!x)
		return;
	uint64_t bytes = x->bytes;
	if (x->kind == XFER_RETR && s->data) {
		size_t pending = conn_output_pending(s->data);
		bytes = pending < bytes ? bytes - pending : 0;
	}
	snprintf(buf, len, "Transfer in progress: %s %s, %llu bytes", ftp_cmd_info(x->verb)->name,
	         x->path.path, (unsigned long long)bytes);
}

/* ---- uploads: commit on the workq ------------------------------------------ */

/* STOU's candidate names: STEM, then STEM.SEQ. */
static int stou_name(char *out, size_t size, const char *stem, unsigned seq)
{
	int n = seq ? snprintf(out, size, "%s.%u", stem, seq) : snprintf(out, size, "%s", stem);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

static void commit_run(void *arg)
{
	struct ftp_commit *cm = arg;
	unsigned flags = cm->durable ? FSROOT_COMMIT_DURABLE : 0;
	if (!cm->unique) {
		cm->rc = fsroot_temp_commit(&cm->tmp, flags);
		return;
	}
	/* STOU: a file of the chosen name may have appeared since STOR looked;
	 * RENAME_NOREPLACE never replaces it, the next free name is taken. */
	for (unsigned i = 0; i < STOU_ATTEMPTS; i++) {
		cm->rc = fsroot_temp_commit(&cm->tmp, flags | FSROOT_COMMIT_NOREPLACE);
		if (cm->rc != -EEXIST)
			return;
		cm->seq++;
		int rc = stou_name(cm->tmp.target, sizeof(cm->tmp.target), cm->stem, cm->seq);
		if (rc < 0) {
			cm->rc = rc;
			break;
		}
	}
	fsroot_temp_abort(&cm->tmp);
}

/* The path X's upload ended up at: STOU's may have changed its last component. */
static void stou_rename_path(struct ftp_transfer *x, const char *name)
{
	size_t bl, dl, nl = strlen(name);
	ftp_vpath_base(&x->path, &bl, &dl);
	if (dl + nl + 1 >= sizeof(x->path.path))
		return;
	if (dl > 0 && x->path.path[dl - 1] != '/')
		x->path.path[dl++] = '/';
	memcpy(x->path.path + dl, name, nl + 1);
	x->path.len = dl + nl;
}

static void commit_done(void *arg)
{
	struct ftp_commit *cm = arg;
	struct ftp_session *s = cm->s;
	int rc = cm->rc;
	unsigned cm_seq = cm->seq;
	char cm_target[sizeof(cm->tmp.target)];
	memcpy(cm_target, cm->tmp.target, sizeof(cm_target));
	if (!s && rc < 0) {
		char name[sizeof(cm->tmp.target) * 4 + 8];
		log_escape(name, sizeof(name), cm->tmp.target, strlen(cm->tmp.target));
		log_warn("upload \"%s\" received, but not renamed into place: %s", name,
		         strerror(-rc));
	}
	free(cm);
	if (!s)
		return;
	s->commit = NULL;
	if (rc == 0 && s->xfer && s->xfer->stou_seq != cm_seq) {
		stou_rename_path(s->xfer, cm_target);
		char msg[sizeof(s->xfer->path.path) + 64];
		snprintf(msg, sizeof(msg), "Transfer complete; FILE: %s (the first name was taken)",
		         s->xfer->path.path);
		xfer_end(s, true, 226, msg);
	} else if (rc == 0) {
		xfer_end(s, true, 226, "Transfer complete");
	} else {
		const char *text;
		int code = ftp_reply_errno(rc, &text);
		xfer_end(s, false, code, text);
	}
	ftp_resume(s);
}

/* Writeback of a durable upload, started while it is still arriving so that
 * the final fsync finds little left to write. */
struct ftp_writeback {
	int fd; /* a dup of the temp file's */
	uint64_t off, len;
};

static void writeback_run(void *arg)
{
	struct ftp_writeback *wb = arg;
	/* Only a hint: failure shows at fsync. */
	sync_file_range(wb->fd, (off64_t)wb->off, (off64_t)wb->len, SYNC_FILE_RANGE_WRITE);
	close(wb->fd);
}

static void writeback_done(void *arg)
{
	free(arg);
}

/* Starts writing out what a durable upload wrote since the last time, every
 * UPLOAD_WRITEBACK bytes. */
static void upload_writeback(struct ftp_session *s, struct ftp_transfer *x)
{
	uint64_t end = x->kept + x->bytes;
	if (!s->cf->sync_uploads || end - x->flushed < UPLOAD_WRITEBACK)
		return;
	struct ftp_writeback *wb = malloc(sizeof(*wb));
	int fd = wb ? fcntl(x->tmp.fd, F_DUPFD_CLOEXEC, 0) : -1;
	if (fd < 0) {
		free(wb);
		return;
	}
	*wb = (struct ftp_writeback){fd, x->flushed, end - x->flushed};
	x->flushed = end;
	if (workq_submit(s->c->base, writeback_run, writeback_done, wb) < 0) {
		close(fd);
		free(wb);
	}
}

static int copy_prefix(int src, int dst, uint64_t len);
static void xfer_go(struct ftp_session *s, struct ftp_transfer *x);

static void prefix_run(void *arg)
{
	struct ftp_commit *cm = arg;
	cm->rc = copy_prefix(cm->src, cm->dst, cm->len);
	if (cm->rc == 0 && lseek(cm->dst, 0, SEEK_END) < 0)
		cm->rc = -errno;
	close(cm->src);
	close(cm->dst);
}

static void prefix_done(void *arg)
{
	struct ftp_commit *cm = arg;
	struct ftp_session *s = cm->s;
	int rc = cm->rc;
	free(cm);
	if (!s)
		return;
	s->commit = NULL;
	if (rc < 0) {
		xfer_fail_errno(s, rc);
		return;
	}
	xfer_go(s, s->xfer);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void upload_complete(struct ftp_session *s)
{
	struct ftp_transfer *x = s->xfer;
	char cr[1];
	size_t n = x->ascii ? ftp_ascii_to_lf_end(&x->conv, cr) : 0;
	int rc = n ? write_all(x->tmp.fd, cr, n) : 0;
	if (rc < 0) {
		xfer_fail_errno(s, rc);
		return;
	}
	struct ftp_commit *cm = calloc(1, sizeof(*cm));
	if (!cm) {
		xfer_fail(s, 451, "Local error: out of memory");
		return;
	}
	cm->s = s;
	cm->tmp = x->tmp;
	cm->durable = s->cf->sync_uploads;
	cm->unique = x->verb == FTP_VERB_STOU;
	cm->seq = x->stou_seq;
	memcpy(cm->stem, x->stou_stem, sizeof(cm->stem));
	x->have_tmp = false;
	x->committing = true;
	s->commit = cm;
	/*
	 * fsync blocks, and so may a rename over an existing file (ext4 starts
	 * writing the new file out first, auto_da_alloc, and the old inode is
	 * freed): off the loop when the pool takes it. A rename to a new name
	 * alone costs less than the round trip through the pool (two thread
	 * wake-ups), which small uploads (sync_uploads off) would wait for.
	 */
	if (!cm->durable && x->fresh && !cm->unique) {
		commit_run(cm);
		commit_done(cm);
	} else if (workq_submit(s->c->base, commit_run, commit_done, cm) < 0) {
		commit_run(cm);
		commit_done(cm);
	}
}

/* Writes all of IN (binary: no conversion) into FD straight from its chains
 * (writev), without a copy through a buffer of ours. */
static int write_evbuffer(int fd, struct evbuffer *in)
{
	while (evbuffer_get_length(in) > 0) {
		int w = evbuffer_write_atmost(in, fd, -1);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
	}
	return 0;
}

/* Moves what the data connection delivered into the temp file. */
static void upload_read(struct ftp_session *s, struct conn *d)
{
	struct ftp_transfer *x = s->xfer;
	struct evbuffer *in = conn_input(d);
	size_t len;
	if (!x->ascii) {
		if ((len = evbuffer_get_length(in)) == 0)
			return;
		d->bytes_in += len;
		/* The limit is on the file left behind, old bytes included. */
		if (x->limit && x->kept + x->bytes + len > x->limit) {
			xfer_fail(s, 552, "Exceeded storage allocation (max_upload_size)");
			return;
		}
		int rc = write_evbuffer(x->tmp.fd, in);
		if (rc < 0) {
			xfer_fail_errno(s, rc);
			return;
		}
		x->bytes += len;
		upload_writeback(s, x);
		return;
	}
	char buf[DATA_CHUNK], conv[DATA_CHUNK + 1];
	while ((len = evbuffer_get_length(in)) > 0) {
		int n = evbuffer_remove(in, buf, sizeof(buf));
		if (n <= 0)
			break;
		d->bytes_in += (uint64_t)n;
		size_t out = ftp_ascii_to_lf(&x->conv, buf, (size_t)n, conv);
		if (x->limit && x->kept + x->bytes + out > x->limit) {
			xfer_fail(s, 552, "Exceeded storage allocation (max_upload_size)");
			return;
		}
		int rc = write_all(x->tmp.fd, conv, out);
		if (rc < 0) {
			xfer_fail_errno(s, rc);
			return;
		}
		x->bytes += out;
	}
	upload_writeback(s, x);
}

/* ---- downloads and listings ----------------------------------------------- */

static void check_flushed(struct ftp_session *s)
{
	if (s->data && conn_output_pending(s->data) == 0) {
		xfer_end(s, true, 226, "Transfer complete");
		ftp_resume(s);
	}
}

/* An NLST line: the prefix the client's argument gave, then NAME. */
static ssize_t nlst_line(struct ftp_transfer *x, char *out, size_t size, const char *name,
                         size_t nl)
{
	char full[sizeof(x->prefix) + TRIAD_NAME_MAX + 1];
	if (x->prefixlen + nl >= sizeof(full))
		return 0;
	memcpy(full, x->prefix, x->prefixlen);
	memcpy(full + x->prefixlen, name, nl);
	return ftp_nlst_line(out, size, full, x->prefixlen + nl);
}

/* The next listing line into OUT: its length, 0 at the end. */
static ssize_t list_next(struct ftp_session *s, struct ftp_transfer *x, char *out, size_t size)
{
	if (x->single) {
		if (x->single_done)
			return 0;
		x->single_done = true;
		size_t nl = strlen(x->name);
		switch (x->verb) {
		case FTP_VERB_NLST:
			/* The argument as given, as `ls path` prints it. */
			return x->prefixlen ? nlst_line(x, out, size, "", 0)
			                    : ftp_nlst_line(out, size, x->name, nl);
		case FTP_VERB_MLSD:
			return ftp_mlsd_line(out, size, x->name, nl, &x->st, FTP_ENTRY_PLAIN,
			                     &x->lo);
		default:
			return ftp_list_line(out, size, x->name, nl, &x->st, &x->lo);
		}
	}
	struct dirent *e;
	while (x->dir && (e = readdir(x->dir))) {
		const char *name = e->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || fsroot_is_temp_name(name))
			continue;
		if (x->pattern[0] && fnmatch(x->pattern, name, FNM_PERIOD) != 0)
			continue;
		size_t nl = strlen(name);
		char rel[TRIAD_PATH_MAX];
		if (x->dirlen + 1 + nl >= sizeof(rel))
			continue;
		size_t rl = 0;
		if (x->dirlen) {
			memcpy(rel, x->dirrel, x->dirlen);
			rel[x->dirlen] = '/';
			rl = x->dirlen + 1;
		}
		memcpy(rel + rl, name, nl + 1);
		rl += nl;
		struct stat st;
		/* A link is listed as what it leads to beneath the root; one leading
		 * nowhere there is listed as itself (list.h). */
		if (fsroot_stat(s->root, rel, rl, &st) < 0 &&
		    fsroot_lstat(s->root, rel, rl, &st) < 0)
			continue;
		ssize_t n;
		switch (x->verb) {
		case FTP_VERB_NLST:
			n = nlst_line(x, out, size, name, nl);
			break;
		case FTP_VERB_MLSD:
			n = ftp_mlsd_line(out, size, name, nl, &st, FTP_ENTRY_PLAIN, &x->lo);
			break;
		default:
			n = ftp_list_line(out, size, name, nl, &st, &x->lo);
			break;
		}
		if (n > 0)
			return n;
	}
	return 0;
}

/* Queues output until the connection is full or the source ends. */
static void fill(struct ftp_session *s)
{
	struct ftp_transfer *x = s->xfer;
	struct conn *d = s->data;
	static _Thread_local char buf[DATA_CHUNK], conv[2 * DATA_CHUNK];
	while (!x->flushing && !conn_output_full(d)) {
		if (x->kind == XFER_LIST) {
			ssize_t n = list_next(s, x, buf, FTP_LIST_LINE_MAX);
			if (n <= 0) {
				x->flushing = true;
				break;
			}
			conn_write(d, buf, (size_t)n);
			x->bytes += (uint64_t)n;
			continue;
		}
		size_t want = sizeof(buf);
		if (x->end - x->offset < want)
			want = (size_t)(x->end - x->offset);
		if (want == 0) {
			x->flushing = true;
			break;
		}
		ssize_t n = pread(x->fd, buf, want, (off_t)x->offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			xfer_fail_errno(s, errno);
			return;
		}
		if (n == 0) { /* the file shrank under us: send what there is */
			x->flushing = true;
			break;
		}
		x->offset += (uint64_t)n;
		if (x->ascii) {
			size_t out = ftp_ascii_to_crlf(&x->conv, buf, (size_t)n, conv);
			conn_write(d, conv, out);
			x->bytes += out;
		} else {
			conn_write(d, buf, (size_t)n);
			x->bytes += (uint64_t)n;
		}
	}
	if (x->flushing) {
		/* on_drain only at an empty output from now on: that is "sent". */
		bufferevent_setwatermark(d->bev, EV_WRITE, 0, 0);
		check_flushed(s);
	}
}

/* Bytes a transfer really moved: a download's queued bytes count once sent. */
static uint64_t xfer_moved(struct ftp_session *s, struct ftp_transfer *x)
{
	if (x->kind == XFER_STOR || !s->data)
		return x->bytes;
	size_t pending = conn_output_pending(s->data);
	return pending < x->bytes ? x->bytes - pending : 0;
}

/* data_min_rate: data_timeout is reset by every byte, so a client trickling
 * one byte per period would hold a transfer for ever; each period must also
 * move data_min_rate bytes per second (RFC 959 sets no rate; this bounds
 * what a stalled or hostile client holds). */
static void rate_check(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct ftp_session *s = arg;
	struct ftp_transfer *x = s->xfer;
	if (!x || x->committing)
		return;
	uint64_t moved = xfer_moved(s, x), need = s->cf->data_min_rate * s->cf->data_timeout / 1000;
	if (moved - x->rate_mark < need) {
		log_msg(LOG_LEVEL_INFO, s->c->id,
		        "transfer too slow: %llu bytes in %llu ms, data_min_rate %llu/s",
		        (unsigned long long)(moved - x->rate_mark),
		        (unsigned long long)s->cf->data_timeout,
		        (unsigned long long)s->cf->data_min_rate);
		xfer_fail(s, 426, "Transfer too slow (data_min_rate); transfer aborted");
		return;
	}
	x->rate_mark = moved;
}

static void rate_start(struct ftp_session *s, struct ftp_transfer *x)
{
	if (!s->cf->data_min_rate)
		return;
	uint64_t ms = s->cf->data_timeout;
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	x->rate_ev = event_new(s->c->base, -1, EV_PERSIST, rate_check, s);
	if (x->rate_ev)
		event_add(x->rate_ev, &tv);
}

static void stream_start(struct ftp_session *s)
{
	struct ftp_transfer *x = s->xfer;
	struct conn *d = s->data;
	x->streaming = true;
	x->tls = conn_is_tls(d);
	clock_gettime(CLOCK_MONOTONIC, &x->t0);
	rate_start(s, x);
	uint64_t t = s->cf->data_timeout;
	if (x->kind == XFER_STOR) {
		conn_set_timeouts(d, t, t);
		conn_set_read_max(d, UPLOAD_READ_MAX);
		conn_resume_read(d);
		upload_read(s, d);
		return;
	}
	conn_set_timeouts(d, 0, t); /* the client sends nothing while it receives */
	if (x->kind == XFER_RETR && !x->ascii && !conn_is_tls(d) && x->end > x->offset) {
		struct evbuffer_file_segment *seg = evbuffer_file_segment_new(
		    x->fd, (ev_off_t)x->offset, (ev_off_t)(x->end - x->offset),
		    EVBUF_FS_CLOSE_ON_FREE);
		if (seg) {
			x->fd = -1; /* the segment closes it */
			int rc = evbuffer_add_file_segment(conn_output(d), seg, 0,
			                                   (ev_off_t)(x->end - x->offset));
			evbuffer_file_segment_free(seg);
			if (rc < 0) {
				xfer_fail(s, 451, "Local error: cannot queue the file");
				return;
			}
			d->bytes_out += x->end - x->offset;
			x->bytes = x->end - x->offset;
			x->offset = x->end;
			x->flushing = true;
		}
	}
	fill(s);
}

/* The data connection is there (and its TLS handshake done, if any). */
static void data_ready(struct ftp_session *s)
{
	struct ftp_transfer *x = s->xfer;
	struct conn *d = s->data;
	accept_timer_stop(s);
	if (!x->started) {
		x->started = true;
		switch (x->kind) {
		case XFER_RETR:
			ftp_reply(s, 150, "Opening %s mode data connection for %s (%llu bytes)",
			          x->ascii ? "ASCII" : "BINARY", x->path.path,
			          (unsigned long long)(x->end - x->offset));
			break;
		case XFER_STOR:
			if (x->verb == FTP_VERB_STOU)
				ftp_reply(s, 150, "FILE: %s", x->path.path); /* RFC 1123 §4.1.2.9 */
			else
				ftp_reply(s, 150, "Ok to send data");
			break;
		case XFER_LIST:
			ftp_reply(s, 150, "Here comes the directory listing");
			break;
		}
	}
	if (conn_is_tls(d)) {
		if (!s->data_tls_done)
			return; /* data_tls continues */
		if (!s->data_tls_ok) {
			xfer_fail(s, 522,
			          "Data connections must resume the TLS session of the control "
			          "connection");
			return;
		}
	}
	stream_start(s);
}

/* ---- the data conn's callbacks --------------------------------------------- */

static void data_read(struct conn *d)
{
	struct ftp_session *s = d->proto;
	if (!s)
		return;
	struct ftp_transfer *x = s->xfer;
	if (x && x->streaming && x->kind == XFER_STOR) {
		upload_read(s, d);
		return;
	}
	if (x && x->streaming) /* a client talking while it receives: ignored */
		evbuffer_drain(conn_input(d), evbuffer_get_length(conn_input(d)));
	/* otherwise: kept until a STOR streams it (backpressure holds the rest) */
}

static void data_drain(struct conn *d)
{
	struct ftp_session *s = d->proto;
	if (!s || !s->xfer || !s->xfer->streaming || s->xfer->kind == XFER_STOR)
		return;
	if (s->xfer->flushing)
		check_flushed(s);
	else
		fill(s);
}

static void data_timeout(struct conn *d, bool writing)
{
	(void)writing;
	struct ftp_session *s = d->proto;
	if (!s) {
		conn_abort(d);
		return;
	}
	if (s->xfer && !s->xfer->committing) {
		xfer_fail(s, 426, "Data connection timed out; transfer aborted");
		return;
	}
	/* an unused data connection went idle */
	d->proto = NULL;
	if (s->data == d)
		s->data = NULL;
	conn_abort(d);
}

static void data_eof(struct conn *d, bool error)
{
	struct ftp_session *s = d->proto;
	if (!s)
		return;
	struct ftp_transfer *x = s->xfer;
	if (x && x->streaming && x->kind == XFER_STOR && !x->committing) {
		upload_read(s, d);
		if (s->xfer != x)
			return; /* failed while writing */
		d->proto = NULL;
		s->data = NULL;
		if (error) {
			/* A reset, or TLS without close_notify: maybe truncated. */
			xfer_fail(s, 426, "Connection closed; transfer aborted");
			return;
		}
		upload_complete(s);
		return;
	}
	d->proto = NULL;
	s->data = NULL;
	if (x && x->started && !x->committing)
		xfer_fail(s, 426, "Connection closed; transfer aborted");
}

static void data_tls(struct conn *d, bool ok)
{
	struct ftp_session *s = d->proto;
	if (!s)
		return;
	bool resumed = conn_tls_resumed(d);
	s->data_tls_done = true;
	s->data_tls_ok = ok && (resumed || !s->cf->tls_session_reuse);
	if (!ok)
		log_msg(LOG_LEVEL_INFO, s->c->id, "data connection TLS handshake failed");
	else if (!s->data_tls_ok)
		log_msg(LOG_LEVEL_INFO, s->c->id,
		        "data connection refused: TLS session not resumed");
	if (!ok) {
		/* The conn is freed right after this callback. */
		d->proto = NULL;
		s->data = NULL;
		if (s->xfer && s->xfer->started)
			xfer_fail(s, 425, "TLS handshake on the data connection failed");
		return;
	}
	if (s->xfer && s->xfer->started)
		data_ready(s);
}

static void data_shutdown(struct conn *d)
{
	(void)d; /* the control connection decides (it finishes the transfer) */
}

static void data_free(struct conn *d)
{
	struct ftp_session *s = d->proto;
	if (s && s->data == d)
		s->data = NULL;
	d->proto = NULL;
}

static const struct conn_ops data_ops = {
    .on_read = data_read,
    .on_drain = data_drain,
    .on_timeout = data_timeout,
    .on_eof = data_eof,
    .on_tls = data_tls,
    .on_shutdown = data_shutdown,
    .on_free = data_free,
};

static void data_attach(struct ftp_session *s, int fd, const struct sockaddr *peer, socklen_t len)
{
	SSL_CTX *ctx = s->prot_p ? s->tls_ctx : NULL;
	struct conn *d = conn_new(s->c->worker, fd, peer, len, ctx, false);
	if (!d) {
		if (s->xfer)
			xfer_fail(s, 425, "Cannot open data connection");
		return;
	}
	/* It resumes the control session: a ticket here is never used, and one the
	 * client leaves unread makes its close a reset that can cut an upload. */
	conn_tls_set_tickets(d, 0);
	if (s->data) { /* a second one replaces the first */
		s->data->proto = NULL;
		conn_abort(s->data);
	}
	d->proto = s;
	d->ops = &data_ops;
	s->data = d;
	s->data_tls_done = s->data_tls_ok = false;
	conn_set_timeouts(d, s->cf->data_timeout, s->cf->data_timeout);
	if (s->xfer && !s->commit) /* not while the old content is still being copied */
		data_ready(s);
}

/* ---- passive mode ---------------------------------------------------------------- */

static void pasv_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                        int salen, void *arg)
{
	(void)l;
	struct ftp_session *s = arg;
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, sa, (size_t)salen < sizeof(ss) ? (size_t)salen : sizeof(ss));
	struct sockaddr_storage peer = conn_addr_storage(&s->c->peer);
	if (!same_ip(&ss, &peer)) {
		char ip[INET6_ADDRSTRLEN] = "?";
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof(ip));
		else if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip,
			          sizeof(ip));
		log_msg(LOG_LEVEL_WARN, s->c->id,
		        "data connection from %s refused: not the control peer %s (port theft)", ip,
		        s->c->peer_ip);
		close(fd);
		return;
	}
	evconnlistener_free(s->pasv);
	s->pasv = NULL;
	data_attach(s, fd, sa, (socklen_t)salen);
}

static void accept_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct ftp_session *s = arg;
	if (s->xfer && !s->data)
		xfer_fail(s, 425, "Cannot open data connection: none arrived in time");
}

/* Opens the passive listener; returns its port or -errno. */
static int open_passive(struct ftp_session *s)
{
	data_setup_close(s, false);
	unsigned low = s->cf->passive_ports.low, high = s->cf->passive_ports.high;
	if (low == 0 || high < low)
		return -EINVAL;
	unsigned span = high - low + 1, start = 0;
	if (getrandom(&start, sizeof(start), 0) < 0)
		start = (unsigned)s->c->id;
	struct sockaddr_storage ss = conn_addr_storage(&s->c->local);
	for (unsigned i = 0; i < span; i++) {
		uint16_t port = (uint16_t)(low + (start + i) % span);
		int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		int one = 1;
		/* Data connections we closed leave TIME_WAIT on these ports. */
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		sa_set_port(&ss, port);
		if (bind(fd, (struct sockaddr *)&ss, s->c->local_len) < 0 || listen(fd, 4) < 0) {
			int e = errno;
			close(fd);
			if (e == EADDRINUSE)
				continue;
			return -e;
		}
		/* Backlog 0: listening already (libevent would listen() again). */
		s->pasv = evconnlistener_new(s->c->base, pasv_accept, s,
		                             LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
		if (!s->pasv) {
			close(fd);
			return -ENOMEM;
		}
		s->dmode = FTP_DATA_PASV;
		return port;
	}
	return -EADDRINUSE;
}

void ftp_cmd_pasv(struct ftp_session *s, struct ftp_command *cmd)
{
	(void)cmd;
	if (s->epsv_all) {
		ftp_reply(s, 503, "EPSV ALL in effect: use EPSV");
		return;
	}
	const char *addr = s->cf->passive_address;
	if ((!addr || !*addr) && !local_is_v4(s)) {
		ftp_reply(s, 425, "PASV is IPv4 only: use EPSV");
		return;
	}
	if (!addr || !*addr)
		addr = s->c->local_ip;
	struct in_addr a;
	if (inet_pton(AF_INET, addr, &a) != 1) {
		ftp_reply(s, 425, "Cannot announce a passive address");
		return;
	}
	int port = open_passive(s);
	if (port < 0) {
		log_msg(LOG_LEVEL_WARN, s->c->id, "PASV: no passive port free: %s",
		        strerror(-port));
		ftp_reply(s, 425, "Cannot open passive connection");
		return;
	}
	const unsigned char *b = (const unsigned char *)&a;
	log_msg(LOG_LEVEL_INFO, s->c->id, "PASV announced %s port %d", addr, port);
	ftp_reply(s, 227, "Entering Passive Mode (%u,%u,%u,%u,%d,%d).", b[0], b[1], b[2], b[3],
	          port >> 8, port & 0xff);
}

void ftp_cmd_epsv(struct ftp_session *s, struct ftp_command *cmd)
{
	enum ftp_epsv e;
	int rc = ftp_parse_epsv(cmd->arg, cmd->arglen, &e);
	if (rc) {
		ftp_reply(s, rc, "%s",
		          rc == 522 ? "Network protocol not supported, use (1,2)"
		                    : "Syntax: EPSV [1|2|ALL]");
		return;
	}
	if (e == FTP_EPSV_ALL) {
		s->epsv_all = true;
		ftp_reply(s, 200, "EPSV ALL ok");
		return;
	}
	bool v4 = local_is_v4(s);
	if ((e == FTP_EPSV_V4 && !v4) || (e == FTP_EPSV_V6 && v4)) {
		ftp_reply(s, 522, "Network protocol not supported, use (%d)", v4 ? 1 : 2);
		return;
	}
	int port = open_passive(s);
	if (port < 0) {
		ftp_reply(s, 425, "Cannot open passive connection");
		return;
	}
	log_msg(LOG_LEVEL_INFO, s->c->id, "EPSV announced port %d", port);
	ftp_reply(s, 229, "Entering Extended Passive Mode (|||%d|)", port);
}

/* ---- active mode ------------------------------------------------------------------ */

static void set_port_target(struct ftp_session *s, const struct sockaddr_storage *ss, socklen_t len)
{
	if (s->epsv_all) {
		ftp_reply(s, 503, "EPSV ALL in effect: use EPSV");
		return;
	}
	/* RFC 2577 §3: a server must not be a bounce to third hosts or
	 * privileged ports. */
	struct sockaddr_storage peer = conn_addr_storage(&s->c->peer);
	if (!same_ip(ss, &peer) || sa_port(ss) < 1024) {
		log_msg(LOG_LEVEL_WARN, s->c->id,
		        "active data target refused (bounce): not %s or port %u < 1024",
		        s->c->peer_ip, sa_port(ss));
		ftp_reply(s, 504,
		          "Data connections go only to your own address and a port >= 1024");
		return;
	}
	data_setup_close(s, false);
	s->port_addr = *ss;
	s->port_len = len;
	s->dmode = FTP_DATA_PORT;
	ftp_reply(s, 200, "PORT command successful");
}

void ftp_cmd_port(struct ftp_session *s, struct ftp_command *cmd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int rc = ftp_parse_port(cmd->arg, cmd->arglen, &ss, &len);
	if (rc) {
		ftp_reply(s, rc, "Syntax: PORT h1,h2,h3,h4,p1,p2");
		return;
	}
	set_port_target(s, &ss, len);
}

void ftp_cmd_eprt(struct ftp_session *s, struct ftp_command *cmd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int rc = ftp_parse_eprt(cmd->arg, cmd->arglen, &ss, &len);
	if (rc) {
		ftp_reply(s, rc, "%s",
		          rc == 522 ? "Network protocol not supported, use (1,2)"
		                    : "Syntax: EPRT |af|address|port|");
		return;
	}
	set_port_target(s, &ss, len);
}

static void connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ftp_session *s = arg;
	event_free(s->connect_ev);
	s->connect_ev = NULL;
	s->connect_fd = -1;
	int err = 0;
	socklen_t el = sizeof(err);
	if (what & EV_TIMEOUT)
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		err = errno;
	if (err) {
		close(fd);
		log_msg(LOG_LEVEL_INFO, s->c->id, "PORT connect failed: %s", strerror(err));
		xfer_fail(s, 425, "Cannot open data connection");
		return;
	}
	data_attach(s, fd, (struct sockaddr *)&s->port_addr, s->port_len);
}

static void start_connect(struct ftp_session *s)
{
	int fd = socket(s->port_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		xfer_fail(s, 425, "Cannot open data connection");
		return;
	}
	/* From the address the client talks to, as it expects. */
	if (s->c->local.sa.sa_family == s->port_addr.ss_family) {
		struct sockaddr_storage src = conn_addr_storage(&s->c->local);
		sa_set_port(&src, 0);
		bind(fd, (struct sockaddr *)&src, s->c->local_len);
	}
	if (connect(fd, (struct sockaddr *)&s->port_addr, s->port_len) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		xfer_fail(s, 425, "Cannot open data connection");
		return;
	}
	s->connect_fd = fd;
	s->connect_ev = event_new(s->c->base, fd, EV_WRITE, connect_cb, s);
	uint64_t ms = s->cf->data_connect_timeout;
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	if (!s->connect_ev || event_add(s->connect_ev, &tv) < 0) {
		xfer_fail(s, 425, "Cannot open data connection");
		return;
	}
}

/* ---- transfer commands -------------------------------------------------------------- */

static struct ftp_transfer *xfer_new(struct ftp_session *s, enum xfer_kind kind,
                                     struct ftp_command *cmd)
{
	if (s->dmode == FTP_DATA_NONE && !s->data) {
		ftp_reply(s, 425, "Use PORT, PASV, EPRT or EPSV first");
		return NULL;
	}
	struct ftp_transfer *x = calloc(1, sizeof(*x));
	if (!x) {
		ftp_reply(s, 451, "Local error: out of memory");
		return NULL;
	}
	x->kind = kind;
	x->verb = cmd->verb;
	x->fd = -1;
	x->ascii = s->type == FTP_TYPE_ASCII && kind != XFER_LIST;
	return x;
}

/* Starts X: waits for, or makes, the data connection. */
static void xfer_go(struct ftp_session *s, struct ftp_transfer *x)
{
	s->xfer = x;
	s->rest = 0;
	if (s->data) {
		data_ready(s);
		return;
	}
	if (s->dmode == FTP_DATA_PORT) {
		start_connect(s);
		return;
	}
	if (!s->accept_timer)
		s->accept_timer = evtimer_new(s->c->base, accept_timeout, s);
	uint64_t ms = s->cf->data_connect_timeout;
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	if (!s->accept_timer || evtimer_add(s->accept_timer, &tv) < 0)
		xfer_fail(s, 425, "Cannot open data connection");
}

void ftp_cmd_retr(struct ftp_session *s, struct ftp_command *cmd)
{
	struct ftp_vpath vp;
	const char *rel;
	size_t rl;
	struct stat st;
	int rc = ftp_resolve(s, cmd->arg, cmd->arglen, &vp, &rel, &rl);
	int fd =
	    rc < 0 ? rc : fsroot_openat(s->root, rel, rl, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
	if (fd < 0) {
		s->rest = 0;
		ftp_reply_err(s, fd);
		return;
	}
	/* O_NONBLOCK: a FIFO must not block the loop at open. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		s->rest = 0;
		ftp_reply(s, 550, "Not a regular file");
		return;
	}
	if (s->rest > (uint64_t)st.st_size) {
		close(fd);
		s->rest = 0;
		ftp_reply(s, 554, "Restart position beyond the end of the file");
		return;
	}
	struct ftp_transfer *x = xfer_new(s, XFER_RETR, cmd);
	if (!x) {
		close(fd);
		return;
	}
	x->fd = fd;
	x->path = vp;
	x->offset = s->rest;
	x->end = (uint64_t)st.st_size;
	xfer_go(s, x);
}

/* Copies the first LEN bytes of SRC into DST (REST+STOR, APPE). */
static int copy_prefix(int src, int dst, uint64_t len)
{
	loff_t in = 0;
	while (len > 0) {
		ssize_t n = copy_file_range(src, &in, dst, NULL, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 &&
		    (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
			char buf[DATA_CHUNK];
			ssize_t r =
			    pread(src, buf, len < sizeof(buf) ? (size_t)len : sizeof(buf), in);
			if (r < 0)
				return -errno;
			if (r == 0)
				return -EIO;
			int rc = write_all(dst, buf, (size_t)r);
			if (rc < 0)
				return rc;
			n = r;
		} else if (n < 0) {
			return -errno;
		} else if (n == 0) {
			return -EIO; /* shrank meanwhile */
		}
		in += n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* STOU: NAME, NAME.1, NAME.2 ... the first that does not exist (the rename
 * at the end checks again, atomically: commit_run). */
static int unique_name(struct ftp_session *s, struct ftp_command *cmd, struct ftp_vpath *vp,
                       char base[TRIAD_NAME_MAX + 1], unsigned *seq)
{
	strcpy(base, "ftp");
	if (cmd->arglen > 0) {
		const char *slash = memrchr(cmd->arg, '/', cmd->arglen);
		const char *b = slash ? slash + 1 : cmd->arg;
		size_t bl = cmd->arglen - (size_t)(b - cmd->arg);
		if (bl > 0 && bl < TRIAD_NAME_MAX + 1 - 8 && !fsroot_is_temp_name(b)) {
			memcpy(base, b, bl);
			base[bl] = '\0';
		}
	}
	for (unsigned i = 0; i < STOU_ATTEMPTS; i++) {
		char name[TRIAD_NAME_MAX + 16];
		int n = stou_name(name, sizeof(name), base, i);
		if (n < 0)
			return n;
		const char *rel;
		size_t rl;
		struct stat st;
		int rc = ftp_resolve(s, name, (size_t)n, vp, &rel, &rl);
		if (rc < 0)
			return rc;
		rc = fsroot_lstat(s->root, rel, rl, &st);
		if (rc == -ENOENT) {
			*seq = i;
			return 0;
		}
		if (rc < 0)
			return rc;
	}
	return -EEXIST;
}

void ftp_cmd_stor(struct ftp_session *s, struct ftp_command *cmd)
{
	struct ftp_vpath vp;
	const char *rel = NULL;
	size_t rl = 0;
	struct stat st;
	uint64_t rest = cmd->verb == FTP_VERB_STOR ? s->rest : 0;
	char stem[TRIAD_NAME_MAX + 1] = "";
	unsigned seq = 0;
	s->rest = 0;
	int rc = cmd->verb == FTP_VERB_STOU
	             ? unique_name(s, cmd, &vp, stem, &seq)
	             : ftp_resolve_target(s, cmd->arg, cmd->arglen, &vp, &rel, &rl);
	if (rc == 0)
		rel = ftp_vpath_rel(&vp, &rl);
	if (rc == 0 && rl == 0)
		rc = -EISDIR;
	int exists = rc == 0 ? fsroot_lstat(s->root, rel, rl, &st) : -1;
	if (exists == 0 && S_ISDIR(st.st_mode))
		rc = -EISDIR;
	if (rc < 0) {
		ftp_reply_err(s, rc);
		return;
	}
	struct ftp_transfer *x = xfer_new(s, XFER_STOR, cmd);
	if (!x)
		return;
	memcpy(x->stou_stem, stem, sizeof(stem));
	x->stou_seq = seq;
	x->path = vp;
	x->fresh = exists == -ENOENT;
	x->limit = s->cf->max_upload_size;
	mode_t mode = 0666 & ~ftpd_conf_umask(s->cf);
	rc = fsroot_temp_create(s->root, rel, rl, mode, &x->tmp);
	if (rc < 0) {
		xfer_free(s, x);
		ftp_reply_err(s, rc);
		return;
	}
	x->have_tmp = true;
	fchmod(x->tmp.fd, mode); /* exactly what we promise, whatever the process umask */
	int src = -1;
	if (rest > 0 || cmd->verb == FTP_VERB_APPE) {
		/* The new content starts as (a prefix of) the old, built hidden too. */
		src = fsroot_openat(s->root, rel, rl, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
		if (src == -ENOENT && cmd->verb == FTP_VERB_APPE)
			rc = 0;
		else if (src < 0)
			rc = src;
		else if (fstat(src, &st) < 0)
			rc = -errno;
		else if (!S_ISREG(st.st_mode))
			rc = -EISDIR;
		else if (rest > (uint64_t)st.st_size)
			rc = -ERANGE;
		if (rc < 0) {
			if (src >= 0)
				close(src);
			xfer_free(s, x);
			if (rc == -ERANGE)
				ftp_reply(s, 554, "Restart position beyond the end of the file");
			else
				ftp_reply_err(s, rc);
			return;
		}
	}
	uint64_t len = cmd->verb == FTP_VERB_APPE ? (uint64_t)st.st_size : rest;
	x->kept = src >= 0 ? len : 0;
	x->flushed = x->kept;
	if (src < 0 || len == 0) {
		if (src >= 0)
			close(src);
		xfer_go(s, x);
		return;
	}
	/* Copying may take a while for a big file: off the loop, like the commit. */
	struct ftp_commit *cm = calloc(1, sizeof(*cm));
	int dst = cm ? dup(x->tmp.fd) : -1;
	if (dst < 0) {
		free(cm);
		close(src);
		xfer_free(s, x);
		ftp_reply(s, 451, "Local error: out of resources");
		return;
	}
	cm->s = s;
	cm->prefix = true;
	cm->src = src;
	cm->dst = dst;
	cm->len = len;
	s->xfer = x;
	s->commit = cm;
	if (workq_submit(s->c->base, prefix_run, prefix_done, cm) < 0) {
		prefix_run(cm);
		prefix_done(cm);
	}
}

/*
 * LIST/NLST of a path that does not exist whose last component has a
 * wildcard (* ? [): the pattern goes into PATTERN and VP becomes its
 * directory, which must exist. Only the last component is a pattern, as in
 * vsftpd. Returns 0, or -ENOENT when it is no pattern or has no directory.
 */
static int glob_parent(struct ftp_session *s, struct ftp_vpath *vp, char *pattern, const char **rel,
                       size_t *rl, struct stat *st)
{
	size_t bl, dl;
	const char *base = ftp_vpath_base(vp, &bl, &dl);
	if (bl == 0 || bl > TRIAD_NAME_MAX || strcspn(base, "*?[") >= bl)
		return -ENOENT;
	memcpy(pattern, base, bl);
	pattern[bl] = '\0';
	vp->len = dl;
	vp->path[dl] = '\0';
	*rel = ftp_vpath_rel(vp, rl);
	int rc = fsroot_stat(s->root, *rel, *rl, st);
	if (rc == 0 && !S_ISDIR(st->st_mode))
		rc = -ENOENT;
	if (rc < 0)
		pattern[0] = '\0';
	return rc;
}

/*
 * NLST names what it lists the way `ls ARG` prints it, so each name can be
 * given back to RETR (RFC 959 §4.1.3): a directory's entries bare, a file as
 * the argument was written, a pattern's matches after the argument's
 * directory part ("sub/a?.txt" -> "sub/ab.txt").
 */
static void nlst_prefix(struct ftp_transfer *x, const struct ftp_list_args *la, bool dir,
                        bool pattern)
{
	size_t n = la->pathlen;
	if (dir)
		return;
	if (pattern) {
		while (n > 0 && la->path[n - 1] != '/')
			n--;
	} else {
		while (n > 1 && la->path[n - 1] == '/')
			n--;
	}
	if (n >= sizeof(x->prefix))
		return;
	memcpy(x->prefix, la->path, n);
	x->prefixlen = n;
}

void ftp_cmd_list(struct ftp_session *s, struct ftp_command *cmd)
{
	struct ftp_list_args la = {0};
	if (cmd->verb == FTP_VERB_MLSD) {
		la.path = cmd->arg;
		la.pathlen = cmd->arglen;
	} else {
		ftp_parse_list_args(cmd->arg, cmd->arglen, &la);
	}
	struct ftp_vpath vp;
	const char *rel;
	size_t rl;
	struct stat st;
	bool is_link = false;
	char pattern[TRIAD_NAME_MAX + 1] = "";
	int rc = ftp_resolve(s, la.path, la.pathlen, &vp, &rel, &rl);
	if (rc == 0 && fsroot_stat(s->root, rel, rl, &st) < 0) {
		rc = fsroot_lstat(s->root, rel, rl, &st);
		is_link = rc == 0;
		if (rc == -ENOENT && cmd->verb != FTP_VERB_MLSD)
			rc = glob_parent(s, &vp, pattern, &rel, &rl, &st);
	}
	if (rc < 0) {
		ftp_reply_err(s, rc);
		return;
	}
	bool dir = (S_ISDIR(st.st_mode) && !is_link && !la.opt_d) || pattern[0];
	if (cmd->verb == FTP_VERB_MLSD && !dir) {
		ftp_reply(s, 501,
		          "MLSD needs a directory: use MLST for a file"); /* RFC 3659 §7.2.1 */
		return;
	}
	struct ftp_transfer *x = xfer_new(s, XFER_LIST, cmd);
	if (!x)
		return;
	x->path = vp;
	if (cmd->verb == FTP_VERB_NLST && la.pathlen > 0)
		nlst_prefix(x, &la, dir && !pattern[0], pattern[0] != '\0');
	memcpy(x->pattern, pattern, sizeof(pattern));
	if (dir) {
		x->dir = fsroot_opendir(s->root, rel, rl);
		if (!x->dir) {
			int e = errno;
			xfer_free(s, x);
			ftp_reply_err(s, e);
			return;
		}
		memcpy(x->dirrel, rel, rl);
		x->dirlen = rl;
		ftp_list_opts_for(s, &st, &x->lo);
	} else {
		size_t bl, dl;
		const char *base = ftp_vpath_base(&vp, &bl, &dl);
		if (bl == 0 || bl > TRIAD_NAME_MAX)
			base = ".", bl = 1;
		memcpy(x->name, base, bl);
		x->name[bl] = '\0';
		x->st = st;
		x->single = true;
		ftp_list_opts_for(s, NULL, &x->lo);
	}
	xfer_go(s, x);
}

void ftp_cmd_abor(struct ftp_session *s, struct ftp_command *cmd)
{
	(void)cmd;
	if (s->commit && s->commit->prefix) {
		/* The old content is still being copied into the hidden file: the
		 * job runs on into a file xfer_free() unlinks, as on REIN. */
		s->commit->s = NULL;
		s->commit = NULL;
	}
	if (s->commit) {
		/* The upload is complete and being renamed: its 226 comes first,
		 * then any command held behind it; this ABOR waits its turn. */
		if (s->held) {
			s->have_next = true;
			s->next_status = FTP_PARSE_OK;
		} else {
			s->held = true;
		}
		conn_pause_read(s->c);
		return;
	}
	if (s->xfer) {
		/* RFC 959 §4.1.3: 426 for the aborted command, the reply to a
		 * command sent before the ABOR, then 226 for ABOR. */
		xfer_end(s, false, 426, "Connection closed; transfer aborted");
		ftp_run_held(s);
		ftp_reply(s, 226, "ABOR successful");
		return;
	}
	bool had = s->data || s->pasv || s->dmode != FTP_DATA_NONE;
	data_setup_close(s, false);
	ftp_reply(s, had ? 226 : 225,
	          had ? "ABOR: data connection closed" : "No transfer to abort");
}
