// Creating an account: email, name, password. The account comes with an
// organization named after the person, and a session.
import { api, setCsrf } from "../api.js";
import { navigate } from "../app.js";
import { h, field, form, render } from "../ui.js";

export async function page() {
  setCsrf(null);
  render("Create an account", h("div", { class: "narrow" }, h("div", { class: "card" },
    h("h1", {}, "Create an account"),
    form({
      label: "Create an account",
      submit: "Create account",
      async onsubmit(v) {
        const email = v.email.trim();
        await api("POST", "accounts", { email, name: v.name.trim(), password: v.password });
        // A new account has no second factor yet: the password signs in.
        await api("POST", "login", { email, password: v.password });
        navigate("/console?welcome=1", true);
      },
    },
    field({ name: "email", type: "email", label: "Email", autocomplete: "username",
      hint: "Your login. It is not a mailbox of ours." }),
    field({ name: "name", label: "Your name", autocomplete: "name", maxlength: 100 }),
    field({ name: "password", type: "password", label: "Password", autocomplete: "new-password",
      hint: "At least 8 characters; longer is better. Common passwords are refused." })),
    h("p", {}, "Have an account? ", h("a", { href: "/login", "data-nav": true }, "Sign in")))));
}
