/*
 * Invoices as PDF (pdf.h), drawn with libharu: an A4 page with the seller,
 * the billing address copied into the invoice, its number and dates, its
 * lines, the discount, the tax and the total. The built-in Helvetica
 * speaks WinAnsi (CP1252): UTF-8 text is brought to it, and a character
 * it lacks shows as '?'.
 */
#include "pdf.h"

#include <billing.h>
#include <log.h>
#include <util.h>

#include <hpdf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX 512

struct doc {
	HPDF_Doc pdf;
	HPDF_Page page;
	HPDF_Font regular, bold;
	float y;
	bool failed;
};

static void on_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *user_data)
{
	struct doc *d = user_data;

	if (!d->failed)
		log_err("libharu error 0x%04x (detail %u)", (unsigned)error_no,
			(unsigned)detail_no);
	d->failed = true;
}

/* UTF-8 into CP1252 for the built-in fonts: Latin-1 maps as it is, the
 * euro sign to 0x80, anything else to '?'. */
static void winansi(const char *in, char out[TEXT_MAX])
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p && o < TEXT_MAX - 1;) {
		uint32_t cp;
		uint8_t b;
		int n;

		if (*p < 0x80) {
			cp = *p;
			n = 1;
		} else if ((*p & 0xe0) == 0xc0 && (p[1] & 0xc0) == 0x80) {
			cp = (uint32_t)(*p & 0x1f) << 6 | (p[1] & 0x3f);
			n = 2;
		} else if ((*p & 0xf0) == 0xe0 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80) {
			cp = (uint32_t)(*p & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 |
			     (p[2] & 0x3f);
			n = 3;
		} else {
			cp = '?';
			n = 1;
			while (p[n] && (p[n] & 0xc0) == 0x80)
				n++;
		}
		b = cp < 0x20				      ? ' '
		    : cp < 0x7f || (cp >= 0xa0 && cp <= 0xff) ? (uint8_t)cp
		    : cp == 0x20ac			      ? 0x80
							      : '?';
		memcpy(&out[o++], &b, 1); /* a byte of CP1252, whatever char's sign */
		p += n;
	}
	out[o] = '\0';
}

static void text_at(struct doc *d, HPDF_Font font, float size, float x, float y, const char *s)
{
	char w[TEXT_MAX];

	winansi(s, w);
	HPDF_Page_BeginText(d->page);
	HPDF_Page_SetFontAndSize(d->page, font, size);
	HPDF_Page_TextOut(d->page, x, y, w);
	HPDF_Page_EndText(d->page);
}

/* Right-aligned at x. */
static void text_right(struct doc *d, HPDF_Font font, float size, float x, float y, const char *s)
{
	char w[TEXT_MAX];

	winansi(s, w);
	HPDF_Page_SetFontAndSize(d->page, font, size);
	text_at(d, font, size, x - HPDF_Page_TextWidth(d->page, w), y, s);
}

static void line_across(struct doc *d, float y)
{
	HPDF_Page_SetLineWidth(d->page, 0.5f);
	HPDF_Page_MoveTo(d->page, 50, y);
	HPDF_Page_LineTo(d->page, 545, y);
	HPDF_Page_Stroke(d->page);
}

static void money(int64_t minor, uint8_t currency, char *out, size_t size)
{
	char t[BILLING_MONEY_TEXT];

	billing_money_text((struct money){minor, currency}, t);
	snprintf(out, size, "%s %s", core_currency_name((enum currency)currency), t);
}

static void date_of(int64_t t, char out[11])
{
	char full[21];

	authd_time_str(t, full);
	memcpy(out, full, 10); /* YYYY-MM-DD */
	out[10] = '\0';
}

/* A label and its value, right-aligned in the totals' column. */
static void total_row(struct doc *d, const char *label, const char *value, bool bold)
{
	HPDF_Font f = bold ? d->bold : d->regular;

	text_right(d, f, 10, 430, d->y, label);
	text_right(d, f, 10, 545, d->y, value);
	d->y -= 16;
}

