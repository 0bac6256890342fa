/**
 * Configuration maps keyed by names that come from elsewhere (block ids, campaign names from the
 * catalog): a key such as `constructor` or `__proto__` must not find Object.prototype's members.
 */

/** `record[key]` when `key` is the record's own property, else undefined. */
export function own<T>(record: Record<string, T> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}
