/*
 * notify: see notify.h. Abstract socket names ("@...") are supported, as
 * systemd uses them for some services.
 */
#include "triad/notify.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int notify_fd = -1;

void notify_open(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || (path[0] != '/' && path[0] != '@'))
		return;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	if (len >= sizeof(sun.sun_path))
		return;
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&sun, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0) {
		close(fd);
		return;
	}
	notify_fd = fd;
	/* Children (the PAM helper) must not speak for us. */
	unsetenv("NOTIFY_SOCKET");
}

void notify_send(const char *state)
{
	if (notify_fd >= 0)
		(void)send(notify_fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT);
}

void notify_close(void)
{
	if (notify_fd >= 0)
		close(notify_fd);
	notify_fd = -1;
}
