//! What a run is given: where its files are, and the options every rank runs with. One type for
//! the command line, the ranks, the log header, the report, and the runs `stress` and `bench`
//! launch; its defaults are written once, in its `clap` attributes.

use crate::protocol::strategy::{PeerChoice, PieceOrder};
use crate::protocol::IN_FLIGHT;
use crate::scenario::fault::Faults;
use clap::builder::PossibleValue;
use clap::{Args, ValueEnum};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// The settings of a run. The log header and the report keep what the analysis needs: the
/// folders, the capacity and faults files and the faults' flags are not serialized (the header
/// holds the capacities and faults themselves).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Args)]
pub struct Settings {
    /// Folder holding in<R>.txt
    #[arg(long, default_value = ".")]
    #[serde(skip)]
    pub inputs: PathBuf,
    /// Folder where client<R>_<file> are written (created if missing)
    #[arg(long, default_value = ".")]
    #[serde(skip)]
    pub out: PathBuf,
    /// Milliseconds an upload thread takes to serve one chunk
    #[arg(long = "chunk-time", default_value_t = 0, value_name = "MS")]
    pub chunk_time_ms: u64,
    /// Chunks a peer downloads between two reports to the tracker
    #[arg(long, default_value_t = UPDATE_EVERY, value_parser = clap::value_parser!(u32).range(1..))]
    pub update_every: u32,
    /// Chunk requests and interests a peer keeps out at once, unless its capacity says otherwise
    #[arg(skip = IN_FLIGHT as u32)]
    pub in_flight: u32,
    /// Chunks an upload thread serves at once
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    #[serde(default = "one")]
    pub upload_slots: u32,
    #[command(flatten)]
    #[serde(default)]
    pub strategy: Strategy,
    /// Per-peer upload slots and download limits: lines of '<rank> <upload slots> [<download limit>]'
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub capacities: Option<PathBuf>,
    #[command(flatten)]
    #[serde(skip)]
    pub faults: Faults,
    /// More faults, from a file: lines of 'leave R@T', 'corrupt R:P' and 'freeride R'
    #[arg(long = "faults", value_name = "FILE")]
    #[serde(skip)]
    pub faults_file: Option<PathBuf>,
}

/// Upload slots of logs that do not say.
fn one() -> u32 {
    1
}

/// Chunks a peer downloads between two reports to the tracker, by default: peers learn who holds
/// what from each other's answers, so the tracker is needed mostly for membership and busyness.
pub const UPDATE_EVERY: u32 = 25;

/// The choices that shape how a swarm shares work, recorded with the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Args)]
#[serde(default)]
pub struct Strategy {
    /// Order in which peers ask for the chunks of a file
    #[arg(long = "piece-order", value_name = "PIECE_ORDER", value_enum, default_value_t = PieceOrder::Sequential)]
    pub pieces: PieceOrder,
    /// Which holder of a chunk a peer asks for it
    #[arg(long = "peer-choice", value_name = "PEER_CHOICE", value_enum, default_value_t = PeerChoice::Busyness)]
    pub peers: PeerChoice,
    /// Ask a second holder for the last chunks still on their way (duplicates are counted)
    #[arg(long)]
    pub end_game: bool,
    /// Seed of every random choice, for repeatable runs
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// With tit-for-tat: the peers an uploader unchokes for what they gave it, besides the
    /// optimistic unchoke (at least its upload slots less one)
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub unchoke: u32,
}

impl Settings {
    /// These settings as the log and the report keep them: without the folders and files.
    pub fn as_recorded(&self) -> Settings {
        let (inputs, out, faults) = (PathBuf::new(), PathBuf::new(), Faults::default());
        Settings { inputs, out, capacities: None, faults, faults_file: None, ..self.clone() }
    }

    pub fn chunk_time(&self) -> Duration {
        Duration::from_millis(self.chunk_time_ms)
    }

    /// The command-line arguments that give these settings, every one spelt out.
    pub fn to_args(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            ("--inputs", self.inputs.display().to_string()),
            ("--out", self.out.display().to_string()),
            ("--chunk-time", self.chunk_time_ms.to_string()),
            ("--update-every", self.update_every.to_string()),
            ("--upload-slots", self.upload_slots.to_string()),
            ("--piece-order", option_name(&self.strategy.pieces)),
            ("--peer-choice", option_name(&self.strategy.peers)),
            ("--seed", self.strategy.seed.to_string()),
            ("--unchoke", self.strategy.unchoke.to_string()),
        ]
        .into_iter()
        .flat_map(|(flag, value)| [flag.to_string(), value])
        .collect();
        if self.strategy.end_game {
            args.push("--end-game".into());
        }
        let leaves = self.faults.leaves.iter().map(|l| ("--leave", l.to_string()));
        let corrupt = self.faults.corrupt.iter().map(|c| ("--corrupt", c.to_string()));
        let freeride = self.faults.freeride.iter().map(|r| ("--freeride", r.to_string()));
        let files = [("--capacities", &self.capacities), ("--faults", &self.faults_file)];
        let files = files.into_iter().filter_map(|(flag, path)| Some((flag, path.as_ref()?.display().to_string())));
        for (flag, value) in leaves.chain(corrupt).chain(freeride).chain(files) {
            args.extend([flag.to_string(), value]);
        }
        args
    }
}

