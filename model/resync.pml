/*
 * The resync protocol of allocwatch, as implemented, for SPIN (docs/DESIGN.md "The resync model" maps
 * every state and transition below to the code; change them together).
 *
 * One session of NT threads (one AllocationClient and one connection each) sharing one device; the
 * device's allocator; one server (Session + Sequencer + GapRule + ReorderRing of that device).
 *
 * Switches (cc -D / spin -D):
 *   NT, MAXCH, MAXDROP, MAXRESTART, MAXDISC, RING, NADDR, WIRECAP   configuration (defaults below)
 *   NAIVE        mutant: the seed's order: the server applies reports as they arrive, FREE matched by
 *                address (reports leave after the allocator's lock, as ours do)
 *   WM_IGNORED   mutant: the server ignores the snapshot watermark (no stale discard, no age check,
 *                SNAPSHOT_END does not move nextSeq)
 */

#ifndef NT
#define NT 2            /* threads = connections of the session (2 or 3) */
#endif
#ifndef MAXCH
#define MAXCH 4         /* allocator changes (ALLOC/FREE), at most 7 */
#endif
#ifndef MAXDROP
#define MAXDROP 1       /* client queue-full drops */
#endif
#ifndef MAXRESTART
#define MAXRESTART 1    /* server restarts (all server state lost) */
#endif
#ifndef MAXDISC
#define MAXDISC 0       /* single connections dropped by the server (session survives) */
#endif
#ifndef RING
#define RING 2          /* reorder window, events */
#endif
#ifndef NADDR
#define NADDR 2         /* device addresses (the seed's race needs reuse) */
#endif
#ifndef WIRECAP
#define WIRECAP 3       /* frames a connection holds: client queue + kernel + in flight */
#endif

#define NONE 255
#define B(i) (1 << (i))

/* client states (ClientState) and connection states */
#define READY 0
#define CONNECTING 1
#define BACKOFF 2
#define L_NONE 0
#define L_OPEN 1
#define L_DEAD 2

mtype = { EVA, EVF, BEG, FIN };   /* EVENTS record ALLOC / FREE; SNAPSHOT_BEGIN (+ chunks); SNAPSHOT_END */

/* ---- allocator of the device (src/device/allocator/allocator.ts) ---- */
byte seq;                 /* last sequence number stamped */
byte alive;               /* live allocation ids, bit per id */
byte addrUsed;            /* addresses in use, bit per address */
byte addrOf[MAXCH + 1];   /* address of each allocation id (fixed once granted) */
byte nextId;              /* last allocation id granted (ids are never reused) */
byte changes;
byte hist[MAXCH + 1];     /* ghost: live set after each seq (hist[0] = empty) */

/* ---- threads and their clients (src/client/) ---- */
bool pend[NT];            /* a change stamped, not yet given to record() */
bool pendAlloc[NT];
byte pendId[NT];
byte pendSeq[NT];
byte cst[NT];             /* READY / CONNECTING / BACKOFF */
byte link[NT];            /* L_NONE / L_OPEN / L_DEAD (server closed it, client not told yet) */
bool gated[NT];           /* DeviceTrack.gated */
bool cres[NT];            /* DeviceTrack.resyncPending (in the resync queue) */
byte cwm[NT];             /* DeviceTrack.watermarkSeq */
bool req[NT];             /* an unread RESYNC_REQUEST on the connection */
chan wire[NT] = [WIRECAP] of { mtype, byte, byte };
byte drops;

