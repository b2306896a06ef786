/*
 * confkeys: prints every configuration key the daemons accept, straight from
 * the schema tables the daemons load with (common/config.c and each
 * <daemon>/conf.c), so the man page test (tests/integration/test_docs.py)
 * checks triad.conf(5) against the code instead of against a copy of a list.
 *
 * One line per key, fields separated by tabs:
 *   SECTION  KEY  TYPE  DEFAULT
 * SECTION is "global", a daemon's section, or the kind of a named section
 * ("site" for the keys of "[site NAME]"), each kind once even when two
 * daemons read it.
 * DEFAULT is the default as written in the table, "(unset)" for none (NULL)
 * and "(empty)" for an empty value. Never installed.
 */
#include "triad/config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

extern const struct conf_section httpd_conf_section;
extern const struct conf_section ftpd_conf_section;
extern const struct conf_section smtpd_conf_section;

static const char *type_name(enum conf_type t)
{
	switch (t) {
	case CONF_STR: return "string";
	case CONF_PATH: return "path";
	case CONF_LIST: return "list";
	case CONF_ADDRS: return "addresses";
	case CONF_BOOL: return "boolean";
	case CONF_UINT: return "number";
	case CONF_SIZE: return "size";
	case CONF_DURATION: return "duration";
	case CONF_ENUM: return "choice";
	case CONF_PORTRANGE: return "portrange";
	case CONF_WORKERS: return "workers";
	case CONF_NETS: return "networks";
	}
	return "?";
}

static void print_keys(const char *section, const struct conf_key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *d = keys[i].dflt;
		printf("%s\t%s\t%s\t%s\n", section, keys[i].name, type_name(keys[i].type),
		       d == NULL ? "(unset)" : *d == '\0' ? "(empty)" : d);
	}
}

int main(void)
{
	const struct conf_section *sections[] = {
		&conf_global_section, &httpd_conf_section, &ftpd_conf_section, &smtpd_conf_section,
	};
	const size_t n = sizeof(sections) / sizeof(sections[0]);
	for (size_t i = 0; i < n; i++)
		print_keys(sections[i]->name, sections[i]->keys, sections[i]->nkeys);
	/* Named kinds, each once: ftpd may read the [site NAME] sections httpd reads. */
	const struct conf_kind *seen[64];
	size_t nseen = 0;
	for (size_t i = 0; i < n; i++) {
		for (const struct conf_kind *const *k = sections[i]->kinds; k && *k; k++) {
			bool dup = false;
			for (size_t j = 0; j < nseen; j++)
				dup = dup || seen[j] == *k || strcmp(seen[j]->name, (*k)->name) == 0;
			if (dup)
				continue;
			if (nseen == sizeof(seen) / sizeof(seen[0]))
				return 1;
			seen[nseen++] = *k;
			print_keys((*k)->name, (*k)->keys, (*k)->nkeys);
		}
	}
	return ferror(stdout) ? 1 : 0;
}
