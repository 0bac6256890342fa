/**
 * Structural checks of an ONNX file, done on the protobuf wire format BEFORE the bytes reach
 * onnxruntime: whatever is refused here never gets a chance to make the runtime allocate,
 * read files (external data) or look for custom operator libraries. Field numbers are those of
 * onnx/onnx.proto (IR version 10; older files use a subset).
 */
import { WireError, asInt64, packedVarints, wireFields, wireString, type WireField } from "../ranking/proto-wire.ts";
import { MAX_GRAPH_DEPTH, MAX_NODES, MAX_TENSOR_ELEMENTS } from "./limits.ts";
import { ComplexityError, ELEM_TYPES, INT64, readValueInfo, type ValueInfo } from "./onnx-types.ts";
import type { Reason } from "./report.ts";

/** Operator domains that may appear in a model: the ONNX standard sets only. */
export const ALLOWED_DOMAINS = new Set(["", "ai.onnx", "ai.onnx.ml"]);

/** What the wire walk learnt about the model. */
export interface OnnxSummary {
  irVersion: number;
  producer: string;
  opsets: Array<{ domain: string; version: number }>;
  /** Graph inputs that are not initializers: what the caller must feed. */
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  operators: string[];
  nodes: number;
  /** Declared elements of all initializers. */
  parameters: number;
  metadata: Map<string, string>;
}

/** Refusals found so far; structural checks report every problem, not only the first. */
class Findings {
  readonly reasons: Reason[] = [];
  private readonly seen = new Set<string>();
  add(code: Reason["code"], message: string): void {
    if (this.seen.has(code + message) || this.reasons.length >= 20) return;
    this.seen.add(code + message);
    this.reasons.push({ code, message });
  }
}

interface Walk {
  findings: Findings;
  nodes: number;
  parameters: number;
  operators: Set<string>;
  /** Small int64 constants by name, to see the shapes ConstantOfShape/Expand would build. */
  int64Constants: Map<string, number[]>;
}

function inspectTensor(bytes: Uint8Array, walk: Walk, where: string): { name: string; elements: number } {
  let name = "";
  let dataType = 0;
  const dims: number[] = [];
  let raw: Uint8Array | undefined;
  let typedCount = 0;
  let external = false;
  const int64Values: number[] = [];
  for (const f of wireFields(bytes)) {
    if (f.field === 1) dims.push(...(f.wire === 2 ? packedVarints(f.bytes!) : [f.value!]).map(asInt64));
    else if (f.field === 2) dataType = f.value ?? 0;
    else if (f.field === 8 && f.bytes) name = wireString(f.bytes);
    else if (f.field === 9) raw = f.bytes;
    else if (f.field === 13) external = true; // external_data entries
    else if (f.field === 14 && f.value === 1) external = true; // data_location = EXTERNAL
    else if (f.field === 4 || f.field === 10) typedCount += f.wire === 2 ? f.bytes!.length / (f.field === 4 ? 4 : 8) : 1;
    else if (f.field === 5 || f.field === 7 || f.field === 11) {
      const values = f.wire === 2 ? packedVarints(f.bytes!) : [f.value!];
      typedCount += values.length;
      if (f.field === 7 && int64Values.length < 16) int64Values.push(...values.map(asInt64));
    } else if (f.field === 6) typedCount += 1;
  }
  const label = `${where} tensor "${name}"`;
  if (external) {
    walk.findings.add("external_data", `${label} keeps its data in an external file; upload one self-contained file (onnx.save_model(model, path, save_as_external_data=False))`);
  }
  if (dims.some((d) => d < 0)) walk.findings.add("tensor_data_mismatch", `${label} has a negative dimension`);
  const elements = dims.reduce((a, d) => a * Math.max(d, 0), 1);
  if (elements > MAX_TENSOR_ELEMENTS) {
    walk.findings.add("tensor_too_large", `${label} declares ${elements} elements (shape [${dims.join(", ")}]); the limit is ${MAX_TENSOR_ELEMENTS}`);
    return { name, elements: 0 };
  }
  const elem = ELEM_TYPES[dataType];
  const perElement = dataType === 14 || dataType === 15 ? 2 : 1;
  if (!external && elem) {
    const stored = raw ? (elem.bytes ? raw.length / elem.bytes : Number.NaN) : typedCount / perElement;
    if (!Number.isNaN(stored) && stored !== elements) {
      walk.findings.add("tensor_data_mismatch", `${label} declares ${elements} elements but stores ${stored}`);
    }
  }
  if (dataType === INT64 && elements <= 16) {
    const values = raw ? [...new BigInt64Array(raw.slice().buffer, 0, Math.floor(raw.length / 8))].map(Number) : int64Values;
    walk.int64Constants.set(name, values);
  }
  return { name, elements };
}

