import type { InteractionResults } from "oidc-provider";
import type { Session } from "../auth/sessions.ts";
import type { User } from "../auth/users.ts";
import { ACR_MFA, sessionAmr, sessionAuthenticatedAt } from "./provider.ts";

/**
 * The interaction glue: oidc-provider asks for a login (or consent) prompt, the portal answers it
 * from its own session, or sends the person through its sign-in first. A pure decision, so the
 * rules (prompt=login, max_age) are tested without a browser.
 */

export interface InteractionFacts {
  /** "login" or "consent". */
  prompt: string;
  reasons: string[];
  /** When the authorization request began (the interaction's iat), seconds. */
  startedAt: number;
  maxAge: number | undefined;
  grantId: string | undefined;
}

export type InteractionDecision =
  | { kind: "finish"; login: NonNullable<InteractionResults["login"]>; needsConsent: boolean }
  /** Through the portal's sign-in; `again` when someone is signed in but the application wants a fresh sign-in. */
  | { kind: "sign-in"; again: boolean };

export function decideInteraction(facts: InteractionFacts, portal: { session: Session | null; user: User | null }, now: Date): InteractionDecision {
  const { session, user } = portal;
  if (!session || !user || user.status !== "active") return { kind: "sign-in", again: false };
  const authenticatedAt = Math.floor(sessionAuthenticatedAt(session).getTime() / 1000);
  const nowS = Math.floor(now.getTime() / 1000);
  // prompt=login: only a sign-in completed after the application asked counts.
  const signedInSinceRequest = authenticatedAt >= facts.startedAt;
  if (facts.reasons.includes("login_prompt") && !signedInSinceRequest) return { kind: "sign-in", again: true };
  if (facts.maxAge !== undefined && nowS - authenticatedAt > facts.maxAge && !signedInSinceRequest) return { kind: "sign-in", again: true };
  return {
    kind: "finish",
    login: { accountId: user.id, acr: ACR_MFA, amr: sessionAmr(session), ts: authenticatedAt, remember: false },
    needsConsent: facts.prompt === "consent",
  };
}
