/*
 * Unit tests for otp/qr.c. The SVG's size and drawing are checked against
 * libqrencode's own module grid by redrawing the path; then, where zbarimg
 * is installed, a real otpauth URI is written to a temporary .svg, decoded
 * by `zbarimg --nodbus -q --raw`, and must come back unchanged. zbarimg
 * reads SVG through ImageMagick's SVG coder, which Debian ships in
 * libmagickcore-6.q16-6-extra; without it ImageMagick falls back to the
 * rsvg-convert delegate (librsvg2-bin) and, with neither, fails with
 * "unable to open image". That is a failure here, never a skip. malloc and
 * QRcode_encodeString are wrapped at link time to reach the error paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <qrencode.h>

#include "otp.h"

/* snprintf into an array, which must not truncate. */
#define FMT(buf, ...) assert_true(snprintf(buf, sizeof(buf), __VA_ARGS__) < (int)sizeof(buf))

/* The linker names --wrap symbols; they are reserved identifiers by necessity. */
/* NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);
QRcode *__real_QRcode_encodeString(const char *string, int version, QRecLevel level,
				   QRencodeMode hint, int casesensitive);
QRcode *__wrap_QRcode_encodeString(const char *string, int version, QRecLevel level,
				   QRencodeMode hint, int casesensitive);

static int fail_malloc;
static int qr_fail_errno = -1; /* -1: pass through to libqrencode */
static struct {
	int version;
	QRecLevel level;
	QRencodeMode hint;
	int casesensitive;
} qr_args;

void *__wrap_malloc(size_t size)
{
	if (fail_malloc)
		return NULL;
	return __real_malloc(size);
}

QRcode *__wrap_QRcode_encodeString(const char *string, int version, QRecLevel level,
				   QRencodeMode hint, int casesensitive)
{
	qr_args.version = version;
	qr_args.level = level;
	qr_args.hint = hint;
	qr_args.casesensitive = casesensitive;
	if (qr_fail_errno >= 0) {
		errno = qr_fail_errno;
		return NULL;
	}
	return __real_QRcode_encodeString(string, version, level, hint, casesensitive);
}
/* NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */

/* Whether name is an executable file in a directory of $PATH. */
static int have_program(const char *name)
{
	const char *dir = getenv("PATH");
	char path[4096];
	int found = 0;

	while (!found && dir != NULL && *dir != '\0') {
		size_t len = strcspn(dir, ":");

		if (len > 0 && len + strlen(name) + 2 <= sizeof(path)) {
			FMT(path, "%.*s/%s", (int)len, dir, name);
			found = access(path, X_OK) == 0;
		}
		dir += len;
		if (*dir == ':')
			dir++;
	}
	return found;
}

/* Reads a decimal number at *p that `then` must follow, and moves past both. */
static unsigned take_uint(const char **p, const char *then)
{
	char *end = NULL;
	unsigned long v = strtoul(*p, &end, 10);

	assert_true(end != *p && v <= 100000);
	assert_true(strncmp(end, then, strlen(then)) == 0);
	*p = end + strlen(then);
	return (unsigned)v;
}

/* A real enrolment URI: 20- or 64-byte key. */
static char *make_uri(int big)
{
	struct otp_totp_params p = OTP_TOTP_PARAMS_DEFAULT;
	uint8_t key[OTP_KEY_MAX];
	char *uri = NULL;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 37 + 11);
	if (big) {
		p.alg = OTP_ALG_SHA512;
		p.digits = 8;
		assert_int_equal(otp_uri_build("Example Corporation Login",
					       "someone.long@example.com", key, OTP_KEY_MAX, &p,
					       &uri),
				 OTP_OK);
	} else {
		assert_int_equal(otp_uri_build("Example", "alice@example.com", key, 20, &p, &uri),
				 OTP_OK);
	}
	return uri;
}

