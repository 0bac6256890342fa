/** The model manifest (stored in the ONNX file under `nextbest.manifest`). */
export interface ModelManifest {
  version: 1;
  name: string;
  features: string[];
  output: "probability" | "score";
  baseline?: { mean: number[]; std: number[] };
}
