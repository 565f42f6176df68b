-- The last wrong answer typed for a code, kept like code_hmac (HMAC-SHA-256 with SECRET_KEY, never
-- the digits): the same wrong code sent again in a row (a browser reload posts the form again)
-- takes no second try and no second lockout count. Written only by src/auth/codes.ts.
alter table codes add column last_wrong_hmac bytea;
