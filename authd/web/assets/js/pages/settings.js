// The account's settings: the login email (changed through a link to the
// new address), the password, the recovery options (an email and a mobile
// number, each verified by a code sent there), and closing the account
// (confirmed by email). Each change asks for the current password.
import { api } from "../api.js";
import { h, field, form, render, alert, when } from "../ui.js";

const pw = () => field({ name: "password", type: "password", label: "Your current password", autocomplete: "current-password" });

export async function page(ctx) {
  const rec = await api("GET", "me/recovery");
  const status = h("div", { id: "page-status", tabindex: "-1" });
  if (ctx.notice) status.append(alert("ok", ctx.notice));
  ctx.notice = null;
  const done = async (text) => { ctx.notice = text; await ctx.reload(); };

  // A login email change waits for its link, not for a code.
  const pending = rec.pending && rec.pending.kind === "login_email" ? h("div", { class: "card", id: "pending" },
    h("h2", {}, "A login email change waits"),
    h("p", {}, `Open the link we sent to ${rec.pending.to} before ${when(rec.pending.expires_at)} to finish it.`))
    : rec.pending ? h("div", { class: "card", id: "pending" },
    h("h2", {}, "Enter the code"),
    h("p", {}, `We sent a code to ${rec.pending.to}. It works until ${when(rec.pending.expires_at)}.`),
    form({ label: "Verify the recovery option", submit: "Verify", async onsubmit(v) {
      await api("POST", "me/recovery/verify", { code: v.code.replace(/\s+/g, "") });
      await done(`${rec.pending.to} is verified.`);
    } }, field({ name: "code", label: "Code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: 12 }))) : null;

  const option = (kind, value, label, type) => h("section", { class: "card", "aria-labelledby": `rec-${kind}` },
    h("h2", { id: `rec-${kind}` }, label),
    h("p", { id: `recovery-${kind}` }, value ? `Verified: ${value}` : "None."),
    h("details", {}, h("summary", {}, value ? "Replace it" : "Add one"), form({
      label: `Set the ${label.toLowerCase()}`,
      submit: "Send a code",
      async onsubmit(v) {
        await api("PUT", `me/recovery/${kind}`, { [kind]: v[kind].trim(), password: v.password });
        await done(`A code is on its way to ${v[kind].trim()}.`);
      },
    }, field({ name: kind, type, label, autocomplete: kind === "phone" ? "tel" : "email",
      hint: kind === "phone" ? "With the country code, like +41 79 123 45 67." : undefined }), pw())),
    value ? h("details", {}, h("summary", {}, "Remove it"), form({
      label: `Remove the ${label.toLowerCase()}`,
      submit: "Remove",
      async onsubmit(v) {
        await api("DELETE", `me/recovery/${kind}`, { password: v.password });
        await done(`The ${label.toLowerCase()} is removed.`);
      },
    }, pw())) : null);

  render("Account settings", h("h1", {}, "Account settings"), status, pending,
    h("section", { class: "card", "aria-labelledby": "email-title" },
      h("h2", { id: "email-title" }, "Login email"),
      h("p", {}, `You sign in with ${ctx.account.email}.`),
      h("details", {}, h("summary", {}, "Change it"), form({
        label: "Change the login email",
        submit: "Send a link",
        async onsubmit(v) {
          await api("PUT", "me/email", { email: v.email.trim(), password: v.password });
          await done(`A link is on its way to ${v.email.trim()}: the change happens when you open it. ${ctx.account.email} is told.`);
        },
      }, field({ name: "email", type: "email", label: "New login email", autocomplete: "email" }), pw()))),
    h("section", { class: "card", "aria-labelledby": "password-title" },
      h("h2", { id: "password-title" }, "Password"),
      form({
        label: "Change the password",
        submit: "Change the password",
        async onsubmit(v) {
          await api("PUT", "me/password", { current_password: v.current_password, new_password: v.new_password });
          await done("Your password is changed. Every other session has ended.");
        },
      }, field({ name: "current_password", type: "password", label: "Current password", autocomplete: "current-password" }),
      field({ name: "new_password", type: "password", label: "New password", autocomplete: "new-password",
        hint: "At least 8 characters; longer is better. Common passwords are refused." }))),
    h("h2", {}, "Recovery options"),
    h("p", {}, "They get you back in when you forget your password."),
    option("email", rec.email, "Recovery email", "email"),
    option("phone", rec.phone, "Recovery mobile number", "tel"),
    h("section", { class: "card", "aria-labelledby": "close-title" },
      h("h2", { id: "close-title" }, "Close the account"),
      h("details", {}, h("summary", {}, "Close it"),
        h("p", {}, "We send a link to your login email; the account and its data are deleted when you confirm there."),
        form({
          label: "Close the account",
          submit: "Send the link",
          async onsubmit(v) {
            await api("POST", "me/close", { password: v.password });
            await done(`A link to confirm the closing is on its way to ${ctx.account.email}.`);
          },
        }, pw()))));
}

// A session of a recovery login (the login email was deleted): it must set
// a new login email before anything else; the change happens when the link
// sent there is opened.
export function newLoginEmail(account) {
  const done = h("div", {});
  render("Choose a new login email", h("div", { class: "narrow" }, h("div", { class: "card" },
    h("h1", {}, "Choose a new login email"),
    h("p", {}, `The mailbox you signed in with is gone; you signed in with your recovery login ${account.email}. Choose the email you will sign in with from now on.`),
    form({
      label: "Set the new login email",
      submit: "Send a link",
      async onsubmit(v, f) {
        await api("PUT", "me/email", { email: v.email.trim(), password: v.password });
        f.hidden = true;
        done.replaceChildren(alert("ok", `A link is on its way to ${v.email.trim()}. Open it to finish; then sign in with that address.`));
      },
    }, field({ name: "email", type: "email", label: "New login email", autocomplete: "email" }), pw()),
    done)));
}
