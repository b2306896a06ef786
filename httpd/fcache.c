/*
 * httpd/fcache.c: the per-worker file cache, small files whole and large
 * ones as metadata (see fcache.h for the consistency rules). Set
 * associative: a path hashes to one set of HTTP_FCACHE_WAYS slots; a new
 * entry takes a free slot of its set, else the set's least recently used
 * one. A set is one 64-byte line holding its entries' hashes and pointers:
 * a lookup loads that line and then only the entry whose hash matches (with
 * the hashes in one array and the pointers in another, as before, a hit
 * with 1,000 hot files cost a cache miss in each; issue 12). The sets are
 * mapped on the first put (anonymous memory, so only the sets used become
 * resident, and a worker that serves no file holds none).
 * The entries held are bounded by HTTP_FCACHE_BYTES per worker: an
 * entry that would pass the bound is not cached. Why not direct-mapped with
 * 128 slots as before: 1,000 sites with one hot file each thrashed it
 * (every request an open, a read and a close; issue 12's 10,000-site
 * benchmark ran at 0.35-0.58x of one site).
 * Entries are reference counted so a response still being sent keeps its
 * body when the slot is reused or invalidated.
 * The watches (fcache.h): why inotify rather than fstatat per iteration:
 * with 1,000 hot files nearly every request paid an fstatat (19% of the
 * worker's CPU in issue 12's 10,000-site benchmark), and their sibling
 * lookups another 4%. One watch descriptor serves every entry on the same
 * inode (the kernel returns the same wd): a table counts the entries using
 * each, and the last one to go removes it.
 */
#include "fcache.h"
#include "session.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <unistd.h>

/* Anything that can change what a path resolves to or a file's content or
 * validators: on a directory also its entries' writes and attribute
 * changes; on the file its own, through any of its names. */
#define WATCH_MASK                                                                              \
	(IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF |         \
	 IN_MOVED_FROM | IN_MOVED_TO)
#define WATCH_TABLE (2 * HTTP_FCACHE_WATCHES) /* open addressing, at most half full */

struct http_fwatch {
	int fd;            /* inotify */
	struct event *ev;  /* NULL without a loop (unit tests) */
	bool failed;       /* a read error: every entry is revalidated per iteration */
	bool no_watch;     /* test hook: inotify_add_watch fails */
	uint64_t epoch;    /* bumped by every read of events */
	uint64_t all;      /* the epoch of the last overflow: every entry checks */
	unsigned live;     /* wds in the table */
	struct {
		int wd;        /* 0: free (the kernel's wds start at 1) */
		unsigned refs; /* entries watching through it */
		bool dead;     /* removed by the kernel (IN_IGNORED): its entries must go */
		uint64_t changed; /* the epoch of the last event on it */
	} slot[WATCH_TABLE];
};

static unsigned wd_home(int wd)
{
	return ((uint32_t)wd * 2654435761u) % WATCH_TABLE;
}

/* The slot holding WD, or the free one where it would go. */
static unsigned wd_find(const struct http_fwatch *fw, int wd)
{
	unsigned i = wd_home(wd);
	while (fw->slot[i].wd && fw->slot[i].wd != wd)
		i = (i + 1) % WATCH_TABLE;
	return i;
}

/* Frees slot I, moving later members of its probe run back (no tombstones). */
static void wd_erase(struct http_fwatch *fw, unsigned i)
{
	for (unsigned j = (i + 1) % WATCH_TABLE; fw->slot[j].wd; j = (j + 1) % WATCH_TABLE) {
		unsigned home = wd_home(fw->slot[j].wd);
		/* J may fill I unless its home lies cyclically in (I, J]. */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			fw->slot[i] = fw->slot[j];
			i = j;
		}
	}
	fw->slot[i].wd = 0;
	fw->slot[i].refs = 0;
	fw->slot[i].dead = false;
	fw->slot[i].changed = 0;
	fw->live--;
}

