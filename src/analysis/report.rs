//! The run's summary: written as JSON with `--report`, and as one line on rank 0's terminal.

use crate::analysis::efficiency::Efficiency;
use crate::analysis::model::SwarmModel;
use crate::protocol::ids::{FileId, Rank};
use crate::scenario::capacity::Capacity;
use crate::scenario::settings::Settings;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// How the run was set up: chunk time, update interval, upload slots, strategy.
    pub options: Settings,
    /// Every peer's upload slots and download limit (rank 1 first).
    pub capacities: Vec<Capacity>,
    /// MPI ranks, the tracker included.
    pub ranks: u32,
    pub files: u32,
    pub chunks_delivered: u64,
    /// From the tracker's start to the moment every peer was done.
    pub wall_time_s: f64,
    /// The run against the best any schedule could do, and how it spread the work.
    pub efficiency: Efficiency,
    pub tracker: TrackerReport,
    pub peers: Vec<PeerReport>,
    /// How the ranks waited for messages from MPI; only a run under MPI knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<Waiting>,
}

/// How a rank's threads wait for messages from MPI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Waiting {
    /// They sleep until a send rings their bell: every rank is on one host.
    Bells,
    /// They look on a timer: the job spans hosts, or bells were turned off.
    Polling,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackerReport {
    pub messages_received: u64,
    pub messages_sent: u64,
    pub file_requests: u64,
    pub updates: u64,
    /// Reports of sources that sent a wrong hash.
    #[serde(default)]
    pub bad_sources: u64,
    /// Tracker messages, both ways, per chunk delivered.
    pub messages_per_chunk: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeerReport {
    pub rank: u32,
    pub owned: Vec<String>,
    pub wanted: Vec<String>,
    pub completed: Vec<String>,
    pub chunks_downloaded: u64,
    /// Source rank to chunks received from it.
    pub downloaded_from: BTreeMap<u32, u64>,
    pub uploads_served: u64,
    /// Chunk requests sent, NACKed ones included.
    pub requests_sent: u64,
    /// Interests sent: requests naming no chunk, each answered once.
    #[serde(default)]
    pub interests_sent: u64,
    /// Interests withdrawn before their answer.
    #[serde(default)]
    pub withdrawals_sent: u64,
    pub nacks_received: u64,
    pub bad_hashes: u64,
    /// End-game copies of chunks it already held.
    pub duplicates: u64,
    /// Requests that got no answer in time, or were given up when their uploader left.
    #[serde(default)]
    pub timeouts: u64,
    /// Wanted files it gave up on: some chunk had no holder left.
    #[serde(default)]
    pub abandoned: Vec<String>,
    /// It left the run (`--leave`).
    #[serde(default)]
    pub left: bool,
    /// When it had everything it wanted, in seconds from the start (none if it left).
    #[serde(default)]
    pub done_s: Option<f64>,
    /// It downloads but never uploads (`--freeride`).
    #[serde(default)]
    pub free_rider: bool,
    /// Peers it unchoked and choked (tit-for-tat), and its requests refused by uploaders that
    /// choked it.
    #[serde(default)]
    pub unchokes: u64,
    #[serde(default)]
    pub chokes: u64,
    #[serde(default)]
    pub refused: u64,
}

impl Report {
    pub fn files_completed(&self) -> usize {
        self.peers.iter().map(|p| p.completed.len()).sum()
    }

    /// Whether a peer that stayed gave up on a file: the run did not deliver what was asked.
    pub fn incomplete(&self) -> bool {
        self.peers.iter().any(|p| !p.left && !p.abandoned.is_empty())
    }

    /// The mean time the free riders and the other peers took to have everything they wanted,
    /// in seconds, if the run has free riders (peers that left or gave up left out).
    pub fn finish_times(&self) -> Option<(f64, f64)> {
        let mean = |riders: bool| {
            let times: Vec<f64> =
                self.peers.iter().filter(|p| p.free_rider == riders && p.abandoned.is_empty()).filter_map(|p| p.done_s).collect();
            (!times.is_empty()).then(|| times.iter().sum::<f64>() / times.len() as f64)
        };
        Some((mean(true)?, mean(false)?))
    }

    /// Peer-to-peer messages per chunk delivered: requests and interests, each with its answer,
    /// and withdrawals. With faults it counts high: a member that left answers no interest.
    pub fn peer_messages_per_chunk(&self) -> f64 {
        let messages: u64 = self.peers.iter().map(|p| 2 * (p.requests_sent + p.interests_sent) + p.withdrawals_sent).sum();
        if self.chunks_delivered == 0 {
            0.0
        } else {
            messages as f64 / self.chunks_delivered as f64
        }
    }

    /// The one line rank 0 prints after a successful run; with a chunk time, also the makespan
    /// against its lower bound.
    pub fn summary(&self) -> String {
        let rounds = match (self.efficiency.makespan_rounds, self.efficiency.makespan_ratio) {
            (Some(rounds), Some(ratio)) => {
                format!("; {rounds:.0} rounds, {ratio:.2}x the lower bound of {}", self.efficiency.lower_bound_rounds)
            }
            _ => String::new(),
        };
        let left = self.peers.iter().filter(|p| p.left).count();
        let abandoned: usize = self.peers.iter().map(|p| p.abandoned.len()).sum();
        let faults = match (left, abandoned) {
            (0, 0) => String::new(),
            _ => {
                format!("; {left} peers left, {abandoned} files given up{}", if self.incomplete() { " (incomplete)" } else { "" })
            }
        };
        self.basic_summary() + &rounds + &faults
    }

    /// The report as text: the summary, the efficiency figures, and a row per peer.
    pub fn text(&self) -> String {
        let e = &self.efficiency;
        let figure = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.2}"));
        let mut text = format!("{}\n\n", self.summary());
        text += &format!(
            "lower bound {} rounds · makespan {} rounds · ratio {} · fairness {} (max/mean {}) · requests/chunk {:.2} · duplicates {}\n\n",
            e.lower_bound_rounds,
            e.makespan_rounds.map_or("-".to_string(), |r| format!("{r:.0}")),
            figure(e.makespan_ratio),
            figure(e.fairness),
            figure(e.upload_max_over_mean),
            e.requests_per_chunk,
            e.duplicates,
        );
        let (unchokes, chokes, refused) =
            self.peers.iter().fold((0, 0, 0), |(u, c, r), p| (u + p.unchokes, c + p.chokes, r + p.refused));
        if unchokes + refused > 0 {
            text += &format!("choking: {unchokes} unchokes, {chokes} chokes, {refused} requests refused");
            if let Some((riders, others)) = self.finish_times() {
                text += &format!(" · free riders done after {riders:.2} s on average, the others after {others:.2} s");
            }
            text += "\n\n";
        }
        text += "peer  files  downloaded  sources  uploads  requests  interests  NACKs  bad  timeouts  duplicates\n";
        for p in &self.peers {
            text += &format!(
                "{:<4}  {:>2}/{:<2}  {:>10}  {:>7}  {:>7}  {:>8}  {:>9}  {:>5}  {:>3}  {:>8}  {:>10}{}\n",
                p.rank,
                p.completed.len(),
                p.wanted.len(),
                p.chunks_downloaded,
                p.downloaded_from.len(),
                p.uploads_served,
                p.requests_sent,
                p.interests_sent,
                p.nacks_received,
                p.bad_hashes,
                p.timeouts,
                p.duplicates,
                if p.left {
                    "  left"
                } else if !p.abandoned.is_empty() {
                    "  gave up"
                } else if p.free_rider {
                    "  free rider"
                } else {
                    ""
                },
            );
        }
        text
    }

    fn basic_summary(&self) -> String {
        format!(
            "mpitorrent: {} peers, {} files completed, {} chunks in {:.2} s ({:.0} chunks/s); \
             messages per chunk: {:.2} between peers, {:.2} with the tracker",
            self.peers.len(),
            self.files_completed(),
            self.chunks_delivered,
            self.wall_time_s,
            self.chunks_delivered as f64 / self.wall_time_s.max(1e-9),
            self.peer_messages_per_chunk(),
            self.tracker.messages_per_chunk,
        )
    }
}

