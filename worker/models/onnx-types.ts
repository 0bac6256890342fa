/**
 * ONNX types of graph inputs and outputs, read from the wire: tensors with their element type
 * and shape, sequences and maps (what skl2onnx's ZipMap produces), and how the report shows them.
 */
import { MAX_GRAPH_DEPTH } from "./limits.ts";
import { asInt64, wireFields, wireString } from "../ranking/proto-wire.ts";

/** The model is nested or large beyond the limits (reported as `too_complex`). */
export class ComplexityError extends Error {}

/** A dimension: fixed size, symbolic name, or unknown. */
export type Dim = number | string | null;

/** The type of a graph input or output. */
export type ValueType =
  | { kind: "tensor"; elemType: number; dims: Dim[] | null }
  | { kind: "sequence"; elem: ValueType | null }
  | { kind: "map"; keyType: number; value: ValueType | null }
  | { kind: "other"; what: string };

export interface ValueInfo {
  name: string;
  type: ValueType | null;
}

/** ONNX element types by TensorProto.DataType. */
export const ELEM_TYPES: Record<number, { name: string; bytes: number }> = {
  1: { name: "float32", bytes: 4 }, 2: { name: "uint8", bytes: 1 }, 3: { name: "int8", bytes: 1 },
  4: { name: "uint16", bytes: 2 }, 5: { name: "int16", bytes: 2 }, 6: { name: "int32", bytes: 4 },
  7: { name: "int64", bytes: 8 }, 8: { name: "string", bytes: 0 }, 9: { name: "bool", bytes: 1 },
  10: { name: "float16", bytes: 2 }, 11: { name: "float64", bytes: 8 }, 12: { name: "uint32", bytes: 4 },
  13: { name: "uint64", bytes: 8 }, 14: { name: "complex64", bytes: 8 }, 15: { name: "complex128", bytes: 16 },
  16: { name: "bfloat16", bytes: 2 },
};
export const FLOAT32 = 1;
export const INT64 = 7;

function readType(bytes: Uint8Array, depth = 0): ValueType {
  if (depth > MAX_GRAPH_DEPTH) throw new ComplexityError(`types nested more than ${MAX_GRAPH_DEPTH} deep`);
  for (const f of wireFields(bytes)) {
    if (!f.bytes || f.wire !== 2) continue;
    if (f.field === 1) {
      let elemType = 0;
      let dims: Dim[] | null = null;
      for (const t of wireFields(f.bytes)) {
        if (t.field === 1) elemType = t.value ?? 0;
        if (t.field === 2 && t.bytes) dims = readShape(t.bytes);
      }
      return { kind: "tensor", elemType, dims };
    }
    if (f.field === 4) {
      const elem = [...wireFields(f.bytes)].find((e) => e.field === 1 && e.bytes);
      return { kind: "sequence", elem: elem ? readType(elem.bytes!, depth + 1) : null };
    }
    if (f.field === 5) {
      let keyType = 0;
      let value: ValueType | null = null;
      for (const m of wireFields(f.bytes)) {
        if (m.field === 1) keyType = m.value ?? 0;
        if (m.field === 2 && m.bytes) value = readType(m.bytes, depth + 1);
      }
      return { kind: "map", keyType, value };
    }
    if (f.field === 8) return { kind: "other", what: "sparse tensor" };
    if (f.field === 9) return { kind: "other", what: "optional" };
  }
  return { kind: "other", what: "unknown type" };
}

function readShape(bytes: Uint8Array): Dim[] {
  const dims: Dim[] = [];
  for (const f of wireFields(bytes)) {
    if (f.field !== 1 || !f.bytes) continue;
    let dim: Dim = null;
    for (const d of wireFields(f.bytes)) {
      if (d.field === 1 && d.value !== undefined) dim = asInt64(d.value);
      if (d.field === 2 && d.bytes) dim = wireString(d.bytes);
    }
    dims.push(dim);
  }
  return dims;
}

/** Reads a ValueInfoProto (a graph input or output). */
export function readValueInfo(bytes: Uint8Array): ValueInfo {
  let name = "";
  let type: ValueType | null = null;
  for (const f of wireFields(bytes)) {
    if (f.field === 1 && f.bytes) name = wireString(f.bytes);
    if (f.field === 2 && f.bytes) type = readType(f.bytes);
  }
  return { name, type };
}

/** `float32[N,16]`, `seq(map(int64,float32))`: how the report shows a type. */
export function describeType(type: ValueType | null): string {
  if (!type) return "unknown";
  if (type.kind === "tensor") {
    const elem = ELEM_TYPES[type.elemType]?.name ?? `type${type.elemType}`;
    return type.dims ? `${elem}[${type.dims.map((d) => (d === null ? "?" : String(d))).join(",")}]` : `${elem}[unknown shape]`;
  }
  if (type.kind === "sequence") return `seq(${describeType(type.elem)})`;
  if (type.kind === "map") return `map(${ELEM_TYPES[type.keyType]?.name ?? "?"},${describeType(type.value)})`;
  return type.what;
}
