import { describe, expect, it, vi } from "vitest";
import { Window } from "happy-dom";
import { createNextbest, DECISIONS_EVENT, parseBlock, renderBlock, renderDecisions, type Decision } from "../../client/index.ts";
import { decision, freshStore, recordingFetch, setPage, SLOTS_HTML } from "./helpers.ts";

describe("rendering decisions", () => {
  it("replaces each slot's children and records the decision on the element", async () => {
    setPage({ body: `<header>nav</header>${SLOTS_HTML}<footer>foot</footer>` });
    const answer: Decision[] = [
      { ...decision("hero", "hero-shoes-trail", '<a class="nb-block nb-shoes" href="/shoes.html"><h2>Trail</h2><p>20% off</p></a>'), reason: "ranked", modelVersion: "m-42" },
      { ...decision("sidebar", "sidebar-default", '<div class="nb-block nb-general"><h3>Free returns</h3></div>'), reason: "holdout" },
    ];
    const { fetchImpl } = recordingFetch(() => Response.json({ decisions: answer }));
    const events: Decision[][] = [];
    document.addEventListener(DECISIONS_EVENT, (event) => events.push((event as CustomEvent<Decision[]>).detail));

    await createNextbest({ endpoint: "https://edge.example", fetchImpl, store: freshStore() }).refresh();

    const hero = document.querySelector('[data-nb-slot="hero"]')!;
    expect(hero.innerHTML).toBe('<a class="nb-block nb-shoes" href="/shoes.html"><h2>Trail</h2><p>20% off</p></a>');
    expect(hero.querySelector(".default")).toBeNull();
    expect(hero.getAttribute("data-nb-block")).toBe("hero-shoes-trail");
    expect(hero.getAttribute("data-nb-decision")).toBe("d-hero");
    expect(hero.getAttribute("data-nb-reason")).toBe("ranked");
    expect(hero.getAttribute("data-nb-model")).toBe("m-42");
    const sidebar = document.querySelector('[data-nb-slot="sidebar"]')!;
    expect(sidebar.textContent).toBe("Free returns");
    expect(sidebar.getAttribute("data-nb-reason")).toBe("holdout");
    // Nothing outside the slots changes.
    expect(document.querySelector("header")!.outerHTML).toBe("<header>nav</header>");
    expect(document.querySelector("footer")!.outerHTML).toBe("<footer>foot</footer>");
    expect(events).toEqual([answer]);
  });

  it("fills every element of a slot name and leaves undecided slots as they were", () => {
    setPage({ body: `${SLOTS_HTML}<div data-nb-slot="hero">second</div>` });
    renderDecisions([decision("hero", "b1"), decision("footer", "b9")], undefined, parseBlock);
    const heroes = [...document.querySelectorAll('[data-nb-slot="hero"]')];
    expect(heroes.map((el) => el.innerHTML)).toEqual(["<p>b1</p>", "<p>b1</p>"]);
    expect(heroes.map((el) => el.getAttribute("data-nb-state"))).toEqual(["decided", "decided"]);
    const sidebar = document.querySelector('[data-nb-slot="sidebar"]')!;
    expect(sidebar.innerHTML).toBe('<p class="default">Sidebar default</p>');
    expect(sidebar.hasAttribute("data-nb-block")).toBe(false);
    expect(sidebar.getAttribute("data-nb-state")).toBe("default");
  });

  it("marks the slots pending while the decide runs, and only them: the page is never hidden", async () => {
    setPage({ body: `<header>nav</header>${SLOTS_HTML}` });
    let answer!: (response: Response) => void;
    const { fetchImpl } = recordingFetch(() => new Promise<Response>((resolve) => (answer = resolve)));
    const deciding = createNextbest({ endpoint: "https://edge.example", fetchImpl, store: freshStore() }).refresh();
    const states = () => [...document.querySelectorAll("[data-nb-slot]")].map((slot) => slot.getAttribute("data-nb-state"));
    expect(states()).toEqual(["pending", "pending"]);
    await vi.waitFor(() => expect(answer).toBeDefined());
    expect(document.querySelector("header")!.attributes).toHaveLength(0);
    expect(document.body.attributes).toHaveLength(0);
    answer(Response.json({ decisions: [decision("hero", "b1")] }));
    await deciding;
    expect(states()).toEqual(["decided", "default"]);
  });

  it("only the latest of overlapping decides renders", async () => {
    setPage({ body: SLOTS_HTML });
    let call = 0;
    const { fetchImpl } = recordingFetch(async () => {
      const mine = ++call;
      // The first request answers last.
      await new Promise((resolve) => setTimeout(resolve, mine === 1 ? 40 : 5));
      return Response.json({ decisions: [decision("hero", `answer-${mine}`)] });
    });
    const client = createNextbest({ endpoint: "https://edge.example", fetchImpl, store: freshStore() });
    await Promise.all([client.refresh(), client.consent({ personalization: false, analytics: false })]);
    expect(document.querySelector('[data-nb-slot="hero"]')!.getAttribute("data-nb-block")).toBe("answer-2");
  });
});

describe("scripts in block HTML", () => {
  const HOSTILE =
    '<div class="nb-block"><h2>Sale</h2><script>window.blockScriptRan = true</script>' +
    '<img src="x.png" onerror="window.blockScriptRan = true"><a href="/" onclick="window.blockScriptRan = true">go</a></div>';

  it("are removed with inline event handlers, keeping the rest of the block", () => {
    const fragment = parseBlock(HOSTILE);
    expect(fragment.querySelector("script")).toBeNull();
    expect(fragment.querySelector("[onerror], [onclick]")).toBeNull();
    expect(fragment.querySelector("h2")!.textContent).toBe("Sale");
    expect(fragment.querySelector("img")!.getAttribute("src")).toBe("x.png");
  });

  it("do not run, in a DOM where page scripts do", () => {
    // happy-dom only runs scripts when asked to; this window is, so the control below proves
    // that a script would have run had the renderer let one through.
    const win = new Window({ settings: { enableJavaScriptEvaluation: true, suppressInsecureJavaScriptEnvironmentWarning: true } });
    const doc = win.document;
    doc.body.innerHTML = '<div data-nb-slot="hero">default</div>';
    const state = win as unknown as { controlRan?: boolean; blockScriptRan?: boolean };

    const control = doc.createElement("script");
    control.textContent = "window.controlRan = true";
    doc.body.appendChild(control);
    expect(state.controlRan).toBe(true);

    const slot = doc.querySelector("[data-nb-slot]")!;
    renderBlock(slot as unknown as Element, decision("hero", "hostile", HOSTILE), parseBlock);
    expect(state.blockScriptRan).toBeUndefined();
    expect(slot.querySelector("script")).toBeNull();
    expect(slot.querySelector("h2")!.textContent).toBe("Sale");
    win.close();
  });
});
