//! What a run is given: where its files are, and the options every rank runs with.

use crate::protocol::strategy::{PeerChoice, PieceOrder, Strategy};
use crate::scenario::fault::Faults;
use clap::builder::PossibleValue;
use clap::ValueEnum;
use schemars::JsonSchema;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// Chunks a peer downloads between two reports to the tracker, by default. Peers learn who holds
/// what from each other's answers, so the tracker's swarm is needed mostly for membership and
/// busyness, and a report every 25 chunks keeps its traffic near 0.1 message per chunk.
pub const UPDATE_EVERY: usize = 25;

#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Where `in<R>.txt` are read.
    pub inputs: PathBuf,
    /// Where `client<R>_<file>` are written.
    pub out: PathBuf,
    /// How long an upload thread takes to serve one chunk.
    pub chunk_time: Duration,
    /// Chunks a peer downloads between two reports to the tracker.
    pub update_every: usize,
    /// Chunks an upload thread serves at once, unless the capacity file says otherwise.
    pub upload_slots: usize,
    /// The capacity file, read by the tracker (see [`crate::scenario::capacity`]).
    pub capacities: Option<PathBuf>,
    pub strategy: Strategy,
    /// Peers that leave or send wrong hashes.
    pub faults: Faults,
    /// More of them, from a file read by the tracker (see [`crate::scenario::fault`]).
    pub faults_file: Option<PathBuf>,
    /// Each rank reports the CPU time of its process at the end: true under mpirun, where a
    /// process is a rank; in-process it would count the whole process many times.
    pub measure_cpu: bool,
    /// A problem rank 0 found with its own options (say, a log it may not create): reported like
    /// an input error once every peer has registered, so every rank stops cleanly.
    pub setup_error: Option<String>,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            inputs: PathBuf::from("."),
            out: PathBuf::from("."),
            chunk_time: Duration::ZERO,
            update_every: UPDATE_EVERY,
            upload_slots: 1,
            capacities: None,
            strategy: Strategy::default(),
            faults: Faults::default(),
            faults_file: None,
            measure_cpu: false,
            setup_error: None,
        }
    }
}

/// The name a choice has on the command line, as in `--piece-order rarest`.
pub fn option_name(choice: &impl ValueEnum) -> String {
    choice.to_possible_value().expect("every choice has a name").get_name().to_string()
}

/// A protocol choice as a command-line value: its name is the one in the log, its help the
/// variant's doc comment as the log schema carries it, so both are written once.
fn possible_value<T: Serialize + JsonSchema>(choice: &T) -> PossibleValue {
    let name = serde_json::to_value(choice).ok().and_then(|v| v.as_str().map(str::to_string)).expect("a choice is a name");
    let schema = schemars::schema_for!(T);
    let help = schema.as_value()["oneOf"].as_array().and_then(|variants| {
        let variant = variants.iter().find(|v| v["const"] == name.as_str())?;
        Some(variant["description"].as_str()?.replace('\n', " "))
    });
    PossibleValue::new(name).help(help.unwrap_or_default())
}

macro_rules! choice_values {
    ($($choice:ty),*) => {$(
        impl ValueEnum for $choice {
            fn value_variants<'a>() -> &'a [Self] {
                &<$choice>::ALL
            }

            fn to_possible_value(&self) -> Option<PossibleValue> {
                Some(possible_value(self))
            }
        }
    )*};
}

choice_values!(PieceOrder, PeerChoice);
