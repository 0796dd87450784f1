//! Hand-made models for drawing the dashboard in tests and benchmarks.

use mpitorrent::analysis::model::SwarmModel;
use mpitorrent::protocol::events::{Event, Member, Request, Role, Stamped};
use mpitorrent::protocol::ids::{ChunkIdx, FileId, Rank};
use mpitorrent::scenario::header::{FileSpec, RunHeader};
use mpitorrent::scenario::settings::Settings;

/// Six peers, three files: peer 1 seeds a and b, peer 2 seeds c; the others want some of them.
pub fn header() -> RunHeader {
    RunHeader {
        peers: 6,
        files: vec![
            FileSpec { name: "alpha".into(), chunks: 40 },
            FileSpec { name: "beta".into(), chunks: 24 },
            FileSpec { name: "gamma".into(), chunks: 60 },
        ],
        owned: vec![vec![FileId(0), FileId(1)], vec![FileId(2)], vec![], vec![], vec![], vec![]],
        wanted: vec![
            vec![FileId(2)],
            vec![],
            vec![FileId(0), FileId(2)],
            vec![FileId(0)],
            vec![FileId(1), FileId(0)],
            vec![FileId(2)],
        ],
        options: Settings { chunk_time_ms: 20, ..Settings::default() },
        capacities: vec![],
        faults: Default::default(),
    }
}

/// A scripted run: every peer fetches its files in order, round-robin over the sources, one
/// chunk every 10 ms; stopped after `steps` transfers (all of them: the run finishes).
pub fn scripted(steps: usize) -> SwarmModel {
    let header = header();
    let mut model = SwarmModel::new(header.clone());
    let mut at = 0u64;
    let emit = |model: &mut SwarmModel, at: u64, event| model.apply(&Stamped { at, event });
    emit(&mut model, 0, Event::Started);
    // Who holds each file, growing as peers complete.
    let mut holders: Vec<Vec<u32>> = vec![vec![1], vec![1], vec![2]];
    let mut done = 0;
    'run: for round in 0.. {
        let mut progressed = false;
        for (i, wanted) in header.wanted.iter().enumerate() {
            let me = i as u32 + 1;
            let got: Vec<u32> = model.peers[i].got.clone();
            let Some(slot) = got.iter().zip(wanted).position(|(&g, f)| g < header.files[f.index()].chunks) else { continue };
            let file = wanted[slot];
            let chunk = got[slot];
            let sources = &holders[file.index()];
            let from = sources[(round + i) % sources.len()];
            at += 10_000;
            emit(
                &mut model,
                at,
                Event::ChunkRequested { downloader: Rank(me), uploader: Rank(from), file, chunk: ChunkIdx(chunk) },
            );
            emit(&mut model, at, Event::ChunkServed { uploader: Rank(from), downloader: Rank(me), file, chunk: ChunkIdx(chunk) });
            emit(
                &mut model,
                at,
                Event::ChunkReceived { downloader: Rank(me), uploader: Rank(from), file, chunk: ChunkIdx(chunk) },
            );
            progressed = true;
            done += 1;
            if chunk + 1 == header.files[file.index()].chunks {
                holders[file.index()].push(me);
                emit(&mut model, at, Event::FileCompleted { peer: Rank(me), file });
            }
            let members = holders[file.index()]
                .iter()
                .map(|&p| Member { peer: Rank(p), role: Role::Seed, uploads: model.peers[p as usize - 1].uploads })
                .chain(std::iter::once(Member { peer: Rank(me), role: Role::Peer, uploads: model.peers[i].uploads }))
                .collect();
            emit(&mut model, at, Event::SwarmUpdated { file, members });
            emit(&mut model, at, Event::TrackerRequest { peer: Rank(me), request: Request::Update, replies: 1 });
            if done == steps {
                // Stopped mid-run: every peer that still wants chunks has its next one on its way.
                for (i, wanted) in header.wanted.iter().enumerate() {
                    let got = &model.peers[i].got;
                    let Some(slot) = got.iter().zip(wanted).position(|(&g, f)| g < header.files[f.index()].chunks) else {
                        continue;
                    };
                    let (file, chunk) = (wanted[slot], ChunkIdx(got[slot]));
                    let from = Rank(holders[file.index()][0]);
                    emit(&mut model, at, Event::ChunkRequested { downloader: Rank(i as u32 + 1), uploader: from, file, chunk });
                }
                break 'run;
            }
        }
        if !progressed {
            for peer in 1..=6 {
                emit(&mut model, at, Event::PeerDone { peer: Rank(peer) });
            }
            emit(&mut model, at + 1000, Event::Shutdown);
            break;
        }
    }
    model
}

/// 128 peers, one file of 100 chunks seeded by peer 1, everyone else halfway through it.
pub fn crowd() -> SwarmModel {
    crowd_of(100)
}

/// [`crowd`] with a file of `chunks` chunks.
pub fn crowd_of(chunks: u32) -> SwarmModel {
    let peers = 128;
    let header = RunHeader {
        peers,
        files: vec![FileSpec { name: "big".into(), chunks }],
        owned: (0..peers).map(|p| if p == 0 { vec![FileId(0)] } else { vec![] }).collect(),
        wanted: (0..peers).map(|p| if p == 0 { vec![] } else { vec![FileId(0)] }).collect(),
        options: Settings::default(),
        capacities: vec![],
        faults: Default::default(),
    };
    let mut model = SwarmModel::new(header);
    for step in 0..chunks / 2 {
        for down in 2..=peers {
            let up = if step % 2 == 0 { 1 } else { (down + step) % peers + 1 };
            let event =
                Event::ChunkReceived { downloader: Rank(down), uploader: Rank(up), file: FileId(0), chunk: ChunkIdx(step) };
            model.apply(&Stamped { at: u64::from(step) * 20_000, event });
        }
    }
    model
}
