/*
 * Invoices as PDF: what GET .../billing/invoices/{id}.pdf answers. An
 * open invoice's document is a pro-forma; a paid one's, the invoice.
 */
#ifndef AUTHD_PDF_H
#define AUTHD_PDF_H

#include <core.h>

#include <stddef.h>
#include <stdint.h>

/*
 * Draws inv as it stands at now, from seller (a line naming the operator),
 * into *out (malloc'd, *len bytes; the caller frees). Returns 0, or -1
 * (logged) with *out NULL. Thread-safe: each call has its own document.
 */
int pdf_invoice(const struct invoice *inv, int64_t now, const char *seller, uint8_t **out,
		size_t *len);

#endif
