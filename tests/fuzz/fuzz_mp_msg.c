/*
 * libFuzzer target: device messages through mp_msg_decode(), strict and
 * lenient, and linking URIs through mp_link_uri_parse(). A message that
 * decodes must encode and decode back to the same struct; a URI that parses
 * must build back to one that parses the same.
 */
#include <mp.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const struct mp_msg *m)
{
	static char text[MP_FRAME_MAX + 1];
	struct mp_msg back;
	size_t len;

	/* A decoded message may still be too long to send once re-encoded
	 * (escapes): that is the encoder's refusal, not a bug. */
	if (mp_msg_encode(m, text, sizeof(text), &len) != 0)
		return;
	if (mp_msg_decode(text, len, false, &back) != 0 || memcmp(&back, m, sizeof(back)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mp_msg m;
	struct mp_link_uri u, back;
	char uri[MP_LINK_URI_MAX + 1], again[MP_LINK_URI_MAX + 1];

	if (mp_msg_decode((const char *)data, size, false, &m) == 0)
		round_trip(&m);
	if (mp_msg_decode((const char *)data, size, true, &m) == 0)
		round_trip(&m);
	if (size <= MP_LINK_URI_MAX) {
		memcpy(uri, data, size);
		uri[size] = '\0';
		/* What parses builds again within the limit and parses back
		 * the same (corpus: link_uri_longest is the limit; the raw
		 * bytes of link_uri_regrows are refused). */
		if (mp_link_uri_parse(uri, &u) == 0 &&
		    (mp_link_uri_build(&u, again, sizeof(again)) != 0 ||
		     mp_link_uri_parse(again, &back) != 0 || memcmp(&u, &back, sizeof(u)) != 0))
			abort();
	}
	return 0;
}
