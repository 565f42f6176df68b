import { e2eSuite, path } from "./support/e2e.ts";
import { registeredByEmail } from "./support/steps.ts";

const s = e2eSuite("e2e: administrator registers applications");

path(s, "admin adds an OIDC client (secret shown once) and a proxied application, edits one, then removes them", async (j) => {
  await registeredByEmail(j, { tag: "apps-admin", admin: true, staySignedIn: true });
  const oidcName = `Demo EHR ${j.mode} ${Date.now().toString(36)}`;
  const proxiedName = `Reports ${j.mode} ${Date.now().toString(36)}`;
  await j.goto("/admin/applications", "applications", j.heading("Applications"));
  await j.fill("Name of the OpenID Connect application", oidcName);
  await j.fill(/^Redirect URIs/, "https://demo.example.org/callback");
  await j.press("Add OpenID Connect application", "client added", j.page.locator('output[name="client-secret"]'));
  const secret = (await j.page.locator('output[name="client-secret"]').textContent()) ?? "";
  if (secret.length < 40) throw new Error(`no client secret shown (${secret})`);
  await j.fill("Name of the application behind the proxy", proxiedName);
  await j.fill("Application URL", "https://reports.example.org/");
  await j.fill(/^Group/, "admin");
  await j.press("Add application behind the proxy", "proxied app added", j.page.getByRole("rowheader", { name: proxiedName }));
  if ((await j.page.content()).includes(secret)) throw new Error("the client secret is shown again");
  await j.follow(`Edit ${oidcName}`, "edit page", j.heading(`Edit ${oidcName}`));
  await j.fill(/^Back-channel logout URL/, "http://demo.example.org/logout");
  await j.press("Save changes", "edit refused", j.page.getByText("There is a problem"));
  await j.fill(/^Back-channel logout URL/, "https://demo.example.org/backchannel-logout");
  await j.press("Save changes", "edit saved", j.page.getByText("Changes saved."));
  await j.see(j.page.getByText("Back-channel logout: https://demo.example.org/backchannel-logout"), "the back-channel logout URL listed");
  await j.press(`Remove ${proxiedName}`, "removed", j.page.getByText("Application removed"));
  await j.press(`Remove ${oidcName}`, "removed both", j.page.getByText("Application removed"));
  if ((await j.page.getByRole("rowheader", { name: oidcName }).count()) + (await j.page.getByRole("rowheader", { name: proxiedName }).count()) > 0) {
    throw new Error("a removed application is still listed");
  }
});

s.run();
