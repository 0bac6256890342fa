// The one way the client listens to the page: in the capture phase, so a page that stops an
// event's propagation does not hide it from measurement.

/** Adds an event listener in the capture phase. */
export type Listen = (target: EventTarget, type: string, callback: (event: any) => void) => void;

/** Adds an event listener in the capture phase. */
export const listen: Listen = (target, type, callback) => target.addEventListener(type, callback, true);