/** Shapes built at run time from constants: refuse the ones that would be huge. */
function checkBuiltShape(op: string, inputs: string[], walk: Walk): void {
  const shapeInput = op === "ConstantOfShape" ? inputs[0] : op === "Expand" ? inputs[1] : undefined;
  const shape = shapeInput === undefined ? undefined : walk.int64Constants.get(shapeInput);
  if (!shape) return;
  const elements = shape.reduce((a, d) => a * Math.max(d, 1), 1);
  if (elements > MAX_TENSOR_ELEMENTS) {
    walk.findings.add("tensor_too_large", `${op} would build a tensor of ${elements} elements (shape [${shape.join(", ")}]); the limit is ${MAX_TENSOR_ELEMENTS}`);
  }
}

function inspectAttribute(bytes: Uint8Array, walk: Walk, depth: number, output: string): void {
  for (const f of wireFields(bytes)) {
    if (!f.bytes || f.wire !== 2) continue;
    if (f.field === 5 || f.field === 10) {
      const t = inspectTensor(f.bytes, walk, "attribute");
      const values = walk.int64Constants.get(t.name);
      if (values && output) walk.int64Constants.set(output, values); // Constant(value=…)
    } else if (f.field === 22 || f.field === 23) inspectSparse(f.bytes, walk);
    else if (f.field === 6 || f.field === 11) inspectGraph(f.bytes, walk, depth + 1);
  }
}

function inspectSparse(bytes: Uint8Array, walk: Walk): void {
  for (const f of wireFields(bytes)) if ((f.field === 1 || f.field === 2) && f.bytes) inspectTensor(f.bytes, walk, "sparse");
}

function inspectNode(bytes: Uint8Array, walk: Walk, depth: number): void {
  let op = "";
  let domain = "";
  const inputs: string[] = [];
  const outputs: string[] = [];
  const attributes: Uint8Array[] = [];
  for (const f of wireFields(bytes)) {
    if (!f.bytes || f.wire !== 2) continue;
    if (f.field === 1) inputs.push(wireString(f.bytes));
    else if (f.field === 2) outputs.push(wireString(f.bytes));
    else if (f.field === 4) op = wireString(f.bytes);
    else if (f.field === 7) domain = wireString(f.bytes);
    else if (f.field === 5) attributes.push(f.bytes);
  }
  if (++walk.nodes > MAX_NODES) throw new ComplexityError(`more than ${MAX_NODES} nodes`);
  walk.operators.add(domain ? `${domain}:${op}` : op);
  if (!ALLOWED_DOMAINS.has(domain)) {
    walk.findings.add("unknown_domain", `operator "${op}" is in domain "${domain}"; only the standard ONNX domains ("", "ai.onnx", "ai.onnx.ml") run in nextbest — re-export without custom or contrib operators`);
  }
  for (const a of attributes) inspectAttribute(a, walk, depth, op === "Constant" ? (outputs[0] ?? "") : "");
  checkBuiltShape(op, inputs, walk);
}

