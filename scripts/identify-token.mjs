// Prints an identify token as a site's backend would sign it (HS256 with IDENTIFY_SECRET from
// .dev.vars, 10 minutes, a fresh jti): node scripts/identify-token.mjs <customerId> [visitorId]
import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";

const [customerId, visitorId] = process.argv.slice(2);
if (!customerId) throw new Error("usage: node scripts/identify-token.mjs <customerId> [visitorId]");
const secret = /^IDENTIFY_SECRET=(.*)$/m.exec(readFileSync(".dev.vars", "utf8"))?.[1];
if (!secret) throw new Error(".dev.vars has no IDENTIFY_SECRET (npm start writes one)");
const token = await new SignJWT(visitorId ? { vid: visitorId } : {})
  .setProtectedHeader({ alg: "HS256" })
  .setSubject(customerId)
  .setJti(randomUUID())
  .setExpirationTime("10m")
  .sign(new TextEncoder().encode(secret));
console.log(token);
