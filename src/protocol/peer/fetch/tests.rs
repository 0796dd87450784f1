//! The download's rules, driven by messages and instants alone: no thread, no sleep, no transport.

use super::*;
use crate::protocol::events::Collected;
use crate::protocol::message::{Holding, Sent, SwarmMember};
use crate::protocol::strategy::PeerChoice;

/// This peer; the others of the run are ranks 1, 3 and 4.
const ME: Rank = Rank(2);
const FILE: FileId = FileId(0);
/// The deadline of a request, with four peers and no chunk time.
const TIMEOUT: Duration = Duration::from_secs(1);

/// Everything a download works with but its messages: a peer of a run of four peers.
struct World {
    settings: Settings,
    capacities: Vec<Capacity>,
    store: ChunkStore,
    events: Collected,
    queue: AtomicU32,
    interests: Interests,
    requesters: Requesters,
    reciprocity: Reciprocity,
    leave_at: Option<Instant>,
}

impl World {
    fn new(settings: Settings) -> World {
        World {
            settings,
            capacities: vec![Capacity::uniform(1); 4],
            store: ChunkStore::new(1, []),
            events: Collected::default(),
            queue: AtomicU32::new(0),
            interests: Interests::default(),
            requesters: Requesters::default(),
            reciprocity: Reciprocity::new(4),
            leave_at: None,
        }
    }

    fn peer(&self) -> Peer<'_> {
        Peer {
            me: ME,
            settings: &self.settings,
            capacities: &self.capacities,
            store: &self.store,
            events: &self.events,
            upload_queue: &self.queue,
            interests: &self.interests,
            requesters: &self.requesters,
            reciprocity: &self.reciprocity,
            leave_at: self.leave_at,
            seeds: Seeds::new(1, ME),
        }
    }

    fn events(&self) -> Vec<Event> {
        self.events.events()
    }
}

fn first_free_settings() -> Settings {
    let mut settings = Settings { chunk_time_ms: 10, ..Settings::default() };
    settings.strategy.peers = PeerChoice::FirstFree;
    settings
}

fn hash(chunk: u32) -> ChunkHash {
    ChunkHash::from_u128(u128::from(chunk) + 100)
}

fn holds(chunks: &[usize]) -> Holding {
    let mut bits = FixedBitSet::with_capacity(4);
    chunks.iter().for_each(|&c| bits.insert(c));
    Holding::Some(bits)
}

fn member(rank: u32, uploads: u64, holding: Holding) -> SwarmMember {
    SwarmMember { rank: Rank(rank), uploads, queue: 0, holding, suspect: false }
}

/// A swarm of this peer (holding nothing) and `others`.
fn swarm(others: &[SwarmMember]) -> Swarm {
    std::iter::once(member(ME.0, 0, holds(&[]))).chain(others.iter().cloned()).collect()
}

/// Starts the download of a file of `chunks` chunks, the tracker answering at `now` with `swarm`.
fn begin(fetch: &mut Fetch, chunks: u32, swarm: Swarm, now: Instant) -> Vec<Step> {
    assert_eq!(
        fetch.start(),
        [Step::Send { to: Rank::TRACKER, msg: Message::FileRequest { file: FILE, emitted: 0 } }, Step::WaitUntil(None)]
    );
    begin_after_start(fetch, chunks, swarm, now)
}

/// The tracker's answer to the file request: `chunks` chunks, `swarm`, at `now`.
fn begin_after_start(fetch: &mut Fetch, chunks: u32, swarm: Swarm, now: Instant) -> Vec<Step> {
    let hashes = (0..chunks).map(hash).collect();
    fetch.on_message(Rank::TRACKER, Message::FileInfo { file: FILE, hashes, swarm }, now).unwrap()
}

fn swarm_reply(swarm: Swarm, left: &[u32]) -> Message {
    Message::SwarmReply { file: FILE, swarm, left: left.iter().map(|&r| Rank(r)).collect() }
}

