import { Hono } from "hono";
import { z } from "zod";
import type { AppDeps, AppEnv } from "../env.ts";
import { render } from "../render.tsx";
import { findDevCall, listDevOutbox } from "../../delivery/dev-outbox.ts";
import { answerCall } from "../../delivery/voice.ts";
import { DevOutboxPage, DevAnswerPage } from "../../../templates/dev/outbox.tsx";

const answerForm = z.object({ digits: z.string().max(32) });
const listQuery = z.object({ to: z.string().max(320).optional() });

/**
 * The dev outbox: mounted only while a channel has no real provider. Lists what would have been
 * sent, and answers a voice call as a person keying digits on the phone would.
 */
export function devRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();

  app.get("/dev/outbox.json", async (c) => {
    const query = listQuery.safeParse(c.req.query());
    if (!query.success) return c.json({ error: "bad query" }, 400);
    return c.json(await listDevOutbox(deps.sql, deps.config, query.data));
  });

  app.get("/dev/outbox", async (c) => {
    const entries = await listDevOutbox(deps.sql, deps.config);
    return render(c, deps, { title: "Dev outbox", body: <DevOutboxPage entries={entries} /> });
  });

  app.post("/dev/outbox/:id{[0-9]+}/answer", async (c) => {
    const call = await findDevCall(deps.sql, deps.config, Number(c.req.param("id")));
    if (!call) return c.json({ error: "no dev call with this id" }, 404);
    const form = answerForm.safeParse(await c.req.parseBody());
    if (!form.success) return c.json({ error: "send the keyed digits in the form field digits" }, 400);
    const result = await answerCall(deps.sql, deps.clock, deps.config.secretKey, call.codeId, form.data.digits);
    // A person pressing the page's button gets a page; scripts and tests get JSON.
    if ((c.req.header("accept") ?? "").includes("text/html")) {
      return render(c, deps, { title: "Call answered", body: <DevAnswerPage id={Number(c.req.param("id"))} result={result} /> });
    }
    return c.json({ id: Number(c.req.param("id")), result });
  });

  return app;
}
