-- Where a staff sign-in ends (product.md §5 `rd`): checked by return-to.ts when Staff Login is
-- pressed, kept with the request until the issuer sends the browser back, and checked again then.
-- Null: /home.
alter table staff_sign_ins add column return_to text;
