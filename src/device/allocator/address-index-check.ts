/**
 * Inspection of an AddressIndex for tests: its structural rules, its blocks in address order, one block's
 * entry.
 * Off the hot path; reads the index's arrays through AddressIndex.inspect().
 */
import { ADDRESS_GROUP, ADDRESS_MERGE_AT, ADDRESS_SPAN, type AddressIndex } from "./address-index.js";

/** Describes the first broken rule of the index, or returns undefined. */
export function checkAddressIndex(index: AddressIndex): string | undefined {
  const v = index.inspect();
  if (v.groups < 1) return `${v.groups} groups`;
  let total = 0;
  let previous = -Infinity;
  const seen = new Set<number>();
  for (let p = 0; p < v.groups; p++) {
    const g = v.groupAt[p]!;
    if (seen.has(g)) return `group ${g} at two positions`;
    seen.add(g);
    if (v.posOf[g] !== p) return `group ${g} at position ${p} records position ${v.posOf[g]}`;
    const c = v.fill[g]!;
    if (c < 0 || c > ADDRESS_GROUP) return `group ${g} holds ${c} entries`;
    if (c === 0 && v.groups > 1) return `empty group ${g} beside others`;
    if (p > 0 && v.fill[v.groupAt[p - 1]!]! + c <= ADDRESS_MERGE_AT) {
      return `groups at positions ${p - 1} and ${p} hold ${v.fill[v.groupAt[p - 1]!]! + c} entries together`;
    }
    const base = g * ADDRESS_GROUP;
    let m = 0;
    let lowest = Infinity;
    let highest = -Infinity;
    const addresses = new Set<number>();
    for (let e = base; e < base + c; e++) {
      const address = v.address[e]!;
      if (addresses.has(address)) return `address ${address} twice in group ${g}`;
      addresses.add(address);
      lowest = Math.min(lowest, address);
      highest = Math.max(highest, address);
      if (v.size[e]! > m) m = v.size[e]!;
      if (v.groupOf[v.ref[e]!] !== g)
        return `slot ${v.ref[e]} records group ${v.groupOf[v.ref[e]!]}, in ${g}`;
    }
    // Groups partition the addresses in order; within a group the entries are in any order.
    if (c > 0 && !(lowest > previous))
      return `group ${g} at position ${p} starts at ${lowest}, after ${previous}`;
    if (c > 0) previous = highest;
    if (v.groupMax[p] !== m) return `group ${g}: maximum ${v.groupMax[p]}, entries ${m}`;
    const span = Math.floor(p / ADDRESS_SPAN);
    if (!(v.spanMax[span]! >= v.groupMax[p]!))
      return `span ${span}: bound ${v.spanMax[span]} < ${v.groupMax[p]}`;
    if (c > 0 && v.groupFirst[p] !== lowest)
      return `group ${g}: lowest ${v.groupFirst[p]}, entries ${lowest}`;
    total += c;
  }
  if (total !== v.count) return `${total} entries, count ${v.count}`;
  return undefined;
}

/** The index's blocks (slots) in address order: groups by position, each group's entries sorted. */
export function addressIndexSlots(index: AddressIndex): number[] {
  const v = index.inspect();
  const slots: number[] = [];
  for (let p = 0; p < v.groups; p++) {
    const g = v.groupAt[p]!;
    const entries: number[] = [];
    for (let e = g * ADDRESS_GROUP; e < g * ADDRESS_GROUP + v.fill[g]!; e++) entries.push(e);
    entries.sort((a, b) => v.address[a]! - v.address[b]!);
    for (const e of entries) slots.push(v.ref[e]!);
  }
  return slots;
}

/** The address and size the index holds for the free block `slot` (which it holds). */
export function addressIndexView(index: AddressIndex, slot: number): { address: number; sizeBytes: number } {
  const v = index.inspect();
  const g = v.groupOf[slot]!;
  let e = g * ADDRESS_GROUP;
  while (v.ref[e] !== slot) e++;
  return { address: v.address[e]!, sizeBytes: v.size[e]! };
}
