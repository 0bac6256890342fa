/**
 * Experiments: lift per campaign and per moment, each against its KPI, with intervals, SRM
 * warnings and the minimum detectable lift. Routes:
 * - GET /admin/reports/lift?kpi=&controlShare= (the universal control group), and
 *   `&campaign=` per campaign (campaigns named by GET /admin/reports/content's `campaigns[]`);
 * - GET /admin/reports/moments: per moment its KPI and lift.
 * The address keeps the choices (`#/experiments?kpi=click&controlShare=0.1`).
 */
import { html } from "../html.ts";
import { ErrorBox, Loading, Section, useApi } from "../ui/common.ts";
import { LiftView, Methods, type LiftFigures } from "../ui/lift-view.ts";
import type { ConsolePage, PageProps } from "./index.ts";

type LiftAnswer = LiftFigures & { methods?: Record<string, string>; filters: { from: number; to: number } };
interface MomentsAnswer {
  methods: Record<string, string>;
  byMoment: { moment: string; kpi: { event: string; windowSeconds: number } | null; lift: LiftFigures }[];
}

function liftPath(kpi: string, controlShare: string, campaign?: string): string {
  const q = new URLSearchParams({ kpi });
  if (controlShare) q.set("controlShare", controlShare);
  if (campaign) q.set("campaign", campaign);
  return `/admin/reports/lift?${q}`;
}

function Lift({ title, kpi, path, showMethods }: { title: string; kpi: string; path: string; showMethods?: boolean }) {
  const lift = useApi<LiftAnswer>(path);
  return html`<article class="experiment" aria-label=${title}>
    <h3>${title}</h3>
    <${Loading} when=${lift.loading && !lift.data} /><${ErrorBox} error=${lift.error} />
    ${lift.data && html`<${LiftView} title=${title} kpi=${kpi} report=${lift.data} />`}
    ${showMethods && lift.data && html`<${Methods} methods=${lift.data.methods} />`}
  </article>`;
}

function Campaigns({ kpi, controlShare }: { kpi: string; controlShare: string }) {
  const content = useApi<{ campaigns: { campaign: string }[] }>("/admin/reports/content");
  const names = content.data?.campaigns.map((c) => c.campaign) ?? [];
  return html`<${Loading} when=${content.loading && !content.data} /><${ErrorBox} error=${content.error} />
    ${content.data && names.length === 0 && html`<p class="muted">No campaign has been served in the last 28 days.</p>`}
    ${names.map((name) => html`<${Lift} key=${name} title=${`Campaign ${name}`} kpi=${kpi} path=${liftPath(kpi, controlShare, name)} />`)}`;
}

function Moments() {
  const moments = useApi<MomentsAnswer>("/admin/reports/moments");
  const m = moments.data;
  return html`<${Loading} when=${moments.loading && !m} /><${ErrorBox} error=${moments.error} />
    ${m && m.byMoment.length === 0 && html`<p class="muted">No moment configured or served.</p>`}
    ${m?.byMoment.map(
      (s) => html`<article class="experiment" aria-label=${`Moment ${s.moment}`}>
        <h3>Moment ${s.moment}</h3>
        ${s.kpi ? html`<p class="muted">KPI ${s.kpi.event} within ${Math.round(s.kpi.windowSeconds / 3600)} h of the first decision in the moment.</p>` : html`<p class="muted">No decision in this moment yet.</p>`}
        <${LiftView} title=${`Moment ${s.moment}`} kpi=${s.kpi?.event ?? "(none yet)"} report=${s.lift} />
      </article>`,
    )}
    ${m && html`<${Methods} methods=${m.methods} />`}`;
}

function Experiments({ params, navigate }: PageProps) {
  const kpi = params.get("kpi") || "conversion";
  const controlShare = params.get("controlShare") ?? "";
  const apply = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const next: Record<string, string> = { kpi: String(form.get("kpi") || "conversion") };
    const share = String(form.get("controlShare") ?? "").trim();
    if (share) next.controlShare = share;
    navigate("experiments", next);
  };
  return html`<form class="filters" onSubmit=${apply}>
      <div><label for="exp-kpi">KPI of the campaign reports</label>
        <input id="exp-kpi" name="kpi" value=${kpi} maxlength="64" list="exp-kpis" />
        <datalist id="exp-kpis"><option value="conversion" /><option value="click" /><option value="impression" /></datalist></div>
      <div><label for="exp-share">Expected control share for the SRM check <span class="muted">(optional, 0–1; default: the configured split)</span></label>
        <input id="exp-share" name="controlShare" value=${controlShare} inputmode="decimal" /></div>
      <button type="submit">Show</button>
    </form>
    <${Section} title="Universal control group" id="exp-universal">
      <${Lift} title="All campaigns vs the universal control group" kpi=${kpi} path=${liftPath(kpi, controlShare)} showMethods=${true} />
    <//>
    <${Section} title="Per campaign" id="exp-campaigns"><${Campaigns} kpi=${kpi} controlShare=${controlShare} /><//>
    <${Section} title="Per moment" id="exp-moments"><${Moments} /><//>`;
}

export const experimentsPage: ConsolePage = { id: "experiments", title: "Experiments", component: Experiments };
