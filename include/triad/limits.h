/*
 * Every protocol and resource bound triad enforces, named once, with the
 * RFC section it comes from. Config may tune only those documented as
 * tunable in docs/configuration.md (their defaults live here too: the
 * schema tables take them with CONF_DFLT, config.h, so a default that is
 * written in a unit, "8K", "5m", is the plain integer N of a constant
 * named for that unit, _KIB, _MIB, _S, _MIN). Lengths that a wire format
 * defines (DATE_HTTP_LEN, ADDR_KEY_LEN, HTTP_ETAG_MAX, FTP_REPLY_MIN) stay
 * beside their format.
 */
#ifndef TRIAD_LIMITS_H
#define TRIAD_LIMITS_H

/* ---- shared ---------------------------------------------------------- */
#define TRIAD_LOG_LINE_MAX        2048   /* one log line, including the prefix */
#define TRIAD_LOG_QUEUE_BYTES  (2 << 20) /* lines buffered before the writer drops: about
                                          * 15000 of ~120 bytes, each line's own size */
#define TRIAD_CONF_VALUE_MAX      4096   /* one INI value */
#define TRIAD_CONF_NAME_MAX         64   /* one INI key or section name */
#define TRIAD_CONF_ITEM_NAME_MAX    32   /* NAME in "[kind NAME]" (interface.md) */
#define TRIAD_CONF_ITEMS_MAX    100000   /* sections of one kind ([site NAME]...) in one file */
#define TRIAD_CONF_LIST_MAX        256   /* items in one list value */
#define TRIAD_EXTENSION_MAX        16   /* one try_extensions item, dot included */
#define TRIAD_MAX_WORKERS          256
#define TRIAD_PATH_MAX            4096   /* PATH_MAX: a path handed to fsroot */
#define TRIAD_NAME_MAX             255   /* NAME_MAX: one path component */
#define TRIAD_BACKLOG              511   /* listen(2) backlog, as nginx */
#define TRIAD_CONN_HIGH_WATER  (256 * 1024) /* output buffered before a producer pauses */
#define TRIAD_CONN_LOW_WATER    (64 * 1024) /* ... and resumes */
#define TRIAD_CONN_READ_MAX     (64 * 1024) /* input buffered before reading pauses */
#define TRIAD_CONN_READ_BULK   (256 * 1024) /* larger read_max: readv straight into the input */
#define TRIAD_TLS_RECORD_MAX    (16 * 1024) /* RFC 8446 §5.1: one record's plaintext */
#define TRIAD_CONN_WRITE_MAX  (1024 * 1024) /* most one write()/sendfile() call sends */
#define TRIAD_CONN_FILE_COPY_MAX (32 * 1024) /* file ranges up to this are copied, not sent with sendfile */
#define TRIAD_CONN_FILE_CHUNK    (64 * 1024) /* TLS: one pread of a file range into the output */
#define TRIAD_TLS_HANDSHAKE_MS   10000   /* a TLS handshake (any daemon, any upgrade) ends by then
                                            or the connection is closed (nginx: 60 s) */
#define TRIAD_CONN_LINGER_MS     10000   /* a closing conn's output: no progress this long, freed */
#define TRIAD_CONN_LINGER_READ_MS 2000   /* closed with input unread: FIN, then input dropped
                                            until the peer's EOF, this long at most (RFC 9112 §9.6) */
