/**
 * The models the demo processes run: shapes of well-known networks, scaled so three of them fit one
 * simulated Wormhole with room to watch a leak grow. bf16 everywhere (2 bytes per element) and every
 * dimension a multiple of 32, so tensors are whole 32x32 tiles (2 KiB pages, as tt-metal's TILE layout).
 */
export interface ModelSpec {
  /** Shown as the process name in monitors. */
  readonly name: string;
  readonly layers: number;
  /** Hidden size (elements). */
  readonly hidden: number;
  /** Tokens per forward pass. */
  readonly sequence: number;
  /** Vocabulary (elements); 0 for a model without an embedding table (vision). */
  readonly vocabulary: number;
}

export const DEMO_MODELS: readonly ModelSpec[] = [
  { name: "llama-decoder", layers: 16, hidden: 2048, sequence: 128, vocabulary: 32000 },
  { name: "bert-encoder", layers: 12, hidden: 1024, sequence: 256, vocabulary: 30528 },
  { name: "vit-classifier", layers: 12, hidden: 768, sequence: 224, vocabulary: 0 },
];

/** The model of demo process `index` (they take turns through the catalogue). */
export function modelFor(index: number): ModelSpec {
  return DEMO_MODELS[index % DEMO_MODELS.length]!;
}

/** bf16 */
export const BYTES_PER_ELEMENT = 2;
/** One 32x32 bf16 tile, bytes: the page size of every tensor. */
export const TILE_BYTES = 32 * 32 * BYTES_PER_ELEMENT;
