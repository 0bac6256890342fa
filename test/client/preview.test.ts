import { describe, expect, it } from "vitest";
import { previewPage } from "../../client/preview.ts";
import { decision, recordingFetch, setPage, SLOTS_HTML } from "./helpers.ts";

const answer = {
  decisions: [{ ...decision("hero", "hero-draft", '<h2 onclick="x()">New draft</h2><script>boom()</script>'), score: 0.4321 }, decision("sidebar", "sidebar-default")],
  slots: [
    { slot: "hero", candidates: [{ blockId: "hero-draft", eligible: true, excluded: null }, { blockId: "hero-jackets", eligible: false, excluded: { reason: "country" } }] },
    { slot: "sidebar", candidates: [] },
  ],
};

describe("preview links render the Worker's preview", () => {
  it("asks /v1/preview with the token and the page's slots, renders inertly and explains in a banner", async () => {
    setPage({ path: "/shoes.html?nb_preview=tok", body: SLOTS_HTML });
    const { fetchImpl, posts, calls } = recordingFetch(() => new Response(null, { status: 500 }), () => Response.json(answer));
    expect(await previewPage("tok", "https://edge.example", document, fetchImpl)).toEqual(answer);
    expect(calls).toEqual([]); // no decide
    expect(posts.map((p) => p.url)).toEqual(["https://edge.example/v1/preview"]);
    expect(posts[0]!.body).toMatchObject({ token: "tok", slots: ["hero", "sidebar"] });
    expect(posts[0]!.body.url).toContain("/shoes.html");
    const hero = document.querySelector('[data-nb-slot="hero"]')!;
    expect(hero.innerHTML).toBe("<h2>New draft</h2>");
    expect(hero.getAttribute("data-nb-block")).toBe("hero-draft");
    const banner = document.querySelector("[data-nb-preview]")!;
    expect(banner.textContent).toContain("nothing is recorded");
    expect(banner.textContent).toContain("hero: hero-draft — ranked, score 0.432; excluded hero-jackets (country)");
  });

  it("a refused token leaves the defaults and says why", async () => {
    setPage({ body: SLOTS_HTML });
    const { fetchImpl } = recordingFetch(() => new Response(null, { status: 500 }), () => Response.json({ error: { code: "unauthorized", message: "token: expired" } }, { status: 401 }));
    expect(await previewPage("old", "https://edge.example", document, fetchImpl)).toBeNull();
    expect(document.querySelector('[data-nb-slot="hero"]')!.innerHTML).toBe('<p class="default">Hero default</p>');
    expect(document.querySelector("[data-nb-preview]")!.textContent).toBe("nextbest preview refused: token: expired");
  });
});
