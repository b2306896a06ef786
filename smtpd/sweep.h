/*
 * sweep: removes the partial files a killed smtpd left in the tmp/ of the
 * Maildirs it delivers to (a crash between creating the spool file and the
 * rename into new/), at start and then every SMTP_SWEEP_INTERVAL_S, on the
 * workq, never on a loop thread (ftpd's sweep.c does the same for uploads).
 *
 * Which files: tmp/ is shared with every other program delivering to the
 * Maildir, so a file is removed only when it is stale for sure:
 * - our name (smtp_maildir_name: "<sec>.M<usec>P<pid>Q<seq>.<hostname>")
 *   written by a process that no longer exists (another smtpd instance's
 *   file, or our own, is a delivery in progress);
 * - anything else untouched for SMTP_SWEEP_FOREIGN_AGE_S (36 hours: the
 *   Maildir convention's rule for tmp/, maildir(5)).
 */
#ifndef SMTPD_SWEEP_H
#define SMTPD_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct worker;

/*
 * Pure: whether NAME is a tmp/ name smtp_maildir_name() built for HOST (as
 * the configured hostname, unescaped); when it is, *PID is its writer.
 */
bool smtp_sweep_ours(const char *name, const char *host, long *pid);

/* Sweeps <ROOTFD>/<domain>/<mailbox>/tmp (no link followed); returns the
 * number of files removed. PID_GONE tells whether a writer has exited. */
unsigned smtp_sweep_maildirs(int rootfd, const char *host, time_t now,
                             bool (*pid_gone)(long pid));

/* server_ops worker_init / worker_fini: worker 0 runs the periodic sweep. */
void smtp_sweep_worker_init(struct worker *w);
void smtp_sweep_worker_fini(struct worker *w);

#endif
