/**
 * A protobuf wire-format reader for ONNX files: the manifest (onnx-metadata.ts) and the checks of
 * uploaded models before onnxruntime sees them (worker/models/). It returns varint values and
 * decodes packed repeated fields. No code generation, no eval: workerd forbids both, and an
 * upload must not be able to steer a parser into unbounded work.
 */

/** Why bytes could not be read as protobuf. `truncated` means a field runs past the end. */
export class WireError extends Error {
  constructor(
    readonly kind: "truncated" | "malformed",
    message: string,
  ) {
    super(message);
    this.name = "WireError";
  }
}

/** One field of a message. Varint values above 2^53 lose precision (only used as sizes). */
export interface WireField {
  field: number;
  wire: 0 | 1 | 2 | 5;
  /** Varint value (wire 0). */
  value?: number;
  /** Payload of a length-delimited field (wire 2), or the 4/8 raw bytes of wire 5/1. */
  bytes?: Uint8Array;
}

/** Reads one varint; returns [value, next position]. */
export function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= buf.length) throw new WireError("truncated", "truncated varint");
    const b = buf[pos++]!;
    // Multiplication rather than shifts: values may exceed 2^31.
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7;
    if (shift > 63) throw new WireError("malformed", "varint longer than 10 bytes");
  }
}

/** Iterates the fields of one message. Throws WireError on anything that is not protobuf. */
export function* wireFields(buf: Uint8Array): Generator<WireField> {
  let pos = 0;
  while (pos < buf.length) {
    const [tag, next] = readVarint(buf, pos);
    pos = next;
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw new WireError("malformed", "field number 0");
    if (wire === 0) {
      const [value, after] = readVarint(buf, pos);
      pos = after;
      yield { field, wire, value };
    } else if (wire === 2) {
      const [len, start] = readVarint(buf, pos);
      if (start + len > buf.length) throw new WireError("truncated", `field ${field} runs past the end of its message`);
      pos = start + len;
      yield { field, wire, bytes: buf.subarray(start, pos) };
    } else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      if (pos + size > buf.length) throw new WireError("truncated", `field ${field} runs past the end of its message`);
      yield { field, wire, bytes: buf.subarray(pos, pos + size) };
      pos += size;
    } else {
      // Groups (3, 4) are not used by ONNX; 6 and 7 do not exist.
      throw new WireError("malformed", `wire type ${wire} is not used by ONNX`);
    }
  }
}

/** Decodes a packed repeated varint field (e.g. `dims`, `int64_data`). */
export function packedVarints(bytes: Uint8Array): number[] {
  const out: number[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const [v, next] = readVarint(bytes, pos);
    out.push(v);
    pos = next;
  }
  return out;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Decodes a string field; invalid UTF-8 is malformed protobuf for a `string` field. */
export function wireString(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new WireError("malformed", "string field is not UTF-8");
  }
}

/** Int64 values encoded as varints: negative numbers arrive as 2^64 − |v|. */
export function asInt64(v: number): number {
  return v >= 2 ** 63 ? v - 2 ** 64 : v;
}
