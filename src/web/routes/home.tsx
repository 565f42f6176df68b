import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../env.ts";
import { goToPage, render, redirectTo } from "../render.tsx";
import { clearCookie } from "../cookies.ts";
import { endSession } from "../sign-in.ts";
import { recentSignIns, signOut } from "../../flows/login.ts";
import { HomePage } from "../../../templates/home.tsx";
import { requestMeta } from "./login.tsx";

export function homeRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();

  app.get("/home", async (c) => {
    const user = c.get("user");
    if (!user) return redirectTo(c, "/login");
    const signIns = await recentSignIns(deps, user.id);
    return render(c, deps, {
      title: "Home",
      body: <HomePage name={user.name} email={user.email} role={user.role} signIns={signIns} />,
    });
  });

  // Sign out ends the session at the server (the old cookie stops working) and forgets Remember Me.
  app.post("/logout", async (c) => {
    await signOut(deps, requestMeta(c, deps), c.get("user"));
    await endSession(c, deps);
    clearCookie(c, deps.config, "remember");
    clearCookie(c, deps.config, "flow");
    return goToPage(c, "/login?signed-out=1");
  });

  return app;
}