impl Default for Settings {
    fn default() -> Self {
        defaults()
    }
}

impl Default for Strategy {
    fn default() -> Self {
        defaults()
    }
}

/// What the command line gives `A` when no flag is passed.
fn defaults<A: Args>() -> A {
    let matches = A::augment_args(clap::Command::new("mpitorrent")).try_get_matches_from(["mpitorrent"]);
    let matches = matches.expect("every option has a default");
    A::from_arg_matches(&matches).expect("every option has a default")
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
        Some(variant["description"].as_str()?.replace('\n', " ").trim_end_matches('.').to_string())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ids::Rank;
    use crate::scenario::fault::{Corrupt, Leave};
    use clap::Parser;

    #[derive(Parser)]
    struct Line {
        #[command(flatten)]
        settings: Settings,
    }

    #[test]
    fn the_defaults_are_those_of_an_empty_command_line() {
        let settings = Settings::default();
        assert_eq!((settings.inputs.to_str(), settings.chunk_time_ms, settings.update_every), (Some("."), 0, UPDATE_EVERY));
        assert_eq!((settings.upload_slots, settings.in_flight, settings.strategy.seed), (1, IN_FLIGHT as u32, 1));
        assert_eq!((settings.strategy.pieces, settings.strategy.peers), (PieceOrder::Sequential, PeerChoice::Busyness));
    }

    #[test]
    fn the_arguments_give_the_same_settings_back() {
        let settings = Settings {
            inputs: "in".into(),
            chunk_time_ms: 7,
            update_every: 3,
            upload_slots: 2,
            strategy: Strategy { pieces: PieceOrder::Rarest, peers: PeerChoice::FirstFree, end_game: true, seed: 9, unchoke: 4 },
            capacities: Some("caps.txt".into()),
            faults: Faults {
                leaves: vec![Leave { peer: Rank(2), at_ms: 40 }],
                corrupt: vec![Corrupt { peer: Rank(3), probability: 0.25 }],
                freeride: vec![Rank(4)],
            },
            faults_file: Some("faults.txt".into()),
            ..Settings::default()
        };
        let args = settings.to_args();
        let parsed = Line::parse_from(std::iter::once("mpitorrent".to_string()).chain(args)).settings;
        assert_eq!(parsed, settings);
        let defaults = Line::parse_from(std::iter::once("mpitorrent".to_string()).chain(Settings::default().to_args()));
        assert_eq!(defaults.settings, Settings::default());
    }

    #[test]
    fn every_choice_of_the_log_is_on_the_command_line() {
        let variants = |schema: schemars::Schema| schema.as_value()["oneOf"].as_array().map_or(0, Vec::len);
        assert_eq!(PieceOrder::ALL.len(), variants(schemars::schema_for!(PieceOrder)));
        assert_eq!(PeerChoice::ALL.len(), variants(schemars::schema_for!(PeerChoice)));
        let names: std::collections::BTreeSet<String> = PeerChoice::ALL.iter().map(option_name).collect();
        assert_eq!(names.len(), PeerChoice::ALL.len(), "{names:?}");
        assert_eq!(option_name(&PeerChoice::FirstFree), "first-free");
        let help = PieceOrder::Rarest.to_possible_value().unwrap().get_help().unwrap().to_string();
        assert!(help.starts_with("The chunks the fewest swarm members hold first") && !help.ends_with('.'), "{help}");
    }

    #[test]
    fn the_log_keeps_the_options_but_not_the_files() {
        let settings = Settings { inputs: "in".into(), capacities: Some("c.txt".into()), ..Settings::default() };
        let json = serde_json::to_value(&settings).unwrap();
        let recorded = ["chunk_time_ms", "in_flight", "strategy", "update_every", "upload_slots"];
        assert_eq!(json.as_object().unwrap().keys().collect::<Vec<_>>(), recorded);
        let back: Settings = serde_json::from_value(json).unwrap();
        assert_eq!(back, settings.as_recorded());
        let old: Settings = serde_json::from_str(r#"{"chunk_time_ms": 5, "update_every": 10, "in_flight": 8}"#).unwrap();
        assert_eq!((old.upload_slots, old.strategy), (1, Strategy::default()));
    }
}
