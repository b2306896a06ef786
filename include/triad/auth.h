/*
 * auth: privilege-separated PAM.
 *
 * auth_helper_start() forks, while still root, a helper process that keeps
 * root (and the environment, so PAM_WRAPPER* and LD_PRELOAD survive) and
 * talks to each worker thread over its own socketpair with small
 * length-prefixed frames. The helper runs pam_authenticate and
 * pam_acct_mgmt for (service, user, password, rhost) in a child process per
 * request, so one slow PAM stack never holds up another login.
 *
 * Worker threads never block: auth_request() writes a frame and the answer
 * arrives later as a callback on the worker's event_base. Failures are
 * answered only after TRIAD_AUTH_FAIL_DELAY_MS, and a client (the RHOST's
 * key, triad/addr.h: an IPv4 address, an IPv6 /64) that has had
 * TRIAD_AUTH_FAIL_MAX failures within TRIAD_AUTH_FAIL_WINDOW_S is refused
 * (AUTH_THROTTLED) without asking PAM. Passwords are never logged and are
 * wiped from every buffer after use.
 */
#ifndef TRIAD_AUTH_H
#define TRIAD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "triad/limits.h"

struct event_base;

enum auth_result {
	AUTH_OK = 0,
	AUTH_DENIED = 1,    /* wrong user or password, account refused */
	AUTH_ERROR = 2,     /* helper unavailable or PAM failed: a temporary error */
	AUTH_THROTTLED = 3, /* too many recent failures from this address */
};

typedef void (*auth_cb)(enum auth_result result, void *arg);

/* Forks the helper with one channel per worker. Call as root, before the
 * drop. SANDBOX: the helper confines itself to sandbox.h's PAM set. */
int auth_helper_start(unsigned nworkers, bool sandbox, char *err, size_t errlen);
/* Whether the helper was started (daemons without logins never start it). */
int auth_helper_running(void);
/* Closes the daemon's ends; the helper exits when it sees EOF. */
/* Reaps the helper: its wait status, or -1 when it had to be killed after 2 s. */
int auth_helper_stop(void);
/* The helper's pid, or -1 when it was never started (tests, SIGCHLD). */
int auth_helper_pid(void);
/*
 * Hands over the daemon's end of channel WORKER (once; -1 afterwards or when
 * out of range). auth_client_new() uses it; tests use it to speak raw frames.
 */
int auth_helper_take_channel(unsigned worker);

/*
 * Per worker thread: attaches channel WORKER to BASE. NULL when the helper
 * is not running or the channel was already taken.
 */
struct auth_client *auth_client_new(struct event_base *base, unsigned worker);
/* Closes the channel; requests still pending are dropped without callbacks. */
void auth_client_free(struct auth_client *c);

/*
 * What server.c needs of PAM, as server_ops.auth (NULL: no logins, no
 * helper). Reached through this table, so a daemon that does not name it
 * (httpd) links no PAM: with --as-needed libpam, libaudit and libcap-ng are
 * not loaded into it (~100 KiB of resident pages).
 */
struct server_auth {
	int (*helper_start)(unsigned nworkers, bool sandbox, char *err, size_t errlen);
	int (*helper_stop)(void);
	struct auth_client *(*client_new)(struct event_base *base, unsigned worker);
	void (*client_free)(struct auth_client *c);
};
extern const struct server_auth auth_pam;

/*
 * Starts one authentication. CB runs later on the worker's loop exactly once,
 * unless auth_cancel() is called first (the connection went away).
 * Returns NULL (and CB is not called) only when arguments are oversize or
 * memory runs out.
 */
struct auth_req *auth_request(struct auth_client *c, const char *service, const char *user,
                              const char *password, const char *rhost, auth_cb cb, void *arg);
/* Suppresses REQ's callback. Not to be called once the callback has run. */
void auth_cancel(struct auth_req *req);
/* How long failures are held back (default TRIAD_AUTH_FAIL_DELAY_MS). */
void auth_set_fail_delay_ms(unsigned ms);

/* ---- framing, exposed for unit tests ----------------------------------
 * Request:  u32 total length (big endian, excluding itself), u32 id,
 *           then four fields each u16 length + bytes:
 *           service, user, password, rhost.
 * Reply:    u32 length (= 5), u32 id, u8 enum auth_result.
 */
#define AUTH_REPLY_BODY 5                    /* u32 id, u8 result */
#define AUTH_REPLY_LEN (4 + AUTH_REPLY_BODY) /* a whole reply frame */
struct auth_frame {
	uint32_t id;
	char service[TRIAD_AUTH_FIELD_MAX + 1];
	char user[TRIAD_AUTH_FIELD_MAX + 1];
	char password[TRIAD_AUTH_PASSWORD_MAX + 1];
	char rhost[TRIAD_AUTH_FIELD_MAX + 1];
};

/* Encodes into buf; returns the frame length or -1 when a field is oversize. */
int auth_frame_encode(const struct auth_frame *f, uint8_t *buf, size_t cap);
/*
 * Decodes one request from the front of buf[0..len): returns the number of
 * bytes consumed (> 0), 0 when more bytes are needed, or -1 when the frame is
 * malformed or oversize (the channel must then be closed).
 */
int auth_frame_decode(const uint8_t *buf, size_t len, struct auth_frame *f);
int auth_reply_encode(uint32_t id, enum auth_result r, uint8_t *buf, size_t cap);
int auth_reply_decode(const uint8_t *buf, size_t len, uint32_t *id, enum auth_result *r);
/* Wipes a frame (passwords). */
void auth_frame_wipe(struct auth_frame *f);

#endif
