// SPDX-License-Identifier: GPL-2.0
/*
 * guest-exit.c - end a softmem test VM and hand a status to the host.
 *
 * Installed in the guest initramfs as /bin/poweroff-status by tools/vm-run.
 *
 *   poweroff-status CODE [TTY]...
 *
 * Waits until every TTY given has sent its pending output (so the host sees
 * the last lines of the test log), syncs, then writes CODE (0..127) to the
 * qemu isa-debug-exit device at I/O port 0xf4.  qemu then exits with status
 * CODE * 2 + 1; CODE is limited to 127 so that this still fits in the 8-bit
 * exit status of the qemu process.
 *
 * If the device is missing the write does nothing; fall back to a plain
 * power-off so the VM still ends (the host then sees no status).  Other
 * architectures (arm64) have no such device and just power off: the host
 * reads CODE from the console log instead.
 *
 * Powering off is drastic, so the helper refuses to act unless the root
 * file system is the initramfs (ramfs or tmpfs): running it by mistake on a
 * host must not switch the host off.
 *
 * Build: gcc -static -O2 -Wall -Wextra -Werror -o poweroff-status guest-exit.c
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <sys/io.h>
#endif
#include <sys/reboot.h>
#include <sys/vfs.h>
#include <termios.h>
#include <unistd.h>

#define DEBUG_EXIT_PORT	0xf4
#define DEBUG_EXIT_MAX	127

static int root_is_initramfs(void)
{
	struct statfs sfs;

	if (statfs("/", &sfs))
		return 0;
	return sfs.f_type == RAMFS_MAGIC || sfs.f_type == TMPFS_MAGIC;
}

static void drain_tty(const char *path)
{
	int fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "poweroff-status: %s: %s\n", path, strerror(errno));
		return;
	}
	if (tcdrain(fd))
		fprintf(stderr, "poweroff-status: tcdrain %s: %s\n", path,
			strerror(errno));
	close(fd);
}

int main(int argc, char **argv)
{
	char *end;
	long code;
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CODE [TTY]...\n", argv[0]);
		return 2;
	}
	errno = 0;
	code = strtol(argv[1], &end, 10);
	if (errno || end == argv[1] || *end || code < 0 ||
	    code > DEBUG_EXIT_MAX) {
		fprintf(stderr, "poweroff-status: bad code '%s' (0..%d)\n",
			argv[1], DEBUG_EXIT_MAX);
		return 2;
	}

	if (!root_is_initramfs()) {
		fprintf(stderr, "poweroff-status: / is not an initramfs; refusing to power off\n");
		return 1;
	}

	for (i = 2; i < argc; i++)
		drain_tty(argv[i]);
	sync();

#if defined(__x86_64__) || defined(__i386__)
	if (ioperm(DEBUG_EXIT_PORT, 4, 1)) {
		perror("poweroff-status: ioperm");
	} else {
		outb((unsigned char)code, DEBUG_EXIT_PORT);
		/* Only reached without an isa-debug-exit device. */
		fprintf(stderr, "poweroff-status: no isa-debug-exit device at 0x%x\n",
			DEBUG_EXIT_PORT);
	}
#endif

	reboot(RB_POWER_OFF);
	perror("poweroff-status: reboot");
	return 1;
}
