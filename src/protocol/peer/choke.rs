//! Choking (`--peer-choice tit-for-tat`, and every free rider): whom an uploader serves. Every
//! window an uploader unchokes the `--unchoke` interested peers that gave it most in the last
//! window (once it downloads nothing, those it sent most: the ones it can send to), and chokes
//! the rest; every few windows it moves one optimistic unchoke on to the next interested peer,
//! in rank order, so a newcomer with nothing to give gets a start and a better partner may be
//! found. Between windows a free position goes at once to the next peer that asks. A free rider
//! unchokes nobody.
//!
//! The rules are pure: [`Choker`] is told who is interested, what each gave and when a window
//! ends, and says whom to choke and unchoke; the upload thread (`peer::upload`) does the rest.

use crate::protocol::ids::Rank;
use crate::protocol::peer::view::splitmix;
use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Chunk times in a window: enough for every unchoked peer to be sent several chunks, so what it
/// gave back can be told from noise.
pub const WINDOW_CHUNKS: u32 = 10;
/// The shortest window, for runs without a chunk time.
const SHORTEST_WINDOW: Duration = Duration::from_millis(10);
/// Windows between two moves of the optimistic unchoke (BitTorrent's 30 s over 10 s windows).
pub const OPTIMISTIC_EVERY: u32 = 3;

/// How long a choking window lasts at `chunk_time`.
pub fn window(chunk_time: Duration) -> Duration {
    (chunk_time * WINDOW_CHUNKS).max(SHORTEST_WINDOW)
}

/// What a peer's download thread tells its upload thread for choking: the chunks received from
/// each peer, and whether it still downloads.
pub struct Reciprocity {
    /// Chunks received from each peer, rank 1 first.
    received: Vec<AtomicU64>,
    downloading: AtomicBool,
}

impl Reciprocity {
    pub fn new(peers: usize) -> Reciprocity {
        Reciprocity { received: (0..peers).map(|_| AtomicU64::new(0)).collect(), downloading: AtomicBool::new(true) }
    }

    /// A chunk came from `from`.
    pub fn received(&self, from: Rank) {
        if let Some(count) = self.received.get(from.peer_index()) {
            count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Chunks received from `from` so far.
    pub fn gave(&self, from: Rank) -> u64 {
        self.received.get(from.peer_index()).map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// The download thread has nothing more to download.
    pub fn done_downloading(&self) {
        self.downloading.store(false, Ordering::Relaxed);
    }

    pub fn downloading(&self) -> bool {
        self.downloading.load(Ordering::Relaxed)
    }
}

/// Chunks a peer gave an uploader: in the last window, and ever.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gave {
    pub window: u64,
    pub ever: u64,
}

/// Who an uploader chokes and unchokes at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Change {
    pub choked: Vec<Rank>,
    /// Each with whether it is the optimistic unchoke; a peer that stays unchoked but becomes
    /// or stops being the optimistic one is here too, so the events say which it is.
    pub unchoked: Vec<(Rank, bool)>,
}

/// An uploader's choke state.
#[derive(Clone, Debug)]
pub struct Choker {
    /// Peers unchoked for what they gave (or, seeding, took).
    regular: usize,
    /// Whether it keeps an optimistic unchoke (a free rider does not).
    optimistic_on: bool,
    unchoked: Vec<Rank>,
    optimistic: Option<Rank>,
    /// The optimistic unchoke moves on from here, in rank order.
    last_optimistic: Option<Rank>,
    windows: u32,
    /// Chunks sent to each peer this window.
    sent: HashMap<Rank, u64>,
    /// Draws among equals, from the peer's seed.
    salt: u64,
}

impl Choker {
    /// Tit-for-tat with `regular` unchokes for reciprocation and one optimistic.
    pub fn tit_for_tat(regular: usize, salt: u64) -> Choker {
        Choker {
            regular,
            optimistic_on: true,
            unchoked: Vec::new(),
            optimistic: None,
            last_optimistic: None,
            windows: 0,
            sent: HashMap::new(),
            salt,
        }
    }