/// An uploader's answer to the request for `chunk`: the chunk, or a NACK.
fn reply(chunk: u32, served: bool) -> Message {
    let sent = served.then(|| Sent { chunk: ChunkIdx(chunk), hash: hash(chunk), emitted: 0 });
    Message::ChunkReply { file: FILE, asked: Some(ChunkIdx(chunk)), sent, holding: Holding::All, choked: false }
}

/// An answer to an interest (or to its withdrawal), from a member holding `holding`.
fn interest_answer(holding: Holding) -> Message {
    Message::ChunkReply { file: FILE, asked: None, sent: None, holding, choked: false }
}

/// The chunk requests among `steps`: to whom, and for which chunk (`None`: an interest).
fn requests(steps: &[Step]) -> Vec<(u32, Option<u32>)> {
    let request = |step: &Step| match step {
        Step::Send { to, msg: Message::ChunkRequest { chunk, .. } } => Some((to.0, chunk.map(|c| c.0))),
        _ => None,
    };
    steps.iter().filter_map(request).collect()
}

/// Whom `steps` send an interest, in order.
fn interests(steps: &[Step]) -> Vec<u32> {
    requests(steps).into_iter().filter(|(_, chunk)| chunk.is_none()).map(|(to, _)| to).collect()
}

/// Whom `steps` send a withdrawal.
fn withdrawals(steps: &[Step]) -> Vec<u32> {
    let withdrawal = |step: &Step| match step {
        Step::Send { to, msg: Message::Withdraw { .. } } => Some(to.0),
        _ => None,
    };
    steps.iter().filter_map(withdrawal).collect()
}

fn updates(steps: &[Step]) -> usize {
    steps.iter().filter(|s| matches!(s, Step::Send { to: Rank::TRACKER, msg: Message::Update { .. } })).count()
}

/// The deadline `steps` end with; they must end waiting.
fn until(steps: &[Step]) -> Option<Instant> {
    match steps.last() {
        Some(Step::WaitUntil(at)) => *at,
        other => panic!("expected a wait, got {other:?} in {steps:?}"),
    }
}

/// Whether `steps` complete the file: its output written, the tracker told, done.
fn completes(steps: &[Step]) -> bool {
    let wrote = steps.iter().any(|s| matches!(s, Step::Write { .. }));
    let told = steps.iter().any(|s| matches!(s, Step::Send { to: Rank::TRACKER, msg: Message::FileComplete { .. } }));
    wrote && told && steps.last() == Some(&Step::Done(Fetched::Complete))
}

/// A swarm in which no member but this peer holds anything: only rank 3, holding nothing.
fn nobody() -> Swarm {
    swarm(&[member(3, 0, holds(&[]))])
}