impl SwarmModel {
    /// The run's figures, as `--report` writes them.
    pub fn report(&self) -> Report {
        let names = |ids: &[FileId]| ids.iter().map(|f| self.header.files[f.index()].name.clone()).collect::<Vec<_>>();
        let peers: Vec<PeerReport> = self
            .peers
            .iter()
            .enumerate()
            .map(|(i, p)| PeerReport {
                rank: Rank::from_peer_index(i).0,
                owned: names(&self.header.owned[i]),
                wanted: names(&self.header.wanted[i]),
                completed: names(&p.completed),
                chunks_downloaded: p.downloaded_from.values().sum(),
                downloaded_from: p.downloaded_from.iter().map(|(r, n)| (r.0, *n)).collect(),
                uploads_served: p.uploads,
                requests_sent: p.requests,
                interests_sent: p.interests,
                withdrawals_sent: p.withdrawals,
                nacks_received: p.nacks,
                bad_hashes: p.bad_hashes,
                duplicates: p.duplicates,
                timeouts: p.timeouts,
                abandoned: names(&p.abandoned),
                left: p.left,
                done_s: p.done_at.map(|at| at as f64 / 1e6),
                free_rider: self.header.faults.free_rides(Rank::from_peer_index(i)),
                unchokes: p.unchokes,
                chokes: p.chokes,
                refused: p.refused,
            })
            .collect();
        let chunks = self.chunks_delivered();
        let ranks = u64::from(self.header.peers);
        // Registrations and the tracker's requests in; starts, answers and stops out.
        let received = ranks + self.tracker.requests();
        let sent = ranks + self.tracker.replies + if self.finished.is_some() { ranks } else { 0 };
        Report {
            options: self.header.options.clone(),
            capacities: (0..self.header.peers as usize).map(|p| self.header.capacity(p)).collect(),
            ranks: self.header.peers + 1,
            files: self.header.files.len() as u32,
            chunks_delivered: chunks,
            wall_time_s: self.finished.unwrap_or(self.now) as f64 / 1e6,
            efficiency: crate::analysis::efficiency::efficiency(self),
            tracker: TrackerReport {
                messages_received: received,
                messages_sent: sent,
                file_requests: self.tracker.file_requests,
                updates: self.tracker.updates,
                bad_sources: self.tracker.bad_sources,
                messages_per_chunk: if chunks == 0 { 0.0 } else { (received + sent) as f64 / chunks as f64 },
            },
            peers,
            waiting: None,
        }
    }
}
