/**
 * Reads a page's forms the way a browser without JavaScript submits them: controls with their
 * labels, default values and the pressed button. Used to walk the sign-in flow by its visible
 * names (product.md's bold words), so the bench does not hard-code another area's URLs.
 */
import { parseHTML } from "linkedom";

export interface FormControl {
  name: string;
  type: string;
  value: string;
  checked: boolean;
  label: string;
}

export interface FormButton {
  name: string | null;
  value: string;
  text: string;
}

export interface PageForm {
  action: string;
  method: string;
  /** htmx posts it (hx-post) when JavaScript runs. */
  htmx: boolean;
  controls: FormControl[];
  buttons: FormButton[];
}

const clean = (text: string | null | undefined) => (text ?? "").replace(/\s+/g, " ").trim();

/**
 * readForms: the same answer as readFormsWithDom (linkedom), without building a DOM. The load
 * generator shares the server's cores, so what it spends reading a page is taken from the server
 * it measures: linkedom cost the bench about 7 ms per sign-in, more than some of the steps it
 * times. A page's forms are its <form> elements' markup, each read in one pass over its tags;
 * the same markup always reads the same, so markup already read (every sign-in's forms are the
 * same but for the page around them) is looked up instead of read again. readFormsWithDom stays
 * as the reference the bench compares this with on the first pages it reads (checkSameForms):
 * a label outside its form, which this reader does not see, would stop the run there.
 * The forms returned are shared: callers read them and must not change them.
 */
export function readForms(html: string, pagePath: string): PageForm[] {
  const forms: PageForm[] = [];
  for (const markup of html.match(FORM_MARKUP) ?? []) {
    const key = `${pagePath}\n${markup}`;
    let read = formsRead.get(key);
    if (!read) {
      if (formsRead.size >= 500) formsRead.clear();
      read = readFormTags(markup, pagePath);
      formsRead.set(key, read);
    }
    forms.push(...read);
  }
  return forms;
}

const FORM_MARKUP = /<form\b[\s\S]*?<\/form\s*>/gi;
const formsRead = new Map<string, PageForm[]>();

function readFormTags(html: string, pagePath: string): PageForm[] {
  const forms: PageForm[] = [];
  const labelFor = new Map<string, string>();
  interface OpenText { text: string }
  const labels: OpenText[] = []; // open <label>s, innermost last
  const pendingLabels: Array<{ control: FormControl; id: string | null; wrapping: OpenText | null; aria: string }> = [];
  const pendingButtons: Array<{ button: FormButton; text: OpenText; aria: string }> = [];
  const pendingLabelFor: Array<{ target: string; label: OpenText }> = [];
  let form: PageForm | null = null;
  let button: OpenText | null = null;
  const TOKEN = /<!--[\s\S]*?-->|<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>|([^<]+|<)/g;
  const addText = (text: string) => {
    for (const label of labels) label.text += text;
    if (button) button.text += text;
  };
  for (let match = TOKEN.exec(html); match; match = TOKEN.exec(html)) {
    const [, closing, rawName, rawAttributes, text] = match;
    if (text !== undefined) {
      addText(decodeEntities(text));
      continue;
    }
    if (!rawName) continue; // a comment
    const name = rawName.toLowerCase();
    if (closing) {
      if (name === "form") form = null;
      else if (name === "label") labels.pop();
      else if (name === "button") button = null;
      continue;
    }
    const attributes = readAttributes(rawAttributes ?? "");
    const attribute = (key: string) => (attributes.has(key) ? attributes.get(key)! : null);
    if (name === "script" || name === "style" || name === "textarea") {
      const end = html.toLowerCase().indexOf(`</${name}`, TOKEN.lastIndex);
      const inner = html.slice(TOKEN.lastIndex, end < 0 ? html.length : end);
      TOKEN.lastIndex = end < 0 ? html.length : html.indexOf(">", end) + 1;
      if (name !== "textarea") continue;
      addText(decodeEntities(inner));
      if (form && attribute("name")) {
        // linkedom leaves a textarea's entities as written (a browser would decode them); the sign-in has none.
        const control: FormControl = { name: attribute("name")!, type: (attribute("type") ?? "textarea").toLowerCase(), value: inner, checked: attributes.has("checked"), label: "" };
        form.controls.push(control);
        pendingLabels.push({ control, id: attribute("id"), wrapping: labels[labels.length - 1] ?? null, aria: clean(attribute("aria-label")) });
      }
      continue;
    }
    if (name === "form") {
      form = { action: attribute("action") || pagePath, method: (attribute("method") ?? "get").toLowerCase(), htmx: attributes.has("hx-post"), controls: [], buttons: [] };
      forms.push(form);
    } else if (name === "label") {
      const label: OpenText = { text: "" };
      labels.push(label);
      const target = attribute("for");
      if (target) pendingLabelFor.push({ target, label });
    } else if (name === "input" || name === "select") {
      const type = (attribute("type") ?? (name === "input" ? "text" : name)).toLowerCase();
      if (form && name === "input" && type === "submit") {
        form.buttons.push({ name: attribute("name"), value: attribute("value") ?? "", text: clean(attribute("aria-label")) || clean(attribute("value")) });
      }
      const controlName = attribute("name");
      if (!form || !controlName || type === "submit" || type === "button" || type === "image") continue;
      const control: FormControl = { name: controlName, type, value: attribute("value") ?? (type === "checkbox" ? "on" : ""), checked: attributes.has("checked"), label: "" };
      form.controls.push(control);
      pendingLabels.push({ control, id: attribute("id"), wrapping: labels[labels.length - 1] ?? null, aria: clean(attribute("aria-label")) });
    } else if (name === "button") {
      button = { text: "" };
      if (form && (attribute("type") ?? "submit").toLowerCase() === "submit") {
        const entry: FormButton = { name: attribute("name"), value: attribute("value") ?? "", text: "" };
        form.buttons.push(entry);
        pendingButtons.push({ button: entry, text: button, aria: clean(attribute("aria-label")) });
      }
    }
  }
  // A label's text is whole only at its end, and a label may come after its control.
  for (const { target, label } of pendingLabelFor) labelFor.set(target, clean(label.text)); // the last such label wins, as in the DOM reader
  for (const { control, id, wrapping, aria } of pendingLabels) control.label = (id && labelFor.get(id)) || (wrapping ? clean(wrapping.text) : "") || aria;
  for (const { button: entry, text, aria } of pendingButtons) entry.text = aria || clean(text.text);
  return forms;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };
