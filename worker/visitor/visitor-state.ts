import { DurableObject } from "cloudflare:workers";
import { addExposure, WINDOW_MS, type Exposure } from "../guardrails/caps.ts";
import { selectSlots, type SelectionInput, type SlotPick, type VisitorHistory } from "../decide/select.ts";
import { servedExposures, usesAccountCaps } from "../identity/account-caps.ts";
import { absorbHistory, createIdentityTables, identityRecords, markMerged, mergedVisitors, mergeTraits, readIdentity, writeIdentity, type HistorySnapshot } from "../identity/object-state.ts";
import { EMPTY_PROFILE, type AccountTraits, type Profile, type ProfileTraits } from "../identity/schema.ts";
import { customerKeyOf } from "../identity/keys.ts";
import { clearMoments, loadMoments, observe, readMomentTimer, writeMomentTimer, type MomentsMemory, type MomentsUpdate } from "../moments/object-state.ts";
import { momentsRead, memberships, type MomentMembership, type RecentEvent } from "../moments/evaluate.ts";
import { d1MomentStore } from "../moments/store.ts";
import { hasTimedMoments, MIN_TIMER_GAP_MS, nextMomentCheck, timedMoments, type TimerContext } from "../moments/timer.ts";
import { notifyEntries, notifyExits } from "../moments/exits.ts";
import type { MomentsConfig } from "../moments/schema.ts";

import type { Channel } from "../actions/channels.ts";
import { ensureOutboundTables, hourCounts, pickAdmitted, recordEngagementIn, releaseContactIn, reserveContact, type ReserveInput, type ReserveResult } from "../next-action/contact-store.ts";
import { emptyCounts, type HourCounts } from "../send-time/shrinkage.ts";
import { localHourOfWeek } from "../send-time/tz.ts";
import { addSessionViews, PendingWrites } from "./pending-writes.ts";
import { insertRows } from "./sql-rows.ts";

export type { HistorySnapshot } from "../identity/object-state.ts";

/**
 * What a moments-aware call carries (worker/moments/): the configuration in force, the name of the
 * object called (for the exit hook; a forwarded call names the customer's object) and the
 * decide's signals.
 */
export interface MomentsCall {
  config: MomentsConfig;
  key: string;
  signals?: Record<string, unknown>;
}

/** Options of one selection call. */
export interface SelectOptions {
  now: number;
  sessionTimeoutMs: number;
}

/**
 * Per-visitor state (one Durable Object per visitor, named by `visitorKey(visitorId)`):
 * exposures for frequency caps (a week of timestamps, pruned, plus lifetime counters), the
 * session, and campaigns converted on. Only called for visitors with personalisation consent, so
 * nothing is written here without it.
 *
 * `select` reads the history, runs the pure selection and adds the served blocks to the history
 * in memory with no await in between: the Durable Object runs it atomically, so concurrent
 * decides for one visitor cannot exceed a cap. The exposures reach SQLite a moment after the
 * answer (pending-writes.ts: what that costs if the object is torn down in between).
 *
 * Identity (worker/identity/): a visitor linked to a customer by identify forwards its state
 * calls to the customer's object (same class, named `customer:<HMAC key>`), which holds the
 * history of every device of the customer: caps, sessions and conversions hold across devices,
 * and resolving visitor → customer costs no D1 read, only this hop for linked visitors.
 */
