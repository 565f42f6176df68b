import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../env.ts";
import { answerCall, callReplyTwiml } from "../../delivery/voice.ts";
import { loadTwilio } from "../../delivery/twilio.ts";

const FORM = "application/x-www-form-urlencoded";
const CODE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Twilio's callbacks. Exempt from the origin check; instead every request must carry an
 * X-Twilio-Signature over PUBLIC_URL + path + the posted parameters, made with our auth token.
 */
export function webhooksRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();

  app.post("/webhooks/twilio/voice/:codeId", async (c) => {
    const phone = deps.config.phone;
    const signature = c.req.header("x-twilio-signature");
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (phone.kind !== "twilio" || !signature || type !== FORM) return forbidden(c);
    const params = new URLSearchParams(await c.req.text());
    const fields: Record<string, string> = {};
    for (const [key, value] of params) {
      if (key in fields) return forbidden(c); // Twilio never repeats a parameter; a signature covers one value
      fields[key] = value;
    }
    const url = deps.config.publicUrl + c.req.path + new URL(c.req.url).search;
    if (!loadTwilio().validateRequest(phone.authToken, signature, url, fields)) {
      deps.log.info("twilio_signature_refused", { path: c.req.path });
      return forbidden(c);
    }
    const codeId = c.req.param("codeId");
    const outcome = CODE_ID.test(codeId)
      ? await answerCall(deps.sql, deps.clock, deps.config.secretKey, codeId, fields.Digits ?? "")
      : "none";
    deps.log.info("voice_digits", { outcome });
    return c.body(callReplyTwiml(deps.config.publicUrl, codeId, outcome), 200, { "Content-Type": "text/xml; charset=utf-8" });
  });

  return app;
}

function forbidden(c: { text(body: string, status: 403): Response }): Response {
  return c.text("Forbidden", 403);
}
