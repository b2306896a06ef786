/*
 * addr: the client key (contract in triad/addr.h).
 */
#include "triad/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static void key_v4(const struct in_addr *a, unsigned char key[ADDR_KEY_LEN])
{
	memset(key, 0, ADDR_KEY_LEN);
	key[10] = key[11] = 0xff;
	memcpy(key + 12, a, 4);
}

static void key_v6(const struct in6_addr *a, unsigned char key[ADDR_KEY_LEN])
{
	memset(key, 0, ADDR_KEY_LEN);
	/* v4-mapped keeps all 16 bytes: that is key_v4's form of the same IPv4. */
	memcpy(key, a, IN6_IS_ADDR_V4MAPPED(a) ? ADDR_KEY_LEN : 8);
}

void addr_key(const struct sockaddr *sa, unsigned char key[ADDR_KEY_LEN])
{
	if (sa->sa_family == AF_INET)
		key_v4(&((const struct sockaddr_in *)(const void *)sa)->sin_addr, key);
	else if (sa->sa_family == AF_INET6)
		key_v6(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, key);
	else
		memset(key, 0, ADDR_KEY_LEN);
}

bool addr_key_text(const char *text, unsigned char key[ADDR_KEY_LEN])
{
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, text, &a4) == 1) {
		key_v4(&a4, key);
		return true;
	}
	if (inet_pton(AF_INET6, text, &a6) == 1) {
		key_v6(&a6, key);
		return true;
	}
	return false;
}

static bool is_ip(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET || sa->sa_family == AF_INET6;
}

bool addr_same_client(const struct sockaddr *a, const struct sockaddr *b)
{
	unsigned char ka[ADDR_KEY_LEN], kb[ADDR_KEY_LEN];
	if (!is_ip(a) || !is_ip(b))
		return false;
	addr_key(a, ka);
	addr_key(b, kb);
	return memcmp(ka, kb, ADDR_KEY_LEN) == 0;
}
