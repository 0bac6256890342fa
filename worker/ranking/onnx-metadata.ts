/**
 * Reads `metadata_props` from ONNX bytes without a full protobuf library: a small wire-format
 * walker over ModelProto (field 14 = metadata_props, StringStringEntryProto key = 1, value = 2).
 * onnxruntime-web does not expose custom metadata, and the Worker must not pull in a
 * code-generating protobuf runtime (workerd forbids eval).
 */

const MODEL_METADATA_PROPS = 14;

interface Field {
  field: number;
  wire: number;
  /** For length-delimited fields, the payload. */
  bytes?: Uint8Array;
}

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= buf.length) throw new Error("truncated varint");
    const b = buf[pos++]!;
    // Multiplication rather than shifts: lengths may exceed 2^31.
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7;
    if (shift > 63) throw new Error("varint too long");
  }
}

/** Iterates the top-level fields of one protobuf message. */
export function* protoFields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  while (pos < buf.length) {
    const [tag, next] = readVarint(buf, pos);
    pos = next;
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) {
      pos = readVarint(buf, pos)[1];
      yield { field, wire };
    } else if (wire === 1) {
      pos += 8;
      yield { field, wire };
    } else if (wire === 2) {
      const [len, start] = readVarint(buf, pos);
      if (start + len > buf.length) throw new Error("truncated length-delimited field");
      pos = start + len;
      yield { field, wire, bytes: buf.subarray(start, pos) };
    } else if (wire === 5) {
      pos += 4;
      yield { field, wire };
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
    if (pos > buf.length) throw new Error("truncated field");
  }
}

/** Returns the model's `metadata_props` as a map. Throws on malformed bytes. */
export function readMetadataProps(model: Uint8Array): Map<string, string> {
  const props = new Map<string, string>();
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  for (const f of protoFields(model)) {
    if (f.field !== MODEL_METADATA_PROPS || !f.bytes) continue;
    let key = "";
    let value = "";
    for (const entry of protoFields(f.bytes)) {
      if (entry.field === 1 && entry.bytes) key = decoder.decode(entry.bytes);
      if (entry.field === 2 && entry.bytes) value = decoder.decode(entry.bytes);
    }
    props.set(key, value);
  }
  return props;
}
