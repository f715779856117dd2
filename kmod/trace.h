/* SPDX-License-Identifier: GPL-2.0 */
/*
 * softmem tracepoints: events/softmem/ in tracefs, for perf trace,
 * trace-cmd or the tracefs files directly.
 *
 * Pools and regions are named by ids the module hands out in creation
 * order (pool= and region=), the same that /proc/<pid>/fdinfo shows; a
 * handle (handle=) is a pool's name for a region, as user space sees it.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM softmem

#if !defined(_SOFTMEM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _SOFTMEM_TRACE_H

#include <linux/tracepoint.h>

#include "softmem.h"

TRACE_DEFINE_ENUM(SOFTMEM_DISCARD_SHRINKER);
TRACE_DEFINE_ENUM(SOFTMEM_DISCARD_MEMCG);
TRACE_DEFINE_ENUM(SOFTMEM_DISCARD_POOL_LIMIT);
TRACE_DEFINE_ENUM(SOFTMEM_DISCARD_MANAGER);
TRACE_DEFINE_ENUM(SOFTMEM_DISCARD_WATERMARK);
TRACE_DEFINE_ENUM(SOFTMEM_DISCARD_OOM);

/* What a holder did with its handle: alloc, free, suspend, export. */
DECLARE_EVENT_CLASS(softmem_handle_event,
	TP_PROTO(struct softmem_handle *handle),
	TP_ARGS(handle),
	TP_STRUCT__entry(
		__field(u64, pool)
		__field(u64, region)
		__field(u32, handle)
		__field(unsigned long, pages)
	),
	TP_fast_assign(
		__entry->pool = handle->pool->id;
		__entry->region = handle->region->id;
		__entry->handle = handle->id;
		__entry->pages = handle->region->nr_pages;
	),
	TP_printk("pool=%llu handle=%u region=%llu pages=%lu",
		  __entry->pool, __entry->handle, __entry->region,
		  __entry->pages)
);

DEFINE_EVENT(softmem_handle_event, softmem_alloc,
	TP_PROTO(struct softmem_handle *handle), TP_ARGS(handle));
DEFINE_EVENT(softmem_handle_event, softmem_free,
	TP_PROTO(struct softmem_handle *handle), TP_ARGS(handle));
DEFINE_EVENT(softmem_handle_event, softmem_suspend,
	TP_PROTO(struct softmem_handle *handle), TP_ARGS(handle));
DEFINE_EVENT(softmem_handle_event, softmem_import,
	TP_PROTO(struct softmem_handle *handle), TP_ARGS(handle));

TRACE_EVENT(softmem_resume,
	TP_PROTO(struct softmem_handle *handle, bool discarded),
	TP_ARGS(handle, discarded),
	TP_STRUCT__entry(
		__field(u64, pool)
		__field(u64, region)
		__field(u32, handle)
		__field(bool, discarded)
	),
	TP_fast_assign(
		__entry->pool = handle->pool->id;
		__entry->region = handle->region->id;
		__entry->handle = handle->id;
		__entry->discarded = discarded;
	),
	TP_printk("pool=%llu handle=%u region=%llu %s", __entry->pool,
		  __entry->handle, __entry->region,
		  __entry->discarded ? "discarded" : "intact")
);

TRACE_EVENT(softmem_export,
	TP_PROTO(struct softmem_handle *handle, int fd),
	TP_ARGS(handle, fd),
	TP_STRUCT__entry(
		__field(u64, pool)
		__field(u64, region)
		__field(u32, handle)
		__field(int, fd)
	),
	TP_fast_assign(
		__entry->pool = handle->pool->id;
		__entry->region = handle->region->id;
		__entry->handle = handle->id;
		__entry->fd = fd;
	),
	TP_printk("pool=%llu handle=%u region=%llu fd=%d", __entry->pool,
		  __entry->handle, __entry->region, __entry->fd)
);

TRACE_EVENT(softmem_map,
	TP_PROTO(struct softmem_region *region, unsigned long pgoff,
		 unsigned long pages),
	TP_ARGS(region, pgoff, pages),
	TP_STRUCT__entry(
		__field(u64, region)
		__field(unsigned long, pgoff)
		__field(unsigned long, pages)
	),
	TP_fast_assign(
		__entry->region = region->id;
		__entry->pgoff = pgoff;
		__entry->pages = pages;
	),
	TP_printk("region=%llu pgoff=%lu pages=%lu", __entry->region,
		  __entry->pgoff, __entry->pages)
);

TRACE_EVENT(softmem_discard,
	TP_PROTO(struct softmem_region *region, unsigned long pages,
		 enum softmem_discard_reason reason),
	TP_ARGS(region, pages, reason),
	TP_STRUCT__entry(
		__field(u64, pool)
		__field(u64, region)
		__field(unsigned long, pages)
		__field(int, nid)
		__field(int, reason)
	),
	TP_fast_assign(
		__entry->pool = region->pool->id;
		__entry->region = region->id;
		__entry->pages = pages;
		__entry->nid = region->backing ? region->backing->nid :
						 NUMA_NO_NODE;
		__entry->reason = reason;
	),
	TP_printk("pool=%llu region=%llu pages=%lu nid=%d reason=%s",
		  __entry->pool, __entry->region, __entry->pages,
		  __entry->nid,
		  __print_symbolic(__entry->reason,
				   { SOFTMEM_DISCARD_SHRINKER, "shrinker" },
				   { SOFTMEM_DISCARD_MEMCG, "memcg" },
				   { SOFTMEM_DISCARD_POOL_LIMIT, "pool_limit" },
				   { SOFTMEM_DISCARD_MANAGER, "manager" },
				   { SOFTMEM_DISCARD_WATERMARK, "watermark" },
				   { SOFTMEM_DISCARD_OOM, "oom" }))
);

#endif /* _SOFTMEM_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
