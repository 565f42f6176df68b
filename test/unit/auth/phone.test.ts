import { suite } from "uvu";
import * as assert from "uvu/assert";
import { parseUsPhone } from "../../../src/auth/phone.ts";

const test = suite("auth/phone");

const accepted: [string, string][] = [
  ["2125550123", "+12125550123"],
  ["(212) 555-0123", "+12125550123"],
  ["212.555.0123", "+12125550123"],
  ["+1 212 555 0123", "+12125550123"],
  ["1-212-555-0123", "+12125550123"],
  ["  +1 (415) 867-5309 ", "+14158675309"],
  // Decision (documented in phone.ts): the fictional 555-0100..0199 range is accepted.
  ["(202) 555-0143", "+12025550143"],
  // US territories share +1 and count as US.
  ["+1 787 555 0123", "+17875550123"],
];

for (const [input, e164] of accepted) {
  test(`accepted: ${JSON.stringify(input)} → ${e164}`, () => {
    assert.equal(parseUsPhone(input), { ok: true, e164 });
  });
}

const refused: [string, RegExp][] = [
  ["", /Enter your phone number/],
  ["212-555-0123 ext 44", /without an extension/],
  ["212-555-0123 x44", /without an extension/],
  ["212-555-0123#44", /without an extension/],
  ["900-555-1234", /Premium-rate/],
  ["212-976-1234", /Premium-rate/],
  ["800-555-1234", /Toll-free/],
  ["888 234 5678", /Toll-free/],
  ["(833) 234-5678", /Toll-free/],
  ["411", /10-digit US phone number/],
  ["911", /10-digit US phone number/],
  ["212-411-1234", /10-digit US phone number/],
  ["411-555-1234", /10-digit US phone number/],
  ["555-0100", /10-digit US phone number/],
  ["123-456-7890", /10-digit US phone number/],
  ["212 555 01", /10-digit US phone number/],
  ["212555012345", /10-digit US phone number/],
  ["call me maybe", /10-digit US phone number/],
  ["+44 20 7946 0958", /outside the US/],
  ["+1 416 555 0123", /outside the US/], // Canada: NANP but not US
  ["+1 876 555 0123", /outside the US/], // Jamaica: a classic SMS-pumping destination
  ["+1 500 555 0123", /cannot receive codes/], // personal-communication numbers
  ["9".repeat(60), /10-digit US phone number/],
];

for (const [input, reason] of refused) {
  test(`refused with a sentence: ${JSON.stringify(input.slice(0, 30))}`, () => {
    const result = parseUsPhone(input);
    assert.is(result.ok, false);
    const text = (result as { reason: string }).reason;
    assert.match(text, reason);
    assert.match(text, /^[A-Z].*\.$/, "a user-facing sentence");
  });
}

test.run();
