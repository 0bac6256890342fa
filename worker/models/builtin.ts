/**
 * The default model shipped in models/default.onnx: champion until another is activated, and
 * where rollback can always return to. It is bundled with the Worker, so it needs no R2 object.
 */
import defaultModel from "../../models/default.onnx";
import { sha256Hex } from "./scorer.ts";

/** Who the registry names as the uploader of the built-in model. */
export const BUILTIN_ACTOR = "nextbest (built in)";

const bytes = new Uint8Array(defaultModel);
let id: Promise<string> | undefined;

/** The default model's bytes. */
export function builtinBytes(): Uint8Array {
  return bytes;
}

/** The default model's id (its SHA-256), computed once per isolate. */
export function builtinId(): Promise<string> {
  id ??= sha256Hex(bytes);
  return id;
}