/* ---- server: Session + Sequencer of the device (src/server/) ---- */
byte nextSeq = 1;
byte maxSeen;
byte lostThrough;
byte lastWm;
byte ringMask;            /* ReorderRing: held seqs, bit per seq */
bool ringAlloc[MAXCH + 2];
byte ringId[MAXCH + 2];
byte ringCount;
byte srvLive;             /* the registry's live set of the (session, device) */
byte snapSrc = NONE;      /* SnapshotCollector.source */
byte snapW;
byte snapSet;
byte ignored;             /* ignoredSources, bit per connection */
bool resyncPend;
bool gapArmed;
byte gapSeq;
byte laneHigh[NT];        /* GapRule lanes: highest seq each live connection delivered */
bool recent[NT];          /* delivered a frame since the gap rule last looked (deliveredAtMs) */
byte unanswered = NONE;   /* Session.unanswered: the connection asked, not answered yet */
bool pendingRs;           /* Session.pendingResyncs: asked while no connection was open */
byte rr;                  /* Session.nextPeer (round robin) */
byte restarts;
byte discs;
#ifdef NAIVE
byte naiveCnt[NADDR];     /* the seed's server: reference count per address */
#endif

/* ---- ghosts for the properties ---- */
byte applied;             /* seq the server's state is exact as of */
byte anomalies;           /* anomalies counted (DUPLICATE_SEQ, SNAPSHOT_INVALID, registry's) */
bool lossy;               /* data was lost: a drop, a dropped connection or a restart */

hidden byte kk, xx, yy, ii, aa;

/* Reachability probes (vacuity check): built with -DREACH=n, the search must reach probe n and fail there,
 * which shows that the configuration exercises that path. scripts/model.mjs runs each one. */
#ifdef REACH
#define PROBE(n) assert(REACH != n)
#else
#define PROBE(n) skip
#endif

/* (c): no anomaly is ever counted: the client sends nothing wrong (a snapshot cut off by its connection
 * closing is a recovery, SNAPSHOT_INTERRUPTED, not an anomaly) */
#define noFalseAnomaly (anomalies == 0)
#define ANOMALY anomalies++; assert(noFalseAnomaly)
hidden byte bb, cc, op;

#define stalled (ringMask != 0 || lostThrough >= nextSeq)
#ifdef NAIVE
#define naiveExact (((naiveCnt[0] > 0) == ((addrUsed & B(0)) != 0)) && ((naiveCnt[1] > 0) == ((addrUsed & B(1)) != 0)))
#define exact (naiveExact)
#else
#define exact (nextSeq == seq + 1 && srvLive == alive)
#endif
#define quietClient(t) (!pend[t] && len(wire[t]) == 0 && !req[t] && !cres[t] && cst[t] == READY && link[t] == L_OPEN)
#if NT == 2
#define quiet (quietClient(0) && quietClient(1) && !gapArmed && snapSrc == NONE)
#else
#define quiet (quietClient(0) && quietClient(1) && quietClient(2) && !gapArmed && snapSrc == NONE)
#endif

/* ======================= server ======================= */

/* Session.requestResync + ask (src/server/session.ts) */
inline askForResync() {
  resyncPend = 1;
  bb = 0;
  for (ii : 0 .. NT - 1) { if :: link[ii] == L_OPEN -> bb = 1 :: else -> skip fi }
  if
  :: !bb -> PROBE(10); pendingRs = 1
  :: bb && unanswered != NONE -> skip
  :: bb && unanswered == NONE ->
     do
     :: link[rr] == L_OPEN -> break
     :: else -> rr = (rr + 1) % NT
     od;
     unanswered = rr; req[rr] = 1; rr = (rr + 1) % NT
  fi
}

/* Sequencer.armGapTimer / clearGapTimer */
inline armGap() {
  if
  :: !gapArmed && snapSrc == NONE && stalled -> gapArmed = 1; gapSeq = nextSeq
  :: else -> skip
  fi
}
inline clearGap() { gapArmed = 0; gapSeq = 0 }

inline ringClear() {
  ringMask = 0; ringCount = 0;
  for (ii : 0 .. MAXCH + 1) { ringAlloc[ii] = 0; ringId[ii] = 0 }
}

/* Sequencer.apply -> Registry.allocate / free: the ghost checks of property (a) */
inline applyEv(isAlloc, id, s) {
  assert(s == applied + 1);                         /* (a) in order, never twice */
  if
  :: isAlloc -> assert((srvLive & B(id)) == 0); srvLive = srvLive | B(id)
  :: else -> assert((srvLive & B(id)) != 0); srvLive = srvLive & ~B(id)
  fi;
  applied = s;
  assert(srvLive == hist[s])                        /* the view is a past state of the allocator */
}

