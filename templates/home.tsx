import type { LoginOption, Role } from "../src/auth/users.ts";
import { Heading } from "./components.tsx";
import { portalTime } from "./format.ts";

export interface HomeSignIn {
  at: Date;
  option: LoginOption | null;
  ip: string | null;
  how: "credentials" | "remembered" | "password_reset" | "registration" | "staff";
}

function describe(signIn: HomeSignIn): string {
  const option = signIn.option === "phone" ? "Login with Phone" : signIn.option === "email" ? "Login with Email" : "Sign in";
  if (signIn.how === "remembered") return `${option} (Remember Me)`;
  if (signIn.how === "password_reset") return "Password reset";
  if (signIn.how === "registration") return "Registration finished";
  if (signIn.how === "staff") return "Staff Login";
  return option;
}

/**
 * The home page: heading Home, Sign out (a POST form) and the last sign-ins. The Administration
 * link for admins is the layout's (in the header of every page), so the page has exactly one.
 */
export function HomePage(props: { name: string; email: string; role: Role; signIns: HomeSignIn[] }) {
  return (
    <section>
      <Heading>Home</Heading>
      <p>
        You are signed in as <strong>{props.name || props.email}</strong>
        {props.name ? ` (${props.email})` : ""}.
      </p>
      {props.role === "admin" ? <p>As an administrator, you manage users from Administration, linked at the top of every page.</p> : null}
      <form method="post" action="/logout">
        <button type="submit" class="button secondary">
          Sign out
        </button>
      </form>
      <h2 id="recent-heading">Your last sign-ins</h2>
      {props.signIns.length === 0 ? (
        <p>No sign-ins recorded yet.</p>
      ) : (
        <div class="table-wrap">
          <table aria-labelledby="recent-heading">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">How</th>
                <th scope="col">From address</th>
              </tr>
            </thead>
            <tbody>
              {props.signIns.map((signIn) => (
                <tr>
                  <td>
                    <time datetime={signIn.at.toISOString()}>{portalTime(signIn.at)}</time>
                  </td>
                  <td>{describe(signIn)}</td>
                  <td>{signIn.ip ?? "unknown"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p>
        If you do not recognize a sign-in, <a href="/account">change your password</a> now and tell your portal administrator.
      </p>
    </section>
  );
}
