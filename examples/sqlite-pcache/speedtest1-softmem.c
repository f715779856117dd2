// SPDX-License-Identifier: GPL-2.0
/*
 * speedtest1 on the softmem page cache.
 *
 * SQLite's own benchmark, test/speedtest1.c from Debian's source package of
 * the libsqlite3 it runs on, is compiled with -Dmain=speedtest1_main and
 * linked with this main(), which installs the page cache before speedtest1
 * initialises SQLite, then checks the database it left.
 *
 *   speedtest1 [--softmem] [--softmem-group BYTES] [--softmem-batch N]
 *              [--softmem-limit BYTES] [--softmem-pinned BYTES]
 *              SPEEDTEST1-OPTION... DATABASE
 *
 * --softmem-pinned sets the page cache's max_pinned_bytes and, on every
 * connection, PRAGMA cache_spill to the same size, so that SQLite spills
 * dirty pages rather than pin more than that.
 * Without --softmem it is plain speedtest1 on SQLite's default page cache,
 * for comparison.  Afterwards it runs PRAGMA integrity_check on DATABASE
 * (unless --memdb) and prints "integrity_check: ok", and with --softmem one
 * line of the page cache's counters ("softmem-pcache: ...").  Exits 0 when
 * speedtest1 and the check succeeded.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "softmem_pcache.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

int speedtest1_main(int argc, char **argv);

/* How many values speedtest1's option @opt takes (0 for a flag). */
static int option_values(const char *opt)
{
	static const char *const one[] = {
		"cachesize", "journal", "key", "mmap", "output", "pagesize",
		"repeat", "reserve", "script", "size", "temp", "testset",
		"threads", "vfs",
	};
	static const char *const two[] = { "heap", "lookaside", "pcache" };
	size_t i;

	while (*opt == '-')
		opt++;
	for (i = 0; i < ARRAY_SIZE(one); i++)
		if (!strcmp(opt, one[i]))
			return 1;
	for (i = 0; i < ARRAY_SIZE(two); i++)
		if (!strcmp(opt, two[i]))
			return 2;
	return 0;
}

static int check_integrity(const char *path)
{
	sqlite3_stmt *stmt = NULL;
	sqlite3 *db = NULL;
	int rows = 0, bad = 0, rc;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1,
					&stmt, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *msg = (const char *)sqlite3_column_text(stmt, 0);

		rows++;
		if (!msg || strcmp(msg, "ok")) {
			printf("integrity_check: %s\n", msg ? msg : "(null)");
			bad = 1;
		}
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE) {
		printf("integrity_check: %s: %s\n", path,
		       db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		bad = 1;
	}
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	if (!bad && rows == 1)
		printf("integrity_check: ok\n");
	return bad || rows != 1;
}

static long long spill_kib;

/* Run on every new connection (sqlite3_auto_extension()). */
static int set_cache_spill(sqlite3 *db, char **err,
			   const struct sqlite3_api_routines *api)
{
	char sql[64];

	(void)err;
	(void)api;
	snprintf(sql, sizeof(sql), "PRAGMA cache_spill = %lld", -spill_kib);
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static void print_stats(void)
{
	struct softmem_pcache_stats s;

	softmem_pcache_get_stats(&s);
	printf("softmem-pcache: fetches %llu hits %llu hits_resumed %llu misses %llu",
	       (unsigned long long)s.fetches, (unsigned long long)s.hits,
	       (unsigned long long)s.hits_resumed,
	       (unsigned long long)s.misses);
	printf(" discards %llu discarded_pages %llu evictions %llu",
	       (unsigned long long)s.discards,
	       (unsigned long long)s.discarded_pages,
	       (unsigned long long)s.evictions);
	printf(" suspends %llu resumes %llu batches %llu syscalls %llu",
	       (unsigned long long)s.suspends, (unsigned long long)s.resumes,
	       (unsigned long long)s.batches, (unsigned long long)s.syscalls);
	printf(" regions %llu alloc_failures %llu pinned_peak %llu\n",
	       (unsigned long long)s.regions_allocated,
	       (unsigned long long)s.alloc_failures,
	       (unsigned long long)s.pinned_peak);
}

int main(int argc, char **argv)
{
	struct softmem_pcache_config config = { 0 };
	const char *db = NULL;
	bool softmem = false, memdb = false;
	int i, n = 1, status;
	char **args;

	args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args)
		return 1;
	/* Lines as they come, for a reader on a pipe (sqlite-pressure). */
	setvbuf(stdout, NULL, _IOLBF, 0);
	args[0] = argv[0];
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_value = i + 1 < argc;

		if (!strcmp(a, "--softmem")) {
			softmem = true;
		} else if (!strcmp(a, "--softmem-group") && has_value) {
			config.group_bytes = strtoull(argv[++i], NULL, 0);
		} else if (!strcmp(a, "--softmem-batch") && has_value) {
			config.idle_batch = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(a, "--softmem-limit") && has_value) {
			config.pool_limit = strtoull(argv[++i], NULL, 0);
		} else if (!strcmp(a, "--softmem-pinned") && has_value) {
			config.max_pinned_bytes = strtoull(argv[++i], NULL, 0);
			spill_kib = (long long)(config.max_pinned_bytes / 1024);
		} else if (a[0] == '-') {
			int values = option_values(a);

			if (!strcmp(a, "--memdb"))
				memdb = true;
			args[n++] = argv[i];
			while (values-- > 0 && i + 1 < argc)
				args[n++] = argv[++i];
		} else {
			db = a;
			args[n++] = argv[i];
		}
	}
	if (softmem) {
		int rc = softmem_pcache_install(&config);

		if (rc != SQLITE_OK) {
			fprintf(stderr, "speedtest1: cannot install the softmem page cache: %s\n",
				sqlite3_errstr(rc));
			return 1;
		}
		printf("-- page cache: softmem (group %zu bytes, batch %u, pool limit %llu, pinned %llu)\n",
		       config.group_bytes, config.idle_batch,
		       (unsigned long long)config.pool_limit,
		       (unsigned long long)config.max_pinned_bytes);
		if (spill_kib)
			sqlite3_auto_extension((void (*)(void))set_cache_spill);
	} else {
		printf("-- page cache: SQLite's default\n");
	}
	fflush(stdout);
	status = speedtest1_main(n, args);
	if (!status && db && !memdb)
		status = check_integrity(db);
	if (softmem)
		print_stats();
	free(args);
	return status;
}
