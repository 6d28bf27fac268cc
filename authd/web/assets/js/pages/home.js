// "/": the console when a session is live, else the sign-in page.
import { me } from "../api.js";
import { navigate } from "../app.js";

export async function page() {
  navigate((await me()) ? "/console" : "/login", true);
}