/* Watches the file or directory FD for entry E; false when it cannot. */
static bool watch_fd(struct http_fwatch *fw, struct http_fentry *e, int fd)
{
	if (e->nwd >= HTTP_FCACHE_WATCH_DEPTH || fw->no_watch)
		return false;
	char proc[32];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	int wd = inotify_add_watch(fw->fd, proc, WATCH_MASK);
	if (wd <= 0)
		return false;
	unsigned i = wd_find(fw, wd);
	if (fw->slot[i].wd == wd) {
		if (fw->slot[i].dead)
			return false;
	} else if (fw->live >= HTTP_FCACHE_WATCHES) {
		inotify_rm_watch(fw->fd, wd); /* new and over the bound */
		return false;
	} else {
		fw->slot[i].wd = wd;
		fw->live++;
	}
	fw->slot[i].refs++;
	e->wd[e->nwd++] = wd;
	return true;
}

static void unwatch(struct http_fwatch *fw, struct http_fentry *e)
{
	for (unsigned k = 0; fw && k < e->nwd; k++) {
		unsigned i = wd_find(fw, e->wd[k]);
		if (fw->slot[i].wd != e->wd[k] || --fw->slot[i].refs > 0)
			continue;
		if (!fw->slot[i].dead)
			inotify_rm_watch(fw->fd, e->wd[k]);
		wd_erase(fw, i);
	}
	e->nwd = 0;
}

static bool same_node(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Whether ST is the file E was read from. */
static bool same_file(const struct http_fentry *e, const struct stat *st)
{
	return e->dev == st->st_dev && e->ino == st->st_ino && (off_t)e->size == st->st_size &&
	       e->mtim.tv_sec == st->st_mtim.tv_sec && e->mtim.tv_nsec == st->st_mtim.tv_nsec &&
	       e->ctim.tv_sec == st->st_ctim.tv_sec && e->ctim.tv_nsec == st->st_ctim.tv_nsec &&
	       S_ISREG(st->st_mode);
}

/*
 * Watches the docroot, each directory of E's path and the file FD (just
 * opened beneath docroot for E), then checks that the path still leads
 * through exactly those inodes to the file E describes: a change before a
 * watch was in place shows here, a later one as an event. Directories are
 * opened beneath docroot without following links; a path with a link on
 * the way stays unwatched.
 */
static void watch_entry(struct http_fwatch *fw, const struct http_site *site,
                        struct http_fentry *e, int fd)
{
	int dirs[HTTP_FCACHE_WATCH_DEPTH];
	size_t ends[HTTP_FCACHE_WATCH_DEPTH]; /* where each directory's name ends in path */
	unsigned nd = 0;
	bool ok = watch_fd(fw, e, site->docroot.fd);
	for (size_t at = 0; ok;) {
		const char *slash = memchr(e->path + at, '/', e->path_len - at);
		if (!slash)
			break;
		size_t end = (size_t)(slash - e->path);
		int d = nd + 2 >= HTTP_FCACHE_WATCH_DEPTH
		            ? -ENAMETOOLONG
		            : fsroot_open_nolinks(&site->docroot, e->path, end,
		                                  O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (d < 0) {
			ok = false;
			break;
		}
		dirs[nd] = d;
		ends[nd++] = end;
		ok = watch_fd(fw, e, d);
		at = end + 1;
	}
	ok = ok && watch_fd(fw, e, fd);
	/* Each link of the chain, as it is now: name in the parent -> the inode watched. */
	int parent = site->docroot.fd;
	size_t from = 0;
	char name[NAME_MAX + 1];
	struct stat st, want;
	for (unsigned k = 0; ok && k <= nd; k++) {
		size_t end = k < nd ? ends[k] : e->path_len;
		if (end - from > NAME_MAX) {
			ok = false;
			break;
		}
		memcpy(name, e->path + from, end - from);
		name[end - from] = '\0';
		if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			ok = false;
		else if (k < nd)
			ok = fstat(dirs[k], &want) == 0 && same_node(&st, &want);
		else
			ok = same_file(e, &st);
		parent = k < nd ? dirs[k] : parent;
		from = end + 1;
	}
	for (unsigned k = 0; k < nd; k++)
		close(dirs[k]);
	if (ok)
		e->epoch = fw->epoch;
	else
		unwatch(fw, e);
}

static void watch_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	http_fcache_watch_read(arg);
}

int http_fcache_watch_start(struct http_worker *w, struct event_base *base)
{
	if (w->fwatch)
		return 0;
	bool no_watch = false;
#ifdef TRIAD_TEST_HOOKS
	/* Tests prove correctness without inotify ("off": none, as on EMFILE)
	 * or without watches ("nowatch": add_watch fails, as on ENOSPC),
	 * without touching the machine-wide fs.inotify limits. */
	const char *hook = getenv("TRIAD_TEST_FCACHE_INOTIFY");
	if (hook && strcmp(hook, "off") == 0)
		return -EMFILE;
	no_watch = hook && strcmp(hook, "nowatch") == 0;
#endif
	struct http_fwatch *fw = calloc(1, sizeof(*fw));
	if (!fw)
		return -ENOMEM;
	fw->no_watch = no_watch;
	fw->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fw->fd < 0) {
		int err = -errno;
		free(fw);
		/* Once per process: each worker would say the same. */
		static atomic_bool said;
		if (!atomic_exchange(&said, true))
			log_warn("file cache: inotify_init1: %s: cached files are revalidated with "
			         "fstatat once per event-loop iteration",
			         strerror(-err));
		return err;
	}
	/* The ordering the rule rests on needs a priority above the default. */
	if (base && (event_base_get_npriorities(base) <= SERVER_PRIO_FIRST + 1 ||
	             !(fw->ev = event_new(base, fw->fd, EV_READ | EV_PERSIST, watch_cb, w)) ||
	             event_priority_set(fw->ev, SERVER_PRIO_FIRST) < 0 ||
	             event_add(fw->ev, NULL) < 0)) {
		if (fw->ev)
			event_free(fw->ev);
		close(fw->fd);
		free(fw);
		log_warn("file cache: cannot add the inotify event at the first priority: cached "
		         "files are revalidated with fstatat once per event-loop iteration");
		return -EINVAL;
	}
	w->fwatch = fw;
	return 0;
}

