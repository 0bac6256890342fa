import type { VisitorStateClient } from "../decide/decide.ts";
import { visitorKey } from "./key.ts";

/** The visitor's Durable Object, named by the pseudonymous visitor key. */
export function visitorStateClient(ns: DurableObjectNamespace<import("./visitor-state.ts").VisitorState>) {
  return (visitorId: string): VisitorStateClient => ({
    async select(input, options) {
      const stub = ns.get(ns.idFromName(await visitorKey(visitorId)));
      return stub.select(input, options);
    },
  });
}
