/*
 * Where an account signs in from (core.h): the rule that tells a new
 * place from a known one.
 */
#include "core.h"

bool core_place_note(struct places_rec *p, uint64_t net, bool browser_known, int64_t now,
		     bool *write)
{
	bool first = p->n == 0;
	unsigned oldest = 0;

	*write = false;
	if (p->n > PLACES_MAX)
		p->n = PLACES_MAX;
	for (unsigned i = 0; i < p->n; i++) {
		if (p->net[i] == net) {
			if (now - p->seen[i] >= PLACE_REFRESH_S) {
				p->seen[i] = now;
				*write = true;
			}
			return !first && !browser_known;
		}
		if (p->seen[i] < p->seen[oldest])
			oldest = i;
	}
	/* A new network: added, or in place of the one unseen longest. */
	if (p->n < PLACES_MAX)
		oldest = p->n++;
	p->net[oldest] = net;
	p->seen[oldest] = now;
	*write = true;
	return !first;
}