/* Sequencer.drain */
inline drain() {
  do
  :: (ringMask & B(nextSeq)) != 0 ->
     ringMask = ringMask & ~B(nextSeq); ringCount--;
     applyEv(ringAlloc[nextSeq], ringId[nextSeq], nextSeq);
     ringAlloc[nextSeq] = 0; ringId[nextSeq] = 0;
     nextSeq++
  :: else -> break
  od;
  if
  :: ringMask == 0 && lostThrough < nextSeq -> clearGap(); resyncPend = 0
  :: else -> skip
  fi
}

/* Sequencer.buffer + ReorderRing.put (OVER_BUDGET takes the OVERFLOW path: same effect) */
inline buffer(isAlloc, s, id, base) {
  if
  :: s >= base + RING ->
     PROBE(1);                                                      /* FAR_AHEAD: beyond the window */
     if :: s > lostThrough -> lostThrough = s :: else -> skip fi;
     if :: !resyncPend && snapSrc == NONE -> askForResync() :: else -> skip fi
  :: s < base + RING && (ringMask & B(s)) != 0 -> ANOMALY      /* DUPLICATE_SEQ (OCCUPIED) */
  :: s < base + RING && (ringMask & B(s)) == 0 ->
     ringMask = ringMask | B(s); ringAlloc[s] = isAlloc; ringId[s] = id; ringCount++;
     assert(ringCount <= RING)                                     /* (d) */
  fi
}

/* Sequencer.push (Session.events marks the delivery first) */
inline push(c, isAlloc, s, id) {
  recent[c] = 1;
#ifdef NAIVE
  aa = addrOf[id];
  if
  :: isAlloc -> if :: naiveCnt[aa] > 0 -> ANOMALY :: else -> skip fi; naiveCnt[aa]++
  :: else -> if :: naiveCnt[aa] == 0 -> ANOMALY :: else -> naiveCnt[aa]-- fi
  fi
#else
  if :: s > laneHigh[c] -> laneHigh[c] = s :: else -> skip fi;
  if :: s > maxSeen -> maxSeen = s :: else -> skip fi;
#ifndef WM_IGNORED
  if
  :: snapSrc != NONE && s <= snapW -> PROBE(7)                     /* stale: the snapshot holds it */
  :: snapSrc != NONE && s > snapW -> buffer(isAlloc, s, id, snapW + 1)
  :: snapSrc == NONE ->
#endif
     if
     :: s == nextSeq ->
        applyEv(isAlloc, id, s); nextSeq++;
        if :: ringMask != 0 -> drain() :: else -> skip fi
     :: s < nextSeq -> if :: s <= lastWm -> PROBE(8) :: else -> ANOMALY fi   /* discardOld */
     :: s > nextSeq -> buffer(isAlloc, s, id, nextSeq); armGap()
     fi
#ifndef WM_IGNORED
  fi
#endif
#endif
}

/* Session.snapshotBegin + Sequencer.beginSnapshot */
inline beginSnapshot(c, w, set) {
  unanswered = NONE;
  recent[c] = 1;
#ifdef NAIVE
  snapSrc = c; snapSet = set
#else
  if :: w > laneHigh[c] -> laneHigh[c] = w :: else -> skip fi;
#ifndef WM_IGNORED
  if
  :: w + 1 < nextSeq || (snapSrc != NONE && w < snapW) ->
     PROBE(2); ignored = ignored | B(c)                              /* older than the state: ignored */
  :: else ->
#endif
     if :: snapSrc != NONE && snapSrc != c -> PROBE(9); ignored = ignored | B(snapSrc) :: else -> skip fi;
     ignored = ignored & ~B(c);
     clearGap();
#ifndef WM_IGNORED
     for (ii : 1 .. MAXCH) {                                        /* ring.discard(from, w) */
       if
       :: ii <= w && (ringMask & B(ii)) != 0 ->
          ringMask = ringMask & ~B(ii); ringCount--; ringAlloc[ii] = 0; ringId[ii] = 0
       :: else -> skip
       fi
     }
#endif
     snapSrc = c; snapW = w; snapSet = set
#ifndef WM_IGNORED
  fi
#endif
#endif
}

