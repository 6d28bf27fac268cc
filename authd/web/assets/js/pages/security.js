// Two-step sign-in settings: an authenticator app (TOTP, enrolled from a QR
// code), linked phones (the authd app: linked from a QR code, confirmed live
// once the phone completes the link), backup codes (shown once, to save or
// print), and SMS codes on the verified recovery number.
import { api, me } from "../api.js";
import { navigate } from "../app.js";
import { h, field, form, render, alert, when, table, errorText, download } from "../ui.js";

function svgImage(svg, alt, id) {
  return h("img", { class: "qr", id, alt, src: "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svg) });
}

// A recent second factor is needed: send the person through sign-in again,
// back to this page.
function needsReauth(e) {
  if (e.code !== "reauth_required") return false;
  navigate("/login?notice=reauth&next=" + encodeURIComponent(location.pathname), true);
  return true;
}

export async function page(ctx) {
  const [devices, recovery] = await Promise.all([api("GET", "me/devices"), api("GET", "me/recovery")]);
  const a = ctx.account;
  const status = h("div", { id: "security-status" });
  if (ctx.notice) status.append(alert("ok", ctx.notice));
  ctx.notice = null;
  const cards = [
    totpCard(a, status, ctx),
    devicesCard(devices.devices, status, ctx),
    backupCard(a, status, ctx),
    smsCard(recovery, status, ctx),
  ];
  render("Two-step sign-in", h("h1", {}, "Two-step sign-in"), status, ...cards);
}

// The backup codes a change returned: shown once, with download and print.
export function showBackupCodes(where, codes) {
  const text = "Backup codes (each works once)\n\n" + codes.join("\n") + "\n";
  const box = h("section", { class: "card", id: "backup-codes", "aria-labelledby": "backup-codes-title" },
    h("h2", { id: "backup-codes-title" }, "Your backup codes"),
    alert("info", "Save these codes now: they are shown only once. Each one signs you in once if you lose your phone."),
    h("ol", { class: "codes" }, codes.map((c) => h("li", {}, c))),
    h("button", { type: "button", onclick: () => download("backup-codes.txt", text) }, "Download"),
    h("button", { type: "button", class: "secondary", onclick: () => window.print() }, "Print"));
  where.replaceChildren(box);
  const left = document.getElementById("backup-left");
  if (left) left.textContent = `${codes.length} unused backup codes. New ones replace every old one.`;
  box.querySelector("h2").setAttribute("tabindex", "-1");
  box.querySelector("h2").focus();
}

function totpCard(a, status, ctx) {
  const body = h("div", {});
  const card = h("section", { class: "card", "aria-labelledby": "totp-title" },
    h("h2", { id: "totp-title" }, "Authenticator app"), body);
  if (a.two_factor.totp) {
    body.append(h("p", {}, "On. Your authenticator app gives a new 6-digit code every 30 seconds."),
      h("details", {}, h("summary", {}, "Turn it off"),
        form({
          label: "Turn off the authenticator app",
          submit: "Turn off",
          async onsubmit(v) {
            await api("DELETE", "me/2fa/totp", { code: v.code.trim() });
            ctx.notice = "The authenticator app is off.";
            await ctx.reload();
          },
        }, field({ name: "code", label: "A current code from the app", inputmode: "numeric",
          autocomplete: "one-time-code", maxlength: 8 }))));
    return card;
  }
  const start = h("button", { type: "button" }, "Set up an authenticator app");
  body.append(h("p", {}, "Use any authenticator app (or the authd app) to make sign-in codes."), start);
  start.addEventListener("click", async () => {
    start.disabled = true;
    let e;
    try {
      e = await api("POST", "me/2fa/totp");
    } catch (err) {
      start.disabled = false;
      if (!needsReauth(err)) status.replaceChildren(alert("error", errorText(err)));
      return;
    }
    body.replaceChildren(
      h("ol", {},
        h("li", {}, "Scan this QR code with your authenticator app:"),
      ),
      svgImage(e.qr_svg, "QR code to add this account to an authenticator app", "totp-qr"),
      h("details", {}, h("summary", {}, "Cannot scan? Type the key instead"),
        h("p", { class: "mono", id: "totp-secret" }, e.secret)),
      form({
        label: "Confirm the authenticator app",
        submit: "Turn on",
        async onsubmit(v) {
          const r = await api("POST", "me/2fa/totp/confirm", { code: v.code.trim(), enrollment_id: e.enrollment_id });
          const fresh = await me();
          ctx.account = fresh;
          status.replaceChildren(alert("ok", "Two-step sign-in is on."));
          body.replaceChildren(h("p", {}, "On."));
          if (r.backup_codes) showBackupCodes(status, r.backup_codes);
        },
      }, field({ name: "code", label: "Then type the 6-digit code it shows", inputmode: "numeric",
        autocomplete: "one-time-code", maxlength: 8 })));
    body.querySelector("input").focus();
  });
  return card;
}

function devicesCard(devices, status, ctx) {
  const rows = devices.map((d) => {
    const b = h("button", { type: "button", class: "secondary", "aria-label": `Remove ${d.name}` }, "Remove");
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        await api("DELETE", "me/devices/" + d.id);
        ctx.notice = `${d.name} is removed.`;
        await ctx.reload();
      } catch (e) {
        b.disabled = false;
        if (!needsReauth(e)) status.replaceChildren(alert("error", errorText(e)));
      }
    });
    return [d.name, when(d.created_at), d.last_seen ? [when(d.last_seen), " ", d.last_location || d.last_ip || ""] : "never", b];
  });
  const body = h("div", {});
  const add = h("button", { type: "button" }, "Link a phone");
  add.addEventListener("click", () => linkPhone(body, add, status, ctx));
  return h("section", { class: "card", "aria-labelledby": "devices-title" },
    h("h2", { id: "devices-title" }, "Phones"),
    h("p", {}, "A linked phone gets a request to approve each sign-in, and shows offline codes."),
    devices.length ? table(["Name", "Linked", "Last seen", ""], rows, "Linked phones") : h("p", {}, "No phone is linked."),
    h("div", { class: "link-result", id: "link-state", role: "status" }), body, add);
}

