/**
 * A proxied page's session signals and page view with one call to the visitor's object after the
 * page's `<body>` instead of two.
 *
 * Without a client script the session signals the model ranks on (views per category this
 * session, the visit count) live in the visitor's Durable Object. They used to come from a
 * `pageView` call made when the page's facts were known (at `<body>`), then ranking, then the
 * selection's call: two round trips in a row on the page's path. Now the signals are read when
 * the request arrives, while the origin answers (`sessionSignals`, which writes nothing), this
 * page's view is added to them here, and the view is counted by the selection's call
 * (`SelectCallOptions.pageView`); a decision that makes no selection (the universal control
 * group, the kill switch) counts it with a `pageView` call after its answer.
 */
import type { SessionSignals, VisitorStateClient } from "../decide/decide.ts";
import type { Services } from "../services.ts";

/**
 * Starts reading the visitor's session signals now. A page that never decides (not HTML, no
 * slot) leaves the promise unread: its rejection is handled here, and the read changed nothing.
 */
export function readSessionSignals(services: Pick<Services, "guardrails" | "visitorState" | "now">, visitorId: string): Promise<SessionSignals> {
  const signals = services.guardrails.current().then(({ config }) => services.visitorState(visitorId).sessionSignals({ now: services.now(), sessionTimeoutMs: config.sessionTimeoutMinutes * 60_000 }));
  signals.catch(() => undefined);
  return signals;
}

/** `signals` with this page's view of `category` counted: what `pageView(category)` answers. */
export function withPageView(signals: SessionSignals, category: string | undefined): SessionSignals {
  if (!category) return signals;
  return { ...signals, categoryViews: { ...signals.categoryViews, [category]: (signals.categoryViews[category] ?? 0) + 1 } };
}

/**
 * Visitor state whose first selection (`select` or `selectInMoments`) also counts the page's
 * view of `category`; `counted()` tells whether one was asked to (asked counts: a failed call is
 * not retried, as a failed `pageView` was not).
 */
export function countingPageView(visitorState: (visitorId: string) => VisitorStateClient, category: string | undefined) {
  let asked = !category;
  const client = (visitorId: string): VisitorStateClient => {
    const inner = visitorState(visitorId);
    const once = <O extends object>(options: O): O => {
      if (asked) return options;
      asked = true;
      return { ...options, pageView: category };
    };
    return {
      ...inner,
      select: (input, options) => inner.select(input, once(options)),
      ...(inner.selectInMoments ? { selectInMoments: (input, options, moments) => inner.selectInMoments!(input, once(options), moments) } : {}),
    };
  };
  return { visitorState: client, counted: () => asked };
}