/* Session.snapshotEnd + Sequencer.endSnapshot */
inline endSnapshot(c, w) {
  recent[c] = 1;
#ifdef NAIVE
  if
  :: snapSrc == c ->
     snapSrc = NONE;
     naiveCnt[0] = 0; naiveCnt[1] = 0;                              /* NADDR is 2 */
     for (ii : 1 .. MAXCH) { if :: (snapSet & B(ii)) != 0 -> naiveCnt[addrOf[ii]]++ :: else -> skip fi }
     snapSet = 0
  :: else -> skip
  fi
#else
  if
  :: snapSrc != c ->
     if
     :: (ignored & B(c)) != 0 -> PROBE(11); ignored = ignored & ~B(c)
     :: else -> ANOMALY                                          /* SNAPSHOT_END without BEGIN */
     fi
  :: snapSrc == c ->
     snapSrc = NONE;
     srvLive = snapSet;
#ifndef WM_IGNORED
     assert(w >= applied);                                           /* (a) never rolls back */
     applied = w; lastWm = w; nextSeq = w + 1;
#endif
     assert(srvLive == hist[applied]);
     snapW = 0; snapSet = 0;
     resyncPend = 0;
     if :: ringMask != 0 -> PROBE(12); drain() :: else -> skip fi;
     if :: lostThrough >= nextSeq -> PROBE(13); askForResync() :: else -> skip fi;
     armGap()
  fi
#endif
}

/* Session.detach + Sequencer.sourceClosed (+ abortSnapshot): connection c is gone */
inline detach(c) {
  link[c] = L_DEAD; req[c] = 0;
  if :: unanswered == c -> unanswered = NONE :: else -> skip fi;
  laneHigh[c] = 0; recent[c] = 0;
  ignored = ignored & ~B(c);
  if
  :: snapSrc == c ->
     snapSrc = NONE; snapW = 0; snapSet = 0;
     PROBE(6);                                          /* SNAPSHOT_INTERRUPTED: a recovery, no anomaly */
#ifndef NAIVE
     ringClear();
     if :: maxSeen > lostThrough -> lostThrough = maxSeen :: else -> skip fi;
     askForResync();
     armGap()
#endif
  :: else -> skip
  fi
}

/* Session.attach on the HELLO of a new connection (a new peer id: nothing of the old one applies) */
inline attach(c) {
  laneHigh[c] = 0; recent[c] = 1; req[c] = 0;
  ignored = ignored & ~B(c);
  if
  :: pendingRs -> PROBE(17); pendingRs = 0; unanswered = c; req[c] = 1
  :: else -> skip
  fi
}

/* Sequencer.onGapTimeout + GapRule.judge (CONFIRM and its confirmation folded into one look) */
inline gapTimeout() {
  gapArmed = 0;
  if
  :: snapSrc != NONE || !stalled -> gapSeq = 0
  :: else ->
     if
     :: nextSeq != gapSeq -> PROBE(15); gapSeq = 0; armGap()
     :: nextSeq == gapSeq && resyncPend -> PROBE(16); gapSeq = 0; askForResync(); armGap()
     :: nextSeq == gapSeq && !resyncPend ->
        gapSeq = 0;
        bb = 0; cc = 0;                                              /* behind, behind and active */
        for (ii : 0 .. NT - 1) {
          if
          :: link[ii] == L_OPEN && laneHigh[ii] < nextSeq -> bb = 1; if :: recent[ii] -> cc = 1 :: else -> skip fi
          :: else -> skip
          fi
        }
        if
        :: cc -> PROBE(3)                                            /* WAIT: one behind still delivers */
        :: !cc && bb -> PROBE(4); askForResync()                     /* LOST: those behind stayed quiet */
        :: !cc && !bb -> PROBE(5); askForResync()                    /* LOST: every connection passed it */
        fi;
        for (ii : 0 .. NT - 1) { recent[ii] = 0 }
        armGap()
     fi
  fi
}

