/*
 * stou: STOU's names (RFC 959 §4.1.3, RFC 1123 §4.1.2.9). The stem is the
 * argument's last component, or "ftp"; then stem.1, stem.2 ... up to
 * FTP_STOU_ATTEMPTS names. The first free one is picked when STOU arrives, and
 * the rename at the end checks again, atomically (commit.c). See xfer.h.
 */
#include "xfer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* STOU's candidate names: STEM, then STEM.SEQ. */
int ftp_stou_name(char *out, size_t size, const char *stem, unsigned seq)
{
	int n = seq ? snprintf(out, size, "%s.%u", stem, seq) : snprintf(out, size, "%s", stem);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

/* STOU: NAME, NAME.1, NAME.2 ... the first that does not exist (the rename
 * at the end checks again, atomically: commit_run). */
int ftp_stou_pick(struct ftp_session *s, struct ftp_command *cmd, struct ftp_vpath *vp,
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
	for (unsigned i = 0; i < FTP_STOU_ATTEMPTS; i++) {
		char name[TRIAD_NAME_MAX + 16];
		int n = ftp_stou_name(name, sizeof(name), base, i);
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
