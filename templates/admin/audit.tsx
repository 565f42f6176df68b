import type { AuditEvent } from "../../src/auth/audit.ts";
import type { AdminUser } from "../../src/flows/admin.ts";
import { Button, ErrorSummary, Field, Heading, type FieldErrors } from "../components.tsx";
import { AdminStatus, membershipText, UserActions, type Grantable } from "./users.tsx";
import { formatTime, METHOD_LABELS, ROLE_LABELS, STATE_LABELS } from "./labels.ts";
import { describeEvent, shortBrowser } from "./events.ts";

/** Detail values are shown as "key: value" pairs; the audit log never holds secrets (audit.ts redacts). */
function detailText(detail: Record<string, unknown>): string {
  return Object.entries(detail)
    .map(([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(", ");
}

function EventsTable(props: { events: AuditEvent[]; caption: string; showUser: boolean }) {
  return (
    <div class="table-wrap" role="region" aria-labelledby="events-caption" tabindex={0}>
      <table class="stack">
        <caption id="events-caption">{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Event</th>
            {props.showUser ? <th scope="col">User</th> : null}
            <th scope="col">By</th>
            <th scope="col">Address</th>
            <th scope="col">Browser</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {props.events.length ? (
            props.events.map((event) => (
              <tr>
                <th scope="row">
                  <time datetime={event.at.toISOString()}>{formatTime(event.at)}</time>
                </th>
                {/* Plain words; the stored name stays in data-event (and is what the Event type filter takes). */}
                <td data-label="Event" data-event={event.event}>
                  {describeEvent(event.event)}
                </td>
                {props.showUser ? (
                  <td data-label="User">{event.userId ? <a href={`/admin/users/${event.userId}`}>{event.userEmail ?? event.userId}</a> : ""}</td>
                ) : null}
                <td data-label="By">{event.actorId ? (event.actorEmail ?? event.actorId) : ""}</td>
                <td data-label="Address">{event.ip ?? ""}</td>
                <td data-label="Browser" title={event.userAgent ?? undefined}>
                  {shortBrowser(event.userAgent)}
                </td>
                <td data-label="Details">{detailText(event.detail)}</td>
              </tr>
            ))
          ) : (
            <tr>
              <td colspan={props.showUser ? 7 : 6}>No events.</td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

export function UserPage(props: {
  user: AdminUser;
  events: AuditEvent[];
  olderHref: string | null;
  newestHref: string | null;
  message: { text: string; problem: boolean } | null;
  portal?: boolean;
  grantable?: Grantable;
}) {
  const { user } = props;
  return (
    <>
      <Heading>User details</Heading>
      <p>
        <a href="/admin">Back to Administration</a>
      </p>
      <AdminStatus message={props.message} />
      <dl class="details">
        <dt>Name</dt>
        <dd>{user.name || "(no name)"}</dd>
        <dt>Email</dt>
        <dd>{user.email}</dd>
        <dt>Role</dt>
        <dd>{ROLE_LABELS[user.role]}</dd>
        {user.memberships.length ? (
          <>
            <dt>Organization</dt>
            <dd>{membershipText(user)}</dd>
          </>
        ) : null}
        <dt>State</dt>
        <dd>{STATE_LABELS[user.state]}</dd>
        {user.state === "locked" && user.lockedUntil ? (
          <>
            <dt>Locked until</dt>
            <dd>{formatTime(user.lockedUntil)}</dd>
          </>
        ) : null}
        <dt>MFA method</dt>
        <dd>{user.staffIssuer ? `Staff sign-in at ${user.staffIssuer}` : user.mfaMethod ? METHOD_LABELS[user.mfaMethod] : "Not chosen yet"}</dd>
        <dt>Phone</dt>
        <dd>{user.phone || "None"}</dd>
        <dt>Last sign-in</dt>
        <dd>{user.lastSignInAt ? formatTime(user.lastSignInAt) : "Never"}</dd>
        <dt>Created</dt>
        <dd>{formatTime(user.createdAt)}</dd>
      </dl>
      <h2>Actions</h2>
      <UserActions user={user} from="user" listQuery="" portal={props.portal} grantable={props.grantable} />
      <section aria-labelledby="user-events-heading">
        <h2 id="user-events-heading">Audit events</h2>
        <EventsTable events={props.events} caption={`Audit events of ${user.email}, newest first`} showUser={false} />
        <EventPaging olderHref={props.olderHref} newestHref={props.newestHref} />
      </section>
    </>
  );
}

function EventPaging(props: { olderHref: string | null; newestHref: string | null }) {
  if (!props.olderHref && !props.newestHref) return null;
  return (
    <nav aria-label="Pages of events" class="paging">
      <ul>
        {props.newestHref ? (
          <li>
            <a href={props.newestHref}>Newest events</a>
          </li>
        ) : null}
        {props.olderHref ? (
          <li>
            <a href={props.olderHref} rel="next">
              Older events
            </a>
          </li>
        ) : null}
      </ul>
    </nav>
  );
}

export interface AuditFilterValues {
  user: string;
  event: string;
  from: string;
  to: string;
}

export function AuditPage(props: {
  filter: AuditFilterValues;
  errors: FieldErrors;
  eventTypes: string[];
  events: AuditEvent[];
  olderHref: string | null;
  newestHref: string | null;
}) {
  const { filter, errors } = props;
  const firstError = ["user", "event", "from", "to"].find((name) => errors[name]);
  const options = [...new Set([...props.eventTypes.map((event) => `${event.split(".")[0]}.*`), ...props.eventTypes])].sort();
  if (filter.event && !options.includes(filter.event)) options.push(filter.event);
  return (
    <>
      <Heading>Audit log</Heading>
      <p>
        <a href="/admin">Back to Administration</a>
      </p>
      <ErrorSummary errors={{ user: errors.user, from: errors.from, to: errors.to }} />
      <form method="get" action="/admin/audit" aria-label="Filter events" class="search-form">
        <Field name="user" label="User email" type="email" value={filter.user} maxlength={254} error={errors.user} autofocus={firstError === "user"} />
        <div class="field">
          <label for="field-event">Event type</label>
          <select id="field-event" name="event">
            <option value="" selected={!filter.event || undefined}>
              Any event
            </option>
            {options.map((event) => (
              <option value={event} selected={filter.event === event || undefined}>
                {event.endsWith(".*") ? `All ${event.slice(0, -2).replace(/_/g, " ")} events` : describeEvent(event)}
              </option>
            ))}
          </select>
        </div>
        <Field name="from" label="From" type="date" hint="First day to show (UTC)." value={filter.from} error={errors.from} autofocus={firstError === "from"} />
        <Field name="to" label="To" type="date" hint="Last day to show (UTC)." value={filter.to} error={errors.to} autofocus={firstError === "to"} />
        <div class="actions">
          <Button>Filter</Button>
          <button type="submit" class="button secondary" formaction="/admin/audit.csv">
            Download audit log
          </button>
        </div>
        <p class="hint">Download audit log gives the events of the chosen days as a CSV file, with the same filter.</p>
      </form>
      <EventsTable events={props.events} caption="Audit events, newest first" showUser={true} />
      <EventPaging olderHref={props.olderHref} newestHref={props.newestHref} />
    </>
  );
}