/* Parked idle connections (common/park.c): compact records outside libevent. */
#define TRIAD_PARK_CHUNK          512    /* records per slab chunk (one mmap of 32 KiB) */
#define TRIAD_PARK_BATCH           64    /* readiness events taken per epoll_wait */
#define TRIAD_PARK_CLASSES_MAX    256    /* distinct (generation, protocol, timeouts) at once */
#define TRIAD_PARK_IDLE_MAX_MS  4294967295u /* a longer parked idle time is cut to this (49.7 days) */
#define TRIAD_PARK_TRIM_DELAY_MS 1000    /* parking quiet this long after ... */
#define TRIAD_PARK_TRIM_AFTER     64     /* ... this many parked since the last trim: malloc_trim; */
#define TRIAD_PARK_TRIM_BURST   1024     /* while parking goes on: once this many have parked */
#define TRIAD_EVMEM_SLOT           24    /* libevent allocations this small: common/evmem.c */
#define TRIAD_EVMEM_STEP    (64 * 1024)  /* its region is made usable this much at a time */
#define TRIAD_EVMEM_RESERVE (64u << 20)  /* its region (address space; 2M slots), then malloc */
#define TRIAD_DEFER_ACCEPT_S       1         /* client-speaks-first listeners: TCP_DEFER_ACCEPT */
#define TRIAD_HEAP_TRIM_THRESHOLD (8 * 1024 * 1024) /* free heap top kept (mallopt) */
#define TRIAD_HEAP_MMAP_THRESHOLD (4 * 1024 * 1024) /* smaller allocations: from the heap */
#define TRIAD_SHUTDOWN_TIMEOUT_S    10   /* default shutdown_timeout */
#define TRIAD_PERIP_BUCKETS       4096   /* per-IP connection counter table */
#define TRIAD_PROXY_TIMEOUT_MS    5000   /* a PROXY header must be complete within this
                                            (proxy-protocol.txt §1: "at least 3 seconds") */
#define TRIAD_LIMITS_EXEMPT_DEFAULT "127.0.0.0/8 ::1" /* limits_exempt: as Postfix's $mynetworks */
#define TRIAD_PERIP_DEFAULT          50  /* ftpd/smtpd max_connections_per_ip: Postfix's
                                            smtpd_client_connection_count_limit */
#define TRIAD_LISTENERS_MAX          8   /* kinds of listener a daemon asks for (listen, listen_tls) */
#define TRIAD_CONN_READ_RESERVE   2048   /* space a read makes in the input without a spill buffer */
#define TRIAD_CONN_READ_SPILL  (64 * 1024) /* per-thread spill buffer: one plain read(2) */
#define TRIAD_TLS_SESSION_CACHE  20480   /* server-side TLS sessions cached per context */
#define TRIAD_TLS_SESSION_TIMEOUT_S 3600 /* a cached session or ticket resumes this long */
#define TRIAD_FSROOT_OPENAT2_RETRIES 8   /* openat2 EAGAIN (a ".." race it cannot rule out) */
#define TRIAD_FSROOT_TEMP_ATTEMPTS   4   /* names tried for a hidden temp file: collisions of
                                            128 random bits mean something else is wrong */
#define TRIAD_WORKQ_QUEUE_MAX     4096   /* blocking jobs queued; a full queue refuses ("try
                                            again later") instead of piling up memory */
