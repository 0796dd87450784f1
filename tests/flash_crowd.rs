//! How close a flash crowd comes to the lower bound, in-process. A test binary of its own, so
//! that no other test competes for the CPU while it is timed.

mod common;

use common::check_outputs;
use mpitorrent::protocol::strategy::PieceOrder;
use mpitorrent::scenario::generate::Scenario;
use mpitorrent::scenario::settings::Settings;
use mpitorrent::scenario::settings::Strategy;
use mpitorrent::tools::run::run_in_process;

#[test]
fn a_flash_crowd_with_rarest_first_comes_close_to_the_lower_bound() {
    // One seed, 11 peers wanting 40 chunks, 20 ms a chunk: the bound is 39 + ceil(log2 12) = 43
    // rounds. While peers learnt who holds what only from the tracker (and the seed sent
    // whatever it was asked for), such crowds took 2.5 times the bound and more.
    let scenario = Scenario::flash_crowd(12, 40, 5);
    let dir = tempfile::tempdir().unwrap();
    let strategy = Strategy { pieces: PieceOrder::Rarest, ..Strategy::default() };
    let config = Settings {
        inputs: dir.path().join("in"),
        out: dir.path().join("out"),
        chunk_time_ms: 20,
        strategy,
        ..Settings::default()
    };
    scenario.write(&config.inputs).unwrap();
    let report = run_in_process(scenario.ranks(), &config).unwrap().report();
    check_outputs(&scenario.expected_outputs(), &config.out);
    let efficiency = report.efficiency;
    assert_eq!(efficiency.lower_bound_rounds, 43);
    let ratio = efficiency.makespan_ratio.unwrap();
    assert!((1.0..1.5).contains(&ratio), "{efficiency:?}");
    assert!(efficiency.fairness.unwrap() > 0.8, "uploads spread over the peers: {efficiency:?}");
    assert_eq!((efficiency.requests_per_chunk, efficiency.duplicates), (1.0, 0), "no NACK, no copy: {efficiency:?}");
}
