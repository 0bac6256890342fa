/**
 * `npm run deploy` (scripts/deploy.ts). The Cloudflare account is out of reach here, so the
 * account is an in-memory one answering the wrangler commands the script uses in the shapes
 * wrangler prints them (`d1 list --json`, `kv namespace list`: JSON arrays; `info` failing for
 * what does not exist). The generated configuration and the bundle are checked by the real
 * wrangler (`deploy --dry-run`).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "smol-toml";
import { afterAll, describe, expect, it } from "vitest";
import { deploy, deployConfig, ensureResources, localWrangler, missingSecrets, queueNames, secretNames, type Wrangler } from "../../scripts/deploy.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const config = parse(readFileSync(join(ROOT, "wrangler.toml"), "utf8")) as Parameters<typeof ensureResources>[0];

/** An account as wrangler shows it, and every call made to it. */
function fakeAccount(): { wrangler: Wrangler; calls: string[] } {
  const d1: { uuid: string; name: string }[] = [];
  const kv: { id: string; title: string }[] = [];
  const r2 = new Set<string>();
  const queues = new Set<string>();
  const secrets = new Set<string>();
  let deployed = false;
  const calls: string[] = [];
  const ok = (stdout = "") => ({ ok: true, stdout, stderr: "" });
  const fail = (stderr: string) => ({ ok: false, stdout: "", stderr });
  const wrangler: Wrangler = (args) => {
    calls.push(args.join(" "));
    const [a, b, c, d] = args;
    if (a === "d1" && b === "list") return ok(`${JSON.stringify(d1)}\n`);
    if (a === "d1" && b === "create") return d1.push({ uuid: `0000000${d1.length}-aaaa-4bbb-8ccc-dddddddddddd`, name: c! }), ok("✅ Successfully created DB");
    if (a === "d1" && b === "migrations") return ok("migrations applied");
    if (a === "kv" && c === "list") return ok(JSON.stringify(kv));
    if (a === "kv" && c === "create") return kv.push({ id: `kv${kv.length}`.padEnd(32, "0"), title: d! }), ok();
    if (a === "r2" && c === "info") return r2.has(d!) ? ok() : fail("The specified bucket does not exist.");
    if (a === "r2" && c === "create") return r2.add(d!), ok();
    if (a === "queues" && b === "info") return queues.has(c!) ? ok() : fail("Queue not found");
    if (a === "queues" && b === "create") return queues.add(c!), ok();
    if (a === "secret" && b === "list") return deployed ? ok(JSON.stringify([...secrets].map((name) => ({ name, type: "secret_text" })))) : fail('✘ [ERROR] Worker "nextbest" not found.\n\nIf this is a new Worker, run `wrangler deploy` first to create it.');
    if (a === "deploy") {
      const file = args[args.indexOf("--secrets-file") + 1];
      uploaded = args.includes("--secrets-file") ? Object.keys(JSON.parse(readFileSync(file!, "utf8"))) : [];
      for (const name of uploaded) secrets.add(name);
      deployed = true;
      return ok("Deployed");
    }
    return fail(`unexpected: wrangler ${args.join(" ")}`);
  };
  return { wrangler, calls };
}

/** The secret names the fake account's last deploy uploaded. */
let uploaded: string[] = [];
const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

