// Creates .dev.vars (local Worker secrets, gitignored) with a random ADMIN_TOKEN if it is missing,
// so `npm start` works on a fresh clone and the admin API is usable locally.
import { existsSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";

if (!existsSync(".dev.vars")) {
  const token = randomBytes(24).toString("hex");
  writeFileSync(".dev.vars", `ADMIN_TOKEN=${token}\n`);
  console.log(`created .dev.vars with a local ADMIN_TOKEN (${token})`);
}