void http_fcache_watch_read(struct http_worker *w)
{
	struct http_fwatch *fw = w->fwatch;
	if (!fw || fw->failed)
		return;
	_Alignas(struct inotify_event) char buf[4096];
	for (;;) {
		ssize_t n = read(fw->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/* Events may be lost: no entry may trust its watches again. */
			log_warn("file cache: reading inotify: %s: cached files are revalidated with "
			         "fstatat once per event-loop iteration from now on",
			         n < 0 ? strerror(errno) : "end of file");
			fw->failed = true;
			if (fw->ev)
				event_del(fw->ev);
			return;
		}
		/* Each event marks its watch with the epoch this read begins, so
		 * only the entries watching through it check (another site's
		 * upload costs this site's entries nothing). */
		uint64_t next = fw->epoch + 1;
		bool changed = false;
		for (ssize_t at = 0; at + (ssize_t)sizeof(struct inotify_event) <= n;) {
			const struct inotify_event *ev = (const void *)(buf + at);
			at += (ssize_t)(sizeof(*ev) + ev->len);
			if (ev->mask & IN_Q_OVERFLOW) {
				fw->all = next; /* what was lost is unknown */
				changed = true;
				continue;
			}
			unsigned i = ev->wd > 0 ? wd_find(fw, ev->wd) : 0;
			bool ours = ev->wd > 0 && fw->slot[i].wd == ev->wd;
			if (!(ev->mask & IN_IGNORED)) {
				if (ours)
					fw->slot[i].changed = next;
				changed = true;
				continue;
			}
			/* Our own inotify_rm_watch (no longer in the table) says nothing;
			 * the kernel dropping a watch (its inode gone, an unmount) does. */
			if (ours) {
				fw->slot[i].dead = true;
				fw->slot[i].changed = next;
				changed = true;
			}
		}
		if (changed)
			fw->epoch = next;
	}
}

