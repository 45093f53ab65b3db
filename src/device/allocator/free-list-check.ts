/**
 * FreeList.checkInvariants, for tests: the index's own structure, and that it holds exactly the free
 * blocks of the block list with their sizes (first fit: the tree, in address order, with their
 * addresses; best fit: each block in the list of its size, or in the tree when its size has no list).
 * Kept apart from free-list.ts, whose code runs on the allocator's hot path.
 */
import type { BestFitIndex } from "./best-fit-index.js";
import type { FreeTree } from "./free-tree.js";
import { checkFreeTree, freeTreeSlots, freeTreeView } from "./free-tree-check.js";

/**
 * @param free the free blocks' slots in address order
 * @param address block offsets and sizes by slot
 * @param best best fit's index, or undefined under first fit
 */
export function checkFreeIndex(
  free: number[],
  address: Float64Array,
  size: Float64Array,
  tree: FreeTree,
  best: BestFitIndex | undefined,
): string | undefined {
  const problem = checkFreeTree(tree);
  if (problem !== undefined) return `tree: ${problem}`;
  const inTree = freeTreeSlots(tree);
  if (best === undefined) {
    if (inTree.length !== free.length) return `${inTree.length} blocks in the tree, ${free.length} free`;
    for (let i = 0; i < free.length; i++) {
      if (inTree[i] !== free[i]) return `tree position ${i}: slot ${inTree[i]}, expected ${free[i]}`;
    }
    for (const s of free) {
      const view = freeTreeView(tree, s);
      if (view.address !== address[s] || view.sizeBytes !== size[s]) {
        return `slot ${s}: tree holds ${view.address}+${view.sizeBytes}, list ${address[s]}+${size[s]}`;
      }
    }
    return undefined;
  }
  const buckets = best.buckets;
  const bitmap = buckets.checkBitmap();
  if (bitmap !== undefined) return `size lists: ${bitmap}`;
  const indexed = new Set<number>();
  for (const list of buckets.lists()) {
    for (const s of list.slots) {
      if (indexed.has(s)) return `slot ${s} indexed twice`;
      indexed.add(s);
      if (size[s] !== list.sizeBytes) return `slot ${s} of ${size[s]} B in the ${list.sizeBytes} B list`;
    }
  }
  let smallInTree = 0;
  for (const s of inTree) {
    if (indexed.has(s)) return `slot ${s} indexed twice`;
    indexed.add(s);
    const view = freeTreeView(tree, s);
    if (view.sizeBytes !== size[s]) return `slot ${s}: tree holds ${view.sizeBytes} B, list ${size[s]}`;
    if (buckets.listOf(size[s]!) >= 0) return `slot ${s} of ${size[s]} B in the tree, not its list`;
    if (size[s]! < buckets.limitBytes) smallInTree++;
  }
  if (smallInTree !== best.smallInTree) {
    return `${smallInTree} small blocks in the tree, counted ${best.smallInTree}`;
  }
  if (indexed.size !== free.length) return `${indexed.size} blocks indexed, ${free.length} free`;
  for (const s of free) if (!indexed.has(s)) return `free slot ${s} is not indexed`;
  return undefined;
}