    /// A free rider: it unchokes nobody.
    pub fn free_rider() -> Choker {
        Choker { optimistic_on: false, ..Choker::tit_for_tat(0, 0) }
    }

    pub fn unchokes(&self, peer: Rank) -> bool {
        self.optimistic == Some(peer) || self.unchoked.contains(&peer)
    }

    /// Every peer unchoked now.
    pub fn unchoked(&self) -> Vec<Rank> {
        self.unchoked.iter().copied().chain(self.optimistic).collect()
    }

    /// A chunk went to `peer`.
    pub fn sent(&mut self, peer: Rank) {
        *self.sent.entry(peer).or_default() += 1;
    }

    /// `peer`, choked, asks: it is unchoked at once if a position is free; whether it was, and
    /// whether optimistically.
    pub fn admit(&mut self, peer: Rank) -> Option<bool> {
        if self.unchokes(peer) {
            return None;
        }
        if self.unchoked.len() < self.regular {
            self.unchoked.push(peer);
            return Some(false);
        }
        if self.optimistic_on && self.optimistic.is_none() {
            self.optimistic = Some(peer);
            self.last_optimistic = Some(peer);
            return Some(true);
        }
        None
    }

    /// A window ended: the `interested` peers that `gave` most in it (or, when `seeding`, were
    /// sent most) are unchoked, and every few windows the optimistic unchoke moves on; everyone
    /// else is choked. `gave` says what a peer gave in the window and ever; among those that gave
    /// as much in the window, the one that gave more ever goes first, so a peer that never gives
    /// takes a regular place only when no one else would; other ties go to a draw that changes
    /// every window.
    pub fn rechoke(&mut self, interested: &[Rank], gave: impl Fn(Rank) -> Gave, seeding: bool) -> Change {
        self.windows += 1;
        let (before, optimistic_before) = (self.unchoked(), self.optimistic);
        let sent = |peer: Rank| Gave { window: self.sent.get(&peer).copied().unwrap_or(0), ever: 0 };
        let rate = |peer: Rank| if seeding { sent(peer) } else { gave(peer) };
        let draw = splitmix(self.salt ^ u64::from(self.windows));
        let mut ranked: Vec<Rank> = interested.to_vec();
        ranked.sort_unstable();
        ranked.dedup();
        ranked.sort_by_cached_key(|&peer| {
            let Gave { window, ever } = rate(peer);
            (Reverse(window), Reverse(ever), splitmix(draw ^ u64::from(peer.0)))
        });
        ranked.truncate(self.regular);
        self.unchoked = ranked;
        let keep = self.optimistic.filter(|&o| interested.contains(&o) && !self.unchoked.contains(&o));
        self.optimistic = match keep {
            Some(kept) if !self.windows.is_multiple_of(OPTIMISTIC_EVERY) => Some(kept),
            _ if self.optimistic_on => self.next_optimistic(interested),
            _ => None,
        };
        self.sent.clear();
        let after = self.unchoked();
        let optimistic = self.optimistic;
        let changed = |p: &&Rank| !before.contains(p) || (optimistic_before == Some(**p)) != (optimistic == Some(**p));
        Change {
            choked: before.iter().copied().filter(|p| !after.contains(p)).collect(),
            unchoked: after.iter().filter(changed).map(|&p| (p, optimistic == Some(p))).collect(),
        }
    }