/** Returns the graph's inputs, outputs and initializer names; checks every node and tensor. */
function inspectGraph(bytes: Uint8Array, walk: Walk, depth: number): { inputs: Uint8Array[]; outputs: Uint8Array[]; initializers: Set<string> } {
  if (depth > MAX_GRAPH_DEPTH) throw new ComplexityError(`subgraphs nested more than ${MAX_GRAPH_DEPTH} deep`);
  const inputs: Uint8Array[] = [];
  const outputs: Uint8Array[] = [];
  const initializers = new Set<string>();
  const nodes: Uint8Array[] = [];
  for (const f of wireFields(bytes)) {
    if (!f.bytes || f.wire !== 2) continue;
    if (f.field === 1) nodes.push(f.bytes);
    else if (f.field === 5) {
      const t = inspectTensor(f.bytes, walk, "initializer");
      initializers.add(t.name);
      if (depth === 0) walk.parameters += t.elements;
    } else if (f.field === 15) inspectSparse(f.bytes, walk);
    else if (f.field === 11) inputs.push(f.bytes);
    else if (f.field === 12) outputs.push(f.bytes);
  }
  // Initializers first, so constant shapes are known when their consumers are checked.
  for (const n of nodes) inspectNode(n, walk, depth);
  return { inputs, outputs, initializers };
}

function stringEntry(bytes: Uint8Array): [string, string] {
  let key = "";
  let value = "";
  for (const f of wireFields(bytes)) {
    if (f.field === 1 && f.bytes) key = wireString(f.bytes);
    if (f.field === 2 && f.bytes) value = wireString(f.bytes);
  }
  return [key, value];
}

/** Walks a ModelProto. Returns the summary, or only reasons when the bytes are not ONNX. */
export function inspectOnnx(bytes: Uint8Array): { summary?: OnnxSummary; reasons: Reason[] } {
  const walk: Walk = { findings: new Findings(), nodes: 0, parameters: 0, operators: new Set(), int64Constants: new Map() };
  try {
    const top: WireField[] = [...wireFields(bytes)];
    const graphField = top.find((f) => f.field === 7 && f.wire === 2);
    const irField = top.find((f) => f.field === 1 && f.wire === 0);
    if (!graphField || !irField) {
      return { reasons: [{ code: "not_onnx", message: "not an ONNX model: no graph or IR version (is this an .onnx file written by onnx.save_model?)" }] };
    }
    const summary: OnnxSummary = { irVersion: irField.value!, producer: "", opsets: [], inputs: [], outputs: [], operators: [], nodes: 0, parameters: 0, metadata: new Map() };
    for (const f of top) {
      if (f.field === 2 && f.bytes) summary.producer = wireString(f.bytes);
      if (f.field === 3 && f.bytes) summary.producer += ` ${wireString(f.bytes)}`;
      if (f.field === 14 && f.bytes) summary.metadata.set(...stringEntry(f.bytes));
      if (f.field === 8 && f.bytes) {
        let domain = "";
        let version = 0;
        for (const o of wireFields(f.bytes)) {
          if (o.field === 1 && o.bytes) domain = wireString(o.bytes);
          if (o.field === 2) version = o.value ?? 0;
        }
        summary.opsets.push({ domain, version });
      }
      if (f.field === 25 && f.bytes) {
        // Model-local functions: their bodies run too, so their nodes are checked the same way.
        for (const g of wireFields(f.bytes)) if (g.field === 7 && g.bytes) inspectNode(g.bytes, walk, 1);
      }
    }
    const graph = inspectGraph(graphField.bytes!, walk, 0);
    summary.inputs = graph.inputs.map(readValueInfo).filter((v) => !graph.initializers.has(v.name));
    summary.outputs = graph.outputs.map(readValueInfo);
    summary.operators = [...walk.operators].sort();
    summary.nodes = walk.nodes;
    summary.parameters = walk.parameters;
    return { summary, reasons: walk.findings.reasons };
  } catch (err) {
    if (err instanceof ComplexityError) return { reasons: [{ code: "too_complex", message: `model too complex: ${err.message}` }] };
    if (err instanceof WireError && err.kind === "truncated") {
      return { reasons: [{ code: "truncated", message: `the file is truncated (${err.message}); upload the complete .onnx file` }] };
    }
    if (err instanceof WireError) return { reasons: [{ code: "not_onnx", message: `not an ONNX model: the bytes are not protobuf (${err.message})` }] };
    // Whatever else an upload provokes is still a refusal, never a 5xx.
    return { reasons: [{ code: "not_onnx", message: `not a readable ONNX model (${err instanceof Error ? err.message : String(err)})` }] };
  }
}
