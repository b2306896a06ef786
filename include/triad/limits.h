/*
 * Every protocol and resource bound triad enforces, named once, with the
 * RFC section it comes from. Config may tune only those documented as
 * tunable in docs/configuration.md (their defaults live here too).
 */
#ifndef TRIAD_LIMITS_H
#define TRIAD_LIMITS_H

/* ---- shared ---------------------------------------------------------- */
#define TRIAD_LOG_LINE_MAX        2048   /* one log line, including the prefix */
#define TRIAD_LOG_QUEUE_LINES     8192   /* lines buffered before the writer drops */
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
#define TRIAD_DEFER_ACCEPT_S       1         /* client-speaks-first listeners: TCP_DEFER_ACCEPT */
#define TRIAD_HEAP_TRIM_THRESHOLD (8 * 1024 * 1024) /* free heap top kept (mallopt) */
#define TRIAD_HEAP_MMAP_THRESHOLD (4 * 1024 * 1024) /* smaller allocations: from the heap */
#define TRIAD_PERIP_BUCKETS       4096   /* per-IP connection counter table */
#define TRIAD_PROXY_TIMEOUT_MS    5000   /* a PROXY header must be complete within this
                                            (proxy-protocol.txt §1: "at least 3 seconds") */
#define TRIAD_LIMITS_EXEMPT_DEFAULT "127.0.0.0/8 ::1" /* limits_exempt: as Postfix's $mynetworks */
#define TRIAD_PERIP_DEFAULT        "50"  /* ftpd/smtpd max_connections_per_ip: Postfix's
                                            smtpd_client_connection_count_limit */

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

/* ---- HTTP (RFC 9110, RFC 9112) ----------------------------------------- */
#define HTTP_REQUEST_LINE_MAX   (8 * 1024)   /* RFC 9112 §3: >= 8000 recommended; 414 */
#define HTTP_HEADER_SIZE_MAX    (32 * 1024)  /* RFC 9110 §5.4; 431 (RFC 6585 §5) */
#define HTTP_HEADER_FIELDS_MAX   100         /* 431 */
#define HTTP_ERROR_PAGE_MAX    (256 * 1024)  /* error_pages: a larger page file is not used */
#define HTTP_RULES_MAX           1000        /* _redirects / _headers lines kept per file */
#define HTTP_RULES_FILE_MAX   (256 * 1024)  /* larger _redirects / _headers: not read */
#define HTTP_RULE_HEADERS_MAX    2048        /* header bytes _headers adds to one response */
#define HTTP_BODY_MAX           (1024 * 1024) /* 413 (RFC 9110 §15.5.14) */
#define HTTP_RANGES_MAX           16         /* RFC 9110 §14.2: limit range sets */
#define HTTP_LIST_LINES_MAX        8         /* RFC 9110 §5.3: lines of one list field kept; 400 */
#define HTTP_CHUNK_SIZE_DIGITS_MAX 16        /* RFC 9112 §7.1: hex digits of chunk-size; 400 */
#define HTTP_CHUNK_EXT_MAX      4096         /* RFC 9112 §7.1.1: chunk-ext bytes per chunk; 400 */
#define HTTP_CHUNK_TRAILER_MAX  (8 * 1024)   /* RFC 9112 §7.1.2: trailer section bytes; 431 */
#define HTTP_PARK_AFTER_MS        250        /* keep-alive idle this long: conn_park (memory) */

/* ---- FTP (RFC 959, RFC 3659) ------------------------------------------ */
#define FTP_COMMAND_LINE_MAX     1024        /* RFC 959 sets none; vsftpd uses 4K */
#define FTP_LOGIN_FAILURES_MAX      3        /* then 421 and close */
#define FTP_VERB_MAX                4        /* §5.3.1: command codes are 3 or 4 letters */
#define FTP_REPLY_LINE_MAX  (2 * TRIAD_PATH_MAX + 128) /* a 257 path, '"' doubled (App. II) */
#define FTP_LIST_LINE_MAX   (TRIAD_PATH_MAX + 256)  /* one LIST/NLST/MLSD line or MLST entry */
#define FTP_STAT_ENTRIES_MAX     2000        /* STAT dir (§4.1.3) is queued at once; then "use LIST" */

/* ---- SMTP (RFC 5321 §4.5.3.1) ----------------------------------------- */
#define SMTP_COMMAND_LINE_MAX     512        /* §4.5.3.1.4, including CRLF */
#define SMTP_TEXT_LINE_MAX       1000        /* §4.5.3.1.6, including CRLF */
#define SMTP_RECIPIENTS_MAX       100        /* §4.5.3.1.8 minimum; 452 4.5.3 beyond */
#define SMTP_LOCAL_PART_MAX        64        /* §4.5.3.1.1 */
#define SMTP_DOMAIN_MAX           255        /* §4.5.3.1.2 */
#define SMTP_PATH_MAX             256        /* §4.5.3.1.3, including <> */
#define SMTP_ERRORS_MAX            10        /* errors per session before 421 */
#define SMTP_REPLY_LINE_MAX       512        /* §4.5.3.1.5, one reply line including CRLF */
#define SMTP_LABEL_MAX             63        /* RFC 1035 §2.3.4: one domain label */
#define SMTP_ENVID_MAX            100        /* RFC 3461 §4.4: ENVID value as sent */
#define SMTP_ALIAS_TARGETS_MAX   1000        /* targets of one aliases line (fan-out) */
#define SMTP_ALIASES_FILE_MAX (64 * 1024 * 1024) /* a larger aliases file is refused */
#define SMTP_ORCPT_MAX            500        /* RFC 3461 §4.2: ORCPT value as sent */
#define SMTP_HEADER_FOLD           78        /* RFC 5322 §2.1.1: fold added headers here */
#define SMTP_SPOOL_BATCH   (64 * 1024)      /* message data held per connection before a spool
                                               write (workq); one more batch may be in flight */

#endif
