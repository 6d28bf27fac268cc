/*
 * libFuzzer target: otpauth URIs through otp_uri_parse(). A URI that parses
 * must build back (otp_uri_build) into one that parses to the same key and
 * parameters.
 */
#include <otp.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct otp_uri u, back;
	char *again = NULL;

	if (otp_uri_parse((const char *)data, size, &u) != 0)
		return 0;
	if (otp_uri_build(u.issuer[0] ? u.issuer : NULL, u.account, u.key, u.key_len, &u.params,
			  &again) != 0)
		return 0; /* e.g. an issuer the builder refuses */
	if (otp_uri_parse(again, strlen(again), &back) != 0 || back.key_len != u.key_len ||
	    memcmp(back.key, u.key, u.key_len) != 0 || back.params.digits != u.params.digits ||
	    back.params.period != u.params.period || back.params.alg != u.params.alg)
		abort();
	free(again);
	return 0;
}
