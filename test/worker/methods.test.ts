import { describe, expect, it } from "vitest";
import { allowedMethods } from "../../worker/http/methods.ts";
import { call } from "./helpers.ts";

const ADMIN = { authorization: "Bearer test-admin-token" };

describe("a route asked with the wrong method answers 405 with Allow", () => {
  it.each([
    { method: "GET", path: "/v1/decide", allow: "OPTIONS, POST" },
    { method: "PUT", path: "/v1/decide", allow: "OPTIONS, POST" },
    { method: "GET", path: "/v1/events", allow: "OPTIONS, POST" },
    { method: "DELETE", path: "/v1/consent", allow: "OPTIONS, POST" },
    { method: "POST", path: "/healthz", allow: "GET, HEAD" },
    { method: "POST", path: "/admin/export", allow: "GET, HEAD" },
    { method: "GET", path: `/admin/models/${"a".repeat(64)}/activate`, allow: "POST" },
    { method: "PUT", path: `/admin/models/${"a".repeat(64)}/shadow`, allow: "DELETE, POST" },
    { method: "GET", path: "/admin/guardrails/rollback", allow: "POST" },
  ])("$method $path → 405, Allow: $allow", async ({ method, path, allow }) => {
    const res = await call(path, { method, headers: ADMIN });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe(allow);
    const { error } = await res.json<{ error: { code: string; message: string } }>();
    expect(error.code).toBe("method_not_allowed");
    expect(error.message).toContain(`${method} is not allowed on ${path}`);
  });

  it("still asks for the admin token first on admin routes", async () => {
    const res = await call("/admin/export", { method: "POST" });
    expect(res.status).toBe(401);
  });

  it.each([
    { method: "GET", path: "/v1/nothing" },
    { method: "POST", path: "/v1/decide/extra" },
    { method: "GET", path: "/admin/nothing" },
    // A route takes GET here, but only for numeric versions: not a wrong method.
    { method: "GET", path: "/admin/guardrails/abc" },
    { method: "GET", path: "/admin/guardrails/-1" },
  ])("$method $path (no such route) stays a 404", async ({ method, path }) => {
    const res = await call(path, { method, headers: ADMIN });
    expect(res.status).toBe(404);
    expect(res.headers.get("allow")).toBeNull();
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe("not_found");
  });

  it("the right method is still served", async () => {
    expect((await call("/healthz")).status).toBe(200);
    expect((await call("/healthz", { method: "HEAD" })).status).toBe(200);
  });
});

describe("allowedMethods", () => {
  const routes = [
    { method: "ALL", path: "/v1/*" },
    { method: "POST", path: "/v1/decide" },
    { method: "GET", path: "/admin/models/:id" },
    { method: "POST", path: "/admin/models/:id/activate" },
    { method: "ALL", path: "*" },
  ];
  it.each([
    { path: "/v1/decide", methods: ["POST"] },
    { path: "/admin/models/abc", methods: ["GET", "HEAD"] },
    { path: "/admin/models/abc/activate", methods: ["POST"] },
    { path: "/admin/models/abc/nothing", methods: [] },
    { path: "/elsewhere", methods: [] },
  ])("$path → $methods", ({ path, methods }) => {
    expect(allowedMethods(routes, path)).toEqual(methods);
  });
});

describe("allowedMethods with routes whose first segment is a parameter, and routes added later", () => {
  it.each([
    { path: "/", methods: ["GET", "HEAD"] },
    { path: "/shop", methods: ["PUT"] },
    { path: "/shop/items", methods: ["DELETE", "POST"] },
    { path: "/v1/items", methods: ["DELETE", "POST"] },
    { path: "/v1/decide", methods: ["POST"] },
    { path: "/a/b/c", methods: [] },
  ])("$path → $methods", ({ path, methods }) => {
    const routes = [
      { method: "GET", path: "/" },
      { method: "POST", path: "/v1/decide" },
      { method: "PUT", path: "/:tenant" },
      { method: "POST", path: "/:tenant/items" },
      { method: "DELETE", path: "/:tenant/items" },
    ];
    expect(allowedMethods(routes, path)).toEqual(methods);
  });

  it("sees a route registered after the first call", () => {
    const routes = [{ method: "GET", path: "/healthz" }];
    expect(allowedMethods(routes, "/late")).toEqual([]);
    routes.push({ method: "POST", path: "/late" });
    expect(allowedMethods(routes, "/late")).toEqual(["POST"]);
  });
});
