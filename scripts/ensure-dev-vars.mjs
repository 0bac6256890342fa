// Creates .dev.vars (local Worker secrets, gitignored) with a random ADMIN_TOKEN if it is missing,
// so `npm start` works on a fresh clone and the admin API is usable locally.
import { appendFileSync, chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";

if (!existsSync(".dev.vars")) {
  const token = randomBytes(24).toString("hex");
  writeFileSync(".dev.vars", `ADMIN_TOKEN=${token}\n`, { mode: 0o600 });
  console.log(`created .dev.vars with a local ADMIN_TOKEN (${token})`);
}

// Identity secrets (worker/identity/): the customer-id HMAC key and the identify token secret;
// the key signing activation webhooks (worker/activation/).
const vars = readFileSync(".dev.vars", "utf8");
for (const name of ["IDENTITY_SECRET", "IDENTIFY_SECRET", "ACTIVATION_WEBHOOK_SECRET"]) {
  if (!new RegExp(`^${name}=`, "m").test(vars)) appendFileSync(".dev.vars", `${name}=${randomBytes(32).toString("hex")}\n`);
}
// Secrets: readable by their owner only (also for a .dev.vars made before this line existed).
chmodSync(".dev.vars", 0o600);