/// Runs `test` on this peer's download of the file, in `world`.
fn fetching(world: World, test: impl FnOnce(&World, &mut Fetch)) {
    let peer = world.peer();
    let mut memory = Memory::default();
    test(&world, &mut Fetch::new(&peer, &mut memory, FILE));
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn the_backoff_doubles_from_1_ms_to_50_ms_while_no_chunk_has_a_holder_and_resets_when_one_arrives() {
    fetching(World::new(Settings::default()), |_, fetch| {
        let t0 = Instant::now();
        let nobody = nobody();
        let steps = begin(fetch, 2, nobody.clone(), t0);
        assert_eq!(requests(&steps), [(3, None)], "an interest at the member holding nothing");
        assert_eq!((updates(&steps), until(&steps)), (1, None), "the first ask goes at once, then the swarm is awaited");

        let mut now = t0;
        let mut pauses = Vec::new();
        for _ in 0..9 {
            let steps = fetch.on_message(Rank::TRACKER, swarm_reply(nobody.clone(), &[]), now).unwrap();
            assert_eq!(updates(&steps), 0, "the next ask waits out the backoff");
            let end = until(&steps).expect("the backoff's end");
            pauses.push(end - now);
            now = end;
            let steps = fetch.on_time(now).unwrap();
            assert_eq!((updates(&steps), until(&steps)), (1, None), "asked when the backoff ends");
        }
        assert_eq!(pauses, [1, 2, 4, 8, 16, 32, 50, 50, 50].map(ms));

        // A seed joins: both chunks are asked of it, chunk 0 arrives, chunk 1 is NACKed.
        let seeded = swarm(&[member(1, 0, Holding::All), member(3, 0, holds(&[]))]);
        let steps = fetch.on_message(Rank::TRACKER, swarm_reply(seeded, &[]), now).unwrap();
        assert_eq!(requests(&steps), [(1, Some(0)), (1, Some(1))]);
        fetch.on_message(Rank(1), reply(0, true), now).unwrap();
        let steps = fetch.on_message(Rank(1), reply(1, false), now).unwrap();
        assert_eq!(updates(&steps), 1, "a chunk arrived since the last ask: the next goes at once");
        let steps = fetch.on_message(Rank::TRACKER, swarm_reply(nobody, &[]), now).unwrap();
        assert_eq!(until(&steps), Some(now + ms(1)), "and the backoff starts again from 1 ms");
    });
}

#[test]
fn messages_that_come_during_a_backoff_are_taken_and_the_ask_still_goes_when_it_ends() {
    fetching(World::new(Settings::default()), |_, fetch| {
        let t0 = Instant::now();
        let nobody = nobody();
        begin(fetch, 2, nobody.clone(), t0);
        let steps = fetch.on_message(Rank::TRACKER, swarm_reply(nobody, &[]), t0).unwrap();
        assert_eq!(until(&steps), Some(t0 + ms(1)));

        // Rank 3 answers the interest: it holds chunk 0 now, which is asked for at once.
        let steps = fetch.on_message(Rank(3), interest_answer(holds(&[0])), t0).unwrap();
        assert_eq!((requests(&steps), updates(&steps)), (vec![(3, Some(0))], 0));
        assert_eq!(until(&steps), Some(t0 + ms(1)), "the backoff's end comes before the request's deadline");
        assert_eq!(updates(&fetch.on_time(t0 + ms(1)).unwrap()), 1, "the ask decided before goes when the backoff ends");
    });
}

#[test]
fn after_so_many_fruitless_updates_the_file_is_given_up_once_the_withdrawals_are_answered() {
    fetching(World::new(Settings::default()), |world, fetch| {
        let t0 = Instant::now();
        let nobody = nobody();
        let mut asks = updates(&begin(fetch, 2, nobody.clone(), t0));
        let mut now = t0;
        let given_up = loop {
            let steps = fetch.on_message(Rank::TRACKER, swarm_reply(nobody.clone(), &[]), now).unwrap();
            if steps.iter().any(|s| matches!(s, Step::GiveUp { .. })) {
                break steps;
            }
            assert!(world.events().iter().all(|e| !matches!(e, Event::FileAbandoned { .. })));
            now = until(&steps).expect("the backoff's end");
            asks += updates(&fetch.on_time(now).unwrap());
        };
        assert_eq!(asks as u32, FRUITLESS_UPDATES);
        assert!(given_up.contains(&Step::GiveUp { chunk: ChunkIdx(0), asks: FRUITLESS_UPDATES }));
        assert!(world.events().contains(&Event::FileAbandoned { peer: ME, file: FILE }));
        assert_eq!((withdrawals(&given_up), updates(&given_up)), (vec![3], 0), "the interest is withdrawn");
        assert_eq!(until(&given_up), Some(now + TIMEOUT), "its answer is awaited until its deadline");

        let steps = fetch.on_message(Rank(3), interest_answer(holds(&[])), now).unwrap();
        assert_eq!(steps, [Step::Done(Fetched::Abandoned)], "nothing is written, nothing reported");
    });
}

#[test]
fn a_request_past_its_deadline_goes_to_another_holder_and_the_late_answer_is_dropped() {
    fetching(World::new(Settings::default()), |world, fetch| {
        let t0 = Instant::now();
        let steps = begin(fetch, 1, swarm(&[member(1, 0, Holding::All), member(3, 5, Holding::All)]), t0);
        assert_eq!((requests(&steps), until(&steps)), (vec![(1, Some(0))], Some(t0 + TIMEOUT)), "the least busy first");
        assert_eq!(fetch.on_time(t0 + TIMEOUT - ms(1)).unwrap(), [Step::WaitUntil(Some(t0 + TIMEOUT))], "not yet due");

        let steps = fetch.on_time(t0 + TIMEOUT).unwrap();
        assert_eq!((requests(&steps), until(&steps)), (vec![(3, Some(0))], Some(t0 + TIMEOUT * 2)));
        assert!(world.events().contains(&Event::ChunkTimedOut {
            downloader: ME,
            uploader: Rank(1),
            file: FILE,
            chunk: ChunkIdx(0)
        }));

        let late = fetch.on_message(Rank(1), reply(0, true), t0 + TIMEOUT + ms(5)).unwrap();
        assert_eq!(late, [Step::WaitUntil(Some(t0 + TIMEOUT * 2))], "the late answer is dropped, silently");
        assert!(completes(&fetch.on_message(Rank(3), reply(0, true), t0 + TIMEOUT + ms(9)).unwrap()));
        let received: Vec<Rank> = world
            .events()
            .iter()
            .filter_map(|e| if let Event::ChunkReceived { uploader, .. } = e { Some(*uploader) } else { None })
            .collect();
        assert_eq!(received, [Rank(3)]);
    });
}

#[test]
fn requests_at_a_member_the_tracker_says_left_go_elsewhere_at_once() {
    fetching(World::new(Settings { update_every: 1, ..Settings::default() }), |world, fetch| {
        let t0 = Instant::now();
        let steps = begin(fetch, 2, swarm(&[member(1, 0, Holding::All), member(3, 5, Holding::All)]), t0);
        assert_eq!(requests(&steps), [(1, Some(0)), (3, Some(1))]);
        let steps = fetch.on_message(Rank(1), reply(0, true), t0 + ms(10)).unwrap();
        assert_eq!(updates(&steps), 1, "a report after every chunk");

        let steps =
            fetch.on_message(Rank::TRACKER, swarm_reply(swarm(&[member(1, 1, Holding::All)]), &[3]), t0 + ms(20)).unwrap();
        assert_eq!(requests(&steps), [(1, Some(1))], "long before rank 3's deadline");
        assert_eq!(until(&steps), Some(t0 + ms(20) + TIMEOUT));
        assert!(world.events().contains(&Event::ChunkTimedOut {
            downloader: ME,
            uploader: Rank(3),
            file: FILE,
            chunk: ChunkIdx(1)
        }));
        fetch.on_message(Rank(3), reply(1, true), t0 + ms(25)).unwrap();
        assert!(completes(&fetch.on_message(Rank(1), reply(1, true), t0 + ms(30)).unwrap()));
    });
}

#[test]
fn interests_are_withdrawn_once_every_missing_chunk_is_on_its_way_and_their_answers_awaited() {
    fetching(World::new(Settings::default()), |_, fetch| {
        let t0 = Instant::now();
        let steps = begin(fetch, 2, swarm(&[member(1, 0, holds(&[0])), member(3, 0, holds(&[])), member(4, 0, holds(&[]))]), t0);
        let mut asked = requests(&steps);
        asked.sort_unstable();
        assert_eq!(asked, [(1, Some(0)), (3, None), (4, None)], "chunk 1 has no known holder: interests");

        let steps = fetch.on_message(Rank(3), interest_answer(holds(&[1])), t0).unwrap();
        assert_eq!((requests(&steps), withdrawals(&steps)), (vec![(3, Some(1))], vec![4]));
        fetch.on_message(Rank(1), reply(0, true), t0).unwrap();
        let steps = fetch.on_message(Rank(3), reply(1, true), t0).unwrap();
        assert_eq!(until(&steps), Some(t0 + TIMEOUT), "every chunk is held, but the withdrawal is not answered yet");
        assert!(completes(&fetch.on_message(Rank(4), interest_answer(holds(&[])), t0).unwrap()));
    });
}

/// A run of eight peers, with the default settings.
fn eight_peers() -> World {
    World { capacities: vec![Capacity::uniform(1); 8], reciprocity: Reciprocity::new(8), ..World::new(Settings::default()) }
}

/// Rank 1 holding `holding`, and ranks 3 to 8 holding nothing.
fn holder_and_strangers(holding: Holding) -> Swarm {
    swarm(&std::iter::once(member(1, 0, holding)).chain((3..=8).map(|rank| member(rank, 0, holds(&[])))).collect::<Vec<_>>())
}

#[test]
fn with_other_choices_it_watches_four_members_that_hold_nothing_it_lacks_and_another_once_one_answers() {
    fetching(eight_peers(), |_, fetch| {
        let t0 = Instant::now();
        let steps = begin(fetch, 2, holder_and_strangers(holds(&[0])), t0);
        let watched = interests(&steps);
        assert_eq!(
            (requests(&steps)[0], watched.len()),
            ((1, Some(0)), 4),
            "chunk 0 by name, 4 of 6 strangers watched: {steps:?}"
        );

        // One answers that it holds chunk 0, on its way from rank 1 already: that interest is no
        // longer out, so one more goes, and never beyond four at once.
        let steps = fetch.on_message(Rank(watched[0]), interest_answer(holds(&[0])), t0).unwrap();
        let again = interests(&steps);
        assert_eq!(again.len(), 1, "one interest more: {steps:?}");
        assert!(!watched[1..].contains(&again[0]), "not at a member already watched: {steps:?}");
    });
}

#[test]
fn with_first_free_a_promised_slot_that_cannot_be_used_is_given_back_at_once() {
    fetching(World::new(first_free_settings()), |_, fetch| {
        let t0 = Instant::now();
        let steps = begin(fetch, 2, swarm(&[member(1, 0, Holding::All), member(3, 0, holds(&[0]))]), t0);
        let mut asked = requests(&steps);
        asked.sort_unstable();
        assert_eq!(asked, [(1, None), (3, None)], "first-free asks by name only into a slot");

        let steps = fetch.on_message(Rank(1), interest_answer(Holding::All), t0).unwrap();
        assert_eq!(requests(&steps), [(1, Some(0))]);
        // Rank 3 holds only chunk 0, on its way from rank 1 now.
        let steps = fetch.on_message(Rank(3), interest_answer(holds(&[0])), t0).unwrap();
        let given_back = matches!(
            steps[..],
            [
                Step::Send { to: Rank(3), msg: Message::Withdraw { .. } },
                Step::Send { to: Rank(3), msg: Message::ChunkRequest { chunk: None, .. } },
                Step::WaitUntil(_)
            ]
        );
        assert!(given_back, "the slot is given back, then a new interest sent, no chunk asked for: {steps:?}");
    });
}

#[test]
fn a_peer_that_leaves_stops_at_its_leave_time_with_or_without_the_swarm() {
    let t0 = Instant::now();
    let leaving = || World { leave_at: Some(t0 + ms(100)), ..World::new(Settings::default()) };
    fetching(leaving(), |_, fetch| {
        assert_eq!(fetch.start().last(), Some(&Step::WaitUntil(Some(t0 + ms(100)))), "the tracker may never answer");
        assert_eq!(fetch.on_time(t0 + ms(100)).unwrap(), [Step::Done(Fetched::Left)]);
    });
    fetching(leaving(), |_, fetch| {
        fetch.start();
        let info = Message::FileInfo { file: FILE, hashes: vec![hash(0)], swarm: swarm(&[member(1, 0, Holding::All)]) };
        let steps = fetch.on_message(Rank::TRACKER, info, t0).unwrap();
        assert_eq!((requests(&steps), until(&steps)), (vec![(1, Some(0))], Some(t0 + ms(100))), "leaving comes first");
        assert_eq!(fetch.on_time(t0 + ms(100)).unwrap(), [Step::Done(Fetched::Left)], "nothing written, nothing reported");
    });
}

/// The reasons for waiting the download said, in order.
fn waits(world: &World) -> Vec<Option<Wait>> {
    let why = |e: &Event| if let Event::Waiting { peer: ME, file: FILE, why } = e { Some(*why) } else { None };
    world.events().iter().filter_map(why).collect()
}

#[test]
fn a_download_says_why_it_asks_for_no_more_each_time_the_reason_changes() {
    // One upload slot at each member and a chunk time: a holder takes one request at a time.
    // No report to the tracker before the end, whose swarm would be awaited.
    let mut settings = Settings { chunk_time_ms: 10, update_every: 10, ..Settings::default() };
    fetching(World::new(settings.clone()), |world, fetch| {
        let t0 = Instant::now();
        fetch.start();
        assert_eq!(waits(world), [Some(Wait::Tracker)], "the file request is out");
        begin_after_start(fetch, 3, nobody(), t0);
        let seed = swarm(&[member(1, 0, Holding::All), member(3, 0, holds(&[]))]);
        let steps = fetch.on_message(Rank::TRACKER, swarm_reply(seed, &[]), t0).unwrap();
        assert_eq!(requests(&steps), [(1, Some(0))], "one request at the only holder");
        fetch.on_message(Rank(1), reply(0, true), t0 + ms(10)).unwrap();
        fetch.on_message(Rank(1), reply(1, true), t0 + ms(20)).unwrap();
        fetch.on_message(Rank(1), reply(2, true), t0 + ms(30)).unwrap();
        // The interest sent while nobody held anything was withdrawn: its answer is the last.
        assert!(completes(&fetch.on_message(Rank(3), interest_answer(holds(&[])), t0 + ms(30)).unwrap()));
        assert_eq!(waits(world), [Some(Wait::Tracker), Some(Wait::NoHolder), Some(Wait::HoldersBusy), None]);
    });

    let limited =
        World { capacities: vec![Capacity { upload_slots: 4, download_limit: Some(1) }; 4], ..World::new(settings.clone()) };
    fetching(limited, |world, fetch| {
        let steps = begin(fetch, 2, swarm(&[member(1, 0, Holding::All)]), Instant::now());
        assert_eq!(requests(&steps), [(1, Some(0))]);
        assert_eq!(waits(world), [Some(Wait::Tracker), Some(Wait::Limit)], "the seed has slots to spare");
    });

    settings.strategy.peers = PeerChoice::FirstFree;
    fetching(World::new(settings), |world, fetch| {
        begin(fetch, 2, swarm(&[member(1, 0, Holding::All)]), Instant::now());
        assert_eq!(waits(world), [Some(Wait::Tracker), Some(Wait::Interest)], "no request before a slot is free");
    });
}

fn tit_for_tat_settings() -> Settings {
    let mut settings = Settings { chunk_time_ms: 10, ..Settings::default() };
    settings.strategy.peers = PeerChoice::TitForTat;
    settings
}

/// An uploader's refusal of the request for `chunk`: it chokes this peer.
fn refusal(chunk: u32) -> Message {
    Message::ChunkReply { file: FILE, asked: Some(ChunkIdx(chunk)), sent: None, holding: Holding::All, choked: true }
}

#[test]
fn with_tit_for_tat_holders_get_interests_until_they_unchoke_and_a_refusal_sends_one_again() {
    fetching(World::new(tit_for_tat_settings()), |world, fetch| {
        let t0 = Instant::now();
        let seeds = swarm(&[member(1, 0, Holding::All), member(3, 0, Holding::All)]);
        let steps = begin(fetch, 4, seeds, t0);
        let mut asked = requests(&steps);
        asked.sort_unstable();
        assert_eq!(asked, [(1, None), (3, None)], "every holder chokes it until it says otherwise: interests only");
        assert_eq!(
            (updates(&steps), until(&steps)),
            (0, Some(t0 + choke::window(ms(10)))),
            "it waits, asking the tracker again in a window"
        );
        assert_eq!(waits(world).last(), Some(&Some(Wait::Choked)));

        // Rank 3 unchokes it: it is asked by name, one chunk at a time (one upload slot).
        let steps = fetch.on_message(Rank(3), interest_answer(Holding::All), t0).unwrap();
        assert_eq!(requests(&steps), [(3, Some(0))]);
        let steps = fetch.on_message(Rank(3), reply(0, true), t0).unwrap();
        assert_eq!(requests(&steps), [(3, Some(1))]);
        assert_eq!(world.reciprocity.gave(Rank(3)), 1, "counted for this peer's own choking");

        // Rank 3 chokes it: the chunk is put back, and rank 3 gets an interest again.
        let steps = fetch.on_message(Rank(3), refusal(1), t0).unwrap();
        assert_eq!(requests(&steps), [(3, None)]);
        assert!(world.events().contains(&Event::ChunkChoked {
            downloader: ME,
            uploader: Rank(3),
            file: FILE,
            chunk: ChunkIdx(1)
        }));

        // Rank 1 unchokes it: the chunk refused is asked for first.
        let steps = fetch.on_message(Rank(1), interest_answer(Holding::All), t0).unwrap();
        assert_eq!(requests(&steps), [(1, Some(1))]);
    });
}

#[test]
fn choked_by_every_holder_it_asks_the_tracker_each_window_and_gives_up_only_after_every_optimistic_turn() {
    fetching(World::new(tit_for_tat_settings()), |world, fetch| {
        let t0 = Instant::now();
        let window = choke::window(ms(10));
        begin(fetch, 2, swarm(&[member(1, 0, Holding::All)]), t0);
        let (mut now, mut asks) = (t0, 0);
        let allowed = 4 * OPTIMISTIC_EVERY + FRUITLESS_UPDATES;
        loop {
            now += window;
            let steps = fetch.on_time(now).unwrap();
            if steps.iter().any(|s| matches!(s, Step::GiveUp { .. })) {
                break;
            }
            assert_eq!(updates(&steps), 1, "one ask a window, to learn of holders that left");
            asks += 1;
            assert!(asks <= allowed, "never gives up");
            let steps = fetch.on_message(Rank::TRACKER, swarm_reply(swarm(&[member(1, 0, Holding::All)]), &[]), now).unwrap();
            assert_eq!((updates(&steps), until(&steps)), (0, Some(now + window)), "a fruitless swarm brings no backoff");
        }
        assert_eq!(
            asks, allowed,
            "as long as the optimistic unchoke of a holder takes to come round, and as many as without holders"
        );
        assert!(world.events().contains(&Event::FileAbandoned { peer: ME, file: FILE }));
    });
}

#[test]
fn with_other_choices_a_free_rider_is_asked_by_name_until_it_refuses_then_only_by_interest() {
    fetching(World::new(Settings::default()), |_, fetch| {
        let t0 = Instant::now();
        let steps = begin(fetch, 2, swarm(&[member(4, 0, Holding::All)]), t0);
        assert_eq!(requests(&steps), [(4, Some(0)), (4, Some(1))], "members do not choke by default");
        fetch.on_message(Rank(4), refusal(0), t0).unwrap();
        let steps = fetch.on_message(Rank(4), refusal(1), t0).unwrap();
        assert_eq!(requests(&steps), [(4, None)], "it chokes this peer: an interest, no request");
    });
}

#[test]
fn with_other_choices_a_free_rider_holding_a_chunk_gets_an_interest_besides_the_four_watched() {
    fetching(eight_peers(), |_, fetch| {
        let t0 = Instant::now();
        let steps = begin(fetch, 2, holder_and_strangers(Holding::All), t0);
        assert_eq!(requests(&steps), [(1, Some(0)), (1, Some(1))], "both chunks asked of their holder: nothing to watch for");
        // The holder refuses both: it is a free rider, and no other member holds either chunk.
        let mut steps = fetch.on_message(Rank(1), refusal(0), t0).unwrap();
        steps.extend(fetch.on_message(Rank(1), refusal(1), t0).unwrap());
        let mut asked = interests(&steps);
        asked.sort_unstable();
        assert_eq!((asked[0], asked.len()), (1, 5), "the free rider, and 4 of 6 strangers: {steps:?}");
    });
}

#[test]
fn with_tit_for_tat_an_interest_sent_to_a_stranger_that_turns_out_to_hold_waits_to_be_unchoked() {
    fetching(World::new(tit_for_tat_settings()), |world, fetch| {
        let t0 = Instant::now();
        let steps = begin(fetch, 2, nobody(), t0);
        assert_eq!((requests(&steps), updates(&steps)), (vec![(3, None)], 1), "an interest at the stranger, and an ask");
        // The tracker's swarm says rank 3 holds the file now: it chokes this peer, and already has
        // its interest, so this peer waits to be unchoked instead of backing off towards giving up.
        let steps = fetch.on_message(Rank::TRACKER, swarm_reply(swarm(&[member(3, 0, Holding::All)]), &[]), t0).unwrap();
        assert_eq!((requests(&steps), updates(&steps)), (vec![], 0));
        assert_eq!(until(&steps), Some(t0 + choke::window(ms(10))));
        assert_eq!(waits(world).last(), Some(&Some(Wait::Choked)));
    });
}

#[test]
fn with_tit_for_tat_interests_leave_the_whole_download_limit_to_requests() {
    let mut world = World::new(tit_for_tat_settings());
    world.capacities[ME.peer_index()].download_limit = Some(1);
    fetching(world, |_, fetch| {
        let t0 = Instant::now();
        let steps = begin(fetch, 4, swarm(&[member(1, 0, Holding::All), member(3, 0, holds(&[])), member(4, 0, holds(&[]))]), t0);
        assert_eq!(requests(&steps).len(), 3, "an interest at each member, beyond the limit of one request");
        let steps = fetch.on_message(Rank(1), interest_answer(Holding::All), t0).unwrap();
        assert_eq!(requests(&steps), [(1, Some(0))], "the seed unchoked it: one request, its limit");
    });
}

#[test]
fn with_tit_for_tat_an_interest_that_says_a_chunk_is_coming_is_renewed_once_it_is_not() {
    fetching(World::new(tit_for_tat_settings()), |world, fetch| {
        let t0 = Instant::now();
        let window = choke::window(ms(10));
        begin(fetch, 2, swarm(&[member(1, 0, Holding::All)]), t0);
        fetch.on_message(Rank(1), interest_answer(Holding::All), t0).unwrap();
        // Rank 3 asked this peer for a chunk: a member now, holding nothing known. Its interest
        // says chunk 0 is coming (from rank 1).
        world.requesters.met(FILE, Rank(3));
        let interest_at = |steps: &[Step], to: u32| {
            steps.iter().find_map(|s| match s {
                Step::Send { to: r, msg: Message::ChunkRequest { chunk: None, held, .. } } if r.0 == to => Some(held.clone()),
                _ => None,
            })
        };
        let steps = fetch.on_time(t0).unwrap();
        assert!(interest_at(&steps, 3).is_some_and(|held| held.contains(0)), "{steps:?}");
        // Rank 1 chokes it: chunk 0 is not coming any more. At the window's end it asks the
        // tracker again, and withdraws the interest at rank 3, which says otherwise; once the
        // withdrawal is answered, the interest goes anew, without chunk 0.
        fetch.on_message(Rank(1), refusal(0), t0).unwrap();
        let steps = fetch.on_time(t0 + window).unwrap();
        assert_eq!((updates(&steps), withdrawals(&steps)), (1, vec![3]), "{steps:?}");
        let withdrawn = Message::ChunkReply { file: FILE, asked: None, sent: None, holding: holds(&[0]), choked: true };
        let steps = fetch.on_message(Rank(3), withdrawn, t0 + window).unwrap();
        assert!(interest_at(&steps, 3).is_some_and(|held| !held.contains(0)), "{steps:?}");
    });
}
