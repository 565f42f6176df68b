import { parsePhoneNumberFromString, type NumberType } from "libphonenumber-js/max";

/**
 * Phone numbers for codes and calls: 10-digit US direct lines only. Premium-rate (900, NXX 976),
 * N11 service codes, toll-free, shared-cost and personal numbers, extensions and numbers outside
 * the US are refused before any provider is called (SMS pumping, ASVS 6.6.3).
 *
 * Decision: the fictional 555-0100..555-0199 range is ACCEPTED. It is a well-formed NANP number
 * (libphonenumber calls it valid) and it is what demos, the dev outbox and tests use; a real
 * provider simply cannot deliver to it, which costs nothing.
 * US territories that share +1 (Puerto Rico, the US Virgin Islands, Guam, the Northern Mariana
 * Islands, American Samoa) count as US; Canada and the Caribbean nations do not.
 */
export type ParsedPhone = { ok: true; e164: string } | { ok: false; reason: string };

const US_REGIONS = new Set(["US", "PR", "VI", "GU", "MP", "AS"]);
const ALLOWED_TYPES = new Set<NumberType>(["FIXED_LINE", "MOBILE", "FIXED_LINE_OR_MOBILE", "VOIP", undefined]);
const TOLL_FREE_AREAS = new Set(["800", "833", "844", "855", "866", "877", "888"]);

const INVALID = "Enter a 10-digit US phone number, such as (202) 555-0143.";

export function parseUsPhone(input: string): ParsedPhone {
  const text = (input ?? "").trim();
  if (text === "") return { ok: false, reason: "Enter your phone number." };
  if (text.length > 40) return { ok: false, reason: INVALID };
  // libphonenumber finds most extensions; this also catches "x12" or "#12" forms it might read as digits.
  if (/\d[\s,;.]*(?:ext\.?|extension|x|#|,|;)\s*\d/i.test(text)) return { ok: false, reason: "Enter a direct line without an extension." };
  const phone = parsePhoneNumberFromString(text, "US");
  if (!phone) return { ok: false, reason: INVALID };
  if (phone.ext) return { ok: false, reason: "Enter a direct line without an extension." };
  if (phone.countryCallingCode !== "1") return { ok: false, reason: "Enter a US phone number; numbers outside the US cannot be used." };
  const national = phone.nationalNumber;
  if (!/^\d{10}$/.test(national)) return { ok: false, reason: INVALID };
  const area = national.slice(0, 3);
  const exchange = national.slice(3, 6);
  if (area === "900" || exchange === "976") return { ok: false, reason: "Premium-rate numbers cannot be used. Enter your own direct line." };
  if (TOLL_FREE_AREAS.has(area)) return { ok: false, reason: "Toll-free numbers cannot be used. Enter your own direct line." };
  if (/^[2-9]11$/.test(area) || /^[2-9]11$/.test(exchange)) return { ok: false, reason: INVALID };
  if (!phone.isValid()) return { ok: false, reason: INVALID };
  if (!phone.country || !US_REGIONS.has(phone.country)) {
    return { ok: false, reason: "Enter a US phone number; numbers outside the US cannot be used." };
  }
  const type = phone.getType();
  if (type === "PREMIUM_RATE") return { ok: false, reason: "Premium-rate numbers cannot be used. Enter your own direct line." };
  if (type === "TOLL_FREE") return { ok: false, reason: "Toll-free numbers cannot be used. Enter your own direct line." };
  if (!ALLOWED_TYPES.has(type)) return { ok: false, reason: "This number cannot receive codes. Enter your own direct line." };
  return { ok: true, e164: phone.number };
}
