/**
 * src/web/form.ts, the reader of posted forms: validForm (zValidator("form", schema, hook), a
 * message per field: every flow's steps) and readForm (all or nothing: the admin area, until it
 * moves to validForm).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Hono } from "hono";
import { z } from "zod";
import { readForm, validForm } from "../../src/web/form.ts";

const schema = z.object({
  code: z.string({ error: "Enter the code." }).regex(/^\d{6}$/, "Enter 6 digits."),
  email: z.string({ error: "Enter your email address." }).min(1, "Enter your email address."),
});

const app = new Hono();
app.post("/read", async (c) => c.json(await readForm(c)));
// The step's `again` gets the problem; the handler, the checked data: the same shapes parseForm returned.
app.post("/parse", validForm(schema, (c, { errors, fields }) => c.json({ ok: false, errors, fields })), (c) => c.json({ ok: true, data: c.req.valid("form") }));
app.post("/unreadable", validForm(schema, (c, problem) => c.json({ unreadable: problem.unreadable ?? false, errors: problem.errors })), (c) => c.json({ ok: true }));

async function post(path: string, body: BodyInit | undefined, type: string | null = "application/x-www-form-urlencoded") {
  const headers: Record<string, string> = type ? { "content-type": type } : {};
  return (await app.request(path, { method: "POST", headers, body })).json();
}

test("readForm: single text fields come back as sent, control characters included (each step's schema or flow judges them)", async () => {
  assert.equal(await post("/read", "code=123456&email=a%40b.example&name=A%07B"), { code: "123456", email: "a@b.example", name: "A\u0007B" });
  assert.equal(await post("/read", "code=1", "application/x-www-form-urlencoded; charset=UTF-8"), { code: "1" });
  const multipart = new FormData();
  multipart.append("code", "123456");
  assert.equal(await (await app.request("/read", { method: "POST", body: multipart })).json(), { code: "123456" });
});

test("readForm: null for a repeated field (known or not), a list-named field, a file, or a body that is not a lower-case urlencoded or multipart form", async () => {
  assert.is(await post("/read", "code=1&code=2"), null);
  assert.is(await post("/read", "code=123456&other=1&other=2"), null);
  assert.is(await post("/read", "code=123456&x[]=1"), null);
  const withFile = new FormData();
  withFile.append("code", "123456");
  withFile.append("upload", new Blob(["x"]), "x.txt");
  assert.is(await (await app.request("/read", { method: "POST", body: withFile })).json(), null);
  for (const type of [null, "text/plain", "application/json", "APPLICATION/X-WWW-FORM-URLENCODED", "application/x-www-form-urlencodedx"]) {
    assert.is(await post("/read", "code=123456", type), null, String(type));
  }
});

test("validForm: the schema's data when every field is good; fields it does not know are ignored, even repeated", async () => {
  assert.equal(await post("/parse", "code=123456&email=e&other=1&other=2&x[]=3"), { ok: true, data: { code: "123456", email: "e" } });
});

test("validForm: a repeated field, a file, control characters or non-UTF-8 bytes are refused at that field; zod's message for the rest", async () => {
  assert.equal(await post("/parse", "code=1&code=2&email=e"), {
    ok: false,
    errors: { code: "This field was sent more than once. Fill in the form again." },
    fields: { email: "e" },
  });
  assert.equal(await post("/parse", "code=12%003456&email="), {
    ok: false,
    errors: { code: "Remove the special characters from this field.", email: "Enter your email address." },
    fields: { email: "" },
  });
  assert.equal(await post("/parse", Buffer.concat([Buffer.from("code=123456&email="), Buffer.from([0xff, 0xfe])])), {
    ok: false,
    errors: { email: "Remove the special characters from this field." },
    fields: { code: "123456" },
  });
  const withFile = new FormData();
  withFile.append("code", new Blob(["123456"]), "code.txt");
  withFile.append("email", "e");
  assert.equal(await (await app.request("/parse", { method: "POST", body: withFile })).json(), {
    ok: false,
    errors: { code: "Files cannot be sent here. Fill in the form again." },
    fields: { email: "e" },
  });
});

test("validForm: a body that is not a form reads as an empty one, so every field is missing", async () => {
  const missing = { ok: false, errors: { code: "Enter the code.", email: "Enter your email address." }, fields: {} };
  assert.equal(await post("/parse", '{"code":"123456","email":"e"}', "application/json"), missing);
  assert.equal(await post("/parse", "code=123456&email=e", null), missing);
  assert.equal(await post("/parse", undefined), missing);
});

test("validForm: a mangled form (a field twice, a file) or a body that claims to be a form and does not parse is unreadable, a 4xx for the step, never hono's exception", async () => {
  assert.equal(await post("/unreadable", "code=1&code=2&email=e"), { unreadable: true, errors: { code: "This field was sent more than once. Fill in the form again." } });
  assert.equal(await post("/unreadable", "code=12345&email=e"), { unreadable: false, errors: { code: "Enter 6 digits." } });
  const broken = await post("/unreadable", "--x\r\nContent-Disposition: form-data; name=", "multipart/form-data; boundary=y");
  assert.equal(broken, { unreadable: true, errors: { form: "The form could not be read. Try again." } });
  // The same in the capitals hono's own parser accepts.
  assert.equal(await post("/unreadable", "--x\r\nContent-Disposition: form-data; name=", "Multipart/Form-Data; boundary=y"), broken);
});

test.run();
