/**
 * Reads `metadata_props` from ONNX bytes with the wire-format reader (proto-wire.ts): ModelProto
 * field 14 = metadata_props, StringStringEntryProto key = 1, value = 2. onnxruntime-web does not
 * expose custom metadata, and the Worker must not pull in a code-generating protobuf runtime
 * (workerd forbids eval).
 */
import { wireFields, wireString } from "./proto-wire.ts";

const MODEL_METADATA_PROPS = 14;

/** Returns the model's `metadata_props` as a map. Throws on malformed bytes. */
export function readMetadataProps(model: Uint8Array): Map<string, string> {
  const props = new Map<string, string>();
  for (const f of wireFields(model)) {
    if (f.field !== MODEL_METADATA_PROPS || f.wire !== 2 || !f.bytes) continue;
    let key = "";
    let value = "";
    for (const entry of wireFields(f.bytes)) {
      if (entry.field === 1 && entry.bytes) key = wireString(entry.bytes);
      if (entry.field === 2 && entry.bytes) value = wireString(entry.bytes);
    }
    props.set(key, value);
  }
  return props;
}
