/*
 * glob: LIST and NLST take a wildcard (fnmatch: * ? [) in the last component
 * of a path that does not exist, as vsftpd does; names beginning with a dot
 * match only a pattern that says so (FNM_PERIOD). See xfer.h.
 */
#include "xfer.h"

#include <errno.h>
#include <fnmatch.h>
#include <string.h>

/*
 * LIST/NLST of a path that does not exist whose last component has a
 * wildcard (* ? [): the pattern goes into PATTERN and VP becomes its
 * directory, which must exist. Only the last component is a pattern, as in
 * vsftpd. Returns 0, or -ENOENT when it is no pattern or has no directory.
 */
int ftp_glob_parent(struct ftp_session *s, struct ftp_vpath *vp, char *pattern, const char **rel,
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

bool ftp_glob_match(const char *pattern, const char *name)
{
	return !pattern[0] || fnmatch(pattern, name, FNM_PERIOD) == 0;
}