inline restart() {
  restarts++; lossy = 1;
  for (ii : 0 .. NT - 1) { if :: link[ii] == L_OPEN -> link[ii] = L_DEAD :: else -> skip fi; req[ii] = 0; laneHigh[ii] = 0; recent[ii] = 0 }
  nextSeq = 1; maxSeen = 0; lostThrough = 0; lastWm = 0;
  ringClear();
  srvLive = 0; snapSrc = NONE; snapW = 0; snapSet = 0; ignored = 0;
  resyncPend = 0; clearGap(); unanswered = NONE; pendingRs = 0; rr = 0;
  applied = 0;
#ifdef NAIVE
  naiveCnt[0] = 0; naiveCnt[1] = 0
#endif
}

#define SERVE(c) \
  :: d_step { link[c] == L_OPEN && len(wire[c]) > 0 -> \
       wire[c]?kk, xx, yy; \
       if \
       :: kk == EVA -> op = 1; push(c, op, xx, yy) \
       :: kk == EVF -> op = 0; push(c, op, xx, yy) \
       :: kk == BEG -> beginSnapshot(c, xx, yy) \
       :: kk == FIN -> endSnapshot(c, xx) \
       fi; \
       kk = 0; xx = 0; yy = 0; op = 0 }

#define DISCONNECT(c) \
  :: d_step { discs < MAXDISC && link[c] == L_OPEN -> discs++; lossy = 1; detach(c) }

/* The server's event loop, as processes so that weak fairness means "every socket is read, every timer
 * fires" (one process with a branch each could starve its sockets under weak fairness). */
proctype Reader(byte c) {                      /* Connection.onData -> Session (one connection) */
end:
  do
  :: c == 0 -> do SERVE(0) od
  :: c == 1 -> do SERVE(1) od
#if NT > 2
  :: c == 2 -> do SERVE(2) od
#endif
  od
}

proctype GapTimer() {                          /* Timers: the sequencer's gap timer firing */
end:
  do
#ifndef NAIVE
  :: d_step { gapArmed -> gapTimeout() }
#else
  :: false
#endif
  od
}

proctype Faults() {                            /* what the world does to the server */
end:
  do
  :: d_step { restarts < MAXRESTART -> restart() }
  DISCONNECT(0)
  DISCONNECT(1)
#if NT > 2
  DISCONNECT(2)
#endif
  od
}

/* ======================= threads: workload + AllocationClient ======================= */

/* Allocator.allocate / deallocate: the seq is taken inside the critical section; the report leaves later */
inline stamp(t, isAlloc, id) {
  changes++; seq++; hist[seq] = alive;
  pend[t] = 1; pendAlloc[t] = isAlloc; pendId[t] = id; pendSeq[t] = seq
}

inline clearPend(t) { pend[t] = 0; pendAlloc[t] = 0; pendId[t] = 0; pendSeq[t] = 0 }

/* AllocationClient.lose + DeviceResyncState.lose (a snapshot source exists: healable) */
inline lose(t) {
  lossy = 1;
  if :: !gated[t] -> gated[t] = 1; cres[t] = 1 :: else -> skip fi
}

#define FREE_ID(t, k) \
  :: d_step { !pend[t] && changes < MAXCH && (alive & B(k)) != 0 -> \
       addrUsed = addrUsed & ~B(addrOf[k]); alive = alive & ~B(k); stamp(t, 0, k) }

