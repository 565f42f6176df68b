/**
 * The password length bounds of security.md (12..256 characters; ASVS 6.2.1, 6.2.9). In the
 * kernel, like terms.ts, because the New Password hint shows them and a template may not import
 * src/auth/passwords.ts (it loads argon2 and zxcvbn).
 */
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;
