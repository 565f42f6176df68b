import { ErrorSummary, Heading } from "../components.tsx";

/**
 * The Staff section of the sign-in page (the left side of the guide's login page), shown when
 * staff sign-in is set up. Staff Login is a plain GET form with no htmx: the browser itself must
 * go to the organization's sign-in (an htmx request cannot follow a redirect to another origin).
 */
export function StaffSection(props: { enabled: boolean; returnTo?: string; prompt?: boolean }) {
  if (!props.enabled) return null;
  return (
    <section class="staff panel" aria-labelledby="staff-heading">
      <h2 id="staff-heading">Staff</h2>
      <p>Staff members with a staff email address sign in through their organization's own sign-in, with its multi-factor authentication.</p>
      <form method="get" action="/staff/login" aria-labelledby="staff-heading">
        {/* Where the sign-in ends, as the Customer/Provider forms carry it. */}
        {props.returnTo ? <input type="hidden" name="rd" value={props.returnTo} /> : null}
        {props.prompt ? <input type="hidden" name="prompt" value="login" /> : null}
        <div class="actions">
          <button type="submit" class="button primary">
            Staff Login
          </button>
        </div>
      </form>
    </section>
  );
}

/** The line about staff in "Who signs in here": as it always read without staff sign-in, pointing at Staff Login with it. */
export function StaffNote(props: { enabled: boolean }) {
  if (!props.enabled) return <p>Staff members with a staff email address do not sign in here; they use the staff sign-in.</p>;
  return (
    <p>
      Staff members with a staff email address use <a href="#staff-heading">Staff Login</a>. A staff address typed into the Customer/Provider sign-in
      goes there too.
    </p>
  );
}

/** A staff sign-in that did not end signed in: what happened, and the way to try again. */
export function StaffRefusedPage(props: { message: string }) {
  return (
    <section>
      <Heading>Staff sign-in</Heading>
      <ErrorSummary message={props.message} />
      <form method="get" action="/staff/login">
        <div class="actions">
          <button type="submit" class="button primary">
            Staff Login
          </button>
        </div>
      </form>
      <p>
        <a href="/login">Back to the sign-in page</a>
      </p>
    </section>
  );
}
