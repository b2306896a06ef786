/*
 * The ftp control connection: what triad-ftpd does with each accepted conn.
 */
#ifndef FTPD_SESSION_H
#define FTPD_SESSION_H

#include <stddef.h>
#include "triad/server.h"

int ftp_prepare(struct conf *c, struct server_runtime *rt, char *err, size_t errlen);
void ftp_release(struct server_runtime *rt);
void ftp_accept(struct conn *c, int tag);

#endif