function decodeEntities(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, entity: string) => {
    if (entity[0] === "#") return String.fromCodePoint(entity[1] === "x" || entity[1] === "X" ? parseInt(entity.slice(2), 16) : Number(entity.slice(1)));
    return ENTITIES[entity.toLowerCase()] ?? whole;
  });
}

function readAttributes(raw: string): Map<string, string> {
  const attributes = new Map<string, string>();
  const ATTRIBUTE = /([^\s=/"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g;
  for (let match = ATTRIBUTE.exec(raw); match; match = ATTRIBUTE.exec(raw)) {
    const key = match[1]!.toLowerCase();
    if (!attributes.has(key)) attributes.set(key, decodeEntities(match[2] ?? match[3] ?? match[4] ?? ""));
  }
  return attributes;
}

/** Throws when the two readers differ on a page: then the fast one is wrong and the bench would press the wrong things. */
export function checkSameForms(html: string, pagePath: string): void {
  const fast = JSON.stringify(readForms(html, pagePath));
  const dom = JSON.stringify(readFormsWithDom(html, pagePath));
  if (fast !== dom) throw new Error(`the bench's form reader differs from linkedom's on ${pagePath}:\n  fast: ${fast}\n  dom:  ${dom}`);
}

export function readFormsWithDom(html: string, pagePath: string): PageForm[] {
  const { document } = parseHTML(html.startsWith("<!doctype") || html.startsWith("<!DOCTYPE") ? html : `<!doctype html><html><body>${html}</body></html>`);
  const labelFor = new Map<string, string>();
  for (const label of document.querySelectorAll("label")) {
    const target = label.getAttribute("for");
    if (target) labelFor.set(target, clean(label.textContent));
  }
  return [...document.querySelectorAll("form")].map((form) => {
    const controls: FormControl[] = [];
    for (const el of form.querySelectorAll("input, select, textarea")) {
      const name = el.getAttribute("name");
      const type = (el.getAttribute("type") ?? (el.tagName === "INPUT" ? "text" : el.tagName.toLowerCase())).toLowerCase();
      if (!name || type === "submit" || type === "button" || type === "image") continue;
      const id = el.getAttribute("id");
      const wrapping = el.closest("label");
      const label = (id && labelFor.get(id)) || (wrapping ? clean(wrapping.textContent) : "") || clean(el.getAttribute("aria-label"));
      const value = el.tagName === "TEXTAREA" ? (el.textContent ?? "") : (el.getAttribute("value") ?? (type === "checkbox" ? "on" : ""));
      controls.push({ name, type, value, checked: el.hasAttribute("checked"), label });
    }
    const buttons: FormButton[] = [];
    for (const el of form.querySelectorAll("button, input[type=submit]")) {
      if (el.tagName === "BUTTON" && (el.getAttribute("type") ?? "submit").toLowerCase() !== "submit") continue;
      const text = el.tagName === "BUTTON" ? clean(el.textContent) : clean(el.getAttribute("value"));
      buttons.push({ name: el.getAttribute("name"), value: el.getAttribute("value") ?? "", text: clean(el.getAttribute("aria-label")) || text });
    }
    return {
      action: form.getAttribute("action") || pagePath,
      method: (form.getAttribute("method") ?? "get").toLowerCase(),
      htmx: form.hasAttribute("hx-post"),
      controls,
      buttons,
    };
  });
}

export function findButton(forms: PageForm[], text: string): { form: PageForm; button: FormButton } | null {
  for (const form of forms) {
    const button = form.buttons.find((b) => b.text === text);
    if (button) return { form, button };
  }
  return null;
}

/** The body a browser sends: every named control (checkboxes only when checked), `values` by label, and the button. */
export function formBody(form: PageForm, button: FormButton, values: Record<string, string>, checks: Record<string, boolean> = {}): string {
  const body = new URLSearchParams();
  for (const control of form.controls) {
    if (control.type === "checkbox" || control.type === "radio") {
      const checked = checks[control.label] ?? control.checked;
      if (checked) body.append(control.name, control.value);
      continue;
    }
    body.append(control.name, values[control.label] ?? control.value);
  }
  if (button.name) body.append(button.name, button.value);
  return body.toString();
}

/** Labels in `values` that the form has no field for (so the caller knows a value went nowhere). */
export function labelsOf(form: PageForm): string[] {
  return form.controls.map((c) => c.label);
}
