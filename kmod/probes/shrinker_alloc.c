// SPDX-License-Identifier: GPL-2.0
/* shrinker_alloc(), shrinker_register(), shrinker_free(): 6.7 */
#include <linux/shrinker.h>

void probe(void)
{
	struct shrinker *shrinker = shrinker_alloc(0, "probe");

	shrinker_register(shrinker);
	shrinker_free(shrinker);
}
