//! Every seed of a peer's random choices, each drawn from the run's `--seed` and the peer's rank
//! here and nowhere else, so that two runs with the same seed make the same choices.

use crate::protocol::ids::{FileId, Rank};

#[derive(Clone, Copy, Debug)]
pub struct Seeds {
    run: u64,
    peer: u64,
}

impl Seeds {
    pub fn new(run: u64, peer: Rank) -> Seeds {
        Seeds { run, peer: u64::from(peer.0) }
    }

    /// The chunk order and the random peer choice of this peer's download of `file`.
    pub fn fetch(self, file: FileId) -> u64 {
        self.run ^ (self.peer << 32) ^ u64::from(file.0)
    }

    /// This peer's order among otherwise equal swarm members (see `SwarmView`).
    pub fn members(self) -> u64 {
        self.run ^ self.peer
    }

    /// Which of this peer's uploads carry a wrong hash (`--corrupt`).
    pub fn corruption(self) -> u64 {
        self.run ^ self.peer
    }

    /// The draw among equal interests for this peer's free upload slots (first-free).
    pub fn slots(self) -> u64 {
        self.run ^ (self.peer << 32)
    }

    /// The draw among equally generous peers when this peer chooses whom to unchoke
    /// (tit-for-tat).
    pub fn choking(self) -> u64 {
        self.run ^ (self.peer << 40)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_are_those_runs_have_always_used() {
        let seeds = Seeds::new(0x1234, Rank(5));
        assert_eq!(seeds.fetch(FileId(3)), 0x0000_0005_0000_1237);
        assert_eq!(seeds.members(), 0x1231);
        assert_eq!(seeds.corruption(), 0x1231);
        assert_eq!(seeds.slots(), 0x0000_0005_0000_1234);
        assert_eq!(seeds.choking(), 0x0000_0500_0000_1234);
    }
}
