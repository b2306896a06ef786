/*
 * smtpd/aliases.h: the aliases file of [smtpd] (interface.md, "Sites"), in
 * the syntax of Postfix's virtual alias maps (virtual(5)):
 *
 *   # comment
 *   info@shop.example    alice@shop.example, bob@shop.example
 *   @shop.example        alice@shop.example          ; a catch-all
 *
 * One ADDRESS (local@domain, or @domain for a catch-all) and its targets
 * (mailboxes local@domain) per logical line, separated by spaces, tabs or
 * commas; a line starting with whitespace continues the one before. Keys
 * and targets are lower-cased. An ADDRESS twice is an error naming the later
 * line. Parsing is pure; a bad line fails the whole file with its number.
 */
#ifndef SMTPD_ALIASES_H
#define SMTPD_ALIASES_H

#include <stddef.h>
#include "triad/hostmap.h"

struct smtp_alias {
	char *addr;          /* "info@shop.example" or "@shop.example" */
	char **targets;      /* "alice@shop.example" ... */
	size_t ntargets;
	unsigned line;
};

struct smtp_aliases {
	struct smtp_alias *v;
	size_t n;
	struct hostmap map; /* addr -> index into v */
};

/* 0, or -1 with the line in *LINE (0: not a line's fault) and why in err. */
int smtp_aliases_parse(const char *text, size_t len, struct smtp_aliases *out, unsigned *line,
                       char *err, size_t errlen);
/* The alias of ADDR ("local@domain" or "@domain", lower case), or NULL. */
const struct smtp_alias *smtp_aliases_find(const struct smtp_aliases *a, const char *addr);
void smtp_aliases_free(struct smtp_aliases *a);

#endif