async function linkPhone(body, add, status, ctx) {
  add.disabled = true;
  let offer;
  try {
    offer = await api("POST", "me/devices");
  } catch (e) {
    add.disabled = false;
    if (!needsReauth(e)) status.replaceChildren(alert("error", errorText(e)));
    return;
  }
  const state = h("p", { role: "status", id: "link-wait" },
    h("span", { class: "spinner", "aria-hidden": "true" }), " Waiting for the phone…");
  body.replaceChildren(
    h("p", {}, "In the authd app, choose “Link from a computer” and scan this code. It works once, for ",
      Math.round(offer.expires_in / 60), " minutes."),
    svgImage(offer.qr_svg, "QR code to link a phone", "link-qr"), state);
  if (offer.backup_codes) showBackupCodes(status, offer.backup_codes);
  const until = Date.now() + offer.expires_in * 1000;
  const look = async () => {
    if (!document.body.contains(state)) return; // the page changed
    try {
      const d = await api("GET", "me/devices/" + offer.id);
      // The list grows in place: backup codes shown above stay on screen.
      const card = state.closest("section");
      const fresh = devicesCard((await api("GET", "me/devices")).devices, status, ctx);
      card.replaceWith(fresh);
      const result = fresh.querySelector(".link-result");
      result.replaceChildren(alert("ok", `Linked: ${d.name}. It will get your sign-in requests.`));
      result.setAttribute("tabindex", "-1");
      if (!document.getElementById("backup-codes")) result.focus();
      return;
    } catch (e) {
      if (e.code !== "device_not_found") {
        state.replaceChildren(alert("error", errorText(e)));
        return;
      }
    }
    if (Date.now() > until) {
      state.replaceChildren(alert("error", "The code has expired. Link again to get a new one."));
      add.disabled = false;
      return;
    }
    setTimeout(look, 1000);
  };
  setTimeout(look, 1000);
}

function backupCard(a, status, ctx) {
  const left = a.two_factor.backup_codes_remaining;
  const b = h("button", { type: "button", class: "secondary" }, "Make new backup codes");
  b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      const r = await api("POST", "me/2fa/backup-codes");
      showBackupCodes(status, r.backup_codes);
    } catch (e) {
      if (!needsReauth(e)) status.replaceChildren(alert("error", errorText(e)));
    } finally {
      b.disabled = false;
    }
  });
  return h("section", { class: "card", "aria-labelledby": "backup-title" },
    h("h2", { id: "backup-title" }, "Backup codes"),
    h("p", { id: "backup-left" }, `${left} unused backup code${left === 1 ? "" : "s"}. New ones replace every old one.`),
    b);
}

function smsCard(rec, status, ctx) {
  const body = h("div", {});
  if (rec.sms_factor) {
    const off = h("button", { type: "button", class: "secondary" }, "Turn off SMS codes");
    off.addEventListener("click", async () => {
      try {
        await api("DELETE", "me/2fa/sms");
        ctx.reload();
      } catch (e) {
        if (!needsReauth(e)) status.replaceChildren(alert("error", errorText(e)));
      }
    });
    body.append(h("p", {}, `On: codes go to ${rec.phone}.`), off);
  } else if (rec.phone) {
    const on = h("button", { type: "button", class: "secondary" }, `Send codes to ${rec.phone}`);
    on.addEventListener("click", async () => {
      try {
        const r = await api("PUT", "me/2fa/sms");
        if (r && r.backup_codes) showBackupCodes(status, r.backup_codes);
        else ctx.reload();
      } catch (e) {
        if (!needsReauth(e)) status.replaceChildren(alert("error", errorText(e)));
      }
    });
    body.append(h("p", {}, "SMS codes are the weakest second step: prefer a phone or an app."), on);
  } else {
    body.append(h("p", {}, "Add and verify a recovery phone number first, in ",
      h("a", { href: "/console/settings", "data-nav": true }, "account settings"), "."));
  }
  return h("section", { class: "card", "aria-labelledby": "sms-title" },
    h("h2", { id: "sms-title" }, "SMS codes"), body);
}
