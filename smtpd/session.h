/*
 * The smtp control connection: what triad-smtpd does with each accepted conn.
 */
#ifndef SMTPD_SESSION_H
#define SMTPD_SESSION_H

#include <stddef.h>
#include "triad/server.h"

int smtp_prepare(struct conf *c, struct server_runtime *rt, char *err, size_t errlen);
void smtp_release(struct server_runtime *rt);
void smtp_accept(struct conn *c, int tag);

#endif
