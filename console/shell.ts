/** The console's frame: sign-in, navigation between pages (hash addresses), sign-out. */
import { useEffect, useState } from "preact/hooks";
import { whenSignedOut } from "./api.ts";
import { html } from "./html.ts";
import { PAGES } from "./pages/index.ts";
import { currentSession, signIn, signOut, type Session } from "./session.ts";
import { ErrorBox } from "./ui/common.ts";

/** `#/models?x=1` → ["models", x=1]. */
function parseHash(hash: string): [string, URLSearchParams] {
  const [path = "", query = ""] = hash.replace(/^#\/?/, "").split("?");
  return [path || PAGES[0]!.id, new URLSearchParams(query)];
}

export function navigate(id: string, params: Record<string, string> = {}): void {
  const query = new URLSearchParams(params).toString();
  location.hash = `#/${id}${query ? `?${query}` : ""}`;
}

function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setBusy(true);
    try {
      onSignedIn(await signIn(String(form.get("token") ?? ""), String(form.get("name") ?? "")));
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  return html`<main id="main" class="signin">
    <h1>nextbest console</h1>
    <form onSubmit=${submit}>
      <label for="signin-name">Your name <span class="muted">(changes are recorded under it)</span></label>
      <input id="signin-name" name="name" autocomplete="username" required maxlength="64" />
      <label for="signin-token">Admin token</label>
      <input id="signin-token" name="token" type="password" autocomplete="current-password" required />
      <button type="submit" disabled=${busy}>Sign in</button>
    </form>
    <${ErrorBox} error=${error} />
  </main>`;
}

export function Console() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [[pageId, params], setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    currentSession().then(setSession);
    whenSignedOut(() => setSession(null));
    const onHash = () => setRoute(parseHash(location.hash));
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);
  const page = PAGES.find((p) => p.id === pageId) ?? PAGES[0]!;
  useEffect(() => {
    document.title = `${page.title} · nextbest console`;
  }, [page]);
  if (session === undefined) return html`<main id="main"><p role="status">Loading…</p></main>`;
  if (session === null) return html`<${SignIn} onSignedIn=${setSession} />`;
  const Page = page.component;
  // The skip link moves focus, not the address: "#main" would be read as a page by the router.
  const skip = (event: Event) => {
    event.preventDefault();
    document.getElementById("main")?.focus();
  };
  return html`<a class="skip" href=${`#/${page.id}`} onClick=${skip}>Skip to content</a>
    <header class="top">
      <span class="brand">nextbest</span>
      <nav aria-label="Console">
        <ul>${PAGES.map((p) => html`<li><a href=${`#/${p.id}`} aria-current=${p.id === page.id ? "page" : undefined}>${p.title}</a></li>`)}</ul>
      </nav>
      <span class="who">Signed in as <strong>${session.actor}</strong>
        <button type="button" class="link" onClick=${() => signOut().then(() => setSession(null))}>Sign out</button></span>
    </header>
    <main id="main" tabindex="-1">
      <h1>${page.title}</h1>
      <${Page} key=${page.id} session=${session} params=${params} navigate=${navigate} />
    </main>`;
}