    /// The interested peer after the last optimistic unchoke, in rank order, that is not
    /// unchoked for what it gave.
    fn next_optimistic(&mut self, interested: &[Rank]) -> Option<Rank> {
        let mut candidates: Vec<Rank> = interested.iter().copied().filter(|p| !self.unchoked.contains(p)).collect();
        candidates.sort_unstable();
        let after = |p: &&Rank| self.last_optimistic.is_none_or(|last| **p > last);
        let next = candidates.iter().find(after).or(candidates.first()).copied();
        if next.is_some() {
            self.last_optimistic = next;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn ranks(ranks: &[u32]) -> Vec<Rank> {
        ranks.iter().map(|&r| Rank(r)).collect()
    }

    /// What each peer of `given` (rank, chunks) gave in the window, and ever as much.
    fn gave(given: &[(u32, u64)]) -> impl Fn(Rank) -> Gave + '_ {
        |p| given.iter().find(|&&(r, _)| r == p.0).map_or(Gave::default(), |&(_, g)| Gave { window: g, ever: g })
    }

    #[test]
    fn among_equal_givers_in_the_window_those_that_gave_before_go_first() {
        let mut choker = Choker::tit_for_tat(2, 0);
        // Nobody gave in the window; rank 3 gave before, rank 4 never did (a free rider).
        let ever = |p: Rank| Gave { window: 0, ever: [(2, 5), (3, 1)].iter().find(|&&(r, _)| r == p.0).map_or(0, |&(_, g)| g) };
        choker.rechoke(&ranks(&[2, 3, 4]), ever, false);
        assert_eq!(choker.unchoked, ranks(&[2, 3]));
    }

    #[test]
    fn free_positions_go_at_once_then_the_best_givers_keep_theirs() {
        let mut choker = Choker::tit_for_tat(2, 0);
        assert_eq!(choker.admit(Rank(5)), Some(false));
        assert_eq!(choker.admit(Rank(6)), Some(false));
        assert_eq!(choker.admit(Rank(7)), Some(true), "the optimistic unchoke");
        assert_eq!(choker.admit(Rank(8)), None, "every position is taken");
        assert_eq!(choker.admit(Rank(5)), None, "unchoked already");
        let change = choker.rechoke(&ranks(&[5, 6, 7, 8]), gave(&[(8, 9), (6, 4), (5, 1)]), false);
        assert_eq!(choker.unchoked, ranks(&[8, 6]));
        assert_eq!(choker.optimistic, Some(Rank(7)), "kept between its moves");
        assert_eq!(change, Change { choked: ranks(&[5]), unchoked: vec![(Rank(8), false)] });
        // Rank 7, the optimistic unchoke, gives most now and earns a regular place; rank 8 gave
        // nothing and becomes the optimistic unchoke, the next in rank order. Both stay unchoked,
        // and the change says what each is now.
        let change = choker.rechoke(&ranks(&[5, 6, 7, 8]), gave(&[(7, 9), (6, 4)]), false);
        assert_eq!((choker.unchoked.clone(), choker.optimistic), (ranks(&[7, 6]), Some(Rank(8))));
        assert_eq!(change, Change { choked: vec![], unchoked: vec![(Rank(7), false), (Rank(8), true)] });
    }

    #[test]
    fn a_seed_unchokes_those_it_sent_most() {
        let mut choker = Choker::tit_for_tat(1, 0);
        (0..3).for_each(|_| choker.sent(Rank(4)));
        choker.sent(Rank(3));
        choker.rechoke(&ranks(&[2, 3, 4]), |_| Gave::default(), true);
        assert_eq!(choker.unchoked, ranks(&[4]));
    }

    #[test]
    fn a_free_rider_unchokes_nobody() {
        let mut choker = Choker::free_rider();
        assert_eq!(choker.admit(Rank(2)), None);
        let change = choker.rechoke(&ranks(&[2, 3]), |_| Gave { window: 5, ever: 5 }, false);
        assert!(choker.unchoked().is_empty() && change == Change::default());
    }

    proptest! {
        /// Over any run of windows: never more than the regular unchokes and one optimistic;
        /// only interested peers are unchoked at a window's end; the regular ones gave at least
        /// as much as any interested peer left out; the optimistic one moves only every few
        /// windows (or when it stops asking or earns a regular place); and the changes said are
        /// exactly the difference between the sets.
        #[test]
        fn the_rules_hold_over_any_windows(
            regular in 1usize..5,
            before in prop::collection::vec(0u64..4, 12),
            windows in prop::collection::vec(
                (prop::collection::btree_set(1u32..12, 0..10), prop::collection::vec(0u64..6, 12), any::<bool>(), prop::collection::vec(1u32..12, 0..4)),
                1..30,
            ),
        ) {
            let mut choker = Choker::tit_for_tat(regular, 7);
            for (window, (interested, gave, seeding, asking)) in windows.into_iter().enumerate() {
                for peer in ranks(&asking) {
                    let before = choker.unchoked();
                    if let Some(optimistic) = choker.admit(peer) {
                        prop_assert!(!before.contains(&peer));
                        prop_assert_eq!(optimistic, choker.optimistic == Some(peer));
                    }
                    prop_assert!(choker.unchoked().len() <= regular + 1);
                }
                let interested: Vec<Rank> = interested.into_iter().map(Rank).collect();
                let gave_of = |p: Rank| Gave { window: gave[p.0 as usize], ever: gave[p.0 as usize] + before[p.0 as usize] };
                let (before, optimistic_before) = (choker.unchoked(), choker.optimistic);
                let change = choker.rechoke(&interested, gave_of, seeding);
                for &(p, optimistic) in &change.unchoked {
                    prop_assert_eq!(optimistic, choker.optimistic == Some(p));
                    prop_assert!(!before.contains(&p) || (optimistic_before == Some(p)) != optimistic, "{} unchoked again unchanged", p);
                }
                let after = choker.unchoked();
                prop_assert!(after.len() <= regular + 1);
                prop_assert!(after.iter().all(|p| interested.contains(p)));
                if !seeding {
                    // In the window first, then ever.
                    let key = |p: Rank| (gave_of(p).window, gave_of(p).ever);
                    let least = choker.unchoked.iter().map(|&p| key(p)).min();
                    for p in interested.iter().filter(|p| !choker.unchoked.contains(p)) {
                        prop_assert!(least.is_some_and(|least| key(*p) <= least), "{p} gave more than a regular unchoke");
                    }
                }
                prop_assert_eq!(choker.unchoked.len(), regular.min(interested.len()));
                let stayed = optimistic_before.is_some_and(|o| interested.contains(&o) && !choker.unchoked.contains(&o));
                if choker.optimistic != optimistic_before {
                    let due = (window as u32 + 1).is_multiple_of(OPTIMISTIC_EVERY);
                    prop_assert!(due || !stayed, "the optimistic unchoke moved between its turns");
                }
                let (b, a): (BTreeSet<Rank>, BTreeSet<Rank>) = (before.into_iter().collect(), after.into_iter().collect());
                prop_assert_eq!(change.choked.iter().copied().collect::<BTreeSet<_>>(), &b - &a);
                let kind_changed: BTreeSet<Rank> = a.intersection(&b).copied().filter(|&p| (optimistic_before == Some(p)) != (choker.optimistic == Some(p))).collect();
                prop_assert_eq!(change.unchoked.iter().map(|&(p, _)| p).collect::<BTreeSet<_>>(), &(&a - &b) | &kind_changed);
            }
        }

        /// A peer that stays interested, and that no one else outgives, is unchoked
        /// optimistically within one move per other interested peer.
        #[test]
        fn the_optimistic_unchoke_reaches_every_interested_peer(peers in 3u32..20, regular in 1usize..4, waiting in 1u32..20) {
            let waiting = Rank(waiting.min(peers));
            let interested: Vec<Rank> = (1..=peers).map(Rank).collect();
            let mut choker = Choker::tit_for_tat(regular, 3);
            // Everyone but `waiting` gives one chunk a window; it gives nothing.
            let gave = |p: Rank| Gave { window: u64::from(p != waiting), ever: u64::from(p != waiting) };
            let turns = (peers as usize + 1) * OPTIMISTIC_EVERY as usize;
            let reached = (0..turns).any(|_| {
                choker.rechoke(&interested, gave, false);
                choker.unchokes(waiting)
            });
            prop_assert!(reached || peers as usize <= regular, "rank {waiting} never unchoked");
        }
    }
}
