/*
 * notify: the systemd readiness protocol (sd_notify(3)) without libsystemd.
 * When NOTIFY_SOCKET is set, notify_open() connects a datagram socket to it
 * (before the privilege drop, so the socket's permissions never matter) and
 * notify_send() passes "READY=1", "RELOADING=1", "STOPPING=1" or "STATUS=..."
 * lines. Without NOTIFY_SOCKET both are no-ops, so Type=simple works too.
 */
#ifndef TRIAD_NOTIFY_H
#define TRIAD_NOTIFY_H

void notify_open(void);
void notify_send(const char *state);
void notify_close(void);

#endif
