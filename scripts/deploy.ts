/**
 * `npm run deploy`: everything a fresh Cloudflare deploy of nextbest needs, in order, safe to run
 * again (each step finds what exists by name and only creates what is missing):
 *
 *  1. builds the client script and the console (`npm run build:client`);
 *  2. creates the resources wrangler.toml binds that the account lacks: the D1 database, the KV
 *     namespace (titled by its placeholder id, `nextbest-config`; a real 32-hex-digit id is kept),
 *     the R2 buckets and the queues (producers, consumers and dead-letter queues);
 *  3. writes `wrangler.deploy.toml` (gitignored): wrangler.toml with the account's D1 and KV ids;
 *  4. applies the D1 migrations to the remote database;
 *  5. generates the Worker secrets (.dev.vars.example lists them) the Worker does not have yet —
 *     32 random bytes each; IDENTIFY_SECRET is taken from the environment when set, since the
 *     site's backend must know it — saved in `.deploy/secrets.json` (mode 0600, gitignored; read
 *     the admin token there) and uploaded with the deploy; secrets the Worker has are kept;
 *  6. `wrangler deploy -c wrangler.deploy.toml`.
 *
 * `npm run deploy -- --dry-run` needs no account: steps 1 and 3 (placeholder ids kept) and
 * `wrangler deploy --dry-run`, which bundles the Worker and validates the configuration.
 * Authentication is wrangler's own (`wrangler login`, or CLOUDFLARE_API_TOKEN and
 * CLOUDFLARE_ACCOUNT_ID in CI). Commands and their JSON output:
 * https://developers.cloudflare.com/workers/wrangler/commands/
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parse, stringify } from "smol-toml";

/** One wrangler call: its arguments (and stdin) → whether it succeeded and what it printed. */
export type Wrangler = (args: string[], input?: string) => { ok: boolean; stdout: string; stderr: string };

/** The parts of wrangler.toml the deploy reads. */
interface Config {
  name: string;
  d1_databases?: { binding: string; database_name: string; database_id?: string }[];
  kv_namespaces?: { binding: string; id: string }[];
  r2_buckets?: { binding: string; bucket_name: string }[];
  queues?: { producers?: { queue: string }[]; consumers?: { queue: string; dead_letter_queue?: string }[] };
  [key: string]: unknown;
}

/** What ensureResources found or made: ids by D1 database name and KV title, and what it created. */
export interface Resources {
  d1: Record<string, string>;
  kv: Record<string, string>;
  created: string[];
}

