/**
 * Provider organizations in Chromium, JavaScript on and off (issue 14): a Provider
 * Administrator of a clinic registers, invites a staff member of their clinic from the
 * Administration page, who registers; the administrator cannot find a user of another clinic;
 * they import a CSV (Cancel sends nothing, Send invitations sends) and download the audit log.
 * A portal Administrator adds an organization on the Organizations page and invites a member.
 * Every page is checked with axe and for reflow at 320 px by the journey.
 */
import { e2eSuite, path } from "./support/e2e.ts";
import { acceptTerms, createPassword, openRegistrationLink, registeredByEmail, signOut, verifyEmail, type Person } from "./support/steps.ts";
import { addOrganization, inviteMember } from "./support/orgs.ts";

const s = e2eSuite("e2e: provider organizations");

path(s, "a provider administrator invites staff of their clinic, who registers, and cannot see another clinic", async (j) => {
  const app = j.env.app;
  const tag = j.email("org").split("@")[0]!.slice(-8);
  const clinic = await addOrganization(app, `Maple Clinic ${tag} ${j.mode}`);
  const otherClinic = await addOrganization(app, `Birch Clinic ${tag} ${j.mode}`);
  const outsider = j.email("outsider");
  await inviteMember(app, { email: outsider, name: "Olive Outsider", organization: otherClinic, role: "provider-staff" });

  // The clinic's administrator registers from the link the operator's invite emailed.
  const adminEmail = j.email("clinicadmin");
  const admin: Person = { email: adminEmail, inbox: j.inbox(adminEmail), link: "" };
  admin.link = await inviteMember(app, { email: adminEmail, name: "Casey Clinic-Admin", organization: clinic, role: "provider-admin" });
  await admin.inbox.expect("email");
  await openRegistrationLink(j, admin.link);
  await j.press("Email", "clinic admin: method chosen: email", j.button("Send Verification Code"));
  await verifyEmail(j, admin);
  await createPassword(j, admin, "terms");
  await acceptTerms(j);
  await j.follow("Administration", "clinic admin: administration", j.heading("Administration"));

  // Create user: the clinic is the only organization, Provider Staff the first role.
  const email = j.email("staff");
  const newcomer: Person = { email, inbox: j.inbox(email), link: "" };
  await j.fill("Email Address", email);
  await j.fill("Name", "Sam Staff");
  await j.press("Create user", "staff member created", j.page.getByText(email).first());
  newcomer.link = await newcomer.inbox.link();

  // Another clinic's user is not found by search.
  await j.fill("Search", outsider);
  await j.press("Search", "searched for another clinic's user", j.page.getByText("No users match the search."));

  // Import users: Cancel sends nothing; then Send invitations.
  await j.follow("Import users", "import users", j.heading("Import users"));
  const imported = [j.email("imp1"), j.email("imp2")];
  const csv = `email,name,role\r\n${imported[0]},Ida Import,provider-staff\r\n${imported[1]},Ike Import,provider-staff\r\nnot-an-address,Bad Row,provider-staff\r\n`;
  await j.page.getByLabel("CSV file", { exact: true }).setInputFiles({ name: "staff.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await j.press("Check file", "import preview", j.heading("Check the import"));
  await j.see(j.page.getByText("Not sent: Enter a valid email address, like name@example.com."), "the bad row's error");
  await j.press("Cancel", "import cancelled", j.page.getByText("The import was cancelled. No invitations were sent."));
  await j.page.getByLabel("CSV file", { exact: true }).setInputFiles({ name: "staff.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await j.press("Check file", "import preview again", j.heading("Check the import"));
  await j.press("Send invitations", "invitations sent", j.page.getByText("Sent 2 invitations. 1 line was not sent."));
  await j.inbox(imported[0]!).expect("email");

  // Download audit log (the button of the audit filter): a CSV of the clinic's events.
  await j.goto("/admin/audit", "audit log", j.button("Download audit log"));
  const csvResponse = await j.page.context().request.get("/admin/audit.csv");
  if (csvResponse.status() !== 200 || !/^text\/csv/.test(csvResponse.headers()["content-type"] ?? "")) throw new Error(`audit download: ${csvResponse.status()}`);
  const log = await csvResponse.text();
  if (!log.includes(email) || log.includes(outsider)) throw new Error("the audit download is not the clinic's own");

  await j.goto("/home", "clinic admin: back home", j.button("Sign out"));
  await signOut(j);
  await openRegistrationLink(j, newcomer.link);
  await j.press("Email", "staff: method chosen: email", j.button("Send Verification Code"));
  await verifyEmail(j, newcomer);
  await createPassword(j, newcomer, "terms");
  await acceptTerms(j);
  const who = await j.page.getByRole("main").textContent();
  if (!who?.includes("Sam Staff")) throw new Error("Home does not name the new staff member (Sam Staff)");
  if ((await j.link("Administration").count()) !== 0) throw new Error("Provider Staff got an Administration link");
});

path(s, "a portal administrator adds an organization and invites its first member", async (j) => {
  await registeredByEmail(j, { tag: "portaladmin", admin: true, staySignedIn: true });
  await j.goto("/admin", "portal admin: administration", j.heading("Administration"));
  await j.follow("Organizations", "organizations", j.heading("Organizations"));
  const name = `Cedar Group ${j.email("g").split("@")[0]!.slice(-8)} ${j.mode}`;
  await j.fill("Name", name);
  await j.press("Add organization", "organization added", j.page.getByText(`Added ${name}.`));
  await j.follow(name, "organization's page", j.heading(name));
  const email = j.email("member");
  await j.fill("Email Address", email);
  await j.fill("Name", "Mina Member");
  await j.page.getByLabel("Role", { exact: true }).selectOption("group_admin");
  await j.press("Invite member", "member invited", j.page.getByText(email).first());
  await j.inbox(email).expect("email");
});

s.run();
