import { env } from "cloudflare:workers";
import { decodeLakeFile } from "../../worker/lake/parquet.ts";

/**
 * Test files share one local D1 and R2: a lake test starts from empty raw tables, ledger and
 * lake, so rows other files left behind do not end up in its files.
 */
export async function resetLake(): Promise<void> {
  await env.DB.batch([env.DB.prepare("DELETE FROM decisions"), env.DB.prepare("DELETE FROM events"), env.DB.prepare("DELETE FROM lake_files")]);
  for (;;) {
    const listed = await env.LAKE.list({ prefix: "lake/" });
    if (listed.objects.length === 0) return;
    await env.LAKE.delete(listed.objects.map((o) => o.key));
  }
}

/** Every lake object key, in key order. */
export async function lakeKeys(): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const listed = await env.LAKE.list({ prefix: "lake/", cursor });
    keys.push(...listed.objects.map((o) => o.key));
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (cursor);
  return keys;
}

/** Reads one lake object back with hyparquet. */
export async function readLakeObject(key: string, columns?: string[]): Promise<Record<string, unknown>[]> {
  const obj = await env.LAKE.get(key);
  if (!obj) throw new Error(`no object ${key}`);
  return decodeLakeFile(await obj.arrayBuffer(), columns);
}

/** A bucket that fails one put: before storing it (`before`) or after (a crash before the ledger mark). */
export function failingBucket(bucket: R2Bucket, failOnPut: number, mode: "before" | "after"): R2Bucket & { failed: { key: string; bytes: ArrayBuffer } | null } {
  let puts = 0;
  const wrapper = {
    failed: null as { key: string; bytes: ArrayBuffer } | null,
    async put(key: string, value: ArrayBuffer, options?: R2PutOptions) {
      puts++;
      if (puts === failOnPut) {
        wrapper.failed = { key, bytes: value.slice(0) };
        if (mode === "after") await bucket.put(key, value, options);
        throw new Error(`injected R2 failure on put ${puts} (${mode})`);
      }
      return bucket.put(key, value, options);
    },
    get: (key: string) => bucket.get(key),
    head: (key: string) => bucket.head(key),
    list: (options?: R2ListOptions) => bucket.list(options),
    delete: (keys: string | string[]) => bucket.delete(keys),
  };
  return wrapper as unknown as R2Bucket & { failed: { key: string; bytes: ArrayBuffer } | null };
}