function json<T>(text: string, what: string): T {
  const start = text.search(/[[{]/);
  try {
    return JSON.parse(start < 0 ? text : text.slice(start)) as T;
  } catch {
    throw new Error(`${what} is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
  }
}

function must(result: ReturnType<Wrangler>, what: string): string {
  if (!result.ok) throw new Error(`${what} failed:\n${result.stderr || result.stdout}`);
  return result.stdout;
}

/** A KV namespace id as Cloudflare issues them. */
const KV_ID = /^[0-9a-f]{32}$/;

/** The queue names wrangler.toml uses (producers, consumers, dead-letter queues), once each. */
export function queueNames(config: Config): string[] {
  const q = config.queues ?? {};
  return [...new Set([...(q.producers ?? []).map((p) => p.queue), ...(q.consumers ?? []).flatMap((c) => [c.queue, c.dead_letter_queue ?? []].flat())])];
}

/**
 * Finds each resource the configuration binds by name and creates the missing ones.
 * D1 by `database_name` (`wrangler d1 list --json`), KV by title = the configured placeholder id
 * (`wrangler kv namespace list`), R2 buckets and queues by `info` succeeding.
 *
 * @throws when a wrangler call that must succeed fails (not logged in, no permission)
 */
export function ensureResources(config: Config, wrangler: Wrangler, log: (line: string) => void = console.log): Resources {
  const created: string[] = [];
  const d1List = () => json<{ uuid: string; name: string }[]>(must(wrangler(["d1", "list", "--json"]), "listing D1 databases"), "wrangler d1 list");
  const kvList = () => json<{ id: string; title: string }[]>(must(wrangler(["kv", "namespace", "list"]), "listing KV namespaces"), "wrangler kv namespace list");

  const d1: Record<string, string> = {};
  let databases = d1List();
  for (const { database_name: name } of config.d1_databases ?? []) {
    if (!databases.some((d) => d.name === name)) {
      must(wrangler(["d1", "create", name]), `creating D1 database ${name}`);
      created.push(`d1:${name}`);
      databases = d1List();
    }
    const found = databases.find((d) => d.name === name);
    if (!found) throw new Error(`D1 database ${name} was created but is not listed`);
    d1[name] = found.uuid;
  }

  const kv: Record<string, string> = {};
  // An id that already is one (32 hex digits: set by hand) is kept; the placeholder names a title.
  const placeholders = (config.kv_namespaces ?? []).map((n) => n.id).filter((id) => !KV_ID.test(id));
  let namespaces = placeholders.length ? kvList() : [];
  for (const title of placeholders) {
    if (!namespaces.some((n) => n.title === title)) {
      must(wrangler(["kv", "namespace", "create", title]), `creating KV namespace ${title}`);
      created.push(`kv:${title}`);
      namespaces = kvList();
    }
    const found = namespaces.find((n) => n.title === title);
    if (!found) throw new Error(`KV namespace ${title} was created but is not listed`);
    kv[title] = found.id;
  }

  // `info` failing is taken as "missing"; if it failed for another reason, `create` fails too and
  // the error shows both answers.
  // `command` is the wrangler command group: ["r2", "bucket"] or ["queues"].
  const ensure = (tag: string, kind: string, command: string[], name: string) => {
    const found = wrangler([...command, "info", name]);
    if (found.ok) return;
    must(wrangler([...command, "create", name]), `creating ${kind} ${name} (after \`wrangler ${[...command, "info", name].join(" ")}\` answered: ${(found.stderr || found.stdout).trim().split("\n")[0]})`);
    created.push(`${tag}:${name}`);
  };
  for (const { bucket_name: bucket } of config.r2_buckets ?? []) ensure("r2", "R2 bucket", ["r2", "bucket"], bucket);
  for (const queue of queueNames(config)) ensure("queue", "queue", ["queues"], queue);
  log(created.length ? `created ${created.join(", ")}` : "every resource exists");
  return { d1, kv, created };
}

/** wrangler.toml with the account's ids (unchanged where `resources` has none: the dry run). */
export function deployConfig(config: Config, resources: Pick<Resources, "d1" | "kv">): Config {
  return {
    ...config,
    d1_databases: config.d1_databases?.map((d) => ({ ...d, database_id: resources.d1[d.database_name] ?? d.database_id })),
    kv_namespaces: config.kv_namespaces?.map((n) => ({ ...n, id: resources.kv[n.id] ?? n.id })),
  };
}

/** The secret names .dev.vars.example lists (`NAME=value` lines). */
export function secretNames(example: string): string[] {
  return example.split("\n").flatMap((line) => /^([A-Z][A-Z0-9_]*)=/.exec(line.trim())?.[1] ?? []);
}

/**
 * Values for the secrets the deployed Worker lacks (all of them when wrangler says the Worker is
 * not found: before the first deploy). IDENTIFY_SECRET comes from `env` when set.
 *
 * @throws when the secrets cannot be listed for another reason (nothing is regenerated then)
 */
export function missingSecrets(names: string[], configPath: string, wrangler: Wrangler, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const listed = wrangler(["secret", "list", "--format", "json", "-c", configPath]);
  // Only wrangler's `Worker "<name>" not found` means "never deployed, no secrets yet": any other
  // failure (rate limit, network, permissions) must not regenerate — and so replace — live secrets.
  if (!listed.ok && !/Worker "[^"]*"(?: \(env: [^)]*\))? not found/.test(`${listed.stderr}\n${listed.stdout}`)) must(listed, "listing the Worker's secrets");
  const have = new Set(listed.ok ? json<{ name: string }[]>(listed.stdout, "wrangler secret list").map((s) => s.name) : []);
  const out: Record<string, string> = {};
  for (const name of names) {
    if (have.has(name)) continue;
    out[name] = (name === "IDENTIFY_SECRET" && env.IDENTIFY_SECRET) || randomBytes(32).toString("base64url");
  }
  return out;
}

/** Runs the deploy (see the module comment). Returns the path of the configuration it deployed. */
export function deploy(
  root: string,
  opts: { dryRun: boolean; wrangler: Wrangler; run: (cmd: string, args: string[]) => void; log?: (line: string) => void; outdir?: string },
): string {
  const log = opts.log ?? console.log;
  opts.run("npm", ["run", "build:client"]);
  const config = parse(readFileSync(join(root, "wrangler.toml"), "utf8")) as Config;
  const resources = opts.dryRun ? { d1: {}, kv: {}, created: [] } : ensureResources(config, opts.wrangler, log);
  // Beside wrangler.toml: wrangler resolves main, assets and migrations_dir from the file's folder.
  const configPath = join(root, "wrangler.deploy.toml");
  writeFileSync(configPath, `# Written by npm run deploy from wrangler.toml; do not edit.\n${stringify(deployConfig(config, resources))}\n`);
  if (opts.dryRun) {
    log(must(opts.wrangler(["deploy", "--dry-run", "--outdir", opts.outdir ?? join(root, ".wrangler", "deploy", "dist"), "-c", configPath]), "wrangler deploy --dry-run").trim());
    log(`dry run: ${configPath} bundles and validates; nothing was created or deployed`);
    return configPath;
  }
  for (const { binding } of config.d1_databases ?? []) {
    log(must(opts.wrangler(["d1", "migrations", "apply", binding, "--remote", "-c", configPath]), `applying D1 migrations to ${binding}`).trim());
  }
  const secrets = missingSecrets(secretNames(readFileSync(join(root, ".dev.vars.example"), "utf8")), configPath, opts.wrangler);
  const args = ["deploy", "-c", configPath];
  if (Object.keys(secrets).length) {
    // Merged into what earlier deploys generated (a later run may add one secret; the admin token
    // stays readable), outside .wrangler/ (which is often deleted to reset local state); gitignored.
    const dir = join(root, ".deploy");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "secrets.json");
    const earlier = existsSync(file) ? json<Record<string, string>>(readFileSync(file, "utf8"), file) : {};
    writeFileSync(file, `${JSON.stringify({ ...earlier, ...secrets }, null, 2)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    // Only the new ones are uploaded: secrets the Worker has are never replaced.
    const upload = join(dir, "upload.json");
    writeFileSync(upload, JSON.stringify(secrets), { mode: 0o600 });
    args.push("--secrets-file", upload);
    log(`new secrets ${Object.keys(secrets).join(", ")} saved in ${file} (the admin token is ADMIN_TOKEN there)`);
  }
  const upload = args.includes("--secrets-file") ? args[args.length - 1]! : undefined;
  try {
    log(must(opts.wrangler(args), "wrangler deploy").trim());
  } finally {
    // The upload copy holds the new secrets in clear: gone once wrangler has read it.
    if (upload) rmSync(upload, { force: true });
  }
  log(`deployed ${config.name}`);
  return configPath;
}

/** wrangler from this project's node_modules, in `root`, without telemetry or prompts. */
export function localWrangler(root: string): Wrangler {
  return (args, input) => {
    const r = spawnSync(join(root, "node_modules", ".bin", "wrangler"), args, {
      cwd: root,
      input,
      encoding: "utf8",
      // CI=true: wrangler asks nothing (d1 migrations apply would wait for a confirmation).
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { ok: r.status === 0, stdout: r.stdout ?? "", stderr: r.stderr ?? String(r.error ?? "") };
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const dryRun = process.argv.includes("--dry-run");
  try {
    deploy(root, {
      dryRun,
      wrangler: localWrangler(root),
      run: (cmd, args) => {
        const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
        if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed`);
      },
    });
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
