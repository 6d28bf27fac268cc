/*
 * qr.c owns drawing a QR code of an otpauth URI as SVG for the enrolment
 * page. libqrencode does the encoding; this file only draws. The SVG is in
 * absolute pixels (width and height equal to the viewBox, 4 px per module,
 * a 4-module quiet zone, a white background) because raster tools that read
 * SVG, zbarimg through ImageMagick among them, fail on a drawing scaled only
 * through its viewBox. Each horizontal run of dark modules is one closed
 * subpath of a single <path>, which keeps the output small. The text and
 * the drawing both spell the secret, so every buffer is wiped before it is
 * freed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <qrencode.h>

#include "otp.h"

#define MODULE_PX 4
#define QUIET	  4 /* modules of blank border on each side */

/* An output buffer; with buf NULL it only measures. */
struct svg_out {
	char *buf;
	size_t cap;
	size_t len;
	int failed;
};

static void emit(struct svg_out *o, const char *s)
{
	size_t n = strlen(s);

	if (o->buf != NULL && n >= o->cap - o->len)
		o->failed = 1;
	else if (o->buf != NULL)
		memcpy(o->buf + o->len, s, n + 1);
	if (!o->failed)
		o->len += n;
}

static void emit_uint(struct svg_out *o, unsigned v)
{
	char text[16];
	size_t i = sizeof(text) - 1;

	text[i] = '\0';
	do {
		text[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	emit(o, text + i);
	/* Where the dark modules are spells the secret too. */
	OPENSSL_cleanse(text, sizeof(text));
}

/* One run of dark modules, x0..x1 on row y (all in px), as a closed subpath. */
static void emit_run(struct svg_out *o, unsigned x0, unsigned x1, unsigned y)
{
	emit(o, "M");
	emit_uint(o, x0);
	emit(o, " ");
	emit_uint(o, y);
	emit(o, "H");
	emit_uint(o, x1);
	emit(o, "V");
	emit_uint(o, y + MODULE_PX);
	emit(o, "H");
	emit_uint(o, x0);
	emit(o, "Z");
}

static void draw(struct svg_out *o, const QRcode *qr)
{
	unsigned w = (unsigned)qr->width;
	unsigned size = (w + 2 * QUIET) * MODULE_PX;

	emit(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"");
	emit_uint(o, size);
	emit(o, "\" height=\"");
	emit_uint(o, size);
	emit(o, "\" viewBox=\"0 0 ");
	emit_uint(o, size);
	emit(o, " ");
	emit_uint(o, size);
	emit(o, "\" shape-rendering=\"crispEdges\">\n<rect x=\"0\" y=\"0\" width=\"");
	emit_uint(o, size);
	emit(o, "\" height=\"");
	emit_uint(o, size);
	emit(o, "\" fill=\"#ffffff\"/>\n<path fill=\"#000000\" d=\"");
	for (unsigned y = 0; y < w; y++) {
		for (unsigned x = 0; x < w;) {
			unsigned start = x;

			while (x < w && (qr->data[y * w + x] & 1))
				x++;
			if (x > start)
				emit_run(o, (start + QUIET) * MODULE_PX, (x + QUIET) * MODULE_PX,
					 (y + QUIET) * MODULE_PX);
			else
				x++;
		}
	}
	emit(o, "\"/>\n</svg>\n");
}

int otp_qr_svg(const char *text, char **out)
{
	QRcode *qr = NULL;
	struct svg_out o = {NULL, 0, 0, 0};
	int r = OTP_E_INVALID;

	if (out == NULL)
		goto out;
	*out = NULL;
	if (text == NULL || text[0] == '\0')
		goto out;
	errno = 0;
	/* Level M (15% of the code may be lost) holds 2331 bytes; a longer
	 * text, such as a linking URI with a long public URL and email, takes
	 * level L (7%), which holds 2953. */
	qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (qr == NULL && errno == ERANGE) {
		errno = 0;
		qr = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
	}
	if (qr == NULL) {
		/* EINVAL: bad argument; ERANGE: text too long for any QR version. */
		if (errno == ENOMEM)
			r = OTP_E_NOMEM;
		else if (errno == EINVAL || errno == ERANGE)
			r = OTP_E_INVALID;
		else
			r = OTP_E_INTERNAL;
		goto out;
	}
	r = OTP_E_INTERNAL;
	if (qr->width <= 0 || qr->width > 177)
		goto out;
	/* First pass measures, second writes. */
	draw(&o, qr);
	if (o.failed)
		goto out;
	o.cap = o.len + 1;
	o.len = 0;
	o.buf = malloc(o.cap);
	if (o.buf == NULL) {
		r = OTP_E_NOMEM;
		goto out;
	}
	draw(&o, qr);
	if (o.failed || o.len + 1 != o.cap)
		goto out;
	*out = o.buf;
	o.buf = NULL;
	r = OTP_OK;
out:
	if (o.buf != NULL)
		OPENSSL_clear_free(o.buf, o.cap);
	if (qr != NULL) {
		if (qr->width > 0 && qr->width <= 177)
			OPENSSL_cleanse(qr->data, (size_t)qr->width * (size_t)qr->width);
		QRcode_free(qr);
	}
	return r;
}
