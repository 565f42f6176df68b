import type { UserFactor } from "../../src/auth/users.ts";
import { Button, ErrorSummary, Form, Heading, Status } from "../components.tsx";

// As the home page shows times (UTC) until PORTAL_TIME_ZONE lands.
const WHEN = new Intl.DateTimeFormat("en-US", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });
const when = (date: Date | null) => (date ? `${WHEN.format(date)} UTC` : "never");

/**
 * The stronger factors of the account page's Sign-in methods (product.md §8): the authenticator
 * app, passkeys by name (added, last used), recovery codes left. Adding a passkey needs
 * JavaScript: static/passkey.js makes its field and button and removes the note saying so.
 */
export function AccountFactors(props: { factors: UserFactor[]; recoveryLeft: number; status?: string; error?: string }) {
  const app = props.factors.find((f) => f.kind === "totp");
  const passkeys = props.factors.filter((f) => f.kind === "passkey");
  return (
    <section>
      <Heading>Sign-in methods</Heading>
      <ErrorSummary message={props.error} />
      <Status message={props.status} />
      <h2>Authenticator app</h2>
      {app ? (
        <p>
          An authenticator app is set up (added {when(app.createdAt)}, last used {when(app.lastUsedAt)}).
        </p>
      ) : (
        <p>No authenticator app is set up.</p>
      )}
      <Form action="/account/factors/app" label="Add an authenticator app">
        <Button variant={app ? "secondary" : "primary"}>{app ? "Replace the authenticator app" : "Add an authenticator app"}</Button>
      </Form>
      <h2>Passkeys</h2>
      {passkeys.length ? (
        <table>
          <caption class="visually-hidden">Your passkeys</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Added</th>
              <th scope="col">Last used</th>
            </tr>
          </thead>
          <tbody>
            {passkeys.map((p) => (
              <tr>
                <td>{p.label}</td>
                <td>{when(p.createdAt)}</td>
                <td>{when(p.lastUsedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p>No passkeys yet. A passkey lets you sign in with your fingerprint, face or device PIN instead of a password and a code.</p>
      )}
      <p data-passkey-nojs>Passkeys need JavaScript. Turn JavaScript on in your browser to add a passkey.</p>
      <div class="passkey-add" data-passkey-add hidden></div>
      <h2>Recovery codes</h2>
      <p>
        {props.recoveryLeft} recovery code{props.recoveryLeft === 1 ? "" : "s"} left. Generating new codes ends the old ones.
      </p>
      <Form action="/account/factors/recovery-codes/new" label="Generate new recovery codes">
        <Button variant="secondary">Generate new recovery codes</Button>
      </Form>
    </section>
  );
}
