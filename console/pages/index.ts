/**
 * The console's pages, in navigation order. Each page is a view over admin routes (through
 * api.ts) and lives in its own file; `id` is its address (`#/<id>`, with `?query` for its state).
 */
import type { FunctionComponent } from "preact";
import type { Session } from "../session.ts";
import { overviewPage } from "./overview.ts";
import { decisionsPage } from "./decisions.ts";
import { visitorsPage } from "./visitors.ts";
import { operationsPage } from "./operations.ts";
import { experimentsPage } from "./experiments.ts";
import { modelsPage } from "./models.ts";
import { driftPage } from "./drift.ts";
import { contentPage } from "./content.ts";
import { guardrailsPage } from "./guardrails.ts";

export interface PageProps {
  session: Session;
  /** The query of the address (`#/decisions?visitor=v1` → visitor=v1). */
  params: URLSearchParams;
  /** Goes to another address, e.g. `navigate("decisions", { id })`. */
  navigate: (id: string, params?: Record<string, string>) => void;
}

export interface ConsolePage {
  id: string;
  title: string;
  component: FunctionComponent<PageProps>;
}

export const PAGES: ConsolePage[] = [
  overviewPage,
  experimentsPage,
  modelsPage,
  driftPage,
  contentPage,
  guardrailsPage,
  decisionsPage,
  visitorsPage,
  operationsPage,
];