describe("npm run deploy", () => {
  it("creates every resource wrangler.toml binds once, and nothing when run again", () => {
    const { wrangler } = fakeAccount();
    const first = ensureResources(config, wrangler, () => {});
    expect(first.created).toEqual([
      "d1:nextbest",
      "kv:nextbest-config",
      "r2:nextbest-models",
      "r2:nextbest-lake",
      "queue:nextbest-log",
      "queue:nextbest-log-dlq",
    ]);
    expect(queueNames(config)).toEqual(["nextbest-log", "nextbest-log-dlq"]);
    const again = ensureResources(config, wrangler, () => {});
    expect(again.created).toEqual([]);
    expect(again.d1).toEqual(first.d1);
    expect(again.kv).toEqual(first.kv);
    // The deployed configuration differs from wrangler.toml by the two ids only.
    const deployed = deployConfig(config, first);
    expect(deployed.d1_databases![0]!.database_id).toBe(first.d1.nextbest);
    expect(deployed.kv_namespaces![0]!.id).toBe(first.kv["nextbest-config"]);
    expect({ ...deployed, d1_databases: config.d1_databases, kv_namespaces: config.kv_namespaces }).toEqual(config);
  });

  it("a failing wrangler call stops the deploy with its message", () => {
    const wrangler: Wrangler = () => ({ ok: false, stdout: "", stderr: "Not logged in." });
    expect(() => ensureResources(config, wrangler, () => {})).toThrow(/listing D1 databases failed:\nNot logged in\./);
  });

  it("reads the secret names from .dev.vars.example", () => {
    expect(secretNames(readFileSync(join(ROOT, ".dev.vars.example"), "utf8"))).toEqual(["ADMIN_TOKEN", "IDENTITY_SECRET", "IDENTIFY_SECRET", "ACTIVATION_WEBHOOK_SECRET"]);
  });

  it("applies migrations before deploying, uploads new secrets once (0600 file), keeps them on a second run", () => {
    const root = mkdtempSync(join(tmpdir(), "nb-deploy-"));
    temps.push(root);
    for (const f of ["wrangler.toml", ".dev.vars.example"]) copyFileSync(join(ROOT, f), join(root, f));
    const { wrangler, calls } = fakeAccount();
    const ran: string[] = [];
    const previous = process.env.IDENTIFY_SECRET;
    process.env.IDENTIFY_SECRET = "the-site-backend-knows-this";
    try {
      const path = deploy(root, { dryRun: false, wrangler, run: (cmd, args) => ran.push([cmd, ...args].join(" ")), log: () => {} });
      expect(ran).toEqual(["npm run build:client"]);
      const written = parse(readFileSync(path, "utf8")) as typeof config;
      expect(written.d1_databases![0]!.database_id).toMatch(/^00000000-/);
      const order = calls.map((c) => c.split(" ").slice(0, 2).join(" "));
      expect(order.indexOf("d1 migrations")).toBeGreaterThan(order.lastIndexOf("queues create"));
      expect(order.indexOf("deploy -c")).toBeGreaterThan(order.indexOf("d1 migrations"));
      const secretsFile = join(root, ".deploy", "secrets.json");
      expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
      const secrets = JSON.parse(readFileSync(secretsFile, "utf8")) as Record<string, string>;
      expect(Object.keys(secrets)).toEqual(["ADMIN_TOKEN", "IDENTITY_SECRET", "IDENTIFY_SECRET", "ACTIVATION_WEBHOOK_SECRET"]);
      expect(secrets.IDENTIFY_SECRET).toBe("the-site-backend-knows-this");
      expect(secrets.ADMIN_TOKEN).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(secrets.ADMIN_TOKEN).not.toBe(secrets.IDENTITY_SECRET);
      expect(calls.at(-1)).toContain("--secrets-file");

      calls.length = 0;
      deploy(root, { dryRun: false, wrangler, run: () => {}, log: () => {} });
      expect(calls.filter((c) => c.includes("create"))).toEqual([]);
      expect(calls.at(-1)).toBe(`deploy -c ${path}`);
      // The saved secrets are still there for the operator.
      expect(JSON.parse(readFileSync(secretsFile, "utf8"))).toEqual(secrets);

      // A release that needs one more secret: only that one is generated and uploaded, the saved
      // file keeps the others.
      writeFileSync(join(root, ".dev.vars.example"), `${readFileSync(join(root, ".dev.vars.example"), "utf8")}\nNEW_SECRET=change-me\n`);
      deploy(root, { dryRun: false, wrangler, run: () => {}, log: () => {} });
      expect(uploaded).toEqual(["NEW_SECRET"]);
      // The clear-text upload copy is gone after the deploy.
      expect(existsSync(join(root, ".deploy", "upload.json"))).toBe(false);
      const saved = JSON.parse(readFileSync(secretsFile, "utf8")) as Record<string, string>;
      expect(saved).toEqual({ ...secrets, NEW_SECRET: saved.NEW_SECRET });
    } finally {
      if (previous === undefined) Reflect.deleteProperty(process.env, "IDENTIFY_SECRET");
      else process.env.IDENTIFY_SECRET = previous;
    }
  });

  it("a secret list that fails for another reason than a missing Worker stops the deploy: live secrets are never regenerated", () => {
    const names = ["ADMIN_TOKEN", "IDENTITY_SECRET"];
    const limited: Wrangler = () => ({ ok: false, stdout: "", stderr: "✘ [ERROR] A request to the Cloudflare API failed. Too many requests [code: 971]" });
    expect(() => missingSecrets(names, "wrangler.deploy.toml", limited)).toThrow(/listing the Worker's secrets failed:\n.*Too many requests/);
    const fresh: Wrangler = () => ({ ok: false, stdout: "", stderr: '✘ [ERROR] Worker "nextbest" not found.' });
    expect(Object.keys(missingSecrets(names, "wrangler.deploy.toml", fresh))).toEqual(names);
    const some: Wrangler = () => ({ ok: true, stdout: JSON.stringify([{ name: "ADMIN_TOKEN", type: "secret_text" }]), stderr: "" });
    expect(Object.keys(missingSecrets(names, "wrangler.deploy.toml", some))).toEqual(["IDENTITY_SECRET"]);
    const garbled: Wrangler = () => ({ ok: true, stdout: "", stderr: "" });
    expect(() => missingSecrets(names, "wrangler.deploy.toml", garbled)).toThrow(/wrangler secret list is not JSON/);
  });

  it("a corrupt secrets file stops the deploy and names the file", () => {
    const root = mkdtempSync(join(tmpdir(), "nb-deploy-"));
    temps.push(root);
    for (const f of ["wrangler.toml", ".dev.vars.example"]) copyFileSync(join(ROOT, f), join(root, f));
    mkdirSync(join(root, ".deploy"));
    writeFileSync(join(root, ".deploy", "secrets.json"), "{ADMIN_TOKEN: oops");
    const { wrangler } = fakeAccount();
    expect(() => deploy(root, { dryRun: false, wrangler, run: () => {}, log: () => {} })).toThrow(/\.deploy\/secrets\.json is not JSON/);
  });

  it("a KV id already set by hand is kept, not looked up by title", () => {
    const { wrangler, calls } = fakeAccount();
    const own = { ...config, kv_namespaces: [{ binding: "CONFIG", id: "0123456789abcdef0123456789abcdef" }] };
    const resources = ensureResources(own, wrangler, () => {});
    expect(calls.some((c) => c.startsWith("kv "))).toBe(false);
    expect(deployConfig(own, resources).kv_namespaces).toEqual(own.kv_namespaces);
  });

  it("--dry-run: the generated configuration bundles and validates with the real wrangler, and creates nothing", () => {
    const { wrangler, calls } = fakeAccount();
    const real = localWrangler(ROOT);
    const both: Wrangler = (args, input) => (args[0] === "deploy" ? real(args, input) : wrangler(args, input));
    const outdir = mkdtempSync(join(tmpdir(), "nb-deploy-dist-"));
    temps.push(outdir);
    const lines: string[] = [];
    const path = deploy(ROOT, { dryRun: true, wrangler: both, run: () => {}, log: (line) => lines.push(line), outdir });
    // wrangler's own report is shown: the upload size among it.
    expect(lines.join("\n")).toMatch(/Total Upload: [\d.]+ KiB \/ gzip: [\d.]+ KiB/);
    temps.push(path);
    expect(calls).toEqual([]);
    expect(existsSync(join(outdir, "index.js"))).toBe(true);
    // With real-looking ids too (what a deploy writes): wrangler accepts the file.
    const withIds = deployConfig(config, ensureResources(config, wrangler, () => {}));
    expect(withIds.kv_namespaces![0]!.id).toHaveLength(32);
    writeFileSync(path, stringify(withIds));
    const check = real(["deploy", "--dry-run", "--outdir", outdir, "-c", path]);
    expect(check.ok, check.stderr).toBe(true);
  });
});
