/*
 * sweep: removes the hidden temporary files (FSROOT_TEMP_PREFIX) that uploads
 * left behind when the daemon was killed in the middle of them: at start and
 * then every hour, on the workq (a tree walk blocks), never on
 * a loop thread.
 */
#ifndef FTPD_SWEEP_H
#define FTPD_SWEEP_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct worker;

/*
 * Walks the tree beneath the directory ROOTFD (never following a symbolic
 * link, at most 64 levels deep) and unlinks every regular file
 * whose name starts with FSROOT_TEMP_PREFIX, that UID owns, and that was last
 * modified at least MAX_AGE seconds before NOW: an upload in progress writes
 * to its file, one stalled that long was ended by data_timeout. Returns how
 * many it removed.
 */
unsigned ftp_sweep_tree(int rootfd, time_t now, time_t max_age, uid_t uid);

/* server_ops worker_init / worker_fini: worker 0 runs the periodic sweep. */
void ftp_sweep_worker_init(struct worker *w);
void ftp_sweep_worker_fini(struct worker *w);

#endif
