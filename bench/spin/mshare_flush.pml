/* Copied from the project's shared anchors (anchors/spin/mshare_flush.pml, 2026-11-27),
 * the SPIN peer model bench/explore.ts runs beside explore when spin is installed. */
/*
 * Peer model (a performance anchor): the mshare host-unmap flush race
 * (review hazard 1) in Promela, checked exhaustively by SPIN.
 * NCPU sharers, each on its own CPU, access NPAGE pages of one mshare
 * region through per-CPU TLBs; hardware may fill a TLB from the shared PTE
 * at any time. Sharers fault pages in (allocating a frame under the host
 * lock). One owner on its own CPU unmaps pages on the host mm:
 * clear PTE, flush, free frame.
 * FLUSH_ALL 0 = RFC v3 (flush reaches only the local CPU: host mm_cpumask
 *              is empty), 1 = 2025 series (flush_tlb_all).
 * Safety: a TLB hit never lands on a free frame or on a frame that now
 * holds another page.
 */
#ifndef NCPU
#define NCPU 2
#endif
#ifndef NPAGE
#define NPAGE 2
#endif
#ifndef NFRAME
#define NFRAME 3
#endif
#ifndef FLUSH_ALL
#define FLUSH_ALL 0
#endif
#define NOPAGE 255

byte pte[NPAGE];               /* 0 = not present, else frame + 1 */
byte tlb[(NCPU + 1) * NPAGE];  /* per CPU (owner is CPU NCPU), 0 = empty */
byte owner_of[NFRAME];         /* ghost: which page a frame holds; NOPAGE = free */
bool host_lock;

inline tlbi(c, p) { tlb[(c) * NPAGE + (p)] }

proctype sharer(byte cpu) {
  byte p, f, i;
  do
  :: /* user access: TLB hit, or walk and fill */
     select(p : 0 .. NPAGE - 1);
     atomic {
       if
       :: tlb[cpu * NPAGE + p] != 0 ->
            f = tlb[cpu * NPAGE + p] - 1;
            assert(owner_of[f] == p)
       :: else ->
            if
            :: pte[p] != 0 -> tlb[cpu * NPAGE + p] = pte[p]
            :: else -> skip
            fi
       fi
     }
  :: /* page fault in the shared region: allocate under the host lock */
     select(p : 0 .. NPAGE - 1);
     atomic { !host_lock -> host_lock = true };
     if
     :: pte[p] == 0 ->
          f = NFRAME; i = 0;
          do
          :: i < NFRAME && owner_of[i] == NOPAGE -> f = i; break
          :: i < NFRAME && owner_of[i] != NOPAGE -> i++
          :: i >= NFRAME -> break
          od;
          if
          :: f < NFRAME -> owner_of[f] = p; pte[p] = f + 1
          :: else -> skip
          fi
     :: else -> skip
     fi;
     host_lock = false
  od
}

proctype host_owner() {
  byte p, f, c;
  do
  :: /* MSHAREFS_UNMAP of one page on the host mm */
     select(p : 0 .. NPAGE - 1);
     atomic { !host_lock -> host_lock = true };
     if
     :: pte[p] != 0 ->
          f = pte[p] - 1;
          pte[p] = 0;                               /* zap_pte_range */
#if FLUSH_ALL
          c = 0;                                    /* flush_tlb_all */
          do
          :: c <= NCPU -> tlb[c * NPAGE + p] = 0; c++
          :: c > NCPU -> break
          od;
#else
          tlb[NCPU * NPAGE + p] = 0;                /* local CPU only */
#endif
          owner_of[f] = NOPAGE                      /* free the frame */
     :: else -> skip
     fi;
     host_lock = false
  od
}

init {
  byte i;
  atomic {
    i = 0;
    do
    :: i < NFRAME -> owner_of[i] = NOPAGE; i++
    :: i >= NFRAME -> break
    od;
    i = 0;
    do
    :: i < NCPU -> run sharer(i); i++
    :: i >= NCPU -> break
    od;
    run host_owner()
  }
}