_Static_assert(offsetof(struct http_fentry, size) == 64,
              "an entry's first cache line holds its lookup and validation fields");
_Static_assert(HTTP_FCACHE_PATH_MAX <= UINT16_MAX && HTTP_ETAG_MAX <= UINT8_MAX &&
                   HTTP_FENTRY_CTYPE_MAX <= UINT8_MAX,
               "the entry's length fields hold these bounds");

/* A loop iteration's name (its cached time) as one number; 0: none. */
static uint64_t iteration_id(const struct timeval *t)
{
	return t ? (uint64_t)t->tv_sec * 1000000u + (uint64_t)t->tv_usec + 1 : 0;
}

/* Whether no event read after EPOCH concerns E: none on any of its
 * watches (each still in place, not dropped by the kernel) and no queue
 * overflow. Its watches cover every inode its path resolves through (the
 * docroot, each directory, the file), so a change that could alter what E
 * answers marks one of them. */
static bool quiet_since(const struct http_fwatch *fw, const struct http_fentry *e,
                        uint64_t epoch)
{
	if (fw->all > epoch)
		return false;
	for (unsigned k = 0; k < e->nwd; k++) {
		unsigned i = wd_find(fw, e->wd[k]);
		if (fw->slot[i].wd != e->wd[k] || fw->slot[i].dead || fw->slot[i].changed > epoch)
			return false;
	}
	return true;
}

static uint32_t path_hash(uint64_t gen, const char *p, size_t n)
{
	uint32_t h = 2166136261u ^ (uint32_t)gen; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}


bool http_fentry_same(const struct http_fentry *e, const struct stat *st)
{
	return same_file(e, st);
}

void http_fentry_unref(struct http_fentry *e)
{
	if (e && --e->refs == 0)
		free(e);
}

struct http_fset {
	_Alignas(64) uint32_t hash[HTTP_FCACHE_WAYS]; /* of each entry, so a miss loads no entry */
	struct http_fentry *e[HTTP_FCACHE_WAYS];      /* NULL: free */
};
_Static_assert(sizeof(struct http_fset) == 64, "a file cache set is one cache line");
_Static_assert((HTTP_FCACHE_SETS & (HTTP_FCACHE_SETS - 1)) == 0,
               "HTTP_FCACHE_SETS is a power of two");

static void drop(struct http_worker *w, struct http_fset *set, unsigned way)
{
	struct http_fentry *e = set->e[way];
	if (!e)
		return;
	w->fcache_bytes -= e->cost;
	set->e[way] = NULL;
	unwatch(w->fwatch, e);
	http_fentry_unref(e);
}

/* The set of hash H. */
static struct http_fset *set_of(const struct http_worker *w, uint32_t h)
{
	return &w->fcache[h & (HTTP_FCACHE_SETS - 1)]; /* as http_fcache_set_index */
}

unsigned http_fcache_set_index(uint64_t gen, const char *path, size_t len)
{
	return path_hash(gen, path, len) & (HTTP_FCACHE_SETS - 1);
}

/* The way of SET holding the entry for (GEN, PATH), or -1. Only an entry
 * whose hash matches is touched. */
static int find(const struct http_fset *set, uint32_t h, uint64_t gen, const char *path,
                size_t len)
{
	for (unsigned i = 0; i < HTTP_FCACHE_WAYS; i++) {
		const struct http_fentry *e = set->e[i];
		if (set->hash[i] == h && e && e->gen == gen && e->path_len == len &&
		    memcmp(e->path, path, len) == 0)
			return (int)i;
	}
	return -1;
}

