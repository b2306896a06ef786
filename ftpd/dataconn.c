/*
 * dataconn: getting a data connection (RFC 959 §3.2, RFC 2428, RFC 2577).
 *
 * PASV/EPSV open a listener on a port of passive_ports, bound to the
 * control connection's local address, which accepts one connection and only
 * from the control peer (port theft, RFC 2577 §5); PORT/EPRT record a target
 * that must be the control peer and a port >= 1024 (bounce, RFC 2577 §3),
 * connected to when a transfer command arrives. "The control peer" is
 * triad/addr.h's client: the same IPv4 address, or the same IPv6 /64.
 * The connection goes to the transfer engine (ftp_xfer_attach), which with
 * PROT P makes it TLS. See xfer.h for the other files of a transfer.
 */
#include "xfer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <event2/listener.h>

#include "triad/addr.h"
#include "triad/duration.h"
#include "triad/log.h"

/* ---- addresses ---------------------------------------------------------- */

/* The control peer again, by triad/addr.h's client key: the same IPv4
 * address (plain or v4-mapped), or the same IPv6 /64 (a client's temporary
 * address may rotate between its control and data connections). */
static bool same_client(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	return addr_same_client((const struct sockaddr *)a, (const struct sockaddr *)b);
}

static uint16_t sa_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void sa_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* Whether the control connection's local address is IPv4 (or v4-mapped). */
static bool local_is_v4(const struct ftp_session *s)
{
	const struct sockaddr_storage local = conn_addr_storage(&s->c->local);
	const struct sockaddr_storage *l = &local;
	return l->ss_family == AF_INET ||
	       (l->ss_family == AF_INET6 &&
	        IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)l)->sin6_addr));
}

/* ---- the setup ------------------------------------------------------------ */

void ftp_dataconn_accept_stop(struct ftp_session *s)
{
	if (s->accept_timer)
		event_del(s->accept_timer);
}

/* Closes everything of the data setup but the transfer itself. */
void ftp_dataconn_close(struct ftp_session *s, bool graceful)
{
	if (s->data) {
		struct conn *d = s->data;
		d->proto = NULL;
		s->data = NULL;
		if (graceful)
			conn_close(d);
		else
			conn_abort(d);
	}
	if (s->pasv) {
		evconnlistener_free(s->pasv);
		s->pasv = NULL;
	}
	if (s->connect_ev) {
		event_free(s->connect_ev);
		s->connect_ev = NULL;
	}
	if (s->connect_fd >= 0) {
		close(s->connect_fd);
		s->connect_fd = -1;
	}
	ftp_dataconn_accept_stop(s);
	s->dmode = FTP_DATA_NONE;
	s->data_tls_done = s->data_tls_ok = false;
}

/* ---- passive mode ---------------------------------------------------------------- */

static void pasv_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                        int salen, void *arg)
{
	(void)l;
	struct ftp_session *s = arg;
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, sa, (size_t)salen < sizeof(ss) ? (size_t)salen : sizeof(ss));
	struct sockaddr_storage peer = conn_addr_storage(&s->c->peer);
	if (!same_client(&ss, &peer)) {
		char ip[INET6_ADDRSTRLEN] = "?";
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof(ip));
		else if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip,
			          sizeof(ip));
		log_msg(LOG_LEVEL_WARN, s->c->id,
		        "data connection from %s refused: not the control peer %s (port theft)", ip,
		        conn_peer_ip(s->c).s);
		close(fd);
		return;
	}
	evconnlistener_free(s->pasv);
	s->pasv = NULL;
	ftp_xfer_attach(s, fd, sa, (socklen_t)salen);
}

static void accept_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct ftp_session *s = arg;
	if (s->xfer && !s->data)
		ftp_xfer_fail(s, 425, "Cannot open data connection: none arrived in time");
}