export class VisitorState extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** Page views, activity and served exposures not yet written (pending-writes.ts). */
  private readonly pending: PendingWrites;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.pending = new PendingWrites(({ session, counts, lastSeen, exposures }) => {
      this.ensureTables();
      if (session) this.writeSessionStart(session.start, session.visits);
      addSessionViews(this.sql, counts);
      if (lastSeen !== undefined) this.setMeta("last_seen", lastSeen);
      this.record(exposures);
    });
  }

  /**
   * Whether this visitor has state. Tables are created by the first write, never on reads or
   * erasure: a request about a visitor with no state (a consent withdrawal for a new id, a
   * conversion for an unknown decision) leaves no state behind.
   */
  private tablesReady?: boolean;
  private hasTables(): boolean {
    this.tablesReady ??= this.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'exposures'").toArray().length > 0;
    if (this.tablesReady) this.migrate();
    return this.tablesReady;
  }

  /** Before any write. */
  private ensureTables(): void {
    if (this.hasTables()) return;
    this.createTables();
    this.tablesReady = true;
  }

  private migrated = false;
  /** Objects created before exposures carried their decision id get the column. */
  private migrate(): void {
    if (this.migrated) return;
    this.migrated = true;
    const columns = this.sql.exec<{ name: string }>("PRAGMA table_info(exposures)").toArray().map((c) => c.name);
    if (!columns.includes("decision_id")) this.sql.exec("ALTER TABLE exposures ADD COLUMN decision_id TEXT");
    // Objects created before identity (worker/identity/) get its tables.
    createIdentityTables(this.sql);
  }

  /** The customer object this visitor forwards to (cached: this instance is its only writer). */
  private customer?: string | null;
  private linking?: Promise<unknown>;

  private linkedTo(): string | undefined {
    if (this.customer === undefined) this.customer = this.hasTables() ? (readIdentity(this.sql, "customer") ?? null) : null;
    return this.customer ?? undefined;
  }

  /** Whether the customer withdrew consent on one of their devices (cached like the link). */
  private withdrawn?: boolean;
  private hasWithdrawn(): boolean {
    this.withdrawn ??= this.hasTables() && readIdentity(this.sql, "withdrawn") !== undefined;
    return this.withdrawn;
  }

  private object(name: string): DurableObjectStub<VisitorState> {
    return this.env.VISITOR.get(this.env.VISITOR.idFromName(name)) as DurableObjectStub<VisitorState>;
  }

  /** The customer's object when this visitor is linked, else undefined (serve from here). */
  private forward(): DurableObjectStub<VisitorState> | undefined {
    const name = this.linkedTo();
    return name ? this.object(name) : undefined;
  }

  private createTables(): void {
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS exposures (at INTEGER NOT NULL, block_id TEXT NOT NULL, campaign TEXT NOT NULL, personalized INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS exposures_at ON exposures (at);
      CREATE TABLE IF NOT EXISTS lifetime (key TEXT PRIMARY KEY, count INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS converted (campaign TEXT PRIMARY KEY, at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS session_views (category TEXT PRIMARY KEY, count INTEGER NOT NULL);
    `);
    this.migrate();
  }

  private meta(key: string): number | undefined {
    const row = this.sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0];
    return row?.value;
  }

  private setMeta(key: string, value: number): void {
    this.sql.exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value);
  }

  /** A session's start: its time (ms), the visit count, and no page views yet. */
  private writeSessionStart(start: number, visits: number): void {
    this.setMeta("session_start", start);
    this.setMeta("visits", visits);
    this.sql.exec("DELETE FROM session_views");
  }

  /** How many sessions this visitor has had, the current one included, pending or written. */
  private storedVisits(): number | undefined {
    return this.pending.pendingVisits() ?? (this.hasTables() ? this.meta("visits") : undefined);
  }

  /** The visit count as a signal (1 for a visitor whose first session is not counted yet). */
  private visitCount(): number {
    return this.storedVisits() ?? 1;
  }

  /**
   * The history, read from SQLite once per instance and then kept in memory: a Durable Object
   * instance is the only writer of its storage, so the copy cannot go stale.
   */
  private loaded?: VisitorHistory & { lastSeen?: number };
  private persistedLastSeen?: number;

  private load(): VisitorHistory & { lastSeen?: number } {
    if (this.loaded) return this.loaded;
    // No state yet: an empty history, in memory only (a write creates the tables).
    if (!this.hasTables()) return (this.loaded = { recent: [], lifetime: {}, converted: [], sessionStart: 0 });
    const recent = this.sql
      .exec<{ at: number; block_id: string; campaign: string; personalized: number; decision_id: string | null }>("SELECT at, block_id, campaign, personalized, decision_id FROM exposures")
      .toArray()
      .map((r) => ({ at: r.at, blockId: r.block_id, campaign: r.campaign, personalized: r.personalized === 1, ...(r.decision_id ? { decisionId: r.decision_id } : {}) }));
    const lifetime: Record<string, number> = {};
    for (const r of this.sql.exec<{ key: string; count: number }>("SELECT key, count FROM lifetime")) lifetime[r.key] = r.count;
    const converted = this.sql.exec<{ campaign: string }>("SELECT campaign FROM converted").toArray().map((r) => r.campaign);
    const lastSeen = this.meta("last_seen");
    this.persistedLastSeen = lastSeen;
    this.loaded = { recent, lifetime, converted, sessionStart: this.meta("session_start") ?? 0, ...(lastSeen !== undefined ? { lastSeen } : {}) };
    return this.loaded;
  }

  /**
   * The history at `now`, starting a new session after `sessionTimeoutMs` of inactivity.
   * `deferActivity`: a session's start and `last_seen` are written by the next flush of the
   * pending writes, and a new visitor's tables created by it (pending-writes.ts); otherwise now,
   * after whatever is pending.
   */
  private history(now: number, sessionTimeoutMs: number, deferActivity = false): VisitorHistory {
    if (!deferActivity) {
      this.pending.flush();
      this.ensureTables();
    }
    const h = this.load();
    const newSession = h.lastSeen === undefined || now - h.lastSeen > sessionTimeoutMs;
    if (newSession) {
      h.sessionStart = now;
      const visits = (this.storedVisits() ?? 0) + 1;
      if (deferActivity) this.pending.startSession(now, visits);
      else {
        this.writeSessionStart(now, visits);
        this.pending.dropSession();
      }
    }
    h.lastSeen = Math.max(now, h.lastSeen ?? now);
    // Activity is persisted a minute ahead, at most once a minute: after an eviction a session
    // may last up to a minute longer than it should, never shorter, so session caps only get
    // stricter — and the hot path skips a write on most requests. A page's is written after its
    // answer (pending-writes.ts).
    if (this.persistedLastSeen === undefined || h.lastSeen > this.persistedLastSeen) {
      this.persistedLastSeen = h.lastSeen + 60_000;
      if (deferActivity) this.pending.seen(this.persistedLastSeen);
      else this.setMeta("last_seen", this.persistedLastSeen);
    }
    return h;
  }

  /** Persists served blocks: one insert for the exposures, one upsert for the counters. */
  private record(exposures: Exposure[]): void {
    if (exposures.length === 0) return;
    insertRows(this.sql, "INSERT INTO exposures (at, block_id, campaign, personalized, decision_id)", exposures.map((e) => [e.at, e.blockId, e.campaign, e.personalized ? 1 : 0, e.decisionId ?? null]));
    const counts = new Map<string, number>();
    for (const e of exposures) {
      for (const key of [`block:${e.blockId}`, `campaign:${e.campaign}`, ...(e.personalized ? ["global"] : [])]) counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    insertRows(this.sql, "INSERT INTO lifetime (key, count)", [...counts], "ON CONFLICT (key) DO UPDATE SET count = count + excluded.count");
  }

  /**
   * Applies caps and page rules, chooses per slot, records what is served. Atomic: the served
   * exposures join the in-memory history before the answer (caps hold for the next call at once)
   * and are written a moment after it (pending-writes.ts), with the page's view and activity.
   */
  async select(input: SelectionInput, options: SelectOptions): Promise<SlotPick[]> {
    const to = this.forward();
    if (to) return (await to.select(input, options)) as SlotPick[];
    return this.selectHere(input, options);
  }

  /** The selection in this object; asynchronous only when an account cap consults the account's object. */
  private selectHere(input: SelectionInput, options: SelectOptions): SlotPick[] | Promise<SlotPick[]> {
    // A customer who withdrew consent on one device: defaults everywhere, nothing recorded.
    if (this.hasWithdrawn()) return input.slots.map(({ slot, decisionId }) => ({ slot, decisionId, propensity: 1, explored: false, excluded: [] }));
    const account = usesAccountCaps(input) ? this.accountName() : undefined;
    if (account) {
      // The account's object records synchronously; this object's pending writes go first.
      this.pending.flush();
      return this.selectWithAccount(account, input, options);
    }
    const history = this.history(options.now, options.sessionTimeoutMs, true);
    const before = history.recent.length;
    // selectSlots appends the served exposures and bumps the lifetime counters in memory.
    const picks = selectSlots(input, history, options.now);
    this.pending.served(history.recent.slice(before));
    this.prune(history, options.now);
    return picks;
  }

  /** Timestamps older than the longest sliding window are no longer needed (lifetime counters stay). */
  private prune(history: { recent: Exposure[] }, now: number): void {
    const horizon = now - WINDOW_MS.week;
    if (history.recent.some((e) => e.at <= horizon)) {
      history.recent = history.recent.filter((e) => e.at > horizon);
      // Not created yet while all of them are pending (pending-writes.ts); those are written
      // with their lifetime counters and pruned when the object next loads.
      if (this.hasTables()) this.sql.exec("DELETE FROM exposures WHERE at <= ?", horizon);
    }
  }

  /** (Customer object) The account object its profile names, if any (cached: only setProfile writes it). */
  private account?: string | null;
  private accountName(): string | undefined {
    if (this.account === undefined) this.account = this.hasTables() ? (readIdentity(this.sql, "account") ?? null) : null;
    return this.account ?? undefined;
  }

  /**
   * (Customer object) `select` when account caps are in play (worker/identity/account-caps.ts):
   * the account's object selects against this history and its own, atomically; this object holds
   * its input meanwhile, then records what was served.
   */
  private async selectWithAccount(account: string, input: SelectionInput, options: SelectOptions): Promise<SlotPick[]> {
    type Outcome = { picks: SlotPick[] } | { error: unknown };
    let result = { error: new Error("account selection did not run") } as Outcome;
    await this.ctx.blockConcurrencyWhile(async () => {
      try {
        const history = this.history(options.now, options.sessionTimeoutMs);
        const picks = (await this.object(account).selectForAccount(input, history, options.now, true)) as SlotPick[];
        const served = servedExposures(picks, options.now);
        for (const e of served) addExposure(history, e);
        this.record(served);
        this.prune(history, options.now);
        result = { picks };
      } catch (error) {
        result = { error }; // thrown outside: an exception inside would reset the object
      }
    });
    const outcome = result as Outcome;
    if ("error" in outcome) throw outcome.error;
    return outcome.picks;
  }

  /**
   * (Account object) Runs the selection against a customer's history (a copy, not kept) and this
   * account's exposures, and records the served blocks here (without decision ids) when `record`.
   * Synchronous: decides of every customer of the account are serialised.
   */
  selectForAccount(input: SelectionInput, customer: VisitorHistory, now: number, record: boolean): SlotPick[] {
    if (!record) return selectSlots(input, customer, now, structuredClone(this.load()));
    this.ensureTables();
    const h = this.load();
    const before = h.recent.length;
    const picks = selectSlots(input, customer, now, h);
    this.record(h.recent.slice(before));
    this.prune(h, now);
    return picks;
  }

  /**
   * The selection `select` would make now, recording nothing: no exposure, no session start, no
   * activity (debug decides must not consume the visitor's caps).
   */
  async preview(input: SelectionInput, options: SelectOptions): Promise<SlotPick[]> {
    const to = this.forward();
    if (to) return (await to.preview(input, options)) as SlotPick[];
    const h = this.load();
    const copy: VisitorHistory = structuredClone({ recent: h.recent, lifetime: h.lifetime, converted: h.converted, sessionStart: h.sessionStart });
    if (h.lastSeen === undefined || options.now - h.lastSeen > options.sessionTimeoutMs) copy.sessionStart = options.now;
    const account = usesAccountCaps(input) ? this.accountName() : undefined;
    if (account) return (await this.object(account).selectForAccount(input, copy, options.now, false)) as SlotPick[];
    return selectSlots(input, copy, options.now);
  }

  // --- Moments (logic in worker/moments/object-state.ts) ---------------------------------------

  private momentsMem?: MomentsMemory;
  private moments(): MomentsMemory {
    return (this.momentsMem ??= loadMoments(this.sql));
  }

  /** What moment conditions read besides events and signals: traits (account: one hop, only when read) and the visit count. */
  private async momentTraits(config: MomentsConfig): Promise<TimerContext> {
    if (!this.hasTables()) return { visitCount: this.visitCount() };
    const traits = readIdentity(this.sql, "traits");
    const account = momentsRead(config, "account") ? readIdentity(this.sql, "account") : undefined;
    return { visitCount: this.visitCount(), ...(traits ? { profile: JSON.parse(traits) as ProfileTraits } : {}), ...(account ? { account: await this.object(account).accountTraits() } : {}) };
  }

  /**
   * Tells the hooks what changed, and arms the alarm at the next time a moment could change with
   * no new event (worker/moments/timer.ts) — recomputed only when something changed, new events
   * were kept (`recompute`), or no timer is armed, so a decide that changes nothing costs nothing.
   * Customers' objects only: what a timer changes matters where a listener acts on it (a journey
   * starts, a scheduled send is cancelled), and only customers have those; an anonymous visitor's
   * moments are evaluated at its events and decides, and its object never wakes by itself.
   */
  private afterMoments(call: MomentsCall, update: MomentsUpdate, now: number, context: TimerContext, recompute = false, notBefore = now): MomentMembership[] {
    // An armed time already past (its alarm ran without re-arming, or was lost) counts as none.
    if (customerKeyOf(call.key) !== undefined && hasTimedMoments(call.config) && (recompute || update.entered.length || update.exited.length || !((readMomentTimer(this.sql)?.at ?? -Infinity) >= now))) this.armMomentTimer(call, now, context, notBefore);
    if (update.exited.length) this.ctx.waitUntil(notifyExits(this.env, call.key, update.exited, now));
    if (update.entered.length) {
      // Only moments still held after the whole update: entered and left again in one batch
      // (add_to_cart then conversion in one beacon) starts nothing.
      const held = new Set(update.moments.map((m) => m.id));
      const entered = call.config.moments.filter((m) => update.entered.includes(m.id) && held.has(m.id));
      this.ctx.waitUntil(notifyEntries(this.env, call.key, entered, now));
    }
    return update.moments;
  }

  private armMomentTimer(call: MomentsCall, now: number, context: TimerContext, notBefore: number): void {
    const mem = this.moments();
    const next = nextMomentCheck(call.config, mem.states, mem.recent, context, now);
    const at = next === null ? null : Math.max(next, notBefore);
    const armed = readMomentTimer(this.sql);
    if (at === null) {
      if (armed) {
        writeMomentTimer(this.sql, undefined);
        this.ctx.waitUntil(this.ctx.storage.deleteAlarm());
      }
      return;
    }
    if (armed?.at === at && armed.key === call.key) return;
    writeMomentTimer(this.sql, { key: call.key, at });
    // An alarm already set for another time is replaced (one per object); a stale one finds no row.
    this.ctx.waitUntil(this.ctx.storage.setAlarm(at));
  }

  /** The moment timer (worker/moments/timer.ts): evaluates the moments at the time it was armed for. */
  override async alarm(): Promise<void> {
    const armed = readMomentTimer(this.sql);
    if (!armed || this.hasWithdrawn() || this.forward()) return;
    const { config } = await d1MomentStore(this.env.DB, this.env.CONFIG).current();
    await this.momentTimer(config, armed.key, Date.now());
  }

  /**
   * One evaluation with no event at `now` (ms): entries and exits are stored and heard by the
   * hooks (a journey starts, an exit cancels), and the timer is armed again. The alarm runs it;
   * tests call it with their own clock.
   */
  async momentTimer(config: MomentsConfig, key: string, now: number): Promise<MomentsUpdate> {
    const context = await this.momentTraits(config);
    // Moments that read a decide's signals are not evaluated without one (worker/moments/timer.ts).
    const update = observe(this.sql, this.moments(), timedMoments(config), [{ now, ...context }]);
    // At least MIN_TIMER_GAP_MS to the next run: a moment whose trigger and exit hold together
    // (a configuration mistake) re-enters and leaves once a minute at most, not in a busy loop.
    this.afterMoments({ config, key }, update, now, context, true, now + MIN_TIMER_GAP_MS);
    // A configuration with nothing timed left: the timer goes (afterMoments leaves it alone), or
    // its row would stay and keep decides from arming one when timed moments come back.
    if (!hasTimedMoments(config) && readMomentTimer(this.sql)) {
      writeMomentTimer(this.sql, undefined);
      this.ctx.waitUntil(this.ctx.storage.deleteAlarm());
    }
    return { ...update, moments: memberships(config, this.moments().states) };
  }

  /**
   * `select` and the visitor's moments at decide time, in the one call decide makes: the
   * selection, then membership evaluated (entries/exits stored) with the decide's signals.
   */
  async selectInMoments(input: SelectionInput, options: SelectOptions, call: MomentsCall): Promise<{ picks: SlotPick[]; moments: MomentMembership[] }> {
    const to = this.forward();
    if (to) return to.selectInMoments(input, options, { ...call, key: this.linkedTo()! }) as Promise<{ picks: SlotPick[]; moments: MomentMembership[] }>;
    if (this.hasWithdrawn()) return { picks: await this.select(input, options), moments: [] };
    const traits = await this.momentTraits(call.config);
    const picks = await this.selectHere(input, options);
    // The visit count after the selection (it may have started a session).
    const context = { ...traits, visitCount: this.visitCount() };
    const update = observe(this.sql, this.moments(), call.config, [{ now: options.now, signals: call.signals ?? {}, ...context }]);
    return { picks, moments: this.afterMoments(call, update, options.now, context) };
  }

  /** `preview` with the memberships a decide would see now, storing nothing (debug decides). */
  async previewInMoments(input: SelectionInput, options: SelectOptions, call: MomentsCall): Promise<{ picks: SlotPick[]; moments: MomentMembership[] }> {
    const to = this.forward();
    if (to) return to.previewInMoments(input, options, call) as Promise<{ picks: SlotPick[]; moments: MomentMembership[] }>;
    const picks = await this.preview(input, options);
    const context = await this.momentTraits(call.config);
    const update = observe(this.sql, this.moments(), call.config, [{ now: options.now, signals: call.signals ?? {}, ...context }], false);
    return { picks, moments: update.moments };
  }

  /**
   * Membership at decide time without a selection (a visitor in the universal control group gets
   * no selection, but the lift by moment needs their moments too). Stores entries/exits.
   */
  async momentsAtDecide(call: MomentsCall, now: number, record = true): Promise<MomentMembership[]> {
    const to = this.forward();
    if (to) return to.momentsAtDecide({ ...call, key: this.linkedTo()! }, now, record);
    if (this.hasWithdrawn()) return [];
    const context = await this.momentTraits(call.config);
    if (record) this.ensureTables();
    const update = observe(this.sql, this.moments(), call.config, [{ now, signals: call.signals ?? {}, ...context }], record);
    // A debug decide stores nothing, so it tells no listener either (no journey starts, nothing is cancelled).
    return record ? this.afterMoments(call, update, now, context) : update.moments;
  }

  /**
   * Events sent with personalisation consent (the caller checks), in order: the needed ones are
   * remembered for trigger windows, each may enter or exit moments. Returns what changed.
   */
  async momentEvents(events: RecentEvent[], call: MomentsCall, now: number): Promise<MomentsUpdate> {
    const to = this.forward();
    if (to) return to.momentEvents(events, { ...call, key: this.linkedTo()! }, now);
    if (this.hasWithdrawn()) return { entered: [], exited: [], moments: [] };
    this.ensureTables();
    const context = await this.momentTraits(call.config);
    const update = observe(this.sql, this.moments(), call.config, events.map((event) => ({ now: event.at, event, ...context })));
    this.afterMoments(call, update, now, context, true);
    return update;
  }

  /** The current memberships, reading only (`momentsOf`, worker/moments/index.ts). */
  async momentMemberships(config: MomentsConfig): Promise<MomentMembership[]> {
    const to = this.forward();
    if (to) return to.momentMemberships(config);
    return memberships(config, this.moments().states);
  }

  /**
   * Counts a page view (edge proxy mode, where no client script keeps session signals) and
   * returns the session's page views per category and the visit count, as signals.
   */
  async pageView(category: string | undefined, options: SelectOptions): Promise<{ categoryViews: Record<string, number>; visitCount: number }> {
    const to = this.forward();
    if (to) return to.pageView(category, options);
    // A customer who withdrew consent on one device: nothing counted, as for a new visitor.
    if (this.hasWithdrawn()) return { categoryViews: {}, visitCount: 1 };
    this.history(options.now, options.sessionTimeoutMs, true);
    // Counted now, written a moment later (pending-writes.ts): no commit to wait for.
    if (category) this.pending.add(category);
    const stored: Record<string, number> = {};
    if (this.hasTables()) for (const r of this.sql.exec<{ category: string; count: number }>("SELECT category, count FROM session_views")) stored[r.category] = r.count;
    return { categoryViews: this.pending.withPending(stored), visitCount: this.visitCount() };
  }

  /**
   * Corrects the exposures with an impression event: a block seen on a decision that serving did
   * not record (e.g. served while this object was unreachable) is counted now; one already
   * recorded is not counted twice. Returns whether an exposure was added.
   */
  async recordImpression(impression: { decisionId: string; blockId: string; campaign: string; personalized: boolean; at: number }, now: number): Promise<boolean> {
    const to = this.forward();
    if (to) return to.recordImpression(impression, now);
    const h = this.load();
    if (h.recent.some((e) => e.decisionId === impression.decisionId)) return false;
    if (impression.at <= now - WINDOW_MS.week) return false; // outside every sliding window
    const exposure: Exposure = { at: impression.at, blockId: impression.blockId, campaign: impression.campaign, personalized: impression.personalized, decisionId: impression.decisionId };
    this.ensureTables();
    addExposure(h, exposure);
    this.record([exposure]);
    return true;
  }

  /**
   * The campaign of a decision this object served and still remembers (exposures carry their
   * decision id for a week), or null. Lets a conversion find its campaign without the audit log,
   * which the log pipeline fills a moment after the answer.
   */
  async campaignOfDecision(decisionId: string): Promise<string | null> {
    const to = this.forward();
    if (to) return to.campaignOfDecision(decisionId);
    const exposure = this.load().recent.find((e) => e.decisionId === decisionId);
    return exposure?.campaign ? exposure.campaign : null;
  }

  /** Remembers a conversion on a campaign (for the already-converted exclusion). */
  async markConverted(campaign: string, at: number): Promise<void> {
    const to = this.forward();
    if (to) return to.markConverted(campaign, at);
    this.ensureTables();
    const h = this.load();
    if (!h.converted.includes(campaign)) h.converted.push(campaign);
    this.sql.exec("INSERT INTO converted (campaign, at) VALUES (?, ?) ON CONFLICT (campaign) DO NOTHING", campaign, at);
  }

  /** Exposures currently remembered (for tests and the admin API). */
  exposureCount(): number {
    this.pending.flush();
    if (!this.hasTables()) return 0;
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM exposures").one().n;
  }

  /**
   * Deletes everything stored for this visitor; returns how many records were removed: exposures,
   * lifetime counters and conversions (`records`), and for a customer the profile and links.
   */
  async erase(): Promise<{ records: number; profile?: number; links?: number }> {
    // What is pending is written first, so that `records` counts it (it is deleted with the rest);
    // nothing is pending unless a call created the tables. Nothing stored: nothing to delete, and
    // nothing created by looking.
    this.pending.flush();
    this.persistedLastSeen = undefined;
    if (!this.hasTables()) {
      // A visitor's first decide with moments writes their tables at once and its own later: an
      // object torn down in between leaves only those, which are erased too (tables created to
      // count in, then deleted with the rest).
      if (!this.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'").toArray().length) return { records: 0 };
      this.ensureTables();
    }
    const count = (table: string) => this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n;
    const records = count("exposures") + count("lifetime") + count("converted");
    const identity = identityRecords(this.sql);
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    // A selection run inside the object during the awaits above (not through RPC, which workerd
    // holds until this call ends) would otherwise write its exposure after the erasure.
    this.pending.dropAll();
    this.loaded = undefined;
    this.tablesReady = false;
    this.migrated = false;
    this.customer = undefined;
    this.withdrawn = undefined;
    this.momentsMem = undefined;
    this.account = undefined;
    // A customer's profile and links; nothing added for a plain visitor's object.
    return { records, ...(identity.profile || identity.links ? identity : {}) };
  }

  /**
   * Links this visitor to a customer's object and moves its anonymous history there, once:
   * the link is written first (synchronously: decides forward from then on), then the history
   * is merged by the customer's object, which merges each visitor key once. Concurrent calls for
   * the same customer wait for the first. A visitor already linked to another customer (a shared
   * device) is relinked without moving anything (its history is the other customer's).
   */
  async link(customer: string, selfKey: string, now: number): Promise<{ merged: boolean }> {
    this.ensureTables();
    const previous = this.linkedTo();
    if (previous === customer) {
      await this.linking;
      return { merged: false };
    }
    const h = this.load();
    const snapshot: HistorySnapshot = previous ? { recent: [], lifetime: {}, converted: [] } : { recent: h.recent, lifetime: h.lifetime, converted: h.converted };
    writeIdentity(this.sql, "customer", customer);
    this.customer = customer;
    const run = (async () => {
      try {
        const merged = await this.object(customer).absorb(selfKey, snapshot, now);
        // Moved: the customer's object holds it now.
        if (!previous) {
          this.sql.exec("DELETE FROM exposures; DELETE FROM lifetime; DELETE FROM converted; DELETE FROM session_views");
          this.pending.dropAll();
        }
        clearMoments(this.sql);
        this.momentsMem = undefined;
        this.loaded = undefined;
        return merged;
      } catch (err) {
        writeIdentity(this.sql, "customer", previous);
        this.customer = previous ?? null;
        throw err;
      }
    })();
    this.linking = run.catch(() => undefined);
    return { merged: await run };
  }

  /** The customer object this visitor is linked to, if any (erasure follows it). */
  linkedCustomer(): string | null {
    return this.linkedTo() ?? null;
  }

  /**
   * (Customer object) Merges a visitor's history, once per visitor key: exposures not already
   * here (by decision id), lifetime counters added, conversions united. Atomic.
   */
  absorb(visitorKey: string, snapshot: HistorySnapshot, now: number): boolean {
    this.ensureTables();
    writeIdentity(this.sql, "withdrawn", undefined); // identified again, with consent
    this.withdrawn = false;
    if (!markMerged(this.sql, visitorKey, now)) return false;
    absorbHistory(this.sql, this.load(), snapshot, now);
    return true;
  }

  /** (Customer object) Visitor keys merged into this customer. */
  linkedVisitors(): string[] {
    return this.hasTables() ? mergedVisitors(this.sql) : [];
  }

  /** (Customer object) Merges traits and sets the account object; returns the traits. */
  setProfile(traits: ProfileTraits | undefined, account: string | undefined, self?: string): ProfileTraits {
    this.ensureTables();
    if (account) writeIdentity(this.sql, "account", account);
    if (account) this.account = account;
    if (!traits) return JSON.parse(readIdentity(this.sql, "traits") ?? "{}") as ProfileTraits;
    const merged = mergeTraits(this.sql, "traits", traits);
    // New traits are an observation for the moments (tier now gold, a renewal date set): entered
    // or left now, or the timer armed for when they will be — after answering the caller.
    if (self) this.ctx.waitUntil(this.traitsChanged(self));
    return merged;
  }

  private async traitsChanged(self: string): Promise<void> {
    try {
      const { config } = await d1MomentStore(this.env.DB, this.env.CONFIG).current();
      if (config.moments.length && !this.hasWithdrawn()) await this.momentTimer(config, self, Date.now());
    } catch (err) {
      console.error("moments after a profile update failed:", err instanceof Error ? err.message : err);
    }
  }

  /** (Account object) Merges account traits. */
  setAccountTraits(traits: AccountTraits): AccountTraits {
    this.ensureTables();
    return mergeTraits(this.sql, "account_traits", traits);
  }

  /** (Account object) The account's traits. */
  accountTraits(): AccountTraits {
    if (!this.hasTables()) return {};
    return JSON.parse(readIdentity(this.sql, "account_traits") ?? "{}") as AccountTraits;
  }

  /** The traits decides see (`profile`, `account`): the customer's, through the link. */
  async profile(): Promise<Profile> {
    const to = this.forward();
    if (to) return to.profile();
    if (!this.hasTables()) return EMPTY_PROFILE;
    const traits = readIdentity(this.sql, "traits");
    const account = readIdentity(this.sql, "account");
    if (!traits && !account) return EMPTY_PROFILE;
    return { profile: JSON.parse(traits ?? "{}") as ProfileTraits, account: account ? await this.object(account).accountTraits() : {} };
  }

  /**
   * (Customer object) Traits, the account's traits and send-hour counts for next-action
   * (worker/next-action/): action conditions read `profile.*` and `account.*` as web decides do.
   */
  async outboundState(): Promise<{ traits: ProfileTraits; account: AccountTraits; counts: HourCounts }> {
    if (!this.hasTables()) return { traits: {}, account: {}, counts: emptyCounts() };
    ensureOutboundTables(this.sql);
    const account = readIdentity(this.sql, "account");
    return {
      traits: JSON.parse(readIdentity(this.sql, "traits") ?? "{}") as ProfileTraits,
      account: account ? await this.object(account).accountTraits() : {},
      counts: hourCounts(this.sql),
    };
  }

  /** (Customer object) Contact policy over web + outbound, checked and recorded atomically. */
  reserveContact(input: ReserveInput): ReserveResult {
    if (!input.record && !this.hasTables()) return pickAdmitted(input, []);
    this.ensureTables();
    return reserveContact(this.sql, this.load().recent, input);
  }

  /** (Customer object) Forgets a reserved contact that could not be scheduled. */
  releaseContact(decisionId: string): boolean {
    return this.hasTables() ? releaseContactIn(this.sql, decisionId) : false;
  }

  /** (Customer object) Counts an opened/clicked message; returns the local hour of week counted, or null. */
  recordEngagement(decisionId: string | undefined, at: number): number | null {
    this.ensureTables();
    const traits = JSON.parse(readIdentity(this.sql, "traits") ?? "{}") as ProfileTraits;
    return recordEngagementIn(this.sql, decisionId, localHourOfWeek(at, traits.contact?.timeZone ?? "UTC"));
  }

  /** (Customer object) Sets one channel's opt-in in the `contact` trait (unsubscribes). */
  setChannelOptIn(channel: Channel, optIn: boolean): ProfileTraits {
    this.ensureTables();
    return mergeTraits(this.sql, "traits", { contact: { optIns: { [channel]: optIn } } });
  }

  /**
   * (Customer object) Consent withdrawn on one of the customer's devices: erases this object's
   * state and serves defaults to every device, recording nothing, until an identify with consent.
   * Returns the visitor keys that were linked (their logs are erased by the caller).
   */
  async withdraw(): Promise<{ visitors: string[]; records: number }> {
    const visitors = this.linkedVisitors();
    const { records } = await this.erase();
    this.ensureTables();
    writeIdentity(this.sql, "withdrawn", "1");
    this.withdrawn = true;
    return { visitors, records };
  }
}