struct http_fentry *http_fcache_get(struct http_worker *w, const struct http_site *site,
                                    const char *path, size_t len,
                                    const struct timeval *iteration)
{
	if (len >= HTTP_FCACHE_PATH_MAX || !w->fcache)
		return NULL;
	uint32_t h = path_hash(site->gen, path, len);
	struct http_fset *set = set_of(w, h);
	int found = find(set, h, site->gen, path, len);
	if (found < 0)
		return NULL;
	unsigned way = (unsigned)found;
	struct http_fentry *e = set->e[way];
	const struct http_fwatch *fw = w->fwatch;
	bool watched = fw && !fw->failed && e->nwd > 0;
	/* Watched and no event since it was last found current, or none on its
	 * own watches: unchanged. */
	bool current = watched && (e->epoch == fw->epoch || quiet_since(fw, e, e->epoch));
	if (current)
		e->epoch = fw->epoch;
	uint64_t it = iteration_id(iteration);
	bool checked = it && e->checked == it;
	struct stat st;
	if (!current && !checked) {
		w->fcache_revalidations++;
		if (fstatat(site->docroot.fd, e->path, &st, 0) < 0 || !same_file(e, &st)) {
			drop(w, set, way); /* changed or gone: the confined open decides */
			return NULL;
		}
	}
	if (!current && watched) {
		/* Its watches must all still exist to be trusted again. */
		for (unsigned k = 0; k < e->nwd; k++) {
			unsigned i = wd_find(fw, e->wd[k]);
			if (fw->slot[i].wd != e->wd[k] || fw->slot[i].dead) {
				drop(w, set, way); /* the next put watches afresh */
				return NULL;
			}
		}
		e->epoch = fw->epoch;
	}
	if (it && !current)
		e->checked = it;
	e->used = ++w->fcache_clock;
	e->refs++;
	return e;
}

