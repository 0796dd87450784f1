//! Interests parked at a peer: requests for "any chunk I lack" from peers to which it has nothing
//! to offer yet. Each is answered, with the peer's holding and no chunk, as soon as the peer holds
//! something the requester lacks, so a new holder is asked at once, without anyone polling. The
//! answer carries no chunk, so it costs no upload slot; the requester then asks for a chunk by name.

use crate::ids::{FileId, Rank};
use crate::message::Message;
use crate::peer::store::ChunkStore;
use crate::run::RunError;
use crate::transport::Transport;
use fixedbitset::FixedBitSet;
use std::collections::HashSet;
use std::sync::Mutex;

/// The peers that asked this one for chunks of each file, for its download thread: a peer that
/// joined a swarm after this one got the swarm from the tracker is known this way before the
/// tracker's next answer.
#[derive(Default)]
pub struct Requesters {
    met: Mutex<Met>,
}

#[derive(Default)]
struct Met {
    /// Every (file, requester) seen.
    seen: HashSet<(FileId, Rank)>,
    /// Those the download thread has not taken yet.
    new: Vec<(FileId, Rank)>,
}

impl Requesters {
    pub fn met(&self, file: FileId, from: Rank) {
        let mut met = self.met.lock().expect("requesters");
        if met.seen.insert((file, from)) {
            met.new.push((file, from));
        }
    }

    /// The requesters of `file` first seen since the last call.
    pub fn take(&self, file: FileId) -> Vec<Rank> {
        let mut met = self.met.lock().expect("requesters");
        let (taken, rest): (Vec<_>, Vec<_>) = met.new.drain(..).partition(|&(f, _)| f == file);
        met.new = rest;
        taken.into_iter().map(|(_, rank)| rank).collect()
    }
}

struct Parked {
    from: Rank,
    file: FileId,
    /// What the requester held when it asked.
    held: FixedBitSet,
}

/// Shared by a peer's upload thread, which parks interests, and its download thread, which
/// answers them when a new chunk arrives.
#[derive(Default)]
pub struct Interests {
    parked: Mutex<Vec<Parked>>,
}

impl Interests {
    /// Answers `from`'s interest in `file` now if this peer holds a chunk it lacks, else parks it.
    pub fn offer<T: Transport>(
        &self,
        transport: &T,
        store: &ChunkStore,
        from: Rank,
        file: FileId,
        held: FixedBitSet,
    ) -> Result<(), RunError> {
        // Checking the store under the lock: a chunk accepted meanwhile either shows here or
        // finds the interest parked in `gained`.
        let mut parked = self.parked.lock().expect("interests");
        if !store.offers(file, &held) {
            parked.push(Parked { from, file, held });
            return Ok(());
        }
        drop(parked);
        answer(transport, store, from, file)
    }

    /// After this peer gained a chunk of `file`: answers the interests it can serve now.
    pub fn gained<T: Transport>(&self, transport: &T, store: &ChunkStore, file: FileId) -> Result<(), RunError> {
        self.answer_where(transport, store, file, |p| store.offers(file, &p.held))
    }

    /// `from` needs nothing more of `file`: answers its parked interests in it now.
    pub fn withdraw<T: Transport>(&self, transport: &T, store: &ChunkStore, from: Rank, file: FileId) -> Result<(), RunError> {
        self.answer_where(transport, store, file, |p| p.from == from)
    }

    fn answer_where<T: Transport>(
        &self,
        transport: &T,
        store: &ChunkStore,
        file: FileId,
        ready: impl Fn(&Parked) -> bool,
    ) -> Result<(), RunError> {
        let answered: Vec<Rank> = {
            let mut parked = self.parked.lock().expect("interests");
            let (ready, rest): (Vec<Parked>, Vec<Parked>) = parked.drain(..).partition(|p| p.file == file && ready(p));
            *parked = rest;
            ready.into_iter().map(|p| p.from).collect()
        };
        answered.into_iter().try_for_each(|to| answer(transport, store, to, file))
    }

    #[cfg(test)]
    fn parked(&self) -> Vec<(Rank, FileId)> {
        self.parked.lock().unwrap().iter().map(|p| (p.from, p.file)).collect()
    }
}

fn answer<T: Transport>(transport: &T, store: &ChunkStore, to: Rank, file: FileId) -> Result<(), RunError> {
    let holding = store.holding(file);
    transport.send(to, &Message::ChunkReply { file, asked: None, sent: None, holding })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::ChunkHash;
    use crate::ids::ChunkIdx;
    use crate::message::{Endpoint, Holding};
    use crate::transport::local::local_network;
    use std::time::Duration;

    #[test]
    fn requesters_are_taken_once_per_file() {
        let requesters = Requesters::default();
        requesters.met(FileId(0), Rank(2));
        requesters.met(FileId(1), Rank(3));
        requesters.met(FileId(0), Rank(2));
        requesters.met(FileId(0), Rank(4));
        assert_eq!(requesters.take(FileId(0)), [Rank(2), Rank(4)]);
        assert!(requesters.take(FileId(0)).is_empty());
        requesters.met(FileId(0), Rank(2));
        assert!(requesters.take(FileId(0)).is_empty(), "met before");
        assert_eq!(requesters.take(FileId(1)), [Rank(3)]);
    }

    #[test]
    fn an_interest_waits_for_a_useful_chunk_and_a_withdrawal_answers_it_at_once() {
        let [_, me, a, b]: [_; 4] = local_network(4).try_into().ok().unwrap();
        let store = ChunkStore::new(1, []);
        let hashes: Vec<ChunkHash> = (0..3).map(ChunkHash::from_u128).collect();
        store.begin(FileId(0), hashes.clone());
        let interests = Interests::default();
        let held = |chunks: &[usize]| {
            let mut bits = FixedBitSet::with_capacity(3);
            chunks.iter().for_each(|&c| bits.insert(c));
            bits
        };
        interests.offer(&me, &store, Rank(2), FileId(0), held(&[0])).unwrap();
        interests.offer(&me, &store, Rank(3), FileId(0), held(&[])).unwrap();
        assert_eq!(interests.parked(), [(Rank(2), FileId(0)), (Rank(3), FileId(0))], "nothing to offer yet");

        // Chunk 0 is useful to rank 3 only.
        store.accept(FileId(0), ChunkIdx(0), hashes[0], || ()).unwrap();
        interests.gained(&me, &store, FileId(0)).unwrap();
        let reply = b.recv(Endpoint::Download, Some(Duration::from_secs(5))).unwrap().unwrap();
        let Message::ChunkReply { asked: None, sent: None, holding: Holding::Some(bits), .. } = reply.msg else {
            panic!("{reply:?}")
        };
        assert_eq!(bits, held(&[0]));
        assert_eq!(interests.parked(), [(Rank(2), FileId(0))]);
        assert!(a.recv(Endpoint::Download, Some(Duration::from_millis(50))).unwrap().is_none());

        interests.withdraw(&me, &store, Rank(2), FileId(0)).unwrap();
        assert!(a.recv(Endpoint::Download, Some(Duration::from_secs(5))).unwrap().is_some());
        assert!(interests.parked().is_empty());

        // A peer that holds something the requester lacks answers at once.
        interests.offer(&me, &store, Rank(3), FileId(0), held(&[1])).unwrap();
        assert!(b.recv(Endpoint::Download, Some(Duration::from_secs(5))).unwrap().is_some());
        assert!(interests.parked().is_empty());
    }
}