proctype Thread(byte t) {
end:
  do
  /* DeviceBuffer.allocateImpl: Allocator.allocate takes the lowest free address, a new id and a seq */
  :: d_step { !pend[t] && changes < MAXCH && addrUsed != B(NADDR) - 1 ->
       nextId++;
       aa = 0;
       do :: (addrUsed & B(aa)) != 0 -> aa++ :: else -> break od;
       addrUsed = addrUsed | B(aa); addrOf[nextId] = aa; alive = alive | B(nextId);
       stamp(t, 1, nextId); aa = 0 }
  /* DeviceBuffer.deallocate of any live allocation (buffers move between threads) */
  FREE_ID(t, 1)
  FREE_ID(t, 2)
  FREE_ID(t, 3)
  FREE_ID(t, 4)
#if MAXCH > 4
  FREE_ID(t, 5)
#endif
#if MAXCH > 5
  FREE_ID(t, 6)
#endif
#if MAXCH > 6
  FREE_ID(t, 7)
#endif
  /* AllocationClient.record (after the allocator's lock is released) */
  :: d_step { pend[t] && pendSeq[t] <= cwm[t] -> PROBE(14); clearPend(t) }                  /* coveredBySnapshot */
  :: d_step { pend[t] && pendSeq[t] > cwm[t] && (gated[t] || cst[t] == BACKOFF) -> lose(t); clearPend(t) }
  :: d_step { pend[t] && pendSeq[t] > cwm[t] && !gated[t] && cst[t] != BACKOFF && drops < MAXDROP ->
       drops++; lose(t); clearPend(t) }                        /* queue full (backpressure), by choice */
  :: d_step { pend[t] && pendSeq[t] > cwm[t] && !gated[t] && cst[t] != BACKOFF && len(wire[t]) == WIRECAP ->
       lose(t); clearPend(t) }                                 /* queue full: forced by the bound */
  :: d_step { pend[t] && pendSeq[t] > cwm[t] && !gated[t] && cst[t] != BACKOFF && len(wire[t]) < WIRECAP ->
       if :: pendAlloc[t] -> wire[t]!EVA, pendSeq[t], pendId[t] :: else -> wire[t]!EVF, pendSeq[t], pendId[t] fi;
       clearPend(t) }
  /* pump: queue drained, take the device's snapshot (SnapshotSender.send, snapshotEnqueued) */
  :: d_step { !pend[t] && cst[t] == READY && cres[t] && len(wire[t]) + 2 <= WIRECAP ->
       cres[t] = 0;
       wire[t]!BEG, seq, alive;
       wire[t]!FIN, seq, 0;
       if :: seq > cwm[t] -> cwm[t] = seq :: else -> skip fi;
       gated[t] = 0 }
  /* handleResyncRequest */
  :: d_step { !pend[t] && cst[t] == READY && req[t] -> req[t] = 0; cres[t] = 1 }
  /* handleClosed: what the kernel did not deliver is lost; every device resyncs */
  :: d_step { !pend[t] && link[t] == L_DEAD ->
       link[t] = L_NONE;
       do :: len(wire[t]) > 0 -> wire[t]?kk, xx, yy :: else -> break od;
       kk = 0; xx = 0; yy = 0;
       gated[t] = 1; cres[t] = 1; cst[t] = BACKOFF }
  /* connect (after the backoff): the server attaches the HELLO's connection */
  :: d_step { !pend[t] && cst[t] == BACKOFF -> cst[t] = CONNECTING; link[t] = L_OPEN; attach(t) }
  /* handleWelcome */
  :: d_step { !pend[t] && cst[t] == CONNECTING && link[t] == L_OPEN -> cst[t] = READY }
  od
}

/* (b), (e): whenever nothing is in flight or pending, the server is exact; a final state is quiet */
active proctype Monitor() {
end:
  do
  :: atomic { quiet -> assert(exact && !stalled) }
  :: atomic { timeout -> assert(quiet && exact) }
  od
}


ltl eventually_exact { <> [] exact }
ltl no_false_anomaly { [] noFalseAnomaly }
ltl ring_bounded { [] (ringCount <= RING) }

init {
  byte t;
  atomic {
    for (t : 0 .. NT - 1) { cst[t] = READY; link[t] = L_OPEN; recent[t] = 1 }
    t = 0;
    run GapTimer();
    run Faults();
    for (t : 0 .. NT - 1) { run Reader(t) }
    t = 0;
    run Thread(0);
    run Thread(1);
#if NT > 2
    run Thread(2);
#endif
  }
}
