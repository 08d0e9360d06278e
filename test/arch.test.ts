import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LVL_P4D, LVL_PGD, LVL_PMD, LVL_PTE, LVL_PUD } from '../src/arch/arch.js';
import { x86_64 as a } from '../src/arch/x86_64.js';

test('x86-64 pte predicates on hand-made entries', () => {
  const rw = a.mkPte(123, true);
  assert.equal(rw & 1, 1, 'present bit');
  assert.equal(a.ptePfn(rw), 123);
  assert.ok(a.ptePresent(rw) && a.pteWrite(rw) && !a.pteNone(rw) && !a.pteSpecial(rw) && !a.pteProtnone(rw));
  assert.ok(a.pteAccessPermitted(rw, true));
  const ro = a.pteWrprotect(rw);
  assert.ok(a.pteAccessPermitted(ro, false) && !a.pteAccessPermitted(ro, true), 'read-only: no write access');
  assert.ok(a.pteSpecial(a.pteMkspecial(rw)));
  assert.ok(a.pteNone(0) && !a.ptePresent(0));
  // protnone: PROTNONE (bit 8) without PRESENT: present for the kernel, not accessible
  const protnone = (rw & ~1) | (1 << 8);
  assert.ok(a.ptePresent(protnone) && a.pteProtnone(protnone) && !a.pteAccessPermitted(protnone, false));
  // a pfn with bit 19 set makes the entry negative as an int32; pfn decoding must not care
  assert.equal(a.ptePfn(a.mkPte(0x80000 | 5, false) | 0), 0x80005);
});

test('x86-64 pmd: an invalidated THP stays present (PSE), a migration entry is not present', () => {
  const huge = a.mkPmdLeaf(4096, true);
  assert.ok(a.pmdPresent(huge) && a.pmdLeaf(huge) && a.pmdWrite(huge));
  const inval = a.pmdMkinvalid(huge);
  assert.ok(a.pmdPresent(inval), 'pmdp_invalidate keeps a THP "present" on x86');
  assert.ok(!a.pmdAccessPermitted(inval, false), 'but no walker may use it');
  const mig = a.mkMigrationEntry(4096, true);
  assert.ok(!a.pmdPresent(mig) && !a.pmdNone(mig) && !a.pmdLeaf(mig));
  assert.ok(a.isMigrationEntry(mig) && !a.isMigrationEntry(huge) && !a.isMigrationEntry(0));
  assert.equal(a.swpOffset(mig), 4096);
  const table = a.mkTableEntry(LVL_PMD, 77, 4);
  assert.ok(a.pmdPresent(table) && !a.pmdLeaf(table));
  assert.equal(a.tablePfn(LVL_PMD, table), 77);
});

test('x86-64 levels: indices, pXd_addr_end and the folded p4d of a 4-level mm', () => {
  const vpn = (3 << 18) | (5 << 12) | (7 << 6) | 9;
  assert.equal(a.index(LVL_PTE, 4, vpn), 9);
  assert.equal(a.index(LVL_PMD, 4, vpn), 7);
  assert.equal(a.index(LVL_PUD, 4, vpn), 5);
  assert.equal(a.index(LVL_PGD, 4, vpn), 3, '4-level: the pgd indexes bits 18..23');
  assert.equal(a.index(LVL_PGD, 5, vpn << 6) , 3, '5-level: the pgd indexes bits 24..29');
  assert.ok(a.folded(LVL_P4D, 4) && !a.folded(LVL_P4D, 5));
  assert.equal(a.addrEnd(LVL_P4D, 4, 10, 500), 500, 'a folded p4d spans the whole range');
  assert.equal(a.addrEnd(LVL_PMD, 4, 10, 500), 64, 'a pmd entry ends at the next 64-page boundary');
  assert.equal(a.addrEnd(LVL_PMD, 4, 10, 20), 20, 'capped at end');
  assert.equal(a.addrEnd(LVL_PTE, 4, 10, 20), 11);
  assert.equal(a.span(LVL_PUD, 4), 4096);
});

