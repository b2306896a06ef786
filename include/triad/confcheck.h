/*
 * confcheck: cross-key checks the three daemons share (used from each
 * section's check callback).
 */
#ifndef TRIAD_CONFCHECK_H
#define TRIAD_CONFCHECK_H

#include <stddef.h>
#include "triad/config.h"

/* listen_tls set (non-empty) needs tls_cert and tls_key in [global]. */
int confcheck_tls_listener(struct conf *c, const struct conf_addrs *tls_addrs,
                           const char *key, char *err, size_t errlen);
/* A log file (log, access_log) must not be inside the served tree SUBDIR of root. */
int confcheck_log_outside(struct conf *c, const char *log_path, const char *log_key,
                          const char *subdir, const char *subdir_key, char *err, size_t errlen);
/* A path below root given in the config ("www", "mail"): relative, no "..". */
int confcheck_subdir(struct conf *c, const char *value, const char *key, char *err,
                     size_t errlen);

/* Lexical normalisation of an absolute path into OUT: no "//", "/./" or "x/..". */
void confcheck_normalise(const char *in, char *out, size_t cap);

#endif
