/*
 * upload: STOR, APPE, STOU and REST+STOR (RFC 959 §4.1.3, RFC 3659 §5).
 * Each writes a hidden fsroot temp file in the target's directory (binary:
 * straight from the conn's input, conn_in_to_fd; TYPE A converted), which starts as the
 * old content when the upload resumes or appends (copied on the workq,
 * commit.c), is bounded by max_upload_size, and is renamed over the target
 * only once the client closed the data connection cleanly (commit.c).
 * See xfer.h.
 */
#include "xfer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "triad/fdio.h"

void ftp_upload_complete(struct ftp_session *s)
{
	struct ftp_transfer *x = s->xfer;
	char cr[1];
	size_t n = x->ascii ? ftp_ascii_to_lf_end(&x->conv, cr) : 0;
	int rc = n ? fdio_write_all(x->tmp.fd, cr, n) : 0;
	if (rc < 0) {
		ftp_xfer_fail_errno(s, rc);
		return;
	}
	ftp_commit_upload(s, x);
}

/* Moves what the data connection delivered into the temp file. */
void ftp_upload_read(struct ftp_session *s, struct conn *d)
{
	struct ftp_transfer *x = s->xfer;
	size_t len;
	if (!x->ascii) {
		if ((len = conn_in_len(d)) == 0)
			return;
		d->bytes_in += len;
		/* The limit is on the file left behind, old bytes included. */
		if (x->limit && x->kept + x->bytes + len > x->limit) {
			ftp_xfer_fail(s, 552, "Exceeded storage allocation (max_upload_size)");
			return;
		}
		/* Binary: no conversion, written from the input's own memory (writev). */
		ssize_t rc = conn_in_to_fd(d, x->tmp.fd, len);
		if (rc < 0) {
			ftp_xfer_fail_errno(s, (int)rc);
			return;
		}
		x->bytes += len;
		ftp_commit_writeback(s, x);
		return;
	}
	char buf[FTP_DATA_CHUNK], conv[FTP_DATA_CHUNK + 1];
	size_t n;
	while ((n = conn_in_read(d, buf, sizeof(buf))) > 0) {
		d->bytes_in += n;
		size_t out = ftp_ascii_to_lf(&x->conv, buf, n, conv);
		if (x->limit && x->kept + x->bytes + out > x->limit) {
			ftp_xfer_fail(s, 552, "Exceeded storage allocation (max_upload_size)");
			return;
		}
		int rc = fdio_write_all(x->tmp.fd, conv, out);
		if (rc < 0) {
			ftp_xfer_fail_errno(s, rc);
			return;
		}
		x->bytes += out;
	}
	ftp_commit_writeback(s, x);
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
	             ? ftp_stou_pick(s, cmd, &vp, stem, &seq)
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
	struct ftp_transfer *x = ftp_xfer_new(s, FTP_XFER_STOR, cmd);
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
		ftp_xfer_free(s, x);
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
			ftp_xfer_free(s, x);
			if (rc == -ERANGE)
				ftp_reply(s, 554, "Restart position beyond the end of the file");
			else
				ftp_reply_err(s, rc);
			return;
		}
	}
	/* Without a source (APPE creating the file) there is no old content:
	 * ST is then not the source's and must not be read. */
	uint64_t len = src < 0 ? 0 : cmd->verb == FTP_VERB_APPE ? (uint64_t)st.st_size : rest;
	x->kept = len;
	x->flushed = x->kept;
	if (src < 0 || len == 0) {
		if (src >= 0)
			close(src);
		ftp_xfer_go(s, x);
		return;
	}
	ftp_commit_prefix(s, x, src, len);
}
