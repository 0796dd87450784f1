//! Rank 0's hold-back queue: an event reaches the consumers (the model, the dashboard, the log)
//! only after every event it follows from, so that every prefix of what they get is a state the
//! run could be in: no chunk arrives before its upload, no file is complete and no peer done
//! before their chunks arrived.
//!
//! Each rank's events come in the order it emitted them: the tracker's one by one, a peer's in
//! batches, each batch a little late. An event may follow from another rank's first N events
//! ([`After`]): an arrival from its upload, the tracker's answer to a request from what the
//! requester emitted before it. It waits here until that many of that rank's events went out,
//! and so do the later events of its own rank, whose order is kept.
//!
//! Nothing waits for long: what an event follows from was emitted before it, so it is on its way
//! in a batch that leaves within the forwarder's linger.

use crate::protocol::events::{After, Stamped};
use crate::protocol::ids::Rank;
use std::collections::VecDeque;

pub struct Holdback {
    /// For each rank, how many of its events went out.
    released: Vec<u64>,
    /// For each rank, its events not yet out, in its order.
    held: Vec<VecDeque<(Stamped, Option<After>)>>,
}

impl Holdback {
    pub fn new(ranks: usize) -> Holdback {
        Holdback { released: vec![0; ranks], held: vec![VecDeque::new(); ranks] }
    }

    /// Takes `rank`'s next events, and hands `out` every event whose turn has come.
    pub fn take(
        &mut self,
        rank: Rank,
        events: impl IntoIterator<Item = (Stamped, Option<After>)>,
        out: &mut impl FnMut(Stamped),
    ) {
        self.held[rank.0 as usize].extend(events);
        self.release(out);
    }

    /// How many of `rank`'s events were taken, out or held.
    pub fn taken(&self, rank: Rank) -> u64 {
        self.released[rank.0 as usize] + self.held[rank.0 as usize].len() as u64
    }

    /// How many events are held.
    #[cfg(test)]
    fn holding(&self) -> usize {
        self.held.iter().map(VecDeque::len).sum()
    }

    /// Hands out what is held still, as if what it waits for had come: each rank's events in its
    /// order, rank by rank. Only a rank that failed before it sent all of its events leaves any.
    pub fn flush(&mut self, out: &mut impl FnMut(Stamped)) {
        for (held, released) in self.held.iter_mut().zip(&mut self.released) {
            *released += held.len() as u64;
            held.drain(..).for_each(|(event, _)| out(event));
        }
    }

    /// Hands out, in rounds over the ranks, the first events of each whose wait is over, until a
    /// round hands out nothing.
    fn release(&mut self, out: &mut impl FnMut(Stamped)) {
        loop {
            let mut progress = false;
            for rank in 0..self.held.len() {
                while let Some((_, after)) = self.held[rank].front() {
                    let ready = after.is_none_or(|a| self.released.get(a.rank.0 as usize).is_none_or(|&n| n >= a.events));
                    if !ready {
                        break;
                    }
                    let (event, _) = self.held[rank].pop_front().expect("a first event");
                    self.released[rank] += 1;
                    out(event);
                    progress = true;
                }
            }
            if !progress {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::events::Event;

    fn at(at: u64) -> Stamped {
        Stamped { at, event: Event::Started }
    }

    fn after(rank: u32, events: u64) -> Option<After> {
        Some(After { rank: Rank(rank), events })
    }

    #[test]
    fn an_event_waits_for_what_it_follows_from_and_holds_back_the_rest_of_its_rank() {
        let mut holdback = Holdback::new(3);
        let mut out = Vec::new();
        let mut put = |v: &mut Vec<u64>, rank: u32, events: Vec<(Stamped, Option<After>)>| {
            holdback.take(Rank(rank), events, &mut |e| v.push(e.at));
            holdback.holding()
        };
        // Rank 2 got a chunk after rank 1's first two events; its next event waits behind it.
        assert_eq!(put(&mut out, 2, vec![(at(20), None), (at(21), after(1, 2)), (at(22), None)]), 2);
        // The tracker answers rank 2 after its first three events.
        assert_eq!(put(&mut out, 0, vec![(at(1), after(2, 3))]), 3);
        assert_eq!(out, [20]);
        assert_eq!(put(&mut out, 1, vec![(at(10), None)]), 3, "one of rank 1's two events is not enough");
        assert_eq!(put(&mut out, 1, vec![(at(11), None)]), 0);
        assert_eq!(out, [20, 10, 11, 21, 22, 1]);
    }

    #[test]
    fn flushing_hands_out_what_waits_for_events_that_never_came() {
        let mut holdback = Holdback::new(3);
        let mut out = Vec::new();
        holdback.take(Rank(1), [(at(5), after(2, 1)), (at(6), None)], &mut |e| out.push(e.at));
        holdback.take(Rank(0), [(at(1), None)], &mut |e| out.push(e.at));
        assert_eq!(out, [1]);
        assert_eq!([0, 1, 2].map(|r| holdback.taken(Rank(r))), [1, 2, 0], "held events count as taken");
        holdback.flush(&mut |e| out.push(e.at));
        assert_eq!((out, holdback.holding()), (vec![1, 5, 6], 0));
        assert_eq!(holdback.taken(Rank(1)), 2, "and still once handed out");
    }
}
