import { TERMS_VERSION } from "../src/terms.ts";

/**
 * The Terms of Use text, shown by the registration wizard and again at sign-in when
 * TERMS_VERSION changes. Plain headings and lists so screen readers can move through it.
 */
export function TermsOfUse(props: { portalName: string }) {
  const name = props.portalName;
  return (
    <section class="terms" tabindex={0} aria-labelledby="terms-heading">
      <h2 id="terms-heading">Terms of Use</h2>
      <p>
        Version {TERMS_VERSION}. These terms apply to everyone who signs in to the {name}. By
        agreeing you confirm that you use the portal on behalf of a healthcare provider and that you
        will follow them.
      </p>
      <h3>Protected health information</h3>
      <ul>
        <li>
          The portal holds protected health information (PHI) and personally identifiable
          information. Use it only for the treatment, payment or healthcare operations you are
          authorized to carry out, and look only at the records you need for that work.
        </li>
        <li>
          Do not copy, download, print or share information from the portal except as your work
          requires and as HIPAA and your organization's policies allow.
        </li>
        <li>
          Report any information you received by mistake, and any suspected misuse or breach, to
          your portal administrator at once.
        </li>
      </ul>
      <h3>Your account</h3>
      <ul>
        <li>
          Your account is for you alone. Never share your password, verification codes or
          registration links, and never let anyone else sign in as you.
        </li>
        <li>
          Keep the email address and phone number you registered current; they protect your account
          with a second factor.
        </li>
        <li>
          Do not use Remember Me on a shared or public device. Sign out when you leave the device.
        </li>
      </ul>
      <h3>Monitoring</h3>
      <p>
        Sign-ins, verification attempts and other activity are recorded and may be reviewed. Access
        may be suspended when an account appears to be misused or these terms are not followed, and
        misuse may be reported to the authorities.
      </p>
      <h3>Changes</h3>
      <p>
        When these terms change you will be asked to read and accept the new version before you
        continue to use the portal.
      </p>
    </section>
  );
}
