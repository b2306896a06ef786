/*
 * commit: the blocking file work of an upload, done on the workq while the
 * session waits (ftp_in_transfer): copying the old content into the temp
 * file before REST+STOR or APPE (prefix), starting writeback every few MiB
 * with sync_uploads, and the fsync + rename at the end (commit). Without
 * sync_uploads a rename to a new name is done on the loop. A job outlives
 * its session (cm->s is then NULL): a commit still renames the complete
 * upload, a prefix copy only writes into a file that is unlinked. Jobs
 * follow workq.h's lifetime rule (tracked by the worker, released at exit
 * when their done callback never ran).
 * See xfer.h.
 */
#include "xfer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reply.h"
#include "triad/fdio.h"
#include "triad/log.h"
#include "triad/workq.h"

/* ---- the commit: fsync + rename -------------------------------------------- */

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
	for (unsigned i = 0; i < FTP_STOU_ATTEMPTS; i++) {
		cm->rc = fsroot_temp_commit(&cm->tmp, flags | FSROOT_COMMIT_NOREPLACE);
		if (cm->rc != -EEXIST)
			return;
		cm->seq++;
		int rc = ftp_stou_name(cm->tmp.target, sizeof(cm->tmp.target), cm->stem, cm->seq);
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

/* workq.h: the done callback never ran (shutdown). The job itself did
 * (workq_stop runs what is queued); a session cut at shutdown_timeout may
 * still point here. */
static void commit_release(struct workq_job *j)
{
	struct ftp_commit *cm = (struct ftp_commit *)j;
	if (cm->s && cm->s->commit == cm)
		cm->s->commit = NULL;
	free(cm);
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
	workq_job_untrack(&cm->job);
	free(cm);
	if (!s)
		return;
	s->commit = NULL;
	if (rc == 0 && s->xfer && s->xfer->stou_seq != cm_seq) {
		stou_rename_path(s->xfer, cm_target);
		char msg[sizeof(s->xfer->path.path) + 64];
		snprintf(msg, sizeof(msg), "Transfer complete; FILE: %s (the first name was taken)",
		         s->xfer->path.path);
		ftp_xfer_end(s, true, 226, msg);
	} else if (rc == 0) {
		ftp_xfer_end(s, true, 226, "Transfer complete");
	} else {
		const char *text;
		int code = ftp_reply_errno(rc, &text);
		ftp_xfer_end(s, false, code, text);
	}
	ftp_resume(s);
}

void ftp_commit_upload(struct ftp_session *s, struct ftp_transfer *x)
{
	struct ftp_commit *cm = calloc(1, sizeof(*cm));
	if (!cm) {
		ftp_xfer_fail(s, 451, "Local error: out of memory");
		return;
	}
	workq_job_track(s->c->worker, &cm->job, commit_release);
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

/* ---- writeback ---------------------------------------------------------------- */

/* Writeback of a durable upload, started while it is still arriving so that
 * the final fsync finds little left to write. */
struct ftp_writeback {
	struct workq_job job; /* first: the worker's list (workq.h) */
	int fd;               /* a dup of the temp file's */
	uint64_t off, len;
};

static void writeback_release(struct workq_job *j)
{
	free(j);
}

static void writeback_run(void *arg)
{
	struct ftp_writeback *wb = arg;
	/* Only a hint: failure shows at fsync. */
	sync_file_range(wb->fd, (off64_t)wb->off, (off64_t)wb->len, SYNC_FILE_RANGE_WRITE);
	close(wb->fd);
}

static void writeback_done(void *arg)
{
	struct ftp_writeback *wb = arg;
	workq_job_untrack(&wb->job);
	free(wb);
}

/* Starts writing out what a durable upload wrote since the last time, every
 * FTP_UPLOAD_WRITEBACK bytes. */
void ftp_commit_writeback(struct ftp_session *s, struct ftp_transfer *x)
{
	uint64_t end = x->kept + x->bytes;
	if (!s->cf->sync_uploads || end - x->flushed < FTP_UPLOAD_WRITEBACK)
		return;
	struct ftp_writeback *wb = malloc(sizeof(*wb));
	int fd = wb ? fcntl(x->tmp.fd, F_DUPFD_CLOEXEC, 0) : -1;
	if (fd < 0) {
		free(wb);
		return;
	}
	*wb = (struct ftp_writeback){.fd = fd, .off = x->flushed, .len = end - x->flushed};
	x->flushed = end;
	workq_job_track(s->c->worker, &wb->job, writeback_release);
	if (workq_submit(s->c->base, writeback_run, writeback_done, wb) < 0) {
		close(fd);
		writeback_done(wb);
	}
}

/* ---- the prefix: REST+STOR, APPE ------------------------------------------------ */

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
			char buf[FTP_DATA_CHUNK];
			ssize_t r =
			    pread(src, buf, len < sizeof(buf) ? (size_t)len : sizeof(buf), in);
			if (r < 0)
				return -errno;
			if (r == 0)
				return -EIO;
			int rc = fdio_write_all(dst, buf, (size_t)r);
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
	workq_job_untrack(&cm->job);
	free(cm);
	if (!s)
		return;
	s->commit = NULL;
	if (rc < 0) {
		ftp_xfer_fail_errno(s, rc);
		return;
	}
	ftp_xfer_go(s, s->xfer);
}

void ftp_commit_prefix(struct ftp_session *s, struct ftp_transfer *x, int src, uint64_t len)
{
	/* Copying may take a while for a big file: off the loop, like the commit. */
	struct ftp_commit *cm = calloc(1, sizeof(*cm));
	int dst = cm ? dup(x->tmp.fd) : -1;
	if (dst < 0) {
		free(cm);
		close(src);
		ftp_xfer_free(s, x);
		ftp_reply(s, 451, "Local error: out of resources");
		return;
	}
	workq_job_track(s->c->worker, &cm->job, commit_release);
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