/* Opens the passive listener; returns its port or -errno. */
static int open_passive(struct ftp_session *s)
{
	ftp_dataconn_close(s, false);
	unsigned low = s->cf->passive_ports.low, high = s->cf->passive_ports.high;
	if (low == 0 || high < low)
		return -EINVAL;
	unsigned span = high - low + 1, start = 0;
	if (getrandom(&start, sizeof(start), 0) < 0)
		start = (unsigned)s->c->id;
	struct sockaddr_storage ss = conn_addr_storage(&s->c->local);
	for (unsigned i = 0; i < span; i++) {
		uint16_t port = (uint16_t)(low + (start + i) % span);
		int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		int one = 1;
		/* Data connections we closed leave TIME_WAIT on these ports. */
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		sa_set_port(&ss, port);
		if (bind(fd, (struct sockaddr *)&ss, s->c->local_len) < 0 || listen(fd, 4) < 0) {
			int e = errno;
			close(fd);
			if (e == EADDRINUSE)
				continue;
			return -e;
		}
		/* Backlog 0: listening already (libevent would listen() again). */
		s->pasv = evconnlistener_new(s->c->base, pasv_accept, s,
		                             LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
		if (!s->pasv) {
			close(fd);
			return -ENOMEM;
		}
		s->dmode = FTP_DATA_PASV;
		return port;
	}
	return -EADDRINUSE;
}

void ftp_cmd_pasv(struct ftp_session *s, struct ftp_command *cmd)
{
	(void)cmd;
	if (s->epsv_all) {
		ftp_reply(s, 503, "EPSV ALL in effect: use EPSV");
		return;
	}
	struct conn_ip local = conn_local_ip(s->c);
	const char *addr = s->cf->passive_address;
	if ((!addr || !*addr) && !local_is_v4(s)) {
		ftp_reply(s, 425, "PASV is IPv4 only: use EPSV");
		return;
	}
	if (!addr || !*addr)
		addr = local.s;
	struct in_addr a;
	if (inet_pton(AF_INET, addr, &a) != 1) {
		ftp_reply(s, 425, "Cannot announce a passive address");
		return;
	}
	int port = open_passive(s);
	if (port < 0) {
		log_msg(LOG_LEVEL_WARN, s->c->id, "PASV: no passive port free: %s",
		        strerror(-port));
		ftp_reply(s, 425, "Cannot open passive connection");
		return;
	}
	const unsigned char *b = (const unsigned char *)&a;
	log_msg(LOG_LEVEL_INFO, s->c->id, "PASV announced %s port %d", addr, port);
	ftp_reply(s, 227, "Entering Passive Mode (%u,%u,%u,%u,%d,%d).", b[0], b[1], b[2], b[3],
	          port >> 8, port & 0xff);
}

void ftp_cmd_epsv(struct ftp_session *s, struct ftp_command *cmd)
{
	enum ftp_epsv e;
	int rc = ftp_parse_epsv(cmd->arg, cmd->arglen, &e);
	if (rc) {
		ftp_reply(s, rc, "%s",
		          rc == 522 ? "Network protocol not supported, use (1,2)"
		                    : "Syntax: EPSV [1|2|ALL]");
		return;
	}
	if (e == FTP_EPSV_ALL) {
		s->epsv_all = true;
		ftp_reply(s, 200, "EPSV ALL ok");
		return;
	}
	bool v4 = local_is_v4(s);
	if ((e == FTP_EPSV_V4 && !v4) || (e == FTP_EPSV_V6 && v4)) {
		ftp_reply(s, 522, "Network protocol not supported, use (%d)", v4 ? 1 : 2);
		return;
	}
	int port = open_passive(s);
	if (port < 0) {
		ftp_reply(s, 425, "Cannot open passive connection");
		return;
	}
	log_msg(LOG_LEVEL_INFO, s->c->id, "EPSV announced port %d", port);
	ftp_reply(s, 229, "Entering Extended Passive Mode (|||%d|)", port);
}

/* ---- active mode ------------------------------------------------------------------ */

static void set_port_target(struct ftp_session *s, const struct sockaddr_storage *ss, socklen_t len)
{
	if (s->epsv_all) {
		ftp_reply(s, 503, "EPSV ALL in effect: use EPSV");
		return;
	}
	/* RFC 2577 §3: a server must not be a bounce to third hosts or
	 * privileged ports. */
	struct sockaddr_storage peer = conn_addr_storage(&s->c->peer);
	if (!same_client(ss, &peer) || sa_port(ss) < 1024) {
		log_msg(LOG_LEVEL_WARN, s->c->id,
		        "active data target refused (bounce): not %s or port %u < 1024",
		        conn_peer_ip(s->c).s, sa_port(ss));
		ftp_reply(s, 504,
		          "Data connections go only to your own address and a port >= 1024");
		return;
	}
	ftp_dataconn_close(s, false);
	s->port_addr = *ss;
	s->port_len = len;
	s->dmode = FTP_DATA_PORT;
	ftp_reply(s, 200, "PORT command successful");
}

void ftp_cmd_port(struct ftp_session *s, struct ftp_command *cmd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int rc = ftp_parse_port(cmd->arg, cmd->arglen, &ss, &len);
	if (rc) {
		ftp_reply(s, rc, "Syntax: PORT h1,h2,h3,h4,p1,p2");
		return;
	}
	set_port_target(s, &ss, len);
}

void ftp_cmd_eprt(struct ftp_session *s, struct ftp_command *cmd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int rc = ftp_parse_eprt(cmd->arg, cmd->arglen, &ss, &len);
	if (rc) {
		ftp_reply(s, rc, "%s",
		          rc == 522 ? "Network protocol not supported, use (1,2)"
		                    : "Syntax: EPRT |af|address|port|");
		return;
	}
	set_port_target(s, &ss, len);
}

static void connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ftp_session *s = arg;
	event_free(s->connect_ev);
	s->connect_ev = NULL;
	s->connect_fd = -1;
	int err = 0;
	socklen_t el = sizeof(err);
	if (what & EV_TIMEOUT)
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		err = errno;
	if (err) {
		close(fd);
		log_msg(LOG_LEVEL_INFO, s->c->id, "PORT connect failed: %s", strerror(err));
		ftp_xfer_fail(s, 425, "Cannot open data connection");
		return;
	}
	ftp_xfer_attach(s, fd, (struct sockaddr *)&s->port_addr, s->port_len);
}

