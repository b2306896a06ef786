/*
 * retr: RETR (RFC 959 §4.1.3), from the REST offset (RFC 3659 §5): opens the
 * file beneath the root and hands it to the transfer engine (xfer.c), which
 * sends it. See xfer.h.
 */
#include "xfer.h"

#include <fcntl.h>
#include <unistd.h>

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
	struct ftp_transfer *x = ftp_xfer_new(s, FTP_XFER_RETR, cmd);
	if (!x) {
		close(fd);
		return;
	}
	x->fd = fd;
	x->path = vp;
	x->offset = s->rest;
	x->end = (uint64_t)st.st_size;
	ftp_xfer_go(s, x);
}
