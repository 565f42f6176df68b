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
  controls: FormControl[];
  buttons: FormButton[];
}

const clean = (text: string | null | undefined) => (text ?? "").replace(/\s+/g, " ").trim();

export function readForms(html: string, pagePath: string): PageForm[] {
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