static void start_connect(struct ftp_session *s)
{
	int fd = socket(s->port_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ftp_xfer_fail(s, 425, "Cannot open data connection");
		return;
	}
	/* From the address the client talks to, as it expects. */
	if (s->c->local.sa.sa_family == s->port_addr.ss_family) {
		struct sockaddr_storage src = conn_addr_storage(&s->c->local);
		sa_set_port(&src, 0);
		/* Best effort: without it the kernel picks the source, which most
		 * clients accept; the connect below reports what matters. */
		if (bind(fd, (struct sockaddr *)&src, s->c->local_len) < 0) {
			int err = errno;
			log_msg(LOG_LEVEL_INFO, s->c->id, "PORT: data source %s not bound: %s",
			        conn_local_ip(s->c).s, strerror(err));
		}
	}
	if (connect(fd, (struct sockaddr *)&s->port_addr, s->port_len) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		ftp_xfer_fail(s, 425, "Cannot open data connection");
		return;
	}
	s->connect_fd = fd;
	s->connect_ev = event_new(s->c->base, fd, EV_WRITE, connect_cb, s);
	struct timeval tv = duration_tv(s->cf->data_connect_timeout);
	if (!s->connect_ev || event_add(s->connect_ev, &tv) < 0) {
		ftp_xfer_fail(s, 425, "Cannot open data connection");
		return;
	}
}

void ftp_dataconn_open(struct ftp_session *s)
{
	if (s->dmode == FTP_DATA_PORT) {
		start_connect(s);
		return;
	}
	if (!s->accept_timer)
		s->accept_timer = evtimer_new(s->c->base, accept_timeout, s);
	struct timeval tv = duration_tv(s->cf->data_connect_timeout);
	if (!s->accept_timer || evtimer_add(s->accept_timer, &tv) < 0)
		ftp_xfer_fail(s, 425, "Cannot open data connection");
}