#define TRIAD_ACCEPT_BACKOFF_MS    100   /* EMFILE/ENFILE: a listener rests this long (nginx: 500) */
#define TRIAD_ACCEPT_SHED_MAX       64   /* backlog clients refused per EMFILE, via the reserve fd */
#define TRIAD_STOP_ACCEPT_MAX     4096   /* queued clients a stopping worker takes per listener
                                            (systemd's Backlog= default; ours is TRIAD_BACKLOG) */
#define TRIAD_FD_HEADROOM_BASE      32   /* descriptors kept out of the max_connections default: */
#define TRIAD_FD_HEADROOM_WORKER     8   /* logs, workq, auth, and per worker its loop and listeners */
/* A PROXY v2 header with its address block (at most 216 bytes, AF_UNIX) and TLVs:
 * HAProxy's ALPN, authority (SNI, up to 255), unique id (up to 128) and SSL TLVs fit;
 * a longer one is refused rather than buffered (proxy-protocol.txt §2.2). */
#define TRIAD_PROXY_V2_MAX        1024
#define TRIAD_ACTIVATION_NAME_MAX  255   /* LISTEN_FDNAMES: one name (systemd's FDNAME_MAX) */
#define TRIAD_METRICS_FAMILIES_MAX  32   /* a daemon's own metric families, beside the common ones */
#define TRIAD_METRICS_LINE_MAX    1024   /* GET /metrics: one request line or header line */
#define TRIAD_METRICS_HEAD_LINES    64   /* ... lines of one request head; then 400 and closed */
#define TRIAD_METRICS_TIMEOUT_MS 10000   /* a metrics connection idle or stalled this long: closed */

/* ---- auth (PAM helper) ------------------------------------------------ */
#define TRIAD_AUTH_FIELD_MAX       256   /* service, user, rhost */
#define TRIAD_AUTH_PASSWORD_MAX   1024
#define TRIAD_AUTH_FRAME_MAX      2048   /* one framed request */
#define TRIAD_AUTH_FAIL_DELAY_MS  1000   /* answer to a failed login is delayed */
#define TRIAD_AUTH_FAIL_WINDOW_S    60   /* per-IP failure accounting window */
#define TRIAD_AUTH_FAIL_MAX         10   /* failures per IP per window before refusal */
#define TRIAD_AUTH_INFLIGHT_MAX     64   /* concurrent PAM conversations per helper */
#define TRIAD_AUTH_PAM_TIMEOUT_S    30   /* one PAM conversation; then killed, AUTH_ERROR */
#define TRIAD_AUTH_FAIL_TABLE     4096   /* IPs tracked for failures (power of two) */
#define TRIAD_AUTH_CHANNEL_BUF (64 * 1024) /* requests queued per worker before AUTH_ERROR */
#define TRIAD_AUTH_FAIL_PROBES       8   /* slots of the failure table probed per key */

/* ---- HTTP (RFC 9110, RFC 9112) ----------------------------------------- */
#define HTTP_REQUEST_LINE_KIB      8         /* RFC 9112 §3: >= 8000 recommended; 414 */
#define HTTP_REQUEST_LINE_MAX   (HTTP_REQUEST_LINE_KIB * 1024) /* default max_request_line */
#define HTTP_HEADER_SIZE_KIB      32         /* RFC 9110 §5.4; 431 (RFC 6585 §5) */
#define HTTP_HEADER_SIZE_MAX    (HTTP_HEADER_SIZE_KIB * 1024)  /* default max_header_size */
#define HTTP_HEADER_FIELDS_MAX   100         /* 431 */
#define HTTP_ERROR_PAGE_MAX    (256 * 1024)  /* error_pages: a larger page file is not used */
#define HTTP_RULES_MAX           1000        /* _redirects / _headers lines kept per file */
#define HTTP_RULES_FILE_MAX   (256 * 1024)  /* larger _redirects / _headers: not read */
#define HTTP_RULE_HEADERS_MAX    2048        /* header bytes _headers adds to one response */
#define HTTP_BODY_MIB              1         /* 413 (RFC 9110 §15.5.14) */
#define HTTP_BODY_MAX           (HTTP_BODY_MIB * 1024 * 1024)  /* default max_body_size */
#define HTTP_RANGES_MAX           16         /* RFC 9110 §14.2: limit range sets */
#define HTTP_LIST_LINES_MAX        8         /* RFC 9110 §5.3: lines of one list field kept; 400 */
#define HTTP_CHUNK_SIZE_DIGITS_MAX 16        /* RFC 9112 §7.1: hex digits of chunk-size; 400 */
#define HTTP_CHUNK_EXT_MAX      4096         /* RFC 9112 §7.1.1: chunk-ext bytes per chunk; 400 */
#define HTTP_CHUNK_TRAILER_MAX  (8 * 1024)   /* RFC 9112 §7.1.2: trailer section bytes; 431 */
#define HTTP_PARK_AFTER_MS        250        /* keep-alive idle this long: conn_park (memory) */
#define HTTP_HEADER_TIMEOUT_S      20        /* default header_timeout */
#define HTTP_STOP_FIRST_MS       1000        /* at the stop, a new conn's first request comes
                                                within this or the conn is closed */
#define HTTP_KEEPALIVE_TIMEOUT_S   75        /* default keepalive_timeout (nginx's) */
#define HTTP_SEND_TIMEOUT_S        60        /* default send_timeout */
#define HTTP_RESPONSE_HEAD_MAX  8192         /* one response head we build (status, fields) */
#define HTTP_AUTOINDEX_ENTRIES_MAX 10000     /* entries one autoindex page lists; then truncated */
#define HTTP_SNIFF_BYTES      (64 * 1024)    /* read from a file for libmagic's guess */
#define HTTP_SNIFF_CACHE          64         /* libmagic answers cached per worker */
/* Small-file cache per worker: 1,000 hot sites with a file each must all fit
 * (issue 12: 10,000 sites cost what one does), so entries are many and set
 * associative (a collision evicts the set's least recently used), and their
 * bodies are bounded in bytes, not by count. A set's hashes and entry
 * pointers fill one 64-byte line (fcache.c), so a lookup touches one line
 * before the entry it finds: 5 ways (5 x 4 + 5 x 8 bytes). 1,000 files put
 * 6 into some set of 4,096 with a probability of about 1e-3. */
#define HTTP_FCACHE_SETS        4096         /* sets per worker (a power of two) */
#define HTTP_FCACHE_WAYS           5         /* entries per set: hashes and pointers in 64 bytes */
#define HTTP_FCACHE_SLOTS (HTTP_FCACHE_SETS * HTTP_FCACHE_WAYS) /* entries per worker */
#define HTTP_FCACHE_BYTES  (8u << 20)        /* bodies + entries cached per worker */
#define HTTP_FCACHE_MAX_BODY   16384         /* larger files are sent from their fd, not cached */
#define HTTP_FCACHE_PATH_MAX     256         /* longer paths are not cached */
#define HTTP_FCACHE_FRESH_S        2         /* files modified more recently are not cached */
#define HTTP_FCACHE_SIBLING_RECHECK 1        /* s a precompressed-sibling lookup is reused */
/* File-change watches (fcache.h): one inotify watch per cached file and per
 * directory from docroot down to it, shared by the entries that need it. */
#define HTTP_FCACHE_WATCHES     8192         /* inotify watches per worker; then entries go unwatched */
#define HTTP_FCACHE_WATCH_DEPTH    8         /* watches per entry (docroot, dirs, file); deeper: unwatched */
#define HTTP_FCACHE_SIBLING_RECHECK_WATCHED 60 /* s a watched entry's sibling lookup is reused at most */
#define HTTP_CACHECTL_RULES_MAX   64         /* cache_control rules */
#define HTTP_TXN_FREE_MAX        256         /* idle transactions kept per worker for reuse */
#define HTTP_TXN_HEAD_KEEP    (8 * 1024)     /* larger request-head copies are freed with it */
#define HTTP_PROXY_FCGI_STDIN_PIECE (32 * 1024) /* content of one FastCGI STDIN record we send */
#define HTTP_PROXY_IDLE_MAX_MS   60000       /* an idle upstream conn is kept at most this long
                                                (or the pool's timeout, if shorter) */
#define HTTP_PROXY_SPARE_MAX       64        /* ended proxy exchanges kept per worker for reuse */
#define HTTP_PROXY_DOCROOT_MEMO     4        /* sites whose absolute docroot a worker remembers */
#define HTTP_PROXY_HEAD_EXTRA    1024        /* upstream request head: bytes beyond the client's
                                                fields (X-Forwarded-*, Forwarded, our Host) */
#define HTTP_RCACHE_SHARDS        64         /* response cache: hash tables, one mutex each */
#define HTTP_RCACHE_BUCKETS      256         /* ... chains per shard: short for thousands of entries */
#define HTTP_RCACHE_LOCK_MS     5000         /* a collapsed miss waits at most this long */
#define HTTP_CACHE_VARY_MAX        8         /* Vary names of a cached response (more: not stored) */
#define HTTP_CACHE_AGE_MAX         2147483648 /* RFC 9111 §1.2.2: a larger delta-seconds is this */

/* ---- FTP (RFC 959, RFC 3659) ------------------------------------------ */
#define FTP_COMMAND_LINE_MAX     1024        /* RFC 959 sets none; vsftpd uses 4K */
#define FTP_LOGIN_FAILURES_MAX      3        /* then 421 and close (default max_login_failures) */
#define FTP_IDLE_TIMEOUT_MIN        5        /* default idle_timeout (vsftpd: 300 s) */
#define FTP_DATA_TIMEOUT_MIN        5        /* default data_timeout */
#define FTP_DATA_CONNECT_TIMEOUT_S 30        /* default data_connect_timeout */
#define FTP_LOGIN_TIMEOUT_S        60        /* default login_timeout */
#define FTP_DATA_MIN_RATE_KIB       1        /* default data_min_rate, bytes/s per data_timeout */
#define FTP_VERB_MAX                4        /* §5.3.1: command codes are 3 or 4 letters */
#define FTP_REPLY_LINE_MAX  (2 * TRIAD_PATH_MAX + 128) /* a 257 path, '"' doubled (App. II) */
#define FTP_LIST_LINE_MAX   (TRIAD_PATH_MAX + 256)  /* one LIST/NLST/MLSD line or MLST entry */
#define FTP_STAT_ENTRIES_MAX     2000        /* STAT dir (§4.1.3) is queued at once; then "use LIST" */
#define FTP_DATA_CHUNK        (64 * 1024)   /* one read of a file (TLS, TYPE A) or upload */
#define FTP_UPLOAD_READ_MAX (1024 * 1024)    /* input an upload's data connection may buffer: each
                                                read is written out at once, so this only has to
                                                stay above what one read brings (at
                                                TRIAD_CONN_READ_MAX reading paused and resumed
                                                around every read, two epoll_ctl per 64 KiB) */
#define FTP_UPLOAD_WRITEBACK (8 * 1024 * 1024) /* sync_uploads: writeback starts every this much */
#define FTP_STOU_ATTEMPTS        1000        /* STOU names tried (stem, stem.1 ... stem.999), then 450 */
#define FTP_LIST_RECENT_S    15778476        /* LIST shows the time, not the year, for mtimes within
                                                half a Gregorian year before now (as GNU ls) */
#define FTP_SWEEP_AGE_S          3600        /* a hidden upload temp file untouched this long is stale */
#define FTP_SWEEP_INTERVAL_S     3600        /* between sweeps of stale temp files */
#define FTP_SWEEP_FIRST_S           1        /* the first sweep after start (the workq is up by then) */
#define FTP_SWEEP_DEPTH            64        /* directory levels a sweep walks (one fd each) */

/* ---- SMTP (RFC 5321 §4.5.3.1) ----------------------------------------- */
#define SMTP_COMMAND_LINE_MAX     512        /* §4.5.3.1.4, including CRLF */
#define SMTP_TEXT_LINE_MAX       1000        /* §4.5.3.1.6, including CRLF */
#define SMTP_RECIPIENTS_MAX       100        /* §4.5.3.1.8 minimum; 452 4.5.3 beyond (default
                                               max_recipients) */
#define SMTP_LOCAL_PART_MAX        64        /* §4.5.3.1.1 */
#define SMTP_DOMAIN_MAX           255        /* §4.5.3.1.2 */
#define SMTP_PATH_MAX             256        /* §4.5.3.1.3, including <> */
#define SMTP_ERRORS_MAX            10        /* errors per session before 421 (default max_errors) */
#define SMTP_TIMEOUT_MIN            5        /* §4.5.3.2: server timeouts of at least 5 minutes
                                               (default timeout) */
#define SMTP_MESSAGE_SIZE_MIB      25        /* default max_message_size */
#define SMTP_REPLY_LINE_MAX       512        /* §4.5.3.1.5, one reply line including CRLF */
#define SMTP_LABEL_MAX             63        /* RFC 1035 §2.3.4: one domain label */
#define SMTP_ENVID_MAX            100        /* RFC 3461 §4.4: ENVID value as sent */
#define SMTP_ALIAS_TARGETS_MAX   1000        /* targets of one aliases line (fan-out) */
#define SMTP_ALIASES_FILE_MAX (64 * 1024 * 1024) /* a larger aliases file is refused */
#define SMTP_ORCPT_MAX            500        /* RFC 3461 §4.2: ORCPT value as sent */
#define SMTP_HEADER_FOLD           78        /* RFC 5322 §2.1.1: fold added headers here */
#define SMTP_SWEEP_INTERVAL_S   3600        /* s between sweeps of Maildir tmp/ (smtpd/sweep.c) */
#define SMTP_SWEEP_FIRST_S         1        /* the first sweep after start (the workq is up by then) */
#define SMTP_SWEEP_FOREIGN_AGE_S (36 * 3600) /* maildir(5): tmp/ files untouched 36 h are stale */
#define SMTP_SPOOL_BATCH   (64 * 1024)      /* message data held per connection before a spool
                                               write (workq); one more batch may be in flight */
#define SMTP_SPOOL_FIRST    (8 * 1024)      /* first spool buffer: trace headers and a small message */
#define SMTP_FEED_MAX      (16 * 1024)      /* input handed to the DATA assembler at once: bounds
                                               how far past a full batch one feed fills the spool */
#define SMTP_HOSTNAME_MAX         128       /* [smtpd] hostname: it goes into every Maildir file name
                                               (<secs>.M<usec>P<pid>Q<n>.<hostname>,S=<size>, at most
                                               TRIAD_NAME_MAX octets, about 70 for the numbers) */

#endif