test('arm64 (<= 6.9): pmd_mkinvalid on a migration entry makes it a "present" leaf with a wild pfn', async () => {
  const { arm64: b } = await import('../src/arch/arm64.js');
  const mig = b.mkMigrationEntry(8192, true);
  assert.ok(!b.pmdPresent(mig) && !b.pmdNone(mig) && b.isMigrationEntry(mig));
  assert.equal(b.swpOffset(mig), 8192);
  const bad = b.pmdMkinvalid(mig);
  assert.ok(b.pmdPresent(bad), 'PMD_PRESENT_INVALID makes pmd_present() true');
  assert.ok(b.pmdLeaf(bad), 'and pmd_leaf() true: no table bit');
  assert.ok(!b.isMigrationEntry(bad));
  assert.notEqual(b.pmdPfn(bad), 8192, 'pmd_pfn() reads the swap bits: a wild pfn');
  assert.ok(!b.pmdAccessPermitted(bad, false), 'GUP-fast still refuses it: VALID is clear');
  const huge = b.mkPmdLeaf(4096, true);
  assert.ok(b.pmdPresent(huge) && b.pmdLeaf(huge) && b.pmdAccessPermitted(huge, true));
  const inval = b.pmdMkinvalid(huge);
  assert.ok(b.pmdPresent(inval) && b.pmdLeaf(inval) && !b.pmdAccessPermitted(inval, false), 'an invalidated THP: present, not accessible');
  const table = b.mkTableEntry(LVL_PMD, 77, 4);
  assert.ok(b.pmdPresent(table) && !b.pmdLeaf(table));
  const pte = b.mkPte(5, true);
  assert.ok(b.ptePresent(pte) && b.pteWrite(pte) && b.pteAccessPermitted(pte, true));
  const ro = b.pteWrprotect(pte);
  assert.ok(!b.pteWrite(ro) && b.pteAccessPermitted(ro, false) && !b.pteAccessPermitted(ro, true));
  assert.ok(b.pteSpecial(b.pteMkspecial(pte)) && !b.pteSpecial(pte));
});

test('s390: an empty pte is 0x400, not 0; region entries carry the table type; depth from the top table', async () => {
  const { s390: s } = await import('../src/arch/s390.js');
  assert.equal(s.emptyPte, 0x400);
  assert.ok(s.pteNone(0x400) && !s.ptePresent(0x400));
  assert.ok(!s.pteNone(0), 'a zero pte is not empty on s390');
  const pte = s.mkPte(9, true);
  assert.ok(s.ptePresent(pte) && s.pteWrite(pte) && s.pteAccessPermitted(pte, true) && s.ptePfn(pte) === 9);
  assert.ok(!s.pteAccessPermitted(s.pteWrprotect(pte), true));
  // segment (pmd) entries: empty is _SEGMENT_ENTRY_INVALID
  assert.equal(s.emptyEntry(LVL_PMD, 3), 0x20);
  assert.ok(s.pmdNone(0x20) && !s.pmdPresent(0x20));
  const seg = s.mkTableEntry(LVL_PMD, 5, 3);
  assert.ok(s.pmdPresent(seg) && !s.pmdLeaf(seg) && s.tablePfn(LVL_PMD, seg) === 5);
  const large = s.mkPmdLeaf(4096, true);
  assert.ok(s.pmdLeaf(large) && s.pmdPresent(s.pmdMkinvalid(large)) && !s.pmdAccessPermitted(s.pmdMkinvalid(large), false));
  // region entries: the type of the table they live in (R3 0x04, R2 0x08, R1 0x0c)
  for (const [levels, type] of [[3, 0x04], [4, 0x08], [5, 0x0c]] as const) {
    assert.equal(s.emptyEntry(LVL_PGD, levels), type | 0x20);
    assert.ok(s.upperNone(LVL_PGD, s.emptyEntry(LVL_PGD, levels)));
    const e = s.mkTableEntry(LVL_PGD, 77, levels);
    assert.equal(e & 0x0c, type);
    assert.ok(!s.upperNone(LVL_PGD, e));
    assert.equal(s.levelsOfTop!(e), levels, 'pgd_offset_raw: depth from the entry type');
    assert.equal(s.levelsOfTop!(s.emptyEntry(LVL_PGD, levels)), levels);
  }
  // a 3-level mm folds p4d and pud; its top table indexes the pud bits
  assert.ok(s.folded(LVL_P4D, 3) && s.folded(LVL_PUD, 3) && !s.folded(LVL_PUD, 4));
  assert.equal(s.index(LVL_PGD, 3, 5 << 12), 5);
  assert.equal(s.addrEnd(LVL_PUD, 3, 10, 9000), 9000, 'pXd_addr_end_folded: a folded level spans its entry');
  assert.equal(s.addrEnd(LVL_PGD, 3, 10, 9000), 4096, 'the top (R3) entry ends at the R3 boundary');
  const mig = s.mkMigrationEntry(100, false);
  assert.ok(s.isMigrationEntry(mig) && !s.ptePresent(mig) && !s.pteNone(mig) && s.swpOffset(mig) === 100);
});
