// SPDX-License-Identifier: GPL-2.0
/*
 * guest-perf-pin: holds one per-task perf event for the life of a test
 * guest, so that the kernel's perf_sched_events static key, which the
 * scheduler tests on every context switch, is switched on once at boot and
 * never again.
 *
 * Each first per-task perf event turns that key on and each last one turns
 * it off a second after it closes, patching __schedule() on every CPU
 * while the CPUs run it.  Under TCG with a thread per vCPU, QEMU 7.2 now and
 * then runs the int3 the patching leaves there for a moment after it is
 * gone, and the guest panics with "Oops: int3" in the scheduler: seen when
 * softmem_trace's perf test closed its events on Debian's 6.12, and at boot
 * on Debian's 7.2.  Run in the background by the guest's init (tools/vm-run);
 * exits 1 if the kernel has no perf events, which changes nothing else.
 */
#include <linux/perf_event.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_DUMMY,
	};
	int fd, adj;

	/* The OOM killer's tests must not take it: its exit would flip the key. */
	adj = open("/proc/self/oom_score_adj", O_WRONLY);
	if (adj >= 0) {
		if (write(adj, "-1000", 5) != 5)
			perror("guest-perf-pin: oom_score_adj");
		close(adj);
	}
	fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
	if (fd < 0) {
		perror("guest-perf-pin: perf_event_open");
		return 1;
	}
	for (;;)
		pause();
}
