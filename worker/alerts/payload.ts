/**
 * Alert bodies. `slack`: a Slack incoming-webhook message — `text` (the fallback shown in
 * notifications) and `blocks` (Block Kit `header` and `section` blocks with mrkdwn text), the
 * fields Slack documents for incoming webhooks (api.slack.com/messaging/webhooks,
 * api.slack.com/reference/block-kit/blocks). `generic`: the same facts as plain JSON for any
 * other receiver (PagerDuty/Opsgenie bridges, a function of your own).
 */
import type { IncidentChange } from "../incidents/store.ts";

export type AlertFormat = "slack" | "generic";

/** The generic body: one incident change. */
export interface GenericAlert {
  source: "nextbest";
  change: IncidentChange["change"];
  changeId: number;
  actor: string;
  note: string | null;
  at: string;
  incident: {
    id: number;
    kind: string;
    subject: string;
    severity: string;
    state: string;
    model: string | null;
    firstSeen: string;
    lastSeen: string;
    figures: Record<string, number | string | null>;
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

export function genericAlert(c: IncidentChange): GenericAlert {
  const i = c.incident;
  return {
    source: "nextbest",
    change: c.change,
    changeId: c.changeId,
    actor: c.actor,
    note: c.note,
    at: iso(c.at),
    incident: { id: i.id, kind: i.kind, subject: i.subject, severity: i.severity, state: i.state, model: i.model, firstSeen: iso(i.firstSeen), lastSeen: iso(i.lastSeen), figures: i.figures },
  };
}

/** One line saying what happened, for Slack's `text` and for logs. */
export function summary(c: IncidentChange): string {
  const i = c.incident;
  return `[${i.severity.toUpperCase()}] incident #${i.id} ${c.change}: ${i.kind} (${i.subject})${c.actor !== "system" ? ` by ${c.actor}` : ""}`;
}

export function slackAlert(c: IncidentChange): { text: string; blocks: unknown[] } {
  const i = c.incident;
  const figures = Object.entries(i.figures)
    .map(([k, v]) => `*${k}*: ${v === null ? "–" : String(v)}`)
    .join("\n")
    .slice(0, 2900);
  return {
    text: summary(c),
    blocks: [
      { type: "header", text: { type: "plain_text", text: `${i.severity === "alert" ? "🚨" : "⚠️"} ${i.kind} ${c.change}`.slice(0, 150) } },
      {
        type: "section",
        fields: [
          { type: "mrkdwn", text: `*Incident*\n#${i.id}` },
          { type: "mrkdwn", text: `*Subject*\n${i.subject}` },
          { type: "mrkdwn", text: `*Severity*\n${i.severity}` },
          { type: "mrkdwn", text: `*State*\n${i.state}` },
        ],
      },
      ...(figures ? [{ type: "section", text: { type: "mrkdwn", text: figures } }] : []),
      { type: "context", elements: [{ type: "mrkdwn", text: `${c.actor} · ${iso(c.at)}${c.note ? ` · ${c.note}` : ""}` }] },
    ],
  };
}

export function alertBody(format: AlertFormat, c: IncidentChange): string {
  return JSON.stringify(format === "slack" ? slackAlert(c) : genericAlert(c));
}
