import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../env.ts";
import { goToPage, render, redirectTo } from "../render.tsx";
import { clearCookie } from "../cookies.ts";
import { endSession } from "../sign-in.ts";
import { requestMeta, type C } from "../steps.tsx";
import { signOut } from "../../flows/login.ts";
import { recentSignIns } from "../../auth/audit.ts";
import { HomePage } from "../../../templates/home.tsx";

/** The portal's root, the home page and Sign out, mounted at /. */

function showRoot(c: C): Response {
  return redirectTo(c, c.get("user") ? "/home" : "/login");
}

async function showHome(c: C, deps: AppDeps): Promise<Response> {
  const user = c.get("user");
  if (!user) return redirectTo(c, "/login");
  const signIns = await recentSignIns(deps.sql, user.id);
  return render(c, deps, { title: "Home", body: <HomePage name={user.name} email={user.email} role={user.role} signIns={signIns} /> });
}

/** Sign out ends the session at the server (the old cookie stops working) and forgets Remember Me. */
async function postLogout(c: C, deps: AppDeps): Promise<Response> {
  await signOut(deps, requestMeta(c, deps), c.get("user"));
  await endSession(c, deps);
  clearCookie(c, deps.config, "remember");
  clearCookie(c, deps.config, "flow");
  return goToPage(c, "/login?signed-out=1");
}

export function homeRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  app.get("/", (c) => showRoot(c));
  app.get("/home", (c) => showHome(c, deps));
  app.post("/logout", (c) => postLogout(c, deps));
  return app;
}
