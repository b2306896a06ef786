/*
 * activation: sd_listen_fds(3) without libsystemd (see activation.h).
 */
#include "triad/activation.h"
#include "triad/strlit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A decimal number of at most 9 digits (no sign, no spaces); -1 otherwise. */
static long parse_count(const char *s)
{
	size_t n = strspn(s, "0123456789");
	if (n == 0 || n > 9 || s[n] != '\0')
		return -1;
	return strtol(s, NULL, 10);
}

int activation_parse(const char *listen_pid, const char *listen_fds, const char *fdnames,
                     pid_t self, struct activation_fd *out, size_t max)
{
	if (!listen_pid || !listen_fds)
		return 0;
	long pid = parse_count(listen_pid);
	if (pid < 0)
		return -1;
	if ((pid_t)pid != self)
		return 0; /* meant for another process (the one that exec'd us kept them) */
	long n = parse_count(listen_fds);
	if (n < 0 || (size_t)n > max)
		return -1;
	const char *p = fdnames;
	for (long i = 0; i < n; i++) {
		out[i].fd = ACTIVATION_FDS_START + (int)i;
		out[i].name[0] = '\0';
		if (!p)
			continue;
		size_t len = strcspn(p, ":");
		if (len > ACTIVATION_NAME_MAX)
			return -1;
		/* systemd names an unnamed socket "unknown" (sd_listen_fds_with_names). */
		if (!(len == 7 && memcmp(p, STRLIT("unknown")) == 0)) {
			memcpy(out[i].name, p, len);
			out[i].name[len] = '\0';
		}
		p = p[len] == ':' ? p + len + 1 : NULL;
	}
	return (int)n;
}

int activation_listen_fds(struct activation_fd *out, size_t max, char *err, size_t errlen)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int n = activation_parse(pid, fds, getenv("LISTEN_FDNAMES"), getpid(), out, max);
	if (n < 0)
		snprintf(err, errlen,
		         "socket activation: malformed LISTEN_PID=%s LISTEN_FDS=%s (at most %zu "
		         "sockets)",
		         pid, fds, max);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	for (int i = 0; i < n; i++) {
		int fd = out[i].fd, type = 0, listening = 0;
		socklen_t len = sizeof(type);
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM ||
		    (len = sizeof(listening),
		     getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0) ||
		    !listening) {
			snprintf(err, errlen,
			         "socket activation: descriptor %d%s%s is not a listening stream socket",
			         fd, out[i].name[0] ? " named " : "", out[i].name);
			return -1;
		}
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	return n;
}