void http_fcache_put(struct http_worker *w, const struct http_site *site, const char *path,
                     size_t len, int fd, const struct stat *st, const char *ctype,
                     bool compressible, bool vary, int64_t now)
{
	if (len >= HTTP_FCACHE_PATH_MAX || !S_ISREG(st->st_mode) || st->st_size < 0 ||
	    st->st_mtim.tv_sec > now - HTTP_FCACHE_FRESH_S ||
	    st->st_ctim.tv_sec > now - HTTP_FCACHE_FRESH_S)
		return;
	if (!w->fcache) {
		void *sets = mmap(NULL, HTTP_FCACHE_SETS * sizeof(struct http_fset),
		                  PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (sets == MAP_FAILED)
			return; /* served from the file each time, as when full */
		w->fcache = sets;
	}
	bool has_body = st->st_size <= HTTP_FCACHE_MAX_BODY;
	size_t size = has_body ? (size_t)st->st_size : 0;
	char etag[HTTP_ETAG_MAX], lastmod[DATE_HTTP_LEN + 1];
	size_t etag_len = http_etag_format(etag, (uint64_t)st->st_ino, (uint64_t)st->st_size,
	                                   st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	if (!date_http_format(st->st_mtim.tv_sec, lastmod))
		return;
	size_t ctype_len = strnlen(ctype, HTTP_FENTRY_CTYPE_MAX);
	/* path, ctype, etag and lastmod with their NULs, then the body */
	size_t strs = len + 1 + ctype_len + 1 + etag_len + 1 + sizeof(lastmod);
	size_t total = (sizeof(struct http_fentry) + strs + size + 63) & ~(size_t)63;
	/* Line-aligned, so the first line is the hot one (fcache.h). */
	struct http_fentry *e = aligned_alloc(64, total);
	if (!e)
		return;
	unsigned char *body = (unsigned char *)e->path + strs;
	size_t got = 0;
	while (got < size) {
		ssize_t n = pread(fd, body + got, size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(e);
			return;
		}
		got += (size_t)n;
	}
	/* The content must belong to these validators: re-check after reading. */
	struct stat after;
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->size = (uint64_t)st->st_size;
	e->mtim = st->st_mtim;
	e->ctim = st->st_ctim;
	if (has_body && (fstat(fd, &after) < 0 || !same_file(e, &after))) {
		free(e);
		return;
	}
	e->refs = 1;
	e->has_body = has_body;
	e->body = body;
	e->gen = site->gen;
	e->hash = path_hash(site->gen, path, len);
	e->checked = 0; /* read this iteration, checked by the next use */
	e->epoch = 0;
	e->nwd = 0;
	e->compressible = compressible;
	e->vary = vary;
	e->vary_checked = now;
	/* Looked for before the watches existed: good for the plain second only. */
	e->vary_watched = false;
	e->vary_epoch = 0;
	char *p = e->path;
	e->path_len = (uint16_t)len;
	memcpy(p, path, len);
	p[len] = '\0';
	p += len + 1;
	e->ctype = p;
	e->ctype_len = (uint8_t)ctype_len;
	memcpy(p, ctype, ctype_len);
	p[ctype_len] = '\0';
	p += ctype_len + 1;
	e->etag = p;
	e->etag_len = (uint8_t)etag_len;
	memcpy(p, etag, etag_len + 1);
	p += etag_len + 1;
	e->lastmod = p;
	memcpy(p, lastmod, sizeof(lastmod));
	e->cost = total;
	e->used = ++w->fcache_clock;
	/* The way: this key's own (a stale copy), else a free one, else the LRU. */
	struct http_fset *set = set_of(w, e->hash);
	int found = find(set, e->hash, e->gen, path, len);
	unsigned way = found >= 0 ? (unsigned)found : 0;
	for (unsigned i = 0; found < 0 && i < HTTP_FCACHE_WAYS; i++) {
		if (!set->e[i]) {
			way = i;
			break;
		}
		if (set->e[i]->used < set->e[way]->used)
			way = i;
	}
	drop(w, set, way);
	if (w->fcache_bytes + e->cost > HTTP_FCACHE_BYTES) {
		free(e); /* full: the entries there stay until their sets need the room */
		return;
	}
	set->e[way] = e;
	set->hash[way] = e->hash;
	w->fcache_bytes += e->cost;
	if (w->fwatch && !w->fwatch->failed)
		watch_entry(w->fwatch, site, e, fd);
}

bool http_fentry_vary_current(const struct http_worker *w, const struct http_fentry *e,
                              int64_t now)
{
	if (now < e->vary_checked)
		return false; /* the clock went back */
	const struct http_fwatch *fw = w->fwatch;
	/* Looked for under watches: valid while no event came (in its directory a
	 * sibling came, went or changed), whatever the second. */
	if (e->vary_watched && fw && !fw->failed && e->nwd > 0)
		return (e->vary_epoch == fw->epoch || quiet_since(fw, e, e->vary_epoch)) &&
		       now - e->vary_checked < HTTP_FCACHE_SIBLING_RECHECK_WATCHED;
	return now - e->vary_checked < HTTP_FCACHE_SIBLING_RECHECK;
}

void http_fentry_vary_set(const struct http_worker *w, struct http_fentry *e, bool vary,
                          int64_t now)
{
	const struct http_fwatch *fw = w->fwatch;
	e->vary = vary;
	e->vary_checked = now;
	e->vary_watched = fw && !fw->failed && e->nwd > 0;
	e->vary_epoch = fw ? fw->epoch : 0;
}

unsigned http_fcache_watches(const struct http_worker *w)
{
	return w->fwatch ? w->fwatch->live : 0;
}

void http_fcache_free(struct http_worker *w)
{
	for (unsigned i = 0; w->fcache && i < HTTP_FCACHE_SETS; i++)
		for (unsigned k = 0; k < HTTP_FCACHE_WAYS; k++)
			drop(w, &w->fcache[i], k);
	if (w->fcache) {
		munmap(w->fcache, HTTP_FCACHE_SETS * sizeof(struct http_fset));
		w->fcache = NULL;
	}
	struct http_fwatch *fw = w->fwatch;
	if (fw) {
		if (fw->ev)
			event_free(fw->ev);
		close(fw->fd); /* removes whatever watches remain */
		free(fw);
		w->fwatch = NULL;
	}
}
