/**
 * The version of the Terms of Use in templates/terms.tsx. Change it whenever the text changes in
 * substance: everyone whose stored users.terms_version differs is asked to accept again (the
 * registration wizard always asks; sign-in asks when the stored version is not this one).
 */
export const TERMS_VERSION = "2026-01";