/* Redraws the SVG's path into a module grid and compares it with libqrencode's. */
static void test_svg_matches_the_qr_grid(void **state)
{
	char *uri = make_uri(0), *svg = NULL, head[256];
	QRcode *qr;
	unsigned w, size, n_w, n_h, vb_w, vb_h, x0, y, x1, y1, x2;
	const char *d;
	uint8_t *grid;

	(void)state;
	qr_fail_errno = -1;
	assert_int_equal(otp_qr_svg(uri, &svg), OTP_OK);
	assert_int_equal(qr_args.version, 0);
	assert_int_equal(qr_args.level, QR_ECLEVEL_M);
	assert_int_equal(qr_args.hint, QR_MODE_8);
	assert_int_equal(qr_args.casesensitive, 1);

	qr = __real_QRcode_encodeString(uri, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	assert_non_null(qr);
	w = (unsigned)qr->width;
	size = (w + 8) * 4;

	assert_non_null(strstr(svg, "<svg "));
	d = strstr(svg, " width=\"");
	assert_non_null(d);
	d += strlen(" width=\"");
	n_w = take_uint(&d, "\" height=\"");
	n_h = take_uint(&d, "\" viewBox=\"0 0 ");
	vb_w = take_uint(&d, " ");
	vb_h = take_uint(&d, "\"");
	assert_int_equal(n_w, size);
	assert_int_equal(n_h, size);
	assert_int_equal(vb_w, size);
	assert_int_equal(vb_h, size);
	FMT(head, "<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%u\" fill=\"#ffffff\"/>", size,
	    size);
	assert_non_null(strstr(svg, head));
	d = strstr(svg, "<path fill=\"#000000\" d=\"");
	assert_non_null(d);
	assert_null(strstr(d + 1, "<path"));
	d += strlen("<path fill=\"#000000\" d=\"");

	grid = calloc((size_t)w * w, 1);
	assert_non_null(grid);
	while (*d == 'M') {
		d++;
		x0 = take_uint(&d, " ");
		y = take_uint(&d, "H");
		x1 = take_uint(&d, "V");
		y1 = take_uint(&d, "H");
		x2 = take_uint(&d, "Z");
		/* Runs of whole modules inside the quiet zone, one module high. */
		assert_int_equal(x0 % 4, 0);
		assert_int_equal(y % 4, 0);
		assert_int_equal(x1 % 4, 0);
		assert_int_equal(y1, y + 4);
		assert_int_equal(x2, x0);
		assert_true(x0 >= 16 && x1 > x0 && x1 <= size - 16);
		assert_true(y >= 16 && y1 <= size - 16);
		for (unsigned x = x0; x < x1; x += 4)
			grid[(y / 4 - 4) * w + (x / 4 - 4)] = 1;
	}
	assert_true(strncmp(d, "\"/>", 3) == 0);
	for (size_t i = 0; i < (size_t)w * w; i++)
		assert_int_equal(grid[i], qr->data[i] & 1);

	free(grid);
	QRcode_free(qr);
	free(svg);
	free(uri);
}

/* Writes svg to a temporary file and returns what zbarimg reads from it. */
static void zbar_round_trip(const char *text)
{
	char *svg = NULL, path[256], cmd[512], got[4096];
	const char *tmp = getenv("TMPDIR");
	size_t n;
	FILE *f, *p;
	int fd, rc;

	assert_int_equal(otp_qr_svg(text, &svg), OTP_OK);
	FMT(path, "%s/otp-qr-XXXXXX.svg", tmp != NULL ? tmp : "/tmp");
	fd = mkstemps(path, 4);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(svg, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);

	FMT(cmd, "zbarimg --nodbus -q --raw '%s' 2>&1", path);
	/* NOLINTNEXTLINE(cert-env33-c): running the reference tool is the point */
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(got, 1, sizeof(got) - 1, p);
	got[n] = '\0';
	rc = pclose(p);
	unlink(path);
	if (rc != 0)
		print_error(
		    "zbarimg failed (status %d): %s\nzbarimg reads SVG through ImageMagick: "
		    "install libmagickcore-6.q16-6-extra (SVG coder) or librsvg2-bin "
		    "(rsvg-convert delegate)\n",
		    rc, got);
	assert_int_equal(rc, 0);
	/* --raw prints the payload and one newline. */
	assert_true(n > 0 && got[n - 1] == '\n');
	got[n - 1] = '\0';
	assert_string_equal(got, text);
	free(svg);
}

static void test_zbarimg_decodes_the_svg(void **state)
{
	char *small, *big;

	(void)state;
	qr_fail_errno = -1;
	if (!have_program("zbarimg"))
		skip();
	small = make_uri(0);
	big = make_uri(1);
	zbar_round_trip(small);
	zbar_round_trip(big);
	free(small);
	free(big);
}

/* The longest linking URI (2406 bytes), mostly lowercase (a long host
 * name), is past level M's 2331 bytes in 8-bit mode: it takes level L, and
 * reads back. (Escapes alone would fit M: '%', digits and capitals are
 * in QR's denser alphanumeric mode.) */
static void test_longest_link_uri_takes_level_l(void **state)
{
	static const char head[] = "authd://link?v=1&server=https%3A%2F%2F";
	char text[2407], *svg = NULL;
	size_t n = strlen(head);

	(void)state;
	qr_fail_errno = -1;
	memcpy(text, head, n);
	for (size_t i = 0; n < sizeof(text) - 1; i++, n++)
		text[n] = "abcdefghijklmnopqrstuvwxyz%2F"[i % 29];
	text[n] = '\0';
	assert_int_equal(otp_qr_svg(text, &svg), OTP_OK);
	assert_int_equal(qr_args.level, QR_ECLEVEL_L);
	free(svg);
	if (have_program("zbarimg"))
		zbar_round_trip(text);
	/* A short text keeps level M. */
	assert_int_equal(otp_qr_svg("otpauth://totp/a?secret=MZXW6YTB", &svg), OTP_OK);
	assert_int_equal(qr_args.level, QR_ECLEVEL_M);
	free(svg);
}

static void test_invalid_input(void **state)
{
	char *svg = (char *)1, *huge;

	(void)state;
	qr_fail_errno = -1;
	assert_int_equal(otp_qr_svg(NULL, &svg), OTP_E_INVALID);
	assert_null(svg);
	svg = (char *)1;
	assert_int_equal(otp_qr_svg("", &svg), OTP_E_INVALID);
	assert_null(svg);
	assert_int_equal(otp_qr_svg("text", NULL), OTP_E_INVALID);
	/* Beyond the largest QR code (2953 bytes at level L): ERANGE. */
	huge = calloc(4001, 1);
	assert_non_null(huge);
	memset(huge, 'a', 4000);
	svg = (char *)1;
	assert_int_equal(otp_qr_svg(huge, &svg), OTP_E_INVALID);
	assert_null(svg);
	free(huge);
}

static void test_out_of_memory(void **state)
{
	char *svg = (char *)1;

	(void)state;
	qr_fail_errno = -1;
	fail_malloc = 1;
	assert_int_equal(otp_qr_svg("otpauth://totp/a?secret=MZXW6YTB", &svg), OTP_E_NOMEM);
	fail_malloc = 0;
	assert_null(svg);
	qr_fail_errno = ENOMEM;
	assert_int_equal(otp_qr_svg("otpauth://totp/a?secret=MZXW6YTB", &svg), OTP_E_NOMEM);
	qr_fail_errno = -1;
	assert_null(svg);
}

static void test_library_failure_is_internal(void **state)
{
	char *svg = (char *)1;

	(void)state;
	qr_fail_errno = EIO;
	assert_int_equal(otp_qr_svg("otpauth://totp/a?secret=MZXW6YTB", &svg), OTP_E_INTERNAL);
	assert_null(svg);
	qr_fail_errno = 0;
	assert_int_equal(otp_qr_svg("otpauth://totp/a?secret=MZXW6YTB", &svg), OTP_E_INTERNAL);
	qr_fail_errno = EINVAL;
	assert_int_equal(otp_qr_svg("otpauth://totp/a?secret=MZXW6YTB", &svg), OTP_E_INVALID);
	qr_fail_errno = -1;
	assert_int_equal(otp_qr_svg("otpauth://totp/a?secret=MZXW6YTB", &svg), OTP_OK);
	free(svg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_svg_matches_the_qr_grid),
	    cmocka_unit_test(test_zbarimg_decodes_the_svg),
	    cmocka_unit_test(test_longest_link_uri_takes_level_l),
	    cmocka_unit_test(test_invalid_input),
	    cmocka_unit_test(test_out_of_memory),
	    cmocka_unit_test(test_library_failure_is_internal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
