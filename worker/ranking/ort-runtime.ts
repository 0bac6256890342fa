/**
 * onnxruntime-web (WASM backend, one thread) inside workerd.
 *
 * workerd, like Cloudflare, refuses to compile WebAssembly from bytes at run time, so the ORT
 * binary is imported as a precompiled `WebAssembly.Module` (wrangler's CompiledWasm rule).
 * onnxruntime-web builds the Emscripten module config itself and offers no way to pass
 * Emscripten's `instantiateWasm` hook, so while the runtime initialises (during the first
 * session creation of the isolate) we hand ORT a placeholder `wasmBinary` and answer
 * Emscripten's `WebAssembly.instantiate(bytes, imports)` with the precompiled module. The
 * original function is restored as soon as that first creation settles.
 */
import * as ort from "onnxruntime-web/wasm";
import ortWasm from "../../node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm";

export { ort };

const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  executionProviders: ["wasm"],
  graphOptimizationLevel: "all",
};

let wasmInstantiated = false;
let initQueue: Promise<unknown> = Promise.resolve();

async function withPrecompiledWasm<T>(run: () => Promise<T>): Promise<T> {
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  // Any non-empty buffer: it only stops ORT from fetching the binary from a URL.
  ort.env.wasm.wasmBinary = new Uint8Array(8);
  const original = WebAssembly.instantiate;
  const fromPrecompiled = async (_bytes: unknown, imports?: WebAssembly.Imports) => {
    const instance = await original.call(WebAssembly, ortWasm, imports);
    wasmInstantiated = true;
    return { instance, module: ortWasm };
  };
  (WebAssembly as { instantiate: unknown }).instantiate = fromPrecompiled;
  try {
    return await run();
  } finally {
    WebAssembly.instantiate = original;
  }
}

/** Creates an inference session for ONNX bytes; initialises the runtime once per isolate. */
export function createSession(model: Uint8Array): Promise<ort.InferenceSession> {
  const create = () => ort.InferenceSession.create(model, SESSION_OPTIONS);
  if (wasmInstantiated) return create();
  // Until the runtime is up, creations run one at a time so the shim is installed once.
  const run = initQueue.then(() => (wasmInstantiated ? create() : withPrecompiledWasm(create)));
  initQueue = run.catch(() => undefined);
  return run;
}
