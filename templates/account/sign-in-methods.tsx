import type { UserFactor } from "../../src/auth/users.ts";
import { Button, ErrorSummary, Form, Heading } from "../components.tsx";
import { portalTime } from "../format.ts";

/**
 * The account page's Sign-in methods section (product.md §8), the one list of an account's
 * factors: the phone or email factor of its registration, the authenticator app, passkeys by
 * name (added, last used), each removable, and the recovery codes left. Adding a passkey needs
 * JavaScript: static/passkey.js makes its field and button and removes the note saying so.
 * The forms POST to /account/factors (src/web/routes/account-factors.tsx).
 */

function When(props: { at: Date | null }) {
  if (!props.at) return <>never</>;
  return <time datetime={props.at.toISOString()}>{portalTime(props.at)}</time>;
}

/** What a factor is called on the page. */
export function factorName(factor: UserFactor, email: string): string {
  if (factor.kind === "email") return `Email code to ${factor.destination ?? email}`;
  if (factor.kind === "totp") return "Authenticator app";
  if (factor.kind === "passkey") return `Passkey “${factor.label}”`;
  return factor.label;
}

function RemoveLink(props: { factor: UserFactor; name: string }) {
  return (
    <a href={`/account/factors/${props.factor.id}/remove`} class="remove-link">
      Remove<span class="visually-hidden"> {props.name}</span>
    </a>
  );
}

export function SignInMethods(props: { factors: UserFactor[]; recoveryLeft: number; email: string; headingLevel?: "h1" }) {
  const own = props.factors.filter((f) => f.kind === "phone" || f.kind === "email");
  const app = props.factors.find((f) => f.kind === "totp");
  const passkeys = props.factors.filter((f) => f.kind === "passkey");
  const staff = props.factors.length === 0;
  const H3 = props.headingLevel === "h1" ? "h2" : "h3";
  return (
    <>
      {staff ? <p>Your organization's sign-in holds your second factor.</p> : null}
      {own.length ? (
        <ul class="factor-list">
          {own.map((factor) => (
            <li>
              <strong>{factorName(factor, props.email)}</strong>
              <br />
              Added <When at={factor.createdAt} />; last used <When at={factor.lastUsedAt} />
            </li>
          ))}
        </ul>
      ) : null}
      {staff ? null : (
        <>
          <H3>Authenticator app</H3>
          {app ? (
            <p>
              An authenticator app is set up: added <When at={app.createdAt} />, last used <When at={app.lastUsedAt} />.{" "}
              <RemoveLink factor={app} name="the authenticator app" />
            </p>
          ) : (
            <p>No authenticator app is set up. An app such as Google Authenticator or Microsoft Authenticator shows a new 6-digit code every 30 seconds.</p>
          )}
          <Form action="/account/factors/app" label="Add an authenticator app">
            <Button variant={app ? "secondary" : "primary"}>{app ? "Replace the authenticator app" : "Add an authenticator app"}</Button>
          </Form>

          <H3>Passkeys</H3>
          {passkeys.length ? (
            <table class="passkey-table">
              <caption class="visually-hidden">Your passkeys</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Added</th>
                  <th scope="col">Last used</th>
                  <th scope="col">
                    <span class="visually-hidden">Action</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {passkeys.map((p) => (
                  <tr>
                    <td>{p.label}</td>
                    <td>
                      <When at={p.createdAt} />
                    </td>
                    <td>
                      <When at={p.lastUsedAt} />
                    </td>
                    <td>
                      <RemoveLink factor={p} name={`the passkey ${p.label}`} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p>No passkeys yet. A passkey lets you sign in with your fingerprint, face or device PIN instead of a password and a code.</p>
          )}
          <p data-passkey-nojs>Passkeys need JavaScript. Turn JavaScript on in your browser to add a passkey.</p>
          <div class="passkey-add" data-passkey-add hidden></div>

          <H3>Recovery codes</H3>
          <p>
            {props.recoveryLeft} recovery code{props.recoveryLeft === 1 ? "" : "s"} left. Each one signs you in once if you lose your phone or
            authenticator app. Generating new codes ends the old ones.
          </p>
          <Form action="/account/factors/recovery-codes/new" label="Generate new recovery codes">
            <Button variant="secondary">Generate new recovery codes</Button>
          </Form>
        </>
      )}
    </>
  );
}

/** Sign-in methods on a page of its own: a refusal of a set-up step that drew no other page. */
export function SignInMethodsPage(props: { factors: UserFactor[]; recoveryLeft: number; email: string; error?: string }) {
  return (
    <section>
      <Heading>Sign-in methods</Heading>
      <ErrorSummary message={props.error} />
      <SignInMethods factors={props.factors} recoveryLeft={props.recoveryLeft} email={props.email} headingLevel="h1" />
      <p>
        <a href="/account">Back to Account</a>
      </p>
    </section>
  );
}

/**
 * Remove's own page (a GET: it works without JavaScript), in the admin confirmation pages'
 * warning style: what goes, the warning button, and a way back that changes nothing. The last
 * factor of an account gets the reason instead of the button.
 */
export function RemoveFactorPage(props: { factor: UserFactor | null; last: boolean; error?: string }) {
  const { factor } = props;
  if (!factor) {
    return (
      <section>
        <Heading>Sign-in method not found</Heading>
        <ErrorSummary message={props.error} />
        <p>
          <a href="/account#sign-in-methods">Back to Account</a>
        </p>
      </section>
    );
  }
  const name = factor.kind === "totp" ? "the authenticator app" : `the passkey “${factor.label}”`;
  return (
    <section data-confirm>
      <Heading>Remove {name}?</Heading>
      <ErrorSummary message={props.error} />
      {props.last ? (
        props.error ? null : (
          <p>This is the only sign-in method on your account, so it cannot be removed. Add another (an authenticator app or a passkey) first, then remove this one.</p>
        )
      ) : (
        <>
          <div class="warning-text">
            <ul>
              <li>{factor.kind === "totp" ? "Codes from the authenticator app will no longer sign you in." : "This passkey will no longer sign you in."}</li>
              {factor.kind === "totp" ? <li>Remember Me for Login with Authenticator App ends.</li> : null}
              <li>We will email you a notice.</li>
            </ul>
          </div>
          <form method="post" action={`/account/factors/${factor.id}/remove`}>
            <div class="actions">
              <button type="submit" class="button warning">
                Remove<span class="visually-hidden"> {name}</span>
              </button>
              <a href="/account#sign-in-methods">Cancel: change nothing</a>
            </div>
          </form>
        </>
      )}
      {props.last ? (
        <p>
          <a href="/account#sign-in-methods">Back to Account</a>
        </p>
      ) : null}
    </section>
  );
}
