import { raw } from "hono/html";
import { Heading } from "../components.tsx";

/**
 * Pages the OpenID Connect provider shows in the browser: confirm sign-out (RP-initiated
 * logout), signed out, an authorization error, and the hand-back to an application.
 */

/** `form` is oidc-provider's own <form id="op.logoutForm"> holding its one-time xsrf value. */
export function LogoutConfirmPage(props: { form: string; clientName: string | null }) {
  return (
    <section>
      <Heading>Sign out</Heading>
      <p>
        {props.clientName ? `${props.clientName} asks to sign you out.` : "An application asks to sign you out."} Signing out ends
        your session at the portal too.
      </p>
      {raw(props.form)}
      <div class="actions">
        <button type="submit" form="op.logoutForm" name="logout" value="yes" class="button primary">
          Sign out
        </button>
        <button type="submit" form="op.logoutForm" class="button secondary">
          Stay signed in
        </button>
      </div>
    </section>
  );
}

export function SignedOutPage(props: { clientName: string | null }) {
  return (
    <section>
      <Heading>Signed out</Heading>
      <p>{props.clientName ? `You are signed out of ${props.clientName} and the portal.` : "You are signed out."}</p>
      <p>
        <a href="/login">Sign in again</a>
      </p>
    </section>
  );
}

const MESSAGES: Record<string, string> = {
  invalid_request: "The application sent a sign-in request the portal cannot accept. Go back to the application and try again; if it keeps happening, tell its administrator.",
  invalid_client: "The application that sent you here is not registered with the portal. Tell its administrator.",
  invalid_redirect_uri: "The application asked to send you to an address it has not registered. Tell its administrator.",
  session_not_found: "This sign-in request has expired or was already used. Go back to the application and start again.",
  access_denied: "The sign-in was not completed. Go back to the application and start again.",
};

export function AuthorizationErrorPage(props: { error: string }) {
  return (
    <section>
      <Heading>Cannot continue to the application</Heading>
      <p>{MESSAGES[props.error] ?? "The portal could not complete this request from an application. Go back to the application and try again."}</p>
      <p>
        <a href="/home">Go to the home page</a>
      </p>
    </section>
  );
}

/**
 * After a sign-in form, the way back to an application is a new navigation, not a redirect of
 * the form's POST: CSP form-action 'self' would block a redirect chain from the form to the
 * application's address. The refresh works without JavaScript; the link is there for everyone.
 */
export function ContinuePage(props: { href: string; name: string | null }) {
  return (
    <section>
      <meta http-equiv="refresh" content={`0;url=${props.href}`} />
      <Heading>Continue</Heading>
      <p>You are signed in{props.name ? `. Taking you to ${props.name}…` : "."}</p>
      <p>
        <a href={props.href}>{props.name ? `Continue to ${props.name}` : "Continue"}</a>
      </p>
    </section>
  );
}
