import { createContext, useContext } from "hono/jsx";

/**
 * The one way the portal writes a time on its pages (home, account, admin): "2026-01-05 09:00 EST",
 * in the portal's zone (PORTAL_TIME_ZONE). Date first and a 24-hour clock so it reads the same to
 * everyone and sorts as text; the zone's abbreviation so no one has to guess whose time it is.
 * The page's render (src/web/render.tsx) provides the zone; a template rendered on its own (a
 * unit test) writes UTC.
 */
export const TimeZoneContext = createContext("UTC");

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
      timeZoneName: "short",
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** `at` in `timeZone`, as "2026-01-05 09:00 EST". */
export function formatTime(at: Date, timeZone: string): string {
  const parts: Record<string, string> = {};
  for (const part of formatterFor(timeZone).formatToParts(at)) parts[part.type] = part.value;
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${parts.timeZoneName}`;
}

/** `at` in the zone of the page being rendered (call it while a template renders); "" for none. */
export function portalTime(at: Date | null): string {
  if (!at) return "";
  return formatTime(at, useContext(TimeZoneContext));
}
