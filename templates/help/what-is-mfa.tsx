import { Heading } from "../components.tsx";

/** The guide's Multi-Factor Authentication (MFA) Summary, in its own words. */
export function WhatIsMfa() {
  return (
    <article>
      <Heading>What is MFA and how it works</Heading>
      <p>
        Single-Factor authentication (username/password) is not sufficiently secure when handling protected health
        information (PHI) or personally identifiable information (PII). Multi-Factor authentication is required to properly secure access
        to sensitive information.
      </p>
      <h2>What is MFA?</h2>
      <p>
        Multi-Factor authentication (MFA) is an authentication method that requires users to verify identity using multiple
        independent methods. Instead of just asking for a username and password, MFA implements additional credentials like a
        pin sent via email or text, or a verification call made to a pre-registered phone number.
      </p>
      <h2>How does Multi-Factor Authentication work?</h2>
      <p>
        The goal of MFA is to provide a multi-layered defense system. This helps ensure that the users who access your system
        are who they say they are. Even if one factor is compromised, there are still more barriers to breach.
      </p>
      <p>
        For example, to log in to a secure program, a user would need to type a password and enter another number from a
        text, phone call, or email. Only the correct password combined with the correct number from the additional
        authentication factor would give a user access.
      </p>
      <h2>In this portal</h2>
      <ul>
        <li>
          <strong>Login with Phone</strong>: after your password, select <strong>Send Code</strong> for a code by text message,
          or <strong>Call Me</strong> for a call to your registered direct line; the call asks you to key in the code shown on
          your screen and press #.
        </li>
        <li>
          <strong>Login with Email</strong>: after your password, select <strong>Send Verification Code</strong> and enter the
          code from the email. The code expires within 30 seconds, so have your email open first.
        </li>
      </ul>
      <p>
        <a href="/help">All help pages</a>
      </p>
    </article>
  );
}
