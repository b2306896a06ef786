/*
 * proxy_wait: the PROXY header read of the accept path (see proxy_wait.h).
 * Everything here runs on the worker that accepted the socket.
 */
#include "triad/duration.h"
#include "triad/proxy_wait.h"
#include "triad/limits.h"
#include "triad/log.h"
#include "triad/metrics.h"
#include "triad/proxy.h"
#include "triad/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>

struct proxy_wait {
	struct proxy_wait *next, *prev; /* the worker's waiting sockets */
	struct worker *w;
	struct event *ev;               /* readable */
	struct event *timer;            /* the deadline, fixed at accept */
	int fd;
	union proxy_addr peer;
	socklen_t peer_len;
	proxy_wait_done done;
	void *arg;
	size_t have;                    /* header bytes already read out */
	uint8_t buf[PROXY_HEADER_MAX];
};

static void peer_text(const struct proxy_wait *pw, char *buf, size_t len)
{
	buf[0] = '\0';
	if (pw->peer.sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &pw->peer.sin.sin_addr, buf, (socklen_t)len);
	else if (pw->peer.sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &pw->peer.sin6.sin6_addr, buf, (socklen_t)len);
}

static void unlink_wait(struct proxy_wait *pw)
{
	if (pw->prev)
		pw->prev->next = pw->next;
	else
		pw->w->proxy_waits = pw->next;
	if (pw->next)
		pw->next->prev = pw->prev;
	event_free(pw->ev);
	event_free(pw->timer);
}

static void fail(struct proxy_wait *pw, const char *why)
{
	char ip[INET6_ADDRSTRLEN];
	peer_text(pw, ip, sizeof(ip));
	log_info("proxy protocol: %s from %s; closed", why, ip);
	unlink_wait(pw);
	close(pw->fd);
	free(pw);
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	fail(arg, "no complete header in time");
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_wait *pw = arg;
	(void)what;
	/* Peek what is there (never more than a header can be): the header's end
	 * is only known once it is parsed. */
	ssize_t n = recv(fd, pw->buf + pw->have, sizeof(pw->buf) - pw->have, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		fail(pw, n == 0 ? "connection closed before the header" : "read error before the header");
		return;
	}
	struct proxy_header h;
	int rc = proxy_parse(pw->buf, pw->have + (size_t)n, &h);
	if (rc < 0) {
		fail(pw, "invalid header");
		return;
	}
	/* Incomplete: everything peeked belongs to the header, read it out (else
	 * the level-triggered event would report the same bytes again). Complete:
	 * read exactly the rest of it. */
	size_t take = rc == 0 ? (size_t)n : (size_t)rc - pw->have;
	ssize_t got = recv(fd, pw->buf + pw->have, take, 0);
	if (got != (ssize_t)take) {
		fail(pw, "read error in the header");
		return;
	}
	pw->have += take;
	if (rc == 0)
		return;
	metrics_add(pw->w, METRIC_BYTES_IN, 0, pw->have); /* the conn counts from here on */
	unlink_wait(pw);
	if (h.proxied)
		pw->done(pw->arg, fd, &h.src.sa, h.addr_len);
	else
		pw->done(pw->arg, fd, &pw->peer.sa, pw->peer_len);
	free(pw);
}

void proxy_wait_start(struct worker *w, int fd, const struct sockaddr *peer, socklen_t peer_len,
                      proxy_wait_done done, void *arg)
{
	struct proxy_wait *pw = calloc(1, sizeof(*pw));
	if (pw) {
		pw->ev = event_new(w->base, fd, EV_READ | EV_PERSIST, read_cb, pw);
		pw->timer = evtimer_new(w->base, timeout_cb, pw);
	}
	if (!pw || !pw->ev || !pw->timer) {
		log_error("proxy protocol: out of memory; connection closed");
		if (pw && pw->ev)
			event_free(pw->ev);
		if (pw && pw->timer)
			event_free(pw->timer);
		free(pw);
		close(fd);
		return;
	}
	pw->w = w;
	pw->fd = fd;
	if (peer_len > sizeof(pw->peer))
		peer_len = sizeof(pw->peer);
	memcpy(&pw->peer, peer, peer_len);
	pw->peer_len = peer_len;
	pw->done = done;
	pw->arg = arg;
	pw->next = w->proxy_waits;
	if (pw->next)
		pw->next->prev = pw;
	w->proxy_waits = pw;
	/* One deadline for the whole header: a read timeout re-armed by every
	 * byte would let a trickling sender hold the socket far longer. */
	struct timeval tv = duration_tv(TRIAD_PROXY_TIMEOUT_MS);
	event_add(pw->timer, &tv);
	event_add(pw->ev, NULL);
}

void proxy_wait_close_all(struct worker *w)
{
	/* The next one is taken before this one goes (a list walk the analyzer
	 * can follow: it cannot see that unlink_wait() moves w->proxy_waits). */
	for (struct proxy_wait *pw = w->proxy_waits, *next; pw; pw = next) {
		next = pw->next;
		unlink_wait(pw);
		close(pw->fd);
		free(pw);
	}
}
