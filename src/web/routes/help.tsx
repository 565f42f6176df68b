import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../env.ts";
import { render } from "../render.tsx";
import { describeDuration } from "../../delivery/messages.ts";
import { LOCKOUT_MS, LOCKOUT_THRESHOLD } from "../../auth/lockout.ts";
import { HelpIndex } from "../../../templates/help/index.tsx";
import { WhatIsMfa } from "../../../templates/help/what-is-mfa.tsx";
import { RememberMeHelp } from "../../../templates/help/remember-me.tsx";
import { AuthenticatorAppHelp } from "../../../templates/help/authenticator-app.tsx";
import { PasskeysHelp } from "../../../templates/help/passkeys.tsx";
import { RecoveryCodesHelp } from "../../../templates/help/recovery-codes.tsx";
import { MfaHelp, PROBLEMS, type HelpSettings, type Problem } from "../../../templates/help/mfa.tsx";

/** Help pages: static text with the durations this portal is configured with. */
export function helpRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  const ttl = deps.config.ttl;
  const settings: HelpSettings = {
    registrationLink: describeDuration(ttl.registrationLink),
    registrationResetLink: describeDuration(ttl.registrationResetLink),
    resumeLink: describeDuration(ttl.resumeLink),
    emailLoginCode: describeDuration(ttl.emailLoginCode),
    lockoutThreshold: LOCKOUT_THRESHOLD,
    lockoutDuration: describeDuration(LOCKOUT_MS),
    supportContact: deps.config.supportContact,
  };

  app.get("/help", (c) => render(c, deps, { title: "Help", body: <HelpIndex supportContact={deps.config.supportContact} /> }));

  app.get("/help/what-is-mfa", (c) => render(c, deps, { title: "What is MFA and how it works", body: <WhatIsMfa /> }));

  app.get("/help/remember-me", (c) =>
    render(c, deps, {
      title: "Remember Me and setting up your browser",
      body: <RememberMeHelp duration={describeDuration(ttl.rememberMe > 0 ? ttl.rememberMe : 4 * 3_600_000)} enabled={ttl.rememberMe > 0} />,
    }),
  );

  app.get("/help/authenticator-app", (c) =>
    render(c, deps, {
      title: "Authenticator apps",
      body: <AuthenticatorAppHelp lockoutThreshold={settings.lockoutThreshold} lockoutDuration={settings.lockoutDuration} />,
    }),
  );

  app.get("/help/passkeys", (c) => render(c, deps, { title: "Passkeys", body: <PasskeysHelp /> }));

  app.get("/help/recovery-codes", (c) => render(c, deps, { title: "Recovery codes", body: <RecoveryCodesHelp /> }));

  app.get("/help/mfa", (c) => {
    const asked = c.req.queries("problem") ?? [];
    const known = PROBLEMS.map(([value]) => value as string);
    const problem = asked.length === 1 && known.includes(asked[0]!) ? (asked[0] as Problem) : null;
    // A Continue with nothing selected (or a made-up value) asks again.
    const invalid = (asked.length > 0 || c.req.query("asked") === "1") && problem === null;
    return render(c, deps, {
      title: "Multi-Factor Authentication Help",
      status: invalid ? 400 : 200,
      body: <MfaHelp problem={problem} invalid={invalid} settings={settings} />,
    });
  });

  return app;
}
