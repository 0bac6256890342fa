import type { VisitorStateClient } from "../decide/decide.ts";
import { visitorKey } from "./key.ts";

/** The visitor's Durable Object, named by the pseudonymous visitor key. */
export function visitorStateClient(ns: DurableObjectNamespace<import("./visitor-state.ts").VisitorState>) {
  const stub = async (visitorId: string) => ns.get(ns.idFromName(await visitorKey(visitorId)));
  return (visitorId: string): VisitorStateClient => ({
    async select(input, options) {
      return (await stub(visitorId)).select(input, options);
    },
    async preview(input, options) {
      return (await stub(visitorId)).preview(input, options);
    },
    async pageView(category, options) {
      return (await stub(visitorId)).pageView(category, options);
    },
    async profile() {
      return (await stub(visitorId)).profile();
    },
    // Moments (worker/moments/): the object's own name goes along for the exit hook.
    async selectInMoments(input, options, moments) {
      return (await stub(visitorId)).selectInMoments(input, options, { ...moments, key: await visitorKey(visitorId) });
    },
    async previewInMoments(input, options, moments) {
      return (await stub(visitorId)).previewInMoments(input, options, { ...moments, key: await visitorKey(visitorId) });
    },
    async momentsAtDecide(moments, now, record) {
      return (await stub(visitorId)).momentsAtDecide({ ...moments, key: await visitorKey(visitorId) }, now, record);
    },
  });
}
