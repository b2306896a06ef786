/*
 * libFuzzer target for common/config.c: the whole INI reader (conf_load,
 * through a memfd) and its value parsers (sizes, durations, booleans,
 * addresses; lists, port ranges, enums and paths through conf_load).
 *
 * Input: byte 0 picks the mode; the rest is a file or one value.
 * Checked beyond "no crash":
 * - conf_load: success and failure are exclusive (a conf xor a message);
 *   every message names the file first ("FILE:" prefix); loaded values keep
 *   their bounds (UINT/SIZE/DURATION within [min, max], lists of at most
 *   TRIAD_CONF_LIST_MAX items, no empty item, port ranges low <= high);
 * - value parsers: failure leaves a message, success one that re-formats to
 *   itself: a size printed in bytes, a duration printed in ms parse back to
 *   the same number; an address's text parses back to the same address.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "triad/config.h"
#include "triad/limits.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

struct own {
	char *str;
	char *path;
	struct conf_list list;
	struct conf_addrs addrs;
	bool flag;
	uint64_t num, size, dur;
	int choice;
	struct conf_portrange ports;
};

struct item {
	char *name;
	uint64_t weight;
	struct conf_addrs at;
};

static const char *const choices[] = {"one", "two", "three", NULL};
static const char *const words[] = {"off", "auto", NULL};

#define O(f) offsetof(struct own, f)
static const struct conf_key keys[] = {
	{"str", CONF_STR, O(str), NULL, NULL, 0, 0},
	{"path", CONF_PATH, O(path), "off", words, 0, 0},
	{"list", CONF_LIST, O(list), "a b", NULL, 0, 0},
	{"addrs", CONF_ADDRS, O(addrs), "127.0.0.1:80", NULL, 0, 0},
	{"flag", CONF_BOOL, O(flag), "off", NULL, 0, 0},
	{"num", CONF_UINT, O(num), "5", NULL, 1, 1000},
	{"size", CONF_SIZE, O(size), "1M", NULL, 1, 1ull << 40},
	{"dur", CONF_DURATION, O(dur), "30s", NULL, 1, 86400000},
	{"choice", CONF_ENUM, O(choice), "one", choices, 0, 0},
	{"ports", CONF_PORTRANGE, O(ports), NULL, NULL, 0, 0},
};

#define I(f) offsetof(struct item, f)
static const struct conf_key item_keys[] = {
	{"weight", CONF_UINT, I(weight), "1", NULL, 0, 100},
	{"at", CONF_ADDRS, I(at), NULL, NULL, 0, 0},
};
static const struct conf_kind thing = {"thing", item_keys, 2, sizeof(struct item), I(name), NULL};
static const struct conf_kind *const kinds[] = {&thing, NULL};
static const struct conf_section section = {"fuzzd", keys, sizeof(keys) / sizeof(keys[0]),
                                            sizeof(struct own), kinds, NULL};

static void check_list(const struct conf_list *l)
{
	CHECK(l->n <= TRIAD_CONF_LIST_MAX);
	for (size_t i = 0; i < l->n; i++)
		CHECK(l->v[i] && l->v[i][0] != '\0');
}

static void load(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz.conf", MFD_CLOEXEC);
	if (fd < 0)
		return;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return;
	}
	char path[64], err[TRIAD_CONF_VALUE_MAX + 512];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	memset(err, 0, sizeof(err));
	struct conf *c = conf_load(path, &section, err, sizeof(err));
	close(fd);
	if (!c) {
		CHECK(err[0] != '\0' && strncmp(err, path, strlen(path)) == 0);
		return;
	}
	const struct own *o = c->own;
	CHECK(o->num >= 1 && o->num <= 1000);
	CHECK(o->size >= 1 && o->size <= (1ull << 40));
	CHECK(o->dur >= 1 && o->dur <= 86400000);
	CHECK(o->choice >= 0 && o->choice <= 2);
	CHECK(o->ports.low <= o->ports.high);
	check_list(&o->list);
	for (size_t i = 0; i < conf_count(c, &thing); i++) {
		const struct item *it = conf_item(c, &thing, i);
		CHECK(it->name && it->weight <= 100);
	}
	conf_unref(c);
}

static void values(unsigned sel, const char *s)
{
	char err[512] = "", back[64];
	uint64_t v, w;
	bool b;
	struct conf_addr a, a2;
	switch (sel % 4) {
	case 0:
		if (conf_parse_size(s, &v, err, sizeof(err)) < 0) {
			CHECK(err[0]);
			return;
		}
		snprintf(back, sizeof(back), "%llu", (unsigned long long)v);
		CHECK(conf_parse_size(back, &w, err, sizeof(err)) == 0 && w == v);
		return;
	case 1:
		if (conf_parse_duration(s, &v, err, sizeof(err)) < 0) {
			CHECK(err[0]);
			return;
		}
		snprintf(back, sizeof(back), "%llums", (unsigned long long)v);
		CHECK(conf_parse_duration(back, &w, err, sizeof(err)) == 0 && w == v);
		return;
	case 2:
		if (conf_parse_bool(s, &b, err, sizeof(err)) < 0)
			CHECK(err[0]);
		else
			CHECK(conf_parse_bool(b ? "on" : "off", &b, err, sizeof(err)) == 0);
		return;
	default:
		if (conf_parse_addr(s, &a, err, sizeof(err)) < 0) {
			CHECK(err[0]);
			return;
		}
		CHECK(memchr(a.text, '\0', sizeof(a.text)) != NULL);
		CHECK(conf_parse_addr(a.text, &a2, err, sizeof(err)) == 0);
		CHECK(a.len == a2.len && memcmp(&a.ss, &a2.ss, a.len) == 0);
		CHECK(strcmp(a.text, a2.text) == 0);
		return;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned sel = data[0];
	if (sel < 128) {
		load(data + 1, size - 1);
		return 0;
	}
	if (size - 1 > TRIAD_CONF_VALUE_MAX)
		return 0;
	char s[TRIAD_CONF_VALUE_MAX + 1];
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	values(sel, s);
	return 0;
}
