/*
 * activation: systemd socket activation without libsystemd (sd_listen_fds(3)
 * semantics). systemd, or systemd-socket-activate, binds the listening
 * sockets and passes them as file descriptors 3 .. 3+LISTEN_FDS-1 with
 * LISTEN_PID set to our pid and, optionally, LISTEN_FDNAMES (colon-separated,
 * from FileDescriptorName=).
 */
#ifndef TRIAD_ACTIVATION_H
#define TRIAD_ACTIVATION_H

#include <stddef.h>
#include <sys/types.h>

#include "triad/limits.h"

#define ACTIVATION_FDS_START 3   /* SD_LISTEN_FDS_START */
#define ACTIVATION_NAME_MAX TRIAD_ACTIVATION_NAME_MAX /* triad/limits.h */

struct activation_fd {
	int fd;
	char name[ACTIVATION_NAME_MAX + 1]; /* "" when unnamed ("unknown" is also unnamed) */
};

/*
 * Pure: what the three variables say for process SELF. Returns the number of
 * descriptors (0: not for us or not set: LISTEN_PID missing or another pid,
 * LISTEN_FDS missing), filling at most MAX entries of OUT; -1 when they are
 * malformed (a count that is not a number or larger than MAX, a name too long).
 */
int activation_parse(const char *listen_pid, const char *listen_fds, const char *fdnames,
                     pid_t self, struct activation_fd *out, size_t max);

/*
 * The passed descriptors of this process, from the environment: as
 * activation_parse(), then each one checked to be a listening stream socket
 * and made close-on-exec. The variables are removed from the environment
 * (sd_listen_fds(unset_environment=1)): no helper process inherits them.
 * -1 with a message in ERR when anything is wrong.
 */
int activation_listen_fds(struct activation_fd *out, size_t max, char *err, size_t errlen);

#endif
