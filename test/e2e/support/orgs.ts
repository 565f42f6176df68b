/**
 * Organizations for the browser paths: `npm run organization -- add` and `npm run invite` with
 * `--organization --role`, against the running app's database, as an operator sets a clinic up.
 */
import { spawn } from "node:child_process";
import { ROOT, type RunningApp } from "./app.ts";

function npm(app: RunningApp, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn("npm", ["run", "--silent", ...args], { cwd: ROOT, env: app.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

const lastLine = (text: string) => text.trim().split("\n").pop()?.trim() ?? "";

/** Adds an organization; returns its name as stored. */
export async function addOrganization(app: RunningApp, name: string, parent?: string): Promise<string> {
  const args = ["organization", "--", "add", "--name", name, ...(parent ? ["--parent", parent] : [])];
  const { code, stdout, stderr } = await npm(app, args);
  if (code !== 0) throw new Error(`npm run organization add --name ${name} failed (exit ${code})\n${stdout}\n${stderr}`);
  return (JSON.parse(lastLine(stdout)) as { name: string }).name;
}

/** Invites a member of an organization; returns the registration link (the command's last line). */
export async function inviteMember(app: RunningApp, user: { email: string; name: string; organization: string; role: "group-admin" | "provider-admin" | "provider-staff" }): Promise<string> {
  const args = ["invite", "--", "--email", user.email, "--name", user.name, "--organization", user.organization, "--role", user.role];
  const { code, stdout, stderr } = await npm(app, args);
  const link = lastLine(stdout);
  if (code !== 0 || !/^https?:\/\//.test(link)) throw new Error(`npm run invite --organization failed (exit ${code}); last line "${link}"\n${stdout}\n${stderr}`);
  return link;
}
