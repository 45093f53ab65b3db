/**
 * Inspection of a FreeTree for tests and FreeList.checkInvariants: its blocks in order, what it holds
 * for a block, and its first broken structural invariant. Kept apart from free-tree.ts, whose code runs
 * on the allocator's hot path; this reads the same arrays (FreeTree.inspect) and recomputes from them.
 */
import { type FreeTree, NONE, TREE_FANOUT, TREE_MIN_FILL } from "./free-tree.js";

/**
 * A tree's state as free-tree-check.ts reads it. Node x's entries are at x * TREE_FANOUT of the entry
 * arrays (see FreeTree for the layout).
 */
export interface FreeTreeArrays {
  root: number;
  /** Levels: 1 while the root is a leaf. */
  height: number;
  count: number;
  /** First unused node; the chain continues through `parent`. */
  firstUnused: number;
  /** Nodes the tree has room for. */
  nodes: number;
  /** Size (bytes), then second key: of the block (leaf entry) or of the last block below (inner entry). */
  key: Float64Array;
  key2: Float64Array;
  ref: Int32Array;
  fill: Int32Array;
  parent: Int32Array;
  entryOf: Int32Array;
  leafOf: Int32Array;
}

/** Slots of the free blocks in tree order. */
export function freeTreeSlots(tree: FreeTree): number[] {
  const t = tree.inspect();
  const out: number[] = [];
  const walk = (x: number, level: number): void => {
    for (let e = x * TREE_FANOUT; e < x * TREE_FANOUT + t.fill[x]!; e++) {
      if (level === 1) out.push(t.ref[e]!);
      else walk(t.ref[e]!, level - 1);
    }
  };
  walk(t.root, t.height);
  return out;
}

/** The second key and size the tree holds for the free block `slot`. */
export function freeTreeView(tree: FreeTree, slot: number): { secondKey: number; sizeBytes: number } {
  const t = tree.inspect();
  const e = entryOf(t, slot);
  return { secondKey: t.key2[e]!, sizeBytes: t.key[e]! };
}

/** Describes the first broken structural invariant of `tree`, or returns undefined. */
export function checkFreeTree(tree: FreeTree): string | undefined {
  const t = tree.inspect();
  const root = t.root;
  if (t.parent[root] !== NONE || t.entryOf[root] !== NONE) return `root ${root} has a parent`;
  let entries = 0;
  let reachable = 0;
  const check = (x: number, level: number): string | undefined => {
    reachable++;
    const c = t.fill[x]!;
    const least = x === root ? (level > 1 ? 2 : 0) : TREE_MIN_FILL;
    if (c < least || c > TREE_FANOUT) return `node ${x}: ${c} entries`;
    for (let e = x * TREE_FANOUT; e < x * TREE_FANOUT + c; e++) {
      const r = t.ref[e]!;
      if (level === 1) {
        entries++;
        if (t.leafOf[r] !== x) return `slot ${r}: leafOf ${t.leafOf[r]}, in leaf ${x}`;
        continue;
      }
      if (t.parent[r] !== x) return `node ${r}: parent ${t.parent[r]}, child of ${x}`;
      if (t.entryOf[r] !== e) return `node ${r}: entry ${t.entryOf[r]} in its parent, at ${e}`;
      const problem = check(r, level - 1);
      if (problem !== undefined) return problem;
      // The child's last key; with the key order checked below, the largest size below the entry.
      const last = r * TREE_FANOUT + t.fill[r]! - 1;
      if (t.key[e] !== t.key[last] || t.key2[e] !== t.key2[last]) return `node ${r}: last key`;
    }
    return undefined;
  };
  const problem = check(root, t.height);
  if (problem !== undefined) return problem;
  if (entries !== t.count) return `${entries} entries, ${t.count} counted`;
  let unused = 0;
  for (let x = t.firstUnused; x !== NONE && unused <= t.nodes; x = t.parent[x]!) unused++;
  if (reachable + unused !== t.nodes) return `${reachable} nodes used + ${unused} unused != ${t.nodes}`;
  const slots = freeTreeSlots(tree);
  for (let i = 1; i < slots.length; i++) {
    const a = entryOf(t, slots[i - 1]!);
    const b = entryOf(t, slots[i]!);
    const ordered = t.key[a]! < t.key[b]! || (t.key[a] === t.key[b] && t.key2[a]! < t.key2[b]!);
    if (!ordered) return `slots ${slots[i - 1]}, ${slots[i]}: key order`;
  }
  return undefined;
}

/** The leaf entry of the free block `slot` (it is in the tree). */
function entryOf(t: FreeTreeArrays, slot: number): number {
  let e = t.leafOf[slot]! * TREE_FANOUT;
  while (t.ref[e] !== slot) e++;
  return e;
}
