/**
 * FreeList.checkInvariants, for tests: the index's own structure, and that it holds exactly the free
 * blocks of the block list with their sizes (first fit: the address index, in address order, with their
 * addresses; best fit: each block in the list of its size, or in the tree when its size has no list).
 * Kept apart from free-list.ts, whose code runs on the allocator's hot path.
 */
import type { AddressIndex } from "./address-index.js";
import { addressIndexSlots, addressIndexView, checkAddressIndex } from "./address-index-check.js";
import type { BestFitIndex } from "./best-fit-index.js";
import type { FreeTree } from "./free-tree.js";
import { checkFreeTree, freeTreeSlots, freeTreeView } from "./free-tree-check.js";

/**
 * @param free the free blocks' slots in address order
 * @param address block offsets and sizes by slot
 * @param first first fit's index (unused under best fit)
 * @param best best fit's index, or undefined under first fit
 */
export function checkFreeIndex(
  free: number[],
  address: Float64Array,
  size: Float64Array,
  tree: FreeTree,
  first: AddressIndex,
  best: BestFitIndex | undefined,
): string | undefined {
  if (best === undefined) {
    const problem = checkAddressIndex(first);
    if (problem !== undefined) return `address index: ${problem}`;
    const indexed = addressIndexSlots(first);
    if (indexed.length !== free.length) return `${indexed.length} blocks in the index, ${free.length} free`;
    for (let i = 0; i < free.length; i++) {
      if (indexed[i] !== free[i]) return `index position ${i}: slot ${indexed[i]}, expected ${free[i]}`;
    }
    for (const s of free) {
      const view = addressIndexView(first, s);
      if (view.address !== address[s] || view.sizeBytes !== size[s]) {
        return `slot ${s}: index holds ${view.address}+${view.sizeBytes}, list ${address[s]}+${size[s]}`;
      }
    }
    return undefined;
  }
  const problem = checkFreeTree(tree);
  if (problem !== undefined) return `tree: ${problem}`;
  const inTree = freeTreeSlots(tree);
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
