// Organizations as their people use them: invite someone who has an
// account and someone who has none, each accepts from the emailed link;
// the invitee switches to the inviting organization (no new sign-in) and
// sees only the pages the policy gives a collaborator; the legal
// representative then makes one an administrator.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { BASE, PASSWORD, launch, open, checkpoint, done, unique, signup, nav, waitForMessage, remember } from "./lib.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

async function invite(page, email, role) {
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Role", { exact: true }).selectOption(role);
  await page.getByRole("button", { name: "Send the invitation" }).click();
  await page.locator("main").getByText(`An invitation is on its way to ${email}.`).waitFor();
}

function linkIn(mail) {
  const link = mail.body.match(/(http\S+\/invitations\/accept\?token=[\w-]+)/)[1];
  remember(new URL(link).searchParams.get("token"));
  return link;
}

test("invite and accept, switch organization, change a role", async () => {
  const alice = await open(browser, "orgs-alice");
  const carol = await open(browser, "orgs-carol");
  const dave = await open(browser, "orgs-dave");
  const aliceEmail = unique("alice");
  const carolEmail = unique("carol");
  const daveEmail = unique("dave");
  await signup(alice, aliceEmail, "Alice Owner");
  await signup(carol, carolEmail, "Carol Member");

  await nav(alice, "Invitations");
  await invite(alice, carolEmail, "collaborator");
  await invite(alice, daveEmail, "collaborator");
  await checkpoint(alice, "invitations-pending", "Invitations");
  assert.equal(await alice.getByRole("cell", { name: carolEmail, exact: true }).count(), 1);

  // Carol has an account: she accepts while signed in.
  await carol.goto(linkIn(await waitForMessage(carolEmail, /invitations\/accept/)));
  await checkpoint(carol, "invitation", "Invitation");
  assert.equal(new URL(carol.url()).search, "", "the token leaves the address bar");
  await carol.locator("main").getByText("Alice Owner invites").waitFor();
  await carol.getByRole("button", { name: "Accept" }).click();
  await checkpoint(carol, "joined", "Your account");

  // Switching is instant: the same session, another organization.
  const options = await carol.locator("#org-switch option").allTextContents();
  assert.equal(options.length, 2);
  const target = options.find((o) => o.startsWith("Alice Owner"));
  await carol.getByLabel("Organization", { exact: true }).selectOption({ label: target });
  await carol.getByRole("button", { name: "Switch" }).click();
  // The console is drawn again for the new organization: a collaborator's
  // navigation has no Invitations.
  await carol.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Invitations" }).waitFor({ state: "detached" });
  await checkpoint(carol, "switched", "Your account");
  const links = await carol.getByRole("navigation", { name: "Console" }).getByRole("link").allTextContents();
  assert.ok(!links.includes("Invitations") && !links.includes("Billing"), `a collaborator's pages: ${links}`);
  assert.ok(links.includes("Products"), `a collaborator's pages: ${links}`);
  await nav(carol, "Products");

  // Dave has no account: the invitation makes one, in Alice's organization.
  await dave.goto(linkIn(await waitForMessage(daveEmail, /invitations\/accept/)));
  await checkpoint(dave, "invitation-new", "Invitation");
  await dave.getByLabel("Your name", { exact: true }).fill("Dave New");
  await dave.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await dave.getByRole("button", { name: "Create account and join" }).click();
  await checkpoint(dave, "joined-new", "Your account");
  assert.match(await dave.locator("#org-switch option:checked").textContent(), /^Alice Owner/);

  // A product only Dave's team may use: Dave sees it, through the team.
  await nav(alice, "Products");
  await alice.getByLabel("Kind", { exact: true }).selectOption("mail");
  await alice.getByLabel("Name", { exact: true }).fill("team-mail.example");
  await alice.getByRole("button", { name: "Add", exact: true }).click();
  await alice.locator("main").getByText("team-mail.example is added.").waitFor();
  await nav(alice, "Teams");
  await alice.getByLabel("Team name", { exact: true }).fill("Helpdesk");
  await alice.getByRole("button", { name: "Create the team" }).click();
  await alice.locator("main").getByText("The team Helpdesk is created.").waitFor();
  await alice.getByLabel("Person to add to Helpdesk", { exact: true }).selectOption({ label: daveEmail });
  await alice.getByRole("button", { name: "Add to Helpdesk" }).click();
  await alice.locator("main").getByText(`${daveEmail} joined Helpdesk.`).waitFor();
  await alice.getByRole("button", { name: "Make leader of Helpdesk" }).click();
  await alice.locator("main").getByText(`${daveEmail} leads Helpdesk.`).waitFor();
  await checkpoint(alice, "team", "Teams");
  await nav(alice, "Products");
  await alice.getByRole("link", { name: "Access to team-mail.example" }).click();
  await alice.getByRole("region", { name: "Who may use team-mail.example" }).waitFor();
  await checkpoint(alice, "product-access", "Products");
  await alice.getByLabel("To", { exact: true }).selectOption({ label: "team Helpdesk" });
  await alice.getByRole("button", { name: "Give access" }).click();
  await alice.locator("main").getByText("Access to team-mail.example is given.").waitFor();
  assert.match(await alice.getByRole("region", { name: "Who may use team-mail.example" }).textContent(), /team Helpdesk\s*use/);
  await checkpoint(alice, "product-granted", "Products");
  await nav(dave, "Products");
  await dave.getByRole("cell", { name: "team-mail.example", exact: true }).waitFor();

  // Alice sees both and makes Carol an administrator.
  await nav(alice, "Users", "Users of Alice Owner", "users");
  await alice.getByLabel(`Role of ${carolEmail}`, { exact: true }).selectOption("administrator");
  await alice.getByRole("button", { name: `Change the role of ${carolEmail}` }).click();
  await alice.locator("main").getByText(`${carolEmail} is now Administrator.`).waitFor();
  await checkpoint(alice, "role-changed", "Users of Alice Owner");
  assert.ok((await alice.locator("table").textContent()).includes(daveEmail));

  // Carol's console now lists the administrators' pages.
  await carol.reload();
  await checkpoint(carol, "carol-admin", "Products");
  const adminLinks = await carol.getByRole("navigation", { name: "Console" }).getByRole("link").allTextContents();
  assert.ok(adminLinks.includes("Invitations") && adminLinks.includes("Users"), `an administrator's pages: ${adminLinks}`);
  for (const p of [alice, carol, dave]) await done(p);
});
