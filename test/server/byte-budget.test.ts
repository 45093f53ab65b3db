// The buffer budget's rule on its own (src/server/byte-budget.ts): nothing happens while it has room;
// when full, idle memory is reclaimed first, then holders above the fair share go, largest first; the
// charges together never exceed the limit.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type BudgetAccount, type BudgetHolder, ByteBudget } from "../../src/server/byte-budget.js";

class FakeHolder implements BudgetHolder {
  account!: BudgetAccount;
  /** What reclaim() gives back to (e.g. 0 for an idle decoder); undefined: nothing can go. */
  idleTo: number | undefined;
  evicted: { heldBytes: number; shareBytes: number } | undefined;

  constructor(
    readonly name: string,
    budget: ByteBudget,
  ) {
    this.account = budget.open(this);
  }

  reclaim(): number {
    return this.idleTo ?? this.account.bytes;
  }

  evict(heldBytes: number, shareBytes: number): void {
    this.evicted = { heldBytes, shareBytes };
  }
}

function holders(budget: ByteBudget, count: number): FakeHolder[] {
  return Array.from({ length: count }, (_, i) => new FakeHolder(`h${i}`, budget));
}

test("while the budget has room, every charge is granted, however large", () => {
  const budget = new ByteBudget(1000);
  const [a, b] = holders(budget, 2);
  assert.equal(budget.charge(a.account, 900), true);
  assert.equal(budget.charge(b.account, 100), true);
  assert.equal(budget.usedBytes, 1000);
  assert.equal(budget.holders, 2);
  assert.equal(budget.charge(a.account, 50), true, "shrinking is always granted");
  assert.equal(budget.usedBytes, 150);
  assert.equal(a.evicted ?? b.evicted, undefined);
});

test("when full, idle memory is reclaimed before anyone is evicted", () => {
  const budget = new ByteBudget(1000);
  const [idle, busy, grower] = holders(budget, 3);
  budget.charge(idle.account, 600);
  budget.charge(busy.account, 300);
  idle.idleTo = 0;
  assert.equal(budget.charge(grower.account, 500), true);
  assert.equal(idle.account.bytes, 0);
  assert.equal(budget.usedBytes, 800);
  assert.equal(idle.evicted ?? busy.evicted ?? grower.evicted, undefined);
});

test("when full, a holder growing past its fair share is refused and evicted itself", () => {
  const budget = new ByteBudget(1000);
  const [a, b, c] = holders(budget, 3);
  budget.charge(a.account, 300);
  budget.charge(b.account, 300);
  budget.charge(c.account, 300);
  assert.equal(budget.charge(c.account, 450), false, "share is 1000 / 3 = 333");
  assert.deepEqual(c.evicted, { heldBytes: 450, shareBytes: 333 });
  assert.equal(c.account.closed, true);
  assert.equal(budget.usedBytes, 600, "its bytes no longer count");
  assert.equal(budget.charge(c.account, 1), false, "a closed account is never charged again");
  assert.equal(a.evicted ?? b.evicted, undefined);
});

test("when full, a holder within its share makes room by evicting the largest above the share", () => {
  const budget = new ByteBudget(1000);
  const [small, large, larger, newcomer] = holders(budget, 4);
  budget.charge(small.account, 100);
  budget.charge(large.account, 400);
  budget.charge(larger.account, 450);
  assert.equal(budget.charge(newcomer.account, 200), true, "share is 1000 / 4 = 250");
  assert.deepEqual(larger.evicted, { heldBytes: 450, shareBytes: 250 });
  assert.equal(large.evicted, undefined, "one eviction made enough room");
  assert.equal(small.evicted, undefined);
  assert.equal(budget.usedBytes, 700);
});

test("many holders growing in turns: the charges never exceed the limit, small ones are never evicted", () => {
  const budget = new ByteBudget(4096);
  const hogs = holders(budget, 20);
  const canary = new FakeHolder("canary", budget);
  for (let step = 1; step <= 9; step++) {
    for (const hog of hogs) {
      if (hog.account.closed) continue;
      budget.charge(hog.account, step * 100);
      assert.ok(budget.usedBytes <= 4096, `used ${budget.usedBytes} after ${hog.name} grew`);
      assert.equal(budget.charge(canary.account, 40 + (step % 3)), true);
    }
  }
  assert.ok(budget.peakBytes <= 4096);
  assert.equal(canary.evicted, undefined);
  const survivors = hogs.filter((h) => !h.account.closed);
  assert.ok(survivors.length >= 1 && survivors.length <= 4, `${survivors.length} hogs of 900 bytes left`);
  for (const hog of hogs) assert.equal(hog.account.closed, hog.evicted !== undefined);
});
