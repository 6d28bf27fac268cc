// The account's own pages: the overview and its sessions.
import { api } from "../api.js";
import { h, render, alert, when, table, errorText } from "../ui.js";

export async function overview(ctx) {
  const a = ctx.account;
  const [devices, rec] = await Promise.all([api("GET", "me/devices"), api("GET", "me/recovery")]);
  const factors = [a.two_factor.totp ? "authenticator app" : null,
    devices.devices.length ? `${devices.devices.length} phone${devices.devices.length === 1 ? "" : "s"}` : null,
    rec.sms_factor ? "SMS codes" : null].filter(Boolean);
  const welcome = new URLSearchParams(location.search).get("welcome");
  render("Overview",
    h("h1", {}, "Your account"),
    welcome ? alert("ok", "Your account is ready. Turn on two-step sign-in to protect it.") : null,
    h("div", { class: "card" },
      h("dl", {},
        h("dt", {}, "Name"), h("dd", {}, a.name),
        h("dt", {}, "Login email"), h("dd", { id: "login-email" }, a.email),
        h("dt", {}, "Member since"), h("dd", {}, when(a.created_at)),
        h("dt", {}, "Two-step sign-in"),
        h("dd", { id: "two-factor-state" }, factors.length ? `On: ${factors.join(", ")}` : "Off", " · ",
          h("a", { href: "/console/security", "data-nav": true }, "Settings")))));
}

export async function sessions(ctx) {
  const list = (await api("GET", "me/sessions")).sessions;
  const status = h("div", { role: "status" });
  const end = async (s, button) => {
    button.disabled = true;
    try {
      await api("DELETE", "me/sessions/" + s.id);
      if (s.current) location.assign("/login");
      else ctx.reload();
    } catch (e) {
      status.replaceChildren(alert("error", errorText(e)));
      button.disabled = false;
    }
  };
  const rows = list.map((s) => {
    const b = h("button", { type: "button", class: "secondary" }, s.current ? "Sign out" : "End");
    b.addEventListener("click", () => end(s, b));
    b.setAttribute("aria-label", s.current ? "Sign out of this session"
      : `End the session from ${s.browser}, ${s.ip || "an unknown address"}, last used ${when(s.last_seen)}`);
    return [h("span", {}, s.browser, s.current ? h("span", { class: "badge" }, " this one") : null),
      [s.ip || "", h("br"), s.location || ""], when(s.last_seen), when(s.expires_at), b];
  });
  const others = h("button", { type: "button", class: "danger" }, "End every other session");
  others.addEventListener("click", async () => {
    others.disabled = true;
    try {
      const r = await api("DELETE", "me/sessions");
      ctx.notice = `${r.ended} other session${r.ended === 1 ? "" : "s"} ended.`;
      await ctx.reload();
    } catch (e) {
      status.replaceChildren(alert("error", errorText(e)));
    } finally {
      others.disabled = false;
    }
  });
  if (ctx.notice) status.append(alert("ok", ctx.notice));
  ctx.notice = null;
  render("Sessions", h("h1", {}, "Sessions"), status,
    h("div", { class: "card" },
      h("p", {}, "Where your account is signed in. End any you do not recognise, then change your password."),
      table(["Browser", "Address", "Last used", "Ends", ""], rows, "Your sessions"),
      list.length > 1 ? others : null));
}
