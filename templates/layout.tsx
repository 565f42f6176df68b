import type { Child } from "hono/jsx";
import type { User } from "../src/auth/users.ts";

export interface LayoutProps {
  title: string;
  portalName: string;
  assets: { css: string; js: string; htmx: string; webauthn: string; passkey: string };
  user: User | null;
  /** An organization's administrator (product.md §9: the Administration link is theirs too). */
  administers?: boolean;
  /**
   * Load @simplewebauthn/browser and static/passkey.js (the account's factors); "on-demand": name
   * them for static/app.js, which loads them when the passkey button is reached (the sign-in page).
   */
  passkeys?: boolean | "on-demand";
  children: Child;
}

/** The page around every step: skip link, banner, main (the htmx swap target), footer with help links. */
export function Layout(props: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="htmx-config" content='{"defaultFocusScroll": true}' />
        <title>{props.title}</title>
        <link rel="stylesheet" href={props.assets.css} />
        <script src={props.assets.htmx} defer></script>
        <script src={props.assets.js} defer></script>
        {props.passkeys === "on-demand" ? (
          <meta name="passkey-scripts" content={`${props.assets.webauthn} ${props.assets.passkey}`} />
        ) : props.passkeys ? (
          <>
            <script src={props.assets.webauthn} defer></script>
            <script src={props.assets.passkey} defer></script>
          </>
        ) : null}
      </head>
      <body>
        <a class="skip-link" href="#main">
          Skip to main content
        </a>
        <header class="site-header">
          <a class="brand" href="/">
            {props.portalName}
          </a>
          {props.user ? (
            <nav aria-label="Account">
              <a href="/home">Home</a>
              <a href="/account">Account</a>
              {props.user.role === "admin" || props.administers ? <a href="/admin">Administration</a> : null}
            </nav>
          ) : null}
        </header>
        <main id="main" tabindex={-1}>
          {props.children}
        </main>
        <footer class="site-footer">
          <ul>
            {props.user ? null : (
              // Signed in, there is no sign-in to have trouble with.
              <li>
                <a href="/trouble">Having trouble logging in?</a>
              </li>
            )}
            <li>
              <a href="/help/mfa">Multi-Factor Authentication Help</a>
            </li>
            <li>
              <a href="/help">Help</a>
            </li>
          </ul>
        </footer>
      </body>
    </html>
  );
}
