/*
 * libFuzzer target: a configuration file through config_load_file() (inih
 * and the key table of authd/config.c), then, as main() does at start,
 * config_validate() and the parsers of the values it leaves to others
 * (trusted proxies, staff lists, tax rates, the storage engine), and a
 * reload from the defaults. config.c reads only files: the input is
 * written to a memfd and read back as /proc/self/fd/N.
 *
 * A file that loads and validates must give what main() relies on (the
 * proxies, log level and format and engine parse); a failure always says
 * why; a reload leaves nothing more to change when done twice; the listen
 * address and port go back through config_set_listen() unchanged.
 */
#include "config.h"
#include "invoices.h"
#include "proxy.h"
#include "staff.h"

#include <log.h>
#include <store.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void loaded(const struct authd_config *c)
{
	struct authd_config live, again;
	struct proxy_list proxies;
	enum store_engine engine;
	char err[256], changed[512], kept[512], listen[96];

	if (config_validate(c, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort();
		return;
	}
	if (proxy_list_parse(&proxies, c->trusted_proxies) != 0 ||
	    log_level_parse(c->log_level) < 0 || log_format_parse(c->log_format) < 0 ||
	    store_engine_parse(c->engine, &engine) != 0)
		abort();
	err[0] = '\0';
	if (staff_setup(c, err, sizeof(err)) != 0 && err[0] == '\0')
		abort();
	err[0] = '\0';
	if (invoices_setup(c, err, sizeof(err)) != 0 && err[0] == '\0')
		abort();

	config_defaults(&live);
	if (config_reload(&live, c, changed, sizeof(changed), kept, sizeof(kept)) < 0 ||
	    strlen(changed) >= sizeof(changed) || strlen(kept) >= sizeof(kept))
		abort();
	if (config_reload(&live, c, changed, sizeof(changed), kept, sizeof(kept)) != 0 ||
	    changed[0] != '\0')
		abort();

	snprintf(listen, sizeof(listen), "%s:%d", c->listen_addr, c->listen_port);
	config_defaults(&again);
	if (config_set_listen(&again, listen) != 0) {
		if (c->listen_addr[0] != '\0')
			abort();
	} else if (strcmp(again.listen_addr, c->listen_addr) != 0 ||
		   again.listen_port != c->listen_port) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct authd_config c;
	char err[256];

	if (fd < 0) {
		if ((fd = memfd_create("fuzz_config", MFD_CLOEXEC)) < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	config_defaults(&c);
	if (config_load_file(&c, path, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	loaded(&c);
	return 0;
}