static void draw(struct doc *d, const struct invoice *inv, int64_t now, const char *seller)
{
	const struct billing_address *a = &inv->address;
	const char *title = inv->status == INVOICE_PAID	       ? "Invoice"
			    : inv->status == INVOICE_CANCELLED ? "Cancelled invoice"
							       : "Pro-forma invoice";
	char buf[TEXT_MAX], amount[64], d1[11], rate[BILLING_MONEY_TEXT];

	text_at(d, d->bold, 20, 50, 780, title);
	text_at(d, d->regular, 10, 50, 760, seller);
	/* The billing address, as it was when ordered. */
	d->y = 720;
	text_at(d, d->bold, 10, 50, d->y, "Bill to");
	d->y -= 14;
	text_at(d, d->regular, 10, 50, d->y, a->name);
	d->y -= 13;
	text_at(d, d->regular, 10, 50, d->y, a->line1);
	d->y -= 13;
	if (a->line2[0]) {
		text_at(d, d->regular, 10, 50, d->y, a->line2);
		d->y -= 13;
	}
	snprintf(buf, sizeof(buf), "%s %s", a->postal_code, a->city);
	text_at(d, d->regular, 10, 50, d->y, buf);
	d->y -= 13;
	text_at(d, d->regular, 10, 50, d->y, a->country);
	if (a->vat_number[0]) {
		d->y -= 13;
		snprintf(buf, sizeof(buf), "VAT %s", a->vat_number);
		text_at(d, d->regular, 10, 50, d->y, buf);
	}
	/* Number and dates, beside the address. */
	snprintf(buf, sizeof(buf), "Invoice number %" PRIu64, inv->number);
	text_right(d, d->bold, 10, 545, 720, buf);
	date_of(inv->created_at, d1);
	snprintf(buf, sizeof(buf), "Date %s", d1);
	text_right(d, d->regular, 10, 545, 706, buf);
	date_of(inv->due_at, d1);
	snprintf(buf, sizeof(buf), "Due %s", d1);
	text_right(d, d->regular, 10, 545, 693, buf);
	if (inv->status == INVOICE_PAID) {
		date_of(inv->paid_at, d1);
		snprintf(buf, sizeof(buf), "Paid %s", d1);
	} else if (inv->status == INVOICE_CANCELLED) {
		date_of(inv->cancelled_at, d1);
		snprintf(buf, sizeof(buf), "Cancelled %s", d1);
	} else
		snprintf(buf, sizeof(buf), "%s", now >= inv->due_at ? "Overdue" : "Not paid yet");
	text_right(d, d->regular, 10, 545, 680, buf);
	/* The lines. */
	d->y = 600;
	text_at(d, d->bold, 10, 50, d->y, "Description");
	text_right(d, d->bold, 10, 360, d->y, "Quantity");
	text_right(d, d->bold, 10, 450, d->y, "Unit price");
	text_right(d, d->bold, 10, 545, d->y, "Amount");
	line_across(d, d->y - 5);
	d->y -= 20;
	for (unsigned i = 0; i < inv->n_items; i++) {
		const struct invoice_item *it = &inv->items[i];

		text_at(d, d->regular, 10, 50, d->y, it->text);
		snprintf(buf, sizeof(buf), "%" PRIu32, it->quantity);
		text_right(d, d->regular, 10, 360, d->y, buf);
		money(it->unit_minor, inv->currency, amount, sizeof(amount));
		text_right(d, d->regular, 10, 450, d->y, amount);
		money(it->unit_minor * (int64_t)it->quantity, inv->currency, amount,
		      sizeof(amount));
		text_right(d, d->regular, 10, 545, d->y, amount);
		d->y -= 16;
	}
	line_across(d, d->y + 8);
	d->y -= 10;
	money(inv->subtotal, inv->currency, amount, sizeof(amount));
	total_row(d, "Subtotal", amount, false);
	if (inv->discount) {
		snprintf(buf, sizeof(buf), "Discount (%s)",
			 inv->voucher[0] ? inv->voucher : "voucher");
		money(-inv->discount, inv->currency, amount, sizeof(amount));
		total_row(d, buf, amount, false);
	}
	billing_money_text((struct money){inv->tax_bp, inv->currency}, rate);
	snprintf(buf, sizeof(buf), "Tax %s%%", rate);
	money(inv->tax, inv->currency, amount, sizeof(amount));
	total_row(d, buf, amount, false);
	money(inv->total, inv->currency, amount, sizeof(amount));
	total_row(d, "Total", amount, true);
}

int pdf_invoice(const struct invoice *inv, int64_t now, const char *seller, uint8_t **out,
		size_t *len)
{
	struct doc d = {0};
	char title[64];
	uint8_t *buf = NULL;
	HPDF_UINT32 size = 0;
	int rc = -1;

	*out = NULL;
	*len = 0;
	if ((d.pdf = HPDF_New(on_error, &d)) == NULL)
		return -1;
	HPDF_SetCompressionMode(d.pdf, HPDF_COMP_ALL);
	snprintf(title, sizeof(title), "Invoice %" PRIu64, inv->number);
	HPDF_SetInfoAttr(d.pdf, HPDF_INFO_TITLE, title);
	HPDF_SetInfoAttr(d.pdf, HPDF_INFO_CREATOR, "authd");
	d.regular = HPDF_GetFont(d.pdf, "Helvetica", "WinAnsiEncoding");
	d.bold = HPDF_GetFont(d.pdf, "Helvetica-Bold", "WinAnsiEncoding");
	d.page = HPDF_AddPage(d.pdf);
	if (d.failed || d.page == NULL)
		goto out;
	HPDF_Page_SetSize(d.page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
	draw(&d, inv, now, seller);
	if (d.failed || HPDF_SaveToStream(d.pdf) != HPDF_OK)
		goto out;
	size = HPDF_GetStreamSize(d.pdf);
	if (size == 0 || (buf = malloc(size)) == NULL)
		goto out;
	if (HPDF_ReadFromStream(d.pdf, buf, &size) != HPDF_OK && size == 0)
		goto out;
	*out = buf;
	*len = size;
	buf = NULL;
	rc = d.failed ? -1 : 0;
out:
	if (rc != 0 && *out) {
		free(*out);
		*out = NULL;
		*len = 0;
	}
	free(buf);
	HPDF_Free(d.pdf);
	return rc;
}
